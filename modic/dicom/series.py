"""Series of a DICOM study: listing, sequence recognition (T1, T2, STIR/FS) and the choice of series to use.

Recognition reads the acquisition tags first — RepetitionTime / EchoTime / InversionTime, ScanOptions,
SequenceName, ScanningSequence, ImageType — and falls back to SeriesDescription keywords only when the
tags say nothing. Keywords are matched as whole words ("FSE" and "FAST" are not fat suppression).
Every decision carries its reason, shown by `modic series`.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modic.errors import ModicInputError

SEQUENCES = ("T1", "T2", "FS")
# T1 weighting: short TR and TE; T2 weighting: long TR and TE (ms)
T1_MAX_TR, T1_MAX_TE = 1000.0, 30.0
T2_MIN_TR, T2_MIN_TE = 1500.0, 60.0
# STIR nulls fat at TI = ln 2 · T1(fat): about 150-170 ms at 1.5 T, about 210-250 ms at 3 T
STIR_TI_MS = (100.0, 280.0)
FS_SCAN_OPTIONS = {"FS", "FAT", "SFS", "FSS", "FATSAT", "SPIR", "SPAIR", "CHESS", "WE"}
FS_WORDS = {"STIR", "TIRM", "FS", "FATSAT", "SPAIR", "SPIR", "FSAT", "FATSUP", "WATER"}
_FS_JOINED = re.compile(r"^(T[12]W?FS|FST[12]|FS\d?T[12])$")
_FS_PHRASE = re.compile(r"FAT[\s_-]*(SAT|SUP)")
NOT_IMAGES = {"SEG", "SR", "PR", "KO", "RTSTRUCT", "REG", "DOC"}
LOCALISER_WORDS = {"LOC", "LOCALIZER", "LOCALISER", "SCOUT", "SURVEY", "PILOT", "TRIPILOT", "3PLANE"}


@dataclass
class SeriesInfo:
    """One series of a study (header facts, recognition and its reason). Times in ms, lengths in mm."""

    uid: str
    number: int | None
    description: str
    modality: str
    files: list[str] = field(default_factory=list)
    instances: int = 0
    frames: int = 0
    orientation: str = "unknown"          # sagittal / axial / coronal / oblique / mixed / unknown
    rows: int | None = None
    columns: int | None = None
    pixel_spacing: tuple[float, float] | None = None   # (row spacing, column spacing) mm
    slice_spacing: float | None = None    # median distance between slice positions, mm
    tr: float | None = None
    te: float | None = None
    ti: float | None = None
    field_strength: float | None = None   # tesla
    scan_options: str = ""
    sequence_name: str = ""
    scanning_sequence: str = ""
    image_type: str = ""
    transfer_syntax: str = ""
    multiframe: bool = False
    localiser_slices: int = 0
    fat_suppressed: bool = False
    fat_reason: str = ""
    sequence: str = "other"               # T1 / T2 / FS / other
    reason: str = ""
    study_uid: str = ""
    used_as: str = ""                     # T1 / T2 / FS when chosen by select_series

    def label(self) -> str:
        """How a radiologist names the series: number and description."""
        return f"{self.number if self.number is not None else '?'} '{self.description}'"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("files")
        return out


# ------------------------------------------------------------------------------------------- scanning


def study_files(path: str | os.PathLike) -> list[Path]:
    """Files of a study folder (recursively) or of a DICOMDIR (the files it references)."""
    p = Path(path)
    if not p.exists():
        raise ModicInputError(f"DICOM study not found: {p} — give a study folder or a DICOMDIR file")
    if p.is_file():
        if p.name.upper() == "DICOMDIR" or _is_dicomdir(p):
            return _dicomdir_files(p)
        return [p]
    dicomdir = p / "DICOMDIR"
    if dicomdir.is_file():
        return _dicomdir_files(dicomdir)
    return [f for f in sorted(p.rglob("*")) if f.is_file() and not f.name.startswith(".")]


def _is_dicomdir(p: Path) -> bool:
    import pydicom

    try:
        ds = pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["MediaStorageSOPClassUID"])
        return str(ds.file_meta.get("MediaStorageSOPClassUID", "")) == "1.2.840.10008.1.3.10"
    except Exception:  # noqa: BLE001 - anything unreadable is simply not a DICOMDIR
        return False


def _dicomdir_files(p: Path) -> list[Path]:
    import pydicom
    from pydicom.fileset import FileSet

    try:
        fs = FileSet(pydicom.dcmread(p))
    except Exception as exc:  # noqa: BLE001
        raise ModicInputError(f"cannot read DICOMDIR {p}: {str(exc).splitlines()[0][:160]} — point to the study "
                              "folder instead") from None
    files = [Path(inst.path) for inst in fs]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise ModicInputError(f"DICOMDIR {p} lists {len(missing)} file(s) that are missing (e.g. {missing[0]}) — "
                              "copy the whole export")
    return files


def scan_study(path: str | os.PathLike) -> list[SeriesInfo]:
    """Read the headers of every DICOM file of a study; one `SeriesInfo` per image series (MR first)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    groups: dict[str, list[tuple[Path, Any]]] = {}
    for f in study_files(path):
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, EOFError, AttributeError, KeyError):
            continue
        if "SeriesInstanceUID" not in ds or "Rows" not in ds or str(ds.get("Modality", "")) in NOT_IMAGES:
            continue  # DICOMDIR, reports, segmentations, presentation states
        groups.setdefault(str(ds.SeriesInstanceUID), []).append((f, ds))
    if not groups:
        raise ModicInputError(f"no DICOM image series found in {path} — point to the exported study folder")
    series = [describe_series(uid, items) for uid, items in groups.items()]
    for s in series:
        recognise(s)
    return sorted(series, key=lambda s: (s.modality != "MR", s.number if s.number is not None else 10**9, s.uid))


def _float(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _multi(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def functional(ds, keyword: str, frame: int | None = None):
    """An attribute from the top level, else from the shared or per-frame functional groups (enhanced MR)."""
    if keyword in ds:
        return ds.get(keyword)
    groups = []
    if "SharedFunctionalGroupsSequence" in ds:
        groups.append(ds.SharedFunctionalGroupsSequence[0])
    if "PerFrameFunctionalGroupsSequence" in ds:
        groups.append(ds.PerFrameFunctionalGroupsSequence[frame or 0])
    for g in groups:
        for item in g:
            if item.VR == "SQ" and len(item.value):
                inner = item.value[0]
                if keyword in inner:
                    return inner.get(keyword)
    return None


def orientation_name(iop) -> str:
    """sagittal / coronal / axial from ImageOrientationPatient (the axis the slice normal is closest to)."""
    if iop is None or len(iop) != 6:
        return "unknown"
    normal = np.cross(np.asarray(iop[:3], float), np.asarray(iop[3:], float))
    if not np.linalg.norm(normal):
        return "unknown"
    normal = np.abs(normal) / np.linalg.norm(normal)
    axis = int(np.argmax(normal))
    if normal[axis] < np.cos(np.radians(45)):
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def _normal(iop) -> np.ndarray | None:
    if iop is None or len(iop) != 6:
        return None
    n = np.cross(np.asarray(iop[:3], float), np.asarray(iop[3:], float))
    return n / np.linalg.norm(n) if np.linalg.norm(n) else None


def describe_series(uid: str, items: list[tuple[Path, Any]]) -> SeriesInfo:
    """Summarise one series' headers (first instance for the acquisition tags, all for the geometry)."""
    ds = items[0][1]
    info = SeriesInfo(uid=uid, number=int(ds.SeriesNumber) if ds.get("SeriesNumber") not in (None, "") else None,
                      description=str(ds.get("SeriesDescription", "") or ds.get("ProtocolName", "") or ""),
                      modality=str(ds.get("Modality", "")), files=[str(f) for f, _ in items], instances=len(items))
    info.study_uid = str(ds.get("StudyInstanceUID", ""))
    info.transfer_syntax = str(ds.file_meta.get("TransferSyntaxUID", "")) if "file_meta" in dir(ds) else ""
    info.multiframe = any(int(d.get("NumberOfFrames", 1) or 1) > 1 for _, d in items)
    info.frames = sum(int(d.get("NumberOfFrames", 1) or 1) for _, d in items)
    info.rows, info.columns = ds.get("Rows"), ds.get("Columns")
    ps = functional(ds, "PixelSpacing")
    info.pixel_spacing = (float(ps[0]), float(ps[1])) if ps is not None and len(ps) == 2 else None
    info.tr = _float(functional(ds, "RepetitionTime"))
    info.te = _float(functional(ds, "EchoTime") or functional(ds, "EffectiveEchoTime"))
    info.ti = _float(functional(ds, "InversionTime") or _first(functional(ds, "InversionTimes")))
    info.field_strength = _float(ds.get("MagneticFieldStrength"))
    info.scan_options = _multi(ds.get("ScanOptions"))
    info.sequence_name = str(ds.get("SequenceName", "") or ds.get("PulseSequenceName", "") or "")
    info.scanning_sequence = _multi(ds.get("ScanningSequence"))
    info.image_type = _multi(ds.get("ImageType"))
    frames = [(d, k) for _, d in items for k in range(int(d.get("NumberOfFrames", 1) or 1))]
    iops = [functional(d, "ImageOrientationPatient", k) for d, k in frames]
    normals = [_normal(i) for i in iops]
    names = [orientation_name(i) for i in iops]
    valid = [n for n in names if n != "unknown"]
    if valid:
        main = max(set(valid), key=valid.count)
        info.localiser_slices = sum(1 for n in names if n != main)
        info.orientation = main if 2 * info.localiser_slices < len(names) else "mixed"
        ref = next(n for n, name in zip(normals, names, strict=True) if name == main)
        pos = sorted(float(np.dot(ref, np.asarray(functional(d, "ImagePositionPatient", k), float)))
                     for (d, k), name in zip(frames, names, strict=True)
                     if name == main and functional(d, "ImagePositionPatient", k) is not None)
        gaps = np.diff(pos)
        gaps = gaps[gaps > 1e-3]
        info.slice_spacing = round(float(np.median(gaps)), 4) if len(gaps) else None
    return info


def _first(value):
    if value is None:
        return None
    try:
        return value[0]
    except (TypeError, IndexError):
        return value


# ---------------------------------------------------------------------------------------- recognition


def words(text: str) -> set[str]:
    """Upper-case whole words of a description ("SAG T2_FSE" → {"SAG", "T2", "FSE"})."""
    return {w for w in re.split(r"[^A-Z0-9+]+", text.upper()) if w}


def fat_suppression(s: SeriesInfo) -> tuple[bool, str]:
    """Is the series fat-suppressed, and from which tag (or description word) that was read."""
    itype = {t.strip().upper() for t in s.image_type.split("\\")}
    if "WATER" in itype or "W" in itype and "DIXON" in itype:
        return True, "Dixon water image (ImageType)"
    opts = {o.strip().upper() for o in s.scan_options.split("\\") if o.strip()}
    hit = opts & FS_SCAN_OPTIONS
    if hit:
        return True, f"ScanOptions {'/'.join(sorted(hit))}"
    seq = s.sequence_name.lower()
    ir = "IR" in s.scanning_sequence.upper().split("\\") or "tir" in seq or "stir" in seq or "ir" in seq.split("_")
    if s.ti is not None and STIR_TI_MS[0] <= s.ti <= STIR_TI_MS[1] and (ir or s.tr is None or s.tr >= T2_MIN_TR):
        field = f" at {s.field_strength:g} T" if s.field_strength else ""
        return True, f"inversion recovery with TI {s.ti:g} ms{field} (STIR nulls fat)"
    if "stir" in seq or "fs" in re.split(r"[^a-z0-9]+", seq):
        return True, f"SequenceName {s.sequence_name!r}"
    w = words(s.description)
    hit = w & FS_WORDS
    if not hit:
        hit = {x for x in w if _FS_JOINED.match(x)}
    if not hit and _FS_PHRASE.search(s.description.upper()):
        hit = {"FAT SAT"}
    if hit:
        return True, f"description word {'/'.join(sorted(hit))} (no fat-suppression tag)"
    return False, ""


def recognise(s: SeriesInfo) -> SeriesInfo:
    """Set `s.sequence` (T1 / T2 / FS / other) and `s.reason` from the series' tags."""
    s.fat_suppressed, s.fat_reason = fat_suppression(s)
    w = words(s.description)
    itype = {t.upper() for t in s.image_type.split("\\")}
    if s.modality != "MR":
        s.sequence, s.reason = "other", f"modality {s.modality or 'unknown'}, not MR"
        return s
    if "LOCALIZER" in itype or w & LOCALISER_WORDS or s.orientation == "mixed":
        s.sequence, s.reason = "other", "localiser (ImageType LOCALIZER or description)"
        return s
    if itype & {"FAT", "OUT_PHASE", "OPP_PHASE", "IN_PHASE"} and "WATER" not in itype:
        s.sequence, s.reason = "other", f"Dixon fat / phase image ({s.image_type}), not a T1/T2/STIR"
        return s
    if itype & {"PROJECTION IMAGE", "MIP", "MPR", "REFORMATTED", "SUBTRACTION"}:
        s.sequence, s.reason = "other", f"derived image ({s.image_type}), not an acquisition"
        return s
    if s.frames < 3:
        s.sequence, s.reason = "other", f"only {s.frames} image(s)"
        return s
    weighting, why = _weighting(s, w)
    if s.fat_suppressed:
        if weighting == "T1":
            s.sequence, s.reason = "other", f"fat-suppressed T1 ({s.fat_reason}; {why}) — not a STIR/T2-FS"
        else:
            s.sequence, s.reason = "FS", s.fat_reason + (f"; {why}" if weighting == "T2" else "")
        return s
    if weighting in ("T1", "T2"):
        s.sequence, s.reason = weighting, why
    else:
        s.sequence, s.reason = "other", why or "no TR/TE and no T1/T2 in the description"
    return s


def _weighting(s: SeriesInfo, w: set[str]) -> tuple[str | None, str]:
    if s.tr is not None and s.te is not None:
        tag = f"TR {s.tr:g} ms, TE {s.te:g} ms"
        if s.tr <= T1_MAX_TR and s.te <= T1_MAX_TE:
            return "T1", f"{tag}: T1-weighted"
        if s.tr >= T2_MIN_TR and s.te >= T2_MIN_TE:
            return "T2", f"{tag}: T2-weighted"
        if s.tr >= T2_MIN_TR and s.te < T1_MAX_TE:
            return None, f"{tag}: proton-density weighted"
        return None, f"{tag}: neither T1 nor T2 weighting"
    found = [x for x in ("T1", "T2") if x in w or any(v.startswith(x) and v[2:] in ("W", "WI", "TSE", "FSE", "SE")
                                                      for v in w)]
    if len(found) == 1:
        return found[0], f"description word {found[0]} (no TR/TE in the headers)"
    return None, ""


# ------------------------------------------------------------------------------------------ selection


def _rank(s: SeriesInfo) -> tuple:
    derived = "DERIVED" in s.image_type.upper()
    return (not derived, s.frames - s.localiser_slices, s.number if s.number is not None else -1)


def select_series(series: list[SeriesInfo], overrides: dict[str, str | None] | None = None,
                  sequences: tuple[str, ...] = SEQUENCES) -> tuple[dict[str, SeriesInfo], list[str]]:
    """Choose one sagittal series per sequence; `overrides` maps "T1"/"T2"/"FS" to a series number,
    description or UID. Returns ({sequence: series}, notes) — a note says which series was taken and why
    whenever there was a choice or nothing was found."""
    overrides = overrides or {}
    chosen: dict[str, SeriesInfo] = {}
    notes: list[str] = []
    for seq in sequences:
        want = overrides.get(seq)
        if want:
            chosen[seq] = find_series(series, want, seq)
            notes.append(f"{seq}: series {chosen[seq].label()} (given)")
            continue
        cands = [s for s in series if s.sequence == seq and s.orientation == "sagittal"]
        if not cands:
            other = [s.label() for s in series if s.sequence == seq]
            notes.append(f"{seq}: no sagittal {seq} series found" +
                         (f" (non-sagittal: {', '.join(other)})" if other else ""))
            continue
        cands.sort(key=_rank, reverse=True)
        chosen[seq] = cands[0]
        if len(cands) > 1:
            rest = ", ".join(s.label() for s in cands[1:])
            notes.append(f"{seq}: {len(cands)} sagittal {seq} series — took {cands[0].label()} over {rest} "
                         f"({_why_first(cands[0], cands[1])})")
    for seq, s in chosen.items():
        s.used_as = seq
    return chosen, notes


def _why_first(a: SeriesInfo, b: SeriesInfo) -> str:
    ra, rb = _rank(a), _rank(b)
    if ra[0] != rb[0]:
        return "original images, the other is derived"
    if ra[1] != rb[1]:
        return f"more slices: {ra[1]} vs {rb[1]}"
    return "the later series number — a repeated series usually replaces a failed one"


def find_series(series: list[SeriesInfo], want: str, seq: str = "") -> SeriesInfo:
    """A series by UID, number or description (exact, then unique substring; case-insensitive)."""
    key = str(want).strip()
    opt = f"--{seq.lower()}-series " if seq else ""
    for test in (lambda s: s.uid == key,
                 lambda s: key.isdigit() and s.number == int(key),
                 lambda s: s.description.strip().lower() == key.lower(),
                 lambda s: key.lower() in s.description.lower()):
        hits = [s for s in series if test(s)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise ModicInputError(f"{opt}{key!r} matches {len(hits)} series ({', '.join(s.label() for s in hits)}) "
                                  "— give the series number or UID")
    listing = "; ".join(s.label() for s in series)
    raise ModicInputError(f"{opt}{key!r}: no such series (by number, description or UID); the study has: {listing}")
