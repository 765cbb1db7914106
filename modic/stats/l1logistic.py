"""Multinomial L1-penalised logistic regression along a regularisation path, with K-fold CV.

Objective (per λ): mean over cases of −log p(y | x) + λ Σ_jk |W_jk| (intercepts unpenalised), the
ungrouped multinomial lasso of glmnet (``family = "multinomial"``). Solved by FISTA (accelerated
proximal gradient with adaptive restart) with warm starts from λ_max — the smallest λ with all
coefficients zero — down to ``min_ratio`` · λ_max (glmnet's ``lambda.min.ratio`` for n < p, 0.01).

scikit-learn's `LogisticRegressionCV(solver="saga")` solves the same problem (λ = 1 / (C n)) but takes
minutes per fit on a few hundred standardised radiomics features, far too slow to repeat inside every
outer fold of a nested cross-validation; this solver takes a fraction of a second and gives the same
coefficients to solver tolerance (tested against scikit-learn).
"""

from __future__ import annotations

import numpy as np


def _softmax(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def _onehot(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    return (np.asarray(y)[:, None] == classes[None, :]).astype(float)


def lambda_max(X: np.ndarray, Y: np.ndarray) -> float:
    """Smallest λ at which every coefficient is zero (intercepts at the class log-frequencies)."""
    n = X.shape[0]
    return float(np.abs(X.T @ (Y - Y.mean(axis=0)) / n).max())


def lambda_path(X: np.ndarray, Y: np.ndarray, n_lambdas: int = 100, min_ratio: float = 0.01) -> np.ndarray:
    """Log-spaced λ from λ_max down to min_ratio · λ_max (decreasing)."""
    lm = max(lambda_max(X, Y), 1e-12)
    return lm * np.logspace(0, np.log10(min_ratio), max(2, n_lambdas))


def fit_path(X: np.ndarray, Y: np.ndarray, lambdas: np.ndarray, tol: float = 1e-4, max_iter: int = 200,
             masks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Solve B problems at once along the λ path (warm-started): problem b uses the rows where masks[b].

    Returns coefficients (L × B × p × K), intercepts (L × B × K) and the number of (λ, problem) fits that
    hit `max_iter` before the tolerance. Batching the cross-validation folds and the full-data fit into
    one computation shares the Python overhead of every iteration.
    """
    n, p = X.shape
    K = Y.shape[1]
    M = np.ones((1, n), dtype=bool) if masks is None else np.asarray(masks, dtype=bool)
    B = M.shape[0]
    nb = M.sum(axis=1).astype(float)  # rows per problem
    Mw = (M / nb[:, None])[:, :, None]  # B × n × 1 weights of the mean loss
    norms = np.array([np.linalg.norm(X[m], 2) ** 2 for m in M])
    step = (1.0 / (0.5 * (norms + nb) / nb))[:, None, None]  # B × 1 × 1, 1 / Lipschitz bound
    W = np.zeros((B, p, K))
    freq = np.stack([np.clip(Y[m].mean(axis=0), 1e-12, None) for m in M])
    b = np.log(freq)
    b -= b.mean(axis=1, keepdims=True)
    coefs = np.zeros((len(lambdas), B, p, K))
    intercepts = np.zeros((len(lambdas), B, K))
    not_converged = 0
    for li, lam in enumerate(lambdas):
        Wz, bz, t = W.copy(), b.copy(), np.ones(B)
        done = np.zeros(B, dtype=bool)
        for _ in range(max_iter):
            eta = (X @ Wz.transpose(1, 0, 2).reshape(p, B * K)).reshape(n, B, K).transpose(1, 0, 2)
            R = (_softmax_b(eta + bz[:, None, :]) - Y[None]) * Mw
            grad = (X.T @ R.transpose(1, 0, 2).reshape(n, B * K)).reshape(p, B, K).transpose(1, 0, 2)
            Wn = Wz - step * grad
            Wn = np.sign(Wn) * np.maximum(np.abs(Wn) - step * lam, 0.0)
            bn = bz - step[:, :, 0] * R.sum(axis=1)
            dW, db = Wn - W, bn - b
            delta = np.maximum(np.abs(dW).max(axis=(1, 2)), np.abs(db).max(axis=1))
            # adaptive restart (O'Donoghue & Candès 2015): momentum only while it points downhill
            restart = ((Wz - Wn) * dW).sum(axis=(1, 2)) + ((bz - bn) * db).sum(axis=1) > 0
            t = np.where(restart, 1.0, t)
            tn = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
            mom = ((t - 1.0) / tn)
            Wz = Wn + mom[:, None, None] * dW
            bz = bn + mom[:, None] * db
            W, b, t = Wn, bn, tn
            done = delta < tol * np.maximum(1.0, np.abs(W).max(axis=(1, 2)))
            if done.all():
                break
        not_converged += int((~done).sum())
        coefs[li] = W
        intercepts[li] = b
    return coefs, intercepts, not_converged


def _softmax_b(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=-1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=-1, keepdims=True)


def log_loss(X: np.ndarray, Y: np.ndarray, W: np.ndarray, b: np.ndarray) -> float:
    P = _softmax(X @ W + b)
    return float(-np.mean(np.log(np.clip((P * Y).sum(axis=1), 1e-15, None))))


def cv_path(X: np.ndarray, y: np.ndarray, n_lambdas: int = 100, cv: int = 5, random_state: int | None = 0,
            min_ratio: float = 0.01, tol: float = 1e-4, max_iter: int = 200) -> dict:
    """K-fold stratified CV log loss along the λ path of the full data, and the full-data path itself.

    Returns lambdas (decreasing), classes, cv_mean, cv_se (folds SD / √K), best (index of the minimum),
    coefs (L × p × K) and intercepts (L × K) of the full-data fit, and how many fits did not converge.
    """
    from sklearn.model_selection import StratifiedKFold

    X = np.asarray(X, float)
    y = np.asarray(y)
    classes = np.unique(y)
    Y = _onehot(y, classes)
    lambdas = lambda_path(X, Y, n_lambdas, min_ratio)
    n_min = int(Y.sum(axis=0).min())
    folds = list(StratifiedKFold(max(2, min(cv, n_min)), shuffle=True, random_state=random_state).split(X, y))
    masks = np.zeros((len(folds) + 1, len(y)), dtype=bool)
    for f, (tr, _) in enumerate(folds):
        masks[f, tr] = True
    masks[-1] = True  # the full-data fit rides along
    W, B, nc = fit_path(X, Y, lambdas, tol, max_iter, masks)
    losses = np.array([[log_loss(X[te], Y[te], W[li, f], B[li, f]) for li in range(len(lambdas))]
                       for f, (_, te) in enumerate(folds)])
    mean = losses.mean(axis=0)
    se = losses.std(axis=0, ddof=1) / np.sqrt(losses.shape[0])
    return {"lambdas": lambdas, "classes": classes, "cv_mean": mean, "cv_se": se, "best": int(np.argmin(mean)),
            "coefs": W[:, -1], "intercepts": B[:, -1], "not_converged": nc}
