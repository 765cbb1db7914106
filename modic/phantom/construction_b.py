"""Phantom construction B (`modic phantom --construction B`): a second, independent lumbar generator.

Built differently from the default construction on purpose, so that nothing is tuned to one generator:

* anatomy: L1–S1 bodies are superquadrics (|x/a|^e + |y/b|^e + |z/c|^e ≤ 1, e = 2.5–4.5) with anterior
  wedging and concave endplates, placed along a circular arc (constant-curvature lordosis, radius
  180–340 mm) in a tilted sagittal plane; discs fill the gaps (annulus + nucleus of random hydration); a
  CSF canal, posterior bone blocks, muscle, subcutaneous fat and abdominal fat/bowel blobs around them;
* tissue signal: its own intensity table (`TISSUES`, jittered per case) with anisotropic trabecular marrow
  texture and fatty islands;
* lesions: wedge-shaped bands (thicker anteriorly) or patchy multi-focal lesions (2–4 ellipsoidal foci
  along the endplate), on one or both endplates of a disc, 2–16 cm³, type factors relative to marrow
  (`LESION_FACTORS_B`) with internal texture;
* acquisition: rendered on a fine grid and averaged into 3.5 mm slices (0.75 mm in-plane), then a 4-channel
  coil array: each coil sees the signal times a smooth sensitivity plus complex Gaussian noise, combined by
  root-sum-of-squares (non-central chi noise, shading toward the posterior coils).

Ground truth: lesion masks, the `Spine` (bodies, discs, endplate zones), seed (deepest lesion voxel) and a
normal-marrow reference point, LPS mm. Pure function of (seed, case index).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from modic.geometry import sagittal_direction
from modic.phantom.hybrid import deepest_point_lps, normal_marrow_point, reslice
from modic.spine.model import spine_from_masks

BODIES = ("L1", "L2", "L3", "L4", "L5", "S1")
# T1, T2, FS signal of each tissue (arbitrary scanner units)
TISSUES = {"marrow": (520, 330, 120), "cortex": (60, 50, 40), "annulus": (170, 190, 90),
           "nucleus": (210, 720, 520), "csf": (150, 1000, 900), "muscle": (300, 210, 140),
           "fat": (900, 640, 60), "bone": (380, 240, 110), "bowel": (420, 500, 380)}
LESION_FACTORS_B = {1: (0.6, 1.9, 2.6), 2: (1.35, 1.1, 0.45), 3: (0.35, 0.45, 0.5)}
SEQS = ("T1", "T2", "FS")
FINE = (0.75, 0.75, 0.875)     # mm (i: posterior, j: inferior, k: right); 4 fine slices → 3.5 mm
FOV = (150.0, 250.0, 56.0)     # mm


@dataclass
class CaseSpecB:
    case_id: str
    modic_type: int
    disc: str
    endplate: str        # "upper" | "lower" | "both"
    shape: str           # "wedge" | "patchy"
    volume_mm3: float
    seed: int


def specs_b(n_cases: int = 30, seed: int = 0) -> list[CaseSpecB]:
    """Case specs: types cycling I, II, III; discs L1-L2 … L5-S1; endplate upper/lower/both; shape
    wedge/patchy; volume 2–16 cm³."""
    rng = np.random.default_rng([int(seed), 4242])
    discs = [f"{a}-{b}" for a, b in zip(BODIES[:-1], BODIES[1:], strict=True)]
    out = []
    for n in range(n_cases):
        out.append(CaseSpecB(f"B{seed:02d}_{n + 1:03d}", 1 + n % 3, str(rng.choice(discs)),
                             str(rng.choice(["upper", "lower", "both"], p=[0.3, 0.3, 0.4])),
                             str(rng.choice(["wedge", "patchy"])), float(rng.uniform(2000, 16000)),
                             int(rng.integers(2**31))))
    return out


def _grid(rng: np.random.Generator) -> sitk.Image:
    size = [int(round(f / s)) for f, s in zip(FOV, FINE, strict=True)]
    tilt = np.deg2rad(rng.uniform(-6, 6))  # rotation about the left-right axis
    rot = np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])
    direction = rot @ np.asarray(sagittal_direction()).reshape(3, 3)
    g = sitk.Image(size, sitk.sitkUInt8)
    g.SetSpacing(FINE)
    g.SetDirection(direction.flatten().tolist())
    g.SetOrigin((rng.uniform(-30, 30), rng.uniform(-80, -40), rng.uniform(-60, 60)))
    return g


def _coords(size) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local mm coordinates (u posterior, v inferior, w right) of the fine grid, numpy k-j-i order."""
    w, v, u = np.meshgrid(*(np.arange(n, dtype=np.float32) * s for n, s in zip(size[::-1], FINE[::-1], strict=True)),
                          indexing="ij")
    return u, v, w


def _anatomy(u, v, w, rng):
    """Label volumes (bool) of bodies {level: (marrow, cortex, local coords)}, discs, canal, etc."""
    radius = rng.uniform(180, 340)
    u0, v0, w0 = FOV[0] * rng.uniform(0.42, 0.5), 20.0, FOV[2] / 2 + rng.uniform(-3, 3)
    height = rng.uniform(24, 29)
    disc_h = rng.uniform(8, 12)
    depth = rng.uniform(30, 36)
    width = rng.uniform(40, 48)
    uc, vc = u0 + radius, v0 + 2.5 * (height + disc_h)   # centre of curvature, posterior of the spine
    bodies, frames = {}, {}
    for n, level in enumerate(BODIES):
        s = (n - 2.5) * (height + disc_h) + height / 2 * 0  # arc length from the middle
        phi = s / radius
        centre = np.array([uc - radius * np.cos(phi), vc + radius * np.sin(phi)])
        t = np.array([np.sin(phi), np.cos(phi)])           # tangent, inferior
        nrm = np.array([np.cos(phi), -np.sin(phi)])        # toward the centre of curvature (posterior)
        du, dv = u - centre[0], v - centre[1]
        x = du * t[0] + dv * t[1]                          # along the spine (inferior +)
        y = du * nrm[0] + dv * nrm[1]                      # anterior-posterior (posterior +)
        z = w - w0
        h = height * (0.92 if level == "S1" else 1.0)
        a = h / 2 * (1 - rng.uniform(0.0, 0.12) * y / (depth / 2))            # anterior wedging
        a = a - rng.uniform(0.5, 2.0) * np.clip(1 - (y / (depth / 2)) ** 2 - (z / (width / 2)) ** 2, 0, 1)
        e = rng.uniform(2.5, 4.5)
        f = np.abs(x / a) ** e + np.abs(y / (depth / 2)) ** e + np.abs(z / (width / 2)) ** e
        body = f <= 1
        inner = (np.abs(x / (a - 1.2)) ** e + np.abs(y / (depth / 2 - 1.2)) ** e
                 + np.abs(z / (width / 2 - 1.2)) ** e) <= 1
        bodies[level] = (body & inner, body & ~inner)
        frames[level] = (x, y, z, a)
    return bodies, frames, (uc, vc, radius, w0, depth, width, (2.5 * (height + disc_h) + height / 2) / radius)


def _band_depth(frame, side: str) -> np.ndarray:
    x, y, z, a = frame
    return a - x if side == "inferior" else a + x


def _lesion(shape: str, frame, side: str, body: np.ndarray, volume_mm3: float, rng) -> np.ndarray:
    """Wedge band (thickness growing anteriorly) or patchy foci against the `side` endplate of a body."""
    depth = _band_depth(frame, side)
    _, y, z, _ = frame
    vox = float(np.prod(FINE))
    ymax = float(np.abs(y[body]).max()) or 1.0
    if shape == "wedge":
        slope = rng.uniform(0.2, 0.8)
        prof = 1 + slope * (-y / ymax)                     # anterior (y < 0) thicker

        def make(t):
            return body & (depth <= t * prof)
    else:
        k = int(rng.integers(2, 5))
        centres = [(rng.uniform(-0.6, 0.6) * ymax, rng.uniform(-12, 12), rng.uniform(0.5, 3.0)) for _ in range(k)]
        radii = [rng.uniform(0.6, 1.4, size=3) for _ in range(k)]

        def make(t):
            m = np.zeros(body.shape, bool)
            for (cy, cz, cd), r in zip(centres, radii, strict=True):
                m |= (((depth - cd) / (t * 0.6 * r[0])) ** 2 + ((y - cy) / (t * 1.4 * r[1])) ** 2
                      + ((z - cz) / (t * 1.4 * r[2])) ** 2) <= 1
            return body & m
    lo, hi = 0.5, 30.0
    for _ in range(14):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if make(mid).sum() * vox < volume_mm3 else (lo, mid)
    return make(hi)


def _noise_field(shape, sigma, rng) -> np.ndarray:
    n = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma)
    return n / (n.std() or 1.0)


def make_case_b(spec: CaseSpecB):
    """Render one construction-B case (a `modic.phantom.PhantomCase`; anatomy = spine labels)."""
    from modic.phantom.synth import PhantomCase

    rng = np.random.default_rng(spec.seed)
    fine = _grid(rng)
    u, v, w = _coords(fine.GetSize())
    bodies, frames, (uc, vc, radius, w0, depth, width, half) = _anatomy(u, v, w, rng)
    tissue = {k: np.asarray(val, np.float32) * rng.uniform(0.9, 1.1, 3).astype(np.float32)
              for k, val in TISSUES.items()}
    tissue["nucleus"] = tissue["nucleus"] * np.float32(rng.uniform(0.5, 1.0))
    shape = u.shape
    names = list(TISSUES)
    lab = np.full(shape, names.index("muscle"), np.uint8)
    rr = np.hypot(u - uc, v - vc)                          # distance from the centre of curvature
    lab[u > FOV[0] - rng.uniform(12, 22)] = names.index("fat")
    lab[(u < 25) & (_noise_field(shape, 6, rng) > 0.3)] = names.index("fat")
    lab[(u < 30) & (_noise_field(shape, 5, rng) > 1.0)] = names.index("bowel")
    canal_r = radius - depth / 2 - 9                      # canal centre line: a concentric arc
    canal = (np.hypot(rr - canal_r, (w - w0) * 0.8) < 7.5) & (v > 5)
    lab[(np.abs(rr - (canal_r - 22)) < 9) & (np.abs(w - w0) < 22) & (v > 5)] = names.index("bone")
    lab[canal] = names.index("csf")
    # discs: the spine's arc band between the bodies (annulus), nucleus in its middle
    phi = np.arctan2(v - vc, uc - u)
    spine_band = (np.abs(rr - radius) < depth / 2) & (np.abs(w - w0) < width / 2 * 0.95) & (np.abs(phi) < half)
    body_any = np.any(np.stack([m | c for m, c in bodies.values()]), axis=0)
    lab[spine_band] = names.index("annulus")
    nucleus = (np.abs(rr - radius) < depth / 4) & (np.abs(w - w0) < width / 4)
    lab[spine_band & nucleus] = names.index("nucleus")
    for m, c in bodies.values():
        lab[m] = names.index("marrow")
        lab[c] = names.index("cortex")
    disc_region = spine_band & ~ndimage.binary_dilation(body_any, iterations=1)
    lab[spine_band & ~body_any & ~disc_region] = names.index("cortex")  # endplate rim
    table = np.stack([tissue[n] for n in names])           # (tissues, 3)
    signal = table[lab]                                    # (k, j, i, 3)
    marrow = lab == names.index("marrow")
    trab = _noise_field(shape, (0.8, 2.0, 0.8), rng)
    islands = _noise_field(shape, 3.0, rng) > 2.0
    signal[marrow] *= (1 + 0.07 * trab[marrow])[:, None]
    signal[marrow & islands] *= np.array([1.5, 1.3, 0.6], np.float32)
    # lesion
    upper, lower = spec.disc.split("-")
    sides = {"upper": [(upper, "inferior")], "lower": [(lower, "superior")],
             "both": [(upper, "inferior"), (lower, "superior")]}[spec.endplate]
    lesion = np.zeros(shape, bool)
    share = rng.uniform(0.35, 0.65) if len(sides) == 2 else 1.0
    for n, (level, side) in enumerate(sides):
        m, c = bodies[level]
        lesion |= _lesion(spec.shape, frames[level], side, m | c, spec.volume_mm3 * (share if n == 0 else 1 - share),
                          rng)
    weight = ndimage.gaussian_filter(lesion.astype(np.float32), 0.5)
    tex = _noise_field(shape, 1.5, rng)
    factors = np.asarray(LESION_FACTORS_B[spec.modic_type], np.float32) ** np.float32(rng.uniform(0.8, 1.2))
    signal *= 1 + weight[..., None] * (factors * (1 + 0.1 * tex[..., None]) - 1)
    # acquisition: 3.5 mm slices, 4-coil root-sum-of-squares with noise
    images, grid = {}, None
    coils = [(0.2, 0.25), (0.2, 0.75), (0.9, 0.25), (0.9, 0.75)]   # (u, v) fractions of the FOV
    for s, seq in enumerate(SEQS):
        arr, grid = reslice(signal[..., s], fine, 3.5)
        gu = np.arange(arr.shape[2]) * FINE[0] / FOV[0]
        gv = np.arange(arr.shape[1]) * FINE[1] / FOV[1]
        sigma = float(tissue["marrow"][s] / rng.uniform(14, 24) / 2)
        power = np.zeros(arr.shape, np.float32)
        for cu, cv in coils:
            sens = np.exp(-((gu[None, :] - cu) ** 2 + (gv[:, None] - cv) ** 2) / 0.35).astype(np.float32)
            re = arr * sens[None] + rng.normal(0, sigma, arr.shape).astype(np.float32)
            im = rng.normal(0, sigma, arr.shape).astype(np.float32)
            power += re * re + im * im
        mag = np.sqrt(power) * np.float32(rng.uniform(0.6, 1.8))
        img = sitk.GetImageFromArray(np.rint(mag).astype(np.float32))
        img.CopyInformation(grid)
        images[seq] = img
    gt = reslice(lesion.astype(np.float32), fine, 3.5)[0] >= 0.5
    masks = {}
    for seq in SEQS:
        mk = sitk.GetImageFromArray(gt.astype(np.uint8))
        mk.CopyInformation(grid)
        masks[seq] = mk
    body_c = {lv: reslice((m | c).astype(np.float32), fine, 3.5)[0] >= 0.5 for lv, (m, c) in bodies.items()}
    disc_all = reslice((np.isin(lab, [names.index("annulus"), names.index("nucleus")]) & spine_band)
                       .astype(np.float32), fine, 3.5)[0] >= 0.5
    from modic.spine.model import discs_between

    discs = discs_between(body_c, disc_all, grid)
    spine = spine_from_masks(grid, body_c, discs, info={"source": "construction B ground truth"})
    seed_lps = deepest_point_lps(gt, grid)
    reference_lps = normal_marrow_point(gt, body_c, (upper, lower), grid)
    meta = {"construction": "B", "disc": spec.disc, "endplate": spec.endplate, "shape": spec.shape,
            "volume_mm3_fine": float(lesion.sum() * np.prod(FINE)), "factors": factors.tolist()}
    case = PhantomCase(spec.case_id, images, masks, spine.labels, seed_lps, spec.modic_type,
                       {1: "I", 2: "II", 3: "III"}[spec.modic_type],
                       {"odi": None, "vas": None, "age": None, "sex": None, "pfirrmann": None}, meta, None,
                       reference_lps)
    case.spine = spine
    return case
