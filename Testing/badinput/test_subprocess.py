"""A few battery cases as real processes: the installed entry point's exit code and stderr, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from battery import tree_hashes

ROOT = Path(__file__).resolve().parents[2]


def _modic(args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "modic.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("case", ["stats-out-dot", "phantom-user-folder", "classify-pickle"])
def test_real_process(case, project, user_folder, tmp_path):
    feats, man = str(project / "stats_features.csv"), str(project / "stats_manifest.csv")
    args, cwd = {
        "stats-out-dot": (["stats", "--features", feats, "--manifest", man, "--out", "."], user_folder),
        "phantom-user-folder": (["phantom", "--out", str(user_folder), "--cases", "1", "--no-progress"], tmp_path),
        "classify-pickle": (["classify", "--features", feats, "--model", str(project / "model.pkl")], tmp_path),
    }[case]
    before = tree_hashes(tmp_path), tree_hashes(project)
    proc = _modic(args, cwd)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"modic {args[0]}: error:") and "Traceback" not in proc.stderr
    assert (tree_hashes(tmp_path), tree_hashes(project)) == before
    assert not list(project.parent.glob("*PICKLE_WAS_EXECUTED"))
