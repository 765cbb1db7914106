"""The spine anatomy result: vertebral bodies, discs and endplate zones, named by level.

This is the interface between spine parsing (`modic.spine.parse`), the anatomy-aware lesion
segmentation (`modic.segment`) and zero-click detection (`modic.detect`). A `Spine` can be built by the
parser from images, or from any labelled anatomy (the phantom's ground truth, manual labels) with
`spine_from_label_map`, so every consumer can be tested on known anatomy.

Label values in `Spine.labels` are fixed by level (see `LEVELS`, `vertebra_label`, ...), so two label maps
of the same spine are comparable value by value:

* vertebral body of level k (T10 = 0 … S1 = 8): ``10 + k`` (central marrow, endplate zones excluded);
* superior endplate zone of that body: ``30 + k``; inferior endplate zone: ``50 + k``;
* disc below level k (T10-T11 = 0 … L5-S1 = 7): ``70 + k``.

The whole vertebral body of a level is its body label plus its two endplate labels (`body_mask`).
Points are LPS millimetres everywhere (`*_lps`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import SimpleITK as sitk

LEVELS: tuple[str, ...] = ("T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1")
DISCS: tuple[str, ...] = tuple(f"{a}-{b}" for a, b in zip(LEVELS[:-1], LEVELS[1:], strict=True))
VERTEBRA_BASE, SUPERIOR_BASE, INFERIOR_BASE, DISC_BASE = 10, 30, 50, 70
STRUCTURE_KINDS = ("vertebra", "disc", "endplate")
CSV_COLUMNS = ("structure", "level", "label", "centroid_lps", "volume_mm3", "normal_lps", "confidence")


def vertebra_label(level: str) -> int:
    """Label value of a vertebral body's central marrow (e.g. "L4" → 16)."""
    return VERTEBRA_BASE + LEVELS.index(level)


def endplate_label(level: str, side: str) -> int:
    """Label value of the superior/inferior endplate zone of a body (e.g. ("L4", "inferior") → 56)."""
    base = {"superior": SUPERIOR_BASE, "inferior": INFERIOR_BASE}[side]
    return base + LEVELS.index(level)


def disc_label(disc: str) -> int:
    """Label value of a disc (e.g. "L4-L5" → 76)."""
    return DISC_BASE + DISCS.index(disc)


def label_name(label: int) -> tuple[str, str]:
    """(structure, level) of a label value, e.g. 56 → ("endplate", "L4 inferior")."""
    for base, kind, names in ((DISC_BASE, "disc", DISCS), (INFERIOR_BASE, "endplate", LEVELS),
                              (SUPERIOR_BASE, "endplate", LEVELS), (VERTEBRA_BASE, "vertebra", LEVELS)):
        if base <= label < base + len(names):
            name = names[label - base]
            if kind == "endplate":
                name += " inferior" if base == INFERIOR_BASE else " superior"
            return kind, name
    raise ValueError(f"{label} is not a spine label value")


@dataclass
class Structure:
    """One named structure: a vertebral body, a disc or an endplate zone."""

    structure: str                       # "vertebra" | "disc" | "endplate"
    level: str                           # "L4", "L4-L5", "L4 inferior"
    label: int                           # its value in Spine.labels
    centroid_lps: tuple[float, float, float]
    volume_mm3: float
    normal_lps: tuple[float, float, float] | None = None  # endplates: unit normal pointing out of the body
    confidence: float = 1.0              # 0–1

    def row(self) -> dict:
        """One row of spine.csv (points as "x;y;z" mm, LPS)."""
        from modic.geometry import format_point

        return {"structure": self.structure, "level": self.level, "label": self.label,
                "centroid_lps": format_point(self.centroid_lps), "volume_mm3": round(self.volume_mm3, 1),
                "normal_lps": format_point(self.normal_lps) if self.normal_lps is not None else "",
                "confidence": round(float(self.confidence), 3)}


@dataclass
class Spine:
    """Parsed lumbar anatomy on one reference grid (the first image's)."""

    labels: sitk.Image                   # UInt8 label map, values as in the module docstring
    structures: list[Structure]
    naming_certain: bool = True          # False when no sacrum anchored the level names
    info: dict = field(default_factory=dict)

    @property
    def naming_reason(self) -> str:
        """Why the levels are named as they are (the parser's `info["naming"]`; "" when not recorded)."""
        return str(self.info.get("naming", self.info.get("reason", ""))).strip()

    def naming_summary(self) -> str:
        """The one line every front end prints after parsing (`modic spine`, Slicer's Find vertebrae, the batch
        console): the vertebral bodies found and whether their level names are anchored on the sacrum — or, when
        they are not, that they must be checked on the image, and why."""
        levels = [v.level for v in self.vertebrae()]
        text = f"{len(levels)} vertebral bodies ({', '.join(levels) or 'none'})"
        if self.naming_certain:
            return text + "; level names anchored on the sacrum."
        why = self.naming_reason
        return text + "; level names UNCERTAIN, check them on the image" + (f" ({why})." if why else ".")

    @property
    def parsed(self) -> bool:
        """Whether `modic.spine.parse_spine` made this spine (its bodies follow normal marrow and can stop short
        of abnormal marrow at an endplate); False for label maps, ground truth and hand-corrected anatomy."""
        return self.info.get("method") == "modic.spine.parse"

    def structure(self, level: str) -> Structure | None:
        """The structure named `level` ("L4", "L4-L5", "L4 inferior"), or None."""
        return next((s for s in self.structures if s.level == level), None)

    def vertebrae(self) -> list[Structure]:
        """Vertebral bodies from superior to inferior."""
        out = [s for s in self.structures if s.structure == "vertebra"]
        return sorted(out, key=lambda s: LEVELS.index(s.level))

    def body_mask(self, level: str) -> sitk.Image:
        """The whole vertebral body of `level` (central marrow + both endplate zones), UInt8 0/1."""
        values = [vertebra_label(level), endplate_label(level, "superior"), endplate_label(level, "inferior")]
        return self.mask_of(values)

    def mask_of(self, values: Sequence[int]) -> sitk.Image:
        """Binary UInt8 mask of the given label values on the labels' grid."""
        arr = np.isin(sitk.GetArrayViewFromImage(self.labels), list(values)).astype(np.uint8)
        out = sitk.GetImageFromArray(arr)
        out.CopyInformation(self.labels)
        return out

    def label_at(self, point_lps: Sequence[float]) -> int:
        """Label value at a point (LPS mm); 0 outside the grid or outside every structure."""
        idx = self.labels.TransformPhysicalPointToIndex(tuple(float(v) for v in point_lps))
        if any(i < 0 or i >= n for i, n in zip(idx, self.labels.GetSize(), strict=True)):
            return 0
        return int(self.labels[idx])

    def vertebra_at(self, point_lps: Sequence[float]) -> Structure | None:
        """The vertebral body holding the point (LPS mm), endplate zones included, or None."""
        value = self.label_at(point_lps)
        if not value or label_name(value)[0] == "disc":
            return None
        level = label_name(value)[1].split()[0]
        return self.structure(level)

    def table(self):
        """spine.csv as a pandas DataFrame (columns `CSV_COLUMNS`)."""
        import pandas as pd

        return pd.DataFrame([s.row() for s in self.structures], columns=list(CSV_COLUMNS))

    def to_json(self) -> dict:
        """spine.json content: structures, naming certainty and settings (info)."""
        return {"naming_certain": self.naming_certain, "structures": [asdict(s) for s in self.structures],
                "info": self.info}


def structures_from_labels(labels: sitk.Image, confidence: Mapping[int, float] | None = None) -> list[Structure]:
    """Measure every present label of a spine label map: centroid (LPS mm), volume, endplate normals."""
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(labels)
    present = set(stats.GetLabels())
    out = []
    for value in sorted(present):
        kind, name = label_name(value)
        normal = None
        if kind == "endplate":
            level, side = name.split()
            body = vertebra_label(level)
            if body in present:
                d = np.subtract(stats.GetCentroid(value), stats.GetCentroid(body))
                n = np.linalg.norm(d)
                normal = tuple(float(v) for v in d / n) if n > 0 else None
        out.append(Structure(kind, name, int(value), tuple(float(v) for v in stats.GetCentroid(value)),
                             float(stats.GetPhysicalSize(value)), normal,
                             float((confidence or {}).get(value, 1.0))))
    return out


def spine_from_label_map(labels: sitk.Image, naming_certain: bool = True, info: dict | None = None) -> Spine:
    """A `Spine` from a label map that already uses this module's label values."""
    labels = sitk.Cast(labels, sitk.sitkUInt8)
    return Spine(labels, structures_from_labels(labels), naming_certain, dict(info or {}))


def _index_to_lps(reference: sitk.Image, idx_zyx: np.ndarray) -> np.ndarray:
    """LPS mm of (N, 3) numpy-ordered (k, j, i) continuous indices on `reference`."""
    direction = np.asarray(reference.GetDirection()).reshape(3, 3)
    return (np.asarray(idx_zyx, float)[:, ::-1] * np.asarray(reference.GetSpacing())) @ direction.T \
        + np.asarray(reference.GetOrigin())


def _shift_mm(mask: np.ndarray, reference: sitk.Image, offset_lps: Sequence[float]) -> np.ndarray:
    """Values of `mask` at x + offset (LPS mm) for every voxel x of the reference grid (nearest, 0 outside)."""
    img = sitk.GetImageFromArray(mask.astype(np.uint8))
    img.CopyInformation(reference)
    shifted = sitk.Resample(img, reference, sitk.TranslationTransform(3, [float(v) for v in offset_lps]),
                            sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    return sitk.GetArrayViewFromImage(shifted).astype(bool)


def _sweep_mm(mask: np.ndarray, reference: sitk.Image, direction_lps: Sequence[float],
              lengths_mm: Sequence[float]) -> np.ndarray:
    """Union of `mask` moved by each length (mm) along `direction_lps` (a unit vector): the mask's footprint
    extruded along that direction, on the reference grid."""
    out = np.zeros(mask.shape, bool)
    direction = np.asarray(direction_lps, float)
    for d in lengths_mm:
        out |= _shift_mm(mask, reference, -d * direction)    # values at x − d·direction: the mask moved by d
    return out


def _superior_axes_lps(centroids: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Unit spine axis (pointing superior, LPS) at each body, from its neighbours' centroids."""
    names = sorted(centroids, key=LEVELS.index)  # superior first
    axes = {}
    for i, name in enumerate(names):
        up = centroids[names[i - 1]] if i > 0 else None
        down = centroids[names[i + 1]] if i + 1 < len(names) else None
        if up is not None and down is not None:
            d = up - down
        elif up is not None:
            d = up - centroids[name]
        elif down is not None:
            d = centroids[name] - down
        else:
            d = np.array([0.0, 0.0, 1.0])  # LPS +z = superior
        axes[name] = d / (np.linalg.norm(d) or 1.0)
    return axes


def spine_from_masks(reference: sitk.Image, bodies: Mapping[str, np.ndarray],
                     discs: Mapping[str, np.ndarray] | None = None, endplate_mm: float = 5.0,
                     confidence: Mapping[str, float] | None = None, naming_certain: bool = True,
                     info: dict | None = None) -> Spine:
    """Build a `Spine` from whole-body masks (level → bool array on `reference`, z-y-x) and disc masks.

    Endplate zones are the body voxels within `endplate_mm` of the body's superior / inferior face, measured
    along the local spine axis (from the neighbouring bodies' centroids), so wedge-shaped and tilted bodies
    get zones that follow their endplates. `confidence` maps a level or disc name to 0–1.
    """
    arr = np.zeros(sitk.GetArrayViewFromImage(reference).shape, np.uint8)
    cents = {}
    for name, m in bodies.items():
        idx = np.argwhere(m)
        if len(idx):
            cents[name] = _index_to_lps(reference, idx.mean(axis=0)[None])[0]
    axes = _superior_axes_lps(cents)
    for name, disc in (discs or {}).items():
        arr[np.asarray(disc, bool)] = disc_label(name)
    for name in cents:
        body = np.asarray(bodies[name], bool)
        arr[body] = vertebra_label(name)
        sup = body & ~_shift_mm(body, reference, endplate_mm * axes[name])
        inf = body & ~_shift_mm(body, reference, -endplate_mm * axes[name])
        arr[inf] = endplate_label(name, "inferior")
        arr[sup & ~inf] = endplate_label(name, "superior")
    labels = sitk.GetImageFromArray(arr)
    labels.CopyInformation(reference)
    conf = {}
    for name, c in (confidence or {}).items():
        if name in LEVELS:
            conf.update({vertebra_label(name): c, endplate_label(name, "superior"): c,
                         endplate_label(name, "inferior"): c})
        elif name in DISCS:
            conf[disc_label(name)] = c
    return Spine(labels, structures_from_labels(labels, conf), naming_certain,
                 {"endplate_mm": endplate_mm, **dict(info or {})})


def discs_between(bodies: Mapping[str, np.ndarray], disc_mask: np.ndarray, reference: sitk.Image
                  ) -> dict[str, np.ndarray]:
    """Split an unnamed disc mask into named discs: each voxel goes to the nearest midpoint of two
    consecutive bodies (LPS mm), if it lies between their centroids along the line joining them."""
    names = sorted((n for n in bodies if np.any(bodies[n])), key=LEVELS.index)
    pairs = [(a, b) for a, b in zip(names[:-1], names[1:], strict=True) if LEVELS.index(b) - LEVELS.index(a) == 1]
    idx = np.argwhere(disc_mask)
    if not pairs or not len(idx):
        return {}
    phys = _index_to_lps(reference, idx)
    dist, between = [], []
    for a, b in pairs:
        ca, cb = (_index_to_lps(reference, np.argwhere(bodies[n]).mean(axis=0)[None])[0] for n in (a, b))
        dist.append(np.linalg.norm(phys - (ca + cb) / 2, axis=1))
        t = (phys - ca) @ (cb - ca) / float(np.dot(cb - ca, cb - ca))
        between.append((t > 0) & (t < 1))
    nearest = np.stack(dist, axis=1).argmin(axis=1)
    out = {}
    for i, (a, b) in enumerate(pairs):
        m = np.zeros(disc_mask.shape, bool)
        m[tuple(idx[(nearest == i) & between[i]].T)] = True
        out[f"{a}-{b}"] = m
    return out
