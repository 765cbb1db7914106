"""Thin adapter onto the headless core (`modic`): the only place that knows the core's call names.

Everything here takes and returns plain Python / SimpleITK objects (LPS geometry), so it is tested
without MRML. Progress callbacks follow the logic's convention `progress(fraction, message) -> bool`;
returning False cancels by raising `AnalysisCancelled` from inside the core.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import SimpleITK as sitk

ProgressCallback = Callable[[float, str], bool]

SEQUENCES: tuple[str, ...] = ("T1", "T2", "FS")
DEMO_MODEL_NAME = "demo_model.skops"
DEMO_MODEL_LABEL = "synthetic demo model"


class AnalysisCancelled(Exception):
    """The user cancelled a long step through the progress callback."""


@dataclass
class CaseAnalysis:
    """Per-case outcome in plain types: masks (LPS images per sequence grid), features, typing."""

    masks: dict[str, sitk.Image] = field(default_factory=dict)
    features: dict[str, float] = field(default_factory=dict)
    signalType: str | None = None
    signalCode: int | None = None
    signalRatios: dict[str, float] = field(default_factory=dict)
    predictedType: str | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    modelPath: str | None = None
    inDomain: bool | None = None  # False: the case lies outside the model's training data
    raw: Any = None
    plausible: bool | None = None  # False: the one-click segmentation does not look like a Modic lesion
    plausibilityReasons: list[str] = field(default_factory=list)


def _checkedProgress(progress: ProgressCallback | None) -> Callable[..., bool]:
    """Wrap a `progress(fraction, message)` callback so that a False answer raises AnalysisCancelled."""

    def report(fraction: float = 0.0, message: str = "", *args: Any) -> bool:
        if progress is not None and progress(float(fraction), str(message)) is False:
            raise AnalysisCancelled("Cancelled by the user")
        return True

    return report


def defaultModelPath() -> str:
    """Path of the synthetic demo model shipped with the core (`modic/resources/demo_model.skops`)."""
    import modic

    return str(Path(modic.__file__).resolve().parent / "resources" / DEMO_MODEL_NAME)


def isDemoModel(path: str | os.PathLike | None) -> bool:
    """True when `path` is the shipped synthetic demo model."""
    return bool(path) and Path(path).name == DEMO_MODEL_NAME and \
        Path(path).resolve() == Path(defaultModelPath())


def loadModel(path: str | os.PathLike):
    """Load a model file written by the cohort statistics (`modic.model_io`)."""
    from modic import model_io

    if not Path(path).is_file():
        raise ValueError(f"Model file not found: {path} — train one in ModicCohortStats or pick another")
    return model_io.load_model(path)


def _typeString(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    return text or None


_ROMAN = {"I": 1, "II": 2, "III": 3}


def typeCode(kind: Any) -> int | None:
    """Dominant Modic type 1/2/3 of "I", "II/III", "2", 2 ...; None when unknown."""
    text = _typeString(kind)
    if text is None:
        return None
    first = text.split("/")[0].strip().upper()
    if first in _ROMAN:
        return _ROMAN[first]
    try:
        return int(float(first))
    except ValueError:
        return None


def _signal(raw: Any) -> tuple[str | None, int | None, dict[str, float]]:
    """(type text, dominant type code, signal ratios) of the core's SignalPattern."""
    if raw is None:
        return None, None, {}
    get = raw.get if isinstance(raw, Mapping) else (lambda key, default=None: getattr(raw, key, default))
    kind = get("modic_type", get("type"))
    code = get("modic_code") or typeCode(kind)
    ratios = get("ratios", {}) or {}
    return _typeString(kind), (int(code) if code else None), {str(k): float(v) for k, v in dict(ratios).items()}


def inDomainOf(raw: Any) -> bool | None:
    """The prediction's `in_domain` flag (mapping key, DataFrame column or attribute); None when absent."""
    if raw is None:
        return None
    if hasattr(raw, "iloc") and hasattr(raw, "columns"):
        value = raw.iloc[0]["in_domain"] if "in_domain" in raw.columns else None
    elif isinstance(raw, Mapping):
        value = raw.get("in_domain")
    else:
        value = getattr(raw, "in_domain", None)
    return None if value is None else bool(value)


def _prediction(raw: Any) -> tuple[str | None, dict[str, float]]:
    """Predicted type and class probabilities from a DataFrame row, a mapping or an object."""
    if raw is None:
        return None, {}
    if hasattr(raw, "iloc") and hasattr(raw, "columns"):  # DataFrame from ModicModel.predict
        row = raw.iloc[0]
        probabilities = {c[len("p_type"):]: float(row[c]) for c in raw.columns if str(c).startswith("p_type")}
        return _typeString(row.get("predicted_type")), probabilities
    if isinstance(raw, Mapping):
        kind = raw.get("predicted_type", raw.get("modic_type", raw.get("type")))
        probabilities = raw.get("probabilities", {})
    else:
        kind = getattr(raw, "predicted_type", getattr(raw, "modic_type", getattr(raw, "type", None)))
        probabilities = getattr(raw, "probabilities", {}) or {}
    return _typeString(kind), {_typeString(k) or str(k): float(v) for k, v in dict(probabilities).items()}


def fromCoreResult(result: Any, modelPath: str | None = None) -> CaseAnalysis:
    """Translate the core's CaseResult into a CaseAnalysis."""
    features = getattr(result, "features", {}) or {}
    if hasattr(features, "values") and not isinstance(features, Mapping):  # CaseFeatures
        features = features.values
    signalType, signalCode, ratios = _signal(getattr(result, "signal_pattern", None))
    prediction = getattr(result, "prediction", None)
    predictedType, probabilities = _prediction(prediction)
    segmentation = getattr(result, "segmentation", None) or {}
    return CaseAnalysis(masks=dict(getattr(result, "masks", {}) or {}),
                        features={str(k): float(v) for k, v in dict(features).items() if v is not None},
                        signalType=signalType, signalCode=signalCode, signalRatios=ratios, predictedType=predictedType,
                        probabilities=probabilities, modelPath=modelPath, inDomain=inDomainOf(prediction),
                        raw=result, plausible=segmentation.get("plausible"),
                        plausibilityReasons=list((segmentation.get("plausibility") or {}).get("reasons", [])))


def _checkImages(images: Mapping[str, sitk.Image]) -> None:
    if not images:
        raise ValueError("Select at least one input volume (T1, T2 or FS)")
    unknown = set(images) - set(SEQUENCES)
    if unknown:
        raise ValueError(f"Unknown sequence(s) {sorted(unknown)}; use {list(SEQUENCES)}")


def analyzeCase(images: Mapping[str, sitk.Image], seedLps: Sequence[float] | None = None,
                masks: Mapping[str, sitk.Image] | None = None, modelPath: str | None = None,
                params: str | Mapping | None = None, normalization: str | None = None,
                progress: ProgressCallback | None = None) -> CaseAnalysis:
    """Segment (from the LPS seed, unless masks are given), extract, type and classify one case."""
    from modic import pipeline

    _checkImages(images)
    if seedLps is None and not masks:
        raise ValueError("Give either a seed point on the lesion or an existing segmentation")
    model = loadModel(modelPath) if modelPath else None
    import warnings

    from modic.errors import ModicWarning

    with warnings.catch_warnings():  # shown through CaseAnalysis.plausible / plausibilityReasons instead
        warnings.simplefilter("ignore", ModicWarning)
        result = pipeline.analyze_case(dict(images), seed_lps=None if seedLps is None else tuple(seedLps),
                                       masks=dict(masks) if masks else None, model=model, params=params,
                                       normalization=normalization, progress=_checkedProgress(progress))
    return fromCoreResult(result, modelPath)


def segmentCase(images: Mapping[str, sitk.Image], seedLps: Sequence[float],
                progress: ProgressCallback | None = None) -> dict[str, sitk.Image]:
    """Lesion masks (uint8, one per sequence grid) grown from an LPS seed point."""
    return segmentCaseWithInfo(images, seedLps, progress)[0]


def segmentCaseWithInfo(images: Mapping[str, sitk.Image], seedLps: Sequence[float],
                        progress: ProgressCallback | None = None) -> tuple[dict[str, sitk.Image], dict]:
    """Masks and the segmentation record, with "plausible" and "plausibility" (`modic.plausibility`)."""
    from modic import segment
    from modic.checks import check_images
    from modic.plausibility import assess_result

    _checkImages(images)
    check_images(images)
    report = _checkedProgress(progress)
    report(0.0, "Segmenting lesion")
    seed = tuple(float(v) for v in seedLps)
    result = segment.segment_lesion(dict(images), seed)
    report(1.0, "Segmentation done")
    return dict(result.masks), assess_result(result.masks, result.info, seed, warn=False)


def classifyFeatures(features: Mapping[str, float],
                     modelPath: str) -> tuple[str | None, dict[str, float], bool | None]:
    """Model prediction for one feature row: (type, probabilities by type, in training domain or None)."""
    from modic import pipeline

    raw = pipeline.predict_one(loadModel(modelPath), dict(features))
    predictedType, probabilities = _prediction(raw)
    return predictedType, probabilities, inDomainOf(raw)


def signalPattern(images: Mapping[str, sitk.Image],
                  masks: Mapping[str, sitk.Image]) -> tuple[str | None, int | None, dict[str, float]]:
    """Rule-based Modic type (text, dominant code, ratios) from lesion / marrow signal ratios."""
    from modic import signal_pattern

    return _signal(signal_pattern.type_from_signal(dict(images), dict(masks)))
