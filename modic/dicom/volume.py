"""One DICOM series → a SimpleITK image (LPS), with the checks real exports need.

Slices are ordered along the slice normal (row × column direction, so the image frame is right-handed);
slice k of the image comes from `SeriesVolume.frames[k]` (file, frame, SOP instance UID), which the DICOM
SEG writer uses to reference the source instances. Each problem is one line: localiser slices mixed into a
series are dropped with a note; exact duplicates are dropped with a note; missing slices, uneven spacing,
several images at one position and undecodable compressed transfer syntaxes are refused, saying what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from modic.dicom.series import SeriesInfo, functional
from modic.errors import ModicInputError

ANGLE_TOL_DEG = 3.0          # slices whose normal differs more are not part of the stack (localisers)
SAME_POSITION_MM = 0.01
MISSING_FACTOR = 1.5         # a gap ≥ 1.5 × the median spacing is a missing slice
UNEVEN_TOL = 0.10            # gaps differing > 10 % from the median: refused (resampling would invent data)


@dataclass
class Frame:
    """One 2D image of a series. `position_lps`: ImagePositionPatient (LPS mm) of the first voxel."""

    file: str
    index: int                    # frame index within the file (0 for single-frame files)
    sop_instance_uid: str
    position_lps: np.ndarray
    row_dir: np.ndarray
    col_dir: np.ndarray
    pixel_spacing: tuple[float, float]
    shape: tuple[int, int]


@dataclass
class SeriesVolume:
    image: sitk.Image
    info: SeriesInfo
    frames: list[Frame]
    notes: list[str] = field(default_factory=list)


def _frames(info: SeriesInfo) -> list[Frame]:
    import pydicom

    out = []
    for f in info.files:
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        n = int(ds.get("NumberOfFrames", 1) or 1)
        for k in range(n):
            ipp = functional(ds, "ImagePositionPatient", k)
            iop = functional(ds, "ImageOrientationPatient", k)
            ps = functional(ds, "PixelSpacing", k)
            if ipp is None or iop is None or ps is None:
                raise ModicInputError(f"series {info.label()}: {f} has no ImagePositionPatient/ImageOrientationPatient/"
                                      "PixelSpacing — not a 3D acquisition (a secondary capture or screenshot?)")
            out.append(Frame(str(f), k, str(ds.SOPInstanceUID), np.asarray(ipp, float), np.asarray(iop[:3], float),
                             np.asarray(iop[3:], float), (float(ps[0]), float(ps[1])), (int(ds.Rows), int(ds.Columns))))
    return out


def _normal(fr: Frame) -> np.ndarray:
    n = np.cross(fr.row_dir, fr.col_dir)
    return n / np.linalg.norm(n)


def install_hint(ts) -> str:
    """Which packages would decode transfer syntax `ts` (from pydicom's decoder plugins)."""
    from pydicom.pixels import get_decoder

    try:
        missing = get_decoder(ts).missing_dependencies
    except NotImplementedError:
        return "no Python decoder exists — convert the files first (gdcmconv --raw, or dcmdjpeg / dcmdrle)"
    options = []
    for line in missing:
        reqs = line.split("requires", 1)[-1]
        pkgs = [r.strip().split(">")[0].split("=")[0] for r in reqs.split(" and ")]
        options.append("pip install " + " ".join("python-gdcm" if p == "gdcm" else p for p in pkgs))
    return (" or ".join(options) or "install a pydicom pixel-data plugin") + " (or convert with gdcmconv --raw)"


def _decoder_available(ts) -> bool:
    from pydicom.pixels import get_decoder

    if not ts.is_compressed:
        return True
    try:
        return bool(get_decoder(ts).is_available)
    except NotImplementedError:
        return False


def _read_pixels(info: SeriesInfo, frames: list[Frame]) -> np.ndarray:
    """Stored values × RescaleSlope + RescaleIntercept, shape (slices, rows, columns)."""
    import pydicom
    from pydicom.uid import UID

    by_file: dict[str, list[int]] = {}
    for i, fr in enumerate(frames):
        by_file.setdefault(fr.file, []).append(i)
    out = np.zeros((len(frames), *frames[0].shape), np.float64)
    for f, idx in by_file.items():
        ds = pydicom.dcmread(f)
        ts = UID(str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2.1")))
        multi = int(ds.get("NumberOfFrames", 1) or 1) > 1
        if _decoder_available(ts):
            try:
                arr = ds.pixel_array
            except Exception as exc:  # noqa: BLE001 - any decoder failure becomes one line
                raise ModicInputError(f"series {info.label()}: cannot decode {f} ({ts.name}): "
                                      f"{str(exc).splitlines()[0][:120]}") from None
        elif not multi:
            arr = _sitk_pixels(f, ts, info)
        else:
            raise ModicInputError(f"series {info.label()} is compressed as {ts.name} ({ts}), which the installed "
                                  f"decoders cannot read — {install_hint(ts)}")
        arr = arr if multi else arr[None]
        for i in idx:
            k = frames[i].index
            slope = _num(functional(ds, "RescaleSlope", k), 1.0)
            intercept = _num(functional(ds, "RescaleIntercept", k), 0.0)
            out[i] = arr[k].astype(np.float64) * slope + intercept
    return out


def _sitk_pixels(f: str, ts, info: SeriesInfo) -> np.ndarray:
    """Decode with SimpleITK's GDCM (it bundles JPEG, JPEG-LS and JPEG 2000 codecs); rescale undone."""
    try:
        img = sitk.ReadImage(f)
    except RuntimeError:
        raise ModicInputError(f"series {info.label()} is compressed as {ts.name} ({ts}), which the installed "
                              f"decoders cannot read — {install_hint(ts)}") from None
    import pydicom

    ds = pydicom.dcmread(f, stop_before_pixels=True)
    arr = sitk.GetArrayFromImage(img).reshape(int(ds.Rows), int(ds.Columns)).astype(np.float64)
    slope, intercept = _num(ds.get("RescaleSlope"), 1.0), _num(ds.get("RescaleIntercept"), 0.0)
    return (arr - intercept) / slope  # GDCM applied the rescale already; _read_pixels applies it once


def _num(v, default: float) -> float:
    try:
        return float(v) if v not in (None, "") else default
    except (TypeError, ValueError):
        return default


def read_series(info: SeriesInfo) -> SeriesVolume:
    """Read one series into an LPS image; raise ModicInputError (one line) on what cannot be repaired."""
    from pydicom.uid import UID

    what = f"series {info.label()}"
    ts = UID(info.transfer_syntax or "1.2.840.10008.1.2.1")
    if ts.is_compressed and not _decoder_available(ts) and info.multiframe:
        raise ModicInputError(f"{what} is compressed as {ts.name} ({ts}), which the installed decoders cannot "
                              f"read — {install_hint(ts)}")
    frames = _frames(info)
    notes: list[str] = []
    normals = np.array([_normal(f) for f in frames])
    # majority orientation: the normal shared (within ANGLE_TOL_DEG, either sign) by most frames
    agree = np.abs(normals @ normals.T) >= np.cos(np.radians(ANGLE_TOL_DEG))
    main = int(np.argmax(agree.sum(axis=1)))
    keep = agree[main]
    if not keep.all():
        notes.append(f"{what}: dropped {int((~keep).sum())} localiser slice(s) whose orientation differs from the "
                     f"other {int(keep.sum())}")
        frames = [f for f, k in zip(frames, keep, strict=True) if k]
    if len(frames) < 2:
        raise ModicInputError(f"{what} holds a single slice — not a volume; choose another series")
    ref = frames[0]
    for f in frames:
        if (f.shape != ref.shape or not np.allclose(f.pixel_spacing, ref.pixel_spacing, atol=1e-3)
                or not np.allclose(f.row_dir, ref.row_dir, atol=1e-3) or not np.allclose(f.col_dir, ref.col_dir,
                                                                                          atol=1e-3)):
            raise ModicInputError(f"{what}: slices differ in size, pixel spacing or orientation — it is not one "
                                  "stack; re-export the series or choose another")
    normal = _normal(ref)
    frames.sort(key=lambda f: float(np.dot(normal, f.position_lps)))
    pos = np.array([float(np.dot(normal, f.position_lps)) for f in frames])
    pixels = _read_pixels(info, frames)
    # duplicates: the same position twice
    dup = np.flatnonzero(np.diff(pos) < SAME_POSITION_MM)
    if len(dup):
        drop = []
        for i in dup:
            if frames[i].sop_instance_uid == frames[i + 1].sop_instance_uid or np.array_equal(pixels[i], pixels[i + 1]):
                drop.append(i + 1)
            else:
                raise ModicInputError(f"{what} holds different images at the same slice position ({pos[i]:.2f} mm) — "
                                      "several echoes, phases or repeats in one series; export one per series or "
                                      "choose another series")
        notes.append(f"{what}: dropped {len(drop)} duplicated slice(s)")
        keep_idx = [i for i in range(len(frames)) if i not in set(drop)]
        frames, pos, pixels = [frames[i] for i in keep_idx], pos[keep_idx], pixels[keep_idx]
    gaps = np.diff(pos)
    spacing = float(np.median(gaps))
    big = np.flatnonzero(gaps >= MISSING_FACTOR * spacing)
    if len(big):
        i = int(big[0])
        n_missing = int(round(gaps[i] / spacing)) - 1
        raise ModicInputError(f"{what}: {n_missing} slice(s) missing between positions {pos[i]:.2f} and "
                              f"{pos[i + 1]:.2f} mm (gap {gaps[i]:.2f} mm, spacing {spacing:.2f} mm) — re-export the "
                              "complete series from PACS")
    if np.max(np.abs(gaps - spacing)) > UNEVEN_TOL * spacing:
        raise ModicInputError(f"{what}: uneven slice spacing ({gaps.min():.2f}–{gaps.max():.2f} mm) — the slices are "
                              "not one regular stack; re-export the series or choose another")
    if np.max(np.abs(gaps - spacing)) > 0.01 * spacing:
        spacing = float(np.mean(gaps))
        notes.append(f"{what}: slice spacing varies slightly ({gaps.min():.3f}–{gaps.max():.3f} mm); used the mean "
                     f"{spacing:.3f} mm")
    image = sitk.GetImageFromArray(_cast(pixels))
    image.SetSpacing((ref.pixel_spacing[1], ref.pixel_spacing[0], spacing))
    image.SetOrigin(tuple(float(v) for v in frames[0].position_lps))
    image.SetDirection(tuple(float(v) for v in np.column_stack([ref.row_dir, ref.col_dir, normal]).ravel()))
    return SeriesVolume(image=image, info=info, frames=frames, notes=notes)


def _cast(pixels: np.ndarray) -> np.ndarray:
    if np.all(np.mod(pixels, 1) == 0):
        if pixels.min() >= -32768 and pixels.max() <= 32767:
            return pixels.astype(np.int16)
        if pixels.min() >= -(2**31) and pixels.max() < 2**31:
            return pixels.astype(np.int32)
    return pixels.astype(np.float32)
