"""`run_stats`: the whole cohort analysis of the paper, written atomically to one output folder.

Output folder (built in a hidden sibling and moved into place only when complete):
  table1.csv / table1.png, table2_dunn.csv, screening.csv, correlation_filter.csv, lasso.csv,
  selected_features.csv, selected_kw.csv, selected_dunn.csv, correlations.csv, correlations_by_type.csv,
  validation.csv, nested_cv_folds.csv, nested_cv_repeats.csv, per_class.csv, selection_frequency.csv,
  [permutation_null.csv], dropped_features.csv, tables.xlsx (all tables, one sheet each), figures (PNG + SVG:
  screening, LASSO, heatmap, boxplots, confusion, ROC, reliability, selection frequency, Table 1),
  model.skops (with the applicability domain), summary.json, report.html (self-contained; methods text,
  preset and choices, TRIPOD / RQS checklist; `modic.stats.report_html`).

Presets (`PRESETS`): "recommended" (default) and "paper"; every choice can be overridden on its own.
"""

from __future__ import annotations

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


PRESETS: dict[str, dict] = {
    # the choices a reviewer would sign: rank correlation with R's small-sample p, one KW screen,
    # categorical (multinomial) L1 selection, nested CV as the headline, BH per correlation family,
    # a class-balanced SVM with C and gamma tuned in the inner CV
    "recommended": {"correlation": "spearman", "screen": "kw", "lasso": "logistic", "validation": "nested",
                    "corr_adjust": "fdr_bh", "class_weight": "balanced", "tune_svm": True},
    # every choice the paper made (Pearson: its 0.391 vs −0.390 for a ratio and its reciprocal rules out
    # Spearman; pairwise Mann–Whitney screen; LASSO regression on the type codes; hold-out validation;
    # raw p for the correlations; an untuned, unweighted SVM)
    "paper": {"correlation": "pearson", "screen": "mwu", "lasso": "lassocv", "validation": "holdout",
              "corr_adjust": "none", "class_weight": "none", "tune_svm": False},
}
CHOICES = tuple(PRESETS["recommended"])
VALIDATIONS = ("nested", "holdout")


@dataclass
class StatsOptions:
    """All settings of a run (recorded in summary.json and the methods paragraph).

    `preset` ("recommended" or "paper") fills every choice left as None (`CHOICES`); a choice given
    explicitly overrides the preset. `resolved()` returns the options with every choice filled.
    """

    preset: str = "recommended"
    sequence: str = "T2"
    screen: str | None = None
    alpha: float = 0.05
    corr_cutoff: float = 0.9
    corr_exact: str = "auto"
    lasso: str | None = None
    lasso_rule: str = "min"
    lasso_cv: int = 5
    n_alphas: int = 100
    p_adjust: str = "bonferroni"
    correlation: str | None = None
    corr_adjust: str | None = None
    min_group: int = 5
    fdr: bool = False
    age_subset: str = "scored"
    normality_star: str = "rejected"
    validation: str | None = None
    class_weight: str | None = None
    tune_svm: bool | None = None
    permutations: int = 0
    seed: int = 0
    cv_folds: int = 5
    cv_repeats: int = 2  # 5 repeats take ~2 min CPU on the 154-case demo cohort; 2 stay ≤ 60 s
    test_size: float = 0.3
    n_boot: int = 1000
    jobs: int = 1
    synthetic: bool | None = None

    def resolved(self) -> StatsOptions:
        """A copy with every None choice taken from the preset (`fdr=True` forces BH for correlations)."""
        from dataclasses import replace

        if self.preset not in PRESETS:
            raise ModicInputError(f"invalid statistics setting: preset must be one of {', '.join(PRESETS)}")
        fill = {k: v for k, v in PRESETS[self.preset].items() if getattr(self, k) is None}
        out = replace(self, **fill)
        if self.fdr and self.corr_adjust is None:
            out.corr_adjust = "fdr_bh"
        return out

    def choice_sources(self) -> dict[str, str]:
        """For every preset choice: "preset" or "option" (set explicitly)."""
        return {k: "preset" if getattr(self, k) is None else "option" for k in CHOICES}

    def validate(self) -> None:
        from modic.stats.correlation import ADJUST_METHODS, AGE_SUBSETS, METHODS
        from modic.stats.posthoc import P_ADJUST_METHODS
        from modic.stats.selection import CORR_EXACT, LASSO_MODES, LASSO_RULES, SCREEN_TESTS
        from modic.stats.table1 import NORMALITY_STARS

        checks = [(self.preset in PRESETS, f"preset must be one of {', '.join(PRESETS)}"),
                  (self.screen in SCREEN_TESTS, f"screen must be one of {', '.join(SCREEN_TESTS)}"),
                  (self.lasso in LASSO_MODES, f"lasso must be one of {', '.join(LASSO_MODES)}"),
                  (self.lasso_rule in LASSO_RULES, f"lasso rule must be one of {', '.join(LASSO_RULES)}"),
                  (self.corr_exact in CORR_EXACT, f"corr-exact must be one of {', '.join(CORR_EXACT)}"),
                  (self.p_adjust in P_ADJUST_METHODS, f"p-adjust must be one of {', '.join(P_ADJUST_METHODS)}"),
                  (self.corr_adjust in ADJUST_METHODS, f"corr-adjust must be one of {', '.join(ADJUST_METHODS)}"),
                  (self.correlation in METHODS, "correlation must be spearman or pearson"),
                  (self.age_subset in AGE_SUBSETS, f"age subset must be one of {', '.join(AGE_SUBSETS)}"),
                  (self.normality_star in NORMALITY_STARS,
                   f"normality star must be one of {', '.join(NORMALITY_STARS)}"),
                  (self.validation in VALIDATIONS, f"validation must be one of {', '.join(VALIDATIONS)}"),
                  (self.class_weight in ("balanced", "none"), "class weight must be balanced or none"),
                  (0 < self.alpha < 1, "alpha must be between 0 and 1"),
                  (0 < self.corr_cutoff <= 1, "correlation cutoff must be in (0, 1]"),
                  (0 < self.test_size < 1, "test size must be between 0 and 1"),
                  (self.cv_folds >= 2 and self.cv_repeats >= 1, "need cv-folds ≥ 2 and cv-repeats ≥ 1"),
                  (self.n_alphas >= 2, "n-alphas must be ≥ 2"), (self.permutations >= 0, "permutations must be ≥ 0"),
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


def _row_groups(groups, index: pd.Index) -> np.ndarray | None:
    """Patient of each feature-table row (aligned to `index`), or None when rows are independent."""
    if groups is None:
        return None
    g = pd.Series(groups)
    g.index = g.index.astype(str)
    missing = [c for c in index.astype(str) if c not in g.index]
    if missing:
        raise ModicInputError(f"no patient (cluster) given for row {missing[0]!r} of the feature table; "
                              "give every row's patient")
    out = g.loc[index.astype(str)].astype(str).to_numpy()
    return None if len(set(out)) == len(out) else out


def run_stats(features: str | os.PathLike | pd.DataFrame, manifest: str | os.PathLike | pd.DataFrame,
              out_dir: str | os.PathLike, options: StatsOptions | None = None, progress: Progress = None,
              overwrite: bool = False, groups: pd.Series | dict | None = None, **kwargs) -> StatsResult:
    """Run the whole analysis and write the report folder atomically.

    `groups` maps each row's case_id to its patient when rows are not independent (one row per lesion,
    `modic.stats.units`): CV folds, the hold-out split, LASSO/SVM inner CV, bootstrap intervals and the
    permutation test then keep each patient's rows together.

    Settings come from `options` or keyword arguments named like `StatsOptions` fields
    (e.g. ``run_stats(f, m, "out", screen="mwu", seed=1)``). Raises `ModicInputError` on bad input
    before anything is written. `out_dir` must be new or empty, or a report folder modic wrote; `overwrite`
    replaces modic's own files in a folder that holds others, never the others (docs/OUTPUTS.md).
    """
    from modic.model_io import save_model, versions
    from modic.stats import classifier, correlation, domain, posthoc, selection, table1

    t_start = time.perf_counter()
    opts = options or StatsOptions()
    unknown = set(kwargs) - set(StatsOptions.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
    for k, v in kwargs.items():
        setattr(opts, k, v)
    sources = opts.choice_sources()
    opts = opts.resolved()
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
    row_groups = _row_groups(groups, X.index)

    def lap(name: str, t0: float) -> None:
        timings[name] = round(time.perf_counter() - t0, 3)

    _say(progress, f"cohort: {len(X)} cases ({', '.join(f'type {k}: {n}' for k, n in cohort.counts.items())}), "
                   f"{X.shape[1]} features; preset {opts.preset}")
    # --- Table 1 and Table 2 (morphology) ---
    t0 = time.perf_counter()
    t1 = table1.table1(cohort.features, y, opts.sequence, alpha=opts.alpha, normality_star=opts.normality_star)
    sig_shape = list(t1.index[t1["significant"]])
    t2 = posthoc.dunn_table(shape, y, sig_shape, p_adjust=opts.p_adjust, alpha=opts.alpha)
    tables["table1"] = t1.reset_index()
    tables["table2_dunn"] = t2
    lap("tables_1_2", t0)
    _say(progress, f"Table 1: {len(sig_shape)} of {len(t1)} shape features differ (KW p < {opts.alpha})")
    # --- selection on all data ---
    t0 = time.perf_counter()
    sel_params = dict(screen=opts.screen, alpha=opts.alpha, corr_cutoff=opts.corr_cutoff, lasso=opts.lasso,
                      lasso_cv=opts.lasso_cv, n_alphas=opts.n_alphas, random_state=opts.seed,
                      corr_exact=opts.corr_exact, lasso_rule=opts.lasso_rule)
    sel = selection.RadiomicsSelector(**sel_params, progress=progress).fit(X, y, groups=row_groups)
    lap("selection", t0)
    steps = sel.steps_
    chosen = sel.selected_features_
    for name, step in (("screening", steps["screen"]), ("correlation_filter", steps["correlation"]),
                       ("lasso", steps["lasso"])):
        tables[name] = step.results_
    if steps["screen"].fallback_:
        notes.append(f"No feature passed the screen at p < {opts.alpha}; the one with the smallest p was kept.")
    if steps["lasso"].fallback_:
        notes.append("LASSO kept no feature at the CV-chosen penalty; the feature with the smallest "
                     "Kruskal–Wallis p was kept instead.")
    if steps["lasso"].convergence_warnings_:
        notes.append(f"LASSO solver: {steps['lasso'].convergence_warnings_} fit(s) along the path stopped at the "
                     "iteration limit before the convergence tolerance.")
    sel_df = steps["lasso"].results_.query("kept").drop(columns="kept").reset_index(drop=True)
    tables["selected_features"] = sel_df
    _say(progress, f"selection: {sel.counts_['non_constant']} → {sel.counts_['screened']} → "
                   f"{sel.counts_['decorrelated']} → {sel.counts_['lasso']} features")
    # --- classifier: paper-style hold-out, honest nested CV, final model ---
    svm_params = {"tune": bool(opts.tune_svm), "class_weight": None if opts.class_weight == "none" else "balanced"}
    t0 = time.perf_counter()
    _say(progress, "classifier: paper-style hold-out")
    hold = classifier.holdout_validation(X[chosen], y, test_size=opts.test_size, seed=opts.seed,
                                         n_boot=opts.n_boot, svm_params=svm_params, groups=row_groups)
    lap("holdout", t0)
    t0 = time.perf_counter()
    nested = classifier.nested_cv_validation(X, y, sel_params, folds=opts.cv_folds, repeats=opts.cv_repeats,
                                             seed=opts.seed, n_boot=opts.n_boot, n_jobs=opts.jobs,
                                             svm_params=svm_params, progress=progress, groups=row_groups)
    lap("nested_cv", t0)
    perm = None
    if opts.permutations:
        t0 = time.perf_counter()
        perm = classifier.permutation_test(X, y, sel_params, nested.metrics["balanced_accuracy"], opts.permutations,
                                           folds=opts.cv_folds, repeats=opts.cv_repeats, seed=opts.seed,
                                           svm_params=svm_params, n_jobs=opts.jobs, progress=progress,
                                           groups=row_groups)
        tables["permutation_null"] = pd.DataFrame({"permutation": np.arange(1, len(perm["null"]) + 1),
                                                   "balanced_accuracy": perm["null"]})
        lap("permutation_test", t0)
    tables["validation"] = pd.concat([hold.table(), nested.table()], ignore_index=True)
    tables["nested_cv_folds"] = nested.details["folds"]
    tables["nested_cv_repeats"] = nested.details["per_repeat"].assign(
        repeat=np.arange(1, nested.details["repeats"] + 1))
    tables["per_class"] = pd.concat(
        [classifier.per_class(hold.confusion).assign(validation="paper-style hold-out"),
         classifier.per_class(nested.confusion).assign(validation="nested CV (pooled over repeats)")],
        ignore_index=True)
    freq = nested.details["selection_frequency"]
    tables["selection_frequency"] = pd.DataFrame({"feature": list(freq.index), "frequency": freq.to_numpy(),
                                                  "in_final_model": [f in chosen for f in freq.index]})
    final = classifier.fit_svm(X[chosen], y, random_state=opts.seed, **svm_params)
    dom = domain.fit_domain(X[chosen], seed=opts.seed)
    majority = classifier.majority_rate(y)
    # --- KW + Dunn on the selected features (descriptive: circular) ---
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
    ckw = dict(method=opts.correlation, min_group=opts.min_group, age_subset=opts.age_subset)
    c_shape, n1 = correlation.correlate(shape, cohort.manifest, list(shape.columns), fdr=opts.fdr,
                                        feature_set="shape", p_adjust=opts.corr_adjust, **ckw)
    c_rad, n2 = correlation.correlate(X, cohort.manifest, chosen, fdr=opts.fdr, feature_set="radiomics",
                                      p_adjust=opts.corr_adjust, **ckw)
    tables["correlations"] = pd.concat([c_shape, c_rad], ignore_index=True)
    tables["correlations_by_type"] = pd.concat(
        [correlation.by_type(shape, cohort.manifest, list(shape.columns), feature_set="shape", **ckw),
         correlation.by_type(X, cohort.manifest, chosen, feature_set="radiomics", **ckw)], ignore_index=True)
    notes += list(dict.fromkeys(n1 + n2))
    lap("correlations", t0)
    tables["dropped_features"] = cohort.dropped
    corr = tables["correlations"]
    basis = "p" if opts.corr_adjust == "none" else "q"
    vers = versions()
    primary = nested if opts.validation == "nested" else hold
    summary = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "preset": opts.preset,
        "choices": {k: {"value": getattr(opts, k), "from": sources[k]} for k in CHOICES},
        "selection_method": selection_method(opts.lasso),
        "primary_validation": opts.validation,
        "accuracy": primary.metrics["accuracy"],
        "balanced_accuracy": primary.metrics["balanced_accuracy"],
        "majority_rate": majority,
        "permutation_p": None if perm is None else perm["p"],
        "settings": {k: getattr(opts, k) for k in StatsOptions.__dataclass_fields__},
        "versions": vers,
        "inputs": {
            "features": {"path": cohort.features_source,
                         "sha256": None if isinstance(features, pd.DataFrame) else file_sha256(features)},
            "manifest": {"path": cohort.manifest_source,
                         "sha256": None if isinstance(manifest, pd.DataFrame) else file_sha256(manifest)}},
        "synthetic": synthetic,
        "clusters": None if row_groups is None else {
            "n_patients": int(len(set(row_groups))),
            "statement": "rows are lesions; CV folds, the hold-out split, inner CV, bootstrap intervals and "
                         "permutations keep each patient's lesions together"},
        "cohort": {"n_cases": len(X), "per_type": cohort.counts, "n_features": int(X.shape[1]),
                   "n_dropped": len(cohort.dropped)},
        "table1": {"sequence": opts.sequence, "significant": sig_shape,
                   "kw_p": {f: float(v) for f, v in t1["kw_p"].items()},
                   "epsilon2": {f: float(v) for f, v in t1["epsilon2"].items()},
                   "normality_star": opts.normality_star},
        "selection": {"counts": sel.counts_, "alpha": steps["lasso"].alpha_,
                      "alpha_min": steps["lasso"].alpha_min_, "rule": opts.lasso_rule,
                      "solver": getattr(steps["lasso"], "solver_", "scikit-learn LassoCV"),
                      "correlation_filter_exact": bool(steps["correlation"].exact_used_), "selected": chosen,
                      "per_sequence": sel.per_sequence(), "significant_per_sequence": per_seq_sig},
        "classifier": {"description": classifier_description(opts, final), "class_weight": opts.class_weight,
                       "tuned": bool(opts.tune_svm), "final_params": final.tuned_params_ or {"C": 1.0,
                                                                                          "gamma": "scale"}},
        "validation": {"holdout": {"metrics": hold.metrics, "ci95": hold.ci, "ci_method": hold.ci_method,
                                   **{k: v for k, v in hold.details.items() if k not in ("y_true", "pred", "proba")},
                                   "confusion": hold.confusion.to_numpy().tolist()},
                       "nested_cv": {"metrics": nested.metrics, "ci95": nested.ci, "folds": nested.details["n_splits"],
                                     "repeats": nested.details["repeats"],
                                     "repeat_spread": {m: {"sd": v[0], "min": v[1], "max": v[2]}
                                                       for m, v in nested.spread.items()},
                                     "confusion": nested.confusion.to_numpy().tolist()},
                       "majority_rate": majority,
                       "permutation_test": None if perm is None else {k: v for k, v in perm.items() if k != "null"}},
        "correlations": {"n_tests": len(corr), "adjustment": opts.corr_adjust, "significance_basis": basis,
                         "families": "one per score and feature set",
                         "significant": int((corr[basis] < opts.alpha).sum()),
                         "significant_raw_p": int((corr["p"] < opts.alpha).sum()),
                         "age_subset": opts.age_subset},
        "domain": {k: dom[k] for k in ("distance_percentiles", "distance_limit", "share_outside_limit",
                                       "n_training")},
        "notes": notes,
    }
    model_summary = {"n_cases_per_type": cohort.counts, "selection": {**sel_params, **sel.counts_,
                                                                      "lasso_alpha": steps["lasso"].alpha_},
                     "preset": opts.preset, "classifier": summary["classifier"],
                     "cv_accuracy": nested.metrics["accuracy"],
                     "cv_balanced_accuracy": nested.metrics["balanced_accuracy"],
                     "holdout_accuracy": hold.metrics["accuracy"], "trained": summary["created"],
                     "features_sha256": summary["inputs"]["features"]["sha256"]}
    _say(progress, "writing tables, figures, model and report")
    t0 = time.perf_counter()
    from modic.stats.report_html import html_report

    with atomic_directory(out_dir, overwrite, inputs=inputs, command="stats") as tmp:
        model_path = save_model(tmp / "model.skops", final, chosen, model_summary, synthetic=synthetic, domain=dom)
        _write_tables(tmp, tables)
        pngs = _write_figures(tmp, tables, t1, shape, y, sig_shape, sel, X, hold, nested, opts)
        lap("write", t0)
        summary["timings_s"] = {**timings, "total": round(time.perf_counter() - t_start, 3)}
        (tmp / "summary.json").write_text(json.dumps(_clean(summary), indent=2), encoding="utf-8")
        (tmp / "report.html").write_text(html_report(summary, tables, t1, pngs, opts), encoding="utf-8")
    _say(progress, f"done in {summary['timings_s']['total']:.1f} s → {out_dir}")
    return StatsResult(out_dir=out_dir, summary=summary, tables=tables, selector=sel,
                       model_path=out_dir / model_path.name)


def selection_method(lasso: str) -> str:
    """How the final selection step treats the Modic type (stated in summary.json and the report)."""
    if lasso == "lassocv":
        return ("LASSO regression on the type codes 1/2/3 (LassoCV; the paper's choice: assumes ordered types and "
                "misses features where type II differs from both I and III)")
    return "multinomial L1 logistic regression (types as categories)"


def classifier_description(opts: StatsOptions, model=None) -> str:
    """What the classifier is, in one sentence."""
    cw = "class-balanced weights" if opts.class_weight == "balanced" else "no class weights"
    if opts.tune_svm:
        from modic.stats.classifier import C_GRID, GAMMA_FACTORS

        cs = ", ".join(f"{c:g}" for c in C_GRID)
        gs = ", ".join(f"{g:.3g}" for g in GAMMA_FACTORS)
        tuning = (f"C ∈ {{{cs}}} and gamma ∈ {{{gs}}} / n_features"
                  " tuned by inner stratified 3-fold CV (balanced accuracy) in every training set")
        if model is not None and getattr(model, "tuned_params_", None):
            tp = model.tuned_params_
            tuning += f"; final model C = {tp['C']:g}, gamma = {tp['gamma']:.4g}"
    else:
        tuning = "C = 1 and gamma = \"scale\" (untuned)"
    return (f"an ensemble of 3 sigmoid-calibrated RBF SVMs (CalibratedClassifierCV, cv = 3, probabilities "
            f"averaged) on median-imputed, standardised features, with {cw}; {tuning}")


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
    from modic.stats.table1 import normality_note, table1_display

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
    basis = "p" if opts.corr_adjust == "none" else "q"
    out["correlation_heatmap"] = fg.save_figure(
        fg.correlation_heatmap(corr, f"{opts.correlation.capitalize()} correlation", p_column=basis, alpha=opts.alpha),
        folder, "correlation_heatmap")
    if sig_shape:
        out["boxplots_shape"] = fg.save_figure(
            fg.boxplots(shape, y, sig_shape, t1["kw_p"].to_dict()), folder, "boxplots_shape")
    out["confusion_matrix"] = fg.save_figure(
        fg.confusion_figure({"paper-style hold-out": hold.confusion, "nested CV (pooled)": nested.confusion}),
        folder, "confusion_matrix")
    yt, proba = nested.details["y_true"], nested.details["proba"].mean(axis=0)
    out["roc_curves"] = fg.save_figure(fg.roc_figure(yt, proba, title="ROC, nested CV (out of fold, repeat-averaged)"),
                                       folder, "roc_curves")
    out["reliability"] = fg.save_figure(fg.reliability_figure(yt, proba, brier=nested.metrics["brier"]), folder,
                                        "reliability")
    if len(tables["selection_frequency"]):
        out["selection_frequency"] = fg.save_figure(fg.selection_frequency_figure(tables["selection_frequency"]),
                                                    folder, "selection_frequency")
    out["table1"] = fg.save_figure(fg.table_figure(table1_display(t1), f"Table 1 ({opts.sequence} shape features)",
                                                   normality_note(opts.alpha, opts.normality_star)), folder, "table1")
    return out
