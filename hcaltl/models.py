"""GraphSTAD: the CNN + GNN + LSTM autoencoder of Asres et al., at full detector scale.

Per lumisection (LS) of a window:

* ``enc_cnn`` — four blocks Conv3d → BatchNorm3d → LeakyReLU(0.5) → MaxPool3d over
  (ieta, iphi, depth), kernel (3, 3, 1) clipped to the current size and rounded
  down to odd: the depth axis is never convolved across;
* ``enc_gnn`` — four graph convolutions (symmetric-normalised, as DGL's
  ``GraphConv(norm="both")``) over the channel graph of :mod:`hcaltl.graph`, then
  attention pooling to one vector per detector half.

Their outputs are concatenated and read over the window by ``enc_rnn`` (two
LSTMs, last step → latent of size L; optional VAE head ``latent_head``); ``dec_rnn``
(two LSTMs) unrolls the latent back to T feature maps, which ``dec_cnn`` (four
MaxUnpool3d → ConvTranspose3d → BatchNorm3d → LeakyReLU blocks using the encoder's
pooling indices, and a final 1×1×1 transposed convolution with bias) turns back
into maps.

**Why HE and HB blocks have identical shapes.** Inputs are row-normalised along
iphi (RIN: each (ieta, depth) row divided by its mean over active cells, and
multiplied back at the end), then the two detector halves are cut, the minus half
flipped in ieta so both run from small to large |ieta|, and stacked on the batch
axis.  HE halves (14 × 72 × 7) and HB halves (16 × 72 × 2) both pool down to
1 × 5 × 1 with the same kernels, graph-convolution weights do not depend on the
number of nodes, so every parameter tensor of an HE model has the shape of its
HB counterpart and can be transferred.

**Speed.** The channel graph is the same for every LS, so each graph convolution is
one sparse–dense product of the normalised adjacency ``[N, N]`` with the features
of all B·T LS side by side ``[N, B·T·C]`` — no Python loop over LS. The CNN blocks are the same
functions as their modules in sequence, computed in a cheaper order where that is exact (the first encoder
block pools before its BatchNorm; BatchNorm is folded into the convolutions at inference; the decoder's
one-channel transposed convolution is a product over channels plus shifted sums). The benchmark
``benchmarks/bench_graphstad.py`` times all this against the plain modules and PyG's defaults.

Explained in chapter 3 (``notebooks/03_graphstad_on_he.ipynb``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch_geometric.nn.aggr import AttentionalAggregation

from .geometry import MAP_SHAPE, Geometry, get_geometry, ieta_to_row
from .graph import build_edge_index, normalized_adjacency

BLOCKS = ("enc_cnn", "enc_gnn", "enc_rnn", "latent_head", "dec_rnn", "dec_cnn")


@dataclass(frozen=True)
class GraphSTADConfig:
    """Hyper-parameters of :class:`GraphSTAD` (stored in checkpoints).

    Attributes:
        subdetector: ``"HB"`` or ``"HE"``; depth_table: its depth-table name.
        latent: latent size L; the block width is C = 4L (authors' rule).
        window: LS per window T.
        use_gnn: include the GNN branch (False: the CNN + LSTM ablation).
        temporal: include the LSTMs (False: the CNN-only ablation with a dense tanh bottleneck per LS,
            bounded like the LSTM outputs it replaces).
        variational: VAE head (mu, log-variance) on the latent.
        rin: reversible row normalisation along iphi.
        readout, spatial: edge rules of the channel graph (:func:`hcaltl.graph.build_edge_index`).
    """

    subdetector: str
    depth_table: str | None = None
    latent: int = 8
    window: int = 5
    use_gnn: bool = True
    temporal: bool = True
    variational: bool = True
    rin: bool = True
    readout: str | None = "rm_depth"
    spatial: bool = True

    @property
    def width(self) -> int:
        return 4 * self.latent


def _odd_floor(n: int) -> int:
    return n if n % 2 == 1 else n - 1


def _cnn_plan(size: tuple[int, int, int], n_layers: int = 4) -> list[dict]:
    """Kernel, pool and in/out sizes of each encoder layer for an input (H, W, D)."""
    plan = []
    for _ in range(n_layers):
        h, w, d = size
        kernel = (_odd_floor(min(3, h)), _odd_floor(min(3, w)), 1)
        pool = (min(2, h), min(2, w), min(2, d))
        out = tuple(int(np.ceil(s / p)) for s, p in zip(size, pool))
        plan.append({"kernel": kernel, "pool": pool, "in": size, "out": out})
        size = out
    return plan


class _SymmetricSpMM(torch.autograd.Function):
    """Â h for a symmetric sparse Â; the gradient Âᵀ g is then Â g, so the CSR matrix is never transposed
    (PyTorch's generic backward converts Âᵀ to CSR on every step, about half the cost of the product)."""

    @staticmethod
    def forward(ctx, adj: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        ctx.adj = adj
        return _spmm(adj, h)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return None, _spmm(ctx.adj, grad.contiguous())


def _spmm(adj: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``adj @ h`` written straight into a fresh tensor (``torch.sparse.mm`` zero-fills and copies its result)."""
    out = h.new_empty(adj.shape[0], h.shape[1])
    return torch.addmm(out, adj, h, beta=0, out=out)


def propagate(adj: torch.Tensor, h: torch.Tensor, symmetric: bool) -> torch.Tensor:
    """Sparse–dense product ``adj @ h`` ([N, N] × [N, F]), with the cheaper backward when ``adj`` is symmetric."""
    return _SymmetricSpMM.apply(adj, h) if symmetric else torch.sparse.mm(adj, h)


def is_symmetric(adj: torch.Tensor) -> bool:
    """Whether a sparse matrix equals its transpose (values included)."""
    coo = adj.to_sparse_coo().coalesce()
    t = coo.t().coalesce()
    return bool(torch.equal(coo.indices(), t.indices()) and torch.allclose(coo.values(), t.values()))


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
    """Four graph convolutions + ReLU, then attention pooling to one vector per detector half.

    The pooling is PyG's ``AttentionalAggregation`` (a linear gate, softmax over the nodes of a group, weighted
    sum). Its groups, the two detector halves, are the same contiguous node ranges for every LS, so it is
    computed densely (:func:`half_attention_pool`) rather than by scatter over B·T·N node indices.
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


def half_attention_pool(h: torch.Tensor, gate: nn.Linear, half_sizes: tuple[int, int]) -> torch.Tensor:
    """Attention pooling of node features ``[N, S, C]`` over each of two contiguous node ranges → ``[S, 2, C]``.

    Equals ``AttentionalAggregation(gate)(h_s, index)`` for every sample s with index 0 on the first
    ``half_sizes[0]`` nodes and 1 on the rest.
    """
    n, s, c = h.shape
    scores = torch.addmm(gate.bias, h.reshape(n * s, c), gate.weight.t()).reshape(n, s)
    pooled = [(torch.softmax(w, dim=0).unsqueeze(-1) * part).sum(dim=0)
              for w, part in zip(scores.split(half_sizes), h.split(half_sizes))]
    return torch.stack(pooled, dim=1)


def _shifted_windows(x: torch.Tensor, kernel: tuple[int, int], padding: tuple[int, int]) -> list[torch.Tensor]:
    """The kh·kw views of ``x`` ``[S, H, W, D]``, zero-padded in (H, W), that a (kh, kw, 1) kernel with
    ``padding`` reads at each of its offsets (row-major), each ``[S, H, W, D]`` for a 'same' kernel."""
    (kh, kw), (ph, pw) = kernel, padding
    _, h, w, _ = x.shape
    xp = nn.functional.pad(x, (0, 0, pw, kw - 1 - pw, ph, kh - 1 - ph))
    return [xp[:, a:a + h, b:b + w] for a in range(kh) for b in range(kw)]


class _TransposedConvToOne(torch.autograd.Function):
    """Transposed convolution of ``u`` ``[S, C, H, W, D]`` to one channel with a ``[C, 1, kh, kw, 1]`` kernel
    (stride 1, padding ``(kh // 2, kw // 2, 0)``), as one matrix product over the channels per kernel offset
    followed by shifted sums.

    It is the decoder's last block. oneDNN's kernel for a single output channel is slow (about 4× this at a
    training batch); the product reads the C-channel map once, and the shifts touch only one-channel maps.
    """

    @staticmethod
    def forward(ctx, u: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        s, c, h, w, d = u.shape
        kh, kw = weight.shape[2:4]
        wk = weight.reshape(c, kh * kw).t().contiguous()  # [K, C]
        z = torch.matmul(wk, u.reshape(s, c, h * w * d)).view(s, kh, kw, h, w, d)  # per-offset channel sums
        out = u.new_zeros(s, h + kh - 1, w + kw - 1, d)  # the output, padded by the kernel's reach
        for a in range(kh):
            for b in range(kw):
                out[:, a:a + h, b:b + w] += z[:, a, b]
        ctx.save_for_backward(u, wk)
        ctx.kernel = (kh, kw)
        return out[:, kh // 2: kh // 2 + h, kw // 2: kw // 2 + w].unsqueeze(1).contiguous()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        u, wk = ctx.saved_tensors
        (kh, kw), (s, c, h, w, d) = ctx.kernel, u.shape
        dz = torch.stack(_shifted_windows(grad[:, 0], (kh, kw), (kh // 2, kw // 2)), dim=1)
        dz = dz.view(s, kh * kw, h * w * d)  # [S, K, P]
        du = torch.matmul(wk.t(), dz).view_as(u) if ctx.needs_input_grad[0] else None
        dw = None
        if ctx.needs_input_grad[1]:
            dw = torch.bmm(dz, u.reshape(s, c, -1).transpose(1, 2)).sum(dim=0)  # [K, C]
            dw = dw.t().reshape(c, 1, kh, kw, 1)
        return du, dw


def _to_one_channel(conv: nn.ConvTranspose3d) -> bool:
    """Whether :class:`_TransposedConvToOne` computes this layer (one output channel, depth-1 kernel, 'same')."""
    kh, kw, kd = conv.kernel_size
    return (conv.out_channels == 1 and kd == 1 and conv.padding == (kh // 2, kw // 2, 0) and kh % 2 == 1 and kw % 2 == 1
            and conv.stride == (1, 1, 1) and conv.dilation == (1, 1, 1) and conv.groups == 1
            and conv.output_padding == (0, 0, 0))


def _transposed_conv_to_one(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                            padding: tuple = ()) -> torch.Tensor:
    """``conv_transpose3d(x, weight, bias, padding)`` for the layers :func:`_to_one_channel` accepts."""
    y = _TransposedConvToOne.apply(x, weight)
    return y if bias is None else y + bias


def _conv_bn(x: torch.Tensor, conv: nn.Conv3d | nn.ConvTranspose3d, bn: nn.BatchNorm3d) -> torch.Tensor:
    """Convolution (no bias) → BatchNorm → LeakyReLU(0.5).

    In evaluation the BatchNorm is folded into the convolution (weights scaled per output channel, plus a
    bias), which saves a pass over the feature map.
    """
    transposed = isinstance(conv, nn.ConvTranspose3d)
    op = nn.functional.conv_transpose3d if transposed else nn.functional.conv3d
    if transposed and _to_one_channel(conv):
        op = _transposed_conv_to_one
    if bn.training or bn.running_var is None:
        y = bn(op(x, conv.weight, padding=conv.padding))
    else:
        scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
        shape = (1, -1, 1, 1, 1) if transposed else (-1, 1, 1, 1, 1)  # output channels: axis 1 of a transposed kernel
        y = op(x, conv.weight * scale.view(shape), bn.bias - bn.running_mean * scale, padding=conv.padding)
    return nn.functional.leaky_relu(y, 0.5, inplace=True)  # BatchNorm keeps its input, not its output: in place


def _patch_stats(x: torch.Tensor, conv: nn.Conv3d) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance of ``conv(x)`` over (batch, H, W, D), for one input channel.

    They come from the first two moments of the input's k-cell patches (k = kernel size, e.g. 9):
    mean = W μ, var = W Σ Wᵀ. That reads the small input instead of the C-times larger output.
    Kernels of depth 1, stride 1, no dilation (the encoder's).
    """
    kh, kw, _ = conv.kernel_size
    s, _, h, w, d = x.shape
    patches = torch.stack(_shifted_windows(x.reshape(s, h, w, d), (kh, kw), conv.padding[:2])).reshape(kh * kw, -1)
    mu = patches.mean(dim=1)
    centred = patches - mu[:, None]
    cov = centred @ centred.t() / centred.shape[1]
    weight = conv.weight.reshape(conv.out_channels, kh * kw)
    return weight @ mu, ((weight @ cov) * weight).sum(dim=1)


def _update_running(bn: nn.BatchNorm3d, mean: torch.Tensor, var: torch.Tensor, n: int) -> None:
    """BatchNorm's running-statistics update (unbiased variance, momentum or cumulative average)."""
    with torch.no_grad():
        bn.num_batches_tracked.add_(1)
        momentum = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
        bn.running_mean.lerp_(mean, momentum)
        bn.running_var.lerp_(var * n / max(n - 1, 1), momentum)


def conv_bn_leaky_pool(x: torch.Tensor, conv: nn.Conv3d, bn: nn.BatchNorm3d, pool: tuple[int, int, int]
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """MaxPool(LeakyReLU(BatchNorm(Conv(x)))) with the pooling indices, computed with the pooling first.

    BatchNorm is a per-channel affine map a·c + b and LeakyReLU is increasing, so the maximum over a pooling
    cell sits where a·c is largest: pool sign(a)·c, then apply |a|·(·) + b and LeakyReLU to the pooled map,
    8 times smaller. In training, BatchNorm needs the batch statistics of c first; they come cheaply from the
    input when it has one channel (:func:`_patch_stats`), otherwise the modules run in the plain order.
    The same function (values, indices, gradients, running statistics) as the modules in sequence, without
    two passes over the full-size map.

    Shapes:
        x ``[S, C_in, H, W, D]`` → pooled ``[S, C_out, ⌈H/2⌉, ⌈W/2⌉, ⌈D/2⌉]`` and int64 indices of that shape.
    """
    from_input = conv.in_channels == 1 and conv.kernel_size[2] == 1 and conv.stride == (1, 1, 1) and conv.dilation == (1, 1, 1)
    if bn.training and not from_input:  # the statistics would need a pass over c (and its gradient): plain order
        y = nn.functional.leaky_relu(bn(conv(x)), 0.5, inplace=True)
        return nn.functional.max_pool3d(y, pool, pool, ceil_mode=True, return_indices=True)
    c = nn.functional.conv3d(x, conv.weight, padding=conv.padding)
    if bn.training:
        mean, var = _patch_stats(x, conv)
        _update_running(bn, mean.detach(), var.detach(), c.numel() // c.shape[1])
    else:
        mean, var = bn.running_mean, bn.running_var
    scale = bn.weight * torch.rsqrt(var + bn.eps)
    shift = bn.bias - mean * scale
    sign = torch.where(scale.detach() < 0, -1.0, 1.0).to(c.dtype).view(1, -1, 1, 1, 1)
    pooled, idx = nn.functional.max_pool3d(c * sign if bool((sign < 0).any()) else c, pool, pool, ceil_mode=True,
                                           return_indices=True)
    y = torch.addcmul(shift.view(1, -1, 1, 1, 1), pooled, scale.view(1, -1, 1, 1, 1) * sign)  # |a|·pooled + b
    return nn.functional.leaky_relu(y, 0.5), idx


class CNNEncoder(nn.Module):
    """Four Conv3d → BatchNorm3d → LeakyReLU(0.5) → MaxPool3d blocks (indices kept for unpooling)."""

    def __init__(self, plan: list[dict], width: int) -> None:
        super().__init__()
        chans = [1] + [width] * len(plan)
        self.blocks = nn.ModuleList()
        for p, a, b in zip(plan, chans[:-1], chans[1:]):
            self.blocks.append(nn.ModuleDict({
                "conv": nn.Conv3d(a, b, p["kernel"], padding=tuple(k // 2 for k in p["kernel"]), bias=False),
                "bn": nn.BatchNorm3d(b),
            }))
        self.plan = plan

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        indices = []
        for block, p in zip(self.blocks, self.plan):
            x, idx = conv_bn_leaky_pool(x, block["conv"], block["bn"], p["pool"])
            indices.append(idx)
        return x, indices


class CNNDecoder(nn.Module):
    """Mirror of :class:`CNNEncoder`: MaxUnpool3d → ConvTranspose3d → BatchNorm3d → LeakyReLU, then a 1×1×1 output layer."""

    def __init__(self, plan: list[dict], width: int) -> None:
        super().__init__()
        rev = plan[::-1]
        chans = [width] * len(plan) + [1]
        self.blocks = nn.ModuleList()
        for p, a, b in zip(rev, chans[:-1], chans[1:]):
            self.blocks.append(nn.ModuleDict({
                "deconv": nn.ConvTranspose3d(a, b, p["kernel"], padding=tuple(k // 2 for k in p["kernel"]), bias=False),
                "bn": nn.BatchNorm3d(b),
            }))
        self.out = nn.ConvTranspose3d(1, 1, 1, bias=True)
        self.plan = rev

    def forward(self, x: torch.Tensor, indices: list[torch.Tensor]) -> torch.Tensor:
        for block, p, idx in zip(self.blocks, self.plan, indices[::-1]):
            # standard-layout indices: with channels-last ones, unpooling's backward copies the full-size gradient
            x = nn.functional.max_unpool3d(x, idx.contiguous(), p["pool"], p["pool"], output_size=p["in"])
            x = _conv_bn(x, block["deconv"], block["bn"])
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


class GraphSTAD(nn.Module):
    """The GraphSTAD autoencoder for one subdetector.

    Args:
        geometry: :class:`~hcaltl.geometry.Geometry` (or a subdetector name).
        latent, window, use_gnn, temporal, variational, rin, readout, spatial:
            see :class:`GraphSTADConfig`.

    Shapes:
        input: ``[B, T, 64, 72, 7]`` min–max-scaled maps (inactive cells are ignored);
        output: reconstruction of the same shape (inactive cells 0);
        ``encode``: latent ``[B, 2, L]`` (one per detector half).

    Named blocks (addressed by :mod:`hcaltl.transfer`): ``enc_cnn``, ``enc_gnn``
    (absent without GNN), ``enc_rnn``, ``latent_head`` (VAE only), ``dec_rnn``, ``dec_cnn``.
    """

    def __init__(self, geometry: Geometry | str, latent: int = 8, window: int = 5, *, use_gnn: bool = True,
                 temporal: bool = True, variational: bool = True, rin: bool = True,
                 readout: str | None = "rm_depth", spatial: bool = True) -> None:
        super().__init__()
        if isinstance(geometry, str):
            geometry = get_geometry(geometry)
        if latent < 1 or window < 1:
            raise ValueError(f"latent and window must be positive, got latent={latent}, window={window}")
        self.geometry = geometry
        self.config = GraphSTADConfig(geometry.name, geometry.depth_table_name if geometry.depth_table_name != "custom" else None,
                                      latent, window, use_gnn, temporal, variational, rin, readout, spatial)
        c, lat = self.config.width, latent

        # layout: the two halves, minus side flipped, each [H, 72, D]
        lo, hi = geometry.ieta_range
        ieta = np.arange(lo, hi + 1)
        self.depth = max(max(d) for d in geometry.depth_table.values())
        rows = np.stack([ieta_to_row(-ieta), ieta_to_row(ieta)])  # [2, H], small → large |ieta|
        self.register_buffer("rows", torch.as_tensor(rows, dtype=torch.long), persistent=False)
        self.register_buffer("mask", torch.as_tensor(np.array(geometry.mask)), persistent=False)
        r, col, d = geometry.node_index
        self.register_buffer("node_flat", torch.as_tensor((r * MAP_SHAPE[1] + col) * MAP_SHAPE[2] + d, dtype=torch.long), persistent=False)
        half = (geometry.channels["side"].to_numpy() > 0).astype(np.int64)
        if np.any(np.diff(half) < 0):
            raise ValueError(f"{geometry.name}: channels must list the minus side first (the GNN pools each half as a contiguous range)")
        self.register_buffer("node_half", torch.as_tensor(half), persistent=False)
        self.half_sizes = (int((half == 0).sum()), int((half == 1).sum()))

        plan = _cnn_plan((rows.shape[1], MAP_SHAPE[1], self.depth))
        self.cells = int(np.prod(plan[-1]["out"]))
        self.enc_cnn = CNNEncoder(plan, c)
        feat = self.cells * c
        if use_gnn:
            self.enc_gnn = GraphEncoder(c)
            edge_index = build_edge_index(geometry, readout=readout, spatial=spatial)
            self.register_buffer("adj", normalized_adjacency(edge_index, geometry.n_channels), persistent=False)
            symmetric = is_symmetric(self.adj)  # undirected graph: D^-1/2 A D^-1/2 is symmetric, the cheap backward holds
            for conv in self.enc_gnn.convs:
                conv.symmetric = symmetric
            self.n_edges = int(edge_index.shape[1])
            feat += c
        if temporal:
            self.enc_rnn = LSTMStack((feat, c, lat))
            self.dec_rnn = LSTMStack((lat, c, self.cells * c))
        else:
            self.enc_dense = nn.Linear(feat, lat)
            self.dec_dense = nn.Linear(lat, self.cells * c)
        if variational:
            self.latent_head = LatentHead(lat)
        self.dec_cnn = CNNDecoder(plan, c)
        self.plan = plan
        self.reset_parameters()
        # channels-last layout: ~1.4x faster encoder convolutions on CPU (oneDNN); slower for the decoder
        self.enc_cnn.to(memory_format=torch.channels_last_3d)

    # -- initialisation -------------------------------------------------------------------
    def reset_parameters(self) -> None:
        """Paper A's RANDOM initialisation for every block: Kaiming-uniform weights, zero biases.

        BatchNorm layers keep weight 1 and bias 0.
        """
        for module in self.modules():
            if isinstance(module, (nn.BatchNorm3d,)):
                module.reset_parameters()
                continue
            for name, p in module.named_parameters(recurse=False):
                if "bias" in name:
                    nn.init.zeros_(p)
                elif p.dim() >= 2:
                    nn.init.kaiming_uniform_(p, nonlinearity="leaky_relu", a=0.5 if isinstance(module, (nn.Conv3d, nn.ConvTranspose3d)) else 0.0)

    # -- layout helpers -------------------------------------------------------------------
    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 5 or tuple(x.shape[2:]) != MAP_SHAPE:
            raise ValueError(f"GraphSTAD expects windows [B, T, 64, 72, 7], got {tuple(x.shape)}")
        if x.shape[1] != self.config.window:
            raise ValueError(f"window length {x.shape[1]} does not match the model's T = {self.config.window}")
        if not torch.isfinite(x).all():
            raise ValueError("input windows contain NaN or inf")

    def _rin_factor(self, x: torch.Tensor) -> torch.Tensor:
        """Mean over active cells of each (ieta, depth) row along iphi: [B, T, 64, 1, 7] (1 where empty)."""
        m = self.mask.to(x.dtype)
        count = m.sum(dim=1, keepdim=True)  # [64, 1, 7]
        mean = (x * m).sum(dim=-2, keepdim=True) / count.clamp(min=1)
        return torch.where(mean.abs() > 1e-6, mean, torch.ones_like(mean))

    def _halves(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, 64, 72, 7] → [B·2·T, 1, H, 72, D] (minus half flipped, halves stacked per window)."""
        b, t = x.shape[:2]
        h = x[:, :, self.rows, :, : self.depth]  # [B, T, 2, H, 72, D]
        h = h.permute(0, 2, 1, 3, 4, 5).reshape(b * 2 * t, 1, *h.shape[3:])
        return h.contiguous(memory_format=torch.channels_last_3d)  # oneDNN's fast layout on CPU

    def _merge(self, h: torch.Tensor, b: int, t: int) -> torch.Tensor:
        """Inverse of :meth:`_halves`: [B·2·T, 1, H, 72, D] → [B, T, 64, 72, 7]."""
        h = h.reshape(b, 2, t, *h.shape[2:]).permute(0, 2, 1, 3, 4, 5)  # [B, T, 2, H, 72, D]
        out = h.new_zeros(b, t, *MAP_SHAPE)
        out[:, :, self.rows, :, : self.depth] = h
        return out

    # -- forward --------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Encoder pass; returns latent ``z`` [B, 2, L] (and ``mu``, ``logvar`` for the VAE) plus internals."""
        self._check(x)
        b, t = x.shape[:2]
        x = x * self.mask.to(x.dtype)
        factor = self._rin_factor(x) if self.config.rin else torch.ones_like(x[..., :1, :])
        xn = x / factor
        feats, indices = self.enc_cnn(self._halves(xn))  # [B·2·T, C, 1, 5, 1]
        seq = feats.reshape(b, 2, t, -1)
        if self.config.use_gnn:
            nodes = xn.reshape(b * t, -1)[:, self.node_flat]  # [B·T, N]
            pooled = self.enc_gnn(self.adj, nodes, self.half_sizes)  # [B·T, 2, C]
            seq = torch.cat([seq, pooled.reshape(b, t, 2, -1).transpose(1, 2)], dim=-1)
        seq = seq.reshape(b * 2, t, -1)
        if self.config.temporal:
            h = self.enc_rnn(seq)[:, -1]  # [B·2, L]
        else:  # tanh bounds the bottleneck as an LSTM's output is bounded
            h = torch.tanh(self.enc_dense(seq))  # [B·2, T, L]
        out = {"h": h, "indices": indices, "factor": factor}
        if self.config.variational:
            mu, logvar = self.latent_head(h)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
            out.update(mu=mu, logvar=logvar, z=z)
        else:
            out["z"] = h
        return out

    def decode(self, enc: dict[str, torch.Tensor], b: int, t: int) -> torch.Tensor:
        z = enc["z"]
        if self.config.temporal:
            seq = self.dec_rnn(z.unsqueeze(1).expand(-1, t, -1))  # [B·2, T, cells·C]
        else:
            seq = torch.tanh(self.dec_dense(z))
        c = self.config.width
        feats = seq.reshape(b * 2 * t, c, *self.plan[-1]["out"])
        maps = self._merge(self.dec_cnn(feats, enc["indices"]), b, t)
        return maps * enc["factor"] * self.mask.to(maps.dtype)

    def forward(self, x: torch.Tensor, return_latent: bool = False):
        """Reconstruct windows ``[B, T, 64, 72, 7]``; with ``return_latent`` also the encoder outputs."""
        b, t = x.shape[:2] if x.dim() >= 2 else (0, 0)
        enc = self.encode(x)
        recon = self.decode(enc, b, t)
        if return_latent:
            return recon, enc
        return recon

    def latent(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic latent (mu for the VAE) per window, halves concatenated: [B, 2·L]."""
        was = self.training
        self.eval()
        with torch.no_grad():
            enc = self.encode(x)
        self.train(was)
        return enc.get("mu", enc["z"]).reshape(x.shape[0], -1)

    # -- introspection --------------------------------------------------------------------
    def block_parameters(self) -> dict[str, int]:
        """Number of parameters in each named block."""
        counts = {}
        for name, module in self.named_children():
            counts[name] = sum(p.numel() for p in module.parameters())
        return counts

    def config_dict(self) -> dict:
        return asdict(self.config)

    @classmethod
    def from_config(cls, config: dict) -> "GraphSTAD":
        cfg = dict(config)
        name, table = cfg.pop("subdetector"), cfg.pop("depth_table")
        return cls(get_geometry(name, table), **cfg)


def shape_walkthrough(model: GraphSTAD, batch: int = 1) -> "pd.DataFrame":
    """The tensor shape after every stage of a forward pass (for the architecture walk-through).

    Returns a table with one row per stage: name, shape, and the parameters of the block used there.
    """
    was = model.training
    model.eval()  # no BatchNorm statistics are touched
    with torch.no_grad():
        table = _walk(model, batch)
    model.train(was)
    return table


def _walk(model: GraphSTAD, batch: int) -> "pd.DataFrame":
    import pandas as pd

    t = model.config.window
    x = torch.zeros(batch, t, *MAP_SHAPE)
    rows = [("input windows", tuple(x.shape), 0)]
    halves = model._halves(x)
    rows.append(("two halves stacked, minus side flipped", tuple(halves.shape), 0))
    h = halves
    for i, (block, p) in enumerate(zip(model.enc_cnn.blocks, model.plan), 1):
        h = torch.nn.functional.max_pool3d(block["bn"](block["conv"](h)), p["pool"], p["pool"], ceil_mode=True)
        rows.append((f"enc_cnn block {i}: conv {p['kernel']}, pool {p['pool']}", tuple(h.shape), sum(q.numel() for q in block.parameters())))
    enc = model.encode(x)
    if model.config.use_gnn:
        rows.append(("enc_gnn: 4 graph convolutions + attention pooling per half",
                     (batch * t, 2, model.config.width), sum(q.numel() for q in model.enc_gnn.parameters())))
    feat = model.cells * model.config.width + (model.config.width if model.config.use_gnn else 0)
    rows.append(("per-LS features, concatenated", (batch * 2, t, feat), 0))
    rnn = model.enc_rnn if model.config.temporal else model.enc_dense
    rows.append(("enc_rnn: LSTM → LSTM, last step", tuple(enc["h"].shape), sum(q.numel() for q in rnn.parameters())))
    if model.config.variational:
        rows.append(("latent_head: mu, log-variance", tuple(enc["mu"].shape), sum(q.numel() for q in model.latent_head.parameters())))
    dec = model.dec_rnn if model.config.temporal else model.dec_dense
    rows.append(("dec_rnn: latent repeated T times → LSTM → LSTM", (batch * 2, t, model.cells * model.config.width),
                 sum(q.numel() for q in dec.parameters())))
    rows.append(("dec_cnn: 4 unpool + transposed-conv blocks, 1×1×1 output", tuple(halves.shape),
                 sum(q.numel() for q in model.dec_cnn.parameters())))
    rows.append(("reconstruction, halves put back, RIN undone", tuple(model(x).shape), 0))
    return pd.DataFrame(rows, columns=["stage", "shape", "parameters"])
