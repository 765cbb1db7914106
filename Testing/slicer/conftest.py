"""Fixtures for the Slicer-side suites: real MRML scenes from slicer-core, module folders on sys.path,
and small synthetic volumes with a sagittal, anisotropic, off-origin geometry."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for folder in ("ModicAnalysis", "ModicCohortStats"):
    path = str(ROOT / folder)
    if path not in sys.path:
        sys.path.insert(0, path)


@pytest.fixture
def scene():
    """A fresh vtkMRMLScene, also installed as slicer.mrmlScene for slicer.util helpers."""
    import slicer

    scene = slicer.vtkMRMLScene()
    previous = getattr(slicer, "mrmlScene", None)
    slicer.mrmlScene = scene
    yield scene
    scene.Clear(1)
    slicer.mrmlScene = previous
