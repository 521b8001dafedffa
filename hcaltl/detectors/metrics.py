"""Detection metrics from continuous scores (scikit-learn): ROC AUC and the FPR at a fixed TPR (paper A reports
90, 95 and 99 %), for the scores of any detector of :mod:`hcaltl.detectors`.

Explained in chapter 5 (``notebooks/05_anomaly_detection.ipynb``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from .. import validate

TPRS = (0.90, 0.95, 0.99)


def _check(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if np.shape(labels) != np.shape(scores):  # same shape, not merely the same size: no silent reshuffle
        raise ValueError(f"labels and scores must have the same shape, got {np.shape(labels)} and {np.shape(scores)}")
    y = np.asarray(labels).ravel()
    s = validate._numeric_array(scores, "scores", dtype=np.float64).ravel()
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0/1 (or bool)")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or inf")
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        raise ValueError(f"ROC metrics need both classes; got {n_pos} anomalous of {len(y)} samples")
    return y.astype(int), s


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of continuous scores (ties count one half).

    Args:
        labels: 1 (or True) on anomalous samples, 0 on normal ones; both classes present.
        scores: finite scores, higher = more anomalous, of the same shape as ``labels``.

    Returns:
        The AUC in [0, 1].
    """
    y, s = _check(labels, scores)
    return float(roc_auc_score(y, s))


def fpr_at_tpr(labels: np.ndarray, scores: np.ndarray, tpr: float) -> float:
    """The smallest false-positive rate of any threshold that reaches at least ``tpr`` true-positive rate.

    Tied scores are one threshold: they are flagged together.

    Args:
        labels: 1 (or True) on anomalous samples, 0 on normal ones; both classes present.
        scores: finite scores of the same shape as ``labels``.
        tpr: the true-positive rate to reach, in (0, 1].

    Returns:
        The false-positive rate in [0, 1].
    """
    if not 0 < tpr <= 1:
        raise ValueError(f"tpr must be in (0, 1], got {tpr}")
    y, s = _check(labels, scores)
    fpr, tprs, _ = roc_curve(y, s, drop_intermediate=False)
    return float(fpr[np.searchsorted(tprs, tpr - 1e-12, side="left")])


def metrics(labels: np.ndarray, scores: np.ndarray, tprs=TPRS) -> dict[str, float]:
    """AUC and FPR at each TPR, as one table row.

    Args:
        labels, scores: as for :func:`~hcaltl.detectors.roc_auc`.
        tprs: the true-positive rates of the ``FPR@<percent>`` entries.

    Returns:
        ``{"FPR@90": …, "FPR@95": …, "FPR@99": …, "AUC": …}``.
    """
    row = {f"FPR@{round(100 * t)}": fpr_at_tpr(labels, scores, t) for t in tprs}
    row["AUC"] = roc_auc(labels, scores)
    return row


def metrics_table(cases: dict[str, tuple[np.ndarray, np.ndarray]], tprs=TPRS) -> pd.DataFrame:
    """One row of :func:`metrics` per named case.

    Args:
        cases: case name → (labels, scores).
        tprs: as for :func:`metrics`.

    Returns:
        A table indexed by case, with the columns of :func:`metrics`.
    """
    return pd.DataFrame({name: metrics(y, s, tprs) for name, (y, s) in cases.items()}).T
