"""Writing a detection: lesions.csv, label maps per sequence grid, a Slicer segmentation and an overview PNG.

Folder layout (built with `modic.io.atomic_directory`, so nothing half-written is left)::

    lesions.csv           one row per endplate lesion, columns `modic.detect.LESION_COLUMNS` (header only when none)
    lesions_t1.nrrd …     label map on each given sequence's grid (value = `label` of lesions.csv)
    lesions.seg.nrrd      the same on the reference grid as named segments ("L4 inferior - Modic I"), as Slicer reads it
    spine_labels.nrrd     the anatomy used (label values of `modic.spine.model`)
    overview.png          mid-sagittal T1 and T2/FS, lesions outlined, levels named
    detection.json        settings, versions, marrow references, per-lesion details
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from modic.detect import LESION_COLUMNS, DetectionResult
from modic.errors import ModicInputError

SEQ_FILES = {"T1": "t1", "T2": "t2", "FS": "fs"}
TYPE_COLORS = {"I": (0.95, 0.26, 0.21), "II": (1.0, 0.76, 0.03), "III": (0.13, 0.59, 0.95),
               "I/II": (1.0, 0.5, 0.1), "II/III": (0.3, 0.8, 0.5)}


def segment_name(endplate: str, modic_type: str, ascii_only: bool = False) -> str:
    """Segment name of a lesion, e.g. "L4 inferior – Modic I" ("L4 inferior - Modic I" with `ascii_only`:
    NRRD headers are ASCII, so lesions.seg.nrrd uses a hyphen)."""
    return f"{endplate} {'-' if ascii_only else '–'} Modic {modic_type}"


def ijk_to_lps_matrix(image: sitk.Image) -> np.ndarray:
    """4×4 matrix from voxel index (i, j, k) to LPS mm."""
    m = np.eye(4)
    m[:3, :3] = np.asarray(image.GetDirection()).reshape(3, 3) * np.asarray(image.GetSpacing())
    m[:3, 3] = image.GetOrigin()
    return m


def write_segmentation(result: DetectionResult, path: str | os.PathLike) -> Path:
    """lesions.seg.nrrd: one named, coloured segment per lesion on the reference (spine) grid."""
    import slicerio

    ref = result.spine.labels
    grid_seq = next((s for s, m in result.label_maps.items() if _same(m, ref)), None)
    labels = result.label_maps[grid_seq] if grid_seq else None
    if labels is None:  # no sequence on the reference grid: map the first label map onto it
        labels = sitk.Resample(next(iter(result.label_maps.values())), ref, sitk.Transform(),
                               sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    arr = sitk.GetArrayViewFromImage(labels).transpose(2, 1, 0)     # (i, j, k)
    seg = slicerio.create_segmentation(arr.shape, ijk_to_lps_matrix(labels))
    for row in result.lesions.itertuples():
        name = segment_name(row.endplate, row.modic_type, ascii_only=True)
        slicerio.add_segment(seg, arr == int(row.label),
                             {"id": f"lesion_{int(row.label)}", "name": name,
                              "color": list(TYPE_COLORS.get(row.modic_type, (1.0, 0.0, 0.0)))})
    path = Path(path)
    slicerio.write_segmentation(str(path), seg)
    return path


def _same(a: sitk.Image, b: sitk.Image) -> bool:
    from modic.geometry import same_grid

    return same_grid(a, b)


def write_detection(result: DetectionResult, images: Mapping[str, sitk.Image], out: str | os.PathLike,
                    extra_info: dict | None = None, overwrite: bool = False, inputs=(), study=None) -> Path:
    """Write the whole detection folder atomically (see module docstring); return its path.

    `overwrite`/`inputs`: the output rules of docs/OUTPUTS.md; `study`: the DICOM study the images came from
    (`modic.dicom.Study`): then `dicom/` gets a DICOM SEG per series and a TID 1500 SR of the lesions."""
    from modic.io import atomic_directory, check_output_dir
    from modic.model_io import versions

    out = Path(out)
    check_output_dir(out, overwrite, inputs=inputs, command="detect")
    with atomic_directory(out, overwrite, inputs=inputs, command="detect") as tmp:
        result.table().to_csv(tmp / "lesions.csv", index=False)
        for seq, lab in result.label_maps.items():
            sitk.WriteImage(lab, str(tmp / f"lesions_{SEQ_FILES[seq]}.nrrd"), True)
        sitk.WriteImage(result.spine.labels, str(tmp / "spine_labels.nrrd"), True)
        write_segmentation(result, tmp / "lesions.seg.nrrd")
        plot_overview(result, images, tmp / "overview.png")
        details = result.lesions.to_dict(orient="records")
        record = {"lesions": details, "info": result.info, "columns": list(LESION_COLUMNS),
                  "versions": versions(), **(extra_info or {})}
        (tmp / "detection.json").write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
        if study is not None and len(result.lesions):
            from modic.dicom.export import export_dicom, lesions_from_detection

            lesions, spine = lesions_from_detection(tmp)
            export_dicom(study, lesions, tmp / "dicom", spine=spine)
    return out


def _mid_slice(image: sitk.Image, result: DetectionResult) -> int:
    """Index k of the slice through the middle of the vertebral bodies (the mid-sagittal slice)."""
    cents = [s.centroid_lps for s in result.spine.vertebrae()]
    if not cents:
        return image.GetSize()[2] // 2
    k = image.TransformPhysicalPointToContinuousIndex(tuple(np.mean(cents, axis=0)))[2]
    return int(np.clip(round(k), 0, image.GetSize()[2] - 1))


def plot_overview(result: DetectionResult, images: Mapping[str, sitk.Image], path: str | os.PathLike,
                  dpi: int = 100) -> Path:
    """Mid-sagittal T1 and T2 (or FS) with every lesion outlined (solid: in this slice; dashed: its
    outline projected across all slices) and the vertebral levels named."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seqs = [s for s in ("T1", "T2", "FS") if s in images]
    panels = seqs[:1] + [next(s for s in ("T2", "FS") if s in seqs)] if "T1" in seqs else seqs[:2]
    panels = list(dict.fromkeys(panels))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 5.6), facecolor="black")
    axes = np.atleast_1d(axes)
    rows = list(result.lesions.itertuples())
    for ax, seq in zip(axes, panels, strict=True):
        img, lab = images[seq], result.label_maps[seq]
        k = _mid_slice(img, result)
        arr = sitk.GetArrayViewFromImage(img)[k]
        labs = sitk.GetArrayViewFromImage(lab)
        sx, sy = img.GetSpacing()[:2]
        extent = (0, arr.shape[1] * sx, arr.shape[0] * sy, 0)
        lo, hi = np.percentile(arr, [1, 99.5])
        ax.imshow(arr, cmap="gray", vmin=lo, vmax=hi or 1, extent=extent, interpolation="bilinear")
        xs, ys = np.arange(arr.shape[1]) * sx + sx / 2, np.arange(arr.shape[0]) * sy + sy / 2
        for row in rows:
            color = TYPE_COLORS.get(row.modic_type, (1, 0, 0))
            proj = (labs == int(row.label)).any(axis=0)
            if proj.any():
                ax.contour(xs, ys, proj, levels=[0.5], colors=[color], linewidths=0.8, linestyles="dashed")
                here = labs[k] == int(row.label)
                if here.any():
                    ax.contour(xs, ys, here, levels=[0.5], colors=[color], linewidths=1.4)
                jj, ii = np.nonzero(proj)
                ax.text(ii.min() * sx - 2, jj.mean() * sy, f"{row.modic_type}", color=color, fontsize=9,
                        va="center", ha="right", fontweight="bold")
        for s in result.spine.vertebrae():
            i, j, _ = img.TransformPhysicalPointToContinuousIndex(tuple(s.centroid_lps))
            if 0 <= i < arr.shape[1] and 0 <= j < arr.shape[0]:
                ax.text(i * sx, j * sy, s.level, color="yellow", fontsize=9, ha="center", va="center")
        ax.set_aspect("equal")
        ax.set_title(f"{seq} (slice {k + 1}/{img.GetSize()[2]})", color="white", fontsize=10)
        ax.set_axis_off()
    n = len(rows)
    title = (f"{n} Modic change{'s' if n != 1 else ''}: " + ", ".join(f"{r.endplate} {r.modic_type}" for r in rows)
             if n else "no Modic change found")
    if not result.spine.naming_certain:
        title += " (level names uncertain)"
    fig.suptitle(title, color="white", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=dpi, facecolor="black", format="png")
    plt.close(fig)
    return path


def read_lesions(path: str | os.PathLike):
    """Read a lesions.csv back (checks the stable columns)."""
    import pandas as pd

    df = pd.read_csv(path)
    missing = [c for c in LESION_COLUMNS if c not in df.columns]
    if missing:
        raise ModicInputError(f"{path}: not a lesions.csv (missing columns {', '.join(missing)})")
    return df
