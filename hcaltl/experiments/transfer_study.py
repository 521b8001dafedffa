"""The HE → HB transfer-learning experiment: source model, limited target data, the grid of
(init, freeze) pairs × data fractions × seeds, and the paper-style tables.

Explained in chapter 4 (``notebooks/04_transfer_he_to_hb.ipynb``); :mod:`hcaltl.experiments.sweep` runs the same
grid at paper scale through papermill.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import transfer
from ..models import GraphSTAD
from ..train import TrainConfig, fit, result_row
from ..utils import count_parameters, seed_everything
from . import paper_values
from .ablations import TABLE5_ARCHITECTURE

REFERENCE = ("RANDOM", "No-TL")


def limit(windows: np.ndarray, fraction: float, seed: int, minimum: int = 4) -> np.ndarray:
    """A seeded random subset holding ``fraction`` of the training windows (at least ``minimum``), in time order.

    Args:
        windows: training windows ``[n, T, 64, 72, 7]``.
        fraction: in (0, 1]; 1 returns every window.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    n = len(windows)
    k = min(n, max(minimum, int(round(fraction * n))))
    pick = np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))
    return windows[pick]


def fine_tune(
    source: GraphSTAD,
    train_windows: np.ndarray,
    val_windows: np.ndarray,
    init_mode: str,
    freeze_mode: str,
    *,
    fraction: float = 1.0,
    seed: int = 0,
    config: TrainConfig | None = None,
):
    """Build an HB model like the source, apply the (init, freeze) pair and fine-tune it on a share of
    ``train_windows``.

    Args:
        source: the HE source model; the HB model gets exactly its hyper-parameters (:meth:`GraphSTAD.like`).
        train_windows, val_windows: HB windows ``[n, T, 64, 72, 7]``.
        init_mode, freeze_mode: an (init, train) pair of :data:`hcaltl.transfer.CONFIGS`.
        fraction: share of the training windows used; seed: seeds the subset, the initialisation and the batches.

    Returns:
        (model, :class:`~hcaltl.train.History`, the training windows used).
    """
    config = replace(config or TrainConfig(), seed=seed)
    subset = limit(train_windows, fraction, seed)
    seed_everything(seed)
    model = transfer.target_model(source, "HB", init_mode, freeze_mode)
    history = fit(model, subset, val_windows, config)
    return model, history, subset


def run_pair(
    source: GraphSTAD,
    windows: dict[str, np.ndarray],
    init_mode: str,
    freeze_mode: str,
    *,
    fraction: float = 1.0,
    seed: int = 0,
    config: TrainConfig | None = None,
) -> dict:
    """Fine-tune one HB model for an (init, freeze) pair on a fraction of the training windows; one results row.

    Args:
        source: the trained HE model.
        windows: HB windows with ``"train"``, ``"val"`` and ``"test"``
            (from :func:`~hcaltl.preprocess.prepare_windows`).
        init_mode, freeze_mode: names from :data:`hcaltl.transfer.CONFIGS`.
        fraction: share of the training windows used; seed: seeds the subset, the initialisation and the batches.
        config: training settings (its seed is replaced by ``seed``).
    """
    init_mode, freeze_mode = transfer.parse_pair((init_mode, freeze_mode))
    config = replace(config or TrainConfig(), seed=seed)
    t0 = time.perf_counter()
    model, history, subset = fine_tune(
        source, windows["train"], windows["val"], init_mode, freeze_mode, fraction=fraction, seed=seed, config=config
    )
    return {
        "init": init_mode,
        "train": freeze_mode,
        "pair": transfer.pair_label(init_mode, freeze_mode),
        "fraction": fraction,
        "seed": seed,
        "one_cycle": config.one_cycle,
        "n_train_windows": len(subset),
        **result_row(model, history, windows["test"], time.perf_counter() - t0),
        "trainable_change_pct": transfer.trainable_change(model),
    }


def run_grid(
    source: GraphSTAD,
    windows: dict[str, np.ndarray],
    pairs,
    fractions,
    seeds,
    *,
    config: TrainConfig | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Every pair × fraction × seed (pairs as ``"INIT/TRAIN"`` strings or tuples); one row each."""
    pairs = [transfer.parse_pair(p) for p in pairs]
    config = replace(config or TrainConfig(), progress=False)
    cells = [(p, f, s) for f in fractions for s in seeds for p in pairs]
    rows = []
    for (init, train), fraction, seed in tqdm(cells, desc="transfer runs", disable=not progress):
        rows.append(run_pair(source, windows, init, train, fraction=fraction, seed=seed, config=config))
    return pd.DataFrame(rows)


def _change(value: float, reference: float) -> float:
    return 100.0 * (value / reference - 1.0)


def summary(results: pd.DataFrame, reference: tuple[str, str] = REFERENCE) -> pd.DataFrame:
    """Paper-style table: per (one_cycle, fraction, pair), mean and best test MSE over seeds and their % change
    against the reference pair's mean and best (like with like), plus the trainable-parameter change.

    The changes compare a pair with the reference **over the seeds both have** (``matched_seeds``), so a sweep still
    running never sets one seed of a pair against the mean of several of the reference; ``mean_mse`` and
    ``best_mse`` are over all the pair's seeds. Changes are NaN for a (schedule, fraction) group that lacks the
    reference pair, or for a pair that shares no seed with it. Chapter 4 explains the table.

    Shapes:
        results: one row per run (``pair``, ``fraction``, ``seed``, ``one_cycle``, ``test_mse``,
        ``trainable_change_pct``); returns one row per (one_cycle, fraction, pair).
    """
    need = {"pair", "fraction", "seed", "one_cycle", "test_mse", "trainable_change_pct"}
    missing = need - set(results.columns)
    if missing:
        raise ValueError(f"results table lacks columns {sorted(missing)}")
    if results.empty:
        raise ValueError("the results table is empty: no runs to summarise")
    ref = transfer.pair_label(*transfer.parse_pair(reference))
    keys = ["one_cycle", "fraction", "pair"]
    table = (
        results.groupby(keys, sort=False)
        .agg(
            seeds=("seed", "nunique"),
            mean_mse=("test_mse", "mean"),
            best_mse=("test_mse", "min"),
            trainable_change_pct=("trainable_change_pct", "first"),
        )
        .reset_index()
    )
    per_seed = {key: part.groupby("seed")["test_mse"].mean() for key, part in results.groupby(keys, sort=False)}
    out = []
    for (oc, fraction), part in table.groupby(["one_cycle", "fraction"], sort=False):
        base = per_seed.get((oc, fraction, ref))
        changes = []
        for pair in part["pair"]:
            ours = per_seed[(oc, fraction, pair)]
            common = ours.index.intersection(base.index) if base is not None else ours.index[:0]
            changes.append(
                (
                    len(common),
                    _change(ours[common].mean(), base[common].mean()),
                    _change(ours[common].min(), base[common].min()),
                )
                if len(common)
                else (0, np.nan, np.nan)
            )  # no reference, or none of its seeds (e.g. one sweep cell)
        part = part.copy()
        part[["matched_seeds", "mean_change_%", "best_change_%"]] = pd.DataFrame(changes, index=part.index)
        out.append(part)
    return pd.concat(out, ignore_index=True)


def paper_comparison(results: pd.DataFrame, fraction: float, one_cycle: bool = False) -> pd.DataFrame:
    """Our % changes at one data fraction and schedule beside the paper's Tables 3–6, one row per pair the paper
    reports (NaN where we did not run it).

    Every change compares over the seeds both pairs have (:func:`summary`): ``ours_*_change`` against RANDOM/No-TL,
    ``ours_vs_TL-2d`` (the TL-2d repairs, like the paper's Table 4) against TL-4/TL-2d.

    Args:
        results: one row per run, as :func:`run_grid` returns them.
        fraction: the data share compared; one_cycle: the schedule compared.

    Shapes:
        one row per pair of :data:`hcaltl.transfer.PAPER_PAIRS` after the reference.
    """
    if "fraction" not in results or "one_cycle" not in results:
        raise ValueError(
            "results lacks a 'fraction' or 'one_cycle' column: pass the run rows (run_grid), not a summary"
        )
    part = results[(results["fraction"] == fraction) & (results["one_cycle"].astype(bool) == one_cycle)]
    if part.empty:
        have = sorted(set(zip(results["fraction"], results["one_cycle"].astype(bool))))
        raise ValueError(
            f"no run at fraction={fraction!r}, one_cycle={one_cycle!r}; the results have (fraction, one_cycle) {have}"
        )
    ours = summary(part).set_index("pair")
    tl2d = transfer.pair_label("TL-4", "TL-2d")
    vs_tl2d = summary(part, reference=("TL-4", "TL-2d")).set_index("pair") if tl2d in ours.index else None
    rows = []
    for init, train in transfer.PAPER_PAIRS[1:]:
        label = transfer.pair_label(init, train)
        row = {"pair": label}
        if label in ours.index:
            row.update(
                ours_mean_change=ours.at[label, "mean_change_%"],
                ours_best_change=ours.at[label, "best_change_%"],
                ours_trainable_change=ours.at[label, "trainable_change_pct"],
            )
            if (init, train) in paper_values.TABLE4_VS_TL2D and vs_tl2d is not None:
                row["ours_vs_TL-2d"] = vs_tl2d.at[label, "mean_change_%"]
        t3 = paper_values.TABLE3_MSE_CHANGE.get((init, train), (np.nan, np.nan))
        t5 = paper_values.TABLE5_MSE_CHANGE.get((init, train), (np.nan, np.nan))
        row.update(
            paper_T3_average=t3[0],
            paper_T3_best=t3[1],
            paper_T5_block1=t5[0],
            paper_T4_vs_TL2d=paper_values.TABLE4_VS_TL2D.get((init, train), np.nan),
            paper_T5_trainable=paper_values.TABLE5_TRAINABLE_CHANGE.get((init, train), np.nan),
            paper_T6_one_cycle=paper_values.TABLE6_ONE_CYCLE_CHANGE.get((init, train), np.nan),
        )
        rows.append(row)
    return pd.DataFrame(rows).set_index("pair")


def learning_curves(
    results: pd.DataFrame, fraction: float, seed: int | None = None, one_cycle: bool = False
) -> dict[str, list[float]]:
    """Validation-loss curve per pair (first seed unless given) from the ``val_curve`` column."""
    part = results[(results["fraction"] == fraction) & (results["one_cycle"] == one_cycle)]
    seed = part["seed"].min() if seed is None else seed
    part = part[part["seed"] == seed]
    return {row.pair: json.loads(row.val_curve) for row in part.itertuples()}


def trainable_table(source: GraphSTAD, pairs=transfer.PAPER_PAIRS, *, unpooled: bool = True) -> pd.DataFrame:
    """Trainable parameters of an HB model under each pair, beside the paper's Table 5 column.

    Args:
        source: the HE source; its hyper-parameters fix the HB models (:meth:`GraphSTAD.like`).
        pairs: ``"INIT/TRAIN"`` pairs.
        unpooled: add the change of the same model in the unpooled sizes of
            :data:`~hcaltl.experiments.ablations.TABLE5_ARCHITECTURE` (counted on a fresh model, nothing is trained),
            and its distance from the paper's column in percentage points.
    """
    rows = []
    plain = GraphSTAD.like(source, "HE", **TABLE5_ARCHITECTURE) if unpooled and source.config.dc else None
    for init, train in (transfer.parse_pair(p) for p in pairs):
        model = transfer.target_model(source, "HB", init, train)
        paper = paper_values.TABLE5_TRAINABLE_CHANGE.get((init, train), np.nan)
        row = {
            "pair": transfer.pair_label(init, train),
            "trainable": count_parameters(model, trainable=True),
            "ours_change_%": transfer.trainable_change(model),
            "paper_change_%": paper,
        }
        if plain is not None:
            change = transfer.trainable_change(transfer.target_model(plain, "HB", init, train))
            row.update({"unpooled_change_%": change, "unpooled_minus_paper_pp": change - paper})
        rows.append(row)
    return pd.DataFrame(rows).set_index("pair")


#: The architectures :func:`architecture_table` compares: the book's pooled model, the public code's model without
#: DC, and the two changes that lead from it to Table 5's column one at a time.
ARCHITECTURES: dict[str, dict] = {
    "with DC (the book's GraphSTAD)": {},
    "no DC (public code)": {"dc": False},
    "no DC, floor pooling": {"dc": False, "ceil_pool": False},
    "no DC, floor pooling, 3 graph convolutions": TABLE5_ARCHITECTURE,
}


def architecture_table(
    latents=(8, 16),
    architectures: dict[str, dict] | None = None,
    pairs=tuple(transfer.pair_label(*p) for p in paper_values.TABLE5_TRAINABLE_CHANGE),  # noqa: B008 (a constant)
) -> pd.DataFrame:
    """Which layer sizes give paper A's Table 5 column of trainable-parameter changes: for each architecture and
    latent size, the change of every pair and the largest distance from the paper's column.

    Counted on fresh HB models (nothing is trained). Explained in chapter 4.

    Args:
        latents: latent sizes L (block width C = 4L).
        architectures: name → GraphSTAD keyword arguments (default :data:`ARCHITECTURES`).
        pairs: ``"INIT/TRAIN"`` pairs with a value in Table 5.

    Returns:
        One row per (architecture, L): ``parameters``, one column per pair (% change) and ``max_gap_pp``; a last
        row ``paper`` holds Table 5's column.
    """
    architectures = ARCHITECTURES if architectures is None else architectures
    parsed = [transfer.parse_pair(p) for p in pairs]
    missing = [transfer.pair_label(*p) for p in parsed if p not in paper_values.TABLE5_TRAINABLE_CHANGE]
    if missing:
        raise ValueError(
            f"pairs must have a trainable-parameter value in Table 5 "
            f"({[transfer.pair_label(*p) for p in paper_values.TABLE5_TRAINABLE_CHANGE]}), got {missing}"
        )
    paper = {transfer.pair_label(*p): paper_values.TABLE5_TRAINABLE_CHANGE[p] for p in parsed}
    rows = []
    for name, kwargs in architectures.items():
        for latent in latents:
            source = GraphSTAD("HE", latent=latent, **kwargs)
            row = {"architecture": name, "L": latent, "parameters": count_parameters(source)}
            for (init, train), label in zip(parsed, paper):
                row[label] = transfer.trainable_change(transfer.target_model(source, "HB", init, train))
            row["max_gap_pp"] = max(abs(row[label] - value) for label, value in paper.items())
            rows.append(row)
    rows.append({"architecture": "paper", "L": np.nan, "parameters": np.nan, **paper, "max_gap_pp": 0.0})
    return pd.DataFrame(rows).set_index(["architecture", "L"])


def schedule_table(table: pd.DataFrame) -> pd.DataFrame:
    """Constant LR vs one-cycle for the pairs and fractions run with both: mean test MSE and % changes vs
    RANDOM/No-TL under each schedule (NaN where that schedule lacks the RANDOM/No-TL run), beside the paper's
    Table 6."""
    if table["one_cycle"].nunique() < 2:
        return pd.DataFrame()
    both = table.pivot_table(
        index=["fraction", "pair"], columns="one_cycle", values=["mean_mse", "mean_change_%"], dropna=False
    )  # keep the change columns when they are all NaN (no reference run)
    both = both.dropna(subset=[("mean_mse", False), ("mean_mse", True)])
    if both.empty:
        return pd.DataFrame()
    out = pd.DataFrame(
        {
            "constant_mse": both[("mean_mse", False)],
            "one_cycle_mse": both[("mean_mse", True)],
            "constant_change_%": both[("mean_change_%", False)],
            "one_cycle_change_%": both[("mean_change_%", True)],
        }
    )
    out["paper_T6_%"] = [
        paper_values.TABLE6_ONE_CYCLE_CHANGE.get(transfer.parse_pair(p), np.nan)
        for p in out.index.get_level_values("pair")
    ]
    return out
