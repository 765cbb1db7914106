"""Results → DICOM: one SEG per sequence series (lesions; spine structures on the spine's series) and one
TID 1500 SR with a measurement group per lesion. Used by `modic segment/analyze --study` and
`modic export-dicom`.

Files (in `<out>/dicom/`): `seg_t1.dcm`, `seg_t2.dcm`, `seg_fs.dcm` (each referencing that series' instances)
and `sr.dcm` (referencing the T2 SEG's lesion segments, or the first sequence's when there is no T2).
UIDs are derived from the study, the masks and the values, so exporting the same results twice gives the
same files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from modic.dicom import codes as C
from modic.dicom.seg import SegmentSpec, build_seg, on_grid, source_datasets, spine_segments
from modic.dicom.sr import LesionReport, build_sr, report_features
from modic.dicom.study import Study
from modic.errors import ModicInputError

SEG_SERIES_NUMBER = {"T1": 902, "T2": 903, "FS": 904}
REPORT_ORDER = ("T2", "T1", "FS")    # the SR's lesion groups reference this sequence's SEG first


@dataclass
class Lesion:
    """One lesion to export: masks per sequence (any grid) and what is known about it."""

    masks: dict[str, sitk.Image]
    name: str = "Modic lesion"
    level: str | None = None
    endplate: str | None = None
    signal_type: str | None = None
    prediction: dict | None = None
    features: dict[str, float] = field(default_factory=dict)


def lesion_name(level: str | None, endplate: str | None, signal_type: str | None) -> str:
    where = " ".join(x for x in (level, endplate) if x)
    what = f"Modic {signal_type}" if signal_type else "Modic lesion"
    return f"{where} - {what}" if where else what


def _uid_seed(study: Study, lesions: list[Lesion]) -> str:
    h = hashlib.sha256(study.series[0].study_uid.encode() if study.series else b"")
    for les in lesions:
        for seq in sorted(les.masks):
            h.update(seq.encode() + np.ascontiguousarray(sitk.GetArrayViewFromImage(les.masks[seq])).tobytes())
        h.update(json.dumps([les.name, les.level, les.endplate, les.signal_type, les.prediction, les.features],
                            sort_keys=True, default=str).encode())
    return f"modic-export/{h.hexdigest()[:32]}"


def _volume_mm3(mask: sitk.Image) -> float:
    sx, sy, sz = mask.GetSpacing()
    return float(np.count_nonzero(sitk.GetArrayViewFromImage(mask))) * sx * sy * sz


def export_dicom(study: Study, lesions: list[Lesion], out: str | Path, spine=None,
                 selected_features: list[str] | None = None) -> dict[str, Path]:
    """Write the SEGs and the SR into folder `out` (created); returns {"T2": seg path, ..., "SR": sr path}."""
    if not lesions:
        raise ModicInputError("nothing to export: no lesion mask")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seed = _uid_seed(study, lesions)
    written: dict[str, Path] = {}
    segs: dict[str, Any] = {}
    spine_seq = None
    if spine is not None:
        spine_seq = next((s for s, v in study.volumes.items()
                          if v.image.GetSize() == spine.labels.GetSize()
                          and np.allclose(v.image.GetOrigin(), spine.labels.GetOrigin(), atol=1e-3)), None)
        spine_seq = spine_seq or next(iter(study.volumes))
    for seq, volume in study.volumes.items():
        specs = []
        for i, les in enumerate(lesions, start=1):
            mask = les.masks.get(seq)
            if mask is None:
                continue
            specs.append(SegmentSpec(label=les.name, mask=on_grid(mask, volume), category=C.ABNORMAL, type=C.LESION,
                                     anatomic_region=C.vertebra(les.level or ""), tracking_id=f"lesion {i}"))
        if seq == spine_seq:
            specs += spine_segments(spine, volume)
        if not specs:
            continue
        seg = build_seg(volume, specs, SEG_SERIES_NUMBER.get(seq, 905), f"{seed}/{seq}",
                        description=f"Modic lesions on {volume.info.description or seq}")
        path = out / f"seg_{seq.lower()}.dcm"
        seg.save_as(path)
        written[seq] = path
        segs[seq] = seg
    ref_seq = next((s for s in REPORT_ORDER if s in segs), None)
    if ref_seq is None:
        raise ModicInputError("nothing to export: no lesion mask on any series of the study")
    reports = []
    for i, les in enumerate(lesions, start=1):
        if ref_seq not in les.masks:
            continue
        reports.append(LesionReport(
            name=les.name, segment=(segs[ref_seq], i), source_series_uid=study.volumes[ref_seq].info.uid,
            level=les.level, endplate=les.endplate, signal_type=les.signal_type, prediction=les.prediction,
            volume_mm3=_volume_mm3(on_grid(les.masks[ref_seq], study.volumes[ref_seq])),
            features=report_features(les.features, selected_features or
                                     list((les.prediction or {}).get("features_used") or []))))
    # evidence: the one SEG the groups reference and its source images — Slicer's QuantitativeReporting loads
    # every SEG listed in the evidence and pairs measurement group i with segment i of that SEG
    sr = build_sr(reports, source_datasets(study.volumes[ref_seq]) + [segs[ref_seq]], f"{seed}/sr")
    written["SR"] = out / "sr.dcm"
    sr.save_as(written["SR"])
    return written


def lesion_from_results(masks: dict[str, sitk.Image], summary: dict | None, features: dict | None) -> Lesion:
    """One lesion from `modic analyze`/`segment` outputs: masks, result.json summary, features row."""
    summary = summary or {}
    sp = summary.get("signal_pattern") or {}
    signal = sp.get("modic_type")
    seg = summary.get("segmentation") or {}
    level = summary.get("level") or seg.get("level")
    endplate = summary.get("endplate") or seg.get("endplate")
    return Lesion(masks=dict(masks), name=lesion_name(level, endplate, signal), level=level, endplate=endplate,
                  signal_type=signal, prediction=summary.get("prediction"), features=dict(features or {}))


def lesions_from_detection(folder: str | Path) -> tuple[list[Lesion], Any]:
    """Lesions (and the spine) from a `modic detect` output folder: lesions.csv (label, level = disc,
    endplate = "L4 inferior", modic_type), lesions_<seq>.nrrd label maps (value = label), spine_labels.nrrd."""
    import pandas as pd

    from modic.io import read_image

    folder = Path(folder)
    try:
        table = pd.read_csv(folder / "lesions.csv", dtype={"label": int})
    except (ValueError, pd.errors.ParserError) as exc:
        raise ModicInputError(f"{folder / 'lesions.csv'}: cannot read it ({str(exc).splitlines()[0]})") from None
    maps = {seq: sitk.GetArrayFromImage(img) for seq, img in
            ((s, read_image(folder / f"lesions_{s.lower()}.nrrd", what=f"{s} lesion label map"))
             for s in ("T1", "T2", "FS") if (folder / f"lesions_{s.lower()}.nrrd").is_file())}
    refs = {seq: read_image(folder / f"lesions_{seq.lower()}.nrrd") for seq in maps}
    lesions = []
    for row in table.itertuples():
        masks = {}
        for seq, arr in maps.items():
            m = sitk.GetImageFromArray((arr == int(row.label)).astype(np.uint8))
            m.CopyInformation(refs[seq])
            masks[seq] = m
        where = str(getattr(row, "endplate", "") or "").split()
        vertebra = where[0] if where else None
        side = where[1] if len(where) > 1 else None
        signal = str(row.modic_type) if isinstance(getattr(row, "modic_type", None), str) else None
        lesions.append(Lesion(masks=masks, name=lesion_name(vertebra, side, signal), level=vertebra, endplate=side,
                              signal_type=signal))
    spine = None
    if (folder / "spine_labels.nrrd").is_file():
        from modic.spine.model import spine_from_label_map

        spine = spine_from_label_map(read_image(folder / "spine_labels.nrrd", what="spine label map"))
    return lesions, spine
