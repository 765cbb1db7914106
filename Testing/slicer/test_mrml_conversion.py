"""Volume / segmentation / markups conversions between MRML (RAS) and SimpleITK (LPS) on slicer-core."""

import numpy as np
import pytest
import SimpleITK as sitk
import vtk
from ModicAnalysisLib import conversion
from mrml_helpers import SAGITTAL_DIRECTION_LPS, make_image


def test_sagittal_direction_matches_core():
    from modic.geometry import sagittal_direction

    assert tuple(sagittal_direction()) == SAGITTAL_DIRECTION_LPS


@pytest.mark.parametrize("dtype", [np.float32, np.int16, np.uint8, np.float64])
def test_volume_round_trip_is_exact(scene, dtype):
    image = make_image(dtype=dtype)
    node = conversion.addVolumeFromSitkImage(scene, image, "T2")
    back = conversion.volumeNodeToSitkImage(node)
    assert back.GetPixelID() == image.GetPixelID()
    assert back.GetSize() == image.GetSize()
    assert back.GetSpacing() == image.GetSpacing()
    assert back.GetOrigin() == image.GetOrigin()
    assert back.GetDirection() == image.GetDirection()
    assert np.array_equal(sitk.GetArrayViewFromImage(back), sitk.GetArrayViewFromImage(image))


def test_volume_node_geometry_is_ras(scene):
    """Slicer's IJK→RAS matrix maps every voxel to the ITK physical point with x, y negated."""
    import slicer

    image = make_image()
    node = conversion.addVolumeFromSitkImage(scene, image, "T1")
    ijkToRas = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(ijkToRas)
    for index in [(0, 0, 0), (3, 5, 7), (29, 39, 11)]:
        pointLps = image.TransformIndexToPhysicalPoint(index)
        pointRas = ijkToRas.MultiplyPoint((*index, 1.0))[:3]
        assert np.allclose(pointRas, conversion.lpsToRas(pointLps), atol=1e-9)
    assert node.GetSpacing() == pytest.approx((0.7, 0.7, 3.5))
    # slicer.util sees the same (k, j, i) array
    assert np.array_equal(slicer.util.arrayFromVolume(node), sitk.GetArrayViewFromImage(image))


def test_volume_from_slicer_util_to_sitk(scene):
    """A volume made the Slicer way (slicer.util + RAS geometry) converts to the expected LPS image."""
    import slicer

    array = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    node = slicer.util.addVolumeFromArray(array, name="fromArray")
    node.SetOrigin(-10.0, 20.0, 30.0)  # RAS
    node.SetSpacing(0.7, 0.7, 3.5)
    image = conversion.volumeNodeToSitkImage(node)
    assert image.GetOrigin() == (10.0, -20.0, 30.0)  # LPS
    assert image.GetDirection() == (-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0)
    assert np.array_equal(sitk.GetArrayViewFromImage(image), array)


def test_transformed_volume_is_refused(scene):
    node = conversion.addVolumeFromSitkImage(scene, make_image(), "T1")
    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    node.SetAndObserveTransformNodeID(transform.GetID())
    with pytest.raises(ValueError, match="harden"):
        conversion.volumeNodeToSitkImage(node)


def _ball(image, center_index, radius_vox=(6, 6, 2)):
    array = np.zeros(sitk.GetArrayViewFromImage(image).shape, dtype=np.uint8)
    k, j, i = np.indices(array.shape)
    ci, cj, ck = center_index
    ri, rj, rk = radius_vox
    array[((i - ci) / ri) ** 2 + ((j - cj) / rj) ** 2 + ((k - ck) / rk) ** 2 <= 1.0] = 1
    mask = sitk.GetImageFromArray(array)
    mask.CopyInformation(image)
    return mask


def test_segmentation_round_trip_per_sequence_grid(scene):
    t2 = make_image()
    t1 = make_image(shape_kji=(10, 22, 30), spacing=(0.7, 1.4, 4.0), seed=1)
    nodes = {"T2": conversion.addVolumeFromSitkImage(scene, t2, "T2"),
             "T1": conversion.addVolumeFromSitkImage(scene, t1, "T1")}
    masks = {"T2": _ball(t2, (15, 20, 6)), "T1": _ball(t1, (14, 11, 5), (5, 4, 2))}
    segmentationNode = conversion.segmentationFromLabelMaps(scene, masks, referenceVolumeNode=nodes["T2"])
    segmentation = segmentationNode.GetSegmentation()
    assert segmentation.GetNumberOfSegments() == 2
    assert segmentation.GetSegmentIdBySegmentName("Modic lesion (T2)")
    assert segmentation.GetSegmentIdBySegmentName("Modic lesion (T1)")
    back = conversion.labelMapsFromSegmentation(scene, segmentationNode, nodes)
    for seq, mask in masks.items():
        assert back[seq].GetSize() == mask.GetSize()
        assert back[seq].GetOrigin() == mask.GetOrigin()
        assert back[seq].GetDirection() == mask.GetDirection()
        assert np.array_equal(sitk.GetArrayViewFromImage(back[seq]), sitk.GetArrayViewFromImage(mask))
    # replacing a segment keeps one segment per sequence
    conversion.segmentationFromLabelMaps(scene, {"T2": masks["T2"]}, segmentationNode)
    assert segmentation.GetNumberOfSegments() == 2
    # temporary label map nodes are removed again
    assert scene.GetNodesByClass("vtkMRMLLabelMapVolumeNode").GetNumberOfItems() == 0


def test_shared_segment_is_resampled_onto_each_grid(scene):
    """A user segmentation with one arbitrary segment is exported onto every sequence grid."""
    t2 = make_image()
    t1 = make_image(shape_kji=(10, 22, 30), spacing=(0.7, 1.4, 4.0), seed=1)
    nodes = {"T2": conversion.addVolumeFromSitkImage(scene, t2, "T2"),
             "T1": conversion.addVolumeFromSitkImage(scene, t1, "T1")}
    mask = _ball(t2, (15, 20, 6), (8, 8, 2))
    segmentationNode = conversion.segmentationFromLabelMaps(scene, {"T2": mask}, names={"T2": "Segment_1"})
    back = conversion.labelMapsFromSegmentation(scene, segmentationNode, nodes)
    assert np.array_equal(sitk.GetArrayViewFromImage(back["T2"]), sitk.GetArrayViewFromImage(mask))
    assert back["T1"].GetSize() == t1.GetSize()
    volumeT2 = sitk.GetArrayViewFromImage(mask).sum() * np.prod(t2.GetSpacing())
    volumeT1 = sitk.GetArrayViewFromImage(back["T1"]).sum() * np.prod(t1.GetSpacing())
    assert volumeT1 == pytest.approx(volumeT2, rel=0.35)


def test_markups_point_is_returned_in_lps(scene):
    markups = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "seed")
    markups.AddControlPointWorld(vtk.vtkVector3d(10.0, -20.0, 5.0), "p")  # RAS
    assert conversion.markupsPointLps(markups) == (-10.0, 20.0, 5.0)
    conversion.setMarkupsPointLps(markups, (1.0, 2.0, 3.0))
    assert markups.GetNumberOfControlPoints() == 1
    assert conversion.markupsPointLps(markups) == (1.0, 2.0, 3.0)
    markups.RemoveAllControlPoints()
    with pytest.raises(ValueError, match="Place a point"):
        conversion.markupsPointLps(markups)


def test_seed_lands_in_the_right_voxel(scene):
    """A point placed in Slicer (RAS) on voxel (i, j, k) maps to the same voxel in the SimpleITK image."""
    image = make_image()
    node = conversion.addVolumeFromSitkImage(scene, image, "T2")
    ijkToRas = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(ijkToRas)
    pointRas = ijkToRas.MultiplyPoint((4, 17, 9, 1.0))[:3]
    markups = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "seed")
    markups.AddControlPointWorld(vtk.vtkVector3d(*pointRas), "p")
    seedLps = conversion.markupsPointLps(markups)
    assert image.TransformPhysicalPointToIndex(seedLps) == (4, 17, 9)
