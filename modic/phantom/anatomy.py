"""The built-in phantom's anatomy label map (anatomy.nrrd) as a `modic.spine.Spine` (ground truth)."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from modic.phantom.model import ANATOMY_LABELS
from modic.spine.model import Spine, discs_between, spine_from_masks

_BODY_LEVELS = {k: v.split()[0] for k, v in ANATOMY_LABELS.items() if v.endswith("vertebral body marrow")}
_CORTEX, _ANNULUS, _NUCLEUS = 7, 8, 9


def spine_from_phantom_anatomy(anatomy: sitk.Image, endplate_mm: float = 5.0) -> Spine:
    """Ground-truth `Spine` of a phantom case: each body = its marrow label plus the cortex/endplate shell
    around it (within 2 mm); discs = annulus + nucleus split between consecutive bodies."""
    lab = sitk.GetArrayFromImage(anatomy)
    spacing = np.array(anatomy.GetSpacing())[::-1]
    cortex = lab == _CORTEX
    marrow = {level: lab == value for value, level in _BODY_LEVELS.items() if np.any(lab == value)}
    # nearest marrow body for every cortex voxel within 2 mm
    owner = np.zeros(lab.shape, np.uint8)
    for i, m in enumerate(marrow.values(), start=1):
        owner[m] = i
    dist, nearest = ndimage.distance_transform_edt(owner == 0, sampling=spacing, return_indices=True)
    near_owner = owner[tuple(nearest)]
    bodies = {}
    for i, (level, m) in enumerate(marrow.items(), start=1):
        bodies[level] = m | (cortex & (dist <= 2.0) & (near_owner == i))
    discs = discs_between(bodies, np.isin(lab, (_ANNULUS, _NUCLEUS)), anatomy)
    return spine_from_masks(anatomy, bodies, discs, endplate_mm=endplate_mm, info={"source": "phantom anatomy"})
