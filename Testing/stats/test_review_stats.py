"""Issue 12 (a reviewer's statistics): each test fails on the code before the fix."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from modic.stats import classifier, correlation, l1logistic, posthoc, table1
from modic.stats.cohort import load_cohort
from modic.stats.selection import (
    CorrelationFilter,
    LassoSelector,
    RadiomicsSelector,
    find_correlation,
    find_correlation_fast,
    one_se_index,
)
from modic.stats.spearman import spearman_test

# ---- item 1: categorical selection by default -------------------------------------------------------


def test_default_selection_is_multinomial_and_keeps_type_two_apart_features(small_cohort):
    feats, man, info = small_cohort
    c = load_cohort(feats, man)
    assert RadiomicsSelector().lasso == "logistic"
    nm = info["nonmonotone"]  # type II differs from both I and III: no trend in the code 1/2/3
    assert (posthoc.kruskal_wallis(c.features[nm].to_numpy(), c.types.to_numpy())[1] < 1e-10).all()
    multi = RadiomicsSelector(random_state=0).fit(c.features, c.types)
    codes = RadiomicsSelector(lasso="lassocv", random_state=0).fit(c.features, c.types)
    assert sum(f in multi.selected_features_ for f in nm) >= 2
    assert sum(f in codes.selected_features_ for f in nm) <= 1


def test_l1_logistic_solver_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    y = np.repeat([1, 2, 3], 25)
    X = rng.normal(size=(75, 8))
    X[:, 0] += (y == 2) * 1.5
    X[:, 1] -= (y - 2) * 0.8
    Y = l1logistic._onehot(y, np.unique(y))
    lams = l1logistic.lambda_path(X, Y, 30)
    W, _, nc = l1logistic.fit_path(X, Y, lams[:20], tol=1e-8, max_iter=50000)
    lam = lams[19]
    sk = LogisticRegression(C=1 / (lam * len(y)), l1_ratio=1.0, solver="saga", max_iter=100000, tol=1e-10).fit(X, y)
    assert nc == 0
    assert np.abs(sk.coef_.T - W[-1, 0]).max() < 1e-4
    assert np.abs(l1logistic.fit_path(X, Y, lams[:1])[0]).max() < 1e-12  # λ_max: every coefficient zero


def test_glmnet_and_builtin_solver_agree(monkeypatch):
    rng = np.random.default_rng(3)
    y = np.repeat([1, 2, 3], 30)
    X = rng.normal(size=(90, 20))
    X[:, 0] += (y == 2) * 1.5  # type II apart
    X[:, 1] -= (y - 2) * 1.0
    g = LassoSelector("logistic").fit(X, y)
    assert g.solver_ == "glmnet" and g.get_support()[0] and g.get_support()[1]
    Y = l1logistic._onehot(y, np.unique(y))
    assert g.alphas_[0] == pytest.approx(l1logistic.lambda_max(X, Y))
    W, _, _ = l1logistic.fit_path(X, Y, g.alphas_[:31], tol=1e-8, max_iter=20000)
    glm = np.asarray(g.model_.coef_path_)[:, :, 30].T if g.model_ is not None else None
    if glm is not None:
        assert np.abs(W[-1, 0] - glm).max() < 1e-3
    monkeypatch.setitem(__import__("sys").modules, "glmnet", None)  # no python-glmnet: built-in solver
    f = LassoSelector("logistic").fit(X, y)
    assert f.solver_ == "modic FISTA" and f.get_support()[0] and f.get_support()[1]


def test_lasso_path_length_and_one_se_rule():
    assert one_se_index(np.array([5.0, 3.0, 2.2, 2.0, 2.1]), np.array([0.1, 0.1, 0.1, 0.3, 0.1])) == 2
    rng = np.random.default_rng(1)
    y = np.repeat([1, 2, 3], 30)
    X = rng.normal(size=(90, 25))
    X[:, 0] += (y - 2) * 1.5
    for mode in ("logistic", "lassocv"):
        a = LassoSelector(mode).fit(X, y)
        assert a.path_length_ == 100 and a.alpha_ == a.alpha_min_  # old: 50 alphas, 12 for logistic
        assert len(a.cv_scores_) == len(a.alphas_) <= 100
        b = LassoSelector(mode, rule="1se").fit(X, y)
        assert b.alpha_ >= b.alpha_min_ and b.get_support().sum() <= a.get_support().sum()
        assert b.get_support()[0]


# ---- item 2: exact Spearman p at small n ------------------------------------------------------------


def test_spearman_p_as_r_cor_test():
    r, p, m = spearman_test([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    assert r == pytest.approx(1.0) and p == pytest.approx(2 / 120) and m == "exact"
    assert spearman_test([1, 2, 3, 4, 5], [2, 1, 3, 4, 5])[1] == pytest.approx(10 / 120)
    # R's ?cor.test example: S = 48, one-sided p = 0.0484, rho = 0.6
    x = [44.4, 45.9, 41.9, 53.3, 44.7, 44.1, 50.7, 45.2, 60.1]
    y = [2.6, 3.1, 2.5, 5.0, 3.6, 4.0, 5.2, 2.8, 3.8]
    r, p, m = spearman_test(x, y)
    assert r == pytest.approx(0.6) and p / 2 == pytest.approx(0.0484, abs=5e-5) and m == "exact"
    # ties → t approximation, as R (and scipy)
    xt, yt = [1, 2, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5, 7]
    r, p, m = spearman_test(xt, yt)
    assert m == "asymptotic" and p == pytest.approx(stats.spearmanr(xt, yt).pvalue, rel=1e-9)
    # n ≥ 10 without ties: AS 89 Edgeworth series, close to the exact distribution
    from modic.stats import spearman as sp

    for q in (20, 48, 80):
        assert sp._tail_edgeworth(9, q, False) == pytest.approx(sp._tail_exact(9, q, False), abs=2e-3)
    rng = np.random.default_rng(0)
    a = rng.normal(size=12)
    assert spearman_test(a, a + rng.normal(size=12))[2] == "edgeworth"


def test_correlations_table_contract(small_cohort):
    feats, man, _ = small_cohort
    c = load_cohort(feats, man)
    shape = table1.shape_frame(c.features, "T2")
    out, _ = correlation.correlate(shape, c.manifest, list(shape.columns))
    assert {"p_method", "q", "ci_low", "ci_high"} <= set(out.columns)
    assert set(out.p_method) == {"asymptotic"}  # ODI/VAS/age are rounded: ties → t approximation, as R
    odi = out[out.score == "odi"].iloc[0]
    use = c.manifest.odi.notna() & c.manifest.modic_type.isin([1, 2])
    ref = stats.spearmanr(c.manifest.odi[use], shape.loc[use, odi.feature])
    assert odi.p == pytest.approx(ref.pvalue, rel=1e-9)
    from statsmodels.stats.multitest import multipletests

    for _, g in out.groupby("score"):  # BH within each family
        assert np.allclose(g.q, multipletests(g.p, method="fdr_bh")[1])
    row = out.iloc[0]
    z, se = np.arctanh(row.r), np.sqrt((1 + row.r ** 2 / 2) / (row.n - 3))  # Bonett–Wright for Spearman
    assert row.ci_low == pytest.approx(np.tanh(z - 1.959964 * se), abs=1e-5)
    assert (out.ci_low <= out.r).all() and (out.r <= out.ci_high).all()
    lo, hi = correlation.fisher_ci(0.5, 28, "pearson")
    assert lo == pytest.approx(np.tanh(np.arctanh(0.5) - 1.959964 / 5), abs=1e-6)


def test_partial_rank_correlation_removes_a_type_effect():
    rng = np.random.default_rng(2)
    g = np.repeat([1, 2], 40)
    x = rng.normal(size=80) + 3 * g  # both differ by type only
    y = rng.normal(size=80) + 3 * g
    assert stats.spearmanr(x, y).statistic > 0.6
    r, p = correlation.partial_rank_test(x, y, g)
    assert abs(r) < 0.25 and p > 0.05
    man = pd.DataFrame({"modic_type": g, "odi": x})
    bt = correlation.by_type(pd.DataFrame({"f": y}), man, ["f"], scores=("odi",))
    assert list(bt.analysis) == ["adjusted for type", "type 1", "type 2"]
    assert bt.iloc[0].r == pytest.approx(r)


# ---- item 3: bootstrap macro-F1 -----------------------------------------------------------------------


def test_macro_f1_skips_absent_classes_like_scikit_learn():
    from sklearn.metrics import f1_score

    y = np.array([1] * 5 + [2] * 5 + [3])
    ci = classifier.bootstrap_ci(y, y.copy(), None, n_boot=300, seed=0)
    assert ci["macro_f1"] == (1.0, 1.0) and ci["accuracy"] == (1.0, 1.0)  # old: (0.667, 1.0)
    yt, yp = np.array([1, 1, 2, 2]), np.array([1, 2, 2, 2])
    assert classifier.metrics(yt, yp, None)["macro_f1"] == pytest.approx(f1_score(yt, yp, average="macro"))


# ---- item 4: normality star ------------------------------------------------------------------------


def test_normality_note_follows_alpha_and_meaning():
    n = table1.normality_note(0.01)
    assert "p < 0.01" in n and "normality rejected" in n and "0.05" not in n
    assert "normality not rejected" in table1.normality_note(0.05, "normal")


# ---- items 10–13: intervals, tuning, chance, per-class, calibration ----------------------------------


def test_wilson_interval_for_perfect_holdout():
    ci = classifier.proportion_ci(47, 47)
    assert ci["wilson"][0] == pytest.approx(47 / (47 + 1.959964 ** 2), abs=1e-4) and ci["wilson"][1] == 1.0
    assert ci["clopper_pearson"][0] == pytest.approx(0.025 ** (1 / 47), abs=1e-6)


def test_holdout_and_nested_report_intervals_spread_and_tuning():
    rng = np.random.default_rng(0)
    y = pd.Series(np.repeat([1, 2, 3], [20, 30, 12]))
    X = pd.DataFrame(rng.normal(size=(62, 6)) + (y.to_numpy()[:, None] - 2) * [3, 2, 0, 0, 0, 0],
                     columns=[f"T1_original_firstorder_F{i}" for i in range(6)])
    svm = {"tune": True, "class_weight": "balanced"}
    h = classifier.holdout_validation(X, y, n_boot=50, svm_params=svm)
    k, n = h.details["n_correct"], h.details["n_test"]
    assert h.ci["accuracy"] == pytest.approx(classifier.proportion_ci(k, n)["wilson"])
    assert h.ci["accuracy"][0] < 1.0 and h.ci_method["accuracy"] == "Wilson score interval"
    assert h.details["tuned_params"]["C"] in classifier.C_GRID
    params = dict(lasso="lassocv", n_alphas=20)
    nv = classifier.nested_cv_validation(X, y, params, folds=3, repeats=2, n_boot=50, svm_params=svm)
    sd, lo, hi = nv.spread["accuracy"]
    assert lo <= nv.metrics["accuracy"] <= hi and sd >= 0 and len(nv.details["per_repeat"]) == 2
    assert "repeat_sd" in nv.table().columns
    assert {"svm_C", "svm_gamma"} <= set(nv.details["folds"].columns)
    m = classifier.fit_svm(X, y, class_weight="balanced")
    assert m.named_steps["svm"].estimator.class_weight == "balanced"


def test_majority_rate_and_permutation_test():
    assert classifier.majority_rate([1, 2, 2, 3]) == 0.5
    rng = np.random.default_rng(0)
    y = pd.Series(np.repeat([1, 2, 3], 10))
    X = pd.DataFrame(rng.normal(size=(30, 5)) + (y.to_numpy()[:, None] - 2) * [4, 0, 0, 0, 0],
                     columns=[f"T1_original_firstorder_F{i}" for i in range(5)])
    params = dict(lasso="lassocv", n_alphas=10)
    obs = classifier.nested_cv_validation(X, y, params, folds=3, repeats=1, n_boot=10).metrics["balanced_accuracy"]
    res = classifier.permutation_test(X, y, params, obs, 3, folds=3, repeats=1)
    assert res["p"] == pytest.approx(1 / 4) and len(res["null"]) == 3 and max(res["null"]) < obs


def test_per_class_brier_and_auc():
    cm = np.array([[8, 2, 0], [1, 16, 3], [0, 2, 4]])
    pc = classifier.per_class(cm).set_index("type")
    assert pc.loc[1, "sensitivity"] == pytest.approx(0.8) and pc.loc[1, "ppv"] == pytest.approx(8 / 9)
    assert pc.loc[3, "specificity"] == pytest.approx(27 / 30) and pc.loc[2, "npv"] == pytest.approx(12 / 16)
    y = np.array([1, 2, 3, 2])
    proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.5, 0.4, 0.1]])
    m = classifier.metrics(y, proba.argmax(axis=1) + 1, proba)
    onehot = np.eye(3)[y - 1]
    assert m["brier"] == pytest.approx(np.mean(((proba - onehot) ** 2).sum(axis=1)))
    assert m["macro_auc"] == pytest.approx(np.mean([m["auc_type1"], m["auc_type2"], m["auc_type3"]]))


# ---- item 14: Table 1 median (IQR), ε²; Table 2 effect sizes ----------------------------------------


def test_table1_median_iqr_epsilon2_and_rank_biserial(small_cohort):
    feats, man, _ = small_cohort
    c = load_cohort(feats, man)
    t1 = table1.table1(c.features, c.types, "T2")
    x = c.features.loc[c.types == 3, "T2_original_shape_Elongation"]
    assert t1.loc["Elongation", "median_3"] == pytest.approx(np.median(x))
    assert t1.loc["Elongation", "iqr_3"] == pytest.approx(np.subtract(*np.percentile(x, [75, 25])))
    assert t1.loc["Elongation", "epsilon2"] == pytest.approx(t1.loc["Elongation", "kw_h"] / (len(c.types) - 1))
    a, b = np.array([1.0, 3, 5, 7]), np.array([2.0, 4, 4.5])
    u = stats.mannwhitneyu(a, b).statistic
    assert posthoc.rank_biserial(a, b) == pytest.approx(2 * u / 12 - 1)
    t2 = posthoc.dunn_table(table1.shape_frame(c.features), c.types, ["Elongation"])
    assert {"rank_biserial", "median_diff"} <= set(t2.columns) and t2.rank_biserial.abs().max() <= 1


# ---- item 7: caret exact = FALSE ---------------------------------------------------------------------


def test_caret_find_correlation_fast_and_auto():
    r1 = np.array([[1, .86, .56, .32, .85], [.86, 1, .01, .74, .32], [.56, .01, 1, .65, .91],
                   [.32, .74, .65, 1, .36], [.85, .32, .91, .36, 1]])
    # caret's own test expectations (1-based): exact = FALSE → 4 5 1 3; exact = TRUE → 1 5 4
    assert list(find_correlation_fast(r1, 0.6) + 1) == [4, 5, 1, 3]
    assert list(find_correlation(r1, 0.6) + 1) == [1, 5, 4]
    rng = np.random.default_rng(0)
    base = rng.normal(size=(60, 50))
    X = pd.DataFrame(np.hstack([base, base + rng.normal(scale=0.1, size=base.shape)]))
    X.columns = [f"f{i}" for i in range(100)]
    assert not CorrelationFilter(0.9).fit(X).exact_used_  # caret: exact = ncol(x) < 100
    assert CorrelationFilter(0.9).fit(X.iloc[:, :99]).exact_used_
    assert CorrelationFilter(0.9, exact="yes").fit(X).exact_used_


# ---- item 6: presets -----------------------------------------------------------------------------------


def test_presets_and_overrides():
    from modic.stats.report import StatsOptions

    rec = StatsOptions().resolved()
    assert (rec.correlation, rec.screen, rec.lasso, rec.validation, rec.corr_adjust, rec.class_weight,
            rec.tune_svm, rec.cv_repeats) == ("spearman", "kw", "logistic", "nested", "fdr_bh", "balanced", True, 2)
    pap = StatsOptions(preset="paper").resolved()
    assert (pap.correlation, pap.screen, pap.lasso, pap.validation, pap.corr_adjust) == (
        "pearson", "mwu", "lassocv", "holdout", "none")
    o = StatsOptions(preset="paper", correlation="spearman")
    assert o.resolved().correlation == "spearman" and o.choice_sources()["correlation"] == "option"
    assert o.choice_sources()["lasso"] == "preset"
