"""The book's fixed colours, markers and names (HE/HB, each transfer configuration, each detector, edge rule
and fault), and the small helpers every panel uses (a new axes when none is given, a grid of panels).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..geometry import DEFAULT_ERA, ERAS, Geometry

#: One colour per subdetector, everywhere in the book.
SUBDETECTOR_COLORS = {"HE": "#d95f02", "HB": "#1b9e77"}
SUBDETECTOR_LABELS = {"HE": "HE (SiPM, source)", "HB": "HB (HPD, target)"}

#: One colour per transfer-learning configuration, everywhere in the book.
CONFIG_COLORS = {
    "RANDOM": "#4d4d4d",
    "TL-1": "#1f77b4",
    "TL-2": "#ff7f0e",
    "TL-2d": "#e377c2",
    "TL-3": "#2ca02c",
    "TL-4": "#17becf",
    "TL-5": "#9467bd",
    "TL-6": "#8c564b",
    "TL-7": "#bcbd22",
}

#: One colour per edge rule of the channel graph.
EDGE_COLORS = {"spatial": "#377eb8", "readout": "#e41a1c"}

#: One colour per injected fault of the online replay (chapter 7).
FAULT_COLORS = {"channel dies": "#d62728", "RM turns noisy": "#9467bd", "slow degradation": "#ff7f0e"}

#: One colour and marker per detector of chapter 5's comparison (GraphSTAD models take their pair's colour).
DETECTOR_STYLES = {
    "per-channel mean": {"color": "#999999", "marker": "s"},
    "PCA (16 components)": {"color": "#377eb8", "marker": "D"},
    "reference test (beta)": {"color": "#4daf4a", "marker": "^"},
    "CNN + LSTM (no GNN)": {"color": "#ff7f00", "marker": "v"},
    "CNN only (no GNN, no LSTM)": {"color": "#b8860b", "marker": "<"},
    # GraphSTAD on each channel graph of chapter 2 (hcaltl.graph.VARIANTS)
    "GraphSTAD, graph: spatial": {"color": "#a65628", "marker": "P"},
    "GraphSTAD, graph: readout (RM, same depth)": {"color": "#984ea3", "marker": "X"},
    "GraphSTAD, graph: readout + spatial (default)": {"color": "#e41a1c", "marker": "o"},
    "GraphSTAD, graph: full RM clique + spatial": {"color": "#f781bf", "marker": "*"},
}


def case_colors(names) -> dict[str, tuple[float, float, float]]:
    """One colour per named case (an anomaly type, a fault), seaborn's colour-blind palette in the order given, so
    that the panels of one figure agree.

    Args:
        names: the cases, in the order of the figure's legend.

    Returns:
        Case → RGB colour.
    """
    import seaborn as sns

    names = list(names)
    return dict(zip(names, sns.color_palette("colorblind", len(names))))


def pair_style(pair: str) -> dict:
    """Colour and line style of an ``"INIT/TRAIN"`` pair: the train mode's colour (the init mode's for No-TL);
    dotted for [BN], dash-dotted for [BN,BIAS]."""
    init, _, train = pair.partition("/")
    base = train.split("[")[0]
    color = CONFIG_COLORS.get(init if base == "No-TL" else base, "black")
    ls = "-." if "BIAS" in train else (":" if "[BN" in train else "-")
    return {"color": color, "ls": ls}


def detector_style(name: str) -> dict:
    """Colour and marker of a detector: :data:`~hcaltl.plotting.style.DETECTOR_STYLES`, or a GraphSTAD named by
    its pair, e.g. ``"GraphSTAD (RANDOM/No-TL)"``."""
    if name in DETECTOR_STYLES:
        return DETECTOR_STYLES[name]
    pair = name[name.find("(") + 1 : name.rfind(")")] if "(" in name else name
    return {"color": pair_style(pair)["color"], "marker": "o"}


def geometry_label(geometry: Geometry) -> str:
    """The book's label of a geometry: the paper's roles for the default HB/HE, else the geometry's name."""
    if geometry.depth_table_name == ERAS[DEFAULT_ERA][geometry.name]:
        return SUBDETECTOR_LABELS[geometry.name]
    return f"{geometry.name}: {geometry.depth_table_name} ({'+'.join(geometry.sensors)})"


def _ax(ax: Axes | None, figsize: tuple[float, float] = (6, 4)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def panels(
    n: int, *, size: tuple[float, float] = (4.8, 3.8), rows: int = 1, sharey: bool = False
) -> tuple[Figure, np.ndarray]:
    """A figure of ``n`` panels in ``rows`` rows, each about ``size`` inches; returns (figure, flat array of axes)."""
    if n < 1 or rows < 1:
        raise ValueError(f"n and rows must be positive, got n={n}, rows={rows}")
    cols = -(-n // rows)
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), sharey=sharey, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat[:n]


def _legend(ax: Axes, **kwargs) -> None:
    """A legend only when something is labelled (an empty sweep cell draws nothing, and warns about nothing)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


def _loglog(ax: Axes, xlabel: str, ylabel: str) -> Axes:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    _legend(ax, fontsize=7, ncol=2)
    return ax


def _per_panel(value, i: int, n: int, name: str):
    """The i-th of a per-panel list, or the one value for every panel."""
    if isinstance(value, list):
        if len(value) != n:
            raise ValueError(f"{name} has {len(value)} values for {n} panels")
        return value[i]
    return value
