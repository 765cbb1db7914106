"""Loading helpers: NRRD, NIfTI, DICOM files and series (pydicom's MR test data), clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from _synth import volume
from pydicom.data import get_testdata_file

from modic.errors import ModicInputError
from modic.io import atomic_directory, list_dicom_series, read_dicom_series, read_image, write_csv, write_image
from modic.manifest import load_case_masks, read_manifest

DICOM_DIR = Path(get_testdata_file("MR_small.dcm")).parent


def test_nrrd_and_nifti_keep_sagittal_geometry(tmp_path):
    img = volume(np.arange(8 * 10 * 12, dtype=np.float32).reshape(8, 10, 12))
    for name in ("a.nrrd", "a.nii.gz"):
        write_image(img, tmp_path / name)
        back = read_image(tmp_path / name)
        assert np.allclose(back.GetDirection(), img.GetDirection(), atol=1e-6)
        assert np.allclose(back.GetOrigin(), img.GetOrigin(), atol=1e-4)
        assert np.allclose(back.GetSpacing(), img.GetSpacing(), atol=1e-6)
        assert np.array_equal(sitk.GetArrayViewFromImage(back), sitk.GetArrayViewFromImage(img))
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_dicom_file_and_series():
    single = read_image(DICOM_DIR / "MR_small.dcm")
    assert single.GetSize()[:2] == (64, 64)
    series = list_dicom_series(DICOM_DIR / "dicomdirtests" / "98892003")
    assert len(series) >= 2
    uid, files = max(series.items(), key=lambda kv: len(kv[1]))
    img = read_dicom_series(DICOM_DIR / "dicomdirtests" / "98892003", series_uid=uid)
    assert img.GetSize()[2] == len(files)


def test_dicom_folder_with_several_series_needs_a_choice(tmp_path):
    with pytest.raises(ModicInputError, match="DICOM series") as err:
        read_image(DICOM_DIR / "dicomdirtests" / "98892003", what="T2 image")
    assert "series_uid" in str(err.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModicInputError, match="no DICOM series"):
        read_dicom_series(empty)


def test_missing_and_corrupt_files_are_one_line(tmp_path):
    with pytest.raises(ModicInputError, match="T1 image not found"):
        read_image(tmp_path / "nope.nrrd", what="T1 image")
    bad = tmp_path / "bad.nrrd"
    bad.write_bytes(b"NRRD0004\ntype: float\ngarbage")
    with pytest.raises(ModicInputError, match="cannot read") as err:
        read_image(bad)
    assert "\n" not in str(err.value)
    truncated = tmp_path / "MR_truncated.dcm"
    shutil.copy(DICOM_DIR / "MR_truncated.dcm", truncated)
    with pytest.raises(ModicInputError, match="cannot read"):
        read_image(truncated)


def test_atomic_directory_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "report"
    with pytest.raises(RuntimeError), atomic_directory(out) as tmp:
        write_csv(pd.DataFrame({"a": [1]}), tmp / "a.csv")
        raise RuntimeError("crash in the middle")
    assert not out.exists() and not list(tmp_path.iterdir())
    with atomic_directory(out) as tmp:
        write_csv(pd.DataFrame({"a": [1]}), tmp / "a.csv")
    assert (out / "a.csv").is_file()
    assert (out.stat().st_mode & 0o755) == 0o755


def test_manifest_resolves_paths_and_resamples_shared_mask(tmp_path):
    img = volume(np.zeros((6, 20, 20), np.float32))
    other = volume(np.zeros((6, 30, 30), np.float32), spacing=(0.5, 0.5, 3.5))
    mask_arr = np.zeros((6, 20, 20), np.uint8)
    mask_arr[2:4, 5:15, 5:15] = 1
    write_image(img, tmp_path / "t2.nrrd")
    write_image(other, tmp_path / "fs.nrrd")
    write_image(volume(mask_arr), tmp_path / "mask.nrrd")
    (tmp_path / "m.csv").write_text("case_id,t2,fs,mask,modic_type\nc1,t2.nrrd,fs.nrrd,mask.nrrd,1\n")
    df = read_manifest(tmp_path / "m.csv")
    assert Path(df.loc[0, "t2"]).is_absolute() and df.loc[0, "label"] == 1
    row = df.iloc[0]
    masks = load_case_masks(row, {"T2": read_image(row["t2"]), "FS": read_image(row["fs"])})
    assert masks["FS"].GetSize() == other.GetSize()
    assert int(sitk.GetArrayViewFromImage(masks["T2"]).sum()) == int(mask_arr.sum())
    (tmp_path / "dup.csv").write_text("case_id,t2\nc1,t2.nrrd\nc1,t2.nrrd\n")
    with pytest.raises(ModicInputError, match="duplicate case_id c1"):
        read_manifest(tmp_path / "dup.csv")
    far = volume(mask_arr, origin=(900.0, 900.0, 900.0))
    write_image(far, tmp_path / "far.nrrd")
    (tmp_path / "far.csv").write_text("case_id,t2,mask\nc2,t2.nrrd,far.nrrd\n")
    row = read_manifest(tmp_path / "far.csv").iloc[0]
    with pytest.raises(ModicInputError, match="lies outside the T2 image"):
        load_case_masks(row, {"T2": read_image(row["t2"])})


def test_spreadsheet_exports_with_semicolons_or_tabs_are_read(tmp_path):
    """A European spreadsheet's CSV export (';' between fields, ',' as the decimal mark) and a tab-separated
    export read as the comma-separated original; before, the whole header became one column ('no case_id')."""
    from modic.io import read_csv_table

    df = pd.DataFrame({"case_id": ["a", "b"], "modic_type": [1, 2], "age": [61.5, 47.25], "odi": [12.0, None]})
    df.to_csv(tmp_path / "plain.csv", index=False)
    df.to_csv(tmp_path / "euro.csv", index=False, sep=";", decimal=",")
    df.to_csv(tmp_path / "tabs.tsv", index=False, sep="\t")
    assert "61,5" in (tmp_path / "euro.csv").read_text()
    plain = read_csv_table(tmp_path / "plain.csv")
    for name in ("euro.csv", "tabs.tsv"):
        pd.testing.assert_frame_equal(read_csv_table(tmp_path / name), plain)
    wide = pd.DataFrame({"case_id": ["a"], **{f"T1_wavelet-LLH_glszm_feat_{i:05d}": [i + 0.25] for i in range(3000)}})
    wide.to_csv(tmp_path / "wide.csv", index=False, sep=";", decimal=",")   # header > 64 KB, as a feature table's
    pd.testing.assert_frame_equal(read_csv_table(tmp_path / "wide.csv"), wide)
    (tmp_path / "one.csv").write_text("case_id\na\nb\n")     # a single column has no separator at all
    assert list(read_csv_table(tmp_path / "one.csv")["case_id"]) == ["a", "b"]


def test_probability_map_given_as_mask_is_refused_with_a_hint(tmp_path):
    """A float mask with fractional values (a network's probability map) is not read as label 0 ('labels present:
    []'): one line says what it is and what to do."""
    from modic.segment import import_mask

    prob = np.zeros((6, 20, 20), np.float32)
    prob[2:4, 5:15, 5:15] = 0.8
    ref = volume(np.zeros((6, 20, 20), np.float32))
    sitk.WriteImage(volume(prob), str(tmp_path / "prob.nrrd"))
    with pytest.raises(ModicInputError, match=r"prob.nrrd holds non-integer values \(0.8 …\) — a probability map"):
        import_mask(tmp_path / "prob.nrrd", ref)
    sitk.WriteImage(volume((prob > 0.5).astype(np.float32)), str(tmp_path / "binary_float.nrrd"))   # 0/1 floats
    assert sitk.GetArrayFromImage(import_mask(tmp_path / "binary_float.nrrd", ref)).sum() == 2 * 10 * 10


def test_probability_map_in_a_manifest_is_refused_with_the_case(tmp_path):
    """The same check for masks named in a manifest (`modic extract --manifest`): the case and file are named."""
    prob = np.zeros((6, 20, 20), np.float32)
    prob[2:4, 5:15, 5:15] = 0.7
    img = np.random.default_rng(0).normal(100, 10, (6, 20, 20)).astype(np.float32)
    for name, arr in (("t1.nrrd", img), ("t2.nrrd", img), ("p.nrrd", prob)):
        sitk.WriteImage(volume(arr), str(tmp_path / name))
    row = {"case_id": "c1", "t1": str(tmp_path / "t1.nrrd"), "t2": str(tmp_path / "t2.nrrd"),
           "mask": str(tmp_path / "p.nrrd")}
    images = {"T1": read_image(row["t1"]), "T2": read_image(row["t2"])}
    with pytest.raises(ModicInputError, match=r"case c1 mask .*p.nrrd holds non-integer values \(0.7 …\)"):
        load_case_masks(row, images)


def test_manifest_row_naming_one_file_for_two_sequences_is_refused(tmp_path):
    from modic.manifest import load_case_images

    img = np.random.default_rng(1).normal(100, 10, (6, 20, 20)).astype(np.float32)
    sitk.WriteImage(volume(img), str(tmp_path / "t2.nrrd"))
    row = pd.Series({"case_id": "c7", "t1": str(tmp_path / "t2.nrrd"), "t2": str(tmp_path / "." / "t2.nrrd")})
    with pytest.raises(ModicInputError, match="case c7: columns t1 and t2 name the same image"):
        load_case_images(row)
