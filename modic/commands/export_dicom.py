"""`modic export-dicom`: results computed earlier → DICOM SEG + TID 1500 SR referencing the study's series."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from modic.errors import ModicInputError

EPILOG = """examples:
  modic analyze --t1 t1.nrrd --t2 t2.nrrd --fs fs.nrrd --seed-lps="4;38;-165" --out case01/
  modic export-dicom --study /data/STUDY01 --results case01/ --out case01_dicom/
reads RESULTS/mask_<seq>.nrrd (from segment or analyze), result.json (types, prediction, the series used) and
features.csv when present — or a `modic detect` folder (lesions.csv, lesions_<seq>.nrrd, spine_labels.nrrd);
writes OUT/seg_<seq>.dcm (one DICOM SEG per series) and OUT/sr.dcm (TID 1500).
The masks must lie on the study's images (same patient space); the series used are those named in
result.json, else --t1-series/--t2-series/--fs-series, else the recognised ones."""

MASKS = {"T1": "mask_t1", "T2": "mask_t2", "FS": "mask_fs"}


def add_parser(sub) -> None:
    from modic.commands._common import add_overwrite_argument, add_study_arguments

    p = sub.add_parser("export-dicom", help="earlier results → DICOM SEG + SR on a study",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_study_arguments(p)
    p.add_argument("--results", required=True, metavar="DIR",
                   help="output folder of modic segment / analyze / detect")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the DICOM files")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from modic.dicom.export import export_dicom, lesion_from_results
    from modic.dicom.study import load_study
    from modic.io import atomic_directory, check_output_dir, read_image

    if not args.study:
        raise ModicInputError("give --study (the DICOM study the results were computed on)")
    results = Path(args.results)
    if not results.is_dir():
        raise ModicInputError(f"--results {results} is not a folder — give the output folder of modic analyze/segment")
    inputs = [args.study, args.results]
    check_output_dir(args.out, args.overwrite, inputs=inputs, command="export-dicom")
    summary: dict = {}
    for name in ("result.json", "segmentation.json"):
        if (results / name).is_file():
            try:
                data = json.loads((results / name).read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise ModicInputError(f"{results / name} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
            summary = data if name == "result.json" else {"segmentation": data, "study": data.get("study")}
            break
    used = ((summary.get("study") or {}).get("series") or {})
    overrides = {seq: getattr(args, f"{seq.lower()}_series", None) or (used.get(seq) or {}).get("uid")
                 for seq in MASKS}
    study = load_study(args.study, overrides)
    if (results / "lesions.csv").is_file():       # a `modic detect` folder: one lesion per row, and the spine
        from modic.dicom.export import lesions_from_detection

        lesions, spine = lesions_from_detection(results)
        if not lesions:
            raise ModicInputError(f"{results / 'lesions.csv'} lists no lesion — nothing to export")
        with atomic_directory(Path(args.out), args.overwrite, inputs=inputs, command="export-dicom") as tmp:
            written = export_dicom(study, lesions, tmp, spine=spine)
        print(f"wrote {', '.join(p.name for p in written.values())} ({len(lesions)} lesion(s)) to {args.out}")
        return 0
    masks = {seq: read_image(results / f"{stem}.nrrd", what=f"{seq} mask")
             for seq, stem in MASKS.items() if (results / f"{stem}.nrrd").is_file() and seq in study.volumes}
    if not masks:
        raise ModicInputError(f"no mask_t1/mask_t2/mask_fs.nrrd in {results} for the study's series — export needs "
                              "the masks written by modic segment/analyze")
    features = {}
    if (results / "features.csv").is_file():
        row = pd.read_csv(results / "features.csv").iloc[0].to_dict()
        features = {k: v for k, v in row.items() if k != "case_id"}
    lesion = lesion_from_results(masks, summary, features)
    with atomic_directory(Path(args.out), args.overwrite, inputs=inputs, command="export-dicom") as tmp:
        written = export_dicom(study, [lesion], tmp)
    print(f"wrote {', '.join(p.name for p in written.values())} to {args.out}")
    return 0
