"""How hard is the phantom cohort for radiomics? A fast proxy of `modic demo` (issue 12 item 18).

Per case: the lesion box (+14 mm) is rendered at full resolution and the whole field of view on a 3×
coarser in-plane grid; the box is normalised like `zscore-image` (μ/σ of the Otsu foreground of the
coarse image, ×100), PyRadiomics runs with a reduced parameter file (original, LoG 1/3 mm, square,
exponential, gradient; see PROXY_PARAMS), then `modic.stats.run_stats` with the statistics presets asked for
(default: the recommended preset, `modic stats`' default). The cohort uses `--signal-model` (default 4, the
cohort `modic demo` uses: model 3's signals read by a reader, whose ROIs the proxy draws the same way; 3 = without
the reader; 1 = generator 1, `modic phantom`'s default; 2 = per-case variability).
About 5× cheaper than `modic demo`; square and exponential images are 1/3 of its features (1/5 in the demo),
so its screen share is not the demo's (benchmarks/phantom_difficulty.md).

    python benchmarks/phantom_difficulty.py --out /tmp/pd --seed 0 [--cases 154] [--shard 0/2] [--signal-model 3]
        [--reader-margin LO,HI] [--spine-scale LO,HI] [--texture-amp LO,HI] [--shape-contrast F]
        [--reader-disagreement BASE,K]
    (exploratory knobs, not in the generator: a reader's ROI = the lesion grown (or shrunk, < 0) by a margin drawn
    per case and sequence from U(LO, HI) mm; SPINE_SCALE for every sequence; the lesion texture amplitude range;
    `--shape-contrast F` moves each type's lesion-shape parameters F times as far from the mean over the types;
    `--reader-disagreement BASE,K`, applied at the merge on the cached features: the label is the reader's call,
    a neighbouring type with probability BASE + K × the lesion's share of the neighbour's signal (mixed lesions;
    the neighbour in the mix, else one drawn), drawn from default_rng([seed, 4242]))
    (shards: run k processes with --shard i/k, then once more with --merge k [--presets recommended,paper])
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

PROXY_PARAMS = {
    "imageType": {"Original": {}, "LoG": {"sigma": [1.0, 3.0]}, "Square": {}, "Exponential": {}, "Gradient": {}},
    "featureClass": {k: None for k in ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")},
    "setting": {"label": 1, "binWidth": 50, "preCrop": True, "interpolator": "sitkBSpline",
                "geometryTolerance": 1e-4, "minimumROIDimensions": 2, "minimumROISize": 2, "normalize": False},
}


def case_features(spec, params, reader_margin: tuple[float, float] | None = None) -> dict[str, float]:
    """Features of one case spec from the box/coarse rendering (see module docstring); with `reader_margin`
    (mm) on a reader's ROI instead of the ground-truth lesion."""
    from modic.features import extract_case
    from modic.normalize import _foreground
    from modic.phantom.spec import GridSpec
    from modic.phantom.synth import _acquire, _render_grid, _to_image, lesion_box
    from modic.phantom.synth import reader_roi_array as reader_roi

    rng = np.random.default_rng([spec.seed, spec.index, 11])
    roi_rng = np.random.default_rng([spec.seed, spec.index, 99])
    images, masks, groups = {}, {}, {}
    for seq, g in spec.grids.items():
        groups.setdefault(id(g), (g, []))[1].append(seq)
    for g, seqs in groups.values():
        lo, hi = lesion_box(spec, g, pad_mm=14.0)
        box = GridSpec(size=tuple(int(b - a) for a, b in zip(lo, hi, strict=True)), spacing=g.spacing,
                       origin=tuple(g.index_to_lps(np.array(lo, float))), direction=g.direction,
                       thickness=g.thickness)
        coarse = GridSpec(size=(g.size[0] // 3, g.size[1] // 3, g.size[2]),
                          spacing=(g.spacing[0] * 3, g.spacing[1] * 3, g.spacing[2]), origin=g.origin,
                          direction=g.direction, thickness=g.thickness)
        sig_box, _, region = _render_grid(spec, box, seqs)
        sig_coarse, _, _ = _render_grid(spec, coarse, seqs)
        for seq in seqs:
            a = _acquire(spec, seq, sig_box[seq], box, rng)
            c = _acquire(spec, seq, sig_coarse[seq], coarse, rng)
            fg = c[_foreground(c)]
            images[seq] = _to_image(((a - fg.mean()) / fg.std(ddof=1) * 100.0).astype(np.float32), box)
            roi = region > 0
            if reader_margin is not None:
                roi = reader_roi(roi, box.spacing, float(roi_rng.uniform(*reader_margin)))
            elif spec.reader_margin_mm:         # signal model 4: the generator's reader
                roi = reader_roi(roi, box.spacing, spec.reader_margin_mm[seq])
            masks[seq] = _to_image(roi.astype(np.uint8), box)
    return extract_case(images, masks, params, case_id=spec.case_id).values


def reader_labels(manifest: pd.DataFrame, specs, base: float, k: float, seed: int) -> pd.DataFrame:
    """The reader's call per case (see `--reader-disagreement`); adds `reader_disagrees` (bool)."""
    rng = np.random.default_rng([seed, 4242])
    by_id = {s.case_id: s for s in specs}
    neighbours = {1: (2,), 2: (1, 3), 3: (2,)}
    out = manifest.copy()
    out["reader_disagrees"] = False
    for i, row in out.iterrows():
        spec = by_id[row["case_id"]]
        share = float(getattr(spec.lesion, "blend", 0.0) or 0.0)
        if rng.uniform() < base + k * share:
            pool = neighbours[spec.modic_type]
            other = spec.lesion.blend_type if share > 0 else pool[int(rng.integers(len(pool)))]
            out.loc[i, ["modic_type", "reader_disagrees"]] = [int(other), True]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cases", type=int, default=None)
    ap.add_argument("--signal-model", type=int, choices=(1, 2, 3, 4), default=4, dest="signal_model")
    ap.add_argument("--shard", default="0/1", help="i/k: this process does cases i, i+k, ...")
    ap.add_argument("--merge", type=int, default=0, help="merge k shards and run the statistics")
    ap.add_argument("--reader-margin", default=None, dest="reader_margin", help="LO,HI mm (see docstring)")
    ap.add_argument("--spine-scale", default=None, dest="spine_scale", help="LO,HI (see docstring)")
    ap.add_argument("--texture-amp", default=None, dest="texture_amp", help="LO,HI (see docstring)")
    ap.add_argument("--shape-contrast", type=float, default=None, dest="shape_contrast", help="F (see docstring)")
    ap.add_argument("--reader-disagreement", default=None, dest="reader_disagreement", help="BASE,K (see docstring)")
    ap.add_argument("--presets", default="recommended", help="statistics presets, comma-separated (recommended,paper)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    def pair(text):
        return None if text is None else tuple(float(v) for v in text.split(","))

    margin = pair(args.reader_margin)
    if args.spine_scale or args.texture_amp:
        import modic.phantom.spec as phantom_spec

        if args.spine_scale:
            phantom_spec.SPINE_SCALE = tuple(pair(args.spine_scale) for _ in phantom_spec.SPINE_SCALE)
        if args.texture_amp:
            phantom_spec.CONTRAST_PARAMS["texture_amp"] = pair(args.texture_amp)
    if args.shape_contrast is not None:
        import modic.phantom.spec as phantom_spec

        table = phantom_spec.SHAPE_PARAMS
        for key in table[1]:
            grand = np.mean([table[t][key][0] for t in table])
            for t in table:
                mean, sd = table[t][key]
                table[t][key] = (grand + args.shape_contrast * (mean - grand), sd)
    if not args.merge:
        from modic.phantom import cohort_specs
        from modic.phantom.synth import clinical_record, make_lesion_mask

        i, k = (int(v) for v in args.shard.split("/"))
        rows, man, t0 = [], [], time.perf_counter()
        for spec in cohort_specs(seed=args.seed, n_cases=args.cases, signal_model=args.signal_model)[i::k]:
            rows.append({"case_id": spec.case_id, **case_features(spec, PROXY_PARAMS, margin)})
            rec = clinical_record(spec, make_lesion_mask(spec, "T2") if spec.scored else None)
            man.append({"case_id": spec.case_id, "modic_type": spec.modic_type, **rec, "true_type": spec.true_type})
        pd.DataFrame(rows).to_csv(out / f"features_{i}.csv", index=False)
        pd.DataFrame(man).to_csv(out / f"manifest_{i}.csv", index=False)
        print(f"shard {args.shard}: {len(rows)} cases in {time.perf_counter() - t0:.0f} s")
        if k > 1:
            return
        args.merge = 1
    for name in ("features", "manifest"):
        pd.concat([pd.read_csv(out / f"{name}_{i}.csv") for i in range(args.merge)]).to_csv(out / f"{name}.csv",
                                                                                             index=False)
    from modic.stats.report import run_stats

    manifest = out / "manifest.csv"
    if args.reader_disagreement:
        from modic.phantom import cohort_specs

        base, k = pair(args.reader_disagreement)
        specs = cohort_specs(seed=args.seed, n_cases=args.cases, signal_model=args.signal_model)
        relabelled = reader_labels(pd.read_csv(manifest), specs, base, k, args.seed)
        print(f"reader disagrees on {int(relabelled['reader_disagrees'].sum())} of {len(relabelled)} cases")
        manifest = out / "manifest_reader.csv"
        relabelled.to_csv(manifest, index=False)
    figures = {}
    for preset in args.presets.split(","):
        s = run_stats(out / "features.csv", manifest, out / f"report_{preset}", seed=args.seed,
                      synthetic=True, preset=preset, overwrite=True).summary
        c, nv = s["selection"]["counts"], s["validation"]["nested_cv"]["metrics"]
        figures[preset] = {"counts": c, "screen_kept": round(c["screened"] / c["non_constant"], 3),
                           "nested_cv_accuracy": nv["accuracy"],
                           "nested_cv_balanced_accuracy": nv["balanced_accuracy"],
                           "table1_significant": s["table1"]["significant"]}
        print(preset, json.dumps(figures[preset]))
    figures["options"] = {k: v for k, v in vars(args).items() if k not in ("out", "shard", "merge")}
    if args.reader_disagreement:
        figures["reader_disagrees"] = int(relabelled["reader_disagrees"].sum())
    (out / "difficulty.json").write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
