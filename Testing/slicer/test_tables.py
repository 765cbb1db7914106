"""Feature and result tables as typed vtkMRMLTableNode columns (real MRML from slicer-core)."""

import math

import pandas as pd
import pytest
from ModicAnalysisLib import selftest, tables


def test_feature_row_has_typed_columns_with_units(scene):
    features = {"T2_original_shape_VoxelVolume": 12416.0, "T2_original_shape_SurfaceArea": 5700.5,
                "T2_original_shape_SurfaceVolumeRatio": 0.52, "T2_original_shape_MajorAxisLength": 40.4,
                "T2_original_shape_Maximum2DDiameterSlice": 33.0, "T2_original_shape_Sphericity": 0.438,
                "T1_lbp-3D-m1_glszm_ZoneEntropy": 4.5, "FS_wavelet-LLH_firstorder_90Percentile": 7}
    node = scene.AddNewNodeByClass("vtkMRMLTableNode", "features")
    tables.featuresToTableNode(features, node, "case7")
    table = node.GetTable()
    assert node.GetNumberOfColumns() == len(features) + 1
    assert node.GetNumberOfRows() == 1
    assert table.GetColumn(0).GetClassName() == "vtkStringArray"
    assert table.GetColumn(0).GetValue(0) == "case7"
    for i, name in enumerate(features, start=1):
        column = table.GetColumn(i)
        assert column.GetName() == name
        assert column.GetClassName() == "vtkDoubleArray"
        assert column.GetValue(0) == pytest.approx(float(features[name]))
        assert node.GetColumnTitle(name) == name
    units = {n: node.GetColumnUnitLabel(n) for n in features}
    assert units["T2_original_shape_VoxelVolume"] == "mm3"
    assert units["T2_original_shape_SurfaceArea"] == "mm2"
    assert units["T2_original_shape_SurfaceVolumeRatio"] == "1/mm"
    assert units["T2_original_shape_MajorAxisLength"] == "mm"
    assert units["T2_original_shape_Maximum2DDiameterSlice"] == "mm"
    assert units["T2_original_shape_Sphericity"] == ""
    assert units["T1_lbp-3D-m1_glszm_ZoneEntropy"] == ""
    assert node.GetColumnDescription("T1_lbp-3D-m1_glszm_ZoneEntropy") == \
        "T1 sequence, lbp-3D-m1 image, glszm: ZoneEntropy (PyRadiomics)"


def test_dataframe_round_trip_keeps_types(scene):
    df = pd.DataFrame({"feature": ["Elongation", "Flatness"], "kw_p": [7.4e-5, float("nan")],
                       "n": [41, 84], "significant": [True, False]}).set_index("feature")
    node = scene.AddNewNodeByClass("vtkMRMLTableNode", "table1")
    tables.dataFrameToTableNode(df, node)
    classes = [node.GetTable().GetColumn(i).GetClassName() for i in range(node.GetNumberOfColumns())]
    assert classes == ["vtkStringArray", "vtkDoubleArray", "vtkLongArray", "vtkLongArray"]
    back = tables.tableNodeToDataFrame(node)
    assert list(back["feature"]) == ["Elongation", "Flatness"]
    assert back["kw_p"][0] == 7.4e-5 and math.isnan(back["kw_p"][1])
    assert list(back["n"]) == [41, 84]


def test_table_node_survives_a_save_and_reload(scene, tmp_path):
    """Typed columns and units are kept by Slicer's table storage (.csv + .schema.csv)."""
    import slicer

    node = scene.AddNewNodeByClass("vtkMRMLTableNode", "features")
    tables.featuresToTableNode({"T2_original_shape_VoxelVolume": 1234.5}, node, "c1")
    storage = scene.AddNewNodeByClass("vtkMRMLTableStorageNode")
    storage.SetFileName(str(tmp_path / "features.csv"))
    assert storage.WriteData(node)
    assert (tmp_path / "features.schema.csv").is_file()
    loaded = slicer.vtkMRMLTableNode()
    scene.AddNode(loaded)
    reader = scene.AddNewNodeByClass("vtkMRMLTableStorageNode")
    reader.SetFileName(str(tmp_path / "features.csv"))
    assert reader.ReadData(loaded)
    assert loaded.GetTable().GetColumnByName("T2_original_shape_VoxelVolume").IsA("vtkDoubleArray")
    assert loaded.GetColumnUnitLabel("T2_original_shape_VoxelVolume") == "mm3"


def test_selftest_helpers(scene):
    report = selftest.checkFeatureTable(scene)
    assert report["numberOfColumns"] == report["numberOfFeatures"] + 1
    assert report["allDouble"] and report["volumeUnit"] == "mm3"
    assert report["caseColumnClass"] == "vtkStringArray"
    geometry = selftest.checkGeometryRoundTrip(scene)
    assert geometry["volumeExact"] and geometry["segmentationExact"] and geometry["maskVoxels"] > 0
