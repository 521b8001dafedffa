"""Multi-head networks that learn *which subsystem* caused a bad lumisection from the global label only
(paper C: Borisyak et al., "Deep Learning for Inferring Cause of Data Anomalies").

* One head (a small sigmoid MLP) per channel scores each LS: s_i ∈ (0, 1), 1 = looks good from this channel.
* The heads are combined by the authors' **Fuzzy AND**, the soft product f = exp(Σ_i (s_i − 1)) ∈ (e^−K, 1);
  the plain product Π_i s_i is offered for comparison.
* Loss: luminosity-weighted binary cross-entropy of f against the global label, good and bad carrying equal total
  weight, plus c_reg × the largest L2 norm of any head.
* **Soft pretraining**: L' = (1 − C)·L + C·mean_i L_i, where L_i is head i's own cross-entropy against the global
  label; C starts at 0.7 and decays (:class:`CSchedule`).

Explained in chapter 6 (``notebooks/06_multihead_cause.ipynb``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, Mapping

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler
from torch import nn
from tqdm.auto import tqdm

from .certification import load_golden_json  # noqa: F401  (public API: hcaltl.multihead.load_golden_json)
from .cms2010 import LumiFeatures
from .train import seed_everything

Combine = Literal["fuzzy", "product"]


def fuzzy_and(scores: torch.Tensor) -> torch.Tensor:
    """The soft product of head scores: f = exp(Σ_i (s_i − 1)).

    Shapes:
        scores ``[B, K]`` → ``[B]``.
    """
    _check_scores(scores)
    return torch.exp((scores - 1).sum(dim=-1))


def product_and(scores: torch.Tensor) -> torch.Tensor:
    """The plain product of head scores Π_i s_i. Shapes: ``[B, K]`` → ``[B]``."""
    _check_scores(scores)
    return scores.prod(dim=-1)


def _check_scores(scores: torch.Tensor) -> None:
    if scores.ndim != 2:
        raise ValueError(f"scores must be [batch, heads], got shape {tuple(scores.shape)}")


COMBINE = {"fuzzy": fuzzy_and, "product": product_and}


class Head(nn.Module):
    """One channel's subnetwork: dropout on the input, sigmoid dense layers, one sigmoid output.

    Shapes:
        ``[B, n_in]`` → ``[B]``.
    """

    def __init__(self, n_in: int, hidden: tuple[int, ...] = (50, 10), input_dropout: float = 0.1, dropout: float = 0.25) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Dropout(input_dropout)]
        width = n_in
        for i, h in enumerate(hidden):
            layers += [nn.Linear(width, h), nn.Sigmoid()] + ([nn.Dropout(dropout)] if i < len(hidden) - 1 else [])
            width = h
        layers += [nn.Linear(width, 1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)

    def l2(self) -> torch.Tensor:
        """Sum of squared weights, biases excluded."""
        return sum((m.weight ** 2).sum() for m in self.net if isinstance(m, nn.Linear))


class FuzzyAndNet(nn.Module):
    """One :class:`Head` per channel, combined by the Fuzzy AND (or the plain product).

    Args:
        heads: channel name → input size, e.g. ``{"muons": 267, "photons": 232, "PF": 126, "calo": 266}``.
        hidden: hidden widths of every head (paper C's figure: (50, 10); its notebook: (100, 50, 20)).
        combine: ``"fuzzy"`` (exp Σ (s − 1)) or ``"product"`` (Π s).

    Shapes:
        forward(``{name: [B, n_in]}``) → (f ``[B]``, head scores ``[B, K]`` in the order of ``heads``).
    """

    def __init__(self, heads: Mapping[str, int], hidden: tuple[int, ...] = (50, 10), combine: Combine = "fuzzy",
                 input_dropout: float = 0.1, dropout: float = 0.25) -> None:
        super().__init__()
        if not heads:
            raise ValueError("FuzzyAndNet needs at least one head")
        if combine not in COMBINE:
            raise ValueError(f"combine must be one of {list(COMBINE)}, got {combine!r}")
        bad = {k: v for k, v in heads.items() if not (isinstance(v, (int, np.integer)) and v > 0)}
        if bad:
            raise ValueError(f"head input sizes must be positive integers, got {bad}")
        self.names = list(heads)
        self.sizes = dict(heads)
        self.combine = combine
        self.heads = nn.ModuleDict({n: Head(int(s), hidden, input_dropout, dropout) for n, s in heads.items()})

    def forward(self, x: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        missing = [n for n in self.names if n not in x]
        if missing:
            raise ValueError(f"inputs missing for heads {missing}; got {list(x)}")
        for n in self.names:
            if x[n].ndim != 2 or x[n].shape[1] != self.sizes[n]:
                raise ValueError(f"input {n!r} must be [batch, {self.sizes[n]}], got {tuple(x[n].shape)}")
        scores = torch.stack([self.heads[n](x[n]) for n in self.names], dim=-1)
        return COMBINE[self.combine](scores), scores

    def l2_max(self) -> torch.Tensor:
        """The largest L2 penalty (sum of squared weights) of any head."""
        return torch.stack([h.l2() for h in self.heads.values()]).max()


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


@dataclass(frozen=True)
class CSchedule:
    """The weight C of the head losses over training.

    kinds:
        ``"step"`` (the authors): C = c0 · factor^k, k = number of decay epochs start, start + every, … reached;
        ``"linear"``: from c0 to 0 at the last epoch; ``"off"``: C = 0 (no soft pretraining).
    The learning rate follows ``lr_factor``: × factor at the same decay epochs (the authors), for every kind.
    """

    kind: Literal["step", "linear", "off"] = "step"
    c0: float = 0.7
    factor: float = 0.8
    every: int = 100
    start: int = 20
    epochs: int = 801

    def __post_init__(self) -> None:
        if self.kind not in ("step", "linear", "off"):
            raise ValueError(f"schedule kind must be 'step', 'linear' or 'off', got {self.kind!r}")
        if not 0 <= self.c0 <= 1 or not 0 < self.factor <= 1 or self.every < 1 or self.epochs < 1:
            raise ValueError(f"invalid schedule {self}")

    @classmethod
    def authors(cls, epochs: int = 801, kind: str = "step") -> "CSchedule":
        """The authors' schedule (decay every 100 epochs from epoch 20, over 801 epochs) compressed to ``epochs``."""
        every = max(1, round(epochs * 100 / 801))
        return cls(kind=kind, every=every, start=max(0, round(epochs * 20 / 801)), epochs=epochs)

    def decays(self, epoch: int) -> int:
        return 0 if epoch < self.start else (epoch - self.start) // self.every + 1

    def __call__(self, epoch: int) -> float:
        if self.kind == "off":
            return 0.0
        if self.kind == "linear":
            return self.c0 * max(0.0, 1 - epoch / max(1, self.epochs - 1))
        return self.c0 * self.factor ** self.decays(epoch)

    def lr_factor(self, epoch: int) -> float:
        return self.factor ** self.decays(epoch)


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

    def fit(self, data: LumiFeatures) -> "Standardiser":
        self.scalers = {c: StandardScaler().fit(x) for c, x in data.features.items()}
        return self

    def tensors(self, data: LumiFeatures) -> dict[str, torch.Tensor]:
        if not self.scalers:
            raise RuntimeError("Standardiser is not fitted; call fit(training_data) first")
        missing = set(self.scalers) - set(data.features)
        if missing:
            raise ValueError(f"data lacks channels {sorted(missing)}")
        return {c: torch.as_tensor(s.transform(data.features[c]), dtype=torch.float32) for c, s in self.scalers.items()}


def train_multihead(net: FuzzyAndNet, train: LumiFeatures, config: MultiHeadConfig | None = None, *,
                    evaluate_on: LumiFeatures | None = None, standardiser: Standardiser | None = None) -> tuple[Standardiser, MultiHeadHistory]:
    """Train ``net`` on the global label of ``train`` with the soft-pretraining loss.

    Returns the fitted :class:`Standardiser` (apply it to any data scored later) and the history.
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
            idx = order[b * bs:(b + 1) * bs]
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


def _weighted_auc(bad: np.ndarray, score: np.ndarray, weight: np.ndarray) -> float:
    if bad.all() or not bad.any():
        return float("nan")
    return float(roc_auc_score(bad, score, sample_weight=weight))


def global_auc(table: pd.DataFrame, data: LumiFeatures, weighted: bool = True) -> float:
    """ROC AUC of 1 − f against the bad label (luminosity-weighted, as the authors compute every AUC)."""
    return _weighted_auc(~data.good, 1 - table["global"].to_numpy(), data.lumi if weighted else np.ones(data.n_ls))


def attribution_table(table: pd.DataFrame, data: LumiFeatures, heads: list[str] | None = None, *,
                      among: Literal["all", "bad"] = "all", weighted: bool = True) -> pd.DataFrame:
    """ROC AUC of each head's 1 − s_i against each subsystem's truth (rows: heads, columns: ``inclusive`` and
    the subsystems).

    Args:
        among: ``"all"``: negatives are every LS where the subsystem was fine (paper C's Fig. 3);
            ``"bad"``: only bad LS, i.e. "was it this subsystem, given that something failed?".
    """
    if data.causes is None:
        raise ValueError("attribution needs per-subsystem truth (data.causes)")
    heads = heads or [c for c in table.columns if c != "global"]
    keep = np.ones(data.n_ls, dtype=bool) if among == "all" else ~data.good
    w = (data.lumi if weighted else np.ones(data.n_ls))[keep]
    truth = {"inclusive": ~data.good, **{s: data.causes[s].to_numpy() for s in data.causes.columns}}
    rows = {h: {name: _weighted_auc(t[keep], 1 - table[h].to_numpy()[keep], w) for name, t in truth.items()} for h in heads}
    out = pd.DataFrame(rows).T
    return out.drop(columns="inclusive") if among == "bad" else out


def visible_truth(causes: pd.DataFrame, visibility: Mapping[str, tuple[str, ...]], heads: list[str]) -> pd.DataFrame:
    """Per head: True where a failing subsystem of the LS is visible to the head's channel."""
    unknown = set(causes.columns) - set(visibility)
    if unknown:
        raise ValueError(f"no visibility given for subsystems {sorted(unknown)}")
    return pd.DataFrame({h: causes[[s for s in causes.columns if h in visibility[s]]].any(axis=1).to_numpy() for h in heads})


def decomposition_auc(table: pd.DataFrame, data: LumiFeatures, visibility: Mapping[str, tuple[str, ...]],
                      heads: Mapping[str, str] | list[str] | None = None, weighted: bool = True) -> pd.Series:
    """Among bad LS, ROC AUC of each head's 1 − s_i against "the failure is visible to this head's channel":
    the decomposition property itself (s_i ≈ 0 when channel i sees the failure, ≈ 1 when it cannot).

    ``heads`` maps table columns to channels: a single-head baseline passes its one column once per channel
    (e.g. ``{"muons": "all", …}``) and is scored on every channel's truth with its one score.
    """
    if data.causes is None:
        raise ValueError("decomposition needs per-subsystem truth (data.causes)")
    heads = heads or {c: c for c in table.columns if c != "global"}
    heads = heads if isinstance(heads, Mapping) else {h: h for h in heads}
    bad = ~data.good
    truth = visible_truth(data.causes, visibility, list(heads))
    w = (data.lumi if weighted else np.ones(data.n_ls))[bad]
    return pd.Series({h: _weighted_auc(truth[h].to_numpy()[bad], 1 - table[col].to_numpy()[bad], w) for h, col in heads.items()},
                     name="AUC, visible vs invisible failures")


def exclusive_table(table: pd.DataFrame, data: LumiFeatures, heads: list[str] | None = None, threshold: float = 0.5) -> pd.DataFrame:
    """For LS bad in exactly one subsystem: the share each head flags (s_i < threshold), per subsystem
    (paper C's Fig. 4). The last column counts the LS."""
    if data.causes is None:
        raise ValueError("exclusive anomalies need per-subsystem truth (data.causes)")
    heads = heads or [c for c in table.columns if c != "global"]
    only = data.causes.sum(axis=1).to_numpy() == 1
    out = {}
    for s in data.causes.columns:
        sel = only & data.causes[s].to_numpy()
        out[s] = {h: float((table[h].to_numpy()[sel] < threshold).mean()) if sel.any() else float("nan") for h in heads}
        out[s]["LS"] = int(sel.sum())
    return pd.DataFrame(out)


def infer_cause(table: pd.DataFrame, visibility: Mapping[str, tuple[str, ...]], threshold: float = 0.5) -> pd.Series:
    """The subsystem whose pattern of visible channels best matches the heads that flag an LS (s_i < threshold):
    fewest mismatched heads, ties broken by the larger summed "badness" of its channels. "none" when no head flags.

    Beyond paper C, which reads the heads one at a time.
    """
    heads = [c for c in table.columns if c != "global"]
    unknown = {c for v in visibility.values() for c in v} - set(heads)
    if unknown:
        raise ValueError(f"visibility names channels without a head: {sorted(unknown)}")
    flagged = table[heads].to_numpy() < threshold
    badness = 1 - table[heads].to_numpy()
    names = list(visibility)
    pattern = np.array([[h in visibility[s] for h in heads] for s in names])  # [S, K]
    mismatch = (flagged[:, None, :] != pattern[None]).sum(-1)  # [n, S]
    support = (badness[:, None, :] * pattern[None]).sum(-1) / pattern.sum(-1)
    key = mismatch - 1e-3 * support
    choice = np.array(names, dtype=object)[key.argmin(axis=1)]
    return pd.Series(np.where(flagged.any(axis=1), choice, "none"), index=table.index, name="inferred cause")


def split(data: LumiFeatures, test_size: float = 0.1, seed: int = 1) -> tuple[LumiFeatures, LumiFeatures]:
    """Stratified train/test split of LS (the authors: 10 % test, random_state=1)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(data.n_ls)
    train, test = train_test_split(idx, test_size=test_size, random_state=seed, stratify=data.good)
    return data.subset(np.sort(train)), data.subset(np.sort(test))


def single_head(data: LumiFeatures) -> tuple[LumiFeatures, dict[str, int]]:
    """All channels concatenated into one block ``"all"``: the single-head baseline's input and head size."""
    joined = np.concatenate([data.features[c] for c in data.features], axis=1)
    cols = [k for c in data.features for k in data.columns[c]]
    return replace(data, features={"all": joined}, columns={"all": cols}), {"all": joined.shape[1]}
