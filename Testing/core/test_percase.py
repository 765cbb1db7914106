"""Per-case core on phantom cases with known ground truth: normalisation, segmentation from one click,
signal-pattern typing, mask import, the end-to-end pipeline.

The cases are the first ones of each type of the default phantom cohort (seed 0): sagittal direction,
anisotropic voxels, and in some cases an FS grid that differs from T1/T2.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import pytest
import SimpleITK as sitk

from modic.errors import ModicInputError
from modic.normalize import lesion_contrast, normalize_images, sphere_mask
from modic.phantom import cohort_specs, synthesize
from modic.segment import dice, import_mask, segment_lesion
from modic.signal_pattern import type_from_signal

PER_TYPE = 6


@pytest.fixture(scope="module")
def cohort_cases():
    specs = cohort_specs(seed=0)
    chosen = []
    for t in (1, 2, 3):
        chosen += [s for s in specs if s.modic_type == t][:PER_TYPE]
    return [synthesize(s) for s in chosen]


@pytest.fixture(scope="module")
def segmentations(cohort_cases):
    out = []
    for case in cohort_cases:
        t0 = time.perf_counter()
        result = segment_lesion(case.images, case.seed_lps)
        out.append((result, time.perf_counter() - t0))
    return out


def test_cases_have_clinical_geometry(cohort_cases):
    assert any(c.meta["fs_grid_differs"] for c in cohort_cases), "need a case whose FS grid differs"
    for c in cohort_cases:
        direction = np.asarray(c.images["T2"].GetDirection()).reshape(3, 3)
        assert not np.allclose(direction, np.eye(3))
        assert c.images["T2"].GetSpacing()[2] > 2.5 * c.images["T2"].GetSpacing()[0]


def test_segmentation_dice_against_ground_truth(cohort_cases, segmentations):
    dices = {1: [], 2: [], 3: []}
    seconds = []
    for case, (result, sec) in zip(cohort_cases, segmentations, strict=True):
        per_grid = [dice(result.masks[s], case.masks[s]) for s in case.masks]
        dices[case.modic_type].append(np.mean(per_grid))
        seconds.append(sec)
        if case.meta["fs_grid_differs"]:
            assert result.masks["FS"].GetSize() == case.images["FS"].GetSize()
    means = {t: float(np.mean(v)) for t, v in dices.items()}
    overall = float(np.mean(sum(dices.values(), [])))
    print(f"\nsegmentation Dice on {len(cohort_cases)} default-cohort cases: mean {overall:.3f}; by type "
          + ", ".join(f"{t}: {m:.3f}" for t, m in means.items())
          + f"; median {np.median(seconds):.2f} s/case")
    assert overall >= 0.85
    assert min(means.values()) >= 0.80


def test_segmentation_refuses_a_seed_outside_the_image(cohort_cases):
    case = cohort_cases[0]
    with pytest.raises(ModicInputError, match="outside the image"):
        segment_lesion(case.images, (5000.0, 0.0, 0.0))


def test_gain_and_offset_do_not_change_normalised_contrast(cohort_cases):
    """Same anatomy and noise draw, different scanner gain/offset → contrast within 5 %."""
    for case in (cohort_cases[0], cohort_cases[PER_TYPE], cohort_cases[2 * PER_TYPE]):
        spec = copy.deepcopy(case.spec)
        for seq in spec.acquisition:
            spec.acquisition[seq]["gain"] *= 1.7
            spec.acquisition[seq]["offset"] += 55.0
        other = synthesize(spec)
        for method in ("zscore-reference", "zscore-image"):
            a, rec = normalize_images(case.images, method, reference_lps=case.reference_lps)
            b, _ = normalize_images(other.images, method, reference_lps=other.reference_lps)
            for seq in ("T1", "T2", "FS"):
                ref = sphere_mask(a[seq], case.reference_lps, 5.0)
                ca = lesion_contrast(a[seq], case.masks[seq], ref)
                cb = lesion_contrast(b[seq], other.masks[seq], ref)
                assert abs(ca - cb) <= 0.05 * abs(ca), (case.case_id, method, seq, ca, cb)
                assert rec[seq]["method"] == method and rec[seq]["reference_sd"] > 0
            raw_a = case.images["T1"]
            raw_b = other.images["T1"]
            assert not np.allclose(sitk.GetArrayViewFromImage(raw_a), sitk.GetArrayViewFromImage(raw_b))


def test_zscore_reference_gives_marrow_mean_zero(cohort_cases):
    case = cohort_cases[1]
    out, rec = normalize_images(case.images, "zscore-reference", reference_lps=case.reference_lps, scale=100)
    for img in out.values():
        sel = sitk.GetArrayFromImage(sphere_mask(img, case.reference_lps, 5.0)) > 0
        vals = sitk.GetArrayViewFromImage(img)[sel]
        assert abs(vals.mean()) < 1e-3 and vals.std(ddof=1) == pytest.approx(100.0, rel=1e-3)
    with pytest.raises(ModicInputError, match="reference"):
        normalize_images(case.images, "zscore-reference")


def test_signal_pattern_typing_accuracy(cohort_cases):
    hits, hits_auto = 0, 0
    for case in cohort_cases:
        pattern = type_from_signal(case.images, case.masks, reference_lps=case.reference_lps)
        auto = type_from_signal(case.images, case.masks)
        hits += pattern.modic_code == case.modic_type
        hits_auto += auto.modic_code == case.modic_type
        assert set(pattern.ratios) == {"T1", "T2", "FS"}
        if case.modic_type == 1:
            assert pattern.calls["T1"] == "low" and pattern.ratios["FS"] > 1
    n = len(cohort_cases)
    print(f"\nsignal-pattern typing: {hits}/{n} with a marrow reference point, {hits_auto}/{n} with the fallback")
    assert hits / n >= 0.95


def test_signal_pattern_of_zscored_images(cohort_cases):
    """z-scored exports (negative values) give the same type and calls, and ratios near the magnitude images' (they
    are taken after a shift to a 0 minimum; before, a type II lesion's T1 ratio read 15 instead of 1.8)."""
    for case in cohort_cases[:: len(cohort_cases) // 3]:
        zs = {}
        for seq, img in case.images.items():
            arr = sitk.GetArrayFromImage(img).astype(np.float32)
            zs[seq] = sitk.GetImageFromArray((arr - arr.mean()) / arr.std())
            zs[seq].CopyInformation(img)
        raw = type_from_signal(case.images, case.masks, reference_lps=case.reference_lps)
        z = type_from_signal(zs, case.masks, reference_lps=case.reference_lps)
        assert (z.modic_type, z.calls) == (raw.modic_type, raw.calls)
        for seq in raw.ratios:     # the phantom's images carry an offset, so the shifted zero is only near theirs
            assert z.ratios[seq] == pytest.approx(raw.ratios[seq], rel=0.25), (case.case_id, seq)


@pytest.mark.parametrize("true_type, seed", [("I/II", 4), ("II/III", 5)])
def test_mixed_lesion_is_reported_as_mixed(true_type, seed):
    from modic.phantom import make_case

    case = make_case("mix", true_type, seed=seed)
    pattern = type_from_signal(case.images, case.masks, reference_lps=case.reference_lps)
    assert pattern.modic_type == true_type
    first, second = true_type.split("/")
    assert pattern.fractions[first] >= 0.3 and pattern.fractions[second] >= 0.3
    codes = {"I": 1, "II": 2, "III": 3}
    assert pattern.modic_code in (codes[first], codes[second])  # dominant type by mean signal


def test_import_label_map_and_slicer_segmentation(cohort_cases, tmp_path):
    import slicerio

    case = cohort_cases[0]
    t2, fs = case.images["T2"], case.images["FS"]
    arr = sitk.GetArrayFromImage(case.masks["T2"]).astype(np.uint8) * 3  # label 3, like an ITK-SNAP file
    label_map = sitk.GetImageFromArray(arr)
    label_map.CopyInformation(t2)
    sitk.WriteImage(label_map, str(tmp_path / "lesion.nii.gz"))
    got = import_mask(tmp_path / "lesion.nii.gz", t2, label=3)
    assert dice(got, case.masks["T2"]) == 1.0
    with pytest.raises(ModicInputError, match=r"labels present: \[3\]"):
        import_mask(tmp_path / "lesion.nii.gz", t2, label=1)
    # Slicer .seg.nrrd with two segments, read by name and resampled onto the FS grid
    ijk_to_lps = np.eye(4)
    direction = np.asarray(t2.GetDirection()).reshape(3, 3)
    ijk_to_lps[:3, :3] = direction * np.asarray(t2.GetSpacing())
    ijk_to_lps[:3, 3] = t2.GetOrigin()
    seg = slicerio.create_segmentation(t2.GetSize(), ijk_to_lps)
    lesion_ijk = sitk.GetArrayFromImage(case.masks["T2"]).transpose(2, 1, 0).astype(bool)
    slicerio.add_segment(seg, lesion_ijk, {"name": "Modic lesion"})
    other = np.zeros_like(lesion_ijk)
    other[:5, :5, :2] = True
    slicerio.add_segment(seg, other, {"name": "Other"})
    slicerio.write_segmentation(str(tmp_path / "case.seg.nrrd"), seg)
    on_t2 = import_mask(tmp_path / "case.seg.nrrd", t2, segment="Modic lesion")
    assert dice(on_t2, case.masks["T2"]) == 1.0
    on_fs = import_mask(tmp_path / "case.seg.nrrd", fs, segment="Modic lesion")
    assert dice(on_fs, case.masks["FS"]) > 0.85
    with pytest.raises(ModicInputError, match="no segment named"):
        import_mask(tmp_path / "case.seg.nrrd", t2, segment="Lesion")
