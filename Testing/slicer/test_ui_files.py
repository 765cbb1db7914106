"""The modules' .ui files load with Qt (PySide6, offscreen) and hold every widget the code uses.

CTK / qMRML / qSlicer custom widgets are unknown to plain Qt: QUiLoader builds them as their
declared base class (QWidget), which is enough to check names, layout and parameter bindings.
"""

import ast
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = ("ModicAnalysis", "ModicCohortStats")

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="module")
def qapp():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _ui_path(module: str) -> Path:
    return ROOT / module / "Resources" / "UI" / f"{module}.ui"


def _load(module: str):
    from PySide6.QtCore import QFile
    from PySide6.QtUiTools import QUiLoader

    loader = QUiLoader()
    handle = QFile(str(_ui_path(module)))
    assert handle.open(QFile.ReadOnly)
    widget = loader.load(handle)
    handle.close()
    assert widget is not None, loader.errorString()
    return widget


def _names_used_by_code(module: str) -> set[str]:
    """Every `self.ui.<name>` in the module file, plus names given as strings to getattr(self.ui, ...)."""
    tree = ast.parse((ROOT / module / f"{module}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                and node.value.attr == "ui" and isinstance(node.value.value, ast.Name)
                and node.value.value.id == "self"):
            names.add(node.attr)
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "PATH_FIELDS" for t in node.targets):
            names |= set(ast.literal_eval(node.value))
    return names


def _parameter_fields(module: str) -> set[str]:
    tree = ast.parse((ROOT / module / f"{module}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == f"{module}ParameterNode":
            return {s.target.id for s in node.body if isinstance(s, ast.AnnAssign)}
    raise AssertionError("parameter node class missing")


@pytest.mark.parametrize("module", MODULES)
def test_ui_loads_and_has_every_widget_the_code_uses(qapp, module):
    from PySide6.QtWidgets import QWidget

    widget = _load(module)
    assert widget.objectName() == module
    present = {w.objectName() for w in widget.findChildren(QWidget)}
    used = _names_used_by_code(module)
    assert len(used) > 10
    missing = used - present
    assert not missing, f"{module}.ui lacks widgets used by the code: {sorted(missing)}"


@pytest.mark.parametrize("module", MODULES)
def test_parameter_bindings_name_real_parameters(module):
    """Every SlicerParameterName in the .ui is a field of the parameterNodeWrapper class."""
    tree = ET.parse(_ui_path(module))
    bound = {prop.findtext("string") for prop in tree.iter("property") if prop.get("name") == "SlicerParameterName"}
    fields = _parameter_fields(module)
    assert bound, "no parameter bindings"
    assert bound <= fields, bound - fields


@pytest.mark.parametrize("module", MODULES)
def test_mrml_widgets_get_the_scene(module):
    """Each node selector / MRML view receives the scene through the top widget's mrmlSceneChanged."""
    tree = ET.parse(_ui_path(module))
    mrml = {w.get("name") for w in tree.iter("widget")
            if w.get("class") in ("qMRMLNodeComboBox", "qSlicerMarkupsPlaceWidget", "qMRMLTableView",
                                  "qMRMLPlotView")}
    receivers = {c.findtext("receiver") for c in tree.iter("connection")
                 if c.findtext("signal") == "mrmlSceneChanged(vtkMRMLScene*)"}
    assert mrml and mrml <= receivers, mrml - receivers
    declared = {c.findtext("class") for c in tree.iter("customwidget")}
    used = {w.get("class") for w in tree.iter("widget")} - {
        "QLabel", "QPushButton", "QComboBox", "QLineEdit", "QSpinBox", "QCheckBox"}
    assert used <= declared, used - declared


def test_analysis_ui_shows_demo_model_label(qapp):
    from PySide6.QtWidgets import QLabel, QPushButton

    widget = _load("ModicAnalysis")
    label = widget.findChild(QLabel, "modelKindLabel")
    assert label.text() == "synthetic demo model"
    buttons = {b: widget.findChild(QPushButton, b).text()
               for b in ("segmentButton", "extractButton", "classifyButton", "analyzeAllButton")}
    assert buttons == {"segmentButton": "Segment", "extractButton": "Extract", "classifyButton": "Classify",
                       "analyzeAllButton": "Analyse all"}



def test_output_paths_open_a_save_dialog():
    """ctkPathLineEdit opens an open-file dialog unless its filters include Writable (a new name is allowed)."""
    root = ET.parse(_ui_path("ModicCohortStats")).getroot()
    filters = {w.get("name"): w.find("property[@name='filters']/set")
               for w in root.iter("widget") if w.get("class") == "ctkPathLineEdit"}
    for name in ("featuresPathLineEdit", "outputDirLineEdit"):
        assert filters[name] is not None and "ctkPathLineEdit::Writable" in filters[name].text.split("|"), name
    assert "ctkPathLineEdit::Files" in filters["featuresPathLineEdit"].text
