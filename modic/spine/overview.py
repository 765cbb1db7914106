"""Overview figure of a parsed spine: the mid-sagittal slice with outlines and level names."""

from __future__ import annotations

import os
import textwrap
import warnings

import numpy as np
import SimpleITK as sitk

from modic.spine.frame import canonical_direction
from modic.spine.model import Spine, label_name

_COLOURS = {"vertebra": "#e8453c", "disc": "#3c8be8", "endplate": "#f2c12e"}


def _canonical(image: sitk.Image, grid_from: sitk.Image, nearest: bool) -> np.ndarray:
    """`image` resampled onto a 1 mm canonical sagittal grid spanning `grid_from` ([lateral, inf, post])."""
    w = canonical_direction(grid_from.GetDirection())
    size = np.asarray(grid_from.GetSize()) - 1
    corners = np.array([grid_from.TransformContinuousIndexToPhysicalPoint([float(v) for v in c]) for c in
                        np.array(np.meshgrid(*[(0, s) for s in size], indexing="ij")).reshape(3, -1).T]) @ w
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    d = np.asarray(grid_from.GetDirection()).reshape(3, 3)
    lat_mm = grid_from.GetSpacing()[int(np.argmax(np.abs(d[0])))]
    spacing = np.array([1.0, 1.0, lat_mm])
    ref = sitk.Image([int(v) for v in np.floor((hi - lo) / spacing) + 1], sitk.sitkUInt8)
    ref.SetSpacing([float(v) for v in spacing])
    ref.SetDirection([float(v) for v in w.ravel()])
    ref.SetOrigin([float(v) for v in w @ lo])
    interp = sitk.sitkNearestNeighbor if nearest else sitk.sitkLinear
    return sitk.GetArrayFromImage(sitk.Resample(sitk.Cast(image, sitk.sitkFloat32), ref, sitk.Transform(), interp))


def naming_state(spine: Spine, width: int = 90) -> str:
    """The overview's naming line: anchored on the sacrum, or UNCERTAIN with the parser's reason (`info["naming"]`,
    wrapped to `width` characters) — a level counted from the lowest body, or from an S1 taken where the field of
    view cuts the column, is to be checked on the image."""
    if spine.naming_certain:
        return "naming anchored on the sacrum"
    why = spine.naming_reason
    return "naming UNCERTAIN — check the levels" + ("\n" + textwrap.fill(why, width) if why else "")


def write_overview(spine: Spine, image: sitk.Image, path: str | os.PathLike, title: str = "") -> None:
    """PNG of the mid-sagittal slice through the vertebral bodies with structure outlines and level names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img = _canonical(image, spine.labels, nearest=False)
    lab = _canonical(spine.labels, spine.labels, nearest=True).astype(np.uint8)
    bodies = np.isin(lab, [s.label for s in spine.structures if s.structure == "vertebra"])
    k = int(np.argmax(bodies.sum(axis=(1, 2)))) if bodies.any() else lab.shape[0] // 2
    sl, ls = img[k], lab[k]
    lo = min(float(np.quantile(sl, 0.005)), 0.0)          # magnitude MR: 0 is black
    hi = float(np.quantile(sl, 0.995))
    hi = hi if hi > lo else lo + 1.0
    fig, ax = plt.subplots(figsize=(5, 5 * sl.shape[0] / max(sl.shape[1], 1)), dpi=120)
    ax.imshow(sl, cmap="gray", vmin=lo, vmax=hi)
    for value in np.unique(ls):
        if not value:
            continue
        kind, name = label_name(int(value))
        m = ls == value
        ax.contour(m.astype(float), levels=[0.5], colors=_COLOURS[kind], linewidths=0.8)
        if kind in ("vertebra", "disc"):
            r, c = np.argwhere(m).mean(axis=0)
            ax.text(c - 30 if kind == "vertebra" else c + 25, r, name, color=_COLOURS[kind], fontsize=7,
                    ha="center", va="center")
    state = naming_state(spine)
    ax.set_title(f"{title} — {state}" if title else state, fontsize=8 if spine.naming_certain else 6.5)
    ax.set_axis_off()
    with warnings.catch_warnings():   # a one-slice or tiny image leaves no room for the margins: keep the default
        warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
