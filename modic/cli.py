"""`modic` command line: one subcommand per step of the paper's workflow.

Each subcommand lives in `modic/commands/<name>.py` with `add_parser(subparsers)` and `run(args) -> int`.
Bad input anywhere becomes one line on stderr and exit code 2; no traceback, nothing half-written.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from modic import __version__
from modic.errors import ModicInputError

# subcommands, each a module under modic.commands
COMMANDS: tuple[str, ...] = ("phantom", "segment", "spine", "detect", "extract", "classify", "analyze", "stats",
                             "odi", "demo")

EXIT_OK, EXIT_INPUT, EXIT_PARTIAL = 0, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse parser whose usage errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # noqa: D401
        sys.stderr.write(f"modic {self.prog.split()[-1]}: error: {message} (see --help)\n")
        raise SystemExit(EXIT_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="modic", description=__doc__.splitlines()[0],
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"modic {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"modic.commands.{name}")
        except ModuleNotFoundError as exc:  # a subcommand still being written is left out
            if exc.name != f"modic.commands.{name}":
                raise
            continue
        mod.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_INPUT
    try:
        return int(args.func(args) or 0)
    except ModicInputError as exc:
        sys.stderr.write(f"modic {args.command}: error: {exc}\n")
        return EXIT_INPUT
    except KeyboardInterrupt:
        sys.stderr.write(f"modic {args.command}: interrupted; finished work was kept\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
