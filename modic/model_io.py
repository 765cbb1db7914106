"""Model files: a fitted classifier plus everything needed to use and audit it, in one skops file.

Format (``modic-model/1``): ``skops.io.dump`` of a dict
``{"format": "modic-model/1", "estimator": <fitted Pipeline>, "metadata_json": "<JSON text>"}``.
The metadata lives inside the same file (no sidecar that could get separated) and holds the feature
list, class labels, versions (modic, scikit-learn, numpy, python, skops), the training summary and the
``synthetic`` flag, and (models from modic ≥ this version) the applicability ``domain``
(`modic.stats.domain`; older files load with ``domain`` absent, so `assess_domain` gives in_domain
None). Loading uses an explicit list of trusted types (`TRUSTED_TYPES`); a file that needs
any other type is refused — never "trust everything".
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from modic.errors import ModicInputError
from modic.io import atomic_path

FORMAT = "modic-model/1"
# Types skops does not trust by default but our classifier pipeline needs (from
# skops.io.get_untrusted_types on a saved SimpleImputer + StandardScaler + CalibratedClassifierCV(SVC)).
TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
)


def versions() -> dict[str, str]:
    """Versions recorded in model files and reports."""
    import scipy
    import sklearn
    import skops

    from modic import __version__

    return {"modic": __version__, "sklearn": sklearn.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "pandas": pd.__version__, "skops": skops.__version__,
            "python": platform.python_version()}


def _jsonable(o):
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return _jsonable(o.tolist())
    if isinstance(o, float) and o != o:
        return None
    return o


@dataclass
class ModicModel:
    """A loaded model: `predict(table)` → predicted_type and p_type1..3 per row."""

    estimator: object
    feature_names: list[str]
    classes_: list[int]
    metadata: dict = field(default_factory=dict)
    path: str | None = None

    @property
    def synthetic(self) -> bool:
        return bool(self.metadata.get("synthetic", False))

    @property
    def domain(self) -> dict | None:
        """The applicability domain stored at training (None for model files without one)."""
        return self.metadata.get("domain")

    def assess_domain(self, table: pd.DataFrame) -> pd.DataFrame:
        """Per row: in_domain, share_outside, n_outside, mahalanobis, distance_percentile (see
        `modic.stats.domain.assess`); all None for a model file without a stored domain."""
        from modic.stats.domain import assess

        if "case_id" in table.columns:
            table = table.set_index(table["case_id"].astype(str))
        self.check_table(table)
        X = table[self.feature_names].apply(pd.to_numeric, errors="coerce").astype(float)
        return assess(self.domain, X)

    def check_table(self, table: pd.DataFrame) -> None:
        missing = [f for f in self.feature_names if f not in table.columns]
        if missing:
            shown = ", ".join(missing[:3])
            raise ModicInputError(f"feature table lacks {len(missing)} of the model's {len(self.feature_names)} "
                                  f"feature columns: {shown}{' …' if len(missing) > 3 else ''} — extract "
                                  "features with the same sequences and parameter file as the training data")

    def predict(self, table: pd.DataFrame) -> pd.DataFrame:
        """Predict Modic type for every row; index kept (case_id if the table has that column)."""
        if "case_id" in table.columns:
            table = table.set_index(table["case_id"].astype(str))
        self.check_table(table)
        X = table[self.feature_names].apply(pd.to_numeric, errors="coerce").astype(float)
        invalid = ~np.isfinite(X)                       # missing, non-numeric or infinite
        bad = invalid.any(axis=1)
        if bad.any():
            cases = ", ".join(map(str, X.index[bad][:5]))
            cols = ", ".join(X.columns[invalid.any()][:5])
            raise ModicInputError(f"missing, non-numeric or infinite values for case(s) {cases} in column(s) {cols} "
                                  "— re-extract those features")
        proba = self.estimator.predict_proba(X)
        classes = [int(c) for c in self.estimator.classes_]
        out = pd.DataFrame(index=X.index)
        out["predicted_type"] = np.asarray(classes)[np.argmax(proba, axis=1)]
        for c in (1, 2, 3):
            out[f"p_type{c}"] = proba[:, classes.index(c)] if c in classes else 0.0
        return out


def save_model(path: str | os.PathLike, estimator, feature_names, summary: dict,
               synthetic: bool = False, domain: dict | None = None) -> Path:
    """Write a fitted estimator with its feature list, classes, versions, `summary` and applicability
    `domain` (`modic.stats.domain.fit_domain`) atomically."""
    import skops.io as sio

    path = Path(path)
    classes = [int(c) for c in getattr(estimator, "classes_", [])]
    n_in = getattr(estimator, "n_features_in_", None)
    if n_in is not None and n_in != len(feature_names):
        raise ValueError(f"estimator expects {n_in} features but {len(feature_names)} names were given")
    meta = {"format": FORMAT, "feature_names": list(map(str, feature_names)), "classes": classes,
            "versions": versions(), "summary": _jsonable(summary),
            "synthetic": bool(synthetic or summary.get("synthetic", False))}
    if domain is not None:
        meta["domain"] = domain
    payload = {"format": FORMAT, "estimator": estimator, "metadata_json": json.dumps(_jsonable(meta))}
    with atomic_path(path, suffix=".skops") as tmp:
        sio.dump(payload, tmp)
    return path


def load_model(path: str | os.PathLike) -> ModicModel:
    """Load a model file; refuses files that need types outside `TRUSTED_TYPES`."""
    import skops.io as sio

    p = Path(path)
    if not p.is_file():
        raise ModicInputError(f"model file not found: {p} — train one with `modic stats`")
    try:
        with open(p, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModicInputError(f"cannot read model file {p}: {exc.strerror}") from None
    if magic[:1] == b"\x80" or p.suffix.lower() in (".pkl", ".pickle", ".joblib"):
        raise ModicInputError(f"{p} is a Python pickle/joblib file — modic never loads pickles (loading one can "
                              "run any code); use a .skops model written by `modic stats`")
    if magic != b"PK\x03\x04":
        raise ModicInputError(f"cannot read model file {p}: not a .skops archive — use a model written by "
                              "`modic stats`")
    try:
        untrusted = sio.get_untrusted_types(file=p)
    except Exception as exc:  # zip/JSON errors from a damaged file
        raise ModicInputError(f"cannot read model file {p}: {type(exc).__name__}: {str(exc)[:120]} — is it a "
                              "modic .skops model?") from None
    unexpected = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if unexpected:
        raise ModicInputError(f"model file {p} contains untrusted type(s) {', '.join(unexpected[:5])} — "
                              "refusing to load it; use a model written by `modic stats`")
    try:
        payload = sio.load(p, trusted=[t for t in untrusted])
    except Exception as exc:
        raise ModicInputError(f"cannot load model file {p}: {type(exc).__name__}: {str(exc)[:120]}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModicInputError(f"{p} is not a modic model file (expected format {FORMAT})")
    damaged = f"model file {p} is damaged or was edited"
    try:
        meta = json.loads(payload["metadata_json"])
        names, classes = list(meta["feature_names"]), [int(c) for c in meta["classes"]]
    except (KeyError, TypeError, ValueError):
        raise ModicInputError(f"{damaged}: its metadata cannot be read — use a model written by "
                              "`modic stats`") from None
    est = payload.get("estimator")
    if not (hasattr(est, "predict_proba") and hasattr(est, "classes_")) or not names \
            or not all(isinstance(n, str) for n in names) or not set(classes) <= {1, 2, 3} \
            or getattr(est, "n_features_in_", len(names)) != len(names):
        raise ModicInputError(f"{damaged}: the classifier and its feature list do not match — use a model "
                              "written by `modic stats`")
    return ModicModel(estimator=est, feature_names=names, classes_=classes, metadata=meta, path=str(p))


def demo_model_path() -> Path:
    """The shipped synthetic demo model (trained on phantom data by `modic demo`; not a clinical model)."""
    return Path(__file__).resolve().parent / "resources" / "demo_model.skops"
