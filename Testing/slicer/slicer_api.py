"""Check our .ui files and Slicer module code against the API facts of Slicer 5.10 and 5.12.

The facts (Testing/slicer/data/slicer_api_facts.json) come from Slicer's and CTK's source at the release
tags (tools/extract_slicer_facts.py). Every function returns a list of one-line problems ([] = conforms),
so the tests can also show that each check fails on the defects it exists for.
"""

from __future__ import annotations

import ast
import json
import re
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FACTS_PATH = Path(__file__).resolve().parent / "data" / "slicer_api_facts.json"
#: Properties whose type is a QFlags: Qt Designer must write them as <set>, not <enum>.
FLAGS_PROPERTIES = {"filters", "options", "alignment", "textInteractionFlags", "standardButtons", "features"}
#: Dynamic properties our .ui files set (stdset="0") that no class declares.
DYNAMIC_PROPERTIES = {"SlicerParameterName", "SlicerPackParameterName"}
#: Our own modules (`slicer.modules.<name>`).
OUR_MODULES = {"modicanalysis", "modiccohortstats"}


@cache
def facts() -> dict:
    return json.loads(FACTS_PATH.read_text())


def versions() -> list[str]:
    return sorted(facts()["versions"])


# ------------------------------------------------------------------ widget classes
def class_chain(version: str, name: str) -> list[str]:
    """`name` and its base classes, through Slicer/CTK headers then the hand-listed Qt classes."""
    widgets = facts()["versions"][version]["widget_classes"]
    qt_bases = facts()["qt"]["bases"]
    chain = []
    while name and name not in chain:
        chain.append(name)
        name = widgets[name]["base"] if name in widgets else qt_bases.get(name)
    return chain


def members(version: str, name: str, kind: str) -> set[str]:
    """Signals ("signals"), slots + Q_INVOKABLE + Qt methods ("callables") or properties of a class chain."""
    widgets = facts()["versions"][version]["widget_classes"]
    qt = facts()["qt"]["members"]
    out: set[str] = set()
    for cls in class_chain(version, name):
        if cls in widgets:
            info = widgets[cls]
            if kind == "signals":
                out |= set(info["signals"])
            elif kind == "callables":
                out |= {s.split("(")[0] for s in info["slots"]} | set(info["invokables"])
            elif kind == "slots":
                out |= set(info["slots"])
            else:
                out |= set(info["properties"])
        elif cls in qt:
            if kind == "signals":
                out |= set(qt[cls]["signals"])
            elif kind == "callables":
                out |= set(qt[cls]["methods"])
            elif kind == "properties":
                out |= set(qt[cls]["properties"])
    return out


def known_class(version: str, name: str) -> bool:
    """A .ui may name Qt widgets and classes that have a Designer plugin (others load as plain QWidget)."""
    return name in facts()["qt"]["ui_classes"] or name in facts()["versions"][version]["designer_plugin_classes"]


def ui_widgets(path: Path) -> dict[str, str]:
    """Widget name -> class of a .ui file."""
    return {w.get("name"): w.get("class") for w in ET.parse(path).getroot().iter("widget")}


def check_ui(path: Path) -> list[str]:
    problems = []
    root = ET.parse(path).getroot()
    top = root.find("widget").get("name")
    for version in versions():
        classes = ui_widgets(path)
        for widget in root.iter("widget"):
            cls, name = widget.get("class"), widget.get("name")
            if name != top and not known_class(version, cls):
                problems.append(f"{path.name}: {name} is a {cls}, which has no Designer plugin in Slicer {version}")
                continue
            props = members(version, cls, "properties") | members(version, "QWidget", "properties")
            for prop in widget.findall("property"):
                pname = prop.get("name")
                if pname in DYNAMIC_PROPERTIES and prop.get("stdset") == "0":
                    continue
                if cls in facts()["versions"][version]["widget_classes"] and pname not in props:
                    problems.append(f"{path.name}: {name} ({cls}) has no property {pname} in Slicer {version}")
                if pname in FLAGS_PROPERTIES and prop.find("set") is None:
                    problems.append(f"{path.name}: {name}.{pname} is a flags property: write it as <set>")
        for connection in root.iter("connection"):
            sender, receiver = connection.findtext("sender"), connection.findtext("receiver")
            signal, slot = connection.findtext("signal"), connection.findtext("slot")
            sender_cls = classes.get(sender, "qMRMLWidget")
            receiver_cls = classes.get(receiver)
            if signal not in members(version, sender_cls, "signals"):
                problems.append(f"{path.name}: {sender} ({sender_cls}) has no signal {signal} in Slicer {version}")
            if receiver_cls and not known_class(version, receiver_cls):
                problems.append(f"{path.name}: connection to {receiver}, a plain QWidget in Slicer {version}")
            elif receiver_cls and slot not in members(version, receiver_cls, "slots"):
                problems.append(f"{path.name}: {receiver} ({receiver_cls}) has no slot {slot} in Slicer {version}")
    return sorted(set(problems))


# ------------------------------------------------------------------ Python code
def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _guarded_by_import_error(tree: ast.AST, target: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(target is n for stmt in node.body for n in ast.walk(stmt)):
            for handler in node.handlers:
                names = {_dotted(n) for n in ast.walk(handler.type)} if handler.type else {None}
                if names & {"ImportError", "ModuleNotFoundError", None}:
                    return True
    return False


def check_python(source: str, name: str, ui: dict[str, str] | None = None) -> list[str]:
    """slicer.* imports, slicer.util calls, slicer.<Class>/slicer.modules.<x> names and self.ui.<widget> use."""
    tree = ast.parse(source)
    problems = []
    local_imports = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                     for n in ast.walk(f) if isinstance(n, ast.Import)}
    for version in versions():
        info = facts()["versions"][version]
        modules = set(info["python_modules"])
        util = info["slicer_util"]
        for node in ast.walk(tree):
            line = f"{name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == "slicer" and len(parts) > 1 and parts[1] not in modules:
                        where = "function-local " if id(node) in local_imports else ""
                        problems.append(f"{line}: {where}import {alias.name}: no slicer.{parts[1]} in Slicer "
                                        f"{version}" + (" (and it makes `slicer` a local name of the function)"
                                                        if where and alias.asname is None else ""))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("slicer."):
                sub = node.module.split(".")[1]
                if sub not in modules and not _guarded_by_import_error(tree, node):
                    problems.append(f"{line}: from {node.module} import ...: no slicer.{sub} in Slicer {version}")
                if node.module == "slicer.parameterNodeWrapper":
                    for alias in node.names:
                        if alias.name not in info["parameterNodeWrapper"]["exported"]:
                            problems.append(f"{line}: slicer.parameterNodeWrapper has no {alias.name} in {version}")
                if node.module == "slicer.util":
                    for alias in node.names:
                        if alias.name not in util and alias.name != "VTKObservationMixin":
                            problems.append(f"{line}: slicer.util has no {alias.name} in Slicer {version}")
                if node.module == "slicer.i18n":
                    for alias in node.names:
                        if alias.name not in info["slicer_i18n"]:
                            problems.append(f"{line}: slicer.i18n has no {alias.name} in Slicer {version}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                dotted = _dotted(node.func) or ""
                if dotted.startswith("slicer.util."):
                    problems += _check_util_call(node, dotted.split(".", 2)[2], util, version, line)
                if (dotted in ("importlib.import_module", "import_module") and node.args
                        and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).startswith("slicer.")
                        and not _guarded_by_import_error(tree, node)):
                    problems.append(f"{line}: import_module({node.args[0].value!r}) without ImportError fallback")
            elif isinstance(node, ast.Attribute):
                dotted = _dotted(node) or ""
                parts = dotted.split(".")
                if parts[0] == "slicer" and len(parts) > 1:
                    attr = parts[1]
                    if re.match(r"^(vtkMRML|vtkSlicer|qSlicer|qMRML)", attr) and attr not in info["cpp_classes"]:
                        problems.append(f"{line}: slicer.{attr} does not exist in Slicer {version}")
                    if (attr == "modules" and len(parts) > 2 and parts[2] not in info["slicer_modules"]
                            and parts[2] not in OUR_MODULES):
                        problems.append(f"{line}: slicer.modules.{parts[2]} is not a Slicer {version} module")
        if ui:
            problems += _check_ui_use(tree, name, ui, version)
    return sorted(set(problems))


def _check_util_call(node: ast.Call, function: str, util: dict, version: str, line: str) -> list[str]:
    if function not in util:
        return [f"{line}: slicer.util.{function} does not exist in Slicer {version}"]
    spec = util[function]
    problems = []
    for keyword in node.keywords:
        if keyword.arg and keyword.arg not in spec["params"] and not spec["varkw"]:
            problems.append(f"{line}: slicer.util.{function}() has no argument {keyword.arg} in Slicer {version}")
    given = len(node.args) + sum(1 for k in node.keywords if k.arg in spec["params"][:spec["required"]])
    if given < spec["required"] and not any(isinstance(a, ast.Starred) for a in node.args):
        problems.append(f"{line}: slicer.util.{function}() needs {spec['required']} arguments")
    if len(node.args) > len(spec["params"]) and not spec["varargs"]:
        problems.append(f"{line}: slicer.util.{function}() takes at most {len(spec['params'])} positional arguments")
    return problems


def _check_ui_use(tree: ast.AST, name: str, ui: dict[str, str], version: str) -> list[str]:
    """`self.ui.<widget>.<member>`: the widget is in the .ui and the member exists for its class."""
    problems = []
    path_fields = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "PATH_FIELDS" for t in node.targets):
            path_fields |= set(ast.literal_eval(node.value))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                and node.value.attr == "ui" and _dotted(node.value) == "self.ui"):
            continue
        widget = node.attr
        line = f"{name}:{node.lineno}"
        if widget not in ui:
            problems.append(f"{line}: self.ui.{widget} is not in the .ui file")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        widget_names = []
        if isinstance(owner, ast.Attribute) and _dotted(owner.value) == "self.ui":
            widget_names = [owner.attr]
        elif (isinstance(owner, ast.Call) and _dotted(owner.func) == "getattr" and owner.args
              and _dotted(owner.args[0]) == "self.ui"):
            widget_names = sorted(path_fields)
        for widget in widget_names:
            cls = ui.get(widget)
            if cls is None:
                continue
            member = node.attr
            line = f"{name}:{node.lineno}"
            if member == "connect":
                continue  # checked with the signal string below
            known = (members(version, cls, "callables") | members(version, cls, "properties")
                     | {s.split("(")[0] for s in members(version, cls, "signals")})
            if member not in known:
                problems.append(f"{line}: {widget} ({cls}) has no slot, invokable or property {member} "
                                f"in Slicer {version}")
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "connect"
                and node.args and isinstance(node.args[0], ast.Constant)):
            owner = node.func.value
            widgets = []
            if isinstance(owner, ast.Attribute) and _dotted(owner.value) == "self.ui":
                widgets = [owner.attr]
            elif isinstance(owner, ast.Call) and _dotted(owner.func) == "getattr":
                widgets = sorted(path_fields)
            for widget in widgets:
                cls = ui.get(widget)
                if cls and node.args[0].value not in members(version, cls, "signals"):
                    problems.append(f"{name}:{node.lineno}: {widget} ({cls}) has no signal {node.args[0].value} "
                                    f"in Slicer {version}")
    return problems


def check_parameter_ranges(source: str, name: str) -> list[str]:
    """int/float parameters of a parameterNodeWrapper class need a range annotation (else ±2^31 / ±inf)."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and any(_dotted(d) == "parameterNodeWrapper" for d in node.decorator_list):
            for field in node.body:
                if isinstance(field, ast.AnnAssign):
                    text = ast.unparse(field.annotation)
                    if text in ("int", "float"):
                        problems.append(f"{name}:{field.lineno}: {field.target.id}: {text} without WithinRange/"
                                        "Minimum/Maximum gets a ±2^31 (or ±inf) widget range")
    return problems


def check_choice_combos(source: str, name: str, ui_path: Path) -> list[str]:
    """A combo box bound to a Choice parameter is filled by the wrapper: the code must not addItem to it."""
    root = ET.parse(ui_path).getroot()
    bound = {}
    for widget in root.iter("widget"):
        for prop in widget.findall("property"):
            if prop.get("name") == "SlicerParameterName":
                bound[prop.findtext("string")] = widget.get("name")
    tree = ast.parse(source)
    choices = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and "Choice(" in ast.unparse(node.annotation):
            choices.add(bound.get(node.target.id))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("addItem",
                                                                                                        "addItems"):
            owner = node.func.value
            if isinstance(owner, ast.Attribute) and owner.attr in choices:
                problems.append(f"{name}:{node.lineno}: {owner.attr} is filled by its Choice parameter already")
    return problems


def check_module_dependencies(source: str, name: str, ours: set[str]) -> list[str]:
    problems = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Assign) and _dotted(node.targets[0]) == "self.parent.dependencies"
                and isinstance(node.value, ast.List)):
            for item in ast.literal_eval(node.value):
                for version in versions():
                    if item.lower() not in facts()["versions"][version]["slicer_modules"] and item not in ours:
                        problems.append(f"{name}: dependency {item} is not a Slicer {version} module")
    return problems
