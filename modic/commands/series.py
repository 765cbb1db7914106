"""`modic series`: the series of a DICOM study, what each is recognised as and why, and which would be used."""

from __future__ import annotations

import argparse
import json
import sys

EPILOG = """examples:
  modic series /data/export/STUDY01/            # a study folder exported from PACS (any layout)
  modic series /media/cd/DICOMDIR --json         # a DICOMDIR; JSON for scripts
  modic series STUDY --t2-series "SAG T2 TSE"    # check an override before using it with --study
columns: number, description, orientation (from ImageOrientationPatient), slices, pixel spacing × slice
spacing (mm), TR/TE/TI (ms), fat suppression, recognised sequence and the reason; '→ T2' marks the series
that --study would use."""


def add_parser(sub) -> None:
    p = sub.add_parser("series", help="list a DICOM study's series and the T1/T2/FS it would use",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("study", metavar="STUDY", help="study folder or DICOMDIR")
    p.add_argument("--json", action="store_true", help="JSON output (one object per series, plus the choice)")
    for seq in ("t1", "t2", "fs"):
        p.add_argument(f"--{seq}-series", metavar="SERIES", help=f"override the {seq.upper()} choice")
    p.set_defaults(func=run)


def _fmt(v, unit: str = "") -> str:
    return "-" if v is None else f"{v:g}{unit}"


def run(args: argparse.Namespace) -> int:
    from modic.dicom.series import scan_study, select_series

    series = scan_study(args.study)
    overrides = {s: getattr(args, f"{s.lower()}_series") for s in ("T1", "T2", "FS")}
    chosen, notes = select_series(series, overrides)
    if args.json:
        out = {"study": str(args.study), "series": [s.to_dict() for s in series],
               "use": {seq: s.uid for seq, s in chosen.items()}, "notes": notes}
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return 0
    head = f"{'use':5} {'#':>4}  {'description':24} {'orient.':9} {'slices':>6}  {'spacing mm':14} " \
           f"{'TR/TE/TI ms':18} {'fat sat.':8} {'seq.':5} reason"
    lines = [head]
    for s in series:
        spacing = "-" if s.pixel_spacing is None else \
            f"{s.pixel_spacing[1]:.2g}×{s.pixel_spacing[0]:.2g}×{_fmt(s.slice_spacing and round(s.slice_spacing, 2))}"
        times = f"{_fmt(s.tr)}/{_fmt(s.te)}/{_fmt(s.ti)}"
        use = f"→ {s.used_as}" if s.used_as else ""
        slices = f"{s.frames}" + (f"({s.localiser_slices}L)" if s.localiser_slices else "")
        lines.append(f"{use:5} {_fmt(s.number):>4}  {s.description[:24]:24} {s.orientation:9} {slices:>6}  "
                     f"{spacing:14} {times:18} {'yes' if s.fat_suppressed else 'no':8} {s.sequence:5} "
                     f"{s.reason}" + (f" [{s.modality}]" if s.modality != "MR" else ""))
    lines += [f"note: {n}" for n in notes]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
