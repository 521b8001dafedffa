"""Anomaly detection: score distributions, ROC curves, the contamination study, Table 7 at paper scale, the
comparison of detectors, and the flags of an online replay (chapters 5 and 7).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .style import FAULT_COLORS, _ax, _legend, case_colors, detector_style, pair_style, panels


def plot_flag_timeline(
    table: pd.DataFrame,
    onsets: dict[str, int] | None = None,
    *,
    truth: np.ndarray | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Flagged channels per LS of a replayed run (:class:`hcaltl.online.Replay` ``.table``), as a shifter sees it.

    Args:
        table: one row per LS with ``ls``, ``status`` and ``n_flagged``.
        onsets: fault name → LS number where it starts (a vertical line each, colours of
            :data:`~hcaltl.plotting.style.FAULT_COLORS`).
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


def plot_score_distributions(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], *, ax: Axes | None = None, colors: dict | None = None
) -> Axes:
    """Distributions of σ scores (seaborn's ``histplot``, each on its own density, log–log): all normal channels
    (filled grey), and the anomalous channels of each case (one line each). Scores below 0.01 σ are drawn in the
    first bin.

    Args:
        curves: case → (labels, scores), labels 1 on the case's anomalous channels (the normal channels are read
            from the first case).
        ax: the axes to draw on (a new figure when None).
        colors: case → colour; default :func:`~hcaltl.plotting.case_colors` in the order of ``curves``.

    Returns:
        The axes.
    """
    import seaborn as sns

    ax = _ax(ax, (6.5, 4))
    first = next(iter(curves.values()))
    floor = 1e-2
    hi = max(float(np.percentile(s[y == 1], 99)) for y, s in curves.values())
    bins = np.logspace(np.log10(floor), np.log10(max(hi, 10.0) * 1.5), 60)
    normal = np.clip(first[1][first[0] == 0], floor, None)
    sns.histplot(
        x=normal,
        bins=bins,
        stat="density",
        element="step",
        color="lightgray",
        alpha=1.0,
        ax=ax,
        label="normal channels",
    )
    cases = pd.concat(
        [pd.DataFrame({"score": np.clip(s[y == 1], floor, None), "case": name}) for name, (y, s) in curves.items()]
    )
    palette = colors or case_colors(curves)
    sns.histplot(
        cases,
        x="score",
        hue="case",
        bins=bins,
        stat="density",
        common_norm=False,
        element="step",
        fill=False,
        palette=palette,
        ax=ax,
        legend=False,
    )
    for name in curves:  # one legend with the normal channels', in the order of ``curves``
        ax.plot([], [], color=palette[name], label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("anomaly score [σ]")
    ax.set_ylabel("density")
    _legend(ax, fontsize=7)
    return ax


def plot_roc(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], *, ax: Axes | None = None, colors: dict | None = None
) -> Axes:
    """ROC curves (log false-positive rate) of ``{name: (labels, scores)}``.

    Args:
        curves: name → (labels, scores).
        ax: the axes to draw on (a new figure when None).
        colors: name → colour; default :func:`~hcaltl.plotting.case_colors` in the order of ``curves``.

    Returns:
        The axes.
    """
    from sklearn.metrics import roc_curve

    ax = _ax(ax, (5.5, 4.5))
    colors = colors or case_colors(curves)
    for name, (y, s) in curves.items():
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(np.maximum(fpr, 1e-6), tpr, label=name, color=colors.get(name))
    ax.set_xscale("log")
    ax.set_xlim(1e-6, 1)
    ax.set_xlabel("false-positive rate (channels)")
    ax.set_ylabel("true-positive rate")
    _legend(ax, fontsize=7, loc="lower right")
    return ax


def detection_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], *, name: str = "") -> Figure:
    """Score distributions and ROC curves per anomaly case ``{case: (labels, scores)}``."""
    fig, axes = panels(2, size=(6.5, 4.3))
    plot_score_distributions(curves, ax=axes[0])
    plot_roc(curves, ax=axes[1])
    axes[0].set_title(f"{name}: channel scores".lstrip(": "))
    axes[1].set_title(f"{name}: ROC per anomaly type".lstrip(": "))
    fig.tight_layout()
    return fig


def plot_contamination(contamination: pd.DataFrame, case: str, metric: str = "AUC", *, ax: Axes | None = None) -> Axes:
    """A detection metric of one anomaly case against the contaminated share of training windows, one line per
    pair (tidy rows of the book's ``detection_study.contamination_study``)."""
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


def contamination_figure(contamination: pd.DataFrame, *, auc_case: str, fpr_cases: list[str]) -> Figure:
    """AUC of one case, then FPR at 95 % TPR of each of ``fpr_cases``, against the contaminated training share."""
    fig, axes = panels(1 + len(fpr_cases), size=(4.75, 3.8))
    plot_contamination(contamination, auc_case, "AUC", ax=axes[0])
    for ax, case in zip(axes[1:], fpr_cases):
        plot_contamination(contamination, case, "FPR@95", ax=ax)
    fig.tight_layout()
    return fig


def plot_table7(table: pd.DataFrame, *, ax: Axes | None = None, floor: float = 1e-4) -> Axes:
    """Table 7 at paper scale: 1 − AUC (log scale: lower is better) per anomaly case and pair, the mean over seeds
    with a bar from the best seed to the worst (a range stays readable on a log scale, where ± sd would not), and
    the paper's values as crosses in the pair's colour; an AUC of 1 sits on the ``floor``.

    Args:
        table: the book's ``paper_scale.table7_table`` (columns ``(pair, "mean" | "min" | "max")`` and
            ``("paper", pair)``).
    """
    stats = set(table.columns.get_level_values(1)) if isinstance(table.columns, pd.MultiIndex) else set()
    if not {"mean", "min", "max"} <= stats:
        raise ValueError(
            "table must be paper_scale.table7_table's: columns (pair, 'mean'), (pair, 'min'), "
            f"(pair, 'max') and ('paper', pair); got columns {list(table.columns)[:4]}"
        )
    ax = _ax(ax, (5.5, 0.45 * len(table) + 1.5))
    y = np.arange(len(table))[::-1]
    pairs = [p for p in dict.fromkeys(table.columns.get_level_values(0)) if p != "paper"]
    for k, pair in enumerate(pairs):
        x, best, worst = (
            np.maximum(1 - table[(pair, stat)].to_numpy(dtype=float), floor) for stat in ("mean", "max", "min")
        )
        ax.errorbar(
            x,
            y + 0.12 * (k - (len(pairs) - 1) / 2),
            xerr=[x - best, worst - x],
            fmt="o",
            ms=5,
            capsize=2,
            color=pair_style(pair)["color"],
            mec="black",
            mew=0.4,
            label=pair,
        )
    if "paper" in table.columns.get_level_values(0):  # the paper's value on its pair's row, in its pair's colour
        for pair in table["paper"].columns:
            k = pairs.index(pair) if pair in pairs else (len(pairs) - 1) / 2
            ax.scatter(
                np.maximum(1 - table[("paper", pair)].to_numpy(dtype=float), floor),
                y + 0.12 * (k - (len(pairs) - 1) / 2),
                marker="x",
                s=30,
                color=pair_style(pair)["color"],
            )
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
        table: the book's ``paper_scale.contamination_table`` (index ``(pair, rate)``, columns
            ``mean AUC`` and ``sd``).
    """
    if list(table.index.names) != ["pair", "rate"] or not {"mean AUC", "sd"} <= set(table.columns):
        raise ValueError(
            "table must be paper_scale.contamination_table's: index (pair, rate), columns 'mean AUC' "
            f"and 'sd'; got index {list(table.index.names)} and columns {list(table.columns)}"
        )
    ax = _ax(ax, (5, 3.8))
    for pair, part in table.groupby(level="pair", sort=False):
        part = part.droplevel("pair").sort_index()
        ax.errorbar(
            100 * part.index.to_numpy(dtype=float),
            part["mean AUC"],
            yerr=part["sd"].fillna(0),
            marker="o",
            capsize=3,
            label=pair,
            **pair_style(str(pair)),
        )
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


def plot_detector_aucs(table: pd.DataFrame, *, ax: Axes | None = None, title: str = "", floor: float = 1e-4) -> Axes:
    """1 − AUC (log scale: lower is better) per anomaly case (rows of ``table``) and detector (its columns), one
    marker per detector; an AUC of 1 sits on the ``floor``."""
    ax = _ax(ax, (5.5, 0.45 * len(table) + 1.5))
    y = np.arange(len(table))[::-1]
    for k, name in enumerate(table.columns):
        miss = np.maximum(1 - table[name].to_numpy(dtype=float), floor)
        ax.scatter(
            miss, y + 0.08 * (k - (len(table.columns) - 1) / 2), label=name, s=28, alpha=0.85, **detector_style(name)
        )
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
