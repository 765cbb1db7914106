"""Rank tests used throughout: vectorised Kruskal–Wallis and Mann–Whitney U, Dunn's post-hoc test.

All tests work on ranks (average ranks for ties), so a feature and any strictly monotone transform of
it get identical p-values. Kruskal–Wallis and Mann–Whitney use the chi-square / normal approximations
with tie correction (as `scipy.stats.kruskal` and `scipy.stats.mannwhitneyu(method="asymptotic")`).
Dunn's test is `scikit_posthocs.posthoc_dunn` (z on mean ranks, tie-corrected, two-sided).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

P_ADJUST_METHODS = ("bonferroni", "sidak", "holm", "holm-sidak", "simes-hochberg", "hommel", "fdr_bh",
                    "fdr_by", "fdr_tsbh", "fdr_tsbky", "none")


def _tie_sum(ranks: np.ndarray) -> np.ndarray:
    """Σ(t³ − t) over tie groups, per column, from average ranks (exact for half-integer ranks)."""
    n = ranks.shape[0]
    return 12.0 * (n * (n + 1) * (2 * n + 1) / 6.0 - (ranks * ranks).sum(axis=0))


def kruskal_wallis(X: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kruskal–Wallis H and p for every column of X (n × p) at once; NaN-free input.

    Columns with all values tied get H = 0 and p = 1.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    groups = np.asarray(groups)
    n = X.shape[0]
    ranks = stats.rankdata(X, axis=0)
    labels = np.unique(groups)
    h = np.zeros(X.shape[1])
    for g in labels:
        m = groups == g
        h += ranks[m].sum(axis=0) ** 2 / m.sum()
    h = 12.0 / (n * (n + 1)) * h - 3.0 * (n + 1)
    corr = 1.0 - _tie_sum(ranks) / (n ** 3 - n)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(corr > 1e-12, h / corr, 0.0)
    h = np.maximum(h, 0.0)
    p = stats.chi2.sf(h, len(labels) - 1)
    return h, p


def mann_whitney(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided Mann–Whitney U (normal approximation, tie and continuity corrected) per column."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.ndim == 1:
        a, b = a[:, None], b[:, None]
    n1, n2 = a.shape[0], b.shape[0]
    n = n1 + n2
    ranks = stats.rankdata(np.vstack([a, b]), axis=0)
    u1 = ranks[:n1].sum(axis=0) - n1 * (n1 + 1) / 2.0
    mu = n1 * n2 / 2.0
    var = n1 * n2 / 12.0 * ((n + 1) - _tie_sum(ranks) / (n * (n - 1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.abs(u1 - mu) - 0.5) / np.sqrt(var)
    z = np.where(var > 1e-12, np.maximum(z, 0.0), 0.0)
    p = np.minimum(2.0 * stats.norm.sf(z), 1.0)
    return u1, p


def pairwise_mann_whitney(X: np.ndarray, groups: np.ndarray,
                          pairs: Sequence[tuple] | None = None) -> pd.DataFrame:
    """Mann–Whitney p for each pair of groups (columns 'p_1_2', ...) and every feature (rows)."""
    groups = np.asarray(groups)
    labels = list(np.unique(groups))
    pairs = pairs or [(labels[i], labels[j]) for i in range(len(labels)) for j in range(i + 1, len(labels))]
    out = {}
    for g1, g2 in pairs:
        _, p = mann_whitney(np.asarray(X)[groups == g1], np.asarray(X)[groups == g2])
        out[f"p_{g1}_{g2}"] = p
    return pd.DataFrame(out)


def dunn_matrix(values: np.ndarray, groups: np.ndarray, p_adjust: str | None = "bonferroni",
                labels: Sequence | None = None) -> pd.DataFrame:
    """Dunn's test p-values as a square matrix (index/columns = group labels), diagonal 1.

    `p_adjust` is any statsmodels `multipletests` method or None/"none"; adjusted p are capped at 1.
    """
    import scikit_posthocs as sp

    adj = None if p_adjust in (None, "none") else p_adjust
    if adj is not None and adj not in P_ADJUST_METHODS:
        from modic.errors import ModicInputError

        raise ModicInputError(f"unknown p-value adjustment {p_adjust!r} — use one of "
                              f"{', '.join(P_ADJUST_METHODS)}")
    df = pd.DataFrame({"v": np.asarray(values, dtype=float), "g": np.asarray(groups)})
    m = sp.posthoc_dunn(df, val_col="v", group_col="g", p_adjust=adj)
    order = list(labels) if labels is not None else sorted(df["g"].unique())
    m = m.loc[order, order].clip(upper=1.0)
    return m


def dunn_z(values: np.ndarray, groups: np.ndarray, a, b) -> float:
    """Dunn's z of group a vs group b: mean-rank difference (a − b) over its tie-corrected SE (ranks of all groups).

    z = (R̄_a − R̄_b) / sqrt((N(N+1)/12 − Σ(t³−t) / (12(N−1))) · (1/n_a + 1/n_b)); two-sided unadjusted
    p = 2·(1 − Φ(|z|)), the p that `dunn_matrix(..., p_adjust=None)` gives.
    """
    v = np.asarray(values, dtype=float)
    g = np.asarray(groups)
    r = stats.rankdata(v)
    n = len(v)
    ties = float(_tie_sum(r[:, None])[0])
    na, nb = int(np.sum(g == a)), int(np.sum(g == b))
    if na == 0 or nb == 0:
        return float("nan")
    var = (n * (n + 1) / 12.0 - ties / (12.0 * (n - 1))) * (1.0 / na + 1.0 / nb)
    if var <= 0:
        return 0.0
    return float((r[g == a].mean() - r[g == b].mean()) / np.sqrt(var))


def rank_biserial(a: np.ndarray, b: np.ndarray) -> float:
    """Rank-biserial correlation of group a vs b (= Cliff's delta): 2 U_a / (n_a n_b) − 1, in [−1, 1].

    Positive when values of a tend to be larger than those of b.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    r = stats.rankdata(np.concatenate([a, b]))
    u_a = r[: len(a)].sum() - len(a) * (len(a) + 1) / 2.0
    return float(2.0 * u_a / (len(a) * len(b)) - 1.0)


def dunn_table(data: pd.DataFrame, groups: pd.Series, features: Sequence[str],
               p_adjust: str | None = "bonferroni", alpha: float = 0.05) -> pd.DataFrame:
    """Table 2 in long form: one row per feature and pair (feature, group_a, group_b, z = Dunn's z of a vs b,
    p_unadjusted, p (after `p_adjust`), significant, rank_biserial = Cliff's delta of group_a vs group_b,
    median_diff = median(a) − median(b))."""
    rows = []
    g = np.asarray(groups)
    labels = sorted(np.unique(g))
    for f in features:
        v = data[f].to_numpy(float)
        ok = ~np.isnan(v)
        m = dunn_matrix(v[ok], g[ok], p_adjust=p_adjust, labels=labels)
        for i, a in enumerate(labels):
            for b in labels[i + 1:]:
                p = float(m.loc[a, b])
                va, vb = v[ok][g[ok] == a], v[ok][g[ok] == b]
                z = dunn_z(v[ok], g[ok], a, b)
                rows.append({"feature": f, "group_a": a, "group_b": b, "z": z,
                             "p_unadjusted": float(2 * stats.norm.sf(abs(z))), "p": p, "significant": p < alpha,
                             "rank_biserial": rank_biserial(va, vb),
                             "median_diff": float(np.median(va) - np.median(vb)) if len(va) and len(vb) else np.nan})
    return pd.DataFrame(rows, columns=["feature", "group_a", "group_b", "z", "p_unadjusted", "p", "significant",
                                       "rank_biserial", "median_diff"])


def dunn_wide(long: pd.DataFrame) -> pd.DataFrame:
    """Long Dunn table → stacked 3×3 matrices (rows feature/group, columns groups), diagonal 1."""
    blocks = []
    for f, sub in long.groupby("feature", sort=False):
        labels = sorted(set(sub["group_a"]) | set(sub["group_b"]))
        m = pd.DataFrame(1.0, index=labels, columns=labels)
        for _, r in sub.iterrows():
            m.loc[r["group_a"], r["group_b"]] = m.loc[r["group_b"], r["group_a"]] = r["p"]
        m.index = pd.MultiIndex.from_product([[f], labels], names=["feature", "type"])
        blocks.append(m)
    return pd.concat(blocks) if blocks else pd.DataFrame()
