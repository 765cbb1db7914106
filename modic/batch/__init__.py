"""Cohort batch engine: `run_cohort(manifest, out_csv, ...)` and `modic extract --manifest`.

Resumable (per-case cache beside the output), isolated (a failing case goes to `<out>.errors.csv`
and the run goes on), parallel (local processes or Dask). See docs/BATCH.md.
"""

from modic.batch.cache import CaseCache, cache_dir_for
from modic.batch.cli import add_batch_arguments, run_from_args
from modic.batch.engine import EXIT_INPUT, EXIT_OK, EXIT_PARTIAL, BatchResult, CaseFailure, output_paths, run_cohort

__all__ = ["BatchResult", "CaseCache", "CaseFailure", "EXIT_INPUT", "EXIT_OK", "EXIT_PARTIAL",
           "add_batch_arguments", "cache_dir_for", "output_paths", "run_cohort", "run_from_args"]
