"""Plausibility check of one-click segmentations on phantom cases: measures per case and sequence subset.

Usage: python benchmarks/plausibility.py COHORT_DIR OUT.csv
For every case and every subset of sequences (all, T2 only, T1 only, FS only, T1+T2) the lesion is
segmented from the manifest's seed, assessed by `modic.plausibility.assess_segmentation` (with and without
the phantom's ground-truth spine) and compared with the true mask (Dice, volume ratio).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import SimpleITK as sitk

from modic.errors import ModicInputError
from modic.geometry import parse_point_lps
from modic.manifest import read_manifest
from modic.phantom.anatomy import spine_from_phantom_anatomy
from modic.plausibility import assess_segmentation, working_mask
from modic.segment import dice, segment_lesion

SUBSETS = {"all": ("T1", "T2", "FS"), "T2": ("T2",), "T1": ("T1",), "FS": ("FS",), "T1+T2": ("T1", "T2")}


def main(cohort: str, out: str) -> None:
    df = read_manifest(Path(cohort) / "manifest.csv")
    rows = []
    for _, row in df.iterrows():
        images = {s: sitk.ReadImage(row[s.lower()]) for s in ("T1", "T2", "FS")}
        truth = {s: sitk.ReadImage(row[f"mask_{s.lower()}"]) for s in ("T1", "T2", "FS")}
        spine = spine_from_phantom_anatomy(sitk.ReadImage(str(Path(cohort) / row["anatomy"])))
        seed = parse_point_lps(row["seed_lps"])
        for name, seqs in SUBSETS.items():
            rec = {"case_id": row["case_id"], "type": row["true_type"], "subset": name}
            try:
                seg = segment_lesion({s: images[s] for s in seqs}, seed)
            except ModicInputError as exc:
                rows.append({**rec, "error": str(exc)})
                continue
            m = working_mask(seg.masks, seg.info)
            ws = seg.info["working_sequence"]
            t = truth[ws]
            a = assess_segmentation(m, seed, seg.info)
            b = assess_segmentation(m, seed, seg.info, spine=spine)
            true_vox = int(sitk.GetArrayViewFromImage(t).sum())
            rec.update(dice=round(dice(m, t), 3), voxels=a["measures"]["voxels"], true_voxels=true_vox,
                       ratio=round(a["measures"]["voxels"] / max(true_vox, 1), 2), plausible=a["plausible"],
                       plausible_spine=b["plausible"], reasons="; ".join(b["reasons"]),
                       **{k: v for k, v in b["measures"].items() if k != "voxels"})
            rows.append(rec)
            print(rec, flush=True)
    pd.DataFrame(rows).to_csv(out, index=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
