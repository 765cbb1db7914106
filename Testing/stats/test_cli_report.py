"""`modic stats` / `modic classify` end to end, and the bad-input acceptance cases."""

import json

import numpy as np
import pandas as pd
import pytest

from modic.cli import main
from modic.errors import ModicInputError
from modic.stats.report import run_stats

FAST = ["--n-boot", "100", "--cv-folds", "3", "--cv-repeats", "1", "--quiet"]


def _write(tmp_path, feats, man):
    f, m = tmp_path / "features.csv", tmp_path / "manifest.csv"
    feats.to_csv(f, index=False)
    man.to_csv(m, index=False)
    return f, m


def _bad_cases(feats, man):
    no_type = man.drop(columns="modic_type")
    bad_type = man.copy()
    bad_type.loc[3, "modic_type"] = 4
    blank_type = man.copy().astype({"modic_type": float})
    blank_type.loc[4, "modic_type"] = float("nan")
    bad_odi = man.copy().astype({"odi": object})
    bad_odi.loc[5, "odi"] = "severe"
    dup_man = pd.concat([man, man.iloc[[0]]])
    dup_feat = pd.concat([feats, feats.iloc[[1]]])
    other = feats.assign(case_id=[f"x{i}" for i in range(len(feats))])
    one_type3 = man[(man.modic_type != 3) | (man.index == man.index[man.modic_type == 3][0])]
    return {
        "missing modic_type": (feats, no_type, "no 'modic_type' column"),
        "type outside 1-3": (feats, bad_type, "modic_type must be 1, 2 or 3"),
        "blank type": (feats, blank_type, "modic_type must be 1, 2 or 3; got case004=empty \\(1 case"),
        "non-numeric ODI": (feats, bad_odi, "column 'odi' must be numeric"),
        "duplicate id in manifest": (feats, dup_man, "manifest .*duplicate case_id case000"),
        "duplicate id in features": (dup_feat, man, "feature table .*duplicate case_id case001"),
        "no common cases": (other, man, "no case_id in common"),
        "type group < 2": (feats, one_type3, "too few cases per Modic type \\(type 3: 1"),
    }


@pytest.mark.parametrize("case", ["missing modic_type", "type outside 1-3", "blank type", "non-numeric ODI",
                                  "duplicate id in manifest", "duplicate id in features", "no common cases",
                                  "type group < 2"])
def test_bad_input_one_line_exit_2_nothing_written(case, tmp_path, small_cohort, capsys):
    feats, man, _ = small_cohort
    f_df, m_df, pattern = _bad_cases(feats, man)[case]
    f, m = _write(tmp_path, f_df, m_df)
    out = tmp_path / "out"
    code = main(["stats", "--features", str(f), "--manifest", str(m), "--out", str(out), *FAST])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("modic stats: error:")
    import re

    assert re.search(pattern, err), err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features.csv", "manifest.csv"]
    with pytest.raises(ModicInputError, match=pattern):  # same text through the API
        run_stats(f, m, out, n_boot=100)


def test_full_run_and_classify(tmp_path, small_cohort, capsys):
    feats, man, info = small_cohort
    f, m = _write(tmp_path, feats, man)
    out = tmp_path / "report"
    code = main(["stats", "--features", str(f), "--manifest", str(m), "--out", str(out), "--fdr",
                 "--synthetic", *FAST])
    assert code == 0, capsys.readouterr().err
    names = {p.name for p in out.iterdir()}
    for stem in ("figure1_screening", "figure2_lasso_coefficients", "lasso_path", "correlation_heatmap",
                 "confusion_matrix", "boxplots_shape", "table1", "roc_curves", "reliability", "selection_frequency"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    assert {"tables.xlsx", "model.skops", "summary.json", "report.html", "dropped_features.csv",
            "table1.csv", "table2_dunn.csv", "validation.csv", "correlations.csv", "per_class.csv",
            "selection_frequency.csv", "correlations_by_type.csv", "nested_cv_repeats.csv"} <= names
    s = json.loads((out / "summary.json").read_text())
    # issue 12 output contract
    assert s["preset"] == "recommended" and "multinomial" in s["selection_method"]
    assert s["majority_rate"] == pytest.approx(84 / 154) and s["permutation_p"] is None
    assert s["balanced_accuracy"] == s["validation"]["nested_cv"]["metrics"]["balanced_accuracy"]
    assert s["choices"]["correlation"] == {"value": "spearman", "from": "preset"}
    t1 = pd.read_csv(out / "table1.csv")
    assert {"median_1", "iqr_3", "epsilon2"} <= set(t1.columns)
    corr = pd.read_csv(out / "correlations.csv")
    assert {"p_method", "q", "ci_low", "ci_high"} <= set(corr.columns)
    assert s["correlations"]["significance_basis"] == "q"
    assert s["correlations"]["significant"] == int((corr.q < 0.05).sum())
    pc = pd.read_csv(out / "per_class.csv")
    assert {"sensitivity", "specificity", "ppv", "npv"} <= set(pc.columns) and len(pc) == 6
    sf = pd.read_csv(out / "selection_frequency.csv")
    assert sf.frequency.between(0, 1).all() and sf.in_final_model.any()
    assert s["cohort"]["per_type"] == {"1": 41, "2": 84, "3": 29}
    c = s["selection"]["counts"]
    assert c["input"] >= c["screened"] >= c["decorrelated"] >= c["lasso"] >= 5
    assert s["synthetic"] is True
    assert len(s["inputs"]["features"]["sha256"]) == 64
    assert s["validation"]["nested_cv"]["metrics"]["accuracy"] > 0.6
    lo, hi = s["validation"]["nested_cv"]["ci95"]["accuracy"]
    assert lo <= s["validation"]["nested_cv"]["metrics"]["accuracy"] <= hi
    assert any("type(s) 3 (n=1) dropped" in n for n in s["notes"])
    dropped = pd.read_csv(out / "dropped_features.csv")
    assert set(dropped.feature) == {"T1_original_firstorder_ConstantFeature", "FS_lbp-3D-k_glcm_AllNaN"}
    t2 = pd.read_csv(out / "table2_dunn.csv")
    assert (t2.p <= 1.0).all() and set(t2.feature) <= set(s["table1"]["significant"])
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "synthetic" in html and "caret findCorrelation" in html
    assert "TRIPOD" in html and "external validation" in html and "circular" in html
    assert "mean of the remaining matrix without" in html  # caret's exact rule, as the code does it
    assert "Preset: recommended" in html and "ensemble of 3 sigmoid-calibrated RBF SVMs" in html
    assert str(s["selection"]["counts"]["screened"]) in html
    xl = pd.ExcelFile(out / "tables.xlsx")
    assert {"table1", "table2_dunn", "table2_dunn_matrix", "screening", "validation"} <= set(xl.sheet_names)
    # classify with the written model
    pred_csv = tmp_path / "pred.csv"
    assert main(["classify", "--features", str(f), "--model", str(out / "model.skops"),
                 "--out", str(pred_csv)]) == 0
    pred = pd.read_csv(pred_csv)
    assert len(pred) == 154 and {"case_id", "predicted_type", "p_type1", "p_type2", "p_type3"} <= set(pred.columns)
    assert {"in_domain", "share_outside", "mahalanobis"} <= set(pred.columns) and pred.in_domain.mean() > 0.8
    assert np.allclose(pred[["p_type1", "p_type2", "p_type3"]].sum(axis=1), 1.0, atol=1e-5)
    assert (pred.predicted_type.to_numpy() == man.modic_type.to_numpy()).mean() > 0.8
    # a table lacking the model's features: one line, exit 2
    capsys.readouterr()
    thin = tmp_path / "thin.csv"
    feats[["case_id", "T2_original_shape_Sphericity"]].to_csv(thin, index=False)
    assert main(["classify", "--features", str(thin), "--model", str(out / "model.skops")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "feature table lacks" in err


def test_api_options_and_paper_preset(tmp_path, small_cohort):
    feats, man, _ = small_cohort
    progress = []
    res = run_stats(feats, man, tmp_path / "o", preset="paper", n_boot=50, cv_folds=3, cv_repeats=1, seed=3,
                    alpha=0.01, permutations=2, progress=progress.append)
    s = res.summary
    assert s["settings"]["screen"] == "mwu" and s["inputs"]["features"]["sha256"] is None
    assert (s["preset"], s["settings"]["correlation"], s["settings"]["lasso"], s["primary_validation"]) == (
        "paper", "pearson", "lassocv", "holdout")
    assert "type codes" in s["selection_method"] and s["correlations"]["significance_basis"] == "p"
    assert s["balanced_accuracy"] == s["validation"]["holdout"]["metrics"]["balanced_accuracy"]
    assert 1 / 3 <= s["permutation_p"] <= 1 and len(res.tables["permutation_null"]) == 2
    html = (tmp_path / "o" / "report.html").read_text()
    assert "p &lt; 0.01 within that type" in html  # the normality note follows --alpha
    assert res.selector.counts_["lasso"] >= 3
    assert any(p.startswith("selection:") for p in progress)
    assert "p_1_2" in res.tables["screening"].columns
    with pytest.raises(ModicInputError, match="screen must be one of"):
        run_stats(feats, man, tmp_path / "o2", screen="t-test")
    assert not (tmp_path / "o2").exists()


def test_too_few_cases_of_a_type_for_the_svm_is_one_line_exit_2(tmp_path, capsys):
    """Two type-III cases pass the cohort checks but cannot train a calibrated SVM after the split."""
    import numpy as np
    import pandas as pd

    from modic.cli import main

    rng = np.random.default_rng(0)
    types = [1] * 6 + [2] * 6 + [3] * 2
    ids = [f"c{i}" for i in range(len(types))]
    feats = pd.DataFrame(rng.normal(size=(len(types), 4)) + np.asarray(types)[:, None],
                         columns=[f"T2_original_firstorder_F{i}" for i in range(4)])
    for name in ("Elongation", "Flatness", "Sphericity", "MajorAxisLength", "LeastAxisLength"):
        feats[f"T2_original_shape_{name}"] = rng.uniform(0.5, 1.0, len(types)) + np.asarray(types) * 0.1
    feats.insert(0, "case_id", ids)
    feats.to_csv(tmp_path / "f.csv", index=False)
    pd.DataFrame({"case_id": ids, "modic_type": types}).to_csv(tmp_path / "m.csv", index=False)
    rc = main(["stats", "--features", str(tmp_path / "f.csv"), "--manifest", str(tmp_path / "m.csv"),
               "--out", str(tmp_path / "report")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    errors = [line for line in err if line.startswith("modic stats: error")]
    assert len(errors) == 1 and err[-1] == errors[0]  # progress lines first, then one error line
    assert "too few cases per Modic type (type 3: 2; need ≥ 3" in errors[0]
    assert not (tmp_path / "report").exists()
