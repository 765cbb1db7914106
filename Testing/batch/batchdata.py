"""Data for the batch-engine tests: tiny synthetic cohorts (64×64×8 sagittal volumes, anisotropic
spacing, a blob lesion) written as NRRD, and a small PyRadiomics parameter file so the real
extraction runs in a fraction of a second per case."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from modic.geometry import format_point, sagittal_direction  # noqa: E402

SMALL_PARAMS = """\
imageType:
  Original: {}
featureClass:
  shape:
  firstorder:
  glcm:
setting:
  label: 1
  binWidth: 25
  preCrop: true
"""
SEQ_SPACING = {"T1": (0.7, 0.7, 3.5), "T2": (0.7, 0.7, 3.5), "FS": (0.9, 0.9, 3.5)}
SEQ_SIZE = {"T1": (64, 64, 8), "T2": (64, 64, 8), "FS": (50, 50, 8)}
SEQ_LESION = {"T1": 60.0, "T2": 140.0, "FS": 180.0}


def make_case(folder: Path, case_id: str, seed: int, empty_mask: bool = False) -> dict[str, str]:
    """Write one synthetic case (t1, t2, fs, shared mask on the T2 grid); return its manifest row."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    origin = (12.0, -30.0, 20.0)
    center = np.array([0.0, -8.0, -2.0]) + rng.uniform(-2, 2, 3)  # LPS mm, inside every grid
    radii = np.array([7.0, 8.0, 7.0]) * rng.uniform(0.8, 1.2, 3)  # L (across slices), P, S
    row: dict[str, str] = {"case_id": case_id}
    mask_img = None
    for seq in ("T1", "T2", "FS"):
        img = sitk.Image(SEQ_SIZE[seq], sitk.sitkFloat32)
        img.SetSpacing(SEQ_SPACING[seq])
        img.SetDirection(sagittal_direction())
        img.SetOrigin(origin)
        nx, ny, nz = SEQ_SIZE[seq]
        kk, jj, ii = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
        idx = np.stack([ii.ravel(), jj.ravel(), kk.ravel()], axis=1).astype(float)
        d = np.array(img.GetDirection()).reshape(3, 3)
        pts = (idx * np.array(img.GetSpacing())) @ d.T + np.array(origin)
        r2 = (((pts - center) / radii) ** 2).sum(axis=1).reshape(nz, ny, nx)
        blob = r2 < 1.0
        arr = rng.normal(100.0, 15.0, (nz, ny, nx)) + SEQ_LESION[seq] * blob * (1 - 0.5 * r2)
        out = sitk.GetImageFromArray(arr.astype(np.float32))
        out.CopyInformation(img)
        sitk.WriteImage(out, str(folder / f"{seq.lower()}.nrrd"), True)
        row[seq.lower()] = f"{case_id}/{seq.lower()}.nrrd"
        if seq == "T2":
            m = sitk.GetImageFromArray((blob & (not empty_mask)).astype(np.uint8))
            m.CopyInformation(img)
            mask_img = m
    sitk.WriteImage(mask_img, str(folder / "mask.nrrd"), True)
    row["mask"] = f"{case_id}/mask.nrrd"
    row["seed_lps"] = format_point(center)
    row["modic_type"] = str(1 + seed % 3)
    return row


def make_cohort(root: Path, n: int, prefix: str = "c", seed0: int = 0) -> Path:
    """Write `n` cases and `manifest.csv` under `root`; return the manifest path."""
    rows = [make_case(root / f"{prefix}{i:02d}", f"{prefix}{i:02d}", seed0 + i) for i in range(n)]
    manifest = root / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def read_table(path: os.PathLike) -> pd.DataFrame:
    """Read a feature table with exact float round-trip."""
    extra = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(path, dtype={"case_id": str}, **extra)


def subprocess_env() -> dict[str, str]:
    """Environment for `python -m modic.cli` subprocesses: the repo on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env
