"""Third-party Python packages the extension needs beyond what 3D Slicer bundles, and the core's path.

Nothing here installs anything by itself at import: `missingRequirements()` only checks; the module
widgets call `ensureInSlicer()` from a button handler (after asking the user), the self-tests call it
without asking. The install never changes a package Slicer bundles: `writeConstraints()` pins every
bundled distribution to its installed version and pip gets that file with `-c`. The list equals the
active lines of the extension's `Resources/requirements.txt` (a test checks).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import re
import sys
import tempfile
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
    "python-glmnet>=2.6,<3",
)

#: Installed only when no `radiomics` package is importable (SlicerRadiomics normally provides it).
RADIOMICS_FALLBACK = "pyradiomics-bhklab>=3.1.4,<3.2"

#: Distributions Slicer 5.10 / 5.12 bundle (SuperBuild/External_python-*.cmake, SimpleITK): pinned to their
#: installed versions while installing, so our requirements can never upgrade or downgrade them.
BUNDLED = ("numpy", "scipy", "SimpleITK", "pydicom", "pillow", "packaging", "pyparsing", "requests", "urllib3",
           "certifi", "idna", "charset-normalizer", "chardet", "six", "typing_extensions", "python-dateutil",
           "retrying", "dicomweb-client", "highdicom", "pyjpegls", "dcmqi", "GitPython", "gitdb", "smmap",
           "cryptography", "cffi", "pycparser", "PyJWT", "PyNaCl", "wrapt", "Deprecated", "PyGithub", "couchdb")


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
    if not confirm(confirmationText(missing)):
        return False
    install(missing)
    importlib.invalidate_caches()
    return not missingRequirements()


def constraintLines() -> list[str]:
    """`name==version` for every bundled distribution installed in this Python."""
    lines = []
    for name in BUNDLED:
        try:
            lines.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return lines


def writeConstraints(path: str | os.PathLike | None = None) -> str:
    """Write the pip constraints file (bundled distributions pinned) to `path` or a temporary file."""
    if path is None:
        handle, path = tempfile.mkstemp(prefix="ModicRadiomics-constraints-", suffix=".txt")
        os.close(handle)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(constraintLines()) + "\n")
    return str(path)


def ensureInSlicer(interactive: bool = True, requester: str = "ModicRadiomics", slicerModule=None) -> bool:
    """Install missing requirements inside 3D Slicer; True when everything is (now) available.

    Slicer >= 5.12: `slicer.packaging.pip_ensure` (its own confirmation dialog; RuntimeError = declined).
    Slicer 5.10 (no `slicer.packaging`): ask with `slicer.util.confirmOkCancelDisplay`, then
    `slicer.util.pip_install`. Both get the constraints file, so bundled packages stay as they are.
    `interactive=False` (self-tests, also in testing mode) installs without asking.
    """
    missing = missingRequirements()
    if not missing:
        return True
    if slicerModule is None:
        import slicer as slicerModule
    try:
        packaging = importlib.import_module(f"{slicerModule.__name__}.packaging")
    except ImportError:  # Slicer 5.10
        packaging = getattr(slicerModule, "packaging", None)
    constraints = writeConstraints()
    try:
        if packaging is not None and hasattr(packaging, "pip_ensure"):
            try:
                packaging.pip_ensure(missing, constraints=constraints, requester=requester,
                                     prompt_install=interactive, skip_in_testing=False)
            except RuntimeError:  # declined in pip_ensure's dialog
                return False
        else:
            if interactive and not slicerModule.util.confirmOkCancelDisplay(confirmationText(missing)):
                return False
            slicerModule.util.pip_install([*missing, "-c", constraints])
    finally:
        os.unlink(constraints)
    importlib.invalidate_caches()
    return not missingRequirements()


def confirmationText(missing: list[str]) -> str:
    return ("ModicRadiomics needs these Python packages, which are not installed yet:\n\n"
            + "\n".join(f"  {r}" for r in missing)
            + "\n\nInstall them now? This can take several minutes.")


def ensureCoreImportable(moduleDirectory: str | os.PathLike) -> bool:
    """Make the `modic` core importable when the modules run from a source checkout.

    Installed, `modic/` sits next to the module scripts (a folder Slicer puts on sys.path). Added as
    "Additional module paths" from a clone, the modules live in `<repo>/ModicAnalysis`, so `<repo>` is
    appended to sys.path when it holds `modic/`. Returns True when `modic` is importable afterwards.
    """
    if importlib.util.find_spec("modic") is not None:
        return True
    for candidate in (os.path.dirname(os.path.abspath(moduleDirectory)), os.path.abspath(moduleDirectory)):
        if os.path.isfile(os.path.join(candidate, "modic", "__init__.py")):
            if candidate not in sys.path:
                sys.path.append(candidate)
            importlib.invalidate_caches()
            return True
    return False
