"""Speed kernels of GraphSTAD: exact, cheaper forms of the plain PyTorch operations the blocks compose.

Each function here computes *the same thing* as a plain sequence of PyTorch modules, in an order or
form that is cheaper on CPU. The contract of every kernel — values, gradients and (for BatchNorm) running
statistics equal to the plain modules — is checked in ``tests/test_models_fused.py``; the benchmark
``benchmarks/bench_graphstad.py`` measures what each saves.

* :func:`propagate` — sparse–dense product with a transpose-free backward for a symmetric adjacency;
* :func:`half_attention_pool` — PyG's ``AttentionalAggregation`` over two contiguous node ranges, dense;
* :func:`conv_bn_leaky` — Conv → BatchNorm → LeakyReLU, with BatchNorm folded into the convolution at inference;
* :func:`conv_bn_leaky_pool` — the encoder block, pooled before BatchNorm and LeakyReLU;
* :func:`transposed_conv_to_one` — the decoder's one-output-channel transposed convolution.

Readers who want the architecture should start at :mod:`hcaltl.models.graphstad`; explained in chapter 3
(``notebooks/03_graphstad_on_he.ipynb``).
"""

from __future__ import annotations

import torch
from torch import nn


class SymmetricSpMM(torch.autograd.Function):
    """Â h for a symmetric sparse Â; the gradient Âᵀ g is then Â g, so the CSR matrix is never transposed
    (PyTorch's generic backward converts Âᵀ to CSR on every step, about half the cost of the product)."""

    @staticmethod
    def forward(ctx, adj: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        ctx.adj = adj
        return spmm(adj, h)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return None, spmm(ctx.adj, grad.contiguous())


def spmm(adj: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``adj @ h`` written straight into a fresh tensor (``torch.sparse.mm`` zero-fills and copies its result)."""
    out = h.new_empty(adj.shape[0], h.shape[1])
    return torch.addmm(out, adj, h, beta=0, out=out)


def propagate(adj: torch.Tensor, h: torch.Tensor, symmetric: bool) -> torch.Tensor:
    """Sparse–dense product ``adj @ h`` ([N, N] × [N, F]), with the cheaper backward when ``adj`` is symmetric."""
    return SymmetricSpMM.apply(adj, h) if symmetric else torch.sparse.mm(adj, h)


def is_symmetric(adj: torch.Tensor) -> bool:
    """Whether a sparse matrix equals its transpose (values included)."""
    coo = adj.to_sparse_coo().coalesce()
    t = coo.t().coalesce()
    return bool(torch.equal(coo.indices(), t.indices()) and torch.allclose(coo.values(), t.values()))


def half_attention_pool(h: torch.Tensor, gate: nn.Linear, half_sizes: tuple[int, int]) -> torch.Tensor:
    """Attention pooling of node features ``[N, S, C]`` over each of two contiguous node ranges → ``[S, 2, C]``.

    Equals ``AttentionalAggregation(gate)(h_s, index)`` for every sample s with index 0 on the first
    ``half_sizes[0]`` nodes and 1 on the rest.
    """
    n, s, c = h.shape
    scores = torch.addmm(gate.bias, h.reshape(n * s, c), gate.weight.t()).reshape(n, s)
    pooled = [
        (torch.softmax(w, dim=0).unsqueeze(-1) * part).sum(dim=0)
        for w, part in zip(scores.split(half_sizes), h.split(half_sizes))
    ]
    return torch.stack(pooled, dim=1)


def shifted_windows(x: torch.Tensor, kernel: tuple[int, int], padding: tuple[int, int]) -> list[torch.Tensor]:
    """The kh·kw views of ``x`` ``[S, H, W, D]``, zero-padded in (H, W), that a (kh, kw, 1) kernel with
    ``padding`` reads at each of its offsets (row-major), each ``[S, H, W, D]`` for a 'same' kernel."""
    (kh, kw), (ph, pw) = kernel, padding
    _, h, w, _ = x.shape
    xp = nn.functional.pad(x, (0, 0, pw, kw - 1 - pw, ph, kh - 1 - ph))
    return [xp[:, a : a + h, b : b + w] for a in range(kh) for b in range(kw)]


class TransposedConvToOne(torch.autograd.Function):
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
                out[:, a : a + h, b : b + w] += z[:, a, b]
        ctx.save_for_backward(u, wk)
        ctx.kernel = (kh, kw)
        return out[:, kh // 2 : kh // 2 + h, kw // 2 : kw // 2 + w].unsqueeze(1).contiguous()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        u, wk = ctx.saved_tensors
        (kh, kw), (s, c, h, w, d) = ctx.kernel, u.shape
        dz = torch.stack(shifted_windows(grad[:, 0], (kh, kw), (kh // 2, kw // 2)), dim=1)
        dz = dz.view(s, kh * kw, h * w * d)  # [S, K, P]
        du = torch.matmul(wk.t(), dz).view_as(u) if ctx.needs_input_grad[0] else None
        dw = None
        if ctx.needs_input_grad[1]:
            dw = torch.bmm(dz, u.reshape(s, c, -1).transpose(1, 2)).sum(dim=0)  # [K, C]
            dw = dw.t().reshape(c, 1, kh, kw, 1)
        return du, dw


def to_one_channel(conv: nn.ConvTranspose3d) -> bool:
    """Whether :class:`TransposedConvToOne` computes this layer (one output channel, depth-1 kernel, 'same')."""
    kh, kw, kd = conv.kernel_size
    return (
        conv.out_channels == 1
        and kd == 1
        and conv.padding == (kh // 2, kw // 2, 0)
        and kh % 2 == 1
        and kw % 2 == 1
        and conv.stride == (1, 1, 1)
        and conv.dilation == (1, 1, 1)
        and conv.groups == 1
        and conv.output_padding == (0, 0, 0)
    )


def transposed_conv_to_one(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, padding: tuple = ()
) -> torch.Tensor:
    """``conv_transpose3d(x, weight, bias, padding)`` for the layers :func:`to_one_channel` accepts."""
    y = TransposedConvToOne.apply(x, weight)
    return y if bias is None else y + bias


def conv_bn_leaky(x: torch.Tensor, conv: nn.Conv3d | nn.ConvTranspose3d, bn: nn.BatchNorm3d) -> torch.Tensor:
    """Convolution (no bias) → BatchNorm → LeakyReLU(0.5).

    In evaluation the BatchNorm is folded into the convolution (weights scaled per output channel, plus a
    bias), which saves a pass over the feature map.
    """
    transposed = isinstance(conv, nn.ConvTranspose3d)
    op = nn.functional.conv_transpose3d if transposed else nn.functional.conv3d
    if transposed and to_one_channel(conv):
        op = transposed_conv_to_one
    if bn.training or bn.running_var is None:
        y = bn(op(x, conv.weight, padding=conv.padding))
    else:
        scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
        shape = (1, -1, 1, 1, 1) if transposed else (-1, 1, 1, 1, 1)  # output channels: axis 1 of a transposed kernel
        y = op(x, conv.weight * scale.view(shape), bn.bias - bn.running_mean * scale, padding=conv.padding)
    return nn.functional.leaky_relu(y, 0.5, inplace=True)  # BatchNorm keeps its input, not its output: in place


def patch_stats(x: torch.Tensor, conv: nn.Conv3d) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance of ``conv(x)`` over (batch, H, W, D), for one input channel.

    They come from the first two moments of the input's k-cell patches (k = kernel size, e.g. 9):
    mean = W μ, var = W Σ Wᵀ. That reads the small input instead of the C-times larger output.
    Kernels of depth 1, stride 1, no dilation (the encoder's).
    """
    kh, kw, _ = conv.kernel_size
    s, _, h, w, d = x.shape
    patches = torch.stack(shifted_windows(x.reshape(s, h, w, d), (kh, kw), conv.padding[:2])).reshape(kh * kw, -1)
    mu = patches.mean(dim=1)
    centred = patches - mu[:, None]
    cov = centred @ centred.t() / centred.shape[1]
    weight = conv.weight.reshape(conv.out_channels, kh * kw)
    return weight @ mu, ((weight @ cov) * weight).sum(dim=1)


def update_running_stats(bn: nn.BatchNorm3d, mean: torch.Tensor, var: torch.Tensor, n: int) -> None:
    """BatchNorm's running-statistics update (unbiased variance, momentum or cumulative average)."""
    with torch.no_grad():
        bn.num_batches_tracked.add_(1)
        momentum = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
        bn.running_mean.lerp_(mean, momentum)
        bn.running_var.lerp_(var * n / max(n - 1, 1), momentum)


def conv_bn_leaky_pool(
    x: torch.Tensor, conv: nn.Conv3d, bn: nn.BatchNorm3d, pool: tuple[int, int, int], ceil: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """MaxPool(LeakyReLU(BatchNorm(Conv(x)))) with the pooling indices, computed with the pooling first.

    BatchNorm is a per-channel affine map a·c + b and LeakyReLU is increasing, so the maximum over a pooling
    cell sits where a·c is largest: pool sign(a)·c, then apply |a|·(·) + b and LeakyReLU to the pooled map,
    8 times smaller. In training, BatchNorm needs the batch statistics of c first; they come cheaply from the
    input when it has one channel (:func:`patch_stats`), otherwise the modules run in the plain order.
    The same function (values, indices, gradients, running statistics) as the modules in sequence, without
    two passes over the full-size map.

    Shapes:
        x ``[S, C_in, H, W, D]`` → pooled ``[S, C_out, ⌈H/2⌉, ⌈W/2⌉, ⌈D/2⌉]`` (``ceil``; else ⌊·⌋) and int64
        indices of that shape.
    """
    from_input = (
        conv.in_channels == 1 and conv.kernel_size[2] == 1 and conv.stride == (1, 1, 1) and conv.dilation == (1, 1, 1)
    )
    if bn.training and not from_input:  # the statistics would need a pass over c (and its gradient): plain order
        y = nn.functional.leaky_relu(bn(conv(x)), 0.5, inplace=True)
        return nn.functional.max_pool3d(y, pool, pool, ceil_mode=ceil, return_indices=True)
    c = nn.functional.conv3d(x, conv.weight, padding=conv.padding)
    if bn.training:
        mean, var = patch_stats(x, conv)
        update_running_stats(bn, mean.detach(), var.detach(), c.numel() // c.shape[1])
    else:
        mean, var = bn.running_mean, bn.running_var
    scale = bn.weight * torch.rsqrt(var + bn.eps)
    shift = bn.bias - mean * scale
    sign = torch.where(scale.detach() < 0, -1.0, 1.0).to(c.dtype).view(1, -1, 1, 1, 1)
    pooled, idx = nn.functional.max_pool3d(
        c * sign if bool((sign < 0).any()) else c, pool, pool, ceil_mode=ceil, return_indices=True
    )
    y = torch.addcmul(shift.view(1, -1, 1, 1, 1), pooled, scale.view(1, -1, 1, 1, 1) * sign)  # |a|·pooled + b
    return nn.functional.leaky_relu(y, 0.5), idx
