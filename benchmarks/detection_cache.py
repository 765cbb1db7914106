"""Zero-click detection on cached parses: parse the hybrid and lesion-free real cases once, then re-run detection
(or re-parse with changed parser settings) in a minute instead of the full benchmark's half hour.

    # parse once: hybrid cases 1–3 of every realmri scan + the lesion-free scans (88 cases, ~4 min on 2 cores)
    PYTHONPATH=. python benchmarks/detection_cache.py build --cache /tmp/zc
    # more development cases (4–6 of the development scans), into the same cache
    PYTHONPATH=. python benchmarks/detection_cache.py build --cache /tmp/zc --cases 4-6 --scans dev --no-real
    # detection with its defaults, or with an option changed; development scans only
    PYTHONPATH=. python benchmarks/detection_cache.py run --cache /tmp/zc --scans dev --out base.json
    PYTHONPATH=. python benchmarks/detection_cache.py run --cache /tmp/zc --scans dev --out v.json --option z_low=2.5
    # the same cases under coil shading (benchmarks/spine_bias.py fields)
    PYTHONPATH=. python benchmarks/detection_cache.py build --cache /tmp/zc_p16 --scans dev --shading "posterior 1.6"
    # a parser setting changed: re-parse the cached images into another cache, then run there
    PYTHONPATH=. python benchmarks/detection_cache.py reparse --cache /tmp/zc --to /tmp/zc2 --scans dev \\
        --setting endplates.line_grow_mm=3.0
    PYTHONPATH=. python benchmarks/detection_cache.py compare v.json base.json

Cases, split and scoring are those of detection_accuracy.py (`hybrid_cases`, `real_normal_cases`, `DEV_SCANS`,
`evaluate`, `summarise`) with `--anatomy parsed`; seconds are detection only (the parse is cached). A cache holds
pickles of the images, ground truth and parsed spine of each case: keep it outside the repository (the realmri
rules: no derived images in the project).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import pickle
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import detection_accuracy
from detection_accuracy import DEV_SCANS, evaluate, hybrid_cases, real_normal_cases, summarise
from realmri_data import default_realmri

SETTING_TABLES = {"spine": ("modic.spine.settings", "SETTINGS"), "endplates": ("modic.spine.endplates", "SETTINGS"),
                  "denoise": ("modic.spine.denoise", "DENOISE_SETTINGS")}


def part_of(case_id: str) -> str:
    """"dev" for the development scans' cases (`DEV_SCANS`), else "held"."""
    name = case_id.removeprefix("real_")
    return "dev" if any(name == s or name.startswith(f"{s}_") for s in DEV_SCANS) else "held"


def _pairs(items: list[str]) -> dict:
    return {k.strip(): ast.literal_eval(v.strip()) for k, _, v in (i.partition("=") for i in items)}


def apply_settings(settings: dict) -> None:
    """Parser settings `table.name` = value (tables: spine, endplates, denoise) set in this process."""
    import importlib

    for key, value in settings.items():
        table, _, name = key.partition(".")
        if table not in SETTING_TABLES or not name:
            raise SystemExit(f"setting {key!r}: say spine.NAME, endplates.NAME or denoise.NAME")
        module, attr = SETTING_TABLES[table]
        target = getattr(importlib.import_module(module), attr)
        if name not in target:
            raise SystemExit(f"setting {key!r}: {module}.{attr} has no {name!r}")
        target[name] = value


def _one_thread() -> None:
    import SimpleITK as sitk

    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)


def _wanted(case_id: str, scans: str) -> bool:
    return scans == "all" or part_of(case_id) == scans


def _parse_and_store(job: tuple) -> str:
    path, case, settings = job
    from modic.detect_anatomy import parse_anatomy

    _one_thread()
    apply_settings(settings)
    t0 = time.process_time()
    case["parsed"] = parse_anatomy(case["images"])
    case["parse_seconds"] = round(time.process_time() - t0, 2)
    case["settings"] = settings
    with open(path, "wb") as f:
        pickle.dump(case, f)
    return f"{case['case_id']} {case['parse_seconds']} s"


def _cases(args):
    manifest = Path(args.realmri) / "manifest.csv"
    first, _, last = args.cases.partition("-")
    first, last = int(first), int(last or first)
    for case_id, images, mask, true_type, spine in hybrid_cases(manifest, last, seed=0):
        if first <= int(case_id.rsplit("_", 1)[1]) <= last and _wanted(case_id, args.scans):
            yield {"case_id": case_id, "images": images, "mask": mask, "true_type": true_type, "truth": spine}
    if args.real:
        for case_id, images, mask, true_type, spine in real_normal_cases(manifest):
            if _wanted(case_id, args.scans):
                yield {"case_id": case_id, "images": images, "mask": mask, "true_type": true_type, "truth": spine}


def _stored(cache: Path, scans: str):
    for path in sorted(cache.glob("*.pkl")):
        if _wanted(path.stem, scans):
            with open(path, "rb") as f:
                yield pickle.load(f)


def with_shading(case: dict, field: str) -> dict:
    """`case` with every image multiplied by the coil-shading field `field` of spine_bias.FIELDS (e.g.
    "posterior 1.6"); recorded as case["shading"]."""
    from spine_bias import FIELDS, shaded

    ratio, sign = FIELDS[field]
    return {**case, "images": {n: shaded(im, ratio, sign) for n, im in case["images"].items()}, "shading": field}


def _parse_into(folder: Path, cases, setting: list[str], jobs: int) -> None:
    """Parse `cases` (dicts) with the parser `setting`s (TABLE.NAME=VALUE) in `jobs` processes into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = _pairs(setting)
    apply_settings(settings)          # checked here: a bad name stops before any worker starts
    with Pool(jobs) as pool:
        for line in pool.imap_unordered(_parse_and_store, ((folder / f"{c['case_id']}.pkl", c, settings)
                                                           for c in cases)):
            print(line, flush=True)


def build(args) -> None:
    from spine_bias import FIELDS

    if args.shading and args.shading not in FIELDS:
        raise SystemExit(f"--shading {args.shading!r}: choose from {list(FIELDS)}")
    cases = (with_shading(c, args.shading) if args.shading else c for c in _cases(args))
    _parse_into(Path(args.cache), cases, args.setting, args.jobs)


def reparse(args) -> None:
    _parse_into(Path(args.to), _stored(Path(args.cache), args.scans), args.setting, args.jobs)


def _detect(job: tuple) -> dict:
    path, options = job
    from modic.detect import LUMBAR_ENDPLATES

    _one_thread()
    with open(path, "rb") as f:
        c = pickle.load(f)
    detection_accuracy.DETECT_OPTIONS.clear()
    detection_accuracy.DETECT_OPTIONS.update(options)
    r = evaluate(c["images"], c["mask"], c["true_type"], c["truth"], "parsed", c["case_id"], LUMBAR_ENDPLATES,
                 parsed=c["parsed"])
    r.update(part=part_of(c["case_id"]), kind="real" if c["case_id"].startswith("real_") else "hybrid")
    return r


def summary_lines(rows: list[dict]) -> list[str]:
    lines = []
    for kind in ("hybrid", "real"):
        for part in ("dev", "held"):
            rs = [r for r in rows if r["kind"] == kind and r["part"] == part]
            if not rs:
                continue
            s = summarise(rs)
            sens = "" if kind == "real" else (f" lesions {s['lesions']} found {s['detected']} "
                                              f"sensitivity {s['sensitivity']:.3f} located {s['located']:.3f}")
            lines.append(f"{kind} {part}: {s['scans']} cases{sens} false/case {s['fp_per_scan']:.2f} ({s['fp']})"
                         + (f" Dice {s['dice_mean']:.3f}" if s["dice_mean"] is not None else ""))
    return lines


def run(args) -> None:
    options = _pairs(args.option)
    paths = [p for p in sorted(Path(args.cache).glob("*.pkl")) if _wanted(p.stem, args.scans)]
    with Pool(args.jobs) as pool:
        rows = pool.map(_detect, [(p, options) for p in paths], chunksize=1)
    Path(args.out).write_text(json.dumps({"options": options, "cases": rows}, indent=1, default=str))
    print("\n".join(summary_lines(rows)))


def compare(args) -> None:
    new = {r["case_id"]: r for r in json.loads(Path(args.new).read_text())["cases"]}
    base = {r["case_id"]: r for r in json.loads(Path(args.base).read_text())["cases"]}
    for cid in sorted(set(new) & set(base)):
        a, b = new[cid], base[cid]
        if a["tp"] != b["tp"] or a["fp"] != b["fp"]:
            print(f"{cid}: found {b['tp']} -> {a['tp']}; false {b['fp']} -> {a['fp']} (truth {a['gt']})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("build", "reparse", "run"):
        p = sub.add_parser(name)
        p.add_argument("--cache", required=True, help="folder of the cached cases (outside the repository)")
        p.add_argument("--scans", choices=["dev", "held", "all"], default="all")
        p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
        if name in ("build", "reparse"):
            p.add_argument("--setting", action="append", default=[], metavar="TABLE.NAME=VALUE",
                           help="a parser setting for this parse (tables: spine, endplates, denoise)")
        if name == "build":
            p.add_argument("--realmri", default=str(default_realmri()))
            p.add_argument("--cases", default="1-3", help="hybrid case numbers per scan, e.g. 1-3 or 4-6")
            p.add_argument("--no-real", dest="real", action="store_false", help="no lesion-free scans")
            p.add_argument("--shading", default="", help="every image multiplied by a coil-shading field of "
                           "spine_bias.py, e.g. 'posterior 1.6'")
        if name == "reparse":
            p.add_argument("--to", required=True, help="folder of the re-parsed cases")
        if name == "run":
            p.add_argument("--out", required=True, help="JSON of the per-case results")
            p.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                           help="a keyword argument of modic.detect.detect_lesions")
    p = sub.add_parser("compare")
    p.add_argument("new")
    p.add_argument("base")
    args = ap.parse_args(argv)
    if args.command == "build" and not (Path(args.realmri) / "manifest.csv").is_file():
        print(f"skipped: {Path(args.realmri) / 'manifest.csv'} not found")
        return 0
    {"build": build, "reparse": reparse, "run": run, "compare": compare}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
