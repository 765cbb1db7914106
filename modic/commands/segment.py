"""`modic segment`: lesion masks on every sequence grid, from one click or from an imported label file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from modic.commands._anatomy import add_anatomy_argument, anatomy_choice, resolve_anatomy
from modic.commands._common import (
    SEQ_ARGS,
    add_image_arguments,
    add_mask_arguments,
    add_overwrite_argument,
    add_point_arguments,
    input_paths,
    load_images_and_study,
    load_masks,
    point,
    roi,
)
from modic.errors import ModicInputError
from modic.io import atomic_directory, check_output_dir, write_image

EPILOG = """examples:
  modic segment --t1 t1.nrrd --t2 t2.nrrd --fs fs.nrrd --seed-lps="-4.1;38.5;-165.0" --out seg/
  modic segment --t1 t1.nrrd --t2 t2.nrrd --mask lesion.seg.nrrd --segment-name "Modic" --out seg/
  modic segment --study /data/STUDY01 --seed-lps="-4.1;38.5;-165.0" --out seg/
writes seg/mask_t1.nrrd, mask_t2.nrrd, mask_fs.nrrd (each on its sequence's grid) and seg/segmentation.json
(with "plausibility": a mask larger than a lesion can be, running into the search limit, mostly outside
vertebral marrow or scattered in pieces is written but flagged "plausible": false, with a warning);
with --study also seg/dicom/seg_<seq>.dcm (DICOM SEG on each series) and seg/dicom/sr.dcm (TID 1500).
--out must be a new or empty folder, or one this command wrote before; see docs/OUTPUTS.md and --overwrite."""


def add_parser(sub) -> None:
    p = sub.add_parser("segment", help="lesion mask from a seed point (or import a label file)",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_image_arguments(p)
    add_point_arguments(p)
    add_mask_arguments(p)
    add_anatomy_argument(p)
    g = p.add_argument_group("segmentation tuning (one-click mode; defaults are the measured ones)")
    g.add_argument("--merge-distance", type=float, default=2.0, metavar="D",
                   help="tissue classes within this Mahalanobis distance of the seed signal count as lesion "
                        "(0 = the seed's class only; default 2.0)")
    g.add_argument("--no-sclerotic-refinement", action="store_true",
                   help="skip the re-split of type III-pattern masks that keeps the lesion out of the disc")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (new or empty; see --overwrite)")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


def _merge_distance(value: float) -> float:
    if not value >= 0:  # also refuses NaN
        raise ModicInputError(f"--merge-distance must be ≥ 0 (a Mahalanobis distance), got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    check_output_dir(args.out, args.overwrite, inputs=input_paths(args), command="segment")
    images, study = load_images_and_study(args)
    masks = load_masks(args, images)
    spine, note = resolve_anatomy(anatomy_choice(args), images)  # before the long steps: a bad file fails at once
    info: dict
    if masks is None:
        if not args.seed_lps:
            raise ModicInputError("give --seed-lps (a point inside the lesion) or a --mask to import")
        from modic.segment import segment_lesion

        result = segment_lesion(images, point(args.seed_lps, "--seed-lps"), roi_lps=roi(args.roi_lps),
                                reference_lps=point(args.reference_lps, "--reference-lps"),
                                merge_distance=_merge_distance(args.merge_distance),
                                sclerotic_refinement=False if args.no_sclerotic_refinement else None, spine=spine)
        from modic.plausibility import assess_result, warning_text

        seed = point(args.seed_lps, "--seed-lps")
        masks, info = result.masks, assess_result(result.masks, result.info, seed, spine=spine, warn=False)
        info.setdefault("anatomy", {})["note"] = note
        if not info["plausible"]:
            sys.stderr.write(f"modic segment: warning: {warning_text(info['plausibility'])}; written with "
                             "\"plausible\": false in segmentation.json\n")
    else:
        source = args.mask or {s: getattr(args, f"mask_{a}") for s, a in SEQ_ARGS.items()}
        info = {"method": "imported", "source": source, "label": args.label, "segment": args.segment_name,
                "anatomy": {"note": note}}
        if spine is not None:
            from modic.segment import check_mask_anatomy

            warning = check_mask_anatomy(next(iter(masks.values())), spine)
            info["anatomy"]["warning"] = warning
            if warning:
                sys.stderr.write(f"modic segment: warning: {warning}\n")
    with atomic_directory(Path(args.out), args.overwrite, inputs=input_paths(args), command="segment") as tmp:
        for seq, mask in masks.items():
            write_image(mask, tmp / f"mask_{SEQ_ARGS[seq]}.nrrd")
        if study is not None:
            from modic.dicom.export import export_dicom, lesion_from_results

            info = {**info, "study": study.record()}
            export_dicom(study, [lesion_from_results(masks, {"segmentation": info}, None)], tmp / "dicom")
        (tmp / "segmentation.json").write_text(json.dumps(info, indent=2, default=str))
    voxels = {s: int(v) for s, v in info.get("voxels", {}).items()}
    print(f"lesion masks written to {args.out}" + (f" (voxels: {voxels})" if voxels else ""))
    return 0
