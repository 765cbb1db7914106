"""Marrow deviation (`modic.lesion_marrow.marrow_deviation`), the lesion rule inside known bone, on a synthetic
pair of vertebral bodies with known truth: a dark cortical rim, intensity non-uniformity across the bodies, noise,
and a Modic band on both endplates of the disc (the seed's band and the facing one)."""

from __future__ import annotations

import numpy as np
import pytest

from modic.lesion_anatomy import LesionRegion
from modic.lesion_marrow import marrow_deviation
from modic.segment import dice

FACTORS = {1: (0.55, 1.6, 2.0), 2: (1.45, 1.15, 0.5), 3: (0.5, 0.5, 0.55)}
SPACING_XYZ = (1.0, 1.0, 4.0)   # 1 mm in-plane, 4 mm slices


def _case(modic_type: int, gradient: float = 0.4, seed: int = 0, band=(slice(1, 5), slice(20, 25), slice(10, 41))):
    rng = np.random.default_rng(seed)
    shape = (6, 60, 50)                                   # k (4 mm slices), j (inferior), i (posterior), 1 mm
    upper = np.zeros(shape, bool)
    lower = np.zeros(shape, bool)
    upper[:, 5:26, 5:46] = True
    lower[:, 33:54, 5:46] = True
    rim = (upper | lower) & ~np.pad((upper | lower)[:, 1:-1, 1:-1] & (upper | lower)[:, 2:, 1:-1]
                                    & (upper | lower)[:, :-2, 1:-1] & (upper | lower)[:, 1:-1, 2:]
                                    & (upper | lower)[:, 1:-1, :-2], ((0, 0), (1, 1), (1, 1)))
    lesion = np.zeros(shape, bool)
    lesion[band] = True                                   # band on the upper body's inferior endplate
    lesion[1:5, 34:37, 15:36] = True                      # the facing band on the lower body
    ii = np.arange(shape[2])[None, None, :] / shape[2]
    marrow = (1.0, 1.0, 0.45)
    feats = np.zeros((*shape, 3))
    for s in range(3):
        level = np.where(upper | lower, marrow[s], 0.2 + 0.8 * s)   # soft tissue / disc outside the bodies
        level = np.where(rim, 0.3 * marrow[s], level)
        level = np.where(lesion, marrow[s] * FACTORS[modic_type][s], level)
        feats[..., s] = level * (1 + gradient * ii) * (1 + 0.05 * rng.standard_normal(shape))
    zone_up = np.zeros(shape, bool)
    zone_up[:, 21:26, 5:46] = True
    zone_low = np.zeros(shape, bool)
    zone_low[:, 33:38, 5:46] = True
    region = LesionRegion(upper | lower, zone_low, zone_up, lower, upper, {})
    return feats, region, lesion


@pytest.mark.parametrize("modic_type", [1, 2, 3])
def test_both_bands_found_in_non_uniform_bodies(modic_type):
    feats, region, truth = _case(modic_type)
    mask, info = marrow_deviation(feats, (2, 22, 25), region, SPACING_XYZ)
    assert dice(mask, truth) >= 0.9
    assert not (mask & ~region.allowed).any()
    facing = truth & region.facing_body
    assert (mask & facing).sum() >= 0.8 * facing.sum()           # the band across the disc is kept
    signature = np.sign(info["lesion_vs_marrow_mad"])
    assert signature.tolist() == np.sign(np.log(FACTORS[modic_type])).tolist()


def test_dark_cortex_and_the_bright_side_of_the_body_stay_out():
    feats, region, truth = _case(3, gradient=0.6)
    mask, _ = marrow_deviation(feats, (2, 22, 25), region, SPACING_XYZ)
    far_rows = np.zeros(mask.shape, bool)
    far_rows[:, :15] = True                                       # the upper body away from the lesion's disc
    assert not (mask & far_rows).any()                            # no leak along the dark cortical rim
    feats2, region2, truth2 = _case(2, gradient=0.6)              # type II is bright on T1, like the bright side
    mask2, _ = marrow_deviation(feats2, (2, 22, 25), region2, SPACING_XYZ)
    assert not (mask2 & far_rows).any() and dice(mask2, truth2) >= 0.9


def test_seed_in_a_body_filled_by_the_lesion_uses_the_other_body_as_marrow():
    band = (slice(0, 6), slice(7, 25), slice(6, 45))              # the lesion fills most of the upper body
    feats, region, truth = _case(1, band=band)
    mask, _ = marrow_deviation(feats, (2, 15, 25), region, SPACING_XYZ)
    assert dice(mask, truth) >= 0.85
