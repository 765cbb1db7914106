"""Zero-click detection accuracy: sensitivity, false positives per scan, type accuracy, Dice and time.

Data sets (each case detected with `modic.detect.detect_lesions`, one core):

* built-in phantom, tuning part: cohort seed 0, `--tune-cases` cases (the detector was developed on these);
* built-in phantom, held out: cohort seed 1 (never used for tuning), `--test-cases` cases;
* built-in phantom without lesions: seed 1 cases rendered without their lesion (`modic.phantom.normal`);
* hybrid real-background cases (`modic.phantom.hybrid`, Modic bands inserted into ../shared/realmri scans,
  4 mm slices; never used for tuning), `--hybrid-per-scan` per scan;
* real scans without inserted lesions: every realmri scan with vertebral-body labels, its missing sequences
  derived as in the hybrids, at 4 mm slices (never used for tuning);
* phantom construction B (`modic.phantom.construction_b`: superquadric bodies on an arc, wedge or multi-focal
  lesions, 3.5 mm slices, coil-array noise; never used for tuning), `--b-cases` cases of seed 0.

Unit of detection: one endplate lesion (a band on both endplates of a disc is two). A detection is a true
positive when it names an endplate holding ground-truth lesion voxels and overlaps them; anything else is a
false positive. Dice: union of a case's true-positive masks against the whole ground-truth mask (T2 grid).
Type accuracy: exact type (I, II, III, I/II, II/III) of true positives. `--anatomy truth` uses the ground-truth
anatomy; `--anatomy parsed` runs `modic.spine.parse_spine` (level names of the parser count).

    .venv/bin/python benchmarks/detection_accuracy.py                      # everything, ~15 min on one core
    .venv/bin/python benchmarks/detection_accuracy.py --anatomy parsed --out benchmarks/detection_results_parsed.md

`--snr S` adds Rician noise to every image of every case (sigma = median signal of the ground-truth vertebral
bodies / S, seeded by case and sequence): the real scans are far cleaner than clinical ones.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# real scans looked at while the relative-contrast and band-height rules were chosen (hybrid cases 1 per scan
# and the lesion-free versions): reported apart from the other scans
DEV_SCANS = ("VB2_02", "VB2_04", "VB2_05", "VB2_06", "VB2_07", "VB2_08", "VB2_09", "VB2_10")
ANATOMY = {"truth": "ground truth (phantom anatomy / labelled bodies)", "parsed": "parsed by modic.spine.parse_spine"}
sys.path.insert(0, str(ROOT))


def _shared() -> Path:
    for base in (os.environ.get("MODIC_SHARED"), ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        if base and (Path(base) / "realmri" / "manifest.csv").is_file():
            return Path(base)
    return ROOT.parent / "shared"


def _gt_endplates(mask_t2, spine, grid):
    """{"L4 inferior": bool array on `grid`} of ground-truth lesion voxels per endplate (body of the spine)."""
    import SimpleITK as sitk

    from modic.spine.model import LEVELS

    m = sitk.GetArrayViewFromImage(mask_t2) > 0
    lab = sitk.Resample(spine.labels, grid, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    arr = sitk.GetArrayFromImage(lab)
    out = {}
    for s in spine.vertebrae():
        body = sitk.GetArrayFromImage(sitk.Resample(spine.body_mask(s.level), grid, sitk.Transform(),
                                                        sitk.sitkNearestNeighbor, 0)) > 0
        part = m & body
        if part.sum() < 20:
            continue
        # which face: compare with the endplate zones, else with the body centre along the spine
        sup = (part & (arr == 30 + LEVELS.index(s.level))).sum()
        inf = (part & (arr == 50 + LEVELS.index(s.level))).sum()
        out[f"{s.level} {'superior' if sup >= inf else 'inferior'}"] = part
    return out


DETECT_OPTIONS: dict = {}  # keyword arguments of detect_lesions (--option name=value)


def evaluate(images, mask_t2, true_type, spine_truth, anatomy: str, case_id: str, endplates, parsed=None) -> dict:
    """One case's detection against its ground truth; `parsed`: a spine parsed before (detection_cache.py), used
    instead of parsing again when `anatomy` is "parsed"."""
    import SimpleITK as sitk

    from modic.detect import detect_lesions

    spine = spine_truth
    t0 = time.process_time()
    if anatomy == "parsed":      # exactly as `modic detect` parses when no anatomy is given (T1, T2, FS order)
        from modic.detect_anatomy import parse_anatomy

        spine = parsed if parsed is not None else parse_anatomy(images)
    t_parse = time.process_time() - t0
    res = detect_lesions(images, spine, case_id=case_id, endplates=endplates, **DETECT_OPTIONS)
    seconds = time.process_time() - t0
    grid = mask_t2 if mask_t2 is not None else images["T2"]
    gt = _gt_endplates(mask_t2, spine_truth, grid) if mask_t2 is not None else {}
    searched = {f"{a} {b}" for a, b in endplates}
    gt_searched = {k: v for k, v in gt.items() if k in searched}
    lab = sitk.GetArrayFromImage(sitk.Resample(res.label_maps["T2"], grid, sitk.Transform(),
                                                   sitk.sitkNearestNeighbor, 0))
    tp, fp, types, union = [], [], [], np.zeros(lab.shape, bool)
    located, fp_away = set(), []          # by place only, whatever the level name (parsed naming can be off)
    any_lesion = sitk.GetArrayViewFromImage(mask_t2) > 0 if mask_t2 is not None else np.zeros(lab.shape, bool)
    for row in res.lesions.itertuples():
        det = lab == int(row.label)
        located |= {ep for ep, m in gt_searched.items() if (det & m).any()}
        if not (det & any_lesion).any():
            fp_away.append(f"{row.endplate} {row.modic_type}")
        if row.endplate in gt_searched and (det & gt_searched[row.endplate]).any():
            tp.append(row.endplate)
            types.append((row.modic_type, true_type))
            union |= det
        else:
            fp.append(f"{row.endplate} {row.modic_type}")
    dice = dice_found = None
    if mask_t2 is not None and gt_searched:
        truth = sitk.GetArrayViewFromImage(mask_t2) > 0
        dice = float(2 * (union & truth).sum() / (union.sum() + truth.sum()))
        if tp:                   # the outline of what was found: the found endplates' lesion parts only
            found = np.zeros(lab.shape, bool)
            for ep in set(tp):
                found |= gt_searched[ep]
            dice_found = float(2 * (union & found).sum() / (union.sum() + found.sum()))
    return {"case_id": case_id, "gt": sorted(gt_searched), "gt_outside": sorted(set(gt) - searched),
            "tp": sorted(set(tp)), "fp": fp, "located": sorted(located), "fp_away": fp_away,
            "types": types, "dice": dice, "dice_found": dice_found, "seconds": round(seconds, 2),
            "parse_seconds": round(t_parse, 2), "true_type": true_type}


def phantom_cases(seed: int, n: int, start: int = 0, total: int | None = None):
    from modic.phantom import cohort_specs, synthesize
    from modic.phantom.anatomy import spine_from_phantom_anatomy

    for spec in cohort_specs(seed=seed, n_cases=total)[start:start + n]:
        case = synthesize(spec)
        yield case.case_id, case.images, case.masks["T2"], case.true_type, spine_from_phantom_anatomy(case.anatomy)


def normal_cases(seed: int, n: int):
    from modic.phantom.anatomy import spine_from_phantom_anatomy
    from modic.phantom.normal import lesion_free_case

    for i in range(n):
        case = lesion_free_case(i, seed=seed, case_id=f"normal_{seed}_{i + 1:03d}")
        yield case.case_id, case.images, None, None, spine_from_phantom_anatomy(case.anatomy)


def hybrid_cases(manifest: Path, per_scan: int, seed: int, max_scans: int | None = None):
    from modic.phantom.hybrid import hybrid_specs, load_background, make_hybrid_case, read_backgrounds

    rows = read_backgrounds(manifest)[:max_scans]
    bgs = {r["name"]: r for r in rows}
    cache = {}
    for spec in hybrid_specs(rows, per_scan=per_scan, slice_mm=4.0, seed=seed):
        if spec.background not in cache:
            cache.clear()
            cache[spec.background] = load_background(bgs[spec.background])
        case = make_hybrid_case(cache[spec.background], spec)
        yield case.case_id, case.images, case.masks["T2"], case.true_type, case.spine


def construction_b_cases(n: int, seed: int = 0):
    from modic.phantom.construction_b import make_case_b, specs_b

    for spec in specs_b(n_cases=n, seed=seed):
        case = make_case_b(spec)
        yield case.case_id, case.images, case.masks["T2"], case.true_type, case.spine


def real_normal_cases(manifest: Path, max_scans: int | None = None):
    from modic.phantom.hybrid import lesion_free_case, read_backgrounds

    for row in read_backgrounds(manifest)[:max_scans]:
        images, spine = lesion_free_case(row, 4.0)
        yield f"real_{row['name']}", images, None, None, spine


def with_rician_noise(images: dict, spine, snr: float, case_id: str) -> dict:
    """`images` with Rician noise of sigma = (median signal in `spine`'s vertebral bodies) / `snr` on each sequence;
    seeded by case and sequence name."""
    import SimpleITK as sitk
    from spine_accuracy import add_rician_noise  # sibling module (benchmarks/)

    out = {}
    for name, image in images.items():
        lab = sitk.GetArrayFromImage(sitk.Resample(spine.labels, image, sitk.Transform(), sitk.sitkNearestNeighbor, 0))
        out[name] = add_rician_noise(image, (lab >= 10) & (lab < 30), snr, f"{case_id} {name}")
    return out


def summarise(rows: list[dict]) -> dict:
    n_gt = sum(len(r["gt"]) for r in rows)
    n_tp = sum(len(r["tp"]) for r in rows)
    n_fp = sum(len(r["fp"]) for r in rows)
    types = [t for r in rows for t in r["types"]]
    dices = [r["dice"] for r in rows if r["dice"] is not None]
    found = [r["dice_found"] for r in rows if r.get("dice_found") is not None]
    secs = [r["seconds"] for r in rows]
    n_loc = sum(len(r.get("located", r["tp"])) for r in rows)
    n_away = sum(len(r.get("fp_away", r["fp"])) for r in rows)
    return {"scans": len(rows), "lesions": n_gt, "detected": n_tp,
            "located": n_loc / n_gt if n_gt else None, "fp_away_per_scan": n_away / max(len(rows), 1),
            "sensitivity": n_tp / n_gt if n_gt else None, "fp": n_fp, "fp_per_scan": n_fp / max(len(rows), 1),
            "type_accuracy": float(np.mean([a == b for a, b in types])) if types else None,
            "dominant_type_accuracy": float(np.mean([a.split("/")[0] == b.split("/")[0] or b in a.split("/")
                                                     for a, b in types])) if types else None,
            "dice_mean": float(np.mean(dices)) if dices else None,
            "dice_median": float(np.median(dices)) if dices else None,
            "dice_found_mean": float(np.mean(found)) if found else None,
            "seconds_median": float(np.median(secs)) if secs else None,
            "seconds_max": float(np.max(secs)) if secs else None,
            "outside_searched": sum(len(r["gt_outside"]) for r in rows)}


def _fmt(v, p=3):
    return "–" if v is None else (f"{v:.{p}f}" if isinstance(v, float) else str(v))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--anatomy", choices=["truth", "parsed"], default="truth")
    ap.add_argument("--tune-cases", type=int, default=24)
    ap.add_argument("--test-cases", type=int, default=60)
    ap.add_argument("--normal-cases", type=int, default=20)
    ap.add_argument("--hybrid-per-scan", type=int, default=2)
    ap.add_argument("--b-cases", type=int, default=20, help="construction-B cases (part b)")
    ap.add_argument("--max-scans", type=int, default=None, help="real scans used (default all)")
    ap.add_argument("--parts", default="tune,test,normal,hybrid,real,b")
    ap.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                    help="a detect_lesions keyword argument (Python literal), e.g. anatomy_aware_segmentation=True")
    ap.add_argument("--reuse", nargs="*", default=[], metavar="JSON",
                    help="per-case records of earlier runs (their .json): parts found there are not recomputed")
    ap.add_argument("--snr", type=float, default=None,
                    help="add Rician noise at this marrow SNR to every image of every case")
    ap.add_argument("--out", default=str(Path(__file__).with_name("detection_results.md")))
    args = ap.parse_args()
    import ast

    for opt in args.option:
        name, _, value = opt.partition("=")
        DETECT_OPTIONS[name.strip()] = ast.literal_eval(value.strip())

    import SimpleITK as sitk

    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)   # one core
    from modic.detect import LUMBAR_ENDPLATES

    endplates = tuple(DETECT_OPTIONS.pop("endplates", LUMBAR_ENDPLATES))   # --option endplates=… widens the search
    shared = _shared()
    realmri = shared / "realmri" / "manifest.csv"
    parts = {
        "tune": (f"Built-in phantom, tuning part (seed 0, cases 1–{args.tune_cases})",
                 lambda: phantom_cases(0, args.tune_cases, total=args.tune_cases)),
        "test": (f"Built-in phantom, held out (seed 1, cases 1–{args.test_cases} of 154)",
                 lambda: phantom_cases(1, args.test_cases)),
        "normal": (f"Built-in phantom without lesions (seed 1, {args.normal_cases} scans)",
                   lambda: normal_cases(1, args.normal_cases)),
        "hybrid": (f"Hybrid: lesions inserted into real scans ({args.hybrid_per_scan} per scan, 4 mm slices)",
                   lambda: hybrid_cases(realmri, args.hybrid_per_scan, seed=0, max_scans=args.max_scans)),
        "real": ("Real scans without inserted lesions (realmri with body labels, 4 mm slices)",
                 lambda: real_normal_cases(realmri, args.max_scans)),
        "b": (f"Phantom construction B (seed 0, {args.b_cases} cases; never tuned on)",
              lambda: construction_b_cases(args.b_cases)),
    }
    wanted = [p for p in args.parts.split(",") if p]
    log = Path(args.out).with_suffix(".json")
    results: dict[str, list] = {}
    for old in args.reuse:
        results.update(json.loads(Path(old).read_text()))
    t_start = time.perf_counter()
    for name in wanted:
        title, gen = parts[name]
        if name in results:
            continue
        if name in ("hybrid", "real") and not realmri.is_file():
            print(f"{name}: skipped — {realmri} not found", file=sys.stderr)
            continue
        rows = []
        for case_id, images, mask, true_type, spine in gen():
            if args.snr:
                images = with_rician_noise(images, spine, args.snr, case_id)
            r = evaluate(images, mask, true_type, spine, args.anatomy, case_id, endplates)
            rows.append(r)
            print(f"[{name}] {case_id}: gt {r['gt']} tp {r['tp']} fp {r['fp']} types {r['types']} "
                  f"dice {_fmt(r['dice'])} {r['seconds']} s", file=sys.stderr, flush=True)
        results[name] = rows
        log.write_text(json.dumps(results, indent=1))
    log.write_text(json.dumps(results, indent=1))
    lines = ["# Zero-click detection: accuracy and time", "",
             f"`{' '.join(['python', 'benchmarks/detection_accuracy.py', *sys.argv[1:]])}` — "
             f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, {platform.node()}, one core "
             f"(SimpleITK 1 thread; CPU seconds of the detection per case, feature extraction not counted).", "",
             f"Anatomy: **{ANATOMY[args.anatomy]}**. Searched endplates: "
             f"{', '.join(f'{a} {b}' for a, b in endplates)} (lesions elsewhere are listed as outside)."
             + (f" Every image with Rician noise at marrow SNR {args.snr:g}." if args.snr else ""), "",
             "| data | scans | lesions | sensitivity | FP / scan | located | FP away / scan | type accuracy (exact) "
             "| dominant type | Dice mean (median) | Dice of the found | s / case median (max) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    table_rows = []
    for name in wanted:
        if name not in results:
            continue
        table_rows.append((parts[name][0], results[name]))
        if name in ("hybrid", "real"):
            dev = [r for r in results[name] if any(d in r["case_id"] for d in DEV_SCANS)]
            rest = [r for r in results[name] if r not in dev]
            table_rows += [(f"… of which scans seen in development ({len(DEV_SCANS)} VB2 scans)", dev),
                           ("… of which the other scans (held out)", rest)]
    for title, rows in table_rows:
        s = summarise(rows)
        lines.append(f"| {title} | {s['scans']} | {s['lesions']} | {_fmt(s['sensitivity'])} | "
                     f"{_fmt(s['fp_per_scan'], 2)} ({s['fp']}) | {_fmt(s['located'])} | "
                     f"{_fmt(s['fp_away_per_scan'], 2)} | {_fmt(s['type_accuracy'])} | "
                     f"{_fmt(s['dominant_type_accuracy'])} | {_fmt(s['dice_mean'])} ({_fmt(s['dice_median'])}) | "
                     f"{_fmt(s['dice_found_mean'])} | {_fmt(s['seconds_median'], 1)} ({_fmt(s['seconds_max'], 1)}) |")
    lines += ["", "Targets (issue #14): built-in phantom sensitivity ≥ 0.95, ≤ 0.2 FP/scan, type accuracy ≥ 0.95, "
              "Dice ≥ 0.80; hybrid sensitivity ≥ 0.90 at ≤ 0.5 FP/scan; real scans without lesions ≤ 0.5 FP/scan; "
              "≤ 10 s per case on one core.", "",
              "Sensitivity and FP count a detection as true when it overlaps the lesion *and* names its endplate "
              "right. located = share of lesion endplates overlapped by a detection whatever its name; FP away = "
              "detections overlapping no lesion at all. With ground-truth anatomy the two pairs agree; with parsed "
              "anatomy the difference is level naming.", "", "## Misses and false positives", ""]
    for name in wanted:
        for r in results.get(name, []):
            missed = sorted(set(r["gt"]) - set(r["tp"]))
            wrong = [f"{a} (truth {b})" for a, b in r["types"] if a != b]
            if missed or r["fp"] or wrong:
                lines.append(f"- {name} {r['case_id']}: missed {missed or '–'}; FP {r['fp'] or '–'}; "
                             f"type {wrong or 'ok'}; Dice {_fmt(r['dice'])}")
    wall = time.perf_counter() - t_start
    lines += ["", "Dice: per case, the found lesions' masks against the case's whole lesion mask (a missed lesion "
              "counts as 0), mean (median) over the cases with a lesion. Dice of the found: the same masks against "
              "the lesion parts at the endplates they were found at (how well a found lesion is outlined), mean over "
              f"the cases with a found lesion. Wall time of this run {wall:.0f} s "
              "(parts merged from earlier runs with --reuse are not timed here); per-case records in "
              f"`{log.name}`."]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:16]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
