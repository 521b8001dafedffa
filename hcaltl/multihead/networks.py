"""The multi-head network: one small MLP per channel, combined by the Fuzzy AND (paper C).

Explained in chapter 6 (``notebooks/06_multihead_cause.ipynb``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import torch
from torch import nn

#: How the heads' scores are combined, by the authors' Fuzzy AND or by the plain product.
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

    def __init__(
        self, n_in: int, hidden: tuple[int, ...] = (50, 10), input_dropout: float = 0.1, dropout: float = 0.25
    ) -> None:
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
        return sum((m.weight**2).sum() for m in self.net if isinstance(m, nn.Linear))


class FuzzyAndNet(nn.Module):
    """One :class:`Head` per channel, combined by the Fuzzy AND (or the plain product).

    Args:
        heads: channel name → input size, e.g. ``{"muons": 267, "photons": 232, "PF": 126, "calo": 266}``.
        hidden: hidden widths of every head (paper C's figure: (50, 10); its notebook: (100, 50, 20)).
        combine: ``"fuzzy"`` (exp Σ (s − 1)) or ``"product"`` (Π s).

    Shapes:
        forward(``{name: [B, n_in]}``) → (f ``[B]``, head scores ``[B, K]`` in the order of ``heads``).
    """

    def __init__(
        self,
        heads: Mapping[str, int],
        hidden: tuple[int, ...] = (50, 10),
        combine: Combine = "fuzzy",
        input_dropout: float = 0.1,
        dropout: float = 0.25,
    ) -> None:
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
            if not torch.isfinite(x[n]).all():
                raise ValueError(
                    f"input {n!r} holds {int((~torch.isfinite(x[n])).sum())} NaN or infinite values "
                    "(standardise complete features; hcaltl.cms2010.load_feature_table(fill_missing=...))"
                )
        scores = torch.stack([self.heads[n](x[n]) for n in self.names], dim=-1)
        return COMBINE[self.combine](scores), scores

    def l2_max(self) -> torch.Tensor:
        """The largest L2 penalty (sum of squared weights) of any head."""
        return torch.stack([h.l2() for h in self.heads.values()]).max()
