"""`--params` semantics: with the user's own PyRadiomics parameter file and no --normalization, the values are
exactly `RadiomicsFeatureExtractor(file).execute(image, mask)`'s — the file's `normalize` setting governs; modic's
own normalisation happens only when asked for. (On PyRadiomics' breast1 test case and its Params.yaml, glcm
ClusterShade is -0.016711 both ways; the old default z-score gave -10.99 — see benchmarks/params_semantics.md.)"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml

from modic.cli import main
from modic.geometry import sagittal_direction


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    root = tmp_path_factory.mktemp("params")
    rng = np.random.default_rng(4)
    shape = (8, 40, 40)
    kk, jj, ii = np.mgrid[: shape[0], : shape[1], : shape[2]]
    lesion = (((kk - 3.5) / 3) ** 2 + ((jj - 20) / 10) ** 2 + ((ii - 19) / 12) ** 2) < 1
    arr = rng.normal(300.0, 40.0, shape).astype(np.float32) + 120.0 * lesion
    for name, a in (("image.nrrd", arr), ("mask.nrrd", lesion.astype(np.uint8))):
        img = sitk.GetImageFromArray(a)
        img.SetSpacing((0.7, 0.7, 3.5))
        img.SetOrigin((3.0, -20.0, 50.0))
        img.SetDirection(sagittal_direction())
        sitk.WriteImage(img, str(root / name))
    params = {"imageType": {"Original": {}}, "featureClass": {"firstorder": None, "glcm": None, "shape": None},
              "setting": {"binWidth": 10, "label": 1}}
    for normalize in (False, True):
        p = dict(params, setting={**params["setting"], "normalize": normalize})
        (root / f"params_{normalize}.yaml").write_text(yaml.safe_dump(p))
    return root


def _pyradiomics(root, params_file):
    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    res = featureextractor.RadiomicsFeatureExtractor(str(params_file)).execute(str(root / "image.nrrd"),
                                                                              str(root / "mask.nrrd"))
    return {f"T2_{k}": float(v) for k, v in res.items() if not k.startswith("diagnostics")}


@pytest.mark.parametrize("normalize", [False, True])
def test_own_params_give_pyradiomics_values(case, tmp_path, normalize):
    params = case / f"params_{normalize}.yaml"
    out = tmp_path / "f.csv"
    assert main(["extract", "--t2", str(case / "image.nrrd"), "--mask-t2", str(case / "mask.nrrd"),
                 "--params", str(params), "--out", str(out)]) == 0
    got = pd.read_csv(out).iloc[0]
    ref = _pyradiomics(case, params)
    assert len(ref) > 50 and all(got[k] == v for k, v in ref.items())
    assert got["T2_original_glcm_ClusterShade"] == ref["T2_original_glcm_ClusterShade"]


def test_modic_normalisation_only_when_asked(case, tmp_path):
    params = case / "params_False.yaml"
    out = tmp_path / "z.csv"
    assert main(["extract", "--t2", str(case / "image.nrrd"), "--mask-t2", str(case / "mask.nrrd"),
                 "--params", str(params), "--normalization", "zscore-image", "--out", str(out)]) == 0
    got, ref = pd.read_csv(out).iloc[0], _pyradiomics(case, params)
    assert got["T2_original_firstorder_Mean"] != pytest.approx(ref["T2_original_firstorder_Mean"], rel=0.1)
    assert got["T2_original_shape_VoxelVolume"] == ref["T2_original_shape_VoxelVolume"]


def test_api_default_follows_the_same_rule(case):
    from modic.pipeline import analyze_case, default_normalization

    assert default_normalization(None) == "zscore-image"
    assert default_normalization(str(case / "params_True.yaml")) == "none"
    images = {"T2": sitk.ReadImage(str(case / "image.nrrd"))}
    res = analyze_case(images, masks={"T2": sitk.ReadImage(str(case / "mask.nrrd"))},
                       params=str(case / "params_True.yaml"))
    assert res.normalization["method"] == "none"
    ref = _pyradiomics(case, case / "params_True.yaml")
    assert all(res.features[k] == v for k, v in ref.items())
