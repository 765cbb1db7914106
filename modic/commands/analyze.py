"""`modic analyze`: one case end to end — normalise, segment, extract, type, classify."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
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
from modic.errors import ModicInputError, ModicWarning
from modic.io import atomic_directory, check_output_dir, write_image
from modic.normalize import METHODS

EPILOG = """examples:
  modic analyze --t1 t1.nrrd --t2 t2.nrrd --fs fs.nrrd --seed-lps="-4.1;38.5;-165" --out case01/
  modic analyze --t1 t1.nrrd --t2 t2.nrrd --fs fs.nrrd --mask lesion.nii.gz --model model.skops --out case01/
writes case01/result.json (signal-pattern type with ratios, model prediction with probabilities,
settings, versions), case01/features.csv, and case01/mask_<seq>.nrrd; with --study STUDY (a PACS export)
also case01/dicom/seg_<seq>.dcm (DICOM SEG) and case01/dicom/sr.dcm (TID 1500 measurement report).
Without --model the shipped synthetic demo model is used (trained on phantom data: a demonstration,
not a clinical model). --out must be a new or empty folder, or one `modic analyze` wrote before (see
--overwrite, docs/OUTPUTS.md); with --params and no --normalization the features are PyRadiomics' own
values for that file."""


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
    p.add_argument("--normalization", choices=METHODS, default=None,
                   help="zscore-image (default without --params), zscore-reference (needs --reference-lps), "
                        "pyradiomics, none (default with --params: the file's own 'normalize' setting governs)")
    p.add_argument("--case-id", default="case")
    p.add_argument("--jobs", type=int, default=1, help="processes for this case's feature extraction")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (new or empty; see --overwrite)")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from modic.pipeline import analyze_case

    check_output_dir(args.out, args.overwrite, inputs=input_paths(args), command="analyze")
    images, study = load_images_and_study(args)
    masks = load_masks(args, images)
    if masks is None and not args.seed_lps:
        raise ModicInputError("give --seed-lps (a point inside the lesion) or a lesion --mask")
    spine, note = resolve_anatomy(anatomy_choice(args), images)  # before the long steps: a bad file fails at once
    model = None
    if not args.no_model:
        from modic.model_io import demo_model_path, load_model

        model = load_model(args.model or demo_model_path())
    with warnings.catch_warnings():  # the CLI says it in its own words below
        warnings.simplefilter("ignore", ModicWarning)
        result = analyze_case(images, seed_lps=point(args.seed_lps, "--seed-lps"), masks=masks, model=model,
                              params=args.params, normalization=args.normalization,
                              reference_lps=point(args.reference_lps, "--reference-lps"), roi_lps=roi(args.roi_lps),
                              case_id=args.case_id, jobs=args.jobs, spine=spine)
    if result.segmentation is not None:
        result.segmentation.setdefault("anatomy", {})["note"] = note
        if result.segmentation["anatomy"].get("warning"):
            sys.stderr.write(f"modic analyze: warning: {result.segmentation['anatomy']['warning']}\n")
    with atomic_directory(Path(args.out), args.overwrite, inputs=input_paths(args), command="analyze") as tmp:
        result.feature_table().to_csv(tmp / "features.csv", index=False)
        for seq, mask in result.masks.items():
            write_image(mask, tmp / f"mask_{SEQ_ARGS[seq]}.nrrd")
        summary = result.summary()
        if study is not None:
            from modic.dicom.export import export_dicom, lesion_from_results

            summary["study"] = study.record()
            export_dicom(study, [lesion_from_results(result.masks, summary, result.features)], tmp / "dicom")
        (tmp / "result.json").write_text(json.dumps({**summary, "diagnostics": result.diagnostics},
                                                    indent=2, default=str))
    seg = result.segmentation or {}
    if seg.get("plausible") is False:
        from modic.plausibility import warning_text

        sys.stderr.write(f"modic analyze: warning: {warning_text(seg['plausibility'])}; written with "
                         "\"plausible\": false in result.json\n")
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
        if pr.get("in_domain") is False:
            line += " — OUTSIDE THE TRAINING DATA: the model's answer is unreliable for this case"
    print(line)
    print(f"written to {args.out}")
    return 0
