"""The two refinements of the one-click segmentation, each on a default-cohort case (seed 0) where it
decides the result, checked against the phantom's ground-truth mask and anatomy labels.

- merge_distance: a coarse-textured type II lesion is shared among mixture components; merging the
  components that match the seed signal recovers it.
- sclerotic refinement: a small type III lesion is nearly iso-intense with the disc annulus on T1/T2; the
  first pass leaks into the disc, the re-split keeps the marrow side of the endplate.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from modic.phantom import cohort_specs, synthesize
from modic.phantom.model import ANATOMY_LABELS
from modic.segment import dice, segment_lesion

ANNULUS = next(k for k, v in ANATOMY_LABELS.items() if v == "disc annulus")


def _case(case_id: str):
    spec = next(s for s in cohort_specs(seed=0) if s.case_id == case_id)
    return synthesize(spec)


def _mean_dice(result, case) -> float:
    return float(np.mean([dice(result.masks[s], case.masks[s]) for s in case.masks]))


def _annulus_voxels(result, case) -> int:
    """Segmented voxels that lie in the disc annulus (anatomy labels are on the T1 grid)."""
    seg = sitk.GetArrayViewFromImage(result.masks["T1"]) > 0
    return int((seg & (sitk.GetArrayViewFromImage(case.anatomy) == ANNULUS)).sum())


@pytest.fixture(scope="module")
def type_iii_case():
    case = _case("phantom_046")
    assert case.modic_type == 3
    return case


def test_sclerotic_refinement_keeps_a_type_iii_lesion_out_of_the_disc(type_iii_case):
    case = type_iii_case
    lesion_voxels = int((sitk.GetArrayViewFromImage(case.masks["T1"]) > 0).sum())
    first_pass = segment_lesion(case.images, case.seed_lps, sclerotic_refinement=False)
    refined = segment_lesion(case.images, case.seed_lps)
    d0, d1 = _mean_dice(first_pass, case), _mean_dice(refined, case)
    a0, a1 = _annulus_voxels(first_pass, case), _annulus_voxels(refined, case)
    print(f"\n{case.case_id} (type III): Dice {d0:.3f} → {d1:.3f}; annulus voxels {a0} → {a1} "
          f"(lesion {lesion_voxels}); removed {refined.info['sclerotic_voxels_removed']}")
    assert first_pass.info["sclerotic_voxels_removed"] is None
    assert a0 > lesion_voxels            # the first pass fills the disc
    assert d0 < 0.5
    assert a1 < 0.1 * lesion_voxels      # marrow side of the endplate (plus the one grown-back voxel layer)
    assert d1 >= 0.8
    assert refined.info["sclerotic_voxels_removed"] > 0.5 * a0


def test_merge_distance_recovers_a_coarse_textured_type_ii_lesion():
    case = _case("phantom_097")
    assert case.modic_type == 2
    seed_class_only = segment_lesion(case.images, case.seed_lps, merge_distance=0)
    merged = segment_lesion(case.images, case.seed_lps)
    d0, d1 = _mean_dice(seed_class_only, case), _mean_dice(merged, case)
    print(f"\n{case.case_id} (type II): Dice {d0:.3f} with the seed's component only, {d1:.3f} merged")
    assert d0 < 0.6
    assert d1 >= 0.85
    # a type II seed (bright on T1) is not a sclerotic pattern: no re-split
    assert merged.info["sclerotic_voxels_removed"] is None
    assert merged.info["merge_distance"] == 2.0
