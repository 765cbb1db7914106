"""Table 1: lesion morphology (PyRadiomics shape features of one sequence) per Modic type.

Mean (SD) and median (IQR) per type, a normality mark per type, Kruskal–Wallis H, p and effect size
ε² = H / (n − 1) (Tomczak & Tomczak 2014) across the types, and a significance mark (p < alpha).

The paper's "*" beside mean (SD) is ambiguous; its pattern (stars grow with group size, skewed volumes
starred only in the n = 84 group) reads as "Shapiro–Wilk rejected normality", so that is the default
(``normality_star="rejected"``); ``"normal"`` marks the types where normality was *not* rejected.
The threshold is `alpha` and the note under the table says which meaning and threshold were used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from modic.errors import ModicInputError
from modic.stats.posthoc import kruskal_wallis

SHAPE_FEATURES: tuple[str, ...] = (
    "Elongation", "Flatness", "LeastAxisLength", "MajorAxisLength", "Maximum2DDiameterColumn",
    "Maximum2DDiameterRow", "Maximum2DDiameterSlice", "Maximum3DDiameter", "MeshVolume",
    "MinorAxisLength", "Sphericity", "SurfaceArea", "SurfaceVolumeRatio", "VoxelVolume",
)
RATIO_FEATURE = "MajorLeastAxisRatio"
TABLE1_FEATURES: tuple[str, ...] = SHAPE_FEATURES + (RATIO_FEATURE,)
NORMALITY_STARS = ("rejected", "normal")
NORMALITY_NOTE = ("* after mean (SD): Shapiro–Wilk p {cmp} {alpha} within that type ({meaning}); "
                  "* after the Kruskal–Wallis p: p < {alpha}.")


def normality_note(alpha: float = 0.05, star: str = "rejected") -> str:
    """The note printed under Table 1: what the star means and the threshold used."""
    if star == "rejected":
        return NORMALITY_NOTE.format(cmp="<", alpha=alpha, meaning="normality rejected")
    return NORMALITY_NOTE.format(cmp="≥", alpha=alpha, meaning="normality not rejected")


def shape_column(sequence: str, feature: str) -> str:
    return f"{sequence}_original_shape_{feature}"


def shape_frame(features: pd.DataFrame, sequence: str = "T2") -> pd.DataFrame:
    """The 15 Table 1 features of one sequence (columns = short names); derives the axis ratio if absent."""
    cols = {f: shape_column(sequence, f) for f in SHAPE_FEATURES}
    present = {f: c for f, c in cols.items() if c in features.columns}
    if not present:
        seqs = sorted({c.split("_", 1)[0] for c in features.columns if "_original_shape_" in c})
        raise ModicInputError(f"no shape features for sequence {sequence!r} in the feature table (expected "
                              f"e.g. {cols['Sphericity']}); sequences with shape features: "
                              f"{', '.join(seqs) or 'none'} — choose one with --sequence")
    out = pd.DataFrame({f: features[c] for f, c in present.items()}, index=features.index)
    rc = shape_column(sequence, RATIO_FEATURE)
    if rc in features.columns:
        out[RATIO_FEATURE] = features[rc]
    elif {"MajorAxisLength", "LeastAxisLength"} <= set(present):
        with np.errstate(divide="ignore", invalid="ignore"):
            out[RATIO_FEATURE] = out["MajorAxisLength"] / out["LeastAxisLength"].replace(0, np.nan)
    return out


def _shapiro_normal(x: np.ndarray, alpha: float) -> bool | None:
    x = x[~np.isnan(x)]
    if len(x) < 3 or np.ptp(x) == 0:
        return None
    return bool(stats.shapiro(x).pvalue > alpha)


def table1(features: pd.DataFrame, types: pd.Series, sequence: str = "T2", alpha: float = 0.05,
           decimals: int = 3, normality_star: str = "rejected") -> pd.DataFrame:
    """Table 1 as a DataFrame (one row per shape feature).

    Numeric columns: mean_<t>, sd_<t>, median_<t>, iqr_<t>, n_<t>, shapiro_p_<t>, normal_<t>, kw_h, kw_p,
    epsilon2, significant; display columns: 'Type I', 'Type II', 'Type III' ("0.816 (0.112)*"), their
    'median (IQR)' twins and 'KW p' ("0.000074*"). normal_<t> is True when Shapiro–Wilk p ≥ alpha.
    """
    if normality_star not in NORMALITY_STARS:
        raise ModicInputError(f"normality star must be one of {', '.join(NORMALITY_STARS)}; got {normality_star!r}")
    shape = shape_frame(features, sequence)
    t = types.loc[shape.index].to_numpy()
    labels = sorted(np.unique(t))
    roman = {1: "I", 2: "II", 3: "III"}
    rows = []
    for f in shape.columns:
        v = shape[f].to_numpy(float)
        ok = ~np.isnan(v)
        row: dict = {"feature": f, "column": shape_column(sequence, f)}
        disp = {}
        for g in labels:
            x = v[ok & (t == g)]
            sw = None
            if len(x) >= 3 and np.ptp(x) > 0:
                sw = float(stats.shapiro(x).pvalue)
            normal = None if sw is None else sw >= alpha
            q1, med, q3 = np.percentile(x, [25, 50, 75]) if len(x) else (np.nan,) * 3
            row.update({f"mean_{g}": float(np.mean(x)) if len(x) else np.nan,
                        f"sd_{g}": float(np.std(x, ddof=1)) if len(x) > 1 else np.nan,
                        f"median_{g}": float(med), f"iqr_{g}": float(q3 - q1), f"q1_{g}": float(q1),
                        f"q3_{g}": float(q3),
                        f"n_{g}": int(len(x)), f"shapiro_p_{g}": sw, f"normal_{g}": normal})
            mean_sd = f"{row[f'mean_{g}']:.{decimals}f} ({row[f'sd_{g}']:.{decimals}f})"
            star = normal is not None and (normal if normality_star == "normal" else not normal)
            disp[f"Type {roman.get(g, g)}"] = mean_sd + ("*" if star else "")
            disp[f"Type {roman.get(g, g)} median (IQR)"] = f"{med:.{decimals}f} ({q3 - q1:.{decimals}f})"
        if ok.sum() > 0 and np.ptp(v[ok]) > 0 and len(np.unique(t[ok])) > 1:
            h, p = kruskal_wallis(v[ok][:, None], t[ok])
            h, p = float(h[0]), float(p[0])
        else:
            h, p = np.nan, np.nan
        n_ok = int(ok.sum())
        eps2 = float(h / (n_ok - 1)) if h == h and n_ok > 1 else np.nan
        row.update({"kw_h": h, "kw_p": p, "epsilon2": eps2, "significant": bool(p < alpha) if p == p else False})
        row.update(disp)
        row["KW p"] = "n/a" if p != p else f"{p:.6f}{'*' if p < alpha else ''}"
        rows.append(row)
    return pd.DataFrame(rows).set_index("feature")


def table1_display(t1: pd.DataFrame) -> pd.DataFrame:
    """Only the published columns of Table 1."""
    cols = [c for c in t1.columns if c.startswith("Type ") and not c.endswith("(IQR)")] + ["KW p"]
    return t1[cols]


def table1_median_display(t1: pd.DataFrame) -> pd.DataFrame:
    """Median (IQR) per type, Kruskal–Wallis p and ε² (the rank-based view of Table 1)."""
    cols = [c for c in t1.columns if c.endswith("median (IQR)")]
    out = t1[cols].copy()
    out["KW p"] = t1["KW p"]
    out["ε²"] = t1["epsilon2"].map(lambda v: "n/a" if v != v else f"{v:.3f}")
    return out
