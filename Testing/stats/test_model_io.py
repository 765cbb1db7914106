"""Model files: round trip, metadata, mismatched tables, untrusted / tampered files."""

import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from modic.errors import ModicInputError
from modic.model_io import FORMAT, TRUSTED_TYPES, load_model, save_model
from modic.stats.classifier import make_svm


class NotTrusted:
    """A type skops has never heard of."""


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    y = np.repeat([1, 2, 3], 20)
    cols = [f"T1_original_firstorder_F{k}" for k in range(12)]
    X = pd.DataFrame(rng.normal(size=(60, 12)) + (y[:, None] - 2) * np.linspace(2, 0, 12), columns=cols)
    X.index = [f"c{i}" for i in range(60)]
    return make_svm().fit(X, y), X, y


def test_round_trip_predictions_and_metadata(tmp_path, trained):
    est, X, y = trained
    path = save_model(tmp_path / "m.skops", est, list(X.columns), {"cv_accuracy": np.float64(0.9),
                      "n_cases_per_type": {1: 20, 2: 20, 3: 20}}, synthetic=True)
    m = load_model(path)
    assert m.feature_names == list(X.columns) and m.classes_ == [1, 2, 3]
    assert m.synthetic and m.metadata["format"] == FORMAT
    assert m.metadata["summary"]["cv_accuracy"] == 0.9
    assert set(m.metadata["versions"]) >= {"modic", "sklearn", "numpy", "python"}
    # columns in another order plus extra columns: still the same result
    table = X[X.columns[::-1]].assign(extra=1.0)
    pred = m.predict(table)
    assert list(pred.columns) == ["predicted_type", "p_type1", "p_type2", "p_type3"]
    assert np.allclose(pred[["p_type1", "p_type2", "p_type3"]].to_numpy(), est.predict_proba(X))
    assert np.allclose(pred[["p_type1", "p_type2", "p_type3"]].sum(axis=1), 1.0)
    assert (pred.predicted_type.to_numpy() == y).mean() > 0.8
    assert list(pred.index) == list(X.index)


def test_missing_columns_listed(tmp_path, trained):
    est, X, _ = trained
    m = load_model(save_model(tmp_path / "m.skops", est, list(X.columns), {}))
    with pytest.raises(ModicInputError) as exc:
        m.predict(X.drop(columns=X.columns[:11]))
    msg = str(exc.value)
    assert "lacks 11 of the model's 12" in msg and "T1_original_firstorder_F2" in msg and "…" in msg
    assert "T1_original_firstorder_F3" not in msg  # only the first 3 names: the message stays one short line
    bad = X.copy()
    bad.iloc[2, 3] = np.nan
    with pytest.raises(ModicInputError, match="c2"):
        m.predict(bad)
    bad = X.copy()
    bad.iloc[4, 5] = np.inf        # an overflowed feature: was scikit-learn's ValueError (an internal error)
    with pytest.raises(ModicInputError, match="infinite values for case.s. c4 in column.s. T1_original_firstorder_F5"):
        m.predict(bad)


def test_untrusted_type_is_refused(tmp_path):
    import skops.io as sio

    path = tmp_path / "evil.skops"
    sio.dump({"format": FORMAT, "estimator": NotTrusted(), "metadata_json": "{}"}, path)
    with pytest.raises(ModicInputError, match="untrusted type.*NotTrusted"):
        load_model(path)


def test_tampered_file_is_refused(tmp_path, trained):
    est, X, _ = trained
    good = save_model(tmp_path / "m.skops", est, list(X.columns), {})
    bad = tmp_path / "tampered.skops"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "schema.json":
                s = data.decode().replace('"__class__": "_SigmoidCalibration"', '"__class__": "system"', 1)
                s = s.replace('"__module__": "sklearn.calibration"', '"__module__": "os"', 1)
                data = s.encode()
            zout.writestr(item, data)
    with pytest.raises(ModicInputError, match="untrusted"):
        load_model(bad)


def test_not_a_model_and_garbage(tmp_path):
    import skops.io as sio

    p = tmp_path / "x.skops"
    sio.dump({"a": 1}, p)
    with pytest.raises(ModicInputError, match="not a modic model"):
        load_model(p)
    g = tmp_path / "g.skops"
    g.write_text("not a zip")
    with pytest.raises(ModicInputError, match="cannot read model file"):
        load_model(g)
    with pytest.raises(ModicInputError, match="not found"):
        load_model(tmp_path / "missing.skops")


def test_trusted_list_is_exact(tmp_path, trained):
    import skops.io as sio

    est, X, _ = trained
    p = save_model(tmp_path / "m.skops", est, list(X.columns), {})
    assert set(sio.get_untrusted_types(file=p)) == set(TRUSTED_TYPES)
    assert json.loads(json.dumps(list(TRUSTED_TYPES)))


def test_applicability_domain_stored_and_applied(tmp_path, trained):
    """Issue 12 item 17: a case far from the training data is flagged; an old model file still loads."""
    from modic.pipeline import predict_one
    from modic.stats.domain import fit_domain

    est, X, y = trained
    dom = fit_domain(X)
    assert len(dom["training_distances_sorted"]) == 60 and dom["distance_limit"] > 0
    m = load_model(save_model(tmp_path / "d.skops", est, list(X.columns), {}, domain=dom))
    a = m.assess_domain(X)
    assert a["in_domain"].mean() >= 0.9  # the training cases themselves (out-of-fold limits)
    assert ((a["share_outside"] >= 0) & (a["share_outside"] <= 1)).all()
    far = X.iloc[[0]] + 10 * X.std()  # 10 SD away in every feature
    f = m.assess_domain(far).iloc[0]
    assert not f["in_domain"] and f["share_outside"] == 1.0 and f["distance_percentile"] == 100.0
    out = predict_one(m, far.iloc[0].to_dict(), "far")
    assert out["in_domain"] is False and out["domain"]["n_outside"] == 12
    inside = predict_one(m, X.iloc[5].to_dict(), "c5")
    assert inside["in_domain"] is True and inside["domain"]["mahalanobis"] < dom["distance_limit"]
    # a model file written before the domain existed: loads, predicts, in_domain None with a note
    old = load_model(save_model(tmp_path / "old.skops", est, list(X.columns), {}))
    res = predict_one(old, X.iloc[0].to_dict())
    assert res["in_domain"] is None and "no applicability domain" in res["domain"]["note"]
    assert old.assess_domain(X)["in_domain"].isna().all()
