"""Fixes of issue #10 that run headless: dependency install paths of Slicer 5.10 / 5.12, volume
preselection, typing texts, single lesion point, MRML hygiene, Extract = Analyse all, input segmentation
left alone, the p-value chart's threshold line and the module's plot view."""

import sys
import types

import pandas as pd
import pytest
from ModicAnalysisLib import conversion, core, dependencies, gui, presentation, selection, selftest
from ModicAnalysisLib.logic import ModicAnalysisCaseLogic


# ------------------------------------------------------------------ dependency install in Slicer 5.10 / 5.12
def _fakeSlicer(monkeypatch, withPackaging: bool, confirm: bool = True):
    calls = []
    module = types.ModuleType("fakeslicer")
    module.util = types.SimpleNamespace(
        confirmOkCancelDisplay=lambda text: calls.append(("confirm", text)) or confirm,
        pip_install=lambda args: calls.append(("pip_install", list(args))))
    monkeypatch.setitem(sys.modules, "fakeslicer", module)
    if withPackaging:
        packaging = types.ModuleType("fakeslicer.packaging")

        def pip_ensure(requirements, constraints=None, requester=None, prompt_install=True, skip_in_testing=True):
            calls.append(("pip_ensure", list(requirements), open(constraints).read(), prompt_install,
                          skip_in_testing))
            if not confirm:
                raise RuntimeError("User declined package installation")

        packaging.pip_ensure = pip_ensure
        monkeypatch.setitem(sys.modules, "fakeslicer.packaging", packaging)
    monkeypatch.setattr(dependencies, "REQUIREMENTS", ("surely-not-installed-pkg>=1",))
    return module, calls


def test_slicer_510_asks_then_pip_installs_with_constraints(monkeypatch):
    module, calls = _fakeSlicer(monkeypatch, withPackaging=False)
    assert dependencies.ensureInSlicer(slicerModule=module) is False  # the fake install installs nothing
    assert calls[0][0] == "confirm" and "surely-not-installed-pkg" in calls[0][1]
    kind, args = calls[1]
    assert kind == "pip_install" and args[0] == "surely-not-installed-pkg>=1" and args[-2] == "-c"


def test_slicer_510_decline_installs_nothing(monkeypatch):
    module, calls = _fakeSlicer(monkeypatch, withPackaging=False, confirm=False)
    assert dependencies.ensureInSlicer(slicerModule=module) is False
    assert [c[0] for c in calls] == ["confirm"]


def test_slicer_512_uses_pip_ensure_with_pinned_bundle(monkeypatch):
    import importlib.metadata

    module, calls = _fakeSlicer(monkeypatch, withPackaging=True)
    dependencies.ensureInSlicer(slicerModule=module)
    kind, requirements, constraints, prompt, skipInTesting = calls[0]
    assert kind == "pip_ensure" and requirements == ["surely-not-installed-pkg>=1"]
    assert f"numpy=={importlib.metadata.version('numpy')}" in constraints.split()
    assert prompt is True and skipInTesting is False  # self-tests in the extension factory install too
    module, calls = _fakeSlicer(monkeypatch, withPackaging=True, confirm=False)
    assert dependencies.ensureInSlicer(slicerModule=module, interactive=False) is False
    assert calls[0][3] is False


def test_nothing_happens_when_satisfied(monkeypatch):
    module, calls = _fakeSlicer(monkeypatch, withPackaging=False)
    monkeypatch.setattr(dependencies, "REQUIREMENTS", ())
    assert dependencies.ensureInSlicer(slicerModule=module) is True
    assert calls == []


def test_core_path_from_a_source_checkout(monkeypatch, tmp_path):
    repo = tmp_path / "repo"
    (repo / "modic").mkdir(parents=True)
    (repo / "modic" / "__init__.py").write_text("")
    (repo / "ModicAnalysis").mkdir()
    monkeypatch.setattr(sys, "path", [p for p in sys.path])
    monkeypatch.setattr(dependencies.importlib.util, "find_spec", lambda name: None)
    assert dependencies.ensureCoreImportable(repo / "ModicAnalysis")
    assert str(repo) in sys.path
    assert not dependencies.ensureCoreImportable(tmp_path / "elsewhere" / "ModicAnalysis")


# ------------------------------------------------------------------ preselection and texts
@pytest.mark.parametrize("name, sequence", [
    ("SAG T1 FSE", "T1"), ("Sag_T2_TSE", "T2"), ("T2 FS", "FS"), ("sag stir", "FS"), ("T2_FS", "FS"),
    ("T2W fat sat", "FS"), ("SPAIR T2", "FS"), ("T1WI", "T1"), ("FSE T2", "T2"), ("Dixon FAT", None),
    ("localizer", None), ("T12 level", None)])
def test_sequence_from_series_name(name, sequence):
    assert selection.sequenceOfName(name) == sequence


def test_preselection_skips_label_maps_and_figures(scene):
    image = selftest.syntheticImage()
    t1 = conversion.addVolumeFromSitkImage(scene, image, "SAG T1 FSE")
    conversion.addVolumeFromSitkImage(scene, image, "T2 lesion", labelmap=True)
    figure = conversion.addVolumeFromSitkImage(scene, image, "figure T2 screening")
    figure.SetAttribute(selection.FIGURE_ATTRIBUTE, "/report/figure.png")
    t2 = conversion.addVolumeFromSitkImage(scene, image, "sag t2 tse")
    nodes = [scene.GetNthNodeByClass(i, "vtkMRMLScalarVolumeNode")
             for i in range(scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode"))]
    assert len(nodes) == 4  # the label map is a vtkMRMLScalarVolumeNode subclass
    assert selection.preselect(nodes) == {"T1": t1, "T2": t2}


def test_typing_texts_flag_cases_outside_the_training_data():
    typing = {"SignalPatternType": "I", "SignalRatios": "T1=0.6;T2=1.4", "PredictedType": "1",
              "Probabilities": "1=0.7;2=0.2;3=0.1", "ModelFile": "m.skops", "InDomain": "false"}
    texts = presentation.typingTexts(typing, "model: m.skops")
    assert texts["predictedType"] == "Type I  (model: m.skops) — outside the training data"
    assert texts["probabilities"] == "Type I: 0.70, Type II: 0.20, Type III: 0.10"
    assert "outside" not in presentation.typingTexts({**typing, "InDomain": "true"})["predictedType"]
    assert "outside" not in presentation.typingTexts({**typing, "InDomain": ""})["predictedType"]


def test_in_domain_flag_from_any_prediction_form():
    assert core.inDomainOf({"predicted_type": 2, "in_domain": False}) is False
    assert core.inDomainOf(pd.DataFrame({"predicted_type": [1], "in_domain": [True]})) is True
    assert core.inDomainOf({"predicted_type": 2}) is None and core.inDomainOf(None) is None


def test_background_run_polls_and_returns():
    polls = []
    assert gui.runInBackground(lambda: sum(range(10)), lambda: polls.append(1), interval=0.001) == 45
    assert polls
    with pytest.raises(ValueError, match="bad"):
        gui.runInBackground(lambda: (_ for _ in ()).throw(ValueError("bad")), lambda: None)


# ------------------------------------------------------------------ MRML
def test_new_lesion_point_replaces_the_old_one(scene):
    points = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "lesion")
    conversion.setMarkupsPointLps(points, (1.0, 2.0, 3.0))
    import vtk

    points.AddControlPointWorld(vtk.vtkVector3d(-4.0, -5.0, 6.0), "second")  # RAS
    gui.keepOnlyLastPoint(points)
    assert points.GetNumberOfControlPoints() == 1
    assert conversion.markupsPointLps(points) == (4.0, 5.0, 6.0)


def _nodeNames(scene):
    return sorted(scene.GetNthNode(i).GetName() or "" for i in range(scene.GetNumberOfNodes()))


def test_segment_export_leaves_no_nodes_behind(scene):
    volumeNodes, _, phantom = selftest.loadPhantomCase(scene, modicType=2, seed=3)
    segmentationNode = conversion.segmentationFromLabelMaps(scene, phantom.masks)
    before = _nodeNames(scene)
    for _ in range(2):
        conversion.labelMapsFromSegmentation(scene, segmentationNode, volumeNodes)
    assert _nodeNames(scene) == before
    assert not [n for n in before if n.endswith("_ColorTable")]


@pytest.fixture
def quickParams():
    sys.path.insert(0, str(selftest.__file__).rsplit("ModicAnalysis", 1)[0] + "ModicCohortStats")
    from ModicCohortStatsLib.selftest import quickParams as params

    p = params()
    p["featureClass"] = {"firstorder": []}
    return p


def test_extract_uses_the_chosen_normalisation_and_input_segmentation_is_only_read(scene, quickParams):
    volumeNodes, _, phantom = selftest.loadPhantomCase(scene, modicType=1, seed=7)
    volumeNodes = {"T2": volumeNodes["T2"]}  # one sequence keeps the three extractions short
    logic = ModicAnalysisCaseLogic(scene)
    user = conversion.segmentationFromLabelMaps(scene, {"T2": phantom.masks["T2"]}, names={"T2": "my lesion"})
    analysed = logic.analyzeCase(volumeNodes, inputSegmentationNode=user, outputSegmentationNode=user,
                                 params=quickParams, normalization="none")
    assert analysed.segmentationNode is not user
    assert user.GetSegmentation().GetNumberOfSegments() == 1
    assert user.GetSegmentation().GetNthSegment(0).GetName() == "my lesion"
    extracted = logic.extract(volumeNodes, user, params=quickParams, normalization="none")
    assert extracted.analysis.features == analysed.analysis.features
    default = logic.extract(volumeNodes, user, params=quickParams)  # zscore-image
    key = "T2_original_firstorder_Mean"
    assert default.analysis.features[key] != pytest.approx(extracted.analysis.features[key], rel=1e-3)


def test_threshold_line_uses_the_feature_index_and_plot_view_shows_the_chart(scene):
    from ModicCohortStatsLib.logic import ModicCohortStatsLogicCore

    logic = ModicCohortStatsLogicCore(scene)
    chart = logic.pValueChart(pd.Series({"a": 0.01, "b": 0.2, "c": 0.04}))
    series = [chart.GetNthPlotSeriesNode(i) for i in range(chart.GetNumberOfPlotSeriesNodes())]
    for node in series:  # every series is drawn against "Feature index" (1..n), none against row indices
        assert node.IsXColumnRequired() and node.GetXColumnName() == "Feature index"
    line = [n for n in series if n.GetYColumnName() == "p threshold"][0]
    assert line.GetLineStyle() == line.LineStyleSolid and line.GetMarkerStyle() == line.MarkerStyleNone
    view = logic.plotViewNode(chart)
    assert view.GetPlotChartNodeID() == chart.GetID()
    assert logic.plotViewNode(chart) is view  # one view node per scene
