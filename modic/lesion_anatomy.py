"""Where a Modic lesion may lie, from the spine anatomy (`modic.spine.Spine`).

A Modic change is vertebral marrow against an endplate: never disc, canal or soft tissue. With a parsed (or
labelled) spine the one-click segmentation is confined to

* the vertebral body holding the seed point, and
* the body across the disc the seed faces (the disc beyond the nearer endplate zone), where only regions
  touching that body's endplate zone facing the same disc are kept (the lesion's other band).

`check_mask_anatomy` applies the same knowledge to an imported mask: a warning when most of it lies
outside bone. Points are LPS millimetres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from modic.geometry import format_point, resample_like
from modic.spine.model import LEVELS, Spine, _index_to_lps, endplate_label, label_name, vertebra_label


@dataclass
class LesionRegion:
    """Allowed voxels (bool, numpy k-j-i order on the crop grid) and the facing endplate zone of the body
    across the disc; info says which structures were used."""

    allowed: np.ndarray
    facing: np.ndarray                       # endplate zone of the body across the disc, facing the disc
    seed_zone: np.ndarray                    # the seed body's endplate zone on the seed's side
    facing_body: np.ndarray | None = None    # the whole body across the disc (None: not in the spine)
    seed_body: np.ndarray | None = None      # the whole body holding the seed
    info: dict = field(default_factory=dict)
    far_halves: list = field(default_factory=list)  # halves of both bodies away from the disc (marrow candidates)


def _labels_on(spine: Spine, grid: sitk.Image) -> np.ndarray:
    return sitk.GetArrayFromImage(resample_like(spine.labels, grid, is_label=True))


def _body_values(level: str) -> list[int]:
    return [vertebra_label(level), endplate_label(level, "superior"), endplate_label(level, "inferior")]


def seed_body_and_side(spine: Spine, seed_lps: Sequence[float]) -> tuple[str | None, str | None]:
    """(level, "superior" | "inferior") of the body holding the seed and of its nearer endplate zone;
    (None, None) when the seed is not inside a vertebral body of the spine."""
    value = spine.label_at(seed_lps)
    if not value:
        return None, None
    kind, name = label_name(value)
    if kind == "disc":
        return None, None
    level = name.split()[0]
    if kind == "endplate":
        return level, name.split()[1]
    # central marrow: the nearer endplate zone (distance from the seed to the zone's voxels, mm)
    lab = sitk.GetArrayViewFromImage(spine.labels)
    seed = np.asarray(seed_lps, float)
    best, side = np.inf, None
    for s in ("superior", "inferior"):
        idx = np.argwhere(lab == endplate_label(level, s))
        if not len(idx):
            continue
        d = float(np.min(np.linalg.norm(_index_to_lps(spine.labels, idx) - seed, axis=1)))
        if d < best:
            best, side = d, s
    return level, side


def neighbour_across(spine: Spine, level: str, side: str) -> str | None:
    """The body across the disc beyond `side` of `level` (e.g. ("L4", "inferior") → "L5"), if in the spine."""
    k = LEVELS.index(level) + (1 if side == "inferior" else -1)
    if not 0 <= k < len(LEVELS):
        return None
    other = LEVELS[k]
    return other if spine.structure(other) is not None else None


def lesion_region(spine: Spine, seed_lps: Sequence[float], grid: sitk.Image) -> LesionRegion | None:
    """The voxels of `grid` where the lesion of the seed may lie (see module docstring); None when the
    seed is not inside a vertebral body of `spine` (the caller falls back to the unconstrained method)."""
    level, side = seed_body_and_side(spine, seed_lps)
    if level is None:
        return None
    lab = _labels_on(spine, grid)
    seed_body = np.isin(lab, _body_values(level))
    allowed = seed_body.copy()
    facing = np.zeros(lab.shape, bool)
    seed_zone = lab == endplate_label(level, side) if side else np.zeros(lab.shape, bool)
    other = neighbour_across(spine, level, side) if side else None
    facing_body = None
    if other is not None:
        facing_body = np.isin(lab, _body_values(other))
        allowed |= facing_body
        facing = lab == endplate_label(other, "superior" if side == "inferior" else "inferior")
    info = {"constrained_by": "spine", "body": level, "endplate": side, "body_across_disc": other,
            "source": spine.info.get("source", spine.info.get("method", "spine")),
            "naming_certain": bool(spine.naming_certain)}
    spacing = np.asarray(grid.GetSpacing())[::-1]
    halves = [_far_half(seed_body, seed_zone, spacing)]
    if facing_body is not None:
        halves.append(_far_half(facing_body, facing, spacing))
    return LesionRegion(allowed, facing, seed_zone, facing_body, seed_body, info, [h for h in halves if h.sum() >= 30])


def _far_half(body: np.ndarray, zone: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """The part of `body` beyond its centroid, away from its endplate `zone` (mm-scaled k-j-i coordinates)."""
    if not body.any() or not zone.any():
        return body
    pts = np.argwhere(body) * spacing
    c = pts.mean(axis=0)
    away = c - (np.argwhere(zone) * spacing).mean(axis=0)
    out = np.zeros_like(body)
    out[body] = (pts - c) @ away > 0
    return out


def check_mask_anatomy(mask: sitk.Image, spine: Spine, min_bone_fraction: float = 0.5) -> str | None:
    """A one-line warning when less than `min_bone_fraction` of a lesion mask lies inside vertebral bodies
    (any level, endplate zones included) of `spine`; None when the mask sits in bone (or is empty).

    The mask is mapped onto the spine's grid by physical (LPS) coordinates (nearest neighbour)."""
    m = sitk.GetArrayViewFromImage(resample_like(sitk.Cast(mask > 0, sitk.sitkUInt8), spine.labels,
                                                 is_label=True)) > 0
    total = int(m.sum())
    if total == 0:
        return None
    lab = sitk.GetArrayViewFromImage(spine.labels)[m]
    bone = (lab >= 10) & (lab < 70)
    frac = float(bone.mean())
    if frac >= min_bone_fraction:
        return None
    disc = float(((lab >= 70) & (lab < 80)).mean())
    centre = _index_to_lps(spine.labels, np.argwhere(m).mean(axis=0)[None])[0]
    return (f"only {100 * frac:.0f}% of the lesion mask ({total} voxels, centre {format_point(centre)} LPS) lies "
            f"in a vertebral body ({100 * disc:.0f}% in a disc) — check that the mask is the Modic lesion and "
            "that it is aligned with the images")


def bone_fraction(mask: sitk.Image, spine: Spine) -> float:
    """Share of a mask's voxels inside vertebral bodies of `spine` (1.0 for an empty mask)."""
    m = sitk.GetArrayViewFromImage(resample_like(sitk.Cast(mask > 0, sitk.sitkUInt8), spine.labels,
                                                 is_label=True)) > 0
    if not m.any():
        return 1.0
    lab = sitk.GetArrayViewFromImage(spine.labels)[m]
    return float(((lab >= 10) & (lab < 70)).mean())


def _reference_z(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Robust z of the rows of `x` against reference voxels `ref` (median and MAD per sequence)."""
    med = np.median(ref, axis=0)
    mad = 1.4826 * np.median(np.abs(ref - med), axis=0)
    return (x - med) / np.where(mad > 0, mad, 1.0)


def _body_trend_z(feats: np.ndarray, body: np.ndarray, fit: np.ndarray, spacing_kji: np.ndarray,
                  trend: bool = True, iterations: int = 3) -> np.ndarray:
    """Deviation (robust z, per sequence) of every voxel of `body` from the body's own normal marrow.

    Normal marrow is modelled per sequence as a constant, or with `trend` as a plane in space (intercept + linear
    trend over the body: the coil's intensity non-uniformity at the scale of one vertebra), fitted by least
    squares on the `fit` voxels of the body (off the cortex, no lesion candidate), dropping voxels beyond 3 MAD
    and refitting (`iterations`). Returns z (n_body_voxels × n_sequences): residual / MAD of the residuals."""
    x = feats[body]
    use0 = fit[body]
    if use0.sum() < 30:
        use0 = np.ones(len(x), bool)
    if trend:
        pts = np.argwhere(body) * spacing_kji
        design = np.column_stack([np.ones(len(pts)), pts - pts.mean(axis=0)])
    else:
        design = np.ones((len(x), 1))
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


def marrow_deviation(feats: np.ndarray, seed_kji: Sequence[int], region: LesionRegion, spacing_xyz: Sequence[float],
                     level: float = 0.4, min_z: float = 3.0, seed_radius_mm: float = 3.5,
                     min_fraction: float = 0.1, shell_mm: float = 1.5, max_level: float | None = None,
                     grow: bool = True, abs_z: float | None = None, signature: str = "mask",
                     passes: int = 2, max_residual: float | None = None,
                     sigma_mm: float = 0.0, rim_test: bool | str = True, end_frac: float = 0.0,
                     beyond_q: float | None = 0.95, close_mm: float = 2.0,
                     max_tan: float | None = None, min_seq_frac: float | None = None) -> tuple[np.ndarray, dict]:
    """The lesion inside bone: voxels of the seed's body (and the body across the disc) that deviate from their
    own body's normal marrow the way the seed does.

    1. Per body and sequence: z = deviation from the body's normal-marrow plane (`_body_trend_z`).
    2. Lesion signature L (z per sequence) = median z of the seed-ball voxels that lie at least half-way toward
       the seed's own 3×3 in-plane neighbourhood signal (a ball wider than a thin band gives the band's signal).
    3. A voxel is lesion when its z projected on L is at least `level` of L (half-way: the partial-volume
       boundary) AND the combined deviation z·L/|L| (a weighted Stouffer statistic, N(0,1) in normal marrow)
       reaches `min_z`.
    4. The seed's connected component plus every component ≥ `min_fraction` of it touching the seed-side
       endplate zone or the facing endplate zone of the body across the disc; holes filled slice by slice.
    Refit once with the candidates excluded from the marrow fit. Returns the mask (k, j, i) and info."""
    spacing_kji = np.asarray(spacing_xyz, float)[::-1]
    bodies = [b for b in (region.seed_body, region.facing_body) if b is not None and b.any()]
    k, j, i = seed_kji
    inner = [ndimage.binary_erosion(b, np.ones((1, 3, 3), bool)) for b in bodies]
    zones = [region.seed_zone, region.facing]
    # first pass: marrow = the half of each body away from the lesion's disc (constant level)
    fits = [f & _far_half(b, zn, spacing_kji) for f, b, zn in zip(inner, bodies, zones, strict=False)]
    mask = np.zeros(feats.shape[:3], bool)
    info: dict = {}
    # a far half that looks like the seed (a lesion filling its body) is replaced by the other body's far half
    near0 = np.zeros(feats.shape[:3], bool)
    near0[k, max(j - 1, 0):j + 2, max(i - 1, 0):i + 2] = True
    seed_signal = np.median(feats[near0 & region.allowed] if (near0 & region.allowed).any() else feats[near0], axis=0)
    far = [float(np.linalg.norm(np.median(feats[f], axis=0) - seed_signal)) if f.sum() >= 30 else 0.0 for f in fits]
    refs = [fits[int(np.argmax(far))] if dist < 0.5 * max(far) else f for f, dist in zip(fits, far, strict=True)]
    for npass in range(passes):
        z = np.zeros(feats.shape, float)
        for body, fit, ref in zip(bodies, fits, refs, strict=True):
            if npass == 0:
                z[body] = _reference_z(feats[body], feats[ref] if ref.sum() >= 30 else feats[body])
            else:
                z[body] = _body_trend_z(feats, body, fit, spacing_kji, trend=True)
        near = np.zeros(feats.shape[:3], bool)
        near[k, max(j - 1, 0):j + 2, max(i - 1, 0):i + 2] = True
        near &= region.allowed
        d = np.median(z[near], axis=0) if near.any() else z[k, j, i]
        ball = _disc_ball(feats.shape[:3], seed_kji, spacing_kji, seed_radius_mm) & region.allowed
        zb = z[ball]
        dd = float(d @ d) or 1.0
        like = zb @ d / dd >= 0.5
        lesion = np.median(zb[like], axis=0) if like.sum() >= 3 else d
        if signature == "mask" and mask.sum() >= 20:
            lesion = np.median(z[mask], axis=0)
        norm = float(np.linalg.norm(lesion)) or 1.0
        proj = z @ lesion / norm
        if sigma_mm:  # in-plane smoothing of the projection inside the bodies (normalised convolution)
            sig = (0, sigma_mm / spacing_kji[1], sigma_mm / spacing_kji[2])
            w = ndimage.gaussian_filter(region.allowed.astype(float), sig)
            proj = np.where(region.allowed, ndimage.gaussian_filter(np.where(region.allowed, proj, 0.0), sig)
                            / np.maximum(w, 1e-6), proj)
        cand = region.allowed & (proj >= min(level * norm, abs_z or np.inf)) & (proj >= min_z)
        if max_level is not None:
            cand &= proj <= max_level * norm
        if max_residual is not None:  # off the marrow–lesion line: another tissue (cortex, vessel), not lesion
            resid = np.linalg.norm(z - (proj / norm)[..., None] * lesion, axis=-1)
            cand &= resid <= max(3.0, max_residual * norm)
        if min_seq_frac is not None:  # no sequence on which the lesion differs may say the opposite (cortex)
            sig = np.abs(lesion) >= min_z
            if sig.sum() >= 2:
                cand &= np.all(z[..., sig] / lesion[sig] >= min_seq_frac, axis=-1)
        if max_tan is not None:  # deviation at an angle to the lesion's: another tissue (cortex), not lesion
            resid = np.linalg.norm(z - (proj / norm)[..., None] * lesion, axis=-1)
            cand &= resid <= np.maximum(3.0, max_tan * proj)
        shell_ok = None
        if rim_test:  # a shell voxel joins only when closer (z units) to the lesion than to the body's own rim
            core = _body_core(region, spacing_kji, shell_mm)
            shell_ok = core.copy()
            for body, zone in zip(bodies, zones, strict=False):
                rim = body & ~core & _far_half(body, zone, spacing_kji)  # the rim away from the lesion's disc
                if rim.sum() >= 20:
                    r_sig = np.median(z[rim], axis=0)
                    sh = body & ~core
                    sh = body if rim_test == "all" else body & ~core
                    shell_ok[sh] = np.linalg.norm(z[sh] - lesion, axis=-1) < np.linalg.norm(z[sh] - r_sig, axis=-1)
                else:
                    shell_ok |= body
        if rim_test == "all" and shell_ok is not None:
            cand &= shell_ok
        mask = _keep_lesion_components(cand, seed_kji, region, min_fraction, spacing_kji, shell_mm, grow,
                                       shell_ok, end_frac, proj / norm, beyond_q, close_mm)
        # second pass: marrow = each body off the cortex without the candidates (and their rim), with a trend
        grown = ndimage.binary_dilation(cand, np.ones((1, 3, 3), bool))
        fits = [f & ~grown for f in inner]
        info = {"method": "marrow deviation (per-body marrow plane, seed signature)",
                "lesion_vs_marrow_z": [round(float(v), 2) for v in lesion], "level": level, "min_z": min_z}
    return mask, info


def _disc_ball(shape, seed_kji, spacing_kji, radius_mm) -> np.ndarray:
    k, j, i = seed_kji
    jj, ii = np.meshgrid(np.arange(shape[1]), np.arange(shape[2]), indexing="ij")
    out = np.zeros(shape, bool)
    out[k] = ((jj - j) * spacing_kji[1]) ** 2 + ((ii - i) * spacing_kji[2]) ** 2 <= radius_mm ** 2
    return out


def _body_core(region: LesionRegion, spacing_kji: np.ndarray, shell_mm: float, end_frac: float = 0.0) -> np.ndarray:
    """Voxels of the seed's body and the body across the disc farther than `shell_mm` (in-plane) from its border,
    on slices where the body's section is at least `end_frac` of its largest (the lateral end slices are partial
    volume with the soft tissue beside the body)."""
    core = np.zeros(region.allowed.shape, bool)
    for body in (region.seed_body, region.facing_body):
        if body is None:
            continue
        area = body.sum(axis=(1, 2))
        for kk in range(body.shape[0]):
            if body[kk].any() and area[kk] >= end_frac * area.max():
                core[kk] |= ndimage.distance_transform_edt(body[kk], sampling=spacing_kji[1:]) > shell_mm
    return core


def _keep_lesion_components(cand: np.ndarray, seed_kji, region: LesionRegion, min_fraction: float,
                            spacing_kji: np.ndarray, shell_mm: float = 1.5, grow: bool = True,
                            shell_ok: np.ndarray | None = None, end_frac: float = 0.0,
                            frac: np.ndarray | None = None, beyond_q: float | None = None,
                            close_mm: float = 0.0) -> np.ndarray:
    """Connected lesion regions among the candidates (k, j, i), decided off the body's outer shell.

    The shell (in-plane distance to the body's border < `shell_mm`: cortex and partial volume, dark on every
    sequence like a type III lesion) would connect every dark candidate around the body, so components are
    found in the core: the seed's component plus every component ≥ `min_fraction` of it touching the seed-side
    endplate zone or the facing endplate zone; holes filled slice by slice; then the mask grows back into the
    shell through candidates (`shell_mm` deep)."""
    core = _body_core(region, spacing_kji, shell_mm, end_frac)
    arr = cand & core
    k, j, i = seed_kji
    win = (k, slice(max(j - 1, 0), j + 2), slice(max(i - 1, 0), i + 2))
    arr[win] |= cand[win]  # the seed stays, even on the shell
    disk = np.ones((3, 3), bool)
    if close_mm:
        rj, ri = (int(np.ceil(close_mm / sp)) for sp in spacing_kji[1:])
        jj, ii = np.mgrid[-rj:rj + 1, -ri:ri + 1]
        disk = (jj * spacing_kji[1]) ** 2 + (ii * spacing_kji[2]) ** 2 <= close_mm ** 2 + 1e-6
    for kk in range(arr.shape[0]):
        if arr[kk].any():
            padded = np.pad(arr[kk], disk.shape[0])
            arr[kk] |= ndimage.binary_closing(padded, disk)[disk.shape[0]:-disk.shape[0], disk.shape[0]:-disk.shape[0]]
            arr[kk] = ndimage.binary_fill_holes(arr[kk])
    arr &= region.allowed
    labels, n = ndimage.label(arr)
    if n == 0:
        return arr
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    cands = [lab for lab in np.unique(labels[win]) if lab > 0]
    if not cands:
        return np.zeros_like(arr)
    main = max(cands, key=lambda lab: sizes[lab])
    zones = region.facing | region.seed_zone
    touching = set(np.unique(labels[zones & arr]).tolist())
    slices = set(np.flatnonzero((labels == main).any(axis=(1, 2))).tolist())
    keep = [lab for lab in range(1, n + 1)
            if lab == main or (sizes[lab] >= min_fraction * sizes[main] and lab in touching
                               and slices & set(np.flatnonzero((labels == lab).any(axis=(1, 2))).tolist()))]
    mask = np.isin(labels, keep)
    if not grow:
        return mask
    steps = int(np.ceil(shell_mm / min(spacing_kji[1:]))) + 1
    through = cand & region.allowed if shell_ok is None else cand & region.allowed & shell_ok
    if beyond_q is not None and frac is not None and (mask & core).sum() >= 20:
        # beyond the lesion's own signal range (e.g. darker than a type III lesion): cortex, not lesion
        through &= frac <= max(1.0, float(np.quantile(frac[mask & core], beyond_q)))
    grown = ndimage.binary_dilation(mask, np.ones((1, 3, 3), bool), iterations=steps, mask=through)
    return mask | grown
