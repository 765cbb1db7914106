"""Writing a cohort: per-case image/mask/anatomy files, manifest.csv and phantom.json.

Layout under the output folder::

    manifest.csv  phantom.json
    cases/<case_id>/t1.nrrd t2.nrrd fs.nrrd mask_t1.nrrd mask_t2.nrrd mask_fs.nrrd anatomy.nrrd

Images are written as int16 (the float32 arrays hold integers, so nothing is lost), masks and anatomy as
uint8. The whole folder is built with `modic.io.atomic_directory`: a crash leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

import SimpleITK as sitk

from modic.errors import ModicInputError
from modic.geometry import format_point

GENERATOR_VERSION = "2.3.0"   # 2.1: signal_model 1 (default) = generator 1 signals, 2 = per-case variability;
#                               2.2: signal_model 3 (opt-in) = same contrast size for every type, mixed I/II
#                               2.3: signal_model 4 = model 3 read by a reader (labels, shapes and ROIs; demo default)
MANIFEST_COLUMNS = ("case_id", "t1", "t2", "fs", "mask_t1", "mask_t2", "mask_fs", "label", "modic_type",
                    "odi", "vas", "age", "sex", "pfirrmann", "seed_lps", "reference_lps", "level", "endplate",
                    "true_type")
FORMATS = {"nrrd": ".nrrd", "nifti": ".nii.gz", "dicom": ".nrrd"}  # dicom: images as a study, masks NRRD


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("numpy", "scipy", "SimpleITK", "pyradiomics-bhklab", "pandas", "modic-radiomics"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


CASE_MB = 6.0   # disk space of one case (three images, three masks, anatomy; NRRD, gzip), measured 5.3 MB


def check_disk_space(out: Path, n_cases: int, case_mb: float = CASE_MB, option: str = "--cases") -> None:
    """ModicInputError when the file system of `out` has less free space than `n_cases` cases need."""
    import shutil

    base = out.resolve()
    while not base.exists() and base != base.parent:
        base = base.parent
    free_mb = shutil.disk_usage(base).free / 1e6
    need_mb = n_cases * case_mb
    if need_mb > free_mb:
        raise ModicInputError(f"{n_cases:,} cases need about {need_mb / 1e3:,.1f} GB, but only {free_mb / 1e3:,.1f} GB "
                              f"are free at {base} — ask for fewer cases ({option}) or free some space")


def write_case(case, folder: Path, fmt: str = "nrrd") -> dict[str, str]:
    """Write one PhantomCase into `folder`; return the file names (relative to `folder`)."""
    ext = FORMATS[fmt]
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    if fmt == "dicom":
        from modic.phantom.dicomstudy import write_case_study

        write_case_study(case, folder / "study", index=case.spec.index if case.spec else 0,
                         seed=case.spec.seed if case.spec else 0)
        files["study"] = "study"
    for seq in ("T1", "T2", "FS"):
        name = f"{seq.lower()}{ext}"
        if fmt != "dicom":
            sitk.WriteImage(sitk.Cast(case.images[seq], sitk.sitkInt16), str(folder / name), True)
            files[seq.lower()] = name
        mname = f"mask_{seq.lower()}{ext}"
        sitk.WriteImage(case.masks[seq], str(folder / mname), True)
        files[f"mask_{seq.lower()}"] = mname
        if getattr(case, "truth_masks", None):     # signal model 4: the masks are a reader's ROIs; the lesion itself
            tname = f"truth_{seq.lower()}{ext}"
            sitk.WriteImage(case.truth_masks[seq], str(folder / tname), True)
            files[f"truth_{seq.lower()}"] = tname
    sitk.WriteImage(case.anatomy, str(folder / f"anatomy{ext}"), True)
    files["anatomy"] = f"anatomy{ext}"
    return files


def generate_cohort(out: str | os.PathLike, n_cases: int | None = None, counts=None,
                    with_scores: int | None = None, seed: int = 0, fmt: str = "nrrd", mixed: bool = False,
                    progress: bool = True, overwrite: bool = False, signal_model: int = 1) -> Path:
    """Generate a synthetic cohort under `out` and return the path of its manifest.csv.

    Defaults reproduce the paper's cohort: 154 cases, type I/II/III = 41/84/29, ODI/VAS for 30 cases
    (7/22/1 by type). See `modic.phantom.spec.resolve_counts` for how `n_cases`, `counts` and
    `with_scores` combine. `out` must be new or empty, or a cohort folder modic wrote; `overwrite` replaces
    modic's own files in a folder that holds others (which are never touched; docs/OUTPUTS.md).
    `signal_model` 1 (default): generator 1's signals; 2: per-case signal variability
    (`modic.phantom.spec.CONTRAST_PARAMS`); 3: the same contrast size for every type, mixed I/II lesions
    (`modic.phantom.spec.SIGNAL3_PARAMS`); 4: model 3 read by a reader (`modic.phantom.spec.READER_PARAMS`: the
    masks are the reader's ROIs, manifest columns `truth_t1`/`truth_t2`/`truth_fs` the lesion itself).
    """
    import pandas as pd
    from tqdm import tqdm

    from modic.io import atomic_directory, check_output_dir
    from modic.phantom.spec import check_signal_model, cohort_specs, resolve_counts, signal_settings
    from modic.phantom.synth import synthesize

    if fmt not in FORMATS:
        raise ModicInputError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise ModicInputError(f"--seed must be an integer, got {seed!r}") from None
    if seed < 0:
        raise ModicInputError(f"--seed must not be negative, got {seed}")
    counts_, scored = resolve_counts(n_cases, counts, with_scores)
    signal_model = check_signal_model(signal_model)
    out = Path(out)
    check_output_dir(out, overwrite, command="phantom")
    check_disk_space(out, sum(counts_))
    specs = cohort_specs(seed=seed, counts=counts_, with_scores=sum(scored), mixed=mixed,
                         signal_model=signal_model)
    rows = []
    acq = {}
    with atomic_directory(out, overwrite, command="phantom") as tmp:
        for spec in tqdm(specs, desc="modic phantom", unit="case", disable=not progress, file=sys.stderr):
            case = synthesize(spec)
            rel = Path("cases") / case.case_id
            files = write_case(case, tmp / rel, fmt)
            row = {"case_id": case.case_id}
            for key in ("study", "t1", "t2", "fs", "mask_t1", "mask_t2", "mask_fs", "truth_t1", "truth_t2", "truth_fs"):
                if key in files:
                    row[key] = (rel / files[key]).as_posix()
            row.update({"label": 1, "modic_type": case.modic_type, "odi": case.clinical["odi"],
                        "vas": case.clinical["vas"], "age": case.clinical["age"], "sex": case.clinical["sex"],
                        "pfirrmann": case.clinical["pfirrmann"], "seed_lps": format_point(case.seed_lps),
                        "reference_lps": format_point(case.reference_lps),
                        "level": spec.level, "endplate": spec.endplate, "true_type": case.true_type,
                        "anatomy": (rel / files["anatomy"]).as_posix(),
                        "fs_grid_differs": int(case.meta["fs_grid_differs"])})
            for seq in ("T1", "T2", "FS"):
                a = spec.acquisition[seq]
                row[f"gain_{seq.lower()}"] = round(a["gain"], 5)
                row[f"offset_{seq.lower()}"] = round(a["offset"], 4)
                row[f"snr_{seq.lower()}"] = round(a["snr"], 3)
            rows.append(row)
            acq[case.case_id] = case.meta
        df = pd.DataFrame(rows)
        for col in ("odi", "vas"):
            df[col] = df[col].astype("Float64")
        df.to_csv(tmp / "manifest.csv", index=False)
        record = {
            "generator": "modic.phantom", "generator_version": GENERATOR_VERSION, "seed": seed,
            "options": {"n_cases": len(specs), "counts": counts_, "with_scores": scored, "format": fmt,
                        "mixed": bool(mixed), "signal_model": signal_model},
            "anatomy_labels": {str(k): v for k, v in __import__("modic.phantom.model", fromlist=["x"])
                               .ANATOMY_LABELS.items()},
            "manifest_columns": list(df.columns),
            "endplate_meaning": "upper = endplate of the vertebra above the disc, lower = of the vertebra "
                                "below, both = both",
            "signal_model": signal_model,
            **({"signal_settings": signal_settings(signal_model)} if signal_model >= 2 else {}),
            "versions": _versions(),
            "cases": acq,
        }
        (tmp / "phantom.json").write_text(json.dumps(record, indent=1, default=float), encoding="utf-8")
    return out / "manifest.csv"
