"""Running a trained GraphSTAD over many windows: input checks and eval-mode batching.

Used by :mod:`hcaltl.train` (validation loss) and :mod:`hcaltl.detectors` (scores); explained in chapter 3
(``notebooks/03_graphstad_on_he.ipynb``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from . import validate
from .models import GraphSTAD
from .utils import keep_freed_memory


def as_windows(windows: np.ndarray | torch.Tensor, name: str, model: GraphSTAD) -> torch.Tensor:
    """Windows as a float32 tensor, checked against the model (shape, window length, non-empty, finite, and zero
    outside the model's geometry: windows of another subdetector or era are refused).

    Shapes:
        windows ``[n, T, 64, 72, 7]`` with T the model's window.
    """
    if isinstance(windows, torch.Tensor):
        windows = windows.detach().cpu().numpy()
    arr = validate.windows(windows, f"{name} windows", geometry_=model.geometry, window=model.config.window)
    return torch.as_tensor(arr)


@torch.no_grad()
def per_batch(model: GraphSTAD, windows, name: str, batch_size: int, fn: Callable[[torch.Tensor], object]) -> list:
    """Apply ``fn(batch)`` to windows in batches, in eval mode (training mode restored afterwards)."""
    keep_freed_memory()
    validate.count(batch_size, "batch_size")
    w = as_windows(windows, name, model)
    device = next(model.parameters()).device
    was = model.training
    model.eval()
    try:
        return [fn(w[i : i + batch_size].to(device)) for i in range(0, len(w), batch_size)]
    finally:
        model.train(was)


def reconstruct(model: GraphSTAD, windows: np.ndarray | torch.Tensor, batch_size: int = 8) -> np.ndarray:
    """Reconstructions of windows (eval mode): numpy ``[n, T, 64, 72, 7]``."""
    return np.concatenate(per_batch(model, windows, "input", batch_size, lambda b: model(b).cpu().numpy()))


def latents(model: GraphSTAD, windows: np.ndarray | torch.Tensor, batch_size: int = 8) -> np.ndarray:
    """Deterministic latent codes of windows (the VAE's mean), in batches: numpy ``[n, 2·L]``, halves concatenated.

    Batching keeps memory at a few windows' activations (the whole HE set at once needs several GB).
    """

    def code(batch: torch.Tensor) -> np.ndarray:
        enc = model.encode(batch)
        return enc.get("mu", enc["z"]).reshape(len(batch), -1).cpu().numpy()

    return np.concatenate(per_batch(model, windows, "input", batch_size, code))
