"""Lesion rows with patients as clusters: folds, splits, bootstrap and permutations keep a patient together."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modic.stats import classifier
from modic.stats.folds import bootstrap_indices, cv_splits, holdout_split, n_folds, permute_labels, repeated_cv_splits


def _clustered(n_patients: int = 45, per_patient: int = 4, n_features: int = 150, seed: int = 0):
    """Rows = lesions; features identify the patient (patient vector + small noise); the type is a property
    of the patient drawn at random, so nothing generalises to a new patient: honest accuracy is chance."""
    rng = np.random.default_rng(seed)
    types = np.resize([1, 2, 3], n_patients)
    rng.shuffle(types)
    centre = rng.normal(0, 1, (n_patients, n_features))
    rows, y, g = [], [], []
    for p in range(n_patients):
        for _ in range(per_patient):
            rows.append(centre[p] + rng.normal(0, 0.05, n_features))
            y.append(types[p])
            g.append(f"p{p:02d}")
    X = pd.DataFrame(rows, columns=[f"T2_original_firstorder_F{i}" for i in range(n_features)],
                     index=[f"{gg}:{i}" for i, gg in enumerate(g)])
    return X, pd.Series(y, index=X.index), np.array(g)


def test_grouped_splits_never_share_a_patient():
    X, y, g = _clustered()
    assert n_folds(y, g, 5) == 5 and n_folds(y, None, 5) == 5
    for tr, te in repeated_cv_splits(y.to_numpy(), g, 5, 2, seed=3):
        assert not set(g[tr]) & set(g[te])
        assert len(tr) + len(te) == len(y)
        assert set(y.to_numpy()[te]) == {1, 2, 3}  # still stratified
    tr, te = holdout_split(y.to_numpy(), g, 0.3, seed=1)
    assert not set(g[tr]) & set(g[te]) and 0.2 < len(te) / len(y) < 0.45
    # without groups: the same folds as scikit-learn's StratifiedKFold (results of unclustered cohorts unchanged)
    from sklearn.model_selection import StratifiedKFold

    ref = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    assert all((a == c).all() and (b == d).all() for (a, b), (c, d) in zip(cv_splits(y, None, 5, 0), ref, strict=True))


def test_cluster_bootstrap_and_permutation_keep_patients_whole():
    _, y, g = _clustered(n_patients=10, per_patient=3)
    rng = np.random.default_rng(0)
    idx = bootstrap_indices(rng, len(g), g)
    counts = pd.Series(g[idx]).value_counts()
    assert len(idx) == len(g) and (counts % 3 == 0).all()  # whole patients only
    ragged = np.array(["a", "a", "b", "c", "c", "d", "d"])
    yr = np.array([1, 2, 3, 1, 1, 2, 3])
    for s in range(20):
        yp = permute_labels(np.random.default_rng(s), yr, ragged)
        assert yp[2] == 3  # the only one-row patient keeps its label
        pairs = {tuple(yp[ragged == p]) for p in ("a", "c", "d")}
        assert pairs <= {(1, 2), (1, 1), (2, 3)}  # label vectors move between patients as wholes
    assert not (permute_labels(np.random.default_rng(0), y.to_numpy(), None) == y.to_numpy()).all()


def test_nested_cv_with_patient_clusters_is_not_fooled_by_patient_memory():
    """Ungrouped folds put a patient's other lesions in training and 'predict' its type from memory;
    grouped folds give chance, as they must when nothing generalises to new patients."""
    X, y, g = _clustered()
    sel = dict(screen="kw", alpha=1.0, corr_cutoff=0.99, lasso="logistic", lasso_cv=5, n_alphas=20, random_state=0)
    svm = {"tune": False, "class_weight": "balanced"}
    leaky = classifier.nested_cv_validation(X, y, sel, folds=5, repeats=1, seed=0, n_boot=20, svm_params=svm)
    honest = classifier.nested_cv_validation(X, y, sel, folds=5, repeats=1, seed=0, n_boot=20, svm_params=svm,
                                             groups=g)
    assert leaky.metrics["balanced_accuracy"] > 0.9   # measured 1.00
    assert honest.metrics["balanced_accuracy"] < 0.65  # measured 0.52 (chance 0.33, 45 patients)
    assert "grouped by patient (45 patients)" in honest.name
    hold = classifier.holdout_validation(X, y, 0.3, seed=0, n_boot=20, svm_params=svm, groups=g)
    assert hold.metrics["balanced_accuracy"] < 0.65  # measured 0.47


@pytest.mark.parametrize("mode", ["logistic", "lassocv"])
def test_lasso_inner_cv_takes_groups(mode):
    from modic.stats.selection import LassoSelector

    X, y, g = _clustered(n_patients=30, per_patient=3)
    las = LassoSelector(mode, cv=5, n_alphas=20, random_state=0).fit(X, y, groups=g)
    assert las.get_support().any()


def test_run_stats_with_clusters_records_them_and_groups_validation(tmp_path, small_cohort):
    from modic.errors import ModicInputError
    from modic.stats.report import run_stats

    feats, man, _ = small_cohort
    # pretend consecutive rows of the same type are two lesions of one patient
    order = man.sort_values("modic_type").reset_index(drop=True)
    groups = {c: f"pat{i // 2}" for i, c in enumerate(order["case_id"].astype(str))}
    res = run_stats(feats, man, tmp_path / "o", n_boot=30, cv_folds=3, cv_repeats=1, seed=0, groups=groups)
    s = res.summary
    assert s["clusters"]["n_patients"] == len(set(groups.values()))
    assert "grouped by patient" in res.tables["validation"]["validation"].iloc[-1]
    with pytest.raises(ModicInputError, match="no patient"):
        run_stats(feats, man, tmp_path / "o2", groups={"x": "p"})
    assert set(res.tables["validation"]["ci_method"]) == {"bootstrap over patients (clusters)"}


def test_fallback_l1_solver_converges_and_agrees_with_glmnet_when_p_much_larger_than_n():
    """The pure-NumPy fallback (used where python-glmnet has no wheel) converges on a p ≫ n path at its
    default iteration limit and, at glmnet's chosen λ, selects the features glmnet selects."""
    pytest.importorskip("glmnet")
    from modic.stats import l1logistic as L
    from modic.stats.selection import FISTA_MAX_ITER, LassoSelector

    rng = np.random.default_rng(1)
    y = np.repeat([1, 2, 3], [30, 50, 20])
    X = rng.normal(size=(100, 400))
    X[:, :6] += np.outer(y == 2, [1.2, -1.0, 0.9, 0, 0, 0]) + np.outer(y == 3, [0, 0, 0, 1.3, -1.1, 1.0])
    X = (X - X.mean(0)) / X.std(0)
    ref = LassoSelector("logistic", cv=5, n_alphas=100, random_state=0).fit(pd.DataFrame(X), y)
    k = int(np.argmin(ref.cv_scores_))
    W, _, not_converged = L.fit_path(X, L._onehot(y, np.unique(y)), ref.alphas_[: k + 1], max_iter=FISTA_MAX_ITER)
    assert not_converged == 0
    a = set(np.flatnonzero(ref.get_support()))
    b = set(np.flatnonzero(np.abs(W[k, 0]).max(axis=1) > 1e-6))
    assert set(range(6)) <= a and set(range(6)) <= b   # the informative features, both solvers
    assert len(a & b) / len(a | b) >= 0.9               # measured 0.985 (67 vs 68 features)
