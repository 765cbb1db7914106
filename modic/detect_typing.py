"""Per-lesion output of zero-click detection (`modic.detect`, step 6): the lesion label map on each sequence's grid
and each lesion's Modic type, confidence and contrasts (numpy z-y-x arrays on the cropped label grid)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import SimpleITK as sitk

from modic.detect_anatomy import SEQUENCES
from modic.errors import ModicInputError
from modic.geometry import resample_like, same_grid
from modic.segment import mask_to_grid
from modic.signal_pattern import PROTOTYPES, _nearest_type, type_from_signal


def label_maps_on_grids(label_ref: np.ndarray, ref: sitk.Image, images: Mapping[str, sitk.Image], n: int
                        ) -> dict[str, sitk.Image]:
    """The label map on each sequence's grid (each label mapped as a mask: linear, threshold 0.5)."""
    img = sitk.GetImageFromArray(label_ref)
    img.CopyInformation(ref)
    out = {}
    for seq in SEQUENCES:
        if seq not in images:
            continue
        grid = images[seq]
        if same_grid(grid, ref):
            out[seq] = img
            continue
        arr = np.zeros(sitk.GetArrayViewFromImage(grid).shape, np.uint8)
        for i in range(1, n + 1):
            m = sitk.GetImageFromArray((label_ref == i).astype(np.uint8))
            m.CopyInformation(ref)
            mg = sitk.GetArrayFromImage(mask_to_grid(m, grid)).astype(bool)
            arr[mg & (arr == 0)] = i
        o = sitk.GetImageFromArray(arr)
        o.CopyInformation(grid)
        out[seq] = o
    return out


def type_lesion_row(row: dict, label: int, images, label_maps, bodies, z, mask_ref, ref: sitk.Image) -> None:
    """modic_type, confidence, fractions and contrasts of one lesion (in place)."""
    level = row["vertebra"]
    marrow = bodies[level]["marrow"] & ~mask_ref
    sp = None
    if "T1" in images and mask_ref.any():
        masks = {s: sitk.Cast(m == label, sitk.sitkUInt8) for s, m in label_maps.items()}
        mm = sitk.GetImageFromArray(marrow.astype(np.uint8))
        mm.CopyInformation(ref)
        ref_masks = {s: resample_like(mm, label_maps[s], is_label=True) for s in label_maps}
        try:
            sp = type_from_signal(images, masks, reference_masks=ref_masks)
        except ModicInputError:
            sp = None
    mean_z = {s: float(np.mean(z[s][mask_ref])) if mask_ref.any() else 0.0 for s in z}
    if sp is not None:
        row["modic_type"] = sp.modic_type
        row["fractions"] = ";".join(f"{t}={v:.2f}" for t, v in sp.fractions.items())
        agree = max(sp.fractions.values()) if sp.fractions else 1.0
    else:
        graded = {s: np.clip(np.asarray(v), -1, 1) for s, v in mean_z.items()}
        row["modic_type"] = list(PROTOTYPES)[int(_nearest_type(graded))]
        row["fractions"] = ""
        agree = 1.0
    row["contrasts"] = ";".join(f"{s}={v:.2f}" for s, v in mean_z.items())
    strength = float(np.clip((row["score"] - 1.0) / 3.0, 0, 1))
    row["confidence"] = round(strength * (0.5 + 0.5 * agree), 3)
