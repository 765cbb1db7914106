"""A canonical sagittal working frame for spine parsing.

Any sagittal acquisition (direction matrix, in-plane tilt, anisotropic voxels) is resampled onto a grid whose
axes are, in sitk order: i → posterior, j → inferior, k → left (LPS +x), i.e. numpy arrays are
``[lateral, inferior, posterior]`` and ``array[k]`` is a sagittal slice shown with anterior on the left and
superior on top. The working grid keeps the images' physical extent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from modic.errors import ModicInputError
from modic.normalize import zero_minimum


@dataclass
class WorkingFrame:
    """The working grid (a sitk image holding only geometry) and the images resampled onto it."""

    grid: sitk.Image
    arrays: dict[str, np.ndarray]       # name → float32 [lateral, inferior, posterior]

    @property
    def spacing_zyx(self) -> np.ndarray:
        """Voxel size (mm) along the numpy axes (lateral, SI, AP)."""
        return np.asarray(self.grid.GetSpacing())[::-1]


def canonical_direction(direction: tuple[float, ...]) -> np.ndarray:
    """3×3 direction (columns = sitk axes i, j, k in LPS) of the working frame closest to `direction`:
    columns are the image's own axes, permuted and flipped to point posterior, inferior and left."""
    d = np.asarray(direction, float).reshape(3, 3)
    lat = int(np.argmax(np.abs(d[0])))
    rest = [a for a in range(3) if a != lat]
    si = max(rest, key=lambda a: abs(d[2, a]))
    ap = next(a for a in rest if a != si)
    cols = [d[:, ap] * np.sign(d[1, ap] or 1.0), d[:, si] * -np.sign(d[2, si] or 1.0),
            d[:, lat] * np.sign(d[0, lat] or 1.0)]
    return np.stack(cols, axis=1)


def _corners_lps(image: sitk.Image) -> np.ndarray:
    size = np.asarray(image.GetSize()) - 1
    return np.array([image.TransformContinuousIndexToPhysicalPoint([float(v) for v in c])
                     for c in np.array(np.meshgrid(*[(0, s) for s in size], indexing="ij")).reshape(3, -1).T])


def working_frame(images: Mapping[str, sitk.Image], inplane_mm: float = 1.0, lateral_mm: float = 2.0
                  ) -> WorkingFrame:
    """Resample every image (linear) onto one canonical sagittal grid built from the first image.

    `inplane_mm` is the working pixel size in the sagittal plane; the lateral spacing is the larger of
    `lateral_mm` and the first image's slice spacing.
    """
    if not images:
        raise ModicInputError("no image given to the spine parser — pass at least one sagittal MR image")
    names = list(images)
    ref = images[names[0]]
    if ref.GetDimension() != 3:
        raise ModicInputError(f"image {names[0]} is {ref.GetDimension()}D — the spine parser needs a 3D volume")
    d = np.asarray(ref.GetDirection(), float).reshape(3, 3)
    w = canonical_direction(ref.GetDirection())
    lat_axis = int(np.argmax(np.abs(d[0])))
    slice_mm = ref.GetSpacing()[lat_axis]
    spacing = np.array([inplane_mm, inplane_mm, max(lateral_mm, slice_mm)])
    corners = _corners_lps(ref) @ w        # coordinates along the working axes
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    size = np.maximum(np.floor((hi - lo) / spacing).astype(int) + 1, 1)
    grid = sitk.Image([int(v) for v in size], sitk.sitkUInt8)
    grid.SetSpacing([float(v) for v in spacing])
    grid.SetDirection([float(v) for v in w.ravel()])
    grid.SetOrigin([float(v) for v in w @ lo])
    arrays = {}
    for name, img in images.items():
        if img.GetNumberOfComponentsPerPixel() != 1 or img.GetDimension() != 3:
            raise ModicInputError(f"image {name} is not a 3D scalar volume — pass one MR series per --image")
        check_sagittal(img, f"image {name}")
        res = sitk.Resample(zero_minimum(img), grid, sitk.Transform(), sitk.sitkLinear, 0.0,
                            sitk.sitkFloat32)
        arrays[name] = sitk.GetArrayFromImage(res)
        if name != names[0] and np.count_nonzero(arrays[name]) < 0.05 * arrays[name].size:
            raise ModicInputError(f"image {name} covers less than 5 % of image {names[0]}'s field of view — are they "
                                  "series of the same study (same patient position)? Give images that overlap")
    return WorkingFrame(grid, arrays)


def check_sagittal(image: sitk.Image, name: str, max_ratio: float = 1.5) -> None:
    """ModicInputError (naming the image as `name`, e.g. "T1 image t1.nii.gz") unless `image` is sagittal or close
    to isotropic: its thickest voxel axis (slices) must be the left-right one when that axis is more than
    `max_ratio` times the thinnest (axial or coronal stacks of thick slices cannot show the column's endplates and
    discs)."""
    spacing = np.asarray(image.GetSpacing(), float)
    if spacing.max() <= max_ratio * spacing.min():
        return
    d = np.asarray(image.GetDirection(), float).reshape(3, 3)
    along = int(np.argmax(np.abs(d[:, int(np.argmax(spacing))])))   # LPS axis the slices are stacked along
    if along == 0:
        return
    plane = "axial" if along == 2 else "coronal"
    raise ModicInputError(f"{name} is {plane} ({spacing.max():g} mm slices along the "
                          f"{'superior-inferior' if plane == 'axial' else 'anterior-posterior'} axis) — the spine "
                          "parser needs a sagittal series (or a 3D near-isotropic one); give the sagittal images")


def to_reference(mask_or_labels: np.ndarray, frame: WorkingFrame, reference: sitk.Image,
                 pixel=sitk.sitkUInt8) -> sitk.Image:
    """Bring a label array on the working grid onto `reference` (nearest neighbour)."""
    img = sitk.GetImageFromArray(mask_or_labels.astype(np.uint8))
    img.CopyInformation(frame.grid)
    return sitk.Resample(img, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0, pixel)
