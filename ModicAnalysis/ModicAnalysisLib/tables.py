"""Feature and result tables as typed vtkMRMLTableNode columns (SegmentStatistics style).

Numbers go to `vtkDoubleArray` (floats) or `vtkLongArray` (integers, booleans), text to
`vtkStringArray`; each column gets a title, a unit label and a description through the table node's
column properties, so tables stay numeric when saved, plotted or read back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import vtk

#: Unit of a PyRadiomics shape feature (computed in physical mm); other features are unitless.
_SHAPE_UNITS = (
    (re.compile(r"(Mesh|Voxel)Volume$"), "mm3"),
    (re.compile(r"SurfaceArea$"), "mm2"),
    (re.compile(r"SurfaceVolumeRatio$"), "1/mm"),
    (re.compile(r"(AxisLength|Diameter\w*)$"), "mm"),
)
_KEY = re.compile(r"^(?P<seq>[A-Za-z0-9]+)_(?P<image>[^_]+)_(?P<cls>[^_]+)_(?P<feature>.+)$")

CASE_COLUMN = "Case"


def featureUnit(name: str) -> str:
    """Unit label of feature `name` (`<SEQ>_<image type>_<class>_<feature>`), "" when unitless."""
    match = _KEY.match(name)
    if not match or match["cls"] != "shape":
        return ""
    for pattern, unit in _SHAPE_UNITS:
        if pattern.search(match["feature"]):
            return unit
    return ""


def featureDescription(name: str) -> str:
    """One-line description of feature `name`, e.g. "T2 sequence, original image, shape: Sphericity"."""
    match = _KEY.match(name)
    if not match:
        return name
    return (f"{match['seq']} sequence, {match['image']} image, {match['cls']}: {match['feature']}"
            " (PyRadiomics)")


def _newColumn(values: Sequence) -> vtk.vtkAbstractArray:
    kinds = {type(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))}
    numeric = all(issubclass(k, (int, float, bool)) or _isNumpyNumber(k) for k in kinds)
    if kinds and numeric and all(issubclass(k, (int, bool)) or _isNumpyInteger(k) for k in kinds):
        return vtk.vtkLongArray()
    if numeric:
        return vtk.vtkDoubleArray()
    return vtk.vtkStringArray()


def _isNumpyNumber(kind: type) -> bool:
    return kind.__module__ == "numpy" and hasattr(kind, "dtype") and kind.__name__ not in ("str_", "bytes_")


def _isNumpyInteger(kind: type) -> bool:
    return kind.__module__ == "numpy" and ("int" in kind.__name__ or kind.__name__ == "bool")


def _setValue(column: vtk.vtkAbstractArray, row: int, value) -> None:
    if isinstance(column, vtk.vtkStringArray):
        column.SetValue(row, "" if value is None else str(value))
    elif isinstance(column, vtk.vtkLongArray):
        column.SetValue(row, int(value) if value is not None else 0)
    else:
        column.SetValue(row, float("nan") if value is None else float(value))


def fillTableNode(tableNode, columns: Mapping[str, Sequence], titles: Mapping[str, str] | None = None,
                  units: Mapping[str, str] | None = None,
                  descriptions: Mapping[str, str] | None = None):
    """Replace the contents of `tableNode` by typed `columns` (name → equal-length value list)."""
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"Table columns differ in length: {sorted(lengths)}")
    rows = lengths.pop() if lengths else 0
    wasModified = tableNode.StartModify()
    tableNode.RemoveAllColumns()
    table = tableNode.GetTable()
    for name, values in columns.items():
        column = _newColumn(list(values))
        column.SetName(str(name))
        column.SetNumberOfValues(rows)
        for row, value in enumerate(values):
            _setValue(column, row, value)
        table.AddColumn(column)
        tableNode.SetColumnTitle(str(name), (titles or {}).get(name, str(name)))
        unit = (units or {}).get(name, "")
        if unit:
            tableNode.SetColumnUnitLabel(str(name), unit)
        description = (descriptions or {}).get(name, "")
        if description:
            tableNode.SetColumnDescription(str(name), description)
    table.Modified()
    tableNode.Modified()
    tableNode.EndModify(wasModified)
    return tableNode


def featuresToTableNode(features: Mapping[str, float], tableNode, caseId: str = "case"):
    """One-row feature table: a "Case" text column, then one vtkDoubleArray per feature.

    Each feature column carries its title (the feature name), unit (mm, mm2, mm3, 1/mm or none) and
    a description (sequence, image type, feature class, feature).
    """
    columns: dict[str, list] = {CASE_COLUMN: [str(caseId)]}
    units, descriptions = {}, {CASE_COLUMN: "Case identifier"}
    for name, value in features.items():
        columns[name] = [float(value) if value is not None else float("nan")]
        units[name] = featureUnit(name)
        descriptions[name] = featureDescription(name)
    # Values are converted to float above, so every feature column is a vtkDoubleArray.
    return fillTableNode(tableNode, columns, units=units, descriptions=descriptions)


def dataFrameToTableNode(df, tableNode, includeIndex: bool | None = None,
                         units: Mapping[str, str] | None = None,
                         descriptions: Mapping[str, str] | None = None):
    """Copy a pandas DataFrame into `tableNode` with typed columns.

    Float columns → vtkDoubleArray, integer/boolean → vtkLongArray, others → vtkStringArray. The index
    becomes the first column when it is named or not a plain 0..n-1 range (or `includeIndex` is True).
    """
    import pandas as pd

    if includeIndex is None:
        includeIndex = df.index.name is not None or not isinstance(df.index, pd.RangeIndex)
    columns: dict[str, list] = {}
    if includeIndex:
        indexName = str(df.index.name or "Name")
        columns[indexName] = [str(v) for v in df.index]
    for name in df.columns:
        series = df[name]
        key = str(name)
        if key in columns:
            key = f"{key}_"
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_integer_dtype(series):
            columns[key] = [int(v) for v in series]
        elif pd.api.types.is_numeric_dtype(series):
            columns[key] = [float(v) for v in series]
        else:
            columns[key] = ["" if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v)
                            for v in series]
    if units is None:
        units = {k: featureUnit(k) for k in columns}
    return fillTableNode(tableNode, columns, units=units, descriptions=descriptions)


def tableNodeToDataFrame(tableNode):
    """Read a table node back into a pandas DataFrame, keeping numeric column types."""
    import numpy as np
    import pandas as pd
    from vtk.util import numpy_support

    table = tableNode.GetTable()
    data = {}
    for i in range(table.GetNumberOfColumns()):
        column = table.GetColumn(i)
        if isinstance(column, vtk.vtkStringArray):
            data[column.GetName()] = [column.GetValue(r) for r in range(column.GetNumberOfValues())]
        else:
            data[column.GetName()] = np.array(numpy_support.vtk_to_numpy(column), copy=True)
    return pd.DataFrame(data)
