"""Step 1 of the paper: signal-intensity normalisation "to eliminate scanner effects".

Methods (recorded with every output):
- `zscore-reference` (default): z = (I − μ_ref) / σ_ref × scale, with μ/σ from normal vertebral marrow
  (a sphere of `radius_mm` around a reference point in LPS mm, or a reference mask per sequence).
  A linear scanner gain/offset cancels exactly, so lesion-to-marrow contrast survives.
- `zscore-image`: the same with μ/σ of the body foreground (Otsu threshold) — when no marrow
  reference is known.
- `pyradiomics`: PyRadiomics' own `normalize` setting (whole-image z-score × `normalizeScale`), applied
  inside feature extraction; the images are passed through unchanged here.
- `none`.
`scale` (default 100) puts normalised intensities on a range where the paper YAML's `binWidth: 25`
gives a sensible number of grey levels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import SimpleITK as sitk

from modic.errors import ModicInputError
from modic.geometry import format_point, resample_like, voxel_centers_lps

METHODS = ("zscore-reference", "zscore-image", "pyradiomics", "none")


@dataclass
class NormalizationRecord:
    """What was done to one sequence: method, reference statistics (raw units), voxels used."""

    method: str
    sequence: str
    reference_mean: float | None = None
    reference_sd: float | None = None
    reference_voxels: int = 0
    reference: str = ""
    scale: float = 100.0

    def as_dict(self) -> dict:
        return asdict(self)


def zero_minimum(image: sitk.Image) -> sitk.Image:
    """`image` as float32, shifted so that its minimum is 0 when it has negative values (a processed, e.g. z-scored,
    export: its minimum stands in for the black of magnitude MR, which signal ratios need); else unchanged."""
    image = sitk.Cast(image, sitk.sitkFloat32)
    low = float(sitk.GetArrayViewFromImage(image).min())
    return image - low if low < 0 else image


def sphere_mask(reference: sitk.Image, center_lps: Sequence[float], radius_mm: float) -> sitk.Image:
    """Binary mask (uint8) of voxels of `reference`'s grid within `radius_mm` of an LPS point."""
    size = np.asarray(reference.GetSize())
    spacing = np.asarray(reference.GetSpacing())
    centre = np.asarray(reference.TransformPhysicalPointToContinuousIndex(tuple(map(float, center_lps))))
    reach = np.ceil(radius_mm / spacing) + 1  # the direction matrix is orthonormal
    lo = np.clip(np.floor(centre - reach), 0, size).astype(int)
    hi = np.clip(np.ceil(centre + reach) + 1, 0, size).astype(int)
    arr = np.zeros(size[::-1], np.uint8)
    if np.all(hi > lo):
        distance = np.linalg.norm(voxel_centers_lps(reference, lo, hi) - np.asarray(center_lps, float), axis=-1)
        arr[lo[2]:hi[2], lo[1]:hi[1], lo[0]:hi[0]] = distance <= radius_mm
    out = sitk.GetImageFromArray(arr)
    out.CopyInformation(reference)
    return out


def _foreground(arr: np.ndarray) -> np.ndarray:
    from skimage.filters import threshold_otsu

    finite = arr[np.isfinite(arr)]
    if finite.size == 0 or np.ptp(finite) == 0:
        return np.ones(arr.shape, bool)
    return arr > threshold_otsu(finite)


def normalize_image(image: sitk.Image, sequence: str, method: str = "zscore-reference",
                    reference_mask: sitk.Image | None = None, reference_lps: Sequence[float] | None = None,
                    radius_mm: float = 5.0, scale: float = 100.0) -> tuple[sitk.Image, NormalizationRecord]:
    """Normalise one image; returns (float32 image on the same grid, record)."""
    if method not in METHODS:
        raise ModicInputError(f"unknown normalisation {method!r}; choose one of {', '.join(METHODS)}")
    if method in ("none", "pyradiomics"):
        return image, NormalizationRecord(method=method, sequence=sequence, scale=scale)
    arr = sitk.GetArrayFromImage(image).astype(np.float64)
    if method == "zscore-image":
        sel, where = _foreground(arr), "body foreground (Otsu)"
    else:
        if reference_mask is not None:
            ref = resample_like(reference_mask, image, is_label=True)
            where = "reference mask"
        elif reference_lps is not None:
            ref = sphere_mask(image, reference_lps, radius_mm)
            where = f"sphere r={radius_mm:g} mm at {format_point(reference_lps)} LPS"
        else:
            raise ModicInputError(f"{sequence}: zscore-reference needs a normal-marrow reference point "
                                  "(reference_lps) or mask — or use normalization 'zscore-image'")
        sel = sitk.GetArrayViewFromImage(ref) > 0
    values = arr[sel]
    if values.size < 5:
        raise ModicInputError(f"{sequence}: the normalisation reference ({where}) covers {values.size} voxels "
                              "of this image — place it inside normal vertebral marrow")
    mu, sd = float(values.mean()), float(values.std(ddof=1))
    if not np.isfinite(sd) or sd <= 0:
        raise ModicInputError(f"{sequence}: the normalisation reference ({where}) has no intensity variation")
    out = sitk.GetImageFromArray(((arr - mu) / sd * scale).astype(np.float32))
    out.CopyInformation(image)
    return out, NormalizationRecord(method, sequence, mu, sd, int(values.size), where, scale)


def normalize_images(images: Mapping[str, sitk.Image], method: str = "zscore-reference",
                     reference_lps: Sequence[float] | None = None,
                     reference_masks: Mapping[str, sitk.Image] | None = None,
                     radius_mm: float = 5.0, scale: float = 100.0) -> tuple[dict[str, sitk.Image], dict]:
    """Normalise every sequence; returns (images, {sequence: record dict})."""
    out, records = {}, {}
    for seq, image in images.items():
        ref_mask = (reference_masks or {}).get(seq)
        out[seq], rec = normalize_image(image, seq, method, ref_mask, reference_lps, radius_mm, scale)
        records[seq] = rec.as_dict()
    return out, records


def pyradiomics_settings(method: str, scale: float = 100.0) -> dict:
    """Extra PyRadiomics `setting` entries a normalisation method needs (only for `pyradiomics`)."""
    return {"normalize": True, "normalizeScale": scale} if method == "pyradiomics" else {}


def lesion_contrast(image: sitk.Image, lesion: sitk.Image, reference: sitk.Image) -> float:
    """(mean lesion − mean reference) / SD reference, all masks on `image`'s grid (dimensionless)."""
    arr = sitk.GetArrayViewFromImage(image).astype(np.float64)
    les = arr[sitk.GetArrayViewFromImage(lesion) > 0]
    ref = arr[sitk.GetArrayViewFromImage(reference) > 0]
    return float((les.mean() - ref.mean()) / ref.std(ddof=1))
