"""A synthetic case as a PACS-like DICOM study (`modic phantom --format dicom`).

Series, in acquisition order: 1 a three-plane localiser, 2 sagittal T1, 3 sagittal T2, 4 sagittal STIR (or
T2 with fat saturation), 5 axial T2 through the lesion — the last and the first are the distractors that
series recognition must skip. Two vendor styles alternate between cases so both recognition paths are
exercised: Siemens-like ("SAG T1 TSE", STIR as inversion recovery with TI 150 ms at 1.5 T, SequenceName
*tir2d1_13) and GE-like ("Sag T2 FSE" — FSE is *not* fat suppression — and "Sag T2 FS" with ScanOptions FS).
Pixel values are the phantom's integer-valued intensities (int16), the geometry the phantom grids (LPS).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from modic.dicom.mrwrite import study_attributes, write_mr_series

SIEMENS = {
    "T1": {"SeriesDescription": "SAG T1 TSE", "RepetitionTime": "550", "EchoTime": "11", "EchoTrainLength": 3,
           "ScanningSequence": "SE", "SequenceVariant": ["SK", "SP", "OSP"], "ScanOptions": "",
           "SequenceName": "*tse2d1_3", "FlipAngle": "150"},
    "T2": {"SeriesDescription": "SAG T2 TSE", "RepetitionTime": "3500", "EchoTime": "98", "EchoTrainLength": 17,
           "ScanningSequence": "SE", "SequenceVariant": ["SK", "SP", "OSP"], "ScanOptions": "",
           "SequenceName": "*tse2d1_17", "FlipAngle": "150"},
    "FS": {"SeriesDescription": "SAG STIR", "RepetitionTime": "4000", "EchoTime": "50", "InversionTime": "150",
           "EchoTrainLength": 13, "ScanningSequence": ["SE", "IR"], "SequenceVariant": ["SK", "SP", "MP"],
           "ScanOptions": "IR", "SequenceName": "*tir2d1_13", "FlipAngle": "150"},
}
GE = {
    "T1": {"SeriesDescription": "Sag T1 FSE", "RepetitionTime": "600", "EchoTime": "9.5", "EchoTrainLength": 3,
           "ScanningSequence": "SE", "SequenceVariant": ["SK", "SS"], "ScanOptions": ["FAST_GEMS", "SAT_GEMS"],
           "SequenceName": "fse-xl", "FlipAngle": "90"},
    "T2": {"SeriesDescription": "Sag T2 FSE", "RepetitionTime": "3200", "EchoTime": "102", "EchoTrainLength": 20,
           "ScanningSequence": "SE", "SequenceVariant": ["SK", "SS"], "ScanOptions": ["FAST_GEMS", "EDR_GEMS"],
           "SequenceName": "fse-xl", "FlipAngle": "90"},
    "FS": {"SeriesDescription": "Sag T2 FS", "RepetitionTime": "3400", "EchoTime": "85", "EchoTrainLength": 18,
           "ScanningSequence": "SE", "SequenceVariant": ["SK", "SS"], "ScanOptions": ["FAST_GEMS", "FS"],
           "SequenceName": "fse-xl", "FlipAngle": "90"},
}
AXIAL_T2 = {"SeriesDescription": "AX T2 TSE", "RepetitionTime": "4200", "EchoTime": "105", "EchoTrainLength": 15,
            "ScanningSequence": "SE", "SequenceVariant": ["SK", "SP"], "ScanOptions": "", "SequenceName": "*tse2d1_15"}
LOCALISER = {"SeriesDescription": "LOCALIZER", "RepetitionTime": "8.6", "EchoTime": "4", "ScanningSequence": "GR",
             "SequenceVariant": "SP", "ScanOptions": "", "SequenceName": "*fl2d1", "FlipAngle": "20",
             "EchoTrainLength": 1,             "ImageType": ["ORIGINAL", "PRIMARY", "LOCALIZER", "NONE"]}
SERIES_NUMBERS = {"LOC": 1, "T1": 2, "T2": 3, "FS": 4, "AX": 5}


def vendor_style(index: int) -> str:
    return "siemens" if index % 2 == 0 else "ge"


def _resampled(image: sitk.Image, direction, size, spacing, centre_lps) -> sitk.Image:
    d = np.asarray(direction, float).reshape(3, 3)
    origin = np.asarray(centre_lps, float) - d @ (np.asarray(spacing, float) * (np.asarray(size) - 1) / 2)
    ref = sitk.Image([int(v) for v in size], sitk.sitkFloat32)
    ref.SetSpacing([float(v) for v in spacing])
    ref.SetDirection([float(v) for v in d.ravel()])
    ref.SetOrigin([float(v) for v in origin])
    return sitk.Resample(sitk.Cast(image, sitk.sitkFloat32), ref, sitk.Transform(), sitk.sitkLinear, 0.0)


def write_case_study(case, folder: Path, index: int = 0, seed: int = 0) -> Path:
    """Write one PhantomCase as a study folder `folder` (one sub-folder per series); returns `folder`."""
    style = SIEMENS if vendor_style(index) == "siemens" else GE
    uid_seed = f"modic-phantom/{seed}/{case.case_id}"
    study = study_attributes(case.case_id, uid_seed)
    common = {"ImageType": ["ORIGINAL", "PRIMARY", "OTHER"], "MagneticFieldStrength": 1.5}
    for seq in ("T1", "T2", "FS"):
        n = SERIES_NUMBERS[seq]
        attrs = {**common, **style[seq], "SeriesNumber": n}
        write_mr_series(case.images[seq], folder / f"S{n:03d}", study, attrs, f"{uid_seed}/{seq}")
    t2 = case.images["T2"]
    centre = np.asarray(case.seed_lps, float)
    axial = _resampled(t2, np.eye(3), (192, 192, 5), (1.0, 1.0, 4.0), centre)
    write_mr_series(axial, folder / "S005", study, {**common, **AXIAL_T2, "SeriesNumber": 5}, f"{uid_seed}/AX")
    # localiser: one sagittal, one coronal and one axial slice in one series
    loc_dir = folder / "S001"
    planes = {"sag": (0, 0, -1, 1, 0, 0, 0, -1, 0), "cor": (1, 0, 0, 0, 0, -1, 0, 1, 0), "ax": tuple(np.eye(3).ravel())}
    for i, (name, d) in enumerate(planes.items()):
        plane = _resampled(case.images["T1"], d, (128, 128, 1), (2.5, 2.5, 8.0), centre)
        written = write_mr_series(plane, loc_dir / name, study, {**common, **LOCALISER, "SeriesNumber": 1},
                                  f"{uid_seed}/LOC")
        _renumber(written[0], i, uid_seed)
    return folder


def _renumber(path: Path, i: int, uid_seed: str) -> None:
    """Give the i-th localiser plane its own instance number and SOP instance UID (same series)."""
    import pydicom

    from modic.dicom.mrwrite import uid

    ds = pydicom.dcmread(path)
    ds.InstanceNumber = i + 1
    ds.SOPInstanceUID = uid(uid_seed, "localiser", i)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(path, enforce_file_format=True)
