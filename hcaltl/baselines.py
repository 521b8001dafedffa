"""Detectors a DQM expert runs before any deep model, with the scoring interface of GraphSTAD's.

Each detector is fitted on healthy scaled windows (as :func:`hcaltl.preprocess.prepare_windows` cuts them) and
returns per-channel scores ``[n_windows, n_channels]`` in σ units, the shape of
:func:`hcaltl.detect.channel_scores`, so the metrics and tables of chapter 5 take any of them:

* :class:`ChannelMeanDetector` — the per-channel mean of the healthy LS as the "reconstruction" (the baseline of
  chapter 3): a per-channel z-score of the occupancy;
* :class:`PCADetector` — the map reconstructed from its first principal components (the classical linear
  autoencoder, AutoDQM's PCA test);
* :class:`ReferenceTest` — each channel's occupancy fraction tested against a Beta distribution fitted to the
  same channel's healthy LS (AutoDQM's beta-binomial reference test: renormalised by events, LS of one preset
  share the luminosity range, and the Beta's spread holds the counting noise of the reference LS);
* :class:`ModelDetector` — a trained GraphSTAD behind the same interface.

Every detector scores each LS of a window and reduces them like GraphSTAD: ``reduce="mean"`` over the window's
T LS (the authors' window score), or ``"last"``, the newest LS only (where a fault injected on the last LS sits).
The first three turn their per-LS error into σ with an :class:`~hcaltl.reconstruction.ErrorScaler` fitted on the healthy
windows, as GraphSTAD's reconstruction error is; the reference test is in σ by construction.

Explained in chapter 5 (``notebooks/05_anomaly_detection.ipynb``, "Honest baselines").
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import special, stats
from sklearn.decomposition import PCA

from . import validate
from .geometry import Geometry
from .models import GraphSTAD
from .preprocess import ChannelScaler
from .reconstruction import ErrorScaler, window_channel_error

REDUCTIONS = ("mean", "last")
#: The largest score the reference test gives (a tail probability of about 1e-300, where double precision ends).
MAX_SIGMA = 37.0

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
        """Fit on healthy windows, then the σ statistics of their window scores."""
        if np.size(windows) == 0:
            raise ValueError("healthy windows hold no window: a detector is fitted on at least one healthy window")
        x = self._check(windows, "healthy windows")
        self._learn(x)
        if self.standardise:
            self.error_scaler = ErrorScaler().fit(self._window_scores(x))
        self._fitted = True
        return self

    def channel_scores(self, windows: np.ndarray) -> np.ndarray:
        """Per-channel scores of windows in σ units (the shape of :func:`hcaltl.detect.channel_scores`)."""
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


class ChannelMeanDetector(LSDetector):
    """Each channel's healthy mean as its reconstruction; the error |x − mean| in σ is a per-channel z-score."""

    def _fit(self, ls: np.ndarray) -> None:
        self.mean = ls.mean(axis=0)

    def _ls_scores(self, ls: np.ndarray) -> np.ndarray:
        return np.abs(ls - self.mean)


class PCADetector(LSDetector):
    """The map reconstructed from its first ``n_components`` principal components of the healthy LS.

    Args:
        n_components: principal components kept (16 matches the 2 × 8 latent numbers of the book's GraphSTAD).
        seed: seeds the randomised SVD.
    """

    def __init__(
        self, geometry: Geometry | str, n_components: int = 16, reduce: Reduce = "mean", seed: int = 0
    ) -> None:
        super().__init__(geometry, reduce)
        self.n_components = validate.count(n_components, "n_components")
        self.seed = seed

    def _fit(self, ls: np.ndarray) -> None:
        if self.n_components > min(ls.shape):
            raise ValueError(
                f"n_components={self.n_components} needs at least as many healthy LS and channels, "
                f"got {ls.shape[0]} LS of {ls.shape[1]} channels"
            )
        self.pca = PCA(self.n_components, svd_solver="randomized", random_state=self.seed).fit(ls)

    def _ls_scores(self, ls: np.ndarray) -> np.ndarray:
        return np.abs(ls - self.pca.inverse_transform(self.pca.transform(ls)))


class ReferenceTest(LSDetector):
    """Each channel's occupancy fraction against a Beta distribution fitted (by moments) to its healthy LS.

    The score is the two-sided tail probability of the observed fraction turned into Gaussian σ (capped at
    :data:`MAX_SIGMA`). A channel whose healthy fractions do not vary (always silent, or always firing) gets the
    mean spread of the others, so any change of it scores high but finite.

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


class ModelDetector(WindowDetector):
    """A trained GraphSTAD behind the detectors' interface: its reconstruction error, standardised on the healthy
    windows it is fitted on (for ``reduce="mean"`` the same σ as
    :func:`hcaltl.experiments.detection_study.fit_error_scaler`).

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
