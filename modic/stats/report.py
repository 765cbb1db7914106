"""`run_stats`: the whole cohort analysis of the paper, written atomically to one output folder.

Output folder (built in a hidden sibling and moved into place only when complete):
  table1.csv / table1.png, table2_dunn.csv, screening.csv, correlation_filter.csv, lasso.csv,
  selected_features.csv, selected_kw.csv, selected_dunn.csv, correlations.csv, validation.csv,
  nested_cv_folds.csv, dropped_features.csv, tables.xlsx (all tables, one sheet each), figures (PNG + SVG),
  model.skops, summary.json, report.html (self-contained, figures embedded as base64 PNG).
"""

from __future__ import annotations

import base64
import html
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from modic.errors import ModicInputError
from modic.io import atomic_directory, check_output_dir, file_sha256
from modic.stats.cohort import MIN_CASES_PER_TYPE, Cohort, check_split_sizes, load_cohort, sequence_of

Progress = Callable[[str], None] | None


@dataclass
class StatsOptions:
    """All settings of a run (recorded in summary.json and the methods paragraph)."""

    sequence: str = "T2"
    screen: str = "kw"
    alpha: float = 0.05
    corr_cutoff: float = 0.9
    lasso: str = "lassocv"
    lasso_cv: int = 5
    n_alphas: int = 50
    p_adjust: str = "bonferroni"
    correlation: str = "spearman"
    min_group: int = 5
    fdr: bool = False
    seed: int = 0
    cv_folds: int = 5
    cv_repeats: int = 2
    test_size: float = 0.3
    n_boot: int = 1000
    jobs: int = 1
    synthetic: bool | None = None

    def validate(self) -> None:
        from modic.stats.correlation import METHODS
        from modic.stats.posthoc import P_ADJUST_METHODS
        from modic.stats.selection import LASSO_MODES, SCREEN_TESTS

        checks = [(self.screen in SCREEN_TESTS, f"screen must be one of {', '.join(SCREEN_TESTS)}"),
                  (self.lasso in LASSO_MODES, f"lasso must be one of {', '.join(LASSO_MODES)}"),
                  (self.p_adjust in P_ADJUST_METHODS, f"p-adjust must be one of {', '.join(P_ADJUST_METHODS)}"),
                  (self.correlation in METHODS, "correlation must be spearman or pearson"),
                  (0 < self.alpha < 1, "alpha must be between 0 and 1"),
                  (0 < self.corr_cutoff <= 1, "correlation cutoff must be in (0, 1]"),
                  (0 < self.test_size < 1, "test size must be between 0 and 1"),
                  (self.cv_folds >= 2 and self.cv_repeats >= 1, "need cv-folds ≥ 2 and cv-repeats ≥ 1"),
                  (self.min_group >= 2, "min-group must be ≥ 2"), (self.n_boot >= 10, "n-boot must be ≥ 10")]
        for ok, msg in checks:
            if not ok:
                raise ModicInputError(f"invalid statistics setting: {msg}")


@dataclass
class StatsResult:
    """What `run_stats` produced (the tables are also in the output folder)."""

    out_dir: Path
    summary: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    selector: object | None = None
    model_path: Path | None = None


def _say(progress: Progress, msg: str) -> None:
    if progress is not None:
        progress(msg)


def _is_synthetic(cohort: Cohort) -> bool:
    for col in ("synthetic", "phantom"):
        if col in cohort.manifest.columns:
            v = cohort.manifest[col].astype(str).str.strip().str.lower()
            if v.isin(["1", "true", "yes", "y"]).any():
                return True
    return False


def run_stats(features: str | os.PathLike | pd.DataFrame, manifest: str | os.PathLike | pd.DataFrame,
              out_dir: str | os.PathLike, options: StatsOptions | None = None, progress: Progress = None,
              overwrite: bool = False, **kwargs) -> StatsResult:
    """Run the whole analysis and write the report folder atomically.

    Settings come from `options` or keyword arguments named like `StatsOptions` fields
    (e.g. ``run_stats(f, m, "out", screen="mwu", seed=1)``). Raises `ModicInputError` on bad input
    before anything is written. `out_dir` must be new or empty, or a report folder modic wrote; `overwrite`
    replaces modic's own files in a folder that holds others, never the others (docs/OUTPUTS.md).
    """
    from modic.model_io import save_model, versions
    from modic.stats import classifier, correlation, posthoc, selection, table1

    t_start = time.perf_counter()
    opts = options or StatsOptions()
    unknown = set(kwargs) - set(StatsOptions.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
    for k, v in kwargs.items():
        setattr(opts, k, v)
    opts.validate()
    inputs = [p for p in (features, manifest) if not isinstance(p, pd.DataFrame)]
    out_dir = Path(out_dir)
    check_output_dir(out_dir, overwrite, inputs=inputs, command="stats")
    cohort = load_cohort(features, manifest, min_cases_per_type=MIN_CASES_PER_TYPE)
    check_split_sizes(cohort.types, test_size=opts.test_size, seed=opts.seed)
    shape = table1.shape_frame(cohort.features, opts.sequence)  # raises if the sequence has no shape features
    synthetic = _is_synthetic(cohort) if opts.synthetic is None else bool(opts.synthetic)
    timings: dict[str, float] = {}
    tables: dict[str, pd.DataFrame] = {}
    notes = list(cohort.notes)
    X, y = cohort.features, cohort.types

    def lap(name: str, t0: float) -> None:
        timings[name] = round(time.perf_counter() - t0, 3)

    _say(progress, f"cohort: {len(X)} cases ({', '.join(f'type {k}: {n}' for k, n in cohort.counts.items())}), "
                   f"{X.shape[1]} features")
    # --- Table 1 and Table 2 (morphology) ---
    t0 = time.perf_counter()
    t1 = table1.table1(cohort.features, y, opts.sequence, alpha=opts.alpha)
    sig_shape = list(t1.index[t1["significant"]])
    t2 = posthoc.dunn_table(shape, y, sig_shape, p_adjust=opts.p_adjust, alpha=opts.alpha)
    tables["table1"] = t1.reset_index()
    tables["table2_dunn"] = t2
    lap("tables_1_2", t0)
    _say(progress, f"Table 1: {len(sig_shape)} of {len(t1)} shape features differ (KW p < {opts.alpha})")
    # --- selection on all data ---
    t0 = time.perf_counter()
    sel_params = dict(screen=opts.screen, alpha=opts.alpha, corr_cutoff=opts.corr_cutoff, lasso=opts.lasso,
                      lasso_cv=opts.lasso_cv, n_alphas=opts.n_alphas, random_state=opts.seed)
    sel = selection.RadiomicsSelector(**sel_params, progress=progress).fit(X, y)
    lap("selection", t0)
    steps = sel.steps_
    chosen = sel.selected_features_
    for name, step in (("screening", steps["screen"]), ("correlation_filter", steps["correlation"]),
                       ("lasso", steps["lasso"])):
        tables[name] = step.results_
    if steps["screen"].fallback_:
        notes.append(f"No feature passed the screen at p < {opts.alpha}; the one with the smallest p was kept.")
    if steps["lasso"].fallback_:
        notes.append("LASSO kept no feature at the CV-chosen alpha; the feature most correlated with the type "
                     "was kept instead.")
    if steps["lasso"].convergence_warnings_:
        notes.append(f"LASSO solver reported {steps['lasso'].convergence_warnings_} convergence warning(s).")
    sel_df = steps["lasso"].results_.query("kept").drop(columns="kept").reset_index(drop=True)
    tables["selected_features"] = sel_df
    _say(progress, f"selection: {sel.counts_['non_constant']} → {sel.counts_['screened']} → "
                   f"{sel.counts_['decorrelated']} → {sel.counts_['lasso']} features")
    # --- classifier: paper-style hold-out, honest nested CV, final model ---
    t0 = time.perf_counter()
    _say(progress, "classifier: paper-style hold-out")
    hold = classifier.holdout_validation(X[chosen], y, test_size=opts.test_size, seed=opts.seed,
                                         n_boot=opts.n_boot)
    lap("holdout", t0)
    t0 = time.perf_counter()
    nested = classifier.nested_cv_validation(X, y, sel_params, folds=opts.cv_folds, repeats=opts.cv_repeats,
                                             seed=opts.seed, n_boot=opts.n_boot, n_jobs=opts.jobs,
                                             progress=progress)
    lap("nested_cv", t0)
    tables["validation"] = pd.concat([hold.table(), nested.table()], ignore_index=True)
    tables["nested_cv_folds"] = nested.details["folds"]
    final = classifier.fit_svm(X[chosen], y, random_state=opts.seed)
    # --- KW + Dunn on the selected features ---
    t0 = time.perf_counter()
    h, p = posthoc.kruskal_wallis(steps["zscore"].transform(X)[:, sel.get_support()], y.to_numpy())
    kw_sel = pd.DataFrame({"feature": chosen, "sequence": [sequence_of(c) for c in chosen], "kw_h": h, "kw_p": p,
                           "significant": p < opts.alpha})
    tables["selected_kw"] = kw_sel
    tables["selected_dunn"] = posthoc.dunn_table(X[chosen], y, chosen, p_adjust=opts.p_adjust, alpha=opts.alpha)
    per_seq_sig = kw_sel[kw_sel.significant].groupby("sequence").size().to_dict()
    lap("selected_kw_dunn", t0)
    # --- correlations ---
    t0 = time.perf_counter()
    c_shape, n1 = correlation.correlate(shape, cohort.manifest, list(shape.columns), method=opts.correlation,
                                        min_group=opts.min_group, fdr=opts.fdr, feature_set="shape")
    c_rad, n2 = correlation.correlate(X, cohort.manifest, chosen, method=opts.correlation,
                                      min_group=opts.min_group, fdr=opts.fdr, feature_set="radiomics")
    tables["correlations"] = pd.concat([c_shape, c_rad], ignore_index=True)
    notes += list(dict.fromkeys(n1 + n2))
    lap("correlations", t0)
    tables["dropped_features"] = cohort.dropped
    vers = versions()
    summary = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": {k: getattr(opts, k) for k in StatsOptions.__dataclass_fields__},
        "versions": vers,
        "inputs": {
            "features": {"path": cohort.features_source,
                         "sha256": None if isinstance(features, pd.DataFrame) else file_sha256(features)},
            "manifest": {"path": cohort.manifest_source,
                         "sha256": None if isinstance(manifest, pd.DataFrame) else file_sha256(manifest)}},
        "synthetic": synthetic,
        "cohort": {"n_cases": len(X), "per_type": cohort.counts, "n_features": int(X.shape[1]),
                   "n_dropped": len(cohort.dropped)},
        "table1": {"sequence": opts.sequence, "significant": sig_shape,
                   "kw_p": {f: float(v) for f, v in t1["kw_p"].items()}},
        "selection": {"counts": sel.counts_, "alpha": steps["lasso"].alpha_, "selected": chosen,
                      "per_sequence": sel.per_sequence(), "significant_per_sequence": per_seq_sig},
        "validation": {"holdout": {"metrics": hold.metrics, "ci95": hold.ci, **hold.details,
                                   "confusion": hold.confusion.to_numpy().tolist()},
                       "nested_cv": {"metrics": nested.metrics, "ci95": nested.ci, "folds": nested.details["n_splits"],
                                     "repeats": nested.details["repeats"],
                                     "confusion": nested.confusion.to_numpy().tolist()}},
        "correlations": {"n_tests": len(tables["correlations"]),
                         "significant": int((tables["correlations"]["p"] < opts.alpha).sum())},
        "notes": notes,
    }
    model_summary = {"n_cases_per_type": cohort.counts, "selection": {**sel_params, **sel.counts_,
                                                                      "lasso_alpha": steps["lasso"].alpha_},
                     "cv_accuracy": nested.metrics["accuracy"],
                     "cv_balanced_accuracy": nested.metrics["balanced_accuracy"],
                     "holdout_accuracy": hold.metrics["accuracy"], "trained": summary["created"],
                     "features_sha256": summary["inputs"]["features"]["sha256"]}
    _say(progress, "writing tables, figures, model and report")
    t0 = time.perf_counter()
    with atomic_directory(out_dir, overwrite, inputs=inputs, command="stats") as tmp:
        model_path = save_model(tmp / "model.skops", final, chosen, model_summary, synthetic=synthetic)
        _write_tables(tmp, tables)
        pngs = _write_figures(tmp, tables, t1, shape, y, sig_shape, sel, X, hold, nested, opts)
        lap("write", t0)
        summary["timings_s"] = {**timings, "total": round(time.perf_counter() - t_start, 3)}
        (tmp / "summary.json").write_text(json.dumps(_clean(summary), indent=2), encoding="utf-8")
        (tmp / "report.html").write_text(_html(summary, tables, t1, pngs, opts), encoding="utf-8")
    _say(progress, f"done in {summary['timings_s']['total']:.1f} s → {out_dir}")
    return StatsResult(out_dir=out_dir, summary=summary, tables=tables, selector=sel,
                       model_path=out_dir / model_path.name)


def _clean(o):
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and o != o:
        return None
    return o


def _write_tables(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    from modic.stats.posthoc import dunn_wide

    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=False)
    with pd.ExcelWriter(folder / "tables.xlsx", engine="openpyxl") as xw:
        for name, df in tables.items():
            df.to_excel(xw, sheet_name=name[:31], index=False)
        for name in ("table2_dunn", "selected_dunn"):
            if len(tables[name]):
                dunn_wide(tables[name]).to_excel(xw, sheet_name=f"{name}_matrix"[:31])


def _write_figures(folder, tables, t1, shape, y, sig_shape, sel, X, hold, nested, opts) -> dict[str, bytes]:
    from modic.stats import figures as fg
    from modic.stats.table1 import NORMALITY_NOTE, table1_display

    steps = sel.steps_
    out = {}
    test = "Kruskal–Wallis" if opts.screen == "kw" else "pairwise Mann–Whitney U (min p)"
    out["figure1_screening"] = fg.save_figure(
        fg.screening_figure(steps["screen"].results_, opts.alpha, f"Figure 1. {test} screening"), folder,
        "figure1_screening")
    out["figure2_lasso_coefficients"] = fg.save_figure(fg.lasso_coefficients_figure(steps["lasso"].results_),
                                                       folder, "figure2_lasso_coefficients")
    las_cols = steps["correlation"].get_feature_names_out()
    Z = pd.DataFrame(steps["zscore"].transform(X), columns=X.columns)[list(las_cols)].to_numpy()
    out["lasso_path"] = fg.save_figure(fg.lasso_path_figure(steps["lasso"], Z, y.to_numpy()), folder, "lasso_path")
    corr = tables["correlations"]
    out["correlation_heatmap"] = fg.save_figure(
        fg.correlation_heatmap(corr, f"{opts.correlation.capitalize()} correlation"), folder, "correlation_heatmap")
    if sig_shape:
        out["boxplots_shape"] = fg.save_figure(
            fg.boxplots(shape, y, sig_shape, t1["kw_p"].to_dict()), folder, "boxplots_shape")
    out["confusion_matrix"] = fg.save_figure(
        fg.confusion_figure({"paper-style hold-out": hold.confusion, "nested CV (pooled)": nested.confusion}),
        folder, "confusion_matrix")
    out["table1"] = fg.save_figure(fg.table_figure(table1_display(t1), f"Table 1 ({opts.sequence} shape features)",
                                                   NORMALITY_NOTE.format(alpha=opts.alpha)), folder, "table1")
    return out


def methods_text(summary: dict, opts: StatsOptions) -> str:
    """Methods paragraph generated from the actual settings, counts and versions."""
    s, v, sel = summary["settings"], summary["versions"], summary["selection"]
    c = sel["counts"]
    screen = ("a Kruskal–Wallis test across the three Modic types" if s["screen"] == "kw" else
              "pairwise Mann–Whitney U tests (types 1–2, 1–3, 2–3; kept if any pair was significant)")
    lasso = (f"LASSO regression on the type codes (LassoCV, {s['lasso_cv']}-fold CV over {s['n_alphas']} alphas; "
             f"alpha = {sel['alpha']:.6g})" if s["lasso"] == "lassocv" else
             f"multinomial L1 logistic regression (LogisticRegressionCV, l1_ratio = 1, {s['lasso_cv']}-fold CV; "
             f"1/C = {sel['alpha']:.6g})")
    per_seq = ", ".join(f"{k} {n}" for k, n in sorted(sel["per_sequence"].items()))
    hv, nv = summary["validation"]["holdout"], summary["validation"]["nested_cv"]
    return (
        f"Features of {summary['cohort']['n_cases']} cases (type I/II/III: "
        f"{'/'.join(str(summary['cohort']['per_type'][k]) for k in (1, 2, 3))}) were analysed. Table 1 gives the "
        f"{len(summary['table1']['kw_p'])} shape features of the {s['sequence']} ROI as mean (SD) per type, "
        f"normality per type by Shapiro–Wilk (p > 0.05) and Kruskal–Wallis p; Dunn's post-hoc test "
        f"(scikit-posthocs, tie-corrected, two-sided, {s['p_adjust']} adjustment) followed for significant "
        f"features. For radiomics selection all {c['input']} features were z-scored; {c['screened']} passed "
        f"{screen} at p < {s['alpha']}; {c['decorrelated']} remained after removing one feature of each pair "
        f"with |r| > {s['corr_cutoff']} (the one with the larger mean absolute correlation, caret findCorrelation "
        f"exact rule); {lasso} kept {c['lasso']} features with |coef| > 1e-6 ({per_seq}). An SVM (RBF kernel, "
        f"standardised inputs, sigmoid-calibrated probabilities) was trained on them. Paper-style validation "
        f"(selection on all cases, stratified hold-out of {int(s['test_size'] * 100)} %) gave accuracy "
        f"{hv['metrics']['accuracy']:.3f}; repeated stratified nested cross-validation with the whole selection "
        f"inside the training folds ({nv['folds']}-fold × {nv['repeats']}) gave accuracy "
        f"{nv['metrics']['accuracy']:.3f} (95 % bootstrap CI {nv['ci95']['accuracy'][0]:.3f}–"
        f"{nv['ci95']['accuracy'][1]:.3f}) and balanced accuracy {nv['metrics']['balanced_accuracy']:.3f}. "
        f"{s['correlation'].capitalize()} correlations between ODI, VAS, age and the features used only cases "
        f"with the score and types with ≥ {s['min_group']} such cases"
        f"{', with Benjamini–Hochberg FDR' if s['fdr'] else ''}. Random seed {s['seed']}. Software: modic "
        f"{v['modic']}, Python {v['python']}, scikit-learn {v['sklearn']}, SciPy {v['scipy']}, NumPy {v['numpy']}, "
        f"pandas {v['pandas']}.")


def _html(summary: dict, tables: dict[str, pd.DataFrame], t1: pd.DataFrame, pngs: dict[str, bytes],
          opts: StatsOptions) -> str:
    from modic.stats.posthoc import dunn_wide
    from modic.stats.table1 import NORMALITY_NOTE, table1_display

    def img(name: str, caption: str) -> str:
        if name not in pngs:
            return ""
        b64 = base64.b64encode(pngs[name]).decode("ascii")
        return (f'<figure><img src="data:image/png;base64,{b64}" alt="{name}">'
                f"<figcaption>{caption}</figcaption></figure>")

    def tab(df: pd.DataFrame, index: bool = False, fmt: str = "{:.4g}") -> str:
        return df.to_html(index=index, float_format=lambda v: fmt.format(v), border=0, classes="t")

    e = html.escape
    val = tables["validation"].copy()
    val["cell"] = [f"{v:.3f} ({a:.3f}–{b:.3f})" for v, a, b in zip(val.value, val.ci_low, val.ci_high, strict=True)]
    val = val.pivot(index="metric", columns="validation", values="cell")
    sel = summary["selection"]
    warn = ('<p class="warn">Trained on synthetic (phantom) data: for testing only, not for clinical use.</p>'
            if summary["synthetic"] else "")
    notes = "".join(f"<li>{e(n)}</li>" for n in summary["notes"]) or "<li>none</li>"
    dunn = dunn_wide(tables["table2_dunn"]) if len(tables["table2_dunn"]) else pd.DataFrame()
    corr = tables["correlations"]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Modic cohort statistics</title><style>"
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table.t{border-collapse:collapse;font-size:12px;margin:.5em 0}"
        "table.t td,table.t th{border-bottom:1px solid #ddd;padding:2px 8px;text-align:right}"
        "figure{margin:1em 0}img{max-width:100%}.warn{color:#b00;font-weight:bold}.note{font-size:12px;color:#555}"
        "</style></head><body>",
        "<h1>Modic changes: cohort statistics</h1>", warn,
        f"<p class='note'>Created {e(summary['created'])}; features {e(summary['inputs']['features']['path'])} "
        f"(SHA-256 {e(str(summary['inputs']['features']['sha256']))}); manifest "
        f"{e(summary['inputs']['manifest']['path'])}.</p>",
        "<h2>Methods</h2>", f"<p>{e(methods_text(summary, opts))}</p>",
        "<h2>Notes</h2>", f"<ul>{notes}</ul>",
        f"<h2>Table 1. Shape features ({e(opts.sequence)}) by Modic type</h2>",
        tab(table1_display(t1), index=True), f"<p class='note'>{e(NORMALITY_NOTE.format(alpha=opts.alpha))}</p>",
        img("boxplots_shape", "Shape features with Kruskal–Wallis p < alpha, per Modic type."),
        f"<h2>Table 2. Dunn's test ({e(opts.p_adjust)}-adjusted p)</h2>",
        tab(dunn, index=True, fmt="{:.6f}") if len(dunn) else "<p>No shape feature was significant.</p>",
        "<h2>Radiomics feature selection</h2>",
        tab(pd.DataFrame([sel["counts"]])),
        f"<p>LASSO alpha = {sel['alpha']:.6g}. Selected per sequence: "
        f"{e(', '.join(f'{k}: {n}' for k, n in sorted(sel['per_sequence'].items())))}.</p>",
        img("figure1_screening", "Figure 1. Screening p-values per feature, coloured by image type; red line p = "
                                 f"{opts.alpha}."),
        img("figure2_lasso_coefficients", "Figure 2. LASSO coefficients of the selected features."),
        img("lasso_path", "LASSO path and cross-validation curve."),
        "<h3>Selected features: Kruskal–Wallis</h3>", tab(tables["selected_kw"]),
        "<h2>Classifier validation</h2>",
        "<p>Paper-style (selection on all data, then hold-out) is optimistic; nested CV repeats the whole "
        "selection inside each training fold.</p>", tab(val, index=True, fmt="{:.3f}"),
        img("confusion_matrix", "Confusion matrices."),
        f"<h2>Correlations with pain scores and age ({e(opts.correlation)})</h2>",
        tab(corr) if len(corr) else "<p>No scores available.</p>",
        img("correlation_heatmap", "r with * p < 0.05, ** p < 0.01."),
        "<h2>Software</h2>", tab(pd.DataFrame([summary["versions"]])),
        "</body></html>",
    ]
    return "\n".join(parts)
