"""Is a lesion segmentation plausible? Four checks, so a runaway mask is never returned silently.

A one-click segmentation can leak into the marrow of a whole vertebra, the disc, the canal or the
paraspinal fat (e.g. from T2 alone, where lesion and fluid look alike). Such a mask is written — so it
can be looked at — but flagged: `assess_segmentation` returns ``{"plausible": False, "reasons": [...],
"measures": {...}}``; the CLI prints a warning and writes the flag to segmentation.json / result.json,
the batch engine refuses the case (it never enters a cohort table), the Slicer module shows it.

Checks (thresholds from lumbar anatomy, then checked on phantom cases: benchmarks/plausibility.md):
1. size: more than `max_volume_ml` (40 mL, about one whole adult lumbar vertebral body; a Modic lesion lies
   in the endplate regions of the two bodies next to one disc);
2. the search limit: more than `max_boundary_fraction` of the voxels lie within a voxel of the limit the
   segmentation may not cross (`max_extent_mm` from the seed, the search box / ROI): a mask cut by the
   limit continued beyond it;
3. outside vertebral marrow: with a spine label map (`modic.spine.Spine` or its label image), less than
   `min_marrow_fraction` of the voxels in the vertebral bodies;
4. scattered: more than `max_components` pieces of ≥ 5 % of the mask (a lesion on both endplates of a disc
   is two pieces, often with a lobe or two).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from modic.geometry import voxel_centers_lps


@dataclass(frozen=True)
class PlausibilityLimits:
    """Where a segmentation stops being plausible (see the module docstring)."""

    max_volume_ml: float = 40.0
    max_boundary_fraction: float = 0.02
    min_marrow_fraction: float = 0.5
    max_components: int = 5


BODY_LABELS = tuple(range(10, 19)) + tuple(range(30, 39)) + tuple(range(50, 59))  # marrow + endplate zones


def _spine_labels(spine) -> sitk.Image | None:
    if spine is None:
        return None
    if isinstance(spine, sitk.Image):
        return spine
    return getattr(spine, "labels", None)


def assess_segmentation(mask: sitk.Image, seed_lps: Sequence[float] | None = None, info: Mapping | None = None,
                        spine=None, limits: PlausibilityLimits | None = None) -> dict:
    """Measure a lesion mask (uint8, on its segmentation grid) and say whether it is plausible.

    seed_lps: the click (LPS mm); info: the segmentation's record (search_mm, max_extent_mm, roi_lps);
    spine: a `Spine` or its label image (labels 10-18 marrow, 30-58 endplate zones) on any grid.
    Returns {"plausible", "reasons" (one short sentence each), "measures", "limits"}.
    """
    lim = limits or PlausibilityLimits()
    info = dict(info or {})
    arr = sitk.GetArrayViewFromImage(mask) > 0
    n = int(arr.sum())
    spacing = np.asarray(mask.GetSpacing(), float)
    measures: dict = {"voxels": n, "volume_ml": round(n * float(np.prod(spacing)) / 1000.0, 3)}
    reasons: list[str] = []
    if n == 0:
        return {"plausible": False, "reasons": ["the mask is empty"], "measures": measures,
                "limits": lim.__dict__}
    if measures["volume_ml"] > lim.max_volume_ml:
        reasons.append(f"{measures['volume_ml']:.1f} mL is larger than a Modic lesion can be "
                       f"(limit {lim.max_volume_ml:g} mL, about one whole lumbar vertebral body)")
    idx = np.nonzero(arr)
    lo = np.array([a.min() for a in idx])
    hi = np.array([a.max() for a in idx]) + 1
    if seed_lps is not None:
        centres = voxel_centers_lps(mask, lo[::-1], hi[::-1])  # (k, j, i, 3) LPS mm of the bounding box
        dist = np.linalg.norm(centres - np.asarray(seed_lps, float), axis=-1)
        sub = arr[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        d = dist[sub]
        measures["reach_mm"] = round(float(d.max()), 2)  # recorded; a lesion on both endplates reaches far
        extent = info.get("max_extent_mm")
        step = float(spacing[:2].max())  # in-plane voxel size; slices are thick
        on_limit = np.zeros(len(d), bool)
        if extent:
            on_limit |= d >= float(extent) - 1.5 * step
        on_limit |= _on_box_border(mask, arr, lo, hi, seed_lps, info)
        measures["boundary_fraction"] = round(float(on_limit.mean()), 4)
        if measures["boundary_fraction"] > lim.max_boundary_fraction:
            reasons.append(f"{100 * measures['boundary_fraction']:.0f} % of it lies on the search limit "
                           "(it ran on beyond the region searched)")
    labels, count = ndimage.label(arr, structure=np.ones((3, 3, 3), bool))
    sizes = np.sort(np.bincount(labels.ravel())[1:])[::-1]
    big = int((sizes >= 0.05 * n).sum())
    measures["components"] = int(count)
    measures["large_components"] = big
    measures["main_fraction"] = round(float(sizes[0] / n), 4)
    if big > lim.max_components:
        reasons.append(f"it is scattered over {big} pieces (largest {100 * measures['main_fraction']:.0f} %)")
    labels_img = _spine_labels(spine)
    if labels_img is not None:
        from modic.geometry import resample_like

        lab = sitk.GetArrayViewFromImage(resample_like(labels_img, mask, is_label=True))
        frac = float(np.isin(lab[arr], BODY_LABELS).mean())
        measures["marrow_fraction"] = round(frac, 4)
        if frac < lim.min_marrow_fraction:
            reasons.append(f"only {100 * frac:.0f} % of it lies in vertebral marrow")
    return {"plausible": not reasons, "reasons": reasons, "measures": measures, "limits": lim.__dict__}


def _on_box_border(mask: sitk.Image, arr: np.ndarray, lo: np.ndarray, hi: np.ndarray, seed_lps, info) -> np.ndarray:
    """For each mask voxel in the bounding box (mask order), whether it lies on the in-plane border of the
    search box (`search_mm` around the seed, or the ROI) that the segmentation cannot cross."""
    size = np.array(mask.GetSize())  # (i, j, k)
    roi = info.get("roi_lps")
    if roi:
        corners = np.array([mask.TransformPhysicalPointToContinuousIndex(tuple(map(float, p))) for p in roi])
        b_lo = np.clip(np.floor(corners.min(0)), 0, size).astype(int)
        b_hi = np.clip(np.ceil(corners.max(0)) + 1, 0, size).astype(int)
    elif info.get("search_mm"):
        seed_idx = np.round(mask.TransformPhysicalPointToContinuousIndex(tuple(map(float, seed_lps)))).astype(int)
        half = np.ceil(float(info["search_mm"]) / np.asarray(mask.GetSpacing())).astype(int)
        b_lo, b_hi = np.clip(seed_idx - half, 0, size), np.clip(seed_idx + half + 1, 0, size)
    else:
        return np.zeros(int(arr[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]].sum()), bool)
    k, j, i = np.nonzero(arr[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]])
    i, j = i + lo[2], j + lo[1]
    return (i <= b_lo[0]) | (i >= b_hi[0] - 1) | (j <= b_lo[1]) | (j >= b_hi[1] - 1)


def working_mask(masks: Mapping[str, sitk.Image], info: Mapping | None = None) -> sitk.Image:
    """The mask on the segmentation's working grid (T2, else T1, else FS, as `segment_lesion` chooses)."""
    seq = (info or {}).get("working_sequence")
    if seq in masks:
        return masks[seq]
    for s in ("T2", "T1", "FS"):
        if s in masks:
            return masks[s]
    return next(iter(masks.values()))


def assess_result(masks: Mapping[str, sitk.Image], info: Mapping, seed_lps: Sequence[float] | None,
                  spine=None, warn: bool = True) -> dict:
    """Assess a `SegmentationResult`'s masks and return its info with "plausible" and "plausibility" added;
    emits a `ModicWarning` when the segmentation is not plausible (`warn`)."""
    a = assess_segmentation(working_mask(masks, info), seed_lps, info, spine=spine)
    if warn and not a["plausible"]:
        import warnings

        from modic.errors import ModicWarning

        warnings.warn(warning_text(a), ModicWarning, stacklevel=3)
    return {**info, "plausible": a["plausible"], "plausibility": a}


def checked_for_cohort(seg, seed_lps: Sequence[float], case_id: str) -> dict:
    """`assess_result` for a cohort run: an implausible segmentation raises (the case fails with the reason in
    the error list) instead of entering the feature table silently."""
    info = assess_result(seg.masks, seg.info, seed_lps, warn=False)
    if not info["plausible"]:
        from modic.errors import ModicInputError

        raise ModicInputError(f"case {case_id}: {warning_text(info['plausibility'])}")
    return info


def warning_text(assessment: Mapping) -> str:
    """One line for stderr / a dialog: why the segmentation is not plausible."""
    return ("the segmentation does not look like a Modic lesion: " + "; ".join(assessment.get("reasons", []))
            + " — check the masks and the seed (or give a lesion mask)")
