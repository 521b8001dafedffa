"""Training and transfer learning: loss per epoch, learning curves per pair, test MSE against the share of HB
data and the trainable parameters, and our gains against the paper's (chapters 3 and 4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .style import _ax, _legend, _loglog, pair_style, panels


def plot_history(history, *, ax: Axes | None = None, label: str = "", color: str | None = None) -> Axes:
    """Training (dashed) and validation (solid) loss per epoch of a :class:`hcaltl.train.History`."""
    ax = _ax(ax)
    epochs = np.arange(1, len(history.train_loss) + 1)
    (line,) = ax.plot(epochs, history.val_loss, marker="o", label=f"{label} validation".strip(), color=color)
    ax.plot(epochs, history.train_loss, ls="--", color=line.get_color(), label=f"{label} training".strip())
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("masked MSE")
    ax.legend(fontsize=8)
    return ax


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
        ax.scatter(
            100 + row.trainable_change_pct,
            row.mean_mse,
            color=style["color"],
            marker="o" if style["ls"] == "-" else "s",
            s=40,
            label=row.pair,
            edgecolor="black",
            linewidth=0.5,
        )
    return _loglog(ax, "trainable parameters (% of the model)", "HB test MSE")


def plot_changes_vs_paper(
    table: pd.DataFrame,
    *,
    ax: Axes | None = None,
    label: str | None = None,
    marker: str = "o",
    filled: bool = True,
    diagonal: bool = True,
) -> Axes:
    """Our % change of the test MSE against RANDOM/No-TL against the paper's, one point per pair with the spread
    over seeds as an error bar, and the line where the two agree (chapter 4).

    Args:
        table: one row per pair (index), with ``ours %``, ``sd over seeds`` and ``paper block 1 %``
            (the book's ``paper_scale.changes_vs_paper``).
        label: one legend entry for all the points (None: one per pair); marker, filled: their look.
        diagonal: draw the line of agreement over everything on ``ax`` (draw it with the last table).
    """
    need = {"ours %", "sd over seeds", "paper block 1 %"}
    if not need <= set(table.columns):
        raise ValueError(
            f"table lacks columns {sorted(need - set(table.columns))}; expected one row per pair with {sorted(need)}"
        )
    ax = _ax(ax, (5, 4.5))
    for pair, row in table.iterrows():
        style = pair_style(str(pair))
        ax.errorbar(
            row["paper block 1 %"],
            row["ours %"],
            yerr=row["sd over seeds"] if pd.notna(row["sd over seeds"]) else None,
            fmt=marker,
            color=style["color"],
            mfc=style["color"] if filled else "white",
            mec="black" if filled else style["color"],
            mew=0.5 if filled else 1.5,
            capsize=3,
            label=pair if label is None else None,
        )
    if label is not None and len(table):  # one neutral legend entry for the group
        ax.plot(
            [],
            [],
            ls="none",
            marker=marker,
            color="grey",
            mfc="grey" if filled else "white",
            mec="grey",
            mew=0.5 if filled else 1.5,
            label=label,
        )
    if diagonal and ax.has_data():
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        line = [min(x0, y0, 0.0), max(x1, y1, 0.0)]
        ax.plot(line, line, color="grey", lw=0.8, ls="--", label="as in the paper")
    ax.set_xlabel("paper: change vs RANDOM/No-TL (%)")
    ax.set_ylabel("ours: change vs RANDOM/No-TL (%)")
    _legend(ax, fontsize=7)
    return ax


def transfer_figure(
    curves: dict[str, list[float]],
    summary: pd.DataFrame,
    *,
    curves_fraction: float | None,
    compared_fraction: float | None,
) -> Figure:
    """Chapter 4's overview: validation curves at one data share, test MSE against the share of HB data, and
    trainable parameters against test MSE at the compared share."""
    fig, axes = panels(3, size=(5.3, 4.2))
    plot_learning_curves(curves, ax=axes[0])
    axes[0].set_title(
        f"validation curves, {curves_fraction:g} of the HB data" if curves_fraction else "validation curves"
    )
    plot_mse_vs_fraction(summary, ax=axes[1])
    axes[1].set_title("test MSE vs amount of HB data")
    plot_trainable_vs_mse(summary[summary["fraction"] == compared_fraction], ax=axes[2])
    axes[2].set_title("trainable parameters vs test MSE")
    fig.tight_layout()
    return fig


def paper_transfer_figure(changes: pd.DataFrame, summary: pd.DataFrame, unpooled: pd.DataFrame | None = None) -> Figure:
    """Chapter 4 at paper scale: our changes against the paper's (:func:`plot_changes_vs_paper`; the unpooled
    model's as open squares when given) and the test MSE against the share of HB data (:func:`plot_mse_vs_fraction`,
    constant schedule)."""
    fig, axes = panels(2, size=(5.6, 4.6))
    if unpooled is not None and not unpooled.empty:
        plot_changes_vs_paper(
            unpooled, ax=axes[0], label="no DC, Table 5's sizes", marker="s", filled=False, diagonal=False
        )
    plot_changes_vs_paper(changes, ax=axes[0])
    axes[0].set_title("share 1: our gains against Table 5's")
    plot_mse_vs_fraction(summary, ax=axes[1])
    axes[1].set_title("test MSE vs amount of HB data")
    fig.tight_layout()
    return fig
