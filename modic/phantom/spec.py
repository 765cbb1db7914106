"""Random case parameters: the whole cohort is a pure function of (seed, case index).

`case_spec(index, seed, modic_type, ...)` draws every random quantity of one case (anatomy, lesion
shape, acquisition grids, scanner effects, clinical data) from `numpy.random.default_rng([seed, index])`,
so cases can be generated independently and in any order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from modic.errors import ModicInputError
from modic.geometry import sagittal_direction
from modic.phantom.model import (
    DISC_NAMES,
    FAT_SLOPE,
    LESION_FACTOR_FULL,
    LESION_SIGN,
    MARROW_ROWS,
    Anatomy,
    Lesion,
    LesionSide,
    spine_to_lps,
)

PAPER_COUNTS = (41, 84, 29)          # type I, II, III (all 154 cases)
PAPER_SCORED = (7, 22, 1)            # prospective cases with ODI/VAS, by type
PAPER_SEX_M = {False: (88, 124), True: (7, 30)}   # (male, n) for unscored / scored groups
PAPER_AGE = {False: (58.4, 5.1), True: (56.8, 6.6)}
TYPE_NAMES = {1: "I", 2: "II", 3: "III"}
TYPE_NUMBERS = {"I": 1, "II": 2, "III": 3, "1": 1, "2": 2, "3": 3}
LEVEL_P = {1: 0.50, 0: 0.36, 2: 0.10, 3: 0.04}    # disc index (DISC_NAMES) → probability
PFIRRMANN_P = (0.03, 0.12, 0.35, 0.35, 0.15)

# Per-type lesion-shape distributions (mm), calibrated against the paper's Table 1 on the T2 grid
# (see Testing/core/test_phantom.py::test_table1_*). Values: (mean, sd).
SHAPE_PARAMS: dict[int, dict[str, tuple[float, float]]] = {
    # type I: compact, smooth and boxy (highest Elongation/Sphericity, smallest sagittal diameter)
    1: {"ax": (13.5, 1.0), "ay": (19.2, 1.5), "thick": (8.0, 1.0), "rag": (0.14, 0.02), "holes": (1.9, 0.2),
        "p_both": (0.88, 0.0), "taper": (0.5, 0.08), "thick_var": (0.15, 0.04), "pexp": (3.2, 0.3),
        "size": (1.0, 0.2), "stagger": (0.0, 1.0)},
    # type II: ragged, AP-long, rounder footprint and staggered bands (longest in the sagittal plane but
    # not in 3-D: Maximum2DDiameterSlice differs between types, Maximum3DDiameter does not)
    2: {"ax": (13.5, 1.0), "ay": (19.5, 1.5), "thick": (7.9, 0.8), "rag": (0.20, 0.03), "holes": (1.6, 0.2),
        "p_both": (0.88, 0.0), "taper": (0.45, 0.08), "thick_var": (0.22, 0.05), "pexp": (2.4, 0.3),
        "size": (1.0, 0.2), "stagger": (9.5, 2.0)},
    3: {"ax": (14.5, 1.0), "ay": (19.0, 1.5), "thick": (8.3, 1.2), "rag": (0.17, 0.02), "holes": (1.75, 0.2),
        "p_both": (0.88, 0.0), "taper": (0.6, 0.08), "thick_var": (0.15, 0.04), "pexp": (2.6, 0.3),
        "size": (1.0, 0.22), "stagger": (4.0, 1.5)},
}


# Signal variability (signal model 2, opt-in: `case_spec(..., signal_model=2)`, `modic phantom --signal-model 2`; the
# default, 1, keeps generator 1's signals bit for bit): why radiomics separates Modic types less cleanly than the
# signal pattern does. The pattern compares a lesion with the same patient's marrow; the features see the lesion
# alone, whose signal also carries the patient's marrow composition, the scanner's tissue contrast, how far the lesion
# has evolved and what its texture looks like — none of them type-specific.
# Target (issue 12 item 18): KW screen keeps 15–40 % of the features, nested-CV balanced accuracy 0.75–0.92.
# Reached so far: ~73 % and ~0.97 (benchmarks/phantom_difficulty.md) — wider lesion expression would go
# further but the one-click segmentation loses low-contrast lesions; the ranges below are what it tolerates.
CONTRAST_PARAMS = {
    "marrow_fat": (0.40, 0.15),         # marrow fat fraction: mean at age 58, SD between patients
    "marrow_fat_per_year": 0.008,       # older patients have fattier marrow
    "marrow_fat_range": (0.10, 0.80),
    "patchiness": (0.0, 0.01),          # SD of the local fat fraction inside the marrow (uniform range;
                                        # more breaks the one-click segmentation)
    "patch_grain_mm": (3.0, 8.0),
    "expression": (0.90, 1.30),         # lesion factor = LESION_FACTOR_FULL ** expression (uniform range)
    "expression_sd_per_sequence": 0.08,  # log-normal jitter of the expression per sequence
    "texture_grain_mm": (1.0, 3.5),     # lesion texture, the same distribution for every type
    "texture_amp": (0.04, 0.14),       # in marrow units (added, not scaled with the lesion level)
    "p_blend": 0.3,                     # share of lesions with patches of a neighbouring type's signal
    "blend": {1: (0.03, 0.12), 2: (0.0, 0.0), 3: (0.03, 0.12)},   # type II's T1 opposes both neighbours
}
# Regional intensity scale of the spine (marrow, lesion, endplate cortex, disc) against the rest of the
# field of view per sequence (T1, T2, FS; log-uniform ranges): receive-coil sensitivity, B1, TR/TE and
# fat-suppression method. It leaves the contrast between lesion, marrow and disc — what the signal
# pattern and the one-click segmentation read — unchanged, but moves the lesion against the image-wide
# intensity statistics that radiomics normalisation (zscore-image) uses.
SPINE_SCALE = ((0.70, 1.40), (0.75, 1.30), (0.45, 1.80))
SPINE_ROWS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 13)
# Scanner/protocol multipliers of single tissues (uniform ranges) per anatomy label and sequence
# (T1, T2, FS): fat suppression quality, CSF and fat brightness with TR/TE, tissue variation. Disc and
# cortex vary little: a type III lesion is close to the annulus already.
SCANNER_SCALE = {
    7: ((0.9, 1.1), (0.9, 1.1), (0.9, 1.1)),        # cortex
    8: ((0.92, 1.08), (0.92, 1.08), (0.92, 1.08)),  # annulus
    9: ((0.9, 1.1), (0.85, 1.15), (0.85, 1.15)),    # nucleus
    10: ((0.8, 1.2), (0.75, 1.2), (0.75, 1.2)),     # CSF
    11: ((0.85, 1.15), (0.85, 1.15), (0.85, 1.15)),  # muscle
    12: ((0.75, 1.3), (0.7, 1.35), (0.5, 2.5)),     # subcutaneous fat (FS: incomplete fat suppression)
    14: ((0.85, 1.15), (0.85, 1.15), (0.85, 1.15)),  # prevertebral soft tissue
}
NEIGHBOUR_TYPES = {1: (2,), 2: (1, 3), 3: (2,)}

# Signal model 3 (issue 12 item 18): a demo cohort as hard as patients. Model 2 left the types apart in every
# feature that measures the SIZE of the lesion's contrast (variance, energy, edges, high-pass filters, texture
# heterogeneity): type I was 2.1× marrow on FS, types II/III 0.55×. Here the size |lesion/marrow − 1| on each
# sequence is the same for every type at the same expression; only its direction differs (LESION_SIGN), so only
# signed features (mean, percentiles, skewness, grey-level location) carry the type. Expression (partial
# conversion) varies widely and equally for all types, and some lesions are mixed (patches of a neighbouring
# type; the label is the dominant type, as a reader calls it). Marrow and scanner variability as model 2.
SIGNAL3_PARAMS = {
    "magnitude": (0.50, 0.45, 0.60),    # |lesion/marrow − 1| at full expression: T1, T2, FS (every type)
    "expression": (0.60, 1.00),         # per case (uniform), the same distribution for every type
    "expression_sd_per_sequence": 0.12,  # log-normal jitter of the expression per sequence
    # mixed I/II lesions (the common mixed type: type I converting to fat), labelled by the dominant part as a
    # reader calls it. Mottled II/III mixing is left out: the one-click segmentation loses such lesions (Dice < 0.8).
    "p_mixed": {1: 0.25, 2: 0.20, 3: 0.0},
    "mixed_neighbour": {1: 2, 2: 1, 3: 2},
    "mixed_share": (0.20, 0.50),        # share of the lesion that has the neighbouring type's signal
    "mixed_grain_mm": 2.0,              # size of the mottled patches (mm)
    "fs_snr_factor": 1.0,               # FS noise relative to model 1 (1.5 made the types easier to tell apart)
}

# signal model 4: model 3's signals as a reader sees them (issue 12 item 18; benchmarks/phantom_difficulty.md). The
# label is the reader's call and the lesion's shape is drawn from it (the paper's Table 1 describes the shapes by its
# readers' labels); the tissue is a neighbouring type in `disagreement` of the cases (readers disagree on the Modic
# type; published inter-reader agreement is moderate to good); each sequence's ROI is drawn by hand, wider than the
# lesion by `margin_mm` (per case and sequence: a hand outline on 0.6–0.8 mm pixels and 3–4 mm slices takes in the
# lesion's border). The images are model 3's; `true_type` says the tissue and the truth masks are written too.
READER_PARAMS = {"disagreement": 0.14, "margin_mm": {"T1": (0.0, 3.5), "T2": (0.0, 0.0), "FS": (0.0, 3.5)}}

SIGNAL_MODELS = (1, 2, 3, 4)   # 1: generator 1's signals (default), 2: per-case signal variability, 3: types overlap
                               # as in patients, 4: model 3 read by a reader (labels and ROIs; the demo's default)


def check_signal_model(signal_model) -> int:
    """`signal_model` as an int in SIGNAL_MODELS, else ModicInputError."""
    if str(signal_model) not in {str(m) for m in SIGNAL_MODELS}:
        raise ModicInputError(f"--signal-model must be 1 (generator 1's signals), 2 (per-case signal variability), "
                              f"3 (types overlap as in patients) or 4 (model 3 read by a reader), got {signal_model!r}")
    return int(signal_model)


def signal_settings(signal_model: int = 1) -> dict:
    """The signal settings of `signal_model` (for phantom.json); model 1 has none beyond the model tables."""
    model = check_signal_model(signal_model)
    if model == 1:
        return {}
    own = ({"lesion_factor_full_expression": LESION_FACTOR_FULL.astype(float).round(3).tolist()} if model == 2 else
           {"lesion_sign": LESION_SIGN.astype(int).tolist(), **SIGNAL3_PARAMS})
    if model == 4:
        own["reader"] = {"disagreement": READER_PARAMS["disagreement"],
                         "margin_mm": {k: list(v) for k, v in READER_PARAMS["margin_mm"].items()},
                         "shape_from": "the reader's label", "neighbours": {str(k): list(v)
                                                                            for k, v in NEIGHBOUR_TYPES.items()}}
    marrow = {k: v for k, v in CONTRAST_PARAMS.items() if model == 2 or k in _MARROW_KEYS}
    return {**own, "fat_slope": FAT_SLOPE.astype(float).round(3).tolist(),
            **{k: {str(t): list(r) for t, r in v.items()} if isinstance(v, dict) else v
               for k, v in marrow.items()},
            "spine_scale": [list(r) for r in SPINE_SCALE], "spine_rows": list(SPINE_ROWS),
            "scanner_scale": {str(k): [list(r) for r in v] for k, v in SCANNER_SCALE.items()}}


@dataclass
class GridSpec:
    """One acquisition grid (LPS): size (i, j, k), spacing (mm), origin (mm), direction (row-major)."""

    size: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]
    thickness: float                  # slice thickness (mm), ≤ slice spacing

    def matrix(self) -> np.ndarray:
        return np.asarray(self.direction, dtype=float).reshape(3, 3)

    def index_to_lps(self, idx: np.ndarray) -> np.ndarray:
        """Continuous index (..., 3) → LPS (..., 3)."""
        return (np.asarray(idx, float) * self.spacing) @ self.matrix().T + self.origin

    def lps_to_index(self, pts: np.ndarray) -> np.ndarray:
        """LPS (..., 3) → continuous index (..., 3)."""
        return ((np.asarray(pts, float) - self.origin) @ self.matrix()) / self.spacing


@dataclass
class CaseSpec:
    """Everything random about one case."""

    case_id: str
    index: int
    seed: int
    modic_type: int
    true_type: str
    scored: bool
    anatomy: Anatomy
    lesion: Lesion
    grids: dict[str, GridSpec]
    acquisition: dict[str, dict[str, float]]   # per sequence: snr, gain, offset
    bias: np.ndarray                            # (3, 10) bias-field polynomial coefficients
    clinical: dict = field(default_factory=dict)
    level: str = ""
    endplate: str = ""
    signal_model: int = 1                       # 1: generator 1's signals, 2: per-case signal variability
    reader_margin_mm: dict[str, float] | None = None   # model 4: each sequence's ROI is the lesion grown by this


def default_counts() -> tuple[int, int, int]:
    """The paper's cohort: type I, II, III = 41, 84, 29."""
    return PAPER_COUNTS


def apportion(total: int, weights, caps=None) -> list[int]:
    """Split `total` into integers proportional to `weights` (largest remainder; ties → lower index),
    never exceeding `caps`; what a capped group cannot take goes to the others proportionally."""
    w = np.asarray(weights, dtype=float)
    caps = np.full(len(w), np.inf) if caps is None else np.asarray(caps, dtype=float)
    if total > caps.sum():
        raise ModicInputError(f"cannot place {total} cases into groups of at most {caps.astype(int).tolist()}")
    out = np.zeros(len(w), dtype=int)
    free = np.ones(len(w), dtype=bool)
    remaining = total
    while remaining > 0:
        ww = np.where(free, w, 0.0)
        if ww.sum() <= 0:
            ww = free.astype(float)
        raw = remaining * ww / ww.sum()
        add = np.floor(raw).astype(int)
        order = sorted(range(len(w)), key=lambda i: (-(raw[i] - add[i]), i))
        for i in order[: remaining - add.sum()]:
            add[i] += 1
        new = np.minimum(out + add, caps).astype(int)
        remaining -= int((new - out).sum())
        free &= new < caps
        out = new
    return out.tolist()


def resolve_counts(n_cases: int | None = None, counts=None, with_scores: int | None = None,
                   ) -> tuple[list[int], list[int]]:
    """Per-type case counts and per-type scored counts.

    Rules: no arguments → the paper's 41/84/29 with 7/22/1 scored. `n_cases` alone scales 41/84/29 to
    `n_cases` (largest remainder) and the scored total to round(30 · n_cases / 154). `counts` sets the
    type counts exactly (and wins over `n_cases`, which must then agree). `with_scores` N distributes N
    scored cases over the types proportionally to 7/22/1 (largest remainder), capped by each type's
    count, overflow going to the other types.
    """
    if counts is not None:
        try:
            counts = [int(c) for c in counts]
        except (TypeError, ValueError):
            raise ModicInputError(f"--counts must be three integers I,II,III, got {counts!r}") from None
        if len(counts) != 3:
            raise ModicInputError(f"--counts must be three integers I,II,III, got {len(counts)} values")
        if min(counts) < 0:
            raise ModicInputError(f"--counts must not be negative, got {counts}")
        if sum(counts) == 0:
            raise ModicInputError("--counts adds up to 0 cases — ask for at least one case")
        if n_cases is not None and int(n_cases) != sum(counts):
            raise ModicInputError(f"--cases {n_cases} disagrees with --counts (sum {sum(counts)})")
        n = sum(counts)
    else:
        n = sum(PAPER_COUNTS) if n_cases is None else int(n_cases)
        if n <= 0:
            raise ModicInputError(f"--cases must be at least 1, got {n_cases}")
        counts = apportion(n, PAPER_COUNTS)
    if with_scores is None:
        with_scores = int(round(sum(PAPER_SCORED) * n / sum(PAPER_COUNTS)))
    with_scores = int(with_scores)
    if with_scores < 0 or with_scores > n:
        raise ModicInputError(f"--with-scores must be between 0 and the number of cases ({n}), "
                              f"got {with_scores}")
    scored = apportion(with_scores, PAPER_SCORED, caps=counts)
    return counts, scored


def parse_type(modic_type) -> tuple[int, int | None, str]:
    """1/2/3 or 'I', 'II', 'III', 'I/II', 'II/III' → (dominant, secondary or None, true_type).

    For a mixed string the first named type is the dominant one.
    """
    text = str(modic_type).strip().upper()
    parts = [p for p in text.replace("TYPE", "").split("/") if p.strip()]
    try:
        nums = [TYPE_NUMBERS[p.strip()] for p in parts]
    except KeyError:
        nums = []
    if len(nums) not in (1, 2) or (len(nums) == 2 and abs(nums[0] - nums[1]) != 1):
        raise ModicInputError(f"Modic type must be 1, 2, 3, 'I', 'II', 'III', 'I/II' or 'II/III', "
                              f"got {modic_type!r}")
    second = nums[1] if len(nums) == 2 else None
    true = TYPE_NAMES[nums[0]] if second is None else "/".join(TYPE_NAMES[t] for t in sorted(nums))
    return nums[0], second, true


def _n(rng, ms, lo=None, hi=None):
    v = rng.normal(ms[0], ms[1])
    return float(np.clip(v, lo if lo is not None else -np.inf, hi if hi is not None else np.inf))


def _anatomy(rng: np.random.Generator, grade: int, disc: int) -> Anatomy:
    # vertebra index k = -1..6 stored at k+1; S1 … L1 get slightly smaller towards L1
    scale = rng.uniform(0.93, 1.07)
    half_w = scale * np.array([24, 24.5, 24, 23, 22, 21, 20.5, 20]) + rng.normal(0, 0.4, 8)
    half_d = scale * np.array([20, 20.5, 20.5, 20, 19.5, 19, 18.5, 18]) + rng.normal(0, 0.4, 8)
    heights = scale * np.array([27.5, 27.5, 27, 27, 26.5, 26.5, 26]) + rng.normal(0, 0.6, 7)  # S1..T12
    disc_h = np.array([9.5, 11.0, 10.5, 10.0, 9.0, 8.0]) * rng.uniform(0.92, 1.08) + rng.normal(0, 0.3, 6)
    grades = np.clip(rng.integers(1, 4, 6) + np.array([1, 1, 0, 0, 0, 0]), 1, 5)
    grades[disc] = grade
    disc_h = disc_h * (1.0 - 0.05 * (grades - 2).clip(0))
    disc_h[disc] *= rng.uniform(0.55, 0.75)          # the Modic disc is degenerated and narrowed
    mids = np.zeros(6)
    for j in range(1, 6):
        mids[j] = mids[j - 1] + disc_h[j - 1] / 2 + heights[j] + disc_h[j] / 2
    mids -= mids[2]                      # s = 0 at the L3-L4 disc
    canal_front = float(np.max(half_d)) + rng.uniform(1.0, 2.5)
    canal_ap = rng.uniform(14, 19)
    skin = canal_front + canal_ap + rng.uniform(45, 60)
    return Anatomy(
        origin_lps=np.array([rng.uniform(-8, 8), rng.uniform(10, 40), rng.uniform(-260, -140)]),
        radius=float(rng.uniform(380, 560)),
        disc_mid=mids, disc_half=disc_h / 2, half_w=half_w, half_d=half_d,
        endplate=float(rng.uniform(0.9, 1.3)), concavity=float(rng.uniform(0.8, 1.8)),
        canal_front=float(canal_front), canal_ap=float(canal_ap), canal_half_w=float(rng.uniform(10, 12)),
        skin_y=float(skin + rng.uniform(10, 30)), fat=float(rng.uniform(10, 28)),
        disc_grade=grades.astype(int), marrow_factor=rng.uniform(0.94, 1.06, 8),
    )


def _lesion(rng: np.random.Generator, anat: Anatomy, disc: int, dom: int, second: int | None,
            ) -> tuple[Lesion, str]:
    p = SHAPE_PARAMS[dom]
    both = rng.uniform() < p["p_both"][0]
    signs = [1, -1] if both else [int(rng.choice([1, -1]))]
    base = {key: _n(rng, p[key]) for key in ("ax", "ay", "thick", "rag", "holes", "taper", "thick_var", "pexp", "size",
                                                "stagger")}
    base["size"] = float(np.clip(base["size"], 0.6, 1.5))
    base["ax"] *= base["size"]
    base["thick"] *= base["size"]
    cx0, cy0 = rng.normal(0, 1.5), rng.normal(-1.0, 2.0)
    stagger = base["stagger"] * rng.choice([-0.5, 0.5]) if both else 0.0   # AP offset between the bands
    sides = []
    for sign in signs:
        k = disc + 1 if sign > 0 else disc
        lim_w, lim_d = anat.half_w[k + 1] - 1.5, anat.half_d[k + 1] - 1.5
        single = 1.0 if both else 1.45     # a single band is deeper, as in the paper's ROIs
        sides.append(LesionSide(
            sign=sign, cx=float(cx0 + rng.normal(0, 1.0)), cy=float(cy0 + sign * stagger + rng.normal(0, 1.0)),
            ax=float(np.clip(base["ax"] * rng.uniform(0.95, 1.05), 6, lim_w + 3)),
            ay=float(np.clip(base["ay"] * rng.uniform(0.95, 1.05), 6, lim_d + 3)),
            pexp=float(np.clip(base["pexp"], 2.0, 6.0)),
            thick=float(np.clip(base["thick"] * single * rng.uniform(0.85, 1.15), 2.5, 16)),
            taper=float(np.clip(base["taper"], 0.15, 0.9)), rag=float(np.clip(base["rag"], 0.0, 0.5)),
            thick_var=float(np.clip(base["thick_var"], 0.0, 0.45)), holes=float(base["holes"]),
            noise_seed=int(rng.integers(2**31))))
    endplate = "both" if both else ("upper" if signs[0] > 0 else "lower")
    les = Lesion(disc=disc, sides=sides, modic_type=dom, second_type=second,
                 split_y=float(cy0 + rng.uniform(0.2, 0.45) * base["ay"]), split_dir=float(rng.choice([-1, 1])),
                 texture_seed=int(rng.integers(2**31)))
    if second is not None:   # secondary region on the smaller side of the split
        les.split_y = float(cy0 + les.split_dir * rng.uniform(0.15, 0.35) * base["ay"])
    return les, endplate


_MARROW_KEYS = ("marrow_fat", "marrow_fat_per_year", "marrow_fat_range", "patchiness", "patch_grain_mm",
                "texture_grain_mm", "texture_amp")


def _contrast3(rng: np.random.Generator, anat: Anatomy, les: Lesion, age: float) -> float:
    """Signal model 3: marrow, scanner and texture as model 2 (`_contrast`), then the lesion's factors
    1 + sign · magnitude · expression for every type (SIGNAL3_PARAMS) and, in a share of lesions, patches of a
    neighbouring type's signal. Returns the marrow fat fraction."""
    fat = _contrast(rng, anat, les, age)
    p = SIGNAL3_PARAMS
    expression = rng.uniform(*p["expression"]) * np.exp(rng.normal(0, p["expression_sd_per_sequence"], 3))
    size = np.clip(np.asarray(p["magnitude"]) * expression, 0.05, 0.8)
    les.factors = {t: (1 + LESION_SIGN[t - 1].astype(float) * size) for t in (1, 2, 3)}
    neighbour = p["mixed_neighbour"][les.modic_type]
    share = float(rng.uniform(*p["mixed_share"]))
    mixed = rng.uniform() < p["p_mixed"][les.modic_type]
    les.blend, les.blend_type = (share, neighbour) if mixed else (0.0, None)
    les.blend_mode, les.blend_grain = "patch", float(p["mixed_grain_mm"])
    return fat


def _contrast(rng: np.random.Generator, anat: Anatomy, les: Lesion, age: float) -> float:
    """Draw the case's marrow composition, scanner tissue contrast, lesion expression, texture and
    blending (CONTRAST_PARAMS, SCANNER_SCALE) into `anat` and `les`; return the marrow fat fraction."""
    cp = CONTRAST_PARAMS
    mean, sd = cp["marrow_fat"]
    fat = float(np.clip(rng.normal(mean + cp["marrow_fat_per_year"] * (age - 58), sd), *cp["marrow_fat_range"]))
    scale = np.ones((15, 3))
    scale[list(MARROW_ROWS)] = 1 + FAT_SLOPE * (fat - mean)
    for row, ranges in SCANNER_SCALE.items():
        scale[row] = [rng.uniform(*r) for r in ranges]
    scale[list(SPINE_ROWS)] *= np.exp([rng.uniform(*np.log(r)) for r in SPINE_SCALE])
    anat.tissue_scale = scale
    anat.marrow_patchiness = float(rng.uniform(*cp["patchiness"]))
    anat.marrow_grain = float(rng.uniform(*cp["patch_grain_mm"]))
    anat.marrow_seed = int(rng.integers(2**31))
    expression = rng.uniform(*cp["expression"]) * np.exp(rng.normal(0, cp["expression_sd_per_sequence"], 3))
    les.factors = {t: (LESION_FACTOR_FULL[t - 1].astype(float) ** expression) for t in (1, 2, 3)}
    les.texture_grain = float(rng.uniform(*cp["texture_grain_mm"]))
    les.texture_amp = float(rng.uniform(*cp["texture_amp"]))
    neighbour = int(rng.choice(NEIGHBOUR_TYPES[les.modic_type]))
    blend = float(rng.uniform(*cp["blend"][les.modic_type]))
    if rng.uniform() < cp["p_blend"] and blend > 0:
        les.blend, les.blend_type = blend, neighbour
    return fat


def _grid(rng: np.random.Generator, anat: Anatomy, center_spine, spacing: float, thickness: float,
          gap: float, fov_ap: float, fov_si: float, n_slices: int, tilt_deg: float) -> GridSpec:
    n_ap = max(256, int(2 * round(fov_ap / spacing / 2)))
    n_si = max(256, int(2 * round(fov_si / spacing / 2)))
    sag = np.asarray(sagittal_direction()).reshape(3, 3)
    t = np.deg2rad(tilt_deg)
    rot = np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])
    d = rot @ sag
    sp = (float(spacing), float(spacing), float(thickness * (1 + gap)))
    size = (n_ap, n_si, int(n_slices))
    center = spine_to_lps(anat, *center_spine)
    origin = center - d @ ((np.array(size) - 1) / 2 * sp)
    return GridSpec(size=size, spacing=sp, origin=tuple(float(v) for v in origin),
                    direction=tuple(float(v) for v in d.ravel()), thickness=float(thickness))


def case_spec(index: int, seed: int, modic_type, scored: bool = False, mixed: bool = False,
              sex: str | None = None, case_id: str | None = None, tilt_max_deg: float = 4.0,
              fs_differs: bool | None = None, signal_model: int = 1) -> CaseSpec:
    """Draw every random parameter of case `index` of the cohort with master `seed`.

    `modic_type`: 1/2/3 or 'I'…'II/III' (a mixed string forces a mixed lesion). With `mixed` the case
    gets a mixed lesion with probability 0.35 (secondary = a neighbouring type). `sex` None → drawn
    from the paper's group proportion. `signal_model` 1: generator 1's signals; 2: per-case signal variability
    (`_contrast`, from its own random stream, so shapes, grids and clinical data are the same in both).
    """
    signal_model = check_signal_model(signal_model)
    dom, second, true_type = parse_type(modic_type)
    rng = np.random.default_rng([int(seed), int(index), 7])
    if second is None and mixed and rng.uniform() < 0.35:
        second = 2 if dom != 2 else int(rng.choice([1, 3]))
        true_type = "/".join(TYPE_NAMES[t] for t in sorted((dom, second)))
    else:
        rng.uniform()
    grade = int(rng.choice(np.arange(1, 6), p=PFIRRMANN_P))
    disc = int(rng.choice(list(LEVEL_P), p=list(LEVEL_P.values())))
    anat = _anatomy(rng, grade, disc)
    les, endplate = _lesion(rng, anat, disc, dom, second)

    # acquisition geometry: T1/T2 share a grid; in ~1/3 of cases the FS (STIR) grid differs
    sp = round(float(rng.uniform(0.6, 0.8)), 4)
    thick = round(float(rng.uniform(3.0, 4.0)), 2)
    gap = float(rng.choice([0.0, 0.1]))
    fov_ap, fov_si = rng.uniform(185, 215), rng.uniform(230, 260)
    n_sl = max(11, int(np.ceil(rng.uniform(46, 54) / (thick * (1 + gap)))))
    center = (rng.uniform(-2, 2), rng.uniform(8, 20), anat.disc_mid[1] + rng.uniform(0, 25))
    tilt = rng.uniform(-tilt_max_deg, tilt_max_deg)
    g12 = _grid(rng, anat, center, sp, thick, gap, fov_ap, fov_si, n_sl, tilt)
    differs = rng.uniform() < 1 / 3 if fs_differs is None else fs_differs
    if differs:
        sp_fs = round(float(rng.uniform(0.7, 0.8)), 4)
        th_fs = round(float(rng.uniform(3.5, 4.0)), 2)
        n_fs = max(11, int(np.ceil(rng.uniform(45, 50) / th_fs)))
        c_fs = (center[0] + rng.uniform(-1.5, 1.5), center[1] + rng.uniform(-4, 4), center[2] + rng.uniform(-4, 4))
        gfs = _grid(rng, anat, c_fs, sp_fs, th_fs, 0.0, fov_ap * rng.uniform(0.95, 1.05),
                    fov_si * rng.uniform(0.95, 1.05), n_fs, tilt + rng.uniform(-1, 1))
    else:
        gfs = g12
    acq = {s: {"snr": float(rng.uniform(18, 40)), "gain": float(rng.uniform(0.6, 1.6)),
               "offset": float(rng.uniform(0, 60))} for s in ("T1", "T2", "FS")}
    if signal_model >= 3:
        acq["FS"]["snr"] *= SIGNAL3_PARAMS["fs_snr_factor"]
    bias = rng.normal(0, 1, (3, 10)) * np.array([0, .10, .16, .06, .05, .05, .05, .03, .03, .03])
    bias[:, 2] += 0.12                     # posterior (spine coil) brighter

    group = bool(scored)
    mean_age, sd_age = PAPER_AGE[group]
    age = int(np.clip(round(rng.normal(mean_age, sd_age)), 18, 71))
    m, n = PAPER_SEX_M[group]
    drawn_sex = "M" if rng.uniform() < m / n else "F"
    clinical = {"age": age, "sex": sex or drawn_sex, "pfirrmann": grade,
                "odi_noise": float(rng.normal()), "vas_noise": float(rng.normal())}
    margins = None
    if signal_model == 4 and second is None:    # the reader (READER_PARAMS), from its own stream
        reader = np.random.default_rng([int(seed), int(index), 17])
        disagrees, pick = reader.uniform() < READER_PARAMS["disagreement"], reader.uniform()
        margins = {s: round(float(reader.uniform(*READER_PARAMS["margin_mm"][s])), 3) for s in ("T1", "T2", "FS")}
        if disagrees:     # the tissue is a neighbouring type; the shape stays the label's
            near = NEIGHBOUR_TYPES[dom]
            les.modic_type = near[0] if len(near) == 1 else near[int(pick < 0.5)]
            true_type = TYPE_NAMES[les.modic_type]
    if signal_model >= 2:   # from its own stream: shapes, grids and clinical data stay those of model 1
        draw = _contrast if signal_model == 2 else _contrast3
        clinical["marrow_fat"] = round(draw(np.random.default_rng([int(seed), int(index), 13]), anat, les, age), 3)
        if signal_model >= 3 and les.blend_type is not None and second is None:   # mixed; labelled by the dominant
            true_type = "/".join(TYPE_NAMES[t] for t in sorted((les.modic_type, les.blend_type)))
    return CaseSpec(case_id=case_id or f"phantom_{index + 1:03d}", index=int(index), seed=int(seed),
                    modic_type=dom, true_type=true_type, scored=bool(scored), anatomy=anat, lesion=les,
                    grids={"T1": g12, "T2": g12, "FS": gfs}, acquisition=acq, bias=bias, clinical=clinical,
                    level=DISC_NAMES[disc], endplate=endplate, signal_model=signal_model, reader_margin_mm=margins)


def cohort_specs(seed: int = 0, n_cases: int | None = None, counts=None, with_scores: int | None = None,
                 mixed: bool = False, signal_model: int = 1) -> list[CaseSpec]:
    """All case specs of a cohort. Type, scored flag and sex are allocated exactly (paper proportions,
    largest remainder) and shuffled with `seed`; everything else comes from case_spec(index, seed)."""
    counts, scored = resolve_counts(n_cases, counts, with_scores)
    rng = np.random.default_rng([int(seed), 999_983])
    plan = []
    for t in (1, 2, 3):
        plan += [(t, True)] * scored[t - 1] + [(t, False)] * (counts[t - 1] - scored[t - 1])
    sexes: dict[int, str] = {}
    for group in (True, False):
        idx = [i for i, (_, s) in enumerate(plan) if s == group]
        m, n = PAPER_SEX_M[group]
        n_m = int(round(len(idx) * m / n))
        labels = ["M"] * n_m + ["F"] * (len(idx) - n_m)
        rng.shuffle(labels)
        sexes.update(zip(idx, labels, strict=True))
    order = rng.permutation(len(plan))
    specs = []
    for i, p in enumerate(order):
        t, sc = plan[p]
        specs.append(case_spec(i, seed, t, scored=sc, mixed=mixed, sex=sexes[int(p)], signal_model=signal_model))
    return specs
