"""One online step of GraphSTAD written with operators ONNX has, for export with the production contract.

:class:`OnlineStep` is the whole model (CNN, GNN over the static channel graph, LSTMs, RIN, stacked halves) plus
the preprocessing and the decision, for one LS:

1. raw counts ``input_data`` ``[1, 64, 72, D, 1]`` ÷ events ``input_data_exo`` ``[1, 1]`` → min–max scaled, masked;
2. the encoder's features of this LS (``ls_features`` ``[1, 2, F]``, returned so the caller keeps them);
3. the LSTMs over ``feature_history`` (the previous T − 1 LS's features) and this LS → reconstruction of this LS;
4. σ scores ``|reconstruction − input| / noise`` and flags ``score > anomaly_std_th``, with their count.

The step calls the model's own stages where ONNX can take them as they are (RIN's factor, the LSTMs and the VAE
head, the unrolling: :func:`~hcaltl.models.graphstad.rin_factor`, :func:`~hcaltl.models.graphstad.temporal_code`,
:func:`~hcaltl.models.graphstad.unroll`). Where the PyTorch model uses a kernel ONNX lacks, the step uses an
exact equivalent made of common operators:

* graph convolution: the sparse adjacency becomes a padded neighbour list (Gather, then one small MatMul per
  channel with its neighbours' weights);
* MaxPool with indices: the cells' members side by side, ArgMax (the first maximum, as PyTorch picks it);
* MaxUnpool: the pooled values scattered to those indices (ScatterElements), where the authors' exporter used
  "Upsample plus a mask from the pooling indices";
* BatchNorm folded into the convolutions, as the model itself does in evaluation.

Its outputs equal :class:`hcaltl.online.StreamScorer`'s to float32 rounding (``tests/test_online.py``).
Explained in chapter 7 (``notebooks/07_online_monitoring.ipynb``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..geometry import MAP_SHAPE
from ..models import GraphSTAD
from ..models.graphstad import rin_factor, temporal_code, unroll


def neighbour_lists(adj: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A sparse ``[N, N]`` matrix as padded rows: ``adj @ h == (h[index] * weight[..., None]).sum(1)``.

    Shapes:
        index int64 ``[N, K]`` and weight ``[N, K]``, K the largest row degree (padding: index 0, weight 0).
    """
    csr = adj.to_sparse_csr()
    crow, col, val = csr.crow_indices(), csr.col_indices(), csr.values()
    degree = crow[1:] - crow[:-1]
    k = max(int(degree.max()) if len(degree) else 0, 1)
    n = adj.shape[0]
    row = torch.repeat_interleave(torch.arange(n), degree)
    slot = torch.arange(len(col)) - crow[:-1][row]
    index = torch.zeros(n, k, dtype=torch.long)
    weight = torch.zeros(n, k, dtype=val.dtype)
    index[row, slot], weight[row, slot] = col, val
    return index, weight


def pooling_cells(size: tuple[int, int, int], pool: tuple[int, int, int]) -> torch.Tensor:
    """For each max-pooling cell (ceil mode) of a ``size`` map, the flat indices of its members in row-major order
    (as PyTorch scans them; padding members point at the cell's first member).

    Shapes:
        ``[⌈H/ph⌉, ⌈W/pw⌉, ⌈D/pd⌉, ph·pw·pd]`` int64.
    """
    (hh, ww, dd), (ph, pw, pd) = size, pool
    grid = np.arange(hh * ww * dd).reshape(hh, ww, dd)
    h2, w2, d2 = -(-hh // ph), -(-ww // pw), -(-dd // pd)
    padded = np.pad(grid, ((0, h2 * ph - hh), (0, w2 * pw - ww), (0, d2 * pd - dd)), constant_values=-1)
    cells = padded.reshape(h2, ph, w2, pw, d2, pd).transpose(0, 2, 4, 1, 3, 5).reshape(h2, w2, d2, -1)
    first = cells[..., :1]
    return torch.as_tensor(np.where(cells < 0, first, cells))


class OnlineStep(nn.Module):
    """GraphSTAD, its scaling and the σ decision for one LS, in ONNX-exportable operators.

    Args:
        model: the trained GraphSTAD (its weights are copied as constants; BatchNorm folded).
        scale, offset: the min–max scaling maps (:func:`~hcaltl.online.scaling_maps`).
        noise: per-channel error spread (σ = |error| / noise).
        masked: channels whose score and flag are forced to 0 (known bad).

    Shapes:
        forward(input_data ``[1, 64, 72, D, 1]``, input_data_exo ``[1, 1]``, anomaly_std_th ``[1, 1]``,
        feature_history ``[T − 1, 2, F]``) → anomaly_score ``[1, 64, 72, D, 1]``, anomaly_flag (same, 0/1),
        n_flagged ``[1, 1]`` (int64), ls_features ``[1, 2, F]``. D = the geometry's largest depth.
    """

    def __init__(
        self,
        model: GraphSTAD,
        scale: np.ndarray,
        offset: np.ndarray,
        noise: np.ndarray,
        masked: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        model = model.eval()
        geom = model.geometry
        self.depth, self.window, self.config = geom.max_depth, model.config.window, model.config
        f32 = dict(dtype=torch.float32)
        self.register_buffer("scale", torch.as_tensor(scale, **f32))
        self.register_buffer("offset", torch.as_tensor(offset, **f32))
        mask = model.mask.to(torch.float32)
        self.register_buffer("mask", mask)
        inverse = 1.0 / torch.as_tensor(noise, **f32)
        if masked is not None:
            inverse[torch.as_tensor(masked)] = 0.0
        self.register_buffer("inverse_noise", torch.as_tensor(geom.nodes_to_map(inverse.numpy()), **f32))
        # halves: rows[k, j] is the map row of half k's j-th row; merge gathers them back (row 2H is all zeros)
        self.register_buffer("rows", model.rows.clone())
        h = model.rows.shape[1]
        back = torch.full((MAP_SHAPE[0],), 2 * h, dtype=torch.long)
        back[model.rows.reshape(-1)] = torch.arange(2 * h)
        self.register_buffer("merge_rows", back)
        self.plan = model.plan
        self.cells_out = model.plan[-1]["out"]
        self.width = model.config.width
        # encoder CNN with BatchNorm folded as scale/shift after pooling (the model's order in evaluation)
        self.enc_weights, self.enc_affine = [], []
        for i, block in enumerate(model.enc_cnn.blocks):
            bn = block["bn"]
            a = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
            b = bn.bias - bn.running_mean * a
            sign = torch.where(a < 0, -1.0, 1.0)
            self.register_buffer(f"enc_w{i}", block["conv"].weight.detach().clone())
            self.register_buffer(f"enc_sign{i}", sign.view(1, -1, 1, 1, 1).detach())
            self.register_buffer(f"enc_a{i}", (a * sign).view(1, -1, 1, 1, 1).detach())
            self.register_buffer(f"enc_b{i}", b.view(1, -1, 1, 1, 1).detach())
        self.enc_padding = [block["conv"].padding for block in model.enc_cnn.blocks]
        for i, p in enumerate(model.plan):
            members = pooling_cells(p["in"], p["pool"])
            self.register_buffer(f"pool_cells{i}", members)
            starts = torch.arange(int(np.prod(members.shape[:3]))).reshape(members.shape[:3]) * members.shape[3]
            self.register_buffer(f"cell_start{i}", starts)
        # decoder: transposed convolutions with BatchNorm folded into weight and bias
        for i, block in enumerate(model.dec_cnn.blocks):
            bn = block["bn"]
            a = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
            self.register_buffer(f"dec_w{i}", (block["deconv"].weight * a.view(1, -1, 1, 1, 1)).detach())
            self.register_buffer(f"dec_b{i}", (bn.bias - bn.running_mean * a).detach())
        self.dec_padding = [block["deconv"].padding for block in model.dec_cnn.blocks]
        self.dec_plan = model.dec_cnn.plan
        self.register_buffer("out_w", model.dec_cnn.out.weight.detach().reshape(()).clone())
        self.register_buffer("out_b", model.dec_cnn.out.bias.detach().reshape(()).clone())
        # GNN: padded neighbour lists of the normalised adjacency, the layers' weights, the attention gate
        if model.config.use_gnn:
            index, weight = neighbour_lists(model.adj.cpu())
            self.register_buffer("nbr", index)
            self.register_buffer("nbr_w", weight.unsqueeze(1))
            self.register_buffer("node_flat", model.node_flat.clone())
            self.gnn = model.enc_gnn
            self.half_sizes = model.half_sizes
        self.register_buffer("node_flat_scores", model.node_flat.clone())
        self.enc_rnn, self.dec_rnn = model.enc_rnn, model.dec_rnn
        self.latent_head = model.latent_head if model.config.variational else None

    # -- pieces ----------------------------------------------------------------------------------------------
    def _propagate(self, h: torch.Tensor) -> torch.Tensor:
        """Â h: each channel's K neighbours gathered, then one small product per channel with their weights."""
        n, k = self.nbr.shape
        neighbours = h.index_select(0, self.nbr.reshape(-1)).reshape(n, k, -1)  # [N, K, F]
        return torch.matmul(self.nbr_w, neighbours).squeeze(1)  # [N, 1, K] @ [N, K, F] → [N, F]

    def _gnn(self, nodes: torch.Tensor) -> torch.Tensor:
        """nodes ``[N]`` → pooled ``[2, C]`` (the model's StaticGCN layers and attention pooling)."""
        h = nodes.unsqueeze(-1)
        for conv in self.gnn.convs:
            w = conv.lin.weight
            if h.shape[1] < w.shape[0]:
                h = self._propagate(h) @ w.t() + conv.bias
            else:
                h = self._propagate(h @ w.t()) + conv.bias
            h = torch.relu(h)
        gate = self.gnn.pool.gate_nn
        scores = h @ gate.weight.t() + gate.bias  # [N, 1]
        pooled = [
            (torch.softmax(s, dim=0) * part).sum(dim=0)
            for s, part in zip(scores.split(self.half_sizes), h.split(self.half_sizes))
        ]
        return torch.stack(pooled)

    def _encode(self, xn: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = xn[self.rows][..., : self.depth].unsqueeze(1)  # [2, 1, H, 72, D]
        indices = []
        for i in range(len(self.plan)):
            c = nn.functional.conv3d(h, getattr(self, f"enc_w{i}"), padding=self.enc_padding[i])
            c = c * getattr(self, f"enc_sign{i}")
            s, ch = c.shape[:2]
            members = getattr(self, f"pool_cells{i}")  # [h2, w2, d2, P]
            values = c.reshape(s, ch, -1)[:, :, members.reshape(-1)].reshape(s, ch, *members.shape)
            pooled = values.amax(dim=-1)
            first = values.argmax(dim=-1)  # the first maximum of each cell, as PyTorch picks it
            where = (getattr(self, f"cell_start{i}") + first).reshape(-1)
            idx = members.reshape(-1).index_select(0, where).reshape(first.shape)  # its flat index in the map
            h = nn.functional.leaky_relu(pooled * getattr(self, f"enc_a{i}") + getattr(self, f"enc_b{i}"), 0.5)
            indices.append(idx)
        return h, indices

    def _decode(self, feats: torch.Tensor, indices: list[torch.Tensor]) -> torch.Tensor:
        x = feats
        for i, (p, idx) in enumerate(zip(self.dec_plan, indices[::-1])):
            s, ch = x.shape[:2]
            flat = x.new_zeros(s, ch, int(np.prod(p["in"])))
            x = flat.scatter(2, idx.reshape(s, ch, -1), x.reshape(s, ch, -1)).reshape(s, ch, *p["in"])  # MaxUnpool
            x = nn.functional.conv_transpose3d(
                x, getattr(self, f"dec_w{i}"), getattr(self, f"dec_b{i}"), padding=self.dec_padding[i]
            )
            x = nn.functional.leaky_relu(x, 0.5)
        return x * self.out_w + self.out_b  # [2, 1, H, 72, D]

    def _merge(self, halves: torch.Tensor) -> torch.Tensor:
        h = halves[:, 0]  # [2, H, 72, D]
        h = nn.functional.pad(h, (0, MAP_SHAPE[2] - self.depth))
        stacked = torch.cat([h.reshape(-1, *MAP_SHAPE[1:]), torch.zeros_like(h[0, :1])])  # [2H + 1, 72, 7]
        return stacked[self.merge_rows]

    # -- the step --------------------------------------------------------------------------------------------
    def forward(
        self,
        input_data: torch.Tensor,
        input_data_exo: torch.Tensor,
        anomaly_std_th: torch.Tensor,
        feature_history: torch.Tensor,
    ):
        counts = nn.functional.pad(input_data[0, ..., 0], (0, MAP_SHAPE[2] - self.depth))  # [64, 72, 7]
        x = (counts / input_data_exo[0, 0] * self.scale + self.offset) * self.mask
        factor = rin_factor(x, self.mask) if self.config.rin else torch.ones_like(x[:, :1])  # the model's stage 1
        xn = x / factor
        feats, indices = self._encode(xn)  # [2, C, 1, 5, 1]
        features = feats.reshape(2, -1)
        if self.config.use_gnn:
            features = torch.cat([features, self._gnn(xn.reshape(-1)[self.node_flat])], dim=-1)
        window = torch.cat([feature_history, features.unsqueeze(0)]).transpose(0, 1)  # [2, T, F]
        z = temporal_code(self.enc_rnn, self.latent_head, window, temporal=self.config.temporal)["z"]  # stage 3
        if not self.config.temporal:
            z = z[:, -1:]  # the dense ablation decodes the newest LS from its own code
        seq = unroll(self.dec_rnn, z, self.window, temporal=self.config.temporal)[:, -1]  # stage 4, newest step
        recon = self._merge(self._decode(seq.reshape(2, self.width, *self.cells_out), indices))
        recon = recon * factor * self.mask
        score = (recon - x).abs() * self.inverse_noise  # [64, 72, 7]
        flag = (score > anomaly_std_th[0, 0]).to(score.dtype)
        n_flagged = flag.sum().to(torch.int64).reshape(1, 1)
        crop = (slice(None), slice(None), slice(0, self.depth))
        return (score[crop][None, ..., None], flag[crop][None, ..., None], n_flagged, features.unsqueeze(0))
