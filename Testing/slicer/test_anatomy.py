"""Find vertebrae on real MRML (slicer-core): named body/disc segments and level markups in RAS."""

import numpy as np
import pytest
import vtk
from ModicAnalysisLib import anatomy, conversion


@pytest.fixture(scope="module")
def phantom_case():
    from modic.phantom import case_spec, synthesize

    return synthesize(case_spec(0, 0, 1))


def test_find_vertebrae_segments_and_levels(scene, phantom_case):
    from modic.phantom.anatomy import spine_from_phantom_anatomy

    nodes = {seq: conversion.addVolumeFromSitkImage(scene, phantom_case.images[seq], seq) for seq in ("T1", "T2")}
    result = anatomy.findVertebrae(scene, nodes)
    segmentation = result.segmentationNode.GetSegmentation()
    names = [segmentation.GetNthSegment(i).GetName() for i in range(segmentation.GetNumberOfSegments())]
    bodies = [v.level for v in result.spine.vertebrae()]
    assert len(bodies) >= 4
    assert set(bodies) <= set(names)
    assert any("-" in n for n in names)  # discs are segments too, e.g. "L3-L4"
    tag = vtk.reference("")
    assert segmentation.GetSegment(result.segmentIds[bodies[0]]).GetTag("ModicStructure", tag)
    assert str(tag) == "vertebra"
    # one control point per level, labelled with its name, at the body centroid in RAS
    levels = result.levelsNode
    assert levels.GetNumberOfControlPoints() == len(bodies)
    truth = spine_from_phantom_anatomy(phantom_case.anatomy)
    for i in range(levels.GetNumberOfControlPoints()):
        ras = [0.0, 0.0, 0.0]
        levels.GetNthControlPointPositionWorld(i, ras)
        label = levels.GetNthControlPointLabel(i)
        lps = np.array(conversion.rasToLps(ras))
        assert np.allclose(lps, result.spine.structure(label).centroid_lps, atol=1e-6)
        # the centroid of the parsed body lies within 10 mm of the ground-truth body of that level
        assert np.linalg.norm(lps - np.array(truth.structure(label).centroid_lps)) < 10.0
    # rerunning into the same nodes replaces their content
    again = anatomy.findVertebrae(scene, nodes, result.segmentationNode, result.levelsNode)
    assert again.segmentationNode is result.segmentationNode
    assert again.segmentationNode.GetSegmentation().GetNumberOfSegments() == len(names)
    assert again.levelsNode.GetNumberOfControlPoints() == len(bodies)


def test_find_vertebrae_needs_a_volume(scene):
    with pytest.raises(ValueError, match="at least one"):
        anatomy.findVertebrae(scene, {})


def test_find_vertebrae_on_an_image_without_a_spine_says_so_and_adds_nothing(scene):
    """Noise holds no column of vertebral bodies: one clear error (the module shows it in a dialog), no empty
    segmentation or markups left in the scene."""
    import SimpleITK as sitk

    noise = sitk.GetImageFromArray(np.random.default_rng(0).normal(100, 10, (12, 80, 80)).astype(np.float32))
    nodes = {"T2": conversion.addVolumeFromSitkImage(scene, noise, "NOISE")}
    before = scene.GetNumberOfNodes()
    with pytest.raises(ValueError, match="no vertebral bodies found in NOISE"):
        anatomy.findVertebrae(scene, nodes)
    assert scene.GetNumberOfNodes() == before


def test_batch_console_spine(scene, phantom_case, tmp_path, capsys):
    import importlib.util
    import sys
    from pathlib import Path

    import SimpleITK as sitk

    script = Path(__file__).resolve().parents[2] / "ModicAnalysis/Resources/Scripts/slicer_batch.py"
    spec = importlib.util.spec_from_file_location("slicer_batch_spine", script)
    batch = importlib.util.module_from_spec(spec)
    sys.modules["slicer_batch_spine"] = batch
    spec.loader.exec_module(batch)
    path = tmp_path / "T2.nrrd"
    sitk.WriteImage(phantom_case.images["T2"], str(path))
    out = tmp_path / "spine"
    assert batch.main(["--", "spine", "--image", f"T2={path}", "--out", str(out)], scene=scene) == 0
    printed = capsys.readouterr().out
    assert "vertebral bodies (" in printed and ("anchored on the sacrum" in printed or "UNCERTAIN" in printed)
    assert {p.name for p in out.iterdir()} == {"spine.csv", "spine.json", "spine_labels.nrrd", "spine_overview.png",
                                              ".modic-outputs.json"}
    assert scene.GetFirstNodeByName("Vertebral levels").GetNumberOfControlPoints() >= 4
    assert batch.main(["spine", "--image", str(tmp_path / "missing.nrrd")], scene=scene) == 2
