"""From raw occupancy counts to model-ready windows.

The steps, in the order the book applies them:

1. :func:`renormalise` — divide each LS map by its number of events (the
   authors' choice: the value becomes the fraction of events in which the
   channel fired, in [0, 1]) or, optionally, by its integrated luminosity;
2. :func:`split` — train / validation / test by LS block inside each run (the
   authors' rule: LS 1–500 of every run for training, the rest for testing) or
   by whole runs;
3. :class:`ChannelScaler` — per-channel min–max scaling fitted on the training
   LS only;
4. :func:`make_windows` — windows of T consecutive LS (default 5) that never
   cross a run boundary, non-overlapping by default or sliding.

:func:`scoring_windows` is the path for new data scored by a model trained elsewhere: steps 1, 3 (with the
training data's fitted scaler) and 4, without a split.

Explained in chapter 1 (``notebooks/01_detector_and_data.ipynb``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from sklearn.preprocessing import MinMaxScaler

from . import validate
from .data import LS_SECONDS, OccupancyData, as_data
from .geometry import MAP_SHAPE, Geometry

PB_PER_LS_AT_1E34 = 1e34 * LS_SECONDS / 1e36


def renormalise(data: OccupancyData, by: Literal["events", "luminosity"] = "events") -> OccupancyData:
    """Divide each LS map by its event count (default) or its integrated luminosity.

    Args:
        data: raw counts (``data.normalised is None``).
        by: ``"events"`` → fraction of events in which each channel fired, in [0, 1];
            ``"luminosity"`` → hits per pb⁻¹ of integrated luminosity of the LS.

    Returns:
        A new container with ``normalised`` set to ``by``.
    """
    if data.normalised is not None:
        raise ValueError(f"data is already normalised by {data.normalised!r}; renormalise raw counts only")
    if by == "events":
        scale = data.n_events.astype(np.float64)
    elif by == "luminosity":
        scale = data.luminosity * PB_PER_LS_AT_1E34
        if np.any(scale <= 0):
            raise ValueError(
                "cannot renormalise by luminosity: zero luminosity at LS index "
                f"{np.flatnonzero(scale <= 0)[:5].tolist()}"
            )
    else:
        raise ValueError(f"unknown renormalisation {by!r}; use 'events' or 'luminosity'")
    occupancy = data.occupancy / scale.astype(np.float32)[:, None, None, None]
    return replace(data, occupancy=occupancy, normalised=by)


def apply_mask(maps: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Zero the inactive cells of maps ``[..., 64, 72, 7]`` (returns a new array)."""
    maps = np.asarray(maps)
    if maps.shape[-3:] != MAP_SHAPE:
        raise ValueError(f"expected maps of shape [..., 64, 72, 7], got {maps.shape}")
    return np.where(geometry.mask, maps, 0).astype(maps.dtype, copy=False)


@dataclass(frozen=True)
class Split:
    """LS indices of the training, validation and test parts (into the container)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def split(
    data: OccupancyData,
    scheme: Literal["ls_block", "run"] = "ls_block",
    *,
    train_ls: int = 500,
    val_fraction: float = 0.2,
    test_runs: float = 0.3,
    gap: int = 5,
    seed: int = 0,
) -> Split:
    """Train / validation / test LS indices.

    Args:
        data: the container to split.
        scheme: ``"ls_block"`` — in every run, LS 1…``train_ls`` train and the rest test
            (the authors' rule); ``"run"`` — whole runs go to the test part
            (a ``test_runs`` fraction of runs, picked with ``seed``).
        train_ls: last LS number of the training block (``"ls_block"`` only).
        val_fraction: the last fraction of each run's training LS, in time order, is validation.
        test_runs: fraction of runs held out (``"run"`` only).
        gap: LS dropped between training and validation in each run so no window straddles them.
        seed: seed for the choice of test runs.
    """
    data = as_data(data)
    validate.fraction(val_fraction, "val_fraction", one=False)
    validate.count(gap, "gap", minimum=0)
    idx = np.arange(data.n_ls)
    if scheme == "ls_block":
        validate.count(train_ls, "train_ls")
        is_train = data.ls <= train_ls
    elif scheme == "run":
        validate.fraction(test_runs, "test_runs", zero=False, one=False)
        runs = data.runs()
        if len(runs) < 2:
            raise ValueError("splitting by run needs at least two runs; use scheme='ls_block' or simulate more LS")
        n_test = max(1, int(round(test_runs * len(runs))))
        test_set = np.random.default_rng(seed).choice(runs, size=n_test, replace=False)
        is_train = ~np.isin(data.run, test_set)
    else:
        raise ValueError(f"unknown split scheme {scheme!r}; use 'ls_block' or 'run'")
    train, val = [], []
    for run in data.runs():
        in_run = idx[(data.run == run) & is_train]
        n_val = int(round(val_fraction * len(in_run)))
        cut = len(in_run) - n_val
        train.append(in_run[: max(cut - gap, 0)] if n_val else in_run)
        val.append(in_run[cut:])
    result = Split(train=np.concatenate(train), val=np.concatenate(val), test=idx[~is_train])
    if len(result.train) == 0:
        raise ValueError("the split leaves no training LS; lower train_ls/val_fraction or add LS")
    return result


class ChannelScaler:
    """Per-channel min–max scaling to [0, 1], fitted on training maps only.

    Wraps :class:`sklearn.preprocessing.MinMaxScaler` with one column per active
    channel; inactive cells stay 0.  A channel that is constant in the training
    data is shifted to 0 and not scaled.

    Shapes:
        maps in and out: [..., 64, 72, 7].
    """

    def __init__(self, geometry: Geometry | str) -> None:
        self.geometry = validate.geometry(geometry)
        self._scaler = MinMaxScaler(clip=False)
        self.fitted = False

    def _maps(self, maps, name: str) -> np.ndarray:
        """Maps or windows ``[..., 64, 72, 7]``: real, finite, non-empty, zero outside this scaler's geometry."""
        arr = validate._numeric_array(maps, name)
        if arr.ndim < 3 or arr.shape[-3:] != MAP_SHAPE:
            raise ValueError(f"{name} must be maps [..., 64, 72, 7], got shape {arr.shape}")
        if arr.size == 0:
            raise ValueError(f"{name} hold no map (shape {arr.shape})")
        validate._finite(arr, name)
        validate._outside(arr, self.geometry, name)
        return arr

    @classmethod
    def from_range(cls, geometry: Geometry | str, data_min: np.ndarray, data_max: np.ndarray) -> ChannelScaler:
        """A scaler fitted to given per-channel minima and maxima (as stored with a model, e.g. by
        :func:`hcaltl.online.save_scorer`), in their dtype (a float32 range gives the float32 scaling that
        :meth:`fit` on float32 maps gives). Shapes: ``[n_channels]`` each."""
        scaler = cls(geometry)
        n = scaler.geometry.n_channels
        dtype = np.result_type(np.asarray(data_min).dtype, np.asarray(data_max).dtype, np.float32)
        low = validate._numeric_array(data_min, "data_min", dtype=dtype)
        high = validate._numeric_array(data_max, "data_max", dtype=dtype)
        if low.shape != (n,) or high.shape != (n,):
            raise ValueError(
                f"data_min and data_max must be [{n}] for {scaler.geometry.name}, got {low.shape} and {high.shape}"
            )
        validate._finite(np.stack([low, high]), "data_min/data_max")
        if (low > high).any():
            raise ValueError(f"data_min exceeds data_max at channel {int(np.argmax(low > high))}")
        scaler._scaler.fit(np.stack([low, high]))  # two rows: exactly these minima and maxima
        scaler.fitted = True
        return scaler

    def fit(self, maps: np.ndarray) -> ChannelScaler:
        """Each channel's minimum and maximum over the training maps (the range the scaling maps to [0, 1]).

        Shapes:
            maps ``[n_ls, 64, 72, 7]`` (or windows ``[n, T, 64, 72, 7]``) of this scaler's geometry.

        Returns:
            The scaler itself, fitted.
        """
        nodes = self.geometry.map_to_nodes(self._maps(maps, "training maps")).reshape(-1, self.geometry.n_channels)
        self._scaler.fit(nodes)
        self.fitted = True
        return self

    def _check(self) -> None:
        if not self.fitted:
            raise RuntimeError("ChannelScaler is not fitted; call fit(training_maps) first")

    def transform(self, maps: np.ndarray) -> np.ndarray:
        self._check()
        nodes = self.geometry.map_to_nodes(self._maps(maps, "maps"))
        flat = self._scaler.transform(nodes.reshape(-1, self.geometry.n_channels)).astype(np.float32)
        return self.geometry.nodes_to_map(flat.reshape(nodes.shape))

    def inverse_transform(self, maps: np.ndarray) -> np.ndarray:
        self._check()
        nodes = self.geometry.map_to_nodes(self._maps(maps, "scaled maps"))
        flat = self._scaler.inverse_transform(nodes.reshape(-1, self.geometry.n_channels)).astype(np.float32)
        return self.geometry.nodes_to_map(flat.reshape(nodes.shape))

    @property
    def data_min(self) -> np.ndarray:
        self._check()
        return self._scaler.data_min_

    @property
    def data_max(self) -> np.ndarray:
        self._check()
        return self._scaler.data_max_


def window_starts(run: np.ndarray, ls: np.ndarray, length: int = 5, stride: int | None = None) -> np.ndarray:
    """Start indices of windows of ``length`` consecutive LS inside one run.

    A window never crosses a run boundary or a gap in LS numbers.  ``stride``
    defaults to ``length`` (non-overlapping, the authors' choice); 1 gives
    sliding windows.
    """
    if length < 1:
        raise ValueError(f"window length must be >= 1, got {length}")
    stride = length if stride is None else stride
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    run, ls = np.asarray(run), np.asarray(ls)
    breaks = np.flatnonzero((np.diff(run) != 0) | (np.diff(ls) != 1)) + 1
    bounds = np.concatenate(([0], breaks, [len(run)]))
    starts = [np.arange(a, b - length + 1, stride) for a, b in zip(bounds[:-1], bounds[1:]) if b - a >= length]
    return np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)


def make_windows(
    maps: np.ndarray, run: np.ndarray, ls: np.ndarray, length: int = 5, stride: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Cut maps ``[n_ls, ...]`` into windows ``[n_windows, length, ...]`` within runs.

    Returns:
        The windows (a view where possible) and the index of each window's first LS, as a pair.

    Shapes:
        maps: [n_ls, 64, 72, 7] → windows: [n_windows, T, 64, 72, 7].
    """
    maps = np.asarray(maps)
    if len(run) != len(maps) or len(ls) != len(maps):
        raise ValueError(f"run and ls must have one entry per LS ({len(maps)}), got {len(run)} and {len(ls)}")
    starts = window_starts(run, ls, length, stride)
    if len(starts) == 0:
        raise ValueError(f"no window of {length} consecutive LS fits in the data")
    view = np.lib.stride_tricks.sliding_window_view(maps, length, axis=0)  # [n_ls-T+1, ..., T]
    windows = np.moveaxis(view[starts], -1, 1)
    return windows, starts


@dataclass(frozen=True)
class Prepared:
    """Model-ready windows of one data set, with the split and the fitted scaler.

    Attributes:
        windows: ``{"train", "val", "test"}`` → ``[n, T, 64, 72, 7]`` float32, min–max scaled.
        starts: the same keys → index (into ``data``) of each window's first LS.
        split: the :class:`Split` used.
        scaler: the :class:`ChannelScaler` fitted on the training LS.
    """

    windows: dict[str, np.ndarray]
    starts: dict[str, np.ndarray]
    split: Split
    scaler: ChannelScaler


def prepare_windows(data: OccupancyData, window: int = 5, **split_kwargs) -> Prepared:
    """Renormalise (if raw), split, scale on training LS only, and cut windows — the whole chapter-1 pipeline.

    Args:
        data: occupancy of one subdetector, raw counts or already renormalised by events.
        window: LS per window T (consecutive LS of one run).
        **split_kwargs: passed to :func:`split` (the shares and block size of the train/validation/test split).

    Returns:
        :class:`Prepared`: windows and their first LS per part (``"train"``, ``"val"``, ``"test"``), the split and
        the :class:`ChannelScaler` fitted on the training LS.

    Shapes:
        ``windows[part]`` ``[n_windows, T, 64, 72, 7]`` float32, ``starts[part]`` ``[n_windows]``.
    """
    data = as_data(data)
    validate.count(window, "window")
    if data.normalised is None:
        data = renormalise(data)
    parts = split(data, **split_kwargs)
    scaler = ChannelScaler(data.geometry).fit(data.occupancy[parts.train])
    windows, starts = {}, {}
    for name, idx in vars(parts).items():
        if len(idx) == 0:
            raise ValueError(f"the {name} part of the split is empty; use more LS or change the split")
        if len(window_starts(data.run[idx], data.ls[idx], window)) == 0:
            raise ValueError(
                f"the {name} part of the split ({len(idx)} LS) holds no window of {window} consecutive LS; "
                "use more LS, change the split, or score a short sample with scoring_windows()"
            )
        w, s = make_windows(scaler.transform(data.occupancy[idx]), data.run[idx], data.ls[idx], length=window)
        windows[name], starts[name] = w, idx[s]
    return Prepared(windows=windows, starts=starts, split=parts, scaler=scaler)


def scoring_windows(
    data: OccupancyData, scaler: ChannelScaler, window: int = 5, stride: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Windows of new lumisections for a model trained elsewhere: no split, no refit.

    Renormalise (if raw), scale with the *already fitted* ``scaler`` of the model's training data, and cut
    windows within runs: the path for scoring a short real sample (a few LS of your own detector).

    Args:
        data: the LS to score (raw counts or normalised by events).
        scaler: the training data's fitted :class:`ChannelScaler`, of the same geometry.
        window: LS per window T (the model's).
        stride: LS between window starts (default ``window``: non-overlapping; 1: one window per LS).

    Returns:
        The windows ``[n_windows, T, 64, 72, 7]`` float32 and each window's first LS index into ``data``, as a
        pair.

    Explained in chapter 1 (``notebooks/01_detector_and_data.ipynb``, "Your own data").
    """
    if not isinstance(scaler, ChannelScaler):
        raise TypeError(f"scaler must be a fitted ChannelScaler, got {type(scaler).__name__}")
    scaler._check()
    validate.same_geometry(data.geometry, scaler.geometry, "data", "the scaler's fitted geometry")
    if data.normalised is None:
        data = renormalise(data)
    elif data.normalised != "events":
        raise ValueError(
            f"scoring needs maps normalised by events (as the models are trained), got {data.normalised!r}"
        )
    longest = int(
        np.max(np.diff(np.flatnonzero(np.r_[True, (np.diff(data.run) != 0) | (np.diff(data.ls) != 1), True])))
    )
    if longest < window:
        raise ValueError(
            f"no window of {window} consecutive LS fits: the longest stretch of consecutive LS in one run "
            f"has {longest} LS (data holds {data.n_ls} LS)"
        )
    return make_windows(scaler.transform(data.occupancy), data.run, data.ls, length=window, stride=stride)
