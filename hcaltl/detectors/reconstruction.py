"""GraphSTAD's per-channel reconstruction errors of windows, and their standardisation in σ units.

* Score of a channel in a window: absolute reconstruction error averaged over the window's T LS
  (:func:`~hcaltl.detectors.window_channel_error`; ``reduce="last"``: the last LS only), standardised per
  channel by the mean and standard deviation of the same error on training windows (:class:`ErrorScaler`) — the
  σ units of the production system (thresholds of 10–30 σ).

Used by :class:`~hcaltl.detectors.ModelDetector` and by every detector's σ standardisation; explained in
chapter 5 (``notebooks/05_anomaly_detection.ipynb``).
"""

from __future__ import annotations

import numpy as np
import torch

from .. import validate
from ..inference import per_batch
from ..models import GraphSTAD


class ErrorScaler:
    """Per-channel standardisation of reconstruction errors: σ = |err − mean| / std (training statistics).

    A channel whose training error has zero spread gets the mean spread of all channels.

    Shapes:
        errors ``[n_windows, n_channels]`` in and out.
    """

    def __init__(self, ignore_mean: bool = False) -> None:
        self.ignore_mean = ignore_mean
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, errors: np.ndarray) -> ErrorScaler:
        """Each channel's mean and spread of the healthy windows' errors.

        Args:
            errors: per-channel errors of healthy training windows, finite.

        Returns:
            The scaler itself, fitted.
        """
        errors = _as_2d(errors, "errors")
        self.mean = errors.mean(axis=0)
        std = errors.std(axis=0)
        self.std = np.where(std > 0, std, std[std > 0].mean() if (std > 0).any() else 1.0)
        return self

    def transform(self, errors: np.ndarray) -> np.ndarray:
        """Errors in σ units of the fitted statistics.

        Args:
            errors: per-channel errors of the windows to score (the fitted channels).

        Returns:
            ``|errors − mean| / std`` per channel (``errors / std`` with ``ignore_mean``).
        """
        if self.mean is None:
            raise RuntimeError("ErrorScaler is not fitted; call fit(training_errors) first")
        errors = _as_2d(errors, "errors")
        if errors.shape[1] != len(self.mean):
            raise ValueError(f"errors have {errors.shape[1]} channels, the scaler was fitted on {len(self.mean)}")
        centred = errors if self.ignore_mean else errors - self.mean
        return np.abs(centred) / self.std


def _as_2d(x: np.ndarray, name: str) -> np.ndarray:
    x = validate._numeric_array(x, name, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be [n_windows, n_channels], got shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} hold no window or no channel (shape {x.shape})")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contain NaN or inf")
    return x


def window_channel_errors(
    model: GraphSTAD,
    windows: np.ndarray | torch.Tensor,
    batch_size: int = 8,
    reductions: tuple[str, ...] = ("mean", "last"),
) -> dict[str, np.ndarray]:
    """Absolute reconstruction error of every channel per window, reduced over the window's T LS in each of
    ``reductions`` from one forward pass: ``"mean"`` (the authors' window score) or ``"last"`` LS only.

    Args:
        model: a trained GraphSTAD.
        windows: scaled windows of the model's geometry and window length.
        batch_size: windows per forward pass.
        reductions: ``"mean"`` and/or ``"last"``.

    Returns:
        The errors under each reduction's name.

    Shapes:
        windows [n, T, 64, 72, 7] → {reduction: errors [n, n_channels]}.
    """
    unknown = [r for r in reductions if r not in ("mean", "last")]
    if unknown or not reductions:
        raise ValueError(f"reductions must name 'mean' and/or 'last', got {reductions!r}")

    def channel_error(batch: torch.Tensor) -> dict[str, np.ndarray]:
        err = (model(batch) - batch).abs()
        out = {}
        for r in reductions:
            e = err.mean(dim=1) if r == "mean" else err[:, -1]  # [b, 64, 72, 7]
            out[r] = e.reshape(len(batch), -1)[:, model.node_flat].cpu().numpy()
        return out

    parts = per_batch(model, windows, "input", batch_size, channel_error)
    return {r: np.concatenate([p[r] for p in parts]) for r in reductions}


def window_channel_error(
    model: GraphSTAD, windows: np.ndarray | torch.Tensor, batch_size: int = 8, reduce: str = "mean"
) -> np.ndarray:
    """Absolute reconstruction error of every channel, averaged over each window's T LS (``reduce="mean"``, the
    authors' per-channel window score, before standardisation) or of its last LS only (``"last"``).

    Args:
        model: a trained GraphSTAD.
        windows: scaled windows of the model's geometry and window length.
        batch_size: windows per forward pass.
        reduce: ``"mean"`` or ``"last"``.

    Returns:
        One error per window and channel.

    Shapes:
        windows [n, T, 64, 72, 7] → errors [n, n_channels].
    """
    if reduce not in ("mean", "last"):
        raise ValueError(f"reduce must be 'mean' or 'last', got {reduce!r}")
    return window_channel_errors(model, windows, batch_size, (reduce,))[reduce]


def channel_scores(
    model: GraphSTAD, windows: np.ndarray, scaler: ErrorScaler | None = None, batch_size: int = 8
) -> np.ndarray:
    """Per-channel anomaly scores of windows: window-mean absolute error, in σ units when ``scaler`` is given.

    Args:
        model: a trained GraphSTAD.
        windows: scaled windows of the model's geometry and window length.
        scaler: σ statistics fitted on healthy training windows; None gives the raw error.
        batch_size: windows per forward pass.

    Returns:
        One score per window and channel.

    Shapes:
        windows ``[n, T, 64, 72, 7]`` → scores ``[n, n_channels]``.
    """
    errors = window_channel_error(model, windows, batch_size=batch_size)
    return scaler.transform(errors) if scaler is not None else errors
