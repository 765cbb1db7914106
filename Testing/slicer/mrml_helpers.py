"""Synthetic volumes with a sagittal, anisotropic, off-origin geometry for the Slicer-side suites."""

import numpy as np

#: Direction (row-major, LPS) of a 2D sagittal lumbar acquisition; equals modic.geometry.sagittal_direction().
SAGITTAL_DIRECTION_LPS = (0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0)
SPACING = (0.7, 0.7, 3.5)
ORIGIN_LPS = (12.5, -40.25, 101.0)


def make_image(shape_kji=(12, 40, 30), spacing=SPACING, origin_lps=ORIGIN_LPS,
               direction_lps=SAGITTAL_DIRECTION_LPS, dtype=np.float32, seed=0):
    """Random SimpleITK image with the given geometry (array shape in k, j, i order)."""
    import SimpleITK as sitk

    rng = np.random.default_rng(seed)
    array = (rng.normal(100.0, 20.0, size=shape_kji)).astype(dtype)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin_lps)
    image.SetDirection(direction_lps)
    return image
