"""Each channel's occupancy fraction tested against a Beta distribution fitted to the same channel's healthy LS
(AutoDQM's beta-binomial reference test: renormalised by events, LS of one preset share the luminosity range, and
the Beta's spread holds the counting noise of the reference LS).

Explained in chapter 5 (``notebooks/05_anomaly_detection.ipynb``, "Honest baselines").
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from ..preprocess import ChannelScaler
from .base import LSDetector, Reduce

#: The largest score the reference test gives (a tail probability of about 1e-300, where double precision ends).
MAX_SIGMA = 37.0


class ReferenceTest(LSDetector):
    """Each channel's occupancy fraction against a Beta distribution fitted (by moments) to its healthy LS.

    The score is the two-sided tail probability of the observed fraction turned into Gaussian σ (capped at
    :data:`~hcaltl.detectors.reference.MAX_SIGMA`). A channel whose healthy fractions do not vary (always silent,
    or always firing) gets the mean spread of the others, so any change of it scores high but finite.

    Args:
        scaler: the :class:`~hcaltl.preprocess.ChannelScaler` of the windows (to read fractions of events back).
    """

    standardise = False

    def __init__(self, scaler: ChannelScaler, reduce: Reduce = "mean") -> None:
        if not isinstance(scaler, ChannelScaler):
            raise TypeError(f"scaler must be the ChannelScaler of the windows, got {type(scaler).__name__}")
        super().__init__(scaler.geometry, reduce)
        self.scaler = scaler

    def _fractions(self, ls: np.ndarray) -> np.ndarray:
        low, span = self.scaler.data_min, self.scaler.data_max - self.scaler.data_min
        flat = ls * np.where(span > 0, span, 1.0) + low  # min–max undone, per channel (as the scaler does)
        if flat.min() < -1e-6 or flat.max() > 1 + 1e-6:
            raise ValueError(
                f"the reference test needs occupancy as a fraction of events, in [0, 1]; these windows "
                f"read back {flat.min():.3g} … {flat.max():.3g} (renormalise by events, not luminosity)"
            )
        return np.clip(flat, 0.0, 1.0)  # float rounding of the scaler only (checked above)

    def _fit(self, ls: np.ndarray) -> None:
        p = self._fractions(ls)
        mean, var = p.mean(axis=0), p.var(axis=0)
        spread = var[var > 0].mean() if (var > 0).any() else 1e-6
        var = np.where(var > 0, var, spread)
        mean = np.clip(mean, 1e-6, 1 - 1e-6)
        size = np.maximum(mean * (1 - mean) / var - 1, 1e-3)  # α + β; a spread wider than a Bernoulli's: flat
        self.alpha, self.beta = mean * size, (1 - mean) * size

    def _ls_scores(self, ls: np.ndarray) -> np.ndarray:
        x = self._fractions(ls)
        tail = np.minimum(stats.beta.logcdf(x, self.alpha, self.beta), stats.beta.logsf(x, self.alpha, self.beta))
        sigma = -special.ndtri_exp(np.minimum(tail, np.log(0.5)))  # the one-sided tail p/2 of a two-sided p → |z|
        return np.minimum(sigma, MAX_SIGMA)  # a fraction outside the Beta's support: +inf → the cap
