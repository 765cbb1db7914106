"""Reading and writing images, manifests and output files.

Images are SimpleITK images in LPS physical space (as ITK, NRRD, NIfTI and DICOM define it). Every
reader turns a missing or unreadable file into a `ModicInputError` naming the file; every writer
writes to a temporary file in the target folder and renames it, so a crash never leaves a torn file.
Which outputs may be written at all (never over a file modic did not write, never `--out .` or an input)
is decided in `modic.outputs` (re-exported here: `atomic_directory`, `check_output_dir`,
`check_output_file`, `record_files`); see docs/OUTPUTS.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import SimpleITK as sitk

from modic.errors import ModicInputError
from modic.outputs import (  # noqa: F401 - output safety lives in modic.outputs, re-exported here
    atomic_directory,
    check_location,
    check_output_dir,
    check_output_file,
    record_files,
)

IMAGE_SUFFIXES = (".nrrd", ".nhdr", ".nii", ".nii.gz", ".mha", ".mhd")


def read_image(path: str | os.PathLike, what: str = "image") -> sitk.Image:
    """Read one image file (NRRD, NIfTI, MetaImage) or a DICOM folder holding exactly one series."""
    p = Path(path)
    if not p.exists():
        where = "" if p.is_absolute() else f" (relative to the current folder {Path.cwd()})"
        raise ModicInputError(f"{what} not found: {p} — check the path{where}")
    if p.is_dir():
        return read_dicom_series(p, what=what)
    try:
        image = sitk.ReadImage(str(p))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown error"
        raise ModicInputError(f"cannot read {what} {p}: {first[:200]} — is it a valid NRRD/NIfTI/DICOM "
                              "file?") from None
    from modic.dicomcheck import check_complete  # SimpleITK 2.5.2 (Slicer 5.10) reads truncated DICOM

    check_complete([p], what)
    return image


def list_dicom_series(folder: str | os.PathLike) -> dict[str, list[str]]:
    """Map each DICOM series instance UID under `folder` (recursively) to its sorted file names."""
    folder = Path(folder)
    series: dict[str, list[str]] = {}
    dirs = [folder] + [d for d in sorted(folder.rglob("*")) if d.is_dir()]
    warnings_shown = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)  # GDCM warns on every folder without a series
    try:
        for d in dirs:
            for uid in sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(d)) or ():
                files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(d), uid)
                series.setdefault(uid, []).extend(files)
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(warnings_shown)
    return series


def read_dicom_series(folder: str | os.PathLike, series_uid: str | None = None,
                      what: str = "image") -> sitk.Image:
    """Read one DICOM series from a folder; with several series, `series_uid` must choose one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModicInputError(f"{what} DICOM folder not found: {folder}")
    series = list_dicom_series(folder)
    if not series:
        raise ModicInputError(f"no DICOM series found in {folder} — point to a folder of .dcm files")
    if series_uid is None:
        if len(series) > 1:
            uids = ", ".join(sorted(series))
            raise ModicInputError(f"{folder} holds {len(series)} DICOM series ({uids}) — pass it as --study "
                                  f"{folder} (T1/T2/STIR recognised; `modic series {folder}` lists them) or choose "
                                  "one with series_uid")
        series_uid = next(iter(series))
    if series_uid not in series:
        raise ModicInputError(f"series {series_uid} is not in {folder}; found: {', '.join(sorted(series))}")
    from modic.dicomcheck import check_complete  # SimpleITK 2.5.2 (Slicer 5.10) reads truncated DICOM

    check_complete(series[series_uid], what)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(series[series_uid])
    try:
        return reader.Execute()
    except RuntimeError as exc:
        raise ModicInputError(f"cannot read DICOM series {series_uid} in {folder}: "
                              f"{str(exc).strip().splitlines()[-1][:200]}") from None


def write_image(image: sitk.Image, path: str | os.PathLike, compress: bool = True) -> Path:
    """Write an image atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".nii.gz") else path.suffix
    with atomic_path(path, suffix=suffix) as tmp:
        sitk.WriteImage(image, str(tmp), compress)
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success rename it onto `path`, else delete it."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent)
    except OSError as exc:
        raise ModicInputError(f"cannot write to {path.parent}: {exc.strerror} — choose a writable "
                              "output location") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write text atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_csv(df, path: str | os.PathLike, **kwargs) -> Path:
    """Write a pandas DataFrame as CSV atomically."""
    with atomic_path(path, suffix=".csv") as tmp:
        df.to_csv(tmp, **kwargs)
    return Path(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (hex); for a DICOM folder, of its sorted file contents."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        with open(f, "rb") as fh:
            while block := fh.read(chunk):
                h.update(block)
    return h.hexdigest()


def check_writable_dir(path: str | os.PathLike) -> Path:
    """Make sure `path` can be created/written; raise ModicInputError otherwise (nothing is left)."""
    p = Path(path)
    probe = p
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise ModicInputError(f"output folder {p} is not writable — choose another --out")
    return p


def same_file(paths: Mapping[str, str | os.PathLike]) -> tuple[str, str] | None:
    """The first two keys of `paths` naming the same file (after resolving links and relative parts), or None."""
    seen: dict[str, str] = {}
    for key, path in paths.items():
        real = os.path.realpath(path)
        if real in seen:
            return seen[real], key
        seen[real] = key
    return None


def read_csv_table(path: str | os.PathLike, what: str = "table", dtype=None, allow_no_rows: bool = False):
    """Read a CSV file with one-line errors for the usual ways it goes wrong.

    Missing file, a folder, binary content (NUL bytes: an image, a spreadsheet, a zip), text that is not
    UTF-8, a file pandas cannot parse, an empty file, and (unless `allow_no_rows`) a header without rows.
    Semicolon- or tab-separated files (spreadsheet exports; with a semicolon, decimal commas too) are read
    as such when their header line holds no comma.
    """
    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise ModicInputError(f"{what} not found: {p} — check the path")
    if p.is_dir():
        raise ModicInputError(f"{what} {p} is a folder — give the CSV file")
    try:
        with open(p, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError as exc:
        raise ModicInputError(f"cannot read {what} {p}: {exc.strerror}") from None
    if b"\x00" in head or head[:4] in (b"PK\x03\x04", b"\x89PNG") or head[:2] == b"\x1f\x8b":
        raise ModicInputError(f"{what} {p} is not a text CSV file (binary content) — export it as CSV "
                              "(comma-separated, UTF-8)")
    if not head.strip():
        raise ModicInputError(f"{what} {p} is empty — it needs a header line and one row per case")
    with open(p, "rb") as fh:                      # header and first row whole (a feature table's header is long)
        first, second = fh.readline(), fh.readline()
    sep, decimal = ",", "."
    if b"," not in first and (b";" in first or b"\t" in first):   # spreadsheet exports: ';' (decimal ',') or tabs
        sep = ";" if b";" in first else "\t"
        decimal = "," if sep == ";" and re.search(rb"\d,\d", second) else "."
    try:
        df = pd.read_csv(p, dtype=dtype, sep=sep, decimal=decimal)
    except UnicodeDecodeError:
        raise ModicInputError(f"{what} {p} is not UTF-8 text — save it as CSV UTF-8") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0][:150] if str(exc).strip() else "unreadable"
        raise ModicInputError(f"cannot parse {what} {p}: {first} — is it a CSV file?") from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0 and not allow_no_rows:
        raise ModicInputError(f"{what} {p} has a header but no rows — add one row per case")
    return df
