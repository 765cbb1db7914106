"""Texts the Modic Analysis panel shows (pure Python, so they are tested without Qt)."""

from __future__ import annotations

import os

OUTSIDE_TRAINING_DATA = "outside the training data"
TYPE_NAMES = {"1": "Type I", "2": "Type II", "3": "Type III", "I": "Type I", "II": "Type II", "III": "Type III",
              "I/II": "Type I/II", "II/III": "Type II/III"}


def typeName(code: str) -> str:
    return TYPE_NAMES.get(code, code or "-")


def typingTexts(typing: dict[str, str], modelDescription: str = "") -> dict[str, str]:
    """Label texts from the typing attributes of a feature table (ModicAnalysisCaseLogic.readTyping).

    The prediction says "outside the training data" when the model flagged the case (InDomain "false").
    """
    predicted = typeName(typing.get("PredictedType", ""))
    if typing.get("PredictedType") and modelDescription:
        predicted += f"  ({modelDescription})"
    if typing.get("PredictedType") and typing.get("InDomain") == "false":
        predicted += f" — {OUTSIDE_TRAINING_DATA}"
    probabilities = [p.split("=") for p in typing.get("Probabilities", "").split(";") if "=" in p]
    return {"signalType": typeName(typing.get("SignalPatternType", "")),
            "signalRatios": typing.get("SignalRatios", "").replace(";", ", ") or "-",
            "predictedType": predicted,
            "probabilities": ", ".join(f"{typeName(k)}: {float(v):.2f}" for k, v in probabilities) or "-"}


def modelDescription(path: str | None) -> str:
    """Label text for a model file: "synthetic demo model" for the shipped one."""
    if not path:
        return "no model (signal-pattern type only)"
    try:
        from ModicAnalysisLib.core import DEMO_MODEL_LABEL, isDemoModel

        if isDemoModel(path):
            return DEMO_MODEL_LABEL
    except ImportError:  # the core is not importable yet
        pass
    if not os.path.isfile(path):
        return "model file not found"
    return f"model: {os.path.basename(path)}"


def defaultModelPath() -> str:
    """The synthetic demo model shipped with the core, or "" when the core is not importable."""
    try:
        from ModicAnalysisLib.core import defaultModelPath as corePath

        return corePath()
    except ImportError:
        return ""
