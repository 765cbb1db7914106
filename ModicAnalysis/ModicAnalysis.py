import logging
import os
from typing import Annotated

import slicer
import vtk
from slicer import (
    vtkMRMLMarkupsFiducialNode,
    vtkMRMLScalarVolumeNode,
    vtkMRMLSegmentationNode,
    vtkMRMLTableNode,
)
from slicer.parameterNodeWrapper import Choice, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

# Normalisation methods of modic.normalize (kept equal to modic.normalize.METHODS by a test; the core
# cannot be imported here, at file scope).
NORMALIZATION_METHODS = ("zscore-reference", "zscore-image", "pyradiomics", "none")
SEQUENCES = ("T1", "T2", "FS")


#
# ModicAnalysis
#


class ModicAnalysis(ScriptedLoadableModule):
    """Per-case Modic-change analysis: segment the lesion from a click, extract PyRadiomics features,
    type the lesion from its signal pattern and classify it with a trained model."""

    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "Modic Analysis"
        self.parent.categories = ["Quantification"]
        self.parent.dependencies = []
        self.parent.contributors = ["ModicRadiomics contributors"]
        self.parent.helpText = """
Analyse one lumbar spine MRI case (T1, T2 and fat-suppressed sagittal volumes): place a point on a
Modic lesion (or select an existing segmentation), then Segment, Extract (PyRadiomics features) and
Classify (signal-pattern type and model prediction), or Analyse all in one go.
The default model is a <b>synthetic demo model</b> trained on phantoms: train a real one with the
Modic Cohort Stats module. See <a href="https://github.com/ModicRadiomics/ModicRadiomics#readme">the
documentation</a>.
"""
        self.parent.acknowledgementText = """
Method after Guo, Xiao and Xing (2025), "Analysis of Morphological Characteristics of Modic Changes in
the Lumbar Spine Based on MRI Imaging Omics". Features are computed with PyRadiomics.
"""


#
# ModicAnalysisParameterNode
#


@parameterNodeWrapper
class ModicAnalysisParameterNode:
    """Parameters of the per-case analysis (used by the widget; batch code calls the logic directly).

    t1Volume, t2Volume, fsVolume - input volumes (any non-empty subset).
    seedPoints - point list; its first point (RAS in the scene) marks the lesion.
    inputSegmentation - optional existing lesion segmentation, used instead of the seed.
    outputSegmentation, outputTable - results (created when empty).
    modelPath - model file (.skops); empty: the shipped synthetic demo model.
    paramsPath - PyRadiomics parameter file; empty: the paper's settings.
    """

    t1Volume: vtkMRMLScalarVolumeNode
    t2Volume: vtkMRMLScalarVolumeNode
    fsVolume: vtkMRMLScalarVolumeNode
    seedPoints: vtkMRMLMarkupsFiducialNode
    inputSegmentation: vtkMRMLSegmentationNode
    outputSegmentation: vtkMRMLSegmentationNode
    outputTable: vtkMRMLTableNode
    modelPath: str = ""
    paramsPath: str = ""
    normalization: Annotated[str, Choice(list(NORMALIZATION_METHODS))] = "zscore-image"
    caseId: str = "case"


#
# ModicAnalysisWidget
#


class ModicAnalysisWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """GUI: binds inputs to the parameter node, runs the logic with a progress dialog, shows results."""

    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/ModicAnalysis.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)

        self.logic = ModicAnalysisLogic()

        for method in NORMALIZATION_METHODS:
            self.ui.normalizationComboBox.addItem(method)
        self.ui.seedPlaceWidget.setMRMLScene(slicer.mrmlScene)
        self.ui.seedPlaceWidget.placeMultipleMarkups = slicer.qSlicerMarkupsPlaceWidget.ForcePlaceSingleMarkup
        self.ui.seedPlaceWidget.buttonsVisible = False
        self.ui.seedPlaceWidget.placeButton().show()
        self.ui.seedSelector.connect("currentNodeChanged(vtkMRMLNode*)", self.ui.seedPlaceWidget.setCurrentNode)

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        self.ui.modelPathLineEdit.connect("currentPathChanged(QString)", self.onModelPathEdited)
        self.ui.paramsPathLineEdit.connect("currentPathChanged(QString)", self.onParamsPathEdited)
        self.ui.segmentButton.connect("clicked(bool)", self.onSegmentButton)
        self.ui.extractButton.connect("clicked(bool)", self.onExtractButton)
        self.ui.classifyButton.connect("clicked(bool)", self.onClassifyButton)
        self.ui.analyzeAllButton.connect("clicked(bool)", self.onAnalyzeAllButton)

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
        """Create/observe the parameter node and preselect volumes whose names say T1, T2 or FS/STIR."""
        self.setParameterNode(self.logic.getParameterNode())
        node = self._parameterNode
        volumes = slicer.util.getNodesByClass("vtkMRMLScalarVolumeNode")
        keys = {"t1Volume": ("T1",), "t2Volume": ("T2",), "fsVolume": ("FS", "STIR", "FAT")}
        for attribute, words in keys.items():
            if getattr(node, attribute) is None:
                for volume in volumes:
                    if any(w in volume.GetName().upper() for w in words):
                        setattr(node, attribute, volume)
                        break
        if not node.modelPath:
            node.modelPath = self.logic.defaultModelPath()

    def setParameterNode(self, inputParameterNode) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._onParameterNodeModified)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._onParameterNodeModified)
            self._onParameterNodeModified()

    def _onParameterNodeModified(self, caller=None, event=None) -> None:
        """Sync the path fields, the model label and the button states with the parameter node."""
        node = self._parameterNode
        if node is None:
            return
        if self.ui.modelPathLineEdit.currentPath != node.modelPath:
            self.ui.modelPathLineEdit.currentPath = node.modelPath
        if self.ui.paramsPathLineEdit.currentPath != node.paramsPath:
            self.ui.paramsPathLineEdit.currentPath = node.paramsPath
        self.ui.modelKindLabel.text = self.logic.modelDescription(node.modelPath)
        hasInput = any((node.t1Volume, node.t2Volume, node.fsVolume))
        hasLesion = node.seedPoints is not None or node.inputSegmentation is not None
        self.ui.segmentButton.enabled = hasInput and node.seedPoints is not None
        self.ui.extractButton.enabled = hasInput and (node.outputSegmentation is not None
                                                      or node.inputSegmentation is not None)
        self.ui.classifyButton.enabled = hasInput and node.outputTable is not None
        self.ui.analyzeAllButton.enabled = hasInput and hasLesion
        if node.outputTable is not None:
            self.ui.featureTableView.setMRMLTableNode(node.outputTable)
            self._showTyping(self.logic.caseLogic().readTyping(node.outputTable))

    def onModelPathEdited(self, path: str) -> None:
        if self._parameterNode and self._parameterNode.modelPath != path:
            self._parameterNode.modelPath = path

    def onParamsPathEdited(self, path: str) -> None:
        if self._parameterNode and self._parameterNode.paramsPath != path:
            self._parameterNode.paramsPath = path

    # ------------------------------------------------------------------ helpers
    def _volumeNodes(self) -> dict:
        node = self._parameterNode
        return {"T1": node.t1Volume, "T2": node.t2Volume, "FS": node.fsVolume}

    def _ensureDependencies(self) -> bool:
        """Install missing Python packages after asking (never at import). False if the user declines."""
        from ModicAnalysisLib import dependencies

        missing = dependencies.missingRequirements()
        if not missing:
            return True
        try:
            import slicer.packaging

            slicer.packaging.pip_ensure(missing, requester="ModicRadiomics")
            return not dependencies.missingRequirements()
        except ImportError:
            pass
        except RuntimeError:  # declined in pip_ensure's dialog
            return False

        def install(requirements):
            slicer.util.pip_install(requirements)

        return dependencies.ensureDependencies(install, slicer.util.confirmOkCancelDisplay)

    def _run(self, title: str, function) -> None:
        """Run `function(progress)` with a cancellable progress dialog and error display."""
        from ModicAnalysisLib.core import AnalysisCancelled

        self.ui.statusLabel.text = ""
        with slicer.util.tryWithErrorDisplay(f"{title} failed.", waitCursor=True):
            if not self._ensureDependencies():
                self.ui.statusLabel.text = "Missing Python packages were not installed."
                return
            dialog = slicer.util.createProgressDialog(parent=slicer.util.mainWindow(), value=0, maximum=100,
                                                      labelText=title, windowTitle="Modic Analysis")
            dialog.setCancelButtonText("Cancel")

            def progress(fraction: float, message: str) -> bool:
                dialog.setValue(int(round(100 * max(0.0, min(1.0, fraction)))))
                if message:
                    dialog.setLabelText(message)
                slicer.app.processEvents()
                return not dialog.wasCanceled

            try:
                function(progress)
                self.ui.statusLabel.text = f"{title}: done."
            except AnalysisCancelled:
                self.ui.statusLabel.text = f"{title}: cancelled."
            finally:
                dialog.close()

    def _params(self):
        return self._parameterNode.paramsPath or None

    def _showResults(self, segmentationNode=None, tableNode=None) -> None:
        node = self._parameterNode
        if segmentationNode is not None:
            node.outputSegmentation = segmentationNode
            segmentationNode.CreateDefaultDisplayNodes()
        if tableNode is not None:
            node.outputTable = tableNode
            self.ui.featureTableView.setMRMLTableNode(tableNode)
            self._showTyping(self.logic.caseLogic().readTyping(tableNode))

    def _showTyping(self, typing: dict) -> None:
        names = {"1": "Type I", "2": "Type II", "3": "Type III", "I": "Type I", "II": "Type II",
                 "III": "Type III", "I/II": "Type I/II", "II/III": "Type II/III"}
        self.ui.signalTypeLabel.text = names.get(typing["SignalPatternType"], typing["SignalPatternType"] or "-")
        self.ui.signalRatiosLabel.text = typing["SignalRatios"].replace(";", ", ") or "-"
        self.ui.predictedTypeLabel.text = names.get(typing["PredictedType"], typing["PredictedType"] or "-")
        if typing["PredictedType"] and typing["ModelFile"]:
            self.ui.predictedTypeLabel.text += f"  ({self.logic.modelDescription(typing['ModelFile'])})"
        probabilities = [p.split("=") for p in typing["Probabilities"].split(";") if "=" in p]
        self.ui.probabilitiesLabel.text = ", ".join(
            f"{names.get(k, k)}: {float(v):.2f}" for k, v in probabilities) or "-"

    # ------------------------------------------------------------------ buttons
    def onSegmentButton(self) -> None:
        node = self._parameterNode

        def work(progress):
            segmentationNode = self.logic.caseLogic().segment(
                self._volumeNodes(), seedMarkupsNode=node.seedPoints,
                segmentationNode=node.outputSegmentation, progress=progress)
            self._showResults(segmentationNode=segmentationNode)

        self._run("Segmentation", work)

    def onExtractButton(self) -> None:
        node = self._parameterNode

        def work(progress):
            segmentationNode = node.inputSegmentation or node.outputSegmentation
            result = self.logic.caseLogic().extract(self._volumeNodes(), segmentationNode, node.outputTable,
                                                    params=self._params(), caseId=node.caseId, progress=progress)
            self._showResults(tableNode=result.tableNode)

        self._run("Feature extraction", work)

    def onClassifyButton(self) -> None:
        node = self._parameterNode

        def work(progress):
            segmentationNode = node.inputSegmentation or node.outputSegmentation
            self.logic.caseLogic().classify(self._volumeNodes(), segmentationNode, node.outputTable,
                                            modelPath=node.modelPath or None)
            self._showResults(tableNode=node.outputTable)

        self._run("Classification", work)

    def onAnalyzeAllButton(self) -> None:
        node = self._parameterNode

        def work(progress):
            result = self.logic.caseLogic().analyzeCase(
                self._volumeNodes(), seedMarkupsNode=node.seedPoints,
                inputSegmentationNode=node.inputSegmentation, modelPath=node.modelPath or None,
                params=self._params(), outputSegmentationNode=node.outputSegmentation,
                outputTableNode=node.outputTable, caseId=node.caseId, normalization=node.normalization,
                progress=progress)
            self._showResults(result.segmentationNode, result.tableNode)

        self._run("Analysis", work)


#
# ModicAnalysisLogic
#


class ModicAnalysisLogic(ScriptedLoadableModuleLogic):
    """Slicer-side logic: parameter node access plus the headless ModicAnalysisCaseLogic.

    Batch use (Slicer Python console or `Slicer --no-main-window --python-script`)::

        logic = slicer.util.getModuleLogic("ModicAnalysis")
        result = logic.analyzeCase({"T1": t1, "T2": t2, "FS": fs}, seedMarkupsNode=points)
        logic.writeTable(result.tableNode, "/tmp/features.csv")
    """

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)

    def getParameterNode(self):
        return ModicAnalysisParameterNode(super().getParameterNode())

    def caseLogic(self):
        """The headless per-case logic on the application's scene."""
        from ModicAnalysisLib.logic import ModicAnalysisCaseLogic

        return ModicAnalysisCaseLogic(slicer.mrmlScene)

    def analyzeCase(self, volumeNodes, **kwargs):
        """Segment, extract and classify one case; see ModicAnalysisCaseLogic.analyzeCase."""
        return self.caseLogic().analyzeCase(volumeNodes, **kwargs)

    def process(self, volumeNodes, **kwargs):
        """Same as analyzeCase (template-style name)."""
        return self.analyzeCase(volumeNodes, **kwargs)

    def writeTable(self, tableNode, path):
        """Write a feature table node to CSV."""
        return self.caseLogic().writeTable(tableNode, path)

    def setModelPath(self, path) -> None:
        """Use `path` as model file (called by ModicCohortStats after training)."""
        self.getParameterNode().modelPath = str(path)

    @staticmethod
    def defaultModelPath() -> str:
        """The synthetic demo model shipped with the core, or "" when the core is not importable."""
        try:
            from ModicAnalysisLib.core import defaultModelPath

            return defaultModelPath()
        except ImportError:
            logging.warning("ModicAnalysis: the modic core package is not importable yet")
            return ""

    @staticmethod
    def modelDescription(path) -> str:
        """Label text for a model file: "synthetic demo model" for the shipped one."""
        if not path:
            return "no model (signal-pattern type only)"
        try:
            from ModicAnalysisLib.core import DEMO_MODEL_LABEL, isDemoModel

            if isDemoModel(path):
                return DEMO_MODEL_LABEL
        except ImportError:
            pass
        if not os.path.isfile(path):
            return "model file not found"
        return f"model: {os.path.basename(path)}"


#
# ModicAnalysisTest
#


class ModicAnalysisTest(ScriptedLoadableModuleTest):
    """Self-test: builds phantom cases with the core (no network) and checks numbers end to end.

    The same checks (ModicAnalysisLib.selftest) run headless in Testing/slicer on slicer-core.
    """

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_GeometryRoundTrip()
        self.setUp()
        self.test_TableNode()
        self.setUp()
        self.test_AnalyzePhantomCase()

    def test_GeometryRoundTrip(self):
        from ModicAnalysisLib import selftest

        self.delayDisplay("Volume and segmentation round trip (sagittal, anisotropic)")
        report = selftest.checkGeometryRoundTrip(slicer.mrmlScene)
        self.assertTrue(report["volumeExact"])
        self.assertTrue(report["segmentationExact"])
        self.delayDisplay("Round trip passed")

    def test_TableNode(self):
        from ModicAnalysisLib import selftest

        report = selftest.checkFeatureTable(slicer.mrmlScene)
        self.assertEqual(report["numberOfColumns"], report["numberOfFeatures"] + 1)
        self.assertTrue(report["allDouble"])
        self.assertEqual(report["volumeUnit"], "mm3")

    def test_AnalyzePhantomCase(self):
        from ModicAnalysisLib import selftest

        self.delayDisplay("Analysing a phantom type I case")
        report = selftest.analyzePhantomCase(slicer.mrmlScene, modicType=1, seed=7)
        for seq, value in report["dice"].items():
            self.assertGreaterEqual(value, 0.8, f"Dice {seq}")
        self.assertEqual(report["numberOfColumns"], report["numberOfFeatures"] + 1)
        self.assertGreater(report["numberOfFeatures"], 100)
        self.assertEqual(report["signalCode"], report["trueType"])
        self.assertEqual(report["predictedType"], str(report["trueType"]))
        self.delayDisplay("Phantom analysis passed")
