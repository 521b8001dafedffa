"""The σ threshold of an online scorer: calibrated on healthy LS to a target false-flag rate, then checked with
injected anomalies (the "fake anomalies" calibration of autoencoder-based monitoring).

Explained in chapter 7 (``notebooks/07_online_monitoring.ipynb``).
"""

from __future__ import annotations

import numpy as np

from .. import validate
from ..anomalies import Injected
from ..data import OccupancyData
from .stream import Stream


def calibrate_threshold(
    scorer: Stream, healthy: OccupancyData, flags_per_ls: float = 0.01, progress: bool = True
) -> float:
    """Set (and return) the lowest threshold at which healthy data gets at most ``flags_per_ls`` flagged channels
    per scored LS on average (e.g. 0.01: one flag per 100 LS).

    Args:
        scorer: a :class:`StreamScorer` or :class:`OnnxScorer` with its noise fitted.
        healthy: raw-count validation LS, not those the noise was fitted on.
        flags_per_ls: the target false-flag rate (> 0).

    Returns:
        The threshold in σ, also stored on ``scorer.threshold``.
    """
    rate = validate.real(flags_per_ls, "flags_per_ls", low=0, low_open=True)
    replay = scorer.replay(healthy, progress=progress)
    n = len(replay.scores)
    if n == 0:
        raise ValueError(
            "calibrate_threshold needs healthy data with at least one scored LS "
            f"(T = {scorer.window} consecutive LS with events)"
        )
    eligible = replay.scores[:, scorer.eligible].ravel()
    allowed = int(np.floor(rate * n))  # flags are scores strictly above the threshold
    ranked = np.sort(eligible)[::-1]
    threshold = float(ranked[min(allowed, len(ranked) - 1)])
    scorer.threshold = max(threshold, np.finfo(np.float32).tiny)
    return scorer.threshold


def flag_rates(scorer: Stream, injected: Injected, progress: bool = True) -> dict[str, float]:
    """What the scorer's threshold catches in data with injected anomalies.

    Args:
        scorer: a calibrated scorer.
        injected: :func:`hcaltl.anomalies.inject` applied to raw-count :class:`~hcaltl.data.OccupancyData`.

    Returns:
        ``true_flag_rate`` (share of anomalous channel-LS flagged), ``ls_detected`` (share of anomalous LS with at
        least one of their anomalous channels flagged), ``false_flags_per_ls`` (flags on unchanged channels per
        scored LS), and the counts behind them (``flagged_anomalous``, ``anomalous_ls``, ``scored_ls``).
    """
    if not isinstance(injected, Injected) or not isinstance(injected.data, OccupancyData):
        raise TypeError("injected must be the result of anomalies.inject on OccupancyData of raw counts")
    replay = scorer.replay(injected.data, progress=progress)
    labels = injected.labels[replay.scored]
    flags = replay.flags
    anomalous = labels.any(axis=1)
    hits = flags & labels
    return {
        "true_flag_rate": float(hits.sum() / max(labels.sum(), 1)),
        "ls_detected": float(hits.any(axis=1)[anomalous].mean()) if anomalous.any() else float("nan"),
        "false_flags_per_ls": float((flags & ~labels).sum() / max(len(flags), 1)),
        "flagged_anomalous": int(hits.sum()),
        "anomalous_ls": int(anomalous.sum()),
        "scored_ls": int(len(flags)),
    }
