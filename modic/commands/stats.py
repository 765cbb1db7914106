"""`modic stats`: Table 1/2, radiomics selection, SVM with honest validation, correlations, report."""

from __future__ import annotations

import sys
import time


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("stats", help="cohort statistics, model training and report",
                              description=__doc__)
    p.add_argument("--features", required=True, help="feature table CSV (case_id + <SEQ>_<feature> columns)")
    p.add_argument("--manifest", required=True, help="manifest CSV (case_id, modic_type, odi, vas, age, ...)")
    p.add_argument("--out", required=True, help="output folder (written atomically)")
    p.add_argument("--sequence", default="T2", help="sequence of the Table 1 shape features (default T2)")
    p.add_argument("--screen", choices=["kw", "mwu"], default="kw",
                   help="screening test: kw = Kruskal–Wallis (default), mwu = pairwise Mann–Whitney U")
    p.add_argument("--lasso", choices=["lassocv", "logistic"], default="lassocv",
                   help="lassocv = LassoCV on type codes (paper), logistic = multinomial L1 logistic")
    p.add_argument("--p-adjust", default="bonferroni", help="Dunn p adjustment (statsmodels name or none)")
    p.add_argument("--correlation", choices=["spearman", "pearson"], default="spearman")
    p.add_argument("--min-group", type=int, default=5, help="min cases of a type with a score (default 5)")
    p.add_argument("--fdr", action="store_true", help="add Benjamini–Hochberg FDR to the correlations")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--corr-cutoff", type=float, default=0.9)
    p.add_argument("--n-alphas", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cv-folds", type=int, default=5)
    p.add_argument("--cv-repeats", type=int, default=2)
    p.add_argument("--test-size", type=float, default=0.3)
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for the 95%% CIs")
    p.add_argument("--jobs", type=int, default=1, help="parallel jobs for the nested CV (default 1)")
    p.add_argument("--synthetic", action="store_true", help="mark the model as trained on synthetic data")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--unit", choices=["patient", "lesion"], default="patient",
                   help="unit of analysis of a --detect table (one row per lesion): patient = each patient's "
                        "largest lesion (default; independent rows), lesion = every lesion, patients as clusters")
    p.set_defaults(func=run)


def run(args) -> int:
    from modic.stats.report import StatsOptions, run_stats

    t0 = time.perf_counter()

    def progress(msg: str) -> None:
        if not args.quiet:
            sys.stderr.write(f"[{time.perf_counter() - t0:6.1f} s] {msg}\n")
            sys.stderr.flush()

    opts = StatsOptions(sequence=args.sequence, screen=args.screen, lasso=args.lasso, p_adjust=args.p_adjust,
                        correlation=args.correlation, min_group=args.min_group, fdr=args.fdr, alpha=args.alpha,
                        corr_cutoff=args.corr_cutoff, n_alphas=args.n_alphas, seed=args.seed,
                        cv_folds=args.cv_folds, cv_repeats=args.cv_repeats, test_size=args.test_size,
                        n_boot=args.n_boot, jobs=args.jobs, synthetic=True if args.synthetic else None)
    from modic.stats.units import to_unit

    unit = to_unit(args.features, args.manifest, args.unit)
    progress(unit.statement)
    res = run_stats(unit.features, unit.manifest, args.out, opts, progress=progress)
    if unit.counts.get("lesions") is not None:
        import json

        from modic.io import write_text

        write_text(res.out_dir / "unit_of_analysis.json", json.dumps(unit.record(), indent=2))
    s = res.summary
    nv = s["validation"]["nested_cv"]["metrics"]
    hv = s["validation"]["holdout"]["metrics"]
    print(f"selected {len(s['selection']['selected'])} features; hold-out accuracy {hv['accuracy']:.3f}, "
          f"nested-CV accuracy {nv['accuracy']:.3f}; report: {res.out_dir / 'report.html'}")
    return 0
