"""Where zero-click detection loses a lesion when the anatomy is parsed: one row per ground-truth lesion endplate.

For each lesion endplate (a lesion on both endplates of a disc gives two), with the spine parsed exactly as
`modic detect` parses it (`modic.detect_anatomy.parse_anatomy`) and detection run with its defaults:

* body: the parsed body that overlaps the ground-truth body most, and whether its name is the true level;
* in_body: share of the lesion's voxels (on that body) inside the parsed whole body;
* in_search: share inside the region detection searches (the body eroded by `search_erode_mm` +
  `parsed_extra_erode_mm`, as `modic.detect.detect_lesions` does);
* outcome, the first stage that fails: `not searched` (an endplate above L1 superior), `no body` (no parsed body
  overlaps), `outside search` (under 20 % of the lesion in the searched region), `not detected` (no detection
  overlaps the lesion: the candidate was rejected or never formed), `misnamed` (a detection overlaps it under
  another endplate's name), `found`.

Cohorts: hybrid cases (one lesion inserted into each labelled real scan of ../shared/realmri, 4 mm slices; the
detection benchmark's 8 development VB2 scans are the development part, the other scans held out) and the built-in
phantom's detection tuning cases.

    PYTHONPATH=. python benchmarks/detection_loss.py --out benchmarks/detection_loss.md
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from detection_accuracy import DEV_SCANS, _gt_endplates, hybrid_cases, phantom_cases  # sibling benchmark
from realmri_data import default_realmri
from spine_accuracy import markdown

SEARCH_SHARE = 0.2   # a lesion with less than this share in the searched region is counted as "outside search"


def _part(case_id: str) -> str:
    """The detection benchmark's split: its 8 development VB2 scans, the other real scans held out."""
    if case_id.startswith("phantom"):
        return "phantom tuning"
    return "development" if case_id.rsplit("_", 1)[0] in DEV_SCANS else "held-out"


def lesion_rows(case_id: str, images, mask, truth_spine) -> list[dict]:
    from modic.detect import LUMBAR_ENDPLATES, _structuring, detect_lesions
    from modic.detect_anatomy import body_masks, parse_anatomy

    spine = parse_anatomy(images)
    result = detect_lesions(images, spine, case_id=case_id)
    settings = result.info["settings"]
    ref = spine.labels
    lab = sitk.GetArrayFromImage(ref)
    spacing = np.asarray(ref.GetSpacing())[::-1]
    eroder = _structuring(spacing, settings["erode_mm"], spine.parsed)     # as detection erodes (method 12)
    searcher = _structuring(spacing, settings["search_erode_mm"], spine.parsed)
    detected = sitk.GetArrayFromImage(sitk.Resample(result.label_maps["T2"], ref, sitk.Transform(),
                                                    sitk.sitkNearestNeighbor, 0))
    names = {int(r.label): r.endplate for r in result.lesions.itertuples()}
    parsed = {s.level: body_masks(lab, s.level, eroder, searcher) for s in spine.vertebrae()}
    rows = []
    for key, part in _gt_endplates(mask, truth_spine, ref).items():
        level, side = key.split()
        truth_body = sitk.GetArrayFromImage(sitk.Resample(truth_spine.body_mask(level), ref, sitk.Transform(),
                                                          sitk.sitkNearestNeighbor, 0)) > 0
        overlap = {lv: int((b["whole"] & truth_body).sum()) for lv, b in parsed.items() if b}
        best = max(overlap, key=overlap.get, default=None)
        if best is not None and not overlap[best]:
            best = None
        n = max(int(part.sum()), 1)
        in_body = float((part & parsed[best]["whole"]).sum() / n) if best else 0.0
        in_search = float((part & parsed[best]["search"]).sum() / n) if best else 0.0
        hits = [names[v] for v in np.unique(detected[part]) if v in names]
        if (level, side) not in LUMBAR_ENDPLATES:
            outcome = "not searched"
        elif best is None:
            outcome = "no body"
        elif key in hits:
            outcome = "found"
        elif hits:
            outcome = "misnamed"
        elif in_search < SEARCH_SHARE:
            outcome = "outside search"
        else:
            outcome = "not detected"
        rows.append({"case": case_id, "endplate": key, "voxels": int(part.sum()), "parsed_body": best or "",
                     "name_right": best == level, "in_body": round(in_body, 3), "in_search": round(in_search, 3),
                     "outcome": outcome, "detections": ";".join(hits),
                     "rejected": ";".join(sorted({r["reason"].split(" (")[0] for r in result.info["rejected_regions"]
                                                  if r["vertebra"] == best}))})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--realmri", default=str(default_realmri()))
    ap.add_argument("--phantoms", type=int, default=8,
                    help="built-in tuning cases (seed 0; the cohort detection_accuracy.py --tune-cases N draws)")
    ap.add_argument("--max-scans", type=int, default=None)
    ap.add_argument("--hybrid-per-scan", type=int, default=1,
                    help="hybrid cases per real scan (1: the detection benchmark's cases; 3 adds cases 2 and 3)")
    ap.add_argument("--out", default=str(Path(__file__).with_name("detection_loss.md")))
    args = ap.parse_args()
    manifest = Path(args.realmri) / "manifest.csv"
    t0 = time.perf_counter()
    rows = []
    sources = [phantom_cases(0, args.phantoms, total=args.phantoms)]   # the same cases as detection_accuracy.py
    if manifest.is_file():
        sources.append(hybrid_cases(manifest, args.hybrid_per_scan, seed=0, max_scans=args.max_scans))
    for source in sources:
        for case_id, images, mask, _, truth in source:
            for r in lesion_rows(case_id, images, mask, truth):
                r["part"] = _part(case_id)
                rows.append(r)
                print(r, flush=True)
    df = pd.DataFrame(rows)
    order = ["found", "misnamed", "not detected", "outside search", "no body", "not searched"]
    summary = pd.DataFrame([{"part": part, "lesion endplates": str(len(g)),
                             **{o: str(int((g.outcome == o).sum())) for o in order},
                             "in body (median)": float(g.in_body.median()),
                             "in search (median)": float(g.in_search.median()),
                             "body named right": float(g.name_right.mean())} for part, g in df.groupby("part")])
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# Where zero-click detection loses lesions with parsed anatomy ({stamp})", "",
             f"`PYTHONPATH=. python benchmarks/detection_loss.py --hybrid-per-scan {args.hybrid_per_scan}` (see its "
             "docstring for the definitions); "
             f"{time.perf_counter() - t0:.0f} s.", "",
             markdown(summary), "",
             "## Per lesion endplate", "", markdown(df), ""]
    Path(args.out).write_text("\n".join(lines))
    df.to_csv(Path(args.out).with_suffix(".csv"), index=False)
    print(summary.to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
