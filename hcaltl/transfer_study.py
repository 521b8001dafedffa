"""The HE → HB transfer-learning experiment: source model, limited target data, the grid of
(init, train) pairs × data fractions × seeds, and the paper-style tables.

Explained in chapter 4 (``notebooks/04_transfer_he_to_hb.ipynb``); :mod:`hcaltl.sweep` runs the same
grid at paper scale through papermill.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import paper_values, transfer
from .geometry import get_geometry
from .models import GraphSTAD
from .preprocess import prepare_windows
from .presets import Preset
from .simulate import simulate
from .train import TrainConfig, evaluate, fit, load_checkpoint, save_checkpoint, seed_everything

REFERENCE = ("RANDOM", "No-TL")


def source_recipe(preset: Preset, latent: int, seed: int) -> dict:
    """What defines a trained HE source model (stored in its checkpoint; chapter 3 writes the same record)."""
    return _recipe(preset.n_ls_he, preset.epochs, latent, preset.window, seed)


def _recipe(n_ls_he: int, epochs: int, latent: int, window: int, seed: int) -> dict:
    return {"n_ls_he": n_ls_he, "epochs": epochs, "latent": latent, "window": window, "seed": seed}


def source_model(path: str | Path, *, n_ls: int, epochs: int, latent: int = 8, window: int = 5, seed: int = 2018,
                 progress: bool = True) -> GraphSTAD:
    """The HE source model: loaded from ``path`` when it was trained with exactly this recipe, else trained and saved.

    The recipe (LS, epochs, latent, window, seed) is stored in the checkpoint, so a stale or foreign file is
    never reused silently.
    """
    recipe = _recipe(n_ls, epochs, latent, window, seed)
    path = Path(path)
    if path.exists():
        model, record = load_checkpoint(path, expect_subdetector="HE")
        if record["extra"].get("recipe") == recipe:
            return model.eval()
    he = prepare_windows(simulate(get_geometry("HE"), n_ls, seed=seed, progress=progress), window=window).windows
    seed_everything(seed)
    model = GraphSTAD("HE", latent=latent, window=window)
    history = fit(model, he["train"], he["val"], TrainConfig(epochs=epochs, seed=seed, progress=progress))
    save_checkpoint(model, path, train_config=TrainConfig(epochs=epochs, seed=seed), history=history,
                    extra={"recipe": recipe, "he_test_mse": evaluate(model, he["test"])})
    return model.eval()


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


def fine_tune(source: GraphSTAD | None, train_windows: np.ndarray, val_windows: np.ndarray, init: str, train: str, *,
              fraction: float = 1.0, seed: int = 0, config: TrainConfig | None = None):
    """Build an HB model, apply the (init, train) pair and fine-tune it on a share of ``train_windows``.

    Returns:
        (model, :class:`~hcaltl.train.History`, the training windows used).
    """
    config = replace(config or TrainConfig(), seed=seed)
    subset = limit(train_windows, fraction, seed)
    seed_everything(seed)
    latent = source.config.latent if source is not None else 8
    model = transfer.apply(GraphSTAD("HB", latent=latent, window=train_windows.shape[1]), source, init, train)
    history = fit(model, subset, val_windows, config)
    return model, history, subset


def run_pair(source: GraphSTAD | None, windows: dict[str, np.ndarray], init: str, train: str, *, fraction: float = 1.0,
             seed: int = 0, config: TrainConfig | None = None) -> dict:
    """Fine-tune one HB model for an (init, train) pair on a fraction of the training windows; one results row.

    Args:
        source: the trained HE model (None only for RANDOM).
        windows: HB windows with ``"train"``, ``"val"`` and ``"test"`` (from :func:`~hcaltl.preprocess.prepare_windows`).
        init, train: names from :data:`hcaltl.transfer.CONFIGS`.
        fraction: share of the training windows used; seed: seeds the subset, the initialisation and the batches.
        config: training settings (its seed is replaced by ``seed``).
    """
    init, train = transfer.parse_pair((init, train))
    config = replace(config or TrainConfig(), seed=seed)
    t0 = time.perf_counter()
    model, history, subset = fine_tune(source, windows["train"], windows["val"], init, train, fraction=fraction,
                                       seed=seed, config=config)
    return {
        "init": init, "train": train, "pair": transfer.pair_label(init, train), "fraction": fraction, "seed": seed,
        "one_cycle": config.one_cycle, "n_train_windows": len(subset),
        "test_mse": evaluate(model, windows["test"]), "best_val_mse": min(history.val_loss),
        "epochs": len(history.train_loss), "best_epoch": history.best_epoch,
        "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "trainable_change_pct": transfer.trainable_change(model), "train_seconds": time.perf_counter() - t0,
        "val_curve": json.dumps([round(v, 8) for v in history.val_loss]),
        "train_curve": json.dumps([round(v, 8) for v in history.train_loss]),
    }


def run_grid(source: GraphSTAD, windows: dict[str, np.ndarray], pairs, fractions, seeds, *,
             config: TrainConfig | None = None, progress: bool = True) -> pd.DataFrame:
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
    Changes are NaN for a (schedule, fraction) group that lacks the reference pair."""
    need = {"pair", "fraction", "seed", "one_cycle", "test_mse", "trainable_change_pct"}
    missing = need - set(results.columns)
    if missing:
        raise ValueError(f"results table lacks columns {sorted(missing)}")
    if results.empty:
        raise ValueError("the results table is empty: no runs to summarise")
    ref = transfer.pair_label(*transfer.parse_pair(reference))
    g = results.groupby(["one_cycle", "fraction", "pair"], sort=False)
    table = g.agg(seeds=("seed", "nunique"), mean_mse=("test_mse", "mean"), best_mse=("test_mse", "min"),
                  trainable_change_pct=("trainable_change_pct", "first")).reset_index()
    out = []
    for (oc, fraction), part in table.groupby(["one_cycle", "fraction"], sort=False):
        base = part[part["pair"] == ref]
        part = part.copy()  # without the reference pair (e.g. one sweep cell) the changes are NaN
        part["mean_change_%"] = _change(part["mean_mse"], float(base["mean_mse"].iloc[0])) if len(base) else np.nan
        part["best_change_%"] = _change(part["best_mse"], float(base["best_mse"].iloc[0])) if len(base) else np.nan
        out.append(part)
    return pd.concat(out, ignore_index=True)


def paper_comparison(ours: pd.DataFrame, fraction: float, one_cycle: bool = False) -> pd.DataFrame:
    """Our % changes at one data fraction beside the paper's Tables 3–6, one row per pair the paper reports."""
    part = ours[(ours["fraction"] == fraction) & (ours["one_cycle"] == one_cycle)].set_index("pair")
    tl2d = transfer.pair_label("TL-4", "TL-2d")
    rows = []
    for init, train in transfer.PAPER_PAIRS[1:]:
        label = transfer.pair_label(init, train)
        row = {"pair": label}
        if label in part.index:
            row.update(ours_mean_change=part.at[label, "mean_change_%"], ours_best_change=part.at[label, "best_change_%"],
                       ours_trainable_change=part.at[label, "trainable_change_pct"])
            if (init, train) in paper_values.TABLE4_VS_TL2D and tl2d in part.index:
                row["ours_vs_TL-2d"] = _change(part.at[label, "mean_mse"], part.at[tl2d, "mean_mse"])
        t3 = paper_values.TABLE3_MSE_CHANGE.get((init, train), (np.nan, np.nan))
        t5 = paper_values.TABLE5_MSE_CHANGE.get((init, train), (np.nan, np.nan))
        row.update(paper_T3_average=t3[0], paper_T3_best=t3[1], paper_T5_block1=t5[0],
                   paper_T4_vs_TL2d=paper_values.TABLE4_VS_TL2D.get((init, train), np.nan),
                   paper_T5_trainable=paper_values.TABLE5_TRAINABLE_CHANGE.get((init, train), np.nan),
                   paper_T6_one_cycle=paper_values.TABLE6_ONE_CYCLE_CHANGE.get((init, train), np.nan))
        rows.append(row)
    return pd.DataFrame(rows).set_index("pair")


def learning_curves(results: pd.DataFrame, fraction: float, seed: int | None = None, one_cycle: bool = False) -> dict[str, list[float]]:
    """Validation-loss curve per pair (first seed unless given) from the ``val_curve`` column."""
    part = results[(results["fraction"] == fraction) & (results["one_cycle"] == one_cycle)]
    seed = part["seed"].min() if seed is None else seed
    part = part[part["seed"] == seed]
    return {row.pair: json.loads(row.val_curve) for row in part.itertuples()}


def prepare_target(n_ls: int, *, window: int = 5, seed: int = 7000, progress: bool = True) -> dict[str, np.ndarray]:
    """Simulated HB windows (train/val/test) for the target side of the study."""
    return prepare_windows(simulate(get_geometry("HB"), n_ls, seed=seed, progress=progress), window=window).windows



def trainable_table(source: GraphSTAD, pairs=transfer.PAPER_PAIRS) -> pd.DataFrame:
    """Trainable parameters of an HB model under each pair, beside the paper's Table 5 column."""
    rows = []
    for init, train in (transfer.parse_pair(p) for p in pairs):
        model = transfer.apply(GraphSTAD("HB", latent=source.config.latent, window=source.config.window), source, init, train)
        rows.append({"pair": transfer.pair_label(init, train),
                     "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
                     "ours_change_%": transfer.trainable_change(model),
                     "paper_change_%": paper_values.TABLE5_TRAINABLE_CHANGE.get((init, train), np.nan)})
    return pd.DataFrame(rows).set_index("pair")


def schedule_table(table: pd.DataFrame) -> pd.DataFrame:
    """Constant LR vs one-cycle for the pairs and fractions run with both: mean test MSE and % changes vs
    RANDOM/No-TL under each schedule, beside the paper's Table 6."""
    if table["one_cycle"].nunique() < 2:
        return pd.DataFrame()
    both = table.pivot_table(index=["fraction", "pair"], columns="one_cycle", values=["mean_mse", "mean_change_%"])
    both = both.dropna()
    if both.empty:
        return pd.DataFrame()
    out = pd.DataFrame({
        "constant_mse": both[("mean_mse", False)], "one_cycle_mse": both[("mean_mse", True)],
        "constant_change_%": both[("mean_change_%", False)], "one_cycle_change_%": both[("mean_change_%", True)],
    })
    out["paper_T6_%"] = [paper_values.TABLE6_ONE_CYCLE_CHANGE.get(transfer.parse_pair(p), np.nan)
                         for p in out.index.get_level_values("pair")]
    return out


def headline(table: pd.DataFrame, fraction: float | None, one_cycle: bool = False) -> str:
    """A few sentences with the key numbers of a summary table at one data share (for the chapter's text)."""
    if fraction is None:
        return "no constant-LR runs to summarise"
    part = table[(table["fraction"] == fraction) & (table["one_cycle"] == one_cycle)].set_index("pair")
    ref = transfer.pair_label(*REFERENCE)
    if ref not in part.index:
        return f"RANDOM/No-TL was not run at share {fraction:g}: no changes to report"
    lines = [f"At {100 * fraction:g} % of the HB training windows, RANDOM/No-TL reaches a mean test MSE of {part.at[ref, 'mean_mse']:.3g} "
             f"over {int(part.at[ref, 'seeds'])} seed(s)."]
    others = part.drop(index=ref)
    if len(others):
        best = others["mean_change_%"].idxmin()
        paper_best = min(v[0] for v in paper_values.TABLE3_MSE_CHANGE.values())
        lines.append(f"Best pair: {best}, {others.at[best, 'mean_change_%']:+.1f} % (paper's best in Table 3: {paper_best:+.1f} %).")
        worst = others["mean_change_%"].idxmax()
        lines.append(f"Worst pair: {worst}, {others.at[worst, 'mean_change_%']:+.1f} %.")
        for pair in ("TL-4/No-TL", "TL-4/TL-3", "TL-4/TL-2d", "TL-7/TL-6"):
            if pair in others.index and pair not in (best, worst):
                lines.append(f"{pair}: {others.at[pair, 'mean_change_%']:+.1f} %.")
        beat = int((others["mean_change_%"] < 0).sum())
        lines.append(f"{beat} of {len(others)} transfer pairs beat RANDOM/No-TL at this share.")
    return "\n".join(lines)
