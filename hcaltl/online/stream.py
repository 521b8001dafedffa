"""Scoring lumisections as they arrive: one raw-count map and its event count at a time.

:class:`Stream` keeps the bookkeeping every online scorer needs, whatever computes the scores:

1. check the LS (shape, finite, non-negative counts, zero outside the geometry; events whole and ≥ 0);
2. skip an LS with zero events (nothing to renormalise by), with the reason;
3. restart the window at a new run or after a gap in LS numbers (never reuse a window across either);
4. score the LS once T consecutive LS are at hand (the first T − 1 after a restart warm the window up);
5. flag channels above the σ threshold, except channels masked by the caller and channels that have not fired
   yet in this run (dead from the start is not news; a channel that dies *during* the run is flagged).

:class:`StreamScorer` computes the scores with the PyTorch model, encoding each LS once
(:mod:`hcaltl.online.features`); :class:`hcaltl.online.OnnxScorer` runs the exported ONNX graph instead.
Explained in chapter 7 (``notebooks/07_online_monitoring.ipynb``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .. import validate
from ..data import OccupancyData
from ..geometry import Geometry
from ..models import GraphSTAD
from ..preprocess import ChannelScaler
from .features import encode_ls, newest_reconstruction

#: Production's flag-decision threshold in σ (CMSSW ``HcalMLTask``; 10–30 recommended).
DEFAULT_THRESHOLD = 20.0


@dataclass(frozen=True)
class LSResult:
    """What the scorer says about one LS.

    Attributes:
        run, ls: the LS.
        status: ``"scored"``, ``"warming up"``, or ``"skipped: ..."`` with the reason.
        scores: per-channel σ scores (channel order of the geometry), None unless scored.
        flags: per-channel flags (score above threshold, channel eligible), None unless scored.
        restarted: whether the window restarted at this LS (new run or a gap).

    Shapes:
        scores, flags ``[n_channels]``.
    """

    run: int
    ls: int
    status: str
    scores: np.ndarray | None = None
    flags: np.ndarray | None = None
    restarted: bool = False

    @property
    def n_flagged(self) -> int:
        return 0 if self.flags is None else int(self.flags.sum())


def scaling_maps(scaler: ChannelScaler) -> tuple[np.ndarray, np.ndarray]:
    """The fitted min–max scaling as two float32 maps: scaled = occupancy · scale + offset (0 outside the geometry).

    Shapes:
        scale, offset ``[64, 72, 7]``.
    """
    if not isinstance(scaler, ChannelScaler):
        raise TypeError(f"scaler must be a fitted ChannelScaler, got {type(scaler).__name__}")
    scaler._check()
    inner = scaler._scaler
    geom = scaler.geometry
    return (geom.nodes_to_map(inner.scale_.astype(np.float32)), geom.nodes_to_map(inner.min_.astype(np.float32)))


class Stream:
    """LS-by-LS bookkeeping shared by the online scorers (see the module docstring for the rules).

    Subclasses provide ``_encode`` (one LS's raw map → its features and what scoring needs) and
    ``_score`` (the window's features → per-channel σ scores of the newest LS).

    Args:
        geometry: the scored subdetector geometry.
        window: LS per window T.
        threshold: flag decision in σ (> 0).
        masked: channels never flagged (known bad in the channel-quality database): bool ``[n_channels]`` or
            channel indices.
    """

    def __init__(
        self, geometry: Geometry, window: int, threshold: float = DEFAULT_THRESHOLD, masked: np.ndarray | None = None
    ) -> None:
        self.geometry = geometry
        self.window = window
        self.threshold = threshold
        keep = np.ones(geometry.n_channels, dtype=bool)
        if masked is not None:
            keep[validate.indices(masked, "masked", geometry.n_channels)] = False
        self._eligible = keep
        self.reset()

    @property
    def threshold(self) -> float:
        return self._threshold

    @property
    def masked(self) -> np.ndarray:
        """Indices of the channels never flagged (the ``masked`` argument)."""
        return np.flatnonzero(~self._eligible)

    @property
    def eligible(self) -> np.ndarray:
        """Bool ``[n_channels]``: the channels that may be flagged (not masked)."""
        return self._eligible.copy()

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._threshold = validate.real(value, "threshold", low=0, low_open=True)

    def reset(self) -> None:
        """Forget the window, the last LS and which channels have fired (as at the start of a run)."""
        self._history: deque = deque(maxlen=self.window - 1) if self.window > 1 else deque(maxlen=0)
        self._last: tuple[int, int] | None = None
        self._fired = np.zeros(self.geometry.n_channels, dtype=bool)

    def _check_position(self, run: int, ls: int) -> bool:
        """Whether the window must restart at (run, ls); refuses LS that go back in time."""
        run = validate.count(run, "run", minimum=0)
        ls = validate.count(ls, "ls", minimum=1)
        if self._last is None or run != self._last[0]:
            return True
        if ls <= self._last[1]:
            raise ValueError(
                f"LS {ls} of run {run} arrives after LS {self._last[1]}: LS must increase within a run "
                "(call reset() to replay a run from its start)"
            )
        return ls != self._last[1] + 1

    def update(self, counts: np.ndarray, n_events: int | float, *, run: int, ls: int) -> LSResult:
        """Score one LS.

        Args:
            counts: raw digi counts of the LS (events in which each channel fired).
            n_events: events in the LS (0: skipped with the reason).
            run, ls: the LS's run and number (a new run or a gap restarts the window).

        Shapes:
            counts ``[64, 72, 7]``.
        """
        if np.ndim(counts) != 3:
            raise ValueError(f"counts must be one LS map [64, 72, 7], got shape {np.shape(counts)}")
        arr = validate.maps(np.asarray(counts)[None], "counts", geometry_=self.geometry)[0]
        events = float(validate.real(n_events, "n_events", low=0))
        if events > 0:
            validate.events(np.array([events]), "n_events")
            if arr.max() > events:
                raise ValueError(
                    f"counts must not exceed n_events = {events:g} (a channel fires at most once per "
                    f"event); got {arr.max():g}"
                )
        restart = self._check_position(run, ls)  # every check passed: only now does the state change
        if restart:
            self.reset()
        self._last = (int(run), int(ls))
        if events == 0:
            self._history.clear()  # the next LS follows a hole: its window restarts
            return LSResult(run, ls, "skipped: zero events (nothing to renormalise by)", restarted=restart)
        self._fired |= self.geometry.map_to_nodes(arr) > 0
        features, state = self._encode(arr, events)
        if len(self._history) < self.window - 1:
            self._history.append(features)
            return LSResult(run, ls, "warming up", restarted=restart)
        scores = self._score(list(self._history) + [features], state)
        self._history.append(features)
        flags = (scores > self.threshold) & self._eligible & self._fired
        return LSResult(run, ls, "scored", scores, flags, restarted=restart)

    def replay(self, data: OccupancyData, progress: bool = True) -> Replay:
        """Feed every LS of raw-count ``data`` in order (runs and LS as stored) and collect the results."""
        data = validate_raw(data, self.geometry)
        self.reset()
        results = [
            self.update(data.occupancy[i], data.n_events[i], run=int(data.run[i]), ls=int(data.ls[i]))
            for i in tqdm(range(data.n_ls), desc="LS", unit="LS", disable=not progress, leave=False)
        ]
        return Replay(results, self.geometry.n_channels)

    # -- to be provided by the scoring engine --------------------------------------------------------------
    def _encode(self, counts: np.ndarray, n_events: float):
        raise NotImplementedError

    def _score(self, window_features: list, state) -> np.ndarray:
        raise NotImplementedError


def channel_noise(value: np.ndarray | None, n: int) -> np.ndarray:
    """Per-channel error spreads as float32 ``[n]``: finite and positive (None: 1 for every channel)."""
    if value is None:
        return np.ones(n, dtype=np.float32)
    arr = validate._numeric_array(value, "noise")
    if arr.shape != (n,):
        raise ValueError(f"noise must be one spread per channel [{n}], got shape {arr.shape}")
    validate._finite(arr, "noise")
    if arr.min() <= 0:
        raise ValueError(f"noise must be positive, got {arr.min()} at channel {int(arr.argmin())}")
    return arr


def validate_raw(data: OccupancyData, geometry: Geometry) -> OccupancyData:
    """Raw counts of the scorer's geometry (the scorer renormalises by events itself)."""
    if not isinstance(data, OccupancyData):
        raise TypeError(f"data must be OccupancyData of raw counts, got {type(data).__name__}")
    if data.normalised is not None:
        raise ValueError(
            f"online scorers take raw counts and renormalise themselves; data is normalised by {data.normalised!r}"
        )
    validate.same_geometry(data.geometry, geometry, "data", "scorer")
    return data


class Replay:
    """The results of a replayed run: a per-LS table and the per-channel scores of the scored LS.

    Attributes:
        table: one row per LS: run, ls, status, n_flagged, max_score, restarted.
        scores, flags: ``[n_scored, n_channels]``, rows in the order of ``table[table.status == "scored"]``.
    """

    def __init__(self, results: list[LSResult], n_channels: int) -> None:
        self.table = pd.DataFrame(
            {
                "run": [r.run for r in results],
                "ls": [r.ls for r in results],
                "status": [r.status for r in results],
                "n_flagged": [r.n_flagged for r in results],
                "max_score": [float(r.scores.max()) if r.scores is not None else np.nan for r in results],
                "restarted": [r.restarted for r in results],
            }
        )
        scored = [r for r in results if r.scores is not None]
        self.scores = np.stack([r.scores for r in scored]) if scored else np.zeros((0, n_channels), np.float32)
        self.flags = np.stack([r.flags for r in scored]) if scored else np.zeros((0, n_channels), bool)
        self.scored = np.array([r.scores is not None for r in results])


class StreamScorer(Stream):
    """Online GraphSTAD scoring in PyTorch: each LS is encoded once and its features kept for T − 1 windows.

    Args:
        model: a trained :class:`~hcaltl.models.GraphSTAD` (put in eval mode here).
        scaler: the :class:`~hcaltl.preprocess.ChannelScaler` fitted with the model's training data.
        threshold: flag decision in σ (production: 10–30; calibrate with
            :func:`hcaltl.online.calibrate_threshold`).
        noise: per-channel spread of the online error on healthy LS (σ = |error| / noise, production's
            ``ignore_mean`` scaling); None: 1 for every channel (scores in scaled-occupancy units) until
            :meth:`fit_noise` is called.
        masked: channels never flagged (see :class:`Stream`).

    Shapes:
        ``update(counts [64, 72, 7], n_events)`` → :class:`LSResult` with scores ``[n_channels]``.

    Example:
        >>> scorer = StreamScorer(model, scaler).fit_noise(healthy_raw)       # doctest: +SKIP
        >>> result = scorer.update(counts, n_events, run=325170, ls=12)       # doctest: +SKIP
    """

    def __init__(
        self,
        model: GraphSTAD,
        scaler: ChannelScaler,
        threshold: float = DEFAULT_THRESHOLD,
        noise: np.ndarray | None = None,
        masked: np.ndarray | None = None,
    ) -> None:
        if not isinstance(model, GraphSTAD):
            raise TypeError(f"model must be a GraphSTAD, got {type(model).__name__}")
        scale, offset = scaling_maps(scaler)
        validate.same_geometry(scaler.geometry, model.geometry, "scaler", "model")
        super().__init__(model.geometry, model.config.window, threshold, masked)
        self.model = model.eval()
        self.scaler = scaler
        device = next(model.parameters()).device
        self._scale = torch.as_tensor(scale, device=device)
        self._offset = torch.as_tensor(offset, device=device)
        self._mask = model.mask.to(torch.float32)
        self.noise = noise

    @property
    def noise(self) -> np.ndarray:
        return self._noise

    @noise.setter
    def noise(self, value: np.ndarray | None) -> None:
        arr = channel_noise(value, self.geometry.n_channels)
        self._noise = arr
        self._inverse = torch.as_tensor(1.0 / arr, device=self._scale.device)

    def scaled(self, counts: np.ndarray, n_events: float) -> torch.Tensor:
        """Raw counts → renormalised by events → min–max scaled, as the model was trained. Shapes: ``[64, 72, 7]``."""
        x = torch.as_tensor(counts, device=self._scale.device) / float(n_events)
        return (x * self._scale + self._offset) * self._mask

    @torch.no_grad()
    def _encode(self, counts: np.ndarray, n_events: float):
        x = self.scaled(counts, n_events)
        enc = encode_ls(self.model, x[None])
        return enc.features[0], (x, enc)

    @torch.no_grad()
    def errors(self, window_features: list, state) -> torch.Tensor:
        """|reconstruction − input| of the newest LS per channel (scaled units). Shapes: ``[n_channels]``."""
        x, enc = state
        recon = newest_reconstruction(self.model, torch.stack(window_features), enc)
        return (recon - x).abs().reshape(-1)[self.model.node_flat]

    def _score(self, window_features: list, state) -> np.ndarray:
        return (self.errors(window_features, state) * self._inverse).cpu().numpy()

    def fit_noise(self, healthy: OccupancyData, progress: bool = True) -> StreamScorer:
        """Set each channel's noise to the spread of its online error over the LS of healthy raw data (a channel
        with zero spread gets the mean spread), as production's ``PredErrorScaler`` does on training errors.

        Shapes:
            healthy: ``OccupancyData`` of raw counts with at least T consecutive LS in some run.
        """
        self.noise = None
        replay = self.replay(healthy, progress=progress)
        if len(replay.scores) < 2:
            raise ValueError(
                f"fit_noise needs at least 2 scored LS (windows of T = {self.window} consecutive LS "
                f"with events); healthy data gave {len(replay.scores)}"
            )
        spread = replay.scores.std(axis=0)  # noise = 1 while replaying: scores are the raw errors
        positive = spread[spread > 0]
        self.noise = np.where(spread > 0, spread, positive.mean() if len(positive) else 1.0).astype(np.float32)
        return self
