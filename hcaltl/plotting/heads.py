"""The multi-head model of chapter 6: the soft-pretraining schedule, evaluation curves and each head's scores
split by the subsystem at fault.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .style import _ax, _legend, panels


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


def plot_eval_curves(
    curves: dict[str, tuple[list[int], list[float]]], *, ax: Axes | None = None, ylabel: str = "global ROC AUC (test)"
) -> Axes:
    """A metric against epoch for each named run (``{name: (epochs, values)}``)."""
    ax = _ax(ax, (5.5, 3.8))
    for name, (epochs, values) in curves.items():
        ax.plot(epochs, values, marker="o", ms=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    _legend(ax, fontsize=7)
    return ax


def plot_head_scores(
    scores: pd.DataFrame,
    good: np.ndarray,
    causes: pd.DataFrame,
    head: str,
    *,
    weights: np.ndarray | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Distribution of one head's score on good LS and on the LS of each failing subsystem (paper C's Fig. 2,
    split by true cause), luminosity-weighted when ``weights`` is given."""
    ax = _ax(ax, (5, 3.8))
    if head not in scores.columns:
        raise ValueError(f"no head {head!r}; heads: {[c for c in scores.columns if c != 'global']}")
    w = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=float)
    bins = np.linspace(0, 1, 21)
    s = scores[head].to_numpy()
    ax.hist(
        s[good], bins=bins, weights=w[good] / w[good].sum(), histtype="stepfilled", color="lightgray", label="good LS"
    )
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


def head_scores_figure(
    scores: pd.DataFrame, good: np.ndarray, causes: pd.DataFrame, *, weights: np.ndarray | None = None
) -> Figure:
    """:func:`plot_head_scores` for every head of a score table (all columns but ``"global"``), side by side."""
    heads = [c for c in scores.columns if c != "global"]
    fig, axes = panels(len(heads), size=(4.6, 3.6), sharey=True)
    for ax, head in zip(axes, heads):
        plot_head_scores(scores, good, causes, head, weights=weights, ax=ax)
    fig.tight_layout()
    return fig
