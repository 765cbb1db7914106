"""Pain and age correlations: Spearman (default) or Pearson between scores and features.

For each score (ODI, VAS, age) only the cases that have it are used, and only Modic types with at least
`min_group` such cases (the paper's single type-III prospective case is dropped). Optional
Benjamini–Hochberg FDR over all tests of one feature set.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

METHODS = ("spearman", "pearson")


def corr_with_p(x: np.ndarray, Y: np.ndarray, method: str = "spearman") -> tuple[np.ndarray, np.ndarray]:
    """r and two-sided p between vector x and every column of Y (complete cases assumed).

    Spearman = Pearson on average ranks; p from the t distribution with n − 2 df (as scipy).
    """
    x = np.asarray(x, float)
    Y = np.asarray(Y, float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if method == "spearman":
        x = stats.rankdata(x)
        Y = stats.rankdata(Y, axis=0)
    n = len(x)
    xc = x - x.mean()
    Yc = Y - Y.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (xc @ Yc) / np.sqrt((xc @ xc) * (Yc * Yc).sum(axis=0))
        r = np.clip(r, -1.0, 1.0)
        t = r * np.sqrt((n - 2) / np.maximum(1.0 - r * r, 1e-300))
    p = 2.0 * stats.t.sf(np.abs(t), n - 2)
    p = np.where(np.isnan(r), np.nan, p)
    return r, p


def correlate(features: pd.DataFrame, manifest: pd.DataFrame, columns: Sequence[str],
              scores: Sequence[str] = ("odi", "vas", "age"), method: str = "spearman", min_group: int = 5,
              fdr: bool = False, feature_set: str = "features") -> tuple[pd.DataFrame, list[str]]:
    """Long table (score, feature, r, p, n, [p_fdr], types) and notes on what was left out."""
    if method not in METHODS:
        from modic.errors import ModicInputError

        raise ModicInputError(f"unknown correlation method {method!r} — use spearman or pearson")
    rows, notes = [], []
    for score in scores:
        if score not in manifest.columns:
            notes.append(f"{score}: column not in the manifest; skipped.")
            continue
        s = pd.to_numeric(manifest[score], errors="coerce")
        has = s.notna()
        counts = manifest.loc[has, "modic_type"].value_counts().sort_index()
        keep_types = [int(t) for t, n in counts.items() if n >= min_group]
        dropped = {int(t): int(n) for t, n in counts.items() if n < min_group}
        if dropped:
            notes.append(f"{score} ({feature_set}): type(s) " + ", ".join(f"{t} (n={n})" for t, n in dropped.items())
                         + f" dropped (fewer than {min_group} cases with {score}).")
        use = has & manifest["modic_type"].isin(keep_types)
        if use.sum() < 3:
            notes.append(f"{score}: only {int(use.sum())} usable case(s); no correlation computed.")
            continue
        for f in columns:
            v = features.loc[use, f].to_numpy(float)
            ok = ~np.isnan(v)
            x = s[use].to_numpy(float)[ok]
            if ok.sum() < 3 or np.ptp(v[ok]) == 0:
                r, p = np.nan, np.nan
            else:
                rr, pp = corr_with_p(x, v[ok][:, None], method)
                r, p = float(rr[0]), float(pp[0])
            rows.append({"score": score, "feature_set": feature_set, "feature": f, "method": method, "r": r,
                         "p": p, "n": int(ok.sum()), "types": ",".join(map(str, keep_types))})
    out = pd.DataFrame(rows, columns=["score", "feature_set", "feature", "method", "r", "p", "n", "types"])
    if fdr and len(out):
        from statsmodels.stats.multitest import multipletests

        out["p_fdr"] = np.nan
        ok = out["p"].notna()
        if ok.any():
            out.loc[ok, "p_fdr"] = multipletests(out.loc[ok, "p"], method="fdr_bh")[1]
    return out, notes


def significance_mark(p: float) -> str:
    """'**' for p < 0.01, '*' for p < 0.05, else ''."""
    if p != p:
        return ""
    return "**" if p < 0.01 else "*" if p < 0.05 else ""
