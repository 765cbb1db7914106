"""The documented console example (ModicAnalysis/Resources/Scripts/slicer_batch.py), headless on slicer-core."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "ModicAnalysis/Resources/Scripts/slicer_batch.py"


@pytest.fixture(scope="module")
def batch():
    spec = importlib.util.spec_from_file_location("slicer_batch", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["slicer_batch"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def phantom_files(tmp_path_factory):
    from modic.io import write_image
    from modic.phantom import make_case

    folder = tmp_path_factory.mktemp("batch")
    case = make_case("batch", 1, 7)
    paths = {}
    for seq, image in case.images.items():
        paths[seq] = str(folder / f"{seq}.nrrd")
        write_image(image, paths[seq])
    return case, paths, folder


def test_load_volume_reads_the_file_geometry(batch, scene, phantom_files):
    from ModicAnalysisLib import conversion

    case, paths, _ = phantom_files
    node = batch.loadVolume(scene, paths["T2"], "T2")
    image = conversion.volumeNodeToSitkImage(node)
    reference = case.images["T2"]
    assert image.GetSize() == reference.GetSize()
    assert np.allclose(image.GetOrigin(), reference.GetOrigin(), atol=1e-6)
    assert np.allclose(image.GetDirection(), reference.GetDirection(), atol=1e-6)
    assert np.allclose(image.GetSpacing(), reference.GetSpacing(), atol=1e-6)
    assert np.array_equal(sitk.GetArrayViewFromImage(image), sitk.GetArrayViewFromImage(reference))


def test_bad_input_exits_with_2(batch, scene, tmp_path, capsys):
    code = batch.main(["case", "--t2", str(tmp_path / "missing.nrrd"), "--seed-lps", "1;2;3",
                       "--out", str(tmp_path / "f.csv")], scene=scene)
    assert code == 2
    assert "Image not found" in capsys.readouterr().err
    assert batch.main(["--", "cohort", "--manifest", str(tmp_path / "none.csv"), "--out",
                       str(tmp_path / "f.csv")], scene=scene) == 2


def test_case_example_writes_the_feature_table(batch, scene, phantom_files):
    """`slicer_batch.py case ...` end to end (needs modic.pipeline)."""
    import pandas as pd

    from modic.geometry import format_point

    case, paths, folder = phantom_files
    out = folder / "case.csv"
    code = batch.main(["case", "--t1", paths["T1"], "--t2", paths["T2"], "--fs", paths["FS"],
                       f"--seed-lps={format_point(case.seed_lps)}", "--case-id", "batch", "--out", str(out)],
                      scene=scene)
    assert code == 0
    table = pd.read_csv(out)
    assert list(table["case_id"]) == ["batch"]
    assert table.shape[1] > 100
    assert "T2_original_shape_Sphericity" in table.columns


class _StandInApp:
    """Records what slicer.util.exit() asks of slicer.app."""

    def __init__(self):
        self.exits = []
        self.options = type("Options", (), {"runPythonAndExit": True})()

    def commandOptions(self):
        return self.options

    def exit(self, code):
        self.exits.append(code)


def _runAsSlicerScript(monkeypatch, args):
    import runpy

    import slicer

    app = _StandInApp()
    monkeypatch.setattr(slicer, "app", app, raising=False)
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), *args])
    with pytest.raises(SystemExit) as exited:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    return app, exited.value.code


def test_unexpected_error_ends_slicer_with_code_1_and_one_line(monkeypatch, scene, tmp_path, capsys):
    from ModicCohortStatsLib.logic import ModicCohortStatsLogicCore

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(ModicCohortStatsLogicCore, "runExtraction", staticmethod(boom))
    app, code = _runAsSlicerScript(monkeypatch, ["--", "cohort", "--manifest", str(tmp_path / "m.csv"),
                                                 "--out", str(tmp_path / "f.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and app.exits == [1]
    assert app.options.runPythonAndExit is False
    assert err == ["error: RuntimeError: disk on fire second line"]


def test_bad_arguments_and_bad_input_end_slicer_with_code_2(monkeypatch, scene, tmp_path, capsys):
    app, code = _runAsSlicerScript(monkeypatch, ["case", "--no-such-option"])
    assert code == 2 and app.exits == [2]
    app, code = _runAsSlicerScript(monkeypatch, ["case", "--t2", str(tmp_path / "missing.nrrd"), "--seed-lps",
                                                 "1;2;3", "--out", str(tmp_path / "f.csv")])
    assert code == 2 and app.exits == [2]
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: Image not found")
