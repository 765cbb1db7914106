"""SIGKILL the CLI in the middle of a cohort run, re-run it, and compare with an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pandas as pd
import psutil
from batchdata import SMALL_PARAMS, make_cohort, read_table, subprocess_env
from helpers import cli_command

from modic.batch import CaseCache, output_paths, run_cohort

N_CASES = 12


def test_sigkill_then_resume(tmp_path):
    manifest = make_cohort(tmp_path / "cohort", N_CASES, prefix="k")
    params = tmp_path / "small.yaml"
    params.write_text(SMALL_PARAMS)
    out = tmp_path / "run" / "features.csv"
    paths = output_paths(out)
    cache = CaseCache(paths["cache"])
    argv = cli_command(["--manifest", str(manifest), "--out", str(out), "--params", str(params),
                        "--jobs", "2", "--no-progress"])

    proc = subprocess.Popen(argv, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not cache.entries():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no case finished within 90 s"
            time.sleep(0.01)
        children = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    n_killed = len(cache.entries())
    assert 1 <= n_killed < N_CASES, "the run was not interrupted in the middle"
    # the table is written atomically at the end: after the kill it does not exist (or is complete)
    assert not out.exists() or len(read_table(out)) == N_CASES
    for entry in cache.entries():  # no torn cache entry
        assert json.loads(entry.read_text())["case_id"] == entry.stem
    # orphaned pool workers notice their parent is gone and exit
    gone, alive = psutil.wait_procs(children, timeout=10)
    for p in alive:
        p.kill()
    assert not alive, f"worker processes outlived the killed run: {[p.pid for p in alive]}"

    resumed = subprocess.run(argv, env=subprocess_env(), capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({N_CASES - n_killed} computed, {n_killed} from cache)" in resumed.stderr

    reference = tmp_path / "reference" / "features.csv"
    assert run_cohort(manifest, reference, params=params, jobs=1, show_progress=False).exit_code == 0
    table = read_table(out)
    assert table["case_id"].is_unique and len(table) == N_CASES
    pd.testing.assert_frame_equal(table, read_table(reference), check_exact=True)
