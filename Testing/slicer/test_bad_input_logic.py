"""The Slicer logic follows the command line's output rules and raises its one-line messages (ValueError, shown
in one error dialog by tryWithErrorDisplay); tested on headless MRML from slicer-core."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from ModicAnalysisLib import conversion
from ModicAnalysisLib.logic import ModicAnalysisCaseLogic
from ModicCohortStatsLib.logic import ModicCohortStatsLogicCore
from mrml_helpers import make_image

from modic.errors import ModicInputError


def _hashes(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "d"
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def cohort_tables(tmp_path):
    rng = np.random.default_rng(0)
    types = np.repeat([1, 2, 3], 4)
    ids = [f"c{i}" for i in range(len(types))]
    feats = pd.DataFrame({"case_id": ids, "T2_original_firstorder_Mean": rng.normal(size=12) + types})
    for name in ("Elongation", "Flatness", "Sphericity"):
        feats[f"T2_original_shape_{name}"] = rng.uniform(0.5, 1.0, 12)
    f, m = tmp_path / "features.csv", tmp_path / "manifest.csv"
    feats.to_csv(f, index=False)
    pd.DataFrame({"case_id": ids, "modic_type": types}).to_csv(m, index=False)
    return f, m


def test_statistics_refuse_a_folder_of_user_files(scene, tmp_path, cohort_tables, monkeypatch):
    from modic.cli import main

    features, manifest = cohort_tables
    study = tmp_path / "study"
    study.mkdir()
    (study / "notes.txt").write_text("mine")
    before = _hashes(tmp_path)
    logic = ModicCohortStatsLogicCore(scene)
    with pytest.raises(ValueError) as err:
        logic.runStatistics(str(features), str(manifest), str(study))
    assert isinstance(err.value, ModicInputError) and "holds files modic did not write" in str(err.value)
    import io
    import sys

    stderr = io.StringIO()  # the same text as the command line
    monkeypatch.setattr(sys, "stderr", stderr)
    assert main(["stats", "--features", str(features), "--manifest", str(manifest), "--out", str(study)]) == 2
    assert stderr.getvalue().strip() == f"modic stats: error: {err.value}"
    with pytest.raises(ValueError, match="contains the input"):
        logic.runStatistics(str(features), str(manifest), str(tmp_path))
    monkeypatch.chdir(study)
    with pytest.raises(ValueError, match="current folder"):
        logic.runStatistics(str(features), str(manifest), ".")
    assert _hashes(tmp_path) == before and scene.GetNumberOfNodesByClass("vtkMRMLTableNode") == 0


def test_extraction_and_table_export_never_replace_user_files(scene, tmp_path):
    user = tmp_path / "features.csv"
    user.write_text("my own table\n")
    (tmp_path / "m.csv").write_text("case_id,t2,mask\na,t2.nrrd,mask.nrrd\n")
    logic = ModicCohortStatsLogicCore(scene)
    with pytest.raises(ValueError, match="was not written by modic"):
        logic.runExtraction(str(tmp_path / "m.csv"), str(user))
    table = scene.AddNewNodeByClass("vtkMRMLTableNode", "t")
    from ModicAnalysisLib import tables

    tables.featuresToTableNode({"T2_original_firstorder_Mean": 1.5}, table, "a")
    with pytest.raises(ValueError, match="was not written by modic"):
        ModicAnalysisCaseLogic.writeTable(table, user)
    assert user.read_text() == "my own table\n"
    out = tmp_path / "export.csv"
    ModicAnalysisCaseLogic.writeTable(table, out)
    ModicAnalysisCaseLogic.writeTable(table, out)  # modic's own file: replaced
    assert pd.read_csv(out)["T2_original_firstorder_Mean"].tolist() == [1.5]
    ModicAnalysisCaseLogic.writeTable(table, user, overwrite=True)
    assert "T2_original_firstorder_Mean" in user.read_text()


def test_case_logic_refuses_nan_and_constant_volumes(scene):
    logic = ModicAnalysisCaseLogic(scene)
    arr = np.full((12, 40, 30), np.nan, np.float32)
    image = make_image()
    nan = sitk.GetImageFromArray(arr)
    nan.CopyInformation(image)
    node = conversion.addVolumeFromSitkImage(scene, nan, "T2")
    seed = image.TransformIndexToPhysicalPoint((15, 20, 6))
    with pytest.raises(ValueError, match="no finite value"):
        logic.segment({"T2": node}, seedPointLps=seed)
    with pytest.raises(ValueError, match="no finite value"):
        logic.analyzeCase({"T2": node}, seedPointLps=seed)
    const = sitk.GetImageFromArray(np.full((12, 40, 30), 3.0, np.float32))
    const.CopyInformation(image)
    node2 = conversion.addVolumeFromSitkImage(scene, const, "T2 constant")
    with pytest.raises(ValueError, match="constant"):
        logic.segment({"T2": node2}, seedPointLps=seed)
    assert scene.GetNumberOfNodesByClass("vtkMRMLSegmentationNode") == 0


def test_implausible_segmentation_is_marked_on_the_node(scene):
    rng = np.random.default_rng(1)
    shape = (12, 120, 120)
    kk, jj, ii = np.mgrid[: shape[0], : shape[1], : shape[2]]
    arr = rng.normal(100, 8, shape).astype(np.float32)
    arr[((kk - 5.5) / 5.5) ** 2 + ((jj - 59.5) / 75) ** 2 + ((ii - 59.5) / 75) ** 2 < 1] += 200
    image = sitk.GetImageFromArray(arr)
    image.CopyInformation(make_image(shape))
    node = conversion.addVolumeFromSitkImage(scene, image, "T2")
    seed = image.TransformContinuousIndexToPhysicalPoint((59.5, 59.5, 5.5))
    segmentationNode = ModicAnalysisCaseLogic(scene).segment({"T2": node}, seedPointLps=seed)
    assert segmentationNode.GetAttribute("ModicAnalysis.Plausible") == "false"
    assert "larger than a Modic lesion" in segmentationNode.GetAttribute("ModicAnalysis.PlausibilityReasons")
