"""The anatomy zero-click detection works in (`modic.detect`): the spine it is given or parses, the label map
cropped to the spine, and per vertebral body its whole, eroded, search, marrow and endplate-zone masks (numpy,
z-y-x order on the cropped label grid)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from modic.errors import ModicInputError
from modic.spine.model import DISC_BASE, DISCS, LEVELS, Spine, _sweep_mm, disc_label, endplate_label, vertebra_label

SEQUENCES = ("T1", "T2", "FS")   # the sequences detection reads (modic.detect re-exports it)


def structuring(spacing_zyx, radius_mm: float, centre_rule: bool = False) -> np.ndarray:
    """Ellipsoidal structuring element of `radius_mm` (z-y-x spacing in mm), at least one voxel along every axis.

    centre_rule: along each axis only as many voxels as lie with their centre within `radius_mm` of a boundary at a
    voxel face (ceil(radius / spacing − ½), possibly none), so an erosion by it removes the voxels whose centre is
    nearer than `radius_mm` to the border: on 4 mm slices a 2 mm erosion keeps the outermost slice (its centre lies
    2 mm inside). Detection uses it with a parsed spine (method 12): a parsed body already ends laterally where the
    marrow does, and eroding one more 4 mm slice took most of a thin band's lateral extent. A labelled body's
    outermost slice is partial volume with the tissue beside it and is eroded as before."""
    if centre_rule:
        r = [max(0, int(np.ceil(radius_mm / s - 0.5 - 1e-9))) for s in spacing_zyx]
    else:
        r = [max(1, int(round(radius_mm / s))) for s in spacing_zyx]
    zz, yy, xx = np.ogrid[-r[0]:r[0] + 1, -r[1]:r[1] + 1, -r[2]:r[2] + 1]
    terms = [(a / ri) ** 2 if ri else np.zeros(a.shape) for a, ri in zip((zz, yy, xx), r, strict=True)]
    return terms[0] + terms[1] + terms[2] <= 1.0


def body_masks(lab: np.ndarray, level: str, eroder: np.ndarray, searcher: np.ndarray | None = None
                ) -> dict[str, np.ndarray]:
    """Masks of one body: whole, eroded (by `eroder`: the marrow statistics), search (eroded by `searcher`,
    the lighter erosion where candidates are looked for), its central marrow and its endplate zones."""
    whole = np.isin(lab, [vertebra_label(level), endplate_label(level, "superior"), endplate_label(level, "inferior")])
    if not whole.any():
        return {}
    sl = ndimage.find_objects(whole.astype(np.uint8))[0]
    pad = tuple(slice(max(s.start - 2, 0), s.stop + 2) for s in sl)
    out = {"whole": whole, "box": pad}
    erode_body(out, lab, level, eroder, searcher)
    return out


def erode_body(b: dict, lab: np.ndarray, level: str | None, eroder: np.ndarray,
                searcher: np.ndarray | None) -> None:
    """(Re)compute eroded/search/marrow/endplate-zone masks of body `b` from b["whole"] (in place)."""
    whole, box = b["whole"], b["box"]
    eroded = np.zeros_like(whole)
    eroded[box] = ndimage.binary_erosion(whole[box], eroder)
    search = eroded.copy()
    if searcher is not None:
        search[box] = ndimage.binary_erosion(whole[box], searcher)
    b["eroded"], b["search"] = eroded, search
    if level is not None:
        b["marrow"] = eroded & (lab == vertebra_label(level))
        b["superior"] = search & (lab == endplate_label(level, "superior"))
        b["inferior"] = search & (lab == endplate_label(level, "inferior"))
    else:
        b["superior"] = b["superior"] & search
        b["inferior"] = b["inferior"] & search


def extend_faces(bodies: dict, lab: np.ndarray, ref: sitk.Image, spine: Spine, extend_mm: float,
                  eroder: np.ndarray, searcher: np.ndarray | None = None, step_mm: float = 2.0) -> None:
    """Add to each body the unlabelled voxels up to `extend_mm` beyond its superior/inferior face (the body's
    footprint extruded along the spine axis), as part of that endplate zone: a parser that outlines bodies by
    their marrow signal may leave a Modic band, whose signal is not marrow's, outside the body."""
    free = lab == 0
    for lv, b in bodies.items():
        axis = spine_axis(spine, lv)
        body = b["whole"].copy()        # both faces from the body as parsed (not one face's addition swept back)
        for side, sign in (("superior", 1.0), ("inferior", -1.0)):
            ext = _sweep_mm(body, ref, sign * axis, np.arange(step_mm, extend_mm + 1e-6, step_mm)) & free
            if ext.any():
                b[side] = b[side] | ext
                b["whole"] = b["whole"] | ext
        sl = ndimage.find_objects(b["whole"].astype(np.uint8))[0]
        b["box"] = tuple(slice(max(s.start - 2, 0), s.stop + 2) for s in sl)
        erode_body(b, lab, None, eroder, searcher)


def face_shells(bodies: dict, lab: np.ndarray, ref: sitk.Image, spine: Spine, shell_mm: float,
                beyond_mm: float, step_mm: float = 1.0) -> None:
    """Per body, the voxels between its search region and `shell_mm` beyond its superior/inferior face: the
    search footprint swept along the spine axis by up to `beyond_mm` (the search region's depth inside the
    face) + `shell_mm`, outside the search region and outside every other body (`b["shell_superior"]`,
    `b["shell_inferior"]` and their union `b["shell"]`; the box grows to hold them). A parser that outlines
    bodies by their marrow signal ends a body where a Modic band begins, so a band only a few mm thick lies in
    the face's rim or the parsed disc beside it."""
    any_body = np.zeros(lab.shape, bool)
    for b in bodies.values():
        any_body |= b["whole"]
    lengths = np.arange(step_mm, beyond_mm + shell_mm + 1e-6, step_mm)
    for lv, b in bodies.items():
        axis = spine_axis(spine, lv)
        keep = ~b["search"] & ~(any_body & ~b["whole"])
        for side, sign in (("superior", 1.0), ("inferior", -1.0)):
            b[f"shell_{side}"] = _sweep_mm(b["search"], ref, sign * axis, lengths) & keep
        b["shell"] = b["shell_superior"] | b["shell_inferior"]
        sl = ndimage.find_objects((b["whole"] | b["shell"]).astype(np.uint8))[0]
        b["box"] = tuple(slice(max(s.start - 2, 0), s.stop + 2) for s in sl)


def disc_limits(data: Mapping[str, np.ndarray], lab: np.ndarray, bodies: dict, quantile: float,
                spacing_zyx: np.ndarray, reach_mm: float) -> dict[str, np.ndarray]:
    """Per fluid-sensitive sequence given (T2, FS), in each face's shell within `reach_mm` of a disc the `quantile`
    of the disc beside that face (NaN elsewhere: lateral to the disc, beside the foramina and vessels, nothing says
    what the tissue should be). Partial volume of marrow with disc (or cortex) lies between the two and is never
    brighter than both, so shell tissue brighter than this on every such sequence is not the disc's edge. The disc
    is read away from every face's shell, where a parser that ended a body at a band gave part of it to the disc."""
    fluid = [s for s in ("T2", "FS") if s in data]
    out = {s: np.full(lab.shape, np.nan, np.float32) for s in fluid}
    any_disc = (lab >= DISC_BASE) & (lab < DISC_BASE + len(DISCS))
    if not fluid or not any_disc.any():
        return out
    near = ndimage.distance_transform_edt(~any_disc, sampling=spacing_zyx) <= reach_mm
    order = [lv for lv in LEVELS if lv in bodies]
    shells = np.zeros(lab.shape, bool)
    for b in bodies.values():
        shells |= b.get("shell", False)
    levels: dict[str, dict[str, float] | None] = {}      # per disc: its quantile on each fluid sequence

    def disc_level(name: str) -> dict[str, float] | None:
        if name not in levels:
            try:
                disc = lab == disc_label(name)
            except ValueError:
                disc = np.zeros(lab.shape, bool)
            core = disc & ~shells
            disc = core if core.sum() >= 20 else disc
            levels[name] = ({s: float(np.quantile(data[s][disc], quantile)) for s in fluid}
                            if disc.sum() >= 20 else None)
        return levels[name]

    for lv, b in bodies.items():
        i = order.index(lv)
        for side, other in (("superior", i - 1), ("inferior", i + 1)):
            if not 0 <= other < len(order) or f"shell_{side}" not in b:
                continue
            upper, lower = (order[other], lv) if side == "superior" else (lv, order[other])
            if (level := disc_level(f"{upper}-{lower}")) is None:
                continue
            for s in fluid:
                out[s][b[f"shell_{side}"] & near] = level[s]
    return out


def lengthened_zones(bodies: dict, ref: sitk.Image, spine: Spine, rim: np.ndarray, step_mm: float = 1.0) -> None:
    """Per body, the part of each face that the parser lengthened to its endplate line
    (`spine.info["endplates"]["lengthened_mm"]`) that the candidate region leaves out, up to the depth of the
    structuring element `rim` (z-y-x) inside the face: the eroded footprint swept along the spine axis towards the
    face, inside the body eroded by `rim` (`b["lengthened"]`; also added to that endplate zone). The lengthening
    crossed tissue that was not normal marrow between the marrow's end and the cortex, where a Modic band lies."""
    lengthened = spine.info.get("endplates", {}).get("lengthened_mm", {})
    for lv, b in bodies.items():
        ext = lengthened.get(lv, {})
        zone = np.zeros_like(b["whole"])
        if not any(float(ext.get(side, 0.0)) > 0 for side in ("superior", "inferior")):
            b["lengthened"] = zone
            continue
        axis = spine_axis(spine, lv)
        inner = np.zeros_like(b["whole"])
        inner[b["box"]] = ndimage.binary_erosion(b["whole"][b["box"]], rim)
        for side, sign in (("superior", 1.0), ("inferior", -1.0)):
            e = float(ext.get(side, 0.0))
            if e <= 0:
                continue
            part = _sweep_mm(b["eroded"], ref, sign * axis, np.arange(step_mm, e + 1e-6, step_mm)) & inner
            part &= ~b["eroded"] & ~b["inferior" if side == "superior" else "superior"]
            b[side] = b[side] | part
            zone |= part
        b["lengthened"] = zone


def axis_height(idx: np.ndarray, ref: sitk.Image, axis_lps: np.ndarray, trim: float = 5.0) -> float:
    """Extent (mm) of voxels (N, 3 numpy-ordered indices) along a unit LPS axis, between the `trim` and
    100 − `trim` percentiles (a thin strand does not make a band tall)."""
    direction = np.asarray(ref.GetDirection()).reshape(3, 3)
    pts = (idx[:, ::-1] * np.asarray(ref.GetSpacing())) @ direction.T
    proj = pts @ axis_lps
    if not len(proj):
        return 0.0
    lo, hi = np.percentile(proj, [trim, 100 - trim])
    return float(hi - lo)


def spine_axis(spine: Spine, level: str) -> np.ndarray:
    """Unit superior axis (LPS) at a body, from its endplate centroids (else the neighbours)."""
    sup, inf = spine.structure(f"{level} superior"), spine.structure(f"{level} inferior")
    if sup is not None and inf is not None:
        d = np.subtract(sup.centroid_lps, inf.centroid_lps)
    else:
        cents = {s.level: np.asarray(s.centroid_lps) for s in spine.vertebrae()}
        names = sorted(cents, key=LEVELS.index)
        i = names.index(level)
        a, b = names[max(i - 1, 0)], names[min(i + 1, len(names) - 1)]
        d = cents[a] - cents[b] if a != b else np.array([0.0, 0.0, 1.0])
    return d / (np.linalg.norm(d) or 1.0)


def crop_to_spine(labels: sitk.Image, margin: int = 3) -> tuple[sitk.Image, tuple[slice, ...]]:
    """The label map cropped to its structures' bounding box (+ margin voxels) and the numpy slices of the box."""
    arr = sitk.GetArrayViewFromImage(labels)
    nz = np.nonzero(arr)
    if not nz[0].size:
        raise ModicInputError("the spine anatomy is empty — no vertebral body to search (check the images or "
                              "the given anatomy)")
    lo = [max(int(a.min()) - margin, 0) for a in nz]
    hi = [min(int(a.max()) + margin + 1, n) for a, n in zip(nz, arr.shape, strict=True)]
    crop = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    sub = sitk.RegionOfInterest(labels, [h - low for h, low in zip(hi, lo, strict=True)][::-1], lo[::-1])
    return sub, crop


def parse_anatomy(images: Mapping[str, sitk.Image]) -> Spine:
    """The patient's anatomy parsed from `images` (T1, T2, FS order)."""
    try:
        from modic.spine import parse_spine  # type: ignore[attr-defined]
    except ImportError:
        raise ModicInputError("automatic spine parsing is not available in this version — give the anatomy "
                              "(a Spine, or --spine labels)") from None
    order = [s for s in SEQUENCES if s in images]
    return parse_spine({s: images[s] for s in order})


def check_spine_overlap(labels: sitk.Image, images: Mapping[str, sitk.Image], what: str) -> None:
    """ModicInputError when no vertebral body of the spine label map `labels` lies inside the images (a label map
    of another study, or of the same one exported with another origin or direction)."""
    if not images:
        return
    name = next((s for s in ("T2", "T1", "FS") if s in images), next(iter(images)))
    moved = sitk.GetArrayFromImage(sitk.Resample(labels, images[name], sitk.Transform(), sitk.sitkNearestNeighbor,
                                                 0, sitk.sitkUInt8))
    if not ((moved >= 10) & (moved < 30)).any():
        raise ModicInputError(f"{what} does not overlap the {name} image (none of its vertebral bodies lies inside "
                              "it) — is it the label map of this study? Check its origin and direction")


def resolve_spine(images: Mapping[str, sitk.Image], spine) -> Spine:
    """The anatomy detection searches: `spine` as given (a Spine), converted (its label map, a SimpleITK image as
    `modic spine` writes spine_labels.nrrd), or parsed from `images` when None; anything else is refused."""
    if spine is None:
        return parse_anatomy(images)
    if isinstance(spine, sitk.Image):
        from modic.spine import spine_from_label_map

        try:
            spine = spine_from_label_map(spine, info={"source": "label map given to detect_lesions"})
        except ValueError as exc:
            raise ModicInputError(f"the spine label map is not one `modic spine` writes ({exc})") from None
    if not isinstance(spine, Spine):
        raise ModicInputError(f"spine must be a modic.spine.Spine or its label map (SimpleITK image), got "
                              f"{type(spine).__name__}")
    check_spine_overlap(spine.labels, images, "the spine anatomy")
    return spine
