"""Training GraphSTAD: masked reconstruction loss, Adam, one-cycle LR, early stopping, resumable runs.

Defaults follow the authors' trainer where it is public: Adam (amsgrad, weight
decay 1e-7), batch 4 windows, masked MSE plus β·KL with β = 1e-4 for the VAE,
early stopping that restores the best validation weights.  One-cycle LR
scheduling (paper A, §5.1.3) uses :class:`torch.optim.lr_scheduler.OneCycleLR`.

Explained in chapter 3 (``notebooks/03_graphstad_on_he.ipynb``).
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from . import validate
from .checkpoints import load_resume_state, save_with_best
from .inference import as_windows, per_batch
from .models import GraphSTAD
from .utils import count_parameters, keep_freed_memory, seed_everything


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings.

    Attributes:
        epochs: maximum number of passes over the training windows.
        batch_size: windows per step (authors: 4).
        lr: learning rate (the peak rate with one-cycle); the authors use 1e-2 for the GNN model.
        weight_decay: Adam weight decay (authors: 1e-7).
        beta_kl: weight of the KL term for the VAE (authors: 1e-4).
        one_cycle: use one-cycle LR scheduling.
        patience: epochs without validation improvement before stopping.
        seed: seeds torch, numpy, random and the batch order.
        device: ``"auto"`` (GPU when present), ``"cpu"`` or ``"cuda"``.
        progress: show tqdm progress bars.
    """

    epochs: int = 10
    batch_size: int = 4
    lr: float = 1e-2
    weight_decay: float = 1e-7
    beta_kl: float = 1e-4
    one_cycle: bool = False
    patience: int = 10
    seed: int = 123
    device: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        validate.count(self.epochs, "epochs")
        validate.count(self.batch_size, "batch_size")
        validate.real(self.lr, "lr", low=0.0, low_open=True)
        validate.real(self.weight_decay, "weight_decay", low=0.0)
        validate.real(self.beta_kl, "beta_kl", low=0.0)
        validate.count(self.patience, "patience")
        validate.count(self.seed, "seed", minimum=0)
        validate.choice(self.device, "device", ("auto", "cpu", "cuda"))


@dataclass
class History:
    """Per-epoch losses and timing of a training run."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int = -1
    n_train_ls: int = 0

    @property
    def ls_per_second(self) -> float:
        return self.n_train_ls * len(self.seconds) / max(sum(self.seconds), 1e-9)


def resolve_device(device: str = "auto") -> torch.device:
    """The torch device to train on.

    Args:
        device: ``"auto"`` (the GPU when there is one), ``"cpu"`` or ``"cuda"``.

    Returns:
        The device.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but no GPU is available")
    return torch.device(device)


def masked_mse(recon: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over active cells only (inactive cells never contribute).

    Args:
        recon: the reconstruction.
        target: the windows.
        mask: the geometry's active cells.

    Returns:
        The scalar loss.

    Shapes:
        recon, target: [B, T, 64, 72, 7]; mask: [64, 72, 7] bool.
    """
    diff = (recon - target) * mask.to(recon.dtype)
    return diff.pow(2).sum() / (mask.sum() * recon.shape[0] * recon.shape[1])


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) ‖ N(0, I)) summed over batch and latent (the authors' convention).

    Args:
        mu, logvar: the VAE head's mean and log-variance.

    Returns:
        The scalar divergence.
    """
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def loss_fn(model: GraphSTAD, batch: torch.Tensor, beta_kl: float) -> torch.Tensor:
    """The training loss of one batch: masked MSE, plus ``beta_kl`` × the KL term for the VAE.

    Args:
        model: the GraphSTAD being trained.
        batch: scaled windows ``[B, T, 64, 72, 7]``.
        beta_kl: the weight of the KL term.

    Returns:
        The scalar loss.
    """
    recon, enc = model(batch, return_latent=True)
    loss = masked_mse(recon, batch, model.mask)
    if "mu" in enc:
        loss = loss + beta_kl * kl_divergence(enc["mu"], enc["logvar"])
    return loss


def evaluate(model: GraphSTAD, windows: np.ndarray | torch.Tensor, batch_size: int = 8, beta_kl: float = 0.0) -> float:
    """Mean masked MSE of the model on windows (eval mode, deterministic latent).

    Args:
        model: a GraphSTAD.
        windows: scaled windows of its geometry and window length.
        batch_size: windows per forward pass.
        beta_kl: the weight of the KL term (0: the reconstruction error alone).

    Returns:
        The mean loss per window.
    """
    parts = per_batch(model, windows, "evaluation", batch_size, lambda b: (float(loss_fn(model, b, beta_kl)), len(b)))
    return sum(loss * n for loss, n in parts) / sum(n for _, n in parts)


def fit(
    model: GraphSTAD,
    train_windows: np.ndarray | torch.Tensor,
    val_windows: np.ndarray | torch.Tensor,
    config: TrainConfig | None = None,
    *,
    checkpoint: str | Path | None = None,
    resume: bool = False,
) -> History:
    """Train ``model`` in place on windows ``[n, T, 64, 72, 7]`` and restore its best validation weights.

    Only parameters with ``requires_grad`` are optimised, so frozen blocks
    (:mod:`hcaltl.transfer`) stay exactly as they are.

    Args:
        model: a :class:`~hcaltl.models.GraphSTAD`.
        train_windows, val_windows: min–max-scaled windows.
        config: :class:`TrainConfig` (defaults if None).
        checkpoint: if given, the best model is saved there (see :func:`hcaltl.checkpoints.save_checkpoint`) after every
            epoch, together with the full training state (last weights, optimiser, scheduler, random
            generators, history) needed to resume.
        resume: continue an interrupted run from ``checkpoint`` (same model and settings; ``epochs``
            may be raised unless one-cycle is on). The result is identical to an uninterrupted run.

    On Linux, training first calls :func:`hcaltl.utils.keep_freed_memory` (about 1.8× faster steps on CPU).
    """
    keep_freed_memory()
    config = config or TrainConfig()
    train = as_windows(train_windows, "training", model)
    val = as_windows(val_windows, "validation", model)
    gen = seed_everything(config.seed)
    device = resolve_device(config.device)
    model.to(device)
    steps_per_epoch = max(len(train) // config.batch_size, 1)
    opt, sched = _optimiser(model, config, steps_per_epoch)
    history = History(n_train_ls=steps_per_epoch * config.batch_size * model.config.window)
    stopper, start = EarlyStopping(config.patience, copy.deepcopy(model.state_dict())), 0
    if resume:
        if checkpoint is None:
            raise ValueError("resume=True needs the checkpoint path of the interrupted run")
        history, stopper, start = _restore(load_resume_state(checkpoint, model, config), model, opt, sched, gen, config)
    bar = tqdm(
        range(start, config.epochs),
        desc=f"training {model.geometry.name}",
        unit="epoch",
        disable=not config.progress,
        initial=start,
        total=config.epochs,
    )
    for epoch in bar:
        t0 = time.perf_counter()
        history.train_loss.append(_train_epoch(model, train, opt, sched, gen, config, steps_per_epoch, device))
        history.seconds.append(time.perf_counter() - t0)
        history.val_loss.append(evaluate(model, val, beta_kl=0.0))
        history.lr.append(opt.param_groups[0]["lr"])
        bar.set_postfix(train=f"{history.train_loss[-1]:.2e}", val=f"{history.val_loss[-1]:.2e}")
        if stopper.update(history.val_loss[-1], model):
            history.best_epoch = epoch
        if checkpoint is not None:
            resume_state = {
                "epoch": epoch,
                "model": copy.deepcopy(model.state_dict()),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict() if sched is not None else None,
                "generator": gen.get_state(),
                "torch_rng": torch.get_rng_state(),
                "history": asdict(history),
                **stopper.state(),
            }
            save_with_best(model, stopper.best_state, checkpoint, config, history, resume_state)
        if stopper.stop:
            break
    model.load_state_dict(stopper.best_state)
    return history


@dataclass
class EarlyStopping:
    """Keeps the best validation loss and weights; ``stop`` once ``patience`` epochs brought no improvement."""

    patience: int
    best_state: dict
    best: float = float("inf")
    waited: int = 0

    def update(self, val_loss: float, model: GraphSTAD) -> bool:
        """Record one epoch's validation loss; True when it is the best so far (its weights are copied)."""
        if val_loss < self.best:
            self.best, self.best_state, self.waited = val_loss, copy.deepcopy(model.state_dict()), 0
            return True
        self.waited += 1
        return False

    @property
    def stop(self) -> bool:
        return self.waited >= self.patience

    def state(self) -> dict:
        return {"best": self.best, "best_state": self.best_state, "waited": self.waited}


def _optimiser(model: GraphSTAD, config: TrainConfig, steps_per_epoch: int):
    """Adam (amsgrad) over the trainable parameters, and the one-cycle schedule when asked for (else None)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("every parameter is frozen: nothing to train")
    opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, amsgrad=True)
    return opt, _schedule(opt, config, steps_per_epoch)


def _schedule(opt: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int):
    """The one-cycle schedule of ``config`` (peak: its learning rate), or None for a constant rate."""
    if not config.one_cycle:
        return None
    return torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=config.lr, epochs=config.epochs, steps_per_epoch=steps_per_epoch
    )


def learning_rates(config: TrainConfig, steps_per_epoch: int) -> np.ndarray:
    """The learning rate of every optimiser step that :func:`fit` takes with ``config`` when it runs every epoch
    (chapter 4, one-cycle scheduling): constant, or torch's one-cycle schedule peaking at ``config.lr``.

    Shapes:
        returns ``(config.epochs * steps_per_epoch,)``.
    """
    steps_per_epoch = validate.count(steps_per_epoch, "steps_per_epoch")
    weight = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([weight], lr=config.lr)
    sched = _schedule(opt, config, steps_per_epoch)
    rates = np.empty(config.epochs * steps_per_epoch)
    for step in range(len(rates)):
        rates[step] = opt.param_groups[0]["lr"]
        opt.step()  # no gradient: the weight stays, but the schedule sees the optimiser step first
        if sched is not None:
            sched.step()
    return rates


def _train_epoch(
    model: GraphSTAD,
    train: torch.Tensor,
    opt,
    sched,
    gen: torch.Generator,
    config: TrainConfig,
    steps_per_epoch: int,
    device: torch.device,
) -> float:
    """One pass over the training windows in a seeded random order; returns the mean loss per step."""
    model.train()
    order = torch.randperm(len(train), generator=gen)
    total = 0.0
    for s in range(steps_per_epoch):
        idx = order[s * config.batch_size : (s + 1) * config.batch_size]
        if len(idx) < min(config.batch_size, len(train)):
            continue
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model, train[idx].to(device), config.beta_kl)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        total += loss.item()
    return total / steps_per_epoch


def _restore(
    state: dict, model: GraphSTAD, opt, sched, gen: torch.Generator, config: TrainConfig
) -> tuple[History, EarlyStopping, int]:
    """Put an interrupted run's state back (weights, optimiser, schedule, random generators); returns its
    history, early-stopping state and the first epoch still to run."""
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    if sched is not None:
        sched.load_state_dict(state["scheduler"])
    gen.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    stopper = EarlyStopping(config.patience, state["best_state"], state["best"], state["waited"])
    start = config.epochs if stopper.stop else state["epoch"] + 1  # stopped early already: nothing left to run
    return History(**state["history"]), stopper, start


def per_channel_mean_mse(train_windows: np.ndarray, test_windows: np.ndarray, mask: np.ndarray) -> float:
    """The trivial baseline: predict every channel's training mean, score masked MSE on test windows.

    Args:
        train_windows, test_windows: scaled windows of the same length.
        mask: the geometry's active cells (``geometry.mask``).

    Returns:
        The masked MSE on the test windows.

    Shapes:
        train_windows ``[n, T, 64, 72, 7]``, test_windows ``[m, T, 64, 72, 7]``, mask ``[64, 72, 7]``.
    """
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != (64, 72, 7):
        raise ValueError(f"mask must be a boolean [64, 72, 7] map (geometry.mask), got {mask.dtype} {mask.shape}")
    train = validate.windows(train_windows, "train_windows")
    mean_map = train.mean(axis=(0, 1))
    test = torch.as_tensor(validate.windows(test_windows, "test_windows", window=train.shape[1]))
    pred = torch.as_tensor(mean_map).expand_as(test)
    return float(masked_mse(pred, test, torch.as_tensor(np.array(mask, dtype=bool))))


def result_row(model: GraphSTAD, history: History, test_windows: np.ndarray, seconds: float) -> dict:
    """One row of a results table for a trained model: test and best validation MSE, epochs, parameter counts,
    time, and the loss curves (JSON lists, so the row fits in a CSV).

    Args:
        model: the trained model.
        history: its training history (:func:`fit`).
        test_windows: held-out scaled windows.
        seconds: the training time.

    Returns:
        The row, column → value.
    """
    return {
        "test_mse": evaluate(model, test_windows),
        "best_val_mse": min(history.val_loss),
        "epochs": len(history.train_loss),
        "best_epoch": history.best_epoch,
        "parameters": count_parameters(model),
        "trainable_params": count_parameters(model, trainable=True),
        "train_seconds": seconds,
        "ls_per_second": history.ls_per_second,
        "val_curve": json.dumps([round(v, 8) for v in history.val_loss]),
        "train_curve": json.dumps([round(v, 8) for v in history.train_loss]),
    }


def train_and_evaluate(model: GraphSTAD, windows: dict[str, np.ndarray], config: TrainConfig | None = None) -> dict:
    """Fit on ``windows["train"]`` (early stopping on ``"val"``) and score ``"test"``.

    Args:
        model: the GraphSTAD to train, in place.
        windows: ``"train"``, ``"val"`` and ``"test"`` windows (:func:`hcaltl.preprocess.prepare_windows`).
        config: the training set-up (default :class:`TrainConfig`).

    Returns:
        :func:`result_row` plus the :class:`History` under ``"history"``.
    """
    t0 = time.perf_counter()
    history = fit(model, windows["train"], windows["val"], config)
    return {**result_row(model, history, windows["test"], time.perf_counter() - t0), "history": history}
