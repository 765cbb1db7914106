"""Spine parsing by classical image analysis: vertebral bodies and discs found and named on sagittal MR.

Method (no trained weights; every number below is in mm or a dimensionless ratio):

1. All images are resampled onto a canonical sagittal working grid (`modic.spine.frame`).
2. Cortical bone and endplates are dark on every MR contrast (T1, T2, STIR, fat-bright GRE), so each sagittal
   slice gets a *barrier* map: a black top-hat (thin dark lines) plus the smoothed gradient, averaged over the
   images.
   Marker-based watersheds of the barrier map (three marker scales, and markers split by signal tertile) split
   the slice into regions bounded by dark lines: vertebral marrow enclosed by its cortex is one region.
3. In candidate mid-sagittal slabs the regions of vertebral-body size and box-like shape are chained from top to
   bottom by dynamic programming (regular spacing along a smooth curve, similar size and signal); the best chain
   over the slabs is the vertebral column.
4. Each body is followed slice by slice to the left and right (the part of its mid-sagittal outline whose signal
   stays in the marrow range), then cut in each slice to the chord of its round axial section
   (`modic.spine.shape`).
5. Each body is lengthened to its endplate lines (`modic.spine.endplates`): marrow of abnormal signal next to an
   endplate (a Modic change) belongs to the body whatever it looks like. Discs are then the voxels both
   neighbouring bodies reach along the spine axis, and endplate zones come from `spine_from_masks`.
6. Levels are named from the bottom (`modic.spine.levels`): S1 is where the column turns posteriorly into the
   sacrum, the top of a fused marrow block below a shallow turn (`sacral_block`), or the lowest body of a column
   that ends inside the image; otherwise the lowest body is called L5. Only the first is a certain naming.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import ndimage as ndi
from skimage import filters, measure, segmentation
from skimage.morphology import disk

from modic.spine.endplates import body_gaps, complete_bodies
from modic.spine.frame import WorkingFrame, to_reference, working_frame
from modic.spine.levels import SETTINGS as NAMING
from modic.spine.levels import fat_suppressed, find_sacrum, last_turn, name_column
from modic.spine.model import DISCS, Spine, spine_from_masks, structures_from_labels
from modic.spine.shape import round_bodies

METHOD_VERSION = 7   # 2: bodies lengthened to their endplate lines (modic.spine.endplates); sacral block;
                     # 3: a body's lateral end is a step in its core signal between neighbouring slices;
                     #    the marrow spread has a floor of 5 % of its level (robust to lateral shading)
                     # 4: with several images the column is also sought on each image alone (not fat-suppressed
                     #    ones); one image's chain wins when it scores `column_single_margin` above the chain of
                     #    all images together
                     # 5: lateral slices of a body cut to the chord of a superellipse (`round_power`) of its
                     #    mid-sagittal depth and followed half-width (modic.spine.shape)
                     # 6: the two lowest bodies touching below a posterior step are S1 and S2 (a field of view
                     #    that ends in the sacrum; `modic.spine.levels.fused_sacrum`)
                     # 7: a chain of larger regions ≥ `anterior_mm` anterior in another slab is the body column
SETTINGS = {
    "inplane_mm": 1.0, "lateral_mm": 2.0, "dark_line_mm": 3.0, "marker_mm": (2.5, 4.0, 6.0),
    "signal_split_quantiles": (0.4, 0.8),
    "body_area_mm2": (300.0, 2600.0), "body_minor_mm": (14.0, 50.0), "body_major_mm": (18.0, 65.0),
    "body_solidity": 0.82, "spacing_mm": (22.0, 52.0), "height_weight": 8.0, "gap_penalty": 2.0,
    "slab_fractions": (0.35, 0.42, 0.5, 0.58, 0.65), "disc_reach_mm": 16.0, "disc_gap_px": 1,
    "sacral_block_deg": 8.0, "sacral_block_area": 1.8, "anterior_mm": 25.0,
    "follow_dilate_mm": 2.0, "follow_k": 2.5, "follow_min_cover": 0.3, "follow_stop_sd": 3.0, "follow_step_sd": 1.0,
    "follow_min_sd_fraction": 0.05,
    "half_width_mm": 45.0, "body_pad_mm": 1.0,
    "column_per_image": True, "column_single_margin": 2.0, "follow_all_images": True,
    "round_power": 2.5, "round_margin_mm": 1.0,
}


@dataclass
class Region:
    """One watershed region of a sagittal slice (pixel units of the working grid)."""

    label: int
    centroid: np.ndarray          # (row = inferior, col = posterior) mm
    area: float                   # mm²
    major: float                  # mm
    minor: float
    solidity: float
    orientation: float            # radians, skimage convention
    mean: float                   # normalised intensity
    cv: float                     # coefficient of variation inside
    cov: np.ndarray | None = None   # 2×2 second moments of the pixel positions (mm²)
    score: float = 0.0
    scale: int = 0                # which watershed variant (marker scale, signal split) it came from


def normalise(arr: np.ndarray) -> np.ndarray:
    """Scale an image so that its 99th percentile of the body (non-zero) signal is 1."""
    v = arr[arr > 0]
    hi = float(np.quantile(v, 0.99)) if v.size else 1.0
    return (arr / (hi or 1.0)).astype(np.float32)


def barrier(slices: list[np.ndarray], px: float) -> np.ndarray:
    """Dark-line + edge map of one sagittal slice (average over contrasts), ~0–1."""
    out = np.zeros(slices[0].shape, np.float32)
    for s in slices:
        sm = filters.gaussian(s, 0.7 / px)
        r = max(int(round(SETTINGS["dark_line_mm"] / px)), 1)
        dl = ndi.grey_closing(sm, footprint=disk(r)) - sm      # black top-hat: thin dark lines (cortex)
        g = filters.sobel(filters.gaussian(s, 2.0 / px))
        out += dl / (np.quantile(dl, 0.98) or 1.0) + 0.5 * g / (np.quantile(g, 0.98) or 1.0)
    return out / len(slices)


def watershed_regions(b: np.ndarray, px: float, marker_mm: float, signal: np.ndarray | None = None) -> np.ndarray:
    """Regions of a slice bounded by its barrier map (markers: points ≥ marker_mm from any barrier).

    With `signal`, markers are also split by signal tertile, so that a disc and a body of different signal
    whose endplate line is faint start from separate markers."""
    dist = ndi.distance_transform_edt(b < 0.25) * px
    core = dist > marker_mm
    if signal is None:
        markers, _ = ndi.label(core)
    else:
        sm = filters.gaussian(signal, 1.5 / px)
        body = sm[sm > 0.05]
        bins = np.digitize(sm, np.quantile(body, SETTINGS["signal_split_quantiles"])) if body.size else np.zeros(
            sm.shape, int)
        markers = np.zeros(b.shape, np.int32)
        for v in np.unique(bins):
            lab, n = ndi.label(core & (bins == v))
            markers[lab > 0] = lab[lab > 0] + markers.max()
    return segmentation.watershed(b, markers)


def region_table(labels: np.ndarray, s: np.ndarray, px: float, relaxed: bool = False) -> list[Region]:
    """Shape and signal of every region that could be a vertebral body (`relaxed`: or a sacral segment)."""
    lo, hi = (250.0, 4000.0) if relaxed else SETTINGS["body_area_mm2"]
    area = np.bincount(labels.ravel()) * px * px
    keep = np.nonzero((area >= lo) & (area <= hi))[0]
    keep = keep[keep > 0]
    sub = np.where(np.isin(labels, keep), labels, 0)
    out = []
    for r in measure.regionprops(sub, intensity_image=s):
        major, minor = r.axis_major_length * px, r.axis_minor_length * px
        if relaxed:
            if minor < 10.0 or major > 90.0 or r.solidity < 0.6:
                continue
        elif not (SETTINGS["body_minor_mm"][0] <= minor <= SETTINGS["body_minor_mm"][1]
                  and major <= SETTINGS["body_major_mm"][1] and r.solidity >= SETTINGS["body_solidity"]):
            continue
        vals = s[tuple(r.coords.T)]
        mean = float(vals.mean())
        out.append(Region(r.label, np.asarray(r.centroid) * px, float(r.area * px * px), major, minor,
                          float(r.solidity), float(r.orientation), mean, float(vals.std() / (abs(mean) or 1.0)),
                          np.cov(r.coords.T * px)))
    for r in out:
        r.score = (r.solidity - 0.75) * 4 + min(r.area / 900.0, 1.0) - r.cv
    return out


def best_chain(regions: list[Region]) -> tuple[list[int], list[int], float]:
    """Best chain of body-like regions (dynamic programming): indices top to bottom, the number of bodies
    missing just above each one (0, or 1 where one body was not found between two of the chain), and its score.
    """
    if not regions:
        return [], [], -np.inf
    order = sorted(range(len(regions)), key=lambda i: regions[i].centroid[0])
    lo, hi = SETTINGS["spacing_mm"]
    best = {i: regions[i].score for i in order}
    prev: dict[int, int | None] = {i: None for i in order}
    gap = {i: 0 for i in order}
    for n, j in enumerate(order):
        rj = regions[j]
        for i in order[:n]:
            ri = regions[i]
            d = rj.centroid - ri.centroid
            dist = float(np.hypot(*d))
            if d[0] < 0.6 * dist:        # below, within 53° of the vertical
                continue
            missing = 0 if lo <= dist <= hi else 1 if 2 * lo <= dist <= 2 * hi else -1
            if missing < 0 or (missing and np.degrees(np.arctan2(d[1], d[0])) > 15.0):
                continue                   # no skipping across the lumbosacral turn
            step = dist / (1 + missing)
            size = abs(np.log(rj.area / ri.area))
            signal = abs(np.log(max(rj.mean, 1e-3) / max(ri.mean, 1e-3)))
            if size > 0.7 or signal > 0.5:
                continue
            u = d / dist                   # body heights along the chain: ~3/4 of the spacing (discs between)
            height = np.mean([np.sqrt(12 * u @ reg.cov @ u) for reg in (ri, rj)]) / step
            fill = SETTINGS["height_weight"] * (max(0.0, height - 0.85) + max(0.0, 0.5 - height))
            cand = best[i] + rj.score + 1.0 - size - 2 * signal - fill - SETTINGS["gap_penalty"] * missing
            if prev[i] is not None:       # smooth curve: spacing and direction like the previous step
                dp = ri.centroid - regions[prev[i]].centroid
                cosang = float(np.dot(d, dp) / (np.linalg.norm(d) * np.linalg.norm(dp)))
                cand -= abs(np.log(step * (1 + gap[i]) / np.linalg.norm(dp))) * 2 + (1 - cosang) * 4
            if cand > best[j]:
                best[j], prev[j], gap[j] = cand, i, missing
    end = max(best, key=best.get)
    chain = [end]
    while prev[chain[-1]] is not None:
        chain.append(prev[chain[-1]])
    chain = chain[::-1]
    return chain, [0] + [gap[j] for j in chain[1:]], float(best[end])


def _slab(frame: WorkingFrame, names: list[str], k: int, half: int = 1) -> list[np.ndarray]:
    k0, k1 = max(k - half, 0), min(k + half + 1, frame.arrays[names[0]].shape[0])
    return [normalise(frame.arrays[n][k0:k1].mean(axis=0)) for n in names]


def find_column(frame: WorkingFrame, names: list[str]) -> dict:
    """The best chain of body regions over the candidate mid-sagittal slabs, from all images together and,
    with several images, from each image alone (`column_per_image`): one contrast whose endplate lines are
    faint (or that disagrees with the others) can blur the averaged barrier map so that the chain breaks. A single
    image's chain wins only when it scores `column_single_margin` above the chain of all images together; `names`
    of the result lists the images that gave the chain (`slices` holds every image's slab when
    `follow_all_images`: the bodies are then followed and completed as with one column of all images)."""
    sets = [list(names)]
    if SETTINGS["column_per_image"] and len(names) > 1:
        sets += [[n] for n in names if not fat_suppressed(n)]
    best = {"score": -np.inf, "chain": [], "names": list(names)}
    for n, subset in enumerate(sets):
        col = _find_column_images(frame, subset)
        col["rank"] = col["score"] - (SETTINGS["column_single_margin"] if n else 0.0)   # alone: clearly better
        if col["chain"] and col["rank"] > best.get("rank", -np.inf):
            best = dict(col, names=subset)
    if best["chain"] and best["names"] != list(names) and SETTINGS["follow_all_images"]:
        best["slices"] = _slab(frame, list(names), best["k"])    # endplate completion reads every image
    return best


def _find_column_images(frame: WorkingFrame, names: list[str]) -> dict:
    """`find_column` on one set of images."""
    nk = frame.arrays[names[0]].shape[0]
    px = float(frame.grid.GetSpacing()[0])
    best = {"score": -np.inf, "chain": []}
    slabs = []
    for f in SETTINGS["slab_fractions"]:
        k = int(round(f * (nk - 1)))
        slices = _slab(frame, names, k)
        b = barrier(slices, px)
        labels, regions = [], []
        variants = [(mm, None) for mm in SETTINGS["marker_mm"]] + [(SETTINGS["marker_mm"][0], slices[0])]
        for si, (mm, signal) in enumerate(variants):
            labels.append(watershed_regions(b, px, mm, signal))
            for r in region_table(labels[-1], slices[0], px):
                r.scale = si
                regions.append(r)
        chain, gaps, score = best_chain(regions)
        chain, gaps, score = _prefer_anterior(regions, chain, gaps, score)
        score += 0.0 if not chain else 0.5 * len(chain)
        if chain:
            slabs.append({"score": score, "chain": [regions[i] for i in chain], "gaps": gaps, "k": k,
                          "labels": labels, "slices": slices})
    if slabs:
        best = _anterior_slab(slabs)
    if best["chain"]:
        fill_gaps(best, px)
    if len(best["chain"]) >= 3:
        extend_down(best, px)
    return best


def _anterior_slab(slabs: list[dict]) -> dict:
    """The best-scoring slab's column, unless another slab holds a chain of larger regions (mean area) with ≥ 0.8 of
    its score and ≥ 3 bodies, ≥ `anterior_mm` anterior to it at the same heights: in a parasagittal slab the
    articular pillars can form a regular chain that outscores the bodies (`_prefer_anterior` across slabs)."""
    best = max(slabs, key=lambda c: c["score"])
    rows = np.array([r.centroid[0] for r in best["chain"]])
    cols = np.array([r.centroid[1] for r in best["chain"]])
    if len(rows) < 3:
        return best
    area = np.mean([r.area for r in best["chain"]])
    ahead = [c for c in slabs if len(c["chain"]) >= 3 and c["score"] >= 0.8 * best["score"]
             and np.mean([r.area for r in c["chain"]]) >= area
             and np.median([r.centroid[1] - np.interp(r.centroid[0], rows, cols) for r in c["chain"]])
             < -SETTINGS["anterior_mm"]]
    return max(ahead, key=lambda c: c["score"]) if ahead else best


def _prefer_anterior(regions: list[Region], chain: list[int], gaps: list[int], score: float):
    """Vertebral bodies lie anterior to the canal and the posterior elements, which can form a regular chain
    too: a comparable chain ≥ 25 mm anterior to the best one at the same heights is the body column."""
    if len(chain) < 3:
        return chain, gaps, score
    rows = np.array([regions[i].centroid[0] for i in chain])
    cols = np.array([regions[i].centroid[1] for i in chain])
    ahead = [n for n, r in enumerate(regions)
             if rows[0] - 20 <= r.centroid[0] <= rows[-1] + 20
             and r.centroid[1] < np.interp(r.centroid[0], rows, cols) - SETTINGS["anterior_mm"]]
    if len(ahead) < 3:
        return chain, gaps, score
    sub = [regions[n] for n in ahead]
    alt, alt_gaps, alt_score = best_chain(sub)
    if len(alt) >= 3 and alt_score >= 0.5 * score:
        return [ahead[i] for i in alt], alt_gaps, alt_score
    return chain, gaps, score


def _relaxed_pool(column: dict, px: float) -> list[Region]:
    pool = []
    for si, labels in enumerate(column["labels"]):
        for r in region_table(labels, column["slices"][0], px, relaxed=True):
            r.scale = si
            pool.append(r)
    return pool


def fill_gaps(column: dict, px: float) -> None:
    """Put a region back where the chain skipped a body: the relaxed-shape region nearest the midpoint of the
    two neighbours (≤ 8 mm), of body-like size and signal."""
    chain, gaps = column["chain"], column["gaps"]
    if not any(gaps):
        return
    pool = _relaxed_pool(column, px)
    area = float(np.median([r.area for r in chain]))
    marrow = float(np.median([r.mean for r in chain]))
    for i in range(len(chain) - 1, 0, -1):
        if not gaps[i]:
            continue
        mid = (chain[i].centroid + chain[i - 1].centroid) / 2
        fits = [r for r in pool if np.hypot(*(r.centroid - mid)) <= 8.0 and 0.5 * area <= r.area <= 1.6 * area
                and 0.6 <= r.mean / (marrow or 1.0) <= 1.6]
        if fits:
            chain.insert(i, min(fits, key=lambda r: np.hypot(*(r.centroid - mid))))
            gaps[i] = 0
            gaps.insert(i, 0)


def extend_down(column: dict, px: float, max_added: int = 3) -> None:
    """Follow the column below its lowest body with relaxed shape rules (the last lumbar bodies and the sacrum
    are often wedge-shaped or merged with the sacral segments) until the lumbosacral turn is found."""
    chain, gaps = column["chain"], column["gaps"]
    if find_sacrum(chain)[0] is not None:
        return
    pool = _relaxed_pool(column, px)
    step = float(np.median(np.linalg.norm(np.diff([r.centroid for r in chain], axis=0), axis=1)))
    marrow = float(np.median([r.mean for r in chain]))
    area = float(np.median([r.area for r in chain]))
    n0 = len(chain)
    for _ in range(max_added):
        last = chain[-1]
        best, best_cost = None, np.inf
        for r in pool:
            d = r.centroid - last.centroid
            dist = float(np.hypot(*d))
            if not (0.75 * step <= dist <= 1.5 * step) or d[0] < 0.3 * dist:
                continue
            turn = np.degrees(np.arctan2(d[1], d[0])) - last_turn(chain)
            if not -20.0 <= turn <= 65.0:      # the column bends posteriorly into the sacrum, never sharply forward
                continue
            if min(np.hypot(*(r.centroid - c.centroid)) for c in chain) < 0.5 * step:
                continue
            if not 0.6 <= r.mean / (marrow or 1.0) <= 1.6 or r.area < 0.5 * area:
                continue
            cost = abs(np.log(dist / step)) * 2 + (1 - r.solidity) * 2 + abs(np.log(r.mean / marrow))
            if cost < best_cost:
                best, best_cost = r, cost
        if best is None:
            break
        chain.append(best)
        gaps.append(0)
        if find_sacrum(chain)[0] is not None and last_turn(chain) >= NAMING["sacral_turn_deg"] + 8:
            break                          # a clear lumbosacral turn: the sacrum is reached
    if find_sacrum(chain)[0] is None:
        del chain[n0:], gaps[n0:]          # no sacrum below: keep the chain as it was
        sacral_block(column, pool, px, step, marrow, area)
    column["added_below"] = len(chain) - n0


def sacral_block(column: dict, pool: list[Region], px: float, step: float, marrow: float, area: float) -> None:
    """A shallow lumbosacral turn: directly below the lowest body (one spacing down, pointing posteriorly by
    `sacral_block_deg` or more, and turning posteriorly from the step above) lies a region of marrow signal
    much larger than a body (≥ `sacral_block_area` × the median body area): the sacrum, whose segments are
    fused. Its top part, one body height tall along the column, is S1 (`column["sacrum"]`)."""
    chain, gaps = column["chain"], column["gaps"]
    last = chain[-1]
    best = None
    for r in pool:
        d = r.centroid - last.centroid
        dist = float(np.hypot(*d))
        angle = float(np.degrees(np.arctan2(d[1], d[0])))
        if not (0.75 * step <= dist <= 1.6 * step) or angle < SETTINGS["sacral_block_deg"] or angle > 45.0:
            continue
        if angle - last_turn(chain) < 3.0 or r.area < SETTINGS["sacral_block_area"] * area:
            continue
        if not 0.6 <= r.mean / (marrow or 1.0) <= 1.6:
            continue
        if best is None or dist < float(np.hypot(*(best.centroid - last.centroid))):
            best = r
    if best is None:
        return
    labels = column["labels"][best.scale]
    rows, cols = np.nonzero(labels == best.label)
    u = (last.centroid - chain[-2].centroid) / (np.linalg.norm(last.centroid - chain[-2].centroid) or 1.0)
    t = (rows * px - last.centroid[0]) * u[0] + (cols * px - last.centroid[1]) * u[1]
    height = float(np.median([np.sqrt(12 * u @ r.cov @ u) for r in chain]))
    top = t <= t.min() + height
    new = int(labels.max()) + 1
    labels[rows[top], cols[top]] = new
    coords = np.stack([rows[top], cols[top]], axis=1) * px
    vals = column["slices"][0][rows[top], cols[top]]
    s1 = Region(new, coords.mean(axis=0), float(top.sum() * px * px), best.major, best.minor, best.solidity,
                best.orientation, float(vals.mean()), float(vals.std() / (abs(vals.mean()) or 1.0)),
                np.cov(coords.T), best.score, best.scale)
    chain.append(s1)
    gaps.append(0)
    column["sacrum"] = (len(chain) - 1, f"sacrum recognised: a fused marrow block {best.area / area:.1f}× a body's "
                        f"area lies below the column ({np.degrees(np.arctan2(*(s1.centroid - last.centroid))):.0f}° "
                        "posterior); its top part is S1")


def _roi(chain: list[Region], shape: tuple[int, int], px: float) -> tuple[slice, slice]:
    """Rows/cols (working pixels) around the chain: 45 mm above/below, 70 mm anterior, 40 mm posterior."""
    c = np.array([r.centroid for r in chain]) / px
    r0, r1 = int(c[:, 0].min() - 45 / px), int(c[:, 0].max() + 45 / px)
    c0, c1 = int(c[:, 1].min() - 70 / px), int(c[:, 1].max() + 40 / px)
    return slice(max(r0, 0), min(r1, shape[0])), slice(max(c0, 0), min(c1, shape[1]))


def follow_bodies(frame: WorkingFrame, names: list[str], column: dict) -> dict[int, np.ndarray]:
    """3D masks (working grid) of each chain body, followed slice by slice from the mid-sagittal slab.

    In each sagittal slice a body is the connected part of its mid-sagittal outline (dilated by
    `follow_dilate_mm`) whose signal stays within `follow_k` robust SDs of the body's central marrow.
    Following stops at the lateral edge of the body: where the marrow core's median signal steps by more than
    `follow_step_sd` robust SDs from the previous slice (leaving the marrow is a step; coil shading across the
    body is a drift) or departs from the mid-sagittal median by more than `follow_stop_sd`, or where the part
    covers less than `follow_min_cover` of the outline. The robust SD is at least `follow_min_sd_fraction` of the
    marrow level, so that a smooth marrow (a phantom's) does not turn a few percent of shading into a stop.
    (Version 2 stopped at a 1-SD departure from the mid-sagittal median: the bodies ended 4–5 mm short laterally
    on real T2 scans, and a ±20 % left-right shading cut phantom bodies to one slice.)
    """
    px = float(frame.grid.GetSpacing()[0])
    lat = float(frame.grid.GetSpacing()[2])
    vol = frame.arrays[names[0]]
    shape = vol.shape
    rows, cols = _roi(column["chain"], shape[1:], px)
    k0 = column["k"]
    grow = disk(max(int(round(SETTINGS["follow_dilate_mm"] / px)), 1))
    scale = float(np.quantile(vol[k0][vol[k0] > 0], 0.99)) if np.any(vol[k0] > 0) else 1.0
    roi = filters.gaussian(vol[:, rows, cols] / scale, (0, 0.8 / px, 0.8 / px))
    open1 = disk(max(int(round(1.0 / px)), 1))
    max_half = int(np.ceil(SETTINGS["half_width_mm"] / lat))
    masks = {}
    for i, r in enumerate(column["chain"]):
        seed = column["labels"][r.scale][rows, cols] == r.label
        core = ndi.binary_erosion(seed, disk(max(int(round(3.0 / px)), 1)))
        if not core.any():
            core = seed
        vals = roi[k0][core]
        med = float(np.median(vals))
        mad = float(np.median(np.abs(vals - med))) * 1.4826 or 0.05 * abs(med) or 1e-3
        # floor: marrow as smooth as a phantom's would make every few-percent shading a many-SD step
        mad = max(mad, SETTINGS["follow_min_sd_fraction"] * abs(med))
        lo_v, hi_v = med - SETTINGS["follow_k"] * mad, med + SETTINGS["follow_k"] * mad
        template = ndi.binary_dilation(seed, grow)
        m = np.zeros(shape, bool)
        for step in (-1, 1):
            prev = med
            for n in range(0 if step == -1 else 1, max_half):
                k = k0 + step * n
                if not 0 <= k < shape[0]:
                    break
                now = float(np.median(roi[k][core]))
                if n and (abs(now - med) > SETTINGS["follow_stop_sd"] * mad
                          or abs(now - prev) > SETTINGS["follow_step_sd"] * mad):
                    break                          # the slice has left the marrow: lateral edge of the body
                prev = now
                inside = ndi.binary_opening((template if n else seed) & (roi[k] >= lo_v) & (roi[k] <= hi_v),
                                            open1)
                lab, _ = ndi.label(inside)
                ids = np.unique(lab[core & inside])
                cur = ndi.binary_fill_holes(np.isin(lab, ids[ids > 0]))
                if n and cur.sum() < SETTINGS["follow_min_cover"] * seed.sum():
                    break
                m[k, rows, cols] = cur if cur.any() else seed
        if SETTINGS["body_pad_mm"] > 0:     # the cortex around the marrow belongs to the body
            pad = disk(max(int(round(SETTINGS["body_pad_mm"] / px)), 1))[None]
            m[:, rows, cols] = ndi.binary_dilation(m[:, rows, cols], pad) & template[None]
        masks[i] = m
    return masks


def _line(length_px: int, direction: np.ndarray) -> np.ndarray:
    """A one-sided line footprint from the centre along `direction` (row, col), `length_px` long."""
    from skimage.draw import line

    n = max(int(length_px), 1)
    fp = np.zeros((2 * n + 1, 2 * n + 1), bool)
    rr, cc = line(n, n, n + int(round(direction[0] * n)), n + int(round(direction[1] * n)))
    fp[rr, cc] = True
    return fp


def discs_from_bodies(masks: list[np.ndarray], chain: list[Region], px: float) -> list[np.ndarray]:
    """Disc between each pair of consecutive bodies: per sagittal slice, the voxels outside both bodies that
    the upper body reaches going down the spine axis and the lower body reaches going up (≤ disc_reach_mm)."""
    out = []
    reach = SETTINGS["disc_reach_mm"] / px
    for n, (a, b) in enumerate(zip(masks[:-1], masks[1:], strict=True)):
        u = chain[n + 1].centroid - chain[n].centroid
        u = u / (np.linalg.norm(u) or 1.0)
        down, up = _line(reach, u), _line(reach, -u)
        d = np.zeros(a.shape, bool)
        for k in np.nonzero(a.any(axis=(1, 2)) & b.any(axis=(1, 2)))[0]:
            both = a[k] | b[k]
            r = np.nonzero(both.any(axis=1))[0]
            c = np.nonzero(both.any(axis=0))[0]
            sub = (slice(r[0], r[-1] + 1), slice(c[0], c[-1] + 1))
            reach_a = ndi.binary_dilation(a[k][sub], down)    # the upper body swept down the axis
            reach_b = ndi.binary_dilation(b[k][sub], up)
            gap = ndi.binary_dilation(both[sub], disk(SETTINGS["disc_gap_px"])) if SETTINGS["disc_gap_px"] \
                else both[sub]
            d[k][sub] = reach_a & reach_b & ~gap
        out.append(d)
    return out


def parse_spine(images: Mapping[str, sitk.Image], random_state: int = 0) -> Spine:
    """Find and name the vertebral bodies, discs and endplate zones of a sagittal lumbar MR study.

    `images` maps a sequence name ("T1", "T2", "FS", "GRE", ...) to a 3D image; the labels are on the first
    image's grid. Fat-suppressed images (by name: FS, STIR, SPAIR …) are analysed after the others whatever their
    place in `images`: the bodies are followed on the first analysed image, and a fat-suppressed one (dark marrow)
    makes them short (built-in phantom, 6 cases, FS given first: body Dice 0.701 instead of 0.835).
    `random_state` is recorded (the method is deterministic). See the module docstring.
    """
    from modic.checks import check_image_mapping, check_not_label_map

    t0 = time.perf_counter()
    images = check_image_mapping(images, "the spine parser's images")
    for name, image in images.items():
        check_not_label_map(image, f"image {name}")
    given = list(images)
    reference = images[given[0]]
    names = [n for n in given if not fat_suppressed(n)] or given
    names += [n for n in given if n not in names]
    frame = working_frame({n: images[n] for n in names}, SETTINGS["inplane_mm"], SETTINGS["lateral_mm"])
    column = find_column(frame, names)
    info = {"method": "modic.spine.parse", "method_version": METHOD_VERSION, "random_state": random_state,
            "images": given, "analysis_order": names,
            "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in {**SETTINGS, **NAMING}.items()}}
    chain = column["chain"]
    follow = names if SETTINGS["follow_all_images"] else column["names"]
    px = float(frame.grid.GetSpacing()[0])
    masks = follow_bodies(frame, follow, column) if len(chain) >= 2 else {}
    gaps = body_gaps([masks[i] for i in range(len(chain))], [r.centroid for r in chain], column["k"], px) \
        if masks else None
    levels, certain, reason = name_column(column, px, follow, gaps)
    keep = [i for i, lv in enumerate(levels) if lv]
    if len(keep) < 2:
        info.update(naming="no chain of vertebral bodies found", seconds=round(time.perf_counter() - t0, 2))
        empty = sitk.Image(reference.GetSize(), sitk.sitkUInt8)
        empty.CopyInformation(reference)
        return Spine(empty, [], False, info)
    rounded = round_bodies([masks[i] for i in keep], [chain[i].centroid for i in keep], column["k"], px,
                           SETTINGS["round_power"], SETTINGS["round_margin_mm"])
    body_masks, completion = complete_bodies(rounded, [chain[i].centroid for i in keep],
                                             column["slices"], column["k"], px,
                                             sacrum=keep.index(levels.index("S1")) if "S1" in levels else None)
    info["endplates"] = completion
    disc_masks = discs_from_bodies(body_masks, [chain[i] for i in keep], px)
    # one label array on the working grid → the reference grid in one resampling, cropped to the spine
    work = np.zeros(body_masks[0].shape, np.uint8)
    for n, d in enumerate(disc_masks, start=1):
        work[d] = 100 + n
    for n, m in enumerate(body_masks, start=1):
        work[m] = n
    crop = _crop_reference(reference, frame, work)
    moved = sitk.GetArrayFromImage(to_reference(work, frame, crop))
    ref_body = {levels[i]: moved == n for n, i in enumerate(keep, start=1)}
    ref_disc = {}
    for n, i in enumerate(keep[:-1], start=1):
        name = f"{levels[i]}-{levels[keep[n]]}"
        if name in DISCS and np.any(moved == 100 + n):
            ref_disc[name] = moved == 100 + n
    conf = {levels[i]: float(1 / (1 + np.exp(-2 * chain[i].score))) for i in keep}
    for d in ref_disc:
        a, b = d.split("-")
        conf[d] = min(conf.get(a, 0.5), conf.get(b, 0.5))
    info.update(naming=reason, mid_sagittal_index=int(column["k"]), column_images=column["names"],
                seconds=round(time.perf_counter() - t0, 2))
    part = spine_from_masks(crop, ref_body, ref_disc, confidence=conf, naming_certain=certain, info=info)
    full = sitk.Image(reference.GetSize(), sitk.sitkUInt8)
    full.CopyInformation(reference)
    start = reference.TransformPhysicalPointToIndex(crop.GetOrigin())
    full = sitk.Paste(full, part.labels, part.labels.GetSize(), [0, 0, 0], start)
    conf_by_label = {s.label: s.confidence for s in part.structures}
    return Spine(full, structures_from_labels(full, conf_by_label), certain, part.info)


def _crop_reference(reference: sitk.Image, frame: WorkingFrame, work: np.ndarray, margin: int = 4) -> sitk.Image:
    """The part of `reference` (geometry only) covering the non-zero voxels of `work` (working grid)."""
    idx = np.argwhere(work > 0)
    lo, hi = idx.min(axis=0)[::-1], idx.max(axis=0)[::-1]
    pts = [frame.grid.TransformIndexToPhysicalPoint([int(v) for v in (x, y, z)])
           for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
    cidx = np.array([reference.TransformPhysicalPointToContinuousIndex(p) for p in pts])
    size = np.asarray(reference.GetSize())
    a = np.clip(np.floor(cidx.min(axis=0)).astype(int) - margin, 0, size - 1)
    b = np.clip(np.ceil(cidx.max(axis=0)).astype(int) + margin, 0, size - 1)
    geom = sitk.Image([int(v) for v in b - a + 1], sitk.sitkUInt8)
    geom.SetSpacing(reference.GetSpacing())
    geom.SetDirection(reference.GetDirection())
    geom.SetOrigin(reference.TransformIndexToPhysicalPoint([int(v) for v in a]))
    return geom
