"""`modic extract`: PyRadiomics features for one case, or for a whole cohort from a manifest."""

from __future__ import annotations

import argparse
import json

from modic.commands._common import (
    add_image_arguments,
    add_mask_arguments,
    add_overwrite_argument,
    add_point_arguments,
    input_paths,
    load_images_and_study,
    load_masks,
)
from modic.commands._common import point as parse_point
from modic.errors import ModicInputError
from modic.io import atomic_path, check_output_file, record_files, write_csv
from modic.normalize import METHODS

EPILOG = """examples:
  one case, masks from ITK-SNAP:
    modic extract --t1 t1.nii.gz --t2 t2.nii.gz --fs fs.nii.gz --mask lesion.nii.gz --out case.csv
  one case, your own PyRadiomics parameter file, 2 processes:
    modic extract --t2 t2.nrrd --mask-t2 m.nrrd --params my.yaml --normalization none --jobs 2 --out f.csv
  a cohort (resumable, parallel; exit 3 if some cases failed, see features.errors.csv):
    modic extract --manifest cohort/manifest.csv --out features.csv --jobs 2
    modic extract --manifest cohort/manifest.csv --out features.csv --scheduler tcp://head:8786
columns are <SEQ>_<pyradiomics key>, e.g. T2_original_shape_Sphericity; diagnostics go to <out>.diagnostics.json
with --params and no --normalization the values are exactly RadiomicsFeatureExtractor(params).execute's (the
file's own 'normalize' setting governs); an existing --out is replaced only if modic wrote it (or --overwrite)"""


def add_parser(sub) -> None:
    p = sub.add_parser("extract", help="PyRadiomics features (one case or a manifest)", description=__doc__,
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_image_arguments(p)
    add_mask_arguments(p)
    add_point_arguments(p)
    p.add_argument("--out", required=True, metavar="CSV", help="output feature table")
    p.add_argument("--params", metavar="YAML", help="PyRadiomics parameter file (default: the paper's)")
    p.add_argument("--normalization", choices=METHODS, default=None,
                   help="intensity normalisation: zscore-image (default without --params), zscore-reference "
                        "(normal marrow at --reference-lps / the manifest's reference_lps), pyradiomics, none "
                        "(default with --params: PyRadiomics' own values, the file's 'normalize' governs)")
    p.add_argument("--case-id", default="case", help="case id for the output row (one case)")
    from modic.batch import add_batch_arguments

    add_batch_arguments(p)
    add_overwrite_argument(p, kind="file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.manifest:
        from modic.batch import run_from_args

        return run_from_args(args)
    from modic.pipeline import analyze_case

    diagnostics = str(args.out) + ".diagnostics.json"
    check_output_file(args.out, args.overwrite, inputs=input_paths(args), companions=[diagnostics])
    images, study = load_images_and_study(args)
    masks = load_masks(args, images)
    if masks is None and not args.seed_lps:
        raise ModicInputError("give lesion masks (--mask / --mask-<seq>) or --seed-lps to segment, or --manifest")
    result = analyze_case(images, seed_lps=parse_point(args.seed_lps, "--seed-lps"), masks=masks,
                          params=args.params, normalization=args.normalization,
                          reference_lps=parse_point(args.reference_lps, "--reference-lps"),
                          case_id=args.case_id, label=1, jobs=args.jobs or 1)
    write_csv(result.feature_table(), args.out, index=False)
    with atomic_path(diagnostics) as tmp:
        record = {"diagnostics": result.diagnostics, **result.summary()}
        if study is not None:
            record["study"] = study.record()
        tmp.write_text(json.dumps(record, indent=2, default=str))
    record_files([args.out, diagnostics], command="extract")
    print(f"{len(result.features)} features for case {args.case_id} written to {args.out}")
    return 0
