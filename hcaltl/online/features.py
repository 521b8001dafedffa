"""GraphSTAD split at the lumisection: the encoder's per-LS features, computed once per LS, and the decoding of
the newest LS of a window from the features of its T LS.

Both are made of the model's own stages (:meth:`~hcaltl.models.GraphSTAD.normalise`,
:meth:`~hcaltl.models.GraphSTAD.ls_features`, :meth:`~hcaltl.models.GraphSTAD.code`,
:meth:`~hcaltl.models.GraphSTAD.unroll`, :meth:`~hcaltl.models.GraphSTAD.to_maps`). A window's reconstruction
needs, per LS, only the CNN + GNN features (``[P, F]``: one row per detector half with DC, P = 2; one for the
whole map without), the
CNN's pooling indices and the RIN row factors; the LSTMs then read the T feature rows. Online, each LS is encoded
once when it arrives and its features are kept for the next T − 1 windows, instead of being recomputed T times.
:func:`~hcaltl.online.newest_reconstruction` of the features of a window equals ``model(window)[:, -1]`` (checked in
``tests/test_online.py``). Explained in chapter 7 (``notebooks/07_online_monitoring.ipynb``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..models import GraphSTAD


@dataclass(frozen=True)
class Encoded:
    """One LS through the encoder.

    Shapes:
        features ``[n, P, F]`` (F = cells·C, plus C with the GNN); indices: one int64 tensor per CNN block,
        ``[n·P, C, ...]``; factor ``[n, 64, 1, 7]`` (RIN row means, 1 without RIN).
    """

    features: torch.Tensor
    indices: list[torch.Tensor]
    factor: torch.Tensor


@torch.no_grad()
def encode_ls(model: GraphSTAD, maps: torch.Tensor) -> Encoded:
    """Encoder features of single LS (eval mode: the caller sets it).

    Args:
        model: a GraphSTAD in eval mode.
        maps: scaled maps of this model's geometry.

    Shapes:
        maps ``[n, 64, 72, 7]`` → :class:`Encoded` with features ``[n, P, F]``.
    """
    _, factor, xn = model.normalise(maps.unsqueeze(1))  # each LS a window of one: [n, 1, 64, 72, 7]
    seq, indices = model.ls_features(xn)  # [n, P, 1, F]
    return Encoded(seq[:, :, 0], indices, factor[:, 0])


@torch.no_grad()
def newest_reconstruction(model: GraphSTAD, window_features: torch.Tensor, newest: Encoded) -> torch.Tensor:
    """Reconstruction of the last LS of one window from the per-LS features of its T LS.

    Args:
        model: the GraphSTAD that made the features (eval mode).
        window_features: the T LS's features, oldest first.
        newest: the :class:`Encoded` of the window's last LS (its pooling indices and RIN factor).

    Shapes:
        window_features ``[T, P, F]`` → reconstruction ``[64, 72, 7]`` (scaled units, inactive cells 0).
    """
    t = window_features.shape[0]
    z = model.code(window_features.transpose(0, 1))["z"]  # [P, L] (the dense ablation: [P, T, L])
    if not model.config.temporal:
        z = z[:, -1:]  # the dense ablation decodes each LS from its own code: the newest one's alone
    seq = model.unroll(z, t)[:, -1:]  # [P, 1, cells·C]: the newest step
    indices = [i[-model.parts :] for i in newest.indices]  # the newest LS's pooling
    return model.to_maps(seq, indices, newest.factor[-1], 1, 1)[0, 0]


@torch.no_grad()
def pooling_margin(model: GraphSTAD, maps: torch.Tensor) -> np.ndarray:
    """How close each LS comes to a tie in the encoder's max pooling: the smallest gap between the largest and the
    second-largest value of any pooling cell, relative to the sum of the absolute terms of the convolution there
    (the scale of its rounding error). Exact ties are excluded: every engine picks the first cell.

    MaxUnpool puts each decoded value where the encoder's maximum was, so a pooling cell whose two largest values
    agree to float32 rounding may be unpooled to a different cell by another engine (ONNX Runtime's convolutions
    round differently from PyTorch's). LS with a margin below about 1e-6 (a few float32 roundings) are where two
    engines can disagree; chapter 7 measures how often that happens.

    Shapes:
        maps ``[n, 64, 72, 7]`` scaled → margins ``[n]`` (inf when no pooling cell has a near-tie).
    """
    n = maps.shape[0]
    h = model._halves(model.normalise(maps.unsqueeze(1))[2])
    margin = torch.full((n,), float("inf"))
    for block, p in zip(model.enc_cnn.blocks, model.plan):
        conv, bn = block["conv"], block["bn"]
        scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
        sign = torch.where(scale < 0, -1.0, 1.0).view(1, -1, 1, 1, 1)
        c = nn.functional.conv3d(h, conv.weight, padding=conv.padding) * sign
        size = nn.functional.conv3d(h.abs(), conv.weight.abs(), padding=conv.padding)  # Σ|terms|: the rounding scale
        (ph, pw, pd) = p["pool"]
        top2, biggest = _top2(c, (ph, pw, pd), p["ceil"]), _top2(size, (ph, pw, pd), p["ceil"])[..., 0]
        gap = (top2[..., 0] - top2[..., 1]) / biggest.clamp(min=1e-30)
        gap = torch.where((gap > 0) & torch.isfinite(gap), gap, torch.full_like(gap, float("inf")))
        margin = torch.minimum(margin, gap.reshape(n, -1).min(dim=1).values)
        pooled = nn.functional.max_pool3d(c, p["pool"], p["pool"], ceil_mode=p["ceil"])
        h = nn.functional.leaky_relu(
            pooled * (scale.view(1, -1, 1, 1, 1) * sign) + (bn.bias - bn.running_mean * scale).view(1, -1, 1, 1, 1), 0.5
        )
    return margin.numpy()


def _top2(c: torch.Tensor, pool: tuple[int, int, int], ceil: bool = True) -> torch.Tensor:
    """The two largest values of each max-pooling cell (ceil mode: partial edge cells kept; else dropped):
    ``[S, C, h, w, d, 2]`` (−inf where a cell has one)."""
    s, ch, hh, ww, dd = c.shape
    ph, pw, pd = pool
    if ceil:
        padded = nn.functional.pad(c, (0, (-dd) % pd, 0, (-ww) % pw, 0, (-hh) % ph), value=-float("inf"))
    else:
        padded = c[:, :, : hh - hh % ph, : ww - ww % pw, : dd - dd % pd]
    h2, w2, d2 = padded.shape[2] // ph, padded.shape[3] // pw, padded.shape[4] // pd
    cells = padded.reshape(s, ch, h2, ph, w2, pw, d2, pd).permute(0, 1, 2, 4, 6, 3, 5, 7).reshape(s, ch, h2, w2, d2, -1)
    if cells.shape[-1] == 1:
        return torch.cat([cells, torch.full_like(cells, -float("inf"))], dim=-1)
    return cells.topk(2, dim=-1).values
