"""Pain and age correlations: Spearman (default) or Pearson between scores and features.

For each score (ODI, VAS, age) only the cases that have it are used, and only Modic types with at least
`min_group` such cases (the paper's single type-III prospective case is dropped). Age is correlated on
the same subset as the pain scores by default (the cases with ODI or VAS, as the paper did:
``age_subset="scored"``); ``age_subset="all"`` uses every case with an age.

Every row carries r, the two-sided p and how it was computed (``p_method``: Spearman p as R's
cor.test — exact permutation distribution for n ≤ 9 without ties, AS 89 Edgeworth series for larger n
without ties, t approximation with ties; Pearson: t test), a 95 % CI by Fisher's z (Pearson SE
1/√(n − 3); Spearman the Bonett–Wright SE √((1 + r²/2)/(n − 3))), and ``q``: Benjamini–Hochberg
adjusted p within the family (one score × one feature set). `by_type` adds correlations adjusted for the
Modic type (rank-based partial correlation) and per type.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from modic.stats.spearman import asymptotic_p, spearman_test

METHODS = ("spearman", "pearson")
AGE_SUBSETS = ("scored", "all")
ADJUST_METHODS = ("fdr_bh", "bonferroni", "holm", "none")
COLUMNS = ["score", "feature_set", "feature", "method", "r", "p", "p_method", "q", "ci_low", "ci_high", "n",
           "types"]


def corr_with_p(x: np.ndarray, Y: np.ndarray, method: str = "spearman") -> tuple[np.ndarray, np.ndarray]:
    """r and two-sided asymptotic p (t, n − 2 df) between vector x and every column of Y (complete cases).

    Spearman = Pearson on average ranks. For the small-sample p of R's cor.test use `correlation_test`.
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


def correlation_test(x: np.ndarray, y: np.ndarray, method: str = "spearman") -> tuple[float, float, str]:
    """(r, two-sided p, p_method) as R's ``cor.test(x, y, method=...)`` with its default `exact`."""
    if method == "spearman":
        return spearman_test(x, y)
    r, p = corr_with_p(x, np.asarray(y, float)[:, None], "pearson")
    return float(r[0]), float(p[0]), "t"


def fisher_ci(r: float, n: int, method: str = "spearman", level: float = 0.95,
              n_covariates: int = 0) -> tuple[float, float]:
    """CI of a correlation by Fisher's z; Spearman uses the Bonett–Wright (2000) standard error."""
    if r != r or n - n_covariates <= 3:
        return float("nan"), float("nan")
    r = float(np.clip(r, -0.999999, 0.999999))
    var = (1.0 + r * r / 2.0) if method == "spearman" else 1.0
    se = np.sqrt(var / (n - n_covariates - 3))
    z = np.arctanh(r)
    k = stats.norm.ppf((1 + level) / 2)
    return float(np.tanh(z - k * se)), float(np.tanh(z + k * se))


def adjust(p: pd.Series, method: str = "fdr_bh") -> pd.Series:
    """Adjusted p (NaN kept) with statsmodels' multipletests; method "none" returns p."""
    out = pd.Series(np.nan, index=p.index)
    ok = p.notna()
    if method == "none" or not ok.any():
        return p.astype(float) if method == "none" else out
    from statsmodels.stats.multitest import multipletests

    out[ok] = multipletests(p[ok].to_numpy(float), method=method)[1]
    return out


def _subset(manifest: pd.DataFrame, score: str, age_subset: str) -> tuple[pd.Series, str]:
    """Cases with the score; for age with age_subset="scored", only cases that also have ODI or VAS."""
    s = pd.to_numeric(manifest[score], errors="coerce")
    has = s.notna()
    note = ""
    if score == "age" and age_subset == "scored":
        pain = [c for c in ("odi", "vas") if c in manifest.columns]
        scored = manifest[pain].apply(pd.to_numeric, errors="coerce").notna().any(axis=1) if pain else None
        if scored is not None and scored.any():
            has &= scored
            note = (f"age: correlated on the {int(has.sum())} case(s) with ODI or VAS (as the paper); "
                    "--age-subset all uses every case.")
        else:
            note = "age: no case has ODI or VAS, so age is correlated on every case with an age."
    return has, note


def _usable(manifest: pd.DataFrame, has: pd.Series, score: str, min_group: int, feature_set: str, notes: list):
    counts = manifest.loc[has, "modic_type"].value_counts().sort_index()
    keep_types = [int(t) for t, n in counts.items() if n >= min_group]
    dropped = {int(t): int(n) for t, n in counts.items() if n < min_group}
    if dropped:
        notes.append(f"{score} ({feature_set}): type(s) " + ", ".join(f"{t} (n={n})" for t, n in dropped.items())
                     + f" dropped (fewer than {min_group} cases with {score}).")
    return has & manifest["modic_type"].isin(keep_types), keep_types


def correlate(features: pd.DataFrame, manifest: pd.DataFrame, columns: Sequence[str],
              scores: Sequence[str] = ("odi", "vas", "age"), method: str = "spearman", min_group: int = 5,
              fdr: bool | None = None, feature_set: str = "features", p_adjust: str = "fdr_bh",
              age_subset: str = "scored", level: float = 0.95) -> tuple[pd.DataFrame, list[str]]:
    """Long table (COLUMNS; plus p_fdr when `fdr`) and notes on what was left out.

    `q` is `p_adjust`-adjusted p within each score (one family per score and feature set);
    `fdr=True` is the older spelling that also adds a ``p_fdr`` (= BH q) column.
    """
    from modic.errors import ModicInputError

    if method not in METHODS:
        raise ModicInputError(f"unknown correlation method {method!r} — use spearman or pearson")
    if age_subset not in AGE_SUBSETS:
        raise ModicInputError(f"unknown age subset {age_subset!r} — use scored or all")
    rows, notes = [], []
    for score in scores:
        if score not in manifest.columns:
            notes.append(f"{score}: column not in the manifest; skipped.")
            continue
        has, note = _subset(manifest, score, age_subset)
        if note:
            notes.append(note)
        use, keep_types = _usable(manifest, has, score, min_group, feature_set, notes)
        if use.sum() < 3:
            notes.append(f"{score}: only {int(use.sum())} usable case(s); no correlation computed.")
            continue
        s = pd.to_numeric(manifest[score], errors="coerce")
        for f in columns:
            v = features.loc[use, f].to_numpy(float)
            ok = ~np.isnan(v)
            x = s[use].to_numpy(float)[ok]
            if ok.sum() < 3 or np.ptp(v[ok]) == 0:
                r, p, pm = np.nan, np.nan, "none"
            else:
                r, p, pm = correlation_test(x, v[ok], method)
            lo, hi = fisher_ci(r, int(ok.sum()), method, level)
            rows.append({"score": score, "feature_set": feature_set, "feature": f, "method": method, "r": r,
                         "p": p, "p_method": pm, "q": np.nan, "ci_low": lo, "ci_high": hi, "n": int(ok.sum()),
                         "types": ",".join(map(str, keep_types))})
    out = pd.DataFrame(rows, columns=COLUMNS)
    for _, idx in out.groupby(["score", "feature_set"]).groups.items():
        out.loc[idx, "q"] = adjust(out.loc[idx, "p"], p_adjust if p_adjust != "none" else "none").to_numpy()
    if fdr and len(out):
        out["p_fdr"] = np.nan
        for _, idx in out.groupby(["score", "feature_set"]).groups.items():
            out.loc[idx, "p_fdr"] = adjust(out.loc[idx, "p"], "fdr_bh").to_numpy()
    return out, notes


def _rank_residuals(v: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Ranks of v with the per-group mean removed (residuals of ranks on type indicators)."""
    r = stats.rankdata(v)
    out = r.copy()
    for g in np.unique(groups):
        m = groups == g
        out[m] = r[m] - r[m].mean()
    return out


def partial_rank_test(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> tuple[float, float]:
    """Rank-based partial correlation of x and y adjusted for a categorical covariate (the Modic type).

    Both variables are ranked over all cases, the ranks are regressed on the type indicators, and the
    residuals are correlated; p from t with n − 2 − (k − 1) df (k = number of types).
    """
    groups = np.asarray(groups)
    k = len(np.unique(groups))
    n = len(x)
    if n - 2 - (k - 1) < 1:
        return float("nan"), float("nan")
    ex, ey = _rank_residuals(np.asarray(x, float), groups), _rank_residuals(np.asarray(y, float), groups)
    den = np.sqrt((ex @ ex) * (ey @ ey))
    if den <= 0:
        return float("nan"), float("nan")
    r = float(np.clip((ex @ ey) / den, -1.0, 1.0))
    df = n - 2 - (k - 1)
    t = r * np.sqrt(df / max(1.0 - r * r, 1e-300))
    return r, float(2.0 * stats.t.sf(abs(t), df))


def by_type(features: pd.DataFrame, manifest: pd.DataFrame, columns: Sequence[str],
            scores: Sequence[str] = ("odi", "vas", "age"), method: str = "spearman", min_group: int = 5,
            feature_set: str = "features", age_subset: str = "scored", level: float = 0.95) -> pd.DataFrame:
    """Correlations adjusted for Modic type and within each type.

    Rows: analysis = "adjusted for type" (rank-based partial correlation; with method="pearson" a
    partial Pearson on the values) or "type <t>" (the chosen method within that type, p as R's
    cor.test); each with a 95 % CI (Fisher z; the partial one with one fewer df per covariate).
    """
    rows = []
    for score in scores:
        if score not in manifest.columns:
            continue
        has, _ = _subset(manifest, score, age_subset)
        use, keep_types = _usable(manifest, has, score, min_group, feature_set, [])
        if use.sum() < 4 or not keep_types:
            continue
        s = pd.to_numeric(manifest[score], errors="coerce")
        g_all = manifest.loc[use, "modic_type"].to_numpy()
        for f in columns:
            v = features.loc[use, f].to_numpy(float)
            ok = ~np.isnan(v)
            x, vv, g = s[use].to_numpy(float)[ok], v[ok], g_all[ok]
            if len(keep_types) > 1 and ok.sum() >= 5 and np.ptp(vv) > 0:
                if method == "spearman":
                    r, p = partial_rank_test(x, vv, g)
                else:
                    r, p = _partial_pearson(x, vv, g)
                lo, hi = fisher_ci(r, len(x), method, level, n_covariates=len(keep_types) - 1)
                rows.append({"score": score, "feature_set": feature_set, "feature": f,
                             "analysis": "adjusted for type", "method": method, "r": r, "p": p,
                             "p_method": "partial t", "ci_low": lo, "ci_high": hi, "n": int(len(x))})
            for t in keep_types:
                m = g == t
                if m.sum() < 3 or np.ptp(vv[m]) == 0:
                    continue
                r, p, pm = correlation_test(x[m], vv[m], method)
                lo, hi = fisher_ci(r, int(m.sum()), method, level)
                rows.append({"score": score, "feature_set": feature_set, "feature": f, "analysis": f"type {t}",
                             "method": method, "r": r, "p": p, "p_method": pm, "ci_low": lo, "ci_high": hi,
                             "n": int(m.sum())})
    return pd.DataFrame(rows, columns=["score", "feature_set", "feature", "analysis", "method", "r", "p",
                                       "p_method", "ci_low", "ci_high", "n"])


def _partial_pearson(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> tuple[float, float]:
    k = len(np.unique(groups))
    ex, ey = x.astype(float).copy(), y.astype(float).copy()
    for g in np.unique(groups):
        m = groups == g
        ex[m] -= ex[m].mean()
        ey[m] -= ey[m].mean()
    den = np.sqrt((ex @ ex) * (ey @ ey))
    if den <= 0:
        return float("nan"), float("nan")
    r = float(np.clip((ex @ ey) / den, -1, 1))
    df = len(x) - 2 - (k - 1)
    if df < 1:
        return r, float("nan")
    return r, asymptotic_p(r, df + 2)


def significance_mark(p: float, alpha: float = 0.05) -> str:
    """'**' for p < alpha / 5 (0.01 at the default), '*' for p < alpha, else ''."""
    if p != p:
        return ""
    return "**" if p < alpha / 5 else "*" if p < alpha else ""
