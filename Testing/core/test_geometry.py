"""Voxel-centre coordinates (LPS mm) on a tilted sagittal grid with anisotropic spacing."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from modic.geometry import sagittal_direction, voxel_centers_lps


def test_voxel_centers_match_itk_on_a_tilted_sagittal_grid():
    img = sitk.Image(9, 7, 5, sitk.sitkUInt8)
    img.SetSpacing((0.7, 0.8, 3.5))
    img.SetOrigin((12.5, -40.0, -180.0))
    tilt = sitk.VersorTransform((1.0, 0.0, 0.0), 0.2).GetMatrix()  # 0.2 rad about L-R
    direction = np.asarray(tilt).reshape(3, 3) @ np.asarray(sagittal_direction()).reshape(3, 3)
    img.SetDirection(direction.flatten().tolist())
    whole = voxel_centers_lps(img)
    assert whole.shape == (5, 7, 9, 3)
    box = voxel_centers_lps(img, lo=(2, 1, 3), hi=(6, 4, 5))
    assert box.shape == (2, 3, 4, 3)
    for i, j, k in [(0, 0, 0), (8, 6, 4), (3, 2, 1), (5, 3, 4)]:
        expected = img.TransformIndexToPhysicalPoint((i, j, k))
        np.testing.assert_allclose(whole[k, j, i], expected, atol=1e-9)
        if 2 <= i < 6 and 1 <= j < 4 and 3 <= k < 5:
            np.testing.assert_allclose(box[k - 3, j - 1, i - 2], expected, atol=1e-9)
