"""Inside a Slicer-like environment (`make test-slicer`): the module's install left Slicer's packages as they were.

Outside one (MODIC_SLICER_ENV unset) it checks the constraints file the module writes.
"""

import importlib.metadata
import json
import os
from pathlib import Path

import pytest
from ModicAnalysisLib import dependencies

FACTS = Path(__file__).resolve().parent / "data" / "slicer_api_facts.json"


def test_constraints_pin_installed_bundled_packages(tmp_path):
    path = dependencies.writeConstraints(tmp_path / "c.txt")
    lines = Path(path).read_text().split()
    assert f"numpy=={importlib.metadata.version('numpy')}" in lines
    assert f"scipy=={importlib.metadata.version('scipy')}" in lines
    assert f"SimpleITK=={importlib.metadata.version('SimpleITK')}" in lines
    assert all("==" in line for line in lines)


def test_bundled_list_covers_every_package_slicer_bundles():
    facts = json.loads(FACTS.read_text())
    ours = {n.lower() for n in dependencies.BUNDLED}
    for version, info in facts["versions"].items():
        missing = set(info["bundled_python_packages"]) - ours - {"pip", "setuptools", "wheel"}
        assert not missing, f"Slicer {version} bundles {sorted(missing)}: add them to dependencies.BUNDLED"


@pytest.mark.skipif(not os.environ.get("MODIC_SLICER_ENV"), reason="runs inside make test-slicer's environments")
def test_slicer_environment_unchanged_and_complete():
    version = os.environ["MODIC_SLICER_ENV"]
    pins = json.loads(FACTS.read_text())["versions"][version]["bundled_python_packages"]
    for name in ("numpy", "scipy", "simpleitk"):
        assert importlib.metadata.version(name) == pins[name], name
    assert dependencies.missingRequirements() == []
    import radiomics  # noqa: F401  (SlicerRadiomics' upstream build or the module's fallback)
