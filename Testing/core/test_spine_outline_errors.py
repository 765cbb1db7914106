"""Benchmark helpers: benchmarks/spine_outline_errors.py (the direction in which a parsed outline misses or overruns a
labelled one, on a sagittal grid — i → posterior, j → inferior, k → right, as in ../shared/realmri — with
anisotropic spacing) and benchmarks/detection_cache.py (its split and its settings check)."""

import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from spine_outline_errors import direction_shares, height_axis_lps  # noqa: E402


def _grid() -> sitk.Image:
    ref = sitk.Image([48, 50, 12], sitk.sitkUInt8)                  # i, j, k
    ref.SetSpacing([0.8, 0.7, 4.0])
    ref.SetDirection((0, 0, -1, 1, 0, 0, 0, -1, 0))
    return ref


def _body() -> np.ndarray:
    lab = np.zeros((12, 50, 48), bool)                               # k, j, i
    lab[3:10, 10:34, 6:44] = True                                    # 17 mm tall, 30 mm deep, 28 mm wide
    return lab


def test_the_height_axis_of_a_body_on_a_sagittal_grid_points_superior():
    axis = height_axis_lps(_body(), _grid())
    np.testing.assert_allclose(axis, [0.0, 0.0, 1.0], atol=1e-6)


def test_a_body_parsed_short_at_its_top_and_long_at_its_front_is_told_apart():
    ref, lab = _grid(), _body()
    parsed = lab.copy()
    parsed[:, 10:13] = False                                          # 3 rows (2.1 mm) short at the top (low j)
    parsed[3:10, 16:28, 2:6] = True                                   # 3.2 mm beyond the front (low i)
    axis = height_axis_lps(lab, ref)
    total = int(lab.sum())
    missed, missed_mm = direction_shares(lab & ~parsed, parsed, ref, axis, total)
    assert missed["superior"] == pytest.approx(3 / 24)
    assert sum(v for k, v in missed.items() if k != "superior") == 0
    assert missed_mm == pytest.approx(1.4)                            # median of 0.7, 1.4, 2.1 mm
    extra, _ = direction_shares(parsed & ~lab, lab, ref, axis, total)
    assert extra["anterior"] == pytest.approx((7 * 12 * 4) / total)
    assert sum(v for k, v in extra.items() if k != "anterior") == 0


def test_the_detection_cache_splits_cases_as_the_benchmark_and_refuses_unknown_settings():
    """benchmarks/detection_cache.py: a case's part follows its scan (development scans: DEV_SCANS of
    detection_accuracy.py), and a parser setting that does not exist stops the run before any parse."""
    from detection_cache import apply_settings, part_of

    assert [part_of(c) for c in ("VB2_02_01", "real_VB2_10", "VB2_12_03", "real_VB3_01", "VB3_02_01")] == \
        ["dev", "dev", "held", "held", "held"]
    with pytest.raises(SystemExit, match="has no 'no_such_setting'"):
        apply_settings({"endplates.no_such_setting": 1.0})
    with pytest.raises(SystemExit, match="say spine.NAME"):
        apply_settings({"line_grow_mm": 1.0})
