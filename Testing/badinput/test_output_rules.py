"""The output rules (docs/OUTPUTS.md) when the answer is yes: re-running a command replaces its own outputs,
--overwrite replaces only modic's own unchanged files and never touches anything else, single files are
replaced only when modic wrote them, and a crash leaves nothing behind."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from battery import assert_one_line_error, run_cli, tree_hashes

from modic.errors import ModicInputError
from modic.outputs import RECORD_NAME, atomic_directory, inspect_folder


def _segment(project, out, *extra):
    return ["segment", "--t2", str(project / "t2.nrrd"), "--fs", str(project / "fs.nrrd"), "--mask",
            str(project / "mask.nrrd"), "--out", str(out), *extra]


def test_rerun_replaces_own_outputs_and_overwrite_spares_user_files(project, tmp_path, capsys):
    out = tmp_path / "seg"
    assert run_cli(_segment(project, out), capsys)[0] == 0
    record = json.loads((out / RECORD_NAME).read_text())
    assert record["command"] == "segment"
    assert set(record["files"]) == {"mask_t2.nrrd", "mask_fs.nrrd", "segmentation.json"}
    assert run_cli(_segment(project, out), capsys)[0] == 0  # the same command again: its own files
    (out / "my_notes.txt").write_text("mine")
    rc, err = run_cli(_segment(project, out), capsys)
    assert_one_line_error(rc, err, "segment", "holds files modic did not write (1: my_notes.txt)")
    before = (out / "mask_t2.nrrd").stat().st_mtime_ns
    assert run_cli(_segment(project, out, "--overwrite"), capsys)[0] == 0
    assert (out / "my_notes.txt").read_text() == "mine"
    assert (out / "mask_t2.nrrd").stat().st_mtime_ns != before
    assert inspect_folder(out).foreign == ["my_notes.txt"]


def test_a_changed_modic_file_is_the_users(project, tmp_path, capsys):
    out = tmp_path / "seg"
    assert run_cli(_segment(project, out), capsys)[0] == 0
    (out / "segmentation.json").write_text('{"edited": true}')
    snapshot = tree_hashes(out)
    rc, err = run_cli(_segment(project, out), capsys)
    assert_one_line_error(rc, err, "segment", "segmentation.json")
    rc, err = run_cli(_segment(project, out, "--overwrite"), capsys)  # would land on the user's edit
    assert_one_line_error(rc, err, "segment", "would be replaced but modic did not write it")
    assert tree_hashes(out) == snapshot and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_another_commands_outputs_need_overwrite(tmp_path):
    out = tmp_path / "o"
    with atomic_directory(out, command="phantom") as tmp:
        (tmp / "manifest.csv").write_text("x")
        (tmp / "cases").mkdir()
        (tmp / "cases" / "a.nrrd").write_text("a")
    with pytest.raises(ModicInputError, match="holds the outputs of `modic phantom`"):
        with atomic_directory(out, command="stats") as tmp:
            (tmp / "report.html").write_text("r")
    assert sorted(p.name for p in out.iterdir()) == [RECORD_NAME, "cases", "manifest.csv"]
    with atomic_directory(out, overwrite=True, command="stats") as tmp:
        (tmp / "report.html").write_text("r")
    assert sorted(p.name for p in out.iterdir()) == [RECORD_NAME, "report.html"]


def test_overwrite_merge_removes_only_old_modic_files(tmp_path):
    out = tmp_path / "o"
    with atomic_directory(out, command="x") as tmp:
        (tmp / "old.csv").write_text("old")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "keep_name.csv").write_text("v1")
    (out / "sub" / "user.txt").write_text("user")
    with atomic_directory(out, overwrite=True, command="x") as tmp:
        (tmp / "sub").mkdir()
        (tmp / "sub" / "keep_name.csv").write_text("v2")
    assert not (out / "old.csv").exists()
    assert (out / "sub" / "keep_name.csv").read_text() == "v2" and (out / "sub" / "user.txt").read_text() == "user"
    state = inspect_folder(out)
    assert state.owned == ["sub/keep_name.csv"] and state.foreign == ["sub/user.txt"]


def test_crash_leaves_nothing_and_creates_no_parents(tmp_path):
    out = tmp_path / "a" / "b" / "report"
    with pytest.raises(RuntimeError), atomic_directory(out, command="x") as tmp:
        (tmp / "t.csv").write_text("1")
        raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []


def test_nested_records_count_as_modic_files(tmp_path):
    top = tmp_path / "demo"
    with atomic_directory(top / "cohort", command="phantom") as tmp:
        (tmp / "manifest.csv").write_text("m")
    with atomic_directory(top / "report", command="stats") as tmp:
        (tmp / "report.html").write_text("r")
    state = inspect_folder(top)
    assert state.foreign == [] and sorted(state.nested) == ["cohort/manifest.csv", "report/report.html"]
    (top / "report" / "mine.txt").write_text("u")
    assert inspect_folder(top).foreign == ["report/mine.txt"]


def test_single_file_outputs(project, tmp_path, capsys):
    out = tmp_path / "odi.csv"
    args = ["odi", "--items", str(project / "odi.csv"), "--out", str(out)]
    assert run_cli(args, capsys)[0] == 0
    assert run_cli(args, capsys)[0] == 0  # modic's own file: replaced
    out.write_text("edited by the user\n")
    rc, err = run_cli(args, capsys)
    assert_one_line_error(rc, err, "odi", "was not written by modic (or was changed since)")
    assert out.read_text() == "edited by the user\n"
    assert run_cli([*args, "--overwrite"], capsys)[0] == 0
    assert list(pd.read_csv(out)["odi"]) == [20.0, 40.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [RECORD_NAME, "odi.csv"]


def test_overwrite_flag_on_every_writing_command():
    from modic.cli import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices  # noqa: SLF001
    for name in ("phantom", "segment", "extract", "analyze", "stats", "classify", "odi", "demo"):
        assert "--overwrite" in sub[name]._option_string_actions, name  # noqa: SLF001


def test_demo_reuses_its_own_folder(tmp_path, monkeypatch, capsys):
    """`modic demo` fills its folder step by step (cohort, features + cache, report, example case): a second run
    needs no --overwrite; a file of the user's there is refused, and kept with --overwrite. The heavy steps are
    replaced by fakes that write through the same output functions."""
    import types

    import modic.batch
    import modic.phantom
    import modic.stats.report
    from modic.commands import demo
    from modic.outputs import atomic_directory, check_output_file, record_files

    def fake_cohort(folder, n_cases=None, seed=0, progress=True, overwrite=False, **kw):
        with atomic_directory(folder, overwrite, command="phantom") as tmp:
            (tmp / "manifest.csv").write_text(f"case_id,t2\nc1,t2.nrrd  # seed {seed}\n")
        return folder / "manifest.csv"

    def fake_batch(manifest, out, overwrite=False, **kw):
        check_output_file(out, overwrite, inputs=[manifest])
        out.write_text("case_id,f\nc1,1\n")
        (out.parent / (out.name + ".cache")).mkdir(exist_ok=True)
        record_files([out], command="extract", dirs=[out.parent / (out.name + ".cache")])
        return types.SimpleNamespace(n_failed=0, errors_csv=None)

    def fake_stats(features, manifest, out_dir, overwrite=False, **kw):
        with atomic_directory(out_dir, overwrite, inputs=[features, manifest], command="stats") as tmp:
            (tmp / "report.html").write_text("r")
        metrics = {"accuracy": 1.0, "balanced_accuracy": 1.0}
        summary = {"cohort": {"n_cases": 24, "per_type": {1: 8, 2: 8, 3: 8}, "n_features": 1},
                   "table1": {"sequence": "T2", "significant": []}, "selection": {"counts": {"n": 1},
                                                                                  "per_sequence": {}},
                   "validation": {"holdout": {"metrics": metrics}, "nested_cv": {"metrics": metrics}}}
        return types.SimpleNamespace(summary=summary, model_path=out_dir / "model.skops", out_dir=out_dir)

    def fake_example(manifest, out, model_path, params, overwrite=False):
        with atomic_directory(out, overwrite, command="demo") as tmp:
            (tmp / "result.json").write_text("{}")
        return "example"

    monkeypatch.setattr(modic.phantom, "generate_cohort", fake_cohort)
    monkeypatch.setattr(modic.batch, "run_cohort", fake_batch)
    monkeypatch.setattr(modic.stats.report, "run_stats", fake_stats)
    monkeypatch.setattr(demo, "_example_case", fake_example)
    out = tmp_path / "demo_output"
    args = ["demo", "--out", str(out), "--cases", "24"]
    assert run_cli(args, capsys)[0] == 0
    assert run_cli(args, capsys)[0] == 0  # its own folder: reused, no --overwrite needed
    assert run_cli([*args, "--seed", "1"], capsys)[0] == 0  # a new cohort replaces the old one
    assert "seed 1" in (out / "cohort" / "manifest.csv").read_text()
    (out / "report" / "mine.txt").write_text("mine")
    rc, err = run_cli(args, capsys)
    assert_one_line_error(rc, err, "demo", "holds files modic did not write (1: report/mine.txt)")
    assert run_cli([*args, "--overwrite"], capsys)[0] == 0
    assert (out / "report" / "mine.txt").read_text() == "mine" and (out / "report" / "report.html").is_file()
