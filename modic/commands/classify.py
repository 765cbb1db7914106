"""`modic classify`: apply a trained model file to a feature table (one or many rows).

Output columns: predicted_type, p_type1..3, and the applicability domain: in_domain (true when the case
lies inside the training data), share_outside (share of the model's features outside the training
1st–99th percentiles), n_outside, mahalanobis (distance in the standardised feature space) and
distance_percentile (where that distance falls among the training cases' own, in %)."""

from __future__ import annotations

import sys

from modic.commands._common import add_overwrite_argument


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("classify", help="predict Modic type from features with a model file",
                              description=__doc__)
    p.add_argument("--features", required=True, help="feature table CSV (case_id + feature columns)")
    p.add_argument("--model", required=True, help="model file (.skops) written by `modic stats`")
    p.add_argument("--out", help="write predictions to this CSV (default: print); an existing file is replaced "
                                 "only if modic wrote it, or with --overwrite")
    add_overwrite_argument(p, kind="file")
    p.set_defaults(func=run)


def run(args) -> int:
    from modic.io import check_output_file, record_files, write_csv
    from modic.model_io import load_model
    from modic.stats.cohort import read_features

    if args.out:
        check_output_file(args.out, args.overwrite, inputs=[args.features, args.model])
    model = load_model(args.model)
    table, _ = read_features(args.features)
    pred = model.predict(table)
    dom = model.assess_domain(table)
    pred = pred.join(dom)
    if model.synthetic:
        sys.stderr.write("note: this model was trained on synthetic (phantom) data — not for clinical use\n")
    if model.domain is None:
        sys.stderr.write("note: this model file has no applicability domain (older modic); in_domain is empty — "
                         "retrain with `modic stats` to get one\n")
    elif (~dom["in_domain"].astype(bool)).any():
        out_ids = list(dom.index[~dom["in_domain"].astype(bool)])
        sys.stderr.write(f"warning: {len(out_ids)} case(s) outside the training data (in_domain false): "
                         f"{', '.join(map(str, out_ids[:10]))}{' …' if len(out_ids) > 10 else ''}\n")
    if args.out:
        write_csv(pred, args.out, float_format="%.6f")
        record_files([args.out], command="classify")
        print(f"{len(pred)} prediction(s) → {args.out}")
    else:
        print(pred.to_csv(float_format="%.4f"), end="")
    return 0
