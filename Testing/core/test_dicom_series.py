"""DICOM study input: series recognition, the series chosen, reading (voxel-exact), and the real-world mess."""

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.data import get_testdata_file

from modic.cli import main
from modic.dicom.series import SeriesInfo, recognise, scan_study, select_series
from modic.dicom.study import load_study
from modic.dicom.volume import read_series
from modic.errors import ModicInputError

TEST_FILES = Path(get_testdata_file("MR_small.dcm")).parent


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """Two synthetic studies: Siemens-like (index 0) and GE-like (index 1), with their phantom images."""
    from modic.phantom.dicomstudy import write_case_study
    from modic.phantom.synth import make_case

    root = tmp_path_factory.mktemp("studies")
    out = []
    for index in (0, 1):
        case = make_case(f"c{index}", 1, seed=5, index=index)
        out.append((case, write_case_study(case, root / f"c{index}" / "study", index=index, seed=5)))
    return out


def _copy(study: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "study"
    shutil.copytree(study, dst)
    return dst


@pytest.mark.parametrize("index, fs_reason", [(0, "TI 150 ms"), (1, "ScanOptions FS")])
def test_recognises_sagittal_t1_t2_fs_and_skips_distractors(cases, index, fs_reason):
    case, study = cases[index]
    series = scan_study(study)
    chosen, notes = select_series(series)
    assert {seq: s.number for seq, s in chosen.items()} == {"T1": 2, "T2": 3, "FS": 4}
    assert notes == []
    by_number = {s.number: s for s in series}
    assert by_number[1].sequence == "other" and "localiser" in by_number[1].reason
    assert by_number[5].orientation == "axial" and by_number[5].sequence == "T2"     # an axial T2: not used
    assert fs_reason in by_number[4].reason
    assert not by_number[3].fat_suppressed          # "Sag T2 FSE": FSE is not fat suppression
    assert by_number[2].orientation == "sagittal"
    assert by_number[2].slice_spacing == pytest.approx(case.images["T1"].GetSpacing()[2], abs=1e-4)


def test_reads_each_series_voxel_for_voxel(cases):
    case, study = cases[0]
    loaded = load_study(study)
    for seq in ("T1", "T2", "FS"):
        img, ref = loaded.images[seq], case.images[seq]
        assert np.array_equal(sitk.GetArrayViewFromImage(img), np.rint(sitk.GetArrayViewFromImage(ref)))
        assert np.allclose(img.GetOrigin(), ref.GetOrigin(), atol=1e-5)
        assert np.allclose(img.GetDirection(), ref.GetDirection(), atol=1e-5)   # tilted sagittal
        assert np.allclose(img.GetSpacing(), ref.GetSpacing(), atol=1e-9)       # anisotropic
    assert loaded.record()["series"]["FS"]["description"] == "SAG STIR"


@pytest.mark.parametrize("case", [
    ("SAG T2 FSE", None, None, None, "T2"),           # FSE = fast spin echo, not fat suppression
    ("Sag T2 FS", None, None, None, "FS"),
    ("SAG STIR", None, None, None, "FS"),
    ("sag_t2_tirm", None, None, None, "FS"),
    ("SAG T1 FSE", None, None, None, "T1"),
    ("T2FS SAG", None, None, None, "FS"),
    ("SAG FAT SAT T2", None, None, None, "FS"),
    ("FAST SPINE", 500, 10, None, "T1"),             # tags win over description words
    ("SAG IR", 3500, 40, 160, "FS"),                 # STIR by TI at 1.5 T
    ("SAG FLAIR", 9000, 120, 2500, "T2"),            # TI 2500 ms is not fat nulling
    ("SAG PD", 3000, 20, None, "other"),
    ("SAG T1 FS +C", 500, 10, None, "other"),         # fat-suppressed T1 is not a STIR / T2-FS
    ("SAG T2 DIXON_W", 4000, 90, None, "FS", "ORIGINAL\\PRIMARY\\DIXON\\WATER"),
    ("SAG T2 DIXON_F", 4000, 90, None, "other", "ORIGINAL\\PRIMARY\\DIXON\\FAT"),
])
def test_recognition_rules(case):
    description, tr, te, ti, expected, image_type = (*case, "ORIGINAL\\PRIMARY\\M")[:6]
    s = SeriesInfo(uid="1.2", number=3, description=description, modality="MR", frames=15, orientation="sagittal",
                   tr=tr, te=te, ti=ti, image_type=image_type)
    assert recognise(s).sequence == expected, s.reason


def test_two_candidates_take_the_later_and_say_why(cases, tmp_path):
    _, study = cases[0]
    study = _copy(study, tmp_path)
    repeat = study / "S006"
    shutil.copytree(study / "S003", repeat)
    from pydicom.uid import generate_uid

    series_uid = generate_uid()
    for f in repeat.iterdir():
        ds = pydicom.dcmread(f)
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.SeriesNumber = 6
        ds.SeriesDescription = "SAG T2 TSE rpt"
        ds.save_as(f)
    chosen, notes = select_series(scan_study(study))
    assert chosen["T2"].number == 6
    assert any("took 6 'SAG T2 TSE rpt' over 3 'SAG T2 TSE'" in n and "later series number" in n for n in notes)
    # an override by number, description or UID
    series = scan_study(study)
    assert select_series(series, {"T2": "3"})[0]["T2"].number == 3
    assert select_series(series, {"T2": "SAG T2 TSE"})[0]["T2"].number == 3       # exact description wins
    with pytest.raises(ModicInputError, match=r"matches 3 series \(3 .SAG T2 TSE., 5 .AX T2 TSE., 6"):
        select_series(series, {"T2": "T2 TSE"})


def _t1_info(study: Path):
    return next(s for s in scan_study(study) if s.number == 2)


def test_missing_slice_refused(cases, tmp_path):
    study = _copy(cases[0][1], tmp_path)
    (study / "S002" / "IM00008.dcm").unlink()
    with pytest.raises(ModicInputError, match=r"1 slice\(s\) missing between positions") as exc:
        read_series(_t1_info(study))
    assert "\n" not in str(exc.value)


def test_duplicated_slice_dropped_with_a_note(cases, tmp_path):
    study = _copy(cases[0][1], tmp_path)
    shutil.copy(study / "S002" / "IM00005.dcm", study / "S002" / "copy_of_IM00005.dcm")
    vol = read_series(_t1_info(study))
    assert vol.image.GetSize()[2] == cases[0][0].images["T1"].GetSize()[2]
    assert vol.notes == ["series 2 'SAG T1 TSE': dropped 1 duplicated slice(s)"]


def test_different_images_at_one_position_refused(cases, tmp_path):
    study = _copy(cases[0][1], tmp_path)
    ds = pydicom.dcmread(study / "S002" / "IM00005.dcm")
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.PixelData = (ds.pixel_array + 1).astype(np.int16).tobytes()
    ds.save_as(study / "S002" / "echo2.dcm")
    with pytest.raises(ModicInputError, match="different images at the same slice position"):
        read_series(_t1_info(study))


def test_uneven_spacing_refused(cases, tmp_path):
    study = _copy(cases[0][1], tmp_path)
    for name, shift in (("IM00005.dcm", 0.6), ("IM00009.dcm", -0.5)):
        ds = pydicom.dcmread(study / "S002" / name)
        ds.ImagePositionPatient = [float(v) + shift * n for v, n in zip(ds.ImagePositionPatient, (-1, 0, 0),
                                                                         strict=True)]
        ds.save_as(study / "S002" / name)
    with pytest.raises(ModicInputError, match="uneven slice spacing"):
        read_series(_t1_info(study))


def test_localiser_slice_in_a_series_dropped_with_a_note(cases, tmp_path):
    study = _copy(cases[0][1], tmp_path)
    ds = pydicom.dcmread(study / "S001" / "ax" / "IM00001.dcm")
    t1 = pydicom.dcmread(study / "S002" / "IM00001.dcm", stop_before_pixels=True)
    ds.SeriesInstanceUID, ds.SeriesNumber, ds.SeriesDescription = t1.SeriesInstanceUID, 2, "SAG T1 TSE"
    ds.save_as(study / "S002" / "loc.dcm")
    info = _t1_info(study)
    assert info.localiser_slices == 1 and info.sequence == "T1"
    vol = read_series(info)
    assert any("dropped 1 localiser slice(s)" in n for n in vol.notes)
    assert np.array_equal(sitk.GetArrayViewFromImage(vol.image), np.rint(sitk.GetArrayViewFromImage(
        cases[0][0].images["T1"])))


def test_undecodable_transfer_syntax_names_syntax_and_package(tmp_path):
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGLosslessSV1

    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    ds.file_meta.TransferSyntaxUID = JPEGLosslessSV1
    ds.PixelData = encapsulate([b"\xff\xd8not a jpeg\xff\xd9"])
    ds["PixelData"].VR = "OB"
    study = tmp_path / "s"
    study.mkdir()
    for k in range(3):
        ds.SOPInstanceUID = f"1.2.3.4.{k}"
        ds.ImagePositionPatient = [0, 0, float(k)]
        ds.save_as(study / f"{k}.dcm", enforce_file_format=True)
    info = scan_study(study)[0]
    with pytest.raises(ModicInputError, match=r"JPEG Lossless.*cannot read — pip install .*pylibjpeg") as exc:
        read_series(info)
    assert "\n" not in str(exc.value)


def test_multiframe_enhanced_mr_reads_like_the_classic_series(cases, tmp_path):
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence
    from pydicom.uid import EnhancedMRImageStorage

    case, study = cases[1]
    files = sorted((study / "S003").iterdir())
    slices = [pydicom.dcmread(f) for f in files]
    first = slices[0]
    ds = copy.deepcopy(first)
    for kw in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness",
               "RepetitionTime", "EchoTime", "SliceLocation"):
        delattr(ds, kw)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = EnhancedMRImageStorage
    ds.NumberOfFrames = len(slices)
    measures, orient, timing, echo = Dataset(), Dataset(), Dataset(), Dataset()
    measures.PixelSpacing, measures.SliceThickness = first.PixelSpacing, first.SliceThickness
    orient.ImageOrientationPatient = first.ImageOrientationPatient
    timing.RepetitionTime, echo.EffectiveEchoTime = first.RepetitionTime, first.EchoTime
    shared = Dataset()
    shared.PixelMeasuresSequence, shared.PlaneOrientationSequence = Sequence([measures]), Sequence([orient])
    shared.MRTimingAndRelatedParametersSequence, shared.MREchoSequence = Sequence([timing]), Sequence([echo])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    order = [3, 0, 2, 1] + list(range(4, len(slices)))          # frames stored out of order
    per = []
    for i in order:
        pos, item = Dataset(), Dataset()
        pos.ImagePositionPatient = slices[i].ImagePositionPatient
        item.PlanePositionSequence = Sequence([pos])
        per.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per)
    ds.PixelData = b"".join(slices[i].PixelData for i in order)
    out = tmp_path / "mf"
    out.mkdir()
    ds.save_as(out / "enhanced.dcm", enforce_file_format=True)
    info = scan_study(out)[0]
    assert info.multiframe and info.frames == len(slices) and info.sequence == "T2" and info.te == 102
    vol = read_series(info)
    assert np.array_equal(sitk.GetArrayViewFromImage(vol.image), np.rint(sitk.GetArrayViewFromImage(case.images["T2"])))
    assert np.allclose(vol.image.GetOrigin(), case.images["T2"].GetOrigin(), atol=1e-5)


def test_pydicom_real_headers_folder_and_dicomdir_agree():
    folder = scan_study(TEST_FILES / "dicomdirtests")
    dicomdir = scan_study(TEST_FILES / "dicomdirtests" / "DICOMDIR")
    assert sorted(s.uid for s in dicomdir) == sorted(s.uid for s in folder if s.uid in {d.uid for d in dicomdir})
    mr = [s for s in dicomdir if s.modality == "MR"]
    assert len(mr) == 7 and all(s.sequence == "other" for s in mr)    # localisers and a MIP: nothing to use
    mip = next(s for s in mr if s.number == 700)
    assert "derived" in mip.reason and mip.localiser_slices == 3
    chosen, notes = select_series(dicomdir)
    assert chosen == {} and notes[0] == "T1: no sagittal T1 series found"
    small = scan_study(get_testdata_file("MR_small.dcm"))
    assert small[0].orientation == "axial" and small[0].tr == 4000 and small[0].te == 240


def test_cli_series_json_and_errors(cases, capsys):
    _, study = cases[1]
    assert main(["series", str(study), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    numbers = {s["uid"]: s["number"] for s in out["series"]}
    assert {seq: numbers[u] for seq, u in out["use"].items()} == {"T1": 2, "T2": 3, "FS": 4}
    assert main(["series", str(study)]) == 0
    text = capsys.readouterr().out
    assert "→ FS     4  Sag T2 FS" in text and "ScanOptions FS" in text
    assert main(["series", str(study), "--fs-series", "42"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--fs-series '42': no such series" in err
    assert main(["series", str(study.parent / "nothing")]) == 2


def test_manifest_study_column(cases, tmp_path):
    from modic.manifest import load_case_images, read_manifest

    case, study = cases[0]
    (tmp_path / "m.csv").write_text(f"case_id,study,t2_series\nc0,{study},SAG T2 TSE\n")
    row = read_manifest(tmp_path / "m.csv").iloc[0]
    images = load_case_images(row)
    assert sorted(images) == ["FS", "T1", "T2"]
    assert np.array_equal(sitk.GetArrayViewFromImage(images["FS"]), np.rint(sitk.GetArrayViewFromImage(
        case.images["FS"])))
    (tmp_path / "bad.csv").write_text(f"case_id,study,t2_series\nc0,{study},99\n")
    with pytest.raises(ModicInputError, match="case c0: --t2-series '99': no such series"):
        load_case_images(read_manifest(tmp_path / "bad.csv").iloc[0])


@pytest.mark.parametrize("name", ["MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm",
                                  "MR_small_bigendian.dcm", "MR_small_implicit.dcm"])
def test_compressed_and_legacy_syntaxes_read_like_the_uncompressed(tmp_path, name):
    """pydicom's MR_small in several transfer syntaxes, stacked into 3-slice series: identical volumes."""
    def stack(source, folder):
        folder.mkdir()
        for k in range(3):
            ds = pydicom.dcmread(get_testdata_file(source))
            ds.SOPInstanceUID = f"{ds.SOPInstanceUID}.{k}"
            ds.ImagePositionPatient = [float(v) + 5.0 * k * n for v, n in zip(ds.ImagePositionPatient, (0, 0, 1),
                                                                              strict=True)]
            ds.save_as(folder / f"{k}.dcm")
        return read_series(scan_study(folder)[0]).image

    ref = stack("MR_small.dcm", tmp_path / "ref")
    img = stack(name, tmp_path / "other")
    assert np.array_equal(sitk.GetArrayViewFromImage(img), sitk.GetArrayViewFromImage(ref))
    assert img.GetSpacing() == pytest.approx(ref.GetSpacing()) and img.GetSpacing()[2] == pytest.approx(5.0)


def test_phantom_cohort_in_dicom_format(tmp_path):
    """`modic phantom --format dicom`: a study folder per case, manifest column `study`, masks NRRD."""
    import pandas as pd

    from modic.manifest import load_case_images, load_case_masks, read_manifest

    assert main(["phantom", "--out", str(tmp_path / "c"), "--cases", "1", "--format", "dicom", "--no-progress"]) == 0
    raw = pd.read_csv(tmp_path / "c" / "manifest.csv")
    assert "study" in raw.columns and not {"t1", "t2", "fs"} & set(raw.columns)
    row = read_manifest(tmp_path / "c" / "manifest.csv").iloc[0]
    images = load_case_images(row)
    masks = load_case_masks(row, images)
    assert sorted(images) == ["FS", "T1", "T2"] and all(sitk.GetArrayViewFromImage(m).sum() > 0
                                                           for m in masks.values())
    numbers = sorted(s.number for s in scan_study(row["study"]))
    assert numbers == [1, 2, 3, 4, 5]
    # the batch engine reads the study column: T2 VoxelVolume = mask voxels × voxel volume (mm³)
    from modic.batch import run_cohort

    params = {"imageType": {"Original": {}}, "featureClass": {"shape": None}, "setting": {"binWidth": 25}}
    run_cohort(tmp_path / "c" / "manifest.csv", tmp_path / "f.csv", params=params, jobs=1, show_progress=False)
    table = pd.read_csv(tmp_path / "f.csv")
    voxels = int(sitk.GetArrayViewFromImage(masks["T2"]).sum()) * np.prod(images["T2"].GetSpacing())
    assert table["T2_original_shape_VoxelVolume"].iloc[0] == pytest.approx(voxels, rel=1e-9)
