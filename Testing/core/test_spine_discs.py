"""`modic.spine.parse.discs_from_bodies`: the disc between two followed bodies (working-grid masks).

Two box bodies 1 mm in-plane, 2 mm slices: the upper one followed over 11 sagittal slices, the lower one over 5 (its
marrow signal faded early). The disc is as wide as the wider body, up to `disc_lateral_slices` beyond the narrower
one; before, it covered only the 5 slices both bodies reached (on the built-in phantom and the IVD scans the
parsed discs were 1 slice short on each side).
"""

from types import SimpleNamespace

import numpy as np

from modic.spine.parse import discs_from_bodies
from modic.spine.settings import SETTINGS


def _bodies(upper_slices: range, lower_slices: range):
    shape = (12, 80, 60)
    a, b = np.zeros(shape, bool), np.zeros(shape, bool)
    a[upper_slices.start:upper_slices.stop, 10:34, 15:45] = True
    b[lower_slices.start:lower_slices.stop, 44:68, 15:45] = True
    chain = [SimpleNamespace(centroid=np.array([21.5, 29.5])), SimpleNamespace(centroid=np.array([55.5, 29.5]))]
    return a, b, chain


def test_disc_as_wide_as_the_wider_body_within_a_limit():
    assert SETTINGS["disc_lateral_slices"] == 2
    a, b, chain = _bodies(range(0, 11), range(3, 8))
    (disc,) = discs_from_bodies([a, b], chain, 1.0)
    slices = np.nonzero(disc.any(axis=(1, 2)))[0]
    assert slices.tolist() == list(range(1, 10))            # 3–7 both bodies, ± 2 slices beyond
    rows = np.nonzero(disc[1].any(axis=1))[0]
    assert rows.min() >= 35 and rows.max() <= 42 and disc[1, 36:42, 20:40].all()
    assert not (disc & (a | b)).any()


def test_bodies_of_equal_width_keep_the_disc_to_their_slices():
    a, b, chain = _bodies(range(3, 8), range(3, 8))
    (disc,) = discs_from_bodies([a, b], chain, 1.0)
    assert np.nonzero(disc.any(axis=(1, 2)))[0].tolist() == list(range(3, 8))


def test_l5_s1_disc_no_wider_than_l5():
    """The sacrum's alae are wider than the L5-S1 disc: below L5 (here the upper body, 5 slices) the disc keeps to
    L5's slices however far S1 was followed."""
    a, b, chain = _bodies(range(3, 8), range(0, 11))
    (disc,) = discs_from_bodies([a, b], chain, 1.0, sacrum=1)
    assert np.nonzero(disc.any(axis=(1, 2)))[0].tolist() == list(range(3, 8))
    (disc,) = discs_from_bodies([a, b], chain, 1.0)                # a lumbar pair: as wide as the wider body
    assert np.nonzero(disc.any(axis=(1, 2)))[0].tolist() == list(range(1, 10))
