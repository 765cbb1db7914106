"""The bad-input battery over the command line: every case must end with exit 2, one short line on stderr,
no traceback, nothing written or removed anywhere, the user's files intact and no pickle executed.

{P} is the user's project folder (inputs), {S} an existing folder of the user's own files, {W} the current
folder (empty), {H} the home folder. Commands run in-process (`modic.cli.main`)."""

from __future__ import annotations

import pytest
from battery import assert_one_line_error, run_cli

IMG = ["--t1", "{P}/t1.nrrd", "--t2", "{P}/t2.nrrd", "--fs", "{P}/fs.nrrd"]
T2 = ["--t2", "{P}/t2.nrrd"]
SEED = "--seed-lps=12.5;-30;-75"
EX = ["extract", *T2, "--params", "{P}/small.yaml"]
MAN = ["extract", "--manifest"]
ST = ["stats", "--features", "{P}/stats_features.csv", "--manifest", "{P}/stats_manifest.csv"]

CASES = [
    # --- files: missing, corrupt, truncated, empty, not 3D, NaN, constant
    ("segment-missing-image", ["segment", "--t2", "{P}/nope.nrrd", SEED, "--out", "{W}/seg"], "not found"),
    ("segment-corrupt-image", ["segment", "--t2", "{P}/corrupt.nrrd", SEED, "--out", "{W}/seg"], "cannot read"),
    ("segment-truncated-image", ["segment", "--t2", "{P}/truncated.nrrd", SEED, "--out", "{W}/seg"], "cannot read"),
    ("segment-empty-file", ["segment", "--t2", "{P}/empty.nrrd", SEED, "--out", "{W}/seg"], "cannot read"),
    ("segment-2d-image", ["segment", "--t2", "{P}/flat2d.nrrd", SEED, "--out", "{W}/seg"], "2D"),
    ("segment-nan-image", ["segment", "--t2", "{P}/nan.nrrd", SEED, "--out", "{W}/seg"], "no finite value"),
    ("segment-some-nan", ["segment", "--t1", "{P}/somenan.nrrd", *T2, SEED, "--out", "{W}/seg"], "NaN"),
    ("segment-constant-image", ["segment", "--t2", "{P}/const.nrrd", SEED, "--out", "{W}/seg"], "constant"),
    ("extract-label-map-as-image", ["extract", "--t2", "{P}/mask.nrrd", "--mask", "{P}/mask.nrrd", "--params",
                                    "{P}/small.yaml", "--out", "{W}/f.csv"], "mask.nrrd looks like a label map"),
    ("analyze-nan-image", ["analyze", "--t2", "{P}/nan.nrrd", SEED, "--out", "{W}/case"], "no finite value"),
    ("spine-nan-image", ["spine", "--image", "{P}/nan.nrrd", "--out", "{W}/sp"], "nan.nrrd has no finite value"),
    ("spine-some-nan", ["spine", "--image", "{P}/somenan.nrrd", "--out", "{W}/sp"], "NaN"),
    ("spine-constant-image", ["spine", "--image", "{P}/const.nrrd", "--out", "{W}/sp"], "const.nrrd is constant"),
    ("spine-2d-image", ["spine", "--image", "{P}/flat2d.nrrd", "--out", "{W}/sp"], "flat2d.nrrd is 2D"),
    ("spine-label-map-as-image", ["spine", "--image", "{P}/mask.nrrd", "--out", "{W}/sp"],
     "mask.nrrd looks like a label map"),
    ("spine-huge-spacing", ["spine", "--image", "{P}/huge_spacing.nrrd", "--out", "{W}/sp"],
     "huge_spacing.nrrd has voxel spacing 70 × 70 × 350 mm"),
    ("spine-sheared-direction", ["spine", "--image", "{P}/sheared.nrrd", "--out", "{W}/sp"], "not orthonormal"),
    ("segment-sheared-direction", ["segment", "--t2", "{P}/sheared.nrrd", SEED, "--out", "{W}/seg"],
     "sheared.nrrd has a direction matrix that is not orthonormal"),
    ("detect-huge-spacing-fs", ["detect", *T2, "--fs", "{P}/huge_spacing.nrrd", "--out", "{W}/det"],
     "not an MR scan's geometry"),
    ("detect-one-sequence", ["detect", *T2, "--out", "{W}/det"], "two or more"),
    ("detect-label-map-as-t1", ["detect", "--t1", "{P}/mask.nrrd", *T2, "--out", "{W}/det"], "looks like a label map"),
    ("detect-nan-image", ["detect", "--t1", "{P}/nan.nrrd", *T2, "--out", "{W}/det"], "no finite value"),
    ("detect-spine-grey-image", ["detect", *IMG, "--spine", "{P}/t2.nrrd", "--out", "{W}/det"],
     "non-integer values"),
    ("detect-spine-lesion-mask", ["detect", *IMG, "--spine", "{P}/mask.nrrd", "--out", "{W}/det"],
     "not a spine label map"),
    ("segment-t1-given-twice", ["segment", "--t1", "{P}/t1.nrrd", "--t1", "{P}/t2.nrrd", SEED, "--out", "{W}/seg"],
     "--t1 given twice"),
    ("detect-same-file-twice", ["detect", "--t1", "{P}/t2.nrrd", *T2, "--out", "{W}/det"],
     "--t1 and --t2 name the same image"),
    ("phantom-more-cases-than-disk", ["phantom", "--cases", "100000000000", "--out", "{W}/ph", "--no-progress"],
     "cases need about"),
    # --- masks: far away, empty, one voxel, absent label
    ("segment-mask-elsewhere", ["segment", *IMG, "--mask", "{P}/far_mask.nrrd", "--out", "{W}/seg"],
     "does not overlap"),
    ("extract-mask-elsewhere", [*EX, "--mask", "{P}/far_mask.nrrd", "--out", "{W}/f.csv"], "far_mask.nrrd"),
    ("extract-empty-mask", [*EX, "--mask", "{P}/empty_mask.nrrd", "--out", "{W}/f.csv"], "no voxel with label"),
    ("segment-one-voxel-mask", ["segment", *T2, "--mask", "{P}/onevox_mask.nrrd", "--out", "{W}/seg"],
     "single voxel"),
    ("extract-absent-label", [*EX, "--mask", "{P}/label2_mask.nrrd", "--out", "{W}/f.csv"], "labels present: [2]"),
    # --- seeds and points
    ("segment-malformed-seed", ["segment", *T2, "--seed-lps=1;2", "--out", "{W}/seg"], "seed"),
    ("segment-text-seed", ["segment", *T2, "--seed-lps=a;b;c", "--out", "{W}/seg"], "seed"),
    ("segment-seed-outside", ["segment", *T2, "--seed-lps=900;900;900", "--out", "{W}/seg"], "outside"),
    ("segment-no-seed", ["segment", *T2, "--out", "{W}/seg"], "--seed-lps"),
    ("segment-spine-not-labels", ["segment", *T2, SEED, "--anatomy", "{P}/mask.nrrd", "--out", "{W}/seg"],
     "not a spine label map"),
    ("analyze-bad-roi", ["analyze", *T2, SEED, "--roi-lps=1;2;3", "--out", "{W}/case"], "--roi-lps"),
    # --- parameter files
    ("extract-yaml-syntax", ["extract", *T2, "--mask", "{P}/mask.nrrd", "--params", "{P}/syntax.yaml",
                             "--out", "{W}/f.csv"], "cannot parse parameter file"),
    ("extract-schema-type", ["extract", *T2, "--mask", "{P}/mask.nrrd", "--params", "{P}/schema.yaml",
                             "--out", "{W}/f.csv"], "binWidth must be of type float"),
    ("extract-schema-unknown", ["extract", *T2, "--mask", "{P}/mask.nrrd", "--params", "{P}/unknown.yaml",
                                "--out", "{W}/f.csv"], "did you mean binWidth"),
    ("analyze-params-not-mapping", ["analyze", *T2, "--mask", "{P}/mask.nrrd", "--params", "{P}/list.yaml",
                                    "--out", "{W}/case"], "YAML mapping"),
    ("demo-bad-params", ["demo", "--out", "{W}/demo", "--params", "{P}/schema.yaml"], "binWidth"),
    # --- manifests
    ("manifest-header-only", [*MAN, "{P}/header_only.csv", "--out", "{W}/f.csv"], "no rows"),
    ("manifest-duplicate-ids", [*MAN, "{P}/dup_ids.csv", "--out", "{W}/f.csv"], "duplicate case_id a"),
    ("manifest-no-case-id", [*MAN, "{P}/no_case_id.csv", "--out", "{W}/f.csv"], "case_id"),
    ("manifest-no-image-column", [*MAN, "{P}/no_images.csv", "--out", "{W}/f.csv"], "no image column"),
    ("manifest-no-mask-column", [*MAN, "{P}/no_masks.csv", "--out", "{W}/f.csv"], "no mask column"),
    ("manifest-binary", [*MAN, "{P}/binary.csv", "--out", "{W}/f.csv"], "binary content"),
    ("manifest-zip", [*MAN, "{P}/zip.csv", "--out", "{W}/f.csv"], "binary content"),
    ("manifest-empty-file", [*MAN, "{P}/empty.csv", "--out", "{W}/f.csv"], "is empty"),
    ("manifest-missing", [*MAN, "{P}/nope.csv", "--out", "{W}/f.csv"], "not found"),
    # --- statistics
    ("stats-no-types", ["stats", "--features", "{P}/stats_features.csv", "--manifest",
                        "{P}/no_types_manifest.csv", "--out", "{W}/r"], "modic_type' is empty"),
    ("stats-no-type-column", ["stats", "--features", "{P}/stats_features.csv", "--manifest",
                              "{P}/no_type_column_manifest.csv", "--out", "{W}/r"], "no 'modic_type' column"),
    ("stats-invalid-types", ["stats", "--features", "{P}/stats_features.csv", "--manifest",
                             "{P}/invalid_types_manifest.csv", "--out", "{W}/r"], "must be 1, 2 or 3"),
    ("stats-no-common-ids", ["stats", "--features", "{P}/stats_features.csv", "--manifest",
                             "{P}/other_ids_manifest.csv", "--out", "{W}/r"], "no case_id in common"),
    ("stats-one-case-in-type", ["stats", "--features", "{P}/one_in_type_features.csv", "--manifest",
                                "{P}/one_in_type_manifest.csv", "--out", "{W}/r"], "type 3: 1; need ≥ 3"),
    ("stats-cohort-too-small", ["stats", "--features", "{P}/small_cohort_features.csv", "--manifest",
                                "{P}/small_cohort_manifest.csv", "--out", "{W}/r"], "need ≥ 3"),
    ("stats-non-numeric-feature", ["stats", "--features", "{P}/text_features.csv", "--manifest",
                                   "{P}/stats_manifest.csv", "--out", "{W}/r"], "non-numeric value 'high'"),
    ("stats-binary-features", ["stats", "--features", "{P}/binary.csv", "--manifest", "{P}/stats_manifest.csv",
                               "--out", "{W}/r"], "binary content"),
    ("stats-test-size", [*ST, "--test-size", "1.5", "--out", "{W}/r"], "test size"),
    # --- model files (never executed)
    ("classify-pickle", ["classify", "--features", "{P}/stats_features.csv", "--model", "{P}/model.pkl"],
     "never loads pickles"),
    ("classify-pickle-renamed", ["classify", "--features", "{P}/stats_features.csv", "--model",
                                 "{P}/model_pickle.skops"], "never loads pickles"),
    ("classify-tampered-types", ["classify", "--features", "{P}/stats_features.csv", "--model",
                                 "{P}/tampered.skops"], "untrusted type"),
    ("classify-tampered-metadata", ["classify", "--features", "{P}/stats_features.csv", "--model",
                                    "{P}/bad_meta.skops"], "damaged or was edited"),
    ("classify-truncated-model", ["classify", "--features", "{P}/stats_features.csv", "--model",
                                  "{P}/truncated.skops"], "cannot read model file"),
    ("classify-wrong-features", ["classify", "--features", "{P}/stats_features.csv", "--model",
                                 "{P}/model.skops"], "lacks"),
    ("analyze-pickle-model", ["analyze", *T2, "--mask", "{P}/mask.nrrd", "--model", "{P}/model.pkl",
                              "--out", "{W}/case"], "never loads pickles"),
    # --- ODI questionnaires
    ("odi-out-of-range", ["odi", "--items", "{P}/odi_range.csv", "--out", "{W}/o.csv"], "item 3"),
    ("odi-non-numeric", ["odi", "--items", "{P}/odi_text.csv", "--out", "{W}/o.csv"], "'a lot'"),
    ("odi-fraction", ["odi", "--items", "{P}/odi_fraction.csv", "--out", "{W}/o.csv"], "whole numbers"),
    ("odi-missing-item", ["odi", "--items", "{P}/odi_missing_item.csv", "--out", "{W}/o.csv"], "odi_10"),
    ("odi-header-only", ["odi", "--items", "{P}/odi_header_only.csv", "--out", "{W}/o.csv"], "no rows"),
    # --- phantom and demo arguments
    ("phantom-bad-counts", ["phantom", "--out", "{W}/c", "--counts", "1,x,3", "--no-progress"], "--counts"),
    ("phantom-zero-cases", ["phantom", "--out", "{W}/c", "--cases", "0", "--no-progress"], "--cases"),
    ("phantom-bad-format", ["phantom", "--out", "{W}/c", "--format", "png"], "invalid choice"),
    ("phantom-background-binary", ["phantom", "--background", "{P}/t2.nrrd", "--out", "{W}/c", "--no-progress"],
     "binary content"),
    ("phantom-background-missing", ["phantom", "--background", "{P}/nope.csv", "--out", "{W}/c", "--no-progress"],
     "file not found"),
    ("demo-too-few-cases", ["demo", "--out", "{W}/d", "--cases", "5"], "at least 24"),
    # --- every --out hazard
    ("out-dot-stats", [*ST, "--out", "."], "current folder"),
    ("out-dotdot-segment", ["segment", *T2, SEED, "--out", ".."], "above"),
    ("out-root-phantom", ["phantom", "--out", "/", "--cases", "1", "--no-progress"], "root"),
    ("out-home-analyze", ["analyze", *T2, SEED, "--out", "~"], "home folder"),
    ("out-home-abs-demo", ["demo", "--out", "{H}"], "home folder"),
    ("out-is-a-file-segment", ["segment", *T2, SEED, "--out", "{S}/data.csv"], "is a file"),
    ("out-is-a-folder-extract", [*EX, "--mask", "{P}/mask.nrrd", "--out", "{S}"], "is a folder"),
    ("out-is-a-folder-odi", ["odi", "--items", "{P}/odi.csv", "--out", "{S}"], "is a folder"),
    ("out-unwritable", ["phantom", "--out", "{S}/data.csv/cohort", "--cases", "1", "--no-progress"],
     "cannot be created"),
    ("out-is-input-extract", [*EX, "--mask", "{P}/mask.nrrd", "--out", "{P}/t2.nrrd"], "is also an input"),
    ("out-is-input-odi", ["odi", "--items", "{P}/odi.csv", "--out", "{P}/odi.csv"], "is also an input"),
    ("out-is-input-classify", ["classify", "--features", "{P}/stats_features.csv", "--model", "{P}/model.skops",
                               "--out", "{P}/stats_features.csv"], "is also an input"),
    ("out-is-manifest", [*MAN, "{P}/manifest.csv", "--out", "{P}/manifest.csv"], "is also an input"),
    ("out-is-manifest-image", [*MAN, "{P}/manifest.csv", "--out", "{P}/t2.nrrd"], "is also an input"),
    ("out-contains-input", ["segment", *T2, SEED, "--out", "{P}"], "contains the input"),
    ("out-user-folder-segment", ["segment", *T2, "--mask", "{P}/mask.nrrd", "--out", "{S}"],
     "holds files modic did not write"),
    ("out-user-folder-stats", [*ST, "--out", "{S}"], "holds files modic did not write"),
    ("out-user-folder-phantom", ["phantom", "--out", "{S}", "--cases", "1", "--no-progress"],
     "holds files modic did not write"),
    ("out-user-folder-demo", ["demo", "--out", "{S}"], "holds files modic did not write"),
    ("out-user-file-extract", [*EX, "--mask", "{P}/mask.nrrd", "--out", "{S}/data.csv"],
     "was not written by modic"),
    ("out-user-file-odi", ["odi", "--items", "{P}/odi.csv", "--out", "{S}/data.csv"], "was not written by modic"),
    ("out-user-file-manifest", [*MAN, "{P}/manifest.csv", "--out", "{S}/data.csv"], "was not written by modic"),
]


@pytest.mark.parametrize("argv, expect", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(argv, expect, project, guard, user_folder, capsys):
    home = guard.parent / "home"
    args = [a.replace("{P}", str(project)).replace("{W}", str(guard)).replace("{S}", str(user_folder))
            .replace("{H}", str(home)) for a in argv]
    rc, err = run_cli(args, capsys)
    assert_one_line_error(rc, err, args[0], expect)


def test_battery_size():
    commands = {c[1][0] for c in CASES}
    assert len(CASES) >= 40
    assert {"segment", "extract", "analyze", "stats", "classify", "odi", "phantom", "demo"} <= commands
