"""Radiomics feature selection as in the paper, one inspectable scikit-learn step per stage.

1. `ZScore` — centre and scale every feature (mean 0, SD 1); missing values get the training median.
2. `UnivariateScreen` — keep features that differ between Modic types, p < alpha:
   * ``test="kw"`` (default): Kruskal–Wallis across the three types;
   * ``test="mwu"``: pairwise Mann–Whitney U (1–2, 1–3, 2–3); a feature is kept if any pair has p < alpha
     (the paper says "Mann–Whitney", which with three groups can only mean pairs; no multiplicity
     correction, as in the paper).
3. `CorrelationFilter` — for pairs with |r| > 0.9 drop one feature exactly as caret's ``findCorrelation``:
   ``exact=True`` (`find_correlation`: recomputes means after each removal and compares the row mean of i
   with the mean of the remaining matrix without row j) or ``exact=False`` (`find_correlation_fast`:
   one pass comparing the ranks of the two columns' mean absolute correlations); ``exact="auto"`` is
   caret's default, exact for fewer than 100 columns.
4. `LassoSelector` — ``mode="logistic"`` (default): multinomial L1 logistic regression
   (`LogisticRegressionCV`, ``l1_ratios=(1.0,)``), which treats the Modic types as categories;
   ``mode="lassocv"`` (the paper's, a replication option): `LassoCV` regression on the type codes 1/2/3,
   which assumes ordered types and drops a feature where type II differs from both I and III. Both use
   the same path length (`n_alphas`, default 100) and either the CV minimum (``rule="min"``) or the
   largest penalty within one standard error of it (``rule="1se"``, glmnet's lambda.1se). Features with
   |coef| > 1e-6 are kept.

`RadiomicsSelector` chains the four; its `transform` returns the *raw* selected columns (the classifier
has its own scaler). Every step has `get_support()` and a `results_` DataFrame.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from modic.stats.cohort import image_type, sequence_of
from modic.stats.posthoc import kruskal_wallis, pairwise_mann_whitney

SCREEN_TESTS = ("kw", "mwu")
LASSO_MODES = ("logistic", "lassocv")
LASSO_RULES = ("min", "1se")
CORR_EXACT = ("auto", "yes", "no")


def _names(est) -> np.ndarray:
    names = getattr(est, "feature_names_in_", None)
    if names is None:
        names = np.array([f"x{i}" for i in range(est.n_features_in_)], dtype=object)
    return np.asarray(names, dtype=object)


class _NanTags:
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class ZScore(_NanTags, TransformerMixin, BaseEstimator):
    """Standardise each feature to mean 0 / SD 1 (population SD); NaN → training median first."""

    def fit(self, X, y=None):
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.fill_ = np.nan_to_num(np.nanmedian(X, axis=0))
            Xf = np.where(np.isnan(X), self.fill_, X)
        self.mean_ = Xf.mean(axis=0)
        sd = Xf.std(axis=0)
        self.constant_ = sd <= 1e-12 * np.maximum(1.0, np.abs(self.mean_))
        self.scale_ = np.where(self.constant_, 1.0, sd)
        return self

    def transform(self, X):
        check_is_fitted(self, "mean_")
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=float, reset=False)
        X = np.where(np.isnan(X), self.fill_, X)
        return (X - self.mean_) / self.scale_

    def get_support(self, indices: bool = False):
        mask = np.ones(self.n_features_in_, dtype=bool)
        return np.flatnonzero(mask) if indices else mask

    def get_feature_names_out(self, input_features=None):
        return _names(self)


class UnivariateScreen(_NanTags, SelectorMixin, BaseEstimator):
    """Keep features whose rank test across Modic types has p < alpha (`test` = "kw" or "mwu")."""

    def __init__(self, test: str = "kw", alpha: float = 0.05, min_features: int = 1):
        self.test = test
        self.alpha = alpha
        self.min_features = min_features

    def fit(self, X, y):
        if self.test not in SCREEN_TESTS:
            raise ValueError(f"unknown screening test {self.test!r}; use one of {SCREEN_TESTS}")
        X, y = validate_data(self, X, y, dtype=float)
        y = np.asarray(y)
        if self.test == "kw":
            self.statistic_, self.pvalues_ = kruskal_wallis(X, y)
            self.pair_pvalues_ = None
        else:
            pw = pairwise_mann_whitney(X, y)
            self.pair_pvalues_ = pw
            self.pvalues_ = pw.min(axis=1).to_numpy()
            self.statistic_ = None
        self.support_ = self.pvalues_ < self.alpha
        self.fallback_ = False
        if self.support_.sum() < self.min_features:
            self.support_ = np.zeros_like(self.support_)
            self.support_[np.argsort(self.pvalues_, kind="stable")[: self.min_features]] = True
            self.fallback_ = True
        names = _names(self)
        res = pd.DataFrame({"feature": names, "sequence": [sequence_of(n) for n in names],
                            "image_type": [image_type(n) for n in names], "p": self.pvalues_,
                            "neg_log10_p": -np.log10(np.maximum(self.pvalues_, 1e-300)),
                            "kept": self.support_})
        if self.pair_pvalues_ is not None:
            for c in self.pair_pvalues_.columns:
                res[c] = self.pair_pvalues_[c].to_numpy()
        self.results_ = res
        return self

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_


def find_correlation(corr: np.ndarray, cutoff: float = 0.9) -> np.ndarray:
    """Indices of columns to drop, exactly as caret's ``findCorrelation(x, cutoff, exact = TRUE)``.

    Columns are visited in decreasing order of their mean absolute correlation with the others (stable
    for ties). For each pair (i, j), i before j, both still kept and |r| > cutoff, caret compares
    ``mn1 = mean(x2[i, ])`` with ``mn2 = mean(x2[-j, ])`` — the mean of the whole remaining matrix without
    row j, a quirk of caret kept here on purpose — and drops i if mn1 > mn2, else j. Dropped columns are
    removed (set to NA) from x2. Returns indices in caret's order (sorted by the visiting order).
    """
    x = np.abs(np.asarray(corr, dtype=float))
    p = x.shape[0]
    if p < 2:
        return np.array([], dtype=int)
    x = np.nan_to_num(x, nan=0.0)
    off = x.copy()
    np.fill_diagonal(off, np.nan)
    mean_abs = np.nanmean(off, axis=0)
    order = np.argsort(-mean_abs, kind="stable")
    x = x[np.ix_(order, order)]
    x2 = x.copy()
    np.fill_diagonal(x2, 0.0)
    valid = np.ones((p, p), dtype=bool)
    np.fill_diagonal(valid, False)
    row_sum = x2.sum(axis=1)
    row_cnt = valid.sum(axis=1).astype(float)
    tot_sum, tot_cnt = row_sum.sum(), row_cnt.sum()
    deleted = np.zeros(p, dtype=bool)

    def drop(k: int) -> None:
        nonlocal tot_sum, tot_cnt
        col = np.where(valid[:, k], x2[:, k], 0.0)
        cnt = valid[:, k].astype(float)
        # remove column k from every row, then row k itself
        row_sum[:] -= col
        row_cnt[:] -= cnt
        tot_sum -= col.sum() + row_sum[k]
        tot_cnt -= cnt.sum() + row_cnt[k]
        row_sum[k] = 0.0
        row_cnt[k] = 0.0
        valid[:, k] = False
        valid[k, :] = False
        deleted[k] = True

    for i in range(p - 1):
        if deleted[i]:
            continue
        cand = np.flatnonzero(x[i, i + 1:] > cutoff) + i + 1
        for j in cand:
            if deleted[i]:
                break
            if deleted[j]:
                continue
            mn1 = row_sum[i] / row_cnt[i] if row_cnt[i] else np.nan
            rest = tot_cnt - row_cnt[j]
            mn2 = (tot_sum - row_sum[j]) / rest if rest else np.nan
            drop(i if mn1 > mn2 else j)
    return order[np.flatnonzero(deleted)]


def find_correlation_fast(corr: np.ndarray, cutoff: float = 0.9) -> np.ndarray:
    """Indices of columns to drop, as caret's ``findCorrelation(x, cutoff, exact = FALSE)``.

    The mean absolute correlation of each column (diagonal included) is replaced by its rank among the
    distinct means (``as.numeric(as.factor(.))``); for every pair (row i < column j, column-major order)
    with |r| > cutoff, column j is flagged if its rank is higher, else row i. Returns the unique flagged
    indices in caret's order (flagged columns first, then flagged rows).
    """
    x = np.abs(np.asarray(corr, dtype=float))
    p = x.shape[0]
    if p < 2:
        return np.array([], dtype=int)
    x = np.nan_to_num(x, nan=0.0)
    _, level = np.unique(x.mean(axis=0), return_inverse=True)
    iu = np.triu(x > cutoff, k=1)
    cols, rows = np.nonzero(iu.T)  # column-major order, as R's which()
    drop_col = level[cols] > level[rows]
    flagged = np.concatenate([cols[drop_col], rows[~drop_col]])
    _, first = np.unique(flagged, return_index=True)
    return flagged[np.sort(first)].astype(int)


class CorrelationFilter(_NanTags, SelectorMixin, BaseEstimator):
    """Drop one of each pair with |r| > cutoff (caret findCorrelation); `method` pearson/spearman.

    exact: "auto" (caret's default: exact below 100 columns), "yes" or "no"; `exact_used_` records it.
    """

    def __init__(self, cutoff: float = 0.9, method: str = "pearson", exact: str = "auto"):
        self.cutoff = cutoff
        self.method = method
        self.exact = exact

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=float)
        if X.shape[1] < 2:
            self.support_ = np.ones(X.shape[1], dtype=bool)
            self.mean_abs_corr_ = np.zeros(X.shape[1])
            self.drop_order_ = np.array([], dtype=int)
            self.exact_used_ = True
        else:
            Z = X
            if self.method == "spearman":
                from scipy.stats import rankdata

                Z = rankdata(X, axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                c = np.corrcoef(Z, rowvar=False)
            c = np.nan_to_num(c, nan=0.0)
            np.fill_diagonal(c, 1.0)
            a = np.abs(c)
            self.mean_abs_corr_ = (a.sum(axis=0) - 1.0) / (a.shape[0] - 1)
            self.exact_used_ = self.exact == "yes" or (self.exact == "auto" and X.shape[1] < 100)
            find = find_correlation if self.exact_used_ else find_correlation_fast
            self.drop_order_ = find(c, self.cutoff)
            self.support_ = np.ones(X.shape[1], dtype=bool)
            self.support_[self.drop_order_] = False
            np.fill_diagonal(a, 0.0)
            self._partner = a.argmax(axis=0)
            self._max = a.max(axis=0)
        names = _names(self)
        partner = getattr(self, "_partner", np.zeros(len(names), dtype=int))
        self.results_ = pd.DataFrame({"feature": names, "mean_abs_corr": self.mean_abs_corr_,
                                      "max_abs_corr": getattr(self, "_max", np.zeros(len(names))),
                                      "most_correlated_with": names[partner] if len(names) else [],
                                      "kept": self.support_})
        return self

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_


def one_se_index(mean: np.ndarray, se: np.ndarray, lower_is_better: bool = True) -> int:
    """Index of the strongest penalty whose CV score is within one SE of the best (glmnet's lambda.1se).

    Entries are ordered from the strongest penalty (index 0) to the weakest.
    """
    m = np.asarray(mean, float) if lower_is_better else -np.asarray(mean, float)
    best = int(np.nanargmin(m))
    ok = np.flatnonzero(m <= m[best] + np.nan_to_num(se[best]))
    return int(ok.min()) if len(ok) else best


# iterations per λ of the fallback solver: 200 left 56 of ~500 fits unconverged on a 154 × 1,746 p ≫ n problem
# (support 79 % like glmnet's); 1,000 converged all (benchmarks/stats_timing.md)
FISTA_MAX_ITER = 1000

class LassoSelector(_NanTags, SelectorMixin, BaseEstimator):
    """Keep features with |coef| > threshold in an L1 model with CV-chosen strength.

    mode="logistic" (default): multinomial L1 logistic regression (glmnet's ungrouped multinomial lasso,
    python-glmnet's `LogitNet`; `modic.stats.l1logistic` if that is not installed — `solver_` says which)
    over `n_alphas` values of λ from λ_max down 100-fold (glmnet stops early when the fit saturates),
    stratified CV log loss;
    mode="lassocv": `LassoCV` on the type codes (the paper's; assumes ordered types). rule="min" takes
    the CV optimum, rule="1se" the strongest penalty within one SE of it, refitted on all rows. `alpha_` is
    the chosen penalty (λ for the logistic mode), `alpha_min_` the CV optimum.
    """

    def __init__(self, mode: str = "logistic", cv: int = 5, n_alphas: int = 100, threshold: float = 1e-6,
                 random_state: int | None = 0, max_iter: int | None = None, rule: str = "min", tol: float = 1e-4):
        self.tol = tol
        self.mode = mode
        self.cv = cv
        self.n_alphas = n_alphas
        self.threshold = threshold
        self.random_state = random_state
        self.max_iter = max_iter
        self.rule = rule

    def _lassocv(self, X, y, groups=None):
        from sklearn.linear_model import Lasso, LassoCV
        from sklearn.model_selection import GroupKFold, KFold

        if groups is None:
            cv = KFold(self.cv, shuffle=True, random_state=self.random_state)
        else:  # a patient's rows stay in one fold
            cv = list(GroupKFold(min(self.cv, len(set(groups)))).split(X, y, groups))
        max_iter = self.max_iter or 5000
        m = LassoCV(alphas=self.n_alphas, cv=cv, max_iter=max_iter, n_jobs=None,
                    random_state=self.random_state).fit(X, y.astype(float))
        self.alphas_ = m.alphas_  # decreasing: strongest penalty first
        self.path_length_ = len(m.alphas_)
        mse = m.mse_path_
        self.cv_scores_ = mse.mean(axis=1)
        self.cv_se_ = mse.std(axis=1, ddof=1) / np.sqrt(mse.shape[1])
        self.cv_score_name_ = "mean squared error"
        self.alpha_min_ = float(m.alpha_)
        if self.rule == "1se":
            k = one_se_index(self.cv_scores_, self.cv_se_)
            self.alpha_ = float(self.alphas_[k])
            m = Lasso(alpha=self.alpha_, max_iter=max_iter, random_state=self.random_state).fit(X, y)
        else:
            self.alpha_ = self.alpha_min_
        self.coef_ = m.coef_
        return m, np.abs(m.coef_)

    def _logistic(self, X, y, n_min, groups=None):
        try:
            from glmnet import LogitNet
        except ImportError:  # python-glmnet missing (e.g. no wheel for this platform): the built-in solver
            return self._logistic_fista(X, y, groups)
        folds = max(2, min(self.cv, n_min))
        if groups is not None:   # as many folds as the rarest type has patients (not rows)
            from modic.stats.folds import n_folds

            folds = n_folds(y, groups, self.cv)
        if folds < 3:  # python-glmnet cross-validates with ≥ 3 folds only
            return self._logistic_fista(X, y, groups)
        m = LogitNet(alpha=1.0, n_lambda=self.n_alphas, min_lambda_ratio=0.01, standardize=False, n_splits=folds,
                     scoring="log_loss", random_state=self.random_state, tol=1e-7)
        if groups is not None:
            # glmnet's grouped CV is GroupKFold (not stratified; a fold may miss a type): give it the fold number
            # of a stratified group K-fold as the "group", so each of its k groups is one of our folds
            from modic.stats.folds import cv_splits

            fold_of = np.empty(len(y), dtype=int)
            for f, (_, te) in enumerate(cv_splits(y, groups, folds, self.random_state)):
                fold_of[te] = f
            groups = fold_of
        m = m.fit(X, y, groups=groups)
        self.solver_ = "glmnet"
        self.alphas_ = np.asarray(m.lambda_path_)  # decreasing; glmnet stops early once the fit saturates
        self.path_length_ = self.n_alphas
        self.cv_scores_ = -np.asarray(m.cv_mean_score_)  # log loss
        self.cv_se_ = np.asarray(m.cv_standard_error_)
        self.cv_score_name_ = "log loss"
        best = int(np.argmin(self.cv_scores_))
        self.alpha_min_ = float(self.alphas_[best])
        k = one_se_index(self.cv_scores_, self.cv_se_) if self.rule == "1se" else best
        self.alpha_ = float(self.alphas_[k])
        self.coef_ = np.asarray(m.coef_path_)[:, :, k]  # classes × features
        self.classes_ = np.asarray(m.classes_)
        self.path_not_converged_ = 0
        return m, np.abs(self.coef_).max(axis=0)

    def _logistic_fista(self, X, y, groups=None):
        from modic.stats import l1logistic as L

        r = L.cv_path(X, y, n_lambdas=self.n_alphas, cv=self.cv, random_state=self.random_state,
                      tol=self.tol, max_iter=self.max_iter or FISTA_MAX_ITER, groups=groups)
        self.solver_ = "modic FISTA"
        self.alphas_ = r["lambdas"]  # decreasing: strongest penalty first; stops 10 λ after the CV minimum
        self.path_length_ = r["n_lambdas_planned"]
        self.cv_scores_ = r["cv_mean"]
        self.cv_se_ = r["cv_se"]
        self.cv_score_name_ = "log loss"
        self.alpha_min_ = float(self.alphas_[r["best"]])
        k = one_se_index(self.cv_scores_, self.cv_se_) if self.rule == "1se" else r["best"]
        self.alpha_ = float(self.alphas_[k])
        W = r["coefs"][k]
        self.path_not_converged_ = r["not_converged"]
        self.coef_ = W.T  # classes × features
        self.classes_ = r["classes"]
        return None, np.abs(W).max(axis=1)

    def fit(self, X, y, groups=None):
        """Fit the path and choose λ by CV; `groups` (patient of each row) keeps a patient in one fold."""
        if self.mode not in LASSO_MODES:
            raise ValueError(f"unknown LASSO mode {self.mode!r}; use one of {LASSO_MODES}")
        if self.rule not in LASSO_RULES:
            raise ValueError(f"unknown LASSO rule {self.rule!r}; use one of {LASSO_RULES}")
        X, y = validate_data(self, X, y, dtype=float)
        y = np.asarray(y)
        n_min = int(min(np.unique(y, return_counts=True)[1]))
        self.convergence_warnings_ = 0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            warnings.filterwarnings("ignore", category=FutureWarning)
            if groups is not None:
                groups = np.asarray(groups)
                n_min = int(pd.DataFrame({"y": y, "g": groups}).groupby("y")["g"].nunique().min())
            m, importance = (self._lassocv(X, y, groups) if self.mode == "lassocv"
                             else self._logistic(X, y, n_min, groups))
            self.model_ = m
        self.convergence_warnings_ = (sum(issubclass(w.category, ConvergenceWarning) for w in caught)
                                      + getattr(self, "path_not_converged_", 0))
        self.importance_ = importance
        self.support_ = importance > self.threshold
        self.fallback_ = False
        if not self.support_.any():
            # no feature survives the chosen alpha: keep the one with the strongest univariate signal
            from modic.stats.posthoc import kruskal_wallis

            _, p = kruskal_wallis(X, y)
            self.support_[int(np.argmin(p))] = True
            self.fallback_ = True
        names = _names(self)
        coef = self.coef_ if self.coef_.ndim == 1 else None
        res = pd.DataFrame({"feature": names, "sequence": [sequence_of(n) for n in names],
                            "abs_coef": importance, "kept": self.support_})
        if coef is not None:
            res.insert(2, "coef", coef)
        else:
            for k, c in enumerate(getattr(self, "classes_", range(self.coef_.shape[0]))):
                res[f"coef_type{c}"] = self.coef_[k]
        self.results_ = res
        return self

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_


class RadiomicsSelector(_NanTags, SelectorMixin, BaseEstimator):
    """The paper's whole selection: z-score → screen → correlation filter → LASSO.

    After `fit`: `steps_` (dict of fitted steps), `counts_` (features after each step),
    `selected_features_`, `get_support()` on the input columns. `transform` returns raw selected columns.
    """

    def __init__(self, screen: str = "kw", alpha: float = 0.05, corr_cutoff: float = 0.9,
                 corr_method: str = "pearson", lasso: str = "logistic", lasso_cv: int = 5, n_alphas: int = 100,
                 random_state: int | None = 0, progress: Callable[[str], None] | None = None,
                 corr_exact: str = "auto", lasso_rule: str = "min"):
        self.corr_exact = corr_exact
        self.lasso_rule = lasso_rule
        self.screen = screen
        self.alpha = alpha
        self.corr_cutoff = corr_cutoff
        self.corr_method = corr_method
        self.lasso = lasso
        self.lasso_cv = lasso_cv
        self.n_alphas = n_alphas
        self.random_state = random_state
        self.progress = progress

    def _say(self, msg: str) -> None:
        if self.progress is not None:
            self.progress(msg)

    def fit(self, X, y, groups=None):
        """Screen, decorrelate and LASSO-select; `groups` (patient of each row) groups the LASSO's CV folds."""
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=float)
        names = _names(self)
        y = np.asarray(y)
        z = ZScore().fit(pd.DataFrame(X, columns=names))
        Z = z.transform(pd.DataFrame(X, columns=names))
        keep = ~z.constant_
        idx = np.flatnonzero(keep)
        self._say(f"selection: screening {len(idx)} features ({self.screen})")
        scr = UnivariateScreen(self.screen, self.alpha).fit(pd.DataFrame(Z[:, idx], columns=names[idx]), y)
        idx = idx[scr.get_support()]
        self._say(f"selection: correlation filter on {len(idx)} features (|r| > {self.corr_cutoff})")
        cor = CorrelationFilter(self.corr_cutoff, self.corr_method, self.corr_exact).fit(
            pd.DataFrame(Z[:, idx], columns=names[idx]))
        idx = idx[cor.get_support()]
        self._say(f"selection: LASSO ({self.lasso}) on {len(idx)} features")
        las = LassoSelector(self.lasso, cv=self.lasso_cv, n_alphas=self.n_alphas, random_state=self.random_state,
                            rule=self.lasso_rule)
        las.fit(pd.DataFrame(Z[:, idx], columns=names[idx]), y, groups=groups)
        idx = idx[las.get_support()]
        self.steps_ = {"zscore": z, "screen": scr, "correlation": cor, "lasso": las}
        self.counts_ = {"input": int(X.shape[1]), "non_constant": int(keep.sum()),
                        "screened": int(scr.get_support().sum()),
                        "decorrelated": int(cor.get_support().sum()),
                        "lasso": int(len(idx))}
        self.support_ = np.zeros(X.shape[1], dtype=bool)
        self.support_[idx] = True
        self.selected_features_ = list(names[idx])
        return self

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_

    def per_sequence(self) -> dict[str, int]:
        """Selected features counted per sequence prefix."""
        out: dict[str, int] = {}
        for n in self.selected_features_:
            out[sequence_of(n)] = out.get(sequence_of(n), 0) + 1
        return out
