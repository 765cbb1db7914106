"""DICOM Segmentation (highdicom): lesion masks, and spine structures when parsed, on a source series' grid.

The SEG references the source series' instances frame by frame (the segmentation frame of slice k is derived
from `SeriesVolume.frames[k]`), so PACS viewers, OHIF and Slicer overlay it on the images it was made on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from modic import __version__
from modic.dicom import codes as C
from modic.dicom.mrwrite import uid
from modic.dicom.volume import SeriesVolume

# CIELab display colours are optional; Slicer picks its own. Lesion red, structures from the spine labels.
ALGORITHM_NAME = "ModicRadiomics"


@dataclass
class SegmentSpec:
    """One segment: a label, a binary mask on the source volume's grid (sitk image), its codes."""

    label: str
    mask: sitk.Image
    category: object
    type: object
    anatomic_region: object | None = None
    tracking_id: str | None = None


def _same_grid(a: sitk.Image, b: sitk.Image, tol: float = 1e-3) -> bool:
    return (a.GetSize() == b.GetSize() and np.allclose(a.GetOrigin(), b.GetOrigin(), atol=tol)
            and np.allclose(a.GetSpacing(), b.GetSpacing(), atol=tol)
            and np.allclose(a.GetDirection(), b.GetDirection(), atol=tol))


def on_grid(mask: sitk.Image, volume: SeriesVolume) -> sitk.Image:
    """The mask on the volume's grid (nearest neighbour by physical LPS coordinates when it differs)."""
    if _same_grid(mask, volume.image):
        return mask
    from modic.geometry import resample_like

    return resample_like(mask, volume.image, is_label=True)


def source_datasets(volume: SeriesVolume) -> list:
    """The source instances' headers (no pixel data), one per file, in the volume's slice order."""
    import pydicom

    seen, out = set(), []
    for fr in volume.frames:
        if fr.file not in seen:
            seen.add(fr.file)
            out.append(pydicom.dcmread(fr.file, stop_before_pixels=True))
    return out


def private_scheme_item():
    from pydicom.dataset import Dataset

    item = Dataset()
    item.CodingSchemeDesignator = C.PRIVATE_SCHEME
    item.CodingSchemeName = C.PRIVATE_SCHEME_NAME
    item.CodingSchemeResponsibleOrganization = C.PRIVATE_SCHEME_ORG[:64]
    return item


def build_seg(volume: SeriesVolume, segments: list[SegmentSpec], series_number: int, uid_seed: str,
              description: str = "Modic lesions"):
    """A highdicom Segmentation of `segments` referencing `volume`'s instances (BINARY, empty frames kept)."""
    import highdicom as hd

    sources = source_datasets(volume)
    multi = len(sources) == 1 and len(volume.frames) > 1
    n_rows, n_cols = volume.frames[0].shape
    pixel = np.zeros((len(volume.frames), n_rows, n_cols, len(segments)), np.uint8)
    for s, spec in enumerate(segments):
        arr = sitk.GetArrayFromImage(on_grid(spec.mask, volume)) > 0       # (slices, rows, columns)
        for k, fr in enumerate(volume.frames):
            pixel[fr.index if multi else k, :, :, s] = arr[k]
    algorithm = hd.AlgorithmIdentificationSequence(name=ALGORITHM_NAME, version=__version__,
                                                   family=C.private("SEGALGO", "Modic segmentation"))
    descriptions = []
    for i, spec in enumerate(segments, start=1):
        descriptions.append(hd.seg.SegmentDescription(
            segment_number=i, segment_label=spec.label[:64], segmented_property_category=spec.category,
            segmented_property_type=spec.type, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm, tracking_uid=uid(uid_seed, "segment", i),
            tracking_id=(spec.tracking_id or spec.label)[:64],
            anatomic_regions=[spec.anatomic_region] if spec.anatomic_region is not None else None))
    if not multi:
        # highdicom matches frames to source images by position; order the sources like the volume
        by_file = {str(Path(f.filename)): f for f in sources}
        sources = [by_file[str(Path(fr.file))] for fr in volume.frames]
    seg = hd.seg.Segmentation(
        source_images=sources, pixel_array=pixel, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions, series_instance_uid=uid(uid_seed, "seg-series"),
        series_number=series_number, sop_instance_uid=uid(uid_seed, "seg-instance"), instance_number=1,
        manufacturer="ModicRadiomics", manufacturer_model_name="modic", software_versions=__version__,
        device_serial_number="0", series_description=description[:64], omit_empty_frames=False,
        content_label="MODIC", content_description=description[:64])
    seg.CodingSchemeIdentificationSequence = [private_scheme_item()]
    return seg


def spine_segments(spine, volume: SeriesVolume) -> list[SegmentSpec]:
    """One segment per labelled spine structure (vertebral body marrow, endplate zones, discs)."""
    from modic.spine.model import label_name

    arr = sitk.GetArrayFromImage(spine.labels)
    out = []
    for value in sorted(int(v) for v in np.unique(arr) if v):
        try:
            kind, where = label_name(value)
        except ValueError:
            continue
        level = where.split()[0]
        name = f"{where} {'marrow' if kind == 'vertebra' else kind}" if kind != "disc" else f"{where} disc"
        mask = sitk.GetImageFromArray((arr == value).astype(np.uint8))
        mask.CopyInformation(spine.labels)
        code = C.vertebra(level)
        if kind == "endplate":
            side = where.split()[1]
            typ = C.private(f"EPZ_{side[:3].upper()}", f"{side} endplate zone")
        elif code is not None:
            typ = code
        else:
            typ = C.private(f"STRUCT_{value}", name)
        out.append(SegmentSpec(label=name, mask=mask, category=C.ANATOMY, type=typ, anatomic_region=code,
                               tracking_id=name))
    return out
