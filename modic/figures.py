"""Figures (matplotlib, Agg backend; no Slicer/Qt)."""

from __future__ import annotations

import os
from pathlib import Path


def plot_phantom_case(case, path: str | os.PathLike, dpi: int = 110) -> Path:
    """T1 / T2 / FS slices through the case's seed point side by side, with the lesion outline.

    Each panel is the sagittal slice of that sequence's own grid nearest to `case.seed_lps` (LPS mm),
    shown in physical aspect ratio, anterior to the left and superior at the top (radiological view).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import SimpleITK as sitk

    from modic.io import atomic_path

    seqs = [s for s in ("T1", "T2", "FS") if s in case.images]
    fig, axes = plt.subplots(1, len(seqs), figsize=(4.2 * len(seqs), 5.0), facecolor="black")
    axes = np.atleast_1d(axes)
    for ax, seq in zip(axes, seqs, strict=True):
        img, mask = case.images[seq], case.masks[seq]
        k = img.TransformPhysicalPointToIndex(tuple(case.seed_lps))[2]
        arr = sitk.GetArrayViewFromImage(img)[k]          # rows: j (superior→inferior), cols: i (A→P)
        m = sitk.GetArrayViewFromImage(mask)[k]
        sx, sy = img.GetSpacing()[:2]
        extent = (0, arr.shape[1] * sx, arr.shape[0] * sy, 0)
        lo, hi = np.percentile(arr, [1, 99.5])
        ax.imshow(arr, cmap="gray", vmin=lo, vmax=hi, extent=extent, interpolation="bilinear")
        if m.any():
            ax.contour(np.arange(m.shape[1]) * sx + sx / 2, np.arange(m.shape[0]) * sy + sy / 2, m,
                       levels=[0.5], colors=["#ff3b30"], linewidths=1.0)
        ax.set_aspect("equal")
        ax.set_title(f"{seq}  (slice {k + 1}/{img.GetSize()[2]})", color="white", fontsize=10)
        ax.set_axis_off()
        ax.text(2, 8, "A", color="yellow", fontsize=9)
        ax.text(extent[1] - 8, 8, "P", color="yellow", fontsize=9)
    fig.suptitle(f"{case.case_id}: Modic type {case.true_type} at {case.meta.get('level', '?')} "
                 f"({case.meta.get('endplate', '?')} endplate) — synthetic phantom", color="white",
                 fontsize=11)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi, facecolor="black", format="png")
    plt.close(fig)
    return path
