"""Our .ui files and Slicer-side code against the facts of Slicer 5.10 and 5.12 (see slicer_api.py).

The second half feeds each check the defect it exists for (issue #10) and asserts that it is reported.
"""

from pathlib import Path

import pytest
import slicer_api

ROOT = Path(__file__).resolve().parents[2]
MODULES = ("ModicAnalysis", "ModicCohortStats")
CODE = sorted([ROOT / m / f"{m}.py" for m in MODULES]
              + [p for m in MODULES for p in (ROOT / m / f"{m}Lib").glob("*.py")]
              + [ROOT / "ModicAnalysis/Resources/Scripts/slicer_batch.py",
                 ROOT / "ModicAnalysis/Testing/Python/ModicAnalysisBatchTest.py"])


def _ui(module):
    return ROOT / module / "Resources" / "UI" / f"{module}.ui"


def test_facts_cover_both_supported_versions():
    facts = slicer_api.facts()["versions"]
    assert sorted(facts) == ["5.10", "5.12"]
    assert facts["5.10"]["python"] == facts["5.12"]["python"] == "3.12.10"
    assert "packaging" not in facts["5.10"]["python_modules"] and "packaging" in facts["5.12"]["python_modules"]
    assert "qMRMLPlotWidget" in facts["5.10"]["designer_plugin_classes"]
    assert "qMRMLPlotView" not in facts["5.10"]["designer_plugin_classes"]


@pytest.mark.parametrize("module", MODULES)
def test_ui_files_conform(module):
    assert slicer_api.check_ui(_ui(module)) == []


@pytest.mark.parametrize("module", MODULES)
def test_module_code_conforms(module):
    path = ROOT / module / f"{module}.py"
    source = path.read_text()
    ui = slicer_api.ui_widgets(_ui(module))
    assert slicer_api.check_python(source, path.name, ui) == []
    assert slicer_api.check_parameter_ranges(source, path.name) == []
    assert slicer_api.check_choice_combos(source, path.name, _ui(module)) == []
    assert slicer_api.check_module_dependencies(source, path.name, set(MODULES)) == []


@pytest.mark.parametrize("path", CODE, ids=lambda p: p.name)
def test_lib_and_script_code_conforms(path):
    assert slicer_api.check_python(path.read_text(), path.name) == []


# ------------------------------------------------------------------ the checks catch the defects of issue #10
def test_catches_function_local_import_of_slicer_packaging():
    source = '''
def ensure():
    try:
        import slicer.packaging
        slicer.packaging.pip_ensure(["x"])
    except ImportError:
        pass
    slicer.util.pip_install(["x"])
'''
    problems = slicer_api.check_python(source, "m.py")
    assert problems == ["m.py:4: function-local import slicer.packaging: no slicer.packaging in Slicer 5.10 "
                        "(and it makes `slicer` a local name of the function)"]


def test_catches_plot_view_without_plugin_and_missing_slot(tmp_path):
    ui = (ROOT / "ModicCohortStats/Resources/UI/ModicCohortStats.ui").read_text()
    old = ui.replace('class="qMRMLPlotWidget" name="plotWidget"', 'class="qMRMLPlotView" name="plotView"') \
            .replace("<receiver>plotWidget</receiver>", "<receiver>plotView</receiver>")
    path = tmp_path / "Old.ui"
    path.write_text(old)
    problems = slicer_api.check_ui(path)
    assert "Old.ui: plotView is a qMRMLPlotView, which has no Designer plugin in Slicer 5.10" in problems
    assert "Old.ui: connection to plotView, a plain QWidget in Slicer 5.12" in problems
    code = "class W:\n    def f(self, chart):\n        self.ui.plotView.setMRMLPlotChartNode(chart)\n"
    problems = slicer_api.check_python(code, "w.py", {"plotView": "qMRMLPlotView"})
    assert "w.py:3: plotView (qMRMLPlotView) has no slot, invokable or property setMRMLPlotChartNode in " \
           "Slicer 5.10" in problems


def test_catches_flags_written_as_enum_and_unknown_signal(tmp_path):
    ui = (ROOT / "ModicCohortStats/Resources/UI/ModicCohortStats.ui").read_text()
    path = tmp_path / "Enum.ui"
    path.write_text(ui.replace("<set>ctkPathLineEdit::Dirs|ctkPathLineEdit::Writable</set>",
                               "<enum>ctkPathLineEdit::Dirs</enum>"))
    assert "Enum.ui: outputDirLineEdit.filters is a flags property: write it as <set>" in slicer_api.check_ui(path)
    code = "class W:\n    def f(self):\n        self.ui.x.connect('currentPathChanged(QString,int)', print)\n"
    assert slicer_api.check_python(code, "w.py", {"x": "ctkPathLineEdit"}) == [
        "w.py:3: x (ctkPathLineEdit) has no signal currentPathChanged(QString,int) in Slicer 5.10",
        "w.py:3: x (ctkPathLineEdit) has no signal currentPathChanged(QString,int) in Slicer 5.12"]


def test_catches_unranged_ints_redundant_choice_items_and_bad_util_calls():
    source = '''
@parameterNodeWrapper
class P:
    jobs: int = 1
    seed: Annotated[int, WithinRange(0, 9)] = 0
    screen: Annotated[str, Choice(["kw", "mwu"])] = "kw"

class W:
    def setup(self):
        self.ui.screenComboBox.addItem("kw")
        slicer.util.pip_install(["x"], constraints="c.txt")
        slicer.util.getNodesByClass()
        slicer.util.notAFunction()
        slicer.modules.notamodule.logic()
        slicer.vtkMRMLNotANode()
'''
    assert slicer_api.check_parameter_ranges(source, "p.py") == [
        "p.py:4: jobs: int without WithinRange/Minimum/Maximum gets a ±2^31 (or ±inf) widget range"]
    assert slicer_api.check_choice_combos(source, "p.py", _ui("ModicCohortStats")) == [
        "p.py:10: screenComboBox is filled by its Choice parameter already"]
    problems = slicer_api.check_python(source, "p.py")
    assert "p.py:11: slicer.util.pip_install() has no argument constraints in Slicer 5.10" in problems
    assert not any("pip_install" in p and "5.12" in p for p in problems)  # 5.12 forwards **kwargs
    assert "p.py:12: slicer.util.getNodesByClass() needs 1 arguments" in problems
    assert "p.py:13: slicer.util.notAFunction does not exist in Slicer 5.12" in problems
    assert "p.py:14: slicer.modules.notamodule is not a Slicer 5.10 module" in problems
    assert "p.py:15: slicer.vtkMRMLNotANode does not exist in Slicer 5.10" in problems


def test_pip_ensure_and_pip_install_are_called_as_slicer_defines_them():
    """ensureInSlicer calls slicer.packaging.pip_ensure (5.12) and slicer.util.pip_install (5.10) through a
    variable, which the AST check cannot follow: compare the keywords it passes with the facts."""
    import ast
    import inspect

    from ModicAnalysisLib import dependencies

    tree = ast.parse(inspect.getsource(dependencies.ensureInSlicer))
    calls = {node.func.attr: node for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}
    ensure = slicer_api.facts()["versions"]["5.12"]["slicer_packaging"]["pip_ensure"]["params"]
    assert {k.arg for k in calls["pip_ensure"].keywords} <= set(ensure)
    for version in slicer_api.versions():
        install = slicer_api.facts()["versions"][version]["slicer_util"]["pip_install"]
        assert install["params"][0] == "requirements" and not calls["pip_install"].keywords
