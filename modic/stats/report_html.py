"""The methods paragraph and the self-contained report.html of `run_stats`."""

from __future__ import annotations

import base64
import html

import pandas as pd

TRIPOD_RQS: tuple[tuple[str, str, str], ...] = (
    # (item, status, how this analysis covers it / why it cannot)
    ("TRIPOD 4–5: source of data, participants, eligibility", "user",
     "The manifest lists the cases; describe recruitment, dates and eligibility in the paper."),
    ("TRIPOD 6 / RQS: outcome definition (Modic type)", "user",
     "modic_type comes from the manifest; say who typed the lesions and how (readers, criteria)."),
    ("TRIPOD 7 / RQS: predictors defined, feature extraction reproducible", "covered",
     "PyRadiomics settings, versions and input checksums are recorded (summary.json, model file)."),
    ("TRIPOD 8: sample size", "covered", "Cases per type are reported; the majority-class rate is the floor."),
    ("TRIPOD 9: missing data", "covered",
     "Missing feature values are median-imputed inside each training set; dropped features are listed."),
    ("TRIPOD 10b / RQS: feature selection and model building without leakage", "covered",
     "The whole selection and the SVM are refitted inside every outer fold of a repeated nested CV."),
    ("TRIPOD 10d / RQS: discrimination and calibration", "covered",
     "Accuracy, balanced accuracy, macro-F1, one-vs-rest AUC (ROC figure), Brier score, reliability plot."),
    ("TRIPOD 13–16: participants, model specification, performance with CIs", "covered",
     "Counts per type, selected features and coefficients, the classifier's settings, intervals (Wilson for "
     "hold-out accuracy, bootstrap and spread over repeats for nested CV)."),
    ("RQS: comparison with chance / permutation test", "covered",
     "Majority-class rate beside accuracy; a permutation test of the whole pipeline with --permutations N."),
    ("RQS: multiple segmentations / inter-reader reproducibility (ICC)", "not covered",
     "Needs a second reader's masks; compute feature ICCs (e.g. two-way random, absolute agreement) and keep "
     "only reproducible features before this analysis."),
    ("RQS / TRIPOD 10e: external validation", "not covered",
     "Nested CV is internal validation; apply model.skops with `modic classify` to another centre's cohort."),
    ("RQS: phantom study / scanner harmonisation", "not covered",
     "Intensity features depend on scanner and protocol; this analysis applies per-image normalisation only "
     "(no ComBat-type harmonisation across scanners)."),
    ("RQS: multivariable analysis with clinical features", "not covered",
     "Age, sex and Pfirrmann grade are not model inputs; correlations with age are reported separately."),
    ("RQS: open science (code, data)", "partly",
     "Code and model file are open; sharing the images is the study's decision."),
)


def methods_text(summary: dict, opts) -> str:
    """Methods paragraph generated from the actual settings, counts and versions."""
    s, v, sel = summary["settings"], summary["versions"], summary["selection"]
    c = sel["counts"]
    screen = ("a Kruskal–Wallis test across the three Modic types" if s["screen"] == "kw" else
              "pairwise Mann–Whitney U tests (types 1–2, 1–3, 2–3; kept if any pair was significant, uncorrected)")
    rule = "the CV minimum" if s["lasso_rule"] == "min" else "the largest penalty within one SE of the CV minimum"
    if s["lasso"] == "lassocv":
        lasso = (f"LASSO regression on the type codes 1/2/3 (LassoCV, {s['lasso_cv']}-fold CV over {s['n_alphas']} "
                 f"alphas, {rule}; alpha = {sel['alpha']:.6g}; this treats the types as ordered numbers)")
    else:
        lasso = (f"multinomial L1-penalised logistic regression (types as categories; {sel.get('solver', 'glmnet')}; "
                 f"{s['lasso_cv']}-fold CV log loss over up to {s['n_alphas']} penalties from λ_max down 100-fold, "
                 f"{rule}; λ = {sel['alpha']:.6g})")
    exact = sel.get("correlation_filter_exact", True)
    cfilter = ("caret findCorrelation, exact = TRUE: pairs visited in decreasing order of mean absolute "
               "correlation; of each pair the first feature is removed when its mean absolute correlation with the "
               "remaining features exceeds the mean of the remaining matrix without the second feature's row, "
               "else the second" if exact else
               "caret findCorrelation, exact = FALSE: of each pair the feature whose mean absolute correlation "
               "(computed once) ranks higher is removed")
    per_seq = ", ".join(f"{k} {n}" for k, n in sorted(sel["per_sequence"].items()))
    hv, nv = summary["validation"]["holdout"], summary["validation"]["nested_cv"]
    hci = hv["ci95"]["accuracy"]
    sp = nv["repeat_spread"]["balanced_accuracy"]
    star = ("normality rejected (Shapiro–Wilk p < {a})" if s["normality_star"] == "rejected" else
            "normality not rejected (Shapiro–Wilk p ≥ {a})").format(a=s["alpha"])
    adj = {"none": "unadjusted p", "fdr_bh": "Benjamini–Hochberg q within each family (one score × one feature "
           "set), raw p kept beside it"}.get(s["corr_adjust"], f"{s['corr_adjust']}-adjusted p per family")
    age = ("the same cases as ODI/VAS (cases with a pain score)" if s["age_subset"] == "scored" else "every case")
    corr_p = ("Spearman p as R's cor.test: exact permutation distribution for n ≤ 9 without ties, AS 89 Edgeworth "
              "series for larger n without ties, t approximation with ties" if s["correlation"] == "spearman" else
              "Pearson p from the t distribution")
    perm = summary["validation"].get("permutation_test")
    perm_txt = (f" A permutation test of the whole pipeline ({perm['n_permutations']} label permutations, selection "
                f"inside) gave p = {perm['p']:.3g} for the balanced accuracy." if perm else "")
    return (
        f"Preset: {summary['preset']}. Features of {summary['cohort']['n_cases']} cases (type I/II/III: "
        f"{'/'.join(str(summary['cohort']['per_type'][k]) for k in (1, 2, 3))}) were analysed. Table 1 gives the "
        f"{len(summary['table1']['kw_p'])} shape features of the {s['sequence']} ROI as mean (SD) and median (IQR) "
        f"per type (* = {star}), Kruskal–Wallis p and ε²; Dunn's post-hoc test (scikit-posthocs, tie-corrected, "
        f"two-sided, {s['p_adjust']} adjustment) with rank-biserial effect sizes followed for significant "
        f"features. For radiomics selection all {c['input']} features were z-scored; {c['screened']} passed "
        f"{screen} at p < {s['alpha']}; {c['decorrelated']} remained after removing one feature of each pair with "
        f"|r| > {s['corr_cutoff']} ({cfilter}); {lasso} kept {c['lasso']} features with |coef| > 1e-6 "
        f"({per_seq}). The classifier is {summary['classifier']['description']}. Paper-style validation "
        f"(selection on all cases, stratified hold-out of {int(s['test_size'] * 100)} %) gave accuracy "
        f"{hv['metrics']['accuracy']:.3f} ({hv['n_correct']}/{hv['n_test']}; Wilson 95 % CI {hci[0]:.3f}–"
        f"{hci[1]:.3f}); repeated stratified nested cross-validation with the whole selection inside the training "
        f"folds ({nv['folds']}-fold × {nv['repeats']}) gave accuracy {nv['metrics']['accuracy']:.3f} (case-bootstrap "
        f"95 % CI {nv['ci95']['accuracy'][0]:.3f}–{nv['ci95']['accuracy'][1]:.3f}) and balanced accuracy "
        f"{nv['metrics']['balanced_accuracy']:.3f} (range over repeats {sp['min']:.3f}–{sp['max']:.3f}), against a "
        f"majority-class rate of {summary['majority_rate']:.3f}.{perm_txt} {s['correlation'].capitalize()} "
        f"correlations between ODI, VAS, age and the features used only cases with the score (age: {age}) and types "
        f"with ≥ {s['min_group']} such cases ({corr_p}; 95 % CI by Fisher's z; significance by {adj}); "
        f"correlations adjusted for the Modic type (rank-based partial) and within each type are listed "
        f"separately. Random seed {s['seed']}. Software: modic {v['modic']}, Python {v['python']}, scikit-learn "
        f"{v['sklearn']}, SciPy {v['scipy']}, NumPy {v['numpy']}, pandas {v['pandas']}.")


def html_report(summary: dict, tables: dict[str, pd.DataFrame], t1: pd.DataFrame, pngs: dict[str, bytes],
                opts) -> str:
    from modic.stats.posthoc import dunn_wide
    from modic.stats.table1 import normality_note, table1_display, table1_median_display

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
    choices = pd.DataFrame([{"choice": k, "value": str(v["value"]), "set by": v["from"]}
                            for k, v in summary["choices"].items()])
    nv = summary["validation"]["nested_cv"]
    spread = pd.DataFrame([{"metric": m, "mean": nv["metrics"][m], "SD over repeats": d["sd"], "min": d["min"],
                            "max": d["max"]} for m, d in nv["repeat_spread"].items()])
    perm = summary["validation"].get("permutation_test")
    chance = (f"<p>Majority-class rate (always predicting the commonest type): {summary['majority_rate']:.3f}. "
              + (f"Permutation test of the whole pipeline: balanced accuracy {perm['observed']:.3f} vs null mean "
                 f"{perm['null_mean']:.3f} (95th percentile {perm['null_95th']:.3f}); p = {perm['p']:.3g} "
                 f"({perm['n_permutations']} permutations).</p>" if perm else
                 "Permutation test not run (use --permutations N; each permutation repeats the nested CV).</p>"))
    basis = summary["correlations"]["significance_basis"]
    tripod = pd.DataFrame(TRIPOD_RQS, columns=["item", "status", "in this analysis"])
    dom = summary["domain"]
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
        f"<h2>Preset: {e(summary['preset'])}</h2>",
        "<p>Every choice below comes from the preset unless set by its own option.</p>", tab(choices),
        f"<p>Selection: {e(summary['selection_method'])}. Headline validation: {e(summary['primary_validation'])} "
        f"(balanced accuracy {summary['balanced_accuracy']:.3f}).</p>",
        "<h2>Methods</h2>", f"<p>{e(methods_text(summary, opts))}</p>",
        "<h2>Notes</h2>", f"<ul>{notes}</ul>",
        f"<h2>Table 1. Shape features ({e(opts.sequence)}) by Modic type</h2>",
        tab(table1_display(t1), index=True),
        f"<p class='note'>{e(normality_note(opts.alpha, opts.normality_star))}</p>",
        tab(table1_median_display(t1), index=True),
        "<p class='note'>Median (IQR) per type; ε² = H / (n − 1), the Kruskal–Wallis effect size.</p>",
        img("boxplots_shape", "Shape features with Kruskal–Wallis p < alpha, per Modic type."),
        f"<h2>Table 2. Dunn's test ({e(opts.p_adjust)}-adjusted p)</h2>",
        tab(dunn, index=True, fmt="{:.6f}") if len(dunn) else "<p>No shape feature was significant.</p>",
        tab(tables["table2_dunn"]) if len(tables["table2_dunn"]) else "",
        "<p class='note'>z = Dunn's z of group_a vs group_b (mean-rank difference over its tie-corrected SE; "
        "positive: higher ranks in group_a); p_unadjusted = its two-sided normal p; p = after the chosen "
        "multiple-testing adjustment. rank_biserial = Cliff's delta of group_a vs group_b (positive: larger values "
        "in group_a); "
        "median_diff = median(group_a) − median(group_b).</p>",
        "<h2>Radiomics feature selection</h2>",
        tab(pd.DataFrame([sel["counts"]])),
        f"<p>Penalty chosen: {sel['alpha']:.6g} ({e(sel['rule'])} rule; CV minimum {sel['alpha_min']:.6g}). "
        f"Selected per sequence: {e(', '.join(f'{k}: {n}' for k, n in sorted(sel['per_sequence'].items())))}.</p>",
        img("figure1_screening", "Figure 1. Screening p-values per feature, coloured by image type; red line p = "
                                 f"{opts.alpha}."),
        img("figure2_lasso_coefficients", "Figure 2. LASSO coefficients of the selected features."),
        img("lasso_path", "LASSO path and cross-validation curve."),
        img("selection_frequency", "How often each feature was selected across the nested-CV outer folds "
                                   "(selection_frequency.csv)."),
        "<h3>Selected features: Kruskal–Wallis (descriptive only)</h3>",
        "<p class='note'>These features were chosen because they differ between the types, so testing them again "
        "on the same cases is circular: the p-values below describe the selection, they do not confirm it. Only "
        "the nested cross-validation (selection inside the folds) or new cases can confirm it.</p>",
        tab(tables["selected_kw"]),
        "<h2>Classifier validation</h2>",
        f"<p>{e(summary['classifier']['description'])}.</p>",
        "<p>Paper-style (selection on all data, then hold-out) is optimistic; nested CV repeats the whole "
        "selection inside each training fold. Hold-out accuracy: Wilson interval; other hold-out metrics and "
        "nested-CV metrics: bootstrap over cases (the sampling variation of this cohort's cases, given the "
        "out-of-fold predictions; it does not include the variation of refitting the pipeline on new data). The "
        f"spread over the {nv['repeats']} repeats below shows the variation due to the fold split"
        + (" — with so few repeats only a rough indication: use --cv-repeats 5 or more for a final analysis"
           if nv["repeats"] < 5 else "") + ".</p>", tab(val, index=True, fmt="{:.3f}"),
        tab(spread, fmt="{:.3f}"), chance,
        "<h3>Per-class sensitivity, specificity, PPV and NPV</h3>", tab(tables["per_class"], fmt="{:.3f}"),
        img("confusion_matrix", "Confusion matrices."),
        img("roc_curves", "One-vs-rest ROC curves of the nested CV (out-of-fold probabilities averaged over repeats)."),
        img("reliability", "Reliability plot (nested CV, out of fold) with the multi-class Brier score."),
        "<h3>Applicability domain</h3>",
        f"<p>The model file stores where the training data lie: cases are flagged 'outside the training data' when "
        f"their Mahalanobis distance in the standardised feature space exceeds {dom['distance_limit']:.2f} (the "
        f"training cases' out-of-fold 99th percentile) or more than {100 * dom['share_outside_limit']:.0f} % of the "
        f"model's features fall outside the training 1st–99th percentiles.</p>",
        f"<h2>Correlations with pain scores and age ({e(opts.correlation)})</h2>",
        tab(corr) if len(corr) else "<p>No scores available.</p>",
        img("correlation_heatmap", f"r with * {basis} < {opts.alpha}, ** {basis} < {opts.alpha / 5:g} "
                                   f"({'BH-adjusted within each family' if basis == 'q' else 'unadjusted'})."),
        "<h3>Adjusted for Modic type and within each type</h3>",
        tab(tables["correlations_by_type"]) if len(tables["correlations_by_type"]) else "<p>none</p>",
        "<h2>Reporting checklist (TRIPOD / Radiomics Quality Score)</h2>",
        "<p>What this analysis covers, what the authors must supply, and what it cannot do.</p>", tab(tripod),
        "<h2>Software</h2>", tab(pd.DataFrame([summary["versions"]])),
        "</body></html>",
    ]
    return "\n".join(parts)
