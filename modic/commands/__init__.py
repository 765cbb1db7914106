"""CLI subcommands: each module has `add_parser(subparsers)` and sets `func=run` on its parser."""
