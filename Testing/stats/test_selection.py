"""Selection steps: caret findCorrelation, screening, LASSO, the whole chain on synthetic data."""

import time

import numpy as np
import pandas as pd
import pytest
from stats_synthetic import make_cohort

from modic.stats.cohort import load_cohort
from modic.stats.selection import (
    CorrelationFilter,
    LassoSelector,
    RadiomicsSelector,
    UnivariateScreen,
    ZScore,
    find_correlation,
)


def caret_reference(corr: np.ndarray, cutoff: float) -> list[int]:
    """Literal, slow translation of caret::findCorrelation_exact (R, 1-based → 0-based)."""
    x = np.abs(corr.astype(float))
    p = x.shape[0]
    tmp = x.copy()
    np.fill_diagonal(tmp, np.nan)
    order = np.argsort(-np.nanmean(tmp, axis=0), kind="stable")
    x = x[np.ix_(order, order)]
    x2 = x.copy()
    np.fill_diagonal(x2, np.nan)
    delete = np.zeros(p, dtype=bool)
    for i in range(p - 1):
        if not np.any(x2[~np.isnan(x2)] > cutoff):
            break
        if delete[i]:
            continue
        for j in range(i + 1, p):
            if not delete[i] and not delete[j] and x[i, j] > cutoff:
                mn1 = np.nanmean(x2[i, :])
                mn2 = np.nanmean(np.delete(x2, j, axis=0))
                k = i if mn1 > mn2 else j
                delete[k] = True
                x2[k, :] = np.nan
                x2[:, k] = np.nan
    return list(order[np.flatnonzero(delete)])


def test_find_correlation_hand_made_matrix():
    # A-B 0.95 and C-D 0.92 exceed 0.9. Mean |r|: A .417, B .583, C .540, D .440 → visit B, C, D, A.
    # (B, A): mn1 = mean row B = .583 > mn2 = mean of rows B, C, D = 4.69 / 9 = .521 → drop B.
    # (C, D): mn1 = mean(C-D .92, C-A .2) = .56 > mn2 = mean of rows C, A = 1.42 / 4 = .355 → drop C.
    c = np.array([[1.0, 0.95, 0.2, 0.1],
                  [0.95, 1.0, 0.5, 0.3],
                  [0.2, 0.5, 1.0, -0.92],
                  [0.1, 0.3, -0.92, 1.0]])
    assert list(find_correlation(c, 0.9)) == [1, 2]
    assert caret_reference(c, 0.9) == [1, 2]
    assert list(find_correlation(c, 0.96)) == []


def test_find_correlation_caret_quirk_mn2_is_matrix_mean():
    # Row i's mean (.3) is below the mean of the matrix without row j, so caret drops j even though
    # j's own mean |r| is lower: a naive "drop the larger of the two means" rule would drop i.
    rng = np.random.default_rng(5)
    found = False
    for _ in range(400):
        p = 6
        a = rng.uniform(0, 1, (p, p))
        c = (a + a.T) / 2
        np.fill_diagonal(c, 1)
        ref = caret_reference(c, 0.9)
        assert list(find_correlation(c, 0.9)) == ref
        cc = np.abs(c.copy())
        np.fill_diagonal(cc, np.nan)
        means = np.nanmean(cc, axis=0)
        naive = set()
        for i in range(p):
            for j in range(i + 1, p):
                if cc[i, j] > 0.9 and i not in naive and j not in naive:
                    naive.add(i if means[i] > means[j] else j)
        found |= naive != set(ref)
    assert found  # the exact caret rule really differs from the naive one on some matrices


def test_find_correlation_matches_reference_on_clustered_data():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(80, 12))
    X = np.hstack([base + rng.normal(scale=s, size=base.shape) for s in (0.05, 0.2, 0.35)])
    c = np.corrcoef(X, rowvar=False)
    got = list(find_correlation(c, 0.9))
    assert got == caret_reference(c, 0.9)
    assert 12 <= len(got) < 36
    kept = np.setdiff1d(np.arange(36), got)
    sub = np.abs(c[np.ix_(kept, kept)])
    np.fill_diagonal(sub, 0)
    assert sub.max() <= 0.9


def test_zscore_and_screen_inspectable():
    rng = np.random.default_rng(0)
    y = np.repeat([1, 2, 3], 20)
    X = pd.DataFrame({"T1_original_glcm_A": rng.normal(size=60) + (y - 2) * 2.0,
                      "T2_wavelet-LLH_glcm_B": rng.normal(size=60),
                      "FS_lbp-3D-m1_glszm_C": rng.normal(size=60)})
    X.iloc[3, 1] = np.nan
    z = ZScore().fit(X)
    Z = z.transform(X)
    assert np.allclose(Z.mean(axis=0), 0) and np.allclose(Z.std(axis=0), 1)
    s = UnivariateScreen("kw").fit(pd.DataFrame(Z, columns=X.columns), y)
    assert list(s.get_support()) == [True, False, False] or s.get_support()[0]
    assert s.results_.loc[0, "p"] < 1e-6
    assert list(s.results_.image_type) == ["original", "wavelet", "lbp-3D"]
    m = UnivariateScreen("mwu").fit(pd.DataFrame(Z, columns=X.columns), y)
    assert {"p_1_2", "p_1_3", "p_2_3"} <= set(m.results_.columns)
    assert m.results_.loc[0, "p"] == pytest.approx(m.results_.loc[0, ["p_1_2", "p_1_3", "p_2_3"]].min())
    assert m.get_support()[0]


def test_correlation_filter_drops_duplicate():
    rng = np.random.default_rng(0)
    a = rng.normal(size=50)
    X = pd.DataFrame({"a": a, "a_dup": a * 2 + rng.normal(scale=0.05, size=50), "b": rng.normal(size=50)})
    f = CorrelationFilter(0.9).fit(X)
    assert f.get_support().sum() == 2 and f.get_support()[2]
    assert list(f.get_feature_names_out())[-1] == "b"


@pytest.mark.parametrize("mode", ["lassocv", "logistic"])
def test_lasso_selector_finds_signal(mode):
    rng = np.random.default_rng(1)
    y = np.repeat([1, 2, 3], 30)
    X = rng.normal(size=(90, 30))
    X[:, 0] += (y - 2) * 1.5
    X[:, 1] -= (y - 2) * 1.0
    las = LassoSelector(mode, n_alphas=20, random_state=0).fit(X, y)
    assert las.get_support()[0] and las.get_support()[1]
    assert las.get_support().sum() < 15
    assert las.alpha_ > 0


def test_radiomics_selector_small_cohort(small_cohort):
    feats, man, info = small_cohort
    c = load_cohort(feats, man)
    sel = RadiomicsSelector(random_state=0).fit(c.features, c.types)
    counts = sel.counts_
    assert counts["input"] == c.features.shape[1]
    assert counts["input"] >= counts["screened"] >= counts["decorrelated"] >= counts["lasso"] >= 1
    chosen = set(sel.selected_features_)
    found = [f for f in info["informative"] if f in chosen or info["duplicates"][f] in chosen]
    assert len(found) >= 8  # of 9 planted features (or their near-duplicates)
    # a feature and its duplicate are never both kept after the correlation filter
    kept = set(sel.steps_["correlation"].results_.query("kept").feature)
    assert not any(f in kept and d in kept for f, d in info["duplicates"].items())
    assert sel.transform(c.features).shape == (len(c.features), counts["lasso"])


def test_full_size_pipeline_recovers_planted_features(tmp_path):
    """154 cases × ~5,600 features through the whole `run_stats` (selection, nested CV, report)."""
    from modic.stats.report import run_stats

    feats, man, info = make_cohort(n_null_per_seq=1840, n_informative_per_seq=4, seed=11)
    assert feats.shape == (154, 5596 - 1)  # case_id + 5,594 features (3 of them type II apart)
    t0 = time.perf_counter()
    res = run_stats(feats, man, tmp_path / "out", n_boot=200, seed=0, cv_repeats=1)
    took = time.perf_counter() - t0
    print(f"\nrun_stats on 154 × {feats.shape[1] - 1}: {took:.1f} s; timings {res.summary['timings_s']}")
    sel = res.selector
    chosen = set(sel.selected_features_)
    found = [f for f in info["informative"] if f in chosen or info["duplicates"][f] in chosen]
    assert len(found) >= 11, (found, sel.selected_features_)
    assert sel.counts_["screened"] < 0.2 * sel.counts_["input"]
    assert res.summary["validation"]["nested_cv"]["metrics"]["balanced_accuracy"] > 0.6
    assert (tmp_path / "out" / "report.html").is_file()
