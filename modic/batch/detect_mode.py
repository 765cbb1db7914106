"""`modic extract --manifest M --detect`: zero-click cohorts — one table row per detected lesion.

Each case is detected (`modic.detect.detect_lesions`; the anatomy from a `spine` manifest column holding a
`spine_labels.nrrd`, else parsed from the images), then features are extracted for every lesion from the
detection's label maps (label = the lesion's label). The case's rows travel through the engine's cache
in its diagnostics (`lesion_rows`), so per-case isolation, resume and progress work as for one row per case.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

SPINE_COLUMN = "spine"
# lesion columns of the table, before the features (detected_type: the signal-pattern type, I … II/III;
# modic_code: its dominant type 1–3 — the manifest's modic_type stays the patient's clinical type)
LESION_TABLE_COLUMNS = ("case_id", "lesion_id", "label", "level", "endplate", "detected_type", "modic_code",
                        "voxels", "volume_mm3", "seed_lps", "confidence")
_CODES = {"I": 1, "II": 2, "III": 3, "I/II": 1, "II/III": 2}


def resolve_spine_column(df: pd.DataFrame, manifest: str | os.PathLike) -> pd.DataFrame:
    """Make the optional `spine` column absolute (relative paths resolve against the manifest's folder)."""
    if SPINE_COLUMN not in df.columns:
        return df
    base = Path(manifest).resolve().parent
    df = df.copy()
    df[SPINE_COLUMN] = [None if not isinstance(v, str) or not v.strip() else
                        str(Path(v.strip()) if Path(v.strip()).is_absolute() else base / v.strip())
                        for v in df[SPINE_COLUMN]]
    return df


def detector_version() -> str:
    """The detector's and the spine parser's method versions (a case without a spine file is parsed, so a new
    parser changes its detections too): part of the cache key of --detect runs."""
    from modic.detect import METHOD_VERSION
    from modic.spine.parse import METHOD_VERSION as SPINE_VERSION

    return f"{METHOD_VERSION}+spine{SPINE_VERSION}"


def detect_case(task, images) -> tuple[dict, dict]:
    """Detect and extract one case: returns (values = {}, diagnostics with `lesion_rows` and `detection`).

    `task` is the engine's CaseTask (row, params, normalization, case_function, inner_jobs)."""
    from modic.commands.detect import load_spine
    from modic.detect import detect_lesions

    row = task.row
    spine_path = row.get(SPINE_COLUMN)
    spine = load_spine(spine_path) if isinstance(spine_path, str) else None
    det = detect_lesions(images, spine, case_id=task.case_id)
    lesion_rows = []
    if len(det.lesions):
        ims = images
        if task.normalization != "none":
            from modic.pipeline import normalize_for_extraction

            ims, _ = normalize_for_extraction(images, task.normalization, None)
        fn = task.case_function
        if fn is None:
            from modic.features import extract_case as fn
        for les in det.lesions.itertuples():
            feats = fn(ims, det.label_maps, params=task.params, case_id=task.case_id, label=int(les.label),
                       jobs=task.inner_jobs)
            lesion_rows.append({"case_id": task.case_id, "lesion_id": f"{task.case_id}:{int(les.label)}",
                                "label": int(les.label), "level": les.level, "endplate": les.endplate,
                                "detected_type": les.modic_type, "modic_code": _CODES.get(les.modic_type),
                                "voxels": int(les.voxels), "volume_mm3": float(les.volume_mm3),
                                "seed_lps": les.seed_lps, "confidence": float(les.confidence),
                                **{k: float(v) for k, v in feats.values.items()}})
    info = {k: v for k, v in det.info.items() if k not in ("marrow_reference",)}
    return {}, {"detection": info, "n_lesions": len(lesion_rows), "lesion_rows": lesion_rows}


def lesion_table(entries: dict[str, dict[str, Any]], order: Iterable[str]) -> pd.DataFrame:
    """One row per detected lesion, cases in manifest order (a case without lesions gives no row)."""
    records = []
    for cid in order:
        if cid in entries:
            records.extend((entries[cid].get("diagnostics") or {}).get("lesion_rows") or [])
    columns = dict.fromkeys(LESION_TABLE_COLUMNS)
    for r in records:
        columns.update(dict.fromkeys(r))
    return pd.DataFrame.from_records(records, columns=list(columns))
