"""Worker processes inside 3D Slicer: which interpreter is spawned, and the parent-liveness check.

Inside Slicer `sys.executable` is the PythonSlicer launcher, which starts `python-real` as its child.
"""

import multiprocessing
import os
import stat
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from modic import compat
from modic.batch import engine


def _files(*paths):
    return lambda p: p in set(paths)


@pytest.mark.parametrize("platform, exe, real", [
    ("linux", "/opt/Slicer-5.10.0-linux-amd64/bin/PythonSlicer", "/opt/Slicer-5.10.0-linux-amd64/bin/python-real"),
    ("darwin", "/Applications/Slicer.app/Contents/bin/PythonSlicer",
     "/Applications/Slicer.app/Contents/bin/python-real"),
    ("win32", r"C:\Users\me\AppData\Local\slicer.org\Slicer 5.12.3\bin\PythonSlicer.exe",
     r"C:\Users\me\AppData\Local\slicer.org\Slicer 5.12.3\bin\python-real.exe"),
])
def test_pythonslicer_launcher_is_replaced_by_python_real(platform, exe, real):
    assert compat.worker_executable(exe, platform, _files(exe, real)) == real
    # no python-real next to it (an unusual build): keep the launcher, the sentinel check still works
    assert compat.worker_executable(exe, platform, _files(exe)) is None


@pytest.mark.parametrize("platform, exe, expected", [
    ("linux", "/opt/Slicer/bin/SlicerApp-real", "/opt/Slicer/bin/python-real"),
    ("darwin", "/Applications/Slicer.app/Contents/MacOS/Slicer", "/Applications/Slicer.app/Contents/bin/python-real"),
    ("win32", r"C:\Slicer 5.10.0\bin\SlicerApp-real.exe", r"C:\Slicer 5.10.0\bin\python-real.exe"),
])
def test_slicer_application_as_executable(platform, exe, expected):
    assert compat.worker_executable(exe, platform, _files(expected)) == expected


@pytest.mark.parametrize("platform, exe", [("linux", "/usr/bin/python3.12"), ("darwin", "/opt/venv/bin/python"),
                                           ("win32", r"C:\venv\Scripts\python.exe")])
def test_plain_python_is_kept(platform, exe):
    assert compat.worker_executable(exe, platform, lambda p: True) is None


def _sleep_and_report(seconds):
    time.sleep(seconds)
    return os.getpid(), os.getppid()


@pytest.mark.skipif(sys.platform.startswith("win"), reason="the stand-in launcher is a shell script")
def test_worker_behind_a_launcher_survives_the_liveness_check(tmp_path):
    """A launcher between parent and worker (as PythonSlicer): the worker must not exit as 'parent gone'."""
    launcher = tmp_path / "PythonSlicer"
    launcher.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        "{sys.executable}" "$@"
        """))  # no exec: python runs as the launcher's child, as python-real does under PythonSlicer
    launcher.chmod(launcher.stat().st_mode | stat.S_IEXEC)
    ctx = multiprocessing.get_context("spawn")
    ctx.set_executable(str(launcher))
    with ProcessPoolExecutor(1, mp_context=ctx, initializer=engine._worker_init, initargs=(os.getpid(),)) as ex:
        pid, ppid = ex.submit(_sleep_and_report, 2.5).result(timeout=60)
    assert ppid != os.getpid()  # the launcher is the worker's parent ...
    assert pid != os.getpid()  # ... and the case still finished after > 2 liveness checks


def test_engine_imports_without_resource(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_resource(name, *args, **kwargs):
        if name == "resource":
            raise ImportError("no resource module on Windows")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_resource)
    value = engine.peak_rss_mb()
    assert value != value  # NaN


def test_no_unix_only_module_at_import_time():
    """`resource` does not exist on Windows: importing the engine must not need it."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(engine))
    top = {a.name for node in tree.body if isinstance(node, ast.Import) for a in node.names}
    top |= {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
    assert not top & {"resource", "fcntl", "termios", "pwd", "grp"}
