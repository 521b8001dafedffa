"""Small helpers shared by the library: seeding, parameter counts and the process's memory setting
(:func:`keep_freed_memory`, from the private ``hcaltl._allocator``); no model or graph imports."""

from __future__ import annotations

import random

import numpy as np
import torch
from torch import nn

from ._allocator import keep_freed_memory

__all__ = ["count_parameters", "keep_freed_memory", "seed_everything"]


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; returns a torch generator for batch order.

    Args:
        seed: any integer; the same seed gives the same numbers on the same machine and versions.
    """
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the global state, for code that still draws from it)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def count_parameters(module: nn.Module, trainable: bool = False) -> int:
    """Number of parameters of ``module`` (only those with ``requires_grad`` when ``trainable``)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable)
