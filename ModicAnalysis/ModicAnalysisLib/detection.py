"""Zero-click detection in Slicer: every Modic change as a named segment, a lesion table, jump-to-lesion.

`findModicChanges(scene, volumeNodes, spine=None)` converts the volume nodes (RAS) to SimpleITK images
(LPS), runs `modic.detect.detect_lesions` and shows the result on any vtkMRMLScene (headless-testable on
slicer-core): one segment per lesion named "L4 inferior – Modic I" (on the spine reference grid), a table
node with the lesions.csv columns, and `lesionCenterRAS(row)` for "click a row to jump to it".
"""

from __future__ import annotations

SEGMENTATION_NAME = "Modic changes"
TABLE_NAME = "Modic changes"
LESION_TAG = "ModicLesionLabel"


class DetectionResult:
    """What `findModicChanges` made: `segmentationNode`, `tableNode`, `lesions` (DataFrame, lesions.csv
    columns), `segmentIds` (table row → segment id), `core` (the modic.detect.DetectionResult)."""

    def __init__(self, segmentationNode, tableNode, lesions, segmentIds, core):
        self.segmentationNode = segmentationNode
        self.tableNode = tableNode
        self.lesions = lesions
        self.segmentIds = segmentIds
        self.core = core

    def lesionCenterRAS(self, row: int) -> tuple[float, float, float]:
        """A point inside lesion `row` (its detection seed), RAS mm — where to jump the slice views."""
        from modic.geometry import parse_point_lps
        from ModicAnalysisLib.conversion import lpsToRas

        if not 0 <= row < len(self.lesions):
            raise IndexError(f"no lesion row {row} (the table has {len(self.lesions)} rows)")
        return lpsToRas(parse_point_lps(self.lesions.iloc[row]["seed_lps"]))

    def segmentName(self, row: int) -> str:
        """Segment name of table row `row`."""
        return self.segmentationNode.GetSegmentation().GetSegment(self.segmentIds[row]).GetName()


def findModicChanges(scene, volumeNodes, spine=None, caseId: str = "case", segmentationNode=None,
                     tableNode=None, **options) -> DetectionResult:
    """Detect every Modic change on `volumeNodes` ({"T1": node, "T2": node, "FS": node}, two or more).

    `spine`: a `modic.spine.Spine`, or the result of ModicAnalysisLib.anatomy.findVertebrae (its `.spine`),
    or None to parse the spine from the images. `options` go to `modic.detect.detect_lesions`. Existing
    `segmentationNode` / `tableNode` are refilled (their previous lesions removed).
    """
    import SimpleITK as sitk
    import slicer

    from modic.detect import LESION_COLUMNS, detect_lesions
    from modic.detect_output import TYPE_COLORS, segment_name
    from ModicAnalysisLib.conversion import sitkImageToVolumeNode, volumeNodeToSitkImage
    from ModicAnalysisLib.tables import dataFrameToTableNode

    nodes = {seq: node for seq, node in volumeNodes.items() if node is not None}
    if len(nodes) < 2:
        raise ValueError("Select two or more of the T1, T2 and FS volumes: the Modic type is a pattern "
                         "across sequences")
    images = {seq: volumeNodeToSitkImage(node) for seq, node in nodes.items()}
    spine = getattr(spine, "spine", spine)
    core = detect_lesions(images, spine, case_id=caseId, **options)
    lesions = core.table()

    if segmentationNode is None:
        segmentationNode = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", SEGMENTATION_NAME)
        segmentationNode.CreateDefaultDisplayNodes()
    segmentation = segmentationNode.GetSegmentation()
    for index in reversed(range(segmentation.GetNumberOfSegments())):
        segmentId = segmentation.GetNthSegmentID(index)
        if segmentation.GetSegment(segmentId).HasTag(LESION_TAG):
            segmentation.RemoveSegment(segmentId)
    reference = core.spine.labels
    seq = next((s for s, lab in core.label_maps.items() if _sameGrid(lab, reference)), next(iter(core.label_maps)))
    labelMap = core.label_maps[seq]
    referenceNode = nodes[seq]
    segmentationNode.SetReferenceImageGeometryParameterFromVolumeNode(referenceNode)
    segmentIds = []
    logic = slicer.vtkSlicerSegmentationsModuleLogic
    for row in lesions.itertuples():
        binary = sitk.Cast(sitk.Equal(labelMap, int(row.label)), sitk.sitkUInt8)
        temp = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "_modic_tmp_lesion")
        try:
            sitkImageToVolumeNode(binary, temp)
            oriented = logic.CreateOrientedImageDataFromVolumeNode(temp)
        finally:
            scene.RemoveNode(temp)
        name = segment_name(row.endplate, row.modic_type)
        segmentId = segmentationNode.AddSegmentFromBinaryLabelmapRepresentation(
            oriented, name, TYPE_COLORS.get(row.modic_type, (1.0, 0.0, 0.0)))
        segment = segmentation.GetSegment(segmentId)
        segment.SetTag(LESION_TAG, str(int(row.label)))
        segment.SetTag("ModicType", str(row.modic_type))
        segment.SetTag("ModicEndplate", str(row.endplate))
        segmentIds.append(segmentId)

    if tableNode is None:
        tableNode = scene.AddNewNodeByClass("vtkMRMLTableNode", TABLE_NAME)
    units = {"volume_mm3": "mm3", "seed_lps": "mm (LPS)"}
    descriptions = {"label": "value of the lesion in the label maps", "level": "disc level",
                    "endplate": "vertebral endplate holding the lesion", "modic_type": "signal-pattern Modic type",
                    "voxels": "lesion voxels on the T2 (else first) grid", "seed_lps": "point inside the lesion",
                    "confidence": "detection confidence 0-1"}
    dataFrameToTableNode(lesions[list(LESION_COLUMNS)], tableNode, includeIndex=False, units=units,
                         descriptions=descriptions)
    return DetectionResult(segmentationNode, tableNode, lesions, segmentIds, core)


def _sameGrid(a, b) -> bool:
    from modic.geometry import same_grid

    return same_grid(a, b)
