"""Step 3 of the paper: PyRadiomics features per sequence, on that sequence's own grid.

Column names are `<SEQ>_<pyradiomics key>` (e.g. `T2_original_shape_Sphericity`,
`FS_lbp-3D-m1_glszm_ZoneEntropy`) plus the derived `<SEQ>_original_shape_MajorLeastAxisRatio`
(MajorAxisLength / LeastAxisLength, Table 1's "long-to-short axis ratio"). Values are exactly what
`radiomics.featureextractor.RadiomicsFeatureExtractor(params).execute(image, mask)` returns; the
PyRadiomics `diagnostics_*` entries are kept apart in `CaseFeatures.diagnostics`.

With `jobs > 1` one case is spread over processes by sequence and image type (PyRadiomics itself runs
one extraction serially). Each task runs the same PyRadiomics settings on the same (pre-cropped)
image, so the values are identical to a serial run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
import threading
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from modic.compat import install_scipy_shims, spawn_context
from modic.errors import ModicInputError
from modic.geometry import same_grid

PAPER_PARAMS_PATH = Path(__file__).resolve().parent / "resources" / "paper_params.yaml"
RATIO_NAME = "original_shape_MajorLeastAxisRatio"
# relative cost of one PyRadiomics image type (number of derived images, LBP3D is heavier)
_IMAGE_TYPE_COST = {"Wavelet": 8.0, "LoG": 1.0, "LBP3D": 4.0, "Original": 1.5}
_log = logging.getLogger(__name__)

ProgressCallback = Callable[[float, str], "bool | None"]


@dataclass
class CaseFeatures:
    """Features of one case: `values` (column → float) and PyRadiomics diagnostics per sequence."""

    case_id: str
    values: dict[str, float]
    diagnostics: dict[str, dict[str, object]] = field(default_factory=dict)

    def as_series(self):
        """The feature values as a pandas Series named by case id."""
        import pandas as pd

        return pd.Series(self.values, name=self.case_id, dtype=float)


def load_params(path: str | os.PathLike | Mapping | None = None) -> dict:
    """Load and validate a PyRadiomics parameter file (None → the paper's configuration).

    Returns the parameter dictionary (`imageType`, `featureClass`, `setting`); validation is
    PyRadiomics' own schema check.
    """
    if isinstance(path, Mapping):
        params = copy.deepcopy(dict(path))
        _extractor(params)  # validate
        return params
    p = Path(path) if path is not None else PAPER_PARAMS_PATH
    if not p.is_file():
        raise ModicInputError(f"PyRadiomics parameter file not found: {p}")
    import yaml

    try:
        params = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ModicInputError(f"cannot parse parameter file {p}: {str(exc).splitlines()[0]}") from None
    if not isinstance(params, dict):
        raise ModicInputError(f"parameter file {p} must be a YAML mapping with imageType/featureClass/setting")
    try:
        _extractor(params)
    except ModicInputError as exc:
        raise ModicInputError(f"parameter file {p}: {exc}") from None
    return params


def params_hash(params: Mapping) -> str:
    """Stable SHA-256 of a parameter dictionary (for caches and provenance)."""
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


def _extractor(params: Mapping):
    install_scipy_shims()
    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    logging.getLogger("pykwalify").setLevel(logging.CRITICAL)  # it logs every schema error over several lines
    try:
        return featureextractor.RadiomicsFeatureExtractor(copy.deepcopy(dict(params)))
    except Exception as exc:  # pykwalify SchemaError and friends
        raise ModicInputError(f"invalid PyRadiomics parameters: {schema_error_text(exc)}") from None


def _schema_node(path: str) -> dict:
    """The node of PyRadiomics' parameter schema at a pykwalify path like '/setting' ({} if unknown)."""
    import yaml
    from radiomics import featureextractor

    schema_file = Path(featureextractor.__file__).resolve().parent / "schemas" / "paramSchema.yaml"
    try:
        node = yaml.safe_load(schema_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    for part in [p for p in path.strip("/").split("/") if p]:
        mapping = (node or {}).get("mapping") or {}
        node = mapping.get(part) or next((v for k, v in mapping.items() if k.startswith("regex;")), None)
        if node is None:
            return {}
    return node or {}


def schema_error_text(exc: BaseException) -> str:
    """One line for a PyRadiomics parameter error: the setting, what is wrong and the allowed values."""
    import re

    text = str(getattr(exc, "msg", "") or exc)
    errors = re.findall(r"- (.+?)\.?$", text, flags=re.M) or [" ".join(text.split())]
    first = errors[0]
    m = re.match(r"Key '(.+?)' was not defined\. Path: '(.*?)'", first)
    if m:
        key, path = m.groups()
        import difflib

        allowed = sorted((_schema_node(path).get("mapping") or {}).keys())
        allowed = [a for a in allowed if not a.startswith("regex;")]
        where = path.strip("/").replace("/", " → ") or "top level"
        close = difflib.get_close_matches(key, allowed, n=3, cutoff=0.6)
        if close:
            more = f" — did you mean {' or '.join(close)}?"
        elif allowed:
            listed = ", ".join(allowed)
            more = f"; allowed: {listed if len(listed) <= 240 else listed[:240].rsplit(',', 1)[0] + ', …'}"
        else:
            more = ""
        return f"unknown key {key!r} under {where}{more}"
    m = re.match(r"Value '(.*?)' is not of type '(.+?)'\. Path: '(.*?)'", first)
    if m:
        value, kind, path = m.groups()
        return f"{path.strip('/').replace('/', ' → ')} must be of type {kind}, got {value!r}"
    m = re.search(r"Path: '(.*?)'", first)
    if m:
        node = _schema_node(m.group(1))
        rng = node.get("range") if isinstance(node, dict) else None
        if rng:
            bounds = ", ".join(f"{k} {v}" for k, v in rng.items())
            return f"{m.group(1).strip('/').replace('/', ' → ')}: {first.split('. Path')[0]} (allowed range: {bounds})"
    extra = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return " ".join(first.split())[:300] + extra


def check_mask(image: sitk.Image, mask: sitk.Image, label: int, where: str) -> None:
    """Refuse masks PyRadiomics cannot describe, with a message naming case and sequence.

    Checks: same grid as the image (PyRadiomics' geometry tolerance), label present, more than one
    voxel, more than one slice along every axis (3D shape and texture undefined otherwise).
    """
    if mask.GetDimension() != 3 or image.GetDimension() != 3:
        raise ModicInputError(f"{where}: image and mask must be 3D")
    if not same_grid(image, mask, tol=1e-3):
        raise ModicInputError(f"{where}: mask grid (size {mask.GetSize()}, spacing "
                              f"{tuple(round(s, 3) for s in mask.GetSpacing())}) differs from the image grid "
                              f"(size {image.GetSize()}) beyond tolerance — resample the mask onto the image")
    arr = sitk.GetArrayViewFromImage(mask)
    sel = arr == label
    n = int(sel.sum())
    if n == 0:
        present = sorted(int(v) for v in np.unique(arr) if v != 0)[:10]
        hint = f"labels present: {present}" if present else "the mask is empty"
        raise ModicInputError(f"{where}: no voxel with label {label} ({hint}) — choose the lesion label")
    if n == 1:
        raise ModicInputError(f"{where}: the lesion is a single voxel — shape and texture are undefined")
    nz = np.nonzero(sel)
    extents = [int(a.max() - a.min() + 1) for a in nz]  # (k, j, i) numpy order
    if min(extents) == 1:
        axis = "ijk"[2 - extents.index(1)]
        raise ModicInputError(f"{where}: the lesion covers a single slice along image axis {axis} — 3D shape "
                              "and texture are undefined; draw it on consecutive slices")


def plan_tasks(params: Mapping, sequences: list[str], jobs: int) -> list[tuple[str, list[str]]]:
    """Split (sequence × image type) into work items: [(sequence, [image types])].

    The item carrying `Original` also computes shape and the diagnostics. With jobs == 1 there is
    one item per sequence.
    """
    types = list((params.get("imageType") or {"Original": {}}).keys())
    if jobs <= 1:
        return [(s, types) for s in sequences]
    items = [(s, [t]) for s in sequences for t in types]
    # merge cheap image types of one sequence so no task is dominated by process overhead
    merged: list[tuple[str, list[str]]] = []
    for s in sequences:
        cheap = [t for t in types if _IMAGE_TYPE_COST.get(t, 1.0) <= 1.0]
        heavy = [t for t in types if t not in cheap]
        for t in heavy:
            merged.append((s, [t]))
        for i in range(0, len(cheap), 3):
            merged.append((s, cheap[i:i + 3]))
    tasks = merged if len(merged) < len(items) else items
    rank = {t: i for i, t in enumerate(types)}
    return sorted(tasks, key=lambda task: (sequences.index(task[0]), min(rank[t] for t in task[1])))


def _task_params(params: Mapping, image_types: list[str]) -> dict:
    sub = copy.deepcopy(dict(params))
    sub["imageType"] = {t: (params.get("imageType") or {}).get(t) or {} for t in image_types}
    if "Original" not in image_types:
        fc = dict(sub.get("featureClass") or {})
        if not fc:  # PyRadiomics default: all classes
            fc = {c: None for c in ("firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")}
        fc.pop("shape", None)
        fc.pop("shape2D", None)
        sub["featureClass"] = fc
    return sub


def _run_task(image: sitk.Image, mask: sitk.Image, params: Mapping, label: int) -> dict:
    """One PyRadiomics execute() (runs in a worker process or inline)."""
    extractor = _extractor(params)
    with warnings.catch_warnings():
        # PyRadiomics' LBP2D hands float images to skimage, which warns on every call; noted in the README
        warnings.filterwarnings("ignore", message=".*local_binary_pattern.*", category=UserWarning)
        return dict(extractor.execute(image, mask, label=label))


def _precrop(image: sitk.Image, mask: sitk.Image, params: Mapping, label: int) -> tuple[sitk.Image, sitk.Image]:
    """Crop exactly as PyRadiomics' `preCrop` will, so less data travels to worker processes.

    Cropping an already cropped image with the same bounding box and padding is the identity, so
    the values do not change. Without `preCrop` (or with resampling) the images are sent whole.
    """
    setting = dict(_extractor(params).settings)  # PyRadiomics defaults (padDistance 5, ...) + ours
    if not setting.get("preCrop") or setting.get("resampledPixelSpacing"):
        return image, mask
    from radiomics import imageoperations

    setting["label"] = label
    bb, corrected = imageoperations.checkMask(image, mask, **setting)
    if bb is None:
        return image, mask
    return imageoperations.cropToTumorMask(image, corrected if corrected is not None else mask, bb, **setting)


def _to_float(value) -> float | None:
    try:
        arr = np.asarray(value)
        if arr.size == 1 and np.issubdtype(arr.dtype, np.number):
            return float(arr.reshape(()))
    except (TypeError, ValueError):
        pass
    return None


_POOL: dict[int, ProcessPoolExecutor] = {}
_POOL_LOCK = threading.Lock()


def worker_pool(jobs: int) -> Executor:
    """A persistent process pool for within-case parallelism (started once, reused per case)."""
    with _POOL_LOCK:
        pool = _POOL.get(jobs)
        if pool is None:
            pool = ProcessPoolExecutor(max_workers=jobs, mp_context=spawn_context(), initializer=_init_worker)
            _POOL[jobs] = pool
        return pool


def shutdown_pools() -> None:
    """Stop the persistent worker pools (tests, Slicer module cleanup)."""
    with _POOL_LOCK:
        for pool in _POOL.values():
            pool.shutdown(cancel_futures=True)
        _POOL.clear()


def _init_worker() -> None:
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    install_scipy_shims()
    logging.getLogger("radiomics").setLevel(logging.ERROR)


def extract_case(images: Mapping[str, sitk.Image], masks: Mapping[str, sitk.Image],
                 params: Mapping | str | os.PathLike | None = None, case_id: str = "case", label: int = 1,
                 jobs: int = 1, progress: ProgressCallback | None = None) -> CaseFeatures:
    """Extract PyRadiomics features for every sequence of one case.

    images/masks: dicts keyed by sequence ("T1", "T2", "FS"); each mask on its image's grid.
    params: parameter dict or file (None → the paper's configuration). jobs: worker processes for
    this case (1 = in-process, serial). progress(fraction, message) may return False to cancel.
    Raises ModicInputError naming the case and sequence for bad masks or non-finite results.
    """
    params = load_params(params) if not isinstance(params, Mapping) else dict(params)
    sequences = [s for s in images if s in masks]
    missing = [s for s in images if s not in masks]
    if missing:
        raise ModicInputError(f"case {case_id}: no lesion mask for {', '.join(missing)}")
    if not sequences:
        raise ModicInputError(f"case {case_id}: no image to extract features from")
    for seq in sequences:
        check_mask(images[seq], masks[seq], label, f"case {case_id}, sequence {seq}")

    tasks = plan_tasks(params, sequences, jobs)
    results: list[dict] = [None] * len(tasks)  # type: ignore[list-item]
    if jobs <= 1:
        for i, (seq, types) in enumerate(tasks):
            if progress is not None and progress(i / len(tasks), f"{case_id}: {seq} features") is False:
                raise InterruptedError("cancelled")
            results[i] = _run_task(images[seq], masks[seq], _task_params(params, types), label)
    else:
        pool = worker_pool(jobs)
        inputs = {seq: _precrop(images[seq], masks[seq], params, label) for seq in sequences}
        futures = [pool.submit(_run_task, *inputs[seq], _task_params(params, types), label)
                   for seq, types in tasks]
        for i, fut in enumerate(futures):
            try:
                results[i] = fut.result()
            except ValueError as exc:
                raise ModicInputError(f"case {case_id}, sequence {tasks[i][0]}: PyRadiomics refused the "
                                      f"mask: {exc}") from None
            if progress is not None and progress((i + 1) / len(tasks), f"{case_id}: features") is False:
                for f in futures:
                    f.cancel()
                raise InterruptedError("cancelled")

    values: dict[str, float] = {}
    diagnostics: dict[str, dict[str, object]] = {}
    for (seq, types), result in zip(tasks, results, strict=True):
        for key, value in result.items():
            if key.startswith("diagnostics_"):
                if "Original" in types or len(tasks) == len(sequences):
                    diagnostics.setdefault(seq, {})[key] = _jsonable(value)
                continue
            number = _to_float(value)
            if number is None:
                raise ModicInputError(f"case {case_id}, sequence {seq}: feature {key} is not a number ({value!r})")
            values[f"{seq}_{key}"] = number
    for seq in sequences:
        major, least = values.get(f"{seq}_original_shape_MajorAxisLength"), values.get(
            f"{seq}_original_shape_LeastAxisLength")
        if major is not None and least is not None:
            values[f"{seq}_{RATIO_NAME}"] = major / least if least > 0 else math.nan
        if seq in diagnostics:
            diagnostics[seq]["diagnostics_Configuration_EnabledImageTypes"] = _jsonable(params.get("imageType"))
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if bad:
        raise ModicInputError(f"case {case_id}: {len(bad)} feature(s) are not finite ({', '.join(bad[:3])}) — "
                              "the lesion is too small or flat for these features; check the mask")
    order = {s: i for i, s in enumerate(sequences)}
    values = dict(sorted(values.items(), key=lambda kv: order[kv[0].split("_", 1)[0]]))
    if progress is not None:
        progress(1.0, f"{case_id}: {len(values)} features")
    return CaseFeatures(case_id=case_id, values=values, diagnostics=diagnostics)


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
