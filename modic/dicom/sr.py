"""DICOM Structured Report, TID 1500 measurement report (highdicom Comprehensive 3D SR).

One measurement group (TID 1411, volumetric ROI) per lesion, referencing the lesion's segment in the DICOM
SEG and the source series (as Slicer's QuantitativeReporting / dcmqi and OHIF read them): finding "Lesion" at
the vertebra (SNOMED CT), qualitative evaluations (endplate, Modic type from the signal pattern and from the
model, inside the model's training data yes/no), and measurements with UCUM units (volume, probabilities,
Table 1 shape features of T2 with the Major/Least axis ratio, and the model's selected radiomics features).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from modic import __version__
from modic.dicom import codes as C
from modic.dicom.mrwrite import uid
from modic.dicom.seg import private_scheme_item

# Table 1 of the paper: T2 shape features + the long-to-short axis ratio
TABLE1_SHAPE = ("Elongation", "Flatness", "LeastAxisLength", "MajorAxisLength", "Maximum2DDiameterColumn",
                "Maximum2DDiameterRow", "Maximum2DDiameterSlice", "Maximum3DDiameter", "MeshVolume",
                "MinorAxisLength", "Sphericity", "SurfaceArea", "SurfaceVolumeRatio", "VoxelVolume",
                "MajorLeastAxisRatio")


@dataclass
class LesionReport:
    """What the SR says about one lesion. `segment`: (SEG dataset, segment number) of its mask."""

    name: str
    segment: tuple[Any, int]
    source_series_uid: str
    level: str | None = None            # "L4" (vertebra) or "L4-L5" (disc level)
    endplate: str | None = None         # superior / inferior / both / upper / lower
    signal_type: str | None = None      # "I", "II", "III", "I/II", "II/III"
    prediction: dict | None = None      # predict_one(): predicted_type, probabilities, in_domain, synthetic_model
    volume_mm3: float | None = None
    features: dict[str, float] = field(default_factory=dict)    # column name → value (any sequence)


def report_features(features: dict[str, float], selected: list[str] | None = None) -> dict[str, float]:
    """T2 Table 1 shape features (+ Major/Least ratio) and the `selected` radiomics features, finite only."""
    keys = [f"T2_original_shape_{k}" for k in TABLE1_SHAPE]
    keys += [k for k in (selected or []) if k not in keys]
    out = {}
    for k in keys:
        v = features.get(k)
        try:
            v = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(v):
            out[k] = v
    return out


def _group(lesion: LesionReport, index: int, uid_seed: str):
    import highdicom as hd

    seg, number = lesion.segment
    referenced = hd.sr.ReferencedSegment(
        sop_class_uid=seg.SOPClassUID, sop_instance_uid=seg.SOPInstanceUID, segment_number=number,
        source_series=hd.sr.SourceSeriesForSegmentation(lesion.source_series_uid))
    site = C.vertebra(lesion.level or "")
    qualitative = []
    if lesion.endplate and lesion.endplate in C.ENDPLATES:
        qualitative.append(hd.sr.QualitativeEvaluation(C.ENDPLATE_CONCEPT, C.ENDPLATES[lesion.endplate]))
    if lesion.signal_type:
        qualitative.append(hd.sr.QualitativeEvaluation(C.SIGNAL_TYPE, C.modic_type(lesion.signal_type)))
    measurements = []
    if lesion.volume_mm3 is not None and math.isfinite(lesion.volume_mm3):
        measurements.append(hd.sr.Measurement(name=C.VOLUME, value=float(lesion.volume_mm3), unit=C.MM3))
    pred = lesion.prediction or {}
    if pred.get("predicted_type") is not None:
        qualitative.append(hd.sr.QualitativeEvaluation(C.MODEL_TYPE, C.modic_type(str(pred["predicted_type"]))))
        if pred.get("in_domain") is not None:
            qualitative.append(hd.sr.QualitativeEvaluation(C.IN_DOMAIN, C.YES if pred["in_domain"] else C.NO))
        if pred.get("synthetic_model") is not None:
            qualitative.append(hd.sr.QualitativeEvaluation(C.SYNTHETIC_MODEL,
                                                           C.YES if pred["synthetic_model"] else C.NO))
        for t, p in (pred.get("probabilities") or {}).items():
            measurements.append(hd.sr.Measurement(name=C.probability_of(t), value=float(p), unit=C.NO_UNITS))
    for key, value in lesion.features.items():
        measurements.append(hd.sr.Measurement(name=C.feature(key), value=float(value), unit=C.feature_unit(key)))
    return hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=uid(uid_seed, "lesion", index), identifier=lesion.name[:64]),
        referenced_segment=referenced, finding_type=C.LESION,
        finding_sites=[hd.sr.FindingSite(site)] if site is not None else None,
        finding_category=C.ABNORMAL, measurements=measurements or None,
        qualitative_evaluations=qualitative or None,
        algorithm_id=hd.sr.AlgorithmIdentification(name="ModicRadiomics", version=__version__))


def build_sr(lesions: list[LesionReport], evidence: list, uid_seed: str, series_number: int = 901):
    """A TID 1500 Comprehensive 3D SR over `lesions`; `evidence`: source images and SEG datasets referenced."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    observer = hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=uid("modic-device"), name="ModicRadiomics", manufacturer_name="ModicRadiomics",
            model_name=f"modic {__version__}")))
    report = hd.sr.MeasurementReport(
        observation_context=observer, procedure_reported=codes.SCT.ImagingProcedure,
        imaging_measurements=[_group(les, i, uid_seed) for i, les in enumerate(lesions, start=1)])
    sr = hd.sr.Comprehensive3DSR(
        evidence=evidence, content=report, series_instance_uid=uid(uid_seed, "sr-series"),
        series_number=series_number, sop_instance_uid=uid(uid_seed, "sr-instance"), instance_number=1,
        manufacturer="ModicRadiomics", is_complete=True, series_description="Modic measurements")
    sr.CodingSchemeIdentificationSequence = [private_scheme_item()]
    return sr
