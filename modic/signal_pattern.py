"""Step 4: Modic type from the signal pattern — the clinical definition, no training needed.

Lesion signal relative to normal vertebral marrow on each sequence (Modic 1988; paper §2.2.1):

| type | T1 | T2 | FS |
|---|---|---|---|
| I   | low  | high         | high |
| II  | high | iso / high   | low  |
| III | low  | low          | low  |

For each sequence the contrast z = (mean lesion − mean marrow) / SD marrow is turned into a graded
call c = clip(z / threshold, −1, 1) (−1 low, 0 iso, +1 high) and compared with the prototypes above
(II's T2 counts as +0.5); the nearest prototype over the available sequences wins. The same rule on
every lesion voxel (images lightly smoothed, other sequences resampled onto the T2/T1 grid by LPS
coordinates) gives per-type voxel fractions; a lesion whose second type is adjacent (I/II or II/III)
and covers at least `mixed_fraction` of the voxels is reported as mixed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from modic.errors import ModicInputError
from modic.geometry import resample_like
from modic.normalize import sphere_mask, zero_minimum

PROTOTYPES: dict[str, dict[str, float]] = {
    "I": {"T1": -1.0, "T2": 1.0, "FS": 1.0},
    "II": {"T1": 1.0, "T2": 0.5, "FS": -1.0},
    "III": {"T1": -1.0, "T2": -1.0, "FS": -1.0},
}
TYPE_CODES = {"I": 1, "II": 2, "III": 3}
MIXED = {frozenset(("I", "II")): "I/II", frozenset(("II", "III")): "II/III"}


@dataclass
class SignalPattern:
    """Signal-pattern typing result.

    modic_type: "I", "II", "III", "I/II" or "II/III"; modic_code: 1–3 (dominant type);
    ratios: mean lesion / mean marrow (raw intensities) per sequence; contrasts: z per sequence;
    calls: "low"/"iso"/"high" per sequence; fractions: share of lesion voxels per pure type.
    """

    modic_type: str
    modic_code: int
    ratios: dict[str, float]
    contrasts: dict[str, float]
    calls: dict[str, str]
    fractions: dict[str, float] = field(default_factory=dict)
    reference: str = ""

    def as_dict(self) -> dict:
        return {"modic_type": self.modic_type, "modic_code": self.modic_code, "ratios": self.ratios,
                "contrasts": self.contrasts, "calls": self.calls, "fractions": self.fractions,
                "reference": self.reference}


def _nearest_type(calls: Mapping[str, np.ndarray]) -> np.ndarray:
    """Index into PROTOTYPES order of the nearest prototype for graded calls (arrays, any shape)."""
    names = list(PROTOTYPES)
    dist = [sum((calls[s] - PROTOTYPES[t][s]) ** 2 for s in calls) for t in names]
    return np.argmin(np.stack(dist), axis=0)


def _crop_to_mask(image: sitk.Image, mask: sitk.Image, margin: int) -> tuple[sitk.Image, sitk.Image]:
    """Image and mask cropped to the mask's bounding box plus `margin` voxels (same physical space)."""
    arr = sitk.GetArrayViewFromImage(mask)
    nz = np.nonzero(arr)
    if not nz[0].size:
        return image, mask
    lo = [max(int(a.min()) - margin, 0) for a in nz][::-1]
    hi = [min(int(a.max()) + margin + 1, n) for a, n in zip(nz, arr.shape, strict=True)][::-1]
    size = [h - low for h, low in zip(hi, lo, strict=True)]
    return sitk.RegionOfInterest(image, size, lo), sitk.RegionOfInterest(mask, size, lo)


def reference_mask_around_lesion(image: sitk.Image, lesion: sitk.Image, inner_mm: float = 4.0,
                                 outer_mm: float = 12.0) -> sitk.Image:
    """Fallback marrow reference when no point is given: a shell 4–12 mm around the lesion.

    Crude (the shell may touch disc or cortex); the median-based statistics below limit the damage.
    Results record which reference was used.
    """
    dist = sitk.SignedMaurerDistanceMap(sitk.Cast(lesion > 0, sitk.sitkUInt8), insideIsPositive=False,
                                        squaredDistance=False, useImageSpacing=True)
    return sitk.Cast((dist > inner_mm) & (dist <= outer_mm), sitk.sitkUInt8)


def type_from_signal(images: Mapping[str, sitk.Image], masks: Mapping[str, sitk.Image],
                     reference_lps: Sequence[float] | None = None,
                     reference_masks: Mapping[str, sitk.Image] | None = None,
                     threshold: float = 1.0, mixed_fraction: float = 0.3,
                     radius_mm: float = 5.0) -> SignalPattern:
    """Type a lesion from its signal relative to normal marrow (see module docstring).

    images: raw (or linearly normalised) images per sequence; masks: lesion mask on each grid;
    reference_lps: a point in normal marrow (LPS mm); threshold: |z| above which a sequence is
    called low/high.
    """
    seqs = [s for s in ("T1", "T2", "FS") if s in images and s in masks]
    if "T1" not in seqs or len(seqs) < 2:
        raise ModicInputError("signal-pattern typing needs T1 and at least one of T2/FS")
    ratios, contrasts, calls, graded = {}, {}, {}, {}
    ref_desc = ""
    images = {s: zero_minimum(images[s]) for s in seqs}   # z-scored exports: ratios need a 0 minimum
    stats = {}
    for seq in seqs:
        img, les = images[seq], masks[seq]
        if reference_masks and seq in reference_masks:
            ref, ref_desc = resample_like(reference_masks[seq], img, is_label=True), "reference mask"
        elif reference_lps is not None:
            ref, ref_desc = sphere_mask(img, reference_lps, radius_mm), f"sphere r={radius_mm:g} mm"
        else:
            ref, ref_desc = reference_mask_around_lesion(img, les), "shell 4–12 mm around the lesion (fallback)"
        arr = sitk.GetArrayViewFromImage(img).astype(np.float64)
        lv = arr[sitk.GetArrayViewFromImage(les) > 0]
        rv = arr[(sitk.GetArrayViewFromImage(ref) > 0) & (sitk.GetArrayViewFromImage(les) == 0)]
        if lv.size == 0 or rv.size < 5:
            raise ModicInputError(f"{seq}: lesion or marrow reference is empty on this grid — check the "
                                  "mask and the reference point")
        mu_r = float(np.median(rv)) if "fallback" in ref_desc else float(rv.mean())
        sd_r = float(1.4826 * np.median(np.abs(rv - np.median(rv)))) if "fallback" in ref_desc else float(rv.std())
        sd_r = sd_r if sd_r > 0 else 1.0
        stats[seq] = (mu_r, sd_r)
        ratios[seq] = float(lv.mean() / mu_r) if mu_r != 0 else float("nan")
        contrasts[seq] = float((lv.mean() - mu_r) / sd_r)
        graded[seq] = np.clip(np.asarray(contrasts[seq]) / threshold, -1, 1)
        calls[seq] = "high" if contrasts[seq] > threshold else "low" if contrasts[seq] < -threshold else "iso"
    names = list(PROTOTYPES)
    mean_type = names[int(_nearest_type(graded))]

    # voxel-wise typing on the T2 grid (or T1) for mixed lesions
    base = "T2" if "T2" in seqs else "T1"
    grid, lesion_mask = _crop_to_mask(images[base], masks[base], margin=2)
    les = sitk.GetArrayFromImage(lesion_mask) > 0
    vox_calls = {}
    for seq in seqs:
        img = resample_like(sitk.Cast(images[seq], sitk.sitkFloat32), grid)
        img = sitk.Median(img, (1, 1, 0))
        arr = sitk.GetArrayViewFromImage(img).astype(np.float64)[les]
        mu_r, sd_r = stats[seq]
        vox_calls[seq] = np.clip((arr - mu_r) / sd_r / threshold, -1, 1)
    labels = _nearest_type(vox_calls)
    fractions = {t: float(np.mean(labels == i)) for i, t in enumerate(names)}
    modic_type = mean_type
    ranked = sorted(fractions, key=fractions.get, reverse=True)
    second = ranked[1] if ranked[0] == mean_type else ranked[0]
    pair = MIXED.get(frozenset((mean_type, second)))
    if pair and fractions[second] >= mixed_fraction and fractions[mean_type] >= mixed_fraction:
        modic_type = pair
    return SignalPattern(modic_type, TYPE_CODES[mean_type], ratios, contrasts, calls, fractions, ref_desc)
