"""The cohort engine: one manifest in, one feature table out, one row per case.

Cases run serially, in a local process pool (spawn context, one SimpleITK thread per worker) or on a
Dask cluster. Each finished case goes into the per-case cache (see `modic.batch.cache`) as soon as the
main process receives it; the table, the error list and the diagnostics are written atomically at
the end, from the cache. So a run killed at any moment loses no finished case, leaves no torn or
half-written table, and re-running the same command computes only what is missing.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from modic import __version__
from modic.batch.cache import CaseCache, cache_dir_for, case_key
from modic.batch.executors import (
    _run_dask,
    _run_pool,
    _run_serial,
    _single_thread,
    _with,
    _worker_init,  # noqa: F401 - the pool initializer, also used by the tests
    estimated_cost,  # noqa: F401 - part of the engine API (scheduling order)
    longest_first,
)
from modic.batch.progress import Progress, ProgressCallback
from modic.errors import ModicInputError
from modic.io import check_output_file, file_sha256, record_files, write_csv, write_text
from modic.manifest import PATH_COLUMNS, read_manifest

EXIT_OK, EXIT_INPUT, EXIT_PARTIAL = 0, 2, 3
STEPS = ("load", "segment", "normalize", "extract")

# An injectable per-case extraction with `modic.features.extract_case`'s signature; it must be a
# module-level function (it is pickled to worker processes) returning an object with `.values` and
# `.diagnostics`.
CaseFunction = Callable[..., Any]


@dataclass(frozen=True)
class CaseFailure:
    """One case that could not be processed: where (`step`) and why (`reason`, one line)."""

    case_id: str
    step: str
    reason: str


@dataclass
class BatchResult:
    """What a cohort run produced."""

    out_csv: Path
    errors_csv: Path
    diagnostics_csv: Path
    diagnostics_json: Path
    cache_dir: Path
    n_cases: int
    n_ok: int = 0
    n_cached: int = 0
    n_computed: int = 0
    failures: list[CaseFailure] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0
    table: pd.DataFrame | None = None

    @property
    def n_failed(self) -> int:
        return len(self.failures)

    @property
    def exit_code(self) -> int:
        """0 when every case succeeded, 3 when some failed or the run was cancelled."""
        return EXIT_OK if not self.failures and not self.cancelled else EXIT_PARTIAL


@dataclass(frozen=True)
class CaseTask:
    """Everything a worker needs for one case (small and picklable)."""

    case_id: str
    row: dict[str, Any]
    params: dict[str, Any]
    key: str | None
    segment: bool = False
    label: int = 1
    single_thread: bool = False
    inner_jobs: int = 1
    case_function: CaseFunction | None = None
    normalization: str = "none"
    detect: bool = False


def output_paths(out_csv: str | os.PathLike) -> dict[str, Path]:
    """The files that belong to an output table `features.csv`: errors, diagnostics, cache."""
    out = Path(out_csv)
    stem = out.name[:-4] if out.name.lower().endswith(".csv") else out.name
    return {"out": out,
            "errors": out.with_name(f"{stem}.errors.csv"),
            "diagnostics": out.with_name(f"{stem}.diagnostics.csv"),
            "diagnostics_json": out.with_name(f"{stem}.diagnostics.json"),
            "cache": cache_dir_for(out)}


def run_cohort(manifest: str | os.PathLike, out_csv: str | os.PathLike,
               params: dict | str | os.PathLike | None = None, jobs: int | None = None,
               scheduler: str | None = None, segment: bool = False,
               progress: ProgressCallback | None = None, *, normalization: str | None = None,
               show_progress: bool | None = None, case_function: CaseFunction | None = None,
               clear_cache: bool = False, overwrite: bool = False, detect: bool = False) -> BatchResult:
    """Extract features for every case of a manifest into one table (first column `case_id`).

    `params`: a PyRadiomics parameter file or dict (None: the paper's). `jobs`: local worker
    processes (default `os.cpu_count()`; 1 runs in this process). `scheduler`: a Dask scheduler
    address, or "local" for a `LocalCluster` of `jobs` workers. `segment`: segment each case from its
    `seed_lps` instead of reading a mask. `progress(done, total, message)`: called after every case;
    returning False stops the run (finished cases stay cached, no table is written).
    `normalization`: as `modic.pipeline.analyze_case` (None: "zscore-image" with the paper's parameters, "none"
    — PyRadiomics' own values — with your `params`; "zscore-reference" uses a `reference_lps` column).
    `overwrite`: replace an `out_csv` (and companions) modic did not write (docs/OUTPUTS.md).
    `show_progress`: tqdm bar / log lines on stderr (default: when no callback is given).
    Failing cases are listed in `<out>.errors.csv`; bad input raises `ModicInputError`.
    `detect`: zero-click — detect every Modic change of each case and write one row per lesion
    (see `modic.batch.detect_mode`; no masks or seeds needed).
    """
    t0 = time.perf_counter()
    from modic.pipeline import default_normalization
    paths, normalization = output_paths(out_csv), normalization or default_normalization(params)
    df = read_manifest(manifest, require_masks=not (segment or detect))
    if detect:
        from modic.batch import detect_mode

        df = detect_mode.resolve_spine_column(df, manifest)
    inputs = [manifest, *(v for col in PATH_COLUMNS if col in df.columns for v in df[col] if isinstance(v, str))]
    companions = [paths[k] for k in ("errors", "diagnostics", "diagnostics_json")]
    check_output_file(paths["out"], overwrite, inputs=inputs, companions=companions)
    if segment and "seed_lps" not in df.columns:
        raise ModicInputError(f"manifest {manifest} has no 'seed_lps' column — --segment needs a seed "
                              "point 'x;y;z' (LPS mm) per case")
    jobs = _check_jobs(jobs)
    params_dict, phash = resolve_params(params, normalization)
    rows = [_plain_row(r) for _, r in df.iterrows()]
    hashes = _hash_inputs(rows)
    cache = CaseCache(paths["cache"])
    if clear_cache:
        cache.clear()
    cache.remove_stale_temp()
    result = BatchResult(out_csv=paths["out"], errors_csv=paths["errors"],
                         diagnostics_csv=paths["diagnostics"], diagnostics_json=paths["diagnostics_json"],
                         cache_dir=paths["cache"], n_cases=len(rows))

    inputs_of = {r["case_id"]: h for r, h in zip(rows, hashes, strict=True)}
    entries: dict[str, dict[str, Any]] = {}
    tasks: list[CaseTask] = []
    fn_name = None if case_function is None else f"{case_function.__module__}.{case_function.__qualname__}"
    for row, inputs in zip(rows, hashes, strict=True):
        cid = row["case_id"]
        label = int(row.get("label") or 1)
        key = None
        if inputs is not None:
            key = case_key({"modic": __version__, "params": phash, "inputs": inputs, "label": label,
                            "normalization": normalization, "reference_lps": row.get("reference_lps"),
                            "segment": bool(segment), "segmenter": _segmenter_version() if segment else None,
                            "seed_lps": row.get("seed_lps") if segment else None, "function": fn_name,
                            **(_detect_key(row) if detect else {})})
        entry = cache.load(cid, key)
        if entry is not None:
            entry.setdefault("info", {})["from_cache"] = True
            entries[cid] = entry
        else:
            tasks.append(CaseTask(case_id=cid, row=row, params=params_dict, key=key, segment=segment,
                                  label=label, case_function=case_function, normalization=normalization,
                                  detect=detect))
    result.n_cached = len(entries)

    show = (progress is None) if show_progress is None else show_progress
    prog = Progress(len(rows), callback=progress, show=show)
    keep_going = True
    if entries:
        keep_going = prog.skip(len(entries), f"{len(entries)} of {len(rows)} cases already done "
                                             f"(cache {paths['cache']}), skipped")
    failures: dict[str, CaseFailure] = {}

    def on_outcome(outcome: dict[str, Any]) -> bool:
        cid = outcome["case_id"]
        if outcome["ok"]:
            info = {k: outcome[k] for k in ("seconds", "peak_rss_mb", "pid", "host")}
            info["inputs"] = inputs_of[cid]
            if outcome["key"] is not None:
                cache.store(cid, outcome["key"], outcome["values"], outcome["diagnostics"], info)
            entries[cid] = {"values": outcome["values"], "diagnostics": outcome["diagnostics"],
                            "key": outcome["key"], "info": {**info, "from_cache": False}}
            text = f"{cid} done in {outcome['seconds']:.1f} s"
        else:
            failures[cid] = CaseFailure(cid, outcome["step"], outcome["reason"])
            text = f"{cid} FAILED at {outcome['step']}: {outcome['reason']}"
        result.n_computed += 1
        return prog.update(text)

    try:
        if keep_going and tasks:
            prog.begin()
            n_workers = min(jobs, len(tasks))
            if scheduler:
                keep_going = _run_dask(tasks, scheduler, jobs, on_outcome)
            elif n_workers <= 1:
                inner = jobs if len(tasks) == 1 else 1
                keep_going = _run_serial([_with(t, inner_jobs=inner) for t in tasks], on_outcome)
            else:
                keep_going = _run_pool([_with(t, single_thread=True) for t in longest_first(tasks)], n_workers,
                                       on_outcome)
    finally:
        prog.close()

    order = [r["case_id"] for r in rows]
    result.failures = [failures[c] for c in order if c in failures]
    result.n_ok = sum(c in entries for c in order)
    result.seconds = time.perf_counter() - t0
    if not keep_going:
        result.cancelled = True
        return result
    if detect:
        from modic.batch.detect_mode import lesion_table

        result.table = lesion_table(entries, order)
    else:
        result.table = build_table(entries, order)
    write_csv(result.table, paths["out"], index=False)
    write_csv(pd.DataFrame([f.__dict__ for f in result.failures], columns=["case_id", "step", "reason"]),
              paths["errors"], index=False)
    write_csv(_diagnostics_table(entries, order), paths["diagnostics"], index=False)
    run_info = {"modic_version": __version__, "manifest": str(Path(manifest).resolve()),
                "manifest_sha256": file_sha256(manifest), "params_hash": phash, "params": params_dict,
                "normalization": normalization,
                "segment": bool(segment), "detect": bool(detect), "jobs": jobs, "scheduler": scheduler,
                "n_cases": result.n_cases, "n_ok": result.n_ok, "n_failed": result.n_failed,
                "n_cached": result.n_cached, "n_computed": result.n_computed,
                "seconds": round(result.seconds, 3), "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "versions": software_versions()}
    write_text(paths["diagnostics_json"], json.dumps(run_info, indent=2, default=str) + "\n")
    record_files([paths["out"], *companions], command="extract", dirs=[paths["cache"]])
    return result


def resolve_params(params: dict | str | os.PathLike | None, normalization: str = "none"
                   ) -> tuple[dict[str, Any], str]:
    """The parameter dict (with what the normalisation needs) and its hash."""
    from modic.features import load_params, params_hash
    from modic.normalize import METHODS

    if normalization not in METHODS:
        raise ModicInputError(f"unknown normalization {normalization!r} — choose one of {', '.join(METHODS)}")
    if normalization == "none":
        params_dict = load_params(params)
    else:
        from modic.pipeline import prepare_params

        params_dict = prepare_params(params, normalization)
    return params_dict, params_hash(params_dict)


def build_table(entries: dict[str, dict[str, Any]], order: Iterable[str]) -> pd.DataFrame:
    """One row per finished case in manifest order; columns in first-seen order."""
    columns: dict[str, None] = {}
    records = []
    for cid in order:
        if cid in entries:
            values = entries[cid]["values"]
            columns.update(dict.fromkeys(values))
            records.append({"case_id": cid, **values})
    return pd.DataFrame.from_records(records, columns=["case_id", *columns])


def software_versions() -> dict[str, str]:
    """Versions that matter for reproducing a table."""
    import importlib.metadata as md

    out = {"python": platform.python_version(), "platform": platform.platform(), "modic": __version__}
    # "pyradiomics" is the distribution SlicerRadiomics installs (its metadata says 3.0.1a1 at commit 146e3bd):
    # `radiomics` records the version the imported package itself reports, whichever distribution provides it.
    for dist in ("pyradiomics-bhklab", "pyradiomics", "SimpleITK", "numpy", "scipy", "PyWavelets",
                 "scikit-image", "pandas", "dask", "distributed"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    try:
        import radiomics

        out["radiomics"] = str(getattr(radiomics, "__version__", "unknown"))
    except ImportError:
        pass
    return out


# ---------------------------------------------------------------- worker side


def process_case(task: CaseTask) -> dict[str, Any]:
    """Run load → (segment) → (normalize) → extract for one case; never raises for a case's own failure."""
    t0 = time.perf_counter()
    if task.single_thread:
        _single_thread()
    step = "load"
    out: dict[str, Any] = {"case_id": task.case_id, "key": task.key, "ok": False, "step": None,
                           "reason": None, "values": None, "diagnostics": None}
    try:
        from modic.geometry import parse_point_lps
        from modic.manifest import load_case_images, load_case_masks

        images = load_case_images(task.row)
        ref = task.row.get("reference_lps")  # normal-marrow reference point (LPS mm), optional
        ref = parse_point_lps(ref, what=f"case {task.case_id} reference_lps") if isinstance(ref, str) else None
        seg_info = None
        label = task.label
        if task.detect:
            step = "detect"
            from modic.batch.detect_mode import detect_case

            values, diagnostics = detect_case(task, images)
            out.update(ok=True, values=values, diagnostics=diagnostics)
            return _finished(out, t0)
        if task.segment:
            step = "segment"
            from modic.plausibility import checked_for_cohort  # an implausible mask fails the case
            from modic.segment import segment_lesion

            seed = task.row.get("seed_lps")
            if not isinstance(seed, str):
                raise ModicInputError(f"case {task.case_id}: empty seed_lps — give 'x;y;z' in LPS mm")
            kw = {} if ref is None else {"reference_lps": ref}
            seed_point = parse_point_lps(seed, what=f"case {task.case_id} seed_lps")
            seg = segment_lesion(images, seed_point, **kw)
            masks, seg_info, label = seg.masks, checked_for_cohort(seg, seed_point, task.case_id), 1
        else:
            masks = load_case_masks(task.row, images)
        norm_record = None
        if task.normalization != "none":
            step = "normalize"
            from modic.pipeline import normalize_for_extraction

            images, norm_record = normalize_for_extraction(images, task.normalization, ref)
        step = "extract"
        fn = task.case_function
        if fn is None:
            from modic.features import extract_case as fn
        feats = fn(images, masks, params=task.params, case_id=task.case_id, label=label,
                   jobs=task.inner_jobs)
        diagnostics = dict(feats.diagnostics or {})
        if seg_info is not None:
            diagnostics["segmentation"] = seg_info
        if norm_record is not None:
            diagnostics["normalization"] = norm_record
        out.update(ok=True, values={k: float(v) for k, v in feats.values.items()}, diagnostics=diagnostics)
    except Exception as exc:  # noqa: BLE001 - one case's failure must not stop the cohort
        out.update(step=step, reason=one_line_reason(exc))
    return _finished(out, t0)


def _finished(out: dict[str, Any], t0: float) -> dict[str, Any]:
    out.update(seconds=time.perf_counter() - t0, peak_rss_mb=peak_rss_mb(), pid=os.getpid(),
               host=socket.gethostname())
    return out


def _detect_key(row: dict[str, Any]) -> dict[str, Any]:
    """Cache-key parts of a --detect run: the detector's version and the given anatomy file's hash."""
    from modic.batch.detect_mode import SPINE_COLUMN, detector_version

    spine = row.get(SPINE_COLUMN)
    digest = None
    if isinstance(spine, str):
        try:
            digest = file_sha256(spine)
        except OSError:
            digest = "missing"
    return {"detect": True, "detector": detector_version(), "segmenter": _segmenter_version(), "spine": digest}


def one_line_reason(exc: BaseException, limit: int = 300) -> str:
    """A one-line reason: the message of a ModicInputError, else `Type: first line`."""
    text = " ".join(str(exc).split())
    if not isinstance(exc, ModicInputError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB); NaN where `resource` does not exist (Windows)."""
    try:
        import resource
    except ImportError:  # Windows: no getrusage
        return float("nan")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


# ---------------------------------------------------------------- executors


def _segmenter_version() -> str:
    """`modic.segment.METHOD_VERSION`: part of the cache key of --segment runs, so masks segmented by an
    earlier version of the algorithm are not reused."""
    import importlib

    return str(getattr(importlib.import_module("modic.segment"), "METHOD_VERSION", "unversioned"))


# ---------------------------------------------------------------- helpers


def _check_jobs(jobs: int | None) -> int:
    if jobs is None:
        return max(1, os.cpu_count() or 1)
    if int(jobs) < 1:
        raise ModicInputError(f"--jobs must be ≥ 1, got {jobs}")
    return int(jobs)


def _plain_row(row: pd.Series) -> dict[str, Any]:
    """A manifest row as a plain dict (NaN → None) that pickles cheaply."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        if v is None or (isinstance(v, float) and v != v):
            out[str(k)] = None
        elif hasattr(v, "item"):
            out[str(k)] = v.item()
        else:
            out[str(k)] = v
    return out


def _hash_inputs(rows: list[dict[str, Any]]) -> list[dict[str, str] | None]:
    """SHA-256 of each case's input files (None for a case with a missing file: it is never cached)."""

    def one(row: dict[str, Any]) -> dict[str, str] | None:
        hashes = {}
        for col in PATH_COLUMNS:
            path = row.get(col)
            if isinstance(path, str):
                try:
                    hashes[col] = file_sha256(path)
                except OSError:
                    return None
        return hashes

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, rows))


def _diagnostics_table(entries: dict[str, dict[str, Any]], order: Iterable[str]) -> pd.DataFrame:
    records = []
    for cid in order:
        if cid not in entries:
            continue
        e = entries[cid]
        info = e.get("info", {})
        rec: dict[str, Any] = {"case_id": cid, "cache_key": e.get("key"),
                               "from_cache": info.get("from_cache", False),
                               "seconds": info.get("seconds"), "peak_rss_mb": info.get("peak_rss_mb"),
                               "host": info.get("host"), "pid": info.get("pid")}
        for col, h in (info.get("inputs") or {}).items():
            rec[f"sha256_{col}"] = h
        for k, v in (e.get("diagnostics") or {}).items():
            if k == "lesion_rows":  # --detect: the rows are the table itself
                continue
            items = v.items() if isinstance(v, dict) else [(None, v)]  # per-sequence dicts → SEQ_key
            for kk, vv in items:
                name = k if kk is None else f"{k}_{kk}"
                rec[name] = json.dumps(vv, sort_keys=True, default=str) if isinstance(vv, (dict, list, tuple)) \
                    else vv
        records.append(rec)
    return pd.DataFrame.from_records(records)
