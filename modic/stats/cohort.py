"""Load and validate the cohort: feature table + manifest → one aligned `Cohort`.

Every problem with the input becomes a one-line `ModicInputError` naming the file and column, raised
before anything is written. Constant and all-NaN features are not errors: they are dropped and listed
in `Cohort.dropped` (feature, reason) so the report can say so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from modic.errors import ModicInputError

TYPES: tuple[int, ...] = (1, 2, 3)
# The fewest cases of a Modic type the analysis can run on: the hold-out split must leave 2 of every type
# for training the calibrated SVM, and so must every fold of the nested cross-validation (3 folds of 3).
MIN_CASES_PER_TYPE = 3
SCORE_COLUMNS: tuple[str, ...] = ("odi", "vas", "age")
_ROMAN = {"I": 1, "II": 2, "III": 3}


@dataclass
class Cohort:
    """Aligned cohort: `features` (index case_id, numeric), `manifest` (same index), `types` (1/2/3)."""

    features: pd.DataFrame
    manifest: pd.DataFrame
    types: pd.Series
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["feature", "reason"]))
    notes: list[str] = field(default_factory=list)
    features_source: str = "<DataFrame>"
    manifest_source: str = "<DataFrame>"

    @property
    def counts(self) -> dict[int, int]:
        """Number of cases per Modic type."""
        return {t: int((self.types == t).sum()) for t in TYPES}


def _read_csv(src: str | os.PathLike | pd.DataFrame, what: str) -> tuple[pd.DataFrame, str]:
    if isinstance(src, pd.DataFrame):
        return src.copy(), f"<{what} DataFrame>"
    from modic.io import read_csv_table

    p = Path(src)
    return read_csv_table(p, what, dtype={"case_id": str}), str(p)


def _case_index(df: pd.DataFrame, src: str, what: str) -> pd.DataFrame:
    if "case_id" not in df.columns:
        raise ModicInputError(f"{what} {src} has no 'case_id' column — add it as the first column")
    ids = df["case_id"].astype(str).str.strip()
    if (ids == "").any() or df["case_id"].isna().any():
        raise ModicInputError(f"{what} {src}: empty case_id in row(s) "
                              f"{', '.join(str(i + 2) for i in np.flatnonzero(df['case_id'].isna()))[:80]}"
                              " — give every row a case_id")
    dup = ids[ids.duplicated()].unique()
    if len(dup):
        raise ModicInputError(f"{what} {src}: duplicate case_id {', '.join(map(str, dup[:5]))}"
                              f"{' …' if len(dup) > 5 else ''} ({len(dup)} duplicated) — each case once")
    df = df.drop(columns="case_id")
    df.index = pd.Index(ids.values, name="case_id")
    return df


def _read_indexed(src: str | os.PathLike | pd.DataFrame, what: str) -> tuple[pd.DataFrame, str]:
    """Read a CSV or DataFrame and index it by a validated, unique case_id."""
    df, name = _read_csv(src, what)
    if "case_id" not in df.columns and isinstance(src, pd.DataFrame) and df.index.name == "case_id":
        df = df.reset_index()
    return _case_index(df, name, what), name


def read_features(src: str | os.PathLike | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Read a feature table (first column case_id); non-numeric cells become NaN."""
    df, name = _read_indexed(src, "feature table")
    if df.shape[1] == 0:
        raise ModicInputError(f"feature table {name} has no feature columns — run `modic extract` first")
    num = df.copy()
    texts = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]   # only these can hold text
    if texts:
        sub = df[texts]
        num[texts] = sub.apply(pd.to_numeric, errors="coerce")
        text = num[texts].isna() & sub.notna() & (sub.astype(str).apply(lambda c: c.str.strip()) != "")
        if text.any().any():
            col = text.any().idxmax()
            case = text[col].idxmax()
            raise ModicInputError(f"feature table {name}: column {col!r} has the non-numeric value "
                                  f"{str(df.at[case, col])[:40]!r} (case {case}) — a feature table holds numbers "
                                  "only (clinical columns belong in the manifest)")
    return num.astype(float), name


def _parse_type(v) -> float:
    if pd.isna(v):
        return np.nan
    s = str(v).strip().upper()
    if s in _ROMAN:
        return float(_ROMAN[s])
    try:
        f = float(s)
    except ValueError:
        return -1.0
    return f


def read_manifest(src: str | os.PathLike | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Read and validate a manifest: modic_type in 1..3, numeric odi/vas/age (empty allowed)."""
    df, name = _read_indexed(src, "manifest")
    if "modic_type" not in df.columns:
        raise ModicInputError(f"manifest {name} has no 'modic_type' column — add the Modic type (1, 2 or 3) "
                              "of every case")
    t = df["modic_type"].map(_parse_type)
    if t.isna().all():
        raise ModicInputError(f"manifest {name}: column 'modic_type' is empty — give the Modic type (1, 2 or 3) "
                              "of every case")
    bad = t.index[t.isna() | ~t.isin([1.0, 2.0, 3.0])]
    if len(bad):
        vals = ", ".join(f"{c}=" + ("empty" if pd.isna(df.at[c, "modic_type"]) else repr(df.at[c, "modic_type"]))
                         for c in bad[:5])
        raise ModicInputError(f"manifest {name}: modic_type must be 1, 2 or 3; got {vals} "
                              f"({len(bad)} case(s)) — fix column 'modic_type'")
    df["modic_type"] = t.astype(int)
    for col in SCORE_COLUMNS:
        if col not in df.columns:
            continue
        raw = df[col]
        num = pd.to_numeric(raw, errors="coerce")
        bad = raw.index[num.isna() & raw.notna() & (raw.astype(str).str.strip() != "")]
        if len(bad):
            vals = ", ".join(f"{c}={raw[c]!r}" for c in bad[:5])
            raise ModicInputError(f"manifest {name}: column '{col}' must be numeric or empty; got {vals} — "
                                  "fix or clear those cells")
        df[col] = num.astype(float)
    if "odi" in df.columns and ((df["odi"] < 0) | (df["odi"] > 100)).any():
        c = df.index[(df["odi"] < 0) | (df["odi"] > 100)][0]
        raise ModicInputError(f"manifest {name}: odi must be 0–100 (percent); case {c} has {df.at[c, 'odi']}"
                              " — use `modic odi` to score the questionnaire")
    return df, name


def check_split_sizes(types: pd.Series, test_size: float = 0.3, seed: int = 0) -> None:
    """Refuse, in one line, a cohort too small for the hold-out split and the cross-validation.

    Every type needs `MIN_CASES_PER_TYPE` cases, and the stratified hold-out split (`test_size`) must leave
    at least 2 training and 1 test case of every type.
    """
    counts = {t: int((types == t).sum()) for t in TYPES}
    small = {t: n for t, n in counts.items() if n < MIN_CASES_PER_TYPE}
    if small:
        desc = ", ".join(f"type {t}: {n}" for t, n in small.items())
        raise ModicInputError(f"cohort too small: {desc} — the statistics need at least {MIN_CASES_PER_TYPE} "
                              "cases of every Modic type (1, 2, 3) for the hold-out split and the "
                              "cross-validation; add cases")
    from sklearn.model_selection import train_test_split

    try:
        train, test = train_test_split(types.to_numpy(), test_size=test_size, stratify=types.to_numpy(),
                                       random_state=seed)
    except ValueError as exc:
        raise ModicInputError(f"cohort of {len(types)} cases cannot be split for the hold-out validation "
                              f"(test size {test_size}): {str(exc).splitlines()[0][:120]} — add cases or change "
                              "--test-size") from None
    for t in TYPES:
        n_train, n_test = int((train == t).sum()), int((test == t).sum())
        if n_train < 2 or n_test < 1:
            raise ModicInputError(f"the hold-out split (test size {test_size}) leaves type {t} with {n_train} "
                                  f"training and {n_test} test case(s); it needs ≥ 2 and ≥ 1 — add type {t} "
                                  "cases or change --test-size")


def load_cohort(features: str | os.PathLike | pd.DataFrame, manifest: str | os.PathLike | pd.DataFrame,
                min_cases_per_type: int = 2) -> Cohort:
    """Read, validate and align the feature table and the manifest on their common case ids."""
    feat, fname = read_features(features)
    man, mname = read_manifest(manifest)
    common = [c for c in feat.index if c in man.index]
    if not common:
        raise ModicInputError(f"feature table {fname} and manifest {mname} have no case_id in common — "
                              f"e.g. {feat.index[0]!r} vs {man.index[0]!r}; check the case ids")
    notes = []
    if len(common) < len(feat) or len(common) < len(man):
        notes.append(f"{len(common)} cases in both files ({len(feat)} in the feature table, {len(man)} in "
                     "the manifest); only the common cases are analysed.")
    feat, man = feat.loc[common], man.loc[common]
    types = man["modic_type"].astype(int)
    counts = {t: int((types == t).sum()) for t in TYPES}
    small = {t: n for t, n in counts.items() if n < min_cases_per_type}
    if small:
        desc = ", ".join(f"type {t}: {n}" for t, n in small.items())
        raise ModicInputError(f"too few cases per Modic type ({desc}; need ≥ {min_cases_per_type} of each "
                              f"of types 1, 2, 3 for the hold-out split and the cross-validation) in {mname} — "
                              "add cases or fix modic_type")
    dropped = []
    all_nan = feat.columns[feat.isna().all()]
    dropped += [(c, "all values missing (NaN)") for c in all_nan]
    rest = feat.drop(columns=all_nan)
    const = rest.columns[(rest.max() - rest.min()).fillna(0) <= 0]
    dropped += [(c, "constant across cases") for c in const]
    feat = rest.drop(columns=const)
    if dropped:
        notes.append(f"{len(dropped)} feature(s) dropped before analysis (constant or all-NaN); see "
                     "dropped_features.csv.")
    if feat.shape[1] == 0:
        raise ModicInputError(f"feature table {fname}: every feature is constant or missing — nothing to "
                              "analyse")
    n_missing = int(feat.isna().sum().sum())
    if n_missing:
        notes.append(f"{n_missing} missing feature value(s) are imputed with the training median.")
    return Cohort(features=feat, manifest=man, types=types,
                  dropped=pd.DataFrame(dropped, columns=["feature", "reason"]), notes=notes,
                  features_source=fname, manifest_source=mname)


def split_feature_name(name: str) -> tuple[str, str, str]:
    """`T1_wavelet-LLH_glszm_ZoneEntropy` → ("T1", "wavelet-LLH", "glszm_ZoneEntropy")."""
    parts = name.split("_", 2)
    if len(parts) < 3:
        return (parts[0] if len(parts) > 1 else "", "", name)
    return parts[0], parts[1], parts[2]


IMAGE_TYPES: tuple[str, ...] = ("original", "wavelet", "log-sigma", "square", "squareroot", "logarithm",
                                "exponential", "gradient", "lbp-2D", "lbp-3D")


def image_type(name: str) -> str:
    """Image type (filter family) of a feature column: original, wavelet, log-sigma, ..., lbp-3D."""
    img = split_feature_name(name)[1]
    low = img.lower()
    for prefix, label in (("wavelet", "wavelet"), ("log-sigma", "log-sigma"), ("lbp-2d", "lbp-2D"),
                          ("lbp-3d", "lbp-3D")):
        if low.startswith(prefix):
            return label
    return img if img in IMAGE_TYPES else "other"


def sequence_of(name: str) -> str:
    """Sequence prefix of a feature column (T1, T2, FS, ...)."""
    return split_feature_name(name)[0]
