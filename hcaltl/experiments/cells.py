"""One cell of the book's paper-scale sweep: what it is (:class:`Cell`), what it depends on, and how it is computed
(:func:`run_cell`) — the same functions the chapters call, one (model, pair, share, seed, schedule, rate) at a time.

Kinds of cell, by chapter:

* chapter 3, ``"model"``: train one HE model (GraphSTAD, CNN + LSTM, CNN only, or the unpooled GraphSTAD) for a
  seed and score held-out LS; ``"baseline"``: the per-channel mean of the training LS (no training, seed-free). The
  GraphSTAD cell's model is the HE source of every later cell with that seed (the unpooled one, of the unpooled
  transfer cells).
* chapter 4, ``"transfer"``: fine-tune one (init, train) pair on a share of the HB training windows; with
  ``dc=False`` the pair starts from the seed's unpooled HE source (its own ``"model"`` cell, ``GraphSTAD (no DC)``).
* chapter 5, ``"detection"``: score injected anomalies (boxes and single channels) with a pair fine-tuned on all
  HB training windows; ``"comparison"``: that model beside the same model without its GNN (trained on HB from
  scratch) and the simple detectors, on the boxes and on faults that follow the readout; ``"graphs"``: the same
  model trained from scratch on each of chapter 2's channel graphs (the default too), on the same faults;
  ``"contamination"``: the detection after training on windows of which a share is anomalous.
* chapter 4 again, ``"rin"``: why the frozen decoder (TL-4/TL-2d) hurts less than in the paper; an HE GraphSTAD
  without row normalisation (RIN), trained like the source, and :data:`RIN_PAIRS` fine-tuned from it on every HB
  training window, to set beside the same pairs with RIN (the seed's share-1 transfer cells). Self-contained: it
  needs no other cell.

Every cell of a seed uses the same simulated data (HE seed 2018 and HB seed 7000, the chapters' defaults); the seed
drives initialisation, batch order, the data subset and the contamination draw. Orchestrated by
:mod:`hcaltl.experiments.sweep`; the tables are built in chapters 3–5.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .. import transfer
from ..checkpoints import load_checkpoint, save_checkpoint
from ..geometry import get_geometry
from ..models import GraphSTAD
from ..preprocess import Prepared, prepare_windows
from ..simulate import simulate
from ..train import TrainConfig, fit, per_channel_mean_mse, result_row
from ..utils import seed_everything
from . import detection_study as ds
from .ablations import MODELS, SOURCE_MODEL, UNPOOLED
from .presets import Preset, get_preset

BASELINE = "per-channel mean"
KINDS = ("model", "baseline", "transfer", "detection", "comparison", "graphs", "contamination", "rin")
CHAPTER_OF = {
    "model": 3,
    "baseline": 3,
    "transfer": 4,
    "detection": 5,
    "comparison": 5,
    "graphs": 5,
    "contamination": 5,
    "rin": 4,
}
#: Kinds of cell that belong to an ``"INIT/TRAIN"`` pair and start from (or are built like) the seed's HE source.
PAIRED = ("transfer", "detection", "comparison", "graphs", "contamination")
#: The pairs a ``"rin"`` cell fine-tunes without RIN: the frozen decoder, its BatchNorm repair, and their reference.
RIN_PAIRS = ("RANDOM/No-TL", "TL-4/TL-2d", "TL-4/TL-2d[BN]")


@dataclass(frozen=True)
class Spec:
    """What every cell of one sweep shares: the preset and the fixed parts of the recipe.

    Attributes:
        preset: ``"fast"`` or ``"paper"``; ``n_ls_he``, ``n_ls_hb``, ``epochs``: overrides (None keeps the preset's).
        latent: latent size of every model; he_seed, hb_seed: seeds of the simulated HE and HB data.
        anomaly_seed: seed of the injected test regions; n_anomalies: anomalous windows per kind (chapter 5).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"`` for training.
    """

    preset: str = "paper"
    n_ls_he: int | None = None
    n_ls_hb: int | None = None
    epochs: int | None = None
    latent: int = 8
    he_seed: int = 2018
    hb_seed: int = 7000
    anomaly_seed: int = 101
    n_anomalies: int = 1000
    device: str = "auto"

    @property
    def cfg(self) -> Preset:
        overrides = {
            k: v
            for k, v in (("n_ls_he", self.n_ls_he), ("n_ls_hb", self.n_ls_hb), ("epochs", self.epochs))
            if v is not None
        }
        return get_preset(self.preset, **overrides)

    def train_config(self, seed: int, one_cycle: bool = False) -> TrainConfig:
        return TrainConfig(epochs=self.cfg.epochs, seed=seed, one_cycle=one_cycle, device=self.device, progress=False)


@dataclass(frozen=True)
class Cell:
    """One task of the sweep.

    Attributes:
        kind: one of :data:`KINDS`; seed: the replica seed (0 for the seed-free baseline).
        model: chapter 3's model name (:data:`MODELS`); pair: ``"INIT/TRAIN"`` (chapters 4–5).
        fraction: share of the HB training windows; one_cycle: the LR schedule; rate: contaminated share.
        dc: False for a transfer cell of the unpooled model (source: the seed's ``GraphSTAD (no DC)``).
        epochs: a transfer cell's epoch budget when it is not the preset's (None: the preset's); such a cell asks
            whether the preset's budget has converged, and its model is not kept for chapter 5.
    """

    kind: str
    seed: int
    model: str = "GraphSTAD"
    pair: str = ""
    fraction: float = 1.0
    one_cycle: bool = False
    rate: float = 0.0
    dc: bool = True
    epochs: int | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"cell kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind == "model" and self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.kind in PAIRED:
            object.__setattr__(self, "pair", transfer.pair_label(*transfer.parse_pair(self.pair)))
        if not 0 < self.fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction}")
        if not 0 <= self.rate < 1:
            raise ValueError(f"rate must be in [0, 1), got {self.rate}")
        if not isinstance(self.dc, bool) or (not self.dc and self.kind != "transfer"):
            raise ValueError(
                f"dc must be True or False, and False only for a transfer cell; got dc={self.dc!r} for "
                f"a {self.kind} cell"
            )
        if self.epochs is not None and (
            isinstance(self.epochs, bool)
            or not isinstance(self.epochs, int)
            or self.epochs < 1
            or self.kind != "transfer"
        ):
            raise ValueError(
                f"epochs must be None or a positive int, and set only for a transfer cell; got "
                f"epochs={self.epochs!r} for a {self.kind} cell"
            )

    @property
    def chapter(self) -> int:
        return CHAPTER_OF[self.kind]

    @property
    def key(self) -> str:
        """A file-name-safe unique name, e.g. ``transfer__TL-4_TL-2__f0.1__constant__s1``."""
        what = {
            "model": self.model,
            "baseline": BASELINE,
            "transfer": f"{self.pair}__f{self.fraction:g}__"
            f"{'onecycle' if self.one_cycle else 'constant'}{'' if self.dc else '__nodc'}"
            f"{'' if self.epochs is None else f'__e{self.epochs}'}",
            "detection": self.pair,
            "comparison": self.pair,
            "graphs": self.pair,
            "contamination": f"{self.pair}__r{self.rate:g}",
            "rin": "no RIN",
        }[self.kind]
        return re.sub(r"[^A-Za-z0-9.-]+", "_", f"{self.kind}__{what}__s{self.seed}").strip("_")

    def needs_source(self) -> bool:
        """Whether the cell starts from (or is built like) the seed's HE GraphSTAD source."""
        return self.kind in PAIRED

    def source_cell(self) -> Cell:
        return Cell("model", self.seed, model=SOURCE_MODEL[self.dc])


# -- data, once per worker process ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def he_data(cfg: Preset, seed: int) -> Prepared:
    """Simulated HE windows at the preset's size (cached: a worker simulates them once)."""
    return prepare_windows(simulate(get_geometry("HE"), cfg.n_ls_he, seed=seed), window=cfg.window)


@functools.lru_cache(maxsize=2)
def hb_data(cfg: Preset, seed: int) -> Prepared:
    """Simulated HB windows at the preset's size (cached per worker)."""
    return prepare_windows(simulate(get_geometry("HB"), cfg.n_ls_hb, seed=seed), window=cfg.window)


@functools.lru_cache(maxsize=1)
def simulator_id() -> str:
    """A fingerprint of the simulator's numbers: the hash of a small simulated HB and HE sample (raw counts and
    events), so rows simulated with another calibration are never averaged together."""
    h = hashlib.sha256()
    for name in ("HB", "HE"):
        data = simulate(get_geometry(name), 12, seed=0)
        h.update(np.ascontiguousarray(data.occupancy).tobytes())
        h.update(np.ascontiguousarray(data.n_events).tobytes())
    return "sim-" + h.hexdigest()[:10]


# -- where a cell keeps its models ------------------------------------------------------------------------------


def source_path(workdir: str | Path, seed: int, dc: bool = True) -> Path:
    """The seed's trained HE GraphSTAD, or its unpooled variant (kept with the results: they cost the most to
    recompute)."""
    return Path(workdir) / "sources" / f"he_graphstad{'' if dc else '_nodc'}_s{seed}.pt"


def _partial_path(workdir: str | Path, cell: Cell) -> Path:
    return Path(workdir) / "partial" / f"{cell.key}.pt"


def _target_path(workdir: str | Path, cell: Cell) -> Path:
    return Path(workdir) / "targets" / f"{Cell('transfer', cell.seed, pair=cell.pair).key}.pt"


def load_source(workdir: str | Path, spec: Spec, seed: int, dc: bool = True) -> GraphSTAD:
    """The seed's HE source (the unpooled one when ``dc`` is False), checked against this sweep's recipe."""
    path = source_path(workdir, seed, dc)
    if not path.exists():
        raise FileNotFoundError(
            f"the HE source of seed {seed} is missing at {path}: run its chapter-3 cell first "
            f"({Cell('model', seed, model=SOURCE_MODEL[dc]).key})"
        )
    model, record = load_checkpoint(path, expect_subdetector="HE")
    if record["extra"].get("recipe") != _recipe(spec, seed):
        raise ValueError(
            f"the HE source at {path} was trained with {record['extra'].get('recipe')}, "
            f"not this sweep's recipe {_recipe(spec, seed)}: use another results folder"
        )
    return model.eval()


def _recipe(spec: Spec, seed: int) -> dict:
    cfg = spec.cfg
    return {
        "n_ls_he": cfg.n_ls_he,
        "epochs": cfg.epochs,
        "latent": spec.latent,
        "window": cfg.window,
        "seed": seed,
        "he_seed": spec.he_seed,
    }


# -- the cells --------------------------------------------------------------------------------------------------


def _fit_resumable(model: GraphSTAD, train, val, config: TrainConfig, partial: Path):
    """Fit, saving the training state after every epoch so a killed cell resumes where it stopped."""
    return fit(model, train, val, config, checkpoint=partial, resume=partial.exists())


def _model_cell(cell: Cell, spec: Spec, workdir: Path) -> list[dict]:
    cfg = spec.cfg
    prep = he_data(cfg, spec.he_seed)
    seed_everything(cell.seed)
    model = GraphSTAD("HE", latent=spec.latent, window=cfg.window, **MODELS[cell.model])
    config = spec.train_config(cell.seed)
    partial = _partial_path(workdir, cell)
    history = _fit_resumable(model, prep.windows["train"], prep.windows["val"], config, partial)
    # the epochs' time, summed over every session a resumed cell ran in (the process's own wall time is not)
    row = result_row(model, history, prep.windows["test"], float(sum(history.seconds)))
    if cell.model in SOURCE_MODEL.values():
        save_checkpoint(
            model,
            source_path(workdir, cell.seed, dc=cell.model != UNPOOLED),
            train_config=config,
            history=history,
            extra={"recipe": _recipe(spec, cell.seed), "he_test_mse": row["test_mse"]},
        )
    partial.unlink(missing_ok=True)
    return [{"model": cell.model, **row}]


def _baseline_cell(cell: Cell, spec: Spec, workdir: Path) -> list[dict]:
    prep = he_data(spec.cfg, spec.he_seed)
    t0 = time.perf_counter()
    mse = per_channel_mean_mse(prep.windows["train"], prep.windows["test"], get_geometry("HE").mask)
    return [
        {
            "model": BASELINE,
            "test_mse": mse,
            "parameters": 0,
            "trainable_params": 0,
            "train_seconds": time.perf_counter() - t0,
        }
    ]


def _fine_tune(cell: Cell, spec: Spec, workdir: Path, fraction: float, one_cycle: bool):
    """(model, history, subset): the cell's pair fine-tuned on a share of the HB training windows; on every window with
    the constant schedule the model is kept for chapter 5's cells of the same seed."""
    from .transfer_study import fine_tune

    prep = hb_data(spec.cfg, spec.hb_seed)
    config = spec.train_config(cell.seed, one_cycle)
    if cell.epochs is not None:
        config = replace(config, epochs=cell.epochs)
    model, history, subset = fine_tune(
        load_source(workdir, spec, cell.seed, cell.dc),
        prep.windows["train"],
        prep.windows["val"],
        *transfer.parse_pair(cell.pair),
        fraction=fraction,
        seed=cell.seed,
        config=config,
    )
    if fraction == 1.0 and not one_cycle and cell.dc and cell.epochs is None:  # chapter 5 starts from these
        save_checkpoint(
            model,
            _target_path(workdir, cell),
            history=history,
            extra={"recipe": _recipe(spec, cell.seed), "pair": cell.pair},
        )
    return model, history, subset


def _trained_target(cell: Cell, spec: Spec, workdir: Path) -> GraphSTAD:
    """The pair fine-tuned on every HB training window: the transfer cell's model when kept, else trained again
    (same seed, same model)."""
    path = _target_path(workdir, cell)
    if path.exists():
        model, record = load_checkpoint(path, expect_subdetector="HB")
        if record["extra"].get("recipe") == _recipe(spec, cell.seed):
            return model.eval()
    return _fine_tune(cell, spec, workdir, 1.0, False)[0].eval()


def _transfer_cell(cell: Cell, spec: Spec, workdir: Path) -> list[dict]:
    prep = hb_data(spec.cfg, spec.hb_seed)
    t0 = time.perf_counter()
    model, history, subset = _fine_tune(cell, spec, workdir, cell.fraction, cell.one_cycle)
    init, train = transfer.parse_pair(cell.pair)
    return [
        {
            "init": init,
            "train": train,
            "pair": cell.pair,
            "fraction": cell.fraction,
            "seed": cell.seed,
            "one_cycle": cell.one_cycle,
            "dc": cell.dc,
            "longer_epochs": cell.epochs,
            "n_train_windows": len(subset),
            **result_row(model, history, prep.windows["test"], time.perf_counter() - t0),
            "trainable_change_pct": transfer.trainable_change(model),
        }
    ]


def _detection_rows(model: GraphSTAD, train_windows: np.ndarray, spec: Spec, shapes=("box", "single")) -> list[dict]:
    prep = hb_data(spec.cfg, spec.hb_seed)
    error_scaler = ds.fit_error_scaler(model, train_windows)
    rows = []
    for shape in shapes:
        cases = ds.CASES if shape == "box" else [c for c in ds.CASES if c[0] in ds.SINGLE_CHANNEL_CASES]
        table = ds.detection_table_chunked(
            model,
            error_scaler,
            prep.windows["test"],
            prep.scaler,
            spec.n_anomalies,
            seed=spec.anomaly_seed + (shape == "single"),
            shape=shape,
            cases=cases,
        )
        experiment = "boxes" if shape == "box" else "single channels"
        rows += [{"experiment": experiment, "case": case, **r} for case, r in table.iterrows()]
    return rows


def _detection_cell(cell: Cell, spec: Spec, workdir: Path) -> list[dict]:
    model = _trained_target(cell, spec, workdir)
    prep = hb_data(spec.cfg, spec.hb_seed)
    return [
        {"pair": cell.pair, "rate": 0.0, "n_anomalies": spec.n_anomalies, **r}
        for r in _detection_rows(model, prep.windows["train"], spec)
    ]


def _comparison_cell(cell: Cell, spec: Spec, workdir: Path) -> list[dict]:
    from . import baseline_study as bs

    prep = hb_data(spec.cfg, spec.hb_seed)
    model = _trained_target(cell, spec, workdir)
    ablation_cell = Cell("comparison", cell.seed, pair="RANDOM/No-TL")  # one ablation per seed, whatever the pair
    source = load_source(workdir, spec, cell.seed)
    models, states = {f"GraphSTAD ({cell.pair})": (model, None)}, []
    for name, detector in bs.ABLATIONS.items():  # chapter 3's ablations, trained on HB from scratch
        states.append(Path(workdir) / "partial" / f"{ablation_cell.key}__{re.sub('[^a-z]+', '_', name.lower())}.pt")
        states[-1].parent.mkdir(parents=True, exist_ok=True)
        models[detector] = (
            bs.train_ablation(
                source, prep.windows, name, seed=cell.seed, config=spec.train_config(cell.seed), checkpoint=states[-1]
            ),
            None,
        )
    suite = bs.detectors(prep.windows["train"], prep.scaler, models)
    rows = bs.comparison_chunked(
        suite,
        prep.windows["test"],
        prep.scaler,
        spec.n_anomalies,
        seed=spec.anomaly_seed,
        sets={"boxes": ds.CASES, "readout": bs.READOUT_CASES},
    )
    for state in states:
        state.unlink(missing_ok=True)
    return [{"pair": cell.pair, "n_anomalies": spec.n_anomalies, **r} for r in rows.to_dict("records")]


def _graphs_cell(cell: Cell, spec: Spec, workdir: Path) -> list[dict]:
    from . import baseline_study as bs

    prep = hb_data(spec.cfg, spec.hb_seed)
    states = _partial_path(workdir, cell).with_suffix("")  # a folder: one training state per graph
    models = bs.train_graphs(
        load_source(workdir, spec, cell.seed),
        prep.windows,
        seed=cell.seed,
        config=spec.train_config(cell.seed),
        checkpoints=states,
    )
    suite = bs.detectors(
        prep.windows["train"], prep.scaler, {name: (m, None) for name, m in models.items()}, baselines=False
    )
    rows = bs.comparison_chunked(
        suite,
        prep.windows["test"],
        prep.scaler,
        spec.n_anomalies,
        seed=spec.anomaly_seed,
        sets={"boxes": ds.CASES, "readout": bs.READOUT_CASES},
    )
    for state in states.glob("*.pt"):
        state.unlink()
    states.rmdir()
    return [{"pair": cell.pair, "n_anomalies": spec.n_anomalies, **r} for r in rows.to_dict("records")]


def _contamination_cell(cell: Cell, spec: Spec, workdir: Path) -> list[dict]:
    from .transfer_study import fine_tune

    prep = hb_data(spec.cfg, spec.hb_seed)
    dirty = ds.contaminate(prep.windows["train"], prep.scaler, cell.rate, seed=cell.seed)[0]
    model, _, _ = fine_tune(
        load_source(workdir, spec, cell.seed),
        dirty,
        prep.windows["val"],
        *transfer.parse_pair(cell.pair),
        seed=cell.seed,
        config=spec.train_config(cell.seed),
    )
    return [
        {"pair": cell.pair, "rate": cell.rate, "n_anomalies": spec.n_anomalies, **r}
        for r in _detection_rows(model, dirty, spec, shapes=("box",))
    ]


def _rin_cell(cell: Cell, spec: Spec, workdir: Path) -> list[dict]:
    """An HE GraphSTAD without RIN, trained like the source (resumably), and :data:`RIN_PAIRS` fine-tuned from it."""
    from .transfer_study import fine_tune

    cfg = spec.cfg
    he, hb = he_data(cfg, spec.he_seed), hb_data(cfg, spec.hb_seed)
    seed_everything(cell.seed)
    source = GraphSTAD("HE", latent=spec.latent, window=cfg.window, rin=False)
    partial = _partial_path(workdir, cell)
    history = _fit_resumable(source, he.windows["train"], he.windows["val"], spec.train_config(cell.seed), partial)
    he_row = result_row(source, history, he.windows["test"], float(sum(history.seconds)))
    rows = []
    for pair in RIN_PAIRS:
        t0 = time.perf_counter()
        model, fitted, subset = fine_tune(
            source,
            hb.windows["train"],
            hb.windows["val"],
            *transfer.parse_pair(pair),
            seed=cell.seed,
            config=spec.train_config(cell.seed),
        )
        rows.append(
            {
                "pair": pair,
                "rin": False,
                "fraction": 1.0,
                "one_cycle": False,
                "n_train_windows": len(subset),
                "he_test_mse": he_row["test_mse"],
                "he_train_seconds": he_row["train_seconds"],
                **result_row(model, fitted, hb.windows["test"], time.perf_counter() - t0),
            }
        )
    partial.unlink(missing_ok=True)
    return rows


_RUNNERS = {
    "model": _model_cell,
    "baseline": _baseline_cell,
    "transfer": _transfer_cell,
    "detection": _detection_cell,
    "comparison": _comparison_cell,
    "graphs": _graphs_cell,
    "contamination": _contamination_cell,
    "rin": _rin_cell,
}


def run_cell(cell: Cell, spec: Spec, workdir: str | Path, threads: int | None = None) -> pd.DataFrame:
    """Compute one cell and return its rows with the cell's coordinates (no provenance; the sweep adds it).

    Args:
        cell: what to compute; spec: the sweep's shared recipe.
        workdir: the results folder (sources, fine-tuned targets and partial training states live there).
        threads: torch threads for this process (None leaves torch's setting).
    """
    import torch

    if threads is not None:
        torch.set_num_threads(int(threads))
    workdir = Path(workdir)
    rows = _RUNNERS[cell.kind](cell, spec, workdir)
    coords = {"kind": cell.kind, "chapter": cell.chapter, "seed": cell.seed}
    if cell.kind in PAIRED:
        coords.update(pair=cell.pair)
    if cell.kind == "transfer":
        coords.update(fraction=cell.fraction, one_cycle=cell.one_cycle, dc=cell.dc)
    return pd.DataFrame([{**coords, **r} for r in rows])
