"""What each chapter shows of the paper-scale sweep, in one call: its glued sentences (:mod:`.sentences`), its
tables (:mod:`.tables`) with the cells' provenance, the papers' claims it tests (:mod:`.scorecard`, last), and its
figure (:class:`Section`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from ... import plotting
from .. import baseline_study as bs
from ..sweep import provenance_line
from .scorecard import scorecard, scorecard_sentence
from .sentences import facts
from .tables import (
    budget_table,
    changes_vs_paper,
    comparison_table,
    contamination_table,
    detection_tables,
    model_table,
    rin_table,
    table7_table,
    transfer_table,
    unpooled_table,
)


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
        with pd.option_context("display.max_colwidth", None, "display.max_columns", None):  # the claims in full
            for name, frame in self.tables.items():
                display(_Title(f"{name}:"))  # a display, not a print: the book merges a cell's printed streams
                display(frame.round(self.digits.get(name, 4)))

    def figure(self) -> Figure | None:
        """The chapter's paper-scale figure, or None while it has nothing to draw."""
        return self.draw() if self.draw is not None else None


class _Title(str):
    """A table's name, displayed in bold just above it in a notebook (Markdown) and as plain text elsewhere."""

    def _repr_markdown_(self) -> str:
        return f"**{self}**"

    def __repr__(self) -> str:
        return str(self)


#: The name of the last table of every chapter's section: the papers' claims it tests.
CLAIMS_TABLE = "the papers' claims at paper scale"


def _glued(rows: pd.DataFrame | None, chapter: int, keys: tuple[str, ...]) -> dict[str, str]:
    """The chapter's sentences under its glue keys ``c<chapter>_<key>``, and ``c<chapter>_paper_claims``: its
    claims' verdicts (:func:`~.scorecard.scorecard_sentence`)."""
    found = {f"c{chapter}_{key}": text for key, text in facts(rows, keys).items()}
    found[f"c{chapter}_paper_claims"] = scorecard_sentence(scorecard(rows, chapter))
    return found


def _with_claims(tables: dict[str, pd.DataFrame], rows: pd.DataFrame, chapter: int) -> dict[str, pd.DataFrame]:
    """The chapter's tables followed by its claims (:func:`~.scorecard.scorecard`, without the chapter column); none
    while the chapter has no table of its own."""
    return {**tables, CLAIMS_TABLE: scorecard(rows, chapter).drop(columns="chapter")} if tables else tables


def chapter3(rows: pd.DataFrame | None) -> Section:
    """Chapter 3's paper-scale section: the model comparison (:func:`model_table`), its claims and its sentences
    (``c3_paper_models``, ``c3_paper_claims``)."""
    if rows is None:
        return Section(_glued(rows, 3, ("paper_models",)), {}, {}, rows, "no paper-scale model cells yet")
    table = model_table(rows)
    return Section(
        _glued(rows, 3, ("paper_models",)),
        _with_claims({"HE models": table} if not table.empty else {}, rows, 3),
        {"HE models": 5},
        rows,
        "no paper-scale model cells yet",
    )


def chapter4(rows: pd.DataFrame | None) -> Section:
    """Chapter 4's paper-scale section: the transfer table (:func:`transfer_table`), the comparison with the paper's
    tables (:func:`comparison_table`), Table 5 with the unpooled model (:func:`unpooled_table`), the longer budget
    (:func:`budget_table`), TL-2d without row normalisation (:func:`rin_table`) and the claims; the sentences
    ``c4_paper_*``; the figure of :func:`~hcaltl.plotting.paper_transfer_figure`."""
    keys = (
        "paper_transfer",
        "paper_shares",
        "paper_repair",
        "paper_one_cycle",
        "paper_budget",
        "paper_unpooled",
        "paper_rin",
    )
    if rows is None:
        return Section(_glued(rows, 4, keys), {}, {}, rows, "no paper-scale transfer cells yet")
    summary = transfer_table(rows)
    columns = [
        "one_cycle",
        "fraction",
        "pair",
        "seeds",
        "mean_mse",
        "sd_mse",
        "matched_seeds",
        "mean_change_%",
        "trainable_change_pct",
    ]
    named = {
        "transfer: test MSE over seeds, change against RANDOM/No-TL": (
            summary[columns] if not summary.empty else summary,
            4,
        ),
        "beside the paper's Tables 3–6, at the largest share": (comparison_table(rows), 1),
        "Table 5 with both architectures, every HB training window": (unpooled_table(rows), 2),
        "the preset's 10 epochs against a longer budget": (budget_table(rows), 4),
        "TL-2d and its repair with and without row normalisation": (rin_table(rows), 4),
    }
    tables = _with_claims({name: table for name, (table, _) in named.items() if not table.empty}, rows, 4)

    def draw() -> Figure:
        return plotting.paper_transfer_figure(
            changes_vs_paper(rows), summary[~summary["one_cycle"]], changes_vs_paper(rows, dc=False)
        )

    return Section(
        _glued(rows, 4, keys),
        tables,
        {name: d for name, (_, d) in named.items()},
        rows,
        "no paper-scale transfer cells yet",
        draw if not summary.empty else None,
    )


def chapter5(rows: pd.DataFrame | None, control: str) -> Section:
    """Chapter 5's paper-scale section: :func:`detection_tables`, once graphs cells have finished the GNN's gain per
    channel graph (:func:`~hcaltl.experiments.baseline_study.seed_graph_facts`), and the claims; the sentences
    ``c5_paper_detection``, ``_single``, ``_detectors``, ``_contamination``, ``_graph_seeds`` and ``_claims``, and the
    figure of :func:`~hcaltl.plotting.paper_detection_figure` (Table 7, and AUC against the contaminated share).

    Args:
        rows: the cells' rows (:func:`load`), or None.
        control: the name the comparison cells give GraphSTAD (the graphs' reference, e.g.
            ``"GraphSTAD (RANDOM/No-TL)"``).
    """
    found = _glued(rows, 5, ("paper_detection", "paper_single", "paper_detectors", "paper_contamination"))
    graphs, gain_table = bs.seed_graph_facts(rows, control, prefix="c5_paper")
    found["c5_paper_graph_seeds"] = graphs["c5_paper_graph_seeds"]
    if rows is None:
        return Section(found, {}, {}, rows, "no paper-scale detection cells yet")
    tables = detection_tables(rows)
    if gain_table is not None:
        tables["GNN gain in mean AUC over the model without a GNN, per graph"] = gain_table
    tables = _with_claims(tables, rows, 5)
    table7 = table7_table(rows)

    def draw() -> Figure:
        return plotting.paper_detection_figure(table7, contamination_table(rows))

    return Section(found, tables, {}, rows, "no paper-scale detection cells yet", draw if not table7.empty else None)
