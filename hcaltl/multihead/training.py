"""Training a multi-head network on the global good/bad label: weighted loss, soft pretraining, feature
standardisation, and scoring.

Explained in chapter 6 (``notebooks/06_multihead_cause.ipynb``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from ..utils import seed_everything
from .features import LumiFeatures
from .metrics import global_auc
from .networks import FuzzyAndNet
from .schedule import CSchedule


def class_weights(good: np.ndarray, lumi: np.ndarray) -> np.ndarray:
    """Luminosity weights with equal total weight for good and bad LS: w = lumi / (class luminosity) × N / 2.

    Shapes: ``[n]`` → ``[n]`` (sums to n).
    """
    good, lumi = np.asarray(good, dtype=bool), np.asarray(lumi, dtype=np.float64)
    if good.shape != lumi.shape:
        raise ValueError(f"labels and luminosity differ in shape: {good.shape} vs {lumi.shape}")
    if (lumi <= 0).any() or not np.isfinite(lumi).all():
        raise ValueError("luminosity must be positive and finite for every LS (drop LS without luminosity first)")
    if good.all() or not good.any():
        raise ValueError("class weights need both good and bad lumisections")
    total = np.where(good, lumi[good].sum(), lumi[~good].sum())
    return lumi / total * len(lumi) / 2


def weighted_bce(p: torch.Tensor, good: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Weighted mean binary cross-entropy of "good" probabilities ``p`` against labels (1 = good)."""
    p = p.clamp(eps, 1 - eps)
    loss = -(good * torch.log(p) + (1 - good) * torch.log(1 - p))
    return (weight * loss).sum() / weight.sum()


@dataclass
class MultiHeadConfig:
    """Training settings (defaults: the authors' soft-pretraining notebook, epochs scaled by the caller)."""

    epochs: int = 200
    batch_size: int = 63
    lr: float = 2e-3
    c_reg: float = 6e-7
    schedule: CSchedule | None = None  # None → CSchedule.authors(epochs)
    seed: int = 0
    eval_every: int = 10
    progress: bool = True


@dataclass
class MultiHeadHistory:
    """Per epoch: loss, C and learning rate; every ``eval_every`` epochs: weighted global AUC on the evaluation set."""

    loss: list[float] = field(default_factory=list)
    c: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    eval_epoch: list[int] = field(default_factory=list)
    eval_auc: list[float] = field(default_factory=list)


class Standardiser:
    """z-score of every feature of every channel, fitted on training LS (scikit-learn ``StandardScaler``)."""

    def __init__(self) -> None:
        self.scalers: dict[str, StandardScaler] = {}

    def fit(self, data: LumiFeatures) -> Standardiser:
        self.scalers = {c: StandardScaler().fit(x) for c, x in data.features.items()}
        return self

    def tensors(self, data: LumiFeatures) -> dict[str, torch.Tensor]:
        if not self.scalers:
            raise RuntimeError("Standardiser is not fitted; call fit(training_data) first")
        missing = set(self.scalers) - set(data.features)
        if missing:
            raise ValueError(f"data lacks channels {sorted(missing)}")
        return {c: torch.as_tensor(s.transform(data.features[c]), dtype=torch.float32) for c, s in self.scalers.items()}


def train_multihead(
    net: FuzzyAndNet,
    train: LumiFeatures,
    config: MultiHeadConfig | None = None,
    *,
    evaluate_on: LumiFeatures | None = None,
    standardiser: Standardiser | None = None,
) -> tuple[Standardiser, MultiHeadHistory]:
    """Train ``net`` on the global label of ``train`` with the soft-pretraining loss.

    Args:
        net: the multi-head network (one head per feature block of ``train``).
        train: per-LS features with the global good/bad label.
        config: epochs, optimiser, schedule of C and seed (default :class:`MultiHeadConfig`).
        evaluate_on: features scored after each evaluation interval (the history's curves).
        standardiser: an already fitted :class:`Standardiser`; default: fitted on ``train``.

    Returns:
        The fitted :class:`Standardiser` (apply it to any data scored later) and the
        :class:`MultiHeadHistory`.
    """
    config = config or MultiHeadConfig()
    schedule = config.schedule or CSchedule.authors(config.epochs)
    seed_everything(config.seed)
    standardiser = standardiser or Standardiser().fit(train)
    x = standardiser.tensors(train)
    missing = [n for n in net.names if n not in x]
    if missing:
        raise ValueError(f"training data lacks channels {missing} of the network's heads")
    y = torch.as_tensor(train.good, dtype=torch.float32)
    w = torch.as_tensor(class_weights(train.good, train.lumi), dtype=torch.float32)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    n, bs = len(y), min(config.batch_size, len(y))
    history = MultiHeadHistory()
    for epoch in tqdm(range(config.epochs), desc="multi-head", disable=not config.progress):
        c = schedule(epoch)
        lr = config.lr * schedule.lr_factor(epoch)
        for group in opt.param_groups:
            group["lr"] = lr
        net.train()
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for b in range(n // bs):  # the remainder is dropped, as in the authors' iterator
            idx = order[b * bs : (b + 1) * bs]
            f, s = net({k: v[idx] for k, v in x.items()})
            main = weighted_bce(f, y[idx], w[idx]) + config.c_reg * net.l2_max()
            heads = torch.stack([weighted_bce(s[:, i], y[idx], w[idx]) for i in range(s.shape[1])]).mean()
            loss = (1 - c) * main + c * heads
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        history.loss.append(total / max(1, n // bs))
        history.c.append(c)
        history.lr.append(lr)
        if evaluate_on is not None and ((epoch + 1) % config.eval_every == 0 or epoch == config.epochs - 1):
            history.eval_epoch.append(epoch + 1)
            history.eval_auc.append(global_auc(scores(net, evaluate_on, standardiser), evaluate_on))
    net.eval()
    return standardiser, history


@torch.no_grad()
def scores(net: FuzzyAndNet, data: LumiFeatures, standardiser: Standardiser) -> pd.DataFrame:
    """Eval-mode scores per LS: column ``global`` (f) and one column per head (s_i); 1 = good."""
    net.eval()
    f, s = net(standardiser.tensors(data))
    return pd.DataFrame({"global": f.numpy(), **{n: s[:, i].numpy() for i, n in enumerate(net.names)}})
