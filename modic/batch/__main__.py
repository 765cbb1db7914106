"""`python -m modic.batch --manifest M --out F.csv [...]`: the cohort engine without the `modic` CLI."""

from __future__ import annotations

import argparse
import sys

from modic.batch.cli import add_batch_arguments, run_from_args


def main(argv: list[str] | None = None) -> int:
    """Parse the batch options and run; return the exit code."""
    parser = add_batch_arguments(argparse.ArgumentParser(prog="python -m modic.batch",
                                                         description=__doc__.splitlines()[0]))
    args = parser.parse_args(argv)
    if not args.manifest:
        parser.error("--manifest is required")
    try:
        return run_from_args(args)
    except KeyboardInterrupt:
        sys.stderr.write("modic extract: interrupted; finished cases were kept in the cache\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
