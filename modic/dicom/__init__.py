"""DICOM studies in and out: series listing and recognition, study reading, DICOM SEG and SR writing.

- `modic.dicom.series`: scan a study folder (or DICOMDIR), one `SeriesInfo` per series, recognise T1 / T2 /
  STIR-FS from the tags, choose the sagittal series to use (`select_series`).
- `modic.dicom.volume`: read one series into a SimpleITK image (LPS), refusing or repairing the usual mess
  (localiser slices, missing / duplicated slices, uneven spacing, multi-frame, compressed transfer syntaxes).
- `modic.dicom.study`: `load_study` = scan + select + read, what `--study` and the manifest's `study` use.
- `modic.dicom.seg` / `modic.dicom.sr`: DICOM Segmentation and TID 1500 measurement report (highdicom).
"""

from modic.dicom.series import SeriesInfo, scan_study, select_series
from modic.dicom.study import Study, load_study

__all__ = ["SeriesInfo", "Study", "load_study", "scan_study", "select_series"]
