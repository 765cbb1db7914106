"""Per-case analysis on any vtkMRMLScene — no slicer.app, Qt or ScriptedLoadableModule needed.

`ModicAnalysisCaseLogic(scene).analyzeCase(...)` is what the module's Analyse button runs and what a
batch script calls (see Resources/Scripts/slicer_batch.py). Inputs are MRML nodes (geometry
in RAS); they are converted to SimpleITK images (LPS) for the core and the results come back as a
segmentation node (one segment per sequence grid) and a typed table node.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import SimpleITK as sitk

from ModicAnalysisLib import conversion, core, tables
from ModicAnalysisLib.core import CaseAnalysis, ProgressCallback

# Node attributes that keep the typing results with the table node (saved with the scene).
ATTRIBUTE_PREFIX = "ModicAnalysis."


@dataclass
class CaseNodes:
    """MRML outputs of one case and the plain results behind them."""

    segmentationNode: object
    tableNode: object
    analysis: CaseAnalysis


class ModicAnalysisCaseLogic:
    """Segment / extract / classify one case whose T1, T2, FS volumes are nodes of `scene`."""

    def __init__(self, scene=None):
        if scene is None:
            import slicer

            scene = slicer.mrmlScene
        self.scene = scene

    # ---------------------------------------------------------------- inputs
    @staticmethod
    def _volumeNodes(volumeNodes: Mapping[str, object | None]) -> dict[str, object]:
        nodes = {seq: node for seq, node in volumeNodes.items() if node is not None}
        if not nodes:
            raise ValueError("Select at least one input volume (T1, T2 or FS)")
        unknown = set(nodes) - set(core.SEQUENCES)
        if unknown:
            raise ValueError(f"Unknown sequence key(s) {sorted(unknown)}; use {list(core.SEQUENCES)}")
        return nodes

    def imagesFromVolumes(self, volumeNodes: Mapping[str, object | None]) -> dict[str, sitk.Image]:
        """SimpleITK images (LPS) of the selected volume nodes, by sequence."""
        return {seq: conversion.volumeNodeToSitkImage(node)
                for seq, node in self._volumeNodes(volumeNodes).items()}

    @staticmethod
    def seedPointLps(seedMarkupsNode=None, seedPointLps: Sequence[float] | None = None):
        """The LPS seed: `seedPointLps` if given, else the first control point of the markups node."""
        if seedPointLps is not None:
            return tuple(float(v) for v in seedPointLps)
        if seedMarkupsNode is not None:
            return conversion.markupsPointLps(seedMarkupsNode)
        return None

    def masksFromSegmentation(self, segmentationNode,
                              volumeNodes: Mapping[str, object | None]) -> dict[str, sitk.Image]:
        """Lesion masks on each sequence grid (LPS) from a segmentation node."""
        return conversion.labelMapsFromSegmentation(self.scene, segmentationNode,
                                                    self._volumeNodes(volumeNodes))

    # ---------------------------------------------------------------- outputs
    def _segmentationNode(self, segmentationNode, reference):
        if segmentationNode is None:
            segmentationNode = self.scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "Modic lesion")
            segmentationNode.CreateDefaultDisplayNodes()
        if reference is not None:
            segmentationNode.SetReferenceImageGeometryParameterFromVolumeNode(reference)
        return segmentationNode

    def _tableNode(self, tableNode, name: str = "Modic features"):
        if tableNode is None:
            tableNode = self.scene.AddNewNodeByClass("vtkMRMLTableNode", name)
        return tableNode

    @staticmethod
    def _referenceVolume(volumeNodes: Mapping[str, object]):
        for seq in ("T2", "T1", "FS"):
            if volumeNodes.get(seq) is not None:
                return volumeNodes[seq]
        return None

    @staticmethod
    def storeTyping(tableNode, analysis: CaseAnalysis) -> None:
        """Keep signal-pattern and model results as attributes of the feature table node."""
        values = {"SignalPatternType": analysis.signalType or "",
                  "SignalRatios": ";".join(f"{k}={v:.4g}" for k, v in analysis.signalRatios.items()),
                  "PredictedType": analysis.predictedType or "",
                  "Probabilities": ";".join(f"{k}={v:.4f}" for k, v in analysis.probabilities.items()),
                  "ModelFile": analysis.modelPath or "",
                  "InDomain": "" if analysis.inDomain is None else str(bool(analysis.inDomain)).lower()}
        for key, value in values.items():
            tableNode.SetAttribute(ATTRIBUTE_PREFIX + key, value)

    @staticmethod
    def summaryFromTyping(typing: Mapping[str, str]) -> dict:
        """The `CaseResult.summary()` parts (signal pattern, prediction) that the DICOM SR reports."""
        def pairs(text):
            return {k: float(v) for k, _, v in (p.partition("=") for p in text.split(";") if "=" in p)}

        summary: dict = {}
        if typing.get("SignalPatternType"):
            summary["signal_pattern"] = {"modic_type": typing["SignalPatternType"],
                                         "ratios": pairs(typing.get("SignalRatios", ""))}
        if typing.get("PredictedType"):
            inDomain = {"true": True, "false": False}.get(typing.get("InDomain", ""))
            summary["prediction"] = {"predicted_type": typing["PredictedType"], "in_domain": inDomain,
                                     "probabilities": pairs(typing.get("Probabilities", ""))}
        return summary

    @staticmethod
    def readTyping(tableNode) -> dict[str, str]:
        """Typing attributes stored by `storeTyping` (empty strings when absent)."""
        keys = ("SignalPatternType", "SignalRatios", "PredictedType", "Probabilities", "ModelFile", "InDomain")
        return {k: tableNode.GetAttribute(ATTRIBUTE_PREFIX + k) or "" for k in keys}

    # ---------------------------------------------------------------- steps
    def segment(self, volumeNodes: Mapping[str, object | None], seedMarkupsNode=None,
                seedPointLps: Sequence[float] | None = None, segmentationNode=None,
                progress: ProgressCallback | None = None):
        """Grow the lesion from the seed (markups point or LPS point) on every selected sequence.

        Returns the segmentation node with one segment "Modic lesion (<seq>)" per sequence grid.
        """
        nodes = self._volumeNodes(volumeNodes)
        seed = self.seedPointLps(seedMarkupsNode, seedPointLps)
        if seed is None:
            raise ValueError("Place a point on the lesion first (seed point)")
        masks, info = core.segmentCaseWithInfo(self.imagesFromVolumes(nodes), seed, progress)
        segmentationNode = self._segmentationNode(segmentationNode, self._referenceVolume(nodes))
        segmentationNode = conversion.segmentationFromLabelMaps(self.scene, masks, segmentationNode)
        self.storePlausibility(segmentationNode, info.get("plausible"),
                               (info.get("plausibility") or {}).get("reasons", []))
        return segmentationNode

    @staticmethod
    def storePlausibility(node, plausible: bool | None, reasons) -> None:
        """Keep the plausibility verdict of a one-click segmentation with its node ("true"/"false"/"")."""
        if node is None:
            return
        node.SetAttribute(ATTRIBUTE_PREFIX + "Plausible", "" if plausible is None else str(bool(plausible)).lower())
        node.SetAttribute(ATTRIBUTE_PREFIX + "PlausibilityReasons", "; ".join(reasons or []))

    def extract(self, volumeNodes: Mapping[str, object | None], segmentationNode, tableNode=None,
                params: str | Mapping | None = None, caseId: str = "case", normalization: str = "zscore-image",
                progress: ProgressCallback | None = None) -> CaseNodes:
        """PyRadiomics features (and signal pattern) of the segmented lesion into a typed table node.

        `normalization` as in `analyzeCase`, so Extract and Analyse all give the same numbers.
        """
        nodes = self._volumeNodes(volumeNodes)
        if segmentationNode is None:
            raise ValueError("Segment the lesion first, or select an existing segmentation")
        images = self.imagesFromVolumes(nodes)
        masks = self.masksFromSegmentation(segmentationNode, nodes)
        analysis = core.analyzeCase(images, masks=masks, params=params, normalization=normalization,
                                    progress=progress)
        tableNode = self._tableNode(tableNode)
        tables.featuresToTableNode(analysis.features, tableNode, caseId)
        self.storeTyping(tableNode, analysis)
        return CaseNodes(segmentationNode, tableNode, analysis)

    def classify(self, volumeNodes: Mapping[str, object | None], segmentationNode, tableNode,
                 modelPath: str | None = None) -> CaseAnalysis:
        """Signal-pattern type and model prediction from an already extracted feature table node."""
        nodes = self._volumeNodes(volumeNodes)
        if tableNode is None or tableNode.GetNumberOfColumns() < 2:
            raise ValueError("Extract features first (the feature table is empty)")
        df = tables.tableNodeToDataFrame(tableNode)
        features = {c: float(df[c].iloc[0]) for c in df.columns if c != tables.CASE_COLUMN}
        masks = self.masksFromSegmentation(segmentationNode, nodes)
        signalType, signalCode, ratios = core.signalPattern(self.imagesFromVolumes(nodes), masks)
        analysis = CaseAnalysis(masks=masks, features=features, signalType=signalType, signalCode=signalCode,
                                signalRatios=ratios, modelPath=modelPath)
        if modelPath:
            analysis.predictedType, analysis.probabilities, analysis.inDomain = core.classifyFeatures(
                features, modelPath)
        self.storeTyping(tableNode, analysis)
        return analysis

    def analyzeCase(self, volumeNodes: Mapping[str, object | None], seedMarkupsNode=None,
                    seedPointLps: Sequence[float] | None = None, inputSegmentationNode=None,
                    modelPath: str | None = None, params: str | Mapping | None = None,
                    outputSegmentationNode=None, outputTableNode=None, caseId: str = "case",
                    normalization: str | None = None,
                    progress: ProgressCallback | None = None) -> CaseNodes:
        """Analyse all: segment (from the seed, unless `inputSegmentationNode` is given), extract, classify.

        `volumeNodes`: {"T1": node, "T2": node, "FS": node} (any non-empty subset). The seed is the
        first point of `seedMarkupsNode` (RAS in the scene) or `seedPointLps` (LPS mm). An input
        segmentation is only read: the masks used (one per sequence grid) go to `outputSegmentationNode`
        (a new node when None or when it is the input node itself). `modelPath`:
        a model file from ModicCohortStats (None: no model prediction). `progress(fraction, message)`
        returning False cancels (raises core.AnalysisCancelled; outputs are left unchanged).
        """
        nodes = self._volumeNodes(volumeNodes)
        images = self.imagesFromVolumes(nodes)
        masks = None
        seed = None
        if inputSegmentationNode is not None:
            masks = self.masksFromSegmentation(inputSegmentationNode, nodes)
        else:
            seed = self.seedPointLps(seedMarkupsNode, seedPointLps)
            if seed is None:
                raise ValueError("Place a point on the lesion or select an existing segmentation")
        analysis = core.analyzeCase(images, seedLps=seed, masks=masks, modelPath=modelPath, params=params,
                                    normalization=normalization, progress=progress)
        if outputSegmentationNode is not None and outputSegmentationNode is inputSegmentationNode:
            outputSegmentationNode = None  # never write into the user's segmentation
        segmentationNode = self._segmentationNode(outputSegmentationNode, self._referenceVolume(nodes))
        conversion.segmentationFromLabelMaps(self.scene, analysis.masks or masks or {}, segmentationNode)
        if seed is not None:
            self.storePlausibility(segmentationNode, analysis.plausible, analysis.plausibilityReasons)
        tableNode = self._tableNode(outputTableNode)
        tables.featuresToTableNode(analysis.features, tableNode, caseId)
        self.storeTyping(tableNode, analysis)
        logging.info("ModicAnalysis %s: %d features, signal type %s, predicted type %s", caseId,
                     len(analysis.features), analysis.signalType, analysis.predictedType)
        return CaseNodes(segmentationNode, tableNode, analysis)

    #: Template-style name for the one-call entry point.
    process = analyzeCase

    # ---------------------------------------------------------------- export
    def exportDicom(self, volumeNodes: Mapping[str, object | None], segmentationNode, outputFolder: str,
                    fileForInstance, tableNode=None, overwrite: bool = False) -> dict:
        """DICOM SEG (one per series) + TID 1500 SR of the lesion in `segmentationNode`, for volumes loaded from
        Slicer's DICOM database (`fileForInstance`: `slicer.dicomDatabase.fileForInstance`), written to
        `outputFolder` under the output rules of docs/OUTPUTS.md. The typing stored on `tableNode` (if any)
        goes into the SR."""
        from pathlib import Path

        from modic.io import atomic_directory, check_output_dir
        from ModicAnalysisLib import dicomseries

        if segmentationNode is None:
            raise ValueError("Segment the lesion first, or select an existing segmentation")
        nodes = self._volumeNodes(volumeNodes)
        check_output_dir(outputFolder, overwrite, command="slicer-export-dicom")
        masks = self.masksFromSegmentation(segmentationNode, nodes)
        typing = self.summaryFromTyping(self.readTyping(tableNode)) if tableNode is not None else {}
        with atomic_directory(Path(outputFolder), overwrite, command="slicer-export-dicom") as tmp:
            written = dicomseries.exportDicom(nodes, masks, str(tmp), fileForInstance, summary=typing)
        return {key: str(Path(outputFolder) / Path(path).name) for key, path in written.items()}

    @staticmethod
    def writeTable(tableNode, path: str | os.PathLike, overwrite: bool = False) -> str:
        """Write a table node to CSV (atomically; numbers at full precision). An existing file is replaced
        only when modic wrote it, or with `overwrite` (the rules of docs/OUTPUTS.md)."""
        from modic.io import check_output_file, record_files, write_csv

        check_output_file(path, overwrite, option="output file")
        df = tables.tableNodeToDataFrame(tableNode)
        if tables.CASE_COLUMN in df.columns:
            df = df.rename(columns={tables.CASE_COLUMN: "case_id"})
        written = str(write_csv(df, path, index=False))
        record_files([written], command="slicer-table")
        return written
