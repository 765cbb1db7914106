"""Where a Modic lesion may lie, from the spine anatomy (`modic.spine.Spine`).

A Modic change is vertebral marrow against an endplate: never disc, canal or soft tissue. With a parsed (or
labelled) spine the one-click segmentation is confined to

* the vertebral body holding the seed point, and
* the body across the disc the seed faces (the disc beyond the nearer endplate zone), where only regions
  touching that body's endplate zone facing the same disc are kept (the lesion's other band).

A spine parsed by `modic.spine.parse_spine` follows *normal* marrow, so it can stop short of an endplate
exactly where the marrow is abnormal — the lesion. The click is a point of the lesion and the lesion is in
the body, so for a parsed spine (`SEED_BAND`) the seed's body is continued to the click: sideways to the
seed's sagittal plane (at most `lateral_mm`), and along the outward normal of its endplate zone up to
`margin_mm` beyond the seed; a click outside every parsed body belongs to the nearest endplate zone within
`reach_mm`, and when even then the region does not hold the click, no constraint is used. A spine given as
labels (ground truth, corrected by hand) is taken as it is.

`check_mask_anatomy` applies the same knowledge to an imported mask: a warning when most of it lies
outside bone. Points are LPS millimetres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from modic.geometry import format_point, resample_like, voxel_centers_lps
from modic.spine.model import (
    LEVELS,
    Spine,
    _index_to_lps,
    _shift_mm,
    _sweep_mm,
    endplate_label,
    label_name,
    vertebra_label,
)


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


SEED_BAND = {"enabled": True, "reach_mm": 8.0, "margin_mm": 2.0, "lateral_mm": 8.0}
"""Parsed spines only (see the module docstring): the seed's body continued to the click (mm)."""


def _nearest_endplate(spine: Spine, lab: np.ndarray, grid: sitk.Image, seed_lps: Sequence[float],
                      reach_mm: float) -> tuple[str | None, str | None]:
    """(level, side) of the endplate zone nearest the seed (LPS mm) within `reach_mm`, else (None, None)."""
    seed = np.asarray(seed_lps, float)
    best, out = reach_mm, (None, None)
    for v in spine.vertebrae():
        for side in ("superior", "inferior"):
            idx = np.argwhere(lab == endplate_label(v.level, side))
            if len(idx):
                d = float(np.min(np.linalg.norm(_index_to_lps(grid, idx) - seed, axis=1)))
                if d < best:
                    best, out = d, (v.level, side)
    return out


def _seed_side_band(spine: Spine, lab: np.ndarray, grid: sitk.Image, level: str, side: str,
                    seed_lps: Sequence[float]) -> np.ndarray | None:
    """Voxels between the body's `side` endplate zone and `margin_mm` beyond the seed along the zone's outward
    normal, within the zone's footprint and outside other bodies; None when the seed is not beyond the zone."""
    zone = lab == endplate_label(level, side)
    if not zone.any():
        return None
    pts = _index_to_lps(grid, np.argwhere(zone))
    centre = pts.mean(axis=0)
    st = spine.structure(f"{level} {side}")
    normal = np.asarray(st.normal_lps, float) if st is not None and st.normal_lps is not None else None
    if normal is None or not np.all(np.isfinite(normal)):
        body = _index_to_lps(grid, np.argwhere(np.isin(lab, _body_values(level)))).mean(axis=0)
        normal = centre - body
    normal = normal / (np.linalg.norm(normal) or 1.0)
    t_zone = (pts - centre) @ normal
    limit = float((np.asarray(seed_lps, float) - centre) @ normal) + SEED_BAND["margin_mm"]
    reach = limit - float(np.quantile(t_zone, 0.1))
    step = float(min(grid.GetSpacing()))
    if reach < step or limit <= float(np.quantile(t_zone, 0.5)):
        return None
    band = _sweep_mm(zone, grid, normal, np.arange(step, reach + 1e-6, step))
    t_all = (voxel_centers_lps(grid) - centre) @ normal
    other = (lab >= 10) & (lab < 70) & ~np.isin(lab, _body_values(level))
    return band & (t_all <= limit) & ~zone & ~other


def _holds(mask: np.ndarray, grid: sitk.Image, point_lps: Sequence[float]) -> bool:
    """Whether the voxel of `grid` holding the LPS point is set in `mask` (False outside the grid)."""
    idx = grid.TransformPhysicalPointToIndex([float(v) for v in point_lps])
    inside = all(0 <= v < n for v, n in zip(idx, grid.GetSize(), strict=True))
    return bool(inside and mask[idx[2], idx[1], idx[0]])


def _reach_seed_laterally(lab: np.ndarray, grid: sitk.Image, level: str, seed_lps: Sequence[float]) -> np.ndarray:
    """`lab` with the body of `level` (and its endplate zones) continued sideways (LPS x) to the seed's sagittal
    plane when the parsed body stops short of it: its outermost sagittal section is repeated outwards."""
    values = _body_values(level)
    body = np.isin(lab, values)
    if not body.any():
        return lab
    x = _index_to_lps(grid, np.argwhere(body))[:, 0]
    seed_x = float(seed_lps[0])
    direction = np.asarray(grid.GetDirection()).reshape(3, 3)
    lateral = float(grid.GetSpacing()[int(np.argmax(np.abs(direction[0])))])   # spacing along L-R, mm
    if x.min() - lateral / 2 <= seed_x <= x.max() + lateral / 2:
        return lab
    sign = 1.0 if seed_x > x.max() else -1.0
    edge_x = x.max() if sign > 0 else x.min()
    if abs(seed_x - edge_x) > SEED_BAND["lateral_mm"]:
        return lab
    steps = int(np.ceil(abs(seed_x - edge_x) / lateral))
    xs = voxel_centers_lps(grid)[..., 0]
    out = lab.copy()
    free = (lab < 10) | (lab >= 70)          # never over another body
    for value in values:
        edge = (lab == value) & (np.abs(xs - edge_x) <= lateral / 2)
        for m in range(1, steps + 1):
            moved = _shift_mm(edge, grid, [-sign * m * lateral, 0.0, 0.0]) & free
            out[moved] = value
    return out


def neighbour_across(spine: Spine, level: str, side: str) -> str | None:
    """The body across the disc beyond `side` of `level` (e.g. ("L4", "inferior") → "L5"), if in the spine."""
    k = LEVELS.index(level) + (1 if side == "inferior" else -1)
    if not 0 <= k < len(LEVELS):
        return None
    other = LEVELS[k]
    return other if spine.structure(other) is not None else None


def lesion_region(spine: Spine, seed_lps: Sequence[float], grid: sitk.Image) -> LesionRegion | None:
    """The voxels of `grid` where the lesion of the seed (LPS mm) may lie (see module docstring); None when the
    seed is not inside a vertebral body of `spine` — for a parsed spine: not near one either, or not held by the
    continued body — and the caller falls back to the unconstrained method."""
    level, side = seed_body_and_side(spine, seed_lps)
    parsed = spine.parsed and SEED_BAND["enabled"]
    lab = _labels_on(spine, grid)
    outside = level is None
    if outside and parsed:
        level, side = _nearest_endplate(spine, lab, grid, seed_lps, SEED_BAND["reach_mm"])
    if level is None:
        return None
    if parsed:
        lab = _reach_seed_laterally(lab, grid, level, seed_lps)
    seed_body = np.isin(lab, _body_values(level))
    band = _seed_side_band(spine, lab, grid, level, side, seed_lps) if parsed and side else None
    if band is not None:
        seed_body |= band
    allowed = seed_body.copy()
    facing = np.zeros(lab.shape, bool)
    seed_zone = lab == endplate_label(level, side) if side else np.zeros(lab.shape, bool)
    other = neighbour_across(spine, level, side) if side else None
    facing_body = None
    if other is not None:
        facing_body = np.isin(lab, _body_values(other))
        allowed |= facing_body
        facing = lab == endplate_label(other, "superior" if side == "inferior" else "inferior")
    if band is not None:
        allowed |= band
    if parsed and outside and not _holds(allowed, grid, seed_lps):
        return None          # the parsed anatomy cannot explain the click: no constraint
    info = {"constrained_by": "spine", "body": level, "endplate": side, "body_across_disc": other,
            "seed_outside_parsed_body": bool(outside), "seed_band_voxels": int(band.sum()) if band is not None else 0,
            "source": spine.info.get("source", spine.info.get("method", "spine")),
            "naming_certain": bool(spine.naming_certain)}
    return LesionRegion(allowed, facing, seed_zone, facing_body, seed_body, info)


def far_half(body: np.ndarray, zone: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """The part of `body` beyond its centroid, away from its endplate `zone` (mm-scaled k-j-i coordinates)."""
    if not body.any() or not zone.any():
        return body
    pts = np.argwhere(body) * spacing
    c = pts.mean(axis=0)
    away = c - (np.argwhere(zone) * spacing).mean(axis=0)
    out = np.zeros_like(body)
    out[body] = (pts - c) @ away > 0
    return out


PARSED_BONE_TOLERANCE_MM = 2.0
"""A parsed body can stop short of abnormal marrow at its endplate (see the module docstring): for a parsed spine,
mask voxels within this distance of a body count as bone in the imported-mask check. Measured on correct lesion
masks with parsed spines: false warnings 16 → 7 of 44 hybrid cases, 6 → 2 of 40 built-in cases, 0 of 15
construction-B cases; the true disc next to the lesion, as a mask, is still flagged in 27 of 30 built-in and 15 of
15 construction-B cases (2 mm is also the one-click's margin beyond the click)."""


def _bone(spine: Spine) -> np.ndarray:
    """Vertebral-body voxels (endplate zones included) of the spine's label grid; for a parsed spine, grown by
    `PARSED_BONE_TOLERANCE_MM`."""
    lab = sitk.GetArrayViewFromImage(spine.labels)
    bone = (lab >= 10) & (lab < 70)
    if not spine.parsed or PARSED_BONE_TOLERANCE_MM <= 0 or not bone.any():
        return bone
    from scipy import ndimage

    sp = np.asarray(spine.labels.GetSpacing(), float)[::-1]
    r = [int(np.ceil(PARSED_BONE_TOLERANCE_MM / v)) for v in sp]
    zz, yy, xx = np.mgrid[-r[0]:r[0] + 1, -r[1]:r[1] + 1, -r[2]:r[2] + 1]
    ball = (zz * sp[0]) ** 2 + (yy * sp[1]) ** 2 + (xx * sp[2]) ** 2 <= PARSED_BONE_TOLERANCE_MM ** 2 + 1e-6
    return ndimage.binary_dilation(bone, ball)


def check_mask_anatomy(mask: sitk.Image, spine: Spine, min_bone_fraction: float = 0.5) -> str | None:
    """A one-line warning when less than `min_bone_fraction` of a lesion mask lies inside vertebral bodies
    (any level, endplate zones included; for a parsed spine within `PARSED_BONE_TOLERANCE_MM` of one) of
    `spine`; None when the mask sits in bone (or is empty).

    The mask is mapped onto the spine's grid by physical (LPS) coordinates (nearest neighbour)."""
    m = sitk.GetArrayViewFromImage(resample_like(sitk.Cast(mask > 0, sitk.sitkUInt8), spine.labels,
                                                 is_label=True)) > 0
    total = int(m.sum())
    if total == 0:
        return None
    lab = sitk.GetArrayViewFromImage(spine.labels)[m]
    frac = float(_bone(spine)[m].mean())
    if frac >= min_bone_fraction:
        return None
    disc = float(((lab >= 70) & (lab < 80)).mean())
    centre = _index_to_lps(spine.labels, np.argwhere(m).mean(axis=0)[None])[0]
    return (f"only {100 * frac:.0f}% of the lesion mask ({total} voxels, centre {format_point(centre)} LPS) lies "
            f"in a vertebral body ({100 * disc:.0f}% in a disc) — check that the mask is the Modic lesion and "
            "that it is aligned with the images")


def bone_fraction(mask: sitk.Image, spine: Spine) -> float:
    """Share of a mask's voxels inside vertebral bodies of `spine` (for a parsed spine within
    `PARSED_BONE_TOLERANCE_MM` of one; 1.0 for an empty mask)."""
    m = sitk.GetArrayViewFromImage(resample_like(sitk.Cast(mask > 0, sitk.sitkUInt8), spine.labels,
                                                 is_label=True)) > 0
    if not m.any():
        return 1.0
    return float(_bone(spine)[m].mean())
