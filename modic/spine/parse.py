"""Spine parsing by classical image analysis: vertebral bodies and discs found and named on sagittal MR.

Method (no trained weights; every number below is in mm or a dimensionless ratio):

1. All images are resampled onto a canonical sagittal working grid (`modic.spine.frame`) and denoised there by
   non-local means with a strength scaled to each image's estimated noise (`modic.spine.denoise`): a clean image
   is left practically as it is, a noisy one (clinical SNR, a STIR's dark marrow) keeps its lines and edges.
2. Cortical bone and endplates are dark on every MR contrast (T1, T2, STIR, gradient echo), so each sagittal
   slice gets a *barrier* map: a black top-hat (thin dark lines) plus the smoothed gradient, averaged over the
   images.
   Marker-based watersheds of the barrier map (three marker scales, and markers split by signal tertile) split
   the slice into regions bounded by dark lines: vertebral marrow enclosed by its cortex is one region.
3. In candidate mid-sagittal slabs the regions of vertebral-body size and box-like shape are chained from top to
   bottom by dynamic programming (regular spacing along a smooth curve, similar size and signal; going down, a
   step never turns more than `max_forward_turn_deg` anteriorly from the one above it unless that one already
   turned into the sacrum: lordosis only ever turns the lumbar column posteriorly); the best chain over the slabs
   is the vertebral column (`modic.spine.column`). A chain of fewer than 4 bodies is sought again with the
   regions of a second barrier map pooled in, whose dark lines are read on a smoother slice (1.4 mm): marrow texture
   (a water image's fat speckle) splits bodies on the finer map.
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

import numpy as np
import SimpleITK as sitk
from scipy import ndimage as ndi
from skimage import filters
from skimage.morphology import disk

from modic.spine.column import Region, find_column, slab_slice_indices
from modic.spine.denoise import DENOISE_SETTINGS, FrameDenoiser
from modic.spine.endplates import SETTINGS as ENDPLATE_SETTINGS
from modic.spine.endplates import body_gaps, complete_bodies, dark_lines, edge_map, separate_touching
from modic.spine.frame import WorkingFrame, to_reference, working_frame
from modic.spine.levels import SETTINGS as NAMING
from modic.spine.levels import fat_suppressed, name_column
from modic.spine.model import DISCS, Spine, spine_from_masks, structures_from_labels
from modic.spine.settings import SETTINGS
from modic.spine.shape import round_bodies

METHOD_VERSION = 29  # 2: bodies lengthened to their endplate lines (modic.spine.endplates); sacral block;
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
                     # 8: a fused marrow block that holds the lowest body or starts one disc below it is the
                     #    sacrum without a lumbosacral turn (`modic.spine.column.fused_block`; naming uncertain);
                     #    S1 is lengthened to its endplate line whatever its height in view
                     # 9: the two endplate lines of a gap are two peaks of its dark-line profile (one thick dark
                     #    band, a Modic band fused with its cortex, no longer pairs with itself and blocks the
                     #    lengthening)
                     # 10: two bodies whose marrow regions took in the disc between them (gap under half the
                     #    spine's median) are cut at the endplate lines around the junction
                     #    (`modic.spine.endplates.separate_touching`)
                     # 11: a disc is as wide as the wider of its two bodies, up to `disc_lateral_slices` beyond
                     #    the narrower one
                     # 12: a lumbar body reaches no further to either side than `runaway_width` × the spine's
                     #    median reach on that side (`cap_runaway_widths`)
                     # 13: one body above the chain's top one where the field of view's edge cut it into fragments
                     #    (`modic.spine.column.extend_up`)
                     # 14: touching bodies are cut at the pair of lines (dark lines, or dark lines and the disc's
                     #    edges, `modic.spine.endplates.edge_map`) that leaves them nearest the median body height;
                     #    S1 at dark lines only (edge lines for the lengthening: an option, off)
                     # 15: a chosen endplate line that is a cleft inside the disc (disc tissue on both of its
                     #    sides) gives way to the weaker line nearer the body (`modic.spine.endplates.cleft_to_cortex`)
                     # 16: an endplate line grows at most `line_grow_mm` (one cortex) beyond its peak towards the
                     #    disc (`endplate_pair`)
                     # 17: a face is lengthened only by `usual_excess_mm` more than the spine's median marrow-to-line
                     #    distance on its side (superior or inferior faces; `complete_bodies`)
                     # 18: when the column turns posteriorly at two consecutive steps, S1 follows the sharper bend
                     #    (the sacrum's own curve below S1 no longer moves S1 down one body; `find_sacrum`)
                     # 19: a chain of all images that ends short of the sacrum takes the bodies below its lowest one
                     #    from one image's chain (same slab) that runs through its two lowest bodies into a
                     #    recognised sacrum (`modic.spine.column.continue_to_sacrum`)
                     # 20: another candidate slab's chain that holds the chosen chain's top (or lowest) body and goes on
                     #    beyond it lends its bodies there, each followed from its own slab (`join_slabs`; below only
                     #    into a recognised sacrum)
                     # 21: a lumbar body followed less than `stunted_width` × its neighbours' lateral reach is continued
                     #    to that reach (`extend_stunted_widths`: a lesion filling a body stopped its following)
                     # 22: a chain never bends more than `max_forward_turn_deg` forward from one step to the next above
                     #    the sacrum (`modic.spine.column.best_chain`)
                     # 23: the lumbosacral turn is measured beyond the column's lean where that lean is unusual
                     #    (`modic.spine.levels.lean_beyond_usual`)
                     # 24: a lumbosacral turn found at the chain's lowest step is checked one body further down;
                     #    the body there becomes S1 when the column bends more sharply into it and it is as large as
                     #    the lowest body (`modic.spine.column.extend_down`; a column leaning back in the image)
                     # 25: a lumbar body reaches at most `neighbour_width_mm` further to either side than the
                     #    further-reaching of its neighbours (`cap_wider_than_neighbours`)
                     # 26: a column of fewer than `fallback_bodies` bodies is sought again with the regions of a
                     #    smoother dark-line map pooled in (`fallback_line_sigma_mm`; info["column_fallback"])
                     # 27: every image denoised by non-local means scaled to its estimated noise before the column
                     #    search (`modic.spine.denoise`; info["denoising"])
                     # 28: naming: of two posterior bends, the lower is the lumbosacral turn also when a disc-sized
                     #    gap separates its bodies (`levels.turn_disc_fraction`; S1 and S2 are fused)
                     # 29: naming: without a lumbosacral turn, a lowest body cut by the lower edge of the field of
                     #    view is S1, naming uncertain (`levels.column_cut_by_view`)


def column_tilt_deg(chain: list[Region]) -> float:
    """How far (degrees) the column leans posteriorly going down on the working grid: the slope of a line through
    its body centroids (the lowest left out of a chain of 4 or more: it may be the sacrum); 0 under 2 bodies. A
    supine lumbar column leans anteriorly (lordosis: −14° … +1° on the development scans)."""
    c = np.array([r.centroid for r in chain], float).reshape(-1, 2)
    c = c[:-1] if len(c) >= 4 else c
    if len(c) < 2 or np.ptp(c[:, 0]) <= 0:
        return 0.0
    return float(np.degrees(np.arctan(np.polyfit(c[:, 0], c[:, 1], 1)[0])))


def _roi(chain: list[Region], shape: tuple[int, int], px: float) -> tuple[slice, slice]:
    """Rows/cols (working pixels) around the chain: 45 mm above/below, 70 mm anterior, 40 mm posterior."""
    c = np.array([r.centroid for r in chain]) / px
    r0, r1 = int(c[:, 0].min() - 45 / px), int(c[:, 0].max() + 45 / px)
    c0, c1 = int(c[:, 1].min() - 70 / px), int(c[:, 1].max() + 40 / px)
    return slice(max(r0, 0), min(r1, shape[0])), slice(max(c0, 0), min(c1, shape[1]))


def follow_bodies(frame: WorkingFrame, names: list[str], column: dict,
                  window: tuple[slice, slice] | None = None) -> dict[int, np.ndarray]:
    """3D masks (working grid) of each chain body, followed slice by slice from the mid-sagittal slab, reading the
    frame only inside `window` (rows, cols of a sagittal slice; default `_roi` of the chain).

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
    rows, cols = window if window is not None else _roi(column["chain"], shape[1:], px)
    grow = disk(max(int(round(SETTINGS["follow_dilate_mm"] / px)), 1))
    kc = column["k"]
    scale = float(np.quantile(vol[kc][vol[kc] > 0], 0.99)) if np.any(vol[kc] > 0) else 1.0
    roi = filters.gaussian(vol[:, rows, cols] / scale, (0, 0.8 / px, 0.8 / px))
    open1 = disk(max(int(round(1.0 / px)), 1))
    max_half = int(np.ceil(SETTINGS["half_width_mm"] / lat))
    masks = {}
    for i, r in enumerate(column["chain"]):
        k0 = column["k"] if r.slab is None else r.slab      # joined from another slab: followed from there
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
        # every slice's work stays inside the template's box (+2 px of background: opening, labelling and hole
        # filling give there what they give on the whole region of interest, at a fraction of the cost)
        tr, tc = np.nonzero(template.any(axis=1))[0], np.nonzero(template.any(axis=0))[0]
        tb = (slice(max(tr[0] - 2, 0), tr[-1] + 3), slice(max(tc[0] - 2, 0), tc[-1] + 3))
        seed_b, core_b, template_b = seed[tb], core[tb], template[tb]
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
                sl = roi[k][tb]
                inside = ndi.binary_opening((template_b if n else seed_b) & (sl >= lo_v) & (sl <= hi_v), open1)
                lab, _ = ndi.label(inside)
                ids = np.unique(lab[core_b & inside])
                cur = ndi.binary_fill_holes(np.isin(lab, ids[ids > 0]))
                if n and cur.sum() < SETTINGS["follow_min_cover"] * seed.sum():
                    break
                m[k, rows, cols][tb] = cur if cur.any() else seed_b
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


def _lateral_reach(masks: list[np.ndarray], k0: int) -> np.ndarray:
    """(n, 2) sagittal slices each body reaches to either side of slice `k0` (lower index, higher index); NaN for
    an empty mask."""
    reach = []
    for m in masks:
        ks = np.nonzero(m.any(axis=(1, 2)))[0]
        reach.append((k0 - ks[0], ks[-1] - k0) if len(ks) else (np.nan, np.nan))
    return np.array(reach, float)


def _cut_beyond(mask: np.ndarray, k0: int, side: int, cap: int) -> np.ndarray:
    """A copy of a 3D working-grid body mask without its sagittal slices more than `cap` from slice `k0` on `side`
    (0: lower indices, 1: higher)."""
    m = mask.copy()
    if side == 0:
        m[:max(k0 - cap, 0)] = False
    else:
        m[k0 + cap + 1:] = False
    return m


def _neighbour_reaches(reach: np.ndarray, i: int, side: int) -> list[float]:
    """The lateral reaches on `side` of body i's neighbours above and below (rows of `_lateral_reach`), where known."""
    return [reach[j, side] for j in (i - 1, i + 1) if 0 <= j < len(reach) and np.isfinite(reach[j, side])]


def cap_runaway_widths(masks: list[np.ndarray], k0: int, sacrum: int | None, lateral_mm: float
                       ) -> list[np.ndarray]:
    """Bodies (3D working-grid masks, top to bottom) cut laterally where their following ran away: on each side
    of the mid-sagittal slice `k0`, no lumbar body reaches further than `runaway_width` × the median reach of the
    spine's bodies on that side, nor less far than that median + `runaway_margin_mm` (thick slices, or a
    mid-sagittal slice off the bodies' centre, make the median short); S1 and below are not held (the sacrum is
    wider). A body whose marrow region took in a disc has a widened signal range and can follow psoas and partial
    volume to the edge of the image. `lateral_mm`: the working grid's slice spacing."""
    limit = len(masks) if sacrum is None else sacrum
    if limit < 3:
        return masks
    reach = _lateral_reach(masks[:limit], k0)
    out = list(masks)
    for side in (0, 1):
        if not np.isfinite(reach[:, side]).any():
            continue
        med = float(np.nanmedian(reach[:, side]))
        cap = int(np.ceil(max(SETTINGS["runaway_width"] * med, med + SETTINGS["runaway_margin_mm"] / lateral_mm)))
        for i in range(limit):
            if reach[i, side] > cap:
                out[i] = _cut_beyond(out[i], k0, side, cap)
    return out


def extend_stunted_widths(masks: list[np.ndarray], k0: int, sacrum: int | None) -> list[np.ndarray]:
    """Bodies (3D working-grid masks, top to bottom) continued laterally where their following stopped short: on each
    side of the mid-sagittal slice `k0`, a lumbar body that reaches less than `stunted_width` × the shorter reach of
    its lumbar neighbours (the bodies above and below) on that side is continued to that reach, each added slice
    holding the outline of its outermost followed slice (the superellipse cut then rounds it). A Modic change, a
    haemangioma or a fracture that fills much of a body changes its core signal from slice to slice, and the
    following read that as the body's lateral edge; adjacent vertebral bodies are about as wide as each other. S1 and
    below are not continued."""
    limit = len(masks) if sacrum is None else sacrum
    if limit < 3 or SETTINGS["stunted_width"] <= 0:
        return masks
    reach = _lateral_reach(masks[:limit], k0)
    out = list(masks)
    for i in range(limit):
        for side, sign in ((0, -1), (1, 1)):
            near = _neighbour_reaches(reach, i, side)
            if not np.isfinite(reach[i, side]) or not near:
                continue
            target = float(min(near))
            if reach[i, side] >= SETTINGS["stunted_width"] * target:
                continue
            m = out[i].copy()
            last = k0 + sign * int(reach[i, side])
            for k in range(last + sign, k0 + sign * int(round(target)) + sign, sign):
                if 0 <= k < m.shape[0]:
                    m[k] = m[last]
            out[i] = m
    return out


def cap_wider_than_neighbours(masks: list[np.ndarray], k0: int, sacrum: int | None, lateral_mm: float
                              ) -> list[np.ndarray]:
    """Bodies (3D working-grid masks, top to bottom) cut laterally where they reach further than their lumbar
    neighbours: on each side of the mid-sagittal slice `k0`, a lumbar body reaches at most `neighbour_width_mm`
    beyond the further-reaching of the bodies above and below (adjacent vertebral bodies are about as wide as each
    other; L5 is the widest, a few mm per side). A bright lesion that fills much of a body (fat, type II on T1) can
    carry its following into lateral tissue of the same signal; `cap_runaway_widths` only holds a body to 1.5 × the
    spine's median reach. S1 and below are not held. `lateral_mm`: the working grid's slice spacing."""
    limit = len(masks) if sacrum is None else sacrum
    margin = SETTINGS["neighbour_width_mm"]
    if limit < 2 or margin is None:
        return masks
    reach = _lateral_reach(masks[:limit], k0)
    extra = max(1, int(round(margin / lateral_mm)))
    out = list(masks)
    for i in range(limit):
        for side in (0, 1):
            near = _neighbour_reaches(reach, i, side)
            if not np.isfinite(reach[i, side]) or not near:
                continue
            cap = int(max(near)) + extra
            if reach[i, side] > cap:
                out[i] = _cut_beyond(out[i], k0, side, cap)
    return out


def discs_from_bodies(masks: list[np.ndarray], chain: list[Region], px: float, sacrum: int | None = None
                      ) -> list[np.ndarray]:
    """Disc between each pair of consecutive bodies: per sagittal slice, the voxels outside both bodies that
    the upper body reaches going down the spine axis and the lower body reaches going up (≤ disc_reach_mm).
    Laterally it reaches as far as the wider body, at most `disc_lateral_slices` beyond the narrower one; the
    L5-S1 disc (`sacrum` = index of S1) no further than L5 (the sacrum's alae are wider than its disc)."""
    out = []
    reach = SETTINGS["disc_reach_mm"] / px
    for n, (a, b) in enumerate(zip(masks[:-1], masks[1:], strict=True)):
        u = chain[n + 1].centroid - chain[n].centroid
        u = u / (np.linalg.norm(u) or 1.0)
        down, up = _line(reach, u)[None], _line(reach, -u)[None]      # in-plane footprints (one slice deep)
        d = np.zeros(a.shape, bool)
        ka, kb = np.nonzero(a.any(axis=(1, 2)))[0], np.nonzero(b.any(axis=(1, 2)))[0]
        ks = np.intersect1d(ka, kb)
        if len(ks) == 0:
            out.append(d)
            continue
        # the disc is as wide as the wider of its two bodies: where one body's following ended a slice or more
        # before the other's, that body's outermost followed slice stands in for it (endplates are round, and the
        # narrower body's lateral end is most often where its marrow signal faded, not where its endplate ends)
        wide = ka if n + 1 == sacrum else np.union1d(ka, kb)
        lo, hi = max(wide[0], ks[0] - SETTINGS["disc_lateral_slices"]), \
            min(wide[-1], ks[-1] + SETTINGS["disc_lateral_slices"])
        if lo < ks[0] or hi > ks[-1]:
            a, b = a.copy(), b.copy()
            for m, km in ((a, ka), (b, kb)):
                for k in range(lo, hi + 1):
                    if not m[k].any():
                        m[k] = m[km[0]] if k < km[0] else m[km[-1]]
            ks = np.arange(lo, hi + 1)
        # one call over the slab (per-slice calls cost ~10 ms each in footprint set-up); the result is then cut,
        # slice by slice, to the box of the two bodies in that slice, as a per-slice computation would be
        both = a[ks[0]:ks[-1] + 1] | b[ks[0]:ks[-1] + 1]
        r = np.nonzero(both.any(axis=(0, 2)))[0]
        c = np.nonzero(both.any(axis=(0, 1)))[0]
        box = (slice(ks[0], ks[-1] + 1), slice(r[0], r[-1] + 1), slice(c[0], c[-1] + 1))
        both = both[:, box[1], box[2]]
        reach_a = ndi.binary_dilation(a[box], down)      # the upper body swept down the axis
        reach_b = ndi.binary_dilation(b[box], up)
        gap = ndi.binary_dilation(both, disk(SETTINGS["disc_gap_px"])[None]) if SETTINGS["disc_gap_px"] else both
        slab = reach_a & reach_b & ~gap
        for k in ks:
            j = k - ks[0]
            rr = np.nonzero(both[j].any(axis=1))[0]
            cc = np.nonzero(both[j].any(axis=0))[0]
            sub = (slice(rr[0], rr[-1] + 1), slice(cc[0], cc[-1] + 1))
            d[k, r[0]:r[-1] + 1, c[0]:c[-1] + 1][sub] = slab[j][sub]
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
    px = float(frame.grid.GetSpacing()[0])
    denoiser = FrameDenoiser(frame.arrays, px)         # the slabs the column is sought in, whole; the rest below
    denoiser.filter(slab_slice_indices(frame.arrays[names[0]].shape[0]))
    column = find_column(frame, names)
    tilt = column_tilt_deg(column["chain"])
    info = {"method": "modic.spine.parse", "method_version": METHOD_VERSION, "random_state": random_state,
            "images": given, "analysis_order": names,
            "settings": {**{k: list(v) if isinstance(v, tuple) else v for k, v in {**SETTINGS, **NAMING}.items()},
                         "endplates": dict(ENDPLATE_SETTINGS), "denoising": dict(DENOISE_SETTINGS)}}
    chain = column["chain"]
    follow = names if SETTINGS["follow_all_images"] else column["names"]
    masks = {}
    if len(chain) >= 2:            # every other slice denoised inside the one window the bodies are followed in
        window = _roi(chain, frame.arrays[names[0]].shape[1:], px)
        denoiser.filter(window=window)
        masks = follow_bodies(frame, follow, column, window)
    info["denoising"] = denoiser.report()
    gaps = body_gaps([masks[i] for i in range(len(chain))], [r.centroid for r in chain], column["k"], px) \
        if masks else None
    levels, certain, reason = name_column(column, px, follow, gaps)
    keep = [i for i, lv in enumerate(levels) if lv]
    if len(keep) < 2:
        info.update(naming="no chain of vertebral bodies found", seconds=round(time.perf_counter() - t0, 2))
        empty = sitk.Image(reference.GetSize(), sitk.sitkUInt8)
        empty.CopyInformation(reference)
        return Spine(empty, [], False, info)
    sacrum = keep.index(levels.index("S1")) if "S1" in levels else None
    widths = cap_runaway_widths([masks[i] for i in keep], column["k"], sacrum, float(frame.grid.GetSpacing()[2]))
    widths = extend_stunted_widths(widths, column["k"], sacrum)
    widths = cap_wider_than_neighbours(widths, column["k"], sacrum, float(frame.grid.GetSpacing()[2]))
    rounded = round_bodies(widths, [chain[i].centroid for i in keep], column["k"], px,
                           SETTINGS["round_power"], SETTINGS["round_margin_mm"])
    lines = dark_lines(column["slices"], px, ENDPLATE_SETTINGS["dark_line_mm"])   # once, for both steps
    edges = edge_map(column["slices"], px) if ENDPLATE_SETTINGS["edge_cuts"] else None
    rounded, touching = separate_touching(rounded, [chain[i].centroid for i in keep], column["slices"],
                                          column["k"], px, last=sacrum, dl=lines, edges=edges)
    body_masks, completion = complete_bodies(rounded, [chain[i].centroid for i in keep],
                                             column["slices"], column["k"], px, sacrum=sacrum, dl=lines,
                                             edges=edges if ENDPLATE_SETTINGS["edge_lengthening"] else None)
    info["endplates"] = {**completion, "separated": touching}
    disc_masks = discs_from_bodies(body_masks, [chain[i] for i in keep], px, sacrum=sacrum)
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
    info["endplates"]["lengthened_mm"] = {levels[i]: {"superior": completion["extended_mm"][n][0],
                                                      "inferior": completion["extended_mm"][n][1]}
                                          for n, i in enumerate(keep)}
    conf = {levels[i]: float(1 / (1 + np.exp(-2 * chain[i].score))) for i in keep}
    for d in ref_disc:
        a, b = d.split("-")
        conf[d] = min(conf.get(a, 0.5), conf.get(b, 0.5))
    info.update(naming=reason, column_tilt_deg=round(tilt, 1),
                mid_sagittal_index=int(column["k"]), column_images=column["names"],
                column_continued_below=column.get("continued_below"),
                joined_slabs=column.get("joined"), column_fallback=bool(column.get("fallback")),
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
