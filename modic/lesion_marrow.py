"""The one-click lesion inside known bone: voxels that deviate from their own vertebral body's normal marrow the
way the seed does (`marrow_deviation`, used by `modic.segment.segment_lesion(spine=...)`).

A Modic change is vertebral marrow whose signal has moved away from normal marrow in a type-specific direction
(T1 / T2 / FS). With the anatomy known (`modic.lesion_anatomy.lesion_region`: the seed's body and the body across
the disc it faces), the lesion is found by one statistical comparison instead of tissue classes and special cases:

1. Normal marrow per body and sequence. First pass: median and MAD of the body's half away from the lesion's disc
   (off the cortex; the other body's far half when the own one looks like the seed: a lesion filling its body).
   Second pass: a plane (intercept + linear trend: the coil's non-uniformity over one vertebra) fitted robustly to
   the body's voxels without the first pass's candidates. Each voxel gets z = (signal − normal) / MAD per sequence.
2. Lesion signature L (z per sequence): first pass, the median z of the seed-ball voxels at least half-way toward
   the seed's own 3×3 neighbourhood (a ball wider than a thin band still gives the band's signal); second pass,
   the median z of the first pass's lesion (a textured lesion's typical signal, not its brightest patch).
3. A voxel is a candidate when its z projected on L reaches `level` of |L| (about half-way: the partial-volume
   boundary) and at least `min_z` (a weighted Stouffer statistic, N(0, 1) in normal marrow: significance).
4. Connected lesion, decided off the body's outer shell (in-plane depth < `shell_mm`: cortex and partial volume,
   which would connect every dark candidate around the body): the seed's component plus every component
   ≥ `min_fraction` of it that touches the seed-side endplate zone or the facing one across the disc and shares
   slices with it (the lesion's other band); closed in-plane over `close_mm`, holes filled. The mask then grows
   back into the shell through candidates closer (z units) to the lesion than to the body's own rim far from the
   lesion, and not beyond the lesion's own signal range (`beyond_q` quantile: cortex darker than a type III
   lesion is not lesion).
All arrays are numpy (k, j, i) on the segmentation crop; spacing is given in SimpleITK (x, y, z) order, mm.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from modic.lesion_anatomy import LesionRegion, far_half

__all__ = ["marrow_deviation"]

INPLANE = np.ones((1, 3, 3), bool)


def marrow_deviation(feats: np.ndarray, seed_kji: Sequence[int], region: LesionRegion, spacing_xyz: Sequence[float],
                     level: float = 0.4, min_z: float = 3.0, seed_radius_mm: float = 3.5, min_fraction: float = 0.1,
                     shell_mm: float = 1.5, close_mm: float = 2.0, beyond_q: float = 0.95) -> tuple[np.ndarray, dict]:
    """Lesion mask (bool, k-j-i) inside `region` for the seed voxel `seed_kji`, from `feats` (k, j, i, sequence:
    any per-sequence affine scaling); see the module docstring for the steps. Returns the mask and an info dict
    (the lesion's signature in marrow-MAD units per sequence and the settings)."""
    spacing_kji = np.asarray(spacing_xyz, float)[::-1]
    pairs = [(b, zn) for b, zn in ((region.seed_body, region.seed_zone), (region.facing_body, region.facing))
             if b is not None and b.any()]
    bodies = [b for b, _ in pairs]
    inner = [ndimage.binary_erosion(b, INPLANE) for b in bodies]
    halves = [far_half(b, zn, spacing_kji) for b, zn in pairs]
    fits = [f & h for f, h in zip(inner, halves, strict=True)]
    k, j, i = seed_kji
    near = np.zeros(feats.shape[:3], bool)
    near[k, max(j - 1, 0):j + 2, max(i - 1, 0):i + 2] = True
    near_in = near & region.allowed if (near & region.allowed).any() else near
    seed_signal = np.median(feats[near_in], axis=0)
    # a far half that looks like the seed (less than half as far from it as the other): use the other body's
    far = [float(np.linalg.norm(np.median(feats[f], axis=0) - seed_signal)) if f.sum() >= 30 else 0.0 for f in fits]
    refs = [fits[int(np.argmax(far))] if dist < 0.5 * max(far) else f for f, dist in zip(fits, far, strict=True)]
    core = _body_core(region, spacing_kji, shell_mm)
    ball = _disc_ball(feats.shape[:3], seed_kji, spacing_kji, seed_radius_mm) & region.allowed
    mask = np.zeros(feats.shape[:3], bool)
    lesion = np.zeros(feats.shape[-1])
    for npass in range(2):
        z = np.zeros(feats.shape, float)
        for body, fit, ref in zip(bodies, fits, refs, strict=True):
            if npass == 0 or (fit & body).sum() < 30:  # too little lesion-free marrow left: keep the reference
                z[body] = _reference_z(feats[body], feats[ref] if ref.sum() >= 30 else feats[body])
            else:
                z[body] = _body_plane_z(feats, body, fit, spacing_kji)
        if mask.sum() >= 20:
            lesion = np.median(z[mask], axis=0)
        else:
            d = np.median(z[near_in], axis=0)
            zb = z[ball]
            like = zb @ d / (float(d @ d) or 1.0) >= 0.5
            lesion = np.median(zb[like], axis=0) if like.sum() >= 3 else d
        norm = float(np.linalg.norm(lesion)) or 1.0
        proj = z @ lesion / norm
        cand = region.allowed & (proj >= level * norm) & (proj >= min_z)
        # shell voxels may join when closer to the lesion than to the body's own rim away from the lesion
        shell_ok = core.copy()
        for body, half in zip(bodies, halves, strict=True):
            shell = body & ~core
            rim = shell & half
            if rim.sum() >= 20:
                rim_signal = np.median(z[rim], axis=0)
                shell_ok[shell] = (np.linalg.norm(z[shell] - lesion, axis=-1)
                                   < np.linalg.norm(z[shell] - rim_signal, axis=-1))
            else:
                shell_ok |= body
        mask = _connected_lesion(cand, seed_kji, region, core, shell_ok, proj / norm, spacing_kji, min_fraction,
                                 shell_mm, close_mm, beyond_q)
        fits = [f & ~ndimage.binary_dilation(cand, INPLANE) for f in inner]
    info = {"method": "marrow deviation (each body's own normal marrow, seed signature)",
            "lesion_vs_marrow_mad": [round(float(v), 2) for v in lesion], "level": level, "min_z": min_z}
    return mask, info


def _reference_z(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Robust z of the rows of `x` against reference voxels `ref` (median and MAD per sequence)."""
    med = np.median(ref, axis=0)
    mad = 1.4826 * np.median(np.abs(ref - med), axis=0)
    return (x - med) / np.where(mad > 0, mad, 1.0)


def _body_plane_z(feats: np.ndarray, body: np.ndarray, fit: np.ndarray, spacing_kji: np.ndarray,
                  iterations: int = 3) -> np.ndarray:
    """z (n_body_voxels × n_sequences) of the body's voxels against a plane (intercept + linear trend in mm)
    fitted by least squares to the `fit` voxels, dropping those beyond 3 MAD and refitting (`iterations`)."""
    x = feats[body]
    use0 = fit[body]
    pts = np.argwhere(body) * spacing_kji
    design = np.column_stack([np.ones(len(pts)), pts - pts.mean(axis=0)])
    z = np.zeros_like(x)
    for s in range(x.shape[1]):
        use = use0.copy()
        for _ in range(iterations):
            coef, *_ = np.linalg.lstsq(design[use], x[use, s], rcond=None)
            resid = x[:, s] - design @ coef
            mad = 1.4826 * float(np.median(np.abs(resid[use] - np.median(resid[use])))) or 1.0
            keep = use0 & (np.abs(resid) <= 3 * mad)
            if keep.sum() < 30:
                break
            use = keep
        z[:, s] = resid / mad
    return z


def _disc_ball(shape, seed_kji, spacing_kji, radius_mm) -> np.ndarray:
    """Voxels within radius_mm (in-plane) of the seed, on its slice."""
    k, j, i = seed_kji
    jj, ii = np.meshgrid(np.arange(shape[1]), np.arange(shape[2]), indexing="ij")
    out = np.zeros(shape, bool)
    out[k] = ((jj - j) * spacing_kji[1]) ** 2 + ((ii - i) * spacing_kji[2]) ** 2 <= radius_mm ** 2
    return out


def _body_core(region: LesionRegion, spacing_kji: np.ndarray, shell_mm: float) -> np.ndarray:
    """Voxels of the seed's body and the body across the disc deeper than `shell_mm` (in-plane) from the border."""
    core = np.zeros(region.allowed.shape, bool)
    for body in (region.seed_body, region.facing_body):
        if body is None:
            continue
        for kk in np.flatnonzero(body.any(axis=(1, 2))):
            core[kk] |= ndimage.distance_transform_edt(body[kk], sampling=spacing_kji[1:]) > shell_mm
    return core


def _closing_disk(spacing_kji: np.ndarray, radius_mm: float) -> np.ndarray:
    rj, ri = (int(np.ceil(radius_mm / sp)) for sp in spacing_kji[1:])
    jj, ii = np.mgrid[-rj:rj + 1, -ri:ri + 1]
    return (jj * spacing_kji[1]) ** 2 + (ii * spacing_kji[2]) ** 2 <= radius_mm ** 2 + 1e-6


def _connected_lesion(cand: np.ndarray, seed_kji, region: LesionRegion, core: np.ndarray, shell_ok: np.ndarray,
                      frac: np.ndarray, spacing_kji: np.ndarray, min_fraction: float, shell_mm: float,
                      close_mm: float, beyond_q: float) -> np.ndarray:
    """Step 4 of the module docstring: components in the core, then grown back into the shell."""
    arr = cand & core
    k, j, i = seed_kji
    win = (k, slice(max(j - 1, 0), j + 2), slice(max(i - 1, 0), i + 2))
    arr[win] |= cand[win]  # the seed stays, even on the shell
    disk = _closing_disk(spacing_kji, close_mm) if close_mm > 0 else np.ones((3, 3), bool)
    pad = max(disk.shape)
    for kk in np.flatnonzero(arr.any(axis=(1, 2))):
        closed = ndimage.binary_closing(np.pad(arr[kk], pad), disk)[pad:-pad, pad:-pad]
        arr[kk] = ndimage.binary_fill_holes(arr[kk] | closed)
    arr &= region.allowed
    labels, n = ndimage.label(arr)
    seeds = [lab for lab in np.unique(labels[win]) if lab > 0]
    if not seeds:
        return np.zeros_like(arr)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    main = max(seeds, key=lambda lab: sizes[lab])
    touching = set(np.unique(labels[(region.facing | region.seed_zone) & arr]).tolist())
    main_slices = set(np.flatnonzero((labels == main).any(axis=(1, 2))).tolist())
    keep = [main]
    for lab in touching - {0, main}:
        if sizes[lab] >= min_fraction * sizes[main] and \
                main_slices & set(np.flatnonzero((labels == lab).any(axis=(1, 2))).tolist()):
            keep.append(lab)
    mask = np.isin(labels, keep)
    through = cand & region.allowed & shell_ok
    if (mask & core).sum() >= 20:  # beyond the lesion's own signal range (cortex darker than type III): not lesion
        through &= frac <= max(1.0, float(np.quantile(frac[mask & core], beyond_q)))
    steps = int(np.ceil(shell_mm / min(spacing_kji[1:]))) + 1
    return mask | ndimage.binary_dilation(mask, INPLANE, iterations=steps, mask=through)
