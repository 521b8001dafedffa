"""The interface every detector implements: fitted on healthy scaled windows, it scores each channel of each
window in σ units.

* :class:`WindowDetector` — what every detector shares: ``fit(healthy_windows)`` then
  ``channel_scores(windows)`` → ``[n_windows, n_channels]``. A subclass implements ``_check`` (windows → what it
  scores), ``_learn`` (fit on the healthy ones) and ``_window_scores`` (per-channel window scores before σ).
* :class:`LSDetector` — a detector that scores every LS on its own (``_fit`` on healthy LS, ``_ls_scores`` per LS
  and channel): a new one is a small subclass with those two methods (:mod:`~hcaltl.detectors.channel_mean` is
  the smallest example).

Every detector reduces a window's T LS like GraphSTAD: ``reduce="mean"`` over the window (the authors' window
score), or ``"last"``, the newest LS only, which is the per-LS score of a stream (where a fault injected on the
last LS sits). Detectors whose raw score is an error turn it into σ with an
:class:`~hcaltl.detectors.ErrorScaler` fitted on the healthy windows, as GraphSTAD's reconstruction error is;
one that is in σ by construction sets ``standardise = False``.

Explained in chapter 5 (``notebooks/05_anomaly_detection.ipynb``, "Honest baselines").
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .. import validate
from ..geometry import Geometry
from .reconstruction import ErrorScaler

REDUCTIONS = ("mean", "last")

#: How a window's T per-LS scores become one, by their mean or by the last (newest) LS's.
Reduce = Literal["mean", "last"]


def _reduce_name(reduce: str) -> str:
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {', '.join(REDUCTIONS)}, got {reduce!r}")
    return reduce


class WindowDetector:
    """What every detector shares: the checks, fitting on healthy windows and the σ standardisation.

    Subclasses implement ``_check`` (windows → what they score), ``_learn`` (fit on the healthy ones) and
    ``_window_scores`` (per-channel window scores, before σ).

    Args:
        geometry: the detector whose windows are scored.
        reduce: ``"mean"`` over the window's T LS or ``"last"`` LS only.

    Shapes:
        windows ``[n, T, 64, 72, 7]`` (scaled) → scores ``[n, n_channels]``.
    """

    standardise = True

    def __init__(self, geometry: Geometry | str, reduce: Reduce = "mean") -> None:
        self.geometry = validate.geometry(geometry)
        self.reduce = _reduce_name(reduce)
        self.error_scaler: ErrorScaler | None = None
        self._fitted = False

    @property
    def fitted(self) -> bool:
        return self._fitted

    def fit(self, windows: np.ndarray) -> WindowDetector:
        """Fit on healthy windows, then the σ statistics of their window scores.

        Args:
            windows: healthy scaled windows of this detector's geometry (at least one).

        Returns:
            The detector itself, fitted.

        Shapes:
            windows ``[n, T, 64, 72, 7]``.
        """
        if np.size(windows) == 0:
            raise ValueError("healthy windows hold no window: a detector is fitted on at least one healthy window")
        x = self._check(windows, "healthy windows")
        self._learn(x)
        if self.standardise:
            self.error_scaler = ErrorScaler().fit(self._window_scores(x))
        self._fitted = True
        return self

    def channel_scores(self, windows: np.ndarray) -> np.ndarray:
        """Per-channel scores of windows in σ units (the shape of :func:`~hcaltl.detectors.channel_scores`).

        Args:
            windows: scaled windows of this detector's geometry.

        Returns:
            One score per window and channel, reduced over each window's LS by ``reduce``.

        Shapes:
            windows ``[n, T, 64, 72, 7]`` → scores ``[n, n_channels]``.
        """
        if not self._fitted:
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit(healthy_windows) first")
        scores = self._window_scores(self._check(windows, "windows"))
        return self.error_scaler.transform(scores) if self.standardise else scores

    def _check(self, windows, name: str):  # pragma: no cover - the interface
        raise NotImplementedError

    def _learn(self, x) -> None:  # pragma: no cover - the interface
        raise NotImplementedError

    def _window_scores(self, x) -> np.ndarray:  # pragma: no cover - the interface
        raise NotImplementedError


class LSDetector(WindowDetector):
    """A detector that scores every LS on its own (``_fit`` on healthy LS, ``_ls_scores`` per LS and channel),
    then reduces each window's T LS."""

    def _check(self, windows, name: str) -> np.ndarray:
        arr = validate.windows(windows, name, geometry_=self.geometry)
        return self.geometry.map_to_nodes(arr).astype(np.float64)  # [n, T, N]

    def _learn(self, nodes: np.ndarray) -> None:
        self._fit(nodes.reshape(-1, nodes.shape[-1]))

    def _window_scores(self, nodes: np.ndarray) -> np.ndarray:
        if self.reduce == "last":
            return self._ls_scores(nodes[:, -1])
        return self._ls_scores(nodes.reshape(-1, nodes.shape[-1])).reshape(nodes.shape).mean(axis=1)

    def _fit(self, ls: np.ndarray) -> None:  # pragma: no cover - the interface
        raise NotImplementedError

    def _ls_scores(self, ls: np.ndarray) -> np.ndarray:  # pragma: no cover - the interface
        raise NotImplementedError
