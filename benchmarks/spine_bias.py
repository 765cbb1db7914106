"""Spine parsing on real scans under intensity non-uniformity: does coil shading change what is found and named?

Clinical lumbar scans are read with a posterior surface coil: the signal falls with depth from the back and towards
the ends of the coil, and no two sites shade alike. The realmri scans carry their own, mild shading; each labelled
VB2/VB3 scan (1 mm isotropic, and resliced to 4 mm as spine_accuracy does) is multiplied by a smooth field

    field(p) = exp(ln(s) · [ sign · (y − y0) / 100 + 0.5 · (x − x0) / 100 − ((z − z0) / 100)² ])

of its LPS position p = (x, y, z) in mm about the image's centre (x0, y0, z0): `s` is the signal ratio over 100 mm
along the patient's back-to-front axis, posterior brighter (sign +1, a spine coil) or anterior brighter (sign −1,
an anterior array), with a weaker left-right gradient and a fall-off towards the top and bottom of the field of view
(at 150 mm from the centre a factor s^-2.25). Each field is parsed as `modic spine` does and scored against the
manual body labels as in spine_accuracy (centroid ≤ 10 mm; named right; Dice). Development part = first half of
each subset (as spine_accuracy); the held-out part is only measured.

    PYTHONPATH=. python benchmarks/spine_bias.py --out benchmarks/spine_bias_results.md
"""

from __future__ import annotations

import argparse
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from realmri_data import (  # sibling module (benchmarks/ is the script's folder)
    default_realmri,
    realmri_scans,
    sequence_name,
)
from spine_accuracy import evaluate, load_case, markdown, reslice

FIELDS = {"none": (1.0, 1), "posterior 1.15": (1.15, 1), "posterior 1.3": (1.3, 1), "posterior 1.6": (1.6, 1),
          "anterior 1.6": (1.6, -1)}          # name: (signal ratio per 100 mm, +1 posterior / −1 anterior brighter)


def lps_grid(image: sitk.Image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LPS x, y, z (mm) of every voxel centre, each an array shaped like the image's numpy array (k, j, i)."""
    size = image.GetSize()
    kk, jj, ii = np.meshgrid(*(np.arange(n, dtype=np.float64) for n in size[::-1]), indexing="ij")
    d = np.asarray(image.GetDirection(), float).reshape(3, 3) * np.asarray(image.GetSpacing(), float)
    o = np.asarray(image.GetOrigin(), float)
    return tuple(o[a] + d[a, 0] * ii + d[a, 1] * jj + d[a, 2] * kk for a in range(3))


def shading_field(image: sitk.Image, ratio_per_100mm: float, sign: int = 1) -> np.ndarray:
    """The multiplicative coil-shading field (float32, numpy order k, j, i) of the module docstring on `image`'s
    grid: posterior brighter by `ratio_per_100mm` per 100 mm when `sign` is +1, anterior when −1; 1 everywhere
    for a ratio of 1."""
    x, y, z = lps_grid(image)
    centre = np.asarray(image.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2 for n in image.GetSize()]))
    log_s = np.log(ratio_per_100mm)
    g = log_s * (sign * (y - centre[1]) / 100 + 0.5 * (x - centre[0]) / 100 - ((z - centre[2]) / 100) ** 2)
    return np.exp(g).astype(np.float32)


def shaded(image: sitk.Image, ratio_per_100mm: float, sign: int = 1) -> sitk.Image:
    """`image` (as 32-bit float) multiplied by `shading_field`; the image itself for a ratio of 1."""
    if ratio_per_100mm == 1.0:
        return image
    arr = sitk.GetArrayFromImage(sitk.Cast(image, sitk.sitkFloat32)) * shading_field(image, ratio_per_100mm, sign)
    out = sitk.GetImageFromArray(arr)
    out.CopyInformation(image)
    return out


def run_scan(job: tuple) -> list[dict]:
    """Every field × geometry of one scan: rows of found / named / false / Dice / seconds."""
    from modic.spine import parse_spine

    root, row, subset, part, fields = job
    image, labels, levels = load_case(root, row)
    rows = []
    for geometry in ("1 mm iso", "4 mm slices"):
        for field in fields:
            ratio, sign = FIELDS[field]
            img = shaded(image, ratio, sign)
            img, lab = (img, labels) if geometry == "1 mm iso" else reslice(img, labels)
            arr = sitk.GetArrayFromImage(lab)
            t0 = time.process_time()
            spine = parse_spine({sequence_name(subset): img})
            secs = time.process_time() - t0
            r = evaluate(spine, {name: arr == v for v, name in levels.items()}, "vertebra")
            rows.append({"case": Path(row.image).name.split(".")[0], "subset": subset, "part": part,
                         "geometry": geometry, "field": field, "certain": spine.naming_certain, "seconds": secs,
                         **{k: r[k] for k in ("n", "found", "named", "false", "dice")}})
            print(rows[-1], flush=True)
    return rows


def run(root: Path, fields, parts=("development", "held-out"), subsets=("VB2", "VB3"), workers: int = 2
        ) -> pd.DataFrame:
    jobs = [(root, row, subset, part, tuple(fields)) for subset, part, row in realmri_scans(root, subsets, parts)]
    with ProcessPoolExecutor(workers) as pool:
        return pd.DataFrame([r for rows in pool.map(run_scan, jobs) for r in rows])


def summarise(df: pd.DataFrame, by: tuple[str, ...] = ("part", "geometry")) -> pd.DataFrame:
    """Bodies found / named, false bodies, confidently wrong scans and Dice per `by` group and field."""
    out = []
    order = {f: i for i, f in enumerate(FIELDS)}
    for key, g in sorted(df.groupby([*by, "field"]), key=lambda kv: (*kv[0][:-1], order[kv[0][-1]])):
        out.append({**dict(zip([*by, "field"], key, strict=True)), "scans": len(g),
                    "bodies found": f"{g.found.sum()} / {g.n.sum()}", "bodies named": f"{g.named.sum()} / {g.n.sum()}",
                    "false per scan": round(float(g["false"].mean()), 2),
                    "certain but wrong": int(((g.named < g.found) & g.certain).sum()),
                    "Dice (mean)": round(float((g.dice * g.n).sum() / g.n.sum()), 3)})
    return pd.DataFrame(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--realmri", default=str(default_realmri()))
    ap.add_argument("--fields", default=",".join(FIELDS))
    ap.add_argument("--parts", default="development,held-out")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).with_name("spine_bias_results.md")))
    args = ap.parse_args()
    root = Path(args.realmri)
    if not (root / "manifest.csv").exists():
        print(f"no labelled real scans at {root} (set MODIC_REALMRI): nothing measured")
        return 0
    fields = [f.strip() for f in args.fields.split(",") if f.strip()]
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        print(f"--fields: unknown {unknown} — choose from {list(FIELDS)}")
        return 2
    t0 = time.time()
    df = run(root, fields, args.parts.split(","), workers=args.workers)
    import modic

    lines = [f"# Spine parsing under coil shading ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)", "",
             f"Command: `PYTHONPATH=. python benchmarks/spine_bias.py` · modic {modic.__version__} · Python "
             f"{platform.python_version()} · {time.time() - t0:.0f} s ({args.workers} processes)", "",
             " ".join(part.strip().replace("\n", " ") if i != 2 else f"`{part.strip()}`"
                      for i, part in enumerate(__doc__.split("\n\n")[1:4], start=1)), "",
             markdown(summarise(df)), "", "## By subset (VB2 T2 TSE, VB3 water-bright GRE)", "",
             markdown(summarise(df, ("subset", "part", "geometry"))), "", "## Per scan", "", markdown(df.round(3)), ""]
    Path(args.out).write_text("\n".join(lines))
    print(summarise(df).to_string())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
