"""Chapter 7's replay: a simulated run with faults that start part-way, the parity of the exported graph, and the
latency table.

The faults persist from their onset to the end of the run, each on one fixed set of channels
(:func:`hcaltl.anomalies.inject` with ``regions=``): a channel that dies, a readout module (RM) that turns noisy,
and a box of channels whose response falls step by step (a slow degradation). Explained in chapter 7
(``notebooks/07_online_monitoring.ipynb``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import validate
from ..anomalies import draw_regions, inject, region_of
from ..data import OccupancyData
from ..online import Replay

#: Pooling margin (:func:`hcaltl.online.pooling_margin`) below which two engines may unpool differently: a few
#: float32 roundings of the convolution's terms.
NEAR_TIE = 1e-6

#: The steps of the slow degradation: the response falls by these factors, one step every ``step_ls`` LS.
DEGRADATION_STEPS = (0.9, 0.8, 0.7, 0.6, 0.5, 0.4)


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


def rm_channels(data: OccupancyData, seed: int) -> np.ndarray:
    """The channels of one readout module, drawn at random (seeded)."""
    ch = data.geometry.channels
    modules = ch.groupby(["rbx_name", "rm"]).indices
    names = sorted(modules)
    pick = names[int(np.random.default_rng(seed).integers(len(names)))]
    return np.sort(modules[pick])


def faulty_run(run: OccupancyData, onsets: dict[str, float], *, seed: int = 0, step_ls: int = 15) -> FaultyRun:
    """Inject chapter 7's three faults into one run of raw counts.

    Args:
        run: raw counts of one run (:func:`longest_run`).
        onsets: ``{"channel dies": f1, "RM turns noisy": f2, "slow degradation": f3}``, each the fraction of the
            run (0–1) at which the fault starts.
        seed: picks the channel, the RM and the degrading box.
        step_ls: LS per step of the slow degradation (:data:`DEGRADATION_STEPS`).
    """
    if run.normalised is not None or len(np.unique(run.run)) != 1:
        raise ValueError("faulty_run needs the raw counts of one run")
    known = ("channel dies", "RM turns noisy", "slow degradation")
    unknown = sorted(set(onsets) - set(known))
    if unknown:
        raise ValueError(f"unknown faults {unknown}; valid faults are {', '.join(known)}")
    step_ls = validate.count(step_ls, "step_ls")
    geometry, n = run.geometry, run.n_ls
    rng = np.random.default_rng(seed)
    busy = geometry.map_to_nodes(run.occupancy).mean(axis=0) > 0  # channels that fire: a dead one must have fired
    channels = {"channel dies": np.array([int(rng.choice(np.flatnonzero(busy)))]),
                "RM turns noisy": rm_channels(run, seed),
                "slow degradation": draw_regions(geometry, 1, rng)[0].nodes}
    data, labels, first = run, np.zeros((n, geometry.n_channels), dtype=bool), {}
    for name, fraction in onsets.items():
        start = int(round(validate.fraction(fraction, f"onsets[{name!r}]", one=False) * n))
        region = region_of(geometry, channels[name])
        if name == "slow degradation":
            steps = [(factor, np.arange(start + i * step_ls, min(start + (i + 1) * step_ls, n)))
                     for i, factor in enumerate(DEGRADATION_STEPS)]
            steps[-1] = (steps[-1][0], np.arange(start + (len(steps) - 1) * step_ls, n))  # the last step holds
            jobs = [("degraded", factor, ls) for factor, ls in steps if len(ls)]
        else:
            jobs = [("dead" if name == "channel dies" else "noisy_hot", None, np.arange(start, n))]
        for kind, factor, samples in jobs:
            injected = inject(data, kind, factor, samples=samples, regions=region)
            data, labels = injected.data, labels | injected.labels
        first[name] = int(run.ls[min(start, n - 1)])
    return FaultyRun(data, labels, first, {k: channels[k] for k in onsets})


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
        rows[name] = {"onset LS": onset, "first flagged LS": first,
                      "delay [LS]": (first - onset) if first is not None else np.nan,
                      "delay [min]": (first - onset) * LS_SECONDS / 60 if first is not None else np.nan,
                      "LS flagged after onset": float(mine[after].mean()) if after.any() else np.nan,
                      "channels": len(faulty.channels[name])}
    return pd.DataFrame(rows).T


def parity_summary(expected: Replay, got: Replay, margins: np.ndarray, noise: np.ndarray) -> dict[str, float]:
    """How the ONNX replay compares with PyTorch's: the largest difference of reconstruction errors (σ × noise) on
    LS without a near-tie of the encoder's pooling (margin ≥ :data:`NEAR_TIE`), on all LS, and how many LS have such a near-tie
    and how many of those differ."""
    diff = np.abs(got.scores - expected.scores) * noise
    clear = margins[expected.scored] >= NEAR_TIE
    per_ls = diff.max(axis=1)
    return {"scored LS": int(len(per_ls)), "max error difference (clear LS)": float(per_ls[clear].max()) if clear.any() else np.nan,
            "LS with a near-tie": int((~clear).sum()), "near-tie LS that differ > 1e-4": int((per_ls[~clear] > 1e-4).sum()),
            "max error difference (all LS)": float(per_ls.max()),
            "same flagged counts": float((got.flags.sum(1) == expected.flags.sum(1)).mean())}


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
