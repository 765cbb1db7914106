"""Continuous physical model of a lumbar spine with a Modic lesion.

Everything here is evaluated at arbitrary points; image grids only decide *where* the model is sampled.
Coordinates:

* LPS millimetres: the scanner/patient space of SimpleITK images.
* anatomical frame: LPS axes translated to `Anatomy.origin_lps` (x = patient left, y = posterior,
  z = superior), no rotation.
* spine frame (x, y, s): the anatomical frame bent along the lumbar lordosis, a circular arc of radius
  `Anatomy.radius` whose centre lies posterior to the spine. `s` is arc length (superior positive),
  `y` the AP offset from the vertebral-body centre line (posterior positive), `x` lateral (left
  positive). In this frame vertebral bodies and discs are straight stacked slabs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

# Anatomy label map values (written as anatomy.nrrd on the T1 grid).
ANATOMY_LABELS: dict[int, str] = {
    0: "background (air)",
    1: "L1 vertebral body marrow",
    2: "L2 vertebral body marrow",
    3: "L3 vertebral body marrow",
    4: "L4 vertebral body marrow",
    5: "L5 vertebral body marrow",
    6: "S1 vertebral body marrow",
    7: "cortical bone / endplate",
    8: "disc annulus",
    9: "disc nucleus",
    10: "CSF / spinal canal",
    11: "paraspinal and psoas muscle",
    12: "subcutaneous fat",
    13: "other bone marrow (posterior elements, T12, sacrum below S1)",
    14: "prevertebral soft tissue",
}
MARROW_LABELS = (1, 2, 3, 4, 5, 6)
LEVEL_NAMES = ("S1", "L5", "L4", "L3", "L2", "L1", "T12")  # vertebra index k = 0..6 (inferior first)
DISC_NAMES = ("L5-S1", "L4-L5", "L3-L4", "L2-L3", "L1-L2", "T12-L1")  # disc j between vertebrae j, j+1
# anatomy label of vertebra k; index 0 is k = -1 (sacrum below S1)
_VERT_LABEL = np.array([13, 6, 5, 4, 3, 2, 1, 13], dtype=np.uint8)
SEQ_INDEX = {"T1": 0, "T2": 1, "FS": 2}

# Tissue signal (arbitrary units, before gain/offset/bias/noise) per label and sequence T1, T2, FS.
TISSUE_SIGNAL = np.array([
    [0.0, 0.0, 0.0],        # 0 air
    [450, 300, 80],         # 1-6 marrow: T1 bright-ish, T2 intermediate, FS dark
    [450, 300, 80], [450, 300, 80], [450, 300, 80], [450, 300, 80], [450, 300, 80],
    [60, 45, 35],           # 7 cortex: dark everywhere
    [190, 110, 90],         # 8 annulus
    [230, 650, 520],        # 9 nucleus (T2/FS replaced per disc by Pfirrmann grade)
    [110, 900, 760],        # 10 CSF: T1 dark, T2/FS bright
    [260, 170, 120],        # 11 muscle
    [720, 560, 55],         # 12 fat: T1/T2 bright, FS dark
    [420, 280, 75],         # 13 other marrow
    [300, 260, 200],        # 14 prevertebral soft tissue
], dtype=np.float32)
# Nucleus T2 / FS signal by Pfirrmann grade 1..5 (grade 1 bright, 5 dark).
NUCLEUS_T2 = np.array([760, 620, 430, 250, 140], dtype=np.float32)
NUCLEUS_FS = np.array([620, 500, 340, 200, 110], dtype=np.float32)
# Modic lesion signal relative to normal marrow, type 1..3 × (T1, T2, FS) (signal model 1).
LESION_FACTOR = np.array([
    [0.52, 1.55, 2.9],   # I: oedema — T1 low, T2 high, FS high
    [1.38, 1.12, 0.55],  # II: fat — T1 high, T2 iso/slightly high, FS low
    [0.42, 0.50, 0.55],  # III: sclerosis — T1 low, T2 low, FS low
], dtype=np.float32)
# Signal model 2: the same at full expression (milder type I T2/FS); a case's own factors are these raised
# to its expression (`Lesion.factors`, drawn in `modic.phantom.spec`).
LESION_FACTOR_FULL = np.array([
    [0.52, 1.45, 2.1],
    [1.38, 1.12, 0.55],
    [0.42, 0.50, 0.55],
], dtype=np.float32)
# Signal model 3: the direction of each type's lesion/marrow contrast (T1, T2, FS; rows I, II, III). The size of
# the contrast is the same for every type (`modic.phantom.spec.SIGNAL3_PARAMS`), so only signed features see the type.
LESION_SIGN = np.array([
    [-1, 1, 1],    # I: T1 low, T2 high, FS high
    [1, 1, -1],    # II: T1 high, T2 slightly high, FS low
    [-1, -1, -1],  # III: all low
], dtype=np.float32)
# Lesion texture when a lesion has no texture of its own (`Lesion.texture_grain/amp` None; signal model 1):
# correlated-noise grain (mm) and relative amplitude per type.
TEXTURE_GRAIN = {1: 1.6, 2: 3.2, 3: 1.0}
TEXTURE_AMP = {1: 0.16, 2: 0.20, 3: 0.10}
# Relative change of marrow signal (T1, T2, FS) per unit of marrow fat fraction above the reference
# (fatty marrow: brighter on T1 and T2, darker on FS).
FAT_SLOPE = np.array([0.9, 0.45, -1.1], dtype=np.float32)
MARROW_ROWS = (1, 2, 3, 4, 5, 6, 13)   # anatomy labels that are bone marrow


@dataclass
class Anatomy:
    """Per-case anatomy in the spine frame (all mm)."""

    origin_lps: np.ndarray          # anatomical frame origin (LPS)
    radius: float                   # lordosis arc radius
    disc_mid: np.ndarray            # (6,) s of disc mid-planes, ascending (L5-S1 … T12-L1)
    disc_half: np.ndarray           # (6,) disc half-heights
    half_w: np.ndarray              # (8,) vertebral body half-width (LR), index k+1 for k = -1..6
    half_d: np.ndarray              # (8,) vertebral body half-depth (AP)
    endplate: float                 # endplate/cortex thickness
    concavity: float                # endplate concavity (disc is thicker centrally by 2×this)
    canal_front: float              # y of the anterior canal wall
    canal_ap: float                 # canal AP diameter
    canal_half_w: float             # canal half-width
    skin_y: float                   # y of the posterior skin surface
    fat: float                      # subcutaneous fat thickness
    disc_grade: np.ndarray          # (6,) Pfirrmann grade 1..5 per disc
    marrow_factor: np.ndarray       # (8,) per-vertebra marrow signal factor
    tissue_scale: np.ndarray | None = None   # (15, 3) scanner/patient multipliers of TISSUE_SIGNAL rows
    marrow_patchiness: float = 0.0  # SD of the local marrow fat fraction (fatty/cellular foci)
    marrow_grain: float = 4.0       # size of those foci (mm)
    marrow_seed: int = 0
    _cache: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass
class LesionSide:
    """One band-like lesion along one endplate, in the spine frame (mm)."""

    sign: int                       # +1: endplate of the vertebra above the disc, -1: below
    cx: float
    cy: float
    ax: float                       # footprint semi-axis, lateral
    ay: float                       # footprint semi-axis, AP
    thick: float                    # band thickness (depth into the marrow) at the centre
    taper: float                    # thickness at the footprint edge relative to the centre
    rag: float                      # footprint border raggedness (noise amplitude)
    thick_var: float                # relative thickness modulation
    holes: float                    # hole threshold (noise SD units; larger = fewer holes)
    noise_seed: int
    pexp: float = 2.0               # footprint superellipse exponent (2 = ellipse, larger = boxier)


@dataclass
class Lesion:
    """A Modic lesion at disc `disc` (index into DISC_NAMES)."""

    disc: int
    sides: list[LesionSide]
    modic_type: int                 # dominant type 1..3
    second_type: int | None = None  # mixed lesions: type of the secondary sub-region
    split_y: float = 0.0            # secondary region: (y - split_y) * split_dir > 0
    split_dir: float = 1.0
    texture_seed: int = 0
    factors: dict[int, np.ndarray] | None = None   # type → (T1, T2, FS) signal factor (None: LESION_FACTOR)
    texture_grain: float | None = None  # texture grain (mm); None: TEXTURE_GRAIN of the type
    texture_amp: float | None = None    # relative texture amplitude; None: TEXTURE_AMP of the type
    blend: float = 0.0              # mean weight of a neighbouring type's signal in patches of the lesion
    blend_type: int | None = None   # that neighbouring type
    blend_mode: str = "log"         # "log": smooth weights in log-signal (model 2); "patch": crisp patches of the
                                    # neighbour's signal covering ~`blend` of the lesion, linear signal (model 3)
    blend_grain: float = 8.0        # "patch": size of the patches (mm)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)


# ----------------------------------------------------------------------------------------- frames


def lps_to_spine(anat: Anatomy, pts_lps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LPS points (..., 3) → spine-frame x, y, s (float32 arrays)."""
    p = pts_lps.astype(np.float32, copy=False)
    return lps_components_to_spine(anat, p[..., 0], p[..., 1], p[..., 2])


def lps_components_to_spine(anat: Anatomy, px: np.ndarray, py: np.ndarray, pz: np.ndarray,
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LPS coordinates as separate (broadcast-compatible) float32 arrays → spine-frame x, y, s. The
    spine x depends on LPS x only and y, s on LPS y, z only, so each keeps its input's shape."""
    o = anat.origin_lps.astype(np.float32)
    r = np.float32(anat.radius)
    dz = pz - o[2]
    ry = r - (py - o[1])
    s = r * np.arctan2(dz, ry)
    y = r - np.hypot(ry, dz)
    return px - o[0], y, s


def spine_to_lps(anat: Anatomy, x, y, s) -> np.ndarray:
    """Spine-frame coordinates → LPS points (..., 3) (float64)."""
    x, y, s = (np.asarray(v, dtype=float) for v in (x, y, s))
    phi = s / anat.radius
    rho = anat.radius - y
    yy = anat.radius - rho * np.cos(phi)
    zz = rho * np.sin(phi)
    return np.stack(np.broadcast_arrays(x, yy, zz), axis=-1) + anat.origin_lps


# --------------------------------------------------------------------------------------- anatomy


def _nearest_disc(anat: Anatomy, s: np.ndarray) -> np.ndarray:
    mid = anat.disc_mid.astype(np.float32)
    hi = np.clip(np.searchsorted(mid, s), 0, len(mid) - 1)
    lo = np.clip(hi - 1, 0, len(mid) - 1)
    return np.where(np.abs(s - mid[lo]) < np.abs(s - mid[hi]), lo, hi)


def _disc_axes(anat: Anatomy, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Semi-axes (lateral, AP) of the disc cross-section (mean of the two neighbouring bodies)."""
    a = 0.5 * (anat.half_w[j + 1] + anat.half_w[j + 2]).astype(np.float32)
    b = 0.5 * (anat.half_d[j + 1] + anat.half_d[j + 2]).astype(np.float32)
    return a, b


def _disc_r2(anat: Anatomy, j: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Squared normalised in-plane radius of the disc cross-section (1 on the disc border)."""
    a, b = _disc_axes(anat, j)
    return (x / (a + 1)) ** 2 + (y / (b + 1)) ** 2


def _disc_radius(anat: Anatomy, j: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Normalised in-plane radius of the disc cross-section (1 on the disc border)."""
    return np.sqrt(_disc_r2(anat, j, x, y))


def _half_from_r2(anat: Anatomy, j: np.ndarray, rd2: np.ndarray) -> np.ndarray:
    return anat.disc_half[j].astype(np.float32) + np.float32(anat.concavity) * np.clip(1 - rd2, 0, 1)


def disc_half_local(anat: Anatomy, j: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Local disc half-height (mm): the disc is biconvex because the endplates are concave."""
    return _half_from_r2(anat, j, _disc_r2(anat, j, x, y))


def anatomy_labels(anat: Anatomy, x: np.ndarray, y: np.ndarray, s: np.ndarray):
    """Anatomy label (uint8), nearest disc index j and vertebra index k at spine-frame points.

    `x`, `y`, `s` may be any broadcast-compatible arrays (e.g. x of shape (1, 1, n) and y, s of shape
    (ni, nj, 1) for a sagittal grid): what depends on s (and y) alone is computed on that smaller shape.
    The label map has the broadcast shape; j and k are returned broadcast to it (read-only views).
    """
    f32 = np.float32
    x, y, s = (np.asarray(v, dtype=f32) for v in (x, y, s))
    shape = np.broadcast_shapes(x.shape, y.shape, s.shape)
    j = _nearest_disc(anat, s)
    mids = anat.disc_mid.astype(f32)
    ds = s - mids[j]
    k = np.where(ds > 0, j + 1, j)
    s1_bottom = anat.disc_mid[0] - anat.disc_half[0] - 30.0
    k = np.where((k == 0) & (s < s1_bottom), -1, k)
    a = anat.half_w.astype(f32)[k + 1]
    b = anat.half_d.astype(f32)[k + 1]
    absx = np.abs(x)
    ax_ = absx / a
    ay_ = np.abs(y) / b
    rv = ax_ * ax_ * np.sqrt(ax_) + ay_ * ay_ * np.sqrt(ay_)      # superellipse, exponent 2.5
    rd2 = _disc_r2(anat, j, x, y)
    hd = _half_from_r2(anat, j, rd2)
    depth = np.abs(ds) - hd                     # distance from the endplate into the body
    in_disc = depth < 0
    lab = np.full(shape, 14, dtype=np.uint8)

    # posterior soft tissue: muscle, fat layer, air behind the skin
    np.copyto(lab, 11, where=y > 0)
    np.copyto(lab, 11, where=(absx > a + 1.5) & (y > -b))   # psoas beside the bodies
    np.copyto(lab, 12, where=y > anat.skin_y - anat.fat)
    np.copyto(lab, 0, where=y > anat.skin_y)

    # canal and posterior elements
    cw, cf, cap = anat.canal_half_w, anat.canal_front, anat.canal_ap
    cy = cf + cap / 2
    canal = (x / f32(cw)) ** 2 + ((y - f32(cy)) / f32(cap / 2)) ** 2 < 1
    # vertebra centre along s for posterior elements
    top = np.where(k >= 0, np.where(k < 6, mids[np.clip(k, 0, 5)], mids[5] + 30), mids[0] - 30)
    bot = np.where(k >= 1, mids[np.clip(k - 1, 0, 5)], mids[0] - 60)
    sc = 0.5 * (top + bot)
    rel = s - sc
    back = cf + cap
    ped = ((absx > cw - 1) & (absx < cw + 8)) & ((y > cf - 3) & (y < back) & (rel > -4) & (rel < 9))
    lamina = (absx < cw + 8) & ((y >= back - 1) & (y < back + 7) & (rel > -13) & (rel < 5))
    spine_dy = y - f32(back)
    spinous = (absx < 3.5) & ((y >= back) & (y < back + 38) & (rel < 4 - 0.3 * spine_dy)
                              & (rel > -12 - 0.3 * spine_dy))
    np.copyto(lab, 13, where=ped | lamina | spinous)
    np.copyto(lab, 10, where=canal)

    # vertebral bodies and discs
    body = (rv < 1) & ~in_disc
    rim = 2.5 * anat.endplate / np.minimum(a, b)
    cortex = body & ((depth < anat.endplate) | (rv > 1 - rim))
    np.copyto(lab, _VERT_LABEL[k + 1], where=body)
    np.copyto(lab, 7, where=cortex)
    disc = in_disc & (rd2 < 1)
    np.copyto(lab, 8, where=disc)
    if disc.any():
        jb, xb, yb, dsb, hdb = (np.broadcast_to(v, shape)[disc] for v in (j, x, y, ds, hd))
        ad, bd = _disc_axes(anat, jb)
        nsize = 0.62 - 0.05 * anat.disc_grade[jb].astype(f32)
        nuc = ((xb / (nsize * ad)) ** 2 + ((yb - 0.12 * bd) / (nsize * bd)) ** 2
               + (dsb / (0.8 * hdb)) ** 2) < 1
        sub = lab[disc]
        sub[nuc] = 9
        lab[disc] = sub
    return lab, np.broadcast_to(j, shape), np.broadcast_to(k, shape)


def signal_lut(anat: Anatomy) -> np.ndarray:
    """Noise-free signal (T1, T2, FS) per tissue code (see `tissue_codes`): rows 0–14 are the anatomy
    labels (marrow scaled by its vertebra's factor), rows 15–20 the nucleus of disc j = 0–5 (by grade)."""
    tissue = TISSUE_SIGNAL if anat.tissue_scale is None else TISSUE_SIGNAL * anat.tissue_scale.astype(np.float32)
    lut = np.concatenate([tissue, np.repeat(tissue[9:10], 6, axis=0)])
    for lab in MARROW_LABELS:
        kk = int(np.flatnonzero(_VERT_LABEL[1:7] == lab)[0]) + 1      # index k + 1
        lut[lab] = tissue[lab] * anat.marrow_factor.astype(np.float32)[kk]
    g = anat.disc_grade - 1
    nucleus = np.stack([NUCLEUS_T2[g], NUCLEUS_FS[g]], axis=1)
    if anat.tissue_scale is not None:
        nucleus = nucleus * anat.tissue_scale[9, 1:].astype(np.float32)
    lut[15:, 1:] = nucleus
    return lut


def marrow_modulation(anat: Anatomy, x: np.ndarray, y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Multiplicative marrow signal (n, 3) for T1, T2, FS at spine-frame points (1-D arrays, mm): local
    fat-fraction foci of SD `marrow_patchiness` and size `marrow_grain`; ones when the marrow is uniform."""
    if anat.marrow_patchiness <= 0 or x.size == 0:
        return np.ones((x.size, 3), np.float32)
    key = "marrow"
    step = anat.marrow_grain / 2
    if key not in anat._cache:
        rng = np.random.default_rng(anat.marrow_seed)
        shape = tuple(int(np.ceil(span / step)) + 1 for span in (80.0, 80.0, 300.0))
        anat._cache[key] = _smooth_noise(rng, shape, 1.2)
    idx = [(c - o) / step for c, o in zip((x, y, s), (-40.0, -40.0, -150.0), strict=True)]
    f = ndimage.map_coordinates(anat._cache[key], idx, order=1, mode="wrap")
    df = np.clip(anat.marrow_patchiness * f, -0.3, 0.3)
    return np.clip(1 + df[:, None] * FAT_SLOPE[None, :], 0.3, 2.0).astype(np.float32)


def tissue_codes(lab: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Tissue code (uint8) for `signal_lut`: the label, or 15 + j for the nucleus of disc j."""
    return np.where(lab == 9, (15 + j).astype(np.uint8), lab)


def tissue_signal(anat: Anatomy, lab: np.ndarray, j: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Noise-free signal (N, 3) for T1, T2, FS from labels (nucleus by disc grade, marrow by level)."""
    return signal_lut(anat)[tissue_codes(lab, j)]


# ---------------------------------------------------------------------------------------- lesion


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    n = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma, mode="wrap")
    return (n - n.mean()) / (n.std() + 1e-6)


_LAT = 1.0  # lesion-shape noise lattice step (mm)
_XY0 = -32.0  # lattice origin for x and y (mm)


def _side_fields(side: LesionSide) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(side.noise_seed)
    border = _smooth_noise(rng, (65, 65), 3.0)          # footprint raggedness, ~3 mm grain
    thick = _smooth_noise(rng, (65, 65), 4.0)           # thickness modulation
    holes = _smooth_noise(rng, (65, 65, 36), 1.6)       # 3-D holes / islands
    return border, thick, holes


def _sample(field_: np.ndarray, coords: list[np.ndarray]) -> np.ndarray:
    idx = [(c - o) / _LAT for c, o in zip(coords, (_XY0, _XY0, 0.0)[: len(coords)], strict=True)]
    return ndimage.map_coordinates(field_, idx, order=1, mode="nearest")


def lesion_region(anat: Anatomy, les: Lesion, x: np.ndarray, y: np.ndarray, s: np.ndarray,
                  ) -> np.ndarray:
    """Lesion sub-region at spine-frame points (broadcast-compatible arrays): 0 outside, 1 dominant
    type, 2 secondary (mixed)."""
    x, y, s = np.broadcast_arrays(*(np.asarray(v, dtype=np.float32) for v in (x, y, s)))
    shape = x.shape
    x, y, s = x.ravel(), y.ravel(), s.ravel()
    out = np.zeros(x.shape, dtype=np.uint8)
    if x.size == 0:
        return out.reshape(shape)
    j = np.full(x.shape, les.disc)
    ds = s - np.float32(anat.disc_mid[les.disc])
    hd = disc_half_local(anat, j, x, y)
    for side in les.sides:
        key = ("fields", side.noise_seed)
        if key not in les._cache:
            les._cache[key] = _side_fields(side)
        border, thick, holes = les._cache[key]
        h = side.sign * ds - hd - anat.endplate          # depth below the endplate cortex (mm)
        cand = (h >= 0) & (h < side.thick * (1 + 2 * side.thick_var) + 1)
        if not cand.any():
            continue
        xc, yc, hc = x[cand], y[cand], h[cand]
        pe = np.float32(side.pexp)
        q = (np.abs((xc - side.cx) / side.ax) ** pe + np.abs((yc - side.cy) / side.ay) ** pe) ** (1 / pe)
        q = q + side.rag * _sample(border, [xc, yc])
        prof = side.taper + (1 - side.taper) * np.sqrt(np.clip(1 - q * q, 0, 1))
        t = side.thick * prof * (1 + side.thick_var * _sample(thick, [xc, yc]))
        inside = (q < 1) & (hc < t)
        if side.holes < 5:
            inside &= _sample(holes, [xc, yc, np.clip(hc, 0, 34)]) < side.holes
        out[np.flatnonzero(cand)[inside]] = 1
    if les.second_type is not None:
        sec = (out == 1) & ((y - les.split_y) * les.split_dir > 0)
        out[sec] = 2
    return out.reshape(shape)


def lesion_texture(les: Lesion, x: np.ndarray, y: np.ndarray, s_rel: np.ndarray, modic_type: int,
                   ) -> np.ndarray:
    """Zero-mean, unit-SD correlated noise with the lesion's grain (`Lesion.texture_grain`, else the
    type's; spine frame, `s_rel` = s minus the lesion disc's mid-plane, mm)."""
    key = ("texture", modic_type)
    if key not in les._cache:
        rng = np.random.default_rng([les.texture_seed, modic_type])
        step = (les.texture_grain if les.texture_grain is not None else TEXTURE_GRAIN[modic_type]) / 2
        n = int(np.ceil(90 / step)) + 1
        les._cache[key] = (_smooth_noise(rng, (n, n, n), 1.2), step)
    field_, step = les._cache[key]
    idx = [(c + 45.0) / step for c in (x, y, s_rel)]
    return ndimage.map_coordinates(field_, idx, order=1, mode="wrap")


def lesion_factor(les: Lesion, x: np.ndarray, y: np.ndarray, s_rel: np.ndarray, modic_type: int,
                  ) -> np.ndarray:
    """Signal factor (n, 3) relative to normal marrow for T1, T2, FS of lesion voxels of `modic_type`
    (spine frame, `s_rel` as in `lesion_texture`): the type's factor, blended in patches with the
    neighbouring type's (`Lesion.blend`), plus amplitude · texture (in marrow units; signal model 1: the
    type's LESION_FACTOR times (1 + the type's TEXTURE_AMP · texture), exactly as generator 1)."""
    if les.factors is None and les.texture_amp is None and les.blend == 0:       # signal model 1
        tex = lesion_texture(les, x, y, s_rel, modic_type)
        return LESION_FACTOR[modic_type - 1][None, :] * (1 + TEXTURE_AMP[modic_type] * tex[:, None])

    def base(t: int) -> np.ndarray:
        f = les.factors.get(t) if les.factors else None
        return np.asarray(f if f is not None else LESION_FACTOR[t - 1], np.float32)

    if les.blend_mode == "patch":                # signal model 3: mixed lesion, each part at its own type's signal
        fac = np.broadcast_to(base(modic_type)[None, :], (np.size(x), 3))
        if les.blend > 0 and les.blend_type is not None and les.blend_type != modic_type:
            w = _patch_weight(les, modic_type, x, y, s_rel)[:, None]
            fac = (1 - w) * fac + w * base(les.blend_type)[None, :]
        tex = lesion_texture(les, x, y, s_rel, modic_type)
        return (fac + les.texture_amp * tex[:, None]).astype(np.float32)
    fac = np.log(base(modic_type))[None, :]
    if les.blend > 0 and les.blend_type is not None and les.blend_type != modic_type:
        key = ("blend", modic_type)
        if key not in les._cache:
            rng = np.random.default_rng([les.texture_seed, modic_type, 5])
            les._cache[key] = _smooth_noise(rng, (46, 46, 46), 2.0)      # 2 mm lattice, ~8 mm patches
        idx = [(c + 45.0) / 2.0 for c in (x, y, s_rel)]
        patch = ndimage.map_coordinates(les._cache[key], idx, order=1, mode="wrap")
        w = np.clip(les.blend * (1 + 0.9 * patch), 0, 0.5)[:, None]
        fac = (1 - w) * fac + w * np.log(base(les.blend_type))[None, :]
    tex = lesion_texture(les, x, y, s_rel, modic_type)
    if les.texture_amp is None:                  # generator 1: texture in proportion to the lesion signal
        return (np.exp(fac) * (1 + TEXTURE_AMP[modic_type] * tex[:, None])).astype(np.float32)
    # texture in units of the marrow signal, whatever the lesion's own level (not type-specific)
    return (np.exp(fac) + les.texture_amp * tex[:, None]).astype(np.float32)


def _patch_weight(les: Lesion, modic_type: int, x: np.ndarray, y: np.ndarray, s_rel: np.ndarray) -> np.ndarray:
    """Weight (0–1) of the neighbouring type's signal: ~8 mm patches covering about `les.blend` of the space
    (a standardised smooth field above its (1 − blend) normal quantile, ~1 mm soft edge)."""
    from scipy.special import ndtri

    key = ("patch", modic_type)
    step = les.blend_grain / 4                   # lattice step (mm): patches ~ `blend_grain` mm across
    if key not in les._cache:
        rng = np.random.default_rng([les.texture_seed, modic_type, 5])
        n = int(np.ceil(90 / step)) + 1
        les._cache[key] = _smooth_noise(rng, (n, n, n), 2.0)
    idx = [(c + 45.0) / step for c in (x, y, s_rel)]
    patch = ndimage.map_coordinates(les._cache[key], idx, order=1, mode="wrap")
    return 1.0 / (1.0 + np.exp(-(patch - ndtri(1.0 - les.blend)) / 0.15))


def lesion_bbox_spine(anat: Anatomy, les: Lesion) -> tuple[np.ndarray, np.ndarray]:
    """Spine-frame bounding box (lo, hi) of (x, y, s) that contains the whole lesion (mm)."""
    j = les.disc
    hw = float(max(anat.half_w[j + 1], anat.half_w[j + 2])) + 2
    hdp = float(max(anat.half_d[j + 1], anat.half_d[j + 2])) + 2
    tmax = max(sd.thick * (1 + 2 * sd.thick_var) + 1 for sd in les.sides)
    reach = anat.disc_half[j] + anat.concavity + anat.endplate + tmax + 2
    m = anat.disc_mid[j]
    return np.array([-hw, -hdp, m - reach]), np.array([hw, hdp, m + reach])
