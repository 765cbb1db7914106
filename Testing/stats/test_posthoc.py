"""Rank tests against the published Hollander & Wolfe vectors and the invariants."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from modic.stats.posthoc import dunn_matrix, dunn_table, dunn_wide, dunn_z, kruskal_wallis, mann_whitney

NORMAL = [2.9, 3.0, 2.5, 2.6, 3.2]
COPD = [3.8, 2.7, 4.0, 2.4]
ASBESTOSIS = [2.8, 3.4, 3.7, 2.2, 2.0]
VALUES = np.array(NORMAL + COPD + ASBESTOSIS)
GROUPS = np.array(["normal"] * 5 + ["copd"] * 4 + ["asbestosis"] * 5)


def test_kruskal_wallis_hollander_wolfe():
    h, p = kruskal_wallis(VALUES[:, None], GROUPS)
    assert h[0] == pytest.approx(0.771429, abs=1e-6)
    assert p[0] == pytest.approx(0.6800, abs=1e-4)
    ref = stats.kruskal(NORMAL, COPD, ASBESTOSIS)
    assert h[0] == pytest.approx(ref.statistic, rel=1e-12)


def test_dunn_hollander_wolfe_unadjusted_two_sided():
    m = dunn_matrix(VALUES, GROUPS, p_adjust=None)
    assert m.loc["copd", "normal"] == pytest.approx(0.521, abs=5e-4)
    assert m.loc["asbestosis", "normal"] == pytest.approx(0.821, abs=5e-4)
    assert m.loc["asbestosis", "copd"] == pytest.approx(0.392, abs=5e-4)
    assert np.allclose(np.diag(m), 1.0)
    assert np.allclose(m.to_numpy(), m.to_numpy().T)


def test_dunn_z_hollander_wolfe():
    """Published z (R dunn.test): copd vs normal 0.641, asbestosis vs normal −0.227, asbestosis vs copd −0.855."""
    assert dunn_z(VALUES, GROUPS, "copd", "normal") == pytest.approx(0.641, abs=5e-4)
    assert dunn_z(VALUES, GROUPS, "asbestosis", "normal") == pytest.approx(-0.227, abs=5e-4)
    assert dunn_z(VALUES, GROUPS, "asbestosis", "copd") == pytest.approx(-0.855, abs=5e-4)
    assert dunn_z(VALUES, GROUPS, "normal", "copd") == -dunn_z(VALUES, GROUPS, "copd", "normal")
    long = dunn_table(pd.DataFrame({"f": VALUES}), pd.Series(GROUPS), ["f"], p_adjust="bonferroni")
    raw = dunn_matrix(VALUES, GROUPS, p_adjust=None)
    for _, r in long.iterrows():  # the table's z gives scikit-posthocs' unadjusted p
        assert r["p_unadjusted"] == pytest.approx(raw.loc[r["group_a"], r["group_b"]], rel=1e-9)
        assert r["p"] == pytest.approx(min(1.0, 3 * r["p_unadjusted"]), rel=1e-9)


def test_bonferroni_is_three_times_and_capped():
    raw = dunn_matrix(VALUES, GROUPS, p_adjust=None)
    adj = dunn_matrix(VALUES, GROUPS, p_adjust="bonferroni")
    assert adj.loc["asbestosis", "copd"] == pytest.approx(min(1.0, 3 * 0.392421), abs=1e-5)
    assert adj.loc["copd", "normal"] == 1.0  # 3 × 0.521 > 1 → capped
    assert (adj.to_numpy() <= 1.0).all()
    assert (adj.to_numpy() >= raw.to_numpy() - 1e-12).all()


def test_kw_vectorised_matches_scipy_with_ties():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 6, size=(60, 40)).astype(float)  # many ties
    g = np.repeat([1, 2, 3], [15, 30, 15])
    h, p = kruskal_wallis(X, g)
    for k in range(X.shape[1]):
        ref = stats.kruskal(*(X[g == t, k] for t in (1, 2, 3)))
        assert h[k] == pytest.approx(ref.statistic, rel=1e-9)
        assert p[k] == pytest.approx(ref.pvalue, rel=1e-9)


def test_constant_column_gives_p_one():
    X = np.ones((9, 1))
    h, p = kruskal_wallis(X, np.repeat([1, 2, 3], 3))
    assert h[0] == 0.0 and p[0] == 1.0


def test_mann_whitney_matches_scipy_asymptotic():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 8, size=(25, 30)).astype(float)
    b = rng.integers(1, 9, size=(31, 30)).astype(float)
    u, p = mann_whitney(a, b)
    ref = stats.mannwhitneyu(a, b, axis=0, method="asymptotic", use_continuity=True)
    assert np.allclose(u, ref.statistic)
    assert np.allclose(p, ref.pvalue, rtol=1e-9)


@pytest.mark.parametrize("transform", [np.exp, lambda x: 1.0 / x, lambda x: x ** 3 + 5])
def test_rank_tests_invariant_to_monotone_transforms(transform):
    x = VALUES
    tx = transform(x)
    assert kruskal_wallis(x[:, None], GROUPS)[1][0] == pytest.approx(kruskal_wallis(tx[:, None], GROUPS)[1][0],
                                                                     rel=1e-12)
    assert np.allclose(dunn_matrix(x, GROUPS, None), dunn_matrix(tx, GROUPS, None), rtol=1e-12)
    a, b = x[GROUPS == "normal"], x[GROUPS == "asbestosis"]
    ta, tb = tx[GROUPS == "normal"], tx[GROUPS == "asbestosis"]
    assert mann_whitney(a, b)[1][0] == pytest.approx(mann_whitney(ta, tb)[1][0], rel=1e-12)


def test_dunn_table_long_and_wide():
    df = pd.DataFrame({"f": VALUES, "g": np.log(VALUES)})
    long = dunn_table(df, pd.Series(GROUPS), ["f", "g"], p_adjust="bonferroni")
    assert len(long) == 6
    assert np.allclose(long[long.feature == "f"].p.to_numpy(), long[long.feature == "g"].p.to_numpy())
    wide = dunn_wide(long)
    assert wide.shape == (6, 3)
    assert wide.loc[("f", "asbestosis"), "copd"] == pytest.approx(min(1, 3 * 0.392421), abs=1e-5)


def test_unknown_adjustment_is_input_error():
    from modic.errors import ModicInputError

    with pytest.raises(ModicInputError, match="unknown p-value adjustment"):
        dunn_matrix(VALUES, GROUPS, p_adjust="magic")
