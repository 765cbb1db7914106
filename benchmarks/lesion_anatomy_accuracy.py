"""One-click segmentation with and without spine anatomy on three kinds of data; signal-pattern typing.

Cohorts (`--cohort`):
* `builtin`: the default phantom (construction A, `cohort_specs(seed=0)`), anatomy from its ground truth;
* `hybrid`: Modic lesions inserted into the real scans of ../shared/realmri (`modic.phantom.hybrid`, 3 per
  scan, 4 mm slices); split by scan: the first half of each subset (VB2, VB3) is the tuning part, the rest is
  held out;
* `B`: phantom construction B (`modic.phantom.construction_b`, never used for tuning).

Methods per case: `none` (no anatomy: the mixture method), `truth` (ground-truth anatomy), `parsed`
(`modic.spine.parse_spine` on the case's images, when available; `--parsed-cache DIR` reads spines parsed
elsewhere, one pickle of (spine, seconds) per case id). The anatomy method is the marrow deviation
(`modic.lesion_marrow`); `--options "{'level': 0.45}"` passes other settings to it (tuning). Rows go to a CSV
(`--csv`); `--report` turns the CSVs into benchmarks/lesion_anatomy_results.md (for each case and method the
last row wins, so a CSV of "none" rows from an earlier run can be combined with new anatomy rows).

    .venv/bin/python benchmarks/lesion_anatomy_accuracy.py --cohort hybrid --csv /tmp/hybrid.csv
    .venv/bin/python benchmarks/lesion_anatomy_accuracy.py --report /tmp/hybrid.csv /tmp/b.csv /tmp/builtin.csv
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np
from realmri_data import default_realmri  # sibling module (benchmarks/ is the script's folder)

FIELDS = ("cohort", "case_id", "split", "modic_type", "method", "level", "dice", "gt_voxels", "seg_voxels",
          "seconds", "parse_seconds", "typed_gt", "typed_seg", "note")


def _cases(cohort: str, n: int | None, realmri: Path, per_scan: int = 3, skip: int = 0, done=frozenset()):
    if cohort == "builtin":
        from modic.phantom import cohort_specs, synthesize
        from modic.phantom.anatomy import spine_from_phantom_anatomy

        for spec in cohort_specs(seed=0)[skip:n]:
            if spec.case_id in done:
                continue
            case = synthesize(spec)
            case.spine = spine_from_phantom_anatomy(case.anatomy)
            yield case, "tune" if int(case.case_id.split("_")[-1]) % 2 else "held-out"
    elif cohort == "hybrid":
        from modic.phantom.hybrid import hybrid_specs, load_background, make_hybrid_case, read_backgrounds

        rows = read_backgrounds(realmri)
        split = {}
        for subset in ("VB2", "VB3"):
            names = [r["name"] for r in rows if r["name"].startswith(subset)]
            split.update({nm: "tune" if i < len(names) // 2 else "held-out" for i, nm in enumerate(names)})
        specs = [s for s in hybrid_specs(rows, per_scan=per_scan)[skip:n] if s.case_id not in done]
        # tuning and held-out scans interleaved, so that a partial run has both
        tune = [nm for nm in split if split[nm] == "tune"]
        held = [nm for nm in split if split[nm] != "tune"]
        order = [nm for pair in zip(tune, held, strict=False) for nm in pair] + tune[len(held):] + held[len(tune):]
        specs.sort(key=lambda s: order.index(s.background))
        by_name = {r["name"]: r for r in rows}
        bg = None
        for spec in specs:
            if bg is None or bg.name != spec.background:
                bg = load_background(by_name[spec.background])
            yield make_hybrid_case(bg, spec), split.get(spec.background, "held-out")
    else:
        from modic.phantom.construction_b import make_case_b, specs_b

        for spec in [s for s in specs_b(n or 30, seed=0)[skip:] if s.case_id not in done]:
            yield make_case_b(spec), "held-out"


def _cached(cache: Path | None, done: set, cases):
    """Cases (and their parsed spines, once parsed) from/to pickles in `cache` (re-runs skip generation)."""
    import pickle

    if cache is None:
        yield from cases
        return
    yield from (pickle.loads(p.read_bytes()) for p in sorted(cache.glob("*.pkl")) if p.stem not in done)
    for case, split in cases:
        (cache / f"{case.case_id}.pkl").write_bytes(pickle.dumps((case, split)))
        yield case, split


def run(args) -> None:
    from modic.segment import dice, segment_lesion
    from modic.signal_pattern import type_from_signal

    try:
        from modic.spine import parse_spine
    except ImportError:
        parse_spine = None
    import ast

    options = ast.literal_eval(args.options) if args.options else {}
    out = open(args.csv, "a" if args.resume else "w", newline="")
    writer = csv.DictWriter(out, FIELDS)
    if not args.resume:
        writer.writeheader()
    done = set()
    if args.resume and Path(args.csv).is_file():
        import pandas as pd

        done = set(pd.read_csv(args.csv)["case_id"])
    cache = Path(args.cache) if args.cache else None
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
    cached = {p.stem for p in cache.glob("*.pkl")} if cache else set()
    manifest = Path(args.realmri) / "manifest.csv"
    fresh = _cases(args.cohort, args.cases, manifest, args.per_scan, args.skip, done | cached)
    for case, split in _cached(cache, done, fresh):
        if case.case_id in done:
            continue
        typed_gt = type_from_signal(case.images, case.masks, reference_lps=case.reference_lps).modic_code
        spines = {"none": None, "truth": case.spine}
        if args.no_baseline:
            spines.pop("none")
        parse_s = getattr(case, "parse_seconds", "")
        external = Path(args.parsed_cache) / f"{case.case_id}.pkl" if args.parsed_cache else None
        if external is not None and external.is_file():
            import pickle

            spines["parsed"], parse_s = pickle.loads(external.read_bytes())
            parse_s = round(parse_s, 2)
        elif getattr(case, "parsed", None) is not None and not args.no_parse:
            spines["parsed"] = case.parsed
        elif parse_spine is not None and not args.no_parse:
            t0 = time.perf_counter()
            spines["parsed"] = case.parsed = parse_spine({s: case.images[s] for s in ("T2", "T1", "FS")})
            parse_s = case.parse_seconds = round(time.perf_counter() - t0, 2)
            if cache:
                import pickle

                (cache / f"{case.case_id}.pkl").write_bytes(pickle.dumps((case, split)))
        for method, spine in spines.items():
            if method == "parsed" and spine is None:
                continue
            for level in (options.get("level", 0.4) if spine is not None else float("nan"),):
                kw = {} if spine is None else {"spine": spine, "marrow_options": options}
                note = ""
                t0 = time.perf_counter()
                try:
                    r = segment_lesion(case.images, case.seed_lps, **kw)
                    seconds = time.perf_counter() - t0
                    d = float(np.mean([dice(r.masks[s], case.masks[s]) for s in case.masks]))
                    seg_vox = r.info["voxels"]["T2"]
                    note = r.info["anatomy"].get("constrained_by", "")
                    try:
                        typed = type_from_signal(case.images, r.masks, reference_lps=case.reference_lps).modic_code
                    except Exception as exc:  # e.g. the mask covers the reference point: typing fails
                        typed, note = 0, f"{note}; typing: {exc}"[:80]
                except Exception as exc:  # a failed segmentation counts as Dice 0
                    seconds, d, seg_vox, typed, note = time.perf_counter() - t0, 0.0, 0, 0, f"error: {exc}"[:80]
                writer.writerow({"cohort": args.cohort, "case_id": case.case_id, "split": split,
                                 "modic_type": case.modic_type, "method": method, "level": level,
                                 "dice": round(d, 4), "gt_voxels": _sum(case.masks["T2"]),
                                 "seg_voxels": seg_vox, "seconds": round(seconds, 3),
                                 "parse_seconds": parse_s if method == "parsed" else "",
                                 "typed_gt": int(typed_gt == case.modic_type),
                                 "typed_seg": int(typed == case.modic_type), "note": note})
                out.flush()
                print(f"{args.cohort} {case.case_id} {split} type {case.modic_type} {method} {level}: Dice {d:.3f} "
                      f"({seconds:.2f} s) {note}", flush=True)
    out.close()


def _sum(img) -> int:
    import SimpleITK as sitk

    return int(sitk.GetArrayViewFromImage(img).sum())


def report(paths: list[str], out: Path, level: float) -> None:
    import pandas as pd

    df = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    df = df.drop_duplicates(["cohort", "case_id", "method"], keep="last")
    from datetime import datetime, timezone

    lines = ["# One-click segmentation with spine anatomy: built-in phantom, hybrid real-background cases, "
             "construction B", "",
             "Written by `benchmarks/lesion_anatomy_accuracy.py --report` on "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores, shared machine "
             f"(load average {os.getloadavg()[0]:.1f}: seconds are "
             f"noisy, several times the idle figure). Anatomy method: marrow deviation (modic.lesion_marrow), "
             f"level {level:g}.", "",
             "Dice = mean over the T1, T2 and FS grids against the ground-truth mask; typing = signal-pattern type "
             "(dominant) equals the inserted type, with the case's normal-marrow reference point; seconds = one "
             "click (segmentation only; spine parsing is listed apart).", "",
             "| cohort | split | method | cases | Dice mean | Dice median | Dice min | I | II | III "
             "| typing (truth mask) | typing (segmented) | s/click median | s/click max | parse s median |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (cohort, split, method), g in df.groupby(["cohort", "split", "method"], sort=False):
        per = [g[g["modic_type"] == t]["dice"].mean() for t in (1, 2, 3)]
        ps = pd.to_numeric(g["parse_seconds"], errors="coerce")
        lines.append(f"| {cohort} | {split} | {method} | {len(g)} | {g['dice'].mean():.3f} | {g['dice'].median():.3f} "
                     f"| {g['dice'].min():.3f} | " + " | ".join(f"{v:.3f}" for v in per)
                     + f" | {g['typed_gt'].mean():.3f} | {g['typed_seg'].mean():.3f} | {g['seconds'].median():.2f} "
                     f"| {g['seconds'].max():.2f} | {'' if ps.isna().all() else f'{ps.median():.2f}'} |")
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohort", choices=("builtin", "hybrid", "B"))
    ap.add_argument("--cases", type=int, default=None)
    ap.add_argument("--options", default="", help="settings passed to the marrow deviation, a Python dict literal")
    ap.add_argument("--parsed-cache", default=None, help="folder of (spine, seconds) pickles named <case_id>.pkl")
    ap.add_argument("--no-parse", action="store_true")
    ap.add_argument("--no-baseline", action="store_true", help="skip the method without anatomy")
    ap.add_argument("--per-scan", type=int, default=3, help="hybrid: cases per real scan")
    ap.add_argument("--skip", type=int, default=0, help="skip the first N cases")
    ap.add_argument("--resume", action="store_true", help="append to --csv, skipping the cases it holds")
    ap.add_argument("--cache", default=None, help="folder of pickled cases: generated once, reused by later runs")
    ap.add_argument("--realmri", default=str(default_realmri()))
    ap.add_argument("--csv", default=None)
    ap.add_argument("--report", nargs="+", default=None, metavar="CSV")
    ap.add_argument("--level", type=float, default=0.4, help="marrow-deviation level named in the report")
    ap.add_argument("--out", default=str(Path(__file__).with_name("lesion_anatomy_results.md")))
    args = ap.parse_args()
    if args.report:
        report(args.report, Path(args.out), args.level)
        return 0
    if not args.cohort or not args.csv:
        ap.error("--cohort and --csv (or --report)")
    run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
