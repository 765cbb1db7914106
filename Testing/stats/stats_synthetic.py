"""Synthetic cohorts with known effects for the statistics tests (no dependency on the phantom code)."""

from __future__ import annotations

import numpy as np
import pandas as pd

IMAGE_TYPES = ["original", "wavelet-LLH", "wavelet-HHL", "log-sigma-1-0-mm-3D", "log-sigma-3-0-mm-3D",
               "square", "squareroot", "logarithm", "exponential", "gradient", "lbp-2D", "lbp-3D-m1",
               "lbp-3D-k"]
CLASSES = ["firstorder_Mean", "firstorder_90Percentile", "glcm_Contrast", "glszm_ZoneEntropy",
           "glrlm_RunEntropy", "gldm_DependenceEntropy", "ngtdm_Busyness"]
SHIFT = {1: -1.0, 2: 0.0, 3: 1.0}  # monotone in the type code, so LASSO on codes 1/2/3 finds it
# type II differs from both I and III (the paper's SurfaceVolumeRatio shape): no linear trend in the
# code, so LASSO regression on 1/2/3 misses it while a categorical (multinomial) model keeps it
BUMP = {1: -0.5, 2: 1.0, 3: -0.5}


def shape_block(types: np.ndarray, rng: np.random.Generator, seq: str = "T2") -> pd.DataFrame:
    """14 PyRadiomics shape features + MajorLeastAxisRatio, geometrically consistent, with type effects."""
    n = len(types)
    major = rng.normal(40, 6, n) + np.where(types == 2, 3.0, 0.0)
    elong = np.clip(rng.normal(0.78, 0.08, n) + np.select([types == 1, types == 2], [0.06, -0.05], 0.0),
                    0.3, 1.0)
    flat = np.clip(elong * rng.normal(0.78, 0.06, n), 0.2, 1.0)
    minor, least = elong * major, flat * major
    vol = rng.lognormal(9.3, 0.45, n)
    sph = np.clip(rng.normal(0.42, 0.03, n) + np.select([types == 1, types == 2], [0.02, -0.02], 0.0), 0.1, 1)
    area = (np.pi ** (1 / 3) * (6 * vol) ** (2 / 3)) / sph
    d = {
        "Elongation": elong, "Flatness": flat, "LeastAxisLength": least, "MajorAxisLength": major,
        "Maximum2DDiameterColumn": major * rng.normal(1.1, 0.05, n),
        "Maximum2DDiameterRow": major * rng.normal(1.0, 0.05, n),
        "Maximum2DDiameterSlice": major * rng.normal(0.97, 0.05, n),
        "Maximum3DDiameter": major * rng.normal(1.2, 0.05, n),
        "MeshVolume": vol * 0.985, "MinorAxisLength": minor, "Sphericity": sph, "SurfaceArea": area,
        "SurfaceVolumeRatio": area / vol, "VoxelVolume": vol,
        "MajorLeastAxisRatio": major / least,
    }
    return pd.DataFrame({f"{seq}_original_shape_{k}": v for k, v in d.items()})


def make_cohort(counts=(41, 84, 29), n_null_per_seq: int = 60, n_informative_per_seq: int = 3,
                effect: float = 1.2, seed: int = 0, with_pain: bool = True, n_nonmonotone_per_seq: int = 1,
                nonmonotone_effect: float = 1.0):
    """(features, manifest, info) — informative features shift monotonically with the type code; each has a
    near-duplicate (r > 0.95); non-monotone features (type II apart from I and III, info["nonmonotone"]);
    plus null features, one constant and one all-NaN column."""
    rng = np.random.default_rng(seed)
    types = np.repeat([1, 2, 3], counts)
    rng.shuffle(types)
    n = len(types)
    ids = [f"case{i:03d}" for i in range(n)]
    cols: dict[str, np.ndarray] = {}
    informative: list[str] = []
    duplicates: dict[str, str] = {}
    info_nm: list[str] = []
    shift = np.vectorize(SHIFT.get)(types)
    for seq in ("T1", "T2", "FS"):
        for k in range(n_informative_per_seq):
            name = f"{seq}_{IMAGE_TYPES[k % len(IMAGE_TYPES)]}_glszm_Informative{k}"
            v = rng.normal(0, 1, n) + effect * shift
            cols[name] = v * 3 + 10
            dup = f"{seq}_{IMAGE_TYPES[(k + 1) % len(IMAGE_TYPES)]}_glszm_InformativeDup{k}"
            cols[dup] = (v + rng.normal(0, 0.15, n)) * 2 - 1
            informative.append(name)
            duplicates[name] = dup
        bump = np.vectorize(BUMP.get)(types)
        for k in range(n_nonmonotone_per_seq):
            name = f"{seq}_{IMAGE_TYPES[(k + 5) % len(IMAGE_TYPES)]}_glrlm_TypeTwoApart{k}"
            cols[name] = rng.normal(0, 1, n) + nonmonotone_effect * bump
            info_nm.append(name)
        for k in range(n_null_per_seq):
            it = IMAGE_TYPES[k % len(IMAGE_TYPES)]
            cols[f"{seq}_{it}_{CLASSES[k % len(CLASSES)]}{k}"] = rng.lognormal(0, 0.5, n)
    feats = pd.DataFrame(cols)
    shapes = [shape_block(types, rng, s) for s in ("T1", "T2", "FS")]
    feats = pd.concat([feats] + shapes, axis=1)
    feats["T1_original_firstorder_ConstantFeature"] = 7.0
    feats["FS_lbp-3D-k_glcm_AllNaN"] = np.nan
    feats.insert(0, "case_id", ids)
    man = pd.DataFrame({"case_id": ids, "modic_type": types, "age": rng.normal(58, 6, n).round(0),
                        "sex": rng.choice(["M", "F"], n), "pfirrmann": rng.integers(2, 6, n)})
    odi = np.full(n, np.nan)
    vas = np.full(n, np.nan)
    if with_pain:
        # 30 prospective cases: 7 type I, 22 type II, 1 type III, ODI related to SurfaceVolumeRatio
        pro = np.concatenate([np.flatnonzero(types == 1)[:7], np.flatnonzero(types == 2)[:22],
                              np.flatnonzero(types == 3)[:1]])
        svr = feats.loc[pro, "T2_original_shape_SurfaceVolumeRatio"].to_numpy()
        odi[pro] = np.clip(20 + 150 * (svr - svr.mean()) + rng.normal(0, 4, len(pro)), 0, 100).round(1)
        vas[pro] = np.clip(odi[pro] / 10 + rng.normal(0, 0.5, len(pro)), 0, 10).round(1)
    man["odi"] = odi
    man["vas"] = vas
    return feats, man, {"informative": informative, "duplicates": duplicates, "nonmonotone": info_nm}
