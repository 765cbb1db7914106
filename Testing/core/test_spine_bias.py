"""Benchmark helper: benchmarks/spine_bias.py (a coil-shading field given in LPS millimetres, on a sagittal grid —
i → posterior, j → inferior, k → right, as in ../shared/realmri — with anisotropic spacing)."""

import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from spine_bias import shaded, shading_field  # noqa: E402


def _grid() -> sitk.Image:
    ref = sitk.Image([251, 41, 9], sitk.sitkFloat32)               # i, j, k: 200 mm deep, 28 mm tall, 32 mm wide
    ref.SetSpacing([0.8, 0.7, 4.0])
    ref.SetDirection((0, 0, -1, 1, 0, 0, 0, -1, 0))
    ref.SetOrigin((10.0, -40.0, 30.0))
    return ref


def test_the_shading_field_falls_by_its_ratio_per_100_mm_towards_the_front():
    ref = _grid()
    f = shading_field(ref, 1.6, 1)                                  # k, j, i
    assert f.shape == (9, 41, 251)
    # 125 columns of 0.8 mm = 100 mm along LPS +y (posterior): brighter by 1.6 at the back
    assert np.isclose(f[4, 20, 200] / f[4, 20, 75], 1.6, rtol=1e-4)
    assert np.isclose(shading_field(ref, 1.6, -1)[4, 20, 75] / shading_field(ref, 1.6, -1)[4, 20, 200], 1.6,
                      rtol=1e-4)
    # left-right (k → LPS −x, 4 mm slices): half the log-gradient, brighter to the left (+x = lower k)
    assert np.isclose(f[0, 20, 125] / f[8, 20, 125], 1.6 ** (0.5 * 32 / 100), rtol=1e-4)
    # superior-inferior: symmetric fall-off about the centre row (j → inferior)
    assert np.isclose(f[4, 0, 125], f[4, 40, 125], rtol=1e-5)
    assert f[4, 0, 125] < f[4, 20, 125]


def test_a_ratio_of_one_leaves_the_image_as_it_is_and_shading_multiplies_it():
    ref = _grid()
    ref = sitk.Add(ref, 100.0)
    assert shaded(ref, 1.0) is ref
    out = shaded(ref, 1.3, 1)
    assert out.GetDirection() == ref.GetDirection() and out.GetSpacing() == ref.GetSpacing()
    assert np.allclose(sitk.GetArrayFromImage(out), 100.0 * shading_field(ref, 1.3, 1), rtol=1e-5)


def test_the_detection_cache_shades_every_image_of_a_case_alike():
    """benchmarks/detection_cache.py --shading: each image of a case times the same field (its own grid), the
    ground truth untouched, the field recorded."""
    from detection_cache import with_shading

    ref = sitk.Add(_grid(), 50.0)
    case = {"case_id": "VB2_02_01", "images": {"T1": ref, "T2": sitk.Add(ref, 50.0)}, "mask": "truth"}
    out = with_shading(case, "anterior 1.6")
    assert out["shading"] == "anterior 1.6" and out["mask"] == "truth" and case["images"]["T1"] is ref
    f = shading_field(ref, 1.6, -1)
    assert np.allclose(sitk.GetArrayFromImage(out["images"]["T1"]), 50.0 * f, rtol=1e-5)
    assert np.allclose(sitk.GetArrayFromImage(out["images"]["T2"]), 100.0 * f, rtol=1e-5)


def test_every_spine_benchmark_splits_each_subset_at_its_rounded_up_half(tmp_path):
    """benchmarks/realmri_data.realmri_scans: manifest order kept, the first ceil(n/2) scans of each subset are
    development, `subsets` / `parts` filter, rows pickle (the benchmarks send them to worker processes)."""
    import pickle

    from realmri_data import realmri_scans, sequence_name, structure_kind

    names = ["VB2_01", "VB3_01", "VB2_02", "VB2_03", "VB3_02"]
    (tmp_path / "manifest.csv").write_text(
        "image,labels,label_levels,subset\n" + "".join(f"{n}.nrrd,{n}_seg.nrrd,1=L1,{n[:3]}\n" for n in names))
    got = [(s, p, r.image) for s, p, r in realmri_scans(tmp_path)]
    assert got == [("VB2", "development", "VB2_01.nrrd"), ("VB2", "development", "VB2_02.nrrd"),
                   ("VB2", "held-out", "VB2_03.nrrd"), ("VB3", "development", "VB3_01.nrrd"),
                   ("VB3", "held-out", "VB3_02.nrrd")]
    held_vb3 = realmri_scans(tmp_path, subsets=("VB3",), parts=("held-out",))
    assert [r.labels for _, _, r in held_vb3] == ["VB3_02_seg.nrrd"]
    assert pickle.loads(pickle.dumps(held_vb3))[0][2].label_levels == "1=L1"
    # --quick: the first scan of each subset (after the filters)
    assert [(s, r.image) for s, _, r in realmri_scans(tmp_path, per_subset=1)] == [("VB2", "VB2_01.nrrd"),
                                                                                    ("VB3", "VB3_01.nrrd")]
    assert [r.image for _, _, r in realmri_scans(tmp_path, parts=("held-out",), per_subset=1)] == ["VB2_03.nrrd",
                                                                                                   "VB3_02.nrrd"]
    assert [(sequence_name(s), structure_kind(s)) for s in ("VB2", "VB3", "IVD")] == \
        [("T2", "vertebra"), ("GRE", "vertebra"), ("T2", "disc")]
