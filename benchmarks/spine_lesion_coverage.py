"""Does the parsed spine hold the Modic lesion? Lesion coverage of parsed vertebral bodies on three cohorts.

A Modic lesion is vertebral marrow next to an endplate whose signal differs from normal marrow; a spine parser
that follows normal marrow signal leaves it out of the body (or calls it disc), and then every anatomy-aware
step downstream gets nothing. Per case (`modic.spine.parse_spine` on T2, T1, FS; labels on the T2 grid):

* coverage: share of ground-truth lesion voxels inside the parsed whole body (endplate zones included) that
  matches (centroid ≤ 10 mm) the ground-truth body holding the voxel; lesions on both endplates of a disc use
  both bodies. Naming is not scored here (see spine_results.md);
* in disc: share of lesion voxels the parser labelled disc;
* body Dice of the lesion's bodies, and disc Dice (of the disc next to the lesion, where discs are labelled).

Cohorts: `builtin` (the default phantom, construction A; tune = odd case numbers), `hybrid` (lesions inserted
into the real scans of ../shared/realmri at 4 mm slices; tune = the first half of each subset's scans, as in
spine_accuracy.py), `B` (construction B, never tuned on). Cases are cached as pickles (`--cache`).

    PYTHONPATH=. python benchmarks/spine_lesion_coverage.py --cache /work/scratch/j13p/cov_cache
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from realmri_data import default_realmri  # sibling module (benchmarks/ is the script's folder)

from modic.segment import dice

SEQS = ("T2", "T1", "FS")


def builtin_cases(n: int):
    from modic.phantom import cohort_specs, synthesize
    from modic.phantom.anatomy import spine_from_phantom_anatomy

    for spec in cohort_specs(seed=0)[:n]:
        case = synthesize(spec)
        case.spine = spine_from_phantom_anatomy(case.anatomy)
        yield case, "tune" if int(case.case_id.split("_")[-1]) % 2 else "held-out"


def hybrid_cases(n: int, manifest: Path, per_scan: int):
    from modic.phantom.hybrid import hybrid_specs, load_background, make_hybrid_case, read_backgrounds

    rows = read_backgrounds(manifest)
    split = {}
    for subset in ("VB2", "VB3"):
        names = [r["name"] for r in rows if r["name"].startswith(subset)]
        half = (len(names) + 1) // 2
        split.update({nm: "tune" if i < half else "held-out" for i, nm in enumerate(names)})
    by_name = {r["name"]: r for r in rows}
    bg = None
    for spec in hybrid_specs(rows, per_scan=per_scan)[:n]:
        if bg is None or bg.name != spec.background:
            bg = load_background(by_name[spec.background])
        yield make_hybrid_case(bg, spec), split.get(spec.background, "held-out")


def b_cases(n: int):
    from modic.phantom.construction_b import make_case_b, specs_b

    for spec in specs_b(n, seed=0):
        yield make_case_b(spec), "held-out"


def cached(cohort: str, gen, cache: Path | None):
    """(case, split) from pickles in cache/cohort (written on first use)."""
    if cache is None:
        yield from gen
        return
    folder = cache / cohort
    folder.mkdir(parents=True, exist_ok=True)
    files = sorted(folder.glob("*.pkl"))
    if files:
        for p in files:
            yield pickle.loads(p.read_bytes())
        return
    for case, split in gen:
        case.parsed = None
        (folder / f"{case.case_id}.pkl").write_bytes(pickle.dumps((case, split)))
        yield case, split


def _arr(img: sitk.Image, ref: sitk.Image) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.Resample(img, ref, sitk.Transform(), sitk.sitkNearestNeighbor, 0))


def _centroid(mask: np.ndarray, ref: sitk.Image) -> np.ndarray:
    idx = np.argwhere(mask).mean(axis=0)[::-1]
    return np.asarray(ref.TransformContinuousIndexToPhysicalPoint([float(v) for v in idx]))


def measure(case, spine) -> dict:
    """Coverage, share in disc, body and disc Dice of one case (arrays on the parsed labels' grid)."""
    from modic.spine.model import DISC_BASE, VERTEBRA_BASE, label_name

    ref = spine.labels
    lab = sitk.GetArrayFromImage(ref)
    truth = _arr(case.spine.labels, ref)
    lesion = _arr(case.masks["T2"], ref) > 0
    n = int(lesion.sum())
    parsed = {v.level: sitk.GetArrayFromImage(spine.body_mask(v.level)) > 0 for v in spine.vertebrae()}
    pc = {k: _centroid(m, ref) for k, m in parsed.items() if m.any()}
    covered = np.zeros(lesion.shape, bool)
    dices, used = [], []
    for v in case.spine.vertebrae():
        tb = np.isin(truth, [v.label, v.label + 20, v.label + 40])
        share = (lesion & tb).sum()
        if not tb.any() or share < 0.02 * max(n, 1):
            continue
        c = _centroid(tb, ref)
        best = min(pc, key=lambda k: np.linalg.norm(pc[k] - c), default=None)
        if best is not None and np.linalg.norm(pc[best] - c) <= 10.0:
            covered |= parsed[best] & lesion & tb
            dices.append(dice(parsed[best], tb))
            used.append(best)
        else:
            dices.append(0.0)
    # lesion voxels outside every truth body (partial volume at 4 mm): count them for the nearest matched body
    outside = lesion & ~((truth >= VERTEBRA_BASE) & (truth < DISC_BASE))
    if used:
        covered |= outside & np.any([parsed[u] for u in used], axis=0)
    disc_d = []
    for s in case.spine.structures:
        if s.structure != "disc":
            continue
        td = truth == s.label
        if not td.any():
            continue
        c = _centroid(td, ref)
        if not any(np.linalg.norm(_centroid(np.isin(truth, [v.label, v.label + 20, v.label + 40]), ref) - c) < 40
                   for v in case.spine.vertebrae() if v.level in s.level.split("-")
                   and (lesion & np.isin(truth, [v.label, v.label + 20, v.label + 40])).any()):
            continue
        best = None
        for p in spine.structures:
            if p.structure == "disc" and np.linalg.norm(np.asarray(p.centroid_lps) - c) <= 10.0:
                best = p
        disc_d.append(dice(lab == best.label, td) if best is not None else 0.0)
    in_disc = (lesion & (lab >= DISC_BASE)).sum()
    del label_name
    return {"lesion_voxels": n, "coverage": float(covered.sum() / max(n, 1)),
            "in_disc": float(in_disc / max(n, 1)), "body_dice": float(np.mean(dices)) if dices else np.nan,
            "disc_dice": float(np.mean(disc_d)) if disc_d else np.nan}


def run(cohort: str, gen, cache: Path | None, rows: list) -> None:
    from modic.spine import parse_spine

    for case, split in cached(cohort, gen, cache):
        t0 = time.process_time()
        spine = parse_spine({s: case.images[s] for s in SEQS})
        secs = time.process_time() - t0
        r = measure(case, spine)
        rows.append({"cohort": cohort, "case": case.case_id, "split": split, "type": case.modic_type,
                     "seconds": round(secs, 2), **{k: (round(v, 3) if isinstance(v, float) else v)
                                                   for k, v in r.items()}})
        print(rows[-1], flush=True)


def markdown(df: pd.DataFrame) -> str:
    def fmt(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)
    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns)
    return head + "".join("\n| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False))


def summary(df: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (cohort, split), g in df.groupby(["cohort", "split"], sort=False):
        out.append({"cohort": cohort, "split": split, "cases": len(g), "coverage median": g.coverage.median(),
                    "coverage mean": g.coverage.mean(), "coverage min": g.coverage.min(),
                    "≥ 0.9": float((g.coverage >= 0.9).mean()), "in disc (mean)": g.in_disc.mean(),
                    "body Dice": g.body_dice.mean(), "disc Dice": g.disc_dice.mean(),
                    "s median": g.seconds.median(), "s max": g.seconds.max()})
    return pd.DataFrame(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohorts", default="builtin,hybrid,B")
    ap.add_argument("--builtin", type=int, default=12, help="built-in phantom cases")
    ap.add_argument("--hybrid-per-scan", type=int, default=1)
    ap.add_argument("--b", type=int, default=12, help="construction-B cases")
    ap.add_argument("--split", choices=("all", "tune", "held-out"), default="all",
                    help="measure only one part (tuning runs: tune)")
    ap.add_argument("--realmri", default=str(default_realmri()))
    ap.add_argument("--cache", default=None, help="folder of pickled cases (generated once)")
    ap.add_argument("--out", default=str(Path(__file__).with_name("spine_lesion_coverage.md")))
    args = ap.parse_args()
    cache = Path(args.cache) if args.cache else None
    rows: list = []
    manifest = Path(args.realmri) / "manifest.csv"
    for cohort in args.cohorts.split(","):
        if cohort == "builtin":
            gen = builtin_cases(args.builtin)
        elif cohort == "hybrid":
            if not manifest.exists():
                print(f"real MRI folder {args.realmri} absent: hybrid cohort skipped")
                continue
            gen = hybrid_cases(10**6, manifest, args.hybrid_per_scan)
        else:
            gen = b_cases(args.b)
        if args.split != "all":
            gen_all = gen
            gen = ((c, s) for c, s in gen_all if s == args.split)
        run(cohort, gen, cache, rows)
    df = pd.DataFrame(rows)
    summ = summary(df)
    import modic
    from modic.spine.parse import METHOD_VERSION

    lines = [f"# Lesion coverage of the parsed spine ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)", "",
             "Command: `PYTHONPATH=. python benchmarks/spine_lesion_coverage.py` · modic "
             f"{modic.__version__} · spine parser method version {METHOD_VERSION} · Python "
             f"{platform.python_version()} · load {os.getloadavg()[0]:.1f} (seconds: CPU time of one process)", "",
             "coverage = share of ground-truth lesion voxels inside the parsed whole body matching the lesion's "
             "body (both bodies for lesions on both endplates); in disc = share the parser labelled disc. "
             "Target: coverage median ≥ 0.9 with disc Dice not dropping. tune = the part the settings were "
             "developed on; held-out and construction B were only measured.", "",
             markdown(summ), "", "## Per case", "", markdown(df), ""]
    if args.split == "all":
        Path(args.out).write_text("\n".join(lines))
    print(summ.to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
