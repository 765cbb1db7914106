"""ModicRadiomics benchmarks: `make benchmark` (full, ~25 min on 2 cores) or `--quick` (CI smoke run).

P1   one case end to end (load 3 sequences + segment + 3 × features + classify) vs bare PyRadiomics
     `RadiomicsFeatureExtractor(params).execute()` for the same three extractions, same process.
P1b  within-case parallelism: `extract_case(..., jobs=2)` vs the serial bare PyRadiomics time.
P2   a cohort with 1 vs 2 local workers, the Dask path (LocalCluster of 2), and the PyRadiomics batch
     CLI (`pyradiomics list.csv --jobs 2`), on the same cases and parameters; values must be identical.
P3   `modic stats` on the 154-case default phantom cohort.
RSS  peak resident memory per worker at 512 × 512 × 20.

Every figure is the median of `--repeats` runs (≥ 3 unless --quick); ratios come from the same run.
Results are written to benchmarks/results.md (or --out) with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import bench_report  # noqa: E402  (sibling module: benchmarks/ is on sys.path when run as a script)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import SimpleITK as sitk  # noqa: E402

from modic.geometry import format_point, sagittal_direction  # noqa: E402

SEQS = ("T1", "T2", "FS")
QUICK_PARAMS = """\
imageType:
  Original: {}
  LoG:
    sigma: [1.0]
featureClass:
  shape:
  firstorder:
  glcm:
setting:
  label: 1
  binWidth: 25
  preCrop: true
"""

# ---------------------------------------------------------------------------- helpers


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def loadavg() -> str:
    with contextlib.suppress(OSError, AttributeError):
        return "/".join(f"{v:.2f}" for v in os.getloadavg())
    return "n/a"


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


def modic_extract_argv(args: list[str]) -> list[str]:
    """`modic extract --manifest ...` through the CLI once it exists, else `python -m modic.batch`."""
    if (ROOT / "modic" / "commands" / "extract.py").is_file():
        return [sys.executable, "-m", "modic.cli", "extract", *args]
    return [sys.executable, "-m", "modic.batch", *args]


def run(argv: list[str], timeout: float = 3600) -> float:
    """Run a command, fail loudly, return its wall time."""
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env(), capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])} ... exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return elapsed


def machine_info() -> dict[str, str]:
    import psutil

    from modic.batch.engine import software_versions

    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info = {"date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), "cpu": cpu,
            "cores": str(os.cpu_count()), "ram": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
            "load_start": loadavg()}
    info.update(software_versions())
    return info


# ---------------------------------------------------------------------------- cases


def synthetic_case(folder: Path, case_id: str, seed: int, size=(384, 384, 15), spacing=(0.7, 0.7, 4.0)
                   ) -> dict[str, Any]:
    """Fallback case at clinical geometry (2D sagittal, anisotropic): a ragged band-like lesion on an
    endplate, per-sequence masks on each grid (FS on a coarser grid). Used when modic.phantom is absent."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    nx, ny, nz = size
    row: dict[str, Any] = {"case_id": case_id}
    extent = np.array([nx * spacing[0], ny * spacing[1], nz * spacing[2]])
    origin = np.array([extent[2] / 2, -extent[0] / 2, extent[1] / 2])
    center = np.array([0.0, 0.0, 0.0]) + rng.uniform(-3, 3, 3)
    radii = np.array([14.0, 18.0, 5.0]) * rng.uniform(0.85, 1.15, 3)  # L, P, S (band along the endplate)
    lesion_gain = {"T1": -50.0, "T2": 60.0, "FS": 90.0}
    for seq in SEQS:
        sp = spacing if seq != "FS" else (spacing[0] * 1.2, spacing[1] * 1.2, spacing[2])
        sz = size if seq != "FS" else (int(nx / 1.2), int(ny / 1.2), nz)
        direction = np.array(sagittal_direction()).reshape(3, 3)
        i, j, k = np.meshgrid(np.arange(sz[0]), np.arange(sz[1]), np.arange(sz[2]), indexing="ij")
        idx = np.stack([i, j, k], axis=-1).reshape(-1, 3) * np.array(sp)
        pts = idx @ direction.T + origin
        rel = (pts - center) / radii
        wobble = 0.25 * np.sin(pts[:, 1] / 2.3 + seed) * np.cos(pts[:, 0] / 3.1)
        r2 = (rel ** 2).sum(axis=1) + wobble
        lesion = (r2 < 1.0).reshape(sz)
        base = 100.0 + 30.0 * np.sin(pts[:, 2] / 9.0).reshape(sz)
        arr = base + rng.normal(0, 12.0, sz) + lesion_gain[seq] * lesion * (1.2 - 0.5 * r2.reshape(sz).clip(0, 1))
        img = sitk.GetImageFromArray(np.rint(arr).astype(np.float32).transpose(2, 1, 0))
        img.SetSpacing(sp)
        img.SetDirection(tuple(direction.ravel()))
        img.SetOrigin(tuple(origin))
        mask = sitk.GetImageFromArray(lesion.astype(np.uint8).transpose(2, 1, 0))
        mask.CopyInformation(img)
        sitk.WriteImage(img, str(folder / f"{seq.lower()}.nrrd"), True)
        sitk.WriteImage(mask, str(folder / f"mask_{seq.lower()}.nrrd"), True)
        row[seq.lower()] = str(folder / f"{seq.lower()}.nrrd")
        row[f"mask_{seq.lower()}"] = str(folder / f"mask_{seq.lower()}.nrrd")
    row["seed_lps"] = format_point(center)
    row["modic_type"] = 1 + seed % 3
    return row


def make_cohort(folder: Path, n: int, quick: bool, seed: int = 0, use_phantom: bool = True) -> tuple[Path, str]:
    """A cohort of `n` cases (modic.phantom when available, else the synthetic fallback); returns
    (manifest, description). Reused when it already exists."""
    manifest = folder / "manifest.csv"
    if manifest.is_file():
        desc = (folder / "source.txt").read_text() if (folder / "source.txt").is_file() else "cached"
        return manifest, desc
    folder.mkdir(parents=True, exist_ok=True)
    if use_phantom and not quick:
        try:
            from modic.phantom import generate_cohort

            kw = {} if n == 154 else {"n_cases": n}  # 154 = the default (paper's) cohort
            m = Path(generate_cohort(folder, seed=seed, fmt="nrrd", progress=False, **kw))
            desc = f"modic.phantom.generate_cohort({'' if n == 154 else f'n_cases={n}, '}seed={seed})"
            (folder / "source.txt").write_text(desc)
            return m, desc
        except Exception as exc:  # noqa: BLE001 - the phantom is being written; fall back
            print(f"[bench] modic.phantom not usable ({type(exc).__name__}: {exc}); synthetic cases",
                  file=sys.stderr)
    size = (64, 64, 10) if quick else (384, 384, 15)
    rows = [synthetic_case(folder / f"case{i:03d}", f"case{i:03d}", seed + i, size=size) for i in range(n)]
    pd.DataFrame(rows).to_csv(manifest, index=False)
    desc = f"synthetic fallback, {size[0]}×{size[1]}×{size[2]} at 0.7×0.7×4 mm (FS 0.84 mm), sagittal"
    (folder / "source.txt").write_text(desc)
    return manifest, desc


def pyradiomics_list(manifest: Path, out: Path) -> tuple[Path, dict[tuple[str, str], str]]:
    """The PyRadiomics batch CLI's own input (Image,Mask; one row per image/mask pair, 3 per case).

    Masks are taken per sequence grid (resampled from a shared mask and written when needed).
    Returns the csv path and a map (image path → (case_id, seq))."""
    from modic.manifest import IMAGE_COLUMNS, load_case_images, load_case_masks, read_manifest

    df = read_manifest(manifest)
    rows, where = [], {}
    for _, r in df.iterrows():
        images = load_case_images(r)
        needs = [s for s in images if not isinstance(r.get(f"mask_{s.lower()}"), str)]
        masks = load_case_masks(r, images) if needs else {}
        for seq in images:
            mpath = r.get(f"mask_{seq.lower()}")
            if not isinstance(mpath, str):
                mpath = str(out.parent / f"{r['case_id']}_mask_{seq}.nrrd")
                sitk.WriteImage(masks[seq], mpath, True)
            rows.append({"Image": r[IMAGE_COLUMNS[seq]], "Mask": mpath})
            where[r[IMAGE_COLUMNS[seq]]] = (r["case_id"], seq)
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out, index=False)
    return out, where


# ---------------------------------------------------------------------------- P1 / P1b


def bench_p1(manifest: Path, params: dict, repeats: int, quick: bool) -> dict[str, Any]:
    """One case end to end vs bare PyRadiomics (same process), and extract_case(jobs=2)."""
    from modic.compat import install_scipy_shims
    from modic.features import extract_case, shutdown_pools
    from modic.manifest import load_case_images, load_case_masks, read_manifest

    install_scipy_shims()  # bare PyRadiomics needs it too, or it silently skips LBP3D (less work)
    import logging

    from radiomics.featureextractor import RadiomicsFeatureExtractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    row = read_manifest(manifest).iloc[0]
    images = load_case_images(row)
    masks = load_case_masks(row, images)
    segment = None
    seg_error = "modic.segment not available: mask read from file"
    if has_module("modic.segment"):
        from modic.geometry import parse_point_lps
        from modic.segment import segment_lesion

        seed = parse_point_lps(row["seed_lps"])

        def segment():
            return segment_lesion(images, seed).masks

        probe = _probe_segment(manifest)  # in a subprocess: a crash there must not end the benchmark
        if probe:
            seg_error, segment = f"segment_lesion failed on {row['case_id']} ({probe}): not timed", None
    classify, classify_note = _classifier()

    def bare():
        out = {}
        for seq in images:
            res = RadiomicsFeatureExtractor(dict(params)).execute(images[seq], masks[seq])
            out.update({f"{seq}_{k}": float(v) for k, v in res.items() if not k.startswith("diagnostics")})
        return out

    def ours():
        t = {}
        t["load"], (imgs, msk) = timed(lambda: _load(row))
        if segment is not None:
            t["segment"], seg_masks = timed(segment)
        t["extract"], feats = timed(lambda: extract_case(imgs, msk, params=params, case_id=row["case_id"]))
        if classify is not None:
            t["classify"], _ = timed(lambda: classify(imgs, msk, feats))
        return t, feats

    import warnings

    rec: dict[str, list[float]] = {"bare": [], "ours": [], "load": [], "segment": [], "extract": [],
                                   "classify": [], "par": [], "ratio": [], "par_ratio": [],
                                   "extract_ratio": []}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*local_binary_pattern.*")
        bare()  # warm-up: imports, first-call costs
        par_cold, _ = timed(lambda: extract_case(images, masks, params=params, jobs=2))
        for _ in range(repeats):
            tb, ref = timed(bare)
            to, (parts, feats) = timed(ours)
            tp, par = timed(lambda: extract_case(images, masks, params=params, jobs=2))
            rec["bare"].append(tb)
            rec["ours"].append(to)
            rec["par"].append(tp)
            rec["ratio"].append(to / tb)
            rec["extract_ratio"].append(parts["extract"] / tb)
            rec["par_ratio"].append(tp / tb)
            for k, v in parts.items():
                rec[k].append(v)
    shutdown_pools()
    same = {k: v for k, v in feats.values.items() if not k.endswith("MajorLeastAxisRatio")} == ref
    par_same = par.values == feats.values
    n_feat = {s: sum(k.startswith(f"{s}_") for k in ref) for s in images}
    return {"bare": median(rec["bare"]), "ours": median(rec["ours"]),
            "overhead": median(rec["ratio"]) - 1.0, "extract_overhead": median(rec["extract_ratio"]) - 1.0,
            "parts": {k: median(v) for k, v in rec.items()
                                                             if v and k in ("load", "segment", "extract",
                                                                            "classify")},
            "segment_note": "" if segment is not None else seg_error,
            "classify_note": classify_note, "par": median(rec["par"]), "par_ratio": median(rec["par_ratio"]),
            "par_cold": par_cold, "values_equal_bare": same, "par_equal_serial": par_same,
            "features_per_seq": n_feat, "case": row["case_id"],
            "size": {s: images[s].GetSize() for s in images},
            "lesion_voxels": {s: int(sitk.GetArrayViewFromImage(masks[s]).sum()) for s in masks}}


def _probe_segment(manifest: Path) -> str:
    """Run segment_lesion on the first case in a subprocess; '' when it works, else why not."""
    code = ("import sys; from modic.manifest import read_manifest, load_case_images; "
            "from modic.geometry import parse_point_lps; from modic.segment import segment_lesion; "
            "r = read_manifest(sys.argv[1]).iloc[0]; "
            "segment_lesion(load_case_images(r), parse_point_lps(r['seed_lps']))")
    proc = subprocess.run([sys.executable, "-c", code, str(manifest)], env=env(), capture_output=True,
                          text=True, timeout=600)
    if proc.returncode == 0:
        return ""
    last = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-1:] or [""]
    return f"exit code {proc.returncode}{' (crashed)' if proc.returncode < 0 else ''}: {last[0][:160]}"


def _load(row):
    from modic.manifest import load_case_images, load_case_masks

    imgs = load_case_images(row)
    return imgs, load_case_masks(row, imgs)


def _classifier() -> tuple[Callable | None, str]:
    """The rule-based Modic typing from signal (the per-case classification step) if available."""
    if has_module("modic.signal_pattern"):
        mod = importlib.import_module("modic.signal_pattern")
        if hasattr(mod, "type_from_signal"):
            return (lambda imgs, msk, feats: mod.type_from_signal(imgs, msk)), "modic.signal_pattern.type_from_signal"
    return None, "no classifier available yet (modic.signal_pattern / model missing): not timed"


# ---------------------------------------------------------------------------- P2


def bench_p2(manifest: Path, params_path: Path, work: Path, repeats: int) -> dict[str, Any]:
    """Cohort: modic extract with 1 and 2 workers, Dask LocalCluster(2), PyRadiomics CLI --jobs 2."""
    from modic.manifest import read_manifest

    n = len(read_manifest(manifest))
    lst, where = pyradiomics_list(manifest, work / "pyradiomics" / "list.csv")
    variants = {
        "modic 1 worker": lambda out: modic_extract_argv(_ex_args(manifest, params_path, out, ["--jobs", "1"])),
        "modic 2 workers": lambda out: modic_extract_argv(_ex_args(manifest, params_path, out, ["--jobs", "2"])),
        "modic Dask LocalCluster(2)": lambda out: modic_extract_argv(
            _ex_args(manifest, params_path, out, ["--jobs", "2", "--scheduler", "local"])),
        "PyRadiomics CLI --jobs 2": lambda out: _pyradiomics_argv(lst, params_path, out),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    outs: dict[str, Path] = {}
    for r in range(repeats):
        for name, make in variants.items():  # interleaved, so background load hits all variants alike
            d = work / "p2" / f"{name.split()[0]}-{name.split()[1]}-{r}"
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            out = d / "features.csv"
            times[name].append(run(make(out)))
            outs[name] = out
    med = {k: median(v) for k, v in times.items()}
    serial = pd.read_csv(outs["modic 1 worker"], dtype={"case_id": str}).set_index("case_id")
    same_parallel = all(serial.equals(pd.read_csv(outs[k], dtype={"case_id": str}).set_index("case_id"))
                        for k in ("modic 2 workers", "modic Dask LocalCluster(2)"))
    mismatch, compared = compare_pyradiomics(serial, outs["PyRadiomics CLI --jobs 2"], where)
    speedups = [a / b for a, b in zip(times["modic 1 worker"], times["modic 2 workers"], strict=True)]
    vs_pyr = [a / b for a, b in zip(times["modic 2 workers"], times["PyRadiomics CLI --jobs 2"], strict=True)]
    vs_dask = [a / b for a, b in zip(times["modic Dask LocalCluster(2)"], times["modic 2 workers"], strict=True)]
    return {"n": n, "times": med, "all_times": times, "speedup": median(speedups), "vs_pyradiomics": median(vs_pyr),
            "dask_vs_pool": median(vs_dask), "same_parallel": same_parallel, "pyr_mismatch": mismatch,
            "pyr_compared": compared, "per_case_1w": med["modic 1 worker"] / n}


def _ex_args(manifest: Path, params: Path, out: Path, extra: list[str], normalization: str = "none") -> list[str]:
    """`modic extract --manifest` arguments; normalisation off by default so values equal PyRadiomics'."""
    return ["--manifest", str(manifest), "--out", str(out), "--params", str(params), "--no-progress",
            "--normalization", normalization, *extra]


def _pyradiomics_argv(lst: Path, params: Path, out: Path) -> list[str]:
    # The `pyradiomics` console script, run with ModicRadiomics' SciPy shim installed first: on SciPy
    # ≥ 1.17 the plain script silently drops every lbp-3D feature (less work, different columns).
    code = ("import sys; from modic.compat import install_scipy_shims; install_scipy_shims(); "
            "from radiomics.scripts import parse_args; sys.argv[0] = 'pyradiomics'; sys.exit(parse_args())")
    return [sys.executable, "-c", code, str(lst), "--jobs", "2", "--param", str(params), "-o", str(out),
            "-f", "csv", "--verbosity", "1"]


def compare_pyradiomics(ours: pd.DataFrame, pyr_csv: Path, where: dict) -> tuple[int, int]:
    """Count features whose value differs between our table and the PyRadiomics CLI output."""
    pyr = pd.read_csv(pyr_csv)
    mismatch = compared = 0
    for _, r in pyr.iterrows():
        case, seq = where[r["Image"]]
        for key in r.index:
            if key in ("Image", "Mask") or key.startswith("diagnostics"):
                continue
            compared += 1
            col = f"{seq}_{key}"
            if col not in ours.columns or not float(ours.loc[case, col]) == float(r[key]):
                mismatch += 1
    return mismatch, compared


# ---------------------------------------------------------------------------- P3, RSS


def bench_p3(work: Path, params_path: Path, repeats: int, jobs: int) -> dict[str, Any]:
    """`modic stats` on the 154-case default phantom cohort (features extracted once, cached)."""
    if not has_module("modic.phantom") or not (ROOT / "modic" / "commands" / "stats.py").is_file():
        return {"skipped": "modic.phantom or `modic stats` not available yet"}
    manifest, desc = make_cohort(work / "cohort154", 154, quick=False)
    features = work / "p3" / "features.csv"
    t_extract = run(modic_extract_argv(_ex_args(manifest, params_path, features, ["--jobs", str(jobs)],
                                                normalization="zscore-reference")))
    times = []
    for r in range(repeats):
        out = work / "p3" / f"stats-{r}"
        shutil.rmtree(out, ignore_errors=True)
        times.append(run([sys.executable, "-m", "modic.cli", "stats", "--features", str(features),
                          "--manifest", str(manifest), "--out", str(out)]))
    return {"stats": median(times), "all": times, "extract": t_extract, "cohort": desc}


def bench_rss(work: Path, params_path: Path, repeats: int, quick: bool) -> dict[str, Any]:
    """Peak RSS per worker (ru_maxrss in the worker, from the diagnostics table) at 512 × 512 × 20."""
    size = (96, 96, 12) if quick else (512, 512, 20)
    folder = work / f"rss-{size[0]}x{size[1]}x{size[2]}"
    manifest = folder / "manifest.csv"
    if not manifest.is_file():
        rows = [synthetic_case(folder / f"big{i}", f"big{i}", 100 + i, size=size, spacing=(0.6, 0.6, 4.0))
                for i in range(2)]
        pd.DataFrame(rows).to_csv(manifest, index=False)
    peaks, times = [], []
    for r in range(repeats):
        out = folder / f"run{r}" / "features.csv"
        shutil.rmtree(out.parent, ignore_errors=True)
        times.append(run(modic_extract_argv(_ex_args(manifest, params_path, out, ["--jobs", "2"]))))
        diag = pd.read_csv(out.with_name("features.diagnostics.csv"))
        peaks.append(float(diag["peak_rss_mb"].max()))
    return {"size": size, "peak_mb": median(peaks), "all": peaks, "seconds": median(times)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny smoke run (small cases and parameters, 1 repeat)")
    ap.add_argument("--out", type=Path, default=None,
                    help="results file (default benchmarks/results.md; --quick: <work>/results-quick.md)")
    ap.add_argument("--work", type=Path, default=None,
                    help="work folder for cases and outputs (default benchmarks/.work; kept, so cases and "
                         "the 154-case features are reused)")
    ap.add_argument("--repeats", type=int, default=None, help="runs per figure (default 3; --quick 1)")
    ap.add_argument("--cases", type=int, default=None, help="P2 cohort size (default 24; --quick 3)")
    ap.add_argument("--only", nargs="*", choices=["P1", "P2", "P3", "RSS"], default=None)
    args = ap.parse_args(argv)
    args.repeats = args.repeats or (1 if args.quick else 3)
    bench_report.QUICK = args.quick
    n_cases = args.cases or (3 if args.quick else 24)
    work = args.work or (ROOT / "benchmarks" / (".work-quick" if args.quick else ".work"))
    out = args.out or (work / "results-quick.md" if args.quick else ROOT / "benchmarks" / "results.md")
    work.mkdir(parents=True, exist_ok=True)
    only = set(args.only or ["P1", "P2", "P3", "RSS"])
    if args.quick:
        only.discard("P3")

    from modic.features import PAPER_PARAMS_PATH, load_params

    if args.quick:
        params_path = work / "quick_params.yaml"
        params_path.write_text(QUICK_PARAMS)
        params_desc = "quick smoke parameters (Original + LoG σ=1; shape, firstorder, glcm)"
    else:
        params_path = PAPER_PARAMS_PATH
        params_desc = f"the paper's parameter file ({params_path.name}, 1,874 features per sequence)"
    params = load_params(params_path)
    info = machine_info()
    res: dict[str, Any] = {"notes": []}
    saved = work / "results.json"  # figures of earlier runs, kept for the steps not re-run (--only)
    if args.only and saved.is_file():
        with contextlib.suppress(ValueError, OSError):
            old = json.loads(saved.read_text())
            res.update({k: v for k, v in old.items() if k in ("P1", "P2", "P3", "RSS") and k not in only})
    if args.quick:
        manifest, desc = make_cohort(work / f"cohort{n_cases}", n_cases, args.quick)
    else:  # the first n cases of the 154-case default phantom cohort (P3 uses all of it)
        full, desc = make_cohort(work / "cohort154", 154, quick=False)
        manifest = work / f"manifest{n_cases}.csv"
        from modic.manifest import read_manifest

        read_manifest(full).head(n_cases).to_csv(manifest, index=False)
        desc = f"first {n_cases} of {desc}"
    res["cohort_desc"] = desc
    steps = [("P1", lambda: bench_p1(manifest, params, args.repeats, args.quick)),
             ("P2", lambda: bench_p2(manifest, params_path, work, args.repeats)),
             ("RSS", lambda: bench_rss(work, params_path, args.repeats, args.quick)),
             ("P3", lambda: bench_p3(work, params_path, args.repeats, jobs=2))]
    for name, fn in steps:
        if name not in only:
            continue
        t0 = time.perf_counter()
        print(f"[bench] {name} ... (load {loadavg()})", file=sys.stderr, flush=True)
        res[name] = fn()
        print(f"[bench] {name} done in {time.perf_counter() - t0:.0f} s: "
              f"{json.dumps(res[name], default=str)[:400]}", file=sys.stderr, flush=True)
        info["load_end"] = loadavg()
        res[name]["measured"] = f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M} (load {loadavg()})"
        res["notes"] = bench_report.findings(res)
        bench_report.write_results(out, info, res, args, params_desc)
        saved.write_text(json.dumps({k: v for k, v in res.items() if k in ("P1", "P2", "P3", "RSS")},
                                    default=str, indent=1))  # after every step: partial results survive
    print(f"[bench] results: {out}", file=sys.stderr)
    ok = True
    if "P2" in res:
        ok &= res["P2"]["pyr_mismatch"] == 0 and res["P2"]["same_parallel"]
    if "P1" in res:
        ok &= res["P1"]["values_equal_bare"] and res["P1"]["par_equal_serial"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
