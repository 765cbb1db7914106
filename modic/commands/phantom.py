"""`modic phantom`: write a synthetic lumbar MRI cohort with Modic lesions (the paper's design)."""

from __future__ import annotations

import argparse
import sys

from modic.commands._common import add_overwrite_argument
from modic.errors import ModicInputError

EPILOG = """\
examples:
  modic phantom --out cohort                      # the paper's 154 cases: 41/84/29, 30 with ODI/VAS
  modic phantom --out small --cases 12 --seed 3   # 12 cases in the paper's proportions
  modic phantom --out c --counts 5,5,5 --with-scores 6 --format nifti --mixed
  modic phantom --out hard --signal-model 3       # types overlap as in patients (issue 12 item 18)
  modic phantom --out read --signal-model 4       # ... and read by a reader: labels, ROIs (the demo's cohort)

rules: --cases alone scales 41/84/29 (largest remainder) and the scored total to round(30·N/154);
--counts sets I,II,III exactly; --with-scores N spreads N scored cases over the types in proportion
7:22:1 (largest remainder, never more than a type has, overflow to the other types).
output: OUT/manifest.csv, OUT/phantom.json, OUT/cases/<case_id>/{t1,t2,fs,mask_t1,mask_t2,mask_fs,anatomy}

other test beds (docs/PHANTOMS.md): ground-truth anatomy in OUT/cases/<id>/spine_labels (manifest column spine)
  modic phantom --background ../shared/realmri/manifest.csv --out hybrid   # lesions in real scans, 4 mm slices
  modic phantom --construction B --cases 30 --out b                         # the second, independent generator
"""


def _counts(text: str) -> list[int]:
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ModicInputError(f"--counts must be three integers I,II,III (e.g. 41,84,29), got {text!r}") from None
    if len(values) != 3:
        raise ModicInputError(f"--counts must be three integers I,II,III (e.g. 41,84,29), got {text!r}")
    return values


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("phantom", help="generate a synthetic lumbar MRI cohort with Modic lesions",
                              description=__doc__, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output folder, built atomically: new or empty, or one "
                                                "`modic phantom` wrote before (see --overwrite)")
    add_overwrite_argument(p)
    p.add_argument("--cases", type=int, default=None, help="number of cases (default 154)")
    p.add_argument("--seed", type=int, default=0, help="master random seed (default 0)")
    p.add_argument("--counts", default=None, help="cases per type I,II,III (default 41,84,29)")
    p.add_argument("--with-scores", type=int, default=None, dest="with_scores",
                   help="number of cases with ODI/VAS (default 30 for 154 cases)")
    p.add_argument("--format", choices=("nrrd", "nifti", "dicom"), default="nrrd",
                   help="image format (default nrrd); dicom: each case a study folder (sagittal T1, T2, STIR + "
                        "an axial T2 and a localiser), manifest column 'study', masks NRRD")
    p.add_argument("--mixed", action="store_true", help="allow mixed I/II and II/III lesions (~35%%)")
    p.add_argument("--signal-model", default=1, dest="signal_model", metavar="{1,2,3,4}",
                   help="lesion/marrow signals: 1 = generator 1 (default, what the benchmarks use); 2 = per-case "
                        "marrow fat, scanner scale, lesion expression and texture (types overlap more); 3 = as 2 "
                        "with the same contrast size for every type and mixed lesions; 4 = model 3 read by a reader: "
                        "labels that disagree with the tissue in 14 %% of cases and hand-drawn T1/FS ROIs 0–3.5 mm "
                        "wider than the lesion (truth_*.nrrd hold the lesion itself; `modic demo`'s default)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--construction", choices=("A", "B"), default="A",
                   help="A = the default generator; B = a second, independent one (docs/PHANTOMS.md)")
    p.add_argument("--background", metavar="MANIFEST", default=None,
                   help="insert lesions into the labelled real scans of this manifest (hybrid cases)")
    p.add_argument("--cases-per-scan", type=int, default=3, dest="cases_per_scan",
                   help="hybrid: lesions (cases) per background scan (default 3)")
    p.add_argument("--slice-mm", type=float, default=4.0, dest="slice_mm",
                   help="hybrid: slice thickness the 1 mm scans are resliced to (default 4; 1 = keep isotropic)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from modic.phantom import generate_cohort

    if args.background is not None or args.construction == "B":
        from modic.phantom.extra import generate_construction_b, generate_hybrid_cohort

        if args.background is not None and args.construction == "B":
            raise ModicInputError("--background and --construction B are alternatives — choose one")
        if args.background is not None:
            manifest = generate_hybrid_cohort(args.out, args.background, per_scan=args.cases_per_scan,
                                              slice_mm=args.slice_mm, seed=args.seed, fmt=args.format,
                                              progress=not args.no_progress)
        else:
            manifest = generate_construction_b(args.out, n_cases=args.cases or 30, seed=args.seed, fmt=args.format,
                                               progress=not args.no_progress)
        sys.stdout.write(f"wrote {manifest}\n")
        return 0
    counts = _counts(args.counts) if args.counts is not None else None
    if args.cases is not None and args.cases <= 0:
        raise ModicInputError(f"--cases must be at least 1, got {args.cases}")
    manifest = generate_cohort(args.out, n_cases=args.cases, counts=counts, with_scores=args.with_scores,
                               seed=args.seed, fmt=args.format, mixed=args.mixed,
                               progress=not args.no_progress, overwrite=args.overwrite,
                               signal_model=args.signal_model)
    sys.stdout.write(f"wrote {manifest}\n")
    return 0
