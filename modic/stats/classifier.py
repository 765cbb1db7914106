"""SVM classifier on the selected features, validated two ways side by side.

* paper-style: selection on all cases, then one stratified hold-out split (test_size 0.3) — optimistic,
  because the test cases took part in the selection; its accuracy gets a Wilson interval (exact
  Clopper–Pearson beside it), so 47/47 correct is not reported as [1, 1];
* honest: the whole selection (z-score, screen, correlation filter, LASSO) and the SVM refitted inside
  every training fold of a repeated stratified (nested) cross-validation; reported with the spread of
  every metric over the repeats and a case-bootstrap interval.

The classifier is ``SimpleImputer(median) → StandardScaler → CalibratedClassifierCV(SVC(rbf), sigmoid,
cv=3)``: an ensemble of 3 SVMs, each fitted on 2/3 of the training cases with sigmoid (Platt)
calibration on the rest, whose probabilities are averaged. By default the SVC uses
``class_weight="balanced"`` and C and gamma are tuned by an inner stratified 3-fold CV over a small grid
(`C_GRID` × `GAMMA_FACTORS` / n_features; balanced accuracy), inside every outer training fold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.impute import SimpleImputer
from sklearn.metrics import confusion_matrix
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from modic.stats.folds import bootstrap_indices, holdout_split, n_folds, permute_labels, repeated_cv_splits
from modic.stats.selection import RadiomicsSelector

CLASSES = (1, 2, 3)
METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "auc_type1", "auc_type2", "auc_type3", "macro_auc",
           "brier")
C_GRID = (0.1, 1.0, 10.0)
GAMMA_FACTORS = (1 / 3, 1.0, 3.0)  # × 1 / n_features ("scale" on standardised inputs is 1 / n_features)


def make_svm(C: float = 1.0, kernel: str = "rbf", calibration_cv: int = 3, random_state: int | None = 0,
             gamma: float | str = "scale", class_weight: str | None = None) -> Pipeline:
    """Imputer + StandardScaler + calibrated SVC in one Pipeline."""
    svc = SVC(C=C, kernel=kernel, gamma=gamma, class_weight=class_weight, random_state=random_state)
    return Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler()),
                     ("svm", CalibratedClassifierCV(svc, method="sigmoid", cv=calibration_cv))])


def tune_svm(X: pd.DataFrame, y, class_weight: str | None = "balanced", cv: int = 3,
             random_state: int | None = 0, groups=None) -> dict:
    """C and gamma chosen by stratified inner CV (balanced accuracy) over `C_GRID` × `GAMMA_FACTORS`.

    With `groups` (patient of each row) the inner folds keep a patient's rows together.
    """
    from sklearn.model_selection import GridSearchCV

    from modic.stats.folds import cv_splits, n_folds

    y = np.asarray(y)
    p = max(1, X.shape[1])
    grid = {"svm__C": list(C_GRID), "svm__gamma": [f / p for f in GAMMA_FACTORS]}
    pipe = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler()),
                     ("svm", SVC(kernel="rbf", class_weight=class_weight, random_state=random_state))])
    folds = cv_splits(y, groups, n_folds(y, groups, cv), random_state)
    gs = GridSearchCV(pipe, grid, scoring="balanced_accuracy", cv=folds, n_jobs=None, error_score=0.0).fit(X, y)
    return {"C": float(gs.best_params_["svm__C"]), "gamma": float(gs.best_params_["svm__gamma"])}


def fit_svm(X: pd.DataFrame, y: pd.Series, random_state: int | None = 0, tune: bool = False,
            class_weight: str | None = None, groups=None, **params) -> Pipeline:
    """Fit `make_svm`, with as many calibration folds (≤ 3) as the smallest type allows.

    tune=True chooses C and gamma by `tune_svm` first (recorded as ``model.tuned_params_``).
    Raises ModicInputError when a type has fewer than 2 cases in the training data: the sigmoid
    calibration cannot be cross-fitted then.
    """
    from modic.errors import ModicInputError

    counts = pd.Series(np.asarray(y)).value_counts()
    if counts.min() < 2:
        small = ", ".join(f"type {t}: {n}" for t, n in counts.items() if n < 2)
        raise ModicInputError(f"too few cases to train the calibrated SVM ({small} in a training split) — the "
                              "classifier needs at least 2 training cases of every type; add cases "
                              "(≥ 4 per type for the hold-out validation)")
    params.setdefault("calibration_cv", int(min(3, counts.min())))
    tuned = {}
    if tune and counts.min() >= 2:
        tuned = tune_svm(X, y, class_weight=class_weight, random_state=random_state, groups=groups)
        params.update(tuned)
    model = make_svm(random_state=random_state, class_weight=class_weight, **params).fit(X, y)
    model.tuned_params_ = tuned
    return model


def majority_rate(y) -> float:
    """Share of the most frequent class: the accuracy of always predicting it."""
    return float(pd.Series(np.asarray(y)).value_counts(normalize=True).max())


def proportion_ci(k: int, n: int, level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Wilson and Clopper–Pearson (exact) intervals of k successes in n."""
    from statsmodels.stats.proportion import proportion_confint

    a = 1 - level
    return {m: tuple(float(v) for v in proportion_confint(k, n, alpha=a, method=meth))
            for m, meth in (("wilson", "wilson"), ("clopper_pearson", "beta"))}


def _auc(pos: np.ndarray, score: np.ndarray) -> float:
    """One-vs-rest ROC AUC via the Mann–Whitney statistic (ties count one half)."""
    n1 = int(pos.sum())
    n0 = len(pos) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    from scipy.stats import rankdata

    r = rankdata(score)
    return float((r[pos].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def metrics(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None,
            classes=CLASSES) -> dict[str, float]:
    """Accuracy, balanced accuracy, macro-F1, one-vs-rest AUC per class and their mean, Brier score.

    Same values as scikit-learn: macro-F1 averages over the classes present in the truth or the
    prediction (``f1_score(average="macro")`` on its observed labels), balanced accuracy over the
    classes present in the truth; the Brier score is the multi-class one, mean Σ_k (p_k − 1[y = k])².
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    out = {"accuracy": float(np.mean(y_true == y_pred))}
    recalls, f1s = [], []
    for c in classes:
        t, p = y_true == c, y_pred == c
        tp = float(np.sum(t & p))
        if t.any():
            recalls.append(tp / t.sum())
        denom = t.sum() + p.sum()
        if denom:  # a class absent from both truth and prediction is skipped, as scikit-learn does
            f1s.append(2 * tp / denom)
    out["balanced_accuracy"] = float(np.mean(recalls))
    out["macro_f1"] = float(np.mean(f1s)) if f1s else float("nan")
    aucs = []
    for k, c in enumerate(classes):
        a = float("nan") if proba is None else _auc(y_true == c, np.asarray(proba)[:, k])
        out[f"auc_type{c}"] = a
        aucs.append(a)
    out["macro_auc"] = float(np.nanmean(aucs)) if any(a == a for a in aucs) else float("nan")
    if proba is None:
        out["brier"] = float("nan")
    else:
        onehot = (y_true[:, None] == np.asarray(classes)[None, :]).astype(float)
        out["brier"] = float(np.mean(np.sum((np.asarray(proba) - onehot) ** 2, axis=1)))
    return out


def per_class(confusion: pd.DataFrame | np.ndarray, classes=CLASSES) -> pd.DataFrame:
    """Sensitivity, specificity, PPV and NPV per class (one-vs-rest) from a confusion matrix (rows = truth)."""
    cm = np.asarray(confusion, dtype=float)
    total = cm.sum()
    rows = []
    for k, c in enumerate(classes):
        tp = cm[k, k]
        fn = cm[k].sum() - tp
        fp = cm[:, k].sum() - tp
        tn = total - tp - fn - fp

        def ratio(a, b):
            return float(a / b) if b else float("nan")

        rows.append({"type": c, "n_true": int(tp + fn), "n_pred": int(tp + fp), "sensitivity": ratio(tp, tp + fn),
                     "specificity": ratio(tn, tn + fp), "ppv": ratio(tp, tp + fp), "npv": ratio(tn, tn + fn)})
    return pd.DataFrame(rows)


def bootstrap_ci(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None, n_boot: int = 1000,
                 seed: int = 0, level: float = 0.95, classes=CLASSES, groups=None) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap CI of every metric, resampling cases.

    `y_pred`/`proba` may carry a leading repeat axis (repeats × n [× k]): a resample then takes the
    same cases from every repeat and averages the metric over repeats. With `groups` (patient of each row)
    whole patients are resampled (cluster bootstrap).
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 1:
        y_pred = y_pred[None]
        proba = None if proba is None else np.asarray(proba)[None]
    rng = np.random.default_rng(seed)
    n = len(y_true)
    samples = {m: [] for m in METRICS}
    for _ in range(n_boot):
        idx = bootstrap_indices(rng, n, groups)
        per = [metrics(y_true[idx], y_pred[r, idx], None if proba is None else proba[r, idx], classes)
               for r in range(y_pred.shape[0])]
        for m in METRICS:
            samples[m].append(np.nanmean([d[m] for d in per]) if any(d[m] == d[m] for d in per) else np.nan)
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    out = {}
    for m, v in samples.items():
        v = np.asarray(v, dtype=float)
        v = v[~np.isnan(v)]
        out[m] = (float(np.percentile(v, lo)), float(np.percentile(v, hi))) if len(v) else (np.nan, np.nan)
    return out


@dataclass
class Validation:
    """One validation scheme: point metrics, 95 % CIs, confusion matrix, and per-fold details.

    `ci_method[m]` says what the interval of metric m covers (bootstrap over cases, Wilson, ...);
    `spread[m]` is (SD, min, max) over the CV repeats (nested CV only).
    """

    name: str
    metrics: dict[str, float]
    ci: dict[str, tuple[float, float]]
    confusion: pd.DataFrame
    details: dict = field(default_factory=dict)
    ci_method: dict[str, str] = field(default_factory=dict)
    spread: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        rows = []
        for m in METRICS:
            sd, lo, hi = self.spread.get(m, (np.nan, np.nan, np.nan))
            rows.append({"validation": self.name, "metric": m, "value": self.metrics[m], "ci_low": self.ci[m][0],
                         "ci_high": self.ci[m][1], "ci_method": self.ci_method.get(m, "bootstrap over cases"),
                         "repeat_sd": sd, "repeat_min": lo, "repeat_max": hi})
        return pd.DataFrame(rows)


def _confusion(y_true, y_pred, classes=CLASSES) -> pd.DataFrame:
    cm = confusion_matrix(y_true, y_pred, labels=list(classes))
    return pd.DataFrame(cm, index=[f"true {c}" for c in classes], columns=[f"pred {c}" for c in classes])


def holdout_validation(X: pd.DataFrame, y: pd.Series, test_size: float = 0.3, seed: int = 0,
                       n_boot: int = 1000, svm_params: dict | None = None, groups=None) -> Validation:
    """Paper-style: X already holds the features selected on all cases; one stratified split.

    Accuracy gets a Wilson interval (Clopper–Pearson in `details`); the other metrics a case bootstrap.
    With `groups` (patient of each row) a patient's rows stay on one side and the bootstrap resamples patients.
    """
    tr, te = holdout_split(np.asarray(y), groups, test_size, seed)
    Xtr, Xte, ytr, yte = X.iloc[tr], X.iloc[te], y.iloc[tr], y.iloc[te]
    gtr = None if groups is None else np.asarray(groups)[tr]
    gte = None if groups is None else np.asarray(groups)[te]
    model = fit_svm(Xtr, ytr, random_state=seed, groups=gtr, **(svm_params or {}))
    pred = model.predict(Xte)
    proba = model.predict_proba(Xte)
    m = metrics(yte, pred, proba)
    ci = bootstrap_ci(yte.to_numpy(), pred, proba, n_boot=n_boot, seed=seed, groups=gte)
    k = int(np.sum(np.asarray(yte) == pred))
    pci = proportion_ci(k, len(yte))
    if groups is None:
        ci["accuracy"] = pci["wilson"]
        ci_method = {"accuracy": "Wilson score interval"}
    else:  # rows of one patient are not independent: a binomial interval would be too narrow
        ci_method = {m: "bootstrap over patients (clusters)" for m in METRICS}
    return Validation("paper-style hold-out (selection on all data)", m, ci, _confusion(yte, pred),
                      {"n_train": len(ytr), "n_test": len(yte), "test_size": test_size, "n_correct": k,
                       "accuracy_ci_clopper_pearson": pci["clopper_pearson"],
                       "majority_rate_test": majority_rate(yte), "tuned_params": model.tuned_params_,
                       "y_true": np.asarray(yte), "pred": pred, "proba": proba},
                      ci_method=ci_method)


def _nested_predictions(X, y, selector_params, splits, k, repeats, seed, svm_params, n_jobs, progress,
                        groups=None):
    params = {k2: v for k2, v in selector_params.items() if k2 != "progress"}

    def one(i: int, tr: np.ndarray, te: np.ndarray):
        gtr = None if groups is None else np.asarray(groups)[tr]
        sel = RadiomicsSelector(**params).fit(X.iloc[tr], y.iloc[tr], groups=gtr)
        cols = sel.selected_features_
        model = fit_svm(X.iloc[tr][cols], y.iloc[tr], random_state=seed, groups=gtr, **(svm_params or {}))
        return i, te, model.predict(X.iloc[te][cols]), model.predict_proba(X.iloc[te][cols]), cols, \
            model.tuned_params_

    if n_jobs and n_jobs != 1:
        from joblib import Parallel, delayed

        if progress:
            progress(f"nested CV: {len(splits)} outer fits on {n_jobs} jobs")
        return Parallel(n_jobs=n_jobs)(delayed(one)(i, tr, te) for i, (tr, te) in enumerate(splits))
    results = []
    for i, (tr, te) in enumerate(splits):
        if progress:
            progress(f"nested CV: outer fit {i + 1}/{len(splits)}")
        results.append(one(i, tr, te))
    return results


def nested_cv_validation(X: pd.DataFrame, y: pd.Series, selector_params: dict, folds: int = 5,
                         repeats: int = 2, seed: int = 0, n_boot: int = 1000, n_jobs: int | None = None,
                         svm_params: dict | None = None,
                         progress: Callable[[str], None] | None = None, groups=None) -> Validation:
    """Honest: selection + SVM refitted in every outer training fold (repeated stratified K-fold).

    Point metrics are the mean over repeats; `spread` their SD/min/max over repeats (the variation due
    to the fold split); `ci` a case bootstrap of the repeat-averaged metric (the sampling variation of
    this cohort's cases, given the out-of-fold predictions). With `groups` (the patient of each row, e.g.
    one row per lesion) every fold, inner CV and bootstrap keeps a patient's rows together
    (`modic.stats.folds`).
    """
    y = pd.Series(np.asarray(y), index=X.index)
    k = n_folds(y, groups, folds)
    splits = repeated_cv_splits(y.to_numpy(), groups, k, repeats, seed)
    results = _nested_predictions(X, y, selector_params, splits, k, repeats, seed, svm_params, n_jobs, progress,
                                  groups)
    n = len(y)
    pred = np.zeros((repeats, n), dtype=int)
    proba = np.zeros((repeats, n, len(CLASSES)))
    fold_rows, selected = [], []
    for i, te, p, pr, cols, tuned in results:
        r = i // k
        pred[r, te] = p
        proba[r, te] = pr
        fm = metrics(y.iloc[te].to_numpy(), p, pr)
        fold_rows.append({"repeat": r + 1, "fold": i % k + 1, "n_test": len(te), "n_selected": len(cols),
                          **{f"svm_{a}": b for a, b in tuned.items()}, **fm})
        selected.append(cols)
    yt = y.to_numpy()
    per_rep = [metrics(yt, pred[r], proba[r]) for r in range(repeats)]
    m = {mm: float(np.nanmean([d[mm] for d in per_rep])) for mm in METRICS}
    spread = {}
    for mm in METRICS:
        v = np.array([d[mm] for d in per_rep], dtype=float)
        v = v[~np.isnan(v)]
        spread[mm] = ((float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")),
                      float(v.min()) if len(v) else float("nan"), float(v.max()) if len(v) else float("nan"))
    ci = bootstrap_ci(yt, pred, proba, n_boot=n_boot, seed=seed, groups=groups)
    cm = sum(confusion_matrix(yt, pred[r], labels=list(CLASSES)) for r in range(repeats))
    conf = pd.DataFrame(cm, index=[f"true {c}" for c in CLASSES], columns=[f"pred {c}" for c in CLASSES])
    freq = pd.Series([c for cols in selected for c in cols], dtype=object).value_counts()
    grouped = "" if groups is None else f", grouped by patient ({len(set(np.asarray(groups)))} patients)"
    ci_method = {} if groups is None else {mm: "bootstrap over patients (clusters)" for mm in METRICS}
    return Validation(f"nested CV ({k}-fold × {repeats}, selection inside folds{grouped})", m, ci, conf,
                      {"folds": pd.DataFrame(fold_rows), "n_splits": k, "repeats": repeats,
                       "selection_frequency": freq / len(selected), "n_outer_fits": len(selected),
                       "per_repeat": pd.DataFrame(per_rep), "y_true": yt, "pred": pred, "proba": proba},
                      ci_method=ci_method, spread=spread)


def permutation_test(X: pd.DataFrame, y: pd.Series, selector_params: dict, observed: float,
                     n_permutations: int, folds: int = 5, repeats: int = 1, seed: int = 0,
                     svm_params: dict | None = None, metric: str = "balanced_accuracy", n_jobs: int | None = None,
                     progress: Callable[[str], None] | None = None, groups=None) -> dict:
    """Permutation test of the whole pipeline: labels permuted, selection and SVM refitted inside the CV.

    With `groups` the labels of whole patients are permuted among patients with as many rows, and the CV
    is grouped (`modic.stats.folds.permute_labels`).

    p = (1 + #{null ≥ observed}) / (1 + n_permutations) (Phipson & Smyth 2010). `observed` must come
    from the same scheme (`folds` × `repeats`, same seed).
    """
    rng = np.random.default_rng(seed + 7919)
    null = []
    y = pd.Series(np.asarray(y), index=X.index)
    for b in range(n_permutations):
        if progress:
            progress(f"permutation test: {b + 1}/{n_permutations}")
        yp = pd.Series(permute_labels(rng, y.to_numpy(), groups), index=X.index)
        v = nested_cv_validation(X, yp, selector_params, folds=folds, repeats=repeats, seed=seed, n_boot=10,
                                 n_jobs=n_jobs, svm_params=svm_params, groups=groups)
        null.append(v.metrics[metric])
    null = np.asarray(null, dtype=float)
    p = float((1 + np.sum(null >= observed - 1e-12)) / (1 + len(null)))
    return {"metric": metric, "observed": float(observed), "n_permutations": int(n_permutations), "p": p,
            "null_mean": float(null.mean()) if len(null) else None,
            "null_95th": float(np.percentile(null, 95)) if len(null) else None, "null": null.tolist()}
