"""`modic.spine.endplates`: bodies lengthened to their endplate lines whatever the marrow signal.

Synthetic sagittal stacks with known geometry (1 mm working pixels): three bodies 24 mm tall, discs 10 mm,
cortical endplates 1 mm dark lines; the middle body's lower 8 mm is abnormal marrow that the marrow masks
leave out. The parser's masks are given, so the numbers tested are exact geometry.
"""

import numpy as np

from modic.spine.endplates import SETTINGS, complete_bodies, edge_map, endplate_pair, separate_touching


def test_endplate_pair_finds_two_lines_a_disc_apart():
    profile = np.zeros(20)
    profile[[3, 15]] = 1.0
    profile[9] = 0.6                      # a weaker line inside the disc (intranuclear cleft)
    assert endplate_pair(profile, 6.0, 0.25) == (3, 15)
    assert endplate_pair(np.zeros(20), 6.0, 0.25) is None


def test_a_thick_dark_line_does_not_pair_with_itself():
    """A dark Modic band fused with its cortex is one thick line (here 5 mm wide at half height); the disc lies
    between it and the weaker cortical line 11 mm below. Pairing positions rather than peaks took both ends of
    the thick line and then found no disc between them (None: the body was not lengthened; seen on a real
    background with type I bands on both endplates of L4-L5, gap 22 mm)."""
    profile = np.array([0.07, 0.04, 0.07, 0.16, 0.51, 1.3, 1.59, 1.08, 0.37, 0.06, 0.03, 0.03, 0.02, 0.03, 0.1,
                        0.07, 0.03, 0.14, 0.46, 0.68, 0.51, 0.3, 0.16, 0.06, 0.01, 0.03, 0.08])
    assert endplate_pair(profile, 4.0, 0.25) == (7, 18)


def test_a_line_grows_at_most_one_cortex_towards_the_disc():
    """The dark-line profile of a healthy L2-L3 gap of a built-in phantom (seed 0, phantom_006; 1 mm steps from
    2 mm inside L2's marrow to 2 mm inside L3's): L3's superior line has a tail of partial volume towards the disc
    (0.54 at 2 mm from its peak). Grown over that tail, the line lay 3.6 mm from L3's marrow, L3 was lengthened
    into its disc and the disc's partial volume read as a type III lesion. A line grows at most `line_grow_mm`
    (one cortex) beyond its peak: 1.6 mm, under the 3 mm a lengthening needs."""
    profile = np.array([0.05, 0.23, 0.84, 1.17, 0.77, 0.37, 0.14, 0.02, 0.0, 0.0, 0.01, 0.06, 0.21, 0.54, 0.89,
                        0.95, 0.49, 0.13, 0.03])
    assert endplate_pair(profile, 4.0, 0.25) == (4, 14)


def _stack(lesion_mm: int = 8, n: int = 3, cortex: float = 0.05, disc: float = 0.6, lesion: float = 1.4):
    """Image (lateral, inferior, posterior) and marrow masks of `n` (3 or 4) bodies; rows of each body."""
    shape = (9, 140, 60)
    img = np.full(shape, 0.2, np.float32)     # soft tissue
    bodies, masks = [], []
    top = 10
    for i in range(n):
        rows = (top, top + 24)                 # body incl. its two 1 mm cortical endplates
        img[1:8, rows[0]:rows[1], 15:45] = 0.8
        img[1:8, rows[0], 15:45] = cortex
        img[1:8, rows[1] - 1, 15:45] = cortex
        m = np.zeros(shape, bool)
        m[1:8, rows[0] + 2:rows[1] - 2, 17:43] = True      # the marrow the parser follows
        bodies.append(rows)
        masks.append(m)
        if i < n - 1:
            img[1:8, rows[1]:rows[1] + 10, 15:45] = disc    # disc
        top = rows[1] + 10
    lo = bodies[1][1] - 1 - lesion_mm
    img[1:8, lo:bodies[1][1] - 1, 15:45] = lesion         # abnormal marrow (e.g. type I on T2), not followed
    masks[1][:, lo:, :] = False
    return img, masks, bodies


def test_lesioned_body_lengthened_to_its_endplate_disc_kept():
    img, masks, bodies = _stack()
    cents = [np.argwhere(m[4]).mean(axis=0) for m in masks]       # (row, col) mm at 1 mm pixels
    out, info = complete_bodies(masks, cents, [img[3:6].mean(axis=0)], 4, 1.0)
    end = bodies[1][1] - 1                                        # row of the inferior endplate line
    lowest = np.nonzero(out[1][4].any(axis=1))[0].max()
    assert abs(lowest - end) <= 1, (lowest, end, info)
    assert info["extended_mm"][1][1] >= 7.0
    # the disc below (rows end+1 … end+10) stays outside both bodies; the healthy bodies are unchanged
    disc = slice(end + 2, end + 10)
    assert not out[1][4, disc, 20:40].any() and not out[2][4, disc, 20:40].any()
    assert (out[0] == masks[0]).all()
    # the band is added across the body's whole anterior-posterior extent, in every slice the body covers
    assert out[1][:, end - 4, 17:43].all(axis=1)[1:8].all()


def test_without_dark_endplate_lines_the_disc_edges_bound_the_lengthening():
    """A water image: thin cortex (no dark line), bright disc, a band of abnormal marrow (0.9 against 0.8) at the
    inferior endplate. The dark-line profile holds no pair; the edge profile (`edge_map`) does: the body is
    lengthened to the disc's edge and the disc stays outside."""
    img, masks, bodies = _stack(cortex=0.8, disc=1.6, lesion=0.9)
    cents = [np.argwhere(m[4]).mean(axis=0) for m in masks]
    slab = [img[3:6].mean(axis=0)]
    _, plain = complete_bodies(masks, cents, slab, 4, 1.0)
    assert plain["extended_mm"][1][1] == 0.0 and plain["lines"][1] is None
    out, info = complete_bodies(masks, cents, slab, 4, 1.0, edges=edge_map(slab, 1.0))
    end = bodies[1][1] - 1
    lowest = np.nonzero(out[1][4].any(axis=1))[0].max()
    assert info["lines"][1] == "edges" and abs(lowest - end) <= 2, (lowest, end, info)
    assert not out[1][4, end + 2:end + 10, 20:40].any() and not out[2][4, end + 2:end + 10, 20:40].any()


def test_healthy_spine_unchanged():
    img, masks, _ = _stack(lesion_mm=0)
    cents = [np.argwhere(m[4]).mean(axis=0) for m in masks]
    out, info = complete_bodies(masks, cents, [img[3:6].mean(axis=0)], 4, 1.0)
    assert all((a == b).all() for a, b in zip(out, masks, strict=True)), info


def test_s1_lengthened_whatever_its_height_in_view():
    """S1 (the parser's sacrum index) whose followed marrow runs on into the fused sacrum, 41 mm here against
    20 mm lumbar marrow, with its superior 8 mm abnormal: it is lengthened towards its endplate line by as much as
    its gap exceeds the spine's other gaps (7 mm: to where a healthy body's followed marrow starts, 2 mm inside the
    line). Its height in view says nothing about it (before, its height capped the extension to 0)."""
    img, masks, bodies = _stack(lesion_mm=0)
    s1_top = bodies[2][0]
    img[1:8, s1_top:s1_top + 50, 15:45] = 0.8                  # S1 and the sacrum below it: one marrow block
    img[1:8, s1_top, 15:45] = 0.05                             # S1's superior cortical endplate
    img[1:8, s1_top + 1:s1_top + 9, 15:45] = 1.4               # abnormal marrow under it, not followed
    masks[2][:] = False
    masks[2][1:8, s1_top + 9:s1_top + 50, 17:43] = True
    cents = [np.argwhere(m[4]).mean(axis=0) for m in masks]
    for sacrum, top_row in ((2, s1_top + 2), (None, s1_top + 9)):
        out, info = complete_bodies(masks, cents, [img[3:6].mean(axis=0)], 4, 1.0, sacrum=sacrum)
        top = np.nonzero(out[2][4].any(axis=1))[0].min()
        assert abs(top - top_row) <= 1, (sacrum, top, top_row, info)
        assert (out[1] == masks[1]).all()                      # L5 above keeps its outline
    img, masks, bodies = _stack(lesion_mm=0)                   # a healthy S1 whatever its height: unchanged
    masks[2][1:8, bodies[2][1] - 2:bodies[2][1] + 20, 17:43] = True
    cents = [np.argwhere(m[4]).mean(axis=0) for m in masks]
    out, info = complete_bodies(masks, cents, [img[3:6].mean(axis=0)], 4, 1.0, sacrum=2)
    assert all((a == b).all() for a, b in zip(out, masks, strict=True)), info


def test_touching_bodies_cut_at_their_endplate_lines():
    """A disc with the marrow's signal (a thin dark thoracolumbar disc on T2) taken into the lower body's marrow
    region: the two bodies touch (gap 1 mm against 12 mm elsewhere). The lower body is cut back to its superior
    cortical line; the upper one, which ends before the disc, and the other bodies keep their masks."""
    img, masks, bodies = _stack(lesion_mm=0, n=4)
    disc = slice(bodies[1][1], bodies[2][0])
    img[1:8, disc, 15:45] = 0.8                              # the disc reads as marrow
    masks[2][1:8, bodies[1][1] - 2:bodies[2][0] + 2, 17:43] = True
    cents = [np.argwhere(m[4]).mean(axis=0) for m in masks]
    out, done = separate_touching(masks, cents, [img[3:6].mean(axis=0)], 4, 1.0)
    top = np.nonzero(out[2][4].any(axis=1))[0].min()
    assert abs(top - bodies[2][0]) <= 1, (top, bodies[2][0], done)
    assert [(d["pair"], d["cut"]) for d in done] == [(1, ["lower"])]       # the upper body is of normal height
    assert all((out[i] == masks[i]).all() for i in (0, 1, 3))
    assert out[2][:, bodies[2][0] + 3, 17:43].all(axis=1)[1:8].all()      # the body itself is kept whole
    # no cortical lines across the junction: nothing to cut at, nothing is cut
    img[1:8, bodies[1][1] - 1, 15:45] = img[1:8, bodies[2][0], 15:45] = 0.8
    out, done = separate_touching(masks, cents, [img[3:6].mean(axis=0)], 4, 1.0)
    assert done == [] and all((a == b).all() for a, b in zip(out, masks, strict=True))
    # a healthy spine: unchanged
    img, masks, _ = _stack(lesion_mm=0, n=4)
    cents = [np.argwhere(m[4]).mean(axis=0) for m in masks]
    out, done = separate_touching(masks, cents, [img[3:6].mean(axis=0)], 4, 1.0)
    assert done == [] and all((a == b).all() for a, b in zip(out, masks, strict=True))


def test_touching_bodies_on_a_water_image_cut_at_the_disc_edges():
    """No dark cortical lines (a water image), the disc bright (1.6 against marrow 0.8) but taken into the lower
    body's marrow region: no pair of dark lines, so nothing is cut without `edges`; with them the lower body is cut
    back to the disc's lower edge, and the record says which lines gave the cut."""
    img, masks, bodies = _stack(lesion_mm=0, n=4, cortex=0.8, disc=1.6)
    masks[2][1:8, bodies[1][1] - 2:bodies[2][0] + 2, 17:43] = True
    cents = [np.argwhere(m[4]).mean(axis=0) for m in masks]
    slab = [img[3:6].mean(axis=0)]
    out, done = separate_touching(masks, cents, slab, 4, 1.0)
    assert done == []
    out, done = separate_touching(masks, cents, slab, 4, 1.0, edges=edge_map(slab, 1.0))
    assert [(d["pair"], d["cut"], d["lines"]) for d in done] == [(1, ["lower"], "dark lines and edges")]
    top = np.nonzero(out[2][4].any(axis=1))[0].min()
    assert abs(top - bodies[2][0]) <= 2, (top, bodies[2][0], done)
    assert all((out[i] == masks[i]).all() for i in (0, 1, 3))
    # the same junction above S1 (`last`): S1's height in view says nothing, so only dark lines may cut it
    out, done = separate_touching(masks, cents, slab, 4, 1.0, last=2, edges=edge_map(slab, 1.0))
    assert done == []


def _cleft_stack():
    """`_stack` without a lesion; the lowest body's superior cortex is faint (0.4) and a dark cleft (0.1) crosses
    the disc above it 5 mm below the upper cortex: the strongest pair of lines is the upper cortex and the cleft."""
    img, masks, bodies = _stack(lesion_mm=0)
    img[1:8, bodies[2][0], 15:45] = 0.4
    img[1:8, bodies[1][1] + 5, 15:45] = 0.1
    return img, masks, bodies


def test_a_cleft_inside_the_disc_gives_way_to_the_fainter_cortex(monkeypatch):
    """Seen on real water-image backgrounds: a body lengthened 4–7.5 mm up into its disc to a cleft, whose disc
    partial volume then read as type I marrow. The tissue between the cleft and the faint cortex is disc (the
    same signal as the disc window), so the body's line is the faint cortex and the body is not lengthened."""
    img, masks, _ = _cleft_stack()
    cents = [np.argwhere(m[4]).mean(axis=0) for m in masks]
    slab = [img[3:6].mean(axis=0)]
    monkeypatch.setitem(SETTINGS, "cleft_lines", False)
    _, before = complete_bodies(masks, cents, slab, 4, 1.0)
    assert before["extended_mm"][2][0] >= 3.0                # pushed up into its disc, to the cleft
    monkeypatch.setitem(SETTINGS, "cleft_lines", True)
    out, info = complete_bodies(masks, cents, slab, 4, 1.0)
    assert info["cleft_lines"][1] == [False, True]
    assert info["extended_mm"][2][0] == 0.0 and (out[2] == masks[2]).all()
    assert info["discs_mm"][1] == 11.0                        # the disc window spans cortex to cortex


def test_a_dark_line_inside_a_modic_band_does_not_stop_the_lengthening():
    """A dark line inside the abnormal band (a ragged border, a type III band), fainter than the cortex, lies
    between the body's marrow and its cortex too, but the band is not disc-like: dark (0.3 against a disc of 0.6)
    on the first image; on the second it matches the disc (type I on T2 against a hydrated disc), and one image
    that differs is enough. The body is still lengthened to its cortex."""
    t1, masks, bodies = _stack(lesion_mm=8, lesion=0.3)
    t2, _, _ = _stack(lesion_mm=8, lesion=1.4, disc=1.4)
    for img in (t1, t2):
        img[1:8, bodies[1][1] - 1 - 6, 15:45] = 0.2          # a fainter dark line 2 mm inside the band
    cents = [np.argwhere(m[4]).mean(axis=0) for m in masks]
    for images in ([t1], [t1, t2]):
        out, info = complete_bodies(masks, cents, [im[3:6].mean(axis=0) for im in images], 4, 1.0)
        assert info["cleft_lines"][1] == [False, False], info
        assert info["extended_mm"][1][1] >= 7.0


def test_a_face_is_lengthened_only_beyond_the_spines_usual_distance_on_its_side(monkeypatch):
    """Four bodies whose marrow is followed from 4 mm below each superior cortex (as on the built-in phantom, whose
    superior endplate lines have a partial-volume tail): every healthy superior face lies 4 mm from its line, more
    than the 3 mm a lengthening needs, and was lengthened into its disc. The spine's usual distance on that side
    (median over its gaps, 4 mm) + 1 mm is the threshold there; the inferior face of the lesioned body (10 mm from
    its line, against 2 mm usual) is still lengthened."""
    img, masks, bodies = _stack(lesion_mm=8, n=4)
    for k in (1, 2, 3):
        masks[k][:, :bodies[k][0] + 4, :] = False
    cents = [np.argwhere(m[4]).mean(axis=0) for m in masks]
    slab = [img[3:6].mean(axis=0)]
    _, info = complete_bodies(masks, cents, slab, 4, 1.0)
    assert info["usual_extension_mm"] == [2.0, 4.0]
    assert info["extended_mm"] == [[0.0, 0.0], [0.0, 10.0], [0.0, 0.0], [0.0, 0.0]]
    monkeypatch.setitem(SETTINGS, "usual_excess_mm", -np.inf)        # the fixed 3 mm threshold alone
    _, fixed = complete_bodies(masks, cents, slab, 4, 1.0)
    assert [e[0] for e in fixed["extended_mm"][1:]] == [4.0, 4.0, 4.0]
