"""Widget-side helpers of the two modules (need a running Slicer, except where a function says otherwise).

`slicer` and `qt` are imported inside the functions, so importing this file needs neither.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def ensureDependencies(interactive: bool = True) -> bool:
    """Install missing requirements (asking first when `interactive`); False if declined or still missing."""
    from ModicAnalysisLib import dependencies

    return dependencies.ensureInSlicer(interactive=interactive)


def runWithProgress(title: str, windowTitle: str, function: Callable[[Callable[[float, str], bool]], Any],
                    statusLabel) -> Any:
    """Run `function(progress)` with a cancellable progress dialog, error display and status text.

    `progress(fraction, message)` returns False once Cancel was pressed; the core then raises
    `AnalysisCancelled` from inside the step, so a long single case stops promptly.
    """
    import slicer
    from slicer.i18n import tr as _

    from ModicAnalysisLib.core import AnalysisCancelled

    statusLabel.text = ""
    result = None
    with slicer.util.tryWithErrorDisplay(_("{title} failed.").format(title=title), waitCursor=True):
        if not ensureDependencies():
            statusLabel.text = _("Missing Python packages were not installed.")
            return None
        dialog = slicer.util.createProgressDialog(parent=slicer.util.mainWindow(), value=0, maximum=100,
                                                  labelText=title, windowTitle=windowTitle)
        dialog.setCancelButtonText(_("Cancel"))

        def progress(fraction: float, message: str) -> bool:
            dialog.setValue(int(round(100 * max(0.0, min(1.0, fraction)))))
            if message:
                dialog.setLabelText(message)
            slicer.app.processEvents()
            return not dialog.wasCanceled

        try:
            result = function(progress)
            statusLabel.text = _("{title}: done.").format(title=title)
        except AnalysisCancelled:
            statusLabel.text = _("{title}: cancelled.").format(title=title)
        finally:
            dialog.close()
    return result


def runInBackground(function: Callable[[], Any], poll: Callable[[], None], interval: float = 0.05) -> Any:
    """Run `function()` in a worker thread while the caller's thread calls `poll()` (e.g. to process GUI
    events and update a progress dialog) every `interval` s; returns its result or raises its exception.

    Headless: works without Slicer (tested). `function` must not touch MRML or Qt: it runs off the GUI thread.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = function()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="ModicRadiomics-worker", daemon=True)
    worker.start()
    while worker.is_alive():
        poll()
        worker.join(interval)
    poll()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


def keepOnlyLastPoint(markupsNode) -> None:
    """Keep only the most recently placed control point of a point list (headless; any MRML scene).

    The lesion point list holds one point: a newly placed point replaces the previous one.
    """
    count = markupsNode.GetNumberOfControlPoints()
    if count <= 1:
        return
    wasModifying = markupsNode.StartModify()
    for index in range(count - 2, -1, -1):
        markupsNode.RemoveNthControlPoint(index)
    markupsNode.EndModify(wasModifying)


def jumpSlicesToRas(pointRas) -> None:
    """Centre all slice views on a point given in RAS millimetres."""
    import slicer

    r, a, s = (float(v) for v in pointRas)
    slicer.modules.markups.logic().JumpSlicesToLocation(r, a, s, True)

