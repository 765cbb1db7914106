"""Volumes loaded from Slicer's DICOM browser: which is T1, T2, STIR/FS — from the series' DICOM tags (the
same rules as `modic series`), never from node names — and the DICOM SEG + SR export of a result.

`tagReader(instanceUID, tag) -> str` reads one tag ("0018,0080") of one instance: in Slicer
`slicer.dicomDatabase.instanceValue`; tests pass a fake. Volume nodes loaded by the DICOM module carry the
attribute "DICOM.instanceUIDs" (space-separated SOP instance UIDs). No code runs at import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

TagReader = Callable[[str, str], str]

TAGS = {"SeriesInstanceUID": "0020,000E", "SeriesNumber": "0020,0011", "SeriesDescription": "0008,103E",
        "Modality": "0008,0060", "ImageType": "0008,0008", "RepetitionTime": "0018,0080", "EchoTime": "0018,0081",
        "InversionTime": "0018,0082", "ScanOptions": "0018,0022", "SequenceName": "0018,0024",
        "ScanningSequence": "0018,0020", "MagneticFieldStrength": "0018,0087",
        "ImageOrientationPatient": "0020,0037", "StudyInstanceUID": "0020,000D"}


def instanceUIDsOfNode(volumeNode) -> list[str]:
    """SOP instance UIDs a volume node was loaded from (empty when it did not come from DICOM)."""
    value = volumeNode.GetAttribute("DICOM.instanceUIDs") if volumeNode is not None else None
    return [u for u in (value or "").split() if u]


def _number(text: str):
    try:
        return float(str(text).split("\\")[0])
    except (TypeError, ValueError):
        return None


def seriesInfoFromTags(instanceUIDs: list[str], tagReader: TagReader):
    """A `modic.dicom.series.SeriesInfo` (recognised) from the tags of a series' instances."""
    from modic.dicom.series import SeriesInfo, orientation_name, recognise

    first = instanceUIDs[0]

    def tag(name, uid=first):
        return str(tagReader(uid, TAGS[name]) or "").strip()

    number = _number(tag("SeriesNumber"))
    info = SeriesInfo(uid=tag("SeriesInstanceUID"), number=int(number) if number is not None else None,
                      description=tag("SeriesDescription"), modality=tag("Modality"),
                      instances=len(instanceUIDs), frames=len(instanceUIDs))
    info.study_uid = tag("StudyInstanceUID")
    info.tr, info.te, info.ti = _number(tag("RepetitionTime")), _number(tag("EchoTime")), _number(tag("InversionTime"))
    info.field_strength = _number(tag("MagneticFieldStrength"))
    info.scan_options, info.sequence_name = tag("ScanOptions"), tag("SequenceName")
    info.scanning_sequence, info.image_type = tag("ScanningSequence"), tag("ImageType")
    names = []
    for uid in instanceUIDs:
        try:
            iop = [float(v) for v in tag("ImageOrientationPatient", uid).split("\\")]
        except ValueError:
            iop = None
        names.append(orientation_name(iop))
    valid = [n for n in names if n != "unknown"]
    if valid:
        main = max(set(valid), key=valid.count)
        info.localiser_slices = sum(1 for n in names if n != main)
        info.orientation = main if 2 * info.localiser_slices < len(names) else "mixed"
    return recognise(info)


def recogniseVolumeNodes(volumeNodes: Iterable | Mapping, tagReader: TagReader) -> dict:
    """{"T1": node, "T2": node, "FS": node} (the sagittal series recognised as such, as `modic series` would
    choose); nodes without DICOM instance UIDs are ignored. See `recogniseVolumeNodesWithReasons`."""
    return recogniseVolumeNodesWithReasons(volumeNodes, tagReader)[0]


def recogniseVolumeNodesWithReasons(volumeNodes: Iterable | Mapping, tagReader: TagReader):
    """(choice {seq: node}, {node ID: SeriesInfo}, notes) — the reasons to show in the GUI."""
    from modic.dicom.series import select_series

    nodes = list(volumeNodes.values()) if isinstance(volumeNodes, Mapping) else list(volumeNodes)
    infos, byUid = {}, {}
    for node in nodes:
        uids = instanceUIDsOfNode(node)
        if not uids:
            continue
        info = seriesInfoFromTags(uids, tagReader)
        key = f"{info.uid}/{node.GetID()}"   # one series may be loaded twice: keep the nodes apart
        info.uid = key
        infos[node.GetID()] = info
        byUid[key] = node
    chosen, notes = select_series(list(infos.values()))
    return {seq: byUid[info.uid] for seq, info in chosen.items()}, infos, notes


def exportDicom(volumeNodes: Mapping, masks: Mapping, outputFolder: str, fileForInstance: Callable[[str], str],
                summary: Mapping | None = None, features: Mapping | None = None, spine=None) -> dict:
    """Write DICOM SEG (one per series) and the TID 1500 SR for a result computed on DICOM-loaded volumes.

    volumeNodes: {"T1"|"T2"|"FS": volume node loaded from DICOM}; masks: {seq: SimpleITK lesion mask (LPS)}
    (e.g. `CaseResult.masks`); fileForInstance: SOP instance UID → file (`slicer.dicomDatabase.fileForInstance`);
    summary: `CaseResult.summary()` (types, prediction); features: `CaseResult.features`.
    Returns {seq or "SR": written path}.
    """
    from modic.dicom.export import export_dicom, lesion_from_results
    from modic.dicom.study import study_from_files
    from modic.errors import ModicInputError

    try:
        import highdicom  # noqa: F401
    except ImportError:
        raise ModicInputError("DICOM SEG/SR export needs the Python package highdicom — install it "
                              "(slicer.util.pip_install('highdicom>=0.23,<1')) and try again") from None

    files = {}
    for seq, node in volumeNodes.items():
        uids = instanceUIDsOfNode(node)
        if uids:
            files[seq] = [fileForInstance(u) for u in uids]
    if not files:
        raise ModicInputError("none of the volumes was loaded from DICOM — DICOM SEG/SR export needs the series "
                              "from Slicer's DICOM database")
    study = study_from_files(files, path=outputFolder)
    lesion = lesion_from_results({s: m for s, m in masks.items() if s in files}, dict(summary or {}),
                                 dict(features or {}))
    return export_dicom(study, [lesion], outputFolder, spine=spine)
