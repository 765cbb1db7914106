"""Where parsed vertebral bodies and discs differ from the labelled ones, by direction.

Body and disc Dice (spine_results.md) say how much the outlines differ, not where. Per labelled structure of
../shared/realmri (VB2 and VB3 bodies, IVD discs; 1 mm isotropic and resliced to 4 mm slices, as
spine_accuracy.py does), with the parsed structure matched to it as spine_accuracy.py matches (centroid ≤ 10 mm):

* missed voxels (labelled, not parsed) and extra voxels (parsed, not labelled), each as a share of the labelled
  volume, split by the direction from the nearest voxel of the other mask (`direction_shares`): lateral (either
  side; left and right are not known in these files), superior / inferior along the structure's own height axis
  (the shortest principal axis of the labelled structure in the sagittal plane, LPS), anterior / posterior
  across it;
* the median distance (mm) of the missed and of the extra voxels from the other mask.

A missed share on one side says the parser stops short there; an extra share says it runs over. Development part
= first half of each subset (as in spine_accuracy.py), held-out = the rest.

    PYTHONPATH=. python benchmarks/spine_outline_errors.py --out benchmarks/spine_outline_errors.md
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from realmri_data import (  # sibling module (benchmarks/ is the script's folder)
    default_realmri,
    realmri_scans,
    sequence_name,
    structure_kind,
)
from scipy import ndimage
from spine_accuracy import _centroid, load_case, nearest_structure, parsed_structures, reslice

DIRECTIONS = ("lateral", "superior", "inferior", "anterior", "posterior")


def height_axis_lps(mask: np.ndarray, ref: sitk.Image) -> np.ndarray:
    """Unit LPS vector of a structure's height axis, pointing superior: the shortest principal axis of its voxels'
    (A-P, S-I) coordinates (mm) in the sagittal plane."""
    idx = np.argwhere(mask)[:, ::-1].astype(float)                    # x, y, z index order
    d = np.asarray(ref.GetDirection()).reshape(3, 3)
    pts = (idx * np.asarray(ref.GetSpacing())) @ d.T                   # LPS mm (origin dropped)
    yz = pts[:, 1:] - pts[:, 1:].mean(axis=0)
    _, vec = np.linalg.eigh(np.cov(yz.T))
    h = np.array([0.0, *vec[:, 0]])
    return h if h[2] >= 0 else -h                                      # LPS: +z is superior


def direction_shares(part: np.ndarray, other: np.ndarray, ref: sitk.Image, height_lps: np.ndarray,
                     total: int) -> tuple[dict[str, float], float]:
    """Voxels of `part` split by the direction (LPS) from the nearest voxel of `other` (arrays on `ref`'s grid,
    z-y-x): lateral where the left-right component is the largest, else superior / inferior along `height_lps`
    where that component exceeds the anterior-posterior one, else anterior / posterior. Shares of `total`
    voxels, and the median distance (mm) of `part` from `other`."""
    out = dict.fromkeys(DIRECTIONS, 0.0)
    if not part.any() or not other.any():
        return out, float("nan")
    spacing = np.asarray(ref.GetSpacing())[::-1]
    dist, ind = ndimage.distance_transform_edt(~other, sampling=spacing, return_indices=True)
    idx = np.argwhere(part)
    near = ind[:, idx[:, 0], idx[:, 1], idx[:, 2]].T
    d = np.asarray(ref.GetDirection()).reshape(3, 3)
    off = (((idx - near) * spacing)[:, ::-1]) @ d.T                    # LPS mm from the nearest `other` voxel
    h2 = height_lps[1:] / (np.linalg.norm(height_lps[1:]) or 1.0)
    a2 = np.array([h2[1], -h2[0]])                                      # across the height axis in the plane
    a2 = a2 if a2[0] >= 0 else -a2                                      # pointing posterior (LPS +y)
    lat, h, across = np.abs(off[:, 0]), off[:, 1:] @ h2, off[:, 1:] @ a2
    lateral = (lat >= np.abs(h)) & (lat >= np.abs(across))
    along = ~lateral & (np.abs(h) >= np.abs(across))
    rest = ~lateral & ~along
    for name, sel in (("lateral", lateral), ("superior", along & (h > 0)), ("inferior", along & (h <= 0)),
                      ("anterior", rest & (across < 0)), ("posterior", rest & (across >= 0))):
        out[name] = float(sel.sum()) / total
    return out, float(np.median(dist[part]))


def structure_rows(spine, truth: dict[str, np.ndarray], kind: str) -> list[dict]:
    """One row per labelled structure matched to a parsed one (centroid ≤ 10 mm, as spine_accuracy matches)."""
    ref = spine.labels
    parsed = parsed_structures(spine, kind)
    rows = []
    for level, t in truth.items():
        if not t.any() or (best := nearest_structure(parsed, _centroid(t, ref))) is None:
            continue
        p = parsed[best][0]
        total = int(t.sum())
        axis = height_axis_lps(t, ref)
        miss, miss_mm = direction_shares(t & ~p, p, ref, axis, total)
        extra, extra_mm = direction_shares(p & ~t, t, ref, axis, total)
        rows.append({"level": level, "dice": float(2 * (t & p).sum() / (total + p.sum())),
                     **{f"missed {k}": v for k, v in miss.items()}, "missed mm": miss_mm,
                     **{f"extra {k}": v for k, v in extra.items()}, "extra mm": extra_mm})
    return rows


def run(root: Path, quick: bool) -> pd.DataFrame:
    from modic.spine import parse_spine

    rows = []
    for subset, part, row in realmri_scans(root, per_subset=1 if quick else None):   # --quick: one scan per subset
        image, labels, levels = load_case(root, row)
        for geometry in ("1 mm iso", "4 mm slices"):
            img, lab = (image, labels) if geometry == "1 mm iso" else reslice(image, labels)
            arr = sitk.GetArrayFromImage(lab)
            spine = parse_spine({sequence_name(subset): img})
            kind = structure_kind(subset)
            for r in structure_rows(spine, {name: arr == v for v, name in levels.items()}, kind):
                rows.append({"case": Path(row.image).name.split(".")[0], "subset": subset, "kind": kind,
                             "part": part, "geometry": geometry, **r})
            print(row.image, geometry, len(rows), flush=True)
    return pd.DataFrame(rows)


def markdown(df: pd.DataFrame) -> str:
    cols = ["dice", *[f"missed {d}" for d in DIRECTIONS], "missed mm", *[f"extra {d}" for d in DIRECTIONS],
            "extra mm"]
    g = df.groupby(["subset", "part", "geometry"], sort=False)
    table = g[cols].mean()
    table.insert(0, "structures", g.size())
    head = "| subset | part | geometry | " + " | ".join(table.columns) + " |"
    lines = [head, "|" + "---|" * (3 + len(table.columns))]
    for key, r in table.iterrows():
        vals = [str(int(r["structures"]))] + [f"{r[c]:.3f}" if not c.endswith("mm") else f"{r[c]:.1f}"
                                              for c in cols]
        lines.append("| " + " | ".join(key) + " | " + " | ".join(vals) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--realmri", default=str(default_realmri()))
    ap.add_argument("--quick", action="store_true", help="one scan per subset")
    ap.add_argument("--out", default=str(Path(__file__).with_name("spine_outline_errors.md")))
    args = ap.parse_args()
    root = Path(args.realmri)
    if not (root / "manifest.csv").is_file():
        print(f"skipped: {root / 'manifest.csv'} not found")
        return 0
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    t0 = time.perf_counter()
    df = run(root, args.quick)
    out = Path(args.out)
    df.to_csv(out.with_suffix(".csv"), index=False, float_format="%.4g")
    from modic.spine.parse import METHOD_VERSION

    text = [f"# Where parsed outlines differ from the labelled ones (spine parser {METHOD_VERSION})", "",
            f"`PYTHONPATH=. python benchmarks/spine_outline_errors.py{' --quick' if args.quick else ''}` — "
            f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, {platform.node()}, "
            f"{time.perf_counter() - t0:.0f} s. See the script's docstring for the definitions; shares are of the "
            "labelled volume (mean over structures), distances in mm (median over voxels, mean over structures).",
            "", markdown(df), ""]
    out.write_text("\n".join(text))
    print(out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
