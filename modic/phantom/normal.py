"""A built-in phantom case without any Modic change (the same anatomy, scanner and noise, no lesion).

Used to measure false positives of zero-click detection on the generator's own normal anatomy.
"""

from __future__ import annotations

import copy

import numpy as np
import SimpleITK as sitk

from modic.phantom.spec import case_spec
from modic.phantom.synth import PhantomCase, _acquire, _render_grid, _to_image


def lesion_free_case(index: int, seed: int, case_id: str | None = None, **options) -> PhantomCase:
    """Case `index` of cohort `seed` rendered without its lesion (footprint shrunk to nothing).

    Images on the case's own grids, empty masks, anatomy labels on the T1 grid; seed/reference are None.
    `options` go to `modic.phantom.spec.case_spec` (e.g. fs_differs).
    """
    spec = copy.deepcopy(case_spec(index, seed, options.pop("modic_type", 2), case_id=case_id, **options))
    for side in spec.lesion.sides:
        side.ax = side.ay = 1e-3
        side.rag = 0.0
    g12, gfs = spec.grids["T1"], spec.grids["FS"]
    shared = gfs is g12
    sig, labels, region = _render_grid(spec, g12, ["T1", "T2", "FS"] if shared else ["T1", "T2"])
    if not shared:
        sig["FS"] = _render_grid(spec, gfs, ["FS"])[0]["FS"]
    if region.any():  # pragma: no cover - the shrunk footprint never covers a voxel centre
        raise RuntimeError(f"{spec.case_id}: lesion-free rendering still holds lesion voxels")
    rng = np.random.default_rng([spec.seed, spec.index, 11])
    images = {seq: _to_image(_acquire(spec, seq, sig[seq], spec.grids[seq], rng), spec.grids[seq])
              for seq in ("T1", "T2", "FS")}
    masks = {seq: sitk.Image(images[seq].GetSize(), sitk.sitkUInt8) for seq in images}
    for seq, m in masks.items():
        m.CopyInformation(images[seq])
    return PhantomCase(case_id=spec.case_id, images=images, masks=masks, anatomy=_to_image(labels, g12),
                       seed_lps=None, modic_type=0, true_type="none", clinical={}, spec=spec,
                       meta={"lesion_free": True, "fs_grid_differs": not shared})
