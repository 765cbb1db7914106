"""P-values of Spearman's rho as R's ``cor.test(method = "spearman")`` computes them.

R (exact = NULL, the default) uses algorithm AS 89 (Best & Roberts 1975) when there are no ties and
n < 1290: the exact permutation distribution of S = Σ d² for n ≤ 9, its Edgeworth series expansion for
larger n; with ties it falls back to the t approximation with n − 2 df (and warns). The two-sided p is
twice the smaller tail, capped at 1. This module reproduces that rule:

* ``p_method = "exact"``      — n ≤ 9, no ties: enumeration of all n! rank permutations;
* ``p_method = "edgeworth"``  — 10 ≤ n < 1290, no ties: AS 89 Edgeworth series (as R);
* ``p_method = "asymptotic"`` — ties or n ≥ 1290: t = r √((n − 2)/(1 − r²)), n − 2 df (as R and scipy).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import permutations

import numpy as np
from scipy import stats

N_EXACT = 9          # R's n_small in prho.c
N_MAX_AS89 = 1290    # R: exact <- n < 1290
# AS 89 Edgeworth coefficients (Best & Roberts 1975)
_C = (0.2274, 0.2531, 0.1745, 0.0758, 0.1033, 0.3932, 0.0879, 0.0151, 0.0072, 0.0831, 0.0131, 4.6e-4)


@lru_cache(maxsize=N_EXACT)
def _null_s(n: int) -> np.ndarray:
    """Sorted S = Σ (i − π(i))² over all n! permutations π (cached; n ≤ 9 → at most 362,880 values)."""
    base = np.arange(n)
    perms = np.array(list(permutations(range(n))), dtype=np.int16)
    return np.sort(((perms - base) ** 2).sum(axis=1).astype(np.int64))


def _tail_exact(n: int, s: float, upper: bool) -> float:
    """P(S ≥ s) (upper) or P(S ≤ s) (lower) under H0, by enumeration."""
    null = _null_s(n)
    if upper:
        k = len(null) - np.searchsorted(null, s - 1e-9, side="left")
    else:
        k = np.searchsorted(null, s + 1e-9, side="right")
    return float(k) / len(null)


def _tail_edgeworth(n: int, s: float, upper: bool) -> float:
    """AS 89 Edgeworth series: P(S ≥ s) (upper) or P(S ≤ s) (lower, via P(S < s + 2): S is even)."""
    c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12 = _C
    is_ = s if upper else s + 2.0
    if is_ <= 0:
        return 1.0 if upper else 0.0
    if is_ > n * (n * n - 1) / 3.0:
        return 0.0 if upper else 1.0
    b = 1.0 / n
    x = (6.0 * (is_ - 1) * b / (n * n - 1.0) - 1.0) * np.sqrt(n - 1.0)
    y = x * x
    u = x * b * (c1 + b * (c2 + c3 * b) + y * (-c4 + b * (c5 + c6 * b) - y * b * (
        c7 + c8 * b - y * (c9 - c10 * b + y * b * (c11 - c12 * y)))))
    y = u / np.exp(y / 2.0)
    pv = (y + stats.norm.sf(x)) if upper else (-y + stats.norm.cdf(x))
    return float(min(max(pv, 0.0), 1.0))


def spearman_test(x: np.ndarray, y: np.ndarray) -> tuple[float, float, str]:
    """(rho, two-sided p, p_method) for complete-case vectors x and y, following R's cor.test."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n = len(x)
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    if n < 3 or np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return float("nan"), float("nan"), "none"
    rho = float(np.clip(np.corrcoef(rx, ry)[0, 1], -1.0, 1.0))
    ties = len(np.unique(x)) < n or len(np.unique(y)) < n
    if ties or n >= N_MAX_AS89:
        return rho, asymptotic_p(rho, n), "asymptotic"
    q = (n ** 3 - n) * (1.0 - rho) / 6.0
    q = round(q)  # S is an (even) integer without ties; R rounds it too
    upper = q > (n ** 3 - n) / 6.0
    if n <= N_EXACT:
        p, method = _tail_exact(n, q, upper), "exact"
    else:
        p, method = _tail_edgeworth(n, q, upper), "edgeworth"
    return rho, float(min(2.0 * p, 1.0)), method


def asymptotic_p(r: float, n: int) -> float:
    """Two-sided p of a correlation from the t distribution with n − 2 df."""
    if r != r or n < 3:
        return float("nan")
    t = r * np.sqrt((n - 2) / max(1.0 - r * r, 1e-300))
    return float(2.0 * stats.t.sf(abs(t), n - 2))
