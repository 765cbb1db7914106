"""`modic odi`: Oswestry Disability Index from the 10 questionnaire items (0–5 each)."""

from __future__ import annotations

from modic.commands._common import add_overwrite_argument


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("odi", help="score the Oswestry Disability Index", description=__doc__)
    p.add_argument("--items", required=True, help="CSV with columns <prefix>1 … <prefix>10 (and case_id)")
    p.add_argument("--out", required=True, help="output CSV (input columns + odi, odi_answered); an existing "
                                                "file is replaced only if modic wrote it, or with --overwrite")
    p.add_argument("--prefix", default="odi_", help="item column prefix (default odi_)")
    p.add_argument("--min-answered", type=int, default=8,
                   help="minimum answered items for a score (default 8; fewer → empty)")
    add_overwrite_argument(p, kind="file")
    p.set_defaults(func=run)


def run(args) -> int:
    from modic.stats.odi import score_file

    out = score_file(args.items, args.out, prefix=args.prefix, min_answered=args.min_answered,
                     overwrite=args.overwrite)
    print(f"scored {int(out['odi'].notna().sum())} of {len(out)} rows → {args.out}")
    return 0
