"""The paper-scale results as the chapters show them: the committed sweep rows (:mod:`hcaltl.experiments.sweep`)
turned into tables with the mean and the spread over seeds (:mod:`.tables`), the sentences the chapters glue into
their text (:mod:`.sentences`), the papers' claims judged from them (:mod:`.scorecard`), and each chapter's
section of all three with its figure (:mod:`.sections`).

Every function takes the rows of one results folder (:func:`load`), already checked to share one recipe.
A table of a sweep still running covers the cells done so far and says how many seeds each entry has.
"""

from ..sweep import provenance_line
from .scorecard import CLAIMS, VERDICTS, Claim, scorecard, scorecard_sentence
from .sections import Section, chapter3, chapter4, chapter5
from .sentences import facts
from .tables import (
    RESULTS,
    budget_table,
    changes_vs_paper,
    comparison_table,
    comparison_tables,
    completeness,
    contamination_losses,
    contamination_table,
    detection_tables,
    load,
    model_table,
    rin_table,
    table7_table,
    transfer_table,
    unpooled_table,
)

__all__ = [
    "CLAIMS",
    "Claim",
    "RESULTS",
    "Section",
    "VERDICTS",
    "budget_table",
    "changes_vs_paper",
    "chapter3",
    "chapter4",
    "chapter5",
    "comparison_table",
    "comparison_tables",
    "completeness",
    "contamination_losses",
    "contamination_table",
    "detection_tables",
    "facts",
    "load",
    "model_table",
    "provenance_line",
    "rin_table",
    "scorecard",
    "scorecard_sentence",
    "table7_table",
    "transfer_table",
    "unpooled_table",
]
