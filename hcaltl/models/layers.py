"""The building blocks of GraphSTAD: CNN encoder and decoder, graph encoder, LSTM stacks, VAE head.

Each block is a plain ``nn.Module`` whose forward reads as the paper describes it; where a cheaper exact
form exists, the forward calls it from :mod:`hcaltl.models.fused`. Assembled into the model by
:class:`hcaltl.models.graphstad.GraphSTAD`; explained in chapter 3 (``notebooks/03_graphstad_on_he.ipynb``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn.aggr import AttentionalAggregation

from .fused import conv_bn_leaky, conv_bn_leaky_pool, half_attention_pool, propagate


def odd_floor(n: int) -> int:
    return n if n % 2 == 1 else n - 1


def cnn_plan(size: tuple[int, int, int], n_layers: int = 4, ceil: bool = True) -> list[dict]:
    """Kernel, pool and in/out sizes of each encoder layer for an input (H, W, D).

    Args:
        size: the input map (H, W, D).
        n_layers: encoder blocks.
        ceil: pool in ceil mode (the public code: a partial cell at the edge is kept); False pools in PyTorch's
            default floor mode, which drops it (72 iphi → 36 → 18 → 9 → 4).
    """
    plan = []
    for _ in range(n_layers):
        h, w, d = size
        kernel = (odd_floor(min(3, h)), odd_floor(min(3, w)), 1)
        pool = (min(2, h), min(2, w), min(2, d))
        out = tuple(-(-s // p) if ceil else s // p for s, p in zip(size, pool))
        plan.append({"kernel": kernel, "pool": pool, "in": size, "out": out, "ceil": ceil})
        size = out
    return plan


class StaticGCN(nn.Module):
    """Graph convolution on a fixed graph for many graphs-worth of features at once.

    ``forward(adj, h)``: h ``[N, S, C_in]`` (S = samples, e.g. B·T LS) → ``[N, S, C_out]``,
    computing Â (h W) + b with one sparse–dense product.
    """

    def __init__(self, c_in: int, c_out: int, relu: bool = False) -> None:
        super().__init__()
        self.lin = nn.Linear(c_in, c_out, bias=False)
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.relu = relu  # ReLU applied here, in place on the product before any reshape (see forward)
        self.symmetric = False  # set by the owner once the adjacency is known to be symmetric

    def forward(self, adj: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        n, s, c_in = h.shape
        if c_in < self.lin.out_features:  # propagate the narrow side, then one fused (Â h) W + b
            h = propagate(adj, h.reshape(n, -1), self.symmetric).reshape(n * s, c_in)
            out = torch.addmm(self.bias, h, self.lin.weight.t())
        else:
            h = torch.mm(h.reshape(n * s, c_in), self.lin.weight.t())
            out = propagate(adj, h.reshape(n, -1), self.symmetric)
            out.add_(self.bias.repeat(s))  # the product is not saved for backward: in place
        # In-place ops on a reshaped view would make autograd copy the whole tensor back (CopySlices) in backward
        return (torch.relu_(out) if self.relu else out).reshape(n, s, -1)


class GraphEncoder(nn.Module):
    """``n_layers`` graph convolutions + ReLU (four in the public code), then attention pooling to one vector per
    detector half.

    The pooling is PyG's ``AttentionalAggregation`` (a linear gate, softmax over the nodes of a group, weighted
    sum). Its groups, the two detector halves, are the same contiguous node ranges for every LS, so it is
    computed densely (:func:`~hcaltl.models.fused.half_attention_pool`) rather than by scatter over B·T·N node indices.
    """

    def __init__(self, width: int, n_layers: int = 4) -> None:
        super().__init__()
        chans = [1] + [width] * n_layers
        self.convs = nn.ModuleList(StaticGCN(a, b, relu=True) for a, b in zip(chans[:-1], chans[1:]))
        self.pool = AttentionalAggregation(gate_nn=nn.Linear(width, 1))

    def forward(self, adj: torch.Tensor, nodes: torch.Tensor, half_sizes: tuple[int, int]) -> torch.Tensor:
        """nodes ``[S, N]`` (one scalar per channel, minus half first) → pooled ``[S, 2, C]``."""
        h = nodes.t().unsqueeze(-1)  # [N, S, 1]
        for conv in self.convs:
            h = conv(adj, h)
        return half_attention_pool(h, self.pool.gate_nn, half_sizes)


class CNNEncoder(nn.Module):
    """Four Conv3d → BatchNorm3d → LeakyReLU(0.5) → MaxPool3d blocks (indices kept for unpooling)."""

    def __init__(self, plan: list[dict], width: int) -> None:
        super().__init__()
        chans = [1] + [width] * len(plan)
        self.blocks = nn.ModuleList()
        for p, a, b in zip(plan, chans[:-1], chans[1:]):
            self.blocks.append(
                nn.ModuleDict(
                    {
                        "conv": nn.Conv3d(a, b, p["kernel"], padding=tuple(k // 2 for k in p["kernel"]), bias=False),
                        "bn": nn.BatchNorm3d(b),
                    }
                )
            )
        self.plan = plan

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        indices = []
        for block, p in zip(self.blocks, self.plan):
            x, idx = conv_bn_leaky_pool(x, block["conv"], block["bn"], p["pool"], p["ceil"])
            indices.append(idx)
        return x, indices


class CNNDecoder(nn.Module):
    """Mirror of :class:`CNNEncoder`: MaxUnpool3d → ConvTranspose3d → BatchNorm3d → LeakyReLU, then a 1×1×1
    output layer."""

    def __init__(self, plan: list[dict], width: int) -> None:
        super().__init__()
        rev = plan[::-1]
        chans = [width] * len(plan) + [1]
        self.blocks = nn.ModuleList()
        for p, a, b in zip(rev, chans[:-1], chans[1:]):
            self.blocks.append(
                nn.ModuleDict(
                    {
                        "deconv": nn.ConvTranspose3d(
                            a, b, p["kernel"], padding=tuple(k // 2 for k in p["kernel"]), bias=False
                        ),
                        "bn": nn.BatchNorm3d(b),
                    }
                )
            )
        self.out = nn.ConvTranspose3d(1, 1, 1, bias=True)
        self.plan = rev

    def forward(self, x: torch.Tensor, indices: list[torch.Tensor]) -> torch.Tensor:
        for block, p, idx in zip(self.blocks, self.plan, indices[::-1]):
            # standard-layout indices: with channels-last ones, unpooling's backward copies the full-size gradient
            x = nn.functional.max_unpool3d(x, idx.contiguous(), p["pool"], p["pool"], output_size=p["in"])
            x = conv_bn_leaky(x, block["deconv"], block["bn"])
        return x * self.out.weight.view(()) + self.out.bias  # the 1×1×1 one-channel layer is a scalar affine map


class LSTMStack(nn.Module):
    """Two single-layer LSTMs in sequence (sizes ``[in → hidden → out]``), batch-first."""

    def __init__(self, sizes: tuple[int, int, int]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.LSTM(a, b, batch_first=True) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for lstm in self.layers:
            x, _ = lstm(x)
        return x


class LatentHead(nn.Module):
    """VAE head: mean and log-variance of the latent."""

    def __init__(self, latent: int) -> None:
        super().__init__()
        self.mu = nn.Linear(latent, latent)
        self.logvar = nn.Linear(latent, latent)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.mu(h), self.logvar(h)


class DenseStep(nn.Module):
    """The CNN-only ablation's stand-in for an LSTM stack: one dense layer per LS, bounded by tanh as an LSTM's
    output is bounded. Shapes: ``[B, T, in]`` → ``[B, T, out]`` (each LS on its own, no memory across LS)."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.linear(x))
