"""Codes for the DICOM SEG and SR: standard ones (SNOMED CT "SCT", DICOM "DCM", UCUM) where they exist, our
private scheme "99MODIC" where none does (documented in docs/DICOM.md; DICOM reserves designators starting
with "99" for private schemes)."""

from __future__ import annotations

import re

from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

PRIVATE_SCHEME = "99MODIC"
PRIVATE_SCHEME_NAME = "ModicRadiomics private codes"
PRIVATE_SCHEME_ORG = "ModicRadiomics (https://github.com/modic-radiomics; docs/DICOM.md)"


def private(value: str, meaning: str) -> Code:
    return Code(value, PRIVATE_SCHEME, meaning[:64])


# segment categories and types
ABNORMAL = codes.SCT.MorphologicallyAbnormalStructure
ANATOMY = codes.SCT.AnatomicalStructure
LESION = codes.SCT.Lesion
VOLUME = codes.SCT.Volume
PROBABILITY = codes.DCM.Probability
YES, NO = codes.SCT.Yes, codes.SCT.No
NO_UNITS = codes.UCUM.NoUnits
MM, MM2, MM3 = codes.UCUM.Millimeter, codes.UCUM.SquareMillimeter, codes.UCUM.CubicMillimeter
PER_MM = Code("/mm", "UCUM", "per millimeter")
ARBITRARY = Code("[arb'U]", "UCUM", "arbitrary unit")
MODIC_CHANGE = private("MODIC", "Modic change (vertebral endplate marrow lesion)")
ENDPLATE_CONCEPT = private("ENDPLATE", "Endplate")
ENDPLATES = {"superior": private("EP_SUP", "Superior endplate"), "inferior": private("EP_INF", "Inferior endplate"),
             "both": private("EP_BOTH", "Both endplates of the disc"),
             "upper": private("EP_UPPER", "Endplate of the vertebra above the disc"),
             "lower": private("EP_LOWER", "Endplate of the vertebra below the disc")}
SIGNAL_TYPE = private("MODIC_SP", "Modic type from the signal pattern")
MODEL_TYPE = private("MODIC_MODEL", "Modic type predicted by the model")
IN_DOMAIN = private("IN_DOMAIN", "Case inside the model's training data")
SYNTHETIC_MODEL = private("SYNTH_MODEL", "Model trained on synthetic data")
ROMAN = {"1": "I", "2": "II", "3": "III"}


def modic_type(value: str) -> Code:
    """'I', 'II', 'III', 'I/II', 'II/III', 1, 2, 3 → a private Modic type code."""
    text = ROMAN.get(str(value), str(value)).upper()
    key = text.replace("/", "_")
    return private(f"MODIC_{key}", f"Modic type {text}")


def probability_of(t: str) -> Code:
    return private(f"P_MODIC_{ROMAN.get(str(t), t)}", f"Probability of Modic type {ROMAN.get(str(t), t)} (model)")


def vertebra(level: str) -> Code | None:
    """SNOMED CT code of a vertebra ("L4") or disc ("L4-L5"), None when unknown."""
    if not level:
        return None
    name = level.replace("-", "") + ("Disc" if "-" in level else "Vertebra")
    if level.upper() == "S1":
        return codes.SCT.Sacrum
    try:
        return getattr(codes.SCT, name)
    except AttributeError:
        return None


def feature(name: str) -> Code:
    """A feature column (`T2_original_shape_Sphericity`) as a private code: CodeValue "F" + the first 12 hex
    digits of SHA-1(column name) (CodeValue is limited to 16 characters, and readers such as highdicom's and
    dcmqi's expect CodeValue, not LongCodeValue), CodeMeaning the column name itself."""
    import hashlib

    return private("F" + hashlib.sha1(name.encode()).hexdigest()[:12].upper(), name)


_LENGTH = re.compile(r"AxisLength|Diameter")


def feature_unit(name: str) -> Code:
    """UCUM unit of a feature: mm, mm2, mm3, /mm for shape; arbitrary units for intensity statistics of the
    normalised image; no units for ratios and texture matrices."""
    key = name.split("_", 1)[-1]
    if "_shape" in name or key.startswith("original_shape"):
        if _LENGTH.search(key):
            return MM
        if key.endswith(("MeshVolume", "VoxelVolume")):
            return MM3
        if key.endswith("SurfaceArea"):
            return MM2
        if key.endswith("SurfaceVolumeRatio"):
            return PER_MM
        return NO_UNITS
    if "_firstorder_" in name and not key.endswith(("Entropy", "Uniformity", "Kurtosis", "Skewness")):
        return ARBITRARY
    return NO_UNITS
