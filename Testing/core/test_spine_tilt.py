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


def _column_ending(steps: list[float], below: list[float], monkeypatch, below_area: float = 1000.0) -> dict:
    """A column dict whose chain has `steps` and whose relaxed pool holds the chain and regions `below` its end
    (of `below_area` mm², the chain's bodies 1000 mm²)."""
    from dataclasses import replace

    from modic.spine import column as col

    pts = _points(steps)
    chain = [_region(i, p) for i, p in enumerate(pts)]
    extra = [replace(_region(100 + i, p), area=below_area) for i, p in enumerate(_points(below, start=pts[-1])[1:])]
    monkeypatch.setattr(col, "_relaxed_pool", lambda column, px: chain + extra)
    return {"chain": list(chain), "gaps": [0] * len(chain), "labels": [], "slices": []}


def test_turn_at_the_chains_end_checked_one_body_below(monkeypatch):
    """A column leaning 10° back in the image: its L4–L5 step (32°, 22° more than the step above) looks like the
    lumbosacral turn, and its true L5–S1 step (62°) lies outside the chain search's 53° cone. One body below,
    the sharper turn moves S1 down to it."""
    from modic.spine.column import extend_down
    from modic.spine.levels import find_sacrum, name_levels

    column = _column_ending([2.0, 5.0, 8.0, 10.0, 32.0], [62.0], monkeypatch)
    assert find_sacrum(column["chain"])[0] == 5          # L5 taken for S1 without the check
    extend_down(column, 1.0)
    assert len(column["chain"]) == 7 and column["added_below"] == 1
    names, certain, _ = name_levels(column["chain"], column["gaps"])
    assert names[-2:] == ["L5", "S1"] and certain


def test_turn_at_the_chains_end_kept_when_the_sacrum_curves_on_gently(monkeypatch):
    """A true L5–S1 turn at the chain's end (45°, 39° more than the step above) with S2 below it (55°): the body
    below does not bend more sharply, so S1 stays and the chain is left as it was."""
    from modic.spine.column import extend_down

    column = _column_ending([-8.0, -5.0, 0.0, 6.0, 45.0], [55.0], monkeypatch)
    before = [r.label for r in column["chain"]]
    extend_down(column, 1.0)
    assert [r.label for r in column["chain"]] == before and column["added_below"] == 0


def test_turn_at_the_chains_end_kept_when_a_smaller_segment_bends_sharply_below(monkeypatch):
    """A true L5–S1 step of 23° at the chain's end and S2 below it at 67° (VB2_06's shape): the sharper bend alone
    would move S1 down, but S2 is clearly smaller than S1 (0.7 of its area), so S1 stays where it was."""
    from modic.spine.column import extend_down

    column = _column_ending([-8.0, -10.0, -3.0, 2.0, 23.0], [67.0], monkeypatch, below_area=700.0)
    extend_down(column, 1.0)
    assert len(column["chain"]) == 6 and column["added_below"] == 0
    column = _column_ending([-8.0, -10.0, -3.0, 2.0, 23.0], [67.0], monkeypatch, below_area=950.0)
    extend_down(column, 1.0)
    assert len(column["chain"]) == 7                  # as large as S1: the turn below is the lumbosacral one
