"""Zero-click detection on phantom construction B (an independent generator, never used for tuning), with its true
anatomy: its marrow's fatty islands have the type II signal pattern; one touching an endplate zone is a focus, not a
Modic band (detection method 13)."""

from __future__ import annotations

import pytest

from modic.detect import detect_lesions


@pytest.fixture(scope="module")
def case_b13():
    from modic.phantom.construction_b import make_case_b, specs_b

    spec = specs_b(n_cases=13, seed=0)[12]       # B00_013: a type I band at L4 inferior (the benchmark's case)
    assert spec.case_id == "B00_013"
    return make_case_b(spec)


@pytest.mark.parametrize("focus_mm, expected", [
    (10.0, [("L4 inferior", "I")]),
    (None, [("L3 inferior", "II"), ("L4 inferior", "I")]),   # a fatty island at L3 inferior, called type II
])
def test_a_fatty_island_at_an_endplate_is_not_reported_and_the_lesion_is(case_b13, focus_mm, expected):
    res = detect_lesions(case_b13.images, case_b13.spine, case_id="B00_013", focus_mm=focus_mm)
    got = [(r.endplate, r.modic_type) for r in res.table().itertuples()]
    assert got == expected, (got, res.info["rejected_regions"])
    if focus_mm is not None:
        assert any(r["reason"].startswith("a focus") for r in res.info["rejected_regions"])
