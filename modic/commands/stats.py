"""`modic stats`: Table 1/2, radiomics selection, SVM with honest validation, correlations, report."""

from __future__ import annotations

import sys
import time

from modic.commands._common import add_overwrite_argument


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("stats", help="cohort statistics, model training and report",
                              description=__doc__)
    p.add_argument("--features", required=True, help="feature table CSV (case_id + <SEQ>_<feature> columns)")
    p.add_argument("--manifest", required=True, help="manifest CSV (case_id, modic_type, odi, vas, age, ...)")
    p.add_argument("--out", required=True, help="output folder, written atomically: new or empty, or one "
                                                "`modic stats` wrote before (see --overwrite)")
    add_overwrite_argument(p)
    p.add_argument("--sequence", default="T2", help="sequence of the Table 1 shape features (default T2)")
    p.add_argument("--preset", choices=["recommended", "paper"], default="recommended",
                   help="recommended (default): Spearman, Kruskal–Wallis screen, multinomial L1 selection, nested CV, "
                        "BH per correlation family, balanced tuned SVM; paper: Pearson, pairwise Mann–Whitney screen, "
                        "LASSO on type codes, hold-out, raw p, untuned SVM. Each option below overrides its choice")
    p.add_argument("--screen", choices=["kw", "mwu"], default=None,
                   help="screening test: kw = Kruskal–Wallis, mwu = pairwise Mann–Whitney U (default: preset)")
    p.add_argument("--lasso", choices=["logistic", "lassocv"], default=None,
                   help="logistic = multinomial L1 logistic (types as categories); lassocv = LASSO regression on "
                        "the type codes 1/2/3 (paper; assumes ordered types) (default: preset)")
    p.add_argument("--lasso-rule", choices=["min", "1se"], default="min",
                   help="penalty at the CV minimum (default) or the largest within one SE of it (glmnet lambda.1se)")
    p.add_argument("--n-alphas", type=int, default=100, help="length of the LASSO path (default 100, both modes)")
    p.add_argument("--corr-exact", choices=["auto", "yes", "no"], default="auto",
                   help="caret findCorrelation exact = TRUE/FALSE; auto = caret's default (exact below 100 columns)")
    p.add_argument("--p-adjust", default="bonferroni", help="Dunn p adjustment (statsmodels name or none)")
    p.add_argument("--correlation", choices=["spearman", "pearson"], default=None, help="default: preset")
    p.add_argument("--corr-adjust", choices=["fdr_bh", "bonferroni", "holm", "none"], default=None,
                   help="multiple-testing correction per correlation family (score × feature set); default: preset "
                        "(recommended fdr_bh, paper none)")
    p.add_argument("--fdr", action="store_true", help="same as --corr-adjust fdr_bh, plus a p_fdr column")
    p.add_argument("--age-subset", choices=["scored", "all"], default="scored",
                   help="age correlations on the cases with ODI/VAS (default, as the paper) or on every case")
    p.add_argument("--normality-star", choices=["rejected", "normal"], default="rejected",
                   help="Table 1 '*' after mean (SD): Shapiro–Wilk rejected normality (default, the paper's likely "
                        "meaning) or did not")
    p.add_argument("--validation", choices=["nested", "holdout"], default=None,
                   help="headline validation (both are always computed; default: preset)")
    p.add_argument("--class-weight", choices=["balanced", "none"], default=None, help="SVM class weights "
                   "(default: preset)")
    p.add_argument("--tune-svm", choices=["yes", "no"], default=None,
                   help="tune C and gamma in an inner CV (default: preset)")
    p.add_argument("--permutations", type=int, default=0,
                   help="permutation test of the whole pipeline with N label permutations (default 0 = off; each "
                        "permutation repeats the nested CV)")
    p.add_argument("--min-group", type=int, default=5, help="min cases of a type with a score (default 5)")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--corr-cutoff", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cv-folds", type=int, default=5)
    p.add_argument("--cv-repeats", type=int, default=2,
                   help="repeats of the nested CV (default 2, ~1 min on 154 cases; 5+ for a final analysis)")
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

    opts = StatsOptions(preset=args.preset, sequence=args.sequence, screen=args.screen, lasso=args.lasso,
                        lasso_rule=args.lasso_rule, corr_exact=args.corr_exact, p_adjust=args.p_adjust,
                        correlation=args.correlation, corr_adjust=args.corr_adjust, min_group=args.min_group,
                        fdr=args.fdr, age_subset=args.age_subset, normality_star=args.normality_star,
                        validation=args.validation, class_weight=args.class_weight,
                        tune_svm=None if args.tune_svm is None else args.tune_svm == "yes",
                        permutations=args.permutations, alpha=args.alpha, corr_cutoff=args.corr_cutoff,
                        n_alphas=args.n_alphas, seed=args.seed, cv_folds=args.cv_folds, cv_repeats=args.cv_repeats,
                        test_size=args.test_size, n_boot=args.n_boot, jobs=args.jobs,
                        synthetic=True if args.synthetic else None)
    from modic.io import check_output_dir
    from modic.stats.units import to_unit

    check_output_dir(args.out, args.overwrite, inputs=[args.features, args.manifest], command="stats")
    unit = to_unit(args.features, args.manifest, args.unit)
    res = run_stats(unit.features, unit.manifest, args.out, opts, progress=progress, overwrite=args.overwrite,
                    groups=unit.groups)
    progress(unit.statement)  # after the input checks: bad input stays one line on stderr
    if unit.counts.get("lesions") is not None:
        import json

        from modic.io import record_files, write_text

        write_text(res.out_dir / "unit_of_analysis.json", json.dumps(unit.record(), indent=2))
        record_files([res.out_dir / "unit_of_analysis.json"], command="stats")
    s = res.summary
    nv = s["validation"]["nested_cv"]["metrics"]
    hv = s["validation"]["holdout"]["metrics"]
    perm = "" if s["permutation_p"] is None else f", permutation p {s['permutation_p']:.3g}"
    print(f"preset {s['preset']}: selected {len(s['selection']['selected'])} features; hold-out accuracy "
          f"{hv['accuracy']:.3f}, nested-CV accuracy {nv['accuracy']:.3f} (balanced {nv['balanced_accuracy']:.3f}; "
          f"majority-class rate {s['majority_rate']:.3f}{perm}); report: {res.out_dir / 'report.html'}")
    return 0
