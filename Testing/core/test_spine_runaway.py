"""`modic.spine.parse.cap_runaway_widths`: a body whose lateral following ran away is cut to 1.5 × the spine's
median reach on that side; S1 (the sacrum is wider) and bodies within the limit keep their masks.
`extend_stunted_widths`: a body whose following stopped short is continued to its neighbours' reach.

Working-grid masks [lateral, inferior, posterior], mid-sagittal slice 20: five bodies reaching 10 slices to either
side, one (index 2, a body whose marrow region took in a disc) running 19 slices to one side, and S1 (index 4)
running 19 slices to both sides.
"""

import numpy as np

from modic.spine.parse import cap_runaway_widths
from modic.spine.settings import SETTINGS


def _masks():
    masks = []
    for i in range(5):
        m = np.zeros((40, 100, 30), bool)
        lo, hi = (20 - 10, 20 + 10) if i not in (2, 4) else ((20 - 10, 20 + 19) if i == 2 else (1, 39))
        m[lo:hi + 1, 10 + 18 * i:24 + 18 * i, 5:25] = True
        masks.append(m)
    return masks


def test_runaway_body_cut_to_the_spines_reach():
    assert SETTINGS["runaway_width"] == 1.5 and SETTINGS["runaway_margin_mm"] == 10.0
    masks = _masks()
    out = cap_runaway_widths(masks, 20, sacrum=4, lateral_mm=2.0)
    ks = np.nonzero(out[2].any(axis=(1, 2)))[0]
    assert (ks[0], ks[-1]) == (10, 20 + 15)                   # right side capped at ceil(1.5 × 10) = 15 slices
    assert all((out[i] == masks[i]).all() for i in (0, 1, 3, 4))   # within the limit, or S1
    assert out[2].sum() < masks[2].sum() and not (out[2] & ~masks[2]).any()


def test_without_sacrum_every_body_is_held_to_the_median():
    masks = _masks()
    out = cap_runaway_widths(masks, 20, sacrum=None, lateral_mm=2.0)
    ks = np.nonzero(out[4].any(axis=(1, 2)))[0]
    assert (ks[0], ks[-1]) == (20 - 15, 20 + 15)


def _stunted_masks(reach_left: int) -> list[np.ndarray]:
    """Five bodies reaching 10 slices either side of slice 20; body 2 only `reach_left` to the left, its outermost
    slice on that side a smaller outline (rows shifted), S1 (index 4) 3 slices to each side."""
    masks = []
    for i in range(5):
        m = np.zeros((40, 100, 30), bool)
        left = reach_left if i == 2 else (3 if i == 4 else 10)
        right = 3 if i == 4 else 10
        m[20 - left:20 + right + 1, 10 + 18 * i:24 + 18 * i, 5:25] = True
        if i == 2:
            m[20 - left, 10 + 18 * i:24 + 18 * i, 5:10] = False       # its outermost slice: a smaller outline
        masks.append(m)
    return masks


def test_stunted_body_continued_to_the_spines_reach():
    """Body 2 stops 3 slices left of the mid-sagittal slice (a lesion filling it changed its core signal): it is
    continued to its neighbours' 10, each added slice a copy of its outermost followed one; S1 is not."""
    from modic.spine.parse import extend_stunted_widths

    assert SETTINGS["stunted_width"] == 0.6
    masks = _stunted_masks(3)
    out = extend_stunted_widths(masks, 20, sacrum=4)
    ks = np.nonzero(out[2].any(axis=(1, 2)))[0]
    assert (ks[0], ks[-1]) == (10, 30)
    assert all((out[2][k] == masks[2][17]).all() for k in range(10, 17))
    assert (out[2][17:] == masks[2][17:]).all()
    assert all((out[i] == masks[i]).all() for i in (0, 1, 3, 4))


def test_body_within_the_stunted_limit_kept():
    from modic.spine.parse import extend_stunted_widths

    masks = _stunted_masks(6)                                 # 6 of 10 slices: not under 0.6 × the median
    out = extend_stunted_widths(masks, 20, sacrum=4)
    assert all((out[i] == masks[i]).all() for i in range(5))


def _wide_masks(reaches: dict[int, int]) -> list[np.ndarray]:
    """Five bodies reaching 10 slices either side of slice 20, except those in `reaches` (index → right reach);
    S1 (index 4) 18 slices to each side."""
    masks = []
    for i in range(5):
        m = np.zeros((40, 100, 30), bool)
        left, right = (18, 18) if i == 4 else (10, reaches.get(i, 10))
        m[20 - left:20 + right + 1, 10 + 18 * i:24 + 18 * i, 5:25] = True
        masks.append(m)
    return masks


def test_body_wider_than_both_neighbours_cut_to_their_reach_and_a_margin():
    """4 mm working slices: body 1 reaches 14 slices right, within the spine-wide runaway cap (15) but 4 beyond its
    neighbours' 10: cut to 10 + round(8 mm / 4 mm) = 12. Body 3 (L5 above the sacrum) at 12 is kept, and so is S1."""
    from modic.spine.parse import cap_wider_than_neighbours

    assert SETTINGS["neighbour_width_mm"] == 8.0
    masks = _wide_masks({1: 14, 3: 12})
    assert all((a == b).all() for a, b in zip(cap_runaway_widths(masks, 20, 4, lateral_mm=4.0), masks, strict=True))
    out = cap_wider_than_neighbours(masks, 20, sacrum=4, lateral_mm=4.0)
    ks = np.nonzero(out[1].any(axis=(1, 2)))[0]
    assert (ks[0], ks[-1]) == (10, 32)
    assert not (out[1] & ~masks[1]).any()
    assert all((out[i] == masks[i]).all() for i in (0, 2, 3, 4))


def test_a_body_as_wide_as_a_neighbour_is_kept():
    """Bodies 1 and 2 both reach 14 slices right: each has a neighbour as wide, neither is cut (a lesion-filled
    body is held only to the further-reaching of its neighbours)."""
    from modic.spine.parse import cap_wider_than_neighbours

    masks = _wide_masks({1: 14, 2: 14})
    out = cap_wider_than_neighbours(masks, 20, sacrum=4, lateral_mm=4.0)
    assert all((out[i] == masks[i]).all() for i in range(5))
