"""`modic demo`: the whole study on the built-in synthetic cohort, end to end.

phantom cohort (154 cases like the paper's) → PyRadiomics features of every lesion on T1/T2/FS
(paper configuration, 1,874 per sequence) → Table 1/2, radiomics selection, SVM with paper-style and
nested-CV validation, pain correlations → report.html; then one case analysed from a single click
with the trained model. Re-running reuses the cohort and the cached features.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from modic.commands._common import add_overwrite_argument
from modic.errors import ModicInputError

EPILOG = """examples:
  modic demo --out demo_output               # the paper's 154-case cohort (~10-15 min on 2 cores)
  modic demo --out demo_small --cases 36     # a quicker run
outputs: demo_output/cohort/ (images, masks, manifest.csv), demo_output/features.csv,
demo_output/report/report.html (+ tables, figures, model.skops), demo_output/example_case/result.json
--out must be new or empty, or a folder `modic demo` wrote (re-running reuses its cohort and features);
with --overwrite modic's own files there are replaced and any other file is left alone (docs/OUTPUTS.md)"""


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="run the whole study on the synthetic cohort", description=__doc__,
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="demo_output", metavar="DIR", help="output folder (default demo_output)")
    p.add_argument("--cases", type=int, default=None, help="cohort size (default: the paper's 154)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the cohort and the statistics")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--params", metavar="YAML", help="PyRadiomics parameter file (default: the paper's)")
    add_overwrite_argument(p)
    p.add_argument("--signal-model", type=int, choices=(1, 2, 3, 4), default=4, dest="signal_model",
                   help="phantom signals (see modic phantom --signal-model; default 4: types overlap as in patients "
                        "and a reader's labels and ROIs; 1: generator 1, types apart by construction)")
    p.set_defaults(func=run)


def _say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


def _cohort(out: Path, cases: int | None, seed: int, overwrite: bool = False, signal_model: int = 4) -> Path:
    """Generate the phantom cohort unless an identical one is already there."""
    from modic.io import record_files, write_text
    from modic.phantom import generate_cohort

    folder = out / "cohort"
    wanted = {"n_cases": cases, "seed": seed, **({"signal_model": signal_model} if signal_model != 1 else {})}
    stamp = out / "cohort.request.json"
    if (folder / "manifest.csv").is_file() and stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        _say(f"reusing the phantom cohort in {folder}")
        return folder / "manifest.csv"
    _say("generating the synthetic cohort (T1, T2, FS; sagittal 2D geometry; "
         + ("a reader's labels and ROIs, truth masks beside them)" if signal_model == 4 else "ground-truth masks)"))
    manifest = generate_cohort(folder, n_cases=cases, seed=seed, progress=True, overwrite=overwrite,
                               signal_model=signal_model)
    write_text(stamp, json.dumps(wanted))
    record_files([stamp], command="demo")
    return manifest


def run(args: argparse.Namespace) -> int:
    if args.cases is not None and args.cases < 24:
        raise ModicInputError("--cases must be at least 24 so that every Modic type has enough cases for the "
                              "classifier's validation (the paper's proportions give type III 29/154)")
    from modic.features import load_params
    from modic.io import check_output_dir
    from modic.outputs import claim_folder

    out = Path(args.out)
    check_output_dir(out, args.overwrite, inputs=[args.params], command="demo")
    if args.params:
        load_params(args.params)  # a bad parameter file is refused before anything is written
    claim_folder(out, "demo")
    t0 = time.perf_counter()
    signal_model = getattr(args, "signal_model", 4)
    manifest = _cohort(out, args.cases, args.seed, args.overwrite, signal_model)

    from modic.batch import run_cohort

    rois = "reader's ROIs" if signal_model == 4 else "ground-truth lesion masks"
    _say(f"extracting PyRadiomics features on the {rois} (cached per case)")
    batch = run_cohort(manifest, out / "features.csv", params=args.params, jobs=args.jobs, show_progress=True,
                       overwrite=args.overwrite)
    if batch.n_failed:
        _say(f"{batch.n_failed} case(s) failed, see {batch.errors_csv}; continuing with the others")

    from modic.stats.report import run_stats

    _say("cohort statistics, feature selection, SVM and report")
    stats = run_stats(out / "features.csv", manifest, out / "report", seed=args.seed, synthetic=True,
                      progress=lambda msg: _say(f"  {msg}"), overwrite=args.overwrite)
    summary = stats.summary

    _say("analysing one case from a single click with the trained model")
    example = _example_case(manifest, out / "example_case", stats.model_path, args.params, args.overwrite)

    t1 = summary["table1"]
    sel = summary["selection"]
    hold = summary["validation"]["holdout"]["metrics"]
    nested = summary["validation"]["nested_cv"]["metrics"]
    print()
    _say(f"cohort: {summary['cohort']['n_cases']} cases, type I/II/III = "
         f"{'/'.join(str(summary['cohort']['per_type'][k]) for k in (1, 2, 3))}, "
         f"{summary['cohort']['n_features']} features")
    if signal_model == 4:
        _say("labels and T1/FS ROIs as a reader gives them (signal model 4): a reader's label disagrees with the "
             "tissue in ~14 % of lesions (manifest: true_type; the lesions themselves: truth_*)")
    _say(f"Table 1 ({t1['sequence']}): significant shape features (KW p<0.05): {', '.join(t1['significant'])}")
    _say(f"selection: {' → '.join(str(v) for v in sel['counts'].values())} features; "
         f"per sequence {sel['per_sequence']}")
    _say(f"SVM accuracy: paper-style hold-out {hold['accuracy']:.3f} | nested CV {nested['accuracy']:.3f} "
         f"(balanced {nested['balanced_accuracy']:.3f})")
    _say(example)
    _say(f"report: {stats.out_dir / 'report.html'}  ({time.perf_counter() - t0:.0f} s)")
    return 0


def _example_case(manifest: Path, out: Path, model_path: Path, params, overwrite: bool = False) -> str:
    """Analyse the first scored case from its seed point, with the model just trained."""
    import pandas as pd

    from modic.geometry import parse_point_lps
    from modic.io import atomic_directory, write_image
    from modic.manifest import load_case_images, read_manifest
    from modic.model_io import load_model
    from modic.pipeline import analyze_case

    df = read_manifest(manifest)
    row = df.iloc[0]
    images = load_case_images(row)
    ref = row.get("reference_lps")
    result = analyze_case(images, seed_lps=parse_point_lps(row["seed_lps"]), model=load_model(model_path),
                          params=params, case_id=row["case_id"],
                          reference_lps=parse_point_lps(ref) if isinstance(ref, str) else None)
    with atomic_directory(out, overwrite, command="demo") as tmp:
        pd.DataFrame([{"case_id": row["case_id"], **result.features}]).to_csv(tmp / "features.csv", index=False)
        for seq, mask in result.masks.items():
            write_image(mask, tmp / f"mask_{seq.lower()}.nrrd")
        (tmp / "result.json").write_text(json.dumps(result.summary(), indent=2, default=str))
        shutil.copy(manifest, tmp / "source_manifest.csv")
    sp, pr = result.signal_pattern, result.prediction
    return (f"example {row['case_id']} (true type {row.get('true_type', row.get('modic_type'))}): signal pattern "
            f"Modic {sp.modic_type if sp else '?'}; model type {pr['predicted_type']} "
            f"(p = {max(pr['probabilities'].values()):.2f}, synthetic model"
            f"{', outside the training data' if pr.get('in_domain') is False else ''})")
