"""The column's chain never bends sharply forward above the sacrum; its lean is recorded."""

from __future__ import annotations

import numpy as np

from modic.spine.column import Region, best_chain
from modic.spine.parse import column_tilt_deg


def _points(angles_deg: list[float], start=(40.0, 60.0), step_mm: float = 35.0) -> list[np.ndarray]:
    """Centroids (row = inferior, col = posterior; mm) whose steps point `angles_deg` posterior of inferior."""
    pts = [np.array(start, float)]
    for a in angles_deg:
        r = np.radians(a)
        pts.append(pts[-1] + step_mm * np.array([np.cos(r), np.sin(r)]))
    return pts


def _region(n: int, centroid: np.ndarray, score: float = 1.0) -> Region:
    # a body 26 mm tall along the column (uniform: 12 × var = height²), 40 mm wide
    cov = np.diag([26.0 ** 2 / 12, 40.0 ** 2 / 12])
    return Region(n, centroid, 1000.0, 40.0, 26.0, 0.95, 0.0, 1.0, 0.1, cov=cov, score=score)


LUMBAR = [-8.0, -5.0, 0.0, 4.0]        # lordotic lumbar steps: anterior, then straight down


def test_chain_does_not_bend_sharply_forward_above_the_sacrum():
    """Below a straight-down step the chain may go on 10° posterior (one body), or bend 26° forward into two
    regions (prevertebral tissue of body size): more bodies, but not a spine."""
    column = _points(LUMBAR)
    forward = _points([-22.0, -22.0], start=column[-1])[1:]
    behind = _points([14.0], start=column[-1])[1:]
    regions = [_region(i, p) for i, p in enumerate(column + forward + behind)]
    chain, _, _ = best_chain(regions)
    ends = [regions[i].centroid for i in chain[len(column):]]
    assert len(chain) == len(column) + 1, chain
    assert np.allclose(ends[0], behind[0])


def test_chain_bends_forward_inside_the_sacrum():
    """Below the lumbosacral turn (a step ≥ 15° posterior) the sacrum curves forward again: that is allowed."""
    pts = _points(LUMBAR + [35.0, 5.0])
    chain, _, _ = best_chain([_region(i, p) for i, p in enumerate(pts)])
    assert len(chain) == len(pts)


def test_column_tilt_from_the_centroids():
    """The lean (degrees, + posterior going down) of a straight column; the lowest of ≥ 4 bodies left out."""
    straight = [_region(i, p) for i, p in enumerate(_points([20.0] * 4))]
    assert abs(column_tilt_deg(straight) - 20.0) < 1e-6
    with_sacrum = [_region(i, p) for i, p in enumerate(_points([-10.0] * 4 + [40.0]))]
    assert abs(column_tilt_deg(with_sacrum) + 10.0) < 1e-6
    assert column_tilt_deg(straight[:1]) == 0.0


def test_sacrum_found_on_a_column_leaning_forward():
    """Lordotic steps (−10 … −3°) and a 30° lumbosacral turn, the whole column leaning 12° further forward (a
    patient lying tilted): the turn is 18° in the image, under the 22° rule, but 25° beyond the column's lean."""
    from modic.spine.levels import find_sacrum, lean_beyond_usual

    usual = [-10.0, -9.0, -8.0, -6.0, -3.0, 30.0]
    assert find_sacrum([_region(i, p) for i, p in enumerate(_points(usual))], beyond_lean=True)[0] == 6
    leaning = [a - 12.0 for a in usual]
    assert lean_beyond_usual(leaning) < -5.0
    chain = [_region(i, p) for i, p in enumerate(_points(leaning))]
    s1, why = find_sacrum(chain, beyond_lean=True)
    assert s1 == 6 and "leans" in why
    assert find_sacrum(chain)[0] is None        # the column search still reads the image's own angles


def test_no_sacrum_from_a_column_leaning_backward():
    """A column leaning 17° further back whose lowest step (L4 to L5, 28°) is a lordotic one, no sacrum in view:
    not the lumbosacral turn (the 22° rule alone took L5 for S1)."""
    from modic.spine.levels import find_sacrum, lean_beyond_usual, name_levels

    steps = [8.0, 9.0, 10.0, 12.0, 28.0]
    assert lean_beyond_usual(steps) > 10.0
    chain = [_region(i, p) for i, p in enumerate(_points(steps))]
    assert find_sacrum(chain, beyond_lean=True)[0] is None
    assert find_sacrum(chain)[0] == 5
    names, certain, _ = name_levels(chain)
    assert names[-1] == "L5" and not certain        # counted up from L5 instead of L5 taken for S1
    assert lean_beyond_usual(steps[:4]) == 0.0          # too few steps to tell the lean
