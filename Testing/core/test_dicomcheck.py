"""Truncated DICOM files are refused whatever SimpleITK does with them (2.5.2, in Slicer 5.10, reads them)."""

import pytest
from pydicom.data import get_testdata_file

from modic.dicomcheck import check_complete, is_dicom_file
from modic.errors import ModicInputError


def test_truncated_pixel_data_is_one_line_error(tmp_path):
    truncated, good = get_testdata_file("MR_truncated.dcm"), get_testdata_file("MR_small.dcm")
    assert is_dicom_file(good) and not is_dicom_file(__file__)
    check_complete([good, __file__], "T2 image")  # complete DICOM and non-DICOM files pass
    with pytest.raises(ModicInputError, match=r"pixel data is truncated \(8130 of 8192 bytes\)") as err:
        check_complete([good, truncated], "T2 image")
    assert "\n" not in str(err.value) and "T2 image" in str(err.value)
