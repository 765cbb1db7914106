"""Fixtures for the batch-engine tests (the cohorts themselves are built by `batchdata`, a module with its own
name so that tests import from it whatever other test folders are collected in the same run)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from batchdata import SMALL_PARAMS, make_cohort, read_table


@pytest.fixture(scope="session")
def cohort_template(tmp_path_factory) -> Path:
    """A 6-case cohort written once per session; copy it before modifying."""
    root = tmp_path_factory.mktemp("cohort")
    make_cohort(root, 6)
    (root / "small.yaml").write_text(SMALL_PARAMS)
    return root


@pytest.fixture
def cohort(cohort_template, tmp_path) -> Path:
    """A private copy of the 6-case cohort (manifest.csv, small.yaml, case folders)."""
    dst = tmp_path / "cohort"
    shutil.copytree(cohort_template, dst)
    return dst


@pytest.fixture(scope="session")
def serial_table(cohort_template, tmp_path_factory) -> pd.DataFrame:
    """The reference table of the template cohort from a serial in-process run."""
    from modic.batch import run_cohort

    out = tmp_path_factory.mktemp("serial") / "features.csv"
    res = run_cohort(cohort_template / "manifest.csv", out, params=cohort_template / "small.yaml", jobs=1,
                     show_progress=False, normalization="none")
    assert res.exit_code == 0
    return read_table(out)
