"""The unit of analysis of a cohort whose feature table has one row per detected lesion.

`modic extract --manifest M --detect` writes one row per lesion (case_id, lesion_id, level, endplate,
detected_type, … + features); a patient may have several lesions, and lesions of one patient are not
independent. Two units are offered:

* ``patient`` (default): each patient's largest lesion (volume_mm3; ties by confidence), one row per
  patient, so the tests' assumption of independent observations holds. The type is the manifest's
  clinical `modic_type` when given, else the chosen lesion's detected type (dominant type, 1–3).
* ``lesion``: every lesion is a row (id `lesion_id`), typed by its own detected type, with the patient as
  its cluster (`groups`). Rank tests and p-values then treat the lesions of one patient as independent
  (anti-conservative) — use it to describe lesions, and the patient unit for inference; the clusters are
  returned (and written to unit_of_analysis.json), and `run_stats(groups=)` keeps each patient's lesions
  together in every fold, split, bootstrap resample and permutation (`modic.stats.folds`).

A table with one row per case (masks from the manifest) is passed through: the unit is the patient.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pandas as pd

from modic.errors import ModicInputError

UNITS = ("patient", "lesion")
# lesion descriptors of a --detect table that are not features
LESION_META = ("lesion_id", "label", "level", "endplate", "detected_type", "modic_code", "voxels", "volume_mm3",
               "seed_lps", "confidence")


@dataclass
class UnitTables:
    """Feature table and manifest at the chosen unit (both with a `case_id` column holding the unit's id)."""

    features: pd.DataFrame | str | os.PathLike
    manifest: pd.DataFrame | str | os.PathLike
    unit: str
    statement: str
    groups: pd.Series | None = None          # unit id → patient (case_id), lesion unit only
    counts: dict = field(default_factory=dict)

    def record(self) -> dict:
        """unit_of_analysis.json content."""
        out = {"unit": self.unit, "statement": self.statement, **self.counts}
        if self.groups is not None:
            out["clusters"] = {str(k): str(v) for k, v in self.groups.items()}
        return out


def is_lesion_table(df: pd.DataFrame) -> bool:
    """True for a --detect feature table (one row per lesion)."""
    return {"lesion_id", "endplate"} <= set(df.columns)


def _read(src, what: str) -> pd.DataFrame:
    if isinstance(src, pd.DataFrame):
        return src.copy()
    from modic.io import read_csv_table

    return read_csv_table(src, what=what, dtype={"case_id": str})


def to_unit(features: pd.DataFrame | str | os.PathLike, manifest: pd.DataFrame | str | os.PathLike,
            unit: str = "patient") -> UnitTables:
    """Feature table and manifest at the unit of analysis `unit` ("patient" or "lesion"; module docstring)."""
    if unit not in UNITS:
        raise ModicInputError(f"--unit must be one of {', '.join(UNITS)}, got {unit!r}")
    feats = _read(features, "feature table")
    if not is_lesion_table(feats):
        return UnitTables(features, manifest, "patient",
                          "Unit of analysis: the patient (one lesion mask per case, as given in the manifest).",
                          counts={"patients": int(len(feats))})
    man = _read(manifest, "manifest")
    if "case_id" not in feats.columns or "case_id" not in man.columns:
        raise ModicInputError("feature table and manifest need a 'case_id' column")
    feats["case_id"] = feats["case_id"].astype(str).str.strip()
    man["case_id"] = man["case_id"].astype(str).str.strip()
    missing = sorted(set(feats["case_id"]) - set(man["case_id"]))
    if missing:
        raise ModicInputError(f"manifest has no row for case(s) {', '.join(missing[:5])} of the feature table — "
                              "use the manifest the lesions were detected from")
    n_lesions, n_patients = len(feats), feats["case_id"].nunique()
    feature_cols = [c for c in feats.columns if c not in LESION_META and c != "case_id"]
    if unit == "patient":
        ranked = feats.assign(_v=pd.to_numeric(feats["volume_mm3"], errors="coerce").fillna(0),
                              _c=pd.to_numeric(feats["confidence"], errors="coerce").fillna(0))
        chosen = ranked.sort_values(["case_id", "_v", "_c"], ascending=[True, False, False]) \
            .drop_duplicates("case_id", keep="first")
        chosen = chosen.set_index("case_id").loc[list(dict.fromkeys(feats["case_id"]))].reset_index()
        out_man = man[man["case_id"].isin(chosen["case_id"])].copy()
        typed = _fill_types(out_man, chosen.set_index("case_id")["modic_code"])
        statement = (f"Unit of analysis: the patient — each patient's largest detected lesion ({n_patients} patients, "
                     f"{n_lesions} lesions; {n_lesions - n_patients} smaller lesions left out), so every row is an "
                     f"independent observation. Type: {typed}.")
        return UnitTables(chosen[["case_id", *feature_cols]], out_man, "patient", statement,
                          counts={"patients": n_patients, "lesions": n_lesions, "rows": int(len(chosen))})
    rows = feats.copy()
    groups = pd.Series(rows["case_id"].values, index=rows["lesion_id"].astype(str).values, name="patient")
    per = man.set_index("case_id").loc[rows["case_id"]].reset_index()
    per.insert(0, "patient_id", per["case_id"])
    per["case_id"] = rows["lesion_id"].astype(str).values
    per["modic_type"] = pd.to_numeric(rows["modic_code"], errors="coerce").values
    out_feats = rows[["lesion_id", *feature_cols]].rename(columns={"lesion_id": "case_id"})
    statement = (f"Unit of analysis: the lesion — {n_lesions} lesions of {n_patients} patients, each typed by its "
                 "own detected signal pattern, patients as clusters. Lesions of one patient are not independent: "
                 "the rank tests' p-values treat them as independent (anti-conservative; use --unit patient for "
                 "inference), while cross-validation folds, the hold-out split, bootstrap intervals and the "
                 "permutation test keep each patient's lesions together (clusters in unit_of_analysis.json).")
    return UnitTables(out_feats, per, "lesion", statement, groups=groups,
                      counts={"patients": n_patients, "lesions": n_lesions, "rows": int(len(rows))})


def _fill_types(man: pd.DataFrame, detected: pd.Series) -> str:
    """Fill missing clinical modic_type (in place) from the chosen lesion's detected dominant type."""
    if "modic_type" not in man.columns:
        man["modic_type"] = pd.NA
    missing = man["modic_type"].isna() | (man["modic_type"].astype(str).str.strip() == "")
    if missing.any():
        man.loc[missing, "modic_type"] = man.loc[missing, "case_id"].map(detected).values
    n = int(missing.sum())
    if n == len(man):
        return "the detected type of that lesion (signal pattern; no clinical modic_type in the manifest)"
    if n:
        return f"the manifest's clinical modic_type ({len(man) - n} patients), else the detected type ({n})"
    return "the manifest's clinical modic_type"
