"""Static checks that mirror the ExtensionsIndex review and keep the CMake lists complete."""

import ast
import json
import re
import struct
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = ("ModicAnalysis", "ModicCohortStats")
# What a Slicer module file may import at file scope: the standard library plus Slicer's own.
ALLOWED_TOP_LEVEL = {"vtk", "qt", "ctk", "slicer", "logging", "os", "sys", "typing", "enum", "pathlib",
                     "json", "dataclasses", "collections", "functools", "__future__"}


def _cmake(path: Path) -> str:
    return re.sub(r"#[^\n]*", "", path.read_text())


def _set_list(text: str, variable: str) -> list[str]:
    match = re.search(rf"set\(\s*{variable}\s+(.*?)\)", text, re.S)
    assert match, f"set({variable} ...) missing"
    return match.group(1).split()


def _project_name() -> str:
    return re.search(r"project\((\w+)\)", _cmake(ROOT / "CMakeLists.txt")).group(1)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


# ------------------------------------------------------------------ top-level CMake and catalog entry
def test_top_level_cmake_has_standard_extension_form():
    text = _cmake(ROOT / "CMakeLists.txt")
    assert re.search(r"cmake_minimum_required\(VERSION", text)
    for variable in ("EXTENSION_HOMEPAGE", "EXTENSION_CATEGORY", "EXTENSION_CONTRIBUTORS",
                     "EXTENSION_DESCRIPTION", "EXTENSION_ICONURL", "EXTENSION_SCREENSHOTURLS", "EXTENSION_DEPENDS"):
        assert re.search(rf"set\({variable}\s", text), variable
    assert re.search(r'set\(EXTENSION_CATEGORY\s+"Quantification"\)', text)
    assert re.search(r"set\(EXTENSION_DEPENDS\s+SlicerRadiomics\)", text)
    order = ["find_package(Slicer 5.10 REQUIRED)", "include(${Slicer_USE_FILE})", "add_subdirectory(ModicAnalysis)",
             "add_subdirectory(ModicCohortStats)", "include(${Slicer_EXTENSION_GENERATE_CONFIG})",
             "include(${Slicer_EXTENSION_CPACK})"]
    positions = [text.index(item) for item in order]
    assert positions == sorted(positions)


def test_cmake_range_and_contributors_as_the_extensions_index_asks():
    import slicer_api

    text = _cmake(ROOT / "CMakeLists.txt")
    low, high = re.search(r"cmake_minimum_required\(VERSION ([\d.]+)\.\.\.([\d.]+) FATAL_ERROR\)", text).groups()
    versions = slicer_api.facts()["versions"]

    def key(v):
        return tuple(int(x) for x in v.split("."))

    # the minimum is what Slicer 5.10's extension template asks; the policy maximum covers 5.12's template
    assert low == versions["5.10"]["extension_template_cmake_minimum"].split("...")[0]
    assert key(high) >= key(versions["5.12"]["extension_template_cmake_minimum"].split("...")[1])
    contributors = re.search(r'set\(EXTENSION_CONTRIBUTORS "([^"]+)"\)', text).group(1)
    for person in contributors.split(", "):
        assert re.fullmatch(r"[^()]+ \([^()]+\)", person), f"contributor {person!r} is not 'Name (Organisation)'"
    for module in MODULES:
        source = (ROOT / module / f"{module}.py").read_text()
        listed = re.search(r"self.parent.contributors = \[(.*?)\]", source).group(1)
        assert all(re.fullmatch(r'"[^()"]+ \([^()"]+\)"', p.strip()) for p in listed.split(",")), module
    assert "Slicer 5.8" in re.search(r'set\(EXTENSION_DESCRIPTION "([^"]+)"\)', text).group(1)


def test_core_package_is_installed_with_the_modules():
    text = _cmake(ROOT / "CMakeLists.txt")
    assert "modic/*.py" in text and "modic/resources/*" in text
    assert "ctkMacroCompilePythonScript(" in text
    assert "${Slicer_INSTALL_QTSCRIPTEDMODULES_LIB_DIR}" in text
    assert (ROOT / "modic" / "__init__.py").is_file()


def test_catalog_entry_matches_project():
    entries = sorted(ROOT.glob("*.json"))
    assert [p.name for p in entries] == [f"{_project_name()}.json"], "catalog file must be <project>.json"
    entry = json.loads(entries[0].read_text())
    allowed = {"$schema", "category", "scm_url", "scm_revision", "scm_type", "build_dependencies",
               "dicom_support_rule", "build_subdirectory", "enabled", "tier"}
    assert set(entry) <= allowed, f"keys outside the catalog schema: {set(entry) - allowed}"
    assert {"$schema", "category", "scm_url"} <= set(entry)
    assert "slicer-extension-catalog-entry-schema" in entry["$schema"]
    assert entry["category"] == "Quantification"
    assert entry["build_dependencies"] == ["SlicerRadiomics"]
    assert 1 <= entry["tier"] <= 5


@pytest.mark.parametrize("icon", ["Resources/Icons/ModicRadiomics.png",
                                  "ModicAnalysis/Resources/Icons/ModicAnalysis.png",
                                  "ModicCohortStats/Resources/Icons/ModicCohortStats.png"])
def test_icons_are_128_png(icon):
    assert _png_size(ROOT / icon) == (128, 128)


def test_icon_url_points_at_the_extension_icon():
    text = _cmake(ROOT / "CMakeLists.txt")
    url = re.search(r'set\(EXTENSION_ICONURL\s+"([^"]+)"\)', text).group(1)
    assert url.endswith("/Resources/Icons/ModicRadiomics.png")


def test_license_present():
    assert (ROOT / "LICENSE").is_file()


# ------------------------------------------------------------------ module CMake lists
@pytest.mark.parametrize("module", MODULES)
def test_module_cmake_lists_every_file(module):
    folder = ROOT / module
    text = _cmake(folder / "CMakeLists.txt").replace("${MODULE_NAME}", module)
    assert re.search(rf"set\(MODULE_NAME\s+{module}\)", _cmake(folder / "CMakeLists.txt"))
    scripts = _set_list(text, "MODULE_PYTHON_SCRIPTS")
    resources = _set_list(text, "MODULE_PYTHON_RESOURCES")
    for name in scripts + resources:
        assert (folder / name).is_file(), f"{module}/CMakeLists.txt names missing file {name}"
    on_disk_scripts = {f"{module}.py"} | {p.relative_to(folder).as_posix()
                                          for p in (folder / f"{module}Lib").rglob("*.py")}
    assert set(scripts) == on_disk_scripts
    on_disk_resources = {p.relative_to(folder).as_posix() for p in (folder / "Resources").rglob("*")
                         if p.is_file() and "__pycache__" not in p.parts}
    assert set(resources) == on_disk_resources
    assert "slicerMacroBuildScriptedModule(" in text and "WITH_GENERIC_TESTS" in text
    assert re.search(r"slicer_add_python_unittest\(SCRIPT \$\{MODULE_NAME\}\.py\)",
                     _cmake(folder / "CMakeLists.txt"))


def test_module_testing_folder_is_wired():
    text = _cmake(ROOT / "ModicAnalysis/Testing/Python/CMakeLists.txt")
    script = re.search(r"SCRIPT\s+\$\{CMAKE_CURRENT_SOURCE_DIR\}/(\S+)", text).group(1)
    assert (ROOT / "ModicAnalysis/Testing/Python" / script).is_file()
    assert "add_subdirectory(Python)" in _cmake(ROOT / "ModicAnalysis/Testing/CMakeLists.txt")


# ------------------------------------------------------------------ module files: imports and import-time code
def _is_simple_constant(node) -> bool:
    try:
        ast.literal_eval(node)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("module", MODULES)
def test_module_file_runs_no_code_at_import(module):
    tree = ast.parse((ROOT / module / f"{module}.py").read_text())
    for index, node in enumerate(tree.body):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots = {(node.module or "").split(".")[0]}
        elif isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            for decorator in getattr(node, "decorator_list", []):
                assert isinstance(decorator, ast.Name) and decorator.id == "parameterNodeWrapper", \
                    f"{module}: unexpected decorator on {node.name}"
            continue
        elif index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # docstring
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and _is_simple_constant(node.value):
            continue
        else:
            raise AssertionError(f"{module}.py line {node.lineno}: code runs at import ({type(node).__name__})")
        assert roots <= ALLOWED_TOP_LEVEL, f"{module}.py line {node.lineno}: non-standard import {roots}"


@pytest.mark.parametrize("module", MODULES)
def test_module_file_has_slicer_classes(module):
    tree = ast.parse((ROOT / module / f"{module}.py").read_text())
    classes = {node.name: [ast.unparse(b) for b in node.bases] for node in tree.body if isinstance(node, ast.ClassDef)}
    assert classes[module] == ["ScriptedLoadableModule"]
    assert classes[f"{module}Widget"][0] == "ScriptedLoadableModuleWidget"
    assert classes[f"{module}Logic"] == ["ScriptedLoadableModuleLogic"]
    assert classes[f"{module}Test"] == ["ScriptedLoadableModuleTest"]
    assert f"{module}ParameterNode" in classes


@pytest.mark.parametrize("module", MODULES)
def test_module_category_is_quantification(module):
    text = (ROOT / module / f"{module}.py").read_text()
    assert 'self.parent.categories = [translate("qSlicerAbstractCoreModule", "Quantification")]' in text


@pytest.mark.parametrize("package", ["ModicAnalysis/ModicAnalysisLib", "ModicCohortStats/ModicCohortStatsLib"])
def test_lib_packages_need_no_app_or_qt(package):
    for path in (ROOT / package).glob("*.py"):
        if path.name == "gui.py":  # widget-side helpers, imported only inside widget methods
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {node.module or ""} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                names = {f"{node.value.id}.{node.attr}"}
            else:
                continue
            bad = {n for n in names if n.split(".")[0] in ("qt", "ctk")
                   or n in ("slicer.app", "slicer.ScriptedLoadableModule", "slicer.parameterNodeWrapper")}
            assert not bad, f"{path.name} line {node.lineno} uses {bad}"


# ------------------------------------------------------------------ lists kept equal to the core
def test_requirements_file_matches_dependency_list():
    from ModicAnalysisLib import dependencies

    lines = (ROOT / "Resources/requirements.txt").read_text().splitlines()
    active = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert tuple(active) == dependencies.REQUIREMENTS
    assert any(line.strip("# ").strip() == dependencies.RADIOMICS_FALLBACK for line in lines)
    assert not any(line.lower().startswith(("pyradiomics", "numpy", "simpleitk", "vtk")) for line in active)


def test_requirements_cover_the_core_dependencies():
    """Everything pyproject needs is either bundled with Slicer or in requirements.txt."""
    from ModicAnalysisLib import dependencies

    pyproject = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"dependencies = \[(.*?)\]", pyproject, re.S).group(1)
    needed = {re.split(r"[\[<>=!~]", item.strip().strip('",'), maxsplit=1)[0].lower()
              for item in block.split("\n") if item.strip().strip('",')}
    bundled = {name.lower() for name in dependencies.BUNDLED}  # numpy, SciPy, SimpleITK, pydicom, highdicom, ...
    listed = {re.split(r"[\[<>=!~]", r, maxsplit=1)[0].lower() for r in dependencies.REQUIREMENTS}
    listed.add(re.split(r"[\[<>=!~]", dependencies.RADIOMICS_FALLBACK, maxsplit=1)[0].lower())
    assert needed <= bundled | listed, needed - bundled - listed


def test_module_option_lists_match_the_core():
    from modic.normalize import METHODS
    from modic.stats.correlation import METHODS as CORRELATION
    from modic.stats.selection import SCREEN_TESTS

    def constant(module, name):
        tree = ast.parse((ROOT / module / f"{module}.py").read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign) and node.targets[0].id == name:
                return ast.literal_eval(node.value)
        raise AssertionError(name)

    assert constant("ModicAnalysis", "NORMALIZATION_METHODS") == tuple(METHODS)
    assert constant("ModicCohortStats", "SCREEN_TESTS") == tuple(SCREEN_TESTS)
    assert constant("ModicCohortStats", "CORRELATION_METHODS") == tuple(CORRELATION)
