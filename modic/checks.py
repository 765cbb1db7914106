"""Input checks shared by the CLI, the batch engine, the pipeline and the Slicer logic.

Each check raises a one-line `ModicInputError` (what, which file or sequence, what to do) before any
numerical library sees the data, so a bad image never ends in a scikit-learn or PyRadiomics traceback.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import SimpleITK as sitk

from modic.errors import ModicInputError


def check_image(image: sitk.Image, what: str = "image") -> None:
    """Refuse images no step can use: not 3D, multi-component, impossible geometry (`check_geometry`), no finite
    value, NaN/inf voxels, constant."""
    if not isinstance(image, sitk.Image):
        raise ModicInputError(f"{what} is not an image ({type(image).__name__}) — pass a SimpleITK image")
    if image.GetDimension() != 3:
        raise ModicInputError(f"{what} is {image.GetDimension()}D — modic needs a 3D volume (a stack of slices)")
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise ModicInputError(f"{what} has {image.GetNumberOfComponentsPerPixel()} components per voxel (colour "
                              "or vector image) — give the grey-value MR image")
    if min(image.GetSize()) < 1:
        raise ModicInputError(f"{what} has no voxels (size {image.GetSize()})")
    check_geometry(image, what)
    arr = sitk.GetArrayViewFromImage(image)
    if np.issubdtype(arr.dtype, np.floating):
        finite = np.isfinite(arr)
        n_bad = int(arr.size - np.count_nonzero(finite))
        if n_bad == arr.size:
            raise ModicInputError(f"{what} has no finite value (every voxel is NaN or infinite) — re-export "
                                  "the image")
        if n_bad:
            raise ModicInputError(f"{what} has {n_bad:,} NaN or infinite voxel(s) of {arr.size:,} — replace them "
                                  "(e.g. with 0) or re-export the image")
    lo, hi = arr.min(), arr.max()
    if lo == hi:
        raise ModicInputError(f"{what} is constant (every voxel = {float(lo):g}) — a blank or wrongly exported "
                              "image; check the file")


MAX_SPACING_MM = 20.0        # MR voxels: 0.2–10 mm (a 2D series' slice spacing with its gap included)
MAX_EXTENT_MM = 2500.0       # a whole-body composite is under 2 m along the body
DIRECTION_TOLERANCE = 0.01   # DICOM orientation cosines carry ~1e-5 of rounding; a shear is far beyond this


def check_geometry(image: sitk.Image, what: str = "image") -> None:
    """Refuse a geometry no MR scan has: a voxel spacing that is not positive and finite or above
    `MAX_SPACING_MM`, a field of view above `MAX_EXTENT_MM` along an axis (spacing in µm or m written as mm), or a
    direction matrix that is not orthonormal (a shear or a scaling: positions in LPS mm would be wrong)."""
    spacing = np.asarray(image.GetSpacing(), float)
    if not np.all(np.isfinite(spacing)) or np.any(spacing <= 0):
        raise ModicInputError(f"{what} has voxel spacing {tuple(spacing.round(4))} mm — every spacing must be "
                              "positive; fix the file's header (spacing) or re-export the image")
    extent = spacing * np.asarray(image.GetSize(), float)
    if spacing.max() > MAX_SPACING_MM or extent.max() > MAX_EXTENT_MM:
        raise ModicInputError(f"{what} has voxel spacing {' × '.join(f'{v:g}' for v in spacing)} mm "
                              f"(field of view up to {extent.max() / 1000:.1f} m) — not an MR scan's geometry; "
                              "check the spacing in the file's header (units must be mm)")
    direction = np.asarray(image.GetDirection(), float).reshape(3, 3)
    if not np.all(np.isfinite(direction)) or np.abs(direction.T @ direction - np.eye(3)).max() > DIRECTION_TOLERANCE:
        raise ModicInputError(f"{what} has a direction matrix that is not orthonormal (a sheared or scaled "
                              "orientation) — positions would be wrong; re-export the image from the scanner data")


LABEL_MAP_MAX_VALUES = 64   # an MR image has thousands of grey values; a label map a few dozen at most


def check_not_label_map(image: sitk.Image, what: str = "image") -> None:
    """Refuse a label map (a mask or a segmentation: at most `LABEL_MAP_MAX_VALUES` distinct whole-number values)
    given where a grey-value MR image is needed."""
    arr = sitk.GetArrayViewFromImage(image)
    sample = arr.ravel()[:: max(1, arr.size // 200_000)]   # an MR image shows its many grey values at once
    values = np.unique(sample)
    if len(values) > LABEL_MAP_MAX_VALUES or np.any(values != np.round(values)):
        return
    values = np.unique(arr)
    if len(values) <= LABEL_MAP_MAX_VALUES and not np.any(values != np.round(values)):
        shown = ", ".join(f"{v:g}" for v in values[:6]) + (" …" if len(values) > 6 else "")
        raise ModicInputError(f"{what} looks like a label map, not an MR image ({len(values)} distinct values: "
                              f"{shown}) — give the grey-value image (a label map goes to --spine or --mask)")


def check_images(images: Mapping[str, sitk.Image], names: Mapping[str, str] | None = None) -> None:
    """`check_image` for every sequence; `names` (sequence → file) makes the messages name the files."""
    for seq, image in images.items():
        where = f"{seq} image" + (f" {names[seq]}" if names and names.get(seq) else "")
        check_image(image, where)


def check_label_file(mask: sitk.Image, name: str) -> None:
    """ModicInputError when a mask file holds fractional values (a probability map or a grey-value image)."""
    arr = sitk.GetArrayViewFromImage(mask)
    if arr.dtype.kind == "f" and np.any(arr != np.round(arr)):
        frac = np.unique(arr[arr != np.round(arr)])[:3]
        raise ModicInputError(f"{name} holds non-integer values ({', '.join(f'{v:g}' for v in frac)} …) — a "
                              "probability map or a grey-value image, not a label map; threshold it into a label "
                              "file (lesion = 1) first")


def check_lesion_mask(mask: sitk.Image, mask_name: str, image_name: str) -> None:
    """Refuse a lesion mask (already on the image's grid) that misses the image or is a single voxel."""
    n = int(np.count_nonzero(sitk.GetArrayViewFromImage(mask)))
    if n == 0:
        raise ModicInputError(f"the lesion mask {mask_name} does not overlap the {image_name} (no lesion voxel "
                              "falls inside it) — check that mask and image belong to the same study "
                              "(origin, direction, spacing)")
    if n == 1:
        raise ModicInputError(f"the lesion mask {mask_name} covers a single voxel of the {image_name} — draw "
                              "the whole lesion")


def check_image_mapping(images, what: str = "images") -> dict[str, sitk.Image]:
    """`images` as a dict of name → 3D scalar SimpleITK image (a single image becomes {"image1": it}), each
    checked by `check_image`; anything else is a one-line ModicInputError saying what to pass."""
    if isinstance(images, sitk.Image):
        images = {"image1": images}
    if not isinstance(images, Mapping):
        raise ModicInputError(f"{what} must be a dict of sequence name → SimpleITK image, e.g. "
                              f"{{'T1': t1, 'T2': t2}}; got {type(images).__name__}")
    if not images:
        raise ModicInputError(f"no image given ({what} is empty) — pass at least one MR image")
    for name, image in images.items():
        check_image(image, f"image {name}")
    return dict(images)


def sequence_images(images, sequences=("T1", "T2", "FS")) -> dict[str, sitk.Image]:
    """`images` keyed by sequence name (T1, T2, FS; any case, and STIR or FATSAT for FS), checked; a key that
    names no sequence is a one-line ModicInputError."""
    if not isinstance(images, Mapping):
        raise ModicInputError(f"images must be a dict of sequence name → SimpleITK image, e.g. {{'T1': t1, "
                              f"'T2': t2}}; got {type(images).__name__}")
    out = {}
    for key, image in images.items():
        name = str(key).strip().upper()
        name = "FS" if name in ("STIR", "FATSAT") else name
        if name not in sequences:
            raise ModicInputError(f"image key {key!r} names no sequence — use {', '.join(sequences)} "
                                  f"(got {', '.join(repr(k) for k in images)})")
        if name in out:
            raise ModicInputError(f"two images for {name} ({', '.join(repr(k) for k in images)}) — give one each")
        out[name] = image
    check_image_mapping(out)
    return out
