"""Find vertebrae: the headless core's spine parser (`modic.spine.parse_spine`) on MRML volume nodes.

`findVertebrae(scene, volumeNodes)` returns a segmentation node with one named segment per vertebral body
("L4", whole body including its endplate zones) and per disc ("L4-L5"), and a markups point list with one
control point per level at the body centroid (RAS), labelled with the level name. Runs on any vtkMRMLScene.
The module shows the result's `spine.naming_summary()` after it: the levels found and whether their names are
anchored on the sacrum, or why not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SEGMENTATION_NAME = "Spine anatomy"
LEVELS_NAME = "Vertebral levels"
BODY_COLOR = (0.89, 0.85, 0.55)
DISC_COLOR = (0.35, 0.62, 0.95)


@dataclass
class AnatomyResult:
    """Nodes added to the scene and the core `Spine` (labels on the first volume's grid, LPS)."""

    segmentationNode: Any
    levelsNode: Any
    spine: Any
    segmentIds: dict[str, str]          # structure name ("L4", "L4-L5") → segment id


def _bodyColor(index: int) -> tuple[float, float, float]:
    shade = 0.85 + 0.15 * (index % 2)   # alternate shades so neighbouring bodies stay distinguishable
    return tuple(c * shade for c in BODY_COLOR)


def findVertebrae(scene, volumeNodes: Mapping[str, Any], segmentationNode=None, levelsNode=None,
                  randomState: int = 0) -> AnatomyResult:
    """Parse the spine on `volumeNodes` (e.g. {"T1": node, "T2": node}; the first one is the reference grid).

    Existing `segmentationNode` / `levelsNode` are reused (their previous content is replaced).
    """
    import SimpleITK as sitk
    import slicer
    import vtk

    from modic.spine import parse_spine, require_bodies
    from ModicAnalysisLib import conversion

    if not volumeNodes:
        raise ValueError("Select at least one sagittal MR volume to find the vertebrae")
    images = {name: conversion.volumeNodeToSitkImage(node) for name, node in volumeNodes.items()}
    names = ", ".join(node.GetName() for node in volumeNodes.values())
    spine = require_bodies(parse_spine(images, random_state=randomState), names)
    reference = next(iter(volumeNodes.values()))

    if segmentationNode is None:
        segmentationNode = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", SEGMENTATION_NAME)
        segmentationNode.CreateDefaultDisplayNodes()
    segmentationNode.SetReferenceImageGeometryParameterFromVolumeNode(reference)
    segmentation = segmentationNode.GetSegmentation()
    segmentation.RemoveAllSegments()
    logic = slicer.vtkSlicerSegmentationsModuleLogic
    segmentIds = {}
    structures = [s for s in spine.structures if s.structure in ("vertebra", "disc")]
    for index, structure in enumerate(structures):
        if structure.structure == "vertebra":
            mask, color = spine.body_mask(structure.level), _bodyColor(index)
        else:
            mask, color = spine.mask_of([structure.label]), DISC_COLOR
        temp = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", f"_modic_tmp_{structure.level}")
        try:
            conversion.sitkImageToVolumeNode(sitk.Cast(mask, sitk.sitkUInt8), temp)
            oriented = logic.CreateOrientedImageDataFromVolumeNode(temp)
        finally:
            scene.RemoveNode(temp)
        segmentId = segmentationNode.AddSegmentFromBinaryLabelmapRepresentation(oriented, structure.level, color)
        segment = segmentation.GetSegment(segmentId)
        segment.SetTag("ModicStructure", structure.structure)
        segment.SetTag("ModicLabel", str(structure.label))
        segment.SetTag("ModicConfidence", f"{structure.confidence:.3f}")
        segmentIds[structure.level] = segmentId

    if levelsNode is None:
        levelsNode = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", LEVELS_NAME)
        levelsNode.CreateDefaultDisplayNodes()
    levelsNode.RemoveAllControlPoints()
    for vertebra in spine.vertebrae():
        levelsNode.AddControlPointWorld(vtk.vtkVector3d(*conversion.lpsToRas(vertebra.centroid_lps)),
                                        vertebra.level)
    levelsNode.SetAttribute("ModicNamingCertain", "true" if spine.naming_certain else "false")
    if not spine.naming_certain:
        levelsNode.SetAttribute("ModicNamingNote", spine.naming_reason)
    return AnatomyResult(segmentationNode, levelsNode, spine, segmentIds)
