"""Multinomial L1-penalised logistic regression along a regularisation path, with K-fold CV.

Objective (per λ): mean over cases of −log p(y | x) + λ Σ_jk |W_jk| (intercepts unpenalised), the
ungrouped multinomial lasso of glmnet (``family = "multinomial"``). Solved by FISTA (accelerated
proximal gradient with adaptive restart) with warm starts from λ_max — the smallest λ with all
coefficients zero — down to ``min_ratio`` · λ_max (glmnet's ``lambda.min.ratio`` for n < p, 0.01).

The selection uses glmnet itself (python-glmnet) when it is installed; this pure-NumPy solver is the
fallback where no python-glmnet wheel exists. scikit-learn's `LogisticRegressionCV(solver="saga")`
solves the same problem (λ = 1 / (C n)) but takes minutes per fit on a few hundred standardised
radiomics features, too slow for every outer fold of a nested CV. This solver gives scikit-learn's and
glmnet's coefficients to solver tolerance on well-conditioned problems (tested); near the unpenalised
end of a p ≫ n path it converges slowly, so glmnet is preferred.
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


def _gradient(X: np.ndarray, Y: np.ndarray, W: np.ndarray, b: np.ndarray, Mw: np.ndarray):
    """Gradients of the B mean log losses: (B × p × K, B × K); X is n × p, W is B × p × K."""
    n, p = X.shape
    B, _, K = W.shape
    eta = (X @ W.transpose(1, 0, 2).reshape(p, B * K)).reshape(n, B, K).transpose(1, 0, 2)
    R = (_softmax_b(eta + b[:, None, :]) - Y[None]) * Mw
    grad = (X.T @ R.transpose(1, 0, 2).reshape(n, B * K)).reshape(p, B, K).transpose(1, 0, 2)
    return grad, R.sum(axis=1)


def _fista(X, Y, W, b, lam, step, Mw, tol, max_iter):
    """FISTA with adaptive restart (O'Donoghue & Candès 2015) on the columns of X; returns W, b, converged."""
    B = W.shape[0]
    Wz, bz, t = W.copy(), b.copy(), np.ones(B)
    done = np.zeros(B, dtype=bool)
    for _ in range(max_iter):
        gW, gb = _gradient(X, Y, Wz, bz, Mw)
        Wn = Wz - step * gW
        Wn = np.sign(Wn) * np.maximum(np.abs(Wn) - step * lam, 0.0)
        bn = bz - step[:, :, 0] * gb
        dW, db = Wn - W, bn - b
        delta = np.maximum(np.abs(dW).max(axis=(1, 2), initial=0.0), np.abs(db).max(axis=1))
        restart = ((Wz - Wn) * dW).sum(axis=(1, 2)) + ((bz - bn) * db).sum(axis=1) > 0  # momentum uphill
        t = np.where(restart, 1.0, t)
        tn = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
        mom = (t - 1.0) / tn
        Wz = Wn + mom[:, None, None] * dW
        bz = bn + mom[:, None] * db
        W, b, t = Wn, bn, tn
        done = delta < tol * np.maximum(1.0, np.abs(W).max(axis=(1, 2), initial=0.0))
        if done.all():
            break
    return W, b, done


def _train_loss(X, Y, W, b, M) -> np.ndarray:
    """Mean training log loss of each of the B problems."""
    n, p = X.shape
    B, _, K = W.shape
    eta = (X @ W.transpose(1, 0, 2).reshape(p, B * K)).reshape(n, B, K).transpose(1, 0, 2) + b[:, None, :]
    P = _softmax_b(eta)
    ll = -np.log(np.clip((P * Y[None]).sum(axis=2), 1e-15, None))
    return (ll * M).sum(axis=1) / M.sum(axis=1)


DEV_MAX = 0.999   # glmnet: stop the path when the deviance explained reaches this (saturated fit)
DEV_CHANGE = 1e-5  # glmnet: ... or when it changes by less than this between successive λ


def fit_path(X: np.ndarray, Y: np.ndarray, lambdas: np.ndarray, tol: float = 1e-4, max_iter: int = 200,
             masks: np.ndarray | None = None, stop=None) -> tuple[np.ndarray, np.ndarray, int]:
    """Solve B problems at once along the λ path (warm-started): problem b uses the rows where masks[b].

    Returns coefficients (L × B × p × K), intercepts (L × B × K) and the number of (λ, problem) fits that
    hit `max_iter` before the tolerance. Batching the cross-validation folds and the full-data fit into
    one computation shares the Python overhead of every iteration. At each λ only a working set of
    features is iterated on: the active ones plus those passing the sequential strong rule (Tibshirani
    et al. 2012); the KKT conditions are then checked on all features and violators added until none.
    As glmnet, the path stops early once every problem's training deviance explained reaches `DEV_MAX`
    or changes by less than `DEV_CHANGE`: the remaining λ keep the last solution (their CV loss is then
    that of the saturated fit). `stop(li, W, b) -> bool`, called after each λ, may end the path too;
    the arrays returned then cover only the λ computed.
    """
    n, p = X.shape
    K = Y.shape[1]
    M = np.ones((1, n), dtype=bool) if masks is None else np.asarray(masks, dtype=bool)
    B = M.shape[0]
    nb = M.sum(axis=1).astype(float)  # rows per problem
    Mw = (M / nb[:, None])[:, :, None]  # B × n × 1 weights of the mean loss
    W = np.zeros((B, p, K))
    freq = np.stack([np.clip(Y[m].mean(axis=0), 1e-12, None) for m in M])
    b = np.log(freq)
    b -= b.mean(axis=1, keepdims=True)
    coefs = np.zeros((len(lambdas), B, p, K))
    intercepts = np.zeros((len(lambdas), B, K))
    not_converged = 0
    grad, _ = _gradient(X, Y, W, b, Mw)
    prev = float(lambdas[0])
    null_loss = _train_loss(X, Y, W, b, M)
    last_ratio = np.zeros(B)
    stopped = False
    for li, lam in enumerate(lambdas):
        if stopped:
            coefs[li] = W
            intercepts[li] = b
            continue
        score = np.abs(grad).max(axis=(0, 2))
        work = (score >= 2 * lam - prev) | (np.abs(W).max(axis=(0, 2)) > 0)
        while True:
            idx = np.flatnonzero(work)
            if len(idx):
                Xs = X[:, idx]
                # Lipschitz bound of every problem's gradient on the working columns (rows ⊆ all rows)
                step = (nb / (0.5 * (np.linalg.norm(Xs, 2) ** 2 + n)))[:, None, None]
                Ws, b, done = _fista(Xs, Y, W[:, idx], b, lam, step, Mw, tol, max_iter)
                W[:, idx] = Ws
            else:
                done = np.ones(B, dtype=bool)
            grad, _ = _gradient(X, Y, W, b, Mw)
            viol = ~work & (np.abs(grad).max(axis=(0, 2)) > lam * (1 + 1e-6))
            if not viol.any():
                break
            work |= viol
        not_converged += int((~done).sum())
        coefs[li] = W
        intercepts[li] = b
        prev = float(lam)
        ratio = 1.0 - _train_loss(X, Y, W, b, M) / np.maximum(null_loss, 1e-300)
        stopped = bool(li > 0 and np.all((ratio >= DEV_MAX) | (np.abs(ratio - last_ratio) < DEV_CHANGE * ratio)))
        last_ratio = ratio
        if stop is not None and stop(li, W, b):
            return coefs[: li + 1], intercepts[: li + 1], not_converged
    return coefs, intercepts, not_converged


def _softmax_b(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=-1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=-1, keepdims=True)


def log_loss(X: np.ndarray, Y: np.ndarray, W: np.ndarray, b: np.ndarray) -> float:
    P = _softmax(X @ W + b)
    return float(-np.mean(np.log(np.clip((P * Y).sum(axis=1), 1e-15, None))))


def cv_path(X: np.ndarray, y: np.ndarray, n_lambdas: int = 100, cv: int = 5, random_state: int | None = 0,
            min_ratio: float = 0.01, tol: float = 1e-4, max_iter: int = 200, patience: int | None = 10,
            groups=None) -> dict:
    """K-fold stratified CV log loss along the λ path of the full data, and the full-data path itself.

    With `groups` (patient of each row) the folds are stratified group folds: a patient's rows in one fold.

    The folds and the full-data fit are solved together. With `patience`, the path stops once the mean
    CV log loss has not improved for `patience` successive λ (the weaker penalties beyond only overfit
    more; this saves the slowest, nearly unpenalised fits). Returns lambdas (decreasing, as computed),
    classes, cv_mean, cv_se (folds SD / √K), best (index of the minimum), coefs (L × p × K) and
    intercepts (L × K) of the full-data fit, n_lambdas_planned and how many fits did not converge.
    """
    from modic.stats.folds import cv_splits, n_folds

    X = np.asarray(X, float)
    y = np.asarray(y)
    classes = np.unique(y)
    Y = _onehot(y, classes)
    lambdas = lambda_path(X, Y, n_lambdas, min_ratio)
    folds = cv_splits(y, groups, n_folds(y, groups, cv), random_state)
    masks = np.zeros((len(folds) + 1, len(y)), dtype=bool)
    for f, (tr, _) in enumerate(folds):
        masks[f, tr] = True
    masks[-1] = True  # the full-data fit rides along
    losses: list[list[float]] = []

    def stop(li, W, b) -> bool:
        losses.append([log_loss(X[te], Y[te], W[f], b[f]) for f, (_, te) in enumerate(folds)])
        mean = np.mean(losses, axis=1)
        return patience is not None and li - int(np.argmin(mean)) >= patience

    W, B, nc = fit_path(X, Y, lambdas, tol, max_iter, masks, stop=stop)
    losses = np.asarray(losses).T  # folds × λ
    mean = losses.mean(axis=0)
    se = losses.std(axis=0, ddof=1) / np.sqrt(losses.shape[0])
    return {"lambdas": lambdas[: len(mean)], "classes": classes, "cv_mean": mean, "cv_se": se,
            "best": int(np.argmin(mean)), "coefs": W[:, -1], "intercepts": B[:, -1], "not_converged": nc,
            "n_lambdas_planned": len(lambdas)}
