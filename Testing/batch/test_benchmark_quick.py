"""`benchmarks/run_benchmarks.py --quick`: the CI smoke run of every benchmark path (tiny cases)."""

from __future__ import annotations

import subprocess
import sys

from batchdata import ROOT, subprocess_env


def test_quick_benchmark_smoke(tmp_path):
    out = tmp_path / "results.md"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_benchmarks.py"), "--quick",
                           "--work", str(tmp_path / "work"), "--out", str(out)],
                          env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    for section in ("## Machine", "| P1 |", "| P1b |", "| P2 |", "| RSS |", "CPU:", "radiomics"):
        assert section in text
    assert "values identical" in text and "0 of " in text  # PyRadiomics CLI gave the same values
    assert "(identical)" in text  # extract_case(jobs=2) equals the serial extraction
