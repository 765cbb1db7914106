"""Fixtures of the bad-input battery: a small user project on disk (images, masks, parameter files,
manifests, feature tables, model files, questionnaires — good ones and broken ones), and helpers that
run a command in-process and check the contract: exit 2, one short line on stderr, no traceback,
nothing left behind, the user's files byte-for-byte intact."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml
from battery import tree_hashes

from modic.geometry import sagittal_direction

SPACING = (0.7, 0.7, 3.5)
ORIGIN = (12.5, -40.0, 80.0)
SMALL_PARAMS = {"imageType": {"Original": {}}, "featureClass": {"shape": None, "firstorder": None},
                "setting": {"binWidth": 25, "label": 1}}


def _volume(arr: np.ndarray, origin=ORIGIN) -> sitk.Image:
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(SPACING)
    img.SetOrigin(origin)
    img.SetDirection(sagittal_direction())
    return img


def _write(img: sitk.Image, path: Path) -> str:
    sitk.WriteImage(img, str(path), True)
    return str(path)


class Malicious:
    """Unpickling this creates a file: proof that a pickle was executed."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _stats_tables(counts, seed=0):
    rng = np.random.default_rng(seed)
    types = np.repeat([1, 2, 3], counts)
    ids = [f"c{i:02d}" for i in range(len(types))]
    feats = pd.DataFrame({"case_id": ids})
    for k in range(4):
        feats[f"T2_original_firstorder_F{k}"] = rng.normal(size=len(types)) + types
    for name in ("Elongation", "Flatness", "Sphericity", "MajorAxisLength", "LeastAxisLength"):
        feats[f"T2_original_shape_{name}"] = rng.uniform(0.5, 1.0, len(types)) + types * 0.1
    man = pd.DataFrame({"case_id": ids, "modic_type": types})
    return feats, man


@pytest.fixture(scope="session")
def project(tmp_path_factory) -> Path:
    """The user's project folder: inputs good and bad. Never written by any test (checked by hashing)."""
    root = tmp_path_factory.mktemp("project")
    rng = np.random.default_rng(0)
    shape = (8, 32, 32)
    kk, jj, ii = np.mgrid[: shape[0], : shape[1], : shape[2]]
    lesion = (((kk - 3.5) / 2.5) ** 2 + ((jj - 15.5) / 7) ** 2 + ((ii - 15.5) / 8) ** 2) < 1
    for seq, delta in (("t1", -60.0), ("t2", 70.0), ("fs", 90.0)):
        arr = rng.normal(200.0, 25.0, shape).astype(np.float32)
        arr[lesion] += delta
        _write(_volume(arr), root / f"{seq}.nrrd")
    _write(_volume(lesion.astype(np.uint8)), root / "mask.nrrd")
    _write(_volume(lesion.astype(np.uint8), origin=(900.0, 900.0, 900.0)), root / "far_mask.nrrd")
    _write(_volume(np.zeros(shape, np.uint8)), root / "empty_mask.nrrd")
    one = np.zeros(shape, np.uint8)
    one[4, 16, 16] = 1
    _write(_volume(one), root / "onevox_mask.nrrd")
    _write(_volume((lesion * 2).astype(np.uint8)), root / "label2_mask.nrrd")
    _write(_volume(np.full(shape, np.nan, np.float32)), root / "nan.nrrd")
    some = rng.normal(200.0, 25.0, shape).astype(np.float32)
    some[0, :4, :4] = np.nan
    _write(_volume(some), root / "somenan.nrrd")
    _write(_volume(np.full(shape, 7.0, np.float32)), root / "const.nrrd")
    flat = sitk.GetImageFromArray(rng.normal(size=(32, 32)).astype(np.float32))
    _write(flat, root / "flat2d.nrrd")
    t2 = sitk.ReadImage(str(root / "t2.nrrd"))
    huge = sitk.Image(t2)
    huge.SetSpacing((70.0, 70.0, 350.0))        # metres written as centimetres: a 2.8 m field of view
    _write(huge, root / "huge_spacing.nrrd")
    sheared = sitk.Image(t2)
    sheared.SetDirection((1.0, 0.0, 0.0, 0.5, 0.866, 0.0, 0.0, 0.0, 1.0))
    _write(sheared, root / "sheared.nrrd")
    data = (root / "t2.nrrd").read_bytes()
    (root / "truncated.nrrd").write_bytes(data[: len(data) // 2])
    (root / "corrupt.nrrd").write_bytes(b"NRRD0004\ntype: float\ngarbage\x00\x01")
    (root / "empty.nrrd").write_bytes(b"")
    # parameter files
    (root / "small.yaml").write_text(yaml.safe_dump(SMALL_PARAMS))
    (root / "syntax.yaml").write_text("setting: [binWidth: 25\n")
    (root / "schema.yaml").write_text("setting:\n  binWidth: abc\n")
    (root / "unknown.yaml").write_text("setting:\n  binwidth: 25\n")
    (root / "list.yaml").write_text("- 1\n- 2\n")
    # manifests
    header = "case_id,t1,t2,fs,mask,modic_type\n"
    (root / "manifest.csv").write_text(header + "a,t1.nrrd,t2.nrrd,fs.nrrd,mask.nrrd,1\n")
    (root / "header_only.csv").write_text(header)
    (root / "dup_ids.csv").write_text(header + "a,t1.nrrd,t2.nrrd,fs.nrrd,mask.nrrd,1\n"
                                      " a ,t1.nrrd,t2.nrrd,fs.nrrd,mask.nrrd,1\n")
    (root / "no_case_id.csv").write_text("id,t2,mask\na,t2.nrrd,mask.nrrd\n")
    (root / "no_images.csv").write_text("case_id,mask\na,mask.nrrd\n")
    (root / "no_masks.csv").write_text("case_id,t2\na,t2.nrrd\n")
    (root / "binary.csv").write_bytes((root / "t2.nrrd").read_bytes())
    (root / "zip.csv").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    (root / "empty.csv").write_bytes(b"")
    # statistics tables
    for name, counts in (("stats", (4, 4, 4)), ("small_cohort", (2, 2, 2)), ("one_in_type", (4, 4, 1))):
        f, m = _stats_tables(counts)
        f.to_csv(root / f"{name}_features.csv", index=False)
        m.to_csv(root / f"{name}_manifest.csv", index=False)
    f, m = _stats_tables((4, 4, 4))
    m.assign(modic_type="").to_csv(root / "no_types_manifest.csv", index=False)
    m.drop(columns="modic_type").to_csv(root / "no_type_column_manifest.csv", index=False)
    m.assign(modic_type=[4] + list(m.modic_type[1:])).to_csv(root / "invalid_types_manifest.csv", index=False)
    m.assign(case_id=[f"x{i}" for i in range(len(m))]).to_csv(root / "other_ids_manifest.csv", index=False)
    text = f.astype(object)
    text.loc[3, "T2_original_firstorder_F1"] = "high"
    text.to_csv(root / "text_features.csv", index=False)
    # models
    from modic.model_io import demo_model_path

    shutil.copy(demo_model_path(), root / "model.skops")
    with zipfile.ZipFile(demo_model_path()) as src, zipfile.ZipFile(root / "tampered.skops", "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "schema.json":
                schema = data.decode()
                assert '"__class__": "SimpleImputer"' in schema
                schema = schema.replace('"__class__": "SimpleImputer"', '"__class__": "system"', 1)
                data = schema.replace('"__module__": "sklearn.impute._base"', '"__module__": "os"', 1).encode()
            dst.writestr(item, data)
    with zipfile.ZipFile(demo_model_path()) as src, zipfile.ZipFile(root / "bad_meta.skops", "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "schema.json":
                schema = json.loads(data)
                schema["content"]["metadata_json"]["content"] = json.dumps("{not json")
                data = json.dumps(schema).encode()
            dst.writestr(item, data)
    data = demo_model_path().read_bytes()
    (root / "truncated.skops").write_bytes(data[: len(data) // 3])
    marker = root.parent / f"{root.name}_PICKLE_WAS_EXECUTED"
    (root / "model.pkl").write_bytes(pickle.dumps(Malicious(str(marker))))
    (root / "model_pickle.skops").write_bytes(pickle.dumps(Malicious(str(marker))))
    # ODI questionnaires
    items = pd.DataFrame({"case_id": ["p1", "p2"], **{f"odi_{k}": [1, 2] for k in range(1, 11)}})
    items.to_csv(root / "odi.csv", index=False)
    items.assign(odi_3=[1, 7]).to_csv(root / "odi_range.csv", index=False)
    items.assign(odi_3=[1, "a lot"]).to_csv(root / "odi_text.csv", index=False)
    items.assign(odi_3=[1, 2.5]).to_csv(root / "odi_fraction.csv", index=False)
    items.drop(columns="odi_10").to_csv(root / "odi_missing_item.csv", index=False)
    items.iloc[:0].to_csv(root / "odi_header_only.csv", index=False)
    (root / "notes.txt").write_text("the user's own notes\n")
    return root


@pytest.fixture
def user_folder(tmp_path) -> Path:
    """A folder of the user's own files (an existing, non-empty --out)."""
    d = tmp_path / "work" / "study"
    d.mkdir(parents=True)
    (d / "data.csv").write_text("patient,score\n1,2\n")
    (d / "sub").mkdir()
    (d / "sub" / "image.nrrd").write_bytes(b"not really an image")
    return d


@pytest.fixture
def guard(project, user_folder, tmp_path, monkeypatch):
    """Hash the project and the work area before a test and check after it that nothing changed and no
    pickle ran. Tests run with the current folder in tmp_path/work and HOME at tmp_path/home."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    before = (tree_hashes(project), tree_hashes(tmp_path))
    yield work
    assert tree_hashes(project) == before[0], "the user's project files changed"
    assert tree_hashes(tmp_path) == before[1], "something was written or removed"
    assert not list(project.parent.glob(f"{project.name}_PICKLE_WAS_EXECUTED")), "a pickle was executed"
    assert os.getcwd() == str(work)
