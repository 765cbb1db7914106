"""SVM classifier on the selected features, validated two ways side by side.

* paper-style: selection on all cases, then one stratified hold-out split (test_size 0.3) — optimistic,
  because the test cases took part in the selection;
* honest: the whole selection (z-score, screen, correlation filter, LASSO) and the SVM refitted inside
  every training fold of a repeated stratified (nested) cross-validation.

The classifier is ``SimpleImputer(median) → StandardScaler → CalibratedClassifierCV(SVC, sigmoid)``
(calibrated probabilities without the deprecated ``SVC(probability=True)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.impute import SimpleImputer
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from modic.stats.selection import RadiomicsSelector

CLASSES = (1, 2, 3)
METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "auc_type1", "auc_type2", "auc_type3")


def make_svm(C: float = 1.0, kernel: str = "rbf", calibration_cv: int = 3, random_state: int | None = 0
             ) -> Pipeline:
    """Imputer + StandardScaler + calibrated SVC in one Pipeline."""
    svc = SVC(C=C, kernel=kernel, gamma="scale", random_state=random_state)
    return Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler()),
                     ("svm", CalibratedClassifierCV(svc, method="sigmoid", cv=calibration_cv))])


def fit_svm(X: pd.DataFrame, y: pd.Series, random_state: int | None = 0, **params) -> Pipeline:
    """Fit `make_svm`, with as many calibration folds (≤ 3) as the smallest type allows.

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
    return make_svm(random_state=random_state, **params).fit(X, y)


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
    """Accuracy, balanced accuracy, macro-F1 and one-vs-rest AUC per class (same values as sklearn)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    out = {"accuracy": float(np.mean(y_true == y_pred))}
    recalls, f1s = [], []
    for c in classes:
        t, p = y_true == c, y_pred == c
        tp = float(np.sum(t & p))
        if t.any():
            recalls.append(tp / t.sum())
        denom = t.sum() + p.sum()
        f1s.append(2 * tp / denom if denom else 0.0)
    out["balanced_accuracy"] = float(np.mean(recalls))
    out["macro_f1"] = float(np.mean(f1s))
    for k, c in enumerate(classes):
        out[f"auc_type{c}"] = float("nan") if proba is None else _auc(y_true == c, np.asarray(proba)[:, k])
    return out


def bootstrap_ci(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None, n_boot: int = 1000,
                 seed: int = 0, level: float = 0.95, classes=CLASSES) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap CI of every metric, resampling cases.

    `y_pred`/`proba` may carry a leading repeat axis (repeats × n [× k]): a resample then takes the
    same cases from every repeat and averages the metric over repeats.
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
        idx = rng.integers(0, n, n)
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
    """One validation scheme: point metrics, 95 % CIs, confusion matrix, and per-fold details."""

    name: str
    metrics: dict[str, float]
    ci: dict[str, tuple[float, float]]
    confusion: pd.DataFrame
    details: dict = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{"validation": self.name, "metric": m, "value": self.metrics[m],
                              "ci_low": self.ci[m][0], "ci_high": self.ci[m][1]} for m in METRICS])


def _confusion(y_true, y_pred, classes=CLASSES) -> pd.DataFrame:
    cm = confusion_matrix(y_true, y_pred, labels=list(classes))
    return pd.DataFrame(cm, index=[f"true {c}" for c in classes], columns=[f"pred {c}" for c in classes])


def holdout_validation(X: pd.DataFrame, y: pd.Series, test_size: float = 0.3, seed: int = 0,
                       n_boot: int = 1000, svm_params: dict | None = None) -> Validation:
    """Paper-style: X already holds the features selected on all cases; one stratified split."""
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)
    model = fit_svm(Xtr, ytr, random_state=seed, **(svm_params or {}))
    pred = model.predict(Xte)
    proba = model.predict_proba(Xte)
    m = metrics(yte, pred, proba)
    ci = bootstrap_ci(yte.to_numpy(), pred, proba, n_boot=n_boot, seed=seed)
    return Validation("paper-style hold-out (selection on all data)", m, ci, _confusion(yte, pred),
                      {"n_train": len(ytr), "n_test": len(yte), "test_size": test_size})


def nested_cv_validation(X: pd.DataFrame, y: pd.Series, selector_params: dict, folds: int = 5,
                         repeats: int = 2, seed: int = 0, n_boot: int = 1000, n_jobs: int | None = None,
                         svm_params: dict | None = None,
                         progress: Callable[[str], None] | None = None) -> Validation:
    """Honest: selection + SVM refitted in every outer training fold (repeated stratified K-fold)."""
    y = pd.Series(np.asarray(y), index=X.index)
    n_min = int(y.value_counts().min())
    k = max(2, min(folds, n_min))
    rskf = RepeatedStratifiedKFold(n_splits=k, n_repeats=repeats, random_state=seed)
    splits = list(rskf.split(X, y))
    params = {k2: v for k2, v in selector_params.items() if k2 != "progress"}

    def one(i: int, tr: np.ndarray, te: np.ndarray):
        sel = RadiomicsSelector(**params).fit(X.iloc[tr], y.iloc[tr])
        cols = sel.selected_features_
        model = fit_svm(X.iloc[tr][cols], y.iloc[tr], random_state=seed, **(svm_params or {}))
        return i, te, model.predict(X.iloc[te][cols]), model.predict_proba(X.iloc[te][cols]), cols

    if n_jobs and n_jobs != 1:
        from joblib import Parallel, delayed

        if progress:
            progress(f"nested CV: {len(splits)} outer fits on {n_jobs} jobs")
        results = Parallel(n_jobs=n_jobs)(delayed(one)(i, tr, te) for i, (tr, te) in enumerate(splits))
    else:
        results = []
        for i, (tr, te) in enumerate(splits):
            if progress:
                progress(f"nested CV: outer fit {i + 1}/{len(splits)}")
            results.append(one(i, tr, te))
    n = len(y)
    pred = np.zeros((repeats, n), dtype=int)
    proba = np.zeros((repeats, n, len(CLASSES)))
    fold_rows, selected = [], []
    for i, te, p, pr, cols in results:
        r = i // k
        pred[r, te] = p
        proba[r, te] = pr
        fm = metrics(y.iloc[te].to_numpy(), p, pr)
        fold_rows.append({"repeat": r + 1, "fold": i % k + 1, "n_test": len(te), "n_selected": len(cols), **fm})
        selected.append(cols)
    yt = y.to_numpy()
    per_rep = [metrics(yt, pred[r], proba[r]) for r in range(repeats)]
    m = {mm: float(np.nanmean([d[mm] for d in per_rep])) for mm in METRICS}
    ci = bootstrap_ci(yt, pred, proba, n_boot=n_boot, seed=seed)
    cm = sum(confusion_matrix(yt, pred[r], labels=list(CLASSES)) for r in range(repeats))
    conf = pd.DataFrame(cm, index=[f"true {c}" for c in CLASSES], columns=[f"pred {c}" for c in CLASSES])
    freq = pd.Series([c for cols in selected for c in cols]).value_counts()
    return Validation(f"nested CV ({k}-fold × {repeats}, selection inside folds)", m, ci, conf,
                      {"folds": pd.DataFrame(fold_rows), "n_splits": k, "repeats": repeats,
                       "selection_frequency": freq / len(selected)})
