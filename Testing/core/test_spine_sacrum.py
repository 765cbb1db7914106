"""The sacrum recognised where the field of view ends in it: the two lowest bodies touch (no disc between)."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from modic.spine.column import Region
from modic.spine.endplates import body_gaps
from modic.spine.levels import fused_sacrum, name_levels


def _chain(angles_deg: list[float], step_mm: float = 35.0) -> list[Region]:
    """Regions whose consecutive steps point `angles_deg` posterior of the inferior axis (row, col mm)."""
    pts = [np.array([40.0, 60.0])]
    for a in angles_deg:
        r = np.radians(a)
        pts.append(pts[-1] + step_mm * np.array([np.cos(r), np.sin(r)]))
    return [Region(i + 1, p, 1000.0, 40.0, 30.0, 0.95, 0.0, 1.0, 0.1) for i, p in enumerate(pts)]


LUMBAR = [-8.0, -5.0, 0.0, 4.0]        # lordotic lumbar steps: anterior, then straight down


def test_touching_lowest_bodies_below_a_posterior_step_are_s1_s2():
    chain = _chain(LUMBAR + [16.0])
    gaps = [9.0, 10.0, 11.0, 12.0, 0.0]
    s1, why = fused_sacrum(chain, gaps)
    assert s1 == len(chain) - 2 and "no disc between" in why
    names, certain, _ = name_levels(chain, [0] * len(chain), (s1, why))
    assert names == ["L2", "L3", "L4", "L5", "S1", ""] and certain


@pytest.mark.parametrize("angles, last_gap", [
    (LUMBAR + [16.0], 4.0),             # a disc (even a thin, degenerated one) between the two lowest bodies
    (LUMBAR + [-3.0], 0.0),             # touching, but the column still runs anteriorly: not the sacral turn
    (LUMBAR[:2] + [12.0, 20.0, 10.0], 0.0),   # the lowest step turns back anteriorly from the one above
])
def test_no_sacrum_without_both_signs(angles, last_gap):
    chain = _chain(angles)
    assert fused_sacrum(chain, [10.0] * (len(chain) - 2) + [last_gap]) is None


def test_no_sacrum_from_two_bodies_or_an_unmeasured_gap():
    assert fused_sacrum(_chain([16.0]), [0.0]) is None
    assert fused_sacrum(_chain(LUMBAR + [16.0]), [10.0, 10.0, 10.0, 10.0, None]) is None


def test_body_gaps_measures_along_the_column():
    """Two boxes 0 and 6 mm apart along the rows (1 mm pixels): gaps 0 and 6 mm (± one pixel)."""
    shape = (3, 120, 60)
    masks = []
    for top, bottom in ((10, 35), (35, 60), (66, 91)):
        m = np.zeros(shape, bool)
        m[:, top:bottom, 15:45] = True
        masks.append(m)
    cents = [np.array([(t + b - 1) / 2, 29.5]) for t, b in ((10, 35), (35, 60), (66, 91))]
    gaps = body_gaps(masks, cents, 1, 1.0)
    assert gaps[0] == pytest.approx(0.0, abs=1.0) and gaps[1] == pytest.approx(6.0, abs=1.0)


def test_phantom_field_of_view_ending_in_the_sacrum_is_named_from_it():
    """Built-in phantom case 2 (seed 0): the image ends inside a sacrum that does not turn within view, and the
    parser takes its two segments as two bodies without a disc between them. Before parser 6 the whole column was
    named two levels too high (S1 called L5, L1 called T11). Parser 6 named it from the touching pair; since parser 8
    the fused block that holds both bodies names it first (`modic.spine.column.fused_block`), with the same levels;
    since parser 27 (denoised images) the block is one region below the column, 12° posterior of it, and the shallow
    turn into a fused block names it (`modic.spine.sacrum.sacral_block`), again with the same levels."""
    from modic.phantom import cohort_specs, synthesize
    from modic.phantom.anatomy import spine_from_phantom_anatomy
    from modic.spine import parse_spine

    case = synthesize(cohort_specs(seed=0)[1])
    spine = parse_spine({k: case.images[k] for k in ("T1", "T2", "FS")})
    truth = {v.level: np.asarray(v.centroid_lps) for v in spine_from_phantom_anatomy(case.anatomy).vertebrae()}
    parsed = {v.level: np.asarray(v.centroid_lps) for v in spine.vertebrae()}
    assert spine.info["naming"].startswith("sacrum recognised: a fused marrow block"), spine.info["naming"]
    matched = [lv for lv, c in parsed.items() if lv in truth and np.linalg.norm(c - truth[lv]) <= 10.0]
    assert len(matched) == len(truth) == 6, (sorted(parsed), sorted(truth))


def test_a_chain_anterior_in_another_slab_is_the_body_column():
    """Across the candidate mid-sagittal slabs, a chain of larger regions ≥ 25 mm anterior to the best-scoring one
    (≥ 0.8 of its score) is the body column: in a parasagittal slab the articular pillars form a regular chain too."""
    from modic.spine.column import _anterior_slab

    def slab(col_mm: float, score: float, n: int = 5, area: float = 900.0) -> dict:
        chain = [Region(i + 1, np.array([40.0 + 35 * i, col_mm]), area, 40.0, 30.0, 0.95, 0.0, 1.0, 0.1)
                 for i in range(n)]
        return {"score": score, "chain": chain, "k": int(col_mm)}

    pillars = slab(120.0, 10.0, area=600.0)
    assert _anterior_slab([pillars, slab(80.0, 8.5)])["k"] == 80
    assert _anterior_slab([pillars, slab(80.0, 7.0)])["k"] == 120            # under 0.8 of the best score
    assert _anterior_slab([pillars, slab(80.0, 9.0, area=500.0)])["k"] == 120   # smaller regions than the best's
    assert _anterior_slab([pillars, slab(100.0, 9.0)])["k"] == 120           # only 20 mm anterior
    assert _anterior_slab([pillars, slab(80.0, 9.0, n=2)])["k"] == 120       # two regions are no column


def test_phantom_column_in_a_parasagittal_slab_is_not_taken_for_the_bodies():
    """Built-in phantom case 2 of an 8-case cohort (seed 0): before, the articular pillars of a parasagittal slab
    outscored the bodies and the whole column was wrong (no parsed body overlapped a true one)."""
    from modic.phantom import cohort_specs, synthesize
    from modic.phantom.anatomy import spine_from_phantom_anatomy
    from modic.spine import parse_spine

    case = synthesize(cohort_specs(seed=0, n_cases=8)[1])
    spine = parse_spine({k: case.images[k] for k in ("T1", "T2", "FS")})
    truth = {v.level: np.asarray(v.centroid_lps) for v in spine_from_phantom_anatomy(case.anatomy).vertebrae()}
    parsed = {v.level: np.asarray(v.centroid_lps) for v in spine.vertebrae()}
    matched = [lv for lv, c in parsed.items() if lv in truth and np.linalg.norm(c - truth[lv]) <= 10.0]
    assert len(matched) >= 5, (sorted(parsed), sorted(truth))


def test_sacrum_at_the_sharpest_bend_when_the_sacrum_curves_on():
    """L4→L5 −1°, L5→S1 27° (a 28° bend), S1→S2 41° (14° more, the sacrum's own curve): S1 is the body after the
    sharpest bend, not the one after the steepest step (the chain of hybrid case VB2_06_01)."""
    from modic.spine.levels import find_sacrum

    chain = _chain(LUMBAR[:2] + [-1.0, 27.0, 41.0])
    s1, why = find_sacrum(chain)
    assert s1 == 4 and "27°" in why
    names, certain, _ = name_levels(chain, [0] * len(chain))
    assert names == ["L2", "L3", "L4", "L5", "S1", ""] and certain


def test_sacrum_lower_down_when_the_lower_bend_is_sharper():
    """A lordotic 24° step (bend 20°) above a 50° one (bend 26°): the lumbosacral turn is the lower one."""
    from modic.spine.levels import find_sacrum

    chain = _chain(LUMBAR[:3] + [24.0, 50.0])
    assert find_sacrum(chain)[0] == 5


def test_a_disc_below_a_second_bend_moves_the_sacrum_down():
    """The steps of development hybrid case VB2_04_06 (T2): a 20° step, then a 44° one whose bend (24°) is less than
    the one above (26°). Read by the bends alone the sacrum is after the 20° step (every name one level low); a
    disc-sized gap between the bodies of the 44° step says that step is L5 → S1 (S1 and S2 are fused: no gap)."""
    from modic.spine.levels import find_sacrum

    chain = _chain([-21.0, -19.0, -22.0, -8.0, -6.0, 20.0, 44.0])
    assert find_sacrum(chain, beyond_lean=True)[0] == 6
    discs = [8.0, 8.5, 9.0, 9.5, 10.0, 11.0, 9.0]
    s1, why = find_sacrum(chain, beyond_lean=True, body_gaps_mm=discs)
    assert s1 == 7 and "44°" in why
    fused = discs[:-1] + [0.5]                      # the lower step within the fused sacrum: S1 stays above it
    assert find_sacrum(chain, beyond_lean=True, body_gaps_mm=fused)[0] == 6
    thin = discs[:-1] + [4.0]     # under 0.6 × the others: too thin to tell from a rudimentary S1-S2 disc
    assert find_sacrum(chain, beyond_lean=True, body_gaps_mm=thin)[0] == 6


def _column(chain: list[Region], k: int = 10, n_labels: int = 4) -> dict:
    return {"chain": chain, "gaps": [0] * len(chain), "k": k, "rank": 10.0, "names": ["T1"],
            "labels": [np.zeros((4, 4), int) for _ in range(n_labels)]}


def test_chain_continued_into_the_sacrum_another_image_reaches():
    """The chain of all images stops at L4 (L5 and S1 merged in its averaged barrier map); T1's chain runs through its
    two lowest bodies on to L5 and a 51° turn into S1: the chain takes both, with their label maps."""
    from modic.spine.column import anchored, continue_to_sacrum

    full = _chain(LUMBAR + [8.0, 51.0])
    best = _column(full[:5], n_labels=4)
    best["names"] = ["T1", "T2", "FS"]
    other = _column([Region(r.label, r.centroid + 1.5, r.area, 40.0, 30.0, 0.95, 0.0, 1.0, 0.1, scale=1)
                     for r in full[2:]], n_labels=3)
    assert not anchored(best) and anchored(other)
    continue_to_sacrum(best, [other])
    assert len(best["chain"]) == 7 and len(best["labels"]) == 7 and len(best["gaps"]) == 7
    assert [r.scale for r in best["chain"][5:]] == [5, 5]          # label map 1 of the other column, after 4
    assert best["continued_below"] == {"bodies": 2, "images": ["T1"]}
    names, certain, _ = name_levels(best["chain"], best["gaps"])
    assert names[-2:] == ["L5", "S1"] and certain


@pytest.mark.parametrize("shift, k", [(12.0, 10), (1.5, 9)])
def test_chain_not_continued_from_another_column_or_slab(shift, k):
    """The other chain's bodies lie off the chosen chain's lowest bodies (12 mm), or it is another slab."""
    from modic.spine.column import continue_to_sacrum

    full = _chain(LUMBAR + [8.0, 51.0])
    best = _column(full[:5])
    other = _column([Region(r.label, r.centroid + shift, r.area, 40.0, 30.0, 0.95, 0.0, 1.0, 0.1)
                     for r in full[2:]], k=k)
    continue_to_sacrum(best, [other])
    assert len(best["chain"]) == 5 and "continued_below" not in best


def _slab_column(chain: list[Region], k: int, score: float = 5.0, n_labels: int = 4) -> dict:
    return {"chain": chain, "gaps": [0] * len(chain), "k": k, "score": score,
            "labels": [np.zeros((4, 4), int) for _ in range(n_labels)]}


def test_chain_joined_with_the_bodies_above_it_in_another_slab():
    """The chosen slab holds L2–S1 (its watershed cut T12 and L1 into fragments); the next slab holds T12–L2: the
    chain takes T12 and L1 from there, each with that slab's index and label maps (real scan VB3_05: 3 → 5 bodies)."""
    from modic.spine.column import join_slabs

    full = _chain(LUMBAR + [8.0, 51.0])
    best = _slab_column(full[2:], k=13)
    best["sacrum"] = (4, "recognised")
    other = _slab_column([Region(r.label, r.centroid + 2.0, r.area, 40.0, 30.0, 0.95, 0.0, 1.0, 0.1, scale=2, slab=16)
                          for r in full[:3]], k=16, n_labels=3)
    join_slabs(best, [other])
    assert len(best["chain"]) == 7 and len(best["gaps"]) == 7 and len(best["labels"]) == 7
    assert [r.slab for r in best["chain"][:2]] == [16, 16] and [r.scale for r in best["chain"][:2]] == [6, 6]
    assert best["sacrum"][0] == 6 and best["joined"] == [{"end": "top", "bodies": 2, "slab": 16}]
    names, certain, _ = name_levels(best["chain"], best["gaps"])
    assert names[:3] == ["T12", "L1", "L2"] and names[-1] == "S1" and certain


def test_chain_not_joined_off_its_end_body_or_below_into_no_sacrum():
    """Another slab's chain 12 mm off the top body (not the same body) is not taken; nor bodies below a chain without
    a sacrum when they do not reach one either (a body added below a column named from its lowest one moves every
    name: the real scan VB3_02)."""
    from modic.spine.column import join_slabs

    full = _chain(LUMBAR + [8.0, 51.0])
    best = _slab_column(full[2:], k=13)
    off = _slab_column([Region(r.label, r.centroid + 12.0, r.area, 40.0, 30.0, 0.95, 0.0, 1.0, 0.1, slab=16)
                        for r in full[:3]], k=16)
    join_slabs(best, [off])
    assert len(best["chain"]) == 5 and "joined" not in best
    straight = _chain(LUMBAR + [4.0, 10.0])
    best = _slab_column(straight[:5], k=13)
    below = _slab_column(straight[3:], k=16)
    join_slabs(best, [below])
    assert len(best["chain"]) == 5 and "joined" not in best
    best = _slab_column(full[:5], k=13)
    join_slabs(best, [_slab_column(full[3:], k=16)])        # the other slab reaches the 51° turn: taken
    assert len(best["chain"]) == 7 and best["joined"] == [{"end": "bottom", "bodies": 2, "slab": 16}]


def test_chain_not_joined_with_a_fragment_above_it():
    """Another slab's chain whose body above the chosen top one lies only half a spacing up (the field of view's
    edge cut that body into a fragment; real scan VB2_06) is not taken."""
    from modic.spine.column import join_slabs

    full = _chain(LUMBAR + [8.0, 51.0])
    best = _slab_column(full[1:], k=13)
    fragment = Region(9, full[1].centroid - np.array([18.0, 0.0]), 400.0, 30.0, 15.0, 0.9, 0.0, 1.0, 0.1, slab=16)
    join_slabs(best, [_slab_column([fragment] + full[1:3], k=16)])
    assert len(best["chain"]) == 6 and "joined" not in best


def _straight_column(n_rows: int, pad_from: int | None = None) -> dict:
    """Five 25 mm bodies 35 mm apart straight down a 1 mm slab of `n_rows` rows (no lumbosacral turn); rows from
    `pad_from` on are zero (outside the reconstructed field of view); marrow signal (a body the chain did not take)
    from 10 mm below the lowest body on."""
    img = np.full((n_rows, 80), 0.5, np.float32)
    img[185:, 20:60] = 0.8
    labels = np.zeros(img.shape, int)
    chain = []
    for i in range(5):
        top = 10 + 35 * i
        rows = slice(top, min(top + 25, n_rows))
        labels[rows, 20:60] = i + 1
        img[rows, 20:60] = 0.8
        rr = np.arange(rows.start, rows.stop)
        chain.append(Region(i + 1, np.array([rr.mean(), 39.5]), float(rr.size * 40), 40.0, 25.0, 0.95, 0.0, 0.8, 0.1,
                            scale=0, slab=10))
    if pad_from is not None:
        img[pad_from:] = 0.0
    return {"chain": chain, "gaps": [0] * 5, "k": 10, "labels": [labels], "slices": [img]}


@pytest.mark.parametrize("n_rows, pad_from, lowest", [
    (176, None, "S1"),         # the slab ends inside the lowest body
    (220, 168, "S1"),          # zero padding (outside the field of view) cuts it
    (220, None, "L5"),         # the image goes on below the lowest body: counted up from L5
    (220, 190, "L5"),          # the field of view ends below it, not inside it
])
def test_a_lowest_body_cut_by_the_field_of_view_is_s1(n_rows, pad_from, lowest):
    """Without a lumbosacral turn, a lowest body the lower edge of the field of view cuts (only its top part in view,
    whose centroid cannot show the turn) is S1, naming uncertain; a whole lowest body is still called L5."""
    from modic.spine.levels import name_column

    names, certain, why = name_column(_straight_column(n_rows, pad_from), 1.0, ["T2"])
    assert names[-1] == lowest and not certain, (names, why)
    assert ("cut by the lower edge" in why) == (lowest == "S1"), why


def test_the_overview_says_why_the_naming_is_uncertain():
    """The overview's title carries the parser's reason when the naming is uncertain (which anchor was used, or
    none), not only that it is uncertain."""
    from modic.spine.model import Spine
    from modic.spine.overview import naming_state

    labels = sitk.Image(4, 4, 4, sitk.sitkUInt8)
    why = "no lumbosacral turn found, but the lowest body is cut by the lower edge of the field of view: taken as S1"
    assert naming_state(Spine(labels, [], True, {"naming": "sacrum recognised"})) == "naming anchored on the sacrum"
    state = naming_state(Spine(labels, [], False, {"naming": why}), width=60)
    assert state.startswith("naming UNCERTAIN") and "cut by the lower edge" in state.replace("\n", " ")
    assert all(len(line) <= 60 for line in state.split("\n")[1:])


def test_naming_summary_says_whether_the_levels_are_anchored():
    """The line `modic spine`, Find vertebrae and the batch console show after parsing: the levels, and when their
    names are not anchored on the sacrum, that they must be checked and why."""
    from modic.spine.model import Spine, Structure

    bodies = [Structure("vertebra", lv, 10 + i, (0.0, 0.0, -30.0 * i), 40000.0) for i, lv in enumerate(("L4", "L5"))]
    labels = sitk.Image(4, 4, 4, sitk.sitkUInt8)
    assert Spine(labels, bodies, True, {"naming": "sacrum recognised"}).naming_summary() == \
        "2 vertebral bodies (L4, L5); level names anchored on the sacrum."
    why = "no lumbosacral turn found, but the lowest body is cut by the lower edge of the field of view"
    text = Spine(labels, bodies, False, {"naming": why}).naming_summary()
    assert "UNCERTAIN, check them on the image" in text and why in text
