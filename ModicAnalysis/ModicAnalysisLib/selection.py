"""Which loaded volumes to preselect as T1, T2 and FS (pure Python; node access through small callables).

A series name is split into words at anything that is not a letter or digit, so "SAG T1 FSE" is a T1
series (FSE = fast spin echo, not fat suppression), "Sag T2 FS", "T2 fat sat" and "STIR" are
fat-suppressed, "T2_FS" is fat-suppressed rather than T2, and a Dixon "FAT" image is not. Only plain
3D scalar volumes count: label maps, vector volumes and the 2D figures ModicCohortStats loads are
never preselected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FAT_SUPPRESSION_WORDS = frozenset({"FS", "STIR", "FATSAT", "FATSUP", "SPAIR", "SPIR", "TIRM", "FSAT", "WATER"})
#: Words of a series description that name the weighting, e.g. "T1", "T1W", "T1WI", "T2W_TSE".
_WEIGHTING = {"T1": re.compile(r"^T1(W|WI)?$"), "T2": re.compile(r"^T2(W|WI)?$")}
#: Attribute ModicCohortStats sets on the report figures it loads as volumes.
FIGURE_ATTRIBUTE = "ModicCohortStats.FigurePath"


def words(name: str) -> list[str]:
    """Upper-case words of a series name ("Sag_T1-FSE 3mm" -> ["SAG", "T1", "FSE", "3MM"])."""
    return [w for w in re.split(r"[^A-Z0-9]+", name.upper()) if w]


def sequenceOfName(name: str) -> str | None:
    """"FS", "T1" or "T2" for a series name, None when the name does not say."""
    tokens = words(name)
    joined = "".join(tokens)
    if any(w in FAT_SUPPRESSION_WORDS for w in tokens) or "FATSAT" in joined or "FATSUP" in joined:
        return "FS"
    for sequence, pattern in _WEIGHTING.items():
        if any(pattern.match(w) for w in tokens):
            return sequence
    return None


def isCandidateVolume(node) -> bool:
    """A plain 3D scalar volume (not a label map, vector volume or loaded report figure)."""
    if node is None or node.GetClassName() != "vtkMRMLScalarVolumeNode":
        return False
    if node.GetAttribute(FIGURE_ATTRIBUTE):
        return False
    imageData = node.GetImageData()
    if imageData is None or imageData.GetNumberOfScalarComponents() != 1:
        return False
    return min(imageData.GetDimensions()) > 1


def preselect(nodes: Iterable, tagReader=None) -> dict[str, object]:
    """{"T1"/"T2"/"FS": volume}: volumes loaded from DICOM are recognised from their series' tags (the rules of
    `modic series`, `dicomseries.recogniseVolumeNodes`; `tagReader` is `slicer.dicomDatabase.instanceValue`);
    a sequence still missing then takes the first candidate volume whose name says so."""
    nodes = [n for n in nodes if isCandidateVolume(n)]
    chosen: dict[str, object] = {}
    if tagReader is not None:
        from ModicAnalysisLib import dicomseries

        chosen.update(dicomseries.recogniseVolumeNodes(nodes, tagReader))
    tagsRead = bool(chosen)  # the database answered: DICOM series are placed by their tags only, never by name
    for node in nodes:
        if node in chosen.values() or (tagsRead and loadedFromDicom(node)):
            continue
        sequence = sequenceOfName(node.GetName())
        if sequence and sequence not in chosen:
            chosen[sequence] = node
    return chosen


def loadedFromDicom(node) -> bool:
    """True when the node was loaded from DICOM (it carries "DICOM.instanceUIDs")."""
    value = node.GetAttribute("DICOM.instanceUIDs") if hasattr(node, "GetAttribute") else None
    return bool((value or "").strip())
