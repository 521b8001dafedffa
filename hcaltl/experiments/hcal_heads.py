"""Multi-head cause inference on HCAL: one head per partition of RBX, fed by per-partition summaries of GraphSTAD
σ scores, trained on the global "bad window" label only; each head should then tell which partition was broken.

Beyond paper C, which decomposed whole subsystems; here the "subsystems" are groups of readout boxes and the
anomalies are the injected channel faults of chapter 5, so the truth of every head is known exactly.

Explained in chapter 6 (``notebooks/06_multihead_cause.ipynb``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..anomalies import inject
from ..detectors import ErrorScaler, channel_scores
from ..geometry import Geometry
from ..models import GraphSTAD
from ..multihead.features import LumiFeatures
from ..preprocess import ChannelScaler
from .detection_study import CASES

#: Per-partition summaries of channel σ scores.
PARTITION_STATISTICS: tuple[str, ...] = ("mean", "std", "p50", "p90", "p99", "max", "over5", "over10")


def rbx_partitions(geometry: Geometry, groups_per_side: int = 2) -> dict[str, np.ndarray]:
    """Channels (node indices) of consecutive RBX groups on each side, e.g. ``HBM01-09``, ``HBM10-18``, ….

    Shapes:
        → name → ``[n_channels_in_partition]`` node indices.
    """
    ch = geometry.channels
    n_rbx = int(ch["rbx"].max())
    if not 1 <= groups_per_side <= n_rbx:
        raise ValueError(f"groups_per_side must be in 1…{n_rbx}, got {groups_per_side}")
    edges = np.linspace(0, n_rbx, groups_per_side + 1).round().astype(int)
    parts = {}
    for side in ("M", "P"):
        for lo, hi in zip(edges[:-1], edges[1:]):
            sel = (ch["side_name"] == side) & (ch["rbx"] > lo) & (ch["rbx"] <= hi)
            parts[f"{geometry.name}{side}{lo + 1:02d}-{hi:02d}"] = ch.loc[sel, "node"].to_numpy()
    return parts


def partition_features(scores: np.ndarray, partitions: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Summaries of per-channel σ scores within each partition (:data:`PARTITION_STATISTICS`).

    Shapes:
        scores ``[n, n_channels]`` → name → ``[n, 8]``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"scores must be [n_windows, n_channels], got shape {scores.shape}")
    out = {}
    for name, nodes in partitions.items():
        if len(nodes) and nodes.max() >= scores.shape[1]:
            raise ValueError(f"partition {name} has channel {nodes.max()} but scores have {scores.shape[1]} channels")
        s = scores[:, nodes]
        p50, p90, p99 = np.percentile(s, [50, 90, 99], axis=1)
        out[name] = np.column_stack(
            [s.mean(1), s.std(1), p50, p90, p99, s.max(1), (s > 5).mean(1), (s > 10).mean(1)]
        ).astype(np.float32)
    return out


def partition_dataset(
    model: GraphSTAD,
    error_scaler: ErrorScaler,
    windows: np.ndarray,
    scaler: ChannelScaler,
    n: int,
    *,
    partitions: dict[str, np.ndarray],
    bad_fraction: float = 0.25,
    cases=CASES,
    shape: str | None = None,
    seed: int = 0,
) -> LumiFeatures:
    """``n`` windows drawn with replacement; a ``bad_fraction`` of them get one injected fault on all their LS
    (case drawn at random). Features: :func:`partition_features` of the model's σ scores; truth: the partitions
    holding a labelled channel.

    Returns:
        :class:`~hcaltl.multihead.LumiFeatures` with one feature block and one cause column per partition
        (``run`` = the source window index, ``ls`` = sample index, ``lumi`` = 1).
    """
    if not 0 < bad_fraction < 1:
        raise ValueError(f"bad_fraction must be in (0, 1), got {bad_fraction}")
    rng = np.random.default_rng(seed)
    source = rng.integers(len(windows), size=n)
    data = np.array(windows[source], copy=True)
    bad = np.sort(rng.choice(n, size=int(round(bad_fraction * n)), replace=False))
    case_of = rng.integers(len(cases), size=len(bad))
    labels = np.zeros((n, scaler.geometry.n_channels), dtype=bool)
    severity = np.zeros(n)
    for c, (_, kind, factor) in enumerate(cases):
        idx = bad[case_of == c]
        if len(idx):
            out = inject(data[idx], kind, factor, seed=seed + 1 + c, where="all", shape=shape, scaler=scaler)
            data[idx], labels[idx] = out.data, out.labels
            severity[idx] = 1 - (factor if factor is not None else 0.0) if kind != "noisy_hot" else 1.0
    scores = channel_scores(model, data, error_scaler)
    causes = pd.DataFrame({name: labels[:, nodes].any(axis=1) for name, nodes in partitions.items()})
    features = partition_features(scores, partitions)
    return LumiFeatures(
        features,
        {k: [f"{k}_{s}" for s in PARTITION_STATISTICS] for k in features},
        source.astype(np.int64),
        np.arange(n, dtype=np.int64),
        np.ones(n),
        ~causes.any(axis=1).to_numpy(),
        causes,
        severity,
    )
