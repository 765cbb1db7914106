"""Anatomy-aware one-click segmentation (`segment_lesion(spine=...)`) and the imported-mask check, on
ground truth: the built-in phantom (construction A), construction B and a hybrid case in a real scan.

The hybrid test reads ../shared/realmri (or $MODIC_REALMRI) and is skipped with the reason when absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from modic.lesion_anatomy import check_mask_anatomy, lesion_region, seed_body_and_side
from modic.phantom import cohort_specs, synthesize
from modic.phantom.anatomy import spine_from_phantom_anatomy
from modic.segment import METHOD_VERSION, dice, segment_lesion
from modic.spine.model import disc_label

ROOT = Path(__file__).resolve().parents[2]


def _realmri() -> Path | None:
    candidates = [Path(os.environ["MODIC_REALMRI"])] if os.environ.get("MODIC_REALMRI") else []
    candidates += [ROOT.parent / "shared" / "realmri", ROOT.parents[1] / "shared" / "realmri"]
    return next((p for p in candidates if (p / "manifest.csv").is_file()), None)


def _mean_dice(result, case) -> float:
    return float(np.mean([dice(result.masks[s], case.masks[s]) for s in case.masks]))


def _disc_voxels(result, spine) -> int:
    lab = sitk.GetArrayViewFromImage(spine.labels)
    seg = sitk.GetArrayViewFromImage(result.masks["T1"]) > 0
    return int((seg & (lab >= 70)).sum())


@pytest.fixture(scope="module")
def type_iii_case():
    """phantom_046: the small type III lesion whose first pass fills the disc without anatomy."""
    case = synthesize(next(s for s in cohort_specs(seed=0) if s.case_id == "phantom_046"))
    return case, spine_from_phantom_anatomy(case.anatomy)


def test_anatomy_keeps_a_type_iii_lesion_out_of_the_disc_without_the_sclerotic_resplit(type_iii_case):
    case, spine = type_iii_case
    result = segment_lesion(case.images, case.seed_lps, spine=spine)
    d = _mean_dice(result, case)
    print(f"\n{case.case_id}: Dice {d:.3f} with anatomy, info {result.info['anatomy']}")
    assert result.info["method_version"] == METHOD_VERSION == 5
    assert result.info["anatomy"]["constrained_by"] == "spine"
    assert result.info["sclerotic_refinement"] is False and result.info["max_extent_mm"] is None
    assert _disc_voxels(result, spine) == 0
    assert d >= 0.85
    # the seed's body and the body across the disc it faces are named
    level, side = seed_body_and_side(spine, case.seed_lps)
    assert result.info["anatomy"]["body"] == level and result.info["anatomy"]["endplate"] == side


def test_seed_outside_every_body_falls_back_and_says_so(type_iii_case):
    case, spine = type_iii_case
    empty = sitk.Image(spine.labels.GetSize(), sitk.sitkUInt8)
    empty.CopyInformation(spine.labels)
    from modic.spine.model import Spine

    result = segment_lesion(case.images, case.seed_lps, spine=Spine(empty, [], False, {}))
    assert result.info["anatomy"]["constrained_by"] == "none"
    assert "not inside a vertebral body" in result.info["anatomy"]["note"]
    assert result.info["max_extent_mm"] == 40.0


def test_imported_mask_check_warns_for_a_disc_mask_only(type_iii_case):
    case, spine = type_iii_case
    assert check_mask_anatomy(case.masks["T1"], spine) is None          # the true lesion sits in bone
    lab = sitk.GetArrayViewFromImage(spine.labels)
    disc_values = [v for v in np.unique(lab) if v >= 70]
    wrong = sitk.GetImageFromArray((lab == disc_values[0]).astype(np.uint8))
    wrong.CopyInformation(spine.labels)
    warning = check_mask_anatomy(wrong, spine)
    assert warning is not None and "0% of the lesion mask" in warning and "100% in a disc" in warning
    assert disc_values[0] >= disc_label("T10-T11")


def test_lesion_region_is_the_seed_body_plus_the_body_across_the_disc(type_iii_case):
    case, spine = type_iii_case
    region = lesion_region(spine, case.seed_lps, case.images["T1"])
    level, side = seed_body_and_side(spine, case.seed_lps)
    other = region.info["body_across_disc"]
    body = sitk.GetArrayFromImage(spine.body_mask(level)) > 0
    expected = body | (sitk.GetArrayFromImage(spine.body_mask(other)) > 0)
    assert region.info["body"] == level and other is not None
    assert np.array_equal(region.allowed, expected)
    assert region.facing.sum() > 0 and not (region.facing & body).any()
    assert not (region.allowed & (sitk.GetArrayViewFromImage(spine.labels) >= 70)).any()


def test_construction_b_case_with_anatomy():
    from modic.phantom.construction_b import make_case_b, specs_b

    case = make_case_b(specs_b(3, seed=0)[2])   # type III wedge, L4-L5: a hard case (no-anatomy method 0.83)
    result = segment_lesion(case.images, case.seed_lps, spine=case.spine)
    d = _mean_dice(result, case)
    print(f"\n{case.case_id}: Dice {d:.3f}, {result.info['seconds']} s")
    assert case.modic_type == 3 and case.meta["shape"] == "wedge"
    assert _disc_voxels(result, case.spine) == 0
    assert result.info["anatomy"]["method"].startswith("marrow deviation")
    assert d >= 0.55                           # measured 0.59: the cortex rim next to the wedge is taken too


def test_hybrid_case_in_a_real_scan():
    root = _realmri()
    if root is None:
        pytest.skip("../shared/realmri (or $MODIC_REALMRI) not present: hybrid cases need the real scans")
    from modic.phantom.hybrid import hybrid_specs, load_background, make_hybrid_case, read_backgrounds
    from modic.signal_pattern import type_from_signal

    rows = read_backgrounds(root / "manifest.csv")
    spec = hybrid_specs(rows, per_scan=3)[2]                         # VB2_02: type III at L1-L2
    case = make_hybrid_case(load_background(next(r for r in rows if r["name"] == spec.background)), spec)
    assert case.images["T2"].GetSpacing()[2] == pytest.approx(4.0)
    assert 2000 <= case.meta["volume_mm3_1mm"] <= 16500
    typed = type_from_signal(case.images, case.masks, reference_lps=case.reference_lps)
    assert typed.modic_code == case.modic_type == 3
    without = segment_lesion(case.images, case.seed_lps)
    with_anatomy = segment_lesion(case.images, case.seed_lps, spine=case.spine)
    d0, d1 = _mean_dice(without, case), _mean_dice(with_anatomy, case)
    print(f"\n{case.case_id}: Dice {d0:.3f} without anatomy, {d1:.3f} with")
    assert d1 >= 0.85 and d1 >= d0


def _short_parsed_spine(case, truth, source: str, lateral_mm: float = 0.0):
    """The truth spine with the seed's body cut where its lesion begins (the lesion called disc), as a parser that
    follows normal marrow leaves it, and (`lateral_mm` > 0) ending that far short of the seed's sagittal plane on
    the seed's side; `source` is the spine's info["method"]."""
    from modic.geometry import resample_like
    from modic.lesion_anatomy import _body_values
    from modic.spine.model import _index_to_lps, endplate_label, spine_from_masks

    ref = truth.labels
    lab = sitk.GetArrayFromImage(ref)
    lesion = sitk.GetArrayFromImage(resample_like(case.masks["T1"], ref, is_label=True)) > 0
    level, side = seed_body_and_side(truth, case.seed_lps)
    bodies = {v.level: np.isin(lab, _body_values(v.level)) for v in truth.vertebrae()}
    discs = {s.level: lab == s.label for s in truth.structures if s.structure == "disc"}
    body = bodies[level]
    pts = _index_to_lps(ref, np.argwhere(body))
    centre = pts.mean(axis=0)
    zone = _index_to_lps(ref, np.argwhere(lab == endplate_label(level, side))).mean(axis=0)
    normal = (zone - centre) / np.linalg.norm(zone - centre)
    t = np.zeros(body.shape)
    t[body] = (pts - centre) @ normal
    bodies[level] = body & (t < np.quantile(t[lesion & body], 0.05))
    if lateral_mm > 0:
        x = np.zeros(body.shape)
        x[body] = pts[:, 0]
        side_x = np.sign(case.seed_lps[0] - centre[0]) or 1.0
        bodies[level] &= (x - case.seed_lps[0]) * side_x < -lateral_mm
    spine = spine_from_masks(ref, bodies, discs, naming_certain=True, info={"method": source})
    return spine, lesion & body, lab, level


def test_parsed_body_short_of_its_lesion_is_continued_to_the_click():
    """phantom_007 (type I): the parsed L4 stops where its lesion begins, so the click lies in 'disc'. The body is
    continued to 2 mm beyond the click (never into the disc beyond), the lesion is segmented with the anatomy
    (Dice 0.935 measured; 0.931 without anatomy, 0.952 with the true bodies); a spine given as labels is taken as
    it is (the click outside every body: no constraint)."""
    case = synthesize(next(s for s in cohort_specs(seed=0) if s.case_id == "phantom_007"))
    truth = spine_from_phantom_anatomy(case.anatomy)
    spine, lesion_in_body, lab, level = _short_parsed_spine(case, truth, "modic.spine.parse")
    assert seed_body_and_side(spine, case.seed_lps) == (None, None)
    region = lesion_region(spine, case.seed_lps, truth.labels)
    assert region.info["seed_outside_parsed_body"] is True and region.info["body"] == level
    assert region.info["seed_band_voxels"] > 1000
    assert (region.allowed & lesion_in_body).sum() >= 0.8 * lesion_in_body.sum()
    disc = lab == disc_label(f"{level}-{region.info['body_across_disc']}")
    assert disc.sum() > 1000 and (region.allowed & disc).sum() == 0
    result = segment_lesion(case.images, case.seed_lps, spine=spine)
    assert result.info["anatomy"]["constrained_by"] == "spine"
    assert _mean_dice(result, case) >= 0.9
    labelled, *_ = _short_parsed_spine(case, truth, "labels")
    assert lesion_region(labelled, case.seed_lps, truth.labels) is None


def test_parsed_body_short_of_the_click_sideways_is_continued_to_its_plane():
    """The same parsed L4 also ending 4 mm short of the click's sagittal plane (a lateral end missed): its
    outermost section is repeated out to the click's plane, the region holds the click, and the segmentation is
    constrained by the spine."""
    case = synthesize(next(s for s in cohort_specs(seed=0) if s.case_id == "phantom_007"))
    truth = spine_from_phantom_anatomy(case.anatomy)
    spine, lesion_in_body, lab, level = _short_parsed_spine(case, truth, "modic.spine.parse", lateral_mm=4.0)
    region = lesion_region(spine, case.seed_lps, truth.labels)
    assert region is not None and region.info["body"] == level
    idx = truth.labels.TransformPhysicalPointToIndex(case.seed_lps)
    assert region.allowed[idx[2], idx[1], idx[0]]
    assert (region.allowed & lesion_in_body).sum() >= 0.6 * lesion_in_body.sum()
    result = segment_lesion(case.images, case.seed_lps, spine=spine)
    assert result.info["anatomy"]["constrained_by"] == "spine"
    print(f"\nDice {_mean_dice(result, case):.3f}")
    assert _mean_dice(result, case) >= 0.8


def test_imported_mask_check_with_a_parsed_spine_tolerates_the_parsers_short_bodies(monkeypatch):
    """Hybrid VB2_02_01 (type I inserted into a real T2 scan, 4 mm): the parsed bodies leave most of this correct
    lesion mask outside (58 % in no body), so the check used to warn that the mask is not in bone. For a parsed
    spine, voxels within 2 mm of a body count as bone (75 % here): no warning. A mask of a parsed disc is still
    flagged. Spine parser 27 (denoised images; its derived T1 is noisier than the real T2) keeps more of the lesion
    in its body: 76 % strictly inside, 93 % with the tolerance."""
    root = _realmri()
    if root is None:
        pytest.skip("../shared/realmri (or $MODIC_REALMRI) not present: hybrid cases need the real scans")
    from modic.lesion_anatomy import bone_fraction
    from modic.phantom.hybrid import hybrid_specs, load_background, make_hybrid_case, read_backgrounds
    from modic.spine import parse_spine

    rows = read_backgrounds(root / "manifest.csv")
    spec = hybrid_specs(rows, per_scan=2)[0]
    case = make_hybrid_case(load_background(next(r for r in rows if r["name"] == spec.background)), spec)
    assert case.case_id == "VB2_02_01"
    spine = parse_spine({s: case.images[s] for s in ("T2", "T1", "FS")})
    tolerant = bone_fraction(case.masks["T2"], spine)
    monkeypatch.setattr("modic.lesion_anatomy.PARSED_BONE_TOLERANCE_MM", 0.0)
    strict = bone_fraction(case.masks["T2"], spine)
    monkeypatch.undo()
    assert 0.5 <= strict <= 0.85 and tolerant >= strict + 0.1, (strict, tolerant)
    assert check_mask_anatomy(case.masks["T2"], spine) is None
    disc = next(s for s in spine.structures if s.structure == "disc")
    disc_mask = sitk.Cast(spine.labels == disc.label, sitk.sitkUInt8)
    warning = check_mask_anatomy(disc_mask, spine)
    assert warning is not None and "in a disc" in warning
