"""`modic segment | extract | analyze` on phantom cases written to disk, and their bad-input contract."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import SimpleITK as sitk
import yaml

from modic.cli import main
from modic.phantom import generate_cohort
from modic.segment import dice

SMALL_PARAMS = {"imageType": {"Original": {}}, "featureClass": {"shape": None, "firstorder": None},
                "setting": {"binWidth": 50, "label": 1}}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    manifest = generate_cohort(root / "cohort", counts=(1, 1, 1), with_scores=0, seed=3, progress=False)
    params = root / "small.yaml"
    params.write_text(yaml.safe_dump(SMALL_PARAMS))
    return root, pd.read_csv(manifest), params


def _images(root, row):
    base = root / "cohort"
    return ["--t1", str(base / row.t1), "--t2", str(base / row.t2), "--fs", str(base / row.fs)]


def test_segment_from_a_click_writes_a_mask_per_grid(cohort, tmp_path):
    root, df, _ = cohort
    row = df.iloc[0]
    rc = main(["segment", *_images(root, row), f"--seed-lps={row.seed_lps}", "--anatomy", "none",
               "--out", str(tmp_path / "seg")])
    assert rc == 0
    info = json.loads((tmp_path / "seg" / "segmentation.json").read_text())
    assert info["working_sequence"] == "T2"
    assert info["anatomy"]["constrained_by"] == "none"
    assert info["merge_distance"] == 2.0 and info["sclerotic_refinement"] is True
    for seq in ("t1", "t2", "fs"):
        got = sitk.ReadImage(str(tmp_path / "seg" / f"mask_{seq}.nrrd"))
        truth = sitk.ReadImage(str(root / "cohort" / row[f"mask_{seq}"]))
        assert got.GetSize() == truth.GetSize()
        assert dice(got, truth) > 0.75


def test_segment_with_an_anatomy_label_map_and_the_imported_mask_check(cohort, tmp_path, capsys):
    from modic.phantom.anatomy import spine_from_phantom_anatomy

    root, df, _ = cohort
    row = df.iloc[2]                                                  # the type III case
    spine = spine_from_phantom_anatomy(sitk.ReadImage(str(root / "cohort" / row.anatomy)))
    labels = tmp_path / "spine_labels.nrrd"
    sitk.WriteImage(spine.labels, str(labels))
    rc = main(["segment", *_images(root, row), f"--seed-lps={row.seed_lps}", "--anatomy", str(labels),
               "--out", str(tmp_path / "seg")])
    assert rc == 0
    info = json.loads((tmp_path / "seg" / "segmentation.json").read_text())
    assert info["method_version"] == 5 and info["anatomy"]["constrained_by"] == "spine"
    assert info["anatomy"]["body"] in row.level and "anatomy from" in info["anatomy"]["note"]
    got = sitk.ReadImage(str(tmp_path / "seg" / "mask_t1.nrrd"))
    assert dice(got, sitk.ReadImage(str(root / "cohort" / row.mask_t1))) > 0.8
    disc = sitk.GetArrayFromImage(spine.labels) >= 70
    assert not (disc & (sitk.GetArrayFromImage(got) > 0)).any()
    # a disc imported as the "lesion" is flagged (the mask is still written: a warning, not an error)
    wrong = tmp_path / "disc.nrrd"
    img = sitk.GetImageFromArray(disc.astype("uint8"))
    img.CopyInformation(spine.labels)
    sitk.WriteImage(img, str(wrong))
    capsys.readouterr()
    rc = main(["segment", *_images(root, row), "--mask", str(wrong), "--anatomy", str(labels),
               "--out", str(tmp_path / "imp")])
    assert rc == 0
    assert "lies in a vertebral body (100% in a disc)" in capsys.readouterr().err
    info = json.loads((tmp_path / "imp" / "segmentation.json").read_text())
    assert info["anatomy"]["warning"].startswith("only 0% of the lesion mask")


def test_segment_tuning_options_reach_the_segmentation(cohort, tmp_path):
    root, df, _ = cohort
    row = df.iloc[0]
    rc = main(["segment", *_images(root, row), f"--seed-lps={row.seed_lps}", "--merge-distance", "0",
               "--no-sclerotic-refinement", "--anatomy", "none", "--out", str(tmp_path / "seg")])
    assert rc == 0
    info = json.loads((tmp_path / "seg" / "segmentation.json").read_text())
    assert info["merge_distance"] == 0.0 and info["sclerotic_refinement"] is False
    assert info["sclerotic_voxels_removed"] is None


def test_extract_one_case_matches_column_naming(cohort, tmp_path):
    root, df, params = cohort
    row = df.iloc[1]
    masks = ["--mask-t1", str(root / "cohort" / row.mask_t1), "--mask-t2", str(root / "cohort" / row.mask_t2),
             "--mask-fs", str(root / "cohort" / row.mask_fs)]
    out = tmp_path / "f.csv"
    rc = main(["extract", *_images(root, row), *masks, "--params", str(params), "--case-id", row.case_id,
               "--normalization", "zscore-reference", f"--reference-lps={row.reference_lps}", "--out", str(out)])
    assert rc == 0
    table = pd.read_csv(out)
    assert list(table["case_id"]) == [row.case_id]
    assert {"T1_original_shape_Sphericity", "FS_original_firstorder_Mean",
            "T2_original_shape_MajorLeastAxisRatio"} <= set(table.columns)
    assert len(table.columns) == 1 + 3 * (14 + 18 + 1)
    diag = json.loads(out.with_name("f.csv.diagnostics.json").read_text())
    assert diag["normalization"]["method"] == "zscore-reference"


def test_analyze_end_to_end_json(cohort, tmp_path):
    root, df, params = cohort
    row = df.iloc[2]
    rc = main(["analyze", *_images(root, row), f"--seed-lps={row.seed_lps}", f"--reference-lps={row.reference_lps}",
               "--params", str(params), "--no-model", "--out", str(tmp_path / "a")])
    assert rc == 0
    result = json.loads((tmp_path / "a" / "result.json").read_text())
    assert result["signal_pattern"]["modic_code"] == row.modic_type
    assert result["n_features"] == 3 * 33
    assert result["provenance"]["params_sha256"]
    assert (tmp_path / "a" / "features.csv").is_file()


@pytest.mark.parametrize("args, message", [
    (["analyze", "--t1", "/no/such.nrrd", "--seed-lps", "1;2;3"], "not found"),
    (["segment", "--t2", "{t2}", "--seed-lps", "1;2"], "three numbers"),
    (["segment", "--t2", "{t2}", "--seed-lps=5000;0;0"], "outside the image"),
    (["segment", "--t2", "{t2}", "--seed-lps=1;2;3", "--merge-distance=-1"], "--merge-distance must be ≥ 0"),
    (["extract", "--t2", "{t2}", "--mask", "{t2}", "--label", "7"], "no voxel with label 7"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(cohort, tmp_path, capsys, args, message):
    root, df, _ = cohort
    t2 = str(root / "cohort" / df.iloc[0].t2)
    out = tmp_path / "out"
    rc = main([a.format(t2=t2) for a in args] + ["--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and message in err
    assert not out.exists()


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for name in ("phantom", "segment", "extract", "classify", "analyze", "stats", "odi", "demo"):
        assert name in text
