"""Which sequence a real background scan plays in a hybrid case (`modic.phantom.hybrid`): from the manifest's
contrast text, checked against the image (a scan called fat-bright whose discs outshine the marrow is a water
image and plays FS), and the two missing sequences derived with each tissue where that sequence shows it."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from modic.phantom.hybrid import derive_sequences, disc_to_marrow, load_background, read_backgrounds, sequence_role

SAGITTAL_LPS = (0, 0, -1, 1, 0, 0, 0, -1, 0)   # i → posterior, j → inferior, k → right (as the realmri scans)


@pytest.mark.parametrize("text, role", [
    ("T2 TSE (1.5 T)", "T2"), ("T1 TSE", "T1"), ("fat-bright gradient echo", "T1"), ("GRE", "T1"),
    ("STIR", "FS"), ("T2 STIR", "FS"), ("T2-FS", "FS"), ("T2 fat-sat", "FS"), ("fat suppressed T2", "FS"),
    ("T2 SPAIR", "FS"), ("Dixon water image", "FS"), ("T1 FATSAT post-contrast", None), ("PD", None),
    ("Dixon in-phase (water + fat)", "T1"), ("opposed-phase GRE", "T1"),
    ("3 degree tilt", None)])
def test_the_contrast_text_names_the_role(text, role):
    assert sequence_role(text) == role


def _spine_scan(disc: float, marrow: float = 100.0, fat: float = 140.0, csf: float = 60.0):
    """A toy sagittal scan (1 mm; k-j-i = right, inferior, posterior): five 24 mm bodies stacked along j with
    10 mm discs between them, a canal behind, fat around; the body label map (values 1…5 = L1…L5)."""
    shape = (40, 200, 120)
    img = np.full(shape, fat, np.float32)
    lab = np.zeros(shape, np.uint8)
    rng = np.random.default_rng(0)
    for n in range(5):
        j0 = 20 + n * 34
        lab[8:32, j0:j0 + 24, 30:70] = n + 1
        img[8:32, j0:j0 + 24, 30:70] = marrow
        img[8:32, j0 + 24:j0 + 34, 30:70] = disc
    img[14:26, 10:190, 74:86] = csf
    img += rng.normal(0, 3, shape).astype(np.float32)
    out = []
    for arr in (img, lab):
        im = sitk.GetImageFromArray(arr)
        im.SetDirection(SAGITTAL_LPS)
        out.append(im)
    return out


def _manifest(tmp_path, disc: float, contrast: str, **kw):
    img, lab = _spine_scan(disc, **kw)
    sitk.WriteImage(img, str(tmp_path / "scan.nii.gz"))
    sitk.WriteImage(lab, str(tmp_path / "scan_labels.nii.gz"))
    (tmp_path / "manifest.csv").write_text(
        "image,labels,contrast,label_levels\n"
        f'scan.nii.gz,scan_labels.nii.gz,"{contrast}",1=L1;2=L2;3=L3;4=L4;5=L5\n')
    return read_backgrounds(tmp_path / "manifest.csv")[0]


def test_disc_to_marrow_measures_the_discs_between_adjacent_bodies():
    img, lab = _spine_scan(disc=170.0)
    arr, labels = sitk.GetArrayFromImage(img), sitk.GetArrayFromImage(lab)
    bodies = {f"L{n}": labels == n for n in range(1, 6)}
    assert disc_to_marrow(arr, bodies, (1.0, 1.0, 1.0)) == pytest.approx(1.7, abs=0.03)
    del bodies["L3"]                      # L2 and L4 are not adjacent: only L1-L2 and L4-L5 are sampled
    assert disc_to_marrow(arr, bodies, (1.0, 1.0, 1.0)) == pytest.approx(1.7, abs=0.03)


def test_a_fat_bright_scan_with_bright_discs_plays_fs(tmp_path):
    row = _manifest(tmp_path, disc=170.0, contrast="fat-bright gradient echo (CSF dark)", fat=30.0, csf=220.0)
    assert row["role"] == "T1"                         # what the words say
    bg = load_background(row)
    assert bg.role == "FS" and "1.7" in bg.role_note and "used as FS" in bg.role_note


def test_a_scan_called_stir_with_dark_discs_plays_t1(tmp_path):
    """The other direction: called STIR, but the discs are darker than the marrow (a fat-bright image)."""
    bg = load_background(_manifest(tmp_path, disc=60.0, contrast="STIR"))
    assert bg.role == "T1" and "0.6" in bg.role_note and "used as T1" in bg.role_note


def test_a_t1_scan_with_dark_discs_stays_t1(tmp_path):
    bg = load_background(_manifest(tmp_path, disc=70.0, contrast="T1 TSE"))
    assert bg.role == "T1" and bg.role_note == ""


def test_sequences_derived_from_a_water_image_show_each_tissue_as_t1_and_t2_do(tmp_path):
    """From an FS (water-bright) scan: the disc darker than marrow on T1 and brighter on T2, the canal's fluid
    dark on T1 and brightest on T2, fat bright on both; the marrow at the same level on every sequence."""
    bg = load_background(_manifest(tmp_path, disc=170.0, contrast="STIR", fat=30.0, csf=230.0))
    assert bg.role == "FS"
    seqs = derive_sequences(bg)
    assert set(seqs) == {"T1", "T2", "FS"}
    lab = np.any(np.stack(list(bg.bodies.values())), axis=0)
    arr = sitk.GetArrayViewFromImage(bg.image)
    # the regions, found on the cropped grid by their real intensity
    marrow = ndimage.binary_erosion(lab, iterations=3)
    disc = ndimage.binary_erosion((arr > 150) & (arr < 195), iterations=2)
    csf = ndimage.binary_erosion(arr > 200, iterations=2)
    fat = ndimage.binary_erosion(arr < 50, iterations=4)
    level = {s: {k: float(np.median(a[m])) / float(np.median(a[marrow]))
                 for k, m in (("disc", disc), ("csf", csf), ("fat", fat))} for s, a in seqs.items()}
    assert level["T1"]["disc"] < 0.9 and level["T1"]["csf"] < 0.5 and level["T1"]["fat"] > 1.2
    assert level["T2"]["disc"] > 1.1 and level["T2"]["csf"] > 2.0 and level["T2"]["fat"] > 1.1
    assert level["FS"]["disc"] > 1.5 and level["FS"]["fat"] < 0.5
    for a in seqs.values():
        assert float(np.median(a[marrow])) == pytest.approx(500.0, rel=0.05)


def test_marrow_texture_of_a_water_image_runs_the_other_way_on_the_derived_t1(tmp_path):
    """Marrow is water and fat: a spot darker than its surroundings on a water (FS) image is fattier marrow, and
    brighter on T1. With half fat and water 0.3 as bright as fat on T1, a water deviation d of the tissue gives a T1
    deviation 1 − 0.54 (d − 1); the finer part of d (noise, under 1.5 mm) keeps its size and sign. T2 keeps d (fat
    and water are both bright there). Before, every derived sequence kept d, and fatty spots of a real water image
    became type III marrow."""
    img, lab = _spine_scan(disc=170.0, fat=30.0, csf=230.0)
    arr = sitk.GetArrayFromImage(img)
    zz, yy, xx = np.meshgrid(*[np.arange(n) for n in arr.shape], indexing="ij")
    blob = np.exp(-((zz - 20) ** 2 + (yy - 98) ** 2 + (xx - 50) ** 2) / (2 * 4.0 ** 2))   # σ 4 mm, in L3
    arr = (arr * (1 - 0.3 * blob)).astype(np.float32)                                    # 0.7 at its centre
    out = sitk.GetImageFromArray(arr)
    out.CopyInformation(img)
    sitk.WriteImage(out, str(tmp_path / "scan.nii.gz"))
    sitk.WriteImage(lab, str(tmp_path / "scan_labels.nii.gz"))
    (tmp_path / "manifest.csv").write_text("image,labels,contrast,label_levels\n"
                                           "scan.nii.gz,scan_labels.nii.gz,STIR,1=L1;2=L2;3=L3;4=L4;5=L5\n")
    bg = load_background(read_backgrounds(tmp_path / "manifest.csv")[0])
    seqs = derive_sequences(bg)
    # the same spot on the cropped grid: where the real image is darkest inside L3
    real = sitk.GetArrayViewFromImage(bg.image)
    body = ndimage.binary_erosion(bg.bodies["L3"], iterations=3)
    cropped_spot = body & (real < 0.78 * np.median(real[body]))
    assert cropped_spot.sum() >= 20
    ring = body & ~ndimage.binary_dilation(cropped_spot, iterations=3)
    ratio = {s: float(np.median(a[cropped_spot]) / np.median(a[ring])) for s, a in seqs.items()}
    assert ratio["FS"] == pytest.approx(0.74, abs=0.04)
    assert 1.0 < ratio["T1"] < 1.2              # brighter (measured 1.03 against a ring in the blob's tail)
    assert ratio["T2"] < 0.8


def test_a_hybrid_cohort_records_the_role_and_why(tmp_path):
    """`modic phantom --background`: the case manifest says which sequence the real scan played and why it differs
    from the manifest's words; the three sequences are written, the lesion inside a labelled body."""
    import pandas as pd

    from modic.phantom.extra import generate_hybrid_cohort

    src = tmp_path / "src"
    src.mkdir()
    _manifest(src, disc=170.0, contrast="fat-bright gradient echo", fat=30.0, csf=230.0)
    manifest = generate_hybrid_cohort(tmp_path / "out", src / "manifest.csv", per_scan=1, progress=False)
    df = pd.read_csv(manifest)
    assert len(df) == 1
    assert df.loc[0, "real_sequence"] == "FS"
    assert "used as FS" in df.loc[0, "real_sequence_note"]
    for col in ("t1", "t2", "fs"):
        assert (manifest.parent / df.loc[0, col]).is_file()
