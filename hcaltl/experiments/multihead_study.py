"""The experiments of chapter 6: training variants of the multi-head network, and tables set beside paper C's
figures.

Explained in chapter 6 (``notebooks/06_multihead_cause.ipynb``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import multihead as mh
from ..multihead.features import LumiFeatures
from .paper_values import (
    PAPER_C_FIG3_AUC,
    PAPER_C_FIG4_EXCLUSIVE,
    PAPER_C_GLOBAL_AUC,
    PAPER_C_LABEL_OF,
)


@dataclass(frozen=True)
class Variant:
    """One way of training: how heads combine, the C schedule, and whether each channel has its own head."""

    combine: str = "fuzzy"
    schedule: str = "step"
    single_head: bool = False


#: The variants compared in chapter 6; the first is the authors'.
VARIANTS: dict[str, Variant] = {
    "Fuzzy AND, soft pretraining (authors)": Variant("fuzzy", "step"),
    "Fuzzy AND, C → 0 linearly": Variant("fuzzy", "linear"),
    "Fuzzy AND, no soft pretraining": Variant("fuzzy", "off"),
    "plain product, soft pretraining": Variant("product", "step"),
    "single head (all features)": Variant("fuzzy", "off", single_head=True),
}


@dataclass
class Trained:
    """A trained variant: how it was trained, the network, its standardiser, history and scores on the test set."""

    variant: Variant
    net: mh.FuzzyAndNet
    standardiser: mh.Standardiser
    history: mh.MultiHeadHistory
    scores: pd.DataFrame


def run_variants(
    train: LumiFeatures,
    test: LumiFeatures,
    variants: Mapping[str, Variant] | list[str] = VARIANTS,
    *,
    config: mh.MultiHeadConfig | None = None,
    hidden: tuple[int, ...] = (50, 10),
    progress: bool = True,
) -> dict[str, Trained]:
    """Train every variant with the same seed and settings; unknown names raise with the list of known ones."""
    config = config or mh.MultiHeadConfig()
    if not isinstance(variants, Mapping):
        unknown = [v for v in variants if v not in VARIANTS]
        if unknown:
            raise ValueError(f"unknown variants {unknown}; known: {list(VARIANTS)}")
        variants = {v: VARIANTS[v] for v in variants}
    out = {}
    for name, v in tqdm(variants.items(), desc="variants", disable=not progress):
        tr, te = (mh.single_head(train)[0], mh.single_head(test)[0]) if v.single_head else (train, test)
        net = mh.FuzzyAndNet(tr.sizes, hidden=hidden, combine=v.combine)
        cfg = replace(config, schedule=mh.CSchedule.authors(config.epochs, v.schedule), progress=False)
        std, history = mh.train_multihead(net, tr, cfg, evaluate_on=te)
        out[name] = Trained(v, net, std, history, mh.scores(net, te, std))
    return out


def summary(trained: dict[str, Trained], test: LumiFeatures, visibility: Mapping[str, tuple[str, ...]]) -> pd.DataFrame:
    """Per variant: global AUC (paper C: 0.96), mean decomposition AUC, accuracy of the inferred cause on
    exclusive anomalies (bad in exactly one subsystem)."""
    rows = {}
    channels = sorted({c for v in visibility.values() for c in v})
    only = test.causes.sum(axis=1).to_numpy() == 1
    true = test.causes.idxmax(axis=1).to_numpy()
    for name, t in trained.items():
        single = t.variant.single_head
        heads = {c: "all" for c in channels} if single else None
        decomposition = mh.decomposition_auc(t.scores, test, visibility, heads=heads)
        row = {"global AUC": mh.global_auc(t.scores, test), "decomposition AUC (mean over heads)": decomposition.mean()}
        row["cause inferred (exclusive LS)"] = (
            float("nan")
            if single
            else float((mh.infer_cause(t.scores, visibility).to_numpy()[only] == true[only]).mean())
        )
        rows[name] = row
    out = pd.DataFrame(rows).T
    out.loc["paper C", "global AUC"] = PAPER_C_GLOBAL_AUC
    return out


def beside_fig3(attribution: pd.DataFrame) -> pd.DataFrame:
    """Our per-head AUCs against each subsystem, with paper C's Fig. 3 value for the matching expert label."""
    cols = {}
    for ours in ["inclusive", *[c for c in attribution.columns if c != "inclusive"]]:
        cols[(ours, "ours")] = attribution[ours]
        label = "inclusive" if ours == "inclusive" else PAPER_C_LABEL_OF.get(ours)
        if label is not None:
            cols[(ours, f"paper ({label})")] = pd.Series(
                {h: PAPER_C_FIG3_AUC.get(h, {}).get(label, np.nan) for h in attribution.index}
            )
    return pd.DataFrame(cols)


def beside_fig4(exclusive: pd.DataFrame) -> pd.DataFrame:
    """Our shares of exclusive anomalies flagged per head, with paper C's Fig. 4 where the subsystem matches."""
    cols = {}
    for ours in exclusive.columns:
        cols[(ours, "ours")] = exclusive[ours]
        label = PAPER_C_LABEL_OF.get(ours)
        if label in next(iter(PAPER_C_FIG4_EXCLUSIVE.values())):
            cols[(ours, f"paper ({label})")] = pd.Series(
                {h: PAPER_C_FIG4_EXCLUSIVE.get(h, {}).get(label, np.nan) for h in exclusive.index}
            )
    return pd.DataFrame(cols)


def cause_confusion(
    scores: pd.DataFrame, data: LumiFeatures, visibility: Mapping[str, tuple[str, ...]]
) -> pd.DataFrame:
    """True cause (rows) against the cause inferred from the heads (columns), for exclusive anomalies."""
    only = data.causes.sum(axis=1).to_numpy() == 1
    true = data.causes.idxmax(axis=1)[only].rename("true cause")
    inferred = mh.infer_cause(scores, visibility)[only]
    order = list(visibility)
    return pd.crosstab(true, inferred).reindex(
        index=[c for c in order if c in set(true)], columns=[*order, "none"], fill_value=0
    )
