"""Regenerate Testing/slicer/data/slicer_api_facts.json from fetched 3D Slicer and CTK sources.

    python Testing/slicer/tools/extract_slicer_facts.py \\
        --slicer-git /path/to/Slicer/.git --ctk-git /path/to/CTK/.git [--tags v5.10.0 v5.12.3]

For every Slicer tag the script reads (with `git show`, no checkout needed):
- the widget classes that have a Qt Designer plugin (Slicer `*/DesignerPlugins/*Plugin.cxx`, CTK
  `Libs/**/Plugins/*Plugin.cpp` at the CTK commit Slicer's SuperBuild pins) with their base class,
  signals, slots (+ Q_INVOKABLE methods) and Q_PROPERTY names, following the inheritance chain through
  Slicer and CTK headers down to the first Qt class;
- `slicer.util` (and `slicer.packaging`) functions with their parameters;
- the parameterNodeWrapper validators (annotations) and the widget classes its GUI connectors accept;
- which `slicer.<name>` Python modules exist (Base/Python/slicer);
- the names of Slicer C++ classes (vtkMRML*, vtkSlicer*, qSlicer*, qMRML*) a `slicer.<Class>` may name, and
  the loadable / scripted modules (`slicer.modules.<name>`);
- the Python version and the packages the SuperBuild bundles (exact pins) and the extension template's
  `cmake_minimum_required` range.

Qt's own classes are not in these sources; their members that our modules use are listed by hand in
QT_MEMBERS below (Qt 5.15 documentation) and marked as such in the output.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "data" / "slicer_api_facts.json"

#: Members of Qt classes (Qt 5.15 docs) that widgets in our modules may use; not extracted.
QT_MEMBERS = {
    "QObject": {"signals": ["destroyed()", "destroyed(QObject*)", "objectNameChanged(QString)"],
                "methods": ["connect", "disconnect", "objectName", "setObjectName", "blockSignals", "findChild",
                            "findChildren", "setProperty", "property", "deleteLater"],
                "properties": ["objectName"]},
    "QWidget": {"signals": ["customContextMenuRequested(QPoint)", "windowTitleChanged(QString)"],
                "methods": ["setEnabled", "setDisabled", "setVisible", "setHidden", "show", "hide", "update",
                            "setToolTip", "setFocus", "layout", "setLayout", "setMinimumHeight",
                            "setMaximumHeight", "setSizePolicy", "parent", "parentWidget", "isVisible",
                            "isEnabled", "setStyleSheet", "setMRMLScene"],
                "properties": ["enabled", "visible", "toolTip", "minimumSize", "maximumSize", "sizePolicy",
                               "styleSheet", "windowTitle", "geometry", "minimumHeight", "maximumHeight",
                               "minimumWidth", "maximumWidth", "whatsThis", "statusTip", "font",
                               "contextMenuPolicy", "focusPolicy", "layoutDirection", "autoFillBackground",
                               "accessibleName", "baseSize", "sizeIncrement", "palette", "cursor"]},
    "QAbstractButton": {"signals": ["clicked()", "clicked(bool)", "toggled(bool)", "pressed()", "released()"],
                        "methods": ["click", "setText", "text", "setChecked", "isChecked", "setCheckable",
                                    "toggle", "setIcon"],
                        "properties": ["text", "checkable", "checked", "icon", "iconSize", "shortcut",
                                       "autoRepeat", "autoExclusive"]},
    "QPushButton": {"signals": [], "methods": ["setDefault", "setFlat", "setMenu"],
                    "properties": ["default", "flat", "autoDefault"]},
    "QToolButton": {"signals": ["triggered(QAction*)"], "methods": ["setDefaultAction", "setPopupMode"],
                    "properties": ["popupMode", "toolButtonStyle", "autoRaise", "arrowType"]},
    "QCheckBox": {"signals": ["stateChanged(int)"], "methods": ["setTristate", "checkState", "setCheckState"],
                  "properties": ["tristate"]},
    "QLabel": {"signals": ["linkActivated(QString)", "linkHovered(QString)"],
               "methods": ["setText", "text", "clear", "setWordWrap", "setPixmap", "setTextFormat"],
               "properties": ["text", "wordWrap", "textFormat", "alignment", "openExternalLinks",
                              "textInteractionFlags", "indent", "margin", "scaledContents", "pixmap",
                              "frameShape", "frameShadow"]},
    "QLineEdit": {"signals": ["textChanged(QString)", "textEdited(QString)", "editingFinished()",
                              "returnPressed()"],
                  "methods": ["setText", "text", "clear", "setPlaceholderText", "setReadOnly"],
                  "properties": ["text", "placeholderText", "readOnly", "maxLength", "clearButtonEnabled"]},
    "QComboBox": {"signals": ["currentIndexChanged(int)", "currentTextChanged(QString)", "activated(int)"],
                  "methods": ["addItem", "addItems", "clear", "count", "currentText", "currentIndex",
                              "setCurrentIndex", "setCurrentText", "itemText", "findText"],
                  "properties": ["currentIndex", "currentText", "count", "editable", "sizeAdjustPolicy",
                                 "maxVisibleItems"]},
    "QAbstractSpinBox": {"signals": ["editingFinished()"], "methods": [],
                         "properties": ["readOnly", "buttonSymbols", "specialValueText", "keyboardTracking",
                                        "alignment", "accelerated", "correctionMode"]},
    "QSpinBox": {"signals": ["valueChanged(int)", "textChanged(QString)"],
                 "methods": ["setValue", "value", "setRange", "setMinimum", "setMaximum", "setSingleStep"],
                 "properties": ["value", "minimum", "maximum", "singleStep", "prefix", "suffix"]},
    "QDoubleSpinBox": {"signals": ["valueChanged(double)", "textChanged(QString)"],
                       "methods": ["setValue", "value", "setRange", "setMinimum", "setMaximum", "setDecimals"],
                       "properties": ["value", "minimum", "maximum", "singleStep", "decimals", "prefix",
                                      "suffix"]},
    "QFrame": {"signals": [], "methods": [], "properties": ["frameShape", "frameShadow", "lineWidth"]},
    "QGroupBox": {"signals": ["clicked(bool)", "toggled(bool)"], "methods": ["setTitle"],
                  "properties": ["title", "checkable", "checked", "flat"]},
    "QTextEdit": {"signals": ["textChanged()"], "methods": ["setPlainText", "toPlainText", "clear"],
                  "properties": ["plainText", "readOnly", "html"]},
    "QTableView": {"signals": ["clicked(QModelIndex)", "doubleClicked(QModelIndex)", "activated(QModelIndex)"],
                   "methods": ["selectionModel", "model", "currentIndex", "resizeColumnsToContents",
                               "selectRow", "setSelectionBehavior", "setSelectionMode"],
                   "properties": ["selectionBehavior", "selectionMode", "sortingEnabled",
                                  "editTriggers", "alternatingRowColors", "showGrid"]},
    "QProgressBar": {"signals": ["valueChanged(int)"], "methods": ["setValue", "setRange", "reset"],
                     "properties": ["value", "minimum", "maximum", "format", "textVisible"]},
}
#: Qt inheritance for the classes above (child -> parent).
QT_BASES = {"QWidget": "QObject", "QAbstractButton": "QWidget", "QPushButton": "QAbstractButton",
            "QToolButton": "QAbstractButton", "QCheckBox": "QAbstractButton", "QFrame": "QWidget",
            "QLabel": "QFrame", "QLineEdit": "QWidget", "QComboBox": "QWidget", "QAbstractSpinBox": "QWidget",
            "QSpinBox": "QAbstractSpinBox", "QDoubleSpinBox": "QAbstractSpinBox", "QGroupBox": "QWidget",
            "QTextEdit": "QFrame", "QTableView": "QFrame", "QProgressBar": "QWidget",
            "QAbstractScrollArea": "QFrame", "QAbstractItemView": "QFrame", "QScrollArea": "QFrame",
            "QTreeView": "QFrame", "QListView": "QFrame", "QTabWidget": "QWidget", "QSlider": "QWidget",
            "QStackedWidget": "QFrame", "QSplitter": "QFrame", "QTextBrowser": "QTextEdit",
            "QDialog": "QWidget", "QMainWindow": "QWidget", "QAbstractSlider": "QWidget"}
#: Qt widget classes QUiLoader builds without any plugin (a .ui may name them).
QT_UI_CLASSES = sorted(set(QT_MEMBERS) | set(QT_BASES) - {"QObject", "QAbstractButton", "QAbstractSpinBox"})


def git_show(git_dir: Path, rev: str, path: str) -> str | None:
    result = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{rev}:{path}"], capture_output=True)
    return result.stdout.decode("utf-8", "replace") if result.returncode == 0 else None


def git_files(git_dir: Path, rev: str) -> list[str]:
    out = subprocess.run(["git", "--git-dir", str(git_dir), "ls-tree", "-r", "--name-only", rev],
                         capture_output=True, check=True, text=True).stdout
    return out.splitlines()


def rev_parse(git_dir: Path, rev: str) -> str:
    return subprocess.run(["git", "--git-dir", str(git_dir), "rev-parse", f"{rev}^{{commit}}"],
                          capture_output=True, check=True, text=True).stdout.strip()


# ------------------------------------------------------------------------------- C++ headers
_CLASS = re.compile(r"^class\s+(?:\w+_EXPORT\s+)?(\w+)\s*(?::\s*public\s+([\w:]+))?", re.M)
_SECTION = re.compile(r"^\s*(public|protected|private)?\s*(signals|slots|Q_SIGNALS|Q_SLOTS)?\s*:\s*$")


def _normalize_type(text: str) -> str:
    text = re.sub(r"\s*=\s*[^,]+$", "", text.strip())  # default value
    text = re.sub(r"\bconst\b", "", text)
    text = text.replace("&", "")
    # drop the parameter name (last identifier) when a type precedes it
    match = re.match(r"^(.*?[\w>*\s])\s*\b(\w+)\s*$", text)
    if match and match.group(1).strip() and not match.group(1).strip().endswith("::"):
        text = match.group(1)
    return re.sub(r"\s+", "", text)


def _signatures(name: str, args: str) -> list[str]:
    """Normalized Qt signatures, one per number of defaulted arguments left out."""
    parts = [p for p in _split_args(args) if p.strip() and p.strip() != "void"]
    required = sum(1 for p in parts if "=" not in p)
    types = [_normalize_type(p) for p in parts]
    return [f"{name}({','.join(types[:n])})" for n in range(required, len(types) + 1)]


def _split_args(args: str) -> list[str]:
    depth, current, out = 0, "", []
    for ch in args:
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(current)
            current = ""
        else:
            current += ch
    out.append(current)
    return out


def parse_header(text: str, class_name: str) -> dict | None:
    """Base class, signals, public slots, Q_INVOKABLE methods and Q_PROPERTY names of `class_name`."""
    match = next((m for m in _CLASS.finditer(text) if m.group(1) == class_name), None)
    if match is None:
        return None
    body = text[match.end():]
    end = re.search(r"^};", body, re.M)
    body = body[: end.start()] if end else body
    body = re.sub(r"//[^\n]*", "", body)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    info = {"base": (match.group(2) or "").split("::")[-1] or None, "signals": set(), "slots": set(),
            "invokables": set(), "properties": set()}
    for prop in re.finditer(r"Q_PROPERTY\(\s*[\w:<>*]+\s*\*?\s*(\w+)\s", body):
        info["properties"].add(prop.group(1))
    body = body[body.find("{") + 1:]
    section = None
    statement = ""
    depth = 0
    for line in body.splitlines():
        if depth > 0:  # inside an inline function body
            depth += line.count("{") - line.count("}")
            continue
        if "{" in line:
            depth = line.count("{") - line.count("}")
            line = line[: line.index("{")] + ";"
        sec = _SECTION.match(line)
        if sec:
            access, kind = sec.group(1), sec.group(2)
            if kind in ("signals", "Q_SIGNALS"):
                section = "signals"
            elif kind in ("slots", "Q_SLOTS") and access in (None, "public"):
                section = "slots"
            elif access == "public" and not kind:
                section = "public"
            else:
                section = None
            statement = ""
            continue
        statement += " " + line.strip()
        if not statement.strip().endswith(";"):
            continue
        decl = statement.strip()
        statement = ""
        invokable = "Q_INVOKABLE" in decl
        call = re.search(r"(~?\w+)\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)", decl)
        if not call or decl.startswith(("Q_PROPERTY", "Q_OBJECT", "Q_DECLARE", "typedef", "enum", "friend")):
            continue
        name, args = call.group(1), call.group(2)
        if section in ("signals", "slots"):
            info[section].update(_signatures(name, args))
        elif section == "public" and invokable:
            info["invokables"].add(name)
    return info


def find_headers(files: list[str]) -> dict[str, str]:
    return {Path(f).stem: f for f in files if f.endswith(".h")}


def designer_plugins(git_dir: Path, rev: str, files: list[str], pattern: str) -> dict[str, str]:
    """Widget class built by each designer plugin -> plugin source path."""
    out = {}
    for path in files:
        if not re.search(pattern, path):
            continue
        text = git_show(git_dir, rev, path) or ""
        match = re.search(r"createWidget\s*\([^)]*\)\s*\{(.*?)\n\}", text, re.S)
        if match:
            made = re.search(r"new\s+(\w+)\s*\(", match.group(1))
            if made:
                out[made.group(1)] = path
    return out


def widget_facts(sources: list[tuple[Path, str, list[str]]], classes: set[str]) -> dict[str, dict]:
    """Class facts (base chain through Slicer/CTK headers) for `classes` and their bases."""
    headers = {}
    for git_dir, rev, files in sources:
        for stem, path in find_headers(files).items():
            headers.setdefault(stem, (git_dir, rev, path))
    out: dict[str, dict] = {}
    todo = list(classes)
    while todo:
        name = todo.pop()
        if name in out or name.startswith("Q") or name not in headers:
            continue
        git_dir, rev, path = headers[name]
        info = parse_header(git_show(git_dir, rev, path) or "", name)
        if info is None:
            continue
        out[name] = {"header": path, "base": info["base"], "signals": sorted(info["signals"]),
                     "slots": sorted(info["slots"]), "invokables": sorted(info["invokables"]),
                     "properties": sorted(info["properties"])}
        if info["base"]:
            todo.append(info["base"])
    return out


# ------------------------------------------------------------------------------- Python
def python_functions(text: str) -> dict[str, dict]:
    """Top-level functions: parameter names, how many are required, *args / **kwargs."""
    out = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            a = node.args
            positional = [p.arg for p in a.posonlyargs + a.args]
            out[node.name] = {"params": positional + [p.arg for p in a.kwonlyargs],
                              "required": len(positional) - len(a.defaults),
                              "varargs": a.vararg is not None, "varkw": a.kwarg is not None}
    return out


def python_classes(text: str) -> list[str]:
    return sorted(n.name for n in ast.parse(text).body if isinstance(n, ast.ClassDef))


def parameter_node_facts(git_dir: Path, rev: str) -> dict:
    base = "Base/Python/slicer/parameterNodeWrapper/"
    init = git_show(git_dir, rev, base + "__init__.py") or ""
    validators = git_show(git_dir, rev, base + "validators.py") or ""
    default = git_show(git_dir, rev, base + "default.py") or ""
    connectors = git_show(git_dir, rev, base + "guiConnectors.py") or ""
    exported = set()
    for text in (init,):
        for node in ast.parse(text).body:
            if isinstance(node, ast.ImportFrom):
                exported.update(a.asname or a.name for a in node.names if a.name != "*")
    star_modules = re.findall(r"from \.(\w+) import \*", init)
    for module in star_modules:
        text = git_show(git_dir, rev, base + f"{module}.py") or ""
        match = re.search(r"__all__\s*=\s*\[(.*?)\]", text, re.S)
        if match:
            exported.update(re.findall(r"[\"'](\w+)[\"']", match.group(1)))
    widgets = sorted(set(re.findall(r"\b(?:qt|ctk|slicer)\.(q\w+|Q\w+|ctk\w+)\b", connectors)))
    return {"exported": sorted(exported), "validators": python_classes(validators) + python_classes(default),
            "connector_widgets": widgets}


def bundled_packages(git_dir: Path, rev: str, files: list[str]) -> dict[str, str]:
    out = {}
    for path in files:
        if re.match(r"SuperBuild/External_python-[\w-]+\.cmake$", path):
            for name, version in re.findall(r"^\s*([A-Za-z0-9_.-]+)==([\w.]+)", git_show(git_dir, rev, path) or "",
                                            re.M):
                out[name.lower()] = version
    simpleitk = git_show(git_dir, rev, "SuperBuild/External_SimpleITK.cmake")
    if simpleitk and "simpleitk" not in out:  # built from source: version from the pinned tag's comment
        match = re.search(r"slicer-v(\d+\.\d+\.\d+)", simpleitk)
        if match:
            out["simpleitk"] = match.group(1)
    return dict(sorted(out.items()))


def slicer_facts(slicer_git: Path, ctk_git: Path, tag: str) -> dict:
    files = git_files(slicer_git, tag)
    ctk_cmake = git_show(slicer_git, tag, "SuperBuild/External_CTK.cmake") or ""
    ctk_rev = re.search(r"Slicer_\$\{proj\}_GIT_TAG\s*\n\s*\"([0-9a-f]{40})\"", ctk_cmake).group(1)
    ctk_files = git_files(ctk_git, ctk_rev)
    plugins = designer_plugins(slicer_git, tag, files, r"DesignerPlugins/\w+Plugin\.cxx$")
    plugins.update(designer_plugins(ctk_git, ctk_rev, ctk_files, r"/Plugins/\w+Plugin\.cpp$"))
    classes = widget_facts([(slicer_git, tag, files), (ctk_git, ctk_rev, ctk_files)], set(plugins))
    cmake = git_show(slicer_git, tag, "CMakeLists.txt") or ""
    python = re.search(r'set\(Slicer_REQUIRED_PYTHON_VERSION "([\d.]+)"\)', cmake).group(1)
    template = git_show(slicer_git, tag, "Utilities/Templates/Extensions/Default/CMakeLists.txt") or ""
    cmake_range = re.search(r"cmake_minimum_required\(VERSION ([\d.]+(?:\.\.\.[\d.]+)?)", template).group(1)
    pyslicer = "Base/Python/slicer/"
    modules = sorted({Path(f[len(pyslicer):]).parts[0].removesuffix(".py") for f in files
                      if f.startswith(pyslicer) and (f.endswith(".py") or f.count("/") > 3)
                      and not f[len(pyslicer):].startswith(("tests", "release"))} - {"__init__"})
    cpp_classes = sorted({Path(f).stem for f in files if re.search(r"/(vtkMRML|vtkSlicer|qSlicer|qMRML)\w+\.h$", f)})
    modules_dirs = sorted({f.split("/")[2] for f in files
                           if re.match(r"Modules/(Loadable|Scripted)/\w+/CMakeLists\.txt$", f)})
    facts = {
        "slicer_commit": rev_parse(slicer_git, tag), "ctk_commit": ctk_rev, "python": python,
        "extension_template_cmake_minimum": cmake_range,
        "bundled_python_packages": bundled_packages(slicer_git, tag, files),
        "python_modules": modules,
        "slicer_util": python_functions(git_show(slicer_git, tag, pyslicer + "util.py")),
        "parameterNodeWrapper": parameter_node_facts(slicer_git, tag),
        "designer_plugin_classes": sorted(plugins),
        "widget_classes": dict(sorted(classes.items())),
        "cpp_classes": cpp_classes,
        "slicer_modules": sorted(m.lower() for m in modules_dirs),
    }
    facts["slicer_i18n"] = python_functions(git_show(slicer_git, tag, pyslicer + "i18n.py"))
    packaging = git_show(slicer_git, tag, pyslicer + "packaging.py")
    if packaging:
        facts["slicer_packaging"] = python_functions(packaging)
    return facts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slicer-git", type=Path, required=True, help="git dir of a Slicer/Slicer clone")
    parser.add_argument("--ctk-git", type=Path, required=True, help="git dir of a commontk/CTK clone")
    parser.add_argument("--tags", nargs="+", default=["v5.10.0", "v5.12.3"])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    facts = {"generated_by": "Testing/slicer/tools/extract_slicer_facts.py",
             "qt": {"members": QT_MEMBERS, "bases": QT_BASES, "ui_classes": QT_UI_CLASSES,
                    "source": "hand-listed from the Qt 5.15 documentation (not extracted)"},
             "versions": {}}
    for tag in args.tags:
        version = ".".join(tag.lstrip("v").split(".")[:2])
        facts["versions"][version] = {"tag": tag, **slicer_facts(args.slicer_git, args.ctk_git, tag)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(facts, indent=1, sort_keys=False) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
