"""The per-channel mean of the healthy LS as the "reconstruction" (chapter 3's baseline): a per-channel z-score
of the occupancy. The smallest detector: a template for a new one.

Explained in chapter 5 (``notebooks/05_anomaly_detection.ipynb``, "Honest baselines").
"""

from __future__ import annotations

import numpy as np

from .base import LSDetector


class ChannelMeanDetector(LSDetector):
    """Each channel's healthy mean as its reconstruction; the error |x − mean| in σ is a per-channel z-score."""

    def _fit(self, ls: np.ndarray) -> None:
        self.mean = ls.mean(axis=0)

    def _ls_scores(self, ls: np.ndarray) -> np.ndarray:
        return np.abs(ls - self.mean)
