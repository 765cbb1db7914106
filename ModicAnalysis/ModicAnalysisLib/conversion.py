"""MRML ⇄ SimpleITK conversions with exact geometry (headless: needs only `slicer` MRML + vtk).

Coordinates: Slicer nodes store geometry in RAS, SimpleITK images in LPS, RAS = diag(-1, -1, 1) · LPS.
A volume node's IJK→RAS matrix is `directions_RAS · diag(spacing)` plus `origin_RAS`; the SimpleITK
image of the same voxels has `direction_LPS = diag(-1, -1, 1) · directions_RAS` and
`origin_LPS = diag(-1, -1, 1) · origin_RAS`. Voxel arrays are shared in (k, j, i) order by both, so
the round trip volume node → image → volume node is bit exact (values, pixel type, spacing, origin,
direction).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import SimpleITK as sitk
import slicer
import vtk
from vtk.util import numpy_support

FLIP_LPS_RAS = np.diag([-1.0, -1.0, 1.0])

#: Segment names of per-sequence lesion masks, e.g. "Modic lesion (T2)".
SEGMENT_NAME_TEMPLATE = "Modic lesion ({seq})"
SEGMENT_COLORS = {"T1": (0.90, 0.30, 0.25), "T2": (0.95, 0.70, 0.20), "FS": (0.30, 0.60, 0.95)}


def rasToLps(pointRas: Sequence[float]) -> tuple[float, float, float]:
    """Convert a point from RAS to LPS millimetres."""
    x, y, z = (float(v) for v in pointRas)
    return (-x, -y, z)


def lpsToRas(pointLps: Sequence[float]) -> tuple[float, float, float]:
    """Convert a point from LPS to RAS millimetres."""
    x, y, z = (float(v) for v in pointLps)
    return (-x, -y, z)


def segmentNameForSequence(seq: str) -> str:
    """Name of the lesion segment that holds sequence `seq`'s mask."""
    return SEGMENT_NAME_TEMPLATE.format(seq=seq)


def _checkNoParentTransform(node) -> None:
    if node.GetParentTransformNode() is not None:
        raise ValueError(f"Volume '{node.GetName()}' is under a transform: harden the transform "
                         "(Data module, right-click → Harden transform) before analysis")


def volumeNodeToSitkImage(volumeNode) -> sitk.Image:
    """Copy a scalar (or label map) volume node into a SimpleITK image, geometry converted RAS → LPS."""
    if volumeNode is None or volumeNode.GetImageData() is None:
        raise ValueError("Volume node is missing or has no image data")
    _checkNoParentTransform(volumeNode)
    imageData = volumeNode.GetImageData()
    dims = imageData.GetDimensions()
    scalars = imageData.GetPointData().GetScalars()
    components = scalars.GetNumberOfComponents()
    if components != 1:
        raise ValueError(f"Volume '{volumeNode.GetName()}' has {components} components; "
                         "a scalar volume is needed")
    array = numpy_support.vtk_to_numpy(scalars).reshape(dims[2], dims[1], dims[0])
    image = sitk.GetImageFromArray(np.array(array, copy=True))
    directionsRas = vtk.vtkMatrix4x4()
    volumeNode.GetIJKToRASDirectionMatrix(directionsRas)
    dirRas = np.array([[directionsRas.GetElement(r, c) for c in range(3)] for r in range(3)])
    image.SetSpacing(tuple(float(v) for v in volumeNode.GetSpacing()))
    image.SetOrigin(rasToLps(volumeNode.GetOrigin()))
    image.SetDirection(tuple(float(v) for v in (FLIP_LPS_RAS @ dirRas).ravel()))
    return image


def _setNodeGeometryFromSitk(volumeNode, image: sitk.Image) -> None:
    dirLps = np.array(image.GetDirection(), dtype=float).reshape(3, 3)
    dirRas = FLIP_LPS_RAS @ dirLps
    matrix = vtk.vtkMatrix4x4()
    for r in range(3):
        for c in range(3):
            matrix.SetElement(r, c, float(dirRas[r, c]))
    volumeNode.SetIJKToRASDirectionMatrix(matrix)
    volumeNode.SetSpacing(*image.GetSpacing())
    volumeNode.SetOrigin(*lpsToRas(image.GetOrigin()))


def sitkImageToVolumeNode(image: sitk.Image, volumeNode):
    """Copy a 3D scalar SimpleITK image into `volumeNode` (scalar or label map), geometry LPS → RAS."""
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise ValueError("A 3D scalar SimpleITK image is needed")
    array = np.ascontiguousarray(sitk.GetArrayViewFromImage(image))
    vtkArray = numpy_support.numpy_to_vtk(array.ravel(), deep=True,
                                          array_type=numpy_support.get_vtk_array_type(array.dtype))
    imageData = vtk.vtkImageData()
    imageData.SetDimensions(*image.GetSize())
    imageData.GetPointData().SetScalars(vtkArray)
    volumeNode.SetAndObserveImageData(imageData)
    _setNodeGeometryFromSitk(volumeNode, image)
    return volumeNode


def addVolumeFromSitkImage(scene, image: sitk.Image, name: str, labelmap: bool = False):
    """Add a new scalar (or label map) volume node holding `image` to `scene`; returns the node."""
    className = "vtkMRMLLabelMapVolumeNode" if labelmap else "vtkMRMLScalarVolumeNode"
    node = scene.AddNewNodeByClass(className, name)
    sitkImageToVolumeNode(image, node)
    node.CreateDefaultDisplayNodes()
    return node


def segmentationFromLabelMaps(scene, masks: Mapping[str, sitk.Image], segmentationNode=None,
                              referenceVolumeNode=None, label: int = 1,
                              names: Mapping[str, str] | None = None):
    """Store per-sequence label maps (LPS SimpleITK images) as segments of one segmentation node.

    Each mask keeps its own grid: segment "Modic lesion (<seq>)" holds voxels == `label` of
    `masks[seq]`. An existing segment with the same name is replaced. Returns the segmentation node.
    """
    if segmentationNode is None:
        segmentationNode = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "Modic lesion")
        segmentationNode.CreateDefaultDisplayNodes()
    if referenceVolumeNode is not None:
        segmentationNode.SetReferenceImageGeometryParameterFromVolumeNode(referenceVolumeNode)
    segmentation = segmentationNode.GetSegmentation()
    logic = slicer.vtkSlicerSegmentationsModuleLogic
    for seq, mask in masks.items():
        name = (names or {}).get(seq, segmentNameForSequence(seq))
        binary = sitk.Cast(sitk.Equal(mask, label), sitk.sitkUInt8)
        temp = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", f"_modic_tmp_{seq}")
        try:
            sitkImageToVolumeNode(binary, temp)
            oriented = logic.CreateOrientedImageDataFromVolumeNode(temp)
            # Create...() hands over a reference Python does not own: release it (as Slicer's own scripts do)
            oriented.UnRegister(None)
        finally:
            scene.RemoveNode(temp)
        oldId = segmentation.GetSegmentIdBySegmentName(name)
        if oldId:
            segmentation.RemoveSegment(oldId)
        color = SEGMENT_COLORS.get(seq, (0.8, 0.8, 0.2))
        segmentId = segmentationNode.AddSegmentFromBinaryLabelmapRepresentation(oriented, name, color)
        segment = segmentation.GetSegment(segmentId)
        segment.SetTag("ModicSequence", seq)
    return segmentationNode


def segmentIdForSequence(segmentationNode, seq: str) -> str | None:
    """ID of the segment holding sequence `seq`'s mask ("Modic lesion (<seq>)"), or None."""
    segmentation = segmentationNode.GetSegmentation()
    segmentId = segmentation.GetSegmentIdBySegmentName(segmentNameForSequence(seq))
    return segmentId or None


def _nodeIds(scene) -> set[str]:
    return {scene.GetNthNode(i).GetID() for i in range(scene.GetNumberOfNodes())}


def _removeNodesAddedSince(scene, before: set[str]) -> None:
    """Remove the temporary nodes an export added: the label map, its display node and the
    `<segmentation>_ColorTable` node ExportSegmentsToLabelmapNode creates (it would be saved with the scene)."""
    for nodeId in sorted(_nodeIds(scene) - before):
        node = scene.GetNodeByID(nodeId)
        if node is not None:
            scene.RemoveNode(node)


def labelMapFromSegment(scene, segmentationNode, segmentId: str, referenceVolumeNode) -> sitk.Image:
    """Export one segment onto `referenceVolumeNode`'s grid as a uint8 SimpleITK label image (LPS, 1 = in)."""
    if not segmentationNode.GetSegmentation().GetSegment(segmentId):
        raise ValueError(f"Segmentation '{segmentationNode.GetName()}' has no segment '{segmentId}'")
    before = _nodeIds(scene)
    labelNode = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "_modic_export")
    try:
        ids = vtk.vtkStringArray()
        ids.InsertNextValue(segmentId)
        ok = slicer.vtkSlicerSegmentationsModuleLogic.ExportSegmentsToLabelmapNode(
            segmentationNode, ids, labelNode, referenceVolumeNode,
            slicer.vtkSegmentation.EXTENT_REFERENCE_GEOMETRY)
        if not ok:
            raise ValueError(f"Could not export segment '{segmentId}' onto "
                             f"'{referenceVolumeNode.GetName()}'")
        image = volumeNodeToSitkImage(labelNode)
    finally:
        _removeNodesAddedSince(scene, before)
    binary = sitk.Cast(sitk.NotEqual(image, 0), sitk.sitkUInt8)
    binary.CopyInformation(image)
    return binary


def labelMapsFromSegmentation(scene, segmentationNode, volumeNodes: Mapping[str, object],
                              segmentId: str | None = None) -> dict[str, sitk.Image]:
    """Per-sequence lesion masks (uint8 LPS images on each sequence's grid) from a segmentation node.

    Uses segment "Modic lesion (<seq>)" for each sequence when present; otherwise `segmentId`, or
    the first segment, is resampled onto every sequence grid (a shared mask).
    """
    segmentation = segmentationNode.GetSegmentation()
    if segmentation.GetNumberOfSegments() == 0:
        raise ValueError(f"Segmentation '{segmentationNode.GetName()}' has no segments")
    fallback = segmentId or segmentation.GetNthSegmentID(0)
    masks = {}
    for seq, volumeNode in volumeNodes.items():
        sid = segmentId or segmentIdForSequence(segmentationNode, seq) or fallback
        masks[seq] = labelMapFromSegment(scene, segmentationNode, sid, volumeNode)
    return masks


def markupsPointLps(markupsNode, index: int = 0) -> tuple[float, float, float]:
    """World position of control point `index` of a markups node, as an LPS point (mm)."""
    if markupsNode is None or markupsNode.GetNumberOfControlPoints() <= index:
        raise ValueError("Place a point on the lesion first (markups point list is empty)")
    pointRas = [0.0, 0.0, 0.0]
    markupsNode.GetNthControlPointPositionWorld(index, pointRas)
    return rasToLps(pointRas)


def setMarkupsPointLps(markupsNode, pointLps: Sequence[float], label: str = "lesion") -> None:
    """Replace the control points of `markupsNode` by one point given in LPS mm (stored as RAS)."""
    markupsNode.RemoveAllControlPoints()
    markupsNode.AddControlPointWorld(vtk.vtkVector3d(*lpsToRas(pointLps)), label)
