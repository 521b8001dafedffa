"""The occupancy data set itself: luminosity and events per LS, occupancy against luminosity, the spread of
channels, the rings' levels against a real detector, and certified LS per run (chapter 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..data import OccupancyData
from .style import SUBDETECTOR_COLORS, SUBDETECTOR_LABELS, _ax, panels


def plot_lumi_timeline(data: OccupancyData, *, ax: Axes | None = None) -> Axes:
    """Instantaneous luminosity and events per LS along the data set, run boundaries dashed."""
    ax = _ax(ax, (8, 3))
    color = SUBDETECTOR_COLORS[data.subdetector]
    ax.plot(data.luminosity, color=color, lw=1)
    ax.set_xlabel("LS index in data set")
    ax.set_ylabel(r"$L$ [$10^{34}$ cm$^{-2}$ s$^{-1}$]", color=color)
    for b in np.flatnonzero(np.diff(data.run)) + 1:
        ax.axvline(b, color="0.6", ls="--", lw=0.6)
    twin = ax.twinx()
    twin.plot(data.n_events, color="0.3", lw=0.5, alpha=0.6)
    twin.set_ylabel("events per LS", color="0.3")
    ax.set_title(f"{data.subdetector}: {len(data.runs())} runs, {data.n_ls} LS")
    return ax


def plot_occupancy_vs_lumi(data: OccupancyData, *, ax: Axes | None = None, label: str | None = None) -> Axes:
    """Mean occupancy per LS (over active channels) against instantaneous luminosity."""
    ax = _ax(ax)
    mean = data.node_values().mean(axis=1)
    ax.scatter(
        data.luminosity,
        mean,
        s=3,
        alpha=0.4,
        color=SUBDETECTOR_COLORS[data.subdetector],
        label=label or SUBDETECTOR_LABELS[data.subdetector],
    )
    ax.set_xlabel(r"$L$ [$10^{34}$ cm$^{-2}$ s$^{-1}$]")
    ax.set_ylabel(
        "mean occupancy"
        + (" (fraction of events)" if data.normalised == "events" else " (counts)" if data.normalised is None else "")
    )
    return ax


def plot_channel_distribution(data: OccupancyData, *, ax: Axes | None = None, bins: int = 60, log: bool = True) -> Axes:
    """Histogram of per-channel mean occupancy over the data set."""
    ax = _ax(ax)
    mean = data.node_values().mean(axis=0)
    ax.hist(
        mean,
        bins=bins,
        histtype="stepfilled",
        alpha=0.5,
        color=SUBDETECTOR_COLORS[data.subdetector],
        label=SUBDETECTOR_LABELS[data.subdetector],
    )
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("mean occupancy of a channel")
    ax.set_ylabel("channels")
    return ax


def plot_ring_levels(
    datasets: Sequence[OccupancyData], labels: Sequence[str], *, depth: int = 1, ax: Axes | None = None
) -> Axes:
    """Mean occupancy fraction of each |ieta| ring at one depth, one line per data set (e.g. a real detector,
    its calibrated simulation and the default one).  Dead channels (no hit at all) are left out."""
    if len(datasets) != len(labels):
        raise ValueError(f"give one label per data set: {len(datasets)} data sets, {len(labels)} labels")
    ax = _ax(ax)
    styles = ("-o", "--s", ":^", "-.v")
    for i, (data, label) in enumerate(zip(datasets, labels)):
        frac = data.node_values() if data.normalised == "events" else data.node_values() / data.n_events[:, None]
        ch = data.geometry.channels.assign(f=frac.mean(axis=0), aeta=data.geometry.channels["ieta"].abs())
        ring = ch[(ch["depth"] == depth) & (ch["f"] > 0)].groupby("aeta")["f"].mean()
        ax.plot(
            ring.index,
            ring.to_numpy(),
            styles[i % len(styles)],
            ms=4,
            label=label,
            color=SUBDETECTOR_COLORS[data.subdetector] if i == 0 else f"C{i + 1}",
        )
    ax.set(xlabel="|ieta|", ylabel=f"mean fraction of events, depth {depth}", ylim=(0, None))
    ax.legend()
    return ax


def plot_certified_ls(runs: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Certified lumisections of each run, in run order (log scale), from a certification table."""
    ax = _ax(ax, (11, 2.8))
    ax.bar(np.arange(len(runs)), runs["certified LS"], width=1.0, color="gray")
    ax.set_xlabel("run (in order)")
    ax.set_ylabel("certified LS")
    ax.set_yscale("log")
    return ax


def stacked_figure(plot, datasets: list, *, size: tuple[float, float] = (9, 2.75)) -> Figure:
    """One panel per data set, stacked: ``plot(data, ax=ax)`` for each (e.g. :func:`plot_lumi_timeline`)."""
    fig, axes = panels(len(datasets), rows=len(datasets), size=size)
    for ax, data in zip(axes, datasets):
        plot(data, ax=ax)
    fig.tight_layout()
    return fig


def renormalisation_figure(raw: list[OccupancyData], renormalised: list[OccupancyData]) -> Figure:
    """Mean occupancy against luminosity before (raw counts) and after renormalisation by the events."""
    fig, axes = panels(2, size=(5.5, 3.8))
    for data in raw:
        plot_occupancy_vs_lumi(data, ax=axes[0])
    for data in renormalised:
        plot_occupancy_vs_lumi(data, ax=axes[1])
    axes[0].set_title("raw counts: one band per trigger rate")
    axes[1].set_title("renormalised by events: one curve")
    axes[1].legend(markerscale=4)
    fig.tight_layout()
    return fig
