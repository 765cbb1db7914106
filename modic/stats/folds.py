"""Cross-validation folds, hold-out splits and bootstrap resamples that respect patients as clusters.

With one row per lesion (`modic stats --unit lesion`) the lesions of one patient are not independent: a
fold that trains on one of a patient's lesions and tests on another leaks the patient. Every split here
takes `groups` (the patient of each row; None = rows are independent) and then keeps each patient's rows
together: stratified group K-fold (scikit-learn's `StratifiedGroupKFold`) for CV, one of its folds as the
hold-out test part, and a cluster bootstrap (patients resampled with replacement) for intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, train_test_split


def n_folds(y, groups=None, wanted: int = 5) -> int:
    """Folds usable for stratified CV: ≤ `wanted`, ≤ the rarest class's count (of patients with groups), ≥ 2."""
    y = np.asarray(y)
    if groups is None:
        n_min = int(pd.Series(y).value_counts().min())
    else:
        n_min = int(pd.DataFrame({"y": y, "g": np.asarray(groups)}).groupby("y")["g"].nunique().min())
    return max(2, min(wanted, n_min))


def cv_splits(y, groups=None, k: int = 5, seed: int | None = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified K-fold (index arrays); with `groups`, no patient is in both parts of a fold."""
    y = np.asarray(y)
    X = np.zeros((len(y), 1))
    if groups is None:
        return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(X, y))
    return list(StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(X, y, np.asarray(groups)))


def repeated_cv_splits(y, groups=None, k: int = 5, repeats: int = 2,
                       seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """`repeats` × `k` folds, repeat r shuffled with seed + r (as RepeatedStratifiedKFold, grouped when asked)."""
    if groups is None:
        from sklearn.model_selection import RepeatedStratifiedKFold

        y = np.asarray(y)
        return list(RepeatedStratifiedKFold(n_splits=k, n_repeats=repeats, random_state=seed)
                    .split(np.zeros((len(y), 1)), y))
    return [s for r in range(repeats) for s in cv_splits(y, groups, k, seed + r)]


def holdout_split(y, groups=None, test_size: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One stratified train/test split (index arrays); with `groups` a patient's rows stay on one side."""
    y = np.asarray(y)
    idx = np.arange(len(y))
    if groups is None:
        tr, te = train_test_split(idx, test_size=test_size, stratify=y, random_state=seed)
        return tr, te
    k = max(2, int(round(1 / test_size)))
    tr, te = cv_splits(y, groups, k, seed)[0]
    return tr, te


def bootstrap_indices(rng: np.random.Generator, n: int, groups=None) -> np.ndarray:
    """Row indices of one bootstrap resample: rows with replacement, or whole patients with replacement."""
    if groups is None:
        return rng.integers(0, n, n)
    codes, uniq = pd.factorize(pd.Series(np.asarray(groups)))
    members = [np.flatnonzero(codes == g) for g in range(len(uniq))]
    pick = rng.integers(0, len(members), len(members))
    return np.concatenate([members[g] for g in pick])


def permute_labels(rng: np.random.Generator, y, groups=None) -> np.ndarray:
    """Labels permuted across rows; with `groups`, whole patients' label vectors are permuted among patients
    with the same number of rows (the within-patient structure is kept, as exchangeability requires)."""
    y = np.asarray(y)
    if groups is None:
        return rng.permutation(y)
    codes, uniq = pd.factorize(pd.Series(np.asarray(groups)))
    members = [np.flatnonzero(codes == g) for g in range(len(uniq))]
    out = y.copy()
    by_size: dict[int, list[int]] = {}
    for g, m in enumerate(members):
        by_size.setdefault(len(m), []).append(g)
    for gs in by_size.values():
        perm = rng.permutation(gs)
        for src, dst in zip(perm, gs, strict=True):
            out[members[dst]] = y[members[src]]
    return out
