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
