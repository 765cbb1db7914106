"""The bad-input battery through the Python API: a one-line `ModicInputError` (a ValueError), nothing written,
the user's files intact — the same messages as the command line."""

from __future__ import annotations

import pytest
import SimpleITK as sitk

from modic.errors import ModicInputError


def _images(project, *names):
    return {n.upper(): sitk.ReadImage(str(project / f"{n}.nrrd")) for n in names}


def _analyze_nan(project, work, user):
    from modic.pipeline import analyze_case

    images = {"T2": sitk.ReadImage(str(project / "nan.nrrd"))}
    analyze_case(images, seed_lps=(12.5, -30.0, -75.0))


def _analyze_constant(project, work, user):
    from modic.pipeline import analyze_case

    analyze_case({"T2": sitk.ReadImage(str(project / "const.nrrd"))}, seed_lps=(12.5, -30.0, -75.0))


def _analyze_far_mask(project, work, user):
    from modic.pipeline import analyze_case

    far = sitk.ReadImage(str(project / "far_mask.nrrd"))
    analyze_case(_images(project, "t2"), masks={"T2": far}, params=str(project / "small.yaml"))


def _extract_one_voxel(project, work, user):
    from modic.features import extract_case

    extract_case(_images(project, "t2"), {"T2": sitk.ReadImage(str(project / "onevox_mask.nrrd"))},
                 params=str(project / "small.yaml"))


def _params_schema(project, work, user):
    from modic.features import load_params

    load_params(project / "schema.yaml")


def _cohort_header_only(project, work, user):
    from modic.batch import run_cohort

    run_cohort(project / "header_only.csv", work / "f.csv", jobs=1, show_progress=False)


def _cohort_into_user_file(project, work, user):
    from modic.batch import run_cohort

    run_cohort(project / "manifest.csv", user / "data.csv", jobs=1, show_progress=False)


def _stats_small(project, work, user):
    from modic.stats.report import run_stats

    run_stats(project / "small_cohort_features.csv", project / "small_cohort_manifest.csv", work / "r")


def _stats_user_folder(project, work, user):
    from modic.stats.report import run_stats

    run_stats(project / "stats_features.csv", project / "stats_manifest.csv", user)


def _stats_dot(project, work, user):
    from modic.stats.report import run_stats

    run_stats(project / "stats_features.csv", project / "stats_manifest.csv", ".")


def _phantom_user_folder(project, work, user):
    from modic.phantom import generate_cohort

    generate_cohort(user, n_cases=1, progress=False)


def _load_pickle(project, work, user):
    from modic.model_io import load_model

    load_model(project / "model_pickle.skops")


def _load_tampered(project, work, user):
    from modic.model_io import load_model

    load_model(project / "tampered.skops")


def _odi_into_items(project, work, user):
    from modic.stats.odi import score_file

    score_file(project / "odi.csv", project / "odi.csv")


def _atomic_directory_user_folder(project, work, user):
    from modic.io import atomic_directory

    with atomic_directory(user, command="test") as tmp:
        (tmp / "data.csv").write_text("replaced!")


def _read_manifest_binary(project, work, user):
    from modic.manifest import read_manifest

    read_manifest(project / "binary.csv")


def _parse_spine_list(project, work, user):
    from modic.spine import parse_spine

    parse_spine([sitk.ReadImage(str(project / "t2.nrrd"))])


def _parse_spine_empty(project, work, user):
    from modic.spine import parse_spine

    parse_spine({})


def _parse_spine_path(project, work, user):
    from modic.spine import parse_spine

    parse_spine({"T2": str(project / "t2.nrrd")})


def _parse_spine_label_map(project, work, user):
    from modic.spine import parse_spine

    parse_spine({"T2": sitk.ReadImage(str(project / "mask.nrrd"))})


def _manifest_case_label_map(project, work, user):
    import pandas as pd

    from modic.manifest import load_case_images

    load_case_images(pd.Series({"case_id": "a", "t2": str(project / "mask.nrrd")}))


def _detect_unknown_key(project, work, user):
    from modic.detect import detect_lesions

    detect_lesions({"GRE": sitk.ReadImage(str(project / "t1.nrrd")), **_images(project, "t2")})


def _detect_single_image(project, work, user):
    from modic.detect import detect_lesions

    detect_lesions(sitk.ReadImage(str(project / "t2.nrrd")))


def _detect_spine_not_anatomy(project, work, user):
    from modic.detect import detect_lesions

    detect_lesions(_images(project, "t1", "t2"), spine="spine_labels.nrrd")


def _detect_spine_lesion_mask(project, work, user):
    from modic.detect import detect_lesions

    detect_lesions(_images(project, "t1", "t2"), spine=sitk.ReadImage(str(project / "mask.nrrd")))


def _segment_two_coordinates(project, work, user):
    from modic.segment import segment_lesion

    segment_lesion(_images(project, "t2"), (12.5, -30.0))


API_CASES = [
    ("analyze_case-nan-image", _analyze_nan, "no finite value"),
    ("analyze_case-constant-image", _analyze_constant, "constant"),
    ("analyze_case-mask-elsewhere", _analyze_far_mask, "does not overlap"),
    ("extract_case-one-voxel", _extract_one_voxel, "single voxel"),
    ("load_params-schema", _params_schema, "binWidth must be of type float"),
    ("run_cohort-header-only", _cohort_header_only, "no rows"),
    ("run_cohort-user-file", _cohort_into_user_file, "was not written by modic"),
    ("run_stats-too-small", _stats_small, "need ≥ 3"),
    ("run_stats-user-folder", _stats_user_folder, "holds files modic did not write"),
    ("run_stats-current-folder", _stats_dot, "current folder"),
    ("generate_cohort-user-folder", _phantom_user_folder, "holds files modic did not write"),
    ("load_model-pickle", _load_pickle, "never loads pickles"),
    ("load_model-tampered", _load_tampered, "untrusted type"),
    ("score_file-into-its-input", _odi_into_items, "is also an input"),
    ("atomic_directory-user-folder", _atomic_directory_user_folder, "holds files modic did not write"),
    ("read_manifest-binary", _read_manifest_binary, "binary content"),
    ("parse_spine-list", _parse_spine_list, "must be a dict of sequence name"),
    ("parse_spine-empty", _parse_spine_empty, "no image given"),
    ("parse_spine-path-not-image", _parse_spine_path, "image T2 is not an image (str)"),
    ("parse_spine-label-map", _parse_spine_label_map, "image T2 looks like a label map"),
    ("manifest-case-label-map", _manifest_case_label_map, "mask.nrrd looks like a label map"),
    ("detect_lesions-unknown-sequence", _detect_unknown_key, "'GRE' names no sequence"),
    ("detect_lesions-single-image", _detect_single_image, "must be a dict of sequence name"),
    ("detect_lesions-spine-path", _detect_spine_not_anatomy, "spine must be a modic.spine.Spine"),
    ("detect_lesions-spine-lesion-mask", _detect_spine_lesion_mask, "not one `modic spine` writes"),
    ("segment_lesion-two-coordinates", _segment_two_coordinates, "not three finite numbers"),
]


@pytest.mark.parametrize("call, expect", [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_api_bad_input(call, expect, project, guard, user_folder):
    with pytest.raises(ValueError) as err:
        call(project, guard, user_folder)
    assert isinstance(err.value, ModicInputError)
    text = str(err.value)
    assert "\n" not in text and len(text) <= 380 and expect.lower() in text.lower(), text


def test_segment_lesion_refuses_a_constant_image_in_one_line():
    """The core API itself (not only the CLI) refuses NaN / constant images before scikit-learn sees them."""
    import numpy as np
    import pytest
    import SimpleITK as sitk

    from modic.errors import ModicInputError
    from modic.segment import segment_lesion

    flat = sitk.GetImageFromArray(np.full((8, 32, 32), 7.0, np.float32))
    nan = sitk.GetImageFromArray(np.full((8, 32, 32), np.nan, np.float32))
    for image in (flat, nan):
        with pytest.raises(ModicInputError) as err:
            segment_lesion({"T2": image}, (10.0, 10.0, 3.0))
        assert "\n" not in str(err.value) and "T2 image" in str(err.value)
