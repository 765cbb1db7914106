"""ModicAnalysis logic end to end on real MRML (slicer-core) with core phantoms.

The phantom case goes through the same code as the Slicer self-test (ModicAnalysisLib.selftest).
"""

import numpy as np
import pytest
import SimpleITK as sitk
from ModicAnalysisLib import core, dependencies, selftest
from ModicAnalysisLib.logic import ModicAnalysisCaseLogic


def test_dependency_check_installs_nothing_when_satisfied():
    assert dependencies.missingRequirements() == []
    calls = []
    assert dependencies.ensureDependencies(calls.append, lambda text: pytest.fail("must not ask"))
    assert calls == []


def test_dependency_check_asks_before_installing(monkeypatch):
    monkeypatch.setattr(dependencies, "REQUIREMENTS", ("surely-not-installed-pkg>=1",))
    installed = []
    assert not dependencies.ensureDependencies(installed.append, lambda text: False)
    assert installed == []
    dependencies.ensureDependencies(installed.append, lambda text: "surely-not-installed-pkg" in text)
    assert installed == [["surely-not-installed-pkg>=1"]]


def test_core_result_translation():
    import pandas as pd

    class Signal:
        modic_type = "II/III"
        modic_code = 2
        ratios = {"T1": 1.3, "T2": 1.05}

    class Result:
        masks = {"T2": sitk.Image(2, 2, 2, sitk.sitkUInt8)}
        features = {"T2_original_shape_Sphericity": 0.4}
        signal_pattern = Signal()
        prediction = pd.DataFrame({"predicted_type": [2], "p_type1": [0.1], "p_type2": [0.8], "p_type3": [0.1]})

    analysis = core.fromCoreResult(Result(), "m.skops")
    assert analysis.signalType == "II/III" and analysis.signalCode == 2
    assert analysis.predictedType == "2"
    assert analysis.probabilities == {"1": 0.1, "2": 0.8, "3": 0.1}
    assert core.typeCode("III") == 3 and core.typeCode(1) == 1 and core.typeCode(None) is None


def test_cancel_raises_from_inside(scene):
    report = core._checkedProgress(lambda fraction, message: fraction < 0.5)
    assert report(0.1, "ok")
    with pytest.raises(core.AnalysisCancelled):
        report(0.6, "stop")


def test_inputs_are_checked(scene):
    logic = ModicAnalysisCaseLogic(scene)
    with pytest.raises(ValueError, match="at least one input volume"):
        logic.analyzeCase({"T1": None, "T2": None})
    volume = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "T2")
    from ModicAnalysisLib import conversion

    conversion.sitkImageToVolumeNode(selftest.syntheticImage(), volume)
    with pytest.raises(ValueError, match="point on the lesion"):
        logic.analyzeCase({"T2": volume})


def test_phantom_masks_survive_the_scene(scene):
    """Core phantom (sagittal, tilted, 0.67 x 0.67 x 3.4 mm) → volume nodes → segmentation → masks: exact."""
    volumeNodes, points, phantom = selftest.loadPhantomCase(scene, modicType=2, seed=3)
    logic = ModicAnalysisCaseLogic(scene)
    images = logic.imagesFromVolumes(volumeNodes)
    for seq, image in phantom.images.items():
        assert images[seq].GetDirection() == image.GetDirection()
        assert np.array_equal(sitk.GetArrayViewFromImage(images[seq]), sitk.GetArrayViewFromImage(image))
    assert logic.seedPointLps(points) == pytest.approx(phantom.seed_lps, abs=1e-9)
    from ModicAnalysisLib import conversion

    segmentationNode = conversion.segmentationFromLabelMaps(scene, phantom.masks)
    back = logic.masksFromSegmentation(segmentationNode, volumeNodes)
    for seq in phantom.masks:
        assert selftest.dice(back[seq], phantom.masks[seq]) == 1.0


def test_segment_from_point_matches_phantom(scene):
    volumeNodes, points, phantom = selftest.loadPhantomCase(scene, modicType=1, seed=7)
    logic = ModicAnalysisCaseLogic(scene)
    segmentationNode = logic.segment(volumeNodes, seedMarkupsNode=points)
    segmentation = segmentationNode.GetSegmentation()
    assert {segmentation.GetNthSegment(i).GetName() for i in range(segmentation.GetNumberOfSegments())} == \
        {"Modic lesion (T1)", "Modic lesion (T2)", "Modic lesion (FS)"}
    masks = logic.masksFromSegmentation(segmentationNode, volumeNodes)
    for seq in volumeNodes:
        assert selftest.dice(masks[seq], phantom.masks[seq]) >= 0.8, seq


def test_analyze_phantom_case_end_to_end(scene):
    """Same path as ModicAnalysisTest.test_AnalyzePhantomCase (needs modic.pipeline and the demo model)."""
    report = selftest.analyzePhantomCase(scene, modicType=1, seed=7)
    for seq, value in report["dice"].items():
        assert value >= 0.8, seq
    assert report["numberOfSegments"] == 3
    assert report["numberOfColumns"] == report["numberOfFeatures"] + 1
    assert report["numberOfFeatures"] > 100
    assert report["signalCode"] == report["trueType"]
    assert report["predictedType"] == str(report["trueType"])
    assert sum(report["probabilities"].values()) == pytest.approx(1.0, abs=1e-6)
    table = report["result"].tableNode
    assert table.GetAttribute("ModicAnalysis.PredictedType") == "1"
    assert all(table.GetTable().GetColumn(i).GetClassName() == "vtkDoubleArray"
               for i in range(1, table.GetNumberOfColumns()))
