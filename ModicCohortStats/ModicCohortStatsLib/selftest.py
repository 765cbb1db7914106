"""Checks shared by the Slicer self-test (ModicCohortStatsTest) and the headless pytest suites."""

from __future__ import annotations

import os
from pathlib import Path

from ModicCohortStatsLib.logic import ModicCohortStatsLogicCore


def quickParams() -> dict:
    """The paper's PyRadiomics settings restricted to the original image (shape, first order, GLCM).

    Keeps a phantom cohort run to seconds per case; the statistics only need T2 shape features plus
    some texture features to select from.
    """
    from modic.features import load_params

    params = load_params()
    params["imageType"] = {"Original": {}}
    params["featureClass"] = {"shape": [], "firstorder": [], "glcm": []}
    return params


def checkResultNodes(scene) -> dict:
    """Typed result table, Figure-1 chart and model hand-over on small made-up results."""
    import tempfile

    import pandas as pd

    logic = ModicCohortStatsLogicCore(scene)
    table = logic.tableNodeFromDataFrame(pd.DataFrame({"feature": ["a", "b"], "kw_p": [0.01, 0.5]}), "T")
    chart = logic.pValueChart(pd.Series({"T1_original_firstorder_Mean": 0.01, "T2_original_shape_Sphericity": 0.2}))
    with tempfile.NamedTemporaryFile(suffix=".skops", delete=False) as handle:
        modelPath = handle.name
    try:
        logic.pushModelToAnalysis(modelPath)
        pushed = logic.analysisModelPath(scene) == str(Path(modelPath).resolve())
    finally:
        os.unlink(modelPath)
    return {"pColumnClass": table.GetTable().GetColumnByName("kw_p").GetClassName(),
            "numberOfSeries": chart.GetNumberOfPlotSeriesNodes(), "modelPushed": pushed}


def runPhantomCohort(scene, folder, perType: int = 6, jobs: int = 1, seed: int = 0) -> dict:
    """Generate a phantom cohort (`perType` cases of each type), extract (cancelling once, then
    resuming) and run the statistics with small resampling settings."""
    from modic.phantom import generate_cohort

    folder = Path(folder)
    manifest = generate_cohort(folder / "cohort", counts=(perType, perType, perType), seed=seed)
    featuresCsv = folder / "features.csv"
    logic = ModicCohortStatsLogicCore(scene)
    params = quickParams()
    calls = []

    def cancelAfterTwo(done: int, total: int, message: str) -> bool:
        calls.append((done, total, message))
        return done < 2

    first = logic.runExtraction(manifest, featuresCsv, params=params, jobs=1, progress=cancelAfterTwo)
    batch = logic.runExtraction(manifest, featuresCsv, params=params, jobs=jobs,
                                progress=lambda done, total, message: True)
    outputs = logic.runStatistics(featuresCsv, manifest, folder / "report", seed=seed, n_boot=50,
                                  cv_folds=3, cv_repeats=1)
    table1 = outputs.tableNodes.get("Table 1")
    logic.pushModelToAnalysis(outputs.modelPath)
    return {"numberOfCases": batch.n_cases, "numberOfOk": batch.n_ok, "cancelled": batch.cancelled,
            "cancelledEarly": bool(first.cancelled), "progressCalls": len(calls),
            "tableNodes": outputs.tableNodes, "table1Rows": table1.GetNumberOfRows() if table1 else 0,
            "chart": outputs.chartNode, "modelPath": str(Path(outputs.modelPath).resolve()),
            "modelExists": bool(outputs.modelPath and Path(outputs.modelPath).is_file()),
            "analysisModelPath": logic.analysisModelPath(scene), "figures": outputs.figurePaths,
            "outputs": outputs}
