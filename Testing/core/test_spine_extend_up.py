"""A body above the chain's top one, cut by the field of view's edge (no body-like watershed region there)."""

from __future__ import annotations

import numpy as np
import pytest
from _synth import box_column

from modic.spine.column import extend_up

BODY_ROWS = ((40, 65), (75, 100), (110, 135), (145, 170))   # 25 mm bodies, 10 mm discs, 35 mm spacing (1 mm px)
COLS = (40, 80)


def _column(top_rows: tuple[int, int] | None, top_signal: float = 1.0) -> dict:
    """One slab (rows = inferior, cols = posterior): marrow 1.0 on soft tissue 0.2; discs 0.6 (T2-bright); a body
    at `top_rows` above the chain (cut by the image's top edge) that the watershed split into fragments."""
    rng = np.random.default_rng(0)
    img, labels, chain = box_column(BODY_ROWS, COLS, (200, 120))
    for rows in BODY_ROWS:
        img[rows[1]:rows[1] + 10, COLS[0]:COLS[1]] = 0.6      # the disc below each body
    img[30:40, COLS[0]:COLS[1]] = 0.6
    if top_rows is not None:
        img[top_rows[0]:top_rows[1], COLS[0]:COLS[1]] = top_signal
        labels[top_rows[0]:top_rows[1], COLS[0]:60] = 20       # fragments, none body-like
        labels[top_rows[0]:top_rows[1], 60:COLS[1]] = 21
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)
    return {"chain": chain, "gaps": [0] * len(chain), "labels": [labels], "slices": [img]}


def test_a_body_cut_by_the_top_edge_is_added_above_the_chain():
    col = _column((0, 30))                 # the edge cuts it at row 0; one spacing up is rows 5–30
    extend_up(col, 1.0)
    assert len(col["chain"]) == 5 and col["gaps"] == [0] * 5 and col["added_above"] == 1
    top = col["chain"][0]
    own = col["labels"][top.scale] == top.label
    assert own[5:30, COLS[0]:COLS[1]].mean() > 0.9 and own[35:].sum() == 0      # the body, not its disc
    assert top.centroid[0] == pytest.approx(15, abs=2.0) and top.score == 0.0


def test_nothing_added_where_no_marrow_lies_above():
    col = _column(None)                    # soft tissue above the top disc
    extend_up(col, 1.0)
    assert len(col["chain"]) == 4 and "added_above" not in col


def test_a_sliver_of_body_at_the_edge_is_not_a_body():
    """Less than `up_min_cover` of a body in view: too little to follow or to name."""
    col = _column((0, 5))
    extend_up(col, 1.0)
    assert len(col["chain"]) == 4


def test_signal_outside_the_marrow_range_is_not_a_body():
    col = _column((0, 30), top_signal=0.5)
    extend_up(col, 1.0)
    assert len(col["chain"]) == 4


def test_the_sacrum_index_moves_down_with_the_added_body():
    col = _column((0, 30))
    col["sacrum"] = (3, "reason")
    extend_up(col, 1.0)
    assert col["sacrum"] == (4, "reason")
