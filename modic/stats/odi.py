"""Oswestry Disability Index (ODI) from the 10 questionnaire items.

Each item is scored 0–5. ODI (%) = 100 × sum / (5 × number of answered items), the standard rule for
missing sections (Fairbank & Pynsent 2000). By default at least 8 of the 10 items must be answered
(`min_answered`); with fewer the score is NaN (not a guess). Items outside 0–5 or not whole numbers
are an input error.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from modic.errors import ModicInputError

N_ITEMS = 10
MIN_ANSWERED = 8


def _is_missing(v) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip() == ""
    try:
        return bool(math.isnan(float(v)))
    except (TypeError, ValueError):
        return False


def odi_score(items: Sequence, min_answered: int = MIN_ANSWERED, where: str = "") -> float:
    """ODI in percent from 10 item scores (0–5, None/NaN/"" = not answered)."""
    items = list(items)
    at = f" ({where})" if where else ""
    if len(items) != N_ITEMS:
        raise ModicInputError(f"ODI needs {N_ITEMS} item scores{at}, got {len(items)}")
    answered = []
    for k, v in enumerate(items, start=1):
        if _is_missing(v):
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ModicInputError(f"ODI item {k}{at} is {v!r}; items are whole numbers 0–5 or empty") from None
        if f != round(f) or not 0 <= f <= 5:
            raise ModicInputError(f"ODI item {k}{at} is {v!r}; items are whole numbers 0–5 or empty")
        answered.append(f)
    if len(answered) < max(1, min_answered):
        return float("nan")
    return 100.0 * sum(answered) / (5.0 * len(answered))


def score_table(df: pd.DataFrame, prefix: str = "odi_", min_answered: int = MIN_ANSWERED,
                source: str = "items table") -> pd.DataFrame:
    """Add `odi` and `odi_answered` columns to a table with columns <prefix>1 … <prefix>10."""
    cols = [f"{prefix}{k}" for k in range(1, N_ITEMS + 1)]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ModicInputError(f"{source} lacks ODI item column(s) {', '.join(missing)} — expected "
                              f"{cols[0]} … {cols[-1]} (change --prefix)")
    out = df.copy()
    ids = out["case_id"].astype(str) if "case_id" in out.columns else pd.Series(out.index.astype(str))
    scores, answered = [], []
    for (_, row), cid in zip(out[cols].iterrows(), ids, strict=True):
        vals = row.tolist()
        scores.append(odi_score(vals, min_answered, where=f"{source}, case {cid}"))
        answered.append(int(sum(not _is_missing(v) for v in vals)))
    out["odi_answered"] = answered
    out["odi"] = np.round(scores, 2)
    return out


def score_file(items_csv: str | os.PathLike, out_csv: str | os.PathLike, prefix: str = "odi_",
               min_answered: int = MIN_ANSWERED, overwrite: bool = False) -> pd.DataFrame:
    """Read an items CSV, score it, write it atomically (all original columns + odi, odi_answered).

    `out_csv` must not be the items file; an existing file there is replaced only when modic wrote it or
    with `overwrite` (see docs/OUTPUTS.md).
    """
    from modic.io import check_output_file, read_csv_table, record_files, write_csv

    p = Path(items_csv)
    check_output_file(out_csv, overwrite, inputs=[p])
    df = read_csv_table(p, "ODI items file", dtype={"case_id": str})
    out = score_table(df, prefix, min_answered, source=str(p))
    write_csv(out, out_csv, index=False)
    record_files([out_csv], command="odi")
    return out
