"""Spine parsing on real scans turned in the sagittal plane: is the parser robust to how the column leans?

Each labelled VB2/VB3 scan of ../shared/realmri (1 mm isotropic) is turned about its left-right axis by each angle
(image linear, labels nearest neighbour, about the volume's centre; corners leaving the field of view are 0) and
parsed as `modic spine` does. A supine lumbar column leans −14° … +7° from the image's inferior axis on these scans
(`column_tilt_deg` in spine.json: the slope through the chain's centroids); a patient lying tilted or a field of view
turned in-plane adds to that.
Per angle: bodies found (centroid ≤ 10 mm), named right, scans with every body named right, and scans whose naming
was wrong although the parser called it certain. Development part = first half of each subset (as spine_accuracy).

    PYTHONPATH=. python benchmarks/spine_tilt.py --out benchmarks/spine_tilt_results.md
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
)
from spine_accuracy import evaluate, load_case, markdown

ANGLES = (-25.0, -15.0, -8.0, 0.0, 8.0, 15.0, 25.0)


def turned(image: sitk.Image, labels: sitk.Image, degrees: float, in_float: bool = False
           ) -> tuple[sitk.Image, sitk.Image]:
    """The scan and its labels turned by `degrees` about the LPS x (left-right) axis through the volume's centre (0:
    untouched, as in spine_results.md; resampling sets the outermost voxels to 0, which alone changes some parses).
    The image is resampled in its own pixel type (8-bit here: values rounded), or in 32-bit float (`in_float`)."""
    if not degrees:
        return image, labels
    t = sitk.VersorRigid3DTransform()
    t.SetCenter(image.TransformContinuousIndexToPhysicalPoint([s / 2 for s in image.GetSize()]))
    t.SetRotation([1.0, 0.0, 0.0], float(np.radians(degrees)))
    source = sitk.Cast(image, sitk.sitkFloat32) if in_float else image
    return (sitk.Resample(source, image, t, sitk.sitkLinear, 0.0, source.GetPixelID()),
            sitk.Resample(labels, labels, t, sitk.sitkNearestNeighbor, 0))


def run(root: Path, angles, parts=("development", "held-out"), subsets=("VB2", "VB3"), in_float: bool = False
        ) -> pd.DataFrame:
    from modic.spine import parse_spine

    rows = []
    for subset, part, row in realmri_scans(root, subsets, parts):
        image, labels, levels = load_case(root, row)
        for deg in angles:
            img, lab = turned(image, labels, deg, in_float)
            arr = sitk.GetArrayFromImage(lab)
            spine = parse_spine({sequence_name(subset): img})
            r = evaluate(spine, {name: arr == v for v, name in levels.items()}, "vertebra")
            rows.append({"case": Path(row.image).name.split(".")[0], "part": part, "degrees": deg,
                         "certain": spine.naming_certain, "lean_deg": spine.info.get("column_tilt_deg"),
                         **{k: r[k] for k in ("n", "found", "named", "dice")}})
            print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (part, deg), g in df.groupby(["part", "degrees"]):
        out.append({"part": part, "turned (°)": f"{deg:+g}", "scans": len(g),
                    "bodies found": f"{g.found.sum()} / {g.n.sum()}", "bodies named": f"{g.named.sum()} / {g.n.sum()}",
                    "scans all named": int((g.named == g.n).sum()),
                    "certain but wrong": int(((g.named < g.found) & g.certain).sum()),
                    "Dice (mean)": round(float(g.dice.mean()), 3)})
    return pd.DataFrame(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--realmri", default=str(default_realmri()))
    ap.add_argument("--angles", default=",".join(f"{a:g}" for a in ANGLES))
    ap.add_argument("--parts", default="development,held-out")
    ap.add_argument("--float", action="store_true", help="resample the turned images in 32-bit float")
    ap.add_argument("--out", default=str(Path(__file__).with_name("spine_tilt_results.md")))
    args = ap.parse_args()
    root = Path(args.realmri)
    if not (root / "manifest.csv").exists():
        print(f"no labelled real scans at {root} (set MODIC_REALMRI): nothing measured")
        return 0
    t0 = time.time()
    df = run(root, [float(a) for a in args.angles.split(",")], args.parts.split(","), in_float=args.float)
    lines = [f"# Spine parsing on turned scans ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)", "",
             f"Command: `PYTHONPATH=. python benchmarks/spine_tilt.py{' --float' if args.float else ''}"
             f"{'' if args.angles == ap.get_default('angles') else ' --angles=' + args.angles}` · Python "
             f"{platform.python_version()} · "
             f"{time.time() - t0:.0f} s", "", __doc__.split("\n\n")[1].replace("\n", " "), "",
             markdown(summarise(df)), "", "## Per scan", "", markdown(df.round(3)), ""]
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
