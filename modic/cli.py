"""`modic` command line: one subcommand per step of the paper's workflow.

Each subcommand lives in `modic/commands/<name>.py` with `add_parser(subparsers)` and `run(args) -> int`.
Bad input anywhere becomes one line on stderr and exit code 2; no traceback, nothing half-written.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from modic import __version__
from modic.errors import ModicInputError

# subcommands, each a module under modic.commands
COMMANDS: tuple[str, ...] = ("phantom", "segment", "spine", "detect", "extract", "classify", "analyze", "stats",
                             "odi", "demo", "series", "export-dicom")

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_PARTIAL = 0, 1, 2, 3
OUTPUT_RULES = """outputs: modic never deletes or replaces a file it did not write. --out must be a new or empty folder,
or one the same command wrote before; a folder holding anything else is refused unless --overwrite,
which replaces only modic's own files there (recorded in .modic-outputs.json). An existing output file
is replaced only if modic wrote it (or with --overwrite). --out ., .., /, your home folder, a file where
a folder is expected, or an input are always refused. Details: docs/OUTPUTS.md
exit codes: 0 ok, 2 bad input (one line on stderr), 3 some cohort cases failed, 1 internal error"""


class _Parser(argparse.ArgumentParser):
    """argparse parser whose usage errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # noqa: D401
        sys.stderr.write(f"modic {self.prog.split()[-1]}: error: {message} (see --help)\n")
        raise SystemExit(EXIT_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="modic", description=__doc__.splitlines()[0], epilog=OUTPUT_RULES,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"modic {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"modic.commands.{name.replace('-', '_')}")
        except ModuleNotFoundError as exc:  # a subcommand still being written is left out
            if exc.name != f"modic.commands.{name.replace('-', '_')}":
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
    import warnings

    from modic.errors import ModicWarning

    def show_warning(message, category, filename, lineno, file=None, line=None):  # one line per warning
        if issubclass(category, ModicWarning):
            sys.stderr.write(f"modic {args.command}: warning: {message}\n")
        else:
            default_show(message, category, filename, lineno, file, line)

    default_show = warnings.showwarning
    warnings.showwarning = show_warning
    try:
        return int(args.func(args) or 0)
    except ModicInputError as exc:
        sys.stderr.write(f"modic {args.command}: error: {exc}\n")
        return EXIT_INPUT
    except KeyboardInterrupt:
        sys.stderr.write(f"modic {args.command}: interrupted; finished work was kept\n")
        return 130
    except OSError as exc:  # disk full, permissions changed mid-run, ...: the environment, not a bug
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        sys.stderr.write(f"modic {args.command}: error: cannot read or write{where}: "
                         f"{exc.strerror or exc} — check the path, free space and permissions\n")
        return EXIT_INPUT
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback only on request
        if os.environ.get("MODIC_DEBUG"):
            raise
        text = " ".join(str(exc).split())[:200]
        sys.stderr.write(f"modic {args.command}: internal error: {type(exc).__name__}: {text} — please report "
                         "it (run with MODIC_DEBUG=1 for the traceback)\n")
        return EXIT_INTERNAL
    finally:
        warnings.showwarning = default_show


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
