import os
from typing import Annotated

import qt
import slicer
import vtk
from slicer import vtkMRMLMarkupsFiducialNode, vtkMRMLScalarVolumeNode, vtkMRMLSegmentationNode, vtkMRMLTableNode
from slicer.i18n import tr as _
from slicer.i18n import translate
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


class ModicAnalysis(ScriptedLoadableModule):
    """Per-case Modic-change analysis: segment the lesion from a click, extract PyRadiomics features,
    type the lesion from its signal pattern and classify it with a trained model."""

    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("Modic Analysis")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Quantification")]
        self.parent.dependencies = ["Markups", "Segmentations"]
        self.parent.contributors = ["ModicRadiomics developers (ModicRadiomics project)"]
        self.parent.helpText = _("""
Analyse one lumbar spine MRI case (T1, T2 and fat-suppressed sagittal volumes): place a point on a
Modic lesion (or select an existing segmentation), then Segment, Extract (PyRadiomics features) and
Classify (signal-pattern type and model prediction), or Analyse all in one go. Find vertebrae and
Find Modic changes label the spine and detect lesions without a click.
The default model is a <b>synthetic demo model</b> trained on phantoms: train a real one with the
Modic Cohort Stats module. Needs 3D Slicer 5.10 or later. See
<a href="https://github.com/ModicRadiomics/ModicRadiomics#readme">the documentation</a>.
""")
        self.parent.acknowledgementText = _("""
Method after Guo, Xiao and Xing (2025), "Analysis of Morphological Characteristics of Modic Changes in
the Lumbar Spine Based on MRI Imaging Omics". Features are computed with PyRadiomics.
""")
        from ModicAnalysisLib.dependencies import ensureCoreImportable

        ensureCoreImportable(os.path.dirname(os.path.abspath(parent.path)))


@parameterNodeWrapper
class ModicAnalysisParameterNode:
    """Parameters of the per-case analysis (used by the widget; batch code calls the logic directly).

    t1Volume, t2Volume, fsVolume - input volumes (any non-empty subset).
    seedPoints - point list; its point (RAS in the scene) marks the lesion (a new point replaces it).
    inputSegmentation - optional existing lesion segmentation, only read, used instead of the seed.
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


class ModicAnalysisWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """GUI: binds inputs to the parameter node, runs the logic with a progress dialog, shows results."""

    PATH_FIELDS = {"modelPathLineEdit": "modelPath", "paramsPathLineEdit": "paramsPath"}

    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._observedSeedNode = None
        self._anatomy = None
        self._detection = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/ModicAnalysis.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)

        self.logic = ModicAnalysisLogic()

        self.ui.seedPlaceWidget.setMRMLScene(slicer.mrmlScene)
        self.ui.seedPlaceWidget.placeMultipleMarkups = slicer.qSlicerMarkupsPlaceWidget.ForcePlaceSingleMarkup
        self.ui.seedPlaceWidget.buttonsVisible = False
        self.ui.seedPlaceWidget.placeButton().show()
        self.ui.seedSelector.connect("currentNodeChanged(vtkMRMLNode*)", self.ui.seedPlaceWidget.setCurrentNode)

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        for widgetName, parameter in self.PATH_FIELDS.items():
            getattr(self.ui, widgetName).connect(
                "currentPathChanged(QString)", lambda path, p=parameter: self._setPath(p, path))
        self.ui.segmentButton.connect("clicked(bool)", self.onSegmentButton)
        self.ui.extractButton.connect("clicked(bool)", self.onExtractButton)
        self.ui.classifyButton.connect("clicked(bool)", self.onClassifyButton)
        self.ui.analyzeAllButton.connect("clicked(bool)", self.onAnalyzeAllButton)
        self.ui.findVertebraeButton.connect("clicked(bool)", self.onFindVertebraeButton)
        self.ui.findModicChangesButton.connect("clicked(bool)", self.onFindModicChangesButton)
        self.ui.lesionTableView.connect("clicked(QModelIndex)", self.onLesionClicked)
        self.ui.exportDicomButton.connect("clicked(bool)", self.onExportDicomButton)

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
        self._anatomy = self._detection = None

    def onSceneEndClose(self, caller, event) -> None:
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        """Create/observe the parameter node and preselect T1, T2 and FS/STIR: DICOM series by their tags, other
        volumes by their names."""
        from ModicAnalysisLib import selection

        self.setParameterNode(self.logic.getParameterNode())
        node = self._parameterNode
        database = getattr(slicer, "dicomDatabase", None)
        tagReader = database.instanceValue if database is not None else None
        chosen = selection.preselect(slicer.util.getNodesByClass("vtkMRMLScalarVolumeNode"), tagReader)
        for attribute, sequence in (("t1Volume", "T1"), ("t2Volume", "T2"), ("fsVolume", "FS")):
            if getattr(node, attribute) is None and sequence in chosen:
                setattr(node, attribute, chosen[sequence])
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

    def _setPath(self, parameter: str, path: str) -> None:
        if self._parameterNode and getattr(self._parameterNode, parameter) != path:
            setattr(self._parameterNode, parameter, path)

    def _onParameterNodeModified(self, caller=None, event=None) -> None:
        """Sync the path fields, the model label, the seed observer and the button states."""
        node = self._parameterNode
        if node is None:
            return
        for widgetName, parameter in self.PATH_FIELDS.items():
            widget = getattr(self.ui, widgetName)
            if widget.currentPath != getattr(node, parameter):
                widget.currentPath = getattr(node, parameter)
        self.ui.modelKindLabel.text = self.logic.modelDescription(node.modelPath)
        self._observeSeedNode(node.seedPoints)
        hasInput = any((node.t1Volume, node.t2Volume, node.fsVolume))
        hasSegmentation = node.outputSegmentation is not None or node.inputSegmentation is not None
        hasLesion = node.seedPoints is not None or node.inputSegmentation is not None
        self.ui.segmentButton.enabled = hasInput and node.seedPoints is not None
        self.ui.extractButton.enabled = hasInput and hasSegmentation
        self.ui.classifyButton.enabled = hasInput and hasSegmentation and node.outputTable is not None
        self.ui.analyzeAllButton.enabled = hasInput and hasLesion
        self.ui.findVertebraeButton.enabled = hasInput
        self.ui.findModicChangesButton.enabled = hasInput
        self.ui.exportDicomButton.enabled = hasInput and hasSegmentation
        if node.outputTable is not None:
            self.ui.featureTableView.setMRMLTableNode(node.outputTable)
            self._showTyping(node.outputTable)

    def _observeSeedNode(self, seedNode) -> None:
        """A newly placed lesion point replaces the previous one (the logic uses a single point)."""
        if seedNode is self._observedSeedNode:
            return
        event = slicer.vtkMRMLMarkupsNode.PointPositionDefinedEvent
        if self._observedSeedNode is not None:
            self.removeObserver(self._observedSeedNode, event, self._onSeedPointDefined)
        self._observedSeedNode = seedNode
        if seedNode is not None:
            self.addObserver(seedNode, event, self._onSeedPointDefined)

    def _onSeedPointDefined(self, caller, event) -> None:
        from ModicAnalysisLib.gui import keepOnlyLastPoint

        keepOnlyLastPoint(caller)

    # ------------------------------------------------------------------ helpers
    def _volumeNodes(self) -> dict:
        node = self._parameterNode
        volumes = {"T1": node.t1Volume, "T2": node.t2Volume, "FS": node.fsVolume}
        return {sequence: volume for sequence, volume in volumes.items() if volume is not None}

    def _run(self, title: str, function) -> None:
        from ModicAnalysisLib.gui import runWithProgress

        runWithProgress(title, _("Modic Analysis"), function, self.ui.statusLabel)

    def _showResults(self, segmentationNode=None, tableNode=None) -> None:
        node = self._parameterNode
        if segmentationNode is not None:
            node.outputSegmentation = segmentationNode
            segmentationNode.CreateDefaultDisplayNodes()
        if tableNode is not None:
            node.outputTable = tableNode
            self.ui.featureTableView.setMRMLTableNode(tableNode)
            self._showTyping(tableNode)

    def _showTyping(self, tableNode) -> None:
        from ModicAnalysisLib.presentation import typingTexts

        typing = self.logic.caseLogic().readTyping(tableNode)
        texts = typingTexts(typing, self.logic.modelDescription(typing["ModelFile"]) if typing["ModelFile"] else "")
        self.ui.signalTypeLabel.text = texts["signalType"]
        self.ui.signalRatiosLabel.text = texts["signalRatios"]
        self.ui.predictedTypeLabel.text = texts["predictedType"]
        self.ui.probabilitiesLabel.text = texts["probabilities"]

    # ------------------------------------------------------------------ buttons
    def onSegmentButton(self) -> None:
        node = self._parameterNode

        def work(progress):
            segmentationNode = self.logic.caseLogic().segment(
                self._volumeNodes(), seedMarkupsNode=node.seedPoints,
                segmentationNode=node.outputSegmentation, progress=progress)
            self._showResults(segmentationNode=segmentationNode)

        self._run(_("Segmentation"), work)

    def onExtractButton(self) -> None:
        node = self._parameterNode

        def work(progress):
            segmentationNode = node.inputSegmentation or node.outputSegmentation
            result = self.logic.caseLogic().extract(
                self._volumeNodes(), segmentationNode, node.outputTable, params=node.paramsPath or None,
                caseId=node.caseId, normalization=node.normalization, progress=progress)
            self._showResults(tableNode=result.tableNode)

        self._run(_("Feature extraction"), work)

    def onClassifyButton(self) -> None:
        node = self._parameterNode

        def work(progress):
            segmentationNode = node.inputSegmentation or node.outputSegmentation
            self.logic.caseLogic().classify(self._volumeNodes(), segmentationNode, node.outputTable,
                                            modelPath=node.modelPath or None)
            self._showResults(tableNode=node.outputTable)

        self._run(_("Classification"), work)

    def onAnalyzeAllButton(self) -> None:
        node = self._parameterNode

        def work(progress):
            result = self.logic.caseLogic().analyzeCase(
                self._volumeNodes(), seedMarkupsNode=node.seedPoints,
                inputSegmentationNode=node.inputSegmentation, modelPath=node.modelPath or None,
                params=node.paramsPath or None, outputSegmentationNode=node.outputSegmentation,
                outputTableNode=node.outputTable, caseId=node.caseId, normalization=node.normalization,
                progress=progress)
            self._showResults(result.segmentationNode, result.tableNode)

        self._run(_("Analysis"), work)

    def onFindVertebraeButton(self) -> None:
        def work(progress):
            from ModicAnalysisLib import anatomy

            self._anatomy = anatomy.findVertebrae(slicer.mrmlScene, self._volumeNodes())
            self._anatomy.segmentationNode.CreateDefaultDisplayNodes()
            self.ui.detectionStatusLabel.text = self._anatomy.spine.naming_summary()

        self._run(_("Find vertebrae"), work)

    def onFindModicChangesButton(self) -> None:
        def work(progress):
            from ModicAnalysisLib import detection

            spine = self._anatomy.spine if self._anatomy is not None else None
            self._detection = detection.findModicChanges(slicer.mrmlScene, self._volumeNodes(), spine=spine)
            self._detection.segmentationNode.CreateDefaultDisplayNodes()
            self.ui.lesionTableView.setMRMLTableNode(self._detection.tableNode)
            status = _("{count} lesion(s) found; click a row to show it.").format(count=len(self._detection.lesions))
            if not self._detection.core.spine.naming_certain:
                status += " " + _("Level names are uncertain: check them on the image.")
            self.ui.detectionStatusLabel.text = status

        self._run(_("Find Modic changes"), work)

    def onExportDicomButton(self) -> None:
        """DICOM SEG + SR of the lesion into a chosen (new or empty) folder."""
        folder = qt.QFileDialog.getExistingDirectory(slicer.util.mainWindow(), _("Folder for the DICOM files"))
        if not folder:
            return
        node = self._parameterNode

        def work(progress):
            written = self.logic.caseLogic().exportDicom(
                self._volumeNodes(), node.outputSegmentation or node.inputSegmentation, folder,
                slicer.dicomDatabase.fileForInstance, node.outputTable)
            self.ui.statusLabel.text = _("DICOM written: {files}").format(files=", ".join(sorted(written.values())))

        self._run(_("Export DICOM"), work)

    def onLesionClicked(self, index) -> None:
        """Centre the slice views on the clicked lesion (its centre in RAS)."""
        if self._detection is None:
            return
        with slicer.util.tryWithErrorDisplay(_("Could not show the lesion.")):
            from ModicAnalysisLib.gui import jumpSlicesToRas

            row = self.ui.lesionTableView.sortFilterProxyModel().mapToSource(index).row()
            jumpSlicesToRas(self._detection.lesionCenterRAS(row))


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

    def writeTable(self, tableNode, path):
        """Write a feature table node to CSV."""
        return self.caseLogic().writeTable(tableNode, path)

    def setModelPath(self, path) -> None:
        """Use `path` as model file (called by ModicCohortStats after training)."""
        self.getParameterNode().modelPath = str(path)

    @staticmethod
    def defaultModelPath() -> str:
        """The synthetic demo model shipped with the core, or "" when the core is not importable."""
        from ModicAnalysisLib.presentation import defaultModelPath

        return defaultModelPath()

    @staticmethod
    def modelDescription(path) -> str:
        """Label text for a model file: "synthetic demo model" for the shipped one."""
        from ModicAnalysisLib.presentation import modelDescription

        return _(modelDescription(path))


class ModicAnalysisTest(ScriptedLoadableModuleTest):
    """Self-test: builds phantom cases with the core (no network) and checks numbers end to end.

    The same checks (ModicAnalysisLib.selftest) run headless in Testing/slicer on slicer-core. The
    requirements are installed first without asking (also in testing mode / the extension factory).
    """

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        from ModicAnalysisLib import selftest
        from ModicAnalysisLib.gui import ensureDependencies

        self.assertTrue(ensureDependencies(interactive=False), "required Python packages are missing")
        for name in selftest.SELF_TESTS:
            self.setUp()
            self.delayDisplay(f"ModicAnalysis self-test: {name}")
            getattr(selftest, name)(self, slicer.mrmlScene)
        self.delayDisplay("ModicAnalysis self-tests passed")
