"""Whole vertebral bodies whatever their marrow signal: each body lengthened to its endplate lines.

`modic.spine.parse` finds a body by its normal marrow, so marrow of abnormal signal next to an endplate (a
Modic change: dark on T1, bright or dark on T2) is left in the space between two bodies, which then looks like
a disc that is too tall. Geometry decides instead of signal:

* between two consecutive bodies, in the mid-sagittal slab and across the central half of their
  anterior-posterior width, the *gap* is the distance along the local spine axis from the lower end of the upper
  body's marrow to the upper end of the lower body's marrow. A healthy gap holds the disc and its two cortical
  endplates only, so the gaps of one spine are alike (they grow slowly towards L5-S1);
* the two cortical endplates of a gap are the two strongest peaks of its dark-line profile (the cortex is dark on
  every MR contrast: black top-hat averaged over the images) at least a disc apart (`min_disc_mm`, or
  `disc_fraction` of the spine's median disc window), each taken to its far side towards the disc (at most
  `line_grow_mm` beyond its peak)
  (`endplate_pair`);
* each body is lengthened to its endplate line in every sagittal slice it covers, across its own
  anterior-posterior extent at that end (a vertebral body is close to a cylinder between its endplates), so the
  abnormal band becomes part of the body and the disc keeps only what lies between the two endplate lines.
  Guards: under `min_extension_mm`, or under the spine's usual marrow-to-line distance on that side (superior or
  inferior faces, median over its gaps) + `usual_excess_mm`, nothing changes; a body never grows taller than its
  taller neighbour + `height_margin_mm` (S1: see `complete_bodies`); at most `max_extension_mm`. A dark cleft
  inside a disc whose far endplate line is faint can pair with the near line; a chosen line with disc tissue on
  both of its sides gives way to the weaker line nearer its body (`cleft_to_cortex`), so the body is not pushed
  into its disc.

Before that, two bodies whose marrow regions took in the disc between them (a thin thoracolumbar disc with the
marrow's signal on T2: the gap shrinks to nothing) are cut apart at the endplate lines around their junction
(`separate_touching`).

2D coordinates are (row = inferior, col = posterior) mm on the working grid (`modic.spine.frame`); 3D masks
are working-grid arrays [lateral, inferior, posterior].
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage import filters
from skimage.morphology import disk

SETTINGS = {"touch_fraction": 0.5, "touch_window": 1.0, "touch_min_height": 0.6, "touch_tall": 1.15,
            "dark_line_mm": 3.0, "band_fraction": 0.25, "end_zone_mm": 5.0, "min_disc_mm": 4.0,
            "disc_fraction": 0.6, "line_edge": 0.5, "line_grow_mm": 1.0, "line_floor": 0.25, "height_margin_mm": 4.0,
            "usual_excess_mm": 1.0,
            "min_extension_mm": 3.0, "max_extension_mm": 15.0,
            "edge_cuts": True, "edge_lengthening": False, "edge_sigma_mm": 1.0,
            "cleft_lines": True, "cleft_floor": 0.15, "cleft_tolerance": 0.15}


def dark_lines(slices: list[np.ndarray], px: float, radius_mm: float) -> np.ndarray:
    """Thin dark lines (black top-hat of the lightly smoothed slice), each image scaled by its 98th
    percentile, averaged over the images."""
    r = max(int(round(radius_mm / px)), 1)
    out = np.zeros(slices[0].shape, np.float32)
    for s in slices:
        sm = filters.gaussian(s, 0.7 / px)
        d = ndi.grey_closing(sm, footprint=disk(r)) - sm
        out += d / (np.quantile(d, 0.98) or 1.0)
    return out / len(slices)


def edge_map(slices: list[np.ndarray], px: float) -> np.ndarray:
    """Gradient magnitude (Gaussian, `edge_sigma_mm`) of each image of the slab, scaled by its 98th percentile and
    averaged. Where the disc is bright and the cortex too thin to show as a dark line (water images, T2 of young
    discs), an endplate is an edge between marrow and disc. Read with the dark lines when touching bodies are cut
    (`separate_touching`, setting `edge_cuts`) and, as an option that is off (`edge_lengthening`), where a gap's
    dark-line profile holds no pair (`complete_bodies`)."""
    out = np.zeros(slices[0].shape, np.float32)
    for s in slices:
        g = ndi.gaussian_gradient_magnitude(s.astype(np.float32), SETTINGS["edge_sigma_mm"] / px)
        out += g / (np.quantile(g, 0.98) or 1.0)
    return out / len(slices)


def _coords(shape: tuple[int, int], px: float, centre: np.ndarray, u: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """(t along u, w across u) in mm of every pixel of a slice, relative to `centre` (mm)."""
    rr, cc = np.mgrid[:shape[0], :shape[1]]
    dr, dc = rr * px - centre[0], cc * px - centre[1]
    return dr * u[0] + dc * u[1], -dr * u[1] + dc * u[0]


def _column_ends(t: np.ndarray, w: np.ndarray, mask: np.ndarray, bins: np.ndarray, upper: bool) -> np.ndarray:
    """Per 1 mm column (w bin), the largest (upper=True) or smallest t of the mask; NaN where empty."""
    out = np.full(len(bins) - 1, np.nan)
    tt, ww = t[mask], w[mask]
    idx = np.digitize(ww, bins) - 1
    ok = (idx >= 0) & (idx < len(out))
    for b in np.unique(idx[ok]):
        sel = tt[ok][idx[ok] == b]
        out[b] = sel.max() if upper else sel.min()
    return out


def _height(mask2d: np.ndarray, px: float, centre: np.ndarray, u: np.ndarray, frac: float) -> float:
    """Median height (mm) along u of a 2D body mask across the central `frac`·2 of its width."""
    t, w = _coords(mask2d.shape, px, centre, u)
    if not mask2d.any():
        return np.nan
    wv = w[mask2d]
    lo, hi = np.quantile(wv, 0.05), np.quantile(wv, 0.95)
    mid, half = (lo + hi) / 2, frac * (hi - lo)
    bins = np.arange(mid - half, mid + half + 1.0, 1.0)
    if len(bins) < 2:
        return np.nan
    top, bot = _column_ends(t, w, mask2d, bins, False), _column_ends(t, w, mask2d, bins, True)
    h = bot - top
    return float(np.nanmedian(h)) if np.isfinite(h).any() else np.nan


def _heights(mids: list[np.ndarray], centroids: list[np.ndarray], px: float, frac: float) -> np.ndarray:
    """Median height (mm) of each 2D body mask along the local spine axis (between its neighbours' centroids)."""
    n = len(mids)
    out = []
    for i in range(n):
        ax = centroids[min(i + 1, n - 1)] - centroids[max(i - 1, 0)]
        out.append(_height(mids[i], px, centroids[i], ax / (np.linalg.norm(ax) or 1.0), frac))
    return np.array(out)


def gap_profile(a: np.ndarray, b: np.ndarray, dl: np.ndarray, px: float, ca: np.ndarray, cb: np.ndarray,
                frac: float) -> dict | None:
    """The gap between two consecutive 2D body masks along the axis joining their centroids.

    Returns the axis `u`, the median lower end `t0` of the upper body and upper end of the lower body (mm along
    u from `ca`), the gap (mm), the dark-line profile in 1 mm steps from t0 − 2 mm to the end + 2 mm, and each
    pixel's coordinates `t` (along u) and `w` (across) that the profile was read with."""
    u = cb - ca
    dist = float(np.linalg.norm(u))
    if dist == 0 or not a.any() or not b.any():
        return None
    u = u / dist
    t, w = _coords(a.shape, px, ca, u)
    wv = np.concatenate([w[a], w[b]])
    lo, hi = np.quantile(wv, 0.05), np.quantile(wv, 0.95)
    mid, half = (lo + hi) / 2, frac * (hi - lo)
    bins = np.arange(mid - half, mid + half + 1.0, 1.0)
    if len(bins) < 3:
        return None
    end_a, start_b = _column_ends(t, w, a, bins, True), _column_ends(t, w, b, bins, False)
    ok = np.isfinite(end_a) & np.isfinite(start_b)
    if ok.sum() < 2:
        return None
    t0, t1 = float(np.median(end_a[ok])), float(np.median(start_b[ok]))
    if t1 <= t0:
        return {"u": u, "t0": t0, "t1": t1, "gap": 0.0, "profile": np.zeros(0), "mid": mid, "half": half}
    prof = _axis_profile(dl, t, w, mid, half, t0 - 2, t1 + 2)
    return {"u": u, "t0": t0, "t1": t1, "gap": t1 - t0, "profile": prof, "mid": mid, "half": half, "t": t, "w": w}


def _axis_profile(dl: np.ndarray, t: np.ndarray, w: np.ndarray, mid: float, half: float, lo: float, hi: float
                  ) -> np.ndarray:
    """Mean of `dl` in 1 mm steps of t from `lo` to `hi` (mm along the axis), over |w − mid| ≤ half."""
    sel = (np.abs(w - mid) <= half) & (t >= lo) & (t <= hi)
    k = np.floor(t[sel] - lo).astype(int)
    return np.bincount(k, dl[sel]) / np.maximum(np.bincount(k), 1)


def body_gaps(masks: list[np.ndarray], centroids: list[np.ndarray], k0: int, px: float) -> list[float | None]:
    """The gap (mm, along the column) between each pair of consecutive 3D body masks in the mid-sagittal slice
    `k0`, across the central half of their width (`gap_profile`); None where it cannot be measured."""
    frac = SETTINGS["band_fraction"]
    out = []
    for i in range(len(masks) - 1):
        a, b = masks[i][k0], masks[i + 1][k0]
        g = gap_profile(a, b, np.zeros(a.shape, np.float32), px, centroids[i], centroids[i + 1], frac)
        out.append(None if g is None else float(g["gap"]))
    return out


def endplate_pair(profile: np.ndarray, min_disc: float, floor: float, grow: bool = True
                  ) -> tuple[int, int] | None:
    """Indices of the two endplate lines in a gap's dark-line profile: the pair of peaks (local maxima, each
    ≥ `floor`) ≥ `min_disc` apart whose summed strength is largest, or None. Two peaks, not two positions: one
    thick line (a dark Modic band fused with its cortex, several mm) must not pair with itself. `grow`: take each
    line to its far side (dark lines; an edge profile's peak is the boundary itself)."""
    n = len(profile)
    peaks = [k for k in range(n) if profile[k] >= floor and (k == 0 or profile[k] >= profile[k - 1])
             and (k == n - 1 or profile[k] >= profile[k + 1])]
    best, best_score = None, -np.inf
    gap = int(np.ceil(min_disc))
    for i in peaks:
        for j in peaks:
            if j >= i + gap and profile[i] + profile[j] > best_score:
                best, best_score = (i, j), float(profile[i] + profile[j])
    if best is None:
        return None
    i, j = best
    # each line's far side, towards the disc, while the line is at least `edge` of its peak and at most
    # `line_grow_mm` (one cortex) beyond it: further, a line's partial-volume tail leads into the disc
    edge, reach = SETTINGS["line_edge"], int(round(SETTINGS["line_grow_mm"]))
    a, b = i, j
    grow_a = grow_b = grow
    while (grow_a or grow_b) and b - a - 1 >= min_disc:     # the disc keeps at least `min_disc`
        grow_a = grow_a and a - i < reach and profile[a + 1] >= edge * profile[i]
        if grow_a:
            a += 1
        grow_b = grow_b and j - b < reach and b - a - 1 >= min_disc and profile[b - 1] >= edge * profile[j]
        if grow_b:
            b -= 1
    if b - a < min_disc:
        return None      # the lines crowd together (a dark, degenerated disc): no trustworthy endplates
    return a, b


def complete_bodies(masks: list[np.ndarray], centroids: list[np.ndarray], slices: list[np.ndarray], k0: int,
                    px: float, sacrum: int | None = None, dl: np.ndarray | None = None,
                    edges: np.ndarray | None = None) -> tuple[list[np.ndarray], dict]:
    """Lengthen each body (3D working-grid masks, top to bottom) to its endplate lines (see the module
    docstring). `centroids` are the mid-sagittal centroids (mm), `slices` the mid-sagittal slab images, `k0`
    its lateral index, `sacrum` the index of S1 (its height in view says nothing: no height cap). Returns the
    new masks and what was done (mm). `edges` (`edge_map`): where a gap's dark-line profile holds no pair, its
    edge profile is read instead (`info["lines"]` says which gave each pair)."""
    n = len(masks)
    info = {"gaps_mm": [], "discs_mm": [], "lines": [], "cleft_lines": [],
            "extended_mm": [[0.0, 0.0] for _ in range(n)]}
    if n < 2:
        return masks, info
    dl = dark_lines(slices, px, SETTINGS["dark_line_mm"]) if dl is None else dl
    frac = SETTINGS["band_fraction"]
    mids = [m[k0] for m in masks]
    gaps = [gap_profile(mids[i], mids[i + 1], dl, px, centroids[i], centroids[i + 1], frac) for i in range(n - 1)]
    info["gaps_mm"] = [round(float(g["gap"]), 1) if g else None for g in gaps]
    heights = _heights(mids, centroids, px, frac)
    first = [endplate_pair(g["profile"], SETTINGS["min_disc_mm"], SETTINGS["line_floor"]) if g else None
             for g in gaps]
    windows = [b - a for a, b in (f for f in first if f)]
    min_disc = max(SETTINGS["min_disc_mm"], SETTINGS["disc_fraction"] * float(np.median(windows))) if windows \
        else SETTINGS["min_disc_mm"]
    out = [m.copy() for m in masks]
    plans = []
    for i, g in enumerate(gaps):
        pair = endplate_pair(g["profile"], min_disc, SETTINGS["line_floor"]) if g else None
        source = "dark lines" if pair else None
        if pair is None and g and g["gap"] > 0 and edges is not None:
            eg = gap_profile(mids[i], mids[i + 1], edges, px, centroids[i], centroids[i + 1], frac)
            pair = endplate_pair(eg["profile"], min_disc, SETTINGS["line_floor"], grow=False) if eg else None
            source = "edges" if pair else None
        moved = [False, False]
        if pair is not None and source == "dark lines" and SETTINGS["cleft_lines"]:
            pair, moved = cleft_to_cortex(g, pair, slices, mids[i], mids[i + 1])
        info["lines"].append(source)
        info["cleft_lines"].append(moved)
        info["discs_mm"].append(None if pair is None else round((pair[1] - pair[0]) * px, 1))
        if pair is not None:
            plans.append((i, g, [max(0.0, (pair[0] - 2) * px), max(0.0, g["gap"] - (pair[1] - 2) * px)]))
    # a face is lengthened only by clearly more than the spine's usual marrow-to-line distance on its side (inferior
    # faces: ext[0], superior faces: ext[1]; median over ≥ 3 gaps): an image can make it 3 mm or more on every face
    usual = [float(np.median([e[side] for _, _, e in plans])) if len(plans) >= 3 else 0.0 for side in (0, 1)]
    info["usual_extension_mm"] = [round(u, 1) for u in usual]
    for i, g, ext in plans:
        for side, j in ((0, i), (1, i + 1)):        # never taller than the tallest neighbour + margin
            neigh = [heights[q] for q in (j - 1, j + 1) if 0 <= q < n and np.isfinite(heights[q])]
            excess = 0.0
            if j == sacrum:
                # S1's height in view says little (the field of view can cut it, or its marrow region runs on into
                # the fused sacrum): compare with the median body, or allow the gap's excess over the tallest other
                neigh = [float(np.nanmedian(np.delete(heights, j)))] + neigh
                others = [h["gap"] for q, h in enumerate(gaps) if h and q != i]
                excess = g["gap"] - max(others) if others else 0.0
            if neigh and np.isfinite(heights[j]):
                cap = max(0.0, max(neigh) + SETTINGS["height_margin_mm"] - heights[j], excess)
                ext[side] = min(ext[side], cap)
            ext[side] = min(ext[side], SETTINGS["max_extension_mm"])
            if ext[side] < max(SETTINGS["min_extension_mm"], usual[side] + SETTINGS["usual_excess_mm"]):
                ext[side] = 0.0                                  # a healthy face: the marrow outline stays
        info["extended_mm"][i][1] = round(ext[0], 1)
        info["extended_mm"][i + 1][0] = round(ext[1], 1)
        if ext[0] >= px:
            out[i] = _lengthen(out[i], g["u"], centroids[i], g["t0"], g["t0"] + ext[0], px, down=True)
        if ext[1] >= px:
            out[i + 1] = _lengthen(out[i + 1], g["u"], centroids[i], g["t1"] - ext[1], g["t1"], px, down=False)
    return out, info


def _peak_of(profile: np.ndarray, k: int, step: int) -> int:
    """The dark-line peak a line grown to index `k` came from (climb against `step` while the profile rises)."""
    while 0 <= k - step < len(profile) and profile[k - step] >= profile[k]:
        k -= step
    return k


def cleft_to_cortex(g: dict, pair: tuple[int, int], slices: list[np.ndarray], upper: np.ndarray,
                    lower: np.ndarray) -> tuple[tuple[int, int], list[bool]]:
    """Replace a chosen endplate line that is a dark cleft inside the disc by the weaker line nearer the body.

    A line of the gap's pair (`endplate_pair`, indices into `g["profile"]` of `gap_profile`) is moved to a weaker
    dark peak (≥ `cleft_floor`) between it and its body's marrow when the tissue between the two lines is disc,
    not marrow: on every image its mean is within `cleft_tolerance` × the body's marrow level of the disc window's
    mean, and nearer the disc's than the marrow's. A Modic band between a cortex and a dark peak inside the band
    differs from the disc on at least one image, so the line stays. `upper`, `lower`: the two bodies' 2D masks in
    the slab. Returns the pair and which side moved."""
    prof = g["profile"]
    n = len(prof)
    a, b = pair
    if b - a < 3:
        return pair, [False, False]
    images = [_axis_profile(s, g["t"], g["w"], g["mid"], g["half"], g["t0"] - 2, g["t1"] + 2)[:n] for s in slices]
    if any(len(p) < n for p in images):
        return pair, [False, False]
    disc = [float(np.mean(p[a + 1:b])) for p in images]
    floor, tol = SETTINGS["cleft_floor"], SETTINGS["cleft_tolerance"]

    def is_peak(k: int) -> bool:
        return prof[k] >= floor and prof[k] >= prof[k - 1] and prof[k] >= prof[k + 1]

    def disc_like(lo: int, hi: int, marrow: list[float]) -> bool:
        if hi <= lo or not marrow:
            return False
        for p, m, d in zip(images, marrow, disc, strict=True):
            v = float(np.mean(p[lo:hi]))
            if m <= 0 or abs(v - d) > tol * m or abs(v - d) >= abs(v - m):
                return False
        return True

    def marrow_of(body: np.ndarray) -> list[float]:
        return [float(np.median(s[body])) for s in slices] if body.any() else []

    moved = [False, False]
    line = _peak_of(prof, a, 1)                     # upper body: peaks between its marrow end (index 2) and the line
    peaks = [k for k in range(1, line - 1) if is_peak(k)]
    marrow = marrow_of(upper) if peaks else []
    for k in peaks:
        if disc_like(k + 1, line, marrow):
            a, moved[0] = k, True
            break
    line = _peak_of(prof, b, -1)                    # lower body: the nearest peak to it comes last
    peaks = [k for k in range(n - 2, line + 1, -1) if is_peak(k)]
    marrow = marrow_of(lower) if peaks else []
    for k in peaks:
        if disc_like(line + 1, k, marrow):
            b, moved[1] = k, True
            break
    return (a, b), moved


def _lengthen(mask: np.ndarray, u: np.ndarray, centre: np.ndarray, lo: float, hi: float, px: float,
              down: bool) -> np.ndarray:
    """Add to a 3D body mask, in every sagittal slice it covers, the part of its half towards the endplate up
    to the endplate line (t = hi when lengthening downwards, t = lo upwards; t in mm along u from `centre`),
    across the body's anterior-posterior extent at mid-height in that slice (a body is close to a cylinder)."""
    out = mask.copy()
    zone = SETTINGS["end_zone_mm"]
    t, w = _coords(mask.shape[1:], px, centre, u)
    for k in np.nonzero(mask.any(axis=(1, 2)))[0]:
        m = mask[k]
        tm = t[m]
        t_lo, t_hi = float(tm.min()), float(tm.max())
        if (down and t_hi >= hi) or (not down and t_lo <= lo):
            continue
        mid = (t_lo + t_hi) / 2
        wn = w[m & (np.abs(t - mid) <= zone)]
        if wn.size == 0:
            continue
        band = (t >= mid) & (t <= hi) if down else (t >= lo) & (t <= mid)
        band &= (w >= wn.min()) & (w <= wn.max())
        out[k] = ndi.binary_fill_holes(m | band)
    return out


def separate_touching(masks: list[np.ndarray], centroids: list[np.ndarray], slices: list[np.ndarray], k0: int,
                      px: float, last: int | None = None, dl: np.ndarray | None = None,
                      edges: np.ndarray | None = None
                      ) -> tuple[list[np.ndarray], list[dict]]:
    """Cut apart two consecutive bodies (3D working-grid masks, top to bottom) whose marrow regions took in the
    disc between them.

    A disc whose signal lies within the marrow range (a thin, dark thoracolumbar disc on T2) joins one body's
    region, and the gap between the two bodies' marrow shrinks to nothing. Where a gap is under
    `touch_fraction` of the spine's median gap (gaps of at least `min_disc_mm`), the two endplate lines are
    sought in the dark-line profile of a window `touch_window` × that median either side of the junction
    (`endplate_pair`; the pair must hold the junction). Only a body that took in the disc loses what lies beyond
    its own line, in every sagittal slice: one taller than `touch_tall` × the smaller of the median body height and
    its neighbour on the other side (a collapsed disc between two bodies of normal height is left as it is); S1,
    whose height in view says nothing, is cut whenever a pair of lines is found.
    Nothing is cut when no pair of lines is found or a body would fall under `touch_min_height` of the median body
    height. Pairs below index `last` (the sacral segments below S1) are left alone. `dl`: the slab's dark-line map
    (`dark_lines`), computed here when needed and not given. With `edges` (`edge_map`) a second pair is sought in
    dark lines and edges together (on a water image the disc's boundary is an edge); of the two cuts the one that
    leaves the cut bodies nearest the median body height is taken (L5-S1: dark lines only, S1's height in view says
    nothing). Returns the masks and what was cut."""
    n = len(masks)
    done: list[dict] = []
    if n < 3:
        return masks, done
    frac = SETTINGS["band_fraction"]
    mids = [m[k0] for m in masks]
    gaps = [gap_profile(mids[i], mids[i + 1], np.zeros(mids[i].shape, np.float32), px, centroids[i],
                        centroids[i + 1], frac) for i in range(n - 1)]
    healthy = [g["gap"] for g in gaps if g and g["gap"] >= SETTINGS["min_disc_mm"]]
    if len(healthy) < 2:
        return masks, done
    ref = float(np.median(healthy))
    heights = _heights(mids, centroids, px, frac)
    median_h = float(np.nanmedian(heights))
    min_height = SETTINGS["touch_min_height"] * median_h

    def tall(j: int, other: int) -> bool:
        """Body j is taller than expected: than the median body and its neighbour `other` (not in the pair)."""
        ref_h = min(median_h, heights[other]) if 0 <= other < n and np.isfinite(heights[other]) else median_h
        return bool(np.isfinite(heights[j]) and heights[j] > SETTINGS["touch_tall"] * ref_h)

    out = [m.copy() for m in masks]
    maps = None
    for i, g in enumerate(gaps):
        if g is None or g["gap"] >= SETTINGS["touch_fraction"] * ref or (last is not None and i >= last):
            continue
        # S1's height in view says nothing (its marrow runs on into the fused sacrum): S1 is cut at its line
        cut_upper, cut_lower = tall(i, i - 1), i + 1 == last or tall(i + 1, i + 2)
        if not (cut_upper or cut_lower):
            continue                          # two bodies of normal height: a thin (collapsed) disc
        if dl is None:
            dl = dark_lines(slices, px, SETTINGS["dark_line_mm"])
        u, half, mid = g["u"], SETTINGS["touch_window"] * ref, g["mid"]
        centre = (g["t0"] + g["t1"]) / 2
        t, w = _coords(dl.shape, px, centroids[i], u)
        start = centre - half
        if maps is None:                      # once per spine, and only when a pair touches
            maps = (("dark lines", dl), ("dark lines and edges", None if edges is None else dl + edges))
        best = None
        for source, lmap in maps:
            if lmap is None or (i + 1 == last and source != "dark lines"):
                continue                      # S1's height in view says nothing: the height rule cannot choose
            prof = _axis_profile(lmap, t, w, mid, g["half"], start, centre + half)
            pair = endplate_pair(prof, max(SETTINGS["min_disc_mm"] / 2, 0.3 * ref), SETTINGS["line_floor"])
            if pair is None or not start + pair[0] - 2 <= centre <= start + pair[1] + 2:
                continue                      # no lines, or a pair that does not hold the junction
            cut_a, cut_b = start + pair[0] + 1.0, start + pair[1]       # the upper body ends, the lower one starts
            new_a = out[i] & (t <= cut_a)[None] if cut_upper else out[i]
            new_b = out[i + 1] & (t >= cut_b)[None] if cut_lower else out[i + 1]
            ha = _height(new_a[k0], px, centroids[i], u, frac)
            hb = _height(new_b[k0], px, centroids[i + 1], u, frac)
            if not (np.isfinite(ha) and np.isfinite(hb)) or min(ha, hb) < min_height:
                continue
            # of the candidate cuts, the one that leaves the cut bodies nearest the spine's median height
            cost = abs(ha - median_h) * cut_upper + abs(hb - median_h) * cut_lower
            if best is None or cost < best[0]:
                best = (cost, new_a, new_b, cut_a, cut_b, source)
        if best is None:
            continue
        _, new_a, new_b, cut_a, cut_b, source = best
        out[i], out[i + 1] = new_a, new_b
        done.append({"pair": i, "gap_mm": round(float(g["gap"]), 1), "disc_mm": round(float(cut_b - cut_a), 1),
                     "cut": [b for b, c in (("upper", cut_upper), ("lower", cut_lower)) if c],
                     "heights_mm": [round(float(heights[i]), 1), round(float(heights[i + 1]), 1)],
                     "median_height_mm": round(median_h, 1), "lines": source})
    return out, done
