"""What each chapter shows of the paper-scale sweep, in one call: its glued sentences (:mod:`.sentences`), its
tables (:mod:`.tables`) with the cells' provenance, and its figure (:class:`Section`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from ... import plotting
from .. import baseline_study as bs
from ..sweep import provenance_line
from .sentences import facts
from .tables import (budget_table, changes_vs_paper, comparison_table, contamination_table, detection_tables,
                     model_table, rin_table, table7_table, transfer_table, unpooled_table)


@dataclass(frozen=True)
class Section:
    """What a chapter shows of the paper-scale sweep: the sentences it glues, its tables by name, and the
    figure, all computed from the committed cells (:func:`chapter3`, :func:`chapter4`, :func:`chapter5`).

    Attributes:
        facts: glue key → Markdown sentence (:func:`hcaltl.experiments.chapter.glue`).
        tables: name → table, in the order the chapter shows them; empty before any cell has finished.
        digits: name → decimals shown (4 when absent); the tables themselves keep full precision.
        rows: the cells' rows (None before any cell has finished), for the provenance line.
        empty: what :meth:`show` prints when there is no table yet.
        draw: the chapter's figure from the tables, or None when it has nothing to draw yet.
    """

    facts: dict[str, str]
    tables: dict[str, pd.DataFrame]
    digits: dict[str, int]
    rows: pd.DataFrame | None
    empty: str
    draw: Callable[[], Figure] | None = None

    def show(self) -> None:
        """Display the provenance of the cells (:func:`~hcaltl.experiments.sweep.provenance_line`) and each table
        under its name."""
        try:
            from IPython.display import display
        except ImportError:  # outside IPython: print the tables
            display = print
        if not self.tables:
            print(self.empty)
            return
        print(provenance_line(self.rows))
        for name, frame in self.tables.items():
            print(f"{name}:")
            display(frame.round(self.digits.get(name, 4)))

    def figure(self) -> Figure | None:
        """The chapter's paper-scale figure, or None while it has nothing to draw."""
        return self.draw() if self.draw is not None else None


def _glued(rows: pd.DataFrame | None, prefix: str, keys: tuple[str, ...]) -> dict[str, str]:
    return {f"{prefix}_{key}": text for key, text in facts(rows, keys).items()}


def chapter3(rows: pd.DataFrame | None) -> Section:
    """Chapter 3's paper-scale section: the model comparison (:func:`model_table`) and its sentence
    (``c3_paper_models``)."""
    table = model_table(rows) if rows is not None else pd.DataFrame()
    return Section(_glued(rows, "c3", ("paper_models",)), {"HE models": table} if not table.empty else {},
                   {"HE models": 5}, rows, "no paper-scale model cells yet")


def chapter4(rows: pd.DataFrame | None) -> Section:
    """Chapter 4's paper-scale section: the transfer table (:func:`transfer_table`), the comparison with the paper's
    tables (:func:`comparison_table`), Table 5 with the unpooled model (:func:`unpooled_table`), the longer budget
    (:func:`budget_table`) and TL-2d without row normalisation (:func:`rin_table`); the sentences ``c4_paper_*``;
    the figure of :func:`~hcaltl.plotting.paper_transfer_figure`."""
    keys = ("paper_transfer", "paper_shares", "paper_repair", "paper_one_cycle", "paper_budget", "paper_unpooled",
            "paper_rin")
    if rows is None:
        return Section(_glued(rows, "c4", keys), {}, {}, rows, "no paper-scale transfer cells yet")
    summary = transfer_table(rows)
    columns = ["one_cycle", "fraction", "pair", "seeds", "mean_mse", "sd_mse", "matched_seeds", "mean_change_%",
               "trainable_change_pct"]
    named = {"transfer: test MSE over seeds, change against RANDOM/No-TL": (
                 summary[columns] if not summary.empty else summary, 4),
             "beside the paper's Tables 3–6, at the largest share": (comparison_table(rows), 1),
             "Table 5 with both architectures, every HB training window": (unpooled_table(rows), 2),
             "the preset's 10 epochs against a longer budget": (budget_table(rows), 4),
             "TL-2d and its repair with and without row normalisation": (rin_table(rows), 4)}
    tables = {name: table for name, (table, _) in named.items() if not table.empty}

    def draw() -> Figure:
        return plotting.paper_transfer_figure(changes_vs_paper(rows), summary[~summary["one_cycle"]],
                                              changes_vs_paper(rows, dc=False))

    return Section(_glued(rows, "c4", keys), tables, {name: d for name, (_, d) in named.items()}, rows,
                   "no paper-scale transfer cells yet", draw if not summary.empty else None)


def chapter5(rows: pd.DataFrame | None, control: str) -> Section:
    """Chapter 5's paper-scale section: :func:`detection_tables` and, once graphs cells have finished, the GNN's gain
    per channel graph (:func:`~hcaltl.experiments.baseline_study.seed_graph_facts`); the sentences ``c5_paper_detection``,
    ``_single``, ``_detectors``, ``_contamination`` and ``_graph_seeds``, and the figure of
    :func:`~hcaltl.plotting.paper_detection_figure` (Table 7, and AUC against the contaminated share).

    Args:
        rows: the cells' rows (:func:`load`), or None.
        control: the name the comparison cells give GraphSTAD (the graphs' reference, e.g.
            ``"GraphSTAD (RANDOM/No-TL)"``).
    """
    found = _glued(rows, "c5", ("paper_detection", "paper_single", "paper_detectors", "paper_contamination"))
    graphs, gain_table = bs.seed_graph_facts(rows, control, prefix="c5_paper")
    found["c5_paper_graph_seeds"] = graphs["c5_paper_graph_seeds"]
    if rows is None:
        return Section(found, {}, {}, rows, "no paper-scale detection cells yet")
    tables = detection_tables(rows)
    if gain_table is not None:
        tables["GNN gain in mean AUC over the model without a GNN, per graph"] = gain_table
    table7 = table7_table(rows)

    def draw() -> Figure:
        return plotting.paper_detection_figure(table7, contamination_table(rows))

    return Section(found, tables, {}, rows, "no paper-scale detection cells yet", draw if not table7.empty else None)
