"""A DICOM study as the pipeline's input: scan → choose the sagittal T1/T2/FS series → read them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import SimpleITK as sitk

from modic.dicom.series import SEQUENCES, SeriesInfo, scan_study, select_series
from modic.dicom.volume import SeriesVolume, read_series
from modic.errors import ModicInputError


@dataclass
class Study:
    """The chosen series of a study, read. `images`: {"T1"|"T2"|"FS": LPS image}."""

    path: Path
    series: list[SeriesInfo]
    volumes: dict[str, SeriesVolume]
    notes: list[str] = field(default_factory=list)

    @property
    def images(self) -> dict[str, sitk.Image]:
        return {seq: v.image for seq, v in self.volumes.items()}

    def record(self) -> dict:
        """JSON-ready: which series was used for what, and the notes (for result.json / segmentation.json)."""
        return {"study": str(self.path),
                "series": {seq: {"number": v.info.number, "description": v.info.description, "uid": v.info.uid,
                                 "recognised_because": v.info.reason, "slices": len(v.frames)}
                           for seq, v in self.volumes.items()},
                "notes": list(self.notes)}


def load_study(path: str | os.PathLike, overrides: dict[str, str | None] | None = None,
               sequences: tuple[str, ...] = SEQUENCES) -> Study:
    """Scan a study folder / DICOMDIR, pick the sagittal T1, T2 and STIR/FS series (or the `overrides`:
    series number, description or UID per sequence) and read them. Needs at least one of them."""
    path = Path(path)
    series = scan_study(path)
    chosen, notes = select_series(series, overrides, sequences)
    if not chosen:
        listing = "; ".join(f"{s.label()} → {s.sequence} {s.orientation}" for s in series)
        raise ModicInputError(f"no sagittal T1, T2 or STIR/FS series recognised in {path} ({listing}) — name them "
                              "with --t1-series/--t2-series/--fs-series (see `modic series`)")
    volumes = {}
    for seq, info in chosen.items():
        vol = read_series(info)
        notes.extend(vol.notes)
        volumes[seq] = vol
    return Study(path=path, series=series, volumes=volumes, notes=notes)


def study_from_files(files_by_sequence: dict[str, list[str]], path: str | os.PathLike = "") -> Study:
    """A Study from the files of already chosen series ({"T2": [file, ...]}), e.g. the instances behind
    volumes loaded in Slicer's DICOM browser; the series are read (and checked) as `load_study` does."""
    import pydicom

    from modic.dicom.series import describe_series, recognise

    volumes, infos, notes = {}, [], []
    for seq, files in files_by_sequence.items():
        if not files:
            continue
        items = [(Path(f), pydicom.dcmread(f, stop_before_pixels=True)) for f in files]
        info = recognise(describe_series(str(items[0][1].SeriesInstanceUID), items))
        info.used_as = seq
        vol = read_series(info)
        notes.extend(vol.notes)
        volumes[seq], infos = vol, infos + [info]
    if not volumes:
        raise ModicInputError("no DICOM files given for T1, T2 or FS — load the series from the DICOM database")
    return Study(path=Path(path), series=infos, volumes=volumes, notes=notes)
