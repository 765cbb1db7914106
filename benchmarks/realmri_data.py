"""Where the benchmarks find ../shared/realmri (the labelled real lumbar scans; never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path


def default_realmri() -> Path:
    """$MODIC_REALMRI, else ../shared/realmri next to the repository (or next to its worktree folder)."""
    if os.environ.get("MODIC_REALMRI"):
        return Path(os.environ["MODIC_REALMRI"])
    repo = Path(__file__).resolve().parents[1]
    return next((p for p in (repo.parent / "shared" / "realmri", repo.parents[1] / "shared" / "realmri")
                 if p.exists()), repo.parent / "shared" / "realmri")
