"""DICOM SEG + TID 1500 SR: valid for dciodvfy, and read back to the same masks (voxel for voxel) and values."""

import shutil
import subprocess

import highdicom as hd
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from modic.cli import main
from modic.dicom.export import Lesion, export_dicom
from modic.dicom.study import load_study

DCIODVFY = shutil.which("dciodvfy")
PREDICTION = {"predicted_type": 1, "probabilities": {"1": 0.81, "2": 0.15, "3": 0.04}, "in_domain": False,
              "synthetic_model": True,
              "features_used": ["FS_wavelet-LLH_glszm_ZoneEntropy", "T1_original_firstorder_Mean"]}
FEATURES = {"T2_original_shape_Sphericity": 0.6125, "T2_original_shape_MajorAxisLength": 21.75,
            "T2_original_shape_MajorLeastAxisRatio": 3.5, "T2_original_shape_MeshVolume": 812.5,
            "FS_wavelet-LLH_glszm_ZoneEntropy": 4.25, "T1_original_firstorder_Mean": -51.5,
            "T2_original_glcm_Contrast": 9.0}                         # not selected, not Table 1: not reported


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from modic.phantom.anatomy import spine_from_phantom_anatomy
    from modic.phantom.dicomstudy import write_case_study
    from modic.phantom.synth import make_case

    root = tmp_path_factory.mktemp("export")
    case = make_case("x1", 1, seed=7, index=0)
    study_dir = write_case_study(case, root / "study", index=0, seed=7)
    study = load_study(study_dir)
    spine = spine_from_phantom_anatomy(case.anatomy)
    lesion = Lesion(masks=case.masks, name="L4 inferior - Modic I", level="L4", endplate="inferior",
                    signal_type="I", prediction=PREDICTION, features=FEATURES)
    files = export_dicom(study, [lesion], root / "dicom", spine=spine)
    return case, study, spine, files, study_dir


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy not installed (Debian package dicom3tools; `make test` "
                    "installs it when run as root)")
@pytest.mark.parametrize("key", ["T1", "T2", "FS", "SR"])
def test_files_pass_dciodvfy(exported, key):
    path = exported[3][key]
    run = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=120)
    lines = (run.stdout + run.stderr).splitlines()
    errors = [line for line in lines if line.startswith("Error")]
    assert errors == [], errors[:5]
    # the only warnings allowed: our documented private coding scheme
    others = [line for line in lines if line.startswith("Warning") and "99MODIC" not in line]
    assert others == [], others[:5]


def _seg_masks(path, volume):
    """{segment label: array in the volume's slice order} from a SEG, mapped by source SOP instance UID."""
    seg = hd.seg.segread(path)
    uids = [fr.sop_instance_uid for fr in volume.frames]
    out = {}
    for desc in seg.SegmentSequence:
        pixels = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids,
                                                   segment_numbers=[desc.SegmentNumber])
        out[desc.SegmentLabel] = pixels[..., 0]
    return out


@pytest.mark.parametrize("seq", ["T1", "T2", "FS"])
def test_seg_reads_back_voxel_for_voxel(exported, seq):
    case, study, spine, files, _ = exported
    masks = _seg_masks(files[seq], study.volumes[seq])
    lesion = sitk.GetArrayViewFromImage(case.masks[seq]) > 0
    assert lesion.sum() > 50
    assert np.array_equal(masks["L4 inferior - Modic I"] > 0, lesion)
    ds = pydicom.dcmread(files[seq])
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == study.volumes[seq].info.uid
    assert ds.StudyInstanceUID == study.series[0].study_uid and ds.FrameOfReferenceUID


def test_seg_holds_the_spine_structures_with_snomed_codes(exported):
    case, study, spine, files, _ = exported
    masks = _seg_masks(files["T1"], study.volumes["T1"])
    labels = sitk.GetArrayViewFromImage(spine.labels)
    from modic.spine.model import disc_label, vertebra_label

    assert np.array_equal(masks["L4 marrow"] > 0, labels == vertebra_label("L4"))
    assert np.array_equal(masks["L4-L5 disc"] > 0, labels == disc_label("L4-L5"))
    ds = pydicom.dcmread(files["T1"], stop_before_pixels=True)
    types = {d.SegmentLabel: d.SegmentedPropertyTypeCodeSequence[0] for d in ds.SegmentSequence}
    assert (types["L4 marrow"].CodeValue, types["L4 marrow"].CodingSchemeDesignator) == ("11994002", "SCT")
    assert types["L4-L5 disc"].CodingSchemeDesignator == "SCT"
    assert types["L4 inferior endplate"].CodingSchemeDesignator == "99MODIC"
    assert len(ds.SegmentSequence) == 1 + len(np.unique(labels)) - 1


def test_sr_reads_back_the_values(exported):
    case, study, spine, files, _ = exported
    sr = hd.sr.srread(files["SR"])
    (group,) = sr.content.get_volumetric_roi_measurement_groups()
    assert group.tracking_identifier == "L4 inferior - Modic I"
    seg_t2 = pydicom.dcmread(files["T2"], stop_before_pixels=True)
    ref = group.referenced_segment
    assert ref.referenced_sop_instance_uid == seg_t2.SOPInstanceUID and ref.referenced_segment_numbers == [1]
    assert group.finding_sites[0].value.value == "11994002"                       # L4 vertebra (SNOMED CT)
    values = {m.name.meaning: (m.value, m.unit.value) for m in group.get_measurements()}
    voxels = int((sitk.GetArrayViewFromImage(case.masks["T2"]) > 0).sum())
    assert values["Volume"] == (pytest.approx(voxels * np.prod(case.masks["T2"].GetSpacing())), "mm3")
    assert values["T2_original_shape_Sphericity"] == (0.6125, "1")
    assert values["T2_original_shape_MajorAxisLength"] == (21.75, "mm")
    assert values["T2_original_shape_MajorLeastAxisRatio"] == (3.5, "1")
    assert values["T2_original_shape_MeshVolume"] == (812.5, "mm3")
    assert values["FS_wavelet-LLH_glszm_ZoneEntropy"] == (4.25, "1")
    assert values["T1_original_firstorder_Mean"] == (-51.5, "[arb'U]")
    assert values["Probability of Modic type I (model)"] == (0.81, "1")
    assert "T2_original_glcm_Contrast" not in values
    qual = {e.name.meaning: e.value.meaning for e in group.get_qualitative_evaluations()}
    assert qual == {"Finding category": "Morphologically Abnormal Structure", "Endplate": "Inferior endplate",
                    "Modic type from the signal pattern": "Modic type I",
                    "Modic type predicted by the model": "Modic type I",
                    "Case inside the model's training data": "No", "Model trained on synthetic data": "Yes"}
    evidence = {series.SeriesInstanceUID for item in sr.CurrentRequestedProcedureEvidenceSequence
                for series in item.ReferencedSeriesSequence}
    # as Slicer's QuantitativeReporting expects: the SR's evidence holds one SEG (the one its groups reference)
    assert evidence == {study.volumes["T2"].info.uid, seg_t2.SeriesInstanceUID}


def test_cli_segment_with_study_writes_seg_and_sr(exported, tmp_path, capsys):
    case, study, spine, files, study_dir = exported
    mask = tmp_path / "m.nrrd"
    sitk.WriteImage(case.masks["T2"], str(mask))
    assert main(["segment", "--study", str(study_dir), "--mask", str(mask), "--out", str(tmp_path / "seg")]) == 0
    err = capsys.readouterr().err
    assert "FS: series 4 'SAG STIR' — inversion recovery with TI 150 ms" in err
    out = tmp_path / "seg" / "dicom"
    assert sorted(p.name for p in out.iterdir()) == ["seg_fs.dcm", "seg_t1.dcm", "seg_t2.dcm", "sr.dcm"]
    back = _seg_masks(out / "seg_fs.dcm", study.volumes["FS"])
    written = sitk.ReadImage(str(tmp_path / "seg" / "mask_fs.nrrd"))
    assert np.array_equal(next(iter(back.values())) > 0, sitk.GetArrayViewFromImage(written) > 0)
    # the same results exported later: identical SEG (UIDs derive from study and masks)
    assert main(["export-dicom", "--study", str(study_dir), "--results", str(tmp_path / "seg"),
                 "--out", str(tmp_path / "later")]) == 0
    a, b = pydicom.dcmread(out / "seg_t2.dcm"), pydicom.dcmread(tmp_path / "later" / "seg_t2.dcm")
    assert a.SOPInstanceUID == b.SOPInstanceUID and a.PixelData == b.PixelData
    assert main(["export-dicom", "--study", str(study_dir), "--results", str(tmp_path / "none"),
                 "--out", str(tmp_path / "x")]) == 2
    assert main(["segment", "--t2-series", "3", "--mask", str(mask), "--out", str(tmp_path / "y")]) == 2
    assert "need --study" in capsys.readouterr().err


def test_export_a_detection_folder_one_group_per_lesion(exported, tmp_path):
    """`modic detect` output (lesions.csv + label maps + spine labels) → SEG segments and SR groups in order."""
    case, study, spine, _, study_dir = exported
    det = tmp_path / "det"
    det.mkdir()
    second = np.zeros(sitk.GetArrayViewFromImage(case.masks["T2"]).shape, np.uint8)
    second[5:7, 100:104, 100:103] = 1
    for seq in ("T1", "T2", "FS"):
        lesion = sitk.GetArrayFromImage(case.masks[seq]).astype(np.uint8)
        extra = second if seq != "FS" or case.masks["FS"].GetSize() == case.masks["T2"].GetSize() else 0 * lesion
        labels = sitk.GetImageFromArray(np.where(lesion > 0, 1, np.where(extra > 0, 2, 0)).astype(np.uint8))
        labels.CopyInformation(case.masks[seq])
        sitk.WriteImage(labels, str(det / f"lesions_{seq.lower()}.nrrd"))
    sitk.WriteImage(spine.labels, str(det / "spine_labels.nrrd"))
    (det / "lesions.csv").write_text(
        "case_id,label,level,endplate,modic_type,voxels,volume_mm3,seed_lps,confidence\n"
        "x1,1,L4-L5,L4 inferior,I,1,1,0;0;0,0.9\nx1,2,L2-L3,L3 superior,II,1,1,0;0;0,0.5\n")
    assert main(["export-dicom", "--study", str(study_dir), "--results", str(det), "--out", str(tmp_path / "o")]) == 0
    groups = hd.sr.srread(tmp_path / "o" / "sr.dcm").content.get_volumetric_roi_measurement_groups()
    assert [g.tracking_identifier for g in groups] == ["L4 inferior - Modic I", "L3 superior - Modic II"]
    assert [g.referenced_segment.referenced_segment_numbers for g in groups] == [[1], [2]]
    assert groups[1].finding_sites[0].value.value == "36470004"                   # L3 vertebra (SNOMED CT)
    masks = _seg_masks(tmp_path / "o" / "seg_t2.dcm", study.volumes["T2"])
    assert np.array_equal(masks["L3 superior - Modic II"] > 0, second > 0)
    assert "L4 marrow" in _seg_masks(tmp_path / "o" / "seg_t1.dcm", study.volumes["T1"])   # the spine, on T1
