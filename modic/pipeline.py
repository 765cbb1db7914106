"""One case end to end: normalise → segment (or take masks) → extract → type → classify.

`analyze_case` is what the CLI (`modic analyze`), the batch engine and the Slicer module call. All
points are LPS millimetres.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import SimpleITK as sitk

from modic import __version__
from modic.errors import ModicInputError
from modic.features import CaseFeatures, extract_case, load_params, params_hash
from modic.normalize import normalize_images, pyradiomics_settings
from modic.segment import segment_lesion
from modic.signal_pattern import SignalPattern, type_from_signal

Progress = Callable[[float, str], "bool | None"]


@dataclass
class CaseResult:
    """Everything known about one analysed case."""

    case_id: str
    masks: dict[str, sitk.Image]
    features: dict[str, float]
    diagnostics: dict[str, Any] = field(default_factory=dict)
    signal_pattern: SignalPattern | None = None
    prediction: dict[str, Any] | None = None
    normalization: dict[str, Any] = field(default_factory=dict)
    segmentation: dict[str, Any] | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def feature_table(self) -> pd.DataFrame:
        """One-row feature table (first column case_id), as the batch engine writes it."""
        return pd.DataFrame([{"case_id": self.case_id, **self.features}])

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: types, probabilities, ratios, settings, provenance (no feature values)."""
        return {"case_id": self.case_id,
                "signal_pattern": None if self.signal_pattern is None else self.signal_pattern.as_dict(),
                "prediction": self.prediction, "n_features": len(self.features),
                "lesion_voxels": {s: int(sitk.GetArrayViewFromImage(m).sum()) for s, m in self.masks.items()},
                "normalization": self.normalization, "segmentation": self.segmentation,
                "provenance": self.provenance}


def _report(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None and progress(fraction, message) is False:
        raise InterruptedError("cancelled")


def prepare_params(params: Mapping | str | os.PathLike | None, normalization: str) -> dict:
    """Load PyRadiomics parameters and add what the normalisation method needs (PyRadiomics' own)."""
    loaded = load_params(params)
    extra = pyradiomics_settings(normalization)
    if extra:
        loaded = {**loaded, "setting": {**(loaded.get("setting") or {}), **extra}}
    return loaded


def normalize_for_extraction(images: Mapping[str, sitk.Image], normalization: str,
                             reference_lps: Sequence[float] | None) -> tuple[dict[str, sitk.Image], dict]:
    """Apply the normalisation; `zscore-reference` without a reference point falls back to
    `zscore-image` and says so in the record."""
    method = normalization
    note = None
    if method == "zscore-reference" and reference_lps is None:
        method, note = "zscore-image", "no normal-marrow reference point given: fell back to zscore-image"
    normed, records = normalize_images(images, method=method, reference_lps=reference_lps)
    record = {"requested": normalization, "method": method, "sequences": records}
    if note:
        record["note"] = note
    return normed, record


def analyze_case(images: Mapping[str, sitk.Image], seed_lps: Sequence[float] | None = None,
                 masks: Mapping[str, sitk.Image] | None = None, model=None,
                 params: Mapping | str | os.PathLike | None = None, normalization: str = "zscore-image",
                 reference_lps: Sequence[float] | None = None, roi_lps: Sequence[Sequence[float]] | None = None,
                 case_id: str = "case", label: int = 1, jobs: int = 1,
                 progress: Progress | None = None, spine=None) -> CaseResult:
    """Analyse one case.

    images: {"T1"|"T2"|"FS": image}; seed_lps: a point inside the lesion (LPS mm) when no masks are
    given; masks: lesion masks per sequence (any grid: resampled by physical coordinates); model: a
    `ModicModel` or a model file path (optional); params: PyRadiomics parameters (None → paper's);
    reference_lps: a point in normal marrow (LPS mm) for normalisation and typing; spine: the case's anatomy
    (`modic.spine.Spine`): confines the one-click lesion to its vertebral body (`modic.segment.segment_lesion`)
    and checks imported masks (`check_mask_anatomy`: a warning in segmentation["anatomy"]).
    progress(fraction, message) may return False to cancel (raises InterruptedError).
    """
    t0 = time.perf_counter()
    if not images:
        raise ModicInputError("no image given — provide at least one of T1, T2, FS")
    params_loaded = prepare_params(params, normalization)
    _report(progress, 0.0, f"{case_id}: segmenting" if masks is None else f"{case_id}: reading masks")
    seg_info = None
    if masks is None:
        if seed_lps is None:
            raise ModicInputError(f"case {case_id}: give a seed point inside the lesion (LPS mm) or lesion masks")
        seg = segment_lesion(images, seed_lps, roi_lps=roi_lps, reference_lps=reference_lps, spine=spine)
        masks, seg_info = seg.masks, seg.info
    else:
        from modic.geometry import resample_like

        if not masks:
            raise ModicInputError(f"case {case_id}: no lesion mask given")
        source = next(iter(masks.values()))  # a sequence without its own mask gets this one, resampled
        masks = {s: resample_like(masks.get(s, source), images[s], is_label=True) for s in images}
        if spine is not None:
            from modic.segment import check_mask_anatomy

            seg_info = {"method": "imported", "anatomy": {"warning": check_mask_anatomy(source, spine)}}
    _report(progress, 0.1, f"{case_id}: normalising")
    normed, norm_record = normalize_for_extraction(images, normalization, reference_lps)

    def feature_progress(fraction: float, message: str):
        return None if progress is None else progress(0.1 + 0.8 * fraction, message)

    feats: CaseFeatures = extract_case(normed, masks, params=params_loaded, case_id=case_id, label=label,
                                       jobs=jobs, progress=feature_progress)
    _report(progress, 0.9, f"{case_id}: typing")
    binary = {s: sitk.Cast(m == label, sitk.sitkUInt8) for s, m in masks.items()}
    pattern = None
    if "T1" in images and len(images) >= 2:
        pattern = type_from_signal(images, binary, reference_lps=reference_lps)
    prediction = None
    if model is not None:
        prediction = predict_one(model, feats.values, case_id)
    _report(progress, 1.0, f"{case_id}: done")
    provenance = {"modic_version": __version__, "params_sha256": params_hash(params_loaded),
                  "seconds": round(time.perf_counter() - t0, 3)}
    return CaseResult(case_id=case_id, masks=binary, features=feats.values, diagnostics=feats.diagnostics,
                      signal_pattern=pattern, prediction=prediction, normalization=norm_record,
                      segmentation=seg_info, provenance=provenance)


def predict_one(model, features: Mapping[str, float], case_id: str = "case") -> dict[str, Any]:
    """Apply a model (ModicModel or file path) to one feature row → type, probabilities, features used."""
    from modic.model_io import ModicModel, load_model

    if not isinstance(model, ModicModel):
        model = load_model(model)
    table = pd.DataFrame([dict(features)], index=pd.Index([case_id], name="case_id"))
    out = model.predict(table).iloc[0]
    return {"predicted_type": int(out["predicted_type"]),
            "probabilities": {str(c): float(out[f"p_type{c}"]) for c in (1, 2, 3)},
            "features_used": list(model.feature_names), "synthetic_model": model.synthetic}
