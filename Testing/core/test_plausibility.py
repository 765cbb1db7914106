"""modic.plausibility: a runaway one-click segmentation is flagged (too large, on the search limit, outside
the vertebral marrow, scattered), a lesion-sized one is not; the flag reaches segmentation.json, the
warning line, CaseResult.segmentation and the batch's error list."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import SimpleITK as sitk

from modic.errors import ModicWarning
from modic.geometry import sagittal_direction
from modic.plausibility import BODY_LABELS, assess_segmentation

SPACING = (0.7, 0.7, 3.5)


def _img(arr, spacing=SPACING):
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(spacing)
    img.SetOrigin((5.0, -60.0, -40.0))
    img.SetDirection(sagittal_direction())
    return img


def _centre_lps(img):
    size = np.asarray(img.GetSize())
    return img.TransformContinuousIndexToPhysicalPoint(((size - 1) / 2).tolist())


def _ellipsoid(shape, radii_vox, centre=None):
    kk, jj, ii = np.mgrid[: shape[0], : shape[1], : shape[2]]
    c = [(n - 1) / 2 for n in shape] if centre is None else centre
    return ((kk - c[0]) / radii_vox[0]) ** 2 + ((jj - c[1]) / radii_vox[1]) ** 2 + \
        ((ii - c[2]) / radii_vox[2]) ** 2 < 1


INFO = {"search_mm": 45.0, "max_extent_mm": 40.0}


def test_lesion_sized_mask_is_plausible():
    shape = (12, 140, 140)
    m = _img(_ellipsoid(shape, (2.5, 12, 18)).astype(np.uint8))  # ~ 16 x 25 x 17 mm, 3.6 mL
    a = assess_segmentation(m, _centre_lps(m), INFO)
    assert a["plausible"] and a["reasons"] == []
    assert a["measures"]["boundary_fraction"] == 0.0 and a["measures"]["large_components"] == 1
    assert 2.5 < a["measures"]["volume_ml"] < 5.0


def test_runaway_mask_is_flagged_for_size_and_search_limit():
    shape = (14, 140, 140)
    m = _img(_ellipsoid(shape, (6.5, 80, 80)).astype(np.uint8))  # fills the search box: > 100 mL
    a = assess_segmentation(m, _centre_lps(m), INFO)
    assert not a["plausible"]
    text = " ".join(a["reasons"])
    assert "larger than a Modic lesion can be" in text and "search limit" in text
    assert a["measures"]["volume_ml"] > 40 and a["measures"]["boundary_fraction"] > 0.02


def test_scattered_mask_is_flagged():
    arr = np.zeros((12, 140, 140), np.uint8)
    for n in range(7):
        arr[4:8, 20 + 15 * n:28 + 15 * n, 60:70] = 1
    m = _img(arr)
    a = assess_segmentation(m, _centre_lps(m), INFO)
    assert a["measures"]["large_components"] == 7 and any("scattered" in r for r in a["reasons"])


def test_outside_marrow_needs_a_spine_label_map():
    shape = (12, 140, 140)
    lesion = _ellipsoid(shape, (2.5, 12, 18))
    m = _img(lesion.astype(np.uint8))
    labels = np.zeros(shape, np.uint8)
    labels[:, :, :70] = 16  # L4 marrow covers half the grid; the lesion straddles it
    labels[:, :, 70:] = 76  # L4-L5 disc
    a = assess_segmentation(m, _centre_lps(m), INFO, spine=_img(labels))
    assert a["measures"]["marrow_fraction"] == pytest.approx(0.5, abs=0.06)
    labels[:, :, :] = 76
    b = assess_segmentation(m, _centre_lps(m), INFO, spine=_img(labels))
    assert not b["plausible"] and "vertebral marrow" in b["reasons"][0] and b["measures"]["marrow_fraction"] == 0
    labels[:, :, :] = 56  # inferior endplate zone of L4 counts as marrow
    assert assess_segmentation(m, _centre_lps(m), INFO, spine=_img(labels))["plausible"]
    assert 56 in BODY_LABELS and 76 not in BODY_LABELS


def _fluid_case(tmp_path):
    """A T2 image whose seed sits in a bright region filling the whole search area (fluid-like)."""
    rng = np.random.default_rng(1)
    shape = (12, 120, 120)
    arr = rng.normal(100, 8, shape).astype(np.float32)
    arr[_ellipsoid(shape, (5.5, 75, 75))] += 200
    img = _img(arr)
    path = tmp_path / "t2.nrrd"
    sitk.WriteImage(img, str(path))
    return img, path


def test_cli_segment_writes_the_flag_and_warns(tmp_path, capsys):
    from modic.cli import main

    img, path = _fluid_case(tmp_path)
    seed = ";".join(f"{v:.2f}" for v in _centre_lps(img))
    labels = np.full(sitk.GetArrayViewFromImage(img).shape, 76, np.uint8)  # the L4-L5 disc almost everywhere,
    labels[:, :, :2] = 16  # L4 marrow only at the image edge, far from the seed
    sitk.WriteImage(_img(labels), str(tmp_path / "spine.nrrd"))
    assert main(["segment", "--t2", str(path), f"--seed-lps={seed}", "--spine", str(tmp_path / "spine.nrrd"),
                 "--out", str(tmp_path / "seg")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("modic segment: warning: the segmentation does not look like")
    info = json.loads((tmp_path / "seg" / "segmentation.json").read_text())
    assert info["plausible"] is False and info["plausibility"]["measures"]["volume_ml"] > 40
    assert any("larger than" in r for r in info["plausibility"]["reasons"])
    assert info["plausibility"]["measures"]["marrow_fraction"] == 0.0


def test_pipeline_flags_and_warns(tmp_path):
    from modic.pipeline import analyze_case

    img, _ = _fluid_case(tmp_path)
    params = {"imageType": {"Original": {}}, "featureClass": {"shape": ["VoxelVolume"]}, "setting": {"binWidth": 25}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = analyze_case({"T2": img}, seed_lps=_centre_lps(img), params=params)
    assert res.segmentation["plausible"] is False
    assert [w for w in caught if issubclass(w.category, ModicWarning)]
    assert res.summary()["segmentation"]["plausibility"]["reasons"]
