"""Helpers shared by the batch tests: run `modic extract --manifest ...` in-process or as a subprocess."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # not `from conftest import ROOT`: spawned workers see another conftest


def has_extract_command() -> bool:
    """True once the lead's `modic/commands/extract.py` exists."""
    return (ROOT / "modic" / "commands" / "extract.py").is_file()


def run_cli(args: list[str]) -> int:
    """`modic extract <args>` in this process; return the exit code."""
    if has_extract_command():
        from modic.cli import main

        return main(["extract", *args])
    from modic.batch import add_batch_arguments, run_from_args

    parser = add_batch_arguments(argparse.ArgumentParser(prog="modic extract"))
    return run_from_args(parser.parse_args(args))


def cli_command(args: list[str]) -> list[str]:
    """argv for `python -m modic.cli extract <args>` (or the batch module until extract exists)."""
    if has_extract_command() and importlib.util.find_spec("modic") is not None:
        return [sys.executable, "-m", "modic.cli", "extract", *args]
    return [sys.executable, "-m", "modic.batch", *args]


def crashing_extract(images, masks, params=None, case_id="case", label=1, jobs=1):
    """`extract_case` that kills its own process for case c02 (like a segfault or the OOM killer)."""
    import os
    import signal

    from modic.features import extract_case

    if case_id == "c02":
        os.kill(os.getpid(), signal.SIGKILL)
    return extract_case(images, masks, params=params, case_id=case_id, label=label, jobs=jobs)


def threads_probe(images, masks, params=None, case_id="case", label=1, jobs=1):
    """A case function reporting the worker's thread settings instead of features."""
    from types import SimpleNamespace

    import SimpleITK as sitk
    from threadpoolctl import threadpool_info

    blas = max((d["num_threads"] for d in threadpool_info()), default=1)
    return SimpleNamespace(values={"x": 1.0}, diagnostics={
        "blas_threads": blas, "itk_threads": sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()})
