"""Hybrid cases: Modic lesions inserted into real sagittal lumbar scans (`modic phantom --background`).

What is real and what is made up, per case:

* real: one scan (anatomy, marrow texture, noise, intensity non-uniformity) and its manual vertebral-body
  labels, from a background manifest (columns `image`, `labels`, `label_levels`, `contrast`; the layout of
  ``../shared/realmri/manifest.csv``). Scans without vertebral-body labels are skipped.
* derived: every scan is ONE contrast. A T2 scan plays T2; a T1 or fat-bright image (fat bright, water dark)
  plays T1; a fat-suppressed image (STIR, FS, SPAIR, a water image) plays FS. The manifest's `contrast` text
  names the role (`sequence_role`), and the image is checked against it (`check_role`): a scan called T1 or
  fat-bright whose intervertebral discs are brighter than the marrow is a water-bright image and plays FS
  (no T1 or fat image shows discs brighter than adult marrow). The two missing sequences are derived from the
  same real scan by a per-tissue gain: the real intensity is multiplied by a smooth gain map, so its texture and
  noise are kept while the tissue levels move (`DERIVED_LEVELS`: vertebral marrow from the body labels, other
  tissue from the smoothed intensity relative to marrow). A derived sequence therefore has the real scan's noise
  and texture but only approximate tissue contrast (e.g. fat and fluid cannot be told apart in a T2 scan, so both
  get the same derived T1 level; in a water image fat and cortex are both dark). Inside the vertebral bodies the
  gain varies only at the scale of a vertebra (`BODY_GAIN_SIGMA_MM`), so the derived sequences keep the real
  marrow texture (a gain following the 1.5 mm smoothed intensity, as outside the bodies, would flatten it to a
  third of the real variability). Signal typing depends on lesion against marrow, which is exact by construction.
* inserted: an irregular band of Modic change against one or both endplates of a disc (2–16 cm³, ragged
  border, thickness varying over the endplate, partial endplate coverage), inside the labelled bodies. The
  lesion multiplies the marrow signal of each sequence by the type's factor relative to the case's own marrow
  (`LESION_FACTORS`, jittered per case, with smooth heterogeneity): the real texture and noise stay.
* clinical geometry: everything is built on the 1 mm isotropic grid, then resliced to `slice_mm` slices by
  averaging whole slices (box slice profile: real partial volume; masks and bodies kept where ≥ half covered).

Ground truth per case: lesion masks, the `Spine` of the labelled bodies (endplate zones along the local spine
axis; discs are not labelled in these scans), seed point (deepest lesion voxel) and a normal-marrow reference
point in another body, all LPS mm. Pure function of (background, seed, case index).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from modic.errors import ModicInputError
from modic.spine.model import LEVELS, spine_from_masks

# lesion / marrow signal ratio per type and sequence (Modic 1988 pattern: I low/high/high, II high/iso-high/low,
# III low/low/low); each case draws factor ** U(0.75, 1.25) so contrast varies from case to case
LESION_FACTORS = {1: {"T1": 0.55, "T2": 1.65, "FS": 2.2},
                  2: {"T1": 1.45, "T2": 1.15, "FS": 0.5},
                  3: {"T1": 0.5, "T2": 0.5, "FS": 0.55}}
TYPE_NAMES = {1: "I", 2: "II", 3: "III"}
# derived tissue level (relative to marrow = 1 in the real scan) as a piecewise-linear function of the smoothed
# real intensity relative to marrow: (knots of the real level, derived levels), plus the derived marrow level
DERIVED_LEVELS = {
    "T2": {"T1": ((0.0, 0.5, 1.0, 1.6, 3.0), (0.0, 0.45, 0.9, 0.5, 0.3), 1.0),   # fluid/disc dark on T1
           "FS": ((0.0, 0.5, 1.0, 1.6, 3.0), (0.0, 0.35, 0.5, 1.2, 2.4), 0.45)},  # marrow suppressed
    "T1": {"T2": ((0.0, 0.3, 0.6, 1.0, 1.5), (0.0, 0.5, 0.8, 0.9, 1.1), 1.0),
           "FS": ((0.0, 0.3, 0.6, 1.0, 1.5), (0.0, 0.6, 0.7, 0.5, 0.25), 0.45)},  # fat suppressed
    # from a fat-suppressed (water-bright) image: cortex/air ~0, fat ~0.3, muscle ~0.7–1.1, disc ~1.4–2.4, CSF > 2
    # of the marrow; fat turns bright on T1 and T2, disc and CSF dark on T1 and bright on T2. Marrow-like signal
    # outside the labelled bodies (vertebrae not labelled, e.g. S1; posterior elements) stays near marrow, as from T2
    # (muscle, of the same real signal, cannot be told apart from it)
    "FS": {"T1": ((0.0, 0.12, 0.3, 0.7, 1.0, 1.3, 1.7, 2.4), (0.0, 0.3, 1.4, 0.7, 0.95, 0.8, 0.6, 0.35), 1.0),
           "T2": ((0.0, 0.12, 0.3, 0.7, 1.0, 1.3, 1.7, 2.4), (0.0, 0.3, 1.3, 0.7, 0.95, 1.1, 1.3, 2.6), 1.0)},
}
# fat-suppression words in a manifest's contrast text (checked before "T2": a "T2 STIR" plays FS)
_FS_WORDS = r"\b(stir|fs|fat[- ]?sat(urated|uration)?|fat[- ]suppress(ed|ion)?|spair|spir|tirm|water)\b"
# marrow is water and fat: with fat fraction f0 and water `WATER_T1` as bright as fat on T1, a water-image deviation
# d (water × d) gives a T1 deviation 1 + T1_PER_WATER × (d − 1): a spot brighter on a water image is darker on T1
MARROW_FAT_FRACTION, WATER_T1 = 0.5, 0.3
T1_PER_WATER = -(1 - WATER_T1) * (1 - MARROW_FAT_FRACTION) / (1 - (1 - WATER_T1) * (1 - MARROW_FAT_FRACTION))
# source/derived pairs whose marrow texture runs the other way, and the slope of the derived deviation on the source's
INVERTED_MARROW = {("FS", "T1"): T1_PER_WATER, ("T1", "FS"): 1 / T1_PER_WATER}
MARROW_TISSUE_MM = 1.5    # marrow deviations smoother than this are tissue (inverted), finer ones noise (kept)
WATER_BRIGHT_DISC = 1.2   # disc / marrow above which a scan called T1 or fat-bright is water-bright (plays FS)
FAT_BRIGHT_DISC = 0.8     # disc / marrow below which a scan called fat-suppressed is fat-bright (plays T1)
MARROW_LEVEL = 500.0  # every sequence is scaled so that normal marrow has this median (a scanner gain)
BODY_GAIN_SIGMA_MM = 8.0  # scale of the derived sequences' gain inside the bodies (texture below it is kept)


@dataclass
class Background:
    """One real scan with vertebral-body labels: image (float32, LPS grid), bodies {level: bool array k-j-i}."""

    name: str
    image: sitk.Image
    bodies: dict[str, np.ndarray]
    role: str          # the sequence the real contrast plays: "T2", "T1" or "FS"
    contrast: str      # the manifest's description
    role_note: str = ""  # why the role differs from the manifest's words (empty when it does not)


def sequence_role(contrast: str) -> str | None:
    """The sequence a scan plays, from a manifest's contrast text: "FS" (STIR, FS, fat-sat, fat-suppressed,
    SPAIR, SPIR, TIRM, water image; not a fat-suppressed T1), else "T2", else "T1" (T1, gradient echo, fat image,
    Dixon in-/opposed-phase); None when unknown."""
    c = contrast.lower()
    if re.search(r"\b(in|opp?osed|out[- ]of)[- ]phase\b", c):
        return "T1"   # Dixon in-phase / opposed-phase images are T1-weighted gradient echo, whatever else they say
    if re.search(_FS_WORDS, c):
        return None if "t1" in c else "FS"   # a fat-suppressed T1 (post-contrast) is none of the three
    if "t2" in c:
        return "T2"
    if "gradient" in c or re.search(r"\bgre\b", c) or "fat" in c or "t1" in c:
        return "T1"
    return None


def disc_to_marrow(image: np.ndarray, bodies: dict[str, np.ndarray], spacing_zyx, radius_mm: float = 3.0) -> float:
    """Median intensity of the intervertebral discs over that of the vertebral marrow (NaN when no two labelled
    bodies are adjacent). A disc is sampled in a ball of `radius_mm` midway between the centroids of two adjacent
    labelled bodies; the marrow is the bodies eroded by 2 voxels."""
    names = sorted(bodies, key=LEVELS.index)
    body = np.any(np.stack([bodies[n] for n in names]), axis=0)
    marrow = float(np.median(image[ndimage.binary_erosion(body, iterations=2)]))
    sp = np.asarray(spacing_zyx, float)
    r = np.ceil(radius_mm / sp).astype(int)
    zz, yy, xx = np.meshgrid(*[np.arange(-k, k + 1) for k in r], indexing="ij")
    ball = (zz * sp[0]) ** 2 + (yy * sp[1]) ** 2 + (xx * sp[2]) ** 2 <= radius_mm ** 2
    discs = []
    for a, b in zip(names[:-1], names[1:], strict=True):
        if LEVELS.index(b) - LEVELS.index(a) != 1:
            continue
        mid = np.rint((np.argwhere(bodies[a]).mean(0) + np.argwhere(bodies[b]).mean(0)) / 2).astype(int)
        idx = np.argwhere(ball) - r + mid
        idx = idx[np.all((idx >= 0) & (idx < image.shape), axis=1)]
        idx = idx[~body[tuple(idx.T)]]
        if len(idx):
            discs.append(float(np.median(image[tuple(idx.T)])))
    if not discs or marrow <= 0:
        return float("nan")
    return float(np.median(discs)) / marrow


def check_role(role: str, image: np.ndarray, bodies: dict[str, np.ndarray], spacing_zyx) -> tuple[str, str]:
    """(role, note): a scan called T1 or fat-bright whose discs are brighter than its marrow (by
    `WATER_BRIGHT_DISC`) is water-bright, as fat-suppressed images are, and plays FS; a scan called fat-suppressed
    whose discs are darker than its marrow (below `FAT_BRIGHT_DISC`) is fat-bright and plays T1; the note says why.
    T2 is not checked (its discs range from dark, degenerated, to bright)."""
    if role not in ("T1", "FS"):
        return role, ""
    ratio = disc_to_marrow(image, bodies, spacing_zyx)
    if not np.isfinite(ratio):
        return role, ""
    if role == "T1" and ratio >= WATER_BRIGHT_DISC:
        return "FS", (f"called T1/fat-bright, but its discs are {ratio:.2f}× the marrow (water-bright, as a "
                      "fat-suppressed or water image): used as FS")
    if role == "FS" and ratio < FAT_BRIGHT_DISC:
        return "T1", (f"called fat-suppressed, but its discs are {ratio:.2f}× the marrow (marrow brighter than the "
                      "discs, as on a T1 or fat image): used as T1")
    return role, ""


def read_backgrounds(manifest: str | Path) -> list[dict]:
    """Rows of a background manifest usable for hybrids (vertebral bodies labelled, known contrast), each
    {"name", "image", "labels", "levels": {label value: level}, "role", "contrast"} with absolute paths."""
    from modic.io import read_csv_table

    path = Path(manifest)
    if not path.is_file():
        raise ModicInputError(f"--background {path}: file not found — give a manifest.csv of real scans")
    df = read_csv_table(path, what="--background manifest")
    missing = {"image", "labels", "label_levels", "contrast"} - set(df.columns)
    if missing:
        raise ModicInputError(f"--background {path.name}: missing column(s) {sorted(missing)} — needs image, "
                              "labels, label_levels, contrast")
    rows = []
    for _, r in df.iterrows():
        levels = {}
        for part in str(r["label_levels"]).split(";"):
            if "=" in part:
                value, name = part.split("=", 1)
                if name.strip() in LEVELS:
                    try:
                        levels[int(value)] = name.strip()
                    except ValueError:
                        raise ModicInputError(f"--background {path.name}: label_levels entry {part.strip()!r} "
                                              "is not VALUE=LEVEL with an integer label value (e.g. 3=L1)") from None
        role = sequence_role(str(r["contrast"]))
        if len(levels) < 3 or role is None:
            continue  # discs only (or unknown contrast): no bodies to put a lesion in
        rows.append({"name": Path(str(r["image"])).name.split(".")[0], "image": path.parent / str(r["image"]),
                     "labels": path.parent / str(r["labels"]), "levels": levels, "role": role,
                     "contrast": str(r["contrast"])})
    if not rows:
        raise ModicInputError(f"--background {path.name}: no scan with vertebral-body labels (label_levels "
                              "naming T10…S1) and a T2, T1/fat-bright or fat-suppressed (STIR, FS, water) contrast")
    return rows


def load_background(row: dict, margin_mm: float = 60.0) -> Background:
    """Read one background scan and its body labels (labels resampled onto the image grid, nearest)."""
    for key in ("image", "labels"):
        if not Path(row[key]).is_file():
            raise ModicInputError(f"background {row['name']}: {row[key]} not found — check the manifest paths")
    from modic.io import read_image

    img = sitk.Cast(read_image(row["image"], what=f"background {row['name']} image"), sitk.sitkFloat32)
    lab = sitk.Resample(read_image(row["labels"], what=f"background {row['name']} labels"), img, sitk.Transform(),
                        sitk.sitkNearestNeighbor, 0)
    arr = sitk.GetArrayFromImage(lab)
    if not np.any(np.isin(arr, list(row["levels"]))):
        raise ModicInputError(f"background {row['name']}: no labelled vertebral body of label_levels inside the "
                              "image — check that the labels belong to this image")
    # field of view cropped in-plane to the labelled bodies plus `margin_mm` (all slices kept): speed
    nz = np.argwhere(arr > 0)
    sp = np.asarray(img.GetSpacing())[::-1]
    lo = np.maximum(nz.min(0) - np.ceil(margin_mm / sp).astype(int), 0)
    hi = np.minimum(nz.max(0) + np.ceil(margin_mm / sp).astype(int) + 1, arr.shape)
    lo[0], hi[0] = 0, arr.shape[0]
    img = sitk.RegionOfInterest(img, [int(v) for v in (hi - lo)[::-1]], [int(v) for v in lo[::-1]])
    arr = arr[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    bodies = {level: arr == value for value, level in row["levels"].items() if np.any(arr == value)}
    role, note = check_role(row["role"], sitk.GetArrayViewFromImage(img), bodies, sp)
    return Background(row["name"], img, bodies, role, row["contrast"], note)


def _smooth_noise(shape, sigma_vox, rng) -> np.ndarray:
    n = ndimage.gaussian_filter(rng.standard_normal(shape), sigma_vox)
    return n / (n.std() or 1.0)


def derive_sequences(bg: Background, body_gain_sigma_mm: float | None = BODY_GAIN_SIGMA_MM) -> dict[str, np.ndarray]:
    """T1, T2, FS arrays (k-j-i) on the background grid: the real scan in its role, the others by a smooth
    per-tissue gain on the real intensity (texture and noise kept); each scaled to marrow = MARROW_LEVEL.
    body_gain_sigma_mm: scale (mm) of the gain inside the bodies; None = the 1.5 mm smoothed intensity as outside
    them (the derivation before 2026-12-01, which flattens the marrow texture of the derived sequences)."""
    real = sitk.GetArrayFromImage(bg.image).astype(np.float32)
    body = np.any(np.stack(list(bg.bodies.values())), axis=0)
    marrow = float(np.median(real[ndimage.binary_erosion(body, iterations=2)]))
    rel = ndimage.gaussian_filter(real, 1.5) / marrow
    body_w = ndimage.gaussian_filter(ndimage.binary_erosion(body, iterations=1).astype(float), 1.0)
    # inside the bodies the gain follows the marrow only at the scale of a vertebra (normalised convolution over
    # the bodies, BODY_GAIN_SIGMA_MM), so the real marrow texture is kept on the derived sequences too
    rel_gain = rel
    if body_gain_sigma_mm:
        sigma = body_gain_sigma_mm / np.asarray(bg.image.GetSpacing())[::-1]
        rel_body = (ndimage.gaussian_filter(real * body, sigma)
                    / np.maximum(ndimage.gaussian_filter(body.astype(float), sigma), 1e-3) / marrow)
        rel_gain = body_w * rel_body + (1 - body_w) * rel
    out = {bg.role: real / marrow * MARROW_LEVEL}
    for seq, (knots, levels, marrow_level) in DERIVED_LEVELS[bg.role].items():
        level = body_w * marrow_level + (1 - body_w) * np.interp(rel, knots, levels)
        gain = np.clip(level / np.maximum(rel_gain, 0.05), 0.05, 4.0)
        out[seq] = real / marrow * gain * MARROW_LEVEL / marrow_level
        if (bg.role, seq) in INVERTED_MARROW:
            # where a water image is darker than its surroundings the marrow is fattier, and a T1 image brighter
            # (and the reverse): the tissue part of the marrow's deviation from its smooth level (d, smoothed over
            # `MARROW_TISSUE_MM`) becomes 1 + slope × (d − 1); the rest (noise) keeps its size and sign
            dev = real / (marrow * np.maximum(rel_gain, 0.05))
            tissue = ndimage.gaussian_filter(dev, MARROW_TISSUE_MM / np.asarray(bg.image.GetSpacing())[::-1])
            flip = np.clip(1 + INVERTED_MARROW[bg.role, seq] * (tissue - 1), 0.2, 1.8) / np.maximum(tissue, 1e-3)
            out[seq] = out[seq] * (body_w * flip + (1 - body_w))
    return out


def _depth_from_face(body: np.ndarray, toward_mm: np.ndarray, ref: sitk.Image, max_mm: int) -> np.ndarray:
    """For each body voxel: distance (mm, 1 mm steps) along `toward_mm` (unit, LPS) to the body's face."""
    from modic.spine.model import _shift_mm

    depth = np.full(body.shape, float(max_mm + 1))
    inside = body.copy()
    for s in range(1, max_mm + 1):
        still = _shift_mm(body, ref, s * toward_mm)
        hit = inside & ~still
        depth[hit] = s - 0.5
        inside &= still
    return np.where(body, depth, np.inf)


def lesion_band(body: np.ndarray, toward_mm: np.ndarray, ref: sitk.Image, volume_mm3: float,
                rng: np.random.Generator) -> np.ndarray:
    """An irregular band of `body` against its face toward `toward_mm` (LPS unit vector) of about
    `volume_mm3` (1 mm voxels): thickness varying smoothly over the endplate, ragged border, partial
    endplate coverage; the largest connected piece."""
    depth = _depth_from_face(body, toward_mm, ref, 25)
    vox = float(np.prod(ref.GetSpacing()))
    thick = 1.0 + 0.3 * _smooth_noise(body.shape, 5.0, rng)
    ragged = 1.3 * _smooth_noise(body.shape, 1.0, rng)
    cover = _smooth_noise(body.shape, 8.0, rng) > rng.uniform(-2.0, -0.3)

    def band(t0: float) -> np.ndarray:
        return body & cover & (depth + ragged < t0 * thick)

    lo, hi = 1.0, 24.0
    for _ in range(14):
        mid = (lo + hi) / 2
        if band(mid).sum() * vox < volume_mm3:
            lo = mid
        else:
            hi = mid
    mask = band(hi)
    lab, n = ndimage.label(mask)
    if n > 1:
        sizes = np.bincount(lab.ravel())[1:]
        mask = lab == (1 + int(np.argmax(sizes)))
    return mask


def reslice(arr: np.ndarray, ref: sitk.Image, slice_mm: float) -> tuple[np.ndarray, sitk.Image]:
    """Average groups of source slices (numpy axis 0 = image k) into slices `slice_mm` thick (box profile);
    returns the array and its grid (same direction, slice spacing = group × source spacing)."""
    sk = ref.GetSpacing()[2]
    n = max(1, int(round(slice_mm / sk)))
    nk = arr.shape[0] // n
    out = arr[: nk * n].reshape(nk, n, *arr.shape[1:]).mean(axis=1)
    grid = sitk.Image([ref.GetSize()[0], ref.GetSize()[1], nk], sitk.sitkUInt8)
    grid.SetSpacing((ref.GetSpacing()[0], ref.GetSpacing()[1], sk * n))
    grid.SetDirection(ref.GetDirection())
    grid.SetOrigin(ref.TransformContinuousIndexToPhysicalPoint((0.0, 0.0, (n - 1) / 2)))
    return out, grid


def _image(arr: np.ndarray, grid: sitk.Image, pixel=sitk.sitkFloat32) -> sitk.Image:
    img = sitk.GetImageFromArray(arr)
    img.CopyInformation(grid)
    return sitk.Cast(img, pixel)


def lesion_free_case(row: dict, slice_mm: float = 4.0, body_gain_sigma_mm: float | None = BODY_GAIN_SIGMA_MM
                     ) -> tuple[dict[str, sitk.Image], object]:
    """A real scan WITHOUT inserted lesions at clinical geometry: (images {seq: image} with the missing
    sequences derived as in the hybrid cases, resliced to `slice_mm`; the ground-truth `Spine` of its labelled
    bodies on that grid). The false-positive test bed of zero-click detection.

    body_gain_sigma_mm: see `derive_sequences`; the default keeps the real marrow texture, as the hybrid cases do
    (None: the older, texture-flattening derivation)."""
    bg = load_background(row)
    images, grid = {}, None
    for seq, arr in derive_sequences(bg, body_gain_sigma_mm).items():
        arr, grid = reslice(arr, bg.image, slice_mm)
        images[seq] = _image(np.rint(np.clip(arr, 0, 32000)), grid)
    bodies = {lv: reslice(m.astype(float), bg.image, slice_mm)[0] >= 0.5 for lv, m in bg.bodies.items()}
    return images, spine_from_masks(grid, bodies, info={"source": f"labelled bodies of {bg.name}"})


def deepest_point_lps(mask: np.ndarray, grid: sitk.Image) -> tuple[float, float, float]:
    """LPS mm of the mask voxel farthest (in-plane, mm) from the mask's border."""
    sp = grid.GetSpacing()
    d = np.zeros(mask.shape)
    for k in range(mask.shape[0]):
        if mask[k].any():
            d[k] = ndimage.distance_transform_edt(mask[k], sampling=(sp[1], sp[0]))
    k, j, i = np.unravel_index(int(np.argmax(d)), d.shape)
    return tuple(float(v) for v in grid.TransformIndexToPhysicalPoint((int(i), int(j), int(k))))


def normal_marrow_point(lesion: np.ndarray, bodies: dict[str, np.ndarray], levels: tuple[str, ...],
                        grid: sitk.Image, away_mm: float = 6.0) -> tuple[float, float, float]:
    """A normal-marrow reference point (LPS mm): the deepest voxel of the lesion's own bodies at least `away_mm`
    from the lesion (marrow signal differs from body to body in real scans), else of another body."""
    sp = grid.GetSpacing()
    far = ndimage.distance_transform_edt(~lesion, sampling=(sp[2], sp[1], sp[0])) >= away_mm
    for level in (*levels, *[lv for lv in bodies if lv not in levels]):
        region = bodies[level] & far
        if region.sum() >= 20:
            return deepest_point_lps(region, grid)
    return deepest_point_lps(bodies[levels[0]], grid)


def body_axis(bodies: dict[str, np.ndarray], ref: sitk.Image, upper: str, lower: str) -> np.ndarray:
    """Unit LPS vector from the lower body's centroid to the upper one's (pointing superior)."""
    def centroid(m):
        return np.asarray(ref.TransformContinuousIndexToPhysicalPoint(np.argwhere(m).mean(0)[::-1].tolist()))

    d = centroid(bodies[upper]) - centroid(bodies[lower])
    return d / np.linalg.norm(d)


@dataclass
class HybridSpec:
    """Random choices of one hybrid case."""

    case_id: str
    background: str
    modic_type: int
    disc: str            # e.g. "L4-L5"
    endplate: str        # "upper" (inferior endplate of the body above), "lower", "both"
    volume_mm3: float
    factor_power: dict
    slice_mm: float
    seed: int


def make_hybrid_case(bg: Background, spec: HybridSpec):
    """Render one hybrid case (a `modic.phantom.PhantomCase`, anatomy = spine labels on the case grid)."""
    from modic.phantom.synth import PhantomCase

    rng = np.random.default_rng(spec.seed)
    upper, lower = spec.disc.split("-")
    seqs = derive_sequences(bg)
    ref = bg.image
    # work in a box around the two bodies (speed); the mask is pasted back
    both = bg.bodies[upper] | bg.bodies[lower]
    nz = np.argwhere(both)
    lo = np.maximum(nz.min(0) - 3, 0)
    hi = np.minimum(nz.max(0) + 4, both.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    sub = sitk.RegionOfInterest(ref, [int(v) for v in (hi - lo)[::-1]], [int(v) for v in lo[::-1]])
    axis = body_axis(bg.bodies, ref, upper, lower)
    sides = {"upper": [(upper, -axis)], "lower": [(lower, axis)],
             "both": [(upper, -axis), (lower, axis)]}[spec.endplate]
    mask = np.zeros(both.shape, bool)
    share = rng.uniform(0.35, 0.65) if len(sides) == 2 else 1.0
    for n, (level, toward) in enumerate(sides):
        vol = spec.volume_mm3 * (share if n == 0 else 1 - share)
        mask[box] |= lesion_band(bg.bodies[level][box], toward, sub, vol, rng)
    weight = ndimage.gaussian_filter(mask.astype(float), 0.6)
    hetero = _smooth_noise(mask.shape, 3.0, rng)
    images, grid = {}, None
    for seq in ("T1", "T2", "FS"):
        f = LESION_FACTORS[spec.modic_type][seq] ** spec.factor_power[seq]
        arr = seqs[seq] * (1 + weight * (f * (1 + 0.12 * hetero) - 1))
        arr, grid = reslice(arr, ref, spec.slice_mm)
        images[seq] = _image(np.rint(np.clip(arr, 0, 32000)), grid)
    gt = reslice(mask.astype(float), ref, spec.slice_mm)[0] >= 0.5
    masks = {seq: _image(gt.astype(np.uint8), grid, sitk.sitkUInt8) for seq in images}
    bodies = {lv: reslice(m.astype(float), ref, spec.slice_mm)[0] >= 0.5 for lv, m in bg.bodies.items()}
    spine = spine_from_masks(grid, bodies, info={"source": f"labelled bodies of {bg.name}"})
    seed_lps = deepest_point_lps(gt, grid)
    reference_lps = normal_marrow_point(gt, bodies, (upper, lower), grid)
    true_type = TYPE_NAMES[spec.modic_type]
    meta = {"background": bg.name, "real_sequence": bg.role, "real_sequence_note": bg.role_note,
            "contrast": bg.contrast, "disc": spec.disc,
            "endplate": spec.endplate, "volume_mm3_1mm": float(mask.sum() * np.prod(ref.GetSpacing())),
            "factors": {s: LESION_FACTORS[spec.modic_type][s] ** spec.factor_power[s] for s in images},
            "slice_mm": spec.slice_mm}
    case = PhantomCase(spec.case_id, images, masks, spine.labels, seed_lps, spec.modic_type, true_type,
                       {"odi": None, "vas": None, "age": None, "sex": None, "pfirrmann": None}, meta,
                       None, reference_lps)
    case.spine = spine  # the ground-truth anatomy (Spine) for segmentation/detection
    return case


def hybrid_specs(backgrounds: list[dict], per_scan: int = 3, slice_mm: float = 4.0, seed: int = 0) -> list[HybridSpec]:
    """`per_scan` cases per background scan: types cycling I, II, III (offset per scan), a disc between two
    labelled lumbar-most bodies, endplate upper/lower/both (0.3/0.3/0.4), volume 2–16 cm³."""
    specs = []
    for b, row in enumerate(backgrounds):
        levels = sorted(row["levels"].values(), key=LEVELS.index)
        discs = [f"{a}-{c}" for a, c in zip(levels[:-1], levels[1:], strict=True)
                 if LEVELS.index(c) - LEVELS.index(a) == 1 and LEVELS.index(a) >= LEVELS.index("T12")]
        rng = np.random.default_rng([int(seed), b, 7919])
        picks = rng.permutation(len(discs))
        for n in range(per_scan):
            t = 1 + (b + n) % 3
            specs.append(HybridSpec(
                case_id=f"{row['name']}_{n + 1:02d}", background=row["name"], modic_type=t,
                disc=discs[int(picks[n % len(discs)])],
                endplate=str(rng.choice(["upper", "lower", "both"], p=[0.3, 0.3, 0.4])),
                volume_mm3=float(rng.uniform(2000, 16000)),
                factor_power={s: float(rng.uniform(0.75, 1.25)) for s in ("T1", "T2", "FS")},
                slice_mm=float(slice_mm), seed=int(rng.integers(2**31))))
    return specs
