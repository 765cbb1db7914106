"""Fixtures for the statistics tests: synthetic cohorts built by `stats_synthetic.make_cohort`."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stats_synthetic import make_cohort  # noqa: E402


@pytest.fixture(scope="session")
def small_cohort():
    return make_cohort()


@pytest.fixture
def cohort_files(tmp_path, small_cohort):
    feats, man, info = small_cohort
    f, m = tmp_path / "features.csv", tmp_path / "manifest.csv"
    feats.to_csv(f, index=False)
    man.to_csv(m, index=False)
    return f, m, info
