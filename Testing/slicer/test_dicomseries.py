"""ModicAnalysisLib.dicomseries on real MRML (slicer-core): T1/T2/FS recognised from the DICOM tags of the
instances behind each volume node — never from node names — and the SEG/SR export of a result."""

from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk


def _tag_value(ds, tag: str) -> str:
    group, element = (int(x, 16) for x in tag.split(","))
    if (group, element) not in ds:
        return ""
    value = ds[group, element].value
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    from modic.phantom.dicomstudy import write_case_study
    from modic.phantom.synth import make_case

    case = make_case("s1", 2, seed=3, index=1)            # GE-like names: "Sag T2 FSE", "Sag T2 FS"
    folder = write_case_study(case, tmp_path_factory.mktemp("slicer") / "study", index=1, seed=3)
    headers = {}
    for f in sorted(folder.rglob("*.dcm")):
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        headers[str(ds.SOPInstanceUID)] = (f, ds)
    return case, headers


def _load_like_dicom_browser(scene, headers, misleading_names=True):
    """One volume node per series with the DICOM.instanceUIDs attribute, named against the truth."""
    by_series = {}
    for sop, (_, ds) in headers.items():
        by_series.setdefault(int(ds.SeriesNumber), []).append(sop)
    names = {1: "T2", 2: "FS", 3: "T1", 4: "T2 axial", 5: "FS"} if misleading_names else {}
    nodes = {}
    for number, uids in sorted(by_series.items()):
        node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", names.get(number, f"series {number}"))
        node.SetAttribute("DICOM.instanceUIDs", " ".join(uids))
        nodes[number] = node
    plain = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "T1")   # not from DICOM: ignored
    return nodes, plain


def test_recognise_volume_nodes_from_tags_not_names(scene, study):
    from ModicAnalysisLib.dicomseries import recogniseVolumeNodes, recogniseVolumeNodesWithReasons

    _, headers = study
    calls = []

    def tagReader(uid, tag):
        calls.append(tag)
        return _tag_value(headers[uid][1], tag)

    nodes, plain = _load_like_dicom_browser(scene, headers)
    chosen = recogniseVolumeNodes([*nodes.values(), plain], tagReader)
    assert {seq: node.GetID() for seq, node in chosen.items()} == {
        "T1": nodes[2].GetID(), "T2": nodes[3].GetID(), "FS": nodes[4].GetID()}
    assert "0018,0080" in calls and "0018,0022" in calls     # TR and ScanOptions were read
    _, infos, notes = recogniseVolumeNodesWithReasons({"a": nodes[4], "b": nodes[5]}, tagReader)
    assert infos[nodes[4].GetID()].reason.startswith("ScanOptions FS")
    assert infos[nodes[5].GetID()].orientation == "axial" and notes[0] == "T1: no sagittal T1 series found"


def test_same_series_loaded_twice_is_one_candidate_each(scene, study):
    from ModicAnalysisLib.dicomseries import recogniseVolumeNodesWithReasons

    _, headers = study
    nodes, _ = _load_like_dicom_browser(scene, headers)
    again, _ = _load_like_dicom_browser(scene, headers)
    chosen, _, notes = recogniseVolumeNodesWithReasons([nodes[3], again[3]],
                                                       lambda u, t: _tag_value(headers[u][1], t))
    assert chosen["T2"] in (nodes[3], again[3])
    assert any(n.startswith("T2: 2 sagittal T2 series") for n in notes)


def test_export_dicom_from_dicom_loaded_nodes(scene, study, tmp_path):
    from ModicAnalysisLib.dicomseries import exportDicom, recogniseVolumeNodes

    case, headers = study
    nodes, _ = _load_like_dicom_browser(scene, headers)
    chosen = recogniseVolumeNodes(nodes.values(), lambda u, t: _tag_value(headers[u][1], t))
    summary = {"signal_pattern": {"modic_type": "II"},
               "prediction": {"predicted_type": 2, "probabilities": {"1": 0.1, "2": 0.8, "3": 0.1}}}
    written = exportDicom(chosen, case.masks, str(tmp_path / "out"), lambda u: str(headers[u][0]),
                          summary=summary, features={"T2_original_shape_Sphericity": 0.5})
    assert sorted(written) == ["FS", "SR", "T1", "T2"]
    seg = pydicom.dcmread(written["T2"])
    assert seg.SegmentSequence[0].SegmentLabel == "Modic II"
    frames = seg.pixel_array.reshape(-1, seg.Rows, seg.Columns)
    order = {fr.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID: i
             for i, fr in enumerate(seg.PerFrameFunctionalGroupsSequence)}
    t2_uids = sorted((u for u, (_, ds) in headers.items() if int(ds.SeriesNumber) == 3),
                     key=lambda u: int(headers[u][1].InstanceNumber))
    mask = np.stack([frames[order[u]] for u in t2_uids])
    assert np.array_equal(mask > 0, sitk.GetArrayViewFromImage(case.masks["T2"]) > 0)
    assert Path(written["SR"]).is_file()


def test_no_dicom_volumes_is_one_clear_error(scene):
    from ModicAnalysisLib.dicomseries import exportDicom

    from modic.errors import ModicInputError

    plain = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "T2")
    with pytest.raises(ModicInputError, match="none of the volumes was loaded from DICOM"):
        exportDicom({"T2": plain}, {}, "/nonexistent", lambda u: u)


def test_module_preselection_uses_tags_before_names(scene, study):
    """ModicAnalysis' preselection: DICOM-loaded volumes are placed by their tags (misleading names ignored),
    a volume not from DICOM by its name only where no series was recognised for that sequence."""
    from ModicAnalysisLib import conversion, selection, selftest

    _, headers = study
    nodes, plain = _load_like_dicom_browser(scene, headers)
    image = selftest.syntheticImage()
    for node in [*nodes.values(), plain]:       # give every node voxels, as the DICOM browser would
        tmp = conversion.addVolumeFromSitkImage(scene, image, "tmp")
        node.SetAndObserveImageData(tmp.GetImageData())
        scene.RemoveNode(tmp)
    named_t1 = plain                            # named "T1", not from DICOM

    def tagReader(uid, tag):
        return _tag_value(headers[uid][1], tag)

    chosen = selection.preselect([*nodes.values(), plain], tagReader)
    assert {seq: n.GetID() for seq, n in chosen.items()} == {
        "T1": nodes[2].GetID(), "T2": nodes[3].GetID(), "FS": nodes[4].GetID()}
    # without a DICOM database the names decide (here they mislead: node 1 is called "T2")
    by_name = selection.preselect([*nodes.values(), plain], None)
    assert by_name["T2"] is nodes[1] and by_name["T1"] in (nodes[3], named_t1)


def test_module_logic_exports_the_segmentation_as_dicom(scene, study, tmp_path):
    """ModicAnalysis' Export DICOM: the lesion segmentation node of DICOM-loaded volumes → SEG per series + SR,
    under the output rules (a folder of the user's files is refused)."""
    from ModicAnalysisLib import conversion
    from ModicAnalysisLib.logic import ModicAnalysisCaseLogic

    from modic.errors import ModicInputError

    case, headers = study
    nodes, _ = _load_like_dicom_browser(scene, headers, misleading_names=False)
    chosen = {"T1": nodes[2], "T2": nodes[3], "FS": nodes[4]}
    for seq, node in chosen.items():
        tmp = conversion.addVolumeFromSitkImage(scene, case.images[seq], "tmp")
        node.SetAndObserveImageData(tmp.GetImageData())
        node.CopyOrientation(tmp)
        scene.RemoveNode(tmp)
    logic = ModicAnalysisCaseLogic(scene)
    segmentation = conversion.segmentationFromLabelMaps(scene, case.masks)
    table = scene.AddNewNodeByClass("vtkMRMLTableNode")
    table.SetAttribute("ModicAnalysis.SignalPatternType", "II")
    table.SetAttribute("ModicAnalysis.PredictedType", "2")
    table.SetAttribute("ModicAnalysis.Probabilities", "1=0.1;2=0.8;3=0.1")
    written = logic.exportDicom(chosen, segmentation, str(tmp_path / "dicom"), lambda u: str(headers[u][0]), table)
    assert sorted(written) == ["FS", "SR", "T1", "T2"] and all(Path(p).is_file() for p in written.values())
    seg = pydicom.dcmread(written["T2"])
    assert seg.SegmentSequence[0].SegmentLabel == "Modic II"
    assert int(np.count_nonzero(seg.pixel_array)) == int(np.count_nonzero(sitk.GetArrayViewFromImage(case.masks["T2"])))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(ModicInputError, match="did not write"):
        logic.exportDicom(chosen, segmentation, str(mine), lambda u: str(headers[u][0]))
    assert (mine / "notes.txt").read_text() == "keep"
