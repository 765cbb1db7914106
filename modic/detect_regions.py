"""Candidate regions of zero-click detection (`modic.detect`, step 4): bridges cut, one candidate per endplate,
the seed voxel and the growth back over the eroded rim (numpy z-y-x arrays on the cropped label grid)."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from modic.detect_anatomy import axis_height


def cut_bridges(mask: np.ndarray, spacing_zyx) -> list[np.ndarray]:
    """The pieces of a region left by an in-plane opening (3 × 3 cross: strands up to 2 voxels wide go)."""
    cross = np.zeros((3, 3, 3), bool)
    cross[1, 1, 1] = True
    for ax in (a for a in range(3) if a != int(np.argmax(spacing_zyx))):
        idx = [1, 1, 1]
        idx[ax] = slice(None)
        cross[tuple(idx)] = True
    comps, n = ndimage.label(ndimage.binary_opening(mask, cross), np.ones((3, 3, 3), bool))
    return [comps == c for c in range(1, n + 1)]


def merge_same_endplate(cands: list[dict]) -> list[dict]:
    """One candidate per endplate: components on the same endplate are merged (a ragged band)."""
    out: dict[tuple[str, str], dict] = {}
    for c in cands:
        key = (c["level"], c["side"])
        if key in out:
            o = out[key]
            o["mask"] = o["mask"] | c["mask"]
            o["score"] = max(o["score"], c["score"])
            o["voxels"] += c["voxels"]
            o["height_fraction"] = max(o["height_fraction"], c["height_fraction"])
        else:
            out[key] = dict(c)
    return list(out.values())


def seed_point(mask: np.ndarray, best: np.ndarray, ref: sitk.Image) -> tuple[float, float, float]:
    """The candidate voxel (LPS mm) deepest inside it (in-plane distance) among its strongest half."""
    spacing = np.asarray(ref.GetSpacing())[::-1]
    sl = ndimage.find_objects(mask.astype(np.uint8))[0]
    sub = mask[sl]
    depth = ndimage.distance_transform_edt(np.pad(sub, 1), sampling=spacing)[1:-1, 1:-1, 1:-1]
    strong = best[sl] >= np.median(best[sl][sub])
    score = np.where(sub & strong, depth, -1.0)
    k, j, i = np.unravel_index(int(np.argmax(score)), sub.shape)
    idx = (int(i + sl[2].start), int(j + sl[1].start), int(k + sl[0].start))
    return tuple(float(v) for v in ref.TransformIndexToPhysicalPoint(idx))  # type: ignore[return-value]


def grow_back(cand: np.ndarray, allowed: np.ndarray, best: np.ndarray, z_grow: float, element: np.ndarray
              ) -> np.ndarray:
    """The candidate grown back over the eroded rim: dilated by `element`, within `allowed` (the body without
    its outer millimetre, voxels of the candidate's type), where the pattern score is at least `z_grow`."""
    sl = ndimage.find_objects(cand.astype(np.uint8))[0]
    pad = tuple(slice(max(s.start - e // 2 - 1, 0), s.stop + e // 2 + 1)
                for s, e in zip(sl, element.shape, strict=True))
    out = np.zeros_like(cand)
    out[pad] = ndimage.binary_dilation(cand[pad], element) & allowed[pad] & (best[pad] >= z_grow)
    return out | cand


def is_focus(mask: np.ndarray, ref: sitk.Image, axis_lps: np.ndarray, focus_mm: float) -> bool:
    """Whether a lesion mask (numpy, on `ref`'s grid) is a focus rather than a band: its 5–95 % extent along the
    endplate (in the sagittal plane, across the spine axis `axis_lps`) is under `focus_mm` and less than twice its
    thickness along the axis (a focal fat deposit, a vessel or an island touching the endplate zone). A mask of
    several separate pieces (26-connected) is foci when every piece is one: fat islands scattered along an
    endplate are joined as one lesion of that endplate, and their joint extent is no band's."""
    across = np.cross(axis_lps, [1.0, 0.0, 0.0])
    across = across / (np.linalg.norm(across) or 1.0)

    def one(piece: np.ndarray) -> bool:
        idx = np.argwhere(piece)
        length = axis_height(idx, ref, across)
        return bool(length < focus_mm and axis_height(idx, ref, axis_lps) >= 0.5 * length)

    pieces, n = ndimage.label(mask, np.ones((3, 3, 3), bool))
    return one(mask) if n <= 1 else all(one(pieces == k) for k in range(1, n + 1))
