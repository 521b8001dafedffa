"""Detectors: every way the book scores a channel, behind one interface, and the metrics that judge them.

A detector is fitted on healthy scaled windows (as :func:`hcaltl.preprocess.prepare_windows` cuts them) and
returns per-channel scores ``[n_windows, n_channels]`` in σ units (:class:`WindowDetector`), so the metrics and
tables of chapter 5 take any of them:

* :class:`ModelDetector` (:mod:`~hcaltl.detectors.model`) — a trained GraphSTAD's reconstruction error;
* :class:`ChannelMeanDetector` (:mod:`~hcaltl.detectors.channel_mean`) — the per-channel healthy mean;
* :class:`PCADetector` (:mod:`~hcaltl.detectors.pca`) — the map from its first principal components;
* :class:`ReferenceTest` (:mod:`~hcaltl.detectors.reference`) — a beta-binomial test per channel.

Beside them: :mod:`~hcaltl.detectors.base` (the interface; a new detector is one small file with a subclass of
:class:`LSDetector`), :mod:`~hcaltl.detectors.reconstruction` (GraphSTAD's per-channel errors and the σ
standardisation, :class:`ErrorScaler`) and :mod:`~hcaltl.detectors.metrics` (ROC AUC, FPR at a fixed TPR).

Explained in chapter 5 (``notebooks/05_anomaly_detection.ipynb``).
"""

from .base import REDUCTIONS, LSDetector, Reduce, WindowDetector
from .channel_mean import ChannelMeanDetector
from .metrics import TPRS, fpr_at_tpr, metrics, metrics_table, roc_auc
from .model import ModelDetector
from .pca import PCADetector
from .reconstruction import ErrorScaler, channel_scores, window_channel_error, window_channel_errors
from .reference import MAX_SIGMA, ReferenceTest

__all__ = [
    "REDUCTIONS",
    "Reduce",
    "WindowDetector",
    "LSDetector",
    "ModelDetector",
    "ChannelMeanDetector",
    "PCADetector",
    "ReferenceTest",
    "MAX_SIGMA",
    "ErrorScaler",
    "channel_scores",
    "window_channel_error",
    "window_channel_errors",
    "roc_auc",
    "fpr_at_tpr",
    "metrics",
    "metrics_table",
    "TPRS",
]
