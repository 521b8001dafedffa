"""Saving a calibrated online scorer: the model with its scaling, noise, threshold and masked channels in one
checkpoint, from which :func:`~hcaltl.online.load_scorer` rebuilds it and ``hcaltl export-onnx`` writes the ONNX graph.

Explained in chapter 7 (``notebooks/07_online_monitoring.ipynb``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..checkpoints import load_checkpoint, save_checkpoint
from ..preprocess import ChannelScaler
from .stream import StreamScorer

KEY = "online_scorer"


def save_scorer(scorer: StreamScorer, path: str | Path) -> Path:
    """Write the scorer's model, min–max range, per-channel noise, threshold and masked channels to ``path``."""
    if not isinstance(scorer, StreamScorer):
        raise TypeError(f"scorer must be a StreamScorer, got {type(scorer).__name__}")
    low, high = np.asarray(scorer.scaler.data_min), np.asarray(scorer.scaler.data_max)
    state = {
        "data_min": low.astype(np.float64).tolist(),
        "data_max": high.astype(np.float64).tolist(),
        "range_dtype": str(low.dtype),
        "noise": scorer.noise.astype(np.float64).tolist(),
        "threshold": float(scorer.threshold),
        "masked": scorer.masked.tolist(),
    }
    return save_checkpoint(scorer.model, path, extra={KEY: state})


def load_scorer(path: str | Path) -> StreamScorer:
    """The :class:`StreamScorer` saved by :func:`save_scorer`.

    Raises:
        ValueError: the checkpoint holds a model but no online calibration (scaler range, noise).
    """
    model, record = load_checkpoint(path)
    state = record["extra"].get(KEY)
    if state is None:
        raise ValueError(
            f"{path} holds a model but no online calibration (scaler range, noise, threshold): calibrate "
            "a StreamScorer (fit_noise, calibrate_threshold) and save it with hcaltl.online.save_scorer"
        )
    dtype = np.dtype(state.get("range_dtype", "float64"))  # the fitted dtype: float32 maps give float32 scaling
    scaler = ChannelScaler.from_range(
        model.geometry, np.array(state["data_min"], dtype), np.array(state["data_max"], dtype)
    )
    return StreamScorer(
        model,
        scaler,
        threshold=state["threshold"],
        noise=np.array(state["noise"], np.float32),
        masked=np.array(state["masked"], dtype=np.int64),
    )
