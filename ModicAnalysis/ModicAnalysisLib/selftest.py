"""Checks shared by the Slicer self-test (ModicAnalysisTest) and the headless pytest suites.

Each function builds its own data (synthetic images or core phantoms, no network), runs the module
logic on the given scene and returns the numbers the tests assert on.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import SimpleITK as sitk

from ModicAnalysisLib import conversion, tables
from ModicAnalysisLib.logic import CaseNodes, ModicAnalysisCaseLogic

SAGITTAL_DIRECTION_LPS = (0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0)


def syntheticImage(shapeKji=(12, 40, 30), spacing=(0.7, 0.7, 3.5), originLps=(12.5, -40.25, 101.0),
                   seed: int = 0) -> sitk.Image:
    """Random float32 image on a sagittal, anisotropic, off-origin grid (LPS)."""
    array = np.random.default_rng(seed).normal(100.0, 20.0, size=shapeKji).astype(np.float32)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(originLps)
    image.SetDirection(SAGITTAL_DIRECTION_LPS)
    return image


def dice(a: sitk.Image, b: sitk.Image) -> float:
    """Dice overlap of two binary masks on the same grid."""
    x = sitk.GetArrayViewFromImage(a) > 0
    y = sitk.GetArrayViewFromImage(b) > 0
    total = int(x.sum() + y.sum())
    return 1.0 if total == 0 else 2.0 * int(np.logical_and(x, y).sum()) / total


def checkGeometryRoundTrip(scene) -> dict:
    """Volume node ⇄ SimpleITK and segmentation ⇄ label map round trips on a sagittal grid."""
    image = syntheticImage()
    node = conversion.addVolumeFromSitkImage(scene, image, "RoundTrip T2")
    back = conversion.volumeNodeToSitkImage(node)
    volumeExact = (back.GetOrigin() == image.GetOrigin() and back.GetSpacing() == image.GetSpacing()
                   and back.GetDirection() == image.GetDirection()
                   and np.array_equal(sitk.GetArrayViewFromImage(back), sitk.GetArrayViewFromImage(image)))
    mask = sitk.Cast(sitk.BinaryThreshold(sitk.SmoothingRecursiveGaussian(image, 1.5), 101.0, 1e9), sitk.sitkUInt8)
    segmentationNode = conversion.segmentationFromLabelMaps(scene, {"T2": mask})
    exported = conversion.labelMapsFromSegmentation(scene, segmentationNode, {"T2": node})["T2"]
    segmentationExact = (exported.GetOrigin() == mask.GetOrigin() and np.array_equal(
        sitk.GetArrayViewFromImage(exported), sitk.GetArrayViewFromImage(mask)))
    return {"volumeExact": bool(volumeExact), "segmentationExact": bool(segmentationExact),
            "maskVoxels": int(sitk.GetArrayViewFromImage(mask).sum())}


def checkFeatureTable(scene) -> dict:
    """A small feature row → typed table node; reports column classes and properties."""
    features = {"T2_original_shape_VoxelVolume": 12416.0, "T2_original_shape_Sphericity": 0.438,
                "T1_original_firstorder_Mean": 101.5, "FS_wavelet-LLH_firstorder_90Percentile": 7.0}
    tableNode = scene.AddNewNodeByClass("vtkMRMLTableNode", "SelfTest features")
    tables.featuresToTableNode(features, tableNode, "selftest")
    table = tableNode.GetTable()
    names = [table.GetColumnName(i) for i in range(table.GetNumberOfColumns())]
    return {"numberOfFeatures": len(features), "numberOfColumns": table.GetNumberOfColumns(),
            "allDouble": all(table.GetColumnByName(n).GetClassName() == "vtkDoubleArray" for n in features),
            "caseColumnClass": table.GetColumn(0).GetClassName(), "names": names,
            "volumeUnit": tableNode.GetColumnUnitLabel("T2_original_shape_VoxelVolume"),
            "volumeDescription": tableNode.GetColumnDescription("T2_original_shape_VoxelVolume")}


def loadPhantomCase(scene, modicType: int = 1, seed: int = 7, caseId: str = "phantom"):
    """Core phantom case as volume nodes ("<caseId> T1", ...) plus a point list on the seed (RAS)."""
    from modic.phantom import make_case

    phantom = make_case(caseId, modicType, seed)
    volumeNodes = {seq: conversion.addVolumeFromSitkImage(scene, image, f"{caseId} {seq}")
                   for seq, image in phantom.images.items()}
    points = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", f"{caseId} lesion point")
    conversion.setMarkupsPointLps(points, phantom.seed_lps)
    return volumeNodes, points, phantom


def analyzePhantomCase(scene, modicType: int = 1, seed: int = 7, params: str | Mapping | None = None,
                       modelPath: str | None = "default", progress=None) -> dict:
    """End to end on a phantom: Analyse all from the point; Dice vs ground truth, table, typing."""
    from ModicAnalysisLib.core import defaultModelPath

    volumeNodes, points, phantom = loadPhantomCase(scene, modicType, seed)
    if modelPath == "default":
        modelPath = defaultModelPath()
    logic = ModicAnalysisCaseLogic(scene)
    result: CaseNodes = logic.analyzeCase(volumeNodes, seedMarkupsNode=points, modelPath=modelPath,
                                          params=params, caseId=phantom.case_id, progress=progress)
    masks = logic.masksFromSegmentation(result.segmentationNode, volumeNodes)
    table = result.tableNode.GetTable()
    return {"dice": {seq: dice(masks[seq], phantom.masks[seq]) for seq in volumeNodes},
            "numberOfFeatures": len(result.analysis.features),
            "numberOfColumns": table.GetNumberOfColumns(),
            "numberOfSegments": result.segmentationNode.GetSegmentation().GetNumberOfSegments(),
            "signalType": result.analysis.signalType, "signalCode": result.analysis.signalCode,
            "predictedType": result.analysis.predictedType,
            "probabilities": result.analysis.probabilities, "trueType": phantom.modic_type,
            "result": result}


#: The checks ModicAnalysisTest runs in Slicer, in order (each gets the unittest.TestCase and the scene).
SELF_TESTS = ("testGeometryRoundTrip", "testTableNode", "testAnalyzePhantomCase")


def testGeometryRoundTrip(test, scene) -> None:
    report = checkGeometryRoundTrip(scene)
    test.assertTrue(report["volumeExact"])
    test.assertTrue(report["segmentationExact"])


def testTableNode(test, scene) -> None:
    report = checkFeatureTable(scene)
    test.assertEqual(report["numberOfColumns"], report["numberOfFeatures"] + 1)
    test.assertTrue(report["allDouble"])
    test.assertEqual(report["volumeUnit"], "mm3")


def testAnalyzePhantomCase(test, scene) -> None:
    report = analyzePhantomCase(scene, modicType=1, seed=7)
    for seq, value in report["dice"].items():
        test.assertGreaterEqual(value, 0.8, f"Dice {seq}")
    test.assertEqual(report["numberOfColumns"], report["numberOfFeatures"] + 1)
    test.assertGreater(report["numberOfFeatures"], 100)
    test.assertEqual(report["signalCode"], report["trueType"])
    test.assertEqual(report["predictedType"], str(report["trueType"]))
