"""The Spine contract: fixed label values, endplate zones along the spine axis, phantom ground truth."""

import numpy as np
import pytest
import SimpleITK as sitk

from modic.phantom import case_spec, synthesize
from modic.phantom.anatomy import spine_from_phantom_anatomy
from modic.spine import LEVELS, disc_label, endplate_label, label_name, vertebra_label


def test_label_values_round_trip():
    assert (vertebra_label("L4"), endplate_label("L4", "inferior"), disc_label("L5-S1")) == (16, 56, 77)
    for level in LEVELS:
        for value, name in ((vertebra_label(level), level), (endplate_label(level, "superior"), f"{level} superior")):
            assert label_name(value)[1] == name
    with pytest.raises(ValueError):
        label_name(5)


@pytest.fixture(scope="module")
def phantom_spine():
    case = synthesize(case_spec(0, 0, 1))
    return case, spine_from_phantom_anatomy(case.anatomy)


def test_phantom_ground_truth_spine(phantom_spine):
    case, spine = phantom_spine
    assert [v.level for v in spine.vertebrae()] == ["L1", "L2", "L3", "L4", "L5", "S1"]
    z = [v.centroid_lps[2] for v in spine.vertebrae()]
    assert np.all(np.diff(z) < -25)  # superior first, ~35 mm apart (LPS +z is superior)
    assert [s.level for s in spine.structures if s.structure == "disc"] == ["L1-L2", "L2-L3", "L3-L4", "L4-L5",
                                                                           "L5-S1"]
    for level in ("L2", "L4"):
        sup, inf = spine.structure(f"{level} superior"), spine.structure(f"{level} inferior")
        assert sup.normal_lps[2] > 0.9 and inf.normal_lps[2] < -0.9
        assert sup.centroid_lps[2] > spine.structure(level).centroid_lps[2] > inf.centroid_lps[2]
        # a zone of ~5 mm over a ~25 mm tall body: between a tenth and a half of the body
        body = spine.structure(level).volume_mm3 + sup.volume_mm3 + inf.volume_mm3
        assert 0.1 < sup.volume_mm3 / body < 0.5
    # the phantom's lesion sits in a vertebral body's endplate zone, and the seed inside that body
    assert spine.vertebra_at(case.seed_lps) is not None
    mask = sitk.GetArrayFromImage(sitk.Resample(case.masks["T1"], spine.labels, sitk.Transform(),
                                                sitk.sitkNearestNeighbor))
    values = sitk.GetArrayViewFromImage(spine.labels)[mask > 0]
    in_bone = np.isin(values, [v for v in np.unique(values) if v and label_name(int(v))[0] != "disc"])
    assert in_bone.mean() > 0.8
