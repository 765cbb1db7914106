"""ModicCohortStats logic on real MRML (slicer-core): result nodes, plots, model hand-over, and a small
phantom cohort through extraction (with a cancel and a resume) and the statistics."""

import pytest
from ModicCohortStatsLib import core, selftest
from ModicCohortStatsLib.logic import ModicCohortStatsLogicCore


def test_result_nodes_and_model_hand_over(scene):
    report = selftest.checkResultNodes(scene)
    assert report == {"pColumnClass": "vtkDoubleArray", "numberOfSeries": 2, "modelPushed": True}


def test_p_value_chart(scene):
    import pandas as pd

    logic = ModicCohortStatsLogicCore(scene)
    chart = logic.pValueChart(pd.Series({"T1_a": 0.01, "T2_b": 0.3, "FS_c": 1e-5}))
    assert chart.GetYAxisLogScale()
    scatter, line = (chart.GetNthPlotSeriesNode(i) for i in range(2))
    assert scatter.GetPlotType() == scatter.PlotTypeScatter
    # drawn as a line through the "Feature index" column (a PlotTypeLine would ignore X and sit one point left)
    assert line.GetPlotType() == line.PlotTypeScatter and line.GetLineStyle() == line.LineStyleSolid
    assert line.GetMarkerStyle() == line.MarkerStyleNone and line.IsXColumnRequired()
    table = scatter.GetTableNode().GetTable()
    assert [table.GetColumnByName("p").GetValue(i) for i in range(3)] == [0.01, 0.3, 1e-5]
    assert {table.GetColumnByName("p threshold").GetValue(i) for i in range(3)} == {0.05}


def test_inputs_are_checked(scene, tmp_path):
    logic = ModicCohortStatsLogicCore(scene)
    with pytest.raises(ValueError, match="Manifest not found"):
        logic.runExtraction(str(tmp_path / "missing.csv"), str(tmp_path / "f.csv"))
    with pytest.raises(ValueError, match="Model file not found"):
        logic.pushModelToAnalysis(str(tmp_path / "none.skops"))


def test_stats_result_translation(tmp_path):
    import pandas as pd

    class Result:
        out_dir = tmp_path
        summary = {"cohort": {"n_cases": 3, "per_type": {1: 1, 2: 1, 3: 1}, "n_features": 9}, "synthetic": True}
        tables = {"table1": pd.DataFrame({"feature": ["a"]}), "table2_dunn": pd.DataFrame({"x": [1.0]}),
                  "correlation_filter": pd.DataFrame({"y": [1.0]}), "correlations": pd.DataFrame({"r": [0.4]}),
                  "screening": pd.DataFrame({"feature": ["a", "b"], "p": [0.01, 0.2]})}
        model_path = tmp_path / "model.skops"

    outputs = core.fromCoreResult(Result(), tmp_path)
    assert list(outputs.tables)[:3] == ["Table 1", "Table 2", "Correlation"]
    assert "r" in outputs.tables["Correlation"].columns
    assert dict(outputs.pValues) == {"a": 0.01, "b": 0.2}
    assert outputs.modelPath == tmp_path / "model.skops"
    assert "3 cases" in outputs.summary and "synthetic" in outputs.summary


def test_phantom_cohort_end_to_end(scene, tmp_path):
    """Same path as ModicCohortStatsTest.test_PhantomCohort."""
    report = selftest.runPhantomCohort(scene, tmp_path, perType=6)
    assert report["cancelledEarly"] and not report["cancelled"]
    assert report["numberOfOk"] == report["numberOfCases"] == 18
    assert {"Table 1", "Table 2", "Correlation"} <= set(report["tableNodes"])
    assert report["table1Rows"] == 15
    table1 = report["tableNodes"]["Table 1"].GetTable()
    assert table1.GetColumnByName("kw_p").GetClassName() == "vtkDoubleArray"
    assert report["chart"] is not None and report["chart"].GetNumberOfPlotSeriesNodes() == 2
    assert report["modelExists"]
    assert report["analysisModelPath"] == report["modelPath"]
    assert report["figures"], "the report folder has PNG figures"
