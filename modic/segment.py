"""Step 2: the Modic lesion mask — segmented from one click, or imported from a label file.

Segmentation from a seed point (LPS mm), using all sequences at once:
1. Work on one grid (T2, else T1, else FS); the other sequences are resampled onto it by physical
   (LPS) coordinates, and everything is cropped to a box around the seed (`search_mm`, or the ROI).
2. Each sequence is scaled by robust statistics of the crop (median / MAD), so scanner gain and
   offset do not matter, and smoothed with an edge-preserving curvature flow.
3. Tissue mixture: a Gaussian mixture (full covariances, scikit-learn) is fitted to the (T1, T2, FS)
   vectors of a sample of voxels within `fit_radius_mm` of the seed; one component starts at the
   seed neighbourhood's mean (a `seed_radius_mm` disc), the others at k-means centres (marrow,
   cortex and endplate, disc, CSF, fat, muscle...). A voxel is lesion when it falls in the component
   that holds most seed-neighbourhood voxels, or in any component whose mean lies within
   `merge_distance` (Mahalanobis, under the seed neighbourhood's own covariance) of the seed
   neighbourhood's mean — a coarse-textured lesion is often shared among two or three components.
4. Mixtures with 5, 6 and 7 other components are fitted (`components`, on `sample_size` voxels) and
   a voxel is kept when the majority agree: one mixture alone sometimes merges the lesion with the
   disc or the marrow.
5. With a normal-marrow reference point, a mixture in which the reference falls in the lesion
   component is discarded (lesion and marrow not separable in it).
6. Clean-up: in-plane opening/closing, holes filled slice by slice, the seed's component kept plus
   every other component ≥ `min_fraction` of its size that stays inside the search box (the lesion on
   the opposite endplate of the same disc), all within `max_extent_mm` of the seed.
   Sclerotic refinement (`sclerotic_refinement`): when the seed neighbourhood is darker than the
   surrounding tissue on T1 and on T2 (the type III pattern), the lesion is nearly iso-intense with
   the disc annulus and the endplate cortex, and a small lesion does not get a mixture component of its
   own. The mask is then re-split: a mixture of the mask's own voxels (`split_components` classes plus
   the seed's, more until the seed's class matches the seed neighbourhood), keeping the classes within
   `merge_distance` of the seed signal; that core is closed in-plane over `hull_mm` (texture inside the
   lesion stays, the disc beyond the endplate goes), cleaned as above and grown back by one voxel within
   the first mask.
7. The mask is mapped to each sequence's own grid (linear interpolation of the mask, threshold 0.5).

With the spine anatomy (`spine=`, a `modic.spine.Spine` from `parse_spine`, a label map or a phantom's ground
truth) steps 3–6 are replaced by one statistical rule that needs no special cases (no mixture, no extent cap,
no sclerotic re-split):
A1. Allowed region = the vertebral body holding the seed + the body across the disc beyond the seed's nearer
    endplate zone (`modic.lesion_anatomy.lesion_region`); never disc, canal or soft tissue.
A2. Marrow deviation (`modic.lesion_marrow.marrow_deviation`): every voxel is compared, per sequence, with its own
    body's normal marrow (robust level and linear trend of the body's lesion-free voxels, MAD units); a voxel is
    lesion when its deviation, projected on the seed's, is about half-way to the lesion's typical signal and
    significant; the seed's connected region plus the facing band across the disc is kept, decided off the
    cortical shell and grown back into it. info["anatomy"] records the bodies, the endplate, the source of the
    anatomy, the lesion's signature (marrow-MAD units per sequence) and the voxels across the disc.
A seed outside every body of the given spine falls back to steps 3–6 (said in info["anatomy"]["note"]).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from modic.errors import ModicInputError
from modic.geometry import format_point, point_lps_to_index, resample_like, same_grid, voxel_centers_lps
from modic.lesion_anatomy import check_mask_anatomy, lesion_region
from modic.spine.model import Spine

__all__ = ["METHOD_VERSION", "SegmentationResult", "check_mask_anatomy", "dice", "import_mask", "mask_to_grid",
           "segment_lesion"]

# Raised whenever a change of the algorithm or its defaults changes masks (batch caches are keyed on it).
# 2: tissue classes merged by seed-signal distance, sclerotic (type III pattern) re-split.
# 3: optional spine anatomy (`spine=`): the mask is confined to the seed's vertebral body and the body across
#    the disc it faces; with anatomy the extent cap and the sclerotic re-split are not applied.
# 4: with anatomy, the lesion = voxels deviating from their own body's normal marrow like the seed (marrow
#    deviation, `modic.lesion_marrow.marrow_deviation`) instead of the mixture vote + contrast union.
METHOD_VERSION = 5   # 5: with a parsed spine the seed's body is continued to the click (modic.lesion_anatomy.SEED_BAND)


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
                   reference_lps: Sequence[float] | None = None, seed_radius_mm: float = 3.5,
                   search_mm: float = 45.0, fit_radius_mm: float = 30.0, max_extent_mm: float | None = None,
                   components: Sequence[int] = (5, 6, 7), smoothing_iterations: int = 3,
                   min_fraction: float = 0.1, closing_radius: int = 2, sample_size: int = 4000,
                   merge_distance: float = 2.0, sclerotic_refinement: bool | None = None, split_components: int = 3,
                   hull_mm: float = 3.0, random_state: int = 0, spine: Spine | None = None,
                   seed_share: float = 1.0, marrow_options: dict | None = None) -> SegmentationResult:
    """Segment a Modic lesion from one seed point (LPS mm) on T1/T2/FS of any geometry.

    roi_lps: optional two opposite box corners (LPS mm) limiting the search; reference_lps: optional
    point in normal marrow; merge_distance: Mahalanobis distance (seed-neighbourhood covariance) within which a
    tissue class counts as lesion; sclerotic_refinement: re-split the mask of a type-III-pattern seed (step 6
    of the module docstring). spine: the case's anatomy (`modic.spine.Spine`, any grid): the mask is confined
    to the seed's vertebral body plus the body across the disc it faces (`modic.lesion_anatomy`) and found by
    the marrow deviation (`modic.lesion_marrow`, settings via `marrow_options`) instead of the mixtures; the
    extent cap (max_extent_mm) and the sclerotic re-split are off unless given explicitly. A seed outside
    every body falls back to the method without anatomy (said in info["anatomy"]). Returns masks on each
    input sequence's grid; info records the settings, the method version and what constrained the mask.
    """
    t0 = time.perf_counter()
    from modic.checks import check_images

    check_images(images)  # NaN / constant / 2D images: one line, before any mixture is fitted
    base = _working_sequence(images)
    grid = images[base]
    seed_idx = point_lps_to_index(grid, seed_lps)
    index, size = _crop_box(grid, seed_idx, search_mm, roi_lps)
    crop_ref = sitk.RegionOfInterest(grid, size, index)
    channels, names = [], []
    for seq in ("T1", "T2", "FS"):
        if seq not in images:
            continue
        names.append(seq)
        img = resample_like(sitk.Cast(images[seq], sitk.sitkFloat32), crop_ref)
        img = sitk.Cast(img, sitk.sitkFloat32)
        img = _robust_scale(img)
        if smoothing_iterations:
            img = sitk.CurvatureFlow(img, timeStep=0.0625, numberOfIterations=smoothing_iterations)
        channels.append(img)
    feats = np.stack([sitk.GetArrayViewFromImage(c) for c in channels], axis=-1).astype(np.float64)
    local_seed = tuple(int(s - i) for s, i in zip(seed_idx, index, strict=True))
    inplane = _box_touching_border(feats.shape[:3])
    seed_ball = _seed_neighbourhood(feats, _ball(crop_ref, local_seed, seed_radius_mm), local_seed, seed_share)
    dist = np.linalg.norm(voxel_centers_lps(crop_ref) - np.asarray(seed_lps, float), axis=-1)  # mm, (k, j, i)
    region = lesion_region(spine, seed_lps, crop_ref) if spine is not None else None
    if region is not None:
        anatomy = dict(region.info)
        extent = max_extent_mm
        sclerotic = bool(sclerotic_refinement)
        allowed = region.allowed & (dist <= extent if extent is not None else True)
        seed_ball = seed_ball & region.allowed if (seed_ball & region.allowed).sum() >= 5 else seed_ball
    else:
        anatomy = {"constrained_by": "none",
                   "note": "no anatomy given" if spine is None else
                   "the seed is not inside a vertebral body of the given spine: segmented without anatomy"}
        extent = 40.0 if max_extent_mm is None else max_extent_mm
        sclerotic = True if sclerotic_refinement is None else bool(sclerotic_refinement)
        allowed = dist <= extent
    ref_idx = None
    if reference_lps is not None:
        try:
            i, j, k = point_lps_to_index(crop_ref, reference_lps)
            ref_idx = (k, j, i)
        except ModicInputError:
            ref_idx = None  # the reference lies outside the search box: nothing to check against
    if region is not None:
        from modic.lesion_marrow import marrow_deviation

        region.allowed = allowed & region.allowed
        arr, dev_info = marrow_deviation(feats, local_seed[::-1], region, crop_ref.GetSpacing(),
                                         seed_radius_mm=seed_radius_mm, min_fraction=min_fraction,
                                         **(marrow_options or {}))
        anatomy.update(dev_info)
        mask, used = _like(arr, crop_ref), 0
    else:
        votes, used = _mixture_votes(feats, seed_ball, dist <= fit_radius_mm, allowed, components,
                                     ref_idx, random_state, sample_size, merge_distance)
        mask = _like(votes * 2 > used, crop_ref)
        mask = _clean(mask, seed_ball, inplane, min_fraction, closing_radius)
    refined = None
    if sclerotic and _sclerotic_pattern(feats[seed_ball], names):
        core = _seed_compatible_core(feats, sitk.GetArrayFromImage(mask).astype(bool), seed_ball, merge_distance,
                                     split_components, hull_mm, crop_ref.GetSpacing(), random_state,
                                     sample_size=sample_size)
        if core is not None:
            first = mask
            mask = _clean(_like(core, first), seed_ball, inplane, min_fraction, closing_radius)
            mask = sitk.And(sitk.BinaryDilate(mask, [1, 1, 0], sitk.sitkBall, 0, 1), first)
            refined = int(sitk.GetArrayViewFromImage(first).sum()) - int(sitk.GetArrayViewFromImage(mask).sum())
    if not sitk.GetArrayViewFromImage(mask).any():
        raise ModicInputError(f"nothing was segmented at seed {format_point(seed_lps)} LPS — place the seed "
                              "inside the lesion (not on the endplate or in the disc)")
    full = sitk.Paste(sitk.Image(grid.GetSize(), sitk.sitkUInt8), mask, mask.GetSize(), [0, 0, 0], index)
    full.CopyInformation(grid)
    masks = {seq: (full if same_grid(images[seq], grid) else mask_to_grid(full, images[seq]))
             for seq in images}
    if region is not None:
        arr = sitk.GetArrayViewFromImage(mask) > 0
        anatomy["voxels_across_disc"] = int((arr & region.facing_body).sum()) if region.facing_body is not None else 0
    info = {"method": "multi-sequence Gaussian-mixture vote" if region is None else
            "marrow deviation inside the spine anatomy", "method_version": METHOD_VERSION,
            "working_sequence": base, "anatomy": anatomy,
            "seed_lps": list(map(float, seed_lps)),
            "reference_lps": None if reference_lps is None else list(map(float, reference_lps)),
            "roi_lps": None if roi_lps is None else [list(map(float, p)) for p in roi_lps],
            "seed_radius_mm": seed_radius_mm, "search_mm": search_mm, "fit_radius_mm": fit_radius_mm,
            "max_extent_mm": extent, "components": list(components), "mixtures_used": int(used),
            "merge_distance": merge_distance, "sclerotic_refinement": sclerotic,
            "split_components": split_components, "hull_mm": hull_mm,
            "sclerotic_voxels_removed": refined,
            "smoothing_iterations": smoothing_iterations, "min_fraction": min_fraction,
            "closing_radius": closing_radius, "sample_size": sample_size, "random_state": random_state,
            "voxels": {s: int(sitk.GetArrayViewFromImage(m).sum()) for s, m in masks.items()},
            "seconds": round(time.perf_counter() - t0, 3)}
    return SegmentationResult(masks=masks, info=info)


def _seed_neighbourhood(feats: np.ndarray, ball: np.ndarray, local_seed: Sequence[int], share: float) -> np.ndarray:
    """The `share` of the seed ball's voxels closest in signal (robust-scaled Euclidean distance) to the median
    of the seed voxel's in-plane 3×3 neighbourhood: a ball wider than a thin lesion then holds lesion only."""
    if share >= 1.0 or ball.sum() < 20:
        return ball
    i, j, k = local_seed
    core = feats[k, max(j - 1, 0):j + 2, max(i - 1, 0):i + 2].reshape(-1, feats.shape[-1])
    d = np.linalg.norm(feats[ball] - np.median(core, axis=0), axis=1)
    keep = d <= np.quantile(d, share)
    out = np.zeros_like(ball)
    out[ball] = keep
    out[k, j, i] = True
    return out


def _sclerotic_pattern(seed_voxels: np.ndarray, names: Sequence[str]) -> bool:
    """True when the seed neighbourhood is below the crop's median on T1 and on T2 (robust-scaled, so the
    median is the surrounding tissue, mostly marrow): the type III signal pattern. Needs T1 and T2."""
    if "T1" not in names or "T2" not in names:
        return False
    mean = seed_voxels.mean(0)
    return bool(mean[names.index("T1")] < 0 and mean[names.index("T2")] < 0)


def _seed_mahalanobis(means: np.ndarray, seed_voxels: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of each class mean (rows) from the seed neighbourhood's mean, under the seed
    neighbourhood's covariance (plus 0.02 on the diagonal, in robust-scaled units)."""
    cov = np.atleast_2d(np.cov(seed_voxels.T)) + 0.02 * np.eye(seed_voxels.shape[1])
    d = means - seed_voxels.mean(0)
    return np.sqrt(np.einsum("ci,ij,cj->c", d, np.linalg.inv(cov), d))


def _seed_compatible_core(feats: np.ndarray, mask: np.ndarray, seed_ball: np.ndarray, merge_distance: float,
                          n_classes: int, hull_mm: float, spacing: Sequence[float], random_state: int,
                          max_extra: int = 3, sample_size: int = 4000) -> np.ndarray | None:
    """The part of `mask` (k, j, i) whose signal matches the seed neighbourhood, closed in-plane over hull_mm.

    A mixture of the mask's own voxels (n_classes k-means classes plus one started at the seed mean; up to
    max_extra more classes while the seed's class lies beyond merge_distance of the seed signal) splits off
    what the first pass merged with the lesion; classes within merge_distance are kept. None when the seed
    neighbourhood lies outside the mask or the mask is too small to split."""
    from scipy.cluster.vq import kmeans2
    from sklearn.mixture import GaussianMixture

    core = seed_ball & mask
    x = feats[mask]
    if core.sum() < 10 or len(x) < 50:
        return None
    seed_voxels = feats[core]
    rng = np.random.default_rng(random_state)
    sample = x[rng.choice(len(x), min(len(x), sample_size), replace=False)]
    for k in range(n_classes, n_classes + max_extra + 1):
        centres, _ = kmeans2(sample, k, seed=random_state, minit="++")
        gm = GaussianMixture(k + 1, covariance_type="full", means_init=np.vstack([seed_voxels.mean(0), centres]),
                             reg_covar=0.02, max_iter=50, random_state=random_state).fit(sample)
        labels = gm.predict(x)
        seed_class = np.bincount(gm.predict(seed_voxels), minlength=k + 1).argmax()
        distance = _seed_mahalanobis(gm.means_, seed_voxels)
        if distance[seed_class] <= merge_distance:
            break
    keep = np.zeros(mask.shape, np.uint8)
    keep[mask] = np.isin(labels, np.flatnonzero(distance <= merge_distance).tolist() + [seed_class])
    radius = [int(round(hull_mm / spacing[0])), int(round(hull_mm / spacing[1])), 0]
    closed = sitk.BinaryMorphologicalClosing(sitk.GetImageFromArray(keep), radius, sitk.sitkBall, 1)
    hull = sitk.GetArrayFromImage(closed).astype(bool)
    for z in range(hull.shape[0]):
        hull[z] = ndimage.binary_fill_holes(hull[z])
    return hull & mask


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


def _mixture_votes(feats: np.ndarray, seed_ball: np.ndarray, fit_region: np.ndarray, region: np.ndarray,
                   components: Sequence[int], reference_idx: tuple[int, int, int] | None, random_state: int,
                   sample_size: int, merge_distance: float = 0.0, max_iter: int = 30) -> tuple[np.ndarray, int]:
    """Per-voxel count (inside `region`) of mixtures that put the voxel in the seed's component (or a component
    within merge_distance of the seed signal; 0 = the seed's component only), and the number of mixtures used."""
    from scipy.cluster.vq import kmeans2
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(random_state)
    pool = feats[fit_region]
    sample = pool[rng.choice(len(pool), min(len(pool), sample_size), replace=False)]
    seed_mean = feats[seed_ball].mean(0)
    inside = feats[region]
    region_votes = np.zeros(len(inside), np.int16)
    seed_in_region = seed_ball[region]
    used = 0
    for k in components:
        centres, _ = kmeans2(sample, int(k), seed=random_state + int(k), minit="++")
        gm = GaussianMixture(int(k) + 1, covariance_type="full", means_init=np.vstack([seed_mean, centres]),
                             reg_covar=0.02, max_iter=max_iter, random_state=random_state)
        with warnings.catch_warnings():
            # max_iter is deliberately short: the majority vote absorbs a not-quite-converged fit
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm.fit(sample)
        labels = gm.predict(inside)
        lesion = np.bincount(labels[seed_in_region], minlength=int(k) + 1).argmax()
        if reference_idx is not None and gm.predict(feats[reference_idx][None])[0] == lesion:
            continue
        lesion_classes = [lesion]
        if merge_distance:
            lesion_classes += np.flatnonzero(_seed_mahalanobis(gm.means_, feats[seed_ball]) <= merge_distance).tolist()
        region_votes += np.isin(labels, lesion_classes)
        used += 1
    if used == 0:
        raise ModicInputError("the lesion cannot be told apart from the normal-marrow reference on these "
                              "sequences — check the seed and reference points")
    votes = np.zeros(feats.shape[:3], np.int16)
    votes[region] = region_votes
    return votes, used


def mask_to_grid(mask: sitk.Image, reference: sitk.Image) -> sitk.Image:
    """Map a binary mask onto another grid: linear interpolation of the mask, threshold at 0.5."""
    frac = sitk.Resample(sitk.Cast(mask > 0, sitk.sitkFloat32), reference, sitk.Transform(),
                         sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    return sitk.Cast(frac >= 0.5, sitk.sitkUInt8)


def dice(a: sitk.Image | np.ndarray, b: sitk.Image | np.ndarray) -> float:
    """Dice coefficient of two binary masks on the same grid (sitk images or numpy arrays; non-zero = inside);
    1.0 when both are empty."""
    x, y = (np.asarray(sitk.GetArrayViewFromImage(m) if isinstance(m, sitk.Image) else m) > 0 for m in (a, b))
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
    from modic.checks import check_label_file

    check_label_file(img, path.name)
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
