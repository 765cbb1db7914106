"""Small synthetic sagittal volumes with known geometry for fast core tests."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from modic.geometry import sagittal_direction

SPACING = (0.7, 0.7, 3.5)  # mm: in-plane 0.7, slice 3.5 (anisotropic)
ORIGIN = (12.5, -40.0, 80.0)  # LPS mm


def volume(arr_kji: np.ndarray, spacing=SPACING, origin=ORIGIN, direction=None) -> sitk.Image:
    """Wrap a numpy (k, j, i) array as an image with a sagittal direction."""
    img = sitk.GetImageFromArray(arr_kji)
    img.SetSpacing(spacing)
    img.SetOrigin(origin)
    img.SetDirection(direction or sagittal_direction())
    return img


def ellipsoid_case(shape=(10, 48, 48), radii=(3.0, 9.0, 11.0), contrast=(60.0, -40.0, 80.0), seed=0):
    """Three sequences with an ellipsoidal 'lesion' of per-sequence contrast; returns (images, masks)."""
    rng = np.random.default_rng(seed)
    kk, jj, ii = np.mgrid[: shape[0], : shape[1], : shape[2]]
    c = [(n - 1) / 2 for n in shape]
    m = (((kk - c[0]) / radii[0]) ** 2 + ((jj - c[1]) / radii[1]) ** 2 + ((ii - c[2]) / radii[2]) ** 2) < 1
    images, masks = {}, {}
    for seq, delta in zip(("T1", "T2", "FS"), contrast, strict=True):
        arr = rng.normal(200.0, 25.0, shape).astype(np.float32)
        arr[m] += delta
        images[seq] = volume(arr)
        masks[seq] = volume(m.astype(np.uint8))
    return images, masks


def box_column(body_rows, cols, shape):
    """A mid-sagittal slab (rows = inferior, cols = posterior, 1 mm pixels) of box-shaped bodies, marrow 1.0 on
    soft tissue 0.2, each body labelled i + 1 in one watershed variant; returns (image, labels, chain of Regions)."""
    from modic.spine.column import Region

    img = np.full(shape, 0.2, np.float32)
    labels = np.zeros(shape, np.int32)
    chain = []
    for i, rows in enumerate(body_rows):
        labels[rows[0]:rows[1], cols[0]:cols[1]] = i + 1
        img[rows[0]:rows[1], cols[0]:cols[1]] = 1.0
        rr, cc = np.mgrid[rows[0]:rows[1], cols[0]:cols[1]]
        coords = np.stack([rr.ravel(), cc.ravel()], axis=1).astype(float)
        chain.append(Region(i + 1, coords.mean(axis=0), float(len(coords)), 40.0, 25.0, 0.95, 0.0, 1.0, 0.05,
                            np.cov(coords.T)))
    return img, labels, chain
