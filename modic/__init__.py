"""ModicRadiomics headless core: Modic-change lesions in lumbar spine MRI → masks, PyRadiomics
features, Modic type, cohort statistics.

Never imports slicer, qt, ctk or vtk. Coordinates: every point is LPS millimetres unless its name
or docstring says RAS.
"""

from modic.errors import ModicInputError

__version__ = "0.1.0"
SEQUENCES: tuple[str, ...] = ("T1", "T2", "FS")

__all__ = ["ModicInputError", "SEQUENCES", "__version__"]
