"""Step 2: the Modic lesion mask — segmented from one click, or imported from a label file.

Segmentation from a seed point (LPS mm), using all sequences at once:
1. Work on one grid (T2, else T1, else FS); the other sequences are resampled onto it by physical
   (LPS) coordinates, and everything is cropped to a box around the seed (`search_mm`, or the ROI).
2. Each sequence is scaled by robust statistics of the crop (median / MAD), so scanner gain and
   offset do not matter, and smoothed with an edge-preserving curvature flow.
3. First estimate: confidence-connected growth from a `seed_radius_mm` disc around the seed — the
   connected set of voxels whose (T1, T2, FS) vector lies within `first_multiplier` Mahalanobis units
   of the seed statistics.
4. Competing tissues: the voxels 6–22 mm around the seed outside that estimate are clustered
   (k-means); every cluster unlike the lesion (normal marrow, cortex and endplate, disc, CSF, fat)
   becomes a Gaussian model. A normal-marrow reference point, if given, adds one more.
5. Final growth (`iterations` rounds, statistics re-estimated): a voxel is lesion when it lies
   within `multiplier` Mahalanobis units of the lesion model AND the lesion model is more likely
   (Gaussian log-likelihood) than every competing tissue.
6. Clean-up: in-plane opening/closing, holes filled slice by slice, the seed's component kept plus
   every other component ≥ `min_fraction` of its size that stays inside the search box (the lesion on
   the opposite endplate of the same disc), all within `max_extent_mm` of the seed.
7. The mask is mapped to each sequence's own grid (linear interpolation of the mask, threshold 0.5).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from modic.errors import ModicInputError
from modic.geometry import format_point, point_lps_to_index, resample_like, same_grid


@dataclass
class SegmentationResult:
    """Lesion masks (uint8, label 1) on every sequence's grid, plus what was done."""

    masks: dict[str, sitk.Image]
    info: dict = field(default_factory=dict)


def _working_sequence(images: Mapping[str, sitk.Image]) -> str:
    for seq in ("T2", "T1", "FS"):
        if seq in images:
            return seq
    raise ModicInputError("no image given — provide at least one of T1, T2, FS")


def _crop_box(grid: sitk.Image, seed_idx: Sequence[int], search_mm: float,
              roi_lps: Sequence[Sequence[float]] | None) -> tuple[list[int], list[int]]:
    size = np.array(grid.GetSize())
    if roi_lps is not None:
        corners = [grid.TransformPhysicalPointToContinuousIndex(tuple(map(float, p))) for p in roi_lps]
        lo = np.floor(np.min(corners, axis=0)).astype(int)
        hi = np.ceil(np.max(corners, axis=0)).astype(int) + 1
    else:
        half = np.ceil(search_mm / np.asarray(grid.GetSpacing())).astype(int)
        lo, hi = np.asarray(seed_idx) - half, np.asarray(seed_idx) + half + 1
    lo, hi = np.clip(lo, 0, size), np.clip(hi, 0, size)
    if np.any(hi - lo < 1):
        raise ModicInputError("the ROI box does not overlap the image — check its LPS corners")
    return lo.tolist(), (hi - lo).tolist()


def _robust_scale(img: sitk.Image) -> sitk.Image:
    arr = sitk.GetArrayViewFromImage(img).astype(np.float64)
    med = float(np.median(arr))
    mad = float(np.median(np.abs(arr - med))) * 1.4826 or float(arr.std()) or 1.0
    out = sitk.GetImageFromArray(((arr - med) / mad).astype(np.float32))
    out.CopyInformation(img)
    return out


def segment_lesion(images: Mapping[str, sitk.Image], seed_lps: Sequence[float],
                   roi_lps: Sequence[Sequence[float]] | None = None,
                   reference_lps: Sequence[float] | None = None, multiplier: float = 3.0,
                   iterations: int = 2, seed_radius_mm: float = 3.5, search_mm: float = 45.0,
                   max_extent_mm: float = 40.0, smoothing_iterations: int = 3,
                   min_fraction: float = 0.1, closing_radius: int = 2,
                   first_multiplier: float = 2.5) -> SegmentationResult:
    """Segment a Modic lesion from one seed point (LPS mm) on T1/T2/FS of any geometry.

    roi_lps: optional two opposite box corners (LPS mm) limiting the search; reference_lps: optional
    point in normal marrow. Returns masks on each input sequence's grid.
    """
    t0 = time.perf_counter()
    base = _working_sequence(images)
    grid = images[base]
    seed_idx = point_lps_to_index(grid, seed_lps)
    index, size = _crop_box(grid, seed_idx, search_mm, roi_lps)
    crop_ref = sitk.RegionOfInterest(grid, size, index)
    channels = []
    for seq in ("T1", "T2", "FS"):
        if seq not in images:
            continue
        img = resample_like(sitk.Cast(images[seq], sitk.sitkFloat32), crop_ref)
        img = sitk.Cast(img, sitk.sitkFloat32)
        img = _robust_scale(img)
        if smoothing_iterations:
            img = sitk.CurvatureFlow(img, timeStep=0.0625, numberOfIterations=smoothing_iterations)
        channels.append(img)
    feats = np.stack([sitk.GetArrayViewFromImage(c) for c in channels], axis=-1).astype(np.float64)
    local_seed = tuple(int(s - i) for s, i in zip(seed_idx, index, strict=True))
    inplane = _box_touching_border(feats.shape[:3])
    seed_ball = _ball(crop_ref, local_seed, seed_radius_mm)
    first, _, _ = _grow(feats, seed_ball, first_multiplier, 1, [])
    competitors = _tissue_models(feats, crop_ref, local_seed, first)
    if reference_lps is not None:
        marrow = _reference_stats(feats, crop_ref, reference_lps)
        competitors += [marrow] if marrow is not None else []
    core, mu, cov = _grow(feats, first, multiplier, iterations, competitors)
    dist = sitk.GetArrayFromImage(_distance_from_point(crop_ref, seed_lps))
    candidates = _lesion_like(feats, mu, cov, multiplier, competitors)
    candidates &= dist <= max_extent_mm
    mask = sitk.GetImageFromArray(candidates.astype(np.uint8))
    mask.CopyInformation(crop_ref)
    mask = _clean(mask, core, inplane, min_fraction, closing_radius)
    if not sitk.GetArrayViewFromImage(mask).any():
        raise ModicInputError(f"nothing was segmented at seed {format_point(seed_lps)} LPS — place the seed "
                              "inside the lesion (not on the endplate or in the disc)")
    full = sitk.Paste(sitk.Image(grid.GetSize(), sitk.sitkUInt8), mask, mask.GetSize(), [0, 0, 0], index)
    full.CopyInformation(grid)
    masks = {seq: (full if same_grid(images[seq], grid) else mask_to_grid(full, images[seq]))
             for seq in images}
    info = {"method": "multi-sequence Mahalanobis region growing", "working_sequence": base,
            "seed_lps": list(map(float, seed_lps)),
            "reference_lps": None if reference_lps is None else list(map(float, reference_lps)),
            "roi_lps": None if roi_lps is None else [list(map(float, p)) for p in roi_lps],
            "multiplier": multiplier, "iterations": iterations, "seed_radius_mm": seed_radius_mm,
            "search_mm": search_mm, "max_extent_mm": max_extent_mm, "smoothing_iterations": smoothing_iterations,
            "min_fraction": min_fraction, "closing_radius": closing_radius, "first_multiplier": first_multiplier,
            "voxels": {s: int(sitk.GetArrayViewFromImage(m).sum()) for s, m in masks.items()},
            "seconds": round(time.perf_counter() - t0, 3)}
    return SegmentationResult(masks=masks, info=info)


def _distance_from_point(grid: sitk.Image, point_lps: Sequence[float]) -> sitk.Image:
    size = grid.GetSize()
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in size], indexing="ij"), axis=-1).reshape(-1, 3)
    direction = np.asarray(grid.GetDirection()).reshape(3, 3)
    pts = np.asarray(grid.GetOrigin()) + (idx * np.asarray(grid.GetSpacing())) @ direction.T
    d = np.linalg.norm(pts - np.asarray(point_lps, float), axis=1).reshape(size).transpose(2, 1, 0)
    out = sitk.GetImageFromArray(d.astype(np.float32))
    out.CopyInformation(grid)
    return out


def _reference_stats(feats: np.ndarray, grid: sitk.Image, reference_lps: Sequence[float]):
    """Marrow mean/covariance from a 5 × 5 voxel in-plane patch (± 1 slice) at an LPS point."""
    try:
        i, j, k = point_lps_to_index(grid, reference_lps)
    except ModicInputError:
        return None  # reference outside the search box: nothing to compare with
    patch = feats[max(k - 1, 0):k + 2, max(j - 3, 0):j + 4, max(i - 3, 0):i + 4].reshape(-1, feats.shape[-1])
    return _stats(patch) if patch.shape[0] >= 5 else None


def _tissue_models(feats: np.ndarray, grid: sitk.Image, seed_idx: Sequence[int], lesion: np.ndarray,
                   inner_mm: float = 6.0, outer_mm: float = 22.0, clusters: int = 6) -> list:
    """Gaussian models of the tissues around the lesion that compete with it (marrow, disc, cortex...).

    The voxels 6–22 mm from the seed (in-plane, seed slice ± 1), outside the first lesion estimate
    `lesion` (dilated), are split into `clusters` groups by k-means (fixed seed); every group of ≥ 20
    voxels whose mean does not look like the lesion (Mahalanobis > 4) becomes a competing model.
    """
    from scipy.cluster.vq import kmeans2

    sp = np.asarray(grid.GetSpacing())
    kk, jj, ii = np.indices(feats.shape[:3])
    d = np.hypot((ii - seed_idx[0]) * sp[0], (jj - seed_idx[1]) * sp[1])
    ring = (d >= inner_mm) & (d <= outer_mm) & (np.abs(kk - seed_idx[2]) <= 1)
    ring &= ~ndimage.binary_dilation(lesion, np.ones((1, 5, 5), bool))
    sample = feats[ring]
    if sample.shape[0] < 50:
        return []
    _, labels = kmeans2(sample, clusters, seed=0, minit="++")
    mu_s, cov_s = _stats(feats[lesion])
    models = []
    for lab in range(clusters):
        part = sample[labels == lab]
        if part.shape[0] >= 20:
            mu_m, cov_m = _stats(part)
            if _mahalanobis(mu_m, mu_s, cov_s) > 4.0:
                models.append((mu_m, cov_m))
    return models


def _loglik(feats: np.ndarray, mu: np.ndarray, cov: np.ndarray) -> np.ndarray:
    return -0.5 * _mahalanobis(feats, mu, cov) - 0.5 * np.log(np.linalg.det(cov))


def _lesion_like(feats: np.ndarray, mu: np.ndarray, cov: np.ndarray, multiplier: float,
                 competitors: list) -> np.ndarray:
    """Voxels within `multiplier` Mahalanobis units of the lesion model and more likely (Gaussian
    log-likelihood, covariance determinant included) lesion than any competing tissue."""
    out = _mahalanobis(feats, mu, cov) <= multiplier ** 2
    ll_lesion = _loglik(feats, mu, cov)
    for mu_t, cov_t in competitors:
        out &= ll_lesion > _loglik(feats, mu_t, cov_t)
    return out


def _clean(mask: sitk.Image, core: np.ndarray, border: np.ndarray, min_fraction: float,
           closing_radius: int = 1) -> sitk.Image:
    """Open/close in-plane, fill holes slice by slice, then keep the seed's component and every other
    component of at least `min_fraction` of its size that does not run into the in-plane border of the
    search box (the lesion's other endplate or lobes, not fat or CSF running off the box)."""
    kernel = [1, 1, 0]  # in-plane only: slices are 3–4 mm thick
    mask = sitk.BinaryMorphologicalOpening(mask, kernel, sitk.sitkBall, 0, 1)
    mask = sitk.BinaryMorphologicalClosing(mask, [closing_radius, closing_radius, 0], sitk.sitkBall, 1)
    arr = sitk.GetArrayFromImage(mask).astype(bool)
    for k in range(arr.shape[0]):
        arr[k] = ndimage.binary_fill_holes(arr[k])
    labels, n = ndimage.label(arr)
    if n == 0:
        return _like(np.zeros_like(arr), mask)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    core_labels = np.unique(labels[core & arr])
    core_labels = core_labels[core_labels > 0]
    if core_labels.size == 0:
        return _like(np.zeros_like(arr), mask)
    main = core_labels[np.argmax(sizes[core_labels])]
    touching = np.unique(labels[border & arr])
    keep = [lab for lab in range(1, n + 1)
            if lab == main or (sizes[lab] >= min_fraction * sizes[main] and lab not in touching)]
    return _like(np.isin(labels, keep), mask)


def _like(arr: np.ndarray, reference: sitk.Image) -> sitk.Image:
    out = sitk.GetImageFromArray(arr.astype(np.uint8))
    out.CopyInformation(reference)
    return out


def _box_touching_border(shape: tuple[int, int, int]) -> np.ndarray:
    """Voxels on the in-plane faces of a (k, j, i) box."""
    border = np.zeros(shape, bool)
    border[:, 0, :] = border[:, -1, :] = True
    border[:, :, 0] = border[:, :, -1] = True
    return border


def _ball(grid: sitk.Image, center_idx: Sequence[int], radius_mm: float) -> np.ndarray:
    """Voxels within radius_mm (physical) of a voxel, on its own slice (k, j, i order)."""
    size = grid.GetSize()
    sp = np.asarray(grid.GetSpacing())
    jj, ii = np.meshgrid(np.arange(size[1]), np.arange(size[0]), indexing="ij")
    d2 = ((ii - center_idx[0]) * sp[0]) ** 2 + ((jj - center_idx[1]) * sp[1]) ** 2
    ball = np.zeros((size[2], size[1], size[0]), bool)
    ball[center_idx[2]] = d2 <= radius_mm ** 2
    return ball


def _mahalanobis(feats: np.ndarray, mu: np.ndarray, cov: np.ndarray) -> np.ndarray:
    d = feats - mu
    return np.einsum("...i,ij,...j->...", d, np.linalg.inv(cov), d)


def _stats(sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = sample.shape[-1]
    cov = np.cov(sample, rowvar=False).reshape(n, n) if sample.shape[0] > 1 else np.zeros((n, n))
    return sample.mean(0), cov + 0.05 * np.eye(n)  # regularised: robust scale units


def _grow(feats: np.ndarray, seed: np.ndarray, multiplier: float, iterations: int, competitors: list):
    """Confidence-connected growth: region = component of {Mahalanobis ≤ multiplier} touching the seed,
    statistics re-estimated from the region `iterations` times. Returns (region, mean, covariance)."""
    region = seed
    mu, cov = _stats(feats[seed])
    for _ in range(iterations):
        cand = _lesion_like(feats, mu, cov, multiplier, competitors)
        labels, _ = ndimage.label(cand)
        hit = np.unique(labels[seed & cand])
        hit = hit[hit > 0]
        if hit.size == 0:
            break
        new = np.isin(labels, hit)
        if new.sum() < 5 or np.array_equal(new, region):
            region = new if new.sum() >= 5 else region
            break
        region = new
        mu, cov = _stats(feats[region])
    return region, mu, cov


def mask_to_grid(mask: sitk.Image, reference: sitk.Image) -> sitk.Image:
    """Map a binary mask onto another grid: linear interpolation of the mask, threshold at 0.5."""
    frac = sitk.Resample(sitk.Cast(mask > 0, sitk.sitkFloat32), reference, sitk.Transform(),
                         sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    return sitk.Cast(frac >= 0.5, sitk.sitkUInt8)


def dice(a: sitk.Image, b: sitk.Image) -> float:
    """Dice coefficient of two binary masks on the same grid."""
    x, y = sitk.GetArrayViewFromImage(a) > 0, sitk.GetArrayViewFromImage(b) > 0
    denom = x.sum() + y.sum()
    return float(2.0 * (x & y).sum() / denom) if denom else 1.0


def import_mask(path: str | Path, reference: sitk.Image, label: int | None = 1,
                segment: str | None = None) -> sitk.Image:
    """Import a lesion mask from a label file (.nii.gz/.nrrd; ITK-SNAP, etc.) or a Slicer .seg.nrrd.

    label: the label value to take from a label map; segment: the segment name in a .seg.nrrd (then
    `label` is ignored). The result is a uint8 mask (1 = lesion) on `reference`'s grid.
    """
    path = Path(path)
    if not path.is_file():
        raise ModicInputError(f"mask file not found: {path}")
    if path.name.endswith(".seg.nrrd") or segment is not None:
        return _import_segment(path, reference, segment)
    from modic.io import read_image

    img = read_image(path, what="mask")
    arr = sitk.GetArrayViewFromImage(img)
    if label is None:
        values = sorted(int(v) for v in np.unique(arr) if v != 0)
        if len(values) != 1:
            raise ModicInputError(f"{path.name} holds labels {values[:10]} — choose one with --label")
        label = values[0]
    sel = arr == label
    if not sel.any():
        present = sorted(int(v) for v in np.unique(arr) if v != 0)[:10]
        raise ModicInputError(f"{path.name} has no voxel with label {label} (labels present: {present}) — "
                              "choose the lesion label with --label")
    out = sitk.GetImageFromArray(sel.astype(np.uint8))
    out.CopyInformation(img)
    return resample_like(out, reference, is_label=True)


def _import_segment(path: Path, reference: sitk.Image, segment: str | None) -> sitk.Image:
    import slicerio

    try:
        seg = slicerio.read_segmentation(str(path))
    except Exception as exc:  # slicerio raises plain exceptions on malformed headers
        raise ModicInputError(f"cannot read segmentation {path.name}: {exc}") from None
    names = [s.get("name", s.get("id")) for s in seg["segments"]]
    if segment is None:
        if len(names) != 1:
            raise ModicInputError(f"{path.name} has segments {names} — choose one with --segment NAME")
        segment = names[0]
    if segment not in names:
        raise ModicInputError(f"{path.name} has no segment named {segment!r}; segments: {names}")
    mask_ijk = slicerio.segment_mask(seg, segment)
    ijk_to_lps = np.asarray(seg["ijkToLPS"], float)
    spacing = np.linalg.norm(ijk_to_lps[:3, :3], axis=0)
    direction = ijk_to_lps[:3, :3] / spacing
    img = sitk.GetImageFromArray(np.ascontiguousarray(mask_ijk.transpose(2, 1, 0)).astype(np.uint8))
    img.SetSpacing(spacing.tolist())
    img.SetDirection(direction.flatten().tolist())
    img.SetOrigin(ijk_to_lps[:3, 3].tolist())
    return resample_like(img, reference, is_label=True)
