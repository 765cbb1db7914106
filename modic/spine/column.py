"""The vertebral column on a mid-sagittal slab (steps 2–3 of `modic.spine.parse`): regions bounded by dark lines,
the best chain of body-like regions over the candidate slabs, gaps filled and the column followed down to the sacrum.

Regions carry (row = inferior, col = posterior) mm centroids on the working grid (`modic.spine.frame`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage as ndi
from skimage import filters, measure, segmentation
from skimage.morphology import disk

from modic.spine.denoise import bright_level
from modic.spine.frame import WorkingFrame
from modic.spine.levels import SETTINGS as NAMING
from modic.spine.levels import fat_suppressed, find_sacrum, last_turn, step_deg
from modic.spine.sacrum import fused_block, sacral_block
from modic.spine.settings import SETTINGS


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
    slab: int | None = None       # sagittal slice index of the slab it was found in (None: the column's slab)


def normalise(arr: np.ndarray) -> np.ndarray:
    """Scale an image so that its 99th percentile of the body (non-zero) signal is 1."""
    return (arr / bright_level(arr)).astype(np.float32)


def barrier(slices: list[np.ndarray], px: float, line_sigma_mm: float | None = None) -> np.ndarray:
    """Dark-line + edge map of one sagittal slice (average over contrasts), ~0–1; the dark lines are sought on the
    slice smoothed by `line_sigma_mm` (default `SETTINGS["line_sigma_mm"]`)."""
    out = np.zeros(slices[0].shape, np.float32)
    sigma = SETTINGS["line_sigma_mm"] if line_sigma_mm is None else line_sigma_mm
    for s in slices:
        sm = filters.gaussian(s, sigma / px)
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


def _axes(coords: np.ndarray) -> tuple[float, float, float]:
    """Major and minor axis lengths (pixels) and orientation (rad) of a 2D region from its pixel coordinates:
    scikit-image's `axis_major_length`, `axis_minor_length` and `orientation` (eigenvalues of the coordinates'
    population covariance = of its inertia tensor), without the per-region image moments that made them the
    slowest part of the column search."""
    d = coords.astype(float) - coords.mean(axis=0)
    vr, vc, crc = float(np.mean(d[:, 0] ** 2)), float(np.mean(d[:, 1] ** 2)), float(np.mean(d[:, 0] * d[:, 1]))
    lo, hi = np.clip(np.linalg.eigvalsh(np.array([[vr, crc], [crc, vc]])), 0, None)
    a, b, c = vc, -crc, vr                       # scikit-image's inertia tensor [[a, b], [b, c]]
    orientation = (np.pi / 4 if b < 0 else -np.pi / 4) if a - c == 0 else 0.5 * np.arctan2(-2 * b, c - a)
    return 4 * float(np.sqrt(hi)), 4 * float(np.sqrt(lo)), float(orientation)


def region_table(labels: np.ndarray, s: np.ndarray, px: float, relaxed: bool = False) -> list[Region]:
    """Shape and signal of every region that could be a vertebral body (`relaxed`: or a sacral segment)."""
    lo, hi = (250.0, 4000.0) if relaxed else SETTINGS["body_area_mm2"]
    area = np.bincount(labels.ravel()) * px * px
    keep = np.nonzero((area >= lo) & (area <= hi))[0]
    keep = keep[keep > 0]
    sub = np.where(np.isin(labels, keep), labels, 0)
    out = []
    for r in measure.regionprops(sub, intensity_image=s):
        major, minor, orientation = _axes(r.coords)
        major, minor = major * px, minor * px
        if relaxed:
            if minor < 10.0 or major > 90.0 or r.solidity < 0.6:
                continue
        elif not (SETTINGS["body_minor_mm"][0] <= minor <= SETTINGS["body_minor_mm"][1]
                  and major <= SETTINGS["body_major_mm"][1] and r.solidity >= SETTINGS["body_solidity"]):
            continue
        vals = s[tuple(r.coords.T)]
        mean = float(vals.mean())
        out.append(Region(r.label, np.asarray(r.centroid) * px, float(r.area * px * px), major, minor,
                          float(r.solidity), orientation, mean, float(vals.std() / (abs(mean) or 1.0)),
                          np.cov(r.coords.T * px)))
    for r in out:
        r.score = (r.solidity - 0.75) * 4 + min(r.area / 900.0, 1.0) - r.cv
    return out


def best_chain(regions: list[Region]) -> tuple[list[int], list[int], float]:
    """Best chain of body-like regions (dynamic programming): indices top to bottom, the number of bodies
    missing just above each one (0, or 1 where one body was not found between two of the chain), and its score.
    Going down, a step never turns more than `max_forward_turn_deg` anteriorly from the one above it unless that one
    points `sacral_step_deg` or more posteriorly (inside the sacrum, which curves forward again).
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
            if missing < 0 or (missing and step_deg(d) > 15.0):
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
                was = step_deg(dp)
                if was < SETTINGS["sacral_step_deg"] and \
                        step_deg(d) < was - SETTINGS["max_forward_turn_deg"]:
                    continue               # above the sacrum the column never bends sharply forward going down
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


def slab_centres(nk: int) -> list[int]:
    """Sagittal slice indices (of `nk`) the column is sought around (`slab_fractions` of the lateral extent)."""
    return [int(round(f * (nk - 1))) for f in SETTINGS["slab_fractions"]]


def slab_slice_indices(nk: int, half: int = 1) -> list[int]:
    """Every sagittal slice index the column search reads (each slab centre ± `half`)."""
    return sorted({i for k in slab_centres(nk) for i in range(max(k - half, 0), min(k + half + 1, nk))})


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
    cols = []
    for n, subset in enumerate(sets):
        col = dict(_find_column_images(frame, subset), names=subset)
        col["rank"] = col["score"] - (SETTINGS["column_single_margin"] if n else 0.0)   # alone: clearly better
        cols.append(col)
        if col["chain"] and col["rank"] > best.get("rank", -np.inf):
            best = col
    if SETTINGS["continue_to_sacrum"]:
        continue_to_sacrum(best, [c for c in cols if c is not best and c["chain"]])
    if best["chain"] and best["names"] != list(names) and SETTINGS["follow_all_images"]:
        best["slices"] = _slab(frame, list(names), best["k"])    # endplate completion reads every image
    return best


def anchored(column: dict) -> bool:
    """Whether a column's chain reaches a recognised sacrum (a lumbosacral turn or a sacral block)."""
    return bool(column["chain"]) and (column.get("sacrum") is not None or find_sacrum(column["chain"])[0] is not None)


def continue_to_sacrum(best: dict, others: list[dict]) -> None:
    """Where the chosen chain ends without reaching the sacrum, and another image set's chain in the same slab runs
    through the chosen chain's two lowest bodies on into a recognised sacrum, the chosen chain takes that chain's
    bodies below its lowest one (the averaged barrier map can merge L5 with S1 across a thin lumbosacral disc that
    one contrast still shows). `best["continued_below"]` says how many bodies were taken, and from which images."""
    chain = best["chain"]
    if len(chain) < 2 or anchored(best):
        return
    step = float(np.median(np.linalg.norm(np.diff([r.centroid for r in chain], axis=0), axis=1)))
    for col in sorted(others, key=lambda c: -c["rank"]):
        if col["k"] != best["k"] or not anchored(col):
            continue
        near = [[float(np.hypot(*(r.centroid - c.centroid))) for r in col["chain"]] for c in chain[-2:]]
        j = int(np.argmin(near[1]))
        if j == 0 or near[1][j] > 0.25 * step or near[0][j - 1] > 0.25 * step or j == len(col["chain"]) - 1:
            continue
        n0, offset = len(chain), len(best["labels"])
        best["labels"] = best["labels"] + col["labels"]
        chain += [replace(r, scale=r.scale + offset) for r in col["chain"][j + 1:]]
        best["gaps"] = best["gaps"] + col["gaps"][j + 1:]
        if col.get("sacrum") is not None and col["sacrum"][0] > j:
            best["sacrum"] = (col["sacrum"][0] - j + n0 - 1, col["sacrum"][1])
            best["sacrum_uncertain"] = col.get("sacrum_uncertain", False)
        best["continued_below"] = {"bodies": len(chain) - n0, "images": list(col["names"])}
        return


def _find_column_images(frame: WorkingFrame, names: list[str]) -> dict:
    """`find_column` on one set of images; a column of fewer than `fallback_bodies` bodies is sought again with the
    regions of a smoother dark-line map pooled in (`fallback_line_sigma_mm`), and the longer column is kept."""
    best = _column_on_maps(frame, names, (None,))
    if len(best["chain"]) < SETTINGS["fallback_bodies"]:
        again = _column_on_maps(frame, names, (None, SETTINGS["fallback_line_sigma_mm"]))
        if len(again["chain"]) > len(best["chain"]):
            best = dict(again, fallback=True)
    return best


def _column_on_maps(frame: WorkingFrame, names: list[str], sigmas: tuple) -> dict:
    """The column from the regions of the dark-line maps smoothed by each of `sigmas` (mm; None = the default)."""
    nk = frame.arrays[names[0]].shape[0]
    px = float(frame.grid.GetSpacing()[0])
    best = {"score": -np.inf, "chain": []}
    slabs = []
    for k in slab_centres(nk):
        slices = _slab(frame, names, k)
        labels, regions = [], []
        for sigma in sigmas:
            b = barrier(slices, px, sigma)
            variants = [(mm, None) for mm in SETTINGS["marker_mm"]] + [(SETTINGS["marker_mm"][0], slices[0])]
            for mm, signal in variants:
                labels.append(watershed_regions(b, px, mm, signal))
                for r in region_table(labels[-1], slices[0], px):
                    r.scale, r.slab = len(labels) - 1, k
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
    if len(best["chain"]) >= 3 and SETTINGS["extend_up"]:
        extend_up(best, px)
    if len(best["chain"]) >= 2 and SETTINGS["join_slabs"]:
        join_slabs(best, [c for c in slabs if c is not best])
    return best


def join_slabs(best: dict, others: list[dict]) -> None:
    """Where another candidate slab's chain holds the chosen chain's top (or lowest) body and goes on beyond it,
    the chosen chain takes that chain's bodies beyond its end, each with its own slab (`Region.slab`): in a column
    that is rotated or bent to one side, or whose watershed breaks in every slab, no single sagittal slab shows every
    body as a region. Same body = centroids ≤ `join_match` × the chain's median spacing apart; each body taken
    lies ≥ `join_min_step` × that spacing beyond the previous one (closer, it is a fragment of a body). Bodies below
    are taken only while the chosen chain has no recognised sacrum, and only when they reach one (a body added below
    a column named from its lowest body would move every name).
    `best["joined"]` lists what was taken, from which slab."""
    chain = best["chain"]
    step = float(np.median(np.linalg.norm(np.diff([r.centroid for r in chain], axis=0), axis=1)))
    joined = []
    for end in ("top", "bottom"):
        if end == "bottom" and anchored(best):
            continue
        tip = chain[0] if end == "top" else chain[-1]
        options = []
        for col in others:
            other = col["chain"]
            near = [float(np.hypot(*(r.centroid - tip.centroid))) for r in other]
            j = int(np.argmin(near))
            extra = other[:j][::-1] if end == "top" else other[j + 1:]
            if near[j] > SETTINGS["join_match"] * step or not extra:
                continue
            path = [tip] + extra
            steps = [np.hypot(*(a.centroid - b.centroid)) for a, b in zip(path, path[1:], strict=False)]
            if min(steps) < SETTINGS["join_min_step"] * step:
                continue                   # a fragment (the field of view's edge cut the body), not the next body
            if end == "bottom" and find_sacrum(chain + extra)[0] is None:
                continue                   # below, only a chain that reaches a recognised sacrum (as above)
            options.append((len(extra), col["score"], col, extra))
        if not options:
            continue
        n, _, col, extra = max(options, key=lambda o: (o[0], o[1]))
        offset = len(best["labels"])
        best["labels"] = best["labels"] + col["labels"]
        taken = [replace(r, scale=r.scale + offset) for r in extra]
        if end == "top":
            chain[:0] = taken[::-1]
            best["gaps"][:] = list(col["gaps"][:n + 1]) + best["gaps"][1:]
            if best.get("sacrum") is not None:
                best["sacrum"] = (best["sacrum"][0] + n, best["sacrum"][1])
        else:
            chain += taken
            best["gaps"] += list(col["gaps"][len(col["gaps"]) - n:])
        joined.append({"end": end, "bodies": n, "slab": int(col["k"])})
    if joined:
        best["joined"] = joined


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


def extend_up(column: dict, px: float) -> None:
    """One body above the chain's top one where no region was body-like there: at the edge of the field of view
    the watershed cuts a body into fragments or merges it with the tissue beyond the edge. The top body's outline,
    moved up the column by its median spacing, is kept where the signal stays in the top body's marrow range
    (median ± `follow_k` robust SDs, as `follow_bodies` reads it), clear of the top body by `up_clear_mm`; it is a
    body when that part is at least `up_min_cover` of the top body's area and its centroid lies within a third of
    a spacing of the expected place. The region is added to the watershed variant of the top body
    (`column["added_above"]`)."""
    chain, gaps = column["chain"], column["gaps"]
    top = chain[0]
    cents = np.array([r.centroid for r in chain])
    step_mm = float(np.median(np.linalg.norm(np.diff(cents, axis=0), axis=1)))
    u = cents[0] - cents[1]
    u = u / (np.linalg.norm(u) or 1.0) * step_mm            # one spacing up the column (mm, row/col)
    labels, img = column["labels"][top.scale], column["slices"][0]
    own = labels == top.label
    core = ndi.binary_erosion(own, disk(max(int(round(3.0 / px)), 1)))
    vals = img[core if core.any() else own]
    med = float(np.median(vals))
    mad = max(float(np.median(np.abs(vals - med))) * 1.4826, SETTINGS["follow_min_sd_fraction"] * abs(med))
    lo, hi = med - SETTINGS["follow_k"] * mad, med + SETTINGS["follow_k"] * mad
    moved = ndi.shift(own.astype(np.uint8), u / px, order=0, mode="constant", cval=0).astype(bool)
    moved = ndi.binary_dilation(moved, disk(max(int(round(SETTINGS["follow_dilate_mm"] / px)), 1)))
    clear = ndi.binary_dilation(own, disk(max(int(round(SETTINGS["up_clear_mm"] / px)), 1)))
    inside = ndi.binary_opening(moved & ~clear & (img >= lo) & (img <= hi), disk(max(int(round(1.0 / px)), 1)))
    lab, n = ndi.label(inside)
    if n == 0:
        return
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    cand = ndi.binary_fill_holes(lab == int(np.argmax(sizes)))
    if cand.sum() < SETTINGS["up_min_cover"] * own.sum():
        return
    rows, cols = np.nonzero(cand)
    coords = np.stack([rows, cols], axis=1) * px
    centroid = coords.mean(axis=0)
    if np.hypot(*(centroid - (cents[0] + u))) > step_mm / 3:
        return
    new = int(labels.max()) + 1
    labels[cand] = new
    v = img[cand]
    chain.insert(0, Region(new, centroid, float(cand.sum() * px * px), top.major, top.minor, top.solidity,
                           top.orientation, float(v.mean()), float(v.std() / (abs(v.mean()) or 1.0)),
                           np.cov(coords.T), 0.0, top.scale))
    gaps.insert(0, 0)
    column["added_above"] = 1
    if column.get("sacrum") is not None:             # the sacrum's place in the chain moves one down
        column["sacrum"] = (column["sacrum"][0] + 1, column["sacrum"][1])


def _next_below(chain: list[Region], pool: list[Region], step: float, marrow: float, area: float) -> Region | None:
    """The relaxed-pool region that best continues the chain one body down (a step of 0.75–1.5 × `step` mm within
    73° of the inferior axis, turning −20° … +65° from the last step, marrow-like signal, at least half the area)."""
    last = chain[-1]
    best, best_cost = None, np.inf
    for r in pool:
        d = r.centroid - last.centroid
        dist = float(np.hypot(*d))
        if not (0.75 * step <= dist <= 1.5 * step) or d[0] < 0.3 * dist:
            continue
        turn = step_deg(d) - last_turn(chain)
        if not -20.0 <= turn <= 65.0:      # the column bends posteriorly into the sacrum, never sharply forward
            continue
        if min(np.hypot(*(r.centroid - c.centroid)) for c in chain) < 0.5 * step:
            continue
        if not 0.6 <= r.mean / (marrow or 1.0) <= 1.6 or r.area < 0.5 * area:
            continue
        cost = abs(np.log(dist / step)) * 2 + (1 - r.solidity) * 2 + abs(np.log(r.mean / marrow))
        if cost < best_cost:
            best, best_cost = r, cost
    return best


def extend_down(column: dict, px: float, max_added: int = 3) -> None:
    """Follow the column below its lowest body with relaxed shape rules (the last lumbar bodies and the sacrum
    are often wedge-shaped or merged with the sacral segments) until the lumbosacral turn is found. A turn found
    at the chain's lowest step is checked one body further down: a column leaning back in the image makes its
    L4–L5 step look like the turn, while its true L5–S1 step, sharper still, lies beyond the chain search's reach.
    The body below is kept when `find_sacrum` then moves S1 down to it and its area is ≥ `below_turn_area` × the
    lowest body's (S1 is as large as L5 in a sagittal section, S2 clearly smaller: a true S1 at the chain's end
    with the sacrum bending sharply below it stays S1); otherwise the chain stays as it was."""
    chain, gaps = column["chain"], column["gaps"]
    n0 = len(chain)
    column["added_below"] = 0
    s1 = find_sacrum(chain)[0]
    if s1 is not None and (s1 < n0 - 1 or not SETTINGS["check_below_turn"]):
        return
    pool = _relaxed_pool(column, px)
    step = float(np.median(np.linalg.norm(np.diff([r.centroid for r in chain], axis=0), axis=1)))
    marrow = float(np.median([r.mean for r in chain]))
    area = float(np.median([r.area for r in chain]))
    if s1 is not None:
        below = _next_below(chain, pool, step, marrow, area)
        if below is not None:
            chain.append(below)
            gaps.append(0)
            if find_sacrum(chain)[0] == s1 or below.area < SETTINGS["below_turn_area"] * chain[-2].area:
                del chain[n0:], gaps[n0:]
        column["added_below"] = len(chain) - n0
        return
    for _ in range(max_added):
        best = _next_below(chain, pool, step, marrow, area)
        if best is None:
            break
        chain.append(best)
        gaps.append(0)
        if find_sacrum(chain)[0] is not None and last_turn(chain) >= NAMING["sacral_turn_deg"] + 8:
            break                          # a clear lumbosacral turn: the sacrum is reached
    if find_sacrum(chain)[0] is None:
        del chain[n0:], gaps[n0:]          # no sacrum below: keep the chain as it was
        sacral_block(column, pool, px, step, marrow, area)
        fused_block(column, px, step, marrow, area)
    column["added_below"] = len(chain) - n0
