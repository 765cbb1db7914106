"""`modic extract --manifest M --detect` (one row per detected lesion) and the stats unit of analysis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from batchdata import SMALL_PARAMS
from helpers import run_cli

from modic.batch.detect_mode import LESION_TABLE_COLUMNS
from modic.errors import ModicInputError
from modic.phantom.anatomy import spine_from_phantom_anatomy
from modic.phantom.normal import lesion_free_case
from modic.phantom.synth import make_case
from modic.stats.units import to_unit


def _write(case, folder):
    folder.mkdir(parents=True)
    for seq, img in case.images.items():
        sitk.WriteImage(sitk.Cast(img, sitk.sitkInt16), str(folder / f"{seq.lower()}.nrrd"))
    sitk.WriteImage(spine_from_phantom_anatomy(case.anatomy).labels, str(folder / "spine_labels.nrrd"))
    rel = folder.name
    return {"case_id": case.case_id, "t1": f"{rel}/t1.nrrd", "t2": f"{rel}/t2.nrrd", "fs": f"{rel}/fs.nrrd",
            "spine": f"{rel}/spine_labels.nrrd"}


def test_extract_detect_one_row_per_lesion_isolated_and_resumable(tmp_path, capsys):
    lesion = make_case("with_lesion", "III", seed=0, index=7)   # type III on both endplates of L5-S1
    assert (lesion.meta["level"], lesion.meta["endplate"]) == ("L5-S1", "both")
    normal = lesion_free_case(3, seed=5, case_id="normal")
    rows = [_write(lesion, tmp_path / "a"), _write(normal, tmp_path / "b"),
            {"case_id": "broken", "t1": "missing/t1.nrrd", "t2": "missing/t2.nrrd"}]
    pd.DataFrame(rows).to_csv(tmp_path / "manifest.csv", index=False)
    (tmp_path / "small.yaml").write_text(SMALL_PARAMS)
    args = ["--manifest", str(tmp_path / "manifest.csv"), "--detect", "--out", str(tmp_path / "lesions.csv"),
            "--params", str(tmp_path / "small.yaml"), "--jobs", "1", "--no-progress"]
    assert run_cli(args) == 3                       # the broken case failed, the others are in the table
    table = pd.read_csv(tmp_path / "lesions.csv")
    assert list(table.columns[:len(LESION_TABLE_COLUMNS)]) == list(LESION_TABLE_COLUMNS)
    assert list(table["case_id"]) == ["with_lesion", "with_lesion"]      # the lesion-free case gives no row
    assert list(table["endplate"]) == ["L5 inferior", "S1 superior"] and set(table["level"]) == {"L5-S1"}
    assert list(table["detected_type"]) == ["III", "III"] and list(table["modic_code"]) == [3, 3]
    assert list(table["lesion_id"]) == ["with_lesion:1", "with_lesion:2"]
    for seq in ("T1", "T2", "FS"):
        vol = table[f"{seq}_original_shape_VoxelVolume"]
        assert (vol > 500).all()                    # each lesion's own mask (label) on that sequence's grid
    errors = pd.read_csv(tmp_path / "lesions.errors.csv")
    assert list(errors["case_id"]) == ["broken"] and errors.loc[0, "step"] == "load"
    # resume: nothing is recomputed, the table is identical
    capsys.readouterr()
    assert run_cli(args) == 3
    assert "2 from cache" in capsys.readouterr().err
    again = pd.read_csv(tmp_path / "lesions.csv")
    pd.testing.assert_frame_equal(again, table)
    diag = pd.read_csv(tmp_path / "lesions.diagnostics.csv")
    assert "lesion_rows" not in diag.columns and list(diag["n_lesions"]) == [2, 0]


def _lesion_table():
    rng = np.random.default_rng(0)
    rows = []
    for case, lesions in (("p1", [("L4 inferior", "I", 900.0), ("L5 superior", "II", 2500.0)]),
                          ("p2", [("L5 inferior", "III", 1200.0)]),
                          ("p3", [("L3 inferior", "II", 700.0), ("L4 superior", "II", 700.0)])):
        for i, (endplate, t, vol) in enumerate(lesions, start=1):
            rows.append({"case_id": case, "lesion_id": f"{case}:{i}", "label": i, "level": "L4-L5",
                         "endplate": endplate, "detected_type": t, "modic_code": {"I": 1, "II": 2, "III": 3}[t],
                         "voxels": int(vol), "volume_mm3": vol, "seed_lps": "0;0;0", "confidence": 0.5 + 0.1 * i,
                         "T2_original_shape_Sphericity": rng.uniform(0.3, 0.5)})
    return pd.DataFrame(rows)


def test_units_patient_takes_each_patients_largest_lesion():
    feats = _lesion_table()
    manifest = pd.DataFrame({"case_id": ["p1", "p2", "p3"], "modic_type": [2, None, None], "odi": [30, 40, 50]})
    u = to_unit(feats, manifest, "patient")
    assert u.unit == "patient" and list(u.features["case_id"]) == ["p1", "p2", "p3"]
    # p1's largest is the 2500 mm³ type II lesion; p3's tie is broken by confidence (lesion 2)
    chosen = feats.set_index("lesion_id").loc[["p1:2", "p2:1", "p3:2"], "T2_original_shape_Sphericity"]
    assert np.allclose(u.features["T2_original_shape_Sphericity"], chosen.values)
    assert list(u.features.columns) == ["case_id", "T2_original_shape_Sphericity"]   # descriptors are not features
    assert list(u.manifest["modic_type"]) == [2, 3, 2]       # clinical type kept, missing ones from the lesion
    assert u.counts == {"patients": 3, "lesions": 5, "rows": 3} and "largest" in u.statement


def test_units_lesion_keeps_every_lesion_with_patient_clusters():
    feats = _lesion_table()
    manifest = pd.DataFrame({"case_id": ["p1", "p2", "p3"], "modic_type": [2, 3, 2], "odi": [30, 40, 50]})
    u = to_unit(feats, manifest, "lesion")
    assert list(u.features["case_id"]) == ["p1:1", "p1:2", "p2:1", "p3:1", "p3:2"]
    assert list(u.manifest["case_id"]) == list(u.features["case_id"])
    assert list(u.manifest["patient_id"]) == ["p1", "p1", "p2", "p3", "p3"]
    assert list(u.manifest["modic_type"]) == [1, 2, 3, 2, 2]          # each lesion's own detected type
    assert list(u.manifest["odi"]) == [30, 30, 40, 50, 50]
    assert u.groups.to_dict() == {"p1:1": "p1", "p1:2": "p1", "p2:1": "p2", "p3:1": "p3", "p3:2": "p3"}
    assert "not independent" in u.statement


def test_units_pass_through_and_errors(tmp_path):
    plain = pd.DataFrame({"case_id": ["a"], "T2_original_shape_Sphericity": [0.4]})
    u = to_unit(plain, "manifest.csv", "patient")
    assert u.features is plain and u.manifest == "manifest.csv"
    with pytest.raises(ModicInputError, match="--unit must be one of"):
        to_unit(plain, "manifest.csv", "vertebra")
    with pytest.raises(ModicInputError, match="no row for case"):
        to_unit(_lesion_table(), pd.DataFrame({"case_id": ["p1"], "modic_type": [1]}), "patient")


def test_detection_cache_key_follows_the_spine_parser(monkeypatch):
    """A case without a spine file is parsed: a new parser must not reuse the old parser's detections."""
    import modic.spine.parse as parse
    from modic.batch.detect_mode import detector_version

    before = detector_version()
    monkeypatch.setattr(parse, "METHOD_VERSION", parse.METHOD_VERSION + 1)
    assert detector_version() != before
