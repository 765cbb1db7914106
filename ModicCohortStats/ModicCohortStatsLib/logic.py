"""Cohort extraction and statistics on any vtkMRMLScene — no slicer.app, Qt or ScriptedLoadableModule.

`ModicCohortStatsLogicCore(scene)` runs the batch engine and the statistics through the core
adapter, shows the result tables as typed table nodes, the Figure-1 screening p-values as a plot
chart, and hands the trained model to ModicAnalysis through its parameter node.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ModicCohortStatsLib import core
from ModicCohortStatsLib.core import BatchProgress, StatsOutputs

P_THRESHOLD = 0.05
ANALYSIS_MODULE = "ModicAnalysis"


def _analysisLib():
    """ModicAnalysisLib (the shared MRML helpers); both module folders are on sys.path in Slicer."""
    try:
        import ModicAnalysisLib  # noqa: F401
    except ImportError:  # running from the source tree: add the sibling module folder
        import sys

        sys.path.append(str(Path(__file__).resolve().parents[2] / "ModicAnalysis"))
    from ModicAnalysisLib import tables

    return tables


@dataclass
class CohortOutputs:
    """Statistics results in the scene: table nodes by name, the p-value chart, files on disk."""

    outDir: Path
    tableNodes: dict[str, object] = field(default_factory=dict)
    chartNode: object = None
    modelPath: Path | None = None
    figurePaths: list[Path] = field(default_factory=list)
    stats: StatsOutputs | None = None


class ModicCohortStatsLogicCore:
    """Cohort feature extraction, statistics, result nodes and model hand-over on `scene`."""

    def __init__(self, scene=None):
        if scene is None:
            import slicer

            scene = slicer.mrmlScene
        self.scene = scene

    # ---------------------------------------------------------------- extraction
    @staticmethod
    def runExtraction(manifestPath, outCsv, params=None, jobs: int | None = 1, scheduler: str | None = None,
                      segment: bool = False, progress: BatchProgress | None = None, overwrite: bool = False):
        """Features of every manifest case → `outCsv`; `progress(done, total, message)` False cancels.

        An existing `outCsv` is replaced only when modic wrote it, or with `overwrite` (docs/OUTPUTS.md)."""
        if not manifestPath or not os.path.isfile(manifestPath):
            raise ValueError(f"Manifest not found: {manifestPath!r} — select the cohort manifest CSV")
        if not outCsv:
            raise ValueError("Choose where to write the feature table (CSV)")
        return core.runExtraction(manifestPath, outCsv, params=params, jobs=jobs, scheduler=scheduler,
                                  segment=segment, progress=progress, overwrite=overwrite)

    # ---------------------------------------------------------------- statistics
    def runStatistics(self, featuresCsv, manifestCsv, outDir, tableNodes: Mapping[str, object] | None = None,
                      overwrite: bool = False, **options) -> CohortOutputs:
        """Run the statistics into `outDir`, then show tables and the Figure-1 chart in the scene.

        `outDir` follows the command line's rules (docs/OUTPUTS.md): new or empty, or a report folder modic
        wrote; a folder holding other files is refused (ValueError, one line) unless `overwrite`, which
        replaces only modic's own files there. Checked before anything is computed."""
        for path, what in ((featuresCsv, "Feature table"), (manifestCsv, "Manifest")):
            if isinstance(path, (str, os.PathLike)) and not os.path.isfile(path):
                raise ValueError(f"{what} not found: {path!r}")
        if not outDir:
            raise ValueError("Choose a report folder")
        from modic.io import check_output_dir

        inputs = [p for p in (featuresCsv, manifestCsv) if isinstance(p, (str, os.PathLike))]
        check_output_dir(outDir, overwrite, inputs=inputs, command="stats", option="report folder")
        stats = core.runStatistics(featuresCsv, manifestCsv, outDir, overwrite=overwrite, **options)
        return self.showOutputs(stats, tableNodes)

    def showOutputs(self, stats: StatsOutputs, tableNodes: Mapping[str, object] | None = None) -> CohortOutputs:
        """Table nodes for every result table (reusing `tableNodes[name]`) and the p-value chart."""
        nodes = {}
        for name, df in stats.tables.items():
            node = (tableNodes or {}).get(name)
            nodes[name] = self.tableNodeFromDataFrame(df, f"Modic {name}", node)
        chart = None
        if stats.pValues is not None and len(stats.pValues):
            chart = self.pValueChart(stats.pValues)
        return CohortOutputs(outDir=stats.outDir, tableNodes=nodes, chartNode=chart, modelPath=stats.modelPath,
                             figurePaths=list(stats.figurePaths), stats=stats)

    def tableNodeFromDataFrame(self, df, name: str, tableNode=None):
        """A typed table node (vtkDoubleArray for numbers) holding `df`."""
        tables = _analysisLib()
        if tableNode is None:
            tableNode = self.scene.AddNewNodeByClass("vtkMRMLTableNode", name)
        return tables.dataFrameToTableNode(df, tableNode)

    def pValueChart(self, pValues, name: str = "Modic Figure 1 screening p-values",
                    threshold: float = P_THRESHOLD):
        """Figure 1 as a Slicer plot: p-value per feature (log scale) with a red p = 0.05 line.

        `pValues`: pandas Series (feature name → p) or mapping. Returns the vtkMRMLPlotChartNode; its
        table node has columns "Feature index", "p", "p threshold" (vtkDoubleArray) and "Feature".
        """
        tables = _analysisLib()
        items = list(pValues.items()) if hasattr(pValues, "items") else list(pValues)
        features = [str(k) for k, _ in items]
        values = [float(v) if v is not None and not math.isnan(float(v)) else float("nan") for _, v in items]
        tableNode = self.scene.AddNewNodeByClass("vtkMRMLTableNode", f"{name} table")
        tables.fillTableNode(tableNode, {"Feature index": [float(i + 1) for i in range(len(values))],
                                         "p": values, "p threshold": [float(threshold)] * len(values),
                                         "Feature": features},
                             descriptions={"p": "Screening test p-value (Figure 1)",
                                           "p threshold": f"Significance level {threshold}"})
        scatter = self.scene.AddNewNodeByClass("vtkMRMLPlotSeriesNode", "p-value")
        scatter.SetAndObserveTableNodeID(tableNode.GetID())
        scatter.SetXColumnName("Feature index")
        scatter.SetYColumnName("p")
        scatter.SetLabelColumnName("Feature")
        scatter.SetPlotType(scatter.PlotTypeScatter)
        scatter.SetLineStyle(scatter.LineStyleNone)
        scatter.SetMarkerStyle(scatter.MarkerStyleCircle)
        scatter.SetMarkerSize(4)
        scatter.SetColor(0.2, 0.4, 0.8)
        line = self.scene.AddNewNodeByClass("vtkMRMLPlotSeriesNode", f"p = {threshold}")
        line.SetAndObserveTableNodeID(tableNode.GetID())
        line.SetXColumnName("Feature index")
        line.SetYColumnName("p threshold")
        # A "Line" plot ignores the X column (vtkMRMLPlotSeriesNode::IsXColumnRequired) and would be drawn at
        # indices 0..n-1, one point left of the scatter: a scatter series with a solid line uses the X column.
        line.SetPlotType(line.PlotTypeScatter)
        line.SetLineStyle(line.LineStyleSolid)
        line.SetMarkerStyle(line.MarkerStyleNone)
        line.SetColor(0.9, 0.1, 0.1)
        chart = self.scene.AddNewNodeByClass("vtkMRMLPlotChartNode", name)
        chart.AddAndObservePlotSeriesNodeID(scatter.GetID())
        chart.AddAndObservePlotSeriesNodeID(line.GetID())
        chart.SetTitle("Feature screening p-values")
        chart.SetXAxisTitle("Feature")
        chart.SetYAxisTitle("p-value")
        chart.SetYAxisLogScale(True)
        chart.SetLegendVisibility(True)
        return chart

    def plotViewNode(self, chartNode, name: str = "ModicCohortStats plot view"):
        """The module's own plot view node (created once per scene) showing `chartNode`."""
        viewNode = self.scene.GetSingletonNode(name, "vtkMRMLPlotViewNode")
        if viewNode is None:
            viewNode = self.scene.AddNewNodeByClass("vtkMRMLPlotViewNode", name)
            viewNode.SetSingletonTag(name)
        viewNode.SetPlotChartNodeID(chartNode.GetID() if chartNode is not None else None)
        return viewNode

    # ---------------------------------------------------------------- model hand-over
    def pushModelToAnalysis(self, modelPath) -> object:
        """Make `modelPath` ModicAnalysis' model file by setting its parameter node's "modelPath".

        Works on the parameter node the ModicAnalysis widget observes (singleton
        vtkMRMLScriptedModuleNode, tag "ModicAnalysis"), so an open GUI updates at once.
        """
        if not modelPath or not os.path.isfile(modelPath):
            raise ValueError(f"Model file not found: {modelPath!r} — run the statistics first")
        node = self.scene.GetSingletonNode(ANALYSIS_MODULE, "vtkMRMLScriptedModuleNode")
        if node is None:
            import slicer

            node = slicer.vtkMRMLScriptedModuleNode()
            node.SetName(self.scene.GenerateUniqueName(ANALYSIS_MODULE))
            node.SetSingletonTag(ANALYSIS_MODULE)
            node.SetAttribute("ModuleName", ANALYSIS_MODULE)
            node = self.scene.AddNode(node)
        node.SetParameter("modelPath", str(Path(modelPath).resolve()))
        return node

    @staticmethod
    def analysisModelPath(scene) -> str:
        """ModicAnalysis' current model path as stored in its parameter node ("" when unset)."""
        node = scene.GetSingletonNode(ANALYSIS_MODULE, "vtkMRMLScriptedModuleNode")
        return (node.GetParameter("modelPath") or "") if node is not None else ""
