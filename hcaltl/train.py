"""Training GraphSTAD: masked reconstruction loss, Adam, one-cycle LR, early stopping, checkpoints.

Defaults follow the authors' trainer where it is public: Adam (amsgrad, weight
decay 1e-7), batch 4 windows, masked MSE plus β·KL with β = 1e-4 for the VAE,
early stopping that restores the best validation weights.  One-cycle LR
scheduling (paper A, §5.1.3) uses :class:`torch.optim.lr_scheduler.OneCycleLR`.

Explained in chapter 3 (``notebooks/03_graphstad_on_he.ipynb``).
"""

from __future__ import annotations

import copy
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .allocator import keep_freed_memory
from .models import GraphSTAD


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


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; returns a torch generator for batch order."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but no GPU is available")
    return torch.device(device)


def masked_mse(recon: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over active cells only (inactive cells never contribute).

    Shapes:
        recon, target: [B, T, 64, 72, 7]; mask: [64, 72, 7] bool.
    """
    diff = (recon - target) * mask.to(recon.dtype)
    return diff.pow(2).sum() / (mask.sum() * recon.shape[0] * recon.shape[1])


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) ‖ N(0, I)) summed over batch and latent (the authors' convention)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def loss_fn(model: GraphSTAD, batch: torch.Tensor, beta_kl: float) -> torch.Tensor:
    recon, enc = model(batch, return_latent=True)
    loss = masked_mse(recon, batch, model.mask)
    if "mu" in enc:
        loss = loss + beta_kl * kl_divergence(enc["mu"], enc["logvar"])
    return loss


def _as_windows(windows: np.ndarray | torch.Tensor, name: str, model: GraphSTAD) -> torch.Tensor:
    w = torch.as_tensor(np.asarray(windows, dtype=np.float32))
    if w.dim() != 5 or tuple(w.shape[1:]) != (model.config.window, 64, 72, 7):
        raise ValueError(f"{name} windows must be [n, {model.config.window}, 64, 72, 7], got {tuple(w.shape)}")
    if len(w) == 0:
        raise ValueError(f"{name} windows are empty")
    if not torch.isfinite(w).all():
        raise ValueError(f"{name} windows contain NaN or inf")
    return w


@torch.no_grad()
def _per_batch(model: GraphSTAD, windows, name: str, batch_size: int, fn) -> list:
    """Apply ``fn(batch)`` to windows in batches, in eval mode (training mode restored afterwards)."""
    keep_freed_memory()
    w = _as_windows(windows, name, model)
    device = next(model.parameters()).device
    was = model.training
    model.eval()
    try:
        return [fn(w[i : i + batch_size].to(device)) for i in range(0, len(w), batch_size)]
    finally:
        model.train(was)


def evaluate(model: GraphSTAD, windows: np.ndarray | torch.Tensor, batch_size: int = 8, beta_kl: float = 0.0) -> float:
    """Mean masked MSE of the model on windows (eval mode, deterministic latent)."""
    parts = _per_batch(model, windows, "evaluation", batch_size, lambda b: (float(loss_fn(model, b, beta_kl)), len(b)))
    return sum(loss * n for loss, n in parts) / sum(n for _, n in parts)


def reconstruct(model: GraphSTAD, windows: np.ndarray | torch.Tensor, batch_size: int = 8) -> np.ndarray:
    """Reconstructions of windows (eval mode): numpy ``[n, T, 64, 72, 7]``."""
    return np.concatenate(_per_batch(model, windows, "input", batch_size, lambda b: model(b).cpu().numpy()))


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
        checkpoint: if given, the best model is saved there (see :func:`save_checkpoint`) after every
            epoch, together with the full training state (last weights, optimiser, scheduler, random
            generators, history) needed to resume.
        resume: continue an interrupted run from ``checkpoint`` (same model and settings; ``epochs``
            may be raised unless one-cycle is on). The result is identical to an uninterrupted run.

    On Linux, training first calls :func:`hcaltl.allocator.keep_freed_memory` (about 1.8× faster steps on CPU).
    """
    keep_freed_memory()
    config = config or TrainConfig()
    train = _as_windows(train_windows, "training", model)
    val = _as_windows(val_windows, "validation", model)
    gen = seed_everything(config.seed)
    device = resolve_device(config.device)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("every parameter is frozen: nothing to train")
    opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, amsgrad=True)
    steps_per_epoch = max(len(train) // config.batch_size, 1)
    sched = (torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, epochs=config.epochs, steps_per_epoch=steps_per_epoch)
             if config.one_cycle else None)
    history = History(n_train_ls=steps_per_epoch * config.batch_size * model.config.window)
    best, best_state, waited, start = float("inf"), copy.deepcopy(model.state_dict()), 0, 0
    if resume:
        if checkpoint is None:
            raise ValueError("resume=True needs the checkpoint path of the interrupted run")
        state = _load_resume_state(checkpoint, model, config)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if sched is not None:
            sched.load_state_dict(state["scheduler"])
        gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        history = History(**state["history"])
        best, best_state, waited, start = state["best"], state["best_state"], state["waited"], state["epoch"] + 1
        if waited >= config.patience:
            start = config.epochs  # the interrupted run had already stopped early
    bar = tqdm(range(start, config.epochs), desc=f"training {model.geometry.name}", unit="epoch",
               disable=not config.progress, initial=start, total=config.epochs)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(train), generator=gen)
        t0, total = time.perf_counter(), 0.0
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
        history.seconds.append(time.perf_counter() - t0)
        history.train_loss.append(total / steps_per_epoch)
        history.val_loss.append(evaluate(model, val, beta_kl=0.0))
        history.lr.append(opt.param_groups[0]["lr"])
        bar.set_postfix(train=f"{history.train_loss[-1]:.2e}", val=f"{history.val_loss[-1]:.2e}")
        if history.val_loss[-1] < best:
            best, best_state, waited, history.best_epoch = history.val_loss[-1], copy.deepcopy(model.state_dict()), 0, epoch
        else:
            waited += 1
        if checkpoint is not None:
            resume_state = {"epoch": epoch, "model": copy.deepcopy(model.state_dict()), "optimizer": opt.state_dict(),
                            "scheduler": sched.state_dict() if sched is not None else None,
                            "generator": gen.get_state(), "torch_rng": torch.get_rng_state(),
                            "history": asdict(history), "best": best, "best_state": best_state, "waited": waited}
            _save_with_best(model, best_state, checkpoint, config, history, resume_state)
        if waited >= config.patience:
            break
    model.load_state_dict(best_state)
    return history


def _save_with_best(model: GraphSTAD, best_state: dict, path: str | Path, config: TrainConfig, history: History,
                    resume_state: dict) -> None:
    """Save the best weights as the checkpoint's model and the running state under ``"resume"``.

    The model's current weights are restored afterwards from ``resume_state["model"]`` (a copy taken by the caller).
    """
    current = resume_state["model"]
    model.load_state_dict(best_state)
    try:
        save_checkpoint(model, path, train_config=config, history=history, resume=resume_state)
    finally:
        model.load_state_dict(current)


_RESUMABLE_CHANGES = {"epochs", "patience", "progress", "device"}


def _load_resume_state(path: str | Path, model: GraphSTAD, config: TrainConfig) -> dict:
    """The ``"resume"`` record of a checkpoint, after checking it belongs to this model and these settings."""
    _, record = load_checkpoint(path)
    if record.get("resume") is None:
        raise ValueError(f"checkpoint {path} holds no training state to resume from (saved by save_checkpoint, not fit)")
    if record["model_config"] != model.config_dict():
        raise ValueError(f"checkpoint {path} was written for another model configuration: {record['model_config']}")
    stored = record["train_config"] or {}
    changed = {k for k, v in asdict(config).items() if stored.get(k) != v} - _RESUMABLE_CHANGES
    if config.one_cycle and stored.get("epochs") != config.epochs:
        changed.add("epochs (fixed by the one-cycle schedule)")
    if changed:
        raise ValueError(f"cannot resume {path} with different training settings: {sorted(changed)}")
    return record["resume"]


def save_checkpoint(model: GraphSTAD, path: str | Path, *, train_config: TrainConfig | None = None,
                    history: History | None = None, extra: dict | None = None, resume: dict | None = None) -> Path:
    """Save weights with the full model configuration and geometry, so :func:`load_checkpoint` rebuilds it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")  # written then renamed: an interrupted save never leaves a broken file
    torch.save({
        "format": "hcaltl-graphstad-1",
        "model_config": model.config_dict(),
        "n_channels": model.geometry.n_channels,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "train_config": asdict(train_config) if train_config else None,
        "history": asdict(history) if history else None,
        "extra": extra or {},
        "resume": resume,
    }, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: str | Path, *, expect_subdetector: str | None = None, device: str = "cpu") -> tuple[GraphSTAD, dict]:
    """Rebuild a model from :func:`save_checkpoint`; returns (model, the stored record)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        record = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # torch raises several types for damaged files
        raise ValueError(f"{path} is not a readable checkpoint (truncated or damaged?): {exc}") from exc
    if not isinstance(record, dict) or record.get("format") != "hcaltl-graphstad-1":
        raise ValueError(f"{path} is not an hcaltl GraphSTAD checkpoint")
    sub = record["model_config"]["subdetector"]
    if expect_subdetector is not None and sub != expect_subdetector:
        raise ValueError(f"checkpoint {path} was trained on {sub}, but a {expect_subdetector} model was asked for")
    model = GraphSTAD.from_config(record["model_config"])
    if model.geometry.n_channels != record["n_channels"]:
        raise ValueError(f"checkpoint geometry has {record['n_channels']} channels, the rebuilt {sub} has {model.geometry.n_channels}")
    model.load_state_dict(record["state_dict"])
    return model.to(device), record


def per_channel_mean_mse(train_windows: np.ndarray, test_windows: np.ndarray, mask: np.ndarray) -> float:
    """The trivial baseline: predict every channel's training mean, score masked MSE on test windows."""
    mean_map = np.asarray(train_windows, dtype=np.float32).mean(axis=(0, 1))
    test = torch.as_tensor(np.asarray(test_windows, dtype=np.float32))
    pred = torch.as_tensor(mean_map).expand_as(test)
    return float(masked_mse(pred, test, torch.as_tensor(np.array(mask, dtype=bool))))


def train_and_evaluate(model: GraphSTAD, windows: dict[str, np.ndarray], config: TrainConfig | None = None) -> dict:
    """Fit on ``windows["train"]`` (early stopping on ``"val"``) and score ``"test"``: one row of a results table."""
    t0 = time.perf_counter()
    history = fit(model, windows["train"], windows["val"], config)
    return {
        "test_mse": evaluate(model, windows["test"]),
        "best_val_mse": min(history.val_loss),
        "epochs": len(history.train_loss),
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": time.perf_counter() - t0,
        "ls_per_second": history.ls_per_second,
        "history": history,
    }


def window_channel_error(model: GraphSTAD, windows: np.ndarray | torch.Tensor, batch_size: int = 8) -> np.ndarray:
    """Absolute reconstruction error of every channel, averaged over each window's T LS.

    This is the authors' per-channel window score (before standardisation).

    Shapes:
        windows [n, T, 64, 72, 7] → errors [n, n_channels].
    """
    def channel_error(batch: torch.Tensor) -> np.ndarray:
        err = (model(batch) - batch).abs().mean(dim=1)  # [b, 64, 72, 7]
        return err.reshape(len(batch), -1)[:, model.node_flat].cpu().numpy()

    return np.concatenate(_per_batch(model, windows, "input", batch_size, channel_error))
