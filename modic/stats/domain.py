"""Applicability domain of a trained model: does a new case lie inside the training data?

Stored in the model file at training (`fit_domain`, JSON-ready, no individual case values):

* per model feature the training 1st and 99th percentiles — a case's ``share_outside`` is the share of
  the model's features outside that range;
* the Mahalanobis distance in the model's standardised feature space (Ledoit–Wolf shrunk covariance)
  and the distribution of the training cases' own distances, computed out of fold (5-fold: the centre
  and covariance fitted without the case), so a new case is compared with honest distances.

A case is ``in_domain`` when its distance is at most the training cases' 99th percentile and its
``share_outside`` at most the training cases' 99th percentile of that share (never below 0.1).
Both limits are stored, so the rule can be audited; `assess` returns every measure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

VERSION = 1
PERCENTILES = (50, 90, 95, 99, 100)


def _scale(X: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return (X - center) / scale


def _mahalanobis(Z: np.ndarray, mean: np.ndarray, precision: np.ndarray) -> np.ndarray:
    D = Z - mean
    return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", D, precision, D), 0.0))


def _fit_cov(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.covariance import LedoitWolf

    lw = LedoitWolf().fit(Z)
    return lw.location_, lw.precision_


def fit_domain(X: pd.DataFrame, seed: int = 0) -> dict:
    """Domain description of the training features X (rows = cases, columns = model features)."""
    from sklearn.model_selection import KFold

    A = X.to_numpy(float)
    med = np.nanmedian(A, axis=0)
    A = np.where(np.isnan(A), med, A)
    center = A.mean(axis=0)
    scale = A.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    Z = _scale(A, center, scale)
    lo, hi = np.percentile(A, [1, 99], axis=0)
    mean, precision = _fit_cov(Z)
    oof = np.zeros(len(Z))
    k = max(2, min(5, len(Z) // 2))
    for tr, te in KFold(k, shuffle=True, random_state=seed).split(Z):
        m, prec = _fit_cov(Z[tr])
        oof[te] = _mahalanobis(Z[te], m, prec)
    share = ((A < lo) | (A > hi)).mean(axis=1)
    dist_pct = {str(p): float(np.percentile(oof, p)) for p in PERCENTILES}
    return {"version": VERSION, "features": list(map(str, X.columns)), "p01": lo.tolist(), "p99": hi.tolist(),
            "center": center.tolist(), "scale": scale.tolist(), "mean": mean.tolist(),
            "precision": precision.tolist(), "distance_percentiles": dist_pct,
            "distance_limit": dist_pct["99"],
            "share_outside_limit": float(max(0.1, np.percentile(share, 99))),
            "training_distances_sorted": np.sort(oof).round(4).tolist(), "n_training": int(len(Z))}


def assess(domain: dict | None, X: pd.DataFrame) -> pd.DataFrame:
    """Per row: in_domain (bool, or None without a stored domain), share_outside (share of model features
    outside the training 1st–99th percentiles), n_outside, mahalanobis, distance_percentile (share of
    training cases with a smaller out-of-fold distance, in %)."""
    cols = ["in_domain", "share_outside", "n_outside", "mahalanobis", "distance_percentile"]
    if not domain:
        out = pd.DataFrame(index=X.index, columns=cols, dtype=object)
        out[:] = None
        return out
    A = X[domain["features"]].to_numpy(float)
    lo, hi = np.asarray(domain["p01"]), np.asarray(domain["p99"])
    outside = (A < lo) | (A > hi)
    Z = _scale(A, np.asarray(domain["center"]), np.asarray(domain["scale"]))
    d = _mahalanobis(Z, np.asarray(domain["mean"]), np.asarray(domain["precision"]))
    ref = np.asarray(domain["training_distances_sorted"])
    pct = 100.0 * np.searchsorted(ref, d, side="right") / max(1, len(ref))
    share = outside.mean(axis=1)
    inside = (d <= domain["distance_limit"]) & (share <= domain["share_outside_limit"])
    return pd.DataFrame({"in_domain": inside.astype(bool), "share_outside": share,
                         "n_outside": outside.sum(axis=1).astype(int), "mahalanobis": d,
                         "distance_percentile": pct}, index=X.index)


def describe(row: pd.Series | dict, domain: dict | None) -> dict:
    """JSON-ready measures of one case (for `predict_one` and result.json)."""
    if not domain:
        return {"note": "this model file has no applicability domain (trained by an older modic); retrain it "
                        "with `modic stats` to get one"}
    return {"share_outside": float(row["share_outside"]), "n_outside": int(row["n_outside"]),
            "n_features": len(domain["features"]), "mahalanobis": float(row["mahalanobis"]),
            "distance_percentile": float(row["distance_percentile"]),
            "distance_limit": float(domain["distance_limit"]),
            "share_outside_limit": float(domain["share_outside_limit"]),
            "rule": "in the training data when the Mahalanobis distance ≤ the training cases' 99th percentile "
                    "(out of fold) and the share of features outside the training 1st–99th percentiles ≤ "
                    "the training cases' 99th percentile of that share"}
