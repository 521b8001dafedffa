"""The paper-scale sweep's rows (:mod:`hcaltl.experiments.sweep`) as tables: chapter 3's model comparison,
chapter 4's transfer tables and chapter 5's detection tables, each with the mean and the spread over seeds, and
the row selections the sentences share (:mod:`.sentences`).

Every function takes the rows of one results folder (:func:`load`), already checked to share one recipe. A table of
a sweep still running covers the cells done so far and says how many seeds each entry has.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ... import transfer
from .. import detection_study as ds
from .. import paper_values
from .. import transfer_study as ts
from ..cells import BASELINE, MODELS, RIN_PAIRS
from ..sweep import collect, done, plan, progress_table

#: Where the book keeps its paper-scale sweep (relative to the repository root).
RESULTS = "results/paper"


def load(out: str | Path = RESULTS) -> pd.DataFrame | None:
    """Every finished cell's rows of a results folder, or None when no cell has finished."""
    out = Path(out)
    if not (out / "cells").is_dir() or not done(out):
        return None
    return collect(out)


def completeness(out: str | Path = RESULTS, seeds=(1, 2, 3)) -> pd.DataFrame:
    """Cells done and planned per chapter and kind for the book's plan (:func:`~hcaltl.experiments.sweep.plan`),
    with the CPU-hours spent."""
    return progress_table(out, plan(seeds=seeds))


def _spread(frame: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    return frame.groupby(by, sort=False)[value].agg(seeds="count", mean="mean", sd="std")


def model_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Chapter 3 at paper scale: held-out HE MSE per model, mean and standard deviation over seeds, its change
    against the per-channel mean, parameters and training hours per seed."""
    part = rows[rows["kind"].isin(["model", "baseline"])]
    if part.empty:
        return pd.DataFrame()
    table = _spread(part, ["model"], "test_mse")
    table["vs per-channel mean (%)"] = (
        100 * (table["mean"] / table.at[BASELINE, "mean"] - 1) if BASELINE in table.index else np.nan
    )
    extra = part.groupby("model", sort=False).agg(
        parameters=("parameters", "first"), epochs=("epochs", "mean"), hours=("train_seconds", "mean")
    )
    extra["hours"] /= 3600
    order = [m for m in (*MODELS, BASELINE) if m in table.index]
    return table.join(extra).reindex(order).rename(columns={"mean": "test MSE", "sd": "sd over seeds"})


def transfer_rows(rows: pd.DataFrame, dc: bool, longer: bool = False) -> pd.DataFrame:
    """The transfer cells of the pooled (``dc``) or the unpooled model, trained for the preset's epochs or (``longer``)
    for a longer budget. Rows written before those cells existed have no ``dc`` or ``longer_epochs`` column: pooled,
    preset's budget."""
    part = rows[rows["kind"] == "transfer"]
    pooled = part["dc"].fillna(True).astype(bool) if "dc" in part else pd.Series(True, index=part.index)
    preset = part["longer_epochs"].isna() if "longer_epochs" in part else pd.Series(True, index=part.index)
    return part[(pooled == dc) & (preset != longer)]


def share_1_rows(rows: pd.DataFrame, dc: bool = True) -> pd.DataFrame:
    """The transfer cells of the pooled (``dc``) or the unpooled model at the preset's budget, on every HB training
    window, with the constant schedule: the setting of Tables 3–5."""
    part = transfer_rows(rows, dc)
    return part[~part["one_cycle"].astype(bool) & (part["fraction"] == 1.0)] if not part.empty else part


def transfer_table(rows: pd.DataFrame, dc: bool = True, longer: bool = False) -> pd.DataFrame:
    """Chapter 4 at paper scale: :func:`~hcaltl.experiments.transfer_study.summary` of the transfer cells of the
    pooled model (of the unpooled one when ``dc`` is False; of the longer epoch budget when ``longer``), with the
    standard deviation of the test MSE over seeds."""
    part = transfer_rows(rows, dc, longer)
    if part.empty:
        return pd.DataFrame()
    table = ts.summary(part)
    sd = part.groupby(["one_cycle", "fraction", "pair"], sort=False)["test_mse"].std().rename("sd_mse")
    return table.merge(sd.reset_index(), on=["one_cycle", "fraction", "pair"])


def comparison_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Chapter 4's comparison with the paper's Tables 3–6 at paper scale
    (:func:`~hcaltl.experiments.transfer_study.paper_comparison`): the pooled model's cells at the preset's budget,
    constant schedule, at the largest data share finished. Empty until such a cell has finished."""
    part = transfer_rows(rows, True)
    if not part.empty:
        part = part[~part["one_cycle"].astype(bool)]
    if part.empty:
        return pd.DataFrame()
    return ts.paper_comparison(part, part["fraction"].max())


def changes_vs_paper(rows: pd.DataFrame, dc: bool = True) -> pd.DataFrame:
    """Chapter 4's picture of Table 5 at paper scale: for each pair of the paper's Table 5, our % change of the test
    MSE against RANDOM/No-TL (pooled model, or the unpooled one when ``dc`` is False; share 1, constant schedule;
    over the seeds both have, as in
    :func:`~hcaltl.experiments.transfer_study.summary`) with the standard deviation over seeds of the per-seed
    change, beside the paper's block 1. Empty until a pair and its reference share a seed.

    Shapes:
        one row per pair finished: ``seeds``, ``ours %``, ``sd over seeds``, ``paper block 1 %``.
    """
    part = share_1_rows(rows, dc)
    reference = transfer.pair_label(*ts.REFERENCE)
    if part.empty or reference not in set(part["pair"]):
        return pd.DataFrame()
    mse = part.pivot_table(index="seed", columns="pair", values="test_mse")
    per_seed = 100 * (mse.div(mse[reference], axis=0) - 1)
    table = ts.summary(part).set_index("pair")
    out = {}
    for pair, (block1, _) in paper_values.TABLE5_MSE_CHANGE.items():
        label = transfer.pair_label(*pair)
        if label in per_seed and per_seed[label].notna().any():
            out[label] = {
                "seeds": int(table.at[label, "matched_seeds"]),
                "ours %": table.at[label, "mean_change_%"],
                "sd over seeds": per_seed[label].std(),
                "paper block 1 %": block1,
            }
    return pd.DataFrame.from_dict(out, orient="index")


def rin_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Why our frozen decoder hurts less than the paper's: :data:`~hcaltl.experiments.cells.RIN_PAIRS` at share 1
    with row normalisation (the pooled model's transfer cells) and without it (the ``"rin"`` cells), over the seeds
    both have: the mean test MSE and the factor against RANDOM/No-TL of the same architecture. Empty until a
    ``"rin"`` cell and the share-1 cells of its seed have finished.

    Shapes:
        one row per pair: ``seeds``, then ``test MSE`` and ``× RANDOM/No-TL`` for each architecture (suffixed
        ``(RIN)`` and ``(no RIN)``).
    """
    without = rows[rows["kind"] == "rin"] if "kind" in rows else rows.iloc[:0]
    if without.empty:
        return pd.DataFrame()
    with_rin = share_1_rows(rows)
    with_rin = with_rin[with_rin["pair"].isin(RIN_PAIRS)] if not with_rin.empty else with_rin
    both = sorted(set(without["seed"]) & set(with_rin["seed"]) if not with_rin.empty else set())
    if not both:
        return pd.DataFrame()
    out = pd.DataFrame(index=list(RIN_PAIRS))
    for name, part in (("RIN", with_rin), ("no RIN", without)):
        part = part[part["seed"].isin(both)].assign(one_cycle=False, trainable_change_pct=np.nan)
        table = ts.summary(part).set_index("pair").reindex(out.index)
        out[f"seeds ({name})"] = table["matched_seeds"].astype("Int64")
        out[f"test MSE ({name})"] = table["mean_mse"]
        out[f"× RANDOM/No-TL ({name})"] = 1 + table["mean_change_%"] / 100
    return out


def budget_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Does the preset's epoch budget converge? Per pair run with the longer budget (share 1, constant schedule,
    pooled model): the mean test MSE and its % change against RANDOM/No-TL at the preset's budget and at the longer
    one, over the same seeds (those the longer cells have finished), with the epochs the longer cells ran (early
    stopping may end them sooner). Empty until a longer cell has finished.

    Shapes:
        one row per pair: ``seeds``, ``test MSE``, ``change %`` for each budget (columns suffixed ``(E epochs)``),
        ``epochs run``.
    """
    longer = transfer_rows(rows, True, longer=True)
    if not longer.empty:
        longer = longer[~longer["one_cycle"].astype(bool) & (longer["fraction"] == 1.0)]
    if longer.empty:
        return pd.DataFrame()
    out = pd.DataFrame(index=list(dict.fromkeys(longer["pair"])))
    # the preset's budget on the same (pair, seed) cells as the longer one, so both columns cover the same seeds
    ran_longer = pd.MultiIndex.from_frame(longer[["pair", "seed"]])
    preset = share_1_rows(rows)
    preset = preset[pd.MultiIndex.from_frame(preset[["pair", "seed"]]).isin(ran_longer)]
    for flag, part in ((False, preset), (True, longer)):
        if part.empty:
            continue
        epochs = int(part["longer_epochs"].max()) if flag else int(part["preset_epochs"].iloc[0])
        table = ts.summary(part).set_index("pair").reindex(out.index)
        out[f"seeds ({epochs} epochs)"] = table["seeds"]
        out[f"test MSE ({epochs} epochs)"] = table["mean_mse"]
        out[f"change % ({epochs} epochs)"] = table["mean_change_%"]
    out["epochs run"] = longer.groupby("pair")["epochs"].mean().reindex(out.index)
    return out


def unpooled_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Chapter 4's Table 5 at paper scale with both architectures: per pair at share 1 (constant schedule), the %
    change of the mean test MSE against RANDOM/No-TL and the trainable-parameter change of the pooled model (DC)
    and of the unpooled one (no DC), beside the paper's block 1. Empty until an unpooled cell has finished.

    Shapes:
        one row per pair of either model: ``seeds``, ``MSE change %`` and ``trainable %`` per model, ``paper
        block 1 %``, ``paper trainable %``.
    """
    tables = {}
    for dc, name in ((True, "DC"), (False, "no DC")):
        table = transfer_table(rows, dc)
        if not table.empty:
            table = table[~table["one_cycle"] & (table["fraction"] == 1.0)].set_index("pair")
        tables[name] = table
    if tables["no DC"].empty:
        return pd.DataFrame()
    out = pd.DataFrame(index=list(dict.fromkeys([*tables["no DC"].index, *tables["DC"].index])))
    for name, table in tables.items():
        if not table.empty:
            out[f"seeds ({name})"] = table["seeds"].reindex(out.index).astype("Int64")  # a count, blank where none ran
            out[f"MSE change % ({name})"] = table["mean_change_%"]
            out[f"trainable % ({name})"] = table["trainable_change_pct"]
    pairs = {transfer.pair_label(*p): p for p in paper_values.TABLE5_MSE_CHANGE}
    out["paper block 1 %"] = [paper_values.TABLE5_MSE_CHANGE[pairs[p]][0] if p in pairs else np.nan for p in out.index]
    out["paper trainable %"] = [paper_values.TABLE5_TRAINABLE_CHANGE.get(pairs.get(p), np.nan) for p in out.index]
    reference = transfer.pair_label(*ts.REFERENCE)
    return out.loc[[p for p in out.index if p in pairs or p == reference]]


def detection_tables(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Chapter 5's tables at paper scale, by name, each covering the cells finished so far: Table 7
    (:func:`table7_table`'s mean and sd over seeds beside the paper), the single-channel AUCs (mean over seeds),
    the AUC against the contaminated share (:func:`contamination_table`) and the detectors
    (:func:`comparison_tables`). Tables without a finished cell are left out."""
    tables: dict[str, pd.DataFrame] = {}
    table7 = table7_table(rows)
    if not table7.empty:
        pairs = list(dict.fromkeys(p for p, _ in table7.columns if p != "paper"))
        kept = [(p, stat) for p in pairs for stat in ("mean", "sd", "seeds")] + [c for c in table7 if c[0] == "paper"]
        tables["Table 7: box AUC over seeds, beside the paper"] = table7[kept]
    single = detection_rows(rows, "detection", "single channels")
    if not single.empty:
        table = single.pivot_table(index="case", columns="pair", values="AUC", sort=False)
        tables["single channels: AUC, mean over seeds"] = table.reindex([c[0] for c in ds.CASES if c[0] in table.index])
    contamination = contamination_table(rows)
    if not contamination.empty:
        tables["contaminated training data: box AUC and its loss, seed by seed"] = contamination
    tables.update(comparison_tables(rows))
    return tables


def comparison_tables(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Chapter 5's detectors at paper scale (comparison cells): AUC per case and detector, mean over seeds, with
    the spread over seeds, for the window-mean score and for the last LS."""
    part = rows[rows["kind"] == "comparison"] if "kind" in rows else rows.iloc[:0]
    out: dict[str, pd.DataFrame] = {}
    if part.empty:
        return out
    for reduce, label in (("mean", "window mean"), ("last", "last LS")):
        sub = part[part["reduce"] == reduce]
        if sub.empty:
            continue
        order = list(dict.fromkeys(sub["case"]))
        detectors = list(dict.fromkeys(sub["detector"]))
        stats = sub.groupby(["case", "detector"])["AUC"].agg(["mean", "std"])
        seeds = int(sub["seed"].nunique())
        out[f"detectors, {label} (AUC, mean of {seeds} seed(s))"] = stats["mean"].unstack().reindex(order)[detectors]
        if seeds > 1:
            out[f"detectors, {label} (AUC sd over seeds)"] = stats["std"].unstack().reindex(order)[detectors]
    return out


def detection_rows(rows: pd.DataFrame, kind: str, experiment: str) -> pd.DataFrame:
    """The rows of chapter 5's ``kind`` cells (detection or contamination) of one experiment (boxes or single
    channels); none when the rows hold no such cell."""
    if "kind" not in rows or "experiment" not in rows:
        return rows.iloc[:0]
    return rows[(rows["kind"] == kind) & (rows["experiment"] == experiment)]


def box_rows(rows: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The rows of chapter 5's ``kind`` cells on boxes (Table 7's experiment)."""
    return detection_rows(rows, kind, "boxes")


def table7_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Table 7 at paper scale: box AUC per case (rows) and pair, as mean and sd over seeds, beside the paper's two
    columns. Empty when no detection cell has finished.

    Shapes:
        one row per case in :data:`~hcaltl.experiments.detection_study.CASES` order; columns ``(pair, stat)`` for
        each pair scored, with stat in mean, sd, min, max (over seeds) and seeds, then ``("paper", pair)`` for
        Table 7's pairs.
    """
    boxes = box_rows(rows, "detection")
    if boxes.empty:
        return pd.DataFrame()
    stats = (
        boxes.groupby(["case", "pair"], sort=False)["AUC"]
        .agg(mean="mean", sd="std", min="min", max="max", seeds="count")
        .unstack("pair")
    )
    pairs = list(dict.fromkeys(boxes["pair"]))
    out = stats.swaplevel(axis=1)[[(p, c) for p in pairs for c in ("mean", "sd", "min", "max", "seeds")]]
    out = out.reindex([c[0] for c in ds.CASES if c[0] in out.index])
    for i, pair in enumerate(paper_values.TABLE7_PAIRS):
        out[("paper", pair)] = [paper_values.TABLE7_AUC[c][i] for c in out.index]
    return out


def contamination_losses(rows: pd.DataFrame) -> pd.DataFrame:
    """Seed by seed, each pair's box AUC at every contaminated share (rate 0: its clean detection cell), averaged over
    the cases and on the mildest degradation, and what it loses against the same pair and seed trained clean. Empty
    when no contamination cell has finished.

    Shapes:
        one row per (pair, rate, seed) with columns ``pair``, ``rate``, ``seed``, ``AUC``, ``mild``, ``loss`` and
        ``mild loss`` (both NaN where the seed has no clean cell of that pair).
    """
    dirty, clean = box_rows(rows, "contamination"), box_rows(rows, "detection")
    if dirty.empty:
        return pd.DataFrame()
    clean = clean[clean["pair"].isin(set(dirty["pair"]))].assign(rate=0.0)
    both = pd.concat([clean, dirty])
    mild = both[both["case"] == ds.CASES[0][0]].groupby(["pair", "rate", "seed"])["AUC"].mean().rename("mild")
    per_seed = both.groupby(["pair", "rate", "seed"])["AUC"].mean().to_frame().join(mild).reset_index()
    base = per_seed[per_seed["rate"] == 0].set_index(["pair", "seed"])
    same = pd.MultiIndex.from_frame(per_seed[["pair", "seed"]])
    per_seed["loss"] = base["AUC"].reindex(same).to_numpy() - per_seed["AUC"]
    per_seed["mild loss"] = base["mild"].reindex(same).to_numpy() - per_seed["mild"]
    return per_seed


def contamination_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Box AUC against the contaminated share, per pair: the mean over the cases and its mean and sd over seeds, the
    mildest degradation's AUC, and both losses against the same pair and seed trained on clean data (rate 0: its
    detection cell), seed by seed (:func:`contamination_losses`). Only seeds that have the clean cell enter the
    losses. Empty when no contamination cell has finished.

    Shapes:
        one row per (pair, rate) with columns ``mean AUC``, ``sd``, ``seeds``, ``mild AUC`` (means over seeds),
        ``loss``, ``loss sd``, ``mild loss``, ``mild loss sd`` and ``paired seeds`` (the seeds the losses cover).
    """
    per_seed = contamination_losses(rows)
    if per_seed.empty:
        return pd.DataFrame()
    out = per_seed.groupby(["pair", "rate"]).agg(
        **{
            "mean AUC": ("AUC", "mean"),
            "sd": ("AUC", "std"),
            "seeds": ("AUC", "count"),
            "mild AUC": ("mild", "mean"),
            "loss": ("loss", "mean"),
            "loss sd": ("loss", "std"),
            "mild loss": ("mild loss", "mean"),
            "mild loss sd": ("mild loss", "std"),
            "paired seeds": ("loss", "count"),
        }
    )
    pairs = list(dict.fromkeys(box_rows(rows, "contamination")["pair"]))
    return out.reindex(pairs, level="pair")
