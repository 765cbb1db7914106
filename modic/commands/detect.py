"""`modic detect`: find, segment and type every Modic change at the lumbar endplates — no click."""

from __future__ import annotations

import argparse

from modic.commands._common import add_image_arguments, add_overwrite_argument, input_paths, load_images_and_study

EPILOG = """examples:
  modic detect --t1 t1.nrrd --t2 t2.nrrd --fs fs.nrrd --out det/ --case-id P01
  modic detect --t1 t1.nii.gz --fs stir.nii.gz --spine spine/spine_labels.nrrd --out det/
writes det/lesions.csv (case_id, label, level, endplate, modic_type, voxels, volume_mm3, seed_lps, confidence;
header only when nothing is found), lesions_t1/t2/fs.nrrd (label maps on each sequence's grid, value = label),
lesions.seg.nrrd (named segments for 3D Slicer), overview.png, spine_labels.nrrd and detection.json"""


def add_parser(sub) -> None:
    p = sub.add_parser("detect", help="find every Modic change (no click): lesions.csv, masks, overview",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_image_arguments(p)
    p.add_argument("--out", required=True, metavar="DIR",
                   help="output folder, written atomically: new or empty, or one `modic detect` wrote before "
                        "(see --overwrite)")
    add_overwrite_argument(p)
    p.add_argument("--case-id", default="case", help="case id written in lesions.csv (default 'case')")
    p.add_argument("--spine", metavar="PATH",
                   help="spine label map (spine_labels.nrrd of `modic spine`, modic.spine label values); "
                        "default: parse the spine from the images")
    p.add_argument("--no-segmentation", action="store_true",
                   help="report the detected regions themselves instead of one-click segmentations seeded in them")
    p.add_argument("--random-state", type=int, default=0, help="seed of the segmentation mixtures (default 0)")
    p.set_defaults(func=run)


def load_spine(path: str, images=None):
    """A Spine from a label map with modic.spine label values (one-line error otherwise): the same reader and
    checks as `--anatomy LABELMAP` of segment/analyze (with `images`: it must overlap them)."""
    from modic.commands._anatomy import resolve_anatomy

    return resolve_anatomy(str(path), images or {})[0]


def run(args: argparse.Namespace) -> int:
    from modic.detect import detect_lesions
    from modic.detect_output import write_detection
    from modic.io import check_output_dir

    inputs = input_paths(args)
    check_output_dir(args.out, args.overwrite, inputs=inputs, command="detect")
    images, study = load_images_and_study(args, sagittal=not args.spine)   # parsed from them without --spine
    spine = load_spine(args.spine, images) if args.spine else None
    result = detect_lesions(images, spine, case_id=args.case_id, segment=not args.no_segmentation,
                            random_state=args.random_state)
    write_detection(result, images, args.out, extra_info={"case_id": args.case_id, "inputs": {
        s: getattr(args, s.lower()) for s in ("T1", "T2", "FS") if getattr(args, s.lower(), None)},
        **({"study": study.record()} if study is not None else {})}, overwrite=args.overwrite, inputs=inputs,
        study=study)
    t = result.table()
    found = ", ".join(f"{r.endplate} {r.modic_type}" for r in t.itertuples()) or "none"
    print(f"{len(t)} Modic change(s) found ({found}); written to {args.out}")
    return 0
