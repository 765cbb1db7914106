"""Third-party Python packages the extension needs beyond what 3D Slicer bundles.

Nothing here installs anything by itself: `missingRequirements()` only checks, and the module widget
calls `ensureDependencies()` from a button handler, after asking the user. The list equals the
active lines of the extension's `Resources/requirements.txt` (a test checks).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from collections.abc import Callable

REQUIREMENTS: tuple[str, ...] = (
    "pandas>=2.0,<4",
    "scikit-learn>=1.5,<2",
    "scikit-posthocs>=0.9,<1",
    "statsmodels>=0.14,<1",
    "skops>=0.10,<1",
    "dask[distributed]>=2024.1",
    "tqdm>=4.60,<5",
    "openpyxl>=3.1,<4",
    "slicerio>=1.0,<2",
    "trimesh>=4,<6",
    "scikit-image>=0.22,<1",
    "PyWavelets>=1.4",
    "matplotlib>=3.8,<4",
    "PyYAML>=6",
)

#: Installed only when no `radiomics` package is importable (SlicerRadiomics normally provides it).
RADIOMICS_FALLBACK = "pyradiomics-bhklab>=3.1.4,<3.2"


def _distributionName(requirement: str) -> str:
    return re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0]


def _satisfied(requirement: str) -> bool:
    """True when the distribution is installed at an acceptable version (`packaging` when available)."""
    name = _distributionName(requirement)
    try:
        installed = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    try:
        from packaging.requirements import Requirement
    except ImportError:  # no `packaging`: presence is enough
        return True
    return Requirement(requirement).specifier.contains(installed, prereleases=True)


def missingRequirements() -> list[str]:
    """Requirement strings that are not satisfied in this Python environment."""
    missing = [r for r in REQUIREMENTS if not _satisfied(r)]
    if importlib.util.find_spec("radiomics") is None:
        missing.append(RADIOMICS_FALLBACK)
    return missing


def ensureDependencies(install: Callable[[list[str]], object], confirm: Callable[[str], bool]) -> bool:
    """Install missing requirements with `install(list)` after `confirm(text)` says yes.

    Returns True when everything is (now) available, False when the user declined.
    """
    missing = missingRequirements()
    if not missing:
        return True
    text = ("ModicRadiomics needs these Python packages, which are not installed yet:\n\n"
            + "\n".join(f"  {r}" for r in missing)
            + "\n\nInstall them now? This can take several minutes.")
    if not confirm(text):
        return False
    install(missing)
    importlib.invalidate_caches()
    return not missingRequirements()
