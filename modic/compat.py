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
    """Spherical harmonic Y_n^m(theta azimuth, phi polar), SciPy ≤ 1.16 signature."""
    from scipy.special import sph_harm_y

    return sph_harm_y(n, m, phi, theta)


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


__all__ = ["install_scipy_shims", "sph_harm"]


def spawn_context() -> multiprocessing.context.BaseContext:
    """The spawn start method; inside 3D Slicer (whose executable is not a Python interpreter) the
    workers are started with the `PythonSlicer` launcher next to it."""
    ctx = multiprocessing.get_context("spawn")
    exe = Path(sys.executable)
    if "python" not in exe.name.lower():
        for cand in (exe.with_name("PythonSlicer"), exe.with_name("PythonSlicer.exe"),
                     exe.parent.parent / "bin" / "PythonSlicer"):
            if cand.is_file():
                ctx.set_executable(str(cand))
                break
    return ctx
