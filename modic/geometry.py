"""Physical-space helpers: LPS ⇄ RAS, point ⇄ index, resampling between sequence grids.

SimpleITK/ITK images live in LPS millimetres. Slicer's RAS = diag(-1, -1, 1) · LPS.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import SimpleITK as sitk

from modic.errors import ModicInputError

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def lps_to_ras(point_lps: Sequence[float]) -> np.ndarray:
    """Convert a point from LPS to RAS millimetres."""
    return LPS_TO_RAS @ np.asarray(point_lps, dtype=float)


def ras_to_lps(point_ras: Sequence[float]) -> np.ndarray:
    """Convert a point from RAS to LPS millimetres."""
    return LPS_TO_RAS @ np.asarray(point_ras, dtype=float)


def parse_point_lps(text: str, what: str = "seed_lps") -> tuple[float, float, float]:
    """Parse "x;y;z" (or "x,y,z") LPS millimetres."""
    parts = [p for p in str(text).replace(",", ";").split(";") if p.strip()]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or not all(np.isfinite(values)):
        raise ModicInputError(f"{what} must be three numbers 'x;y;z' in LPS mm, got {text!r}")
    return values  # type: ignore[return-value]


def format_point(point: Sequence[float]) -> str:
    """Format a point as "x;y;z" with 3 decimals."""
    return ";".join(f"{float(v):.3f}" for v in point)


def point_lps_to_index(image: sitk.Image, point_lps: Sequence[float]) -> tuple[int, int, int]:
    """Nearest voxel index (i, j, k) of an LPS point; raise if it falls outside the image."""
    try:
        point = tuple(float(v) for v in point_lps)
    except (TypeError, ValueError):
        raise ModicInputError(f"point {point_lps!r} is not three numbers (x, y, z in LPS mm)") from None
    if len(point) != 3 or not all(np.isfinite(point)):
        raise ModicInputError(f"point {point_lps!r} is not three finite numbers (x, y, z in LPS mm) — give e.g. "
                              "(12.5, -30.0, -75.0)")
    idx = image.TransformPhysicalPointToIndex(point)
    if not all(0 <= i < n for i, n in zip(idx, image.GetSize(), strict=True)):
        raise ModicInputError(f"point {format_point(point_lps)} (LPS mm) lies outside the image "
                              f"(size {image.GetSize()}) — check the seed coordinates and LPS/RAS sign")
    return tuple(int(i) for i in idx)  # type: ignore[return-value]


def resample_like(image: sitk.Image, reference: sitk.Image, is_label: bool = False,
                  default: float = 0.0) -> sitk.Image:
    """Resample `image` onto `reference`'s grid by physical (LPS) coordinates.

    Labels use nearest neighbour and keep their pixel type; intensities use linear interpolation
    and come back as float32.
    """
    if same_grid(image, reference):
        return image
    interp = sitk.sitkNearestNeighbor if is_label else sitk.sitkLinear
    pixel = image.GetPixelID() if is_label else sitk.sitkFloat32
    return sitk.Resample(image, reference, sitk.Transform(), interp, default, pixel)


def voxel_centers_lps(image: sitk.Image, lo: Sequence[int] | None = None,
                      hi: Sequence[int] | None = None) -> np.ndarray:
    """LPS mm coordinates of the voxel centres in the index box [lo, hi) (i, j, k order; default the whole
    image), as a numpy-ordered array of shape (k, j, i, 3)."""
    size = image.GetSize()
    lo = (0, 0, 0) if lo is None else lo
    hi = size if hi is None else hi
    kk, jj, ii = np.meshgrid(*(np.arange(lo[a], hi[a]) for a in (2, 1, 0)), indexing="ij")
    idx = np.stack([ii, jj, kk], axis=-1)
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    return np.asarray(image.GetOrigin()) + (idx * np.asarray(image.GetSpacing())) @ direction.T


def same_grid(a: sitk.Image, b: sitk.Image, tol: float = 1e-4) -> bool:
    """True if two images share size, spacing, origin and direction (within `tol`)."""
    return (a.GetSize() == b.GetSize()
            and np.allclose(a.GetSpacing(), b.GetSpacing(), atol=tol)
            and np.allclose(a.GetOrigin(), b.GetOrigin(), atol=tol * 10)
            and np.allclose(a.GetDirection(), b.GetDirection(), atol=tol))


def sagittal_direction() -> tuple[float, ...]:
    """Direction matrix (row-major 3×3, LPS) of a typical 2D sagittal lumbar acquisition.

    As DICOM writes it: rows run anterior→posterior (+P), columns superior→inferior (−S), and the
    slice normal row × column points to the patient's right (−L). Columns of the matrix are
    (0,1,0), (0,0,-1), (-1,0,0); determinant +1.
    """
    return (0.0, 0.0, -1.0,
            1.0, 0.0, 0.0,
            0.0, -1.0, 0.0)
