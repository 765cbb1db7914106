import logging
import os
from typing import Annotated

import qt
import slicer
import vtk
from slicer import vtkMRMLTableNode
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

# Options of modic.stats (kept equal to the core's lists by a test; the core is not imported here).
SCREEN_TESTS = ("kw", "mwu")
CORRELATION_METHODS = ("spearman", "pearson")


#
# ModicCohortStats
#


class ModicCohortStats(ScriptedLoadableModule):
    """Cohort statistics for Modic changes: batch feature extraction, Tables 1-2, radiomics selection,
    SVM with honest validation, pain/age correlation, report and model file."""

    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("Modic Cohort Stats")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Quantification")]
        self.parent.dependencies = ["ModicAnalysis", "Plots", "Tables"]
        self.parent.contributors = ["ModicRadiomics developers (ModicRadiomics project)"]
        self.parent.helpText = _("""
Run feature extraction for a cohort (manifest CSV: case_id, t1/t2/fs image paths, lesion mask,
modic_type, odi, vas, age, ...), then the statistics of the paper: Table 1 (shape features by Modic
type, Kruskal-Wallis), Table 2 (Dunn post-hoc), radiomics feature selection, SVM classifier with
paper-style and nested cross-validation, and correlation with ODI / VAS / age. The trained model can
be used in Modic Analysis. Needs 3D Slicer 5.10 or later. See
<a href="https://github.com/ModicRadiomics/ModicRadiomics#readme">the documentation</a>.
""")
        self.parent.acknowledgementText = _("""
Method after Guo, Xiao and Xing (2025), "Analysis of Morphological Characteristics of Modic Changes in
the Lumbar Spine Based on MRI Imaging Omics". Features are computed with PyRadiomics.
""")


#
# ModicCohortStatsParameterNode
#


@parameterNodeWrapper
class ModicCohortStatsParameterNode:
    """Parameters of the cohort run (used by the widget; batch code calls the logic directly).

    manifestPath, featuresPath, outputDir - input manifest, feature table CSV, report folder.
    paramsPath - PyRadiomics parameter file (empty: the paper's settings).
    jobs - worker processes for extraction; segmentFromSeeds - segment from the manifest's seed_lps.
    screen, correlationMethod, randomSeed - statistics options.
    table1Table, table2Table, correlationTable - result table nodes; modelPath - trained model file.
    """

    manifestPath: str = ""
    featuresPath: str = ""
    outputDir: str = ""
    paramsPath: str = ""
    jobs: Annotated[int, WithinRange(1, 64)] = 1
    segmentFromSeeds: bool = False
    screen: Annotated[str, Choice(list(SCREEN_TESTS))] = "kw"
    correlationMethod: Annotated[str, Choice(list(CORRELATION_METHODS))] = "spearman"
    randomSeed: Annotated[int, WithinRange(0, 1_000_000)] = 0
    table1Table: vtkMRMLTableNode
    table2Table: vtkMRMLTableNode
    correlationTable: vtkMRMLTableNode
    modelPath: str = ""


#
# ModicCohortStatsWidget
#


class ModicCohortStatsWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """GUI: file inputs, extraction with progress/cancel, statistics results as tables and plots."""

    PATH_FIELDS = {"manifestPathLineEdit": "manifestPath", "featuresPathLineEdit": "featuresPath",
                   "outputDirLineEdit": "outputDir", "paramsPathLineEdit": "paramsPath"}

    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._outputs = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/ModicCohortStats.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)

        self.logic = ModicCohortStatsLogic()

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        for widgetName, parameter in self.PATH_FIELDS.items():
            getattr(self.ui, widgetName).connect(
                "currentPathChanged(QString)", lambda path, p=parameter: self._setPath(p, path))
        self.ui.extractButton.connect("clicked(bool)", self.onExtractButton)
        self.ui.statsButton.connect("clicked(bool)", self.onStatsButton)
        self.ui.pushModelButton.connect("clicked(bool)", self.onPushModelButton)
        self.ui.openReportButton.connect("clicked(bool)", self.onOpenReportButton)
        self.ui.table1Selector.connect("currentNodeChanged(vtkMRMLNode*)", self.ui.resultTableView.setMRMLTableNode)

        self.initializeParameterNode()

    def cleanup(self) -> None:
        self.removeObservers()

    def enter(self) -> None:
        self.initializeParameterNode()

    def exit(self) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._onParameterNodeModified)

    def onSceneStartClose(self, caller, event) -> None:
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event) -> None:
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())

    def setParameterNode(self, inputParameterNode) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._onParameterNodeModified)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._onParameterNodeModified)
            self._onParameterNodeModified()

    def _setPath(self, parameter: str, path: str) -> None:
        if self._parameterNode and getattr(self._parameterNode, parameter) != path:
            setattr(self._parameterNode, parameter, path)

    def _onParameterNodeModified(self, caller=None, event=None) -> None:
        node = self._parameterNode
        if node is None:
            return
        for widgetName, parameter in self.PATH_FIELDS.items():
            widget = getattr(self.ui, widgetName)
            if widget.currentPath != getattr(node, parameter):
                widget.currentPath = getattr(node, parameter)
        self.ui.extractButton.enabled = bool(node.manifestPath and node.featuresPath)
        self.ui.statsButton.enabled = bool(node.manifestPath and node.featuresPath and node.outputDir)
        self.ui.modelPathLabel.text = node.modelPath or "-"
        self.ui.pushModelButton.enabled = bool(node.modelPath) and os.path.isfile(node.modelPath)
        self.ui.openReportButton.enabled = bool(node.outputDir) and os.path.isdir(node.outputDir)

    # ------------------------------------------------------------------ helpers
    def _ensureDependencies(self) -> bool:
        """Install missing Python packages after asking (shared with ModicAnalysis)."""
        from ModicAnalysisLib.gui import ensureDependencies

        return ensureDependencies()

    # ------------------------------------------------------------------ buttons
    def onExtractButton(self) -> None:
        node = self._parameterNode
        self.ui.statusLabel.text = ""
        with slicer.util.tryWithErrorDisplay(_("Cohort feature extraction failed."), waitCursor=True):
            if not self._ensureDependencies():
                return
            dialog = slicer.util.createProgressDialog(parent=slicer.util.mainWindow(), value=0, maximum=1,
                                                      labelText=_("Extracting features"),
                                                      windowTitle=_("Modic Cohort Stats"))
            state = {"done": 0, "total": 1, "message": "", "cancel": False}

            def progress(done: int, total: int, message: str) -> bool:  # runs in the worker thread
                state.update(done=done, total=total, message=message)
                return not state["cancel"]

            def poll() -> None:  # GUI thread: the dialog stays responsive during long cases
                dialog.maximum = max(1, state["total"])
                dialog.value = state["done"]
                dialog.labelText = f"{state['done']} / {state['total']} " + _("cases") + f"\n{state['message']}"
                if dialog.wasCanceled and not state["cancel"]:
                    state["cancel"] = True
                    dialog.labelText = _("Cancelling after the running case(s)…")
                slicer.app.processEvents()

            from ModicAnalysisLib.gui import runInBackground

            core = self.logic.core()
            try:
                result = runInBackground(lambda: core.runExtraction(
                    node.manifestPath, node.featuresPath, params=node.paramsPath or None, jobs=node.jobs,
                    segment=node.segmentFromSeeds, progress=progress), poll)
            finally:
                dialog.close()
            if result.cancelled:
                self.ui.statusLabel.text = _("Cancelled after {ok} of {n} cases; finished cases are cached and "
                                             "skipped when you run again.").format(ok=result.n_ok, n=result.n_cases)
            else:
                failed = _(", {n} failed (see {path})").format(n=result.n_failed, path=result.errors_csv) \
                    if result.n_failed else ""
                self.ui.statusLabel.text = _("{ok} of {n} cases extracted{failed} → {path}").format(
                    ok=result.n_ok, n=result.n_cases, failed=failed, path=result.out_csv)

    def onStatsButton(self) -> None:
        node = self._parameterNode
        self.ui.statusLabel.text = ""
        with slicer.util.tryWithErrorDisplay(_("Cohort statistics failed."), waitCursor=True):
            if not self._ensureDependencies():
                return

            def progress(message: str) -> None:
                self.ui.statusLabel.text = message
                slicer.app.processEvents()

            tableNodes = {"Table 1": node.table1Table, "Table 2": node.table2Table,
                          "Correlation": node.correlationTable}
            outputs = self.logic.core().runStatistics(
                node.featuresPath, node.manifestPath, node.outputDir, tableNodes=tableNodes, progress=progress,
                screen=node.screen, correlation=node.correlationMethod, seed=node.randomSeed)
            self._outputs = outputs
            node.table1Table = outputs.tableNodes.get("Table 1")
            node.table2Table = outputs.tableNodes.get("Table 2")
            node.correlationTable = outputs.tableNodes.get("Correlation")
            node.modelPath = str(outputs.modelPath) if outputs.modelPath else ""
            if node.table1Table is not None:
                self.ui.resultTableView.setMRMLTableNode(node.table1Table)
            if outputs.chartNode is not None:
                viewNode = self.logic.core().plotViewNode(outputs.chartNode)
                self.ui.plotWidget.setMRMLPlotViewNode(viewNode)
            self.ui.summaryLabel.text = outputs.stats.summary if outputs.stats else ""
            self.logic.loadFigures(outputs.figurePaths)
            self.ui.statusLabel.text = _("Report written to {path}").format(path=outputs.outDir)

    def onPushModelButton(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Could not hand the model to Modic Analysis.")):
            self.logic.pushModelToAnalysis(self._parameterNode.modelPath)
            self.ui.statusLabel.text = _("Modic Analysis now uses this model.")

    def onOpenReportButton(self) -> None:
        qt.QDesktopServices.openUrl(qt.QUrl.fromLocalFile(self._parameterNode.outputDir))


#
# ModicCohortStatsLogic
#


class ModicCohortStatsLogic(ScriptedLoadableModuleLogic):
    """Slicer-side logic: parameter node access plus the headless ModicCohortStatsLogicCore.

    Batch use::

        logic = slicer.util.getModuleLogic("ModicCohortStats").core()
        batch = logic.runExtraction("manifest.csv", "features.csv", jobs=2)
        outputs = logic.runStatistics("features.csv", "manifest.csv", "report")
    """

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)

    def getParameterNode(self):
        return ModicCohortStatsParameterNode(super().getParameterNode())

    def core(self):
        """The headless cohort logic on the application's scene."""
        from ModicCohortStatsLib.logic import ModicCohortStatsLogicCore

        return ModicCohortStatsLogicCore(slicer.mrmlScene)

    def pushModelToAnalysis(self, modelPath) -> None:
        """Set ModicAnalysis' model file (its parameter node; an open GUI follows)."""
        try:
            slicer.util.getModuleLogic("ModicAnalysis").setModelPath(modelPath)
        except Exception:  # module logic not available: write the parameter node directly
            logging.debug("ModicAnalysis logic unavailable; setting its parameter node directly")
        self.core().pushModelToAnalysis(modelPath)

    @staticmethod
    def loadFigures(paths) -> None:
        """Load the report's PNG figures as volumes (slice views / Data module), replacing those of an earlier
        run; they are marked so that Modic Analysis never preselects them as MRI volumes."""
        from ModicAnalysisLib.selection import FIGURE_ATTRIBUTE

        for old in slicer.util.getNodesByClass("vtkMRMLScalarVolumeNode"):
            if old.GetAttribute(FIGURE_ATTRIBUTE):
                slicer.mrmlScene.RemoveNode(old)
        for path in paths:
            try:
                node = slicer.util.loadVolume(str(path), {"singleFile": True, "show": False})
                node.SetAttribute(FIGURE_ATTRIBUTE, str(path))
            except Exception as exc:  # a figure that cannot be loaded must not hide the results
                logging.warning("Could not load figure %s: %s", path, exc)


#
# ModicCohortStatsTest
#


class ModicCohortStatsTest(ScriptedLoadableModuleTest):
    """Self-test: a small phantom cohort (core generator, no network) through extraction and statistics.

    The same checks (ModicCohortStatsLib.selftest) run headless in Testing/slicer on slicer-core.
    """

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        from ModicAnalysisLib.gui import ensureDependencies

        self.assertTrue(ensureDependencies(interactive=False), "required Python packages are missing")
        self.setUp()
        self.test_ResultNodes()
        self.setUp()
        self.test_PhantomCohort()

    def test_ResultNodes(self):
        from ModicCohortStatsLib import selftest

        report = selftest.checkResultNodes(slicer.mrmlScene)
        self.assertEqual(report["pColumnClass"], "vtkDoubleArray")
        self.assertEqual(report["numberOfSeries"], 2)
        self.assertTrue(report["modelPushed"])

    def test_PhantomCohort(self):
        import tempfile

        from ModicCohortStatsLib import selftest

        self.delayDisplay("Phantom cohort: extraction and statistics")
        with tempfile.TemporaryDirectory() as folder:
            report = selftest.runPhantomCohort(slicer.mrmlScene, folder)
            self.assertEqual(report["numberOfOk"], report["numberOfCases"])
            self.assertFalse(report["cancelled"])
            self.assertTrue(report["cancelledEarly"])
            for name in ("Table 1", "Table 2", "Correlation"):
                self.assertIn(name, report["tableNodes"])
            self.assertEqual(report["table1Rows"], 15)
            self.assertTrue(report["modelExists"])
            self.assertEqual(report["analysisModelPath"], report["modelPath"])
        self.delayDisplay("Phantom cohort passed")
