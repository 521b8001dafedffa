"""Figures of the book, with fixed colours and names across every chapter.

* ``plot_*`` functions draw one panel: each takes ``ax=`` (a new figure is made when it is None) and returns
  the axes it drew on;
* ``*_figure`` functions lay several such panels out side by side (or stacked) and return the
  :class:`~matplotlib.figure.Figure`, so a chapter's figure is one call.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .data import OccupancyData
from .geometry import DEFAULT_ERA, ERAS, N_IPHI, WIDE_TOWER_IETA, Geometry, row_to_ieta

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


def _ax(ax: Axes | None, figsize: tuple[float, float] = (6, 4)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def panels(n: int, *, size: tuple[float, float] = (4.8, 3.8), rows: int = 1, sharey: bool = False
           ) -> tuple[Figure, np.ndarray]:
    """A figure of ``n`` panels in ``rows`` rows, each about ``size`` inches; returns (figure, flat array of axes)."""
    if n < 1 or rows < 1:
        raise ValueError(f"n and rows must be positive, got n={n}, rows={rows}")
    cols = -(-n // rows)
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), sharey=sharey, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat[:n]


def _rows_of(geometry: Geometry) -> np.ndarray:
    return np.flatnonzero(geometry.mask.any(axis=(1, 2)))


def _ieta_ticks(ax: Axes, rows: np.ndarray, axis: str = "x") -> None:
    """Label a few ieta values on the row axis, never two neighbours (no overlapping labels)."""
    ieta = row_to_ieta(rows)
    wanted = {1, 4, 8, 12, 16, 20, 24, 29}
    pos, lab, last = [], [], -10
    for i, e in enumerate(ieta):
        if abs(int(e)) in wanted and i - last >= 3:
            pos.append(i)
            lab.append(str(int(e)))
            last = i
    if axis == "x":
        ax.set_xticks(pos, lab)
        ax.set_xlabel("ieta")
    else:
        ax.set_yticks(pos, lab)
        ax.set_ylabel("ieta")


def _spread_wide_towers(img: np.ndarray, mask: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For display, let a 10° tower (odd iphi only, |ieta| >= 21) also cover the even iphi after it.

    Shapes:
        img, mask: [len(rows), 72] → same shapes.
    """
    img, mask = img.copy(), mask.copy()
    wide = np.abs(row_to_ieta(rows)) >= WIDE_TOWER_IETA
    img[wide, 1::2] = img[wide, 0::2]
    mask[wide, 1::2] = mask[wide, 0::2]
    return img, mask


def plot_map(
    values: np.ndarray,
    geometry: Geometry,
    depth: int,
    *,
    ax: Axes | None = None,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar: bool = True,
    label: str = "",
) -> Axes:
    """ieta–iphi picture of one depth of a map ``[64, 72, 7]``; inactive cells blank.

    Only the ieta rows of the subdetector are shown (no gap at ieta 0).
    """
    values = np.asarray(values)
    if values.shape != geometry.mask.shape:
        raise ValueError(f"values must have shape {geometry.mask.shape}, got {values.shape}")
    if not 1 <= depth <= 7:
        raise ValueError(f"depth must be in 1…7, got {depth}")
    ax = _ax(ax)
    rows = _rows_of(geometry)
    img, active = _spread_wide_towers(values[rows, :, depth - 1], geometry.mask[rows, :, depth - 1], rows)
    img = np.ma.masked_where(~active, img)
    mesh = ax.pcolormesh(np.arange(len(rows) + 1) - 0.5, np.arange(N_IPHI + 1) + 0.5, img.T, cmap=cmap, vmin=vmin, vmax=vmax, shading="flat")
    _ieta_ticks(ax, rows)
    ax.set_ylabel("iphi")
    ax.set_title(f"{geometry.name} depth {depth}")
    if colorbar:
        plt.colorbar(mesh, ax=ax, label=label, fraction=0.046, pad=0.02)
    return ax


def plot_rbx_wedges(geometry: Geometry, depth: int | None = None, *, ax: Axes | None = None) -> Axes:
    """Channels coloured by their RBX (readout box) on the ieta–iphi plane.

    With ``depth=None`` every (ieta, iphi) tower with at least one active depth is shown.
    """
    ax = _ax(ax)
    rbx_map = np.full(geometry.mask.shape, np.nan)
    ch = geometry.channels
    rbx_map[ch["row"], ch["col"], ch["dep"]] = (ch["rbx"] - 1) % 6 + 6 * (ch["side"] > 0)  # alternate shades per side
    rows = _rows_of(geometry)
    if depth is None:
        img = np.nanmax(np.where(geometry.mask, rbx_map, -np.inf)[rows], axis=2)
        active = geometry.mask[rows].any(axis=2)
    else:
        img, active = rbx_map[rows, :, depth - 1], geometry.mask[rows, :, depth - 1]
    img, active = _spread_wide_towers(img, active, rows)
    img = np.ma.masked_where(~active, img)
    cmap = ListedColormap(plt.get_cmap("Blues")(np.linspace(0.35, 0.9, 6)).tolist() + plt.get_cmap("Oranges")(np.linspace(0.35, 0.9, 6)).tolist())
    ax.pcolormesh(np.arange(len(rows) + 1) - 0.5, np.arange(N_IPHI + 1) + 0.5, img.T, cmap=cmap, vmin=-0.5, vmax=11.5, shading="flat")
    for k in range(1, 19):  # RBX boundaries: RBX k starts at iphi 4k-5
        ax.axhline((4 * k - 5 - 1) % N_IPHI + 0.5, color="k", lw=0.4)
    _ieta_ticks(ax, rows)
    ax.set_ylabel("iphi")
    ax.set_title(f"{geometry.name}: 36 RBX wedges" + ("" if depth is None else f" (depth {depth})"))
    return ax


def geometry_label(geometry: Geometry) -> str:
    """The book's label of a geometry: the paper's roles for the default HB/HE, else the geometry's name."""
    if geometry.depth_table_name == ERAS[DEFAULT_ERA][geometry.name]:
        return SUBDETECTOR_LABELS[geometry.name]
    return f"{geometry.name}: {geometry.depth_table_name} ({'+'.join(geometry.sensors)})"


def plot_depth_profile(geometry: Geometry, *, ax: Axes | None = None) -> Axes:
    """Side view of the segmentation: active depths per ieta (plus side), marker size ∝ iphi count."""
    ax = _ax(ax)
    color = SUBDETECTOR_COLORS[geometry.name]
    cells = geometry.channels.assign(aeta=geometry.channels["ieta"].abs()).groupby(["aeta", "depth"]).size() / 2
    ax.scatter(cells.index.get_level_values(0), cells.index.get_level_values(1), s=cells.to_numpy() * 1.5, marker="s",
               color=color, label=None)
    ax.scatter([], [], marker="s", color=color, label=geometry_label(geometry))
    ax.set_xlabel("|ieta|")
    ax.set_ylabel("depth")
    ax.set_yticks(range(1, 8))
    ax.set_xlim(0, 30)
    ax.set_ylim(0.3, 7.7)
    ax.invert_yaxis()
    return ax


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
    ax.scatter(data.luminosity, mean, s=3, alpha=0.4, color=SUBDETECTOR_COLORS[data.subdetector],
               label=label or SUBDETECTOR_LABELS[data.subdetector])
    ax.set_xlabel(r"$L$ [$10^{34}$ cm$^{-2}$ s$^{-1}$]")
    ax.set_ylabel("mean occupancy" + (" (fraction of events)" if data.normalised == "events" else " (counts)" if data.normalised is None else ""))
    return ax


def plot_channel_distribution(data: OccupancyData, *, ax: Axes | None = None, bins: int = 60, log: bool = True) -> Axes:
    """Histogram of per-channel mean occupancy over the data set."""
    ax = _ax(ax)
    mean = data.node_values().mean(axis=0)
    ax.hist(mean, bins=bins, histtype="stepfilled", alpha=0.5, color=SUBDETECTOR_COLORS[data.subdetector],
            label=SUBDETECTOR_LABELS[data.subdetector])
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("mean occupancy of a channel")
    ax.set_ylabel("channels")
    return ax


#: One colour per edge rule of the channel graph.
EDGE_COLORS = {"spatial": "#377eb8", "readout": "#e41a1c"}


def plot_graph(
    geometry: Geometry,
    edges: dict[str, "np.ndarray"],
    depth: int = 1,
    *,
    iphi_range: tuple[int, int] = (1, 12),
    ax: Axes | None = None,
) -> Axes:
    """Channels of one depth as dots on the ieta–iphi plane, with the edges between them.

    Args:
        edges: rule name → edge_index ``[2, E]`` (tensor or array); colours from :data:`EDGE_COLORS`.
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


def plot_degree_hist(degrees: dict[str, "np.ndarray"], *, ax: Axes | None = None) -> Axes:
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


def plot_history(history, *, ax: Axes | None = None, label: str = "", color: str | None = None) -> Axes:
    """Training (dashed) and validation (solid) loss per epoch of a :class:`hcaltl.train.History`."""
    ax = _ax(ax)
    epochs = np.arange(1, len(history.train_loss) + 1)
    line, = ax.plot(epochs, history.val_loss, marker="o", label=f"{label} validation".strip(), color=color)
    ax.plot(epochs, history.train_loss, ls="--", color=line.get_color(), label=f"{label} training".strip())
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("masked MSE")
    ax.legend(fontsize=8)
    return ax


def plot_embedding(points: np.ndarray, color: np.ndarray, *, ax: Axes | None = None, label: str = "",
                   cmap: str = "viridis") -> Axes:
    """2-D embedding (e.g. t-SNE of latents) coloured by a per-point quantity."""
    ax = _ax(ax, (5, 4))
    sc = ax.scatter(points[:, 0], points[:, 1], c=color, s=8, cmap=cmap)
    plt.colorbar(sc, ax=ax, label=label)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


# -- transfer learning (chapter 4) --------------------------------------------------------------------
def pair_style(pair: str) -> dict:
    """Colour and line style of an ``"INIT/TRAIN"`` pair: the train mode's colour (the init mode's for No-TL);
    dotted for [BN], dash-dotted for [BN,BIAS]."""
    init, _, train = pair.partition("/")
    base = train.split("[")[0]
    color = CONFIG_COLORS.get(init if base == "No-TL" else base, "black")
    ls = "-." if "BIAS" in train else (":" if "[BN" in train else "-")
    return {"color": color, "ls": ls}


def _legend(ax: Axes, **kwargs) -> None:
    """A legend only when something is labelled (an empty sweep cell draws nothing, and warns about nothing)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


def plot_learning_curves(curves: dict[str, list[float]], *, ax: Axes | None = None) -> Axes:
    """Validation MSE per epoch for each pair (``{pair: [loss per epoch]}``)."""
    ax = _ax(ax, (6.5, 4))
    for pair, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", ms=3, label=pair, **pair_style(pair))
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("HB validation MSE")
    _legend(ax, fontsize=7, ncol=2)
    return ax


def _loglog(ax: Axes, xlabel: str, ylabel: str) -> Axes:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    _legend(ax, fontsize=7, ncol=2)
    return ax


def plot_mse_vs_fraction(summary, *, ax: Axes | None = None, pairs: list[str] | None = None) -> Axes:
    """Mean test MSE (over seeds) against the share of HB training data, per pair."""
    ax = _ax(ax, (6.5, 4))
    for pair, part in summary.groupby("pair", sort=False):
        if pairs is not None and pair not in pairs:
            continue
        part = part.sort_values("fraction")
        ax.plot(part["fraction"], part["mean_mse"], marker="o", ms=4, label=pair, **pair_style(pair))
    return _loglog(ax, "share of the HB training windows", "HB test MSE (mean over seeds)")


def plot_trainable_vs_mse(summary, *, ax: Axes | None = None) -> Axes:
    """Trainable parameters (% change vs RANDOM) against the test MSE, one point per pair."""
    ax = _ax(ax, (6.5, 4))
    for row in summary.itertuples():
        style = pair_style(row.pair)
        ax.scatter(100 + row.trainable_change_pct, row.mean_mse, color=style["color"], marker="o" if style["ls"] == "-" else "s",
                   s=40, label=row.pair, edgecolor="black", linewidth=0.5)
    return _loglog(ax, "trainable parameters (% of the model)", "HB test MSE")


def plot_changes_vs_paper(table: pd.DataFrame, *, ax: Axes | None = None, label: str | None = None,
                          marker: str = "o", filled: bool = True, diagonal: bool = True) -> Axes:
    """Our % change of the test MSE against RANDOM/No-TL against the paper's, one point per pair with the spread
    over seeds as an error bar, and the line where the two agree (chapter 4).

    Args:
        table: one row per pair (index), with ``ours %``, ``sd over seeds`` and ``paper block 1 %``
            (:func:`hcaltl.experiments.paper_scale.changes_vs_paper`).
        label: one legend entry for all the points (None: one per pair); marker, filled: their look.
        diagonal: draw the line of agreement over everything on ``ax`` (draw it with the last table).
    """
    need = {"ours %", "sd over seeds", "paper block 1 %"}
    if not need <= set(table.columns):
        raise ValueError(f"table lacks columns {sorted(need - set(table.columns))}; expected one row per pair with "
                         f"{sorted(need)}")
    ax = _ax(ax, (5, 4.5))
    for pair, row in table.iterrows():
        style = pair_style(str(pair))
        ax.errorbar(row["paper block 1 %"], row["ours %"], yerr=row["sd over seeds"] if pd.notna(row["sd over seeds"])
                    else None, fmt=marker, color=style["color"], mfc=style["color"] if filled else "white",
                    mec="black" if filled else style["color"], mew=0.5 if filled else 1.5, capsize=3,
                    label=pair if label is None else None)
    if label is not None and len(table):  # one neutral legend entry for the group
        ax.plot([], [], ls="none", marker=marker, color="grey", mfc="grey" if filled else "white", mec="grey",
                mew=0.5 if filled else 1.5, label=label)
    if diagonal and ax.has_data():
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        line = [min(x0, y0, 0.0), max(x1, y1, 0.0)]
        ax.plot(line, line, color="grey", lw=0.8, ls="--", label="as in the paper")
    ax.set_xlabel("paper: change vs RANDOM/No-TL (%)")
    ax.set_ylabel("ours: change vs RANDOM/No-TL (%)")
    _legend(ax, fontsize=7)
    return ax


def paper_transfer_figure(changes: pd.DataFrame, summary: pd.DataFrame, unpooled: pd.DataFrame | None = None
                          ) -> Figure:
    """Chapter 4 at paper scale: our changes against the paper's (:func:`plot_changes_vs_paper`; the unpooled
    model's as open squares when given) and the test MSE against the share of HB data (:func:`plot_mse_vs_fraction`,
    constant schedule)."""
    fig, axes = panels(2, size=(5.6, 4.6))
    if unpooled is not None and not unpooled.empty:
        plot_changes_vs_paper(unpooled, ax=axes[0], label="no DC, Table 5's sizes", marker="s", filled=False,
                              diagonal=False)
    plot_changes_vs_paper(changes, ax=axes[0])
    axes[0].set_title("share 1: our gains against Table 5's")
    plot_mse_vs_fraction(summary, ax=axes[1])
    axes[1].set_title("test MSE vs amount of HB data")
    fig.tight_layout()
    return fig


# -- anomaly detection (chapter 5) --------------------------------------------------------------------
def plot_region_map(values: np.ndarray, labels: np.ndarray, geometry: Geometry, depth: int, *, ax: Axes | None = None,
                    vmin: float | None = 0.0, vmax: float | None = None, title: str = "") -> Axes:
    """One depth of a map with the labelled channels (``labels``: bool per channel) outlined in red.

    The colour scale starts at ``vmin`` (0), so maps with and without a dead region share their colours."""
    ax = plot_map(values, geometry, depth, ax=ax, vmin=vmin, vmax=vmax, colorbar=False)
    ch = geometry.channels
    pick = labels & (ch["depth"].to_numpy() == depth)
    x = np.searchsorted(_rows_of(geometry), ch["row"].to_numpy()[pick])  # plot_map's x is the position among active rows
    ax.scatter(x, ch["iphi"].to_numpy()[pick], s=18, facecolors="none", edgecolors="red", linewidths=0.8)
    if title:
        ax.set_title(title)
    return ax


#: One colour per injected fault of the online replay (chapter 7).
FAULT_COLORS = {"channel dies": "#d62728", "RM turns noisy": "#9467bd", "slow degradation": "#ff7f0e"}


def plot_flag_timeline(table: pd.DataFrame, onsets: dict[str, int] | None = None, *, truth: np.ndarray | None = None,
                       ax: Axes | None = None) -> Axes:
    """Flagged channels per LS of a replayed run (:class:`hcaltl.online.Replay` ``.table``), as a shifter sees it.

    Args:
        table: one row per LS with ``ls``, ``status`` and ``n_flagged``.
        onsets: fault name → LS number where it starts (a vertical line each, colours of :data:`FAULT_COLORS`).
        truth: optional count of anomalous channels per LS (drawn as a grey step line).
    """
    ax = _ax(ax, (8, 3))
    scored = table["status"] == "scored"
    ax.step(table["ls"][scored], table["n_flagged"][scored], where="mid", color="black", lw=1, label="flagged channels")
    if truth is not None:
        ax.step(table["ls"], truth, where="mid", color="0.6", lw=1, ls=":", label="injected channels")
    skipped = table["ls"][~scored]
    if len(skipped):
        ax.plot(skipped, np.zeros(len(skipped)), "|", color="0.5", ms=8, label="not scored (warm-up, no events)")
    for name, ls in (onsets or {}).items():
        ax.axvline(ls, color=FAULT_COLORS.get(name, "0.3"), ls="--", lw=1.2, label=f"{name} (LS {ls})")
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("LS")
    ax.set_ylabel("flagged channels")
    _legend(ax, fontsize=8, loc="upper left")
    return ax


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray]], *, ax: Axes | None = None, colors: dict | None = None) -> Axes:
    """ROC curves (log false-positive rate) of ``{name: (labels, scores)}``."""
    from sklearn.metrics import roc_curve

    ax = _ax(ax, (5.5, 4.5))
    for name, (y, s) in curves.items():
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(np.maximum(fpr, 1e-6), tpr, label=name, color=(colors or {}).get(name))
    ax.set_xscale("log")
    ax.set_xlim(1e-6, 1)
    ax.set_xlabel("false-positive rate (channels)")
    ax.set_ylabel("true-positive rate")
    _legend(ax, fontsize=7, loc="lower right")
    return ax


def plot_score_distributions(curves: dict[str, tuple[np.ndarray, np.ndarray]], *, ax: Axes | None = None) -> Axes:
    """Histograms of σ scores: all normal channels, and the anomalous channels of each case."""
    ax = _ax(ax, (6.5, 4))
    first = next(iter(curves.values()))
    normal = first[1][first[0] == 0]
    hi = max(float(np.percentile(s[y == 1], 99)) for y, s in curves.values())
    bins = np.logspace(-2, np.log10(max(hi, 10.0) * 1.5), 60)
    ax.hist(np.clip(normal, bins[0], None), bins=bins, density=True, histtype="stepfilled", color="lightgray", label="normal channels")
    for name, (y, s) in curves.items():
        ax.hist(np.clip(s[y == 1], bins[0], None), bins=bins, density=True, histtype="step", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("anomaly score [σ]")
    ax.set_ylabel("density")
    _legend(ax, fontsize=7)
    return ax


def plot_contamination(contamination: pd.DataFrame, case: str, metric: str = "AUC", *, ax: Axes | None = None) -> Axes:
    """A detection metric of one anomaly case against the contaminated share of training windows, one line per
    pair (tidy rows of :func:`hcaltl.experiments.detection_study.contamination_study`)."""
    ax = _ax(ax, (5, 3.8))
    rows = contamination[contamination["case"] == case]
    if rows.empty:
        raise ValueError(f"no contamination rows for case {case!r}; cases: {sorted(set(contamination['case']))}")
    for pair, part in rows.groupby("pair", sort=False):
        part = part.sort_values("rate")
        ax.plot(100 * part["rate"], part[metric], marker="o", label=pair, **pair_style(pair))
    ax.set_xlabel("contaminated training windows [%]")
    ax.set_ylabel(metric.replace("FPR@", "FPR at TPR ") + (" %" if metric.startswith("FPR@") else ""))
    ax.set_title(case)
    _legend(ax, fontsize=8)
    return ax


def plot_table7(table: pd.DataFrame, *, ax: Axes | None = None, floor: float = 1e-4) -> Axes:
    """Table 7 at paper scale: 1 − AUC (log scale: lower is better) per anomaly case and pair, the mean over seeds
    with a bar from the best seed to the worst (a range stays readable on a log scale, where ± sd would not), and
    the paper's values as crosses in the pair's colour; an AUC of 1 sits on the ``floor``.

    Args:
        table: :func:`hcaltl.experiments.paper_scale.table7_table` (columns ``(pair, "mean" | "min" | "max")`` and
            ``("paper", pair)``).
    """
    stats = set(table.columns.get_level_values(1)) if isinstance(table.columns, pd.MultiIndex) else set()
    if not {"mean", "min", "max"} <= stats:
        raise ValueError("table must be paper_scale.table7_table's: columns (pair, 'mean'), (pair, 'min'), "
                         f"(pair, 'max') and ('paper', pair); got columns {list(table.columns)[:4]}")
    ax = _ax(ax, (5.5, 0.45 * len(table) + 1.5))
    y = np.arange(len(table))[::-1]
    pairs = [p for p in dict.fromkeys(table.columns.get_level_values(0)) if p != "paper"]
    for k, pair in enumerate(pairs):
        x, best, worst = (np.maximum(1 - table[(pair, stat)].to_numpy(dtype=float), floor)
                          for stat in ("mean", "max", "min"))
        ax.errorbar(x, y + 0.12 * (k - (len(pairs) - 1) / 2), xerr=[x - best, worst - x], fmt="o", ms=5, capsize=2,
                    color=pair_style(pair)["color"], mec="black", mew=0.4, label=pair)
    if "paper" in table.columns.get_level_values(0):  # the paper's value on its pair's row, in its pair's colour
        for pair in table["paper"].columns:
            k = pairs.index(pair) if pair in pairs else (len(pairs) - 1) / 2
            ax.scatter(np.maximum(1 - table[("paper", pair)].to_numpy(dtype=float), floor),
                       y + 0.12 * (k - (len(pairs) - 1) / 2), marker="x", s=30, color=pair_style(pair)["color"])
        ax.scatter([], [], marker="x", s=30, color="black", label="paper (Table 7)")
    ax.set_yticks(y, table.index)
    ax.set_xscale("log")
    ax.set_xlim(floor / 2, 1)
    ax.set_xlabel("1 − AUC  (lower is better)")
    ax.grid(axis="x", alpha=0.3)
    _legend(ax, fontsize=7, loc="lower right")
    return ax


def plot_contamination_loss(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Mean box AUC over the anomaly cases against the contaminated share of training windows, one line per pair,
    the mean over seeds with the spread as an error bar (chapter 5 at paper scale).

    Args:
        table: :func:`hcaltl.experiments.paper_scale.contamination_table` (index ``(pair, rate)``, columns
            ``mean AUC`` and ``sd``).
    """
    if list(table.index.names) != ["pair", "rate"] or not {"mean AUC", "sd"} <= set(table.columns):
        raise ValueError("table must be paper_scale.contamination_table's: index (pair, rate), columns 'mean AUC' "
                         f"and 'sd'; got index {list(table.index.names)} and columns {list(table.columns)}")
    ax = _ax(ax, (5, 3.8))
    for pair, part in table.groupby(level="pair", sort=False):
        part = part.droplevel("pair").sort_index()
        ax.errorbar(100 * part.index.to_numpy(dtype=float), part["mean AUC"], yerr=part["sd"].fillna(0), marker="o",
                    capsize=3, label=pair, **pair_style(str(pair)))
    ax.set_xlabel("contaminated training windows [%]")
    ax.set_ylabel("box AUC, mean over the anomaly cases")
    _legend(ax, fontsize=8)
    return ax


def paper_detection_figure(table7: pd.DataFrame, contamination: pd.DataFrame | None = None) -> Figure:
    """Chapter 5 at paper scale: Table 7 beside the paper's (:func:`plot_table7`) and, once contamination cells
    have finished, the AUC against the contaminated share (:func:`plot_contamination_loss`)."""
    both = contamination is not None and not contamination.empty
    fig, axes = panels(2 if both else 1, size=(5.6, 4.6))
    plot_table7(table7, ax=axes[0])
    axes[0].set_title("Table 7: ours (mean, range over seeds) and the paper's")
    if both:
        plot_contamination_loss(contamination, ax=axes[1])
        axes[1].set_title("contaminated training data")
    fig.tight_layout()
    return fig


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


def detector_style(name: str) -> dict:
    """Colour and marker of a detector: :data:`DETECTOR_STYLES`, or a GraphSTAD named by its pair, e.g.
    ``"GraphSTAD (RANDOM/No-TL)"``."""
    if name in DETECTOR_STYLES:
        return DETECTOR_STYLES[name]
    pair = name[name.find("(") + 1:name.rfind(")")] if "(" in name else name
    return {"color": pair_style(pair)["color"], "marker": "o"}


def plot_detector_aucs(table: pd.DataFrame, *, ax: Axes | None = None, title: str = "", floor: float = 1e-4) -> Axes:
    """1 − AUC (log scale: lower is better) per anomaly case (rows of ``table``) and detector (its columns), one
    marker per detector; an AUC of 1 sits on the ``floor``."""
    ax = _ax(ax, (5.5, 0.45 * len(table) + 1.5))
    y = np.arange(len(table))[::-1]
    for k, name in enumerate(table.columns):
        miss = np.maximum(1 - table[name].to_numpy(dtype=float), floor)
        ax.scatter(miss, y + 0.08 * (k - (len(table.columns) - 1) / 2), label=name, s=28, alpha=0.85, **detector_style(name))
    ax.set_yticks(y, table.index)
    ax.set_xscale("log")
    ax.set_xlim(floor / 2, 1)
    ax.set_xlabel("1 − AUC  (lower is better)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title)
    _legend(ax, fontsize=7, loc="lower right")
    return ax


def plot_auc_gains(table: pd.DataFrame, reference: str, *, ax: Axes | None = None, title: str = "") -> Axes:
    """AUC of every detector minus ``reference``'s, per anomaly case (rows of ``table``, an AUC table with one
    column per detector): right of zero, the detector beats the reference.

    Args:
        table: AUC per case (rows) and detector (columns), e.g. from ``baseline_study.auc_table``.
        reference: the column every other is measured from (e.g. GraphSTAD without its GNN).
    """
    if reference not in table.columns:
        raise ValueError(f"reference {reference!r} is not a column of the table; columns: {list(table.columns)}")
    ax = _ax(ax, (5.5, 0.45 * len(table) + 1.5))
    y = np.arange(len(table))[::-1]
    others = [c for c in table.columns if c != reference]
    for k, name in enumerate(others):
        gain = table[name].to_numpy(dtype=float) - table[reference].to_numpy(dtype=float)
        ax.scatter(gain, y + 0.1 * (k - (len(others) - 1) / 2), label=name, s=32, alpha=0.85, **detector_style(name))
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, table.index)
    ax.set_xlabel(f"AUC − AUC of {reference}")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title)
    _legend(ax, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the axes: points reach both edges
    return ax


def detector_comparison_figure(tables: dict[str, pd.DataFrame]) -> Figure:
    """:func:`plot_detector_aucs` side by side, one panel per ``{title: table}`` (e.g. per score reduction)."""
    first = next(iter(tables.values()))
    fig, axes = panels(len(tables), size=(5.4, 0.42 * len(first) + 1.6), sharey=True)
    for ax, (title, table) in zip(axes, tables.items()):
        plot_detector_aucs(table, ax=ax, title=title)
    fig.tight_layout()
    return fig


def plot_c_schedules(schedules: dict, *, ax: Axes | None = None) -> Axes:
    """The soft-pretraining weight C over epochs for each named :class:`~hcaltl.multihead.CSchedule`."""
    ax = _ax(ax, (5.5, 3.8))
    for name, schedule in schedules.items():
        epochs = np.arange(schedule.epochs)
        ax.step(epochs, [schedule(e) for e in epochs], where="post", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("C (weight of the head losses)")
    ax.set_ylim(bottom=0)
    _legend(ax, fontsize=8)
    return ax


def plot_eval_curves(curves: dict[str, tuple[list[int], list[float]]], *, ax: Axes | None = None,
                     ylabel: str = "global ROC AUC (test)") -> Axes:
    """A metric against epoch for each named run (``{name: (epochs, values)}``)."""
    ax = _ax(ax, (5.5, 3.8))
    for name, (epochs, values) in curves.items():
        ax.plot(epochs, values, marker="o", ms=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    _legend(ax, fontsize=7)
    return ax


def plot_head_scores(scores: pd.DataFrame, good: np.ndarray, causes: pd.DataFrame, head: str, *,
                     weights: np.ndarray | None = None, ax: Axes | None = None) -> Axes:
    """Distribution of one head's score on good LS and on the LS of each failing subsystem (paper C's Fig. 2,
    split by true cause), luminosity-weighted when ``weights`` is given."""
    ax = _ax(ax, (5, 3.8))
    if head not in scores.columns:
        raise ValueError(f"no head {head!r}; heads: {[c for c in scores.columns if c != 'global']}")
    w = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=float)
    bins = np.linspace(0, 1, 21)
    s = scores[head].to_numpy()
    ax.hist(s[good], bins=bins, weights=w[good] / w[good].sum(), histtype="stepfilled", color="lightgray", label="good LS")
    for subsystem in causes.columns:
        sel = causes[subsystem].to_numpy()
        if sel.any():
            ax.hist(s[sel], bins=bins, weights=w[sel] / w[sel].sum(), histtype="step", lw=1.5, label=subsystem)
    ax.set_yscale("log")
    ax.set_xlabel(f"score of the {head} head (1 = good)")
    ax.set_ylabel("luminosity fraction" if weights is not None else "fraction")
    ax.set_title(head)
    _legend(ax, fontsize=7)
    return ax


# -- figures of several panels (each returns the Figure) -------------------------------------------------
def maps_figure(maps: list[np.ndarray], geometries: Geometry | list[Geometry], depths: int | list[int], *,
                titles: list[str] | None = None, size: tuple[float, float] = (4.7, 3.8), **map_kwargs) -> Figure:
    """Detector maps side by side (:func:`plot_map` per panel); a single geometry or depth applies to all.

    Args:
        maps: ``[64, 72, 7]`` arrays, one per panel.
        geometries, depths: per panel, or one for every panel.
        titles: one per panel (default: plot_map's "<subdetector> depth <d>").
        map_kwargs: passed to :func:`plot_map` (``vmin``, ``vmax``, ``cmap``, ``label``): one value for every
            panel, or a list with one value per panel.
    """
    n = len(maps)
    geometries = geometries if isinstance(geometries, list) else [geometries] * n
    depths = depths if isinstance(depths, list) else [depths] * n
    if not len(geometries) == len(depths) == n or (titles is not None and len(titles) != n):
        raise ValueError(f"maps, geometries, depths and titles must have one entry per panel ({n})")
    fig, axes = panels(n, size=size)
    for i, ax in enumerate(axes):
        plot_map(maps[i], geometries[i], depths[i], ax=ax, **{k: _per_panel(v, i, n, k) for k, v in map_kwargs.items()})
        if titles is not None:
            ax.set_title(titles[i])
    fig.tight_layout()
    return fig


def _per_panel(value, i: int, n: int, name: str):
    """The i-th of a per-panel list, or the one value for every panel."""
    if isinstance(value, list):
        if len(value) != n:
            raise ValueError(f"{name} has {len(value)} values for {n} panels")
        return value[i]
    return value


def reconstruction_figure(measured: np.ndarray, reconstructed: np.ndarray, geometry: Geometry, depth: int = 1) -> Figure:
    """One LS as measured, as reconstructed, and their absolute difference (maps ``[64, 72, 7]``)."""
    fig, axes = panels(3, size=(5, 3.8))
    plot_map(measured, geometry, depth, ax=axes[0], vmin=0, vmax=1, label="scaled occupancy")
    plot_map(reconstructed, geometry, depth, ax=axes[1], vmin=0, vmax=1, label="reconstruction")
    plot_map(np.abs(reconstructed - measured), geometry, depth, ax=axes[2], cmap="magma", label="|error|")
    for ax, title in zip(axes, ("measured", "reconstructed", "absolute error")):
        ax.set_title(f"{title}, depth {depth}")
    fig.tight_layout()
    return fig


def channel_error_figure(errors: np.ndarray, geometry: Geometry, depths: tuple[int, ...] = (1, 5)) -> Figure:
    """Mean per-channel error ``errors`` ``[windows, channels]`` on the detector at ``depths``, and by |ieta|."""
    mean = np.asarray(errors).mean(axis=0)
    fig, axes = panels(len(depths) + 1, size=(5, 3.8))
    for ax, depth in zip(axes, depths):
        plot_map(geometry.nodes_to_map(mean), geometry, depth, ax=ax, cmap="magma", label="mean |error|")
    by_eta = pd.Series(mean).groupby(geometry.channels["ieta"].abs().to_numpy()).mean()
    axes[-1].plot(by_eta.index, by_eta.values, marker="o", color=SUBDETECTOR_COLORS.get(geometry.name))
    axes[-1].set(xlabel="|ieta|", ylabel="mean |error|", title="error by |ieta|")
    fig.tight_layout()
    return fig


def embedding_figure(points: np.ndarray, colorings: dict[str, tuple[np.ndarray, str, str]], *,
                     title: str = "latent t-SNE") -> Figure:
    """The same 2-D embedding once per colouring ``{name: (values per point, colour-bar label, colormap)}``."""
    fig, axes = panels(len(colorings), size=(5.5, 4))
    for ax, (name, (values, label, cmap)) in zip(axes, colorings.items()):
        plot_embedding(points, values, ax=ax, label=label, cmap=cmap)
        ax.set_title(f"{title}, by {name}")
    fig.tight_layout()
    return fig


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


def transfer_figure(curves: dict[str, list[float]], summary: pd.DataFrame, *, curves_fraction: float | None,
                    compared_fraction: float | None) -> Figure:
    """Chapter 4's overview: validation curves at one data share, test MSE against the share of HB data, and
    trainable parameters against test MSE at the compared share."""
    fig, axes = panels(3, size=(5.3, 4.2))
    plot_learning_curves(curves, ax=axes[0])
    axes[0].set_title(f"validation curves, {curves_fraction:g} of the HB data" if curves_fraction else "validation curves")
    plot_mse_vs_fraction(summary, ax=axes[1])
    axes[1].set_title("test MSE vs amount of HB data")
    plot_trainable_vs_mse(summary[summary["fraction"] == compared_fraction], ax=axes[2])
    axes[2].set_title("trainable parameters vs test MSE")
    fig.tight_layout()
    return fig


def region_maps_figure(maps: list[np.ndarray], labels: list[np.ndarray], geometry: Geometry, depth: int, *,
                       titles: list[str], vmax: float | list[float] | None = None, size: tuple[float, float] = (3.4, 3.6)
                       ) -> Figure:
    """Maps side by side with labelled channels outlined (:func:`plot_region_map` per panel), sharing the iphi axis."""
    n = len(maps)
    if not len(labels) == len(titles) == n:
        raise ValueError(f"maps, labels and titles must have one entry per panel ({n})")
    fig, axes = panels(n, size=size, sharey=True)
    for i, ax in enumerate(axes):
        plot_region_map(maps[i], labels[i], geometry, depth, ax=ax, vmax=_per_panel(vmax, i, n, "vmax"), title=titles[i])
    fig.tight_layout()
    return fig


def detection_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], *, name: str = "") -> Figure:
    """Score distributions and ROC curves per anomaly case ``{case: (labels, scores)}``."""
    fig, axes = panels(2, size=(6.5, 4.3))
    plot_score_distributions(curves, ax=axes[0])
    plot_roc(curves, ax=axes[1])
    axes[0].set_title(f"{name}: channel scores".lstrip(": "))
    axes[1].set_title(f"{name}: ROC per anomaly type".lstrip(": "))
    fig.tight_layout()
    return fig


def contamination_figure(contamination: pd.DataFrame, *, auc_case: str, fpr_cases: list[str]) -> Figure:
    """AUC of one case, then FPR at 95 % TPR of each of ``fpr_cases``, against the contaminated training share."""
    fig, axes = panels(1 + len(fpr_cases), size=(4.75, 3.8))
    plot_contamination(contamination, auc_case, "AUC", ax=axes[0])
    for ax, case in zip(axes[1:], fpr_cases):
        plot_contamination(contamination, case, "FPR@95", ax=ax)
    fig.tight_layout()
    return fig


def head_scores_figure(scores: pd.DataFrame, good: np.ndarray, causes: pd.DataFrame, *,
                       weights: np.ndarray | None = None) -> Figure:
    """:func:`plot_head_scores` for every head of a score table (all columns but ``"global"``), side by side."""
    heads = [c for c in scores.columns if c != "global"]
    fig, axes = panels(len(heads), size=(4.6, 3.6), sharey=True)
    for ax, head in zip(axes, heads):
        plot_head_scores(scores, good, causes, head, weights=weights, ax=ax)
    fig.tight_layout()
    return fig


def plot_certified_ls(runs: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Certified lumisections of each run, in run order (log scale), from a certification table."""
    ax = _ax(ax, (11, 2.8))
    ax.bar(np.arange(len(runs)), runs["certified LS"], width=1.0, color="gray")
    ax.set_xlabel("run (in order)")
    ax.set_ylabel("certified LS")
    ax.set_yscale("log")
    return ax


def plot_ring_levels(datasets: Sequence[OccupancyData], labels: Sequence[str], *, depth: int = 1,
                     ax: Axes | None = None) -> Axes:
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
        ax.plot(ring.index, ring.to_numpy(), styles[i % len(styles)], ms=4, label=label,
                color=SUBDETECTOR_COLORS[data.subdetector] if i == 0 else f"C{i + 1}")
    ax.set(xlabel="|ieta|", ylabel=f"mean fraction of events, depth {depth}", ylim=(0, None))
    ax.legend()
    return ax
