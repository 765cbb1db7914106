"""The body's round axial section (modic.spine.shape): lateral sagittal slices keep the superellipse chord."""

from __future__ import annotations

import numpy as np
import pytest

from modic.spine.shape import chord_fraction, round_bodies


def test_chord_fraction_of_an_ellipse_and_a_rounded_rectangle():
    assert chord_fraction(0.0, 2.0) == 1.0
    assert chord_fraction(0.6, 2.0) == pytest.approx(0.8)           # 0.6² + 0.8² = 1
    assert chord_fraction(1.0, 2.5) == 0.0
    assert chord_fraction(-0.6, 2.0) == chord_fraction(0.6, 2.0)
    assert chord_fraction(0.6, 4.0) > chord_fraction(0.6, 2.5) > chord_fraction(0.6, 2.0)


def _box_body(shape=(21, 80, 80), rows=(25, 55), cols=(20, 60), lateral=(0, 21)):
    """A body as the parser's follow step leaves it: the mid-sagittal outline repeated in every slice."""
    m = np.zeros(shape, bool)
    m[lateral[0]:lateral[1], rows[0]:rows[1], cols[0]:cols[1]] = True
    return m


def _depth(mask2d: np.ndarray) -> int:
    cols = np.nonzero(mask2d.any(axis=0))[0]
    return int(cols.max() - cols.min() + 1) if cols.size else 0


def test_lateral_slices_keep_the_chord_and_the_mid_slice_is_whole():
    px = 1.0
    body = _box_body()
    centroid = np.array([39.5, 39.5])                 # (row, col) mm: the box centre
    above, below = centroid - [30.0, 0.0], centroid + [30.0, 0.0]   # a vertical spine axis
    out = round_bodies([_box_body(), body, _box_body()], [above, centroid, below], k0=10, px=px, power=2.0,
                       margin_mm=0.0)[1]
    assert (out[10] == body[10]).all()                # the mid-sagittal slice is the measured depth
    assert (out <= body).all()                        # only ever removes voxels
    half_width = 10.5                                 # slices 0..20: centre 10, half-width 10.5 slices
    for k in (0, 4, 7, 13, 16, 20):
        expect = 39.0 * chord_fraction((k - 10) / half_width, 2.0)   # depth between the outer voxel centres
        assert abs(_depth(out[k]) - 1 - expect) <= 2.0, (k, _depth(out[k]), expect)   # one voxel each side
    assert _depth(out[0]) < 0.5 * _depth(out[10])     # the outermost slice is much shallower
    # the height (rows) is untouched: the chord is across the spine axis
    assert (out[3].any(axis=1) == body[3].any(axis=1)).all()


def test_the_chord_is_across_a_tilted_spine_axis():
    body = _box_body(rows=(20, 60), cols=(20, 50))
    c = np.array([39.5, 34.5])
    u = np.array([np.cos(np.radians(30)), np.sin(np.radians(30))])   # the spine runs 30° posteriorly
    out = round_bodies([body], [c], k0=10, px=1.0, power=2.0)[0]
    single = round_bodies([body, body], [c - 20 * u, c + 20 * u], k0=10, px=1.0, power=2.0)[0]
    assert out.sum() == body.sum()                    # one body alone has no axis: left as it is
    assert single.sum() < body.sum()

    def across(mask2d):                               # (t along, w across) the tilted axis, mm
        rr, cc = np.nonzero(mask2d)
        return (rr - c[0]) * u[0] + (cc - c[1]) * u[1], -(rr - c[0]) * u[1] + (cc - c[1]) * u[0]

    t0, w0 = across(body[10])
    central = w0[(t0 >= np.quantile(t0, 0.25)) & (t0 <= np.quantile(t0, 0.75))]
    centre, half_depth = (central.min() + central.max()) / 2, (central.max() - central.min()) / 2
    limit = chord_fraction((2 - 10) / 10.5, 2.0) * half_depth + 1.0      # slice 2, 1 mm margin
    _, w_kept = across(single[2])
    _, w_cut = across(body[2] & ~single[2])
    assert np.abs(w_kept - centre).max() <= limit + 1e-9    # every kept voxel lies within the chord across u ...
    assert w_cut.size and np.abs(w_cut - centre).min() > limit   # ... and every removed one outside it


def test_bodies_not_in_the_mid_slice_or_too_thin_are_kept():
    body = _box_body(lateral=(12, 21))
    thin = _box_body(lateral=(9, 11))
    c = [np.array([39.5, 39.5]), np.array([69.5, 39.5])]
    a, b = round_bodies([body, thin], c, k0=5, px=1.0, power=2.5)
    assert (a == body).all()                          # absent from slice 5
    assert (b == thin).all()                          # 2 slices


def test_power_zero_switches_it_off():
    body = _box_body()
    c = [np.array([39.5, 39.5]), np.array([69.5, 39.5])]
    assert (round_bodies([body, body], c, k0=10, px=1.0, power=0.0)[0] == body).all()
