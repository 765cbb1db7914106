"""Writing hybrid (`--background`) and construction-B (`--construction B`) cohorts.

Same layout and manifest columns as the default cohort (`modic.phantom.cohort`), plus a `spine` column:
the ground-truth anatomy label map (`modic.spine` label values: body 10+k, endplate zones 30+k/50+k, disc
70+k), readable with `modic.spine.spine_from_label_map`. Clinical columns (odi, vas, age, sex, pfirrmann) are
empty: these cohorts test segmentation, detection and typing, not the statistics.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import SimpleITK as sitk

from modic.errors import ModicInputError
from modic.geometry import format_point
from modic.phantom.cohort import FORMATS, MANIFEST_COLUMNS, _versions

EXTRA_VERSION = "1.1.0"   # 1.1: hybrid roles from the contrast text checked against the image (water → FS);
                          #      T1/T2 derived from an FS scan


def _write(case, folder: Path, ext: str) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for seq in ("T1", "T2", "FS"):
        sitk.WriteImage(sitk.Cast(case.images[seq], sitk.sitkInt16), str(folder / f"{seq.lower()}{ext}"), True)
        sitk.WriteImage(case.masks[seq], str(folder / f"mask_{seq.lower()}{ext}"), True)
        files[seq.lower()], files[f"mask_{seq.lower()}"] = f"{seq.lower()}{ext}", f"mask_{seq.lower()}{ext}"
    sitk.WriteImage(case.spine.labels, str(folder / f"spine_labels{ext}"), True)
    files["spine"] = f"spine_labels{ext}"
    return files


def write_cohort(out: str | os.PathLike, specs: list, render: Callable, record: dict, fmt: str = "nrrd",
                 progress: bool = True, extra_columns: Callable | None = None) -> Path:
    """Render every spec with `render(spec)` and write the cohort atomically; returns manifest.csv's path."""
    import pandas as pd
    from tqdm import tqdm

    from modic.io import atomic_directory, check_writable_dir

    if fmt not in FORMATS:
        raise ModicInputError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ModicInputError(f"--out {out} exists and is not a folder — choose another --out")
    check_writable_dir(out)
    rows, metas = [], {}
    with atomic_directory(out) as tmp:
        cases: Iterable = tqdm(specs, desc="modic phantom", unit="case", disable=not progress, file=sys.stderr)
        for spec in cases:
            case = render(spec)
            rel = Path("cases") / case.case_id
            files = _write(case, tmp / rel, FORMATS[fmt])
            row = {c: None for c in MANIFEST_COLUMNS}
            row.update({k: (rel / v).as_posix() for k, v in files.items()})
            row.update({"case_id": case.case_id, "label": 1, "modic_type": case.modic_type,
                        "seed_lps": format_point(case.seed_lps), "reference_lps": format_point(case.reference_lps),
                        "level": case.meta.get("disc"), "endplate": case.meta.get("endplate"),
                        "true_type": case.true_type})
            if extra_columns is not None:
                row.update(extra_columns(case))
            rows.append(row)
            metas[case.case_id] = case.meta
        df = pd.DataFrame(rows)
        df.to_csv(tmp / "manifest.csv", index=False)
        full = {**record, "extra_version": EXTRA_VERSION, "format": fmt, "manifest_columns": list(df.columns),
                "endplate_meaning": "upper = endplate of the vertebra above the disc, lower = of the vertebra "
                                    "below, both = both",
                "spine_labels": "modic.spine label values: body 10+k, superior endplate zone 30+k, inferior 50+k, "
                                "disc 70+k, k = index in T10…S1", "versions": _versions(), "cases": metas}
        (tmp / "phantom.json").write_text(json.dumps(full, indent=1, default=float), encoding="utf-8")
    return out / "manifest.csv"


def generate_hybrid_cohort(out, background: str | os.PathLike, per_scan: int = 3, slice_mm: float = 4.0,
                           seed: int = 0, fmt: str = "nrrd", progress: bool = True) -> Path:
    """Hybrid cohort: `per_scan` lesions inserted into each labelled real scan of the background manifest."""
    from modic.phantom.hybrid import hybrid_specs, load_background, make_hybrid_case, read_backgrounds

    if per_scan < 1:
        raise ModicInputError(f"--cases-per-scan must be at least 1, got {per_scan}")
    if not 1.0 <= slice_mm <= 8.0:
        raise ModicInputError(f"--slice-mm must be between 1 and 8 mm, got {slice_mm}")
    rows = read_backgrounds(background)
    by_name = {r["name"]: r for r in rows}
    from modic.phantom.cohort import check_disk_space

    check_disk_space(Path(out), per_scan * len(rows), option="--cases-per-scan")
    specs = hybrid_specs(rows, per_scan=per_scan, slice_mm=slice_mm, seed=seed)
    cache: dict = {}

    def render(spec):
        if spec.background not in cache:
            cache.clear()
            cache[spec.background] = load_background(by_name[spec.background])
        return make_hybrid_case(cache[spec.background], spec)

    record = {"generator": "modic.phantom.hybrid", "seed": seed, "background_manifest": str(background),
              "options": {"cases_per_scan": per_scan, "slice_mm": slice_mm},
              "real_and_derived": "one real scan per case (its sequence in the real_sequence column); the other "
                                  "two sequences derived from it by a per-tissue gain (texture and noise kept); "
                                  "lesions inserted by multiplying the real marrow signal"}
    return write_cohort(out, specs, render, record, fmt, progress,
                        lambda c: {"background": c.meta["background"], "real_sequence": c.meta["real_sequence"],
                                   "real_sequence_note": c.meta["real_sequence_note"], "slice_mm": c.meta["slice_mm"]})


def generate_construction_b(out, n_cases: int = 30, seed: int = 0, fmt: str = "nrrd", progress: bool = True) -> Path:
    """Construction-B cohort (`modic.phantom.construction_b`)."""
    from modic.phantom.construction_b import make_case_b, specs_b

    if n_cases < 1:
        raise ModicInputError(f"--cases must be at least 1, got {n_cases}")
    from modic.phantom.cohort import check_disk_space

    check_disk_space(Path(out), n_cases)
    record = {"generator": "modic.phantom.construction_b", "seed": seed, "options": {"n_cases": n_cases}}
    return write_cohort(out, specs_b(n_cases, seed), make_case_b, record, fmt, progress,
                        lambda c: {"shape": c.meta["shape"], "construction": "B"})
