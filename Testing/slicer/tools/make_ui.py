"""Write the modules' Qt Designer files (Resources/UI/*.ui) from a compact description.

The .ui files are committed and can be edited in Slicer's Qt Designer afterwards; this script only
gives a consistent starting point. Run from the repository root:
`.venv/bin/python Testing/slicer/tools/make_ui.py`.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[3]

CUSTOM = {
    "qMRMLWidget": ("QWidget", "qMRMLWidget.h", True),
    "ctkCollapsibleButton": ("QWidget", "ctkCollapsibleButton.h", True),
    "qMRMLNodeComboBox": ("QWidget", "qMRMLNodeComboBox.h", False),
    "ctkPathLineEdit": ("QWidget", "ctkPathLineEdit.h", False),
    "qSlicerMarkupsPlaceWidget": ("qSlicerWidget", "qSlicerMarkupsPlaceWidget.h", False),
    "qSlicerWidget": ("QWidget", "qSlicerWidget.h", False),
    "qMRMLTableView": ("QTableView", "qMRMLTableView.h", False),
    "qMRMLPlotWidget": ("qMRMLWidget", "qMRMLPlotWidget.h", False),
    "ctkCheckableComboBox": ("QComboBox", "ctkCheckableComboBox.h", False),
}
MRML_WIDGETS = {"qMRMLNodeComboBox", "qSlicerMarkupsPlaceWidget", "qMRMLTableView", "qMRMLPlotWidget"}


def _value(v) -> str:
    if isinstance(v, bool):
        return f"<bool>{'true' if v else 'false'}</bool>"
    if isinstance(v, int):
        return f"<number>{v}</number>"
    if isinstance(v, float):
        return f"<double>{v}</double>"
    if isinstance(v, list):
        items = "".join(f"<string>{escape(s)}</string>" for s in v)
        return f'<stringlist notr="true">{items}</stringlist>'
    if isinstance(v, tuple) and v[0] == "enum":
        return f"<enum>{v[1]}</enum>"
    if isinstance(v, tuple) and v[0] == "size":
        return f"<size><width>{v[1]}</width><height>{v[2]}</height></size>"
    if isinstance(v, tuple) and v[0] == "set":  # a flags property (QFlags): several values joined by "|"
        return f"<set>{v[1]}</set>"
    return f"<string>{escape(str(v))}</string>"


def widget(cls: str, name: str, props: dict | None = None, param: str | None = None, extra: str = "") -> str:
    out = [f'<widget class="{cls}" name="{name}">']
    for key, value in (props or {}).items():
        out.append(f'<property name="{key}">{_value(value)}</property>')
    if param:
        out.append(f'<property name="SlicerParameterName" stdset="0"><string>{param}</string></property>')
    out.append(extra)
    out.append("</widget>")
    return "".join(out)


def combo(name: str, types: list[str], param: str | None = None, tip: str = "", none: bool = True,
          add: bool = False, noneDisplay: str = "") -> str:
    props = {"toolTip": tip, "nodeTypes": types, "showChildNodeTypes": False, "noneEnabled": none,
             "addEnabled": add, "removeEnabled": add, "renameEnabled": add}
    if noneDisplay:
        props["noneDisplay"] = noneDisplay
    return widget("qMRMLNodeComboBox", name, props, param)


def label(name: str, text: str, props: dict | None = None) -> str:
    return widget("QLabel", name, {"text": text, **(props or {})})


def form(name: str, rows: list[tuple[str, str]]) -> str:
    items = []
    for r, (lab, w) in enumerate(rows):
        if lab is None:
            items.append(f'<item row="{r}" column="0" colspan="2">{w}</item>')
        else:
            items.append(f'<item row="{r}" column="0">{lab}</item><item row="{r}" column="1">{w}</item>')
    return f'<layout class="QFormLayout" name="{name}">{"".join(items)}</layout>'


def hbox(name: str, widgets: list[str]) -> str:
    return f'<layout class="QHBoxLayout" name="{name}">{"".join(f"<item>{w}</item>" for w in widgets)}</layout>'


def section(name: str, text: str, layout: str, collapsed: bool = False) -> str:
    return widget("ctkCollapsibleButton", name, {"text": text, "collapsed": collapsed}, extra=layout)


def document(cls: str, body: list[str], mrml_children: list[str]) -> str:
    used = set()
    for text in body:
        for c in CUSTOM:
            if f'class="{c}"' in text:
                used.add(c)
    used.add("qMRMLWidget")
    if "qSlicerMarkupsPlaceWidget" in used:
        used.add("qSlicerWidget")
    items = "".join(f"<item>{b}</item>" for b in body)
    spacer = ('<item><spacer name="verticalSpacer"><property name="orientation"><enum>Qt::Vertical</enum>'
              '</property><property name="sizeHint" stdset="0"><size><width>20</width><height>40</height>'
              '</size></property></spacer></item>')
    customs = "".join(
        f"<customwidget><class>{c}</class><extends>{CUSTOM[c][0]}</extends><header>{CUSTOM[c][1]}</header>"
        + ("<container>1</container>" if CUSTOM[c][2] else "") + "</customwidget>"
        for c in sorted(used))
    connections = "".join(
        f"<connection><sender>{cls}</sender><signal>mrmlSceneChanged(vtkMRMLScene*)</signal>"
        f"<receiver>{n}</receiver><slot>setMRMLScene(vtkMRMLScene*)</slot></connection>"
        for n in mrml_children)
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><ui version="4.0"><class>{cls}</class>'
           f'<widget class="qMRMLWidget" name="{cls}"><property name="geometry"><rect><x>0</x><y>0</y>'
           f'<width>420</width><height>760</height></rect></property>'
           f'<layout class="QVBoxLayout" name="verticalLayout">{items}{spacer}</layout></widget>'
           f"<customwidgets>{customs}</customwidgets><resources/><connections>{connections}</connections></ui>")
    return _pretty(xml)


def _pretty(text: str) -> str:
    from xml.dom import minidom

    text = minidom.parseString(text).toprettyxml(indent=" ", encoding="UTF-8").decode()
    return "\n".join(line for line in text.splitlines() if line.strip()) + "\n"


def modic_analysis() -> str:
    vol = ["vtkMRMLScalarVolumeNode"]
    inputs = form("inputsFormLayout", [
        (label("t1Label", "T1:"), combo("t1Selector", vol, "t1Volume", "T1-weighted volume", noneDisplay="(none)")),
        (label("t2Label", "T2:"), combo("t2Selector", vol, "t2Volume", "T2-weighted volume", noneDisplay="(none)")),
        (label("fsLabel", "FS:"), combo("fsSelector", vol, "fsVolume",
                                        "Fat-suppressed (FS/STIR) volume", noneDisplay="(none)")),
        (label("seedLabel", "Lesion point:"),
         hbox("seedLayout", [combo("seedSelector", ["vtkMRMLMarkupsFiducialNode"], "seedPoints",
                                   "Point list whose first point marks the lesion", add=True),
                             widget("qSlicerMarkupsPlaceWidget", "seedPlaceWidget",
                                    {"toolTip": "Click in a slice view to place the lesion point"})])),
        (label("inputSegmentationLabel", "Existing segmentation:"),
         combo("inputSegmentationSelector", ["vtkMRMLSegmentationNode"], "inputSegmentation",
               "Optional: use this lesion segmentation instead of segmenting from the point",
               noneDisplay="(segment from the point)")),
    ])
    params = form("parametersFormLayout", [
        (label("modelPathLabel", "Model file:"),
         widget("ctkPathLineEdit", "modelPathLineEdit",
                {"toolTip": "Model file (.skops) trained in ModicCohortStats",
                 "nameFilters": ["Model files (*.skops)"]})),
        (None, label("modelKindLabel", "synthetic demo model",
                     {"toolTip": "The shipped model is trained on synthetic phantoms, for demonstration only"})),
        (label("paramsPathLabel", "PyRadiomics parameters:"),
         widget("ctkPathLineEdit", "paramsPathLineEdit",
                {"toolTip": "PyRadiomics parameter file (YAML/JSON); empty: the paper's settings",
                 "nameFilters": ["Parameter files (*.yaml *.yml *.json)"]})),
        (label("normalizationLabel", "Normalisation:"),
         widget("QComboBox", "normalizationComboBox", {"toolTip": "Signal intensity normalisation"},
                "normalization")),
        (label("caseIdLabel", "Case ID:"), widget("QLineEdit", "caseIdLineEdit", {}, "caseId")),
    ])
    outputs = form("outputsFormLayout", [
        (label("outputSegmentationLabel", "Segmentation:"),
         combo("outputSegmentationSelector", ["vtkMRMLSegmentationNode"], "outputSegmentation",
               "Lesion segmentation, one segment per sequence", add=True, noneDisplay="(create new)")),
        (label("outputTableLabel", "Feature table:"),
         combo("outputTableSelector", ["vtkMRMLTableNode"], "outputTable",
               "Radiomics features of the lesion", add=True, noneDisplay="(create new)")),
    ])
    buttons = hbox("buttonsLayout", [
        widget("QPushButton", "segmentButton", {"text": "Segment", "toolTip": "Grow the lesion from the point"}),
        widget("QPushButton", "extractButton", {"text": "Extract", "toolTip": "Compute radiomics features"}),
        widget("QPushButton", "classifyButton", {"text": "Classify",
                                                 "toolTip": "Signal-pattern type and model prediction"}),
    ])
    analyze = widget("QPushButton", "analyzeAllButton",
                     {"text": "Analyse all", "toolTip": "Segment, extract and classify in one go"})
    results = form("resultsFormLayout", [
        (label("signalTypeTitleLabel", "Signal pattern type:"), label("signalTypeLabel", "-")),
        (label("signalRatiosTitleLabel", "Signal ratios:"), label("signalRatiosLabel", "-", {"wordWrap": True})),
        (label("predictedTypeTitleLabel", "Model prediction:"), label("predictedTypeLabel", "-")),
        (label("probabilitiesTitleLabel", "Probabilities:"), label("probabilitiesLabel", "-", {"wordWrap": True})),
        (None, widget("qMRMLTableView", "featureTableView", {"toolTip": "Feature table"})),
        (None, widget("QPushButton", "exportDicomButton",
                      {"text": "Export DICOM SEG + SR", "toolTip": "Write the lesion as DICOM Segmentation and a TID "
                       "1500 measurement report referencing the DICOM series it was computed on"})),
        (None, label("statusLabel", "", {"wordWrap": True})),
    ])
    detection = form("detectionFormLayout", [
        (None, hbox("detectionButtonsLayout", [
            widget("QPushButton", "findVertebraeButton",
                   {"text": "Find vertebrae", "toolTip": "Label vertebral bodies and discs (T10-S1)"}),
            widget("QPushButton", "findModicChangesButton",
                   {"text": "Find Modic changes", "toolTip": "Detect and type every Modic lesion without a click"}),
        ])),
        (None, widget("qMRMLTableView", "lesionTableView", {"toolTip": "Detected lesions: click a row to show it"})),
        (None, label("detectionStatusLabel", "", {"wordWrap": True})),
    ])
    body = [section("inputsCollapsibleButton", "Inputs", inputs),
            section("detectionCollapsibleButton", "Detection", detection, collapsed=True),
            section("parametersCollapsibleButton", "Parameters", params),
            section("outputsCollapsibleButton", "Outputs", outputs),
            f'<layout class="QVBoxLayout" name="actionsLayout"><item>{buttons}</item><item>{analyze}</item></layout>',
            section("resultsCollapsibleButton", "Results", results)]
    mrml = ["t1Selector", "t2Selector", "fsSelector", "seedSelector", "seedPlaceWidget",
            "inputSegmentationSelector", "outputSegmentationSelector", "outputTableSelector", "featureTableView",
            "lesionTableView"]
    return document("ModicAnalysis", body, mrml)


def modic_cohort_stats() -> str:
    csv = ["CSV files (*.csv)"]
    inputs = form("inputsFormLayout", [
        (label("manifestPathLabel", "Manifest:"),
         widget("ctkPathLineEdit", "manifestPathLineEdit",
                {"toolTip": "Manifest CSV: case_id, t1/t2/fs image paths, mask, modic_type, odi, ...",
                 "nameFilters": csv})),
        (label("featuresPathLabel", "Feature table:"),
         widget("ctkPathLineEdit", "featuresPathLineEdit",
                {"toolTip": "Feature table CSV (one row per case); written by Run extraction", "nameFilters": csv,
                 "filters": ("set", "ctkPathLineEdit::Files|ctkPathLineEdit::Writable")})),
        (label("outputDirLabel", "Report folder:"),
         widget("ctkPathLineEdit", "outputDirLineEdit",
                {"toolTip": "Folder for the report, tables, figures and model file",
                 "filters": ("set", "ctkPathLineEdit::Dirs|ctkPathLineEdit::Writable")})),
    ])
    options = form("optionsFormLayout", [
        (label("paramsPathLabel", "PyRadiomics parameters:"),
         widget("ctkPathLineEdit", "paramsPathLineEdit",
                {"toolTip": "PyRadiomics parameter file; empty: the paper's settings",
                 "nameFilters": ["Parameter files (*.yaml *.yml *.json)"]})),
        (label("jobsLabel", "Worker processes:"),
         widget("QSpinBox", "jobsSpinBox", {"minimum": 1, "maximum": 64, "value": 1}, "jobs")),
        (None, widget("QCheckBox", "segmentCheckBox",
                      {"text": "Segment from seed points (manifest column seed_lps)"}, "segmentFromSeeds")),
        (label("screenLabel", "Feature screen:"),
         widget("QComboBox", "screenComboBox", {"toolTip": "Univariate screen before LASSO"}, "screen")),
        (label("correlationLabel", "Correlation:"),
         widget("QComboBox", "correlationComboBox", {"toolTip": "Correlation method for ODI/VAS/age"},
                "correlationMethod")),
        (label("seedLabel", "Random seed:"),
         widget("QSpinBox", "seedSpinBox", {"minimum": 0, "maximum": 1000000, "value": 0}, "randomSeed")),
    ])
    buttons = hbox("buttonsLayout", [
        widget("QPushButton", "extractButton", {"text": "Run extraction",
                                                "toolTip": "Extract features of every manifest case"}),
        widget("QPushButton", "statsButton", {"text": "Run statistics",
                                              "toolTip": "Tables 1-2, selection, classifier, correlation"}),
    ])
    outputs = form("outputsFormLayout", [
        (label("table1Label", "Table 1:"), combo("table1Selector", ["vtkMRMLTableNode"], "table1Table",
                                                 "Shape features by type, Kruskal-Wallis", add=True,
                                                 noneDisplay="(create new)")),
        (label("table2Label", "Table 2:"), combo("table2Selector", ["vtkMRMLTableNode"], "table2Table",
                                                 "Dunn post-hoc p-values", add=True, noneDisplay="(create new)")),
        (label("correlationTableLabel", "Correlation:"),
         combo("correlationTableSelector", ["vtkMRMLTableNode"], "correlationTable",
               "Correlation with ODI / VAS / age", add=True, noneDisplay="(create new)")),
        (None, widget("qMRMLTableView", "resultTableView", {})),
        (None, widget("qMRMLPlotWidget", "plotWidget", {"minimumSize": ("size", 200, 220)})),
        (label("modelOutputLabel", "Model file:"), label("modelPathLabel", "-", {"wordWrap": True})),
        (None, widget("QPushButton", "pushModelButton",
                      {"text": "Use this model in ModicAnalysis",
                       "toolTip": "Set the trained model as ModicAnalysis' model file"})),
        (None, widget("QPushButton", "openReportButton", {"text": "Open report folder"})),
        (None, label("summaryLabel", "", {"wordWrap": True})),
        (None, label("statusLabel", "", {"wordWrap": True})),
    ])
    body = [section("inputsCollapsibleButton", "Inputs", inputs),
            section("optionsCollapsibleButton", "Options", options, collapsed=True),
            buttons,
            section("outputsCollapsibleButton", "Results", outputs)]
    mrml = ["table1Selector", "table2Selector", "correlationTableSelector", "resultTableView", "plotWidget"]
    return document("ModicCohortStats", body, mrml)


def main() -> None:
    for path, text in ((ROOT / "ModicAnalysis/Resources/UI/ModicAnalysis.ui", modic_analysis()),
                       (ROOT / "ModicCohortStats/Resources/UI/ModicCohortStats.ui", modic_cohort_stats())):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(path)


if __name__ == "__main__":
    main()
