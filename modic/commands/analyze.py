"""`modic analyze`: one case end to end — normalise, segment, extract, type, classify."""

from __future__ import annotations

import argparse
import json
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
from modic.normalize import METHODS

EPILOG = """examples:
  modic analyze --t1 t1.nrrd --t2 t2.nrrd --fs fs.nrrd --seed-lps="-4.1;38.5;-165" --out case01/
  modic analyze --t1 t1.nrrd --t2 t2.nrrd --fs fs.nrrd --mask lesion.nii.gz --model model.skops --out case01/
writes case01/result.json (signal-pattern type with ratios, model prediction with probabilities,
settings, versions), case01/features.csv, and case01/mask_<seq>.nrrd. Without --model the shipped
synthetic demo model is used (trained on phantom data: a demonstration, not a clinical model)."""


def add_parser(sub) -> None:
    p = sub.add_parser("analyze", help="one case end to end → JSON + CSV", description=__doc__, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_image_arguments(p)
    add_point_arguments(p)
    add_mask_arguments(p)
    add_anatomy_argument(p)
    p.add_argument("--model", metavar="SKOPS", help="model file from `modic stats` (default: synthetic demo model)")
    p.add_argument("--no-model", action="store_true", help="skip the classifier")
    p.add_argument("--params", metavar="YAML", help="PyRadiomics parameter file (default: the paper's)")
    p.add_argument("--normalization", choices=METHODS, default="zscore-image",
                   help="zscore-image (default), zscore-reference (needs --reference-lps), pyradiomics, none")
    p.add_argument("--case-id", default="case")
    p.add_argument("--jobs", type=int, default=1, help="processes for this case's feature extraction")
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from modic.pipeline import analyze_case

    check_writable_dir(args.out)
    images = load_images(args)
    masks = load_masks(args, images)
    if masks is None and not args.seed_lps:
        raise ModicInputError("give --seed-lps (a point inside the lesion) or a lesion --mask")
    spine, note = resolve_anatomy(args.anatomy, images)
    model = None
    if not args.no_model:
        from modic.model_io import demo_model_path, load_model

        model = load_model(args.model or demo_model_path())
    result = analyze_case(images, seed_lps=point(args.seed_lps, "--seed-lps"), masks=masks, model=model,
                          params=args.params, normalization=args.normalization,
                          reference_lps=point(args.reference_lps, "--reference-lps"), roi_lps=roi(args.roi_lps),
                          case_id=args.case_id, jobs=args.jobs, spine=spine)
    if result.segmentation is not None:
        result.segmentation.setdefault("anatomy", {})["note"] = note
        if result.segmentation["anatomy"].get("warning"):
            import sys

            sys.stderr.write(f"warning: {result.segmentation['anatomy']['warning']}\n")
    with atomic_directory(Path(args.out)) as tmp:
        result.feature_table().to_csv(tmp / "features.csv", index=False)
        for seq, mask in result.masks.items():
            write_image(mask, tmp / f"mask_{SEQ_ARGS[seq]}.nrrd")
        (tmp / "result.json").write_text(json.dumps({**result.summary(), "diagnostics": result.diagnostics},
                                                    indent=2, default=str))
    sp = result.signal_pattern
    line = f"case {args.case_id}: {len(result.features)} features"
    if sp is not None:
        ratios = ", ".join(f"{s} {v:.2f}" for s, v in sp.ratios.items())
        line += f"; signal pattern: Modic {sp.modic_type} (lesion/marrow {ratios})"
    if result.prediction:
        pr = result.prediction
        probs = ", ".join(f"{k}: {v:.2f}" for k, v in pr["probabilities"].items())
        tag = " [synthetic demo model]" if pr.get("synthetic_model") else ""
        line += f"; model: type {pr['predicted_type']} ({probs}){tag}"
    print(line)
    print(f"written to {args.out}")
    return 0
