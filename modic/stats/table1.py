"""Table 1: lesion morphology (PyRadiomics shape features of one sequence) per Modic type.

Mean (SD) per type, a normality mark per type (Shapiro–Wilk p > 0.05, i.e. normality not rejected,
marked "*"), Kruskal–Wallis p across the types and a significance mark (p < alpha).
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
NORMALITY_NOTE = ("* after mean (SD): Shapiro–Wilk p > 0.05 within that type (normality not rejected); "
                  "* after the Kruskal–Wallis p: p < {alpha}.")


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
           decimals: int = 3) -> pd.DataFrame:
    """Table 1 as a DataFrame (one row per shape feature).

    Numeric columns: mean_<t>, sd_<t>, n_<t>, shapiro_p_<t>, normal_<t>, kw_h, kw_p, significant;
    display columns: 'Type I', 'Type II', 'Type III' ("0.816 (0.112)*") and 'KW p' ("0.000074*").
    """
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
            normal = None if sw is None else sw > alpha
            row.update({f"mean_{g}": float(np.mean(x)) if len(x) else np.nan,
                        f"sd_{g}": float(np.std(x, ddof=1)) if len(x) > 1 else np.nan,
                        f"n_{g}": int(len(x)), f"shapiro_p_{g}": sw, f"normal_{g}": normal})
            mean_sd = f"{row[f'mean_{g}']:.{decimals}f} ({row[f'sd_{g}']:.{decimals}f})"
            disp[f"Type {roman.get(g, g)}"] = mean_sd + ("*" if normal else "")
        if ok.sum() > 0 and np.ptp(v[ok]) > 0 and len(np.unique(t[ok])) > 1:
            h, p = kruskal_wallis(v[ok][:, None], t[ok])
            h, p = float(h[0]), float(p[0])
        else:
            h, p = np.nan, np.nan
        row.update({"kw_h": h, "kw_p": p, "significant": bool(p < alpha) if p == p else False})
        row.update(disp)
        row["KW p"] = "n/a" if p != p else f"{p:.6f}{'*' if p < alpha else ''}"
        rows.append(row)
    return pd.DataFrame(rows).set_index("feature")


def table1_display(t1: pd.DataFrame) -> pd.DataFrame:
    """Only the published columns of Table 1."""
    cols = [c for c in t1.columns if c.startswith("Type ")] + ["KW p"]
    return t1[cols]
