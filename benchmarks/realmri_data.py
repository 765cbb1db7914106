"""Where the benchmarks find ../shared/realmri (the labelled real lumbar scans; never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace


def default_realmri() -> Path:
    """$MODIC_REALMRI, else ../shared/realmri next to the repository (or next to its worktree folder)."""
    if os.environ.get("MODIC_REALMRI"):
        return Path(os.environ["MODIC_REALMRI"])
    repo = Path(__file__).resolve().parents[1]
    return next((p for p in (repo.parent / "shared" / "realmri", repo.parents[1] / "shared" / "realmri")
                 if p.exists()), repo.parent / "shared" / "realmri")


def sequence_name(subset: str) -> str:
    """The name a subset's scans are parsed under: "GRE" for the water-bright gradient-echo subset (VB3), else "T2"."""
    return "GRE" if subset == "VB3" else "T2"


def structure_kind(subset: str) -> str:
    """What a subset's labels outline: "disc" for the IVD subset, else "vertebra"."""
    return "disc" if subset == "IVD" else "vertebra"


def realmri_scans(root: Path, subsets=None, parts=None, per_subset: int | None = None
                  ) -> list[tuple[str, str, SimpleNamespace]]:
    """(subset, part, row) of each scan of `root`/manifest.csv in manifest order, split as every spine benchmark
    splits it: the first half of each subset (rounded up) is "development", the rest "held-out". `subsets` / `parts`
    keep only those (default all), `per_subset` only the first that many of each subset then (a benchmark's --quick);
    a row is a picklable namespace of the manifest's columns (image, labels, label_levels, …)."""
    import pandas as pd

    out = []
    for subset, group in pd.read_csv(Path(root) / "manifest.csv").groupby("subset", sort=False):
        if subsets is not None and subset not in subsets:
            continue
        half = (len(group) + 1) // 2
        kept = 0
        for i, record in enumerate(group.to_dict("records")):
            part = "development" if i < half else "held-out"
            if (parts is None or part in parts) and (per_subset is None or kept < per_subset):
                out.append((subset, part, SimpleNamespace(**record)))
                kept += 1
    return out
