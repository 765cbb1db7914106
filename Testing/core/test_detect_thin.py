"""Zero-click detection on a synthetic three-body spine at clinical geometry (sagittal, 0.8 × 0.8 × 4 mm):
a thin Modic band against an endplate is found, while a dark cortical rim, smooth coil shading on an
over-smoothed image and a disc's partial volume are not lesions."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from modic.detect import _contrast_ok, detect_lesions
from modic.geometry import sagittal_direction
from modic.segment import dice
from modic.spine.model import spine_from_masks

SPACING = (0.8, 0.8, 4.0)          # i: anterior→posterior, j: superior→inferior, k: slices (right)
SIZE = (70, 130, 12)               # i, j, k
BODIES = {"L3": (10, 42), "L4": (52, 84), "L5": (94, 126)}   # j ranges; discs between
TISSUE = {  # marrow, disc, cortex rim, soft tissue
    "T1": (500.0, 300.0, 150.0, 350.0), "T2": (500.0, 900.0, 150.0, 300.0), "FS": (500.0, 800.0, 150.0, 250.0)}


def _spine_case(band: dict[str, float] | None, noise: float, shading: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    nk, nj, ni = SIZE[::-1]
    bodies, cortex = {}, np.zeros((nk, nj, ni), bool)
    disc = np.zeros((nk, nj, ni), bool)
    for lv, (j0, j1) in BODIES.items():
        m = np.zeros((nk, nj, ni), bool)
        m[1:11, j0:j1, 15:60] = True
        bodies[lv] = m
        rim = m & ~np.pad(m[1:-1, 1:-1, 1:-1], 1)   # one-voxel shell (cortex)
        rim[[0, 1, 10, 11]] = False                   # not across slices
        cortex |= rim
    for j0, j1 in ((42, 52), (84, 94)):
        disc[2:10, j0:j1, 18:57] = True
    lesion = np.zeros((nk, nj, ni), bool)
    if band:
        lesion[4:7, 39:41, 22:40] = True    # 1.6 mm × 14 mm × 12 mm against the L3 inferior endplate
    jj = np.arange(nj)[None, :, None]
    images = {}
    for seq, (marrow, d, c, soft) in TISSUE.items():
        arr = np.full((nk, nj, ni), soft, np.float32)
        body = np.any(np.stack(list(bodies.values())), axis=0)
        arr[body] = marrow * (1 + shading * np.broadcast_to(np.sin(jj / 9.0), arr.shape)[body])
        arr[disc] = d
        arr[cortex] = c
        if band:
            arr[lesion] *= band[seq]
        arr *= 1 + noise * rng.standard_normal(arr.shape).astype(np.float32)
        img = sitk.GetImageFromArray(arr)
        img.SetSpacing(SPACING)
        img.SetDirection(sagittal_direction())
        img.SetOrigin((30.0, -20.0, 60.0))
        images[seq] = img
    spine = spine_from_masks(images["T2"], bodies)
    return images, spine, lesion


def _with_band(images: dict, mask: np.ndarray, factors: dict[str, float]) -> dict:
    """The images with the voxels of `mask` set to the marrow signal × each sequence's factor (a Modic band)."""
    out = {}
    for seq, img in images.items():
        arr = sitk.GetArrayFromImage(img)
        arr[mask] = TISSUE[seq][0] * factors[seq]
        out[seq] = sitk.GetImageFromArray(arr)
        out[seq].CopyInformation(img)
    return out


def _one_type_ii_at_l3_inferior(res, lesion: np.ndarray) -> np.ndarray:
    """Assert that detection found one type II lesion, at L3 inferior, covering > 60 % of `lesion`; its mask (T2)."""
    table = res.table()
    assert list(table["endplate"]) == ["L3 inferior"], res.info["rejected_regions"]
    assert table["modic_type"].iloc[0] == "II"
    found = sitk.GetArrayViewFromImage(res.label_maps["T2"]) > 0
    assert (found & lesion).sum() / lesion.sum() > 0.6
    return found


def test_thin_type_ii_band_at_the_endplate_is_found_with_its_level_and_type():
    # an over-smoothed image (1 % noise) with ±3 % shading: before the 3 % floor on the marrow spread the
    # shading joined the band's region and diluted its contrast below the threshold (nothing was found)
    images, spine, lesion = _spine_case({"T1": 1.25, "T2": 1.05, "FS": 0.7}, noise=0.01, shading=0.03)
    res = detect_lesions(images, spine, case_id="thin", segment=False)
    found = _one_type_ii_at_l3_inferior(res, lesion)
    assert 0.6 < found.sum() / lesion.sum() < 1.6   # measured 0.89 (245.8 of 276.5 mm³)


def test_cortex_rim_disc_and_smooth_shading_are_not_lesions():
    # an over-smoothed image (0.5 % noise) with ±3 % shading along the spine: without the 3 % floor on the
    # marrow spread the shading alone is 6 SD
    images, spine, _ = _spine_case(None, noise=0.005, shading=0.03)
    res = detect_lesions(images, spine, case_id="none", segment=False)
    assert len(res.table()) == 0, res.table()
    assert res.info["settings"]["min_sd_fraction"] == 0.03
    rel_sd = {s: res.info["marrow_sd"][s] / 500.0 for s in ("T1", "T2", "FS")}
    assert all(v == pytest.approx(0.03, rel=0.05) for v in rel_sd.values())


def test_contrast_rule_needs_every_required_sequence():
    assert _contrast_ok("II", {"T1": 1.15, "T2": 1.0, "FS": 0.70}, 0.12)
    assert not _contrast_ok("II", {"T1": 1.08, "T2": 1.0, "FS": 0.70}, 0.12)   # T1 diluted below 12 %
    assert _contrast_ok("I", {"T1": 0.80, "T2": 1.02, "FS": 1.40}, 0.12)     # T1 and the better of T2/FS
    assert not _contrast_ok("III", {"T1": 0.93, "T2": 0.70, "FS": 0.95}, 0.12)


def test_erosion_with_the_centre_rule_removes_voxels_whose_centre_lies_within_the_radius():
    """With a parsed spine, a 2 mm erosion on 0.8 × 0.8 × 4 mm voxels removes 2 in-plane voxels (centres 0.4 and
    1.2 mm from the border; the third's lies at 2.0 mm) and no 4 mm slice (the outermost slice's centre is 2 mm
    inside); with given anatomy at least one voxel along every axis, as before detection method 12."""
    from modic.detect import _structuring

    assert _structuring((4.0, 0.8, 0.8), 2.0, centre_rule=True).shape == (1, 5, 5)
    assert _structuring((4.0, 0.8, 0.8), 3.0, centre_rule=True).shape == (3, 9, 9)   # the slice beyond: centre 2 mm
    assert _structuring((1.0, 1.0, 1.0), 2.0, centre_rule=True).shape == (5, 5, 5)   # isotropic 1 mm: 2 voxels
    assert _structuring((4.0, 0.8, 0.8), 2.0).shape == (3, 5, 5)                      # labelled bodies: as before


def test_a_band_at_the_lateral_edge_of_a_parsed_body_on_4_mm_slices_is_found():
    # a type II band (4 mm × 9.6 mm) in the parsed body's two outermost 4 mm slices (1–2 of 1–10): eroding one
    # slice along every axis left half of it, under the 150 mm³ minimum, and it was not found (before method 12)
    images, _, _ = _spine_case(None, noise=0.01, shading=0.0)
    band = np.zeros(sitk.GetArrayViewFromImage(images["T2"]).shape, bool)
    band[1:3, 36:41, 22:34] = True              # against the L3 inferior endplate (row 41)
    images = _with_band(images, band, {"T1": 1.4, "T2": 1.05, "FS": 0.6})
    spine = _parsed_short_of_the_band(images, 0)
    res = detect_lesions(images, spine, case_id="lateral", segment=False)
    _one_type_ii_at_l3_inferior(res, band)


@pytest.mark.parametrize("focus_mm, reported", [(10.0, False), (None, True)])
def test_a_round_fat_focus_at_the_endplate_is_not_a_band(focus_mm, reported):
    # a fatty island (type II signal) 6.4 mm across and 6.4 mm tall against the L3 inferior endplate, 4 slices wide:
    # a focus, not a Modic band (construction B's marrow islands were called type II, 2.4 per scan)
    images, spine, _ = _spine_case(None, noise=0.01, shading=0.0)
    focus = np.zeros(sitk.GetArrayViewFromImage(images["T2"]).shape, bool)
    focus[4:8, 33:41, 30:38] = True
    images = _with_band(images, focus, {"T1": 1.5, "T2": 1.3, "FS": 0.6})
    res = detect_lesions(images, spine, case_id="focus", segment=False, focus_mm=focus_mm)
    got = [(r.endplate, r.modic_type) for r in res.table().itertuples()]
    assert got == ([("L3 inferior", "II")] if reported else []), (got, res.info["rejected_regions"])
    if not reported:
        assert any(r["reason"].startswith("a focus") for r in res.info["rejected_regions"])


def test_fat_foci_scattered_along_an_endplate_are_not_one_band():
    # two fatty islands (type II signal), each 6.4 mm across and tall, 12.8 mm apart against the L3 inferior
    # endplate: joined as one lesion of that endplate they span 25.6 mm along it, but each piece is a focus
    # (detection method 14; before it, construction B's scattered islands were called type II bands)
    images, spine, _ = _spine_case(None, noise=0.01, shading=0.0)
    foci = np.zeros(sitk.GetArrayViewFromImage(images["T2"]).shape, bool)
    foci[4:8, 33:41, 20:28] = True
    foci[4:8, 33:41, 44:52] = True
    images = _with_band(images, foci, {"T1": 1.5, "T2": 1.3, "FS": 0.6})
    res = detect_lesions(images, spine, case_id="foci", segment=False)
    assert len(res.table()) == 0, res.table()
    assert any(r["reason"].startswith("a focus") for r in res.info["rejected_regions"]), res.info["rejected_regions"]
    # one piece of the same two joined by a band along the endplate is a band, and is reported
    foci[4:8, 37:41, 28:44] = True
    images, spine, _ = _spine_case(None, noise=0.01, shading=0.0)
    images = _with_band(images, foci, {"T1": 1.5, "T2": 1.3, "FS": 0.6})
    got = [(r.endplate, r.modic_type) for r in detect_lesions(images, spine, case_id="joined", segment=False)
           .table().itertuples()]
    assert got == [("L3 inferior", "II")], got


def test_a_region_in_the_middle_of_a_body_is_rejected_saying_how_much_of_it_touches_an_endplate():
    images, spine, _ = _spine_case(None, noise=0.01, shading=0.0)
    blob = np.zeros(sitk.GetArrayViewFromImage(images["T2"]).shape, bool)
    blob[4:7, 22:30, 30:45] = True              # 6.4 mm tall, mid-height of L3 (rows 10–41)
    images = _with_band(images, blob, {"T1": 1.4, "T2": 1.05, "FS": 0.6})
    res = detect_lesions(images, spine, case_id="middle", segment=False)
    assert len(res.table()) == 0, res.table()
    reasons = [r["reason"] for r in res.info["rejected_regions"]]
    assert reasons == ["not at an endplate (0% of it in an endplate zone, 15% needed)"], reasons


def test_extend_faces_adds_only_unlabelled_voxels_within_reach_of_each_face():
    """`extend_faces` (detection's `extend_mm`) extrudes each body's footprint along the spine axis beyond its
    superior and inferior faces, into unlabelled voxels only and no further than `extend_mm`; the additions join
    that face's endplate zone. Bodies here: j 10–41 (L3) and 52–83 (L4) at 0.8 mm, an unlabelled 8 mm gap."""
    from modic.detect import _structuring
    from modic.detect_anatomy import body_masks, extend_faces

    _, spine, _ = _spine_case(None, noise=0.01, shading=0.0)
    lab = sitk.GetArrayFromImage(spine.labels)
    spacing_zyx = np.asarray(spine.labels.GetSpacing())[::-1]
    eroder, searcher = _structuring(spacing_zyx, 2.0), _structuring(spacing_zyx, 1.0)
    bodies = {lv: body_masks(lab, lv, eroder, searcher) for lv in ("L3", "L4")}
    before = {lv: {k: b[k].copy() for k in ("whole", "superior", "inferior")} for lv, b in bodies.items()}
    extend_faces(bodies, lab, spine.labels, spine, 4.0, eroder, searcher)
    reach = {"L3": {"inferior": range(42, 47), "superior": range(5, 10)},
             "L4": {"superior": range(47, 52), "inferior": range(84, 89)}}
    for lv, b in bodies.items():
        added = b["whole"] & ~before[lv]["whole"]
        assert added.any() and not (added & (lab > 0)).any()          # unlabelled voxels only
        rows = set(np.nonzero(added.any(axis=(0, 2)))[0].tolist())
        assert rows == set(reach[lv]["inferior"]) | set(reach[lv]["superior"]), (lv, sorted(rows))   # ≤ 4 mm
        for side in ("superior", "inferior"):
            grown = b[side] & ~before[lv][side]
            assert set(np.nonzero(grown.any(axis=(0, 2)))[0].tolist()) <= set(reach[lv][side])
        # the footprint is the body's own (slices 1–10, columns 15–59), eroded into the search zone
        assert not added[[0, 11]].any() and not added[:, :, :15].any() and not added[:, :, 60:].any()
    assert not (bodies["L3"]["whole"] & bodies["L4"]["whole"]).any()


def test_spine_label_map_of_another_place_is_refused(tmp_path):
    """A spine label map that does not overlap the images (another study, or an origin lost on export) is refused
    with one line, by detection and by --anatomy LABELMAP; before, detection searched nothing and reported no lesion,
    and the one-click method warned that the lesion was not in marrow."""
    from modic.commands._anatomy import resolve_anatomy

    images, spine, _ = _spine_case(None, noise=0.01, shading=0.0)
    far = sitk.Image(spine.labels)
    far.SetOrigin(tuple(np.add(spine.labels.GetOrigin(), (0.0, 0.0, 300.0))))
    with pytest.raises(ValueError, match="the spine anatomy does not overlap the T2 image"):
        detect_lesions(images, far, case_id="far")
    sitk.WriteImage(far, str(tmp_path / "far.nrrd"))
    with pytest.raises(ValueError, match="far.nrrd does not overlap the T2 image"):
        resolve_anatomy(str(tmp_path / "far.nrrd"), images)
    sitk.WriteImage(spine.labels, str(tmp_path / "own.nrrd"))
    assert resolve_anatomy(str(tmp_path / "own.nrrd"), images)[0] is not None


@pytest.mark.parametrize("rows, reported", [(2, False), (5, True)])
def test_sclerotic_band_must_be_thicker_than_the_cortex(rows, reported):
    """A band dark on T1 and T2 (0.3 of marrow, FS 0.75) under the L4 superior endplate: 2 rows (0.8 mm extent along
    the spine) is what a cortical endplate inside a body's outline looks like and is rejected by thickness; 5 rows
    (3.2 mm) is a type III lesion. Without the thickness rule the thin band is reported as type III too."""
    images, spine, _ = _spine_case(None, noise=0.01, shading=0.0)
    band = np.zeros(sitk.GetArrayViewFromImage(images["T1"]).shape, bool)
    band[3:9, 55:55 + rows, 22:50] = True
    for seq, f in {"T1": 0.3, "T2": 0.3, "FS": 0.75}.items():
        arr = sitk.GetArrayFromImage(images[seq])
        arr[band] *= f
        img = sitk.GetImageFromArray(arr)
        img.CopyInformation(images[seq])
        images[seq] = img
    res = detect_lesions(images, spine, case_id="band", segment=False)
    got = [(r.endplate, r.modic_type) for r in res.table().itertuples()]
    assert got == ([("L4 superior", "III")] if reported else []), (got, res.info["rejected_regions"])
    if not reported:
        assert any("thinner than 2 mm for type III" in r["reason"] for r in res.info["rejected_regions"])
        off = detect_lesions(images, spine, case_id="band", segment=False, min_thickness_iii_mm=0.0)
        assert [(r.endplate, r.modic_type) for r in off.table().itertuples()] == [("L4 superior", "III")]


def _parsed_short_of_the_band(images: dict, band_rows: int, disc_slices: tuple[int, int] = (2, 10)):
    """The anatomy a marrow-signal parser gives: L3 ends `band_rows` rows (0.8 mm) above its inferior endplate,
    where the band begins; the disc below is labelled down to L4 (in sagittal slices `disc_slices`)."""
    nk, nj, ni = SIZE[::-1]
    bodies, discs = {}, {}
    for lv, (j0, j1) in BODIES.items():
        m = np.zeros((nk, nj, ni), bool)
        m[1:11, j0:j1 - (band_rows if lv == "L3" else 0), 15:60] = True
        bodies[lv] = m
    for name, (j0, j1) in (("L3-L4", (BODIES["L3"][1] - band_rows, 52)), ("L4-L5", (84, 94))):
        d = np.zeros((nk, nj, ni), bool)
        d[disc_slices[0]:disc_slices[1], j0:j1, 18:57] = True
        discs[name] = d
    return spine_from_masks(images["T2"], bodies, discs, info={"method": "modic.spine.parse"})


@pytest.mark.parametrize("band", [{"T1": 1.4, "T2": 1.1, "FS": 0.6}, {"T1": 0.6, "T2": 1.5, "FS": 1.6}])
def test_a_type_ii_band_beyond_a_parsed_face_is_searched_and_other_types_are_not(band):
    """A 3.2 mm band against the L3 inferior endplate, left outside a parsed L3 (the parser stopped where the
    band's signal begins). Type II (fat: T1 bright, FS dark) is searched in the face's rim and up to
    `type_ii_shell_mm` beyond: found at L3 inferior. A type I band (T2/FS bright, T1 dark) no brighter than the
    disc beside it is not taken, as disc partial volume has that pattern (`type_i_shell_sd` takes only what is
    brighter than the disc's core, tests below); with the shell turned off the type II band is lost too."""
    images, _, _ = _spine_case(None, noise=0.01, shading=0.0)
    lesion = np.zeros(SIZE[::-1], bool)
    lesion[3:9, 38:42, 22:50] = True                     # 3.2 mm × 22 mm × 24 mm
    out = _with_band(images, lesion, band)
    spine = _parsed_short_of_the_band(out, band_rows=4)
    assert spine.parsed
    res = detect_lesions(out, spine, case_id="shell", segment=False)
    off = detect_lesions(out, spine, case_id="shell", segment=False, type_ii_shell_mm=0.0)
    assert len(off.table()) == 0, off.table()
    if band["T1"] > 1:
        table = res.table()
        assert list(table["endplate"]) == ["L3 inferior"] and table["modic_type"].iloc[0] == "II"
        found = sitk.GetArrayViewFromImage(res.label_maps["T2"]) > 0
        assert (found & lesion).sum() / lesion.sum() > 0.5
        assert res.info["settings"]["type_ii_shell_mm"] == 3.0
    else:
        assert len(res.table()) == 0, res.table()


def test_a_sclerotic_band_in_a_lengthened_face_is_searched_to_the_cortex():
    """A 4 mm type III band against the L3 inferior endplate of a parsed spine whose L3 the parser lengthened by
    4 mm to its endplate line (`info["endplates"]["lengthened_mm"]`). The 2 mm search erosion leaves 1.6 mm of the
    band, which the thickness rule takes for cortex; searched to 1 mm from the lengthened face (detection method
    7) the band is 2.4 mm thick and found as type III. Without the record of the lengthening it is not searched
    there."""
    images, _, _ = _spine_case(None, noise=0.01, shading=0.0)
    band = np.zeros(SIZE[::-1], bool)
    band[3:9, 37:42, 22:50] = True                       # rows 37–41: 4 mm against the face at row 41
    out = _with_band(images, band, {"T1": 0.4, "T2": 0.45, "FS": 0.5})
    spine = _parsed_short_of_the_band(out, band_rows=0)
    assert spine.parsed
    res = detect_lesions(out, spine, case_id="len", segment=False)
    assert len(res.table()) == 0 and any("thinner" in r["reason"] for r in res.info["rejected_regions"])
    spine.info["endplates"] = {"lengthened_mm": {"L3": {"superior": 0.0, "inferior": 4.0}}}
    res = detect_lesions(out, spine, case_id="len", segment=False)
    got = [(r.endplate, r.modic_type) for r in res.table().itertuples()]
    assert got == [("L3 inferior", "III")], (got, res.info["rejected_regions"])
    found = sitk.GetArrayViewFromImage(res.label_maps["T2"]) > 0
    assert (found & band).sum() / band.sum() > 0.5
    off = detect_lesions(out, spine, case_id="len", segment=False, lengthened_rim_mm=None)
    assert len(off.table()) == 0


def test_a_band_joined_by_a_thin_strand_along_the_wall_is_cut_free():
    """A type I band under the L3 superior endplate (rows 10–14, 4 mm) joined by a 2-voxel (1.6 mm) strand of the
    same signal that runs down the posterior wall to the inferior face (CSF partial volume looks like this on T2):
    the joined region spans the body and is not band-shaped; cut at the strand (an in-plane opening), its band is
    reported at L3 superior, type I (detection method 8). Before, the whole region was rejected."""
    images, spine, _ = _spine_case(None, noise=0.01, shading=0.0)
    band = np.zeros(SIZE[::-1], bool)
    band[4:8, 10:15, 22:57] = True
    strand = np.zeros(SIZE[::-1], bool)
    strand[3:9, 10:42, 55:57] = True
    out = _with_band(images, band | strand, {"T1": 0.55, "T2": 1.6, "FS": 1.7})
    res = detect_lesions(out, spine, case_id="strand", segment=False)
    got = [(r.endplate, r.modic_type) for r in res.table().itertuples()]
    assert got == [("L3 superior", "I")], (got, res.info["rejected_regions"])
    found = sitk.GetArrayViewFromImage(res.label_maps["T2"]) > 0
    assert (found & band).sum() / band.sum() > 0.5 and (found & strand & ~band).sum() < 0.3 * strand.sum()


def test_a_type_ii_band_beyond_a_parsed_face_is_outlined_there():
    """The type II band of the test above, wholly beyond the parsed L3 face, segmented (detection method 9): the
    one-click mask is confined to the body *and* the type II shell where the band was searched, so it is kept
    (Dice 0.999 with the band); confined to the body alone (`outline_in_shell=False`, method 8) it held nothing of
    the band and the detected region stood in for it."""
    images, _, _ = _spine_case(None, noise=0.01, shading=0.0)
    lesion = np.zeros(SIZE[::-1], bool)
    lesion[3:9, 38:42, 22:50] = True
    out = _with_band(images, lesion, {"T1": 1.4, "T2": 1.1, "FS": 0.6})
    spine = _parsed_short_of_the_band(out, band_rows=4)
    assert not (lesion & (sitk.GetArrayViewFromImage(spine.body_mask("L3")) > 0)).any()
    scores = {}
    for flag in (True, False):
        res = detect_lesions(out, spine, case_id="shell", outline_in_shell=flag)
        found = sitk.GetArrayViewFromImage(res.label_maps["T2"]) > 0
        scores[flag] = dice(found, lesion)
        source = res.lesions["mask_source"].iloc[0]
        assert source.startswith("one-click" if flag else "detected region"), source
    assert scores[True] > 0.99 and scores[True] > scores[False], scores


@pytest.mark.parametrize("band", [{"T1": 0.55, "T2": 1.6, "FS": 1.7}, {"T1": 0.4, "T2": 0.45, "FS": 0.5}])
def test_a_band_partly_beyond_a_parsed_face_is_outlined_whole_whatever_its_type(band):
    """A 9.6 mm type I (or type III) band against the L3 inferior endplate, the parser's L3 ending 3.2 mm short of
    the endplate: found inside the body, and grown back within the body and the shell beyond its face (detection
    method 10), the detected region holds the band whole; confined to the body (method 9 did so for types I and
    III) it lost the third beyond the face."""
    images, _, _ = _spine_case(None, noise=0.01, shading=0.0)
    lesion = np.zeros(SIZE[::-1], bool)
    lesion[3:9, 30:42, 22:50] = True                     # rows 30–41: 9.6 mm; the parsed L3 ends at row 37
    out = _with_band(images, lesion, band)
    spine = _parsed_short_of_the_band(out, band_rows=4)
    scores = {}
    for flag in (True, False):
        res = detect_lesions(out, spine, case_id="partly", outline_in_shell=flag, segment=False)
        assert list(res.lesions["endplate"]) == ["L3 inferior"], res.info["rejected_regions"]
        found = sitk.GetArrayViewFromImage(res.label_maps["T2"]) > 0
        scores[flag] = dice(found, lesion)
    assert scores[True] > 0.9 and scores[False] < 0.85, scores


@pytest.mark.parametrize("band,found", [
    ({"T1": 0.6, "T2": 2.4, "FS": 2.2}, True),      # brighter than the disc (T2 900, FS 800) on T2 and FS
    ({"T1": 0.6, "T2": 1.5, "FS": 1.6}, False),     # within the disc's range: what its partial volume gives
    ({"T1": 0.8, "T2": 1.4, "FS": 1.3}, False),     # half marrow, half disc: partial volume exactly
    ({"T1": 0.6, "T2": 1.96, "FS": 2.0}, None),     # every voxel above the disc on T2, the region only by 8 %
])
def test_a_type_i_band_beyond_a_parsed_face_is_searched_where_no_disc_partial_volume_explains_it(band, found):
    """A 3.2 mm type I band left outside a parsed L3 (as in the type II test above). With `type_i_shell_sd` it is
    searched beyond the face where, on T2 and FS, it is brighter than the 90th percentile of the disc beside
    that face + that many marrow SDs: a mix of marrow and disc lies between the two and is never brighter than
    both. A band within the disc's range (or a marrow–disc mix) is not reported, nor one whose mean is not 12 %
    (`min_contrast`) brighter than the disc on each of T2 and FS; with the option off nothing is."""
    images, _, _ = _spine_case(None, noise=0.01, shading=0.0)
    lesion = np.zeros(SIZE[::-1], bool)
    lesion[3:9, 38:42, 22:50] = True
    out = _with_band(images, lesion, band)
    spine = _parsed_short_of_the_band(out, band_rows=4)
    res = detect_lesions(out, spine, case_id="wet", segment=False, type_i_shell_sd=3.0)
    off = detect_lesions(out, spine, case_id="wet", segment=False, type_i_shell_sd=None)
    assert len(off.table()) == 0, off.table()
    got = [(r.endplate, r.modic_type) for r in res.table().itertuples()]
    assert got == ([("L3 inferior", "I")] if found else []), (got, res.info["rejected_regions"])
    if found is None:
        assert any(r["reason"].startswith("beyond the face, not 12% brighter than the disc (T2 1.08")
                   for r in res.info["rejected_regions"]), res.info["rejected_regions"]
    if found:
        hit = sitk.GetArrayViewFromImage(res.label_maps["T2"]) > 0
        assert (hit & lesion).sum() / lesion.sum() > 0.5
        assert res.info["settings"]["type_i_shell_sd"] == 3.0


def test_bright_tissue_beyond_a_face_but_lateral_to_the_disc_is_not_a_type_i_band():
    """The bright band of the test above, only in one sagittal slice, with a parsed disc narrower than the bodies
    (slices 4–7 of their 1–10). Two slices (8 mm) lateral to the disc, beside the foramen where vessels and nerve
    roots are bright on T2 and FS, no disc says what the tissue should be: not searched. Beside the disc: found."""
    images, _, _ = _spine_case(None, noise=0.01, shading=0.0)
    got = {}
    for k in (2, 5):
        lesion = np.zeros(SIZE[::-1], bool)
        lesion[k, 38:42, 22:50] = True
        out = _with_band(images, lesion, {"T1": 0.6, "T2": 2.4, "FS": 2.2})
        spine = _parsed_short_of_the_band(out, band_rows=4, disc_slices=(4, 8))
        res = detect_lesions(out, spine, case_id="lateral", segment=False, type_i_shell_sd=3.0)
        got[k] = [(r.endplate, r.modic_type) for r in res.table().itertuples()]
    assert got == {2: [], 5: [("L3 inferior", "I")]}, got
