"""Figures of the report (matplotlib, Agg backend; nothing here needs a display).

Every function returns a `matplotlib.figure.Figure`; `save_figure` writes PNG + SVG and returns the
PNG bytes for embedding in the HTML report.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from modic.stats.cohort import IMAGE_TYPES


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _tight_layout(fig) -> None:
    """fig.tight_layout(), without matplotlib's warning when long labels leave no room (the figure is kept)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout()


def save_figure(fig, folder: Path, name: str, dpi: int = 110) -> bytes:
    """Write `<name>.png` and `<name>.svg` into `folder`; return the PNG bytes; close the figure."""
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    png = buf.getvalue()
    (folder / f"{name}.png").write_bytes(png)
    fig.savefig(folder / f"{name}.svg", format="svg", bbox_inches="tight")
    plt.close(fig)
    return png


def screening_figure(results: pd.DataFrame, alpha: float = 0.05, title: str = "Screening"):
    """Figure 1: −log10 p per feature, coloured by image type, red line at p = alpha."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 4.2))
    cmap = plt.get_cmap("tab10")
    x = np.arange(len(results))
    types = list(IMAGE_TYPES) + ["other"]
    for k, t in enumerate(types):
        m = (results["image_type"] == t).to_numpy()
        if m.any():
            ax.scatter(x[m], results["neg_log10_p"].to_numpy()[m], s=6, color=cmap(k % 10) if k < 10 else "grey",
                       label=f"{t} ({int(m.sum())})", alpha=0.8, linewidths=0, rasterized=True)
    ax.axhline(-np.log10(alpha), color="red", lw=1.2, label=f"p = {alpha}")
    ax.set_xlabel("feature index (T1, T2, FS; original and filtered images)")
    ax.set_ylabel("−log10 p")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2, markerscale=2.5, loc="upper right", frameon=False)
    _tight_layout(fig)
    return fig


def lasso_coefficients_figure(results: pd.DataFrame):
    """Figure 2: bar plot of the non-zero LASSO coefficients (largest magnitude first)."""
    plt = _plt()
    sel = results[results["kept"]].copy()
    if "coef" in sel.columns:
        sel["value"] = sel["coef"]
        xlabel = "LASSO coefficient (type code 1/2/3, z-scored features)"
    else:
        sel["value"] = sel["abs_coef"]
        xlabel = "max |coefficient| over types (multinomial L1 logistic)"
    sel = sel.reindex(sel["value"].abs().sort_values().index)
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.26 * len(sel) + 1)))
    colors = ["#c0392b" if v > 0 else "#2e86c1" for v in sel["value"]]
    ax.barh(sel["feature"], sel["value"], color=colors)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(f"{len(sel)} features with non-zero coefficients")
    _tight_layout(fig)
    return fig


def lasso_path_figure(lasso_step, X: np.ndarray, y: np.ndarray):
    """Coefficient path over alpha (left) and the CV curve with the chosen alpha (right)."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    alphas = np.asarray(lasso_step.alphas_)
    if lasso_step.mode == "lassocv" and X.shape[1] > 0:
        from sklearn.linear_model import lasso_path

        al, coefs, _ = lasso_path(X, np.asarray(y, float), alphas=alphas)
        a1.plot(np.log10(al), coefs.T, lw=0.7, rasterized=True)
        a1.set_ylabel("coefficient")
    else:
        a1.text(0.5, 0.5, "path shown for LassoCV only", ha="center", transform=a1.transAxes)
    a1.axvline(np.log10(lasso_step.alpha_), color="red", ls="--", lw=1)
    a1.set_xlabel("log10 alpha")
    a1.set_title("LASSO coefficient path")
    if lasso_step.cv_scores_ is not None:
        a2.plot(np.log10(alphas), lasso_step.cv_scores_, marker=".", lw=1)
    a2.axvline(np.log10(lasso_step.alpha_), color="red", ls="--", lw=1,
               label=f"alpha = {lasso_step.alpha_:.6g}")
    a2.set_xlabel("log10 alpha")
    a2.set_ylabel(f"CV {lasso_step.cv_score_name_}")
    a2.set_title("cross-validation curve")
    a2.legend(frameon=False)
    _tight_layout(fig)
    return fig


def correlation_heatmap(corr: pd.DataFrame, title: str = "Correlations", p_column: str = "p",
                        alpha: float = 0.05):
    """Heatmap of r (features × scores) with * `p_column` < alpha, ** < alpha / 5 (p_column "q": adjusted)."""
    from modic.stats.correlation import significance_mark

    plt = _plt()
    if corr.empty:
        fig, ax = plt.subplots(figsize=(4, 2))
        ax.text(0.5, 0.5, "no correlations computed", ha="center", va="center")
        ax.axis("off")
        return fig
    r = corr.pivot_table(index="feature", columns="score", values="r", sort=False)
    p = corr.pivot_table(index="feature", columns="score", values=p_column, sort=False).reindex_like(r)
    fig, ax = plt.subplots(figsize=(2.0 + 1.3 * r.shape[1], 1.2 + 0.3 * r.shape[0]))
    im = ax.imshow(r.to_numpy(float), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(r.shape[1]), [c.upper() for c in r.columns])
    ax.set_yticks(range(r.shape[0]), r.index, fontsize=7)
    for i in range(r.shape[0]):
        for j in range(r.shape[1]):
            v = r.iat[i, j]
            if v == v:
                ax.text(j, i, f"{v:.2f}{significance_mark(p.iat[i, j], alpha)}", ha="center", va="center",
                        fontsize=7)
    fig.colorbar(im, ax=ax, shrink=0.8, label="r")
    ax.set_title(title + f"  (* {p_column}<{alpha:g}, ** {p_column}<{alpha / 5:g})", fontsize=9)
    _tight_layout(fig)
    return fig


def boxplots(shape: pd.DataFrame, types: pd.Series, features: list[str], pvalues: dict[str, float]):
    """Box plots per Modic type for the given (significant) shape features."""
    plt = _plt()
    n = max(1, len(features))
    cols = min(4, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False)
    t = types.loc[shape.index]
    for ax, f in zip(axes.ravel(), features, strict=False):
        data = [shape.loc[t == g, f].dropna().to_numpy() for g in (1, 2, 3)]
        ax.boxplot(data, tick_labels=["I", "II", "III"])
        ax.set_title(f"{f}\nKW p = {pvalues.get(f, np.nan):.2g}", fontsize=8)
        ax.set_xlabel("Modic type", fontsize=8)
    for ax in axes.ravel()[len(features):]:
        ax.axis("off")
    _tight_layout(fig)
    return fig


def confusion_figure(confusions: dict[str, pd.DataFrame]):
    """Confusion matrices side by side (counts)."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(confusions), figsize=(4.2 * len(confusions), 3.8), squeeze=False)
    for ax, (name, cm) in zip(axes[0], confusions.items(), strict=True):
        ax.imshow(cm.to_numpy(), cmap="Blues")
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                ax.text(j, i, str(cm.iat[i, j]), ha="center", va="center")
        ax.set_xticks(range(3), ["I", "II", "III"])
        ax.set_yticks(range(3), ["I", "II", "III"])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(name, fontsize=8)
    _tight_layout(fig)
    return fig


def table_figure(df: pd.DataFrame, title: str, note: str = ""):
    """A rendered table (e.g. Table 1) as a figure."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(2.2 + 1.9 * df.shape[1], 0.8 + 0.3 * (df.shape[0] + 1)))
    ax.axis("off")
    tab = ax.table(cellText=df.to_numpy(), rowLabels=list(df.index), colLabels=list(df.columns), loc="center",
                   cellLoc="center")
    tab.auto_set_font_size(False)
    tab.set_fontsize(8)
    tab.scale(1, 1.3)
    ax.set_title(title, fontsize=10)
    if note:
        fig.text(0.01, 0.01, note, fontsize=7, wrap=True)
    _tight_layout(fig)
    return fig


def roc_figure(y_true: np.ndarray, proba: np.ndarray, classes=(1, 2, 3), title: str = "ROC (one vs rest)"):
    """One-vs-rest ROC curve per Modic type with its AUC, and the macro-average AUC in the title."""
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    aucs = []
    for k, c in enumerate(classes):
        pos = np.asarray(y_true) == c
        if pos.all() or not pos.any():
            continue
        fpr, tpr, _ = roc_curve(pos, proba[:, k])
        a = roc_auc_score(pos, proba[:, k])
        aucs.append(a)
        ax.plot(fpr, tpr, lw=1.4, label=f"type {['I', 'II', 'III'][k]} vs rest: AUC {a:.3f}")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set_xlabel("1 − specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title(f"{title}\nmacro AUC {np.mean(aucs):.3f}" if aucs else title, fontsize=9)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    _tight_layout(fig)
    return fig


def reliability_figure(y_true: np.ndarray, proba: np.ndarray, classes=(1, 2, 3), n_bins: int = 5,
                       brier: float | None = None):
    """Reliability (calibration) plot per type: observed frequency vs mean predicted probability."""
    from sklearn.calibration import calibration_curve

    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    for k, c in enumerate(classes):
        pos = np.asarray(y_true) == c
        if pos.all() or not pos.any():
            continue
        frac, mean = calibration_curve(pos, proba[:, k], n_bins=n_bins, strategy="quantile")
        ax.plot(mean, frac, marker="o", lw=1.2, label=f"type {['I', 'II', 'III'][k]}")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="perfect calibration")
    ax.set_xlabel("mean predicted probability (bin)")
    ax.set_ylabel("observed frequency")
    ttl = "Reliability (nested CV, out of fold)"
    ax.set_title(ttl + (f"\nmulti-class Brier score {brier:.3f}" if brier is not None else ""), fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    _tight_layout(fig)
    return fig


def selection_frequency_figure(freq: pd.DataFrame, top: int = 40):
    """Horizontal bars: share of outer folds in which each feature was selected (top `top`)."""
    plt = _plt()
    f = freq.sort_values("frequency", ascending=False).head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.24 * len(f) + 1)))
    colors = ["#c0392b" if s else "#7f8c8d" for s in f.get("in_final_model", [False] * len(f))]
    ax.barh(f["feature"], f["frequency"], color=colors)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of outer folds selecting the feature (red: also in the final model)")
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title("Selection stability across the nested-CV outer folds", fontsize=9)
    _tight_layout(fig)
    return fig
