"""ModicAnalysisLib.detection.findModicChanges on real MRML (slicer-core): segments, table, jump-to-lesion."""

import numpy as np
import pytest
import SimpleITK as sitk
from ModicAnalysisLib import conversion, detection
from ModicAnalysisLib.tables import tableNodeToDataFrame

from modic.detect import LESION_COLUMNS
from modic.phantom.anatomy import spine_from_phantom_anatomy
from modic.phantom.synth import make_case


@pytest.fixture(scope="module")
def case():
    """Type I lesion on L4 inferior (L4-L5), FS on its own grid; sagittal, tilted, anisotropic grids."""
    return make_case("slicer_det", "I", seed=5, index=1, fs_differs=True)


def test_find_modic_changes_makes_named_segments_and_table(scene, case):
    nodes = {seq: conversion.addVolumeFromSitkImage(scene, img, seq) for seq, img in case.images.items()}
    spine = spine_from_phantom_anatomy(case.anatomy)
    result = detection.findModicChanges(scene, nodes, spine=spine, caseId="P01", segment=False)
    assert list(result.lesions.columns) == list(LESION_COLUMNS) and len(result.lesions) == 1
    segmentation = result.segmentationNode.GetSegmentation()
    assert segmentation.GetNumberOfSegments() == 1
    assert result.segmentName(0) == "L4 inferior – Modic I"
    # the segment holds the lesion: exported onto the T2 grid it overlaps the truth (Dice)
    mask = conversion.labelMapFromSegment(scene, result.segmentationNode, result.segmentIds[0], nodes["T2"])
    truth = sitk.GetArrayViewFromImage(case.masks["T2"]) > 0
    got = sitk.GetArrayViewFromImage(mask) > 0
    assert 2 * (got & truth).sum() / (got.sum() + truth.sum()) >= 0.8
    # the table node has the lesions.csv columns, typed
    table = tableNodeToDataFrame(result.tableNode)
    assert list(table.columns) == list(LESION_COLUMNS)
    assert table.loc[0, "endplate"] == "L4 inferior" and table.loc[0, "modic_type"] == "I"
    assert int(table.loc[0, "label"]) == 1 and table["volume_mm3"].dtype.kind == "f"
    # jump target: RAS point inside the true lesion (x, y negated from LPS)
    r, a, s = result.lesionCenterRAS(0)
    idx = case.masks["T2"].TransformPhysicalPointToIndex((-r, -a, s))
    assert case.masks["T2"][idx] == 1
    with pytest.raises(IndexError):
        result.lesionCenterRAS(1)
    # running again refills the same nodes instead of adding segments
    again = detection.findModicChanges(scene, nodes, spine=spine, segmentationNode=result.segmentationNode,
                                       tableNode=result.tableNode, segment=False)
    assert again.segmentationNode.GetSegmentation().GetNumberOfSegments() == 1
    assert np.isclose(again.lesions["volume_mm3"].iloc[0], result.lesions["volume_mm3"].iloc[0])


def test_find_modic_changes_needs_two_sequences(scene, case):
    nodes = {"T2": conversion.addVolumeFromSitkImage(scene, case.images["T2"], "T2"), "T1": None}
    with pytest.raises(ValueError, match="two or more"):
        detection.findModicChanges(scene, nodes)
