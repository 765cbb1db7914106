"""Manifest CSV: one row per case, image and mask paths plus clinical columns.

Columns: `case_id`; images `t1`, `t2`, `fs` (any non-empty subset), or `study` (a DICOM study folder or
DICOMDIR: the sagittal T1, T2 and STIR/FS series are recognised, `t1_series`/`t2_series`/`fs_series` may name
them by number, description or UID); lesion mask `mask` (one mask,
resampled onto each sequence) or `mask_t1`/`mask_t2`/`mask_fs`; optional `label` (default 1), `seed_lps`
("x;y;z", LPS mm); clinical `modic_type` (1/2/3), `odi`, `vas`, `age`, `sex`, `pfirrmann`; anything
else is kept as a covariate. Relative paths resolve against the manifest's folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import SimpleITK as sitk

from modic.checks import check_label_file
from modic.errors import ModicInputError
from modic.geometry import resample_like
from modic.io import read_csv_table, read_image, same_file

IMAGE_COLUMNS: dict[str, str] = {"T1": "t1", "T2": "t2", "FS": "fs"}
MASK_COLUMNS: dict[str, str] = {"T1": "mask_t1", "T2": "mask_t2", "FS": "mask_fs"}
STUDY_COLUMN = "study"
SERIES_COLUMNS: dict[str, str] = {"T1": "t1_series", "T2": "t2_series", "FS": "fs_series"}
PATH_COLUMNS = (*IMAGE_COLUMNS.values(), STUDY_COLUMN, "mask", *MASK_COLUMNS.values())


def read_manifest(path: str | os.PathLike, require_masks: bool = False) -> pd.DataFrame:
    """Read and validate a manifest; path columns become absolute strings, `label` defaults to 1."""
    path = Path(path)
    df = read_csv_table(path, "manifest", dtype={"case_id": str})
    if "case_id" not in df.columns:
        raise ModicInputError(f"manifest {path} has no 'case_id' column — add one (unique per case)")
    if df["case_id"].isna().any():
        row = int(df.index[df["case_id"].isna()][0]) + 2
        raise ModicInputError(f"manifest {path} line {row}: empty case_id")
    df["case_id"] = df["case_id"].astype(str).str.strip()
    dup = df["case_id"][df["case_id"].duplicated()].unique()
    if len(dup):
        raise ModicInputError(f"manifest {path}: duplicate case_id {', '.join(map(str, dup[:5]))} — "
                              "case ids must be unique")
    seqs = [s for s, c in IMAGE_COLUMNS.items() if c in df.columns]
    has_study = STUDY_COLUMN in df.columns
    if not seqs and not has_study:
        raise ModicInputError(f"manifest {path} has no image column — add at least one of t1, t2, fs (or study)")
    base = path.resolve().parent
    for col in PATH_COLUMNS:
        if col in df.columns:
            df[col] = [_resolve(v, base) for v in df[col]]
    for _, row in df.iterrows():
        if not any(isinstance(row.get(IMAGE_COLUMNS[s]), str) for s in seqs) and not isinstance(
                row.get(STUDY_COLUMN), str):
            raise ModicInputError(f"manifest {path}, case {row['case_id']}: no image path in t1/t2/fs"
                                  + (" or study" if has_study else ""))
    if require_masks and not ({"mask", *MASK_COLUMNS.values()} & set(df.columns)):
        raise ModicInputError(f"manifest {path} has no mask column — add 'mask' or 'mask_t1'/'mask_t2'/"
                              "'mask_fs', or segment from 'seed_lps' with --segment")
    if "label" not in df.columns:
        df["label"] = 1
    df["label"] = pd.to_numeric(df["label"], errors="coerce").fillna(1).astype(int)
    return df


def _resolve(value: object, base: Path) -> object:
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
        return None
    p = Path(str(value).strip())
    return str(p if p.is_absolute() else (base / p))


def case_sequences(row: pd.Series) -> list[str]:
    """Sequences ("T1", "T2", "FS") with an image path in this manifest row."""
    return [s for s, c in IMAGE_COLUMNS.items() if isinstance(row.get(c), str)]


def load_case_images(row: pd.Series) -> dict[str, sitk.Image]:
    """Load every image of a manifest row, keyed by sequence (a `study` cell: the recognised series;
    an explicit t1/t2/fs path wins over the study's series for that sequence)."""
    case = row["case_id"]
    images = {}
    if isinstance(row.get(STUDY_COLUMN), str):
        from modic.dicom.study import load_study

        overrides = {s: str(row[c]).strip() for s, c in SERIES_COLUMNS.items()
                     if row.get(c) is not None and not pd.isna(row.get(c)) and str(row.get(c)).strip()}
        try:
            images.update(load_study(row[STUDY_COLUMN], overrides).images)
        except ModicInputError as exc:
            raise ModicInputError(f"case {case}: {exc}") from None
    if pair := same_file({s: str(row[IMAGE_COLUMNS[s]]) for s in case_sequences(row)}):
        a, b = (IMAGE_COLUMNS[s] for s in pair)
        raise ModicInputError(f"case {case}: columns {a} and {b} name the same image {row[b]} — give each sequence "
                              "its own series")
    given = case_sequences(row)
    images.update({s: read_image(row[IMAGE_COLUMNS[s]], what=f"case {case} {s} image") for s in given})
    from modic.checks import check_not_label_map

    for s, image in images.items():
        check_not_label_map(image, f"case {case} {s} image" + (f" {row[IMAGE_COLUMNS[s]]}" if s in given else ""))
    return images


def load_case_masks(row: pd.Series, images: dict[str, sitk.Image]) -> dict[str, sitk.Image]:
    """Load the lesion mask for each sequence, on that sequence's grid.

    A per-sequence column (`mask_t2`) wins; otherwise the shared `mask` is resampled (nearest
    neighbour, by physical LPS coordinates) onto each sequence grid.
    """
    case = row["case_id"]
    shared = row.get("mask") if isinstance(row.get("mask"), str) else None
    shared_img = None
    masks: dict[str, sitk.Image] = {}
    for seq, image in images.items():
        own = row.get(MASK_COLUMNS[seq])
        if isinstance(own, str):
            mask = read_image(own, what=f"case {case} {seq} mask")
            check_label_file(mask, f"case {case} {seq} mask {own}")
        elif shared is not None:
            if shared_img is None:
                shared_img = read_image(shared, what=f"case {case} mask")
                check_label_file(shared_img, f"case {case} mask {shared}")
            mask = shared_img
        else:
            raise ModicInputError(f"case {case}: no mask for {seq} — add column {MASK_COLUMNS[seq]} or "
                                  "'mask', or segment with --segment and a seed_lps column")
        resampled = resample_like(mask, image, is_label=True)
        if _has_voxels(mask) and not _has_voxels(resampled):
            mask_path = own if isinstance(own, str) else shared
            raise ModicInputError(f"case {case}: the lesion mask {mask_path} lies outside the {seq} image "
                                  f"{row.get(IMAGE_COLUMNS[seq])} — check that mask and image belong to the same "
                                  "study (origin/direction)")
        masks[seq] = resampled
    return masks


def _has_voxels(image: sitk.Image) -> bool:
    return bool(sitk.GetArrayViewFromImage(image).any())
