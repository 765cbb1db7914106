"""Table 1, correlations and ODI scoring."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from modic.errors import ModicInputError
from modic.stats.cohort import load_cohort
from modic.stats.correlation import corr_with_p, correlate, significance_mark
from modic.stats.odi import odi_score, score_table
from modic.stats.table1 import TABLE1_FEATURES, shape_frame, table1


def test_table1_values_and_reciprocal_ratio(small_cohort):
    feats, man, _ = small_cohort
    c = load_cohort(feats, man)
    t1 = table1(c.features, c.types, "T2")
    assert list(t1.index) == list(TABLE1_FEATURES)
    x = c.features.loc[c.types == 2, "T2_original_shape_Sphericity"]
    assert t1.loc["Sphericity", "mean_2"] == pytest.approx(x.mean())
    assert t1.loc["Sphericity", "sd_2"] == pytest.approx(x.std(ddof=1))
    ref = stats.kruskal(*(c.features.loc[c.types == k, "T2_original_shape_Elongation"] for k in (1, 2, 3)))
    assert t1.loc["Elongation", "kw_p"] == pytest.approx(ref.pvalue, rel=1e-9)
    # ratio = 1 / Flatness → identical rank-test p
    assert t1.loc["MajorLeastAxisRatio", "kw_p"] == pytest.approx(t1.loc["Flatness", "kw_p"], rel=1e-12)
    assert t1.loc["Elongation", "significant"] and t1.loc["Elongation", "KW p"].endswith("*")
    sw = stats.shapiro(x).pvalue
    assert t1.loc["Sphericity", "normal_2"] == (sw >= 0.05)
    # default: "*" = normality rejected (the paper's likely meaning); "normal" flips it
    assert t1.loc["Sphericity", "Type II"].endswith("*") == (sw < 0.05)
    t1n = table1(c.features, c.types, "T2", normality_star="normal")
    assert t1n.loc["Sphericity", "Type II"].endswith("*") == (sw >= 0.05)


def test_ratio_derived_when_absent(small_cohort):
    feats, man, _ = small_cohort
    f = feats.drop(columns="T2_original_shape_MajorLeastAxisRatio").set_index("case_id")
    s = shape_frame(f, "T2")
    assert np.allclose(s["MajorLeastAxisRatio"], f["T2_original_shape_MajorAxisLength"]
                       / f["T2_original_shape_LeastAxisLength"])


def test_missing_sequence_is_input_error(small_cohort):
    feats, _, _ = small_cohort
    with pytest.raises(ModicInputError, match="no shape features for sequence 'DWI'"):
        shape_frame(feats.set_index("case_id"), "DWI")


def test_spearman_equals_pearson_on_ranks_and_scipy():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 10, 40).astype(float)
    Y = rng.integers(0, 5, (40, 3)).astype(float) + x[:, None] * 0.3
    r, p = corr_with_p(x, Y, "spearman")
    for k in range(3):
        ref = stats.spearmanr(x, Y[:, k])
        assert r[k] == pytest.approx(ref.statistic, rel=1e-10)
        assert p[k] == pytest.approx(ref.pvalue, rel=1e-8)
        pr = stats.pearsonr(stats.rankdata(x), stats.rankdata(Y[:, k]))
        assert r[k] == pytest.approx(pr.statistic, rel=1e-10)
    rp, pp = corr_with_p(x, Y, "pearson")
    assert rp[0] == pytest.approx(stats.pearsonr(x, Y[:, 0]).statistic, rel=1e-10)
    assert pp[0] == pytest.approx(stats.pearsonr(x, Y[:, 0]).pvalue, rel=1e-8)
    # monotone transform leaves Spearman unchanged
    assert corr_with_p(np.exp(x), Y, "spearman")[1] == pytest.approx(p)


def test_correlate_drops_small_type_group(small_cohort):
    feats, man, _ = small_cohort
    c = load_cohort(feats, man)
    shape = shape_frame(c.features, "T2")
    out, notes = correlate(shape, c.manifest, list(shape.columns), min_group=5, fdr=True)
    odi = out[out.score == "odi"]
    assert (odi.n == 29).all() and (odi.types == "1,2").all()  # 7 + 22; the single type-III case dropped
    assert any("type(s) 3 (n=1) dropped" in n for n in notes)
    svr = odi.set_index("feature").loc["SurfaceVolumeRatio"]
    assert svr.r > 0.8 and svr.p < 1e-6  # planted ODI effect
    assert (out.p_fdr >= out.p - 1e-15).all()
    age = out[out.score == "age"]
    assert (age.n == 29).all()  # by default on the cases with ODI/VAS (types 1 and 2), as the paper
    assert any("age: correlated on the 30 case(s) with ODI or VAS" in n for n in notes)
    out_all, _ = correlate(shape, c.manifest, list(shape.columns), min_group=5, age_subset="all")
    assert (out_all[out_all.score == "age"].n == len(c.types)).all()
    assert significance_mark(0.004) == "**" and significance_mark(0.03) == "*" and significance_mark(0.2) == ""


def test_odi_score():
    assert odi_score([5] * 10) == 100.0
    assert odi_score([0] * 10) == 0.0
    assert odi_score([1, 2, 3, 4, 5, 0, 1, 2, 3, 4]) == pytest.approx(50.0)
    # one item missing: 100 × 20 / 45
    assert odi_score([2] * 9 + [None]) == pytest.approx(100 * 18 / 45)
    assert odi_score([2, 2, 2, 2, 2, 2, 2, np.nan, "", None]) != odi_score([2, 2, 2, 2, 2, 2, 2, 2, 2, None])
    assert np.isnan(odi_score([2, 2, 2, 2, 2, 2, 2, np.nan, "", None]))  # 7 answered < 8
    assert odi_score([2, 2, 2, 2, 2, 2, 2, np.nan, "", None], min_answered=7) == pytest.approx(40.0)
    with pytest.raises(ModicInputError, match="item 3"):
        odi_score([1, 1, 6, 1, 1, 1, 1, 1, 1, 1])
    with pytest.raises(ModicInputError, match="item 2"):
        odi_score([1, "x", 1, 1, 1, 1, 1, 1, 1, 1])
    with pytest.raises(ModicInputError, match="item 1"):
        odi_score([1.5, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    with pytest.raises(ModicInputError, match="10 item"):
        odi_score([1] * 9)


def test_odi_table_and_cli(tmp_path):
    from modic.cli import main

    df = pd.DataFrame({"case_id": ["a", "b"], **{f"q{k}": [k % 6, 3] for k in range(1, 11)}})
    out = score_table(df, prefix="q")
    assert out.odi.tolist() == [pytest.approx(100 * 25 / 50), 60.0]
    src, dst = tmp_path / "items.csv", tmp_path / "odi.csv"
    df.to_csv(src, index=False)
    assert main(["odi", "--items", str(src), "--out", str(dst), "--prefix", "q"]) == 0
    assert pd.read_csv(dst).odi.tolist() == [50.0, 60.0]
    assert main(["odi", "--items", str(src), "--out", str(tmp_path / "x.csv")]) == 2
    assert not (tmp_path / "x.csv").exists()
