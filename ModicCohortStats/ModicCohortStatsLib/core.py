"""Thin adapter onto the core's batch engine and statistics (`modic.batch`, `modic.stats`).

The only place that knows the core's call names and result attributes, so one file changes when
they do. Plain Python / pandas in and out; no MRML here.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Batch progress callback: progress(done, total, message) -> bool (False cancels).
BatchProgress = Callable[[int, int, str], bool]


@dataclass
class StatsOutputs:
    """What the statistics produced, in plain types."""

    outDir: Path
    tables: dict[str, Any] = field(default_factory=dict)  # name -> pandas.DataFrame
    pValues: Any = None  # pandas.Series: feature -> screening p-value (Figure 1)
    figurePaths: list[Path] = field(default_factory=list)
    modelPath: Path | None = None
    summary: str = ""
    raw: Any = None


def runExtraction(manifest: str | os.PathLike, outCsv: str | os.PathLike, params=None, jobs: int | None = 1,
                  scheduler: str | None = None, segment: bool = False,
                  progress: BatchProgress | None = None, overwrite: bool = False):
    """Extract features of every manifest case into `outCsv` (modic.batch.run_cohort's BatchResult)."""
    from modic.batch import run_cohort

    return run_cohort(manifest, outCsv, params=params, jobs=jobs, scheduler=scheduler, segment=segment,
                      progress=progress, overwrite=overwrite)


def _accepted(function: Callable, options: Mapping[str, Any]) -> dict[str, Any]:
    """Options `function` accepts (all of them when it takes **kwargs); drops None values."""
    parameters = inspect.signature(function).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return {k: v for k, v in options.items() if v is not None}
    return {k: v for k, v in options.items() if k in parameters and v is not None}


def _findTable(tables: Mapping[str, Any], *words: str):
    """First table named exactly like one of `words`, else the first whose name contains one."""
    for word in words:
        if word in tables:
            return word, tables[word]
    for word in words:
        for name, table in tables.items():
            if word in name.lower():
                return name, table
    return None, None


def fromCoreResult(result: Any, outDir: Path) -> StatsOutputs:
    """Collect DataFrames, p-values, figures and the model path from the core's result object."""
    import pandas as pd

    found: dict[str, Any] = {}
    if isinstance(getattr(result, "tables", None), Mapping):
        found.update({str(k): v for k, v in result.tables.items() if isinstance(v, pd.DataFrame)})
    if isinstance(result, Mapping):
        found.update({str(k): v for k, v in result.items() if isinstance(v, pd.DataFrame)})
    for name in dir(result):
        if name.startswith("_") or name in found:
            continue
        try:
            value = getattr(result, name)
        except Exception:  # properties may raise; they are not tables
            continue
        if isinstance(value, pd.DataFrame):
            found[name] = value
    tables = {}
    for key, words in (("Table 1", ("table1", "table_1")),
                       ("Table 2", ("table2_dunn", "table2", "table_2", "posthoc")),
                       ("Correlation", ("correlations", "correlation"))):
        name, table = _findTable(found, *words)
        if table is not None:
            tables[key] = table
            found.pop(name)
    tables.update(found)

    pValues = getattr(result, "pvalues", None)
    if pValues is None:
        pValues = getattr(result, "screen_pvalues", None)
    if pValues is None:
        for name, table in tables.items():
            if ("screen" in name.lower() or "figure1" in name.lower()) and "p" in table.columns:
                pValues = table.set_index("feature")["p"] if "feature" in table.columns else table["p"]
                break
    if isinstance(pValues, pd.DataFrame):
        column = "p" if "p" in pValues.columns else pValues.columns[-1]
        pValues = pValues[column]

    modelPath = getattr(result, "model_path", None) or getattr(result, "model_file", None)
    if modelPath is None:
        candidates = sorted(Path(outDir).rglob("*.skops"))
        modelPath = candidates[0] if candidates else None
    figures = getattr(result, "figures", None)
    if isinstance(figures, Mapping):
        figurePaths = [Path(p) for p in figures.values() if str(p).lower().endswith(".png")]
    else:
        figurePaths = sorted(Path(outDir).rglob("*.png"))
    return StatsOutputs(outDir=Path(getattr(result, "out_dir", outDir)), tables=tables, pValues=pValues,
                        figurePaths=figurePaths, modelPath=Path(modelPath) if modelPath else None,
                        summary=summaryText(getattr(result, "summary", "")), raw=result)


def summaryText(summary: Any) -> str:
    """A few lines for the GUI from the core's summary dict (cohort, selection, validation)."""
    if isinstance(summary, str) or not isinstance(summary, Mapping):
        return str(summary or "")
    lines = []
    cohort = summary.get("cohort") or {}
    if cohort:
        perType = ", ".join(f"type {k}: {v}" for k, v in (cohort.get("per_type") or {}).items())
        lines.append(f"{cohort.get('n_cases', '?')} cases ({perType}), {cohort.get('n_features', '?')} features")
    selection = summary.get("selection") or {}
    if selection.get("selected") is not None:
        lines.append(f"{len(selection['selected'])} features selected")
    validation = summary.get("validation") or {}
    for name, label in (("holdout", "hold-out (paper style)"), ("nested_cv", "nested CV (honest)")):
        accuracy = ((validation.get(name) or {}).get("metrics") or {}).get("accuracy")
        if accuracy is not None:
            lines.append(f"{label} accuracy {float(accuracy):.2f}")
    if summary.get("synthetic"):
        lines.append("synthetic data: the model is a demo, not for clinical use")
    lines += [str(n) for n in summary.get("notes") or []]
    return "\n".join(lines)


def _runStatsFunction() -> Callable:
    try:
        from modic.stats.report import run_stats
    except ImportError:  # an older layout exported it from the package
        from modic.stats import run_stats
    return run_stats


def runStatistics(featuresCsv, manifestCsv, outDir: str | os.PathLike,
                  progress: Callable[[str], None] | None = None, **options) -> StatsOutputs:
    """Run the cohort statistics (`modic.stats.report.run_stats`) and collect what they produced.

    `featuresCsv`, `manifestCsv`: paths or DataFrames. `options`: StatsOptions fields (screen,
    correlation, seed, jobs, ...); None values are left at the core's defaults. `progress(message)`
    receives status lines (the statistics cannot be cancelled midway).
    """
    run = _runStatsFunction()
    accepted = _accepted(run, options)
    if "progress" in inspect.signature(run).parameters:
        accepted["progress"] = progress
    result = run(featuresCsv, manifestCsv, Path(outDir), **accepted)
    return fromCoreResult(result, Path(outDir))
