"""`modic segment`: lesion masks on every sequence grid, from one click or from an imported label file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from modic.commands._anatomy import add_anatomy_argument, resolve_anatomy
from modic.commands._common import (
    SEQ_ARGS,
    add_image_arguments,
    add_mask_arguments,
    add_point_arguments,
    load_images,
    load_masks,
    point,
    roi,
)
from modic.errors import ModicInputError
from modic.io import atomic_directory, check_writable_dir, write_image

EPILOG = """examples:
  modic segment --t1 t1.nrrd --t2 t2.nrrd --fs fs.nrrd --seed-lps="-4.1;38.5;-165.0" --out seg/
  modic segment --t1 t1.nrrd --t2 t2.nrrd --mask lesion.seg.nrrd --segment-name "Modic" --out seg/
writes seg/mask_t1.nrrd, mask_t2.nrrd, mask_fs.nrrd (each on its sequence's grid) and seg/segmentation.json"""


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
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=run)


def _merge_distance(value: float) -> float:
    if not value >= 0:  # also refuses NaN
        raise ModicInputError(f"--merge-distance must be ≥ 0 (a Mahalanobis distance), got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    check_writable_dir(args.out)
    images = load_images(args)
    masks = load_masks(args, images)
    spine, note = resolve_anatomy(args.anatomy, images)
    info: dict
    if masks is None:
        if not args.seed_lps:
            raise ModicInputError("give --seed-lps (a point inside the lesion) or a --mask to import")
        from modic.segment import segment_lesion

        result = segment_lesion(images, point(args.seed_lps, "--seed-lps"), roi_lps=roi(args.roi_lps),
                                reference_lps=point(args.reference_lps, "--reference-lps"),
                                merge_distance=_merge_distance(args.merge_distance),
                                sclerotic_refinement=False if args.no_sclerotic_refinement else None, spine=spine)
        masks, info = result.masks, result.info
        info["anatomy"]["note"] = note
    else:
        source = args.mask or {s: getattr(args, f"mask_{a}") for s, a in SEQ_ARGS.items()}
        info = {"method": "imported", "source": source, "label": args.label, "segment": args.segment_name,
                "anatomy": {"note": note}}
        if spine is not None:
            from modic.segment import check_mask_anatomy

            warning = check_mask_anatomy(next(iter(masks.values())), spine)
            info["anatomy"]["warning"] = warning
            if warning:
                sys.stderr.write(f"warning: {warning}\n")
    with atomic_directory(Path(args.out)) as tmp:
        for seq, mask in masks.items():
            write_image(mask, tmp / f"mask_{SEQ_ARGS[seq]}.nrrd")
        (tmp / "segmentation.json").write_text(json.dumps(info, indent=2, default=str))
    voxels = {s: int(v) for s, v in info.get("voxels", {}).items()}
    print(f"lesion masks written to {args.out}" + (f" (voxels: {voxels})" if voxels else ""))
    return 0
