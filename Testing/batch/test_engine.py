"""Cohort engine: table layout, resume from cache, cache invalidation, progress callback and cancel,
error isolation, exit codes, parallel paths (process pool, Dask LocalCluster) identical to serial."""

from __future__ import annotations

import json
from functools import partial

import pandas as pd
import pytest
import SimpleITK as sitk
from batchdata import make_case, read_table
from helpers import run_cli

from modic.batch import CaseCache, output_paths
from modic.batch import run_cohort as _run_cohort
from modic.errors import ModicInputError
from modic.features import extract_case
from modic.manifest import load_case_images, load_case_masks, read_manifest

# raw intensities, so values equal extract_case / PyRadiomics; the default normalisation is tested below
run_cohort = partial(_run_cohort, normalization="none")


def test_serial_table_matches_extract_case(cohort_template, serial_table):
    assert list(serial_table["case_id"]) == [f"c{i:02d}" for i in range(6)]
    assert serial_table.columns[0] == "case_id"
    assert serial_table["case_id"].is_unique
    df = read_manifest(cohort_template / "manifest.csv")
    row = df.iloc[3]
    images = load_case_images(row)
    feats = extract_case(images, load_case_masks(row, images), params=str(cohort_template / "small.yaml"),
                         case_id=row["case_id"])
    got = serial_table.set_index("case_id").loc[row["case_id"]]
    assert list(got.index) == list(feats.values)
    assert all(got[k] == v for k, v in feats.values.items())  # exact, through CSV
    assert not any(c.startswith("diagnostics") or "_diagnostics_" in c for c in serial_table.columns)


def test_outputs_and_resume(cohort):
    out = cohort / "out" / "features.csv"
    paths = output_paths(out)
    first = run_cohort(cohort / "manifest.csv", out, params=cohort / "small.yaml", jobs=1,
                       show_progress=False)
    assert (first.exit_code, first.n_ok, first.n_computed, first.n_cached) == (0, 6, 6, 0)
    assert pd.read_csv(paths["errors"]).empty
    diag = pd.read_csv(paths["diagnostics"], dtype={"case_id": str})
    assert len(diag) == 6 and {"cache_key", "sha256_t1", "sha256_mask", "T2_diagnostics_Versions_PyRadiomics"} \
        <= set(diag.columns)
    info = json.loads(paths["diagnostics_json"].read_text())
    assert info["n_ok"] == 6 and len(info["params_hash"]) == 64 and "radiomics" in info["versions"]
    assert len(CaseCache(paths["cache"]).entries()) == 6
    table = read_table(out)

    messages = []
    second = run_cohort(cohort / "manifest.csv", out, params=cohort / "small.yaml", jobs=1,
                        progress=lambda d, t, m: messages.append(m))
    assert (second.exit_code, second.n_cached, second.n_computed) == (0, 6, 0)
    assert "6 of 6 cases already done" in messages[0]
    pd.testing.assert_frame_equal(read_table(out), table, check_exact=True)


def test_cache_invalidation(cohort):
    out = cohort / "features.csv"
    manifest = cohort / "manifest.csv"
    run_cohort(manifest, out, params=cohort / "small.yaml", jobs=1, show_progress=False)
    before = read_table(out).set_index("case_id")

    changed = cohort / "changed.yaml"
    changed.write_text((cohort / "small.yaml").read_text().replace("binWidth: 25", "binWidth: 10"))
    res = run_cohort(manifest, out, params=changed, jobs=1, show_progress=False)
    assert (res.n_cached, res.n_computed) == (0, 6)
    res = run_cohort(manifest, out, params=changed, jobs=1, show_progress=False)
    assert (res.n_cached, res.n_computed) == (6, 0)

    res = run_cohort(manifest, out, params=cohort / "small.yaml", jobs=1, show_progress=False)
    assert (res.n_cached, res.n_computed) == (0, 6)  # the old entries were overwritten
    t1 = cohort / "c02" / "t1.nrrd"
    sitk.WriteImage(sitk.ReadImage(str(t1)) * 1.5, str(t1), True)
    res = run_cohort(manifest, out, params=cohort / "small.yaml", jobs=1, show_progress=False)
    assert (res.n_cached, res.n_computed) == (5, 1)
    after = read_table(out).set_index("case_id")
    assert after.loc["c02", "T1_original_firstorder_Mean"] != before.loc["c02", "T1_original_firstorder_Mean"]
    assert after.loc["c02", "T2_original_firstorder_Mean"] == before.loc["c02", "T2_original_firstorder_Mean"]
    pd.testing.assert_frame_equal(after.drop(index="c02"), before.drop(index="c02"), check_exact=True)

    res = run_cohort(manifest, out, params=cohort / "small.yaml", jobs=1, show_progress=False,
                     clear_cache=True)
    assert (res.n_cached, res.n_computed) == (0, 6)


def test_progress_callback_and_cancel(cohort, serial_table):
    out = cohort / "features.csv"
    calls: list[tuple[int, int]] = []

    def cancel_after_two(done: int, total: int, message: str) -> bool:
        calls.append((done, total))
        return done < 2

    res = run_cohort(cohort / "manifest.csv", out, params=cohort / "small.yaml", jobs=1,
                     progress=cancel_after_two)
    assert res.cancelled and res.exit_code == 3
    assert calls == [(1, 6), (2, 6)]
    assert not out.exists()
    assert len(CaseCache(output_paths(out)["cache"]).entries()) == 2

    calls.clear()
    res = run_cohort(cohort / "manifest.csv", out, params=cohort / "small.yaml", jobs=1,
                     progress=lambda d, t, m: calls.append((d, t)))
    assert (res.exit_code, res.n_cached, res.n_computed) == (0, 2, 4)
    assert [d for d, _ in calls] == [2, 3, 4, 5, 6] and {t for _, t in calls} == {6}
    pd.testing.assert_frame_equal(read_table(out), serial_table, check_exact=True)


def test_cancel_in_process_pool(cohort):
    out = cohort / "features.csv"
    res = run_cohort(cohort / "manifest.csv", out, params=cohort / "small.yaml", jobs=2,
                     progress=lambda d, t, m: d < 1)
    assert res.cancelled and not out.exists()
    assert 1 <= len(CaseCache(output_paths(out)["cache"]).entries()) < 6


def test_error_isolation(cohort, serial_table, capsys):
    manifest = pd.read_csv(cohort / "manifest.csv", dtype=str)
    bad = [make_case(cohort / "missing", "missing", 40), make_case(cohort / "empty", "empty", 41, empty_mask=True)]
    bad[0]["t1"], bad[1]["t1"] = "missing/t1.nrrd", "empty/t1.nrrd"
    (cohort / "missing" / "t1.nrrd").unlink()
    manifest = pd.concat([manifest.iloc[:3], pd.DataFrame(bad), manifest.iloc[3:]], ignore_index=True)
    manifest.to_csv(cohort / "manifest.csv", index=False)
    out = cohort / "features.csv"

    code = run_cli(["--manifest", str(cohort / "manifest.csv"), "--out", str(out), "--params",
                    str(cohort / "small.yaml"), "--jobs", "1", "--no-progress", "--normalization", "none"])
    assert code == 3
    assert "2 failed" in capsys.readouterr().err
    errors = pd.read_csv(output_paths(out)["errors"])
    assert list(errors["case_id"]) == ["missing", "empty"]
    assert list(errors["step"]) == ["load", "extract"]
    assert "not found" in errors["reason"][0] and "missing/t1.nrrd" in errors["reason"][0]
    assert "no voxel with label 1" in errors["reason"][1]
    assert all("\n" not in r for r in errors["reason"])
    pd.testing.assert_frame_equal(read_table(out), serial_table, check_exact=True)

    # fixing the input makes the next run compute only that case and exit 0 once all are fine
    make_case(cohort / "missing", "missing", 40)
    manifest = manifest[manifest["case_id"] != "empty"]
    manifest.to_csv(cohort / "manifest.csv", index=False)
    code = run_cli(["--manifest", str(cohort / "manifest.csv"), "--out", str(out), "--params",
                    str(cohort / "small.yaml"), "--jobs", "1", "--no-progress", "--normalization", "none"])
    assert code == 0
    assert pd.read_csv(output_paths(out)["errors"]).empty
    assert len(read_table(out)) == 7


def test_unusable_input_exit_2(tmp_path, cohort, capsys):
    out = tmp_path / "features.csv"
    assert run_cli(["--manifest", str(tmp_path / "nope.csv"), "--out", str(out), "--no-progress"]) == 2
    assert "manifest not found" in capsys.readouterr().err
    assert not out.exists()
    (tmp_path / "broken.csv").write_text("foo,bar\n1,2\n")
    assert run_cli(["--manifest", str(tmp_path / "broken.csv"), "--out", str(out), "--no-progress"]) == 2
    assert not out.exists()
    with pytest.raises(ModicInputError, match="seed_lps"):
        pd.read_csv(cohort / "manifest.csv").drop(columns="seed_lps").to_csv(tmp_path / "m.csv", index=False)
        run_cohort(tmp_path / "m.csv", out, segment=True)
    with pytest.raises(ModicInputError, match="jobs"):
        run_cohort(cohort / "manifest.csv", out, jobs=0)


def test_process_pool_identical_to_serial(cohort_template, serial_table, tmp_path):
    out = tmp_path / "features.csv"
    res = run_cohort(cohort_template / "manifest.csv", out, params=cohort_template / "small.yaml", jobs=2,
                     show_progress=False)
    assert res.exit_code == 0
    diag = pd.read_csv(output_paths(out)["diagnostics"])
    assert diag["pid"].nunique() == 2  # really two worker processes
    pd.testing.assert_frame_equal(read_table(out), serial_table, check_exact=True)


def test_dask_local_cluster_identical_to_serial(cohort_template, serial_table, tmp_path):
    out = tmp_path / "features.csv"
    res = run_cohort(cohort_template / "manifest.csv", out, params=cohort_template / "small.yaml", jobs=2,
                     scheduler="local", show_progress=False)
    assert res.exit_code == 0
    pd.testing.assert_frame_equal(read_table(out), serial_table, check_exact=True)


def test_crashing_worker_costs_only_its_case(cohort_template, serial_table, tmp_path):
    from helpers import crashing_extract

    out = tmp_path / "features.csv"
    res = run_cohort(cohort_template / "manifest.csv", out, params=cohort_template / "small.yaml", jobs=2,
                     show_progress=False, case_function=crashing_extract)
    assert res.exit_code == 3
    assert [(f.case_id, f.step) for f in res.failures] == [("c02", "extract")]
    assert "crashed" in res.failures[0].reason
    expected = serial_table[serial_table["case_id"] != "c02"].reset_index(drop=True)
    pd.testing.assert_frame_equal(read_table(out), expected, check_exact=True)


def test_segment_path(cohort, monkeypatch):
    """--segment: masks come from segment_lesion(images, seed_lps); its failures are step 'segment'."""
    import sys
    import types

    import numpy as np

    from modic.geometry import point_lps_to_index

    def fake_segment_lesion(images, seed_lps):
        masks = {}
        for seq, img in images.items():
            point_lps_to_index(img, seed_lps)  # raises ModicInputError outside the image
            idx = np.stack(np.meshgrid(*[np.arange(n) for n in img.GetSize()], indexing="ij"), -1)
            d = np.array(img.GetDirection()).reshape(3, 3)
            pts = (idx * np.array(img.GetSpacing())) @ d.T + np.array(img.GetOrigin())
            inside = (((pts - np.array(seed_lps)) / np.array([7.0, 6.0, 6.0])) ** 2).sum(-1) < 1
            m = sitk.GetImageFromArray(inside.transpose(2, 1, 0).astype(np.uint8))
            m.CopyInformation(img)
            masks[seq] = m
        return types.SimpleNamespace(masks=masks, info={"method": "fake sphere"})

    fake = types.SimpleNamespace(segment_lesion=fake_segment_lesion, METHOD_VERSION=1)
    monkeypatch.setitem(sys.modules, "modic.segment", fake)
    manifest = pd.read_csv(cohort / "manifest.csv", dtype=str).drop(columns="mask")
    manifest.loc[1, "seed_lps"] = "500;500;500"
    manifest.to_csv(cohort / "manifest.csv", index=False)
    out = cohort / "features.csv"
    res = run_cohort(cohort / "manifest.csv", out, params=cohort / "small.yaml", jobs=1, segment=True,
                     show_progress=False)
    assert res.exit_code == 3
    assert [(f.case_id, f.step) for f in res.failures] == [("c01", "segment")]
    assert "outside the image" in res.failures[0].reason
    assert len(read_table(out)) == 5
    diag = pd.read_csv(output_paths(out)["diagnostics"])
    assert diag["segmentation_method"][0] == "fake sphere"
    again = run_cohort(cohort / "manifest.csv", out, params=cohort / "small.yaml", jobs=1, segment=True,
                       show_progress=False)
    assert (again.n_cached, again.n_computed) == (5, 1)  # the failed case is retried
    fake.METHOD_VERSION = 2  # a new segmentation algorithm: no mask of the old one is reused
    newer = run_cohort(cohort / "manifest.csv", out, params=cohort / "small.yaml", jobs=1, segment=True,
                       show_progress=False)
    assert (newer.n_cached, newer.n_computed) == (0, 6)
    with pytest.raises(ModicInputError, match="no mask column"):
        run_cohort(cohort / "manifest.csv", out, params=cohort / "small.yaml", jobs=1, show_progress=False)


def test_default_normalization_matches_pipeline(cohort_template, tmp_path):
    """Without --normalization the batch normalises like `analyze_case`: with the user's own parameter file,
    not at all (PyRadiomics' own values; the file's `normalize` setting governs)."""
    from modic.pipeline import analyze_case

    out = tmp_path / "features.csv"
    res = _run_cohort(cohort_template / "manifest.csv", out, params=cohort_template / "small.yaml", jobs=1,
                      show_progress=False)
    assert res.exit_code == 0
    row = read_manifest(cohort_template / "manifest.csv").iloc[1]
    images = load_case_images(row)
    ref = analyze_case(images, masks=load_case_masks(row, images), params=str(cohort_template / "small.yaml"),
                       case_id=row["case_id"])
    got = read_table(out).set_index("case_id").loc[row["case_id"]]
    assert all(got[k] == v for k, v in ref.features.items())
    diag = pd.read_csv(output_paths(out)["diagnostics"])
    assert "normalization_method" not in diag.columns
    assert ref.normalization["method"] == "none"


def test_pool_workers_run_one_thread_each(cohort_template, tmp_path):
    from helpers import threads_probe

    out = tmp_path / "features.csv"
    res = run_cohort(cohort_template / "manifest.csv", out, jobs=2, show_progress=False,
                     case_function=threads_probe)
    assert res.exit_code == 0
    diag = pd.read_csv(output_paths(out)["diagnostics"])
    assert set(diag["blas_threads"]) == {1} and set(diag["itk_threads"]) == {1}


def test_pool_starts_the_largest_cases_first(tmp_path):
    """Longest-first scheduling: order by mask bytes (images when segmenting), stable for ties."""
    from modic.batch.engine import CaseTask, estimated_cost, longest_first

    def task(cid: str, mask_bytes: int, image_bytes: int, segment: bool = False) -> CaseTask:
        (tmp_path / f"{cid}_m.nrrd").write_bytes(b"m" * mask_bytes)
        (tmp_path / f"{cid}_i.nrrd").write_bytes(b"i" * image_bytes)
        row = {"case_id": cid, "t2": str(tmp_path / f"{cid}_i.nrrd"), "mask_t2": str(tmp_path / f"{cid}_m.nrrd")}
        return CaseTask(case_id=cid, row=row, params={}, key=None, segment=segment)

    tasks = [task("a", 10, 900), task("b", 300, 100), task("c", 10, 50), task("d", 120, 10)]
    assert [estimated_cost(t) for t in tasks] == [10, 300, 10, 120]
    assert [t.case_id for t in longest_first(tasks)] == ["b", "d", "a", "c"]
    segmenting = [task("e", 5, 20, segment=True), task("f", 500, 10, segment=True)]
    assert [t.case_id for t in longest_first(segmenting)] == ["e", "f"]  # masks are not used then
