"""Command-line glue for `modic extract --manifest ...` (the lead's extract command calls these)."""

from __future__ import annotations

import argparse
import sys

from modic.errors import ModicInputError


def add_batch_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the cohort options to an `extract` parser; options it already has are left alone."""
    have = set(parser._option_string_actions)  # noqa: SLF001 - argparse has no public lookup

    def add(*names: str, **kw) -> None:
        if not have.intersection(names):
            parser.add_argument(*names, **kw)

    add("--manifest", metavar="CSV",
        help="cohort manifest (case_id, t1/t2/fs, mask or mask_<seq>, seed_lps, ...): one table row per case")
    add("--out", metavar="CSV", help="output feature table (with --manifest: one row per case)")
    add("--params", metavar="YAML", help="PyRadiomics parameter file (default: the paper's)")
    add("--jobs", type=int, default=None, metavar="N",
        help="worker processes (default: all CPU cores; 1 runs in this process)")
    add("--scheduler", metavar="ADDRESS|local", default=None,
        help="run on a Dask cluster: a scheduler address (tcp://host:8786) or 'local' for a "
             "LocalCluster of --jobs workers")
    add("--segment", action="store_true",
        help="segment each case from its seed_lps column instead of reading a mask")
    add("--detect", action="store_true",
        help="zero-click: detect every Modic change of each case (no masks or seeds; optional 'spine' column "
             "with a spine_labels.nrrd) and write one row per lesion (case_id, level, endplate, … + features)")
    add("--normalization", default=None,
        choices=("zscore-reference", "zscore-image", "pyradiomics", "none"),
        help="intensity normalisation before extraction (default: zscore-image, or none with --params; "
             "zscore-reference uses the reference_lps column); 'none' gives exactly PyRadiomics' values")
    add("--no-progress", dest="no_progress", action="store_true",
        help="no progress bar or progress lines on stderr")
    add("--clear-cache", dest="clear_cache", action="store_true",
        help="delete the per-case cache (<out>.cache/) first and recompute every case")
    return parser


def run_from_args(args: argparse.Namespace) -> int:
    """Run a cohort extraction from parsed arguments; return the exit code (0 ok, 2 bad input,
    3 some cases failed — see <out>.errors.csv)."""
    from modic.batch.engine import run_cohort

    try:
        if not getattr(args, "out", None):
            raise ModicInputError("--manifest needs --out FEATURES.csv")
        result = run_cohort(args.manifest, args.out, params=getattr(args, "params", None),
                            jobs=getattr(args, "jobs", None), scheduler=getattr(args, "scheduler", None),
                            segment=bool(getattr(args, "segment", False)),
                            normalization=getattr(args, "normalization", None),
                            overwrite=bool(getattr(args, "overwrite", False)),
                            detect=bool(getattr(args, "detect", False)),
                            show_progress=not getattr(args, "no_progress", False),
                            clear_cache=bool(getattr(args, "clear_cache", False)))
    except ModicInputError as exc:
        sys.stderr.write(f"modic extract: error: {exc}\n")
        return 2
    computed = result.n_computed - result.n_failed
    msg = (f"modic extract: {result.n_ok}/{result.n_cases} cases in {result.out_csv} "
           f"({computed} computed, {result.n_cached} from cache) in {result.seconds:.1f} s")
    if result.failures:
        msg += f"; {result.n_failed} failed — see {result.errors_csv}"
    sys.stderr.write(msg + "\n")
    return result.exit_code
