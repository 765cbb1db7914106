"""Writing an LPS image as a classic single-frame MR Image Storage series (pydicom).

Used by `modic phantom --format dicom` to build PACS-like test studies. UIDs are derived from the caller's
`uid_seed` strings, so the same cohort seed writes byte-identical files.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from modic import __version__

UID_PREFIX = "1.2.826.0.1.3680043.10.1387."   # within pydicom's example root; UIDs below are hashed


def uid(*parts: Any) -> str:
    """A deterministic DICOM UID from `parts`."""
    from pydicom.uid import generate_uid

    return str(generate_uid(prefix=UID_PREFIX, entropy_srcs=[str(p) for p in parts]))


def _ds(value: float) -> str:
    """A DS string (≤ 16 characters)."""
    from pydicom.valuerep import format_number_as_ds

    return format_number_as_ds(float(round(value, 6)))


def write_mr_series(image: sitk.Image, folder: str | Path, study: Mapping[str, Any], series: Mapping[str, Any],
                    uid_seed: str) -> list[Path]:
    """Write `image` (integer-valued, LPS) as one MR series, one file per slice along the image's k axis.

    study: PatientName, PatientID, StudyInstanceUID, FrameOfReferenceUID, StudyDate, … (copied);
    series: SeriesNumber, SeriesDescription and MR acquisition attributes (RepetitionTime, EchoTime,
    InversionTime, ScanOptions, SequenceName, ScanningSequence, SequenceVariant, ImageType, …).
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arr = np.rint(sitk.GetArrayFromImage(image)).astype(np.int16)   # (slices, rows, columns)
    direction = np.asarray(image.GetDirection(), float).reshape(3, 3)
    row_dir, col_dir, k_dir = direction[:, 0], direction[:, 1], direction[:, 2]
    sx, sy, sz = image.GetSpacing()
    origin = np.asarray(image.GetOrigin(), float)
    series_uid = uid(uid_seed, "series")
    normal = np.cross(row_dir, col_dir)
    files = []
    for k in range(arr.shape[0]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MRImageStorage
        meta.MediaStorageSOPInstanceUID = uid(uid_seed, "instance", k)
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.SOPClassUID = MRImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        for key, value in study.items():
            setattr(ds, key, value)
        ds.Modality = "MR"
        ds.SeriesInstanceUID = series_uid
        ds.Manufacturer = "ModicRadiomics phantom"
        ds.ManufacturerModelName = "modic.phantom"
        ds.SoftwareVersions = __version__
        ds.BodyPartExamined = "LSPINE"
        ds.PatientPosition = "HFS"
        ds.PositionReferenceIndicator = ""
        ds.MRAcquisitionType = "2D"
        ds.ImagedNucleus = "1H"
        ds.MagneticFieldStrength = _ds(series.get("MagneticFieldStrength", 1.5))
        for key, value in series.items():
            if key != "MagneticFieldStrength":
                setattr(ds, key, value)
        ds.InstanceNumber = k + 1
        position = origin + k * sz * k_dir
        ds.ImagePositionPatient = [_ds(v) for v in position]
        ds.ImageOrientationPatient = [_ds(v) for v in (*row_dir, *col_dir)]
        ds.PixelSpacing = [_ds(sy), _ds(sx)]
        ds.SliceThickness = _ds(series.get("SliceThickness", sz))
        ds.SpacingBetweenSlices = _ds(sz)
        ds.SliceLocation = _ds(float(np.dot(normal, position)))
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = int(arr.shape[1]), int(arr.shape[2])
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        lo, hi = float(arr.min()), float(arr.max())
        ds.WindowCenter, ds.WindowWidth = _ds((lo + hi) / 2), _ds(max(hi - lo, 1))
        ds.PixelData = np.ascontiguousarray(arr[k]).tobytes()
        files.append(folder / f"IM{k + 1:05d}.dcm")
        ds.save_as(files[-1], enforce_file_format=True)
    return files


def study_attributes(case_id: str, uid_seed: str, date: _dt.date | None = None) -> dict[str, Any]:
    """Patient/study attributes shared by every series of one synthetic study."""
    d = (date or _dt.date(2024, 1, 1)).strftime("%Y%m%d")
    return {"PatientName": f"Phantom^{case_id}", "PatientID": case_id, "PatientBirthDate": "",
            "PatientSex": "O", "StudyInstanceUID": uid(uid_seed, "study"), "StudyDate": d, "StudyTime": "090000",
            "SeriesDate": d, "ContentDate": d, "ContentTime": "090000", "ReferringPhysicianName": "",
            "StudyID": "1", "AccessionNumber": "", "StudyDescription": "MR LUMBAR SPINE",
            "FrameOfReferenceUID": uid(uid_seed, "frame-of-reference")}
