"""`modic.spine.column._axes`: the column search's axis lengths and orientation from pixel coordinates are
scikit-image's `axis_major_length`, `axis_minor_length` and `orientation` (computed there from image moments)."""

import numpy as np
from scipy import ndimage as ndi
from skimage import measure

from modic.spine.column import _axes


def test_axes_and_orientation_are_scikit_images():
    rng = np.random.default_rng(0)
    regions = []
    for _ in range(40):
        lab, _ = ndi.label(ndi.gaussian_filter(rng.standard_normal((80, 80)), 4) > 0.05)
        regions += [r for r in measure.regionprops(lab) if r.area >= 3]
    square = np.zeros((20, 20), int)
    square[5:10, 5:10] = 1                     # a - c == 0: scikit-image's ±π/4 convention
    bar = np.zeros((20, 20), int)
    bar[2:18, 9:11] = 1                         # vertical, no cross moment
    regions += measure.regionprops(square) + measure.regionprops(bar)
    assert len(regions) > 100
    for r in regions:
        major, minor, orientation = _axes(r.coords)
        assert abs(major - r.axis_major_length) < 1e-9 and abs(minor - r.axis_minor_length) < 1e-9
        turn = abs(orientation - r.orientation)
        assert min(turn, abs(turn - np.pi)) < 1e-9       # ±π/2 is the same axis
    assert _axes(measure.regionprops(square)[0].coords)[2] == measure.regionprops(square)[0].orientation
