"""Run the tests in Python environments built like 3D Slicer 5.10's and 5.12's (`make test-slicer`).

For each Slicer version this script
1. makes a Python 3.12 venv holding exactly the Python packages that version's SuperBuild bundles
   (numpy, SciPy, SimpleITK, pydicom, requests, ... — pins read from
   Testing/slicer/data/slicer_api_facts.json, which tools/extract_slicer_facts.py regenerates);
2. installs what ModicAnalysis installs on first use — `dependencies.missingRequirements()` computed
   *inside* the venv, passed to `pip install` with the constraints file the module writes (every bundled
   package pinned to its installed version), so the install must resolve without changing them;
   for 5.12 the `radiomics` package is first built from upstream PyRadiomics at the commit SlicerRadiomics
   pins (as a Slicer user with SlicerRadiomics has it), for 5.10 the module's fallback is used;
3. checks that no bundled package changed, then runs the core tests and the slicer-core MRML tests;
4. (with a PyRadiomics source) compares the paper configuration's features of a phantom case computed
   with upstream PyRadiomics and with pyradiomics-bhklab (our default) in the same environment.

    python Testing/slicer_env/slicer_env.py [--versions 5.10 5.12] [--pyradiomics-src DIR_OR_GIT]

Results go to build/slicer-env/results-<version>.json and the summary to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FACTS = ROOT / "Testing" / "slicer" / "data" / "slicer_api_facts.json"
PYRADIOMICS_COMMIT = "146e3bd0971336913f9c9f49ce535bc4663ca5c2"  # SlicerRadiomics External_python-pyradiomics
PYRADIOMICS_URL = "https://github.com/AIM-Harvard/pyradiomics.git"
PYRADIOMICS_BUILD_FILES = ["radiomics", "setup.py", "setup.cfg", "pyproject.toml", "versioneer.py", "README.md",
                           "LICENSE.txt", "MANIFEST.in", "requirements.txt", "requirements-setup.txt"]
SLICER_CORE = "slicer-core==5.13.31053.0"
#: Packages the SuperBuild lists that are build tools or only used by the Extension Manager; not pinned here.
NOT_INSTALLED = {"pip", "setuptools", "wheel"}
#: Tests run inside each environment (core + headless MRML; the Qt .ui test needs PySide6, not bundled), as
#: separate pytest runs (each folder has its own conftest.py).
TESTS = {"core": ["Testing/core"], "batch": ["Testing/batch"],
         "slicer": ["Testing/slicer/test_mrml_conversion.py", "Testing/slicer/test_tables.py",
                    "Testing/slicer/test_analysis_logic.py", "Testing/slicer/test_cohort_logic.py",
                    "Testing/slicer/test_batch_script.py", "Testing/slicer/test_slicer_fixes.py",
                    "Testing/slicer/test_slicer_env_install.py"]}


def find_python312() -> str:
    import glob

    pyenv = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")), reverse=True)
    for candidate in ("python3.12", *pyenv):
        path = shutil.which(candidate) or (candidate if os.path.isfile(candidate) else None)
        if path and subprocess.run([path, "-c", "import sys; assert sys.version_info[:2] == (3, 12)"],
                                   capture_output=True).returncode == 0:
            return path
    raise SystemExit("python3.12 not found (Slicer 5.10/5.12 run Python 3.12): install it or pass --python")


def run(cmd: list[str], log, **kwargs) -> subprocess.CompletedProcess:
    log.write(f"$ {' '.join(map(str, cmd))}\n")
    log.flush()
    result = subprocess.run([str(c) for c in cmd], stdout=log, stderr=subprocess.STDOUT, **kwargs)
    if result.returncode != 0 and kwargs.get("check", True):
        raise RuntimeError(f"command failed ({result.returncode}): {' '.join(map(str, cmd))} — see {log.name}")
    return result


def bundled(version: str) -> dict[str, str]:
    facts = json.loads(FACTS.read_text())["versions"][version]
    return {k: v for k, v in facts["bundled_python_packages"].items() if k not in NOT_INSTALLED}


def pyradiomics_source(src: str | None, workdir: Path, log) -> Path | None:
    """A source tree of PyRadiomics at PYRADIOMICS_COMMIT: from a git dir/clone, a tree, or GitHub."""
    target = workdir / "pyradiomics-src"
    if target.is_dir():
        return target
    candidates = [src] if src else [PYRADIOMICS_URL]
    for candidate in candidates:
        git_dir = None
        if candidate and Path(candidate).is_dir():
            path = Path(candidate)
            if (path / "setup.py").is_file() and not (path / ".git").exists():
                return path
            git_dir = path / ".git" if (path / ".git").exists() else path
        else:
            clone = workdir / "pyradiomics.git"
            if run(["git", "clone", "--bare", "--quiet", candidate, clone], log, check=False).returncode != 0:
                continue
            git_dir = clone
        target.mkdir(parents=True)
        # only what `pip install .` needs (a partial mirror may lack the large data/ blobs)
        archive = subprocess.run(["git", "--git-dir", str(git_dir), "archive", PYRADIOMICS_COMMIT, "--",
                                  *PYRADIOMICS_BUILD_FILES], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        # `git archive` leaves versioneer no tag to read: record what `git describe` gives (v3.1.0-2-g146e3bd)
        version = {"date": None, "dirty": False, "error": None, "full-revisionid": PYRADIOMICS_COMMIT,
                   "version": f"3.1.0+2.g{PYRADIOMICS_COMMIT[:7]}"}
        quotes = "'" * 3
        (target / "radiomics" / "_version.py").write_text(
            f"import json\n\nversion_json = {quotes}\n{json.dumps(version)}\n{quotes}  # END VERSION_JSON\n\n\n"
            "def get_versions():\n    return json.loads(version_json)\n")
        return target
    return None


def build(version: str, root: Path, python: str, pyradiomics_src: str | None, log) -> dict:
    venv = root / version
    py = venv / "bin" / "python"
    pins = bundled(version)
    report: dict = {"version": version, "bundled": pins}
    if not py.is_file():
        run([python, "-m", "venv", venv], log)
    run([py, "-m", "pip", "install", "--quiet", *(f"{k}=={v}" for k, v in pins.items())], log)  # no-op when done
    constraints = venv / "constraints.txt"
    constraints.write_text("".join(f"{k}=={v}\n" for k, v in pins.items()))
    if version == "5.12":
        src = pyradiomics_source(pyradiomics_src, root, log)
        report["pyradiomics_upstream"] = bool(src)
        if src is not None:  # as SlicerRadiomics: `pip install .` of that commit, against the bundled numpy
            run([py, "-m", "pip", "install", "--quiet", "-c", constraints, src], log)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "ModicAnalysis")])}
    # What the module would install: computed by ModicAnalysisLib.dependencies in this environment, with the
    # constraints file ModicAnalysisLib.dependencies.writeConstraints() writes (bundled versions pinned).
    probe = ("import json,sys; from ModicAnalysisLib import dependencies as d; "
             "c = d.writeConstraints(sys.argv[1]); print(json.dumps({'missing': d.missingRequirements(), "
             "'constraints': open(c).read().split()}))")
    out = subprocess.run([py, "-c", probe, str(venv / "module-constraints.txt")], env=env, capture_output=True,
                         text=True, check=True).stdout
    plan = json.loads(out.strip().splitlines()[-1])
    report["module_install"] = plan["missing"]
    report["module_constraints"] = plan["constraints"]
    if plan["missing"]:
        run([py, "-m", "pip", "install", "--quiet", "-c", venv / "module-constraints.txt", *plan["missing"]], log)
    run([py, "-m", "pip", "install", "--quiet", "-c", constraints, "pytest>=8", SLICER_CORE], log)
    installed = json.loads(subprocess.run(
        [py, "-c", "import json, importlib.metadata as m; print(json.dumps({d.metadata['Name'].lower(): d.version "
         "for d in m.distributions()}))"], capture_output=True, text=True, check=True).stdout)
    changed = {k: (v, installed.get(k)) for k, v in pins.items() if installed.get(k) != v}
    report["bundled_changed"] = changed
    report["radiomics"] = {k: installed[k] for k in ("pyradiomics", "pyradiomics-bhklab") if k in installed}
    report["installed"] = installed
    return report


def run_tests(version: str, root: Path, log) -> dict:
    import xml.etree.ElementTree as ET

    py = root / version / "bin" / "python"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MODIC_SLICER_ENV": version}
    summary: dict = {"returncode": 0, "seconds": 0.0, "tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for group, paths in TESTS.items():
        t0 = time.time()
        junit = root / f"junit-{version}-{group}.xml"
        result = run(["nice", py, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *paths],
                     log, env=env, cwd=ROOT, check=False)
        summary["returncode"] = summary["returncode"] or result.returncode
        summary["seconds"] = round(summary["seconds"] + time.time() - t0, 1)
        if junit.is_file():
            suite = ET.parse(junit).getroot()
            suite = suite.find("testsuite") if suite.tag == "testsuites" else suite
            for key in ("tests", "failures", "errors", "skipped"):
                summary[key] += int(suite.get(key, 0))
    return summary


def compare_radiomics(root: Path, log) -> dict | None:
    """Paper configuration on a phantom case: upstream PyRadiomics vs pyradiomics-bhklab, same environment."""
    py = root / "5.12" / "bin" / "python"
    script = Path(__file__).with_name("radiomics_features.py")
    bhklab = root / "bhklab-target"
    if not bhklab.is_dir():
        run([py, "-m", "pip", "install", "--quiet", "--no-deps", "--target", bhklab, "pyradiomics-bhklab>=3.1.4,<3.2"],
            log)
    outputs = {}
    for name, extra in (("upstream", []), ("bhklab", [str(bhklab)])):
        out = root / f"features-{name}.json"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([*extra, str(ROOT)])}
        run(["nice", py, script, out], log, env=env)
        outputs[name] = json.loads(out.read_text())
    return diff_features(outputs["upstream"], outputs["bhklab"])


def diff_features(a: dict, b: dict, rtol: float = 1e-9) -> dict:
    import math

    fa, fb = a["features"], b["features"]
    only_a, only_b = sorted(set(fa) - set(fb)), sorted(set(fb) - set(fa))
    differ = {}
    for key in sorted(set(fa) & set(fb)):
        x, y = fa[key], fb[key]
        nan_x, nan_y = (v is None or math.isnan(v) for v in (x, y))
        if nan_x or nan_y:
            if nan_x != nan_y:
                differ[key] = (x, y)
            continue
        if abs(x - y) > rtol * max(abs(x), abs(y), 1e-300):
            differ[key] = (x, y)
    return {"versions": {"a": a["radiomics"], "b": b["radiomics"]}, "n_a": len(fa), "n_b": len(fb),
            "only_a": only_a, "only_b": only_b, "n_common": len(set(fa) & set(fb)), "differ": differ, "rtol": rtol}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", nargs="+", default=["5.10", "5.12"])
    parser.add_argument("--root", type=Path, default=ROOT / "build" / "slicer-env")
    parser.add_argument("--python", help="a Python 3.12 interpreter")
    parser.add_argument("--pyradiomics-src", help="PyRadiomics git dir / clone / source tree (default: GitHub)")
    parser.add_argument("--no-tests", action="store_true")
    parser.add_argument("--no-compare", action="store_true")
    args = parser.parse_args(argv)
    python = args.python or find_python312()
    args.root.mkdir(parents=True, exist_ok=True)
    failed = False
    for version in args.versions:
        with open(args.root / f"log-{version}.txt", "a") as log:
            report = build(version, args.root, python, args.pyradiomics_src, log)
            if not args.no_tests:
                report["tests"] = run_tests(version, args.root, log)
                failed |= report["tests"]["returncode"] != 0
            if version == "5.12" and not args.no_compare and report.get("pyradiomics_upstream"):
                report["radiomics_comparison"] = compare_radiomics(args.root, log)
        failed |= bool(report["bundled_changed"])
        (args.root / f"results-{version}.json").write_text(json.dumps(report, indent=1, default=str))
        short = {k: v for k, v in report.items() if k not in ("installed", "radiomics_comparison")}
        print(json.dumps(short, default=str))
        comparison = report.get("radiomics_comparison")
        if comparison:
            print(f"radiomics upstream vs bhklab: {comparison['n_common']} common features, "
                  f"{len(comparison['differ'])} differ (rtol {comparison['rtol']}), only upstream "
                  f"{len(comparison['only_a'])}, only bhklab {len(comparison['only_b'])}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
