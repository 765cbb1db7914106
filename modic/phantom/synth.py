"""Sampling the continuous model on acquisition grids: images, lesion masks, anatomy, seed point."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from modic.phantom.model import (
    _VERT_LABEL,
    MARROW_ROWS,
    SEQ_INDEX,
    anatomy_labels,
    lesion_bbox_spine,
    lesion_factor,
    lesion_region,
    lps_components_to_spine,
    marrow_modulation,
    signal_lut,
    spine_to_lps,
    tissue_codes,
)
from modic.phantom.spec import CaseSpec, GridSpec, case_spec

SUBSAMPLES = (-1 / 3, 0.0, 1 / 3)  # positions across the slice thickness (fraction of thickness)
SHAPE_KEYS = ("Elongation", "Flatness", "LeastAxisLength", "MajorAxisLength", "Maximum2DDiameterColumn",
              "Maximum2DDiameterRow", "Maximum2DDiameterSlice", "Maximum3DDiameter", "MeshVolume",
              "MinorAxisLength", "Sphericity", "SurfaceArea", "SurfaceVolumeRatio", "VoxelVolume")


@dataclass
class PhantomCase:
    """One synthetic case. Images float32 (integer-valued, like scanner data), masks uint8 (lesion = 1)
    on each sequence's own grid, anatomy labels on the T1 grid, seed point (inside the lesion) and
    reference point (normal vertebral marrow, ≥ 6 mm from lesion, cortex and endplates) in LPS mm."""

    case_id: str
    images: dict[str, sitk.Image]
    masks: dict[str, sitk.Image]
    anatomy: sitk.Image
    seed_lps: tuple[float, float, float]
    modic_type: int
    true_type: str
    clinical: dict
    meta: dict = field(default_factory=dict)
    spec: CaseSpec | None = field(default=None, repr=False)
    reference_lps: tuple[float, float, float] | None = None   # normal vertebral marrow (LPS mm)
    truth_masks: dict[str, sitk.Image] | None = None   # signal model 4: the lesion itself (`masks` are a reader's ROIs)


def _empty(grid: GridSpec, pixel=sitk.sitkUInt8) -> sitk.Image:
    img = sitk.Image([int(v) for v in grid.size], pixel)
    img.SetSpacing(grid.spacing)
    img.SetOrigin(grid.origin)
    img.SetDirection(grid.direction)
    return img


def _to_image(arr_ijk: np.ndarray, grid: GridSpec) -> sitk.Image:
    img = sitk.GetImageFromArray(np.ascontiguousarray(arr_ijk.transpose(2, 1, 0)))
    img.SetSpacing(grid.spacing)
    img.SetOrigin(grid.origin)
    img.SetDirection(grid.direction)
    return img


def _points(grid: GridSpec, lo=(0, 0, 0), hi=None, offset: float = 0.0) -> np.ndarray:
    """LPS points (ni, nj, nk, 3) float32 of the voxel centres in [lo, hi), shifted by `offset` slice
    spacings along the slice axis."""
    hi = grid.size if hi is None else hi
    m = grid.matrix() * np.asarray(grid.spacing)     # columns: index step vectors (mm)
    ii, jj, kk = (np.arange(a, b, dtype=np.float32) for a, b in zip(lo, hi, strict=True))
    o = np.asarray(grid.origin, np.float32) + m[:, 2].astype(np.float32) * np.float32(offset)
    m = m.astype(np.float32)
    return (o + ii[:, None, None, None] * m[:, 0] + jj[None, :, None, None] * m[:, 1]
            + kk[None, None, :, None] * m[:, 2])


def _lps_axes(grid: GridSpec, lo=(0, 0, 0), hi=None, offset: float = 0.0,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LPS coordinates (X, Y, Z) float32 of the voxel centres in [lo, hi), shifted by `offset` slice
    spacings along the slice axis, as broadcast-compatible arrays. On a sagittal grid (slice axis along
    LPS x, in-plane axes in the y–z plane, as `case_spec` draws them) X has shape (1, 1, nk) and Y, Z
    (ni, nj, 1), so everything that depends on the in-plane position is computed once per slice stack;
    any other grid gets full (ni, nj, nk) arrays."""
    hi = grid.size if hi is None else hi
    m = grid.matrix() * np.asarray(grid.spacing)     # columns: index step vectors (mm)
    if np.all(m[0, :2] == 0) and np.all(m[1:, 2] == 0):
        ii, jj, kk = (np.arange(a, b, dtype=float) for a, b in zip(lo, hi, strict=True))
        ii, jj, kk = ii[:, None, None], jj[None, :, None], kk[None, None, :]
        o = np.asarray(grid.origin, dtype=float)
        px = o[0] + (kk + offset) * m[0, 2]
        py = o[1] + ii * m[1, 0] + jj * m[1, 1]
        pz = o[2] + ii * m[2, 0] + jj * m[2, 1]
        return px.astype(np.float32), py.astype(np.float32), pz.astype(np.float32)
    pts = _points(grid, lo, hi, offset)
    return pts[..., 0], pts[..., 1], pts[..., 2]


def lesion_box(spec: CaseSpec, grid: GridSpec, pad_mm: float = 4.0) -> tuple[tuple, tuple]:
    """Index range [lo, hi) of `grid` that contains the lesion."""
    lo, hi = lesion_bbox_spine(spec.anatomy, spec.lesion)
    corners = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])])
    pts = spine_to_lps(spec.anatomy, corners[:, 0], corners[:, 1], corners[:, 2])
    idx = grid.lps_to_index(pts)
    pad = pad_mm / np.asarray(grid.spacing)
    a = np.clip(np.floor(idx.min(0) - pad), 0, grid.size).astype(int)
    b = np.clip(np.ceil(idx.max(0) + pad) + 1, 0, grid.size).astype(int)
    return tuple(a.tolist()), tuple(b.tolist())


def _lesion_at(spec: CaseSpec, x: np.ndarray, y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Lesion region (0/1/2) at spine-frame points (broadcast-compatible), restricted to the marrow of
    the two vertebrae next to the lesion's disc."""
    lab, _, _ = anatomy_labels(spec.anatomy, x, y, s)
    reg = lesion_region(spec.anatomy, spec.lesion, x, y, s)
    j = spec.lesion.disc
    allowed = (lab == _VERT_LABEL[j + 1 + 1]) | (lab == _VERT_LABEL[j + 1])   # marrow of either vertebra
    reg[~allowed] = 0
    return reg


def _region_on_box(spec: CaseSpec, grid: GridSpec, lo, hi, offset: float = 0.0):
    """Lesion region on the index box [lo, hi) of `grid` and the spine coordinates used. The renderer and
    the fast mask path both call this, so they draw bit-identical masks."""
    x, y, s = lps_components_to_spine(spec.anatomy, *_lps_axes(grid, lo, hi, offset))
    return _lesion_at(spec, x, y, s), (x, y, s)


def make_lesion_mask(spec: CaseSpec, sequence: str = "T2") -> sitk.Image:
    """Fast path: the lesion mask (uint8, 1 = lesion) on one sequence's grid, without images."""
    grid = spec.grids[sequence]
    lo, hi = lesion_box(spec, grid)
    reg, _ = _region_on_box(spec, grid, lo, hi)
    full = np.zeros(grid.size, np.uint8)
    full[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = reg > 0
    return _to_image(full, grid)


def _bias(spec: CaseSpec, seq: str, grid: GridSpec) -> np.ndarray:
    c = spec.bias[SEQ_INDEX[seq]]
    o = spec.anatomy.origin_lps.astype(np.float32)
    px, py, pz = _lps_axes(grid)
    x, y, z = ((p - o[i]) / np.float32(150.0) for i, p in enumerate((px, py, pz)))
    e_yz = c[2] * y + c[3] * z + c[5] * y * y + c[6] * z * z + c[8] * y * z     # in-plane part
    e = e_yz + (c[1] * x + c[4] * x * x) + x * (c[7] * y + c[9] * z)
    return np.exp(e).astype(np.float32)


def _render_grid(spec: CaseSpec, grid: GridSpec, seqs: list[str]):
    """Noise-free partial-volume signal per sequence, anatomy labels and lesion region (centre
    sample) on one grid. Arrays are (i, j, k)."""
    anat, les = spec.anatomy, spec.lesion
    lo, hi = lesion_box(spec, grid)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    lut = signal_lut(anat)
    sums = {s: np.zeros(grid.size, np.float32) for s in seqs}
    frac = grid.thickness / grid.spacing[2]
    cols = [SEQ_INDEX[s] for s in seqs]
    labels = region = None
    for off in SUBSAMPLES:
        x, y, s = lps_components_to_spine(anat, *_lps_axes(grid, offset=off * frac))
        lab, j, _ = anatomy_labels(anat, x, y, s)
        code = tissue_codes(lab, j)
        # lesion inside its bounding box
        reg, (bx, by, bs) = _region_on_box(spec, grid, lo, hi, off * frac)
        bsig = None
        if reg.any():
            bx, by, bs = np.broadcast_arrays(bx, by, bs)
            bsig = lut[code[box]]
            s_rel = bs - np.float32(anat.disc_mid[les.disc])
            for rcode, t in ((1, les.modic_type), (2, les.second_type)):
                sel = reg == rcode
                if t is None or not sel.any():
                    continue
                bsig[sel] = bsig[sel] * lesion_factor(les, bx[sel], by[sel], s_rel[sel], t)
        # marrow fat-fraction foci outside the lesion
        mod = None
        if anat.marrow_patchiness > 0:
            patchy = np.isin(lab, MARROW_ROWS)
            if reg.any():
                patchy[box] &= reg == 0
            mod = marrow_modulation(anat, *(np.broadcast_to(v, lab.shape)[patchy] for v in (x, y, s)))
        for seq, c in zip(seqs, cols, strict=True):
            v = lut[:, c][code]
            if bsig is not None:
                v[box] = bsig[..., c]
            if mod is not None:
                v[patchy] *= mod[:, c]
            sums[seq] += v
        if off == 0.0:
            labels = lab
            region = np.zeros(grid.size, np.uint8)
            region[box] = reg
    n = np.float32(len(SUBSAMPLES))
    return {s: v / n for s, v in sums.items()}, labels, region


def _acquire(spec: CaseSpec, seq: str, signal: np.ndarray, grid: GridSpec, rng: np.random.Generator,
             ) -> np.ndarray:
    """Bias field → Rician noise → scanner gain/offset → integer values (float32)."""
    acq = spec.acquisition[seq]
    ref = {"T1": 450.0, "T2": 500.0, "FS": 400.0}[seq]
    sigma = np.float32(ref / acq["snr"])
    sig = signal * _bias(spec, seq, grid)
    re = rng.standard_normal(sig.shape, dtype=np.float32)
    re *= sigma
    re += sig
    im = rng.standard_normal(sig.shape, dtype=np.float32)
    im *= sigma
    out = np.hypot(re, im, out=re)
    out *= np.float32(acq["gain"])
    out += np.float32(acq["offset"])
    np.rint(out, out=out)
    return np.clip(out, 0, 32000, out=out)


def choose_seed(spec: CaseSpec, masks: dict[str, sitk.Image]) -> tuple[float, float, float]:
    """A point (LPS mm) deep inside the lesion — largest distance to its border in the continuous
    model — whose nearest voxel is lesion on every grid."""
    anat, les = spec.anatomy, spec.lesion
    lo, hi = lesion_bbox_spine(anat, les)
    step = 0.75
    gx, gy, gs = (np.arange(a, b, step, dtype=np.float32) for a, b in zip(lo, hi, strict=True))
    reg = _lesion_at(spec, gx[:, None, None], gy[None, :, None], gs[None, None, :])
    dist = ndimage.distance_transform_edt(reg > 0, sampling=step).ravel()
    cand = np.flatnonzero(dist > 0)
    order = cand[np.argsort(-dist[cand], kind="stable")]
    grids = {}
    for m in masks.values():
        key = id(m)
        if key not in grids:
            grids[key] = (m, sitk.GetArrayViewFromImage(m))
    for flat in order[:5000]:
        ix, iy, iz = np.unravel_index(flat, reg.shape)
        p = tuple(round(float(v), 3) for v in spine_to_lps(anat, gx[ix], gy[iy], gs[iz]))   # as in manifest
        ok = True
        for m, arr in grids.values():
            idx = m.TransformPhysicalPointToIndex(p)
            if not all(0 <= i < n for i, n in zip(idx, m.GetSize(), strict=True)) or arr[idx[::-1]] != 1:
                ok = False
                break
        if ok:
            return p
    raise RuntimeError(f"{spec.case_id}: no lesion voxel common to all grids")


REFERENCE_MARGIN_MM = 6.0   # reference point: minimum distance to lesion, cortex and endplates (mm)


def _labels_at_voxels(spec: CaseSpec, grid: GridSpec, idx: np.ndarray) -> np.ndarray:
    """Anatomy labels of the model at voxel centres `idx` (n, 3) of `grid` (as the anatomy map has)."""
    x, y, s = lps_components_to_spine(spec.anatomy, *grid.index_to_lps(idx).astype(np.float32).T)
    return anatomy_labels(spec.anatomy, x, y, s)[0]


def choose_reference(spec: CaseSpec, masks: dict[str, sitk.Image]) -> tuple[float, float, float]:
    """A point (LPS mm) in normal vertebral-body marrow for signal normalisation: at least
    `REFERENCE_MARGIN_MM` from the lesion, the cortex and the endplates in the continuous model, in one
    of the lesion's two vertebrae if they have room, otherwise in the next vertebra above or below; the
    deepest such point, whose nearest voxel is marrow (anatomy) and not lesion (mask) on every grid."""
    anat, les = spec.anatomy, spec.lesion
    step = 0.75
    d = les.disc
    k_lo, k_hi = max(d - 1, 0), min(d + 2, 5)          # vertebrae d-1 … d+2 with marrow labels 1–6
    s_lo = anat.disc_mid[k_lo - 1] if k_lo >= 1 else anat.disc_mid[0] - 40.0
    s_hi = anat.disc_mid[k_hi] if k_hi <= 5 else anat.disc_mid[5] + 40.0
    hw = float(anat.half_w[k_lo + 1: k_hi + 2].max()) + 2
    hd = float(anat.half_d[k_lo + 1: k_hi + 2].max()) + 2
    gx, gy, gs = (np.arange(a, b + step, step, dtype=np.float32)
                  for a, b in ((-hw, hw), (-hd, hd), (s_lo, s_hi)))
    x, y, s = gx[:, None, None], gy[None, :, None], gs[None, None, :]
    lab, _, k = anatomy_labels(anat, x, y, s)
    normal = (lab >= 1) & (lab <= 6) & (_lesion_at(spec, x, y, s) == 0)
    # distance to the nearest point that is not normal marrow; padded so the box edge counts as outside
    dist = ndimage.distance_transform_edt(np.pad(normal, 1), sampling=step)[1:-1, 1:-1, 1:-1]
    ok = dist >= REFERENCE_MARGIN_MM + step                # margin for the sampling step
    near = (k == d) | (k == d + 1)                         # the lesion's own vertebrae first
    grids = {}
    for seq, m in masks.items():
        if id(m) not in grids:
            grids[id(m)] = (spec.grids[seq], m, sitk.GetArrayViewFromImage(m))
    for pref in (ok & near, ok):
        cand = np.flatnonzero(pref.ravel())
        order = cand[np.argsort(-dist.ravel()[cand], kind="stable")]
        for flat in order[:2000]:
            ix, iy, iz = np.unravel_index(flat, dist.shape)
            p = tuple(round(float(v), 3) for v in spine_to_lps(anat, gx[ix], gy[iy], gs[iz]))   # as in manifest
            good = True
            for grid, m, arr in grids.values():
                idx = m.TransformPhysicalPointToIndex(p)
                if (not all(0 <= i < n for i, n in zip(idx, m.GetSize(), strict=True)) or arr[idx[::-1]] != 0
                        or not 1 <= _labels_at_voxels(spec, grid, np.array([idx]))[0] <= 6):
                    good = False
                    break
            if good:
                return p
    raise RuntimeError(f"{spec.case_id}: no normal-marrow reference point common to all grids")


def shape_features(mask: sitk.Image) -> dict[str, float]:
    """PyRadiomics 3-D shape features (default settings, label 1) of a lesion mask."""
    from radiomics import imageoperations, shape

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    image = sitk.Cast(mask, sitk.sitkFloat32)
    bb, _ = imageoperations.checkMask(image, mask, label=1)
    if bb is None:
        raise ValueError("empty lesion mask")
    img_c, mask_c = imageoperations.cropToTumorMask(image, mask, bb)
    feat = shape.RadiomicsShape(img_c, mask_c, label=1)
    feat.enableAllFeatures()
    out = {k: float(v) for k, v in feat.execute().items()}
    out["MajorLeastAxisRatio"] = out["MajorAxisLength"] / out["LeastAxisLength"]
    return out


# ODI model: ODI rises with ragged, flat, elongated lesions (paper: r ≈ +0.39 Major/Least,
# +0.51 SurfaceVolumeRatio, −0.50 Sphericity, −0.39 Flatness). Reference mean/SD from Table 1.
# Weights chosen so that Spearman r on the 30 scored cases of the default cohort (seed 0) is about
# +0.36 / +0.63 / −0.39 / −0.36 (signs hold for seeds 0–2; Sphericity and SurfaceVolumeRatio are
# strongly coupled, so −0.5 for Sphericity would push SurfaceVolumeRatio far above +0.5).
_ODI_TERMS = (("SurfaceVolumeRatio", 0.55, 0.12, 0.7), ("Sphericity", 0.42, 0.05, -2.0),
              ("MajorLeastAxisRatio", 1.70, 0.35, 1.3), ("Flatness", 0.60, 0.125, -1.3))


def scores_from_shape(spec: CaseSpec, feats: dict[str, float]) -> tuple[float, float]:
    """(ODI %, VAS cm) of a scored case from its T2-mask shape features plus case noise.

    ODI = 38 + 11·c + 13·noise (c = standardised shape composite), rounded to an even number as a
    10-item questionnaire gives, clipped to 0–100; VAS = 0.09·ODI + 0.9·noise, 0–10, one decimal.
    """
    c = sum(w * (feats[k] - m) / sd for k, m, sd, w in _ODI_TERMS) / 2.6
    odi = 38 + 11 * c + 13 * spec.clinical["odi_noise"]
    odi = float(np.clip(2 * round(odi / 2), 0, 100))
    vas = float(np.clip(round(0.09 * odi + 0.9 * spec.clinical["vas_noise"] + 0.6, 1), 0, 10))
    return odi, vas


def clinical_record(spec: CaseSpec, t2_mask: sitk.Image | None = None) -> dict:
    """Clinical columns of a case; ODI/VAS only for scored cases (None otherwise)."""
    rec = {k: spec.clinical[k] for k in ("age", "sex", "pfirrmann")}
    rec["odi"] = rec["vas"] = None
    if spec.scored:
        mask = t2_mask if t2_mask is not None else make_lesion_mask(spec, "T2")
        rec["odi"], rec["vas"] = scores_from_shape(spec, shape_features(mask))
    return rec


def signal_record(spec: CaseSpec) -> dict:
    """The case's signal variability (marrow, scanner contrast, lesion expression, texture) for provenance."""
    anat, les = spec.anatomy, spec.lesion
    rnd = lambda v: [round(float(x), 4) for x in np.ravel(v)]  # noqa: E731
    out = {"marrow_fat": spec.clinical.get("marrow_fat"), "marrow_patchiness": round(anat.marrow_patchiness, 4),
           "marrow_grain_mm": round(anat.marrow_grain, 3),
           "lesion_factor": {str(t): rnd(f) for t, f in (les.factors or {}).items()
                             if t in (les.modic_type, les.second_type, les.blend_type)},
           "texture_grain_mm": les.texture_grain, "texture_amp": les.texture_amp,
           "blend": round(les.blend, 4), "blend_type": les.blend_type,
           **({"blend_mode": "patch", "blend_grain_mm": les.blend_grain} if les.blend_mode == "patch" else {})}
    if anat.tissue_scale is not None:
        out["tissue_scale"] = {str(r): rnd(anat.tissue_scale[r]) for r in range(anat.tissue_scale.shape[0])
                               if not np.allclose(anat.tissue_scale[r], 1.0)}
    return out


def synthesize(spec: CaseSpec) -> PhantomCase:
    """Render all three sequences, masks and anatomy of a case spec."""
    g12, gfs = spec.grids["T1"], spec.grids["FS"]
    shared = gfs is g12
    sig, labels, region = _render_grid(spec, g12, ["T1", "T2", "FS"] if shared else ["T1", "T2"])
    if not shared:
        sig_fs, _, region_fs = _render_grid(spec, gfs, ["FS"])
        sig["FS"] = sig_fs["FS"]
    else:
        region_fs = region
    rng = np.random.default_rng([spec.seed, spec.index, 11])
    images = {}
    for seq in ("T1", "T2", "FS"):
        grid = spec.grids[seq]
        images[seq] = _to_image(_acquire(spec, seq, sig[seq], grid, rng), grid)
    m12 = _to_image((region > 0).astype(np.uint8), g12)
    mfs = m12 if shared else _to_image((region_fs > 0).astype(np.uint8), gfs)
    masks = {"T1": m12, "T2": m12, "FS": mfs}
    anatomy = _to_image(labels, g12)
    seed_lps = choose_seed(spec, masks)
    reference_lps = choose_reference(spec, masks)
    masks = {"T1": m12, "T2": sitk.Image(m12), "FS": mfs if not shared else sitk.Image(m12)}
    truth = None
    if spec.reader_margin_mm:     # signal model 4: each sequence's ROI as a reader draws it
        truth = masks
        masks = {seq: reader_roi(truth[seq], spec.reader_margin_mm[seq]) for seq in ("T1", "T2", "FS")}
    meta = {
        "grids": {s: {"size": list(g.size), "spacing": list(g.spacing), "origin": list(g.origin),
                      "direction": list(g.direction), "slice_thickness": g.thickness}
                  for s, g in spec.grids.items()},
        "fs_grid_differs": not shared,
        "acquisition": spec.acquisition,
        "bias_coefficients": spec.bias.tolist(),
        "level": spec.level, "endplate": spec.endplate,
        "lordosis_radius_mm": spec.anatomy.radius,
        "disc_pfirrmann": spec.anatomy.disc_grade.tolist(),
        "signal_model": spec.signal_model,
        **({"signal": signal_record(spec)} if spec.signal_model >= 2 else {}),
        **({"reader_margin_mm": spec.reader_margin_mm} if spec.reader_margin_mm else {}),
    }
    return PhantomCase(case_id=spec.case_id, images=images, masks=masks, anatomy=anatomy,
                       seed_lps=seed_lps, modic_type=spec.modic_type, true_type=spec.true_type,
                       clinical=clinical_record(spec, (truth or masks)["T2"]), meta=meta, spec=spec,
                       reference_lps=reference_lps, truth_masks=truth)


def reader_roi_array(mask: np.ndarray, spacing, margin_mm: float) -> np.ndarray:
    """A reader's ROI on a boolean array: `mask` grown by `margin_mm` (shrunk when negative, never below 30 % of
    it; 3-D Euclidean distance on `spacing`, mm, given in the array's axis order)."""
    if margin_mm >= 0:
        return ndimage.distance_transform_edt(~mask, sampling=spacing) <= margin_mm
    inner = ndimage.distance_transform_edt(mask, sampling=spacing) > -margin_mm
    return inner if inner.sum() >= 0.3 * mask.sum() else mask


def reader_roi(mask: sitk.Image, margin_mm: float) -> sitk.Image:
    """A reader's ROI: the lesion `mask` grown by `margin_mm` (3-D Euclidean distance on the voxel spacing, mm; a
    margin ≤ 0 leaves it as it is)."""
    arr = sitk.GetArrayFromImage(mask) > 0
    if margin_mm <= 0 or not arr.any():
        return sitk.Image(mask)
    grown = reader_roi_array(arr, mask.GetSpacing()[::-1], margin_mm)
    out = sitk.GetImageFromArray(grown.astype(np.uint8))
    out.CopyInformation(mask)
    return out


def make_case(case_id: str, modic_type: int | str, seed: int, **options) -> PhantomCase:
    """Generate one synthetic lumbar MRI case.

    `modic_type` 1/2/3 or 'I', 'II', 'III', 'I/II', 'II/III' (first named = dominant). Options are
    passed to `case_spec`: index (default 0), scored, mixed, sex, tilt_max_deg, fs_differs.
    """
    index = int(options.pop("index", 0))
    spec = case_spec(index, seed, modic_type, case_id=case_id, **options)
    return synthesize(spec)
