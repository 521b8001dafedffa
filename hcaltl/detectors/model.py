"""A trained GraphSTAD behind the detectors' interface: its reconstruction error in σ units.

Explained in chapter 5 (``notebooks/05_anomaly_detection.ipynb``).
"""

from __future__ import annotations

import numpy as np

from ..models import GraphSTAD
from .base import Reduce, WindowDetector
from .reconstruction import ErrorScaler, window_channel_error


class ModelDetector(WindowDetector):
    """A trained GraphSTAD behind the detectors' interface: its reconstruction error, standardised on the healthy
    windows it is fitted on (for ``reduce="mean"`` the same σ as
    the book's ``detection_study.fit_error_scaler``).

    Args:
        model: the trained model (its geometry is the detector's).
        error_scaler: σ statistics already fitted on the healthy windows with the same ``reduce`` (the detector is
            then fitted; e.g. chapter 5's, which it computed for the window mean).
        batch_size: windows per forward pass.
    """

    def __init__(
        self, model: GraphSTAD, reduce: Reduce = "mean", batch_size: int = 8, error_scaler: ErrorScaler | None = None
    ) -> None:
        if not isinstance(model, GraphSTAD):
            raise TypeError(f"model must be a GraphSTAD, got {type(model).__name__}")
        super().__init__(model.geometry, reduce)
        self.model, self.batch_size = model, batch_size
        if error_scaler is not None:
            if not isinstance(error_scaler, ErrorScaler) or error_scaler.mean is None:
                raise TypeError(f"error_scaler must be a fitted ErrorScaler, got {error_scaler!r}")
            self.error_scaler, self._fitted = error_scaler, True

    def _check(self, windows, name: str):
        return windows  # the model checks its input (shape, T, geometry) in window_channel_error

    def _learn(self, windows) -> None:
        pass  # trained already

    def _window_scores(self, windows) -> np.ndarray:
        return window_channel_error(self.model, windows, batch_size=self.batch_size, reduce=self.reduce)
