"""Refuse DICOM files whose pixel data is cut short, which some SimpleITK versions read without error.

SimpleITK 2.5.2 — the version 3D Slicer 5.10 bundles — returns an image for a truncated DICOM file
(pydicom's MR_truncated.dcm: 8,130 of 8,192 pixel bytes) where 2.5.5 and later raise; found by running
the core tests in a Slicer-5.10-like environment (`make test-slicer`). The check reads each file with
pydicom (bundled with Slicer) and compares the stored pixel bytes with Rows × Columns × samples × frames
× bits; compressed transfer syntaxes are left to the reader.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from modic.errors import ModicInputError


def is_dicom_file(path: str | os.PathLike) -> bool:
    """True for a DICOM Part 10 file ("DICM" after the 128-byte preamble)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(132)[128:132] == b"DICM"
    except OSError:
        return False


def check_complete(paths: Iterable[str | os.PathLike], what: str = "image") -> None:
    """Raise ModicInputError (one line) for the first DICOM file whose uncompressed pixel data is short."""
    import pydicom

    for path in paths:
        if not is_dicom_file(path):
            continue
        try:
            ds = pydicom.dcmread(str(path))
        except Exception as exc:  # noqa: BLE001 - any parse failure is a bad file
            raise ModicInputError(f"cannot read {what} {Path(path)}: {type(exc).__name__} — is it a valid "
                                  "DICOM file?") from None
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        if "PixelData" not in ds or (syntax is not None and syntax.is_compressed):
            continue
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        bits = int(ds.get("BitsAllocated", 8) or 8)
        expected = (int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1) or 1) * frames * bits + 7) // 8
        stored = len(ds.PixelData)
        if stored < expected:
            raise ModicInputError(f"cannot read {what} {Path(path)}: the DICOM pixel data is truncated ({stored} "
                                  f"of {expected} bytes) — copy or export the file again")
