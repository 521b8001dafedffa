"""Synthetic channel faults injected into occupancy maps, with exact per-channel labels.

The anomaly types of Asres et al. (paper A), following the authors' generator:

* ``"degraded"`` — occupancy × ρ, ρ in :data:`DEGRADED_FACTORS` (0.8, 0.6, 0.4, 0.2);
* ``"dead"`` — occupancy × 0;
* ``"noisy_hot"`` — occupancy × 2 (capped at every event, the physical ceiling);
* ``"fully_hot"`` — the channel fires in every event: occupancy = number of events (1 after renormalisation).

Each anomalous sample (LS, or window) gets one region: a box of channels on one detector side spanning at
least two cells along ieta, iphi and depth (iphi at most six, about one RBX sector; no wrap), or a single
channel. Boxes are drawn before the anomaly is applied, so the same seed gives the same places for every
kind and factor. Inactive cells, and cells whose value is 0 or not finite, are never changed or labelled.

Faults that follow the readout electronics (:mod:`hcaltl.readout`) rather than the geometry:

* ``"rm_dead"`` — every channel of one readout module × 0;
* ``"rm_noisy"`` — one RM fires on noise in a share p of events on top of its signal (an HPD discharge; the
  simulator's noise bursts made persistent): x → x + (1 − x)·p, p = ``factor`` (default :data:`NOISY_RM_LEVEL`);
* ``"rbx_degraded"`` — every channel of one RBX × ρ (a power or bias-voltage fault), ρ = ``factor``;
* ``"qie_degraded"`` — the channels of one QIE card × ρ;
* ``"drift"`` — the response of one RM (or channel, card, RBX, box: ``shape``) falls linearly from 1 to ρ over
  ``drift_ls`` lumisections and stays there: a slow fault, not a step. Lumisection data only, in stored order.

Explained in chapter 5 (``notebooks/05_anomaly_detection.ipynb``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from . import readout, validate
from .data import OccupancyData
from .geometry import Geometry
from .preprocess import ChannelScaler

PAPER_KINDS = ("degraded", "dead", "noisy_hot", "fully_hot")
READOUT_KINDS = ("rm_dead", "rm_noisy", "rbx_degraded", "qie_degraded", "drift")
KINDS = PAPER_KINDS + READOUT_KINDS
#: The remaining response of the paper's degraded boxes.
DEGRADED_FACTORS = (0.8, 0.6, 0.4, 0.2)
FACTORS = {"dead": 0.0, "noisy_hot": 2.0, "rm_dead": 0.0}
#: Extra firing probability per event of a noisy RM when ``factor`` is not given.
NOISY_RM_LEVEL = 0.1
#: Lumisections over which a drift falls to its final response, unless ``drift_ls`` says otherwise.
DRIFT_LS = 30
#: The region each readout-shaped kind hits (``drift`` takes any ``shape``; an RM by default).
UNIT_OF_KIND = {"rm_dead": "rm", "rm_noisy": "rm", "rbx_degraded": "rbx", "qie_degraded": "qie", "drift": "rm"}
SHAPES = ("box", "single", "mixed", "rm", "rbx", "qie")
IPHI_SPAN = (1, 5)  # allowed |Δiphi| between box edges (authors: one RBX sector covers 4 iphi)


@dataclass(frozen=True)
class Region:
    """Channels hit by one anomaly: node indices, the box that spans them and, for a readout unit, its name."""

    side: int
    ieta: tuple[int, int]
    iphi: tuple[int, int]
    depth: tuple[int, int]
    nodes: np.ndarray
    unit: str | None = None


@dataclass
class Injected:
    """Result of :func:`inject`.

    Attributes:
        data: the changed data, of the input's type (:class:`~hcaltl.data.OccupancyData` or windows array).
        labels: bool ``[n_samples, n_channels]``: the channel was changed (for windows: on the last LS).
        samples: indices of the samples that carry an anomaly.
        regions: one :class:`Region` per anomalous sample.
        kind, factor: what was injected.
    """

    data: OccupancyData | np.ndarray
    labels: np.ndarray
    samples: np.ndarray
    regions: list[Region]
    kind: str
    factor: float | None

    @property
    def anomalous_fraction(self) -> float:
        """Share of samples with at least one labelled channel."""
        return float(self.labels.any(axis=1).mean())


def _draw_edges(rng: np.random.Generator, lo: int, hi: int, span: tuple[int, int]) -> tuple[int, int]:
    """Two edges in [lo, hi] whose distance lies in span (inclusive); the box spans both."""
    if hi - lo < span[0]:
        raise ValueError(f"axis range {lo}..{hi} is too short for a box of at least {span[0] + 1} cells")
    while True:
        a, b = sorted(rng.integers(lo, hi + 1, size=2))
        if span[0] <= b - a <= span[1]:
            return int(a), int(b)


def draw_regions(geometry: Geometry, n: int, seed: int | np.random.Generator = 0, shape: str = "box") -> list[Region]:
    """``n`` random regions of active channels: boxes of ≥ 2 cells per axis, single channels, a mix of both, or
    whole readout units (``"rm"``, ``"rbx"``, ``"qie"`` card; each unit equally likely)."""
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    rng = np.random.default_rng(seed)
    if shape in readout.LEVELS:
        found = readout.units(geometry, shape)
        names = list(found)
        return [region_of(geometry, found[names[k]], unit=names[k]) for k in rng.integers(len(names), size=n)]
    ch = geometry.channels
    side, ieta, iphi, depth = (ch[c].to_numpy() for c in ("side", "ieta", "iphi", "depth"))
    abs_ieta = np.abs(ieta)
    lo, hi = geometry.ieta_range
    dmax = int(depth.max())
    regions = []
    for _ in range(n):
        if shape == "single" or (shape == "mixed" and rng.random() < 0.5):
            node = int(rng.integers(geometry.n_channels))
            regions.append(
                Region(
                    int(side[node]),
                    (int(abs_ieta[node]),) * 2,
                    (int(iphi[node]),) * 2,
                    (int(depth[node]),) * 2,
                    np.array([node]),
                )
            )
            continue
        while True:
            s = int(rng.choice([-1, 1]))
            e = _draw_edges(rng, lo, hi, (1, hi - lo))
            p = _draw_edges(rng, 1, 72, IPHI_SPAN)
            d = _draw_edges(rng, 1, dmax, (1, dmax - 1)) if dmax > 1 else (1, 1)
            hit = (
                (side == s)
                & (abs_ieta >= e[0])
                & (abs_ieta <= e[1])
                & (iphi >= p[0])
                & (iphi <= p[1])
                & (depth >= d[0])
                & (depth <= d[1])
            )
            if hit.any():
                regions.append(Region(s, e, p, d, np.flatnonzero(hit)))
                break
    return regions


def region_of(geometry: Geometry, nodes, unit: str | None = None) -> Region:
    """The :class:`Region` of given channels (its box spans them), to inject the same fault into many samples.

    Args:
        geometry: the channels' geometry.
        nodes: channel indices (or a boolean mask over the channels), all on one side of the detector.
        unit: the readout unit they make up, if any (kept on the region for tables and figures).
    """
    nodes = validate.indices(nodes, "nodes", geometry.n_channels)
    if len(nodes) == 0:
        raise ValueError("nodes must name at least one channel")
    ch = geometry.channels.iloc[nodes]
    sides = np.unique(ch["side"].to_numpy())
    if len(sides) != 1:
        raise ValueError(f"a region lies on one side of the detector; nodes span sides {sides.tolist()}")
    span = lambda column: (int(ch[column].min()), int(ch[column].max()))  # noqa: E731
    return Region(
        int(sides[0]),
        tuple(int(v) for v in (np.abs(ch["ieta"]).min(), np.abs(ch["ieta"]).max())),
        span("iphi"),
        span("depth"),
        np.sort(nodes),
        unit,
    )


def readout_region(geometry: Geometry, name: str) -> Region:
    """The :class:`Region` of one named readout unit: RBX ``"HBM03"``, RM ``"HBM03-RM2"`` or QIE card
    ``"HBM03-RM2-QIE1"`` (:mod:`hcaltl.readout`), to inject a fault into that unit."""
    return region_of(geometry, readout.unit_nodes(geometry, name), unit=name)


def _factor(kind: str, factor: float | None) -> float | None:
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"unknown anomaly kind {kind!r}; valid kinds are {', '.join(KINDS)}")
    if kind in ("degraded", "rbx_degraded", "qie_degraded", "drift"):
        if factor is None:
            raise ValueError(f"{kind!r} needs a factor (the remaining response), e.g. one of {DEGRADED_FACTORS}")
        return validate.real(factor, f"the factor of {kind!r}", low=0.0, high=1.0, low_open=True, high_open=True)
    if kind == "rm_noisy":
        level = NOISY_RM_LEVEL if factor is None else factor
        return validate.real(
            level, "the factor of 'rm_noisy' (extra firing probability per event)", low=0.0, high=1.0, low_open=True
        )
    if factor is not None:
        raise ValueError(f"{kind!r} has a fixed definition; do not pass a factor (got {factor})")
    return FACTORS.get(kind)


def _apply(values: np.ndarray, kind: str, factor: float | np.ndarray | None, full: np.ndarray) -> np.ndarray:
    """New values for selected cells (``full``: the every-event value of each, broadcastable)."""
    if kind == "fully_hot":
        return np.broadcast_to(full, values.shape).astype(values.dtype)
    if kind == "rm_noisy":
        return (values + (full - values) * factor).astype(values.dtype)
    return np.minimum(values * factor, full).astype(values.dtype)


def _shape_for(kind: str, shape: str | None) -> str:
    if shape is None:
        return UNIT_OF_KIND.get(kind, "box")
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    if kind in UNIT_OF_KIND and kind != "drift" and shape != UNIT_OF_KIND[kind]:
        raise ValueError(f"{kind!r} hits one {UNIT_OF_KIND[kind]!r}; leave shape unset (got shape={shape!r})")
    return shape


def _drift_samples(n: int, drift_ls, onset, samples, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The LS a drift changes (from its onset to the end) and the share of the way to the final response at each."""
    if samples is not None:
        raise ValueError("a drift is one fault from its onset on: pass onset=, not samples=")
    drift_ls = validate.count(drift_ls, "drift_ls")
    if drift_ls > n:
        raise ValueError(f"drift_ls={drift_ls} is longer than the data ({n} LS)")
    if onset is None:
        onset = int(rng.integers(n - drift_ls + 1))
    onset = validate.count(onset, "onset", minimum=0)
    if onset + drift_ls > n:
        raise ValueError(f"a drift of drift_ls={drift_ls} LS from onset={onset} runs past the data's {n} LS")
    steps = np.arange(onset, n)
    return steps, np.minimum(1.0, (steps - onset + 1) / drift_ls)


def inject(
    data: OccupancyData | np.ndarray,
    kind: str,
    factor: float | None = None,
    seed: int = 0,
    *,
    fraction: float = 1.0,
    samples: np.ndarray | None = None,
    shape: str | None = None,
    where: Literal["last", "all"] = "last",
    geometry: Geometry | str | None = None,
    scaler: ChannelScaler | None = None,
    regions: Region | list[Region] | None = None,
    drift_ls: int = DRIFT_LS,
    onset: int | None = None,
) -> Injected:
    """Inject one kind of channel anomaly into a data set or into windows.

    Args:
        data: an :class:`~hcaltl.data.OccupancyData` (raw counts or renormalised by events; one sample per LS),
            or windows ``[n, T, 64, 72, 7]`` of renormalised occupancy (one sample per window; pass ``scaler`` when
            they are min–max scaled, as from :func:`~hcaltl.preprocess.prepare_windows`).
        kind: the paper's ``"degraded"``, ``"dead"``, ``"noisy_hot"``, ``"fully_hot"``, or a readout-shaped
            ``"rm_dead"``, ``"rm_noisy"``, ``"rbx_degraded"``, ``"qie_degraded"``, ``"drift"`` (module docstring).
        factor: ρ in (0, 1) for ``"degraded"``, ``"rbx_degraded"``, ``"qie_degraded"`` and ``"drift"`` (its final
            response); the extra firing probability p for ``"rm_noisy"``; None for the other kinds.
        seed: seeds the choice of samples and regions (the same for every kind and factor).
        fraction: share of samples that get an anomaly (ignored when ``samples`` is given; not for a drift).
        samples: explicit indices of the samples to change (not for a drift: see ``onset``).
        shape: ``"box"`` (the paper's kinds' default), ``"single"`` channels, ``"mixed"``, or a readout unit
            ``"rm"``, ``"rbx"``, ``"qie"``; the readout kinds fix their own, a drift hits an ``"rm"`` unless told.
        where: windows only: anomaly on the ``"last"`` LS (its T − 1 predecessors stay healthy) or on ``"all"`` T LS.
        geometry: needed for windows (a Geometry or ``"HB"``/``"HE"``) unless ``scaler`` is given.
        scaler: the fitted :class:`~hcaltl.preprocess.ChannelScaler` of scaled windows; the anomaly is applied in
            renormalised units and the result scaled back.
        regions: the channels to change instead of random boxes: one :class:`Region` for every sample (a fault
            that persists, e.g. from :func:`region_of` or :func:`readout_region`) or one per sample.
        drift_ls: LS over which a drift falls from 1 to ``factor`` (then holds); at most the data's length.
        onset: index of a drift's first changed LS (random, seeded, when None).

    Returns:
        :class:`Injected` with the changed copy and the labels ``[n_samples, n_channels]``.

    Shapes:
        OccupancyData: labels ``[n_ls, n_channels]``; windows: labels ``[n_windows, n_channels]`` (last LS).
    """
    factor = _factor(kind, factor)
    shape = _shape_for(kind, shape)
    if kind == "drift" and not isinstance(data, OccupancyData):
        raise ValueError(
            "a drift unfolds over consecutive lumisections: inject it into an OccupancyData, then cut "
            "windows (got an array of windows)"
        )
    if where not in ("last", "all"):
        raise ValueError(f"where must be 'last' or 'all', got {where!r}")
    if isinstance(data, OccupancyData):
        geom = data.geometry
        if data.normalised not in (None, "events"):
            raise ValueError(f"inject needs raw or events-renormalised data, got normalised={data.normalised!r}")
        nodes = geom.map_to_nodes(data.occupancy).astype(np.float64)[:, None]  # [n, 1, N]
        full = (
            data.n_events.astype(np.float64)[:, None, None] if data.normalised is None else np.ones((len(nodes), 1, 1))
        )
        counts = data.normalised is None  # raw counts stay whole numbers
    else:
        arr = np.asarray(data)
        if arr.ndim != 5 or arr.shape[2:] != (64, 72, 7):
            raise ValueError(f"windows must be [n, T, 64, 72, 7], got {arr.shape}")
        if scaler is None and geometry is None:
            raise ValueError("injecting into windows needs geometry= (or the scaler of scaled windows)")
        geom = scaler.geometry if scaler is not None else validate.geometry(geometry)
        maps = scaler.inverse_transform(arr) if scaler is not None else arr
        nodes = geom.map_to_nodes(maps).astype(np.float64)  # [n, T, N]
        full = np.ones((len(nodes), 1, 1))
        counts = False
    if not np.isfinite(nodes).all():
        raise ValueError("the data contain NaN or inf; clean them before injecting")
    n = len(nodes)
    rng = np.random.default_rng(seed)
    factors = np.full(n, np.nan if factor is None else factor)
    if kind == "drift":
        samples, share = _drift_samples(n, drift_ls, onset, samples, rng)
        factors[samples] = 1 - (1 - factor) * share
    elif samples is None:
        k = int(round(validate.fraction(fraction, "fraction") * n))
        samples = np.sort(rng.choice(n, size=k, replace=False))
    else:
        samples = np.sort(validate.indices(samples, "samples", n))
    if regions is None:
        regions = draw_regions(geom, 1 if kind == "drift" else len(samples), rng, shape)
        regions = regions * len(samples) if kind == "drift" else regions
    else:
        regions = [regions] * len(samples) if isinstance(regions, Region) else list(regions)
        if len(regions) != len(samples) or not all(isinstance(r, Region) for r in regions):
            raise ValueError(f"regions must be one Region or one per sample ({len(samples)}), got {len(regions)} items")
        for r in regions:
            validate.indices(r.nodes, "region nodes", geom.n_channels)
    new = nodes.copy()
    steps = slice(None) if where == "all" else slice(-1, None)
    for i, region in zip(samples, regions):
        cells = new[i, steps][:, region.nodes]
        ok = cells != 0
        changed = _apply(cells, kind, factors[i], full[i])
        changed = np.round(changed) if counts else changed
        new[i][steps, region.nodes] = np.where(ok, changed, cells)  # new[i] is a view
    labels = new[:, -1] != nodes[:, -1]
    if isinstance(data, OccupancyData):
        out = replace(data, occupancy=geom.nodes_to_map(new[:, 0].astype(data.occupancy.dtype)))
    else:
        out_maps = geom.nodes_to_map(new.astype(np.float32))
        out = scaler.transform(out_maps) if scaler is not None else out_maps
    return Injected(out, labels, samples, regions, kind, factor)
