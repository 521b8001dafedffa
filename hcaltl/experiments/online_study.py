"""Chapter 7's replay: a simulated run with faults that start part-way, the parity of the exported graph, and the
latency table.

The faults persist from their onset to the end of the run, each on one fixed set of channels
(:func:`hcaltl.anomalies.inject` with ``regions=``): a channel that dies, a readout module (RM) that turns noisy
(``"rm_noisy"``), and a box of channels whose response drifts down (``"drift"``: a slow degradation). Explained in
chapter 7 (``notebooks/07_online_monitoring.ipynb``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import readout, validate
from ..anomalies import draw_regions, inject, readout_region, region_of
from ..data import OccupancyData
from ..online import Replay

#: Pooling margin (:func:`hcaltl.online.pooling_margin`) below which two engines may unpool differently: a few
#: float32 roundings of the convolution's terms.
NEAR_TIE = 1e-6

#: The slow degradation's final response: it drifts linearly from 1 to this over ``drift_ls`` LS, then holds.
DRIFT_FACTOR = 0.4
#: LS over which the slow degradation falls to :data:`DRIFT_FACTOR` (90 LS: 35 minutes).
DRIFT_LS = 90


@dataclass
class FaultyRun:
    """A run with faults injected part-way.

    Attributes:
        data: the raw counts with the faults.
        labels: bool ``[n_ls, n_channels]``: the channel is changed at that LS.
        onsets: fault name → first LS number it changes.
        channels: fault name → its channel indices.
    """

    data: OccupancyData
    labels: np.ndarray
    onsets: dict[str, int]
    channels: dict[str, np.ndarray]


def longest_run(data: OccupancyData) -> OccupancyData:
    """The LS of the run with most LS (the replay needs one uninterrupted run)."""
    runs, sizes = np.unique(data.run, return_counts=True)
    return data.select(np.flatnonzero(data.run == runs[np.argmax(sizes)]))


def _random_rm(data: OccupancyData, seed: int) -> str:
    """The name of one readout module, drawn at random (seeded)."""
    names = sorted(readout.units(data.geometry, "rm"))
    return names[int(np.random.default_rng(seed).integers(len(names)))]


def faulty_run(run: OccupancyData, onsets: dict[str, float], *, seed: int = 0, drift_ls: int = DRIFT_LS) -> FaultyRun:
    """Inject chapter 7's three faults into one run of raw counts.

    Args:
        run: raw counts of one run (:func:`longest_run`).
        onsets: ``{"channel dies": f1, "RM turns noisy": f2, "slow degradation": f3}``, each the fraction of the
            run (0–1) at which the fault starts.
        seed: picks the channel, the RM and the degrading box.
        drift_ls: LS over which the slow degradation falls linearly to :data:`DRIFT_FACTOR`; when the run ends
            first, the response is still falling at its last LS.
    """
    if run.normalised is not None or len(np.unique(run.run)) != 1:
        raise ValueError("faulty_run needs the raw counts of one run")
    known = ("channel dies", "RM turns noisy", "slow degradation")
    unknown = sorted(set(onsets) - set(known))
    if unknown:
        raise ValueError(f"unknown faults {unknown}; valid faults are {', '.join(known)}")
    drift_ls = validate.count(drift_ls, "drift_ls")
    geometry, n = run.geometry, run.n_ls
    rng = np.random.default_rng(seed)
    busy = geometry.map_to_nodes(run.occupancy).mean(axis=0) > 0  # channels that fire: a dead one must have fired
    regions = {
        "channel dies": region_of(geometry, [int(rng.choice(np.flatnonzero(busy)))]),
        "RM turns noisy": readout_region(geometry, _random_rm(run, seed)),
        "slow degradation": draw_regions(geometry, 1, rng)[0],
    }
    data, labels, first = run, np.zeros((n, geometry.n_channels), dtype=bool), {}
    for name, fraction in onsets.items():
        start = min(int(round(validate.fraction(fraction, f"onsets[{name!r}]", one=False) * n)), n - 1)
        if name == "slow degradation":
            left = min(drift_ls, n - start)  # a run that ends first stops the drift part-way, at the same slope
            injected = inject(
                data,
                "drift",
                1 - (1 - DRIFT_FACTOR) * left / drift_ls,
                regions=regions[name],
                onset=start,
                drift_ls=left,
            )
        else:
            kind = "dead" if name == "channel dies" else "rm_noisy"
            injected = inject(data, kind, samples=np.arange(start, n), regions=regions[name])
        data, labels = injected.data, labels | injected.labels
        first[name] = int(run.ls[start])
    return FaultyRun(data, labels, first, {k: regions[k].nodes for k in onsets})


def detection_delays(replay: Replay, faulty: FaultyRun) -> pd.DataFrame:
    """For each fault: its onset, the first LS at which one of its channels is flagged, the delay in LS and in
    minutes (23.3 s per LS), and the share of its LS (after the onset) with at least one of its channels flagged."""
    from ..data import LS_SECONDS

    table = replay.table
    ls = table["ls"].to_numpy()[replay.scored]
    rows = {}
    for name, onset in faulty.onsets.items():
        mine = replay.flags[:, faulty.channels[name]].any(axis=1)
        after = ls >= onset
        hit = np.flatnonzero(mine & after)
        first = int(ls[hit[0]]) if len(hit) else None
        rows[name] = {
            "onset LS": onset,
            "first flagged LS": first,
            "delay [LS]": (first - onset) if first is not None else np.nan,
            "delay [min]": (first - onset) * LS_SECONDS / 60 if first is not None else np.nan,
            "LS flagged after onset": float(mine[after].mean()) if after.any() else np.nan,
            "channels": len(faulty.channels[name]),
        }
    return pd.DataFrame(rows).T


def drift_caught(delays: pd.DataFrame, drift_ls: int = DRIFT_LS) -> str:
    """When the slow degradation of :func:`detection_delays`' table was first flagged, in words: the delay and the
    response left at that LS (drifting to :data:`DRIFT_FACTOR` over ``drift_ls`` LS), or that it never was."""
    delay = delays.loc["slow degradation", "delay [LS]"]
    if pd.isna(delay):
        return "is never flagged before the run ends"
    left = 1 - (1 - DRIFT_FACTOR) * min(int(delay) + 1, drift_ls) / drift_ls
    return f"is first flagged {int(delay)} lumisections after its onset, with {100 * left:.0f} % of its response left"


def parity_summary(expected: Replay, got: Replay, margins: np.ndarray, noise: np.ndarray) -> dict[str, float]:
    """How the ONNX replay compares with PyTorch's: the largest difference of reconstruction errors (σ × noise) on
    LS without a near-tie of the encoder's pooling (margin ≥ :data:`NEAR_TIE`), on all LS, and how many LS have
    such a near-tie and how many of those differ."""
    diff = np.abs(got.scores - expected.scores) * noise
    clear = margins[expected.scored] >= NEAR_TIE
    per_ls = diff.max(axis=1)
    return {
        "scored LS": int(len(per_ls)),
        "max error difference (clear LS)": float(per_ls[clear].max()) if clear.any() else np.nan,
        "LS with a near-tie": int((~clear).sum()),
        "near-tie LS that differ > 1e-4": int((per_ls[~clear] > 1e-4).sum()),
        "max error difference (all LS)": float(per_ls.max()),
        "same flagged counts": float((got.flags.sum(1) == expected.flags.sum(1)).mean()),
    }


def latency_table(path: str | Path) -> pd.DataFrame | None:
    """The committed online benchmark (``benchmarks/bench_online.py``) as a table, or None if absent."""
    path = Path(path)
    if not path.exists():
        return None
    result = json.loads(path.read_text())
    table = pd.DataFrame(result["rows"]).set_index("description")
    table = table[["median_ms", "p99_ms", "peak_rss_mb", "share_of_ls"]]
    table.columns = ["median [ms]", "p99 [ms]", "peak memory [MB]", "share of a 23.3 s LS"]
    table.attrs.update(commit=result.get("commit"), machine=result.get("machine", {}), setup=result.get("setup", {}))
    return table
