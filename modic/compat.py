"""Compatibility layer so PyRadiomics' LBP3D filter works on current SciPy.

SciPy 1.17 removed `scipy.special.sph_harm`; PyRadiomics 3.1 imports it inside `getLBP3DImage` and,
when the import fails, silently skips all `lbp-3D-*` features with only a log warning. We provide the
old function on top of `sph_harm_y`:

    sph_harm(m, n, theta, phi)  ==  sph_harm_y(n, m, phi, theta)

with the old argument names: order m, degree n, theta = azimuthal angle in [0, 2π), phi = polar
angle in [0, π]. Verified against values recorded with SciPy 1.16 (Testing/core/data).
`scipy.ndimage.interpolation.map_coordinates`, also imported there, is deprecated; we point it at
`scipy.ndimage.map_coordinates` so no deprecation warning is raised.
"""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path


def sph_harm(m, n, theta, phi):
    """Spherical harmonic Y_n^m(theta azimuth, phi polar), SciPy ≤ 1.16 signature.

    SciPy < 1.15 (e.g. 1.13.1 in 3D Slicer 5.10) has no `sph_harm_y`: its own `sph_harm` is used.
    """
    import scipy.special

    if hasattr(scipy.special, "sph_harm_y"):
        return scipy.special.sph_harm_y(n, m, phi, theta)
    return scipy.special.sph_harm(m, n, theta, phi)


def install_scipy_shims() -> list[str]:
    """Install missing SciPy names PyRadiomics needs; return which were installed. Idempotent."""
    import sys
    import types

    import scipy.ndimage
    import scipy.special

    installed = []
    if not hasattr(scipy.special, "sph_harm"):
        scipy.special.sph_harm = sph_harm
        installed.append("scipy.special.sph_harm")
    mod = sys.modules.get("scipy.ndimage.interpolation")
    if mod is None or not getattr(mod, "__modic_shim__", False):
        shim = types.ModuleType("scipy.ndimage.interpolation")
        shim.map_coordinates = scipy.ndimage.map_coordinates
        shim.__modic_shim__ = True
        sys.modules["scipy.ndimage.interpolation"] = shim
        scipy.ndimage.interpolation = shim
        installed.append("scipy.ndimage.interpolation")
    return installed


__all__ = ["install_scipy_shims", "parent_alive", "spawn_context", "sph_harm", "worker_executable"]


def worker_executable(executable: str | None = None, platform: str | None = None,
                      is_file=None) -> str | None:
    """The interpreter spawned worker processes should run, or None to keep `sys.executable`.

    Inside 3D Slicer `sys.executable` is `PythonSlicer`, a CTK launcher that sets the environment and
    starts `python-real` as its *child*: a worker spawned with it would have the launcher, not Slicer,
    as parent, and `terminate()` would stop only the launcher. Slicer's own process already carries what
    PythonSlicer would set (Slicer's launcher sets PYTHONHOME, PYTHONNOUSERSITE, PYTHONPATH, the library
    paths and `LibraryPaths` for Windows DLL directories: External_python.cmake,
    SlicerBlockCTKAppLauncherSettings.cmake), so workers run `python-real` directly. The layouts
    (SlicerBlockInstallPython.cmake: python-real next to PythonSlicer): Linux `<Slicer>/bin/PythonSlicer`,
    macOS `Slicer.app/Contents/bin/PythonSlicer`, Windows
    `<Slicer>\\bin\\PythonSlicer.exe`. When `sys.executable` is not a Python at all (the Slicer
    application), `python-real`, else `PythonSlicer`, next to it or in `../bin` is used.
    """
    from pathlib import PurePosixPath, PureWindowsPath

    executable = sys.executable if executable is None else executable
    platform = sys.platform if platform is None else platform
    is_file = is_file or (lambda p: Path(p).is_file())
    if not executable:
        return None
    windows = platform.startswith("win")
    exe = (PureWindowsPath if windows else PurePosixPath)(executable)
    suffix = ".exe" if windows else ""
    stem = exe.name[: -len(suffix)] if suffix and exe.name.lower().endswith(suffix) else exe.name
    if stem.lower() == "pythonslicer":
        real = exe.with_name("python-real" + suffix)
        return str(real) if is_file(str(real)) else None
    if "python" in stem.lower():
        return None
    for folder in (exe.parent, exe.parent.parent / "bin"):
        for base in ("python-real", "PythonSlicer"):
            if is_file(str(folder / (base + suffix))):
                return str(folder / (base + suffix))
    return None


def spawn_context() -> multiprocessing.context.BaseContext:
    """The spawn start method, with `worker_executable()` as interpreter inside 3D Slicer."""
    ctx = multiprocessing.get_context("spawn")
    exe = worker_executable()
    if exe:
        ctx.set_executable(exe)
    return ctx


def parent_alive(parent_pid: int) -> bool:
    """True while the process that spawned this worker runs.

    Uses multiprocessing's parent sentinel (a pipe on POSIX, a process handle on Windows), which stays
    right when a launcher sits between the parent and this process; falls back to the parent pid.
    """
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None:
        try:
            return parent.is_alive()
        except (OSError, ValueError):  # pragma: no cover - sentinel closed
            return False
    import os

    return os.getppid() == parent_pid
