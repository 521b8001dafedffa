"""The channel graph and the model's latent space: edges on the ieta–iphi plane, degree histograms and
2-D embeddings (chapters 2 and 3).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from ..geometry import WIDE_TOWER_IETA, Geometry
from .maps import _ieta_ticks, _rows_of
from .style import EDGE_COLORS, _ax, panels


def plot_graph(
    geometry: Geometry,
    edges: dict[str, np.ndarray],
    depth: int = 1,
    *,
    iphi_range: tuple[int, int] = (1, 12),
    ax: Axes | None = None,
) -> Axes:
    """Channels of one depth as dots on the ieta–iphi plane, with the edges between them.

    Args:
        edges: rule name → edge_index ``[2, E]`` (tensor or array); colours from
            :data:`~hcaltl.plotting.style.EDGE_COLORS`.
        depth: only edges with both ends at this depth are drawn (others are counted in the legend).
        iphi_range: inclusive iphi window to draw (the full ring is too dense to read).
    """
    ax = _ax(ax, (8, 4))
    ch = geometry.channels
    rows = _rows_of(geometry)
    xpos = {r: i for i, r in enumerate(rows)}
    wide = ch["ieta"].abs().to_numpy() >= WIDE_TOWER_IETA
    x = np.array([xpos[r] for r in ch["row"]])
    y = ch["iphi"].to_numpy() + np.where(wide, 0.5, 0.0)  # a 10° tower sits between its two iphi
    lo, hi = iphi_range
    show = (ch["depth"].to_numpy() == depth) & (ch["iphi"].to_numpy() >= lo) & (ch["iphi"].to_numpy() <= hi)
    for name, ei in edges.items():
        ei = np.asarray(ei)
        a, b = ei[0], ei[1]
        keep = show[a] & show[b] & (a < b)
        segs = np.stack([np.stack([x[a[keep]], y[a[keep]]], 1), np.stack([x[b[keep]], y[b[keep]]], 1)], 1)
        color = EDGE_COLORS.get(name, "0.4")
        ax.add_collection(LineCollection(segs, colors=color, linewidths=0.8, alpha=0.7))
        ax.plot([], [], color=color, label=f"{name} ({ei.shape[1] // 2} edges in all)")
    ax.scatter(x[show], y[show], s=10, color="k", zorder=3)
    _ieta_ticks(ax, rows)
    ax.set_ylabel("iphi")
    ax.set_ylim(lo - 0.8, hi + 1.3)
    ax.set_title(f"{geometry.name} channel graph, depth {depth}, iphi {lo}–{hi}")
    ax.legend(loc="upper right", fontsize=8)
    return ax


def plot_degree_hist(degrees: dict[str, np.ndarray], *, ax: Axes | None = None) -> Axes:
    """Histogram of node degrees, one step line per graph variant."""
    ax = _ax(ax)
    top = max(int(np.max(d)) for d in degrees.values())
    bins = np.arange(-0.5, top + 1.5)
    for name, d in degrees.items():
        ax.hist(d, bins=bins, histtype="step", lw=1.5, label=name)
    ax.set_xlabel("degree (neighbours per channel)")
    ax.set_ylabel("channels")
    ax.legend(fontsize=8)
    return ax


def plot_embedding(
    points: np.ndarray, color: np.ndarray, *, ax: Axes | None = None, label: str = "", cmap: str = "viridis"
) -> Axes:
    """2-D embedding (e.g. t-SNE of latents) coloured by a per-point quantity."""
    ax = _ax(ax, (5, 4))
    sc = ax.scatter(points[:, 0], points[:, 1], c=color, s=8, cmap=cmap)
    plt.colorbar(sc, ax=ax, label=label)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def embedding_figure(
    points: np.ndarray, colorings: dict[str, tuple[np.ndarray, str, str]], *, title: str = "latent t-SNE"
) -> Figure:
    """The same 2-D embedding once per colouring ``{name: (values per point, colour-bar label, colormap)}``."""
    fig, axes = panels(len(colorings), size=(5.5, 4))
    for ax, (name, (values, label, cmap)) in zip(axes, colorings.items()):
        plot_embedding(points, values, ax=ax, label=label, cmap=cmap)
        ax.set_title(f"{title}, by {name}")
    fig.tight_layout()
    return fig
