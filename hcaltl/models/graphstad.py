"""GraphSTAD: the CNN + GNN + LSTM autoencoder of Asres et al., at full detector scale.

Per lumisection (LS) of a window:

* ``enc_cnn`` — four blocks Conv3d → BatchNorm3d → LeakyReLU(0.5) → MaxPool3d over
  (ieta, iphi, depth), kernel (3, 3, 1) clipped to the current size and rounded
  down to odd: the depth axis is never convolved across;
* ``enc_gnn`` — four graph convolutions (``gnn_layers``; symmetric-normalised, as DGL's
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

The code is in three files: this one (the model as a reader meets it), :mod:`~hcaltl.models.layers`
(the blocks) and :mod:`~hcaltl.models.fused` (the speed kernels). Explained in chapter 3
(``notebooks/03_graphstad_on_he.ipynb``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..geometry import MAP_SHAPE, Geometry, get_geometry, ieta_to_row
from ..graph import build_edge_index, normalized_adjacency
from ..utils import count_parameters
from .fused import is_symmetric
from .layers import (
    CNNDecoder,
    CNNEncoder,
    DenseStep,
    GraphEncoder,
    LatentHead,
    LSTMStack,
    cnn_plan,
)

#: The named blocks of GraphSTAD, in the order of the forward pass (addressed by :mod:`hcaltl.transfer`).
BLOCKS = ("enc_cnn", "enc_gnn", "enc_rnn", "latent_head", "dec_rnn", "dec_cnn")


def rin_factor(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Reversible row normalisation's factor: the mean over active cells of each (ieta, depth) row along iphi
    (1 where a row is empty).

    Shapes:
        x ``[..., 64, 72, 7]``, mask ``[64, 72, 7]`` → ``[..., 64, 1, 7]``.
    """
    m = mask.to(x.dtype)
    count = m.sum(dim=1, keepdim=True)  # [64, 1, 7]
    mean = (x * m).sum(dim=-2, keepdim=True) / count.clamp(min=1)
    return torch.where(mean.abs() > 1e-6, mean, torch.ones_like(mean))


def temporal_code(
    enc_rnn: nn.Module, latent_head: nn.Module | None, seq: torch.Tensor, *, temporal: bool, sample: bool = False
) -> dict[str, torch.Tensor]:
    """:meth:`~hcaltl.models.GraphSTAD.code` on the blocks themselves (the exported ONNX step holds the blocks,
    not the model).

    Shapes:
        seq ``[S, T, F]`` → ``{"h", "z"}`` (and ``"mu"``, ``"logvar"``) ``[S, L]``, or ``[S, T, L]`` when not
        ``temporal``.
    """
    h = enc_rnn(seq)  # [S, T, L]
    if temporal:
        h = h[:, -1]  # the last step reads the whole window
    out = {"h": h}
    if latent_head is None:
        out["z"] = h
        return out
    mu, logvar = latent_head(h)
    z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample else mu
    out.update(mu=mu, logvar=logvar, z=z)
    return out


def unroll(dec_rnn: nn.Module, z: torch.Tensor, t: int, *, temporal: bool) -> torch.Tensor:
    """:meth:`~hcaltl.models.GraphSTAD.unroll` on the block itself.

    Shapes:
        z ``[S, L]`` (``[S, T, L]``) → ``[S, T, cells·C]``.
    """
    return dec_rnn(z.unsqueeze(1).expand(-1, t, -1) if temporal else z)


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
        dc: dimension compression (the authors' ``use_spatial_split``): cut the two detector halves, flip the minus
            half and stack them, so the CNN sees two small maps and the LSTMs two sequences per window (cells
            1 × 5 × 1). False runs the CNN on the whole 64-row map, one sequence per window (cells 4 × 5 × 1): the
            public code's GraphSTAD with GNN.
        ceil_pool: max pooling in ceil mode, as the public code (a partial cell at an edge is kept; cells 4 × 5 × 1
            without DC). False pools in PyTorch's default floor mode, which drops it (cells 4 × 4 × 1 without DC).
        gnn_layers: graph convolutions in ``enc_gnn`` (four in the public code). With ``dc=False``,
            ``ceil_pool=False`` and ``gnn_layers=3`` the model's trainable-parameter shares are those of paper A's
            Table 5 (chapter 4).
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
    dc: bool = True
    ceil_pool: bool = True
    gnn_layers: int = 4

    @property
    def width(self) -> int:
        return 4 * self.latent


class GraphSTAD(nn.Module):
    """The GraphSTAD autoencoder for one subdetector.

    Args:
        geometry: :class:`~hcaltl.geometry.Geometry` (or a subdetector name).
        latent, window, use_gnn, temporal, variational, rin, readout, spatial, dc, ceil_pool, gnn_layers:
            see :class:`GraphSTADConfig`.

    Shapes:
        input: ``[B, T, 64, 72, 7]`` min–max-scaled maps (inactive cells are ignored);
        output: reconstruction of the same shape (inactive cells 0);
        ``encode``: latent ``[B, P, L]``: P = 2 (one per detector half) with DC, 1 without.

    Named blocks (addressed by :mod:`hcaltl.transfer`): ``enc_cnn``, ``enc_gnn``
    (absent without GNN), ``enc_rnn``, ``latent_head`` (VAE only), ``dec_rnn``, ``dec_cnn``.
    """

    def __init__(
        self,
        geometry: Geometry | str,
        latent: int = 8,
        window: int = 5,
        *,
        use_gnn: bool = True,
        temporal: bool = True,
        variational: bool = True,
        rin: bool = True,
        readout: str | None = "rm_depth",
        spatial: bool = True,
        dc: bool = True,
        ceil_pool: bool = True,
        gnn_layers: int = 4,
    ) -> None:
        super().__init__()
        if isinstance(geometry, str):
            geometry = get_geometry(geometry)
        if not isinstance(geometry, Geometry):
            raise TypeError(
                f"geometry must be a Geometry or a name such as 'HB' or 'HE', got {type(geometry).__name__}"
            )
        if latent < 1 or window < 1:
            raise ValueError(f"latent and window must be positive, got latent={latent}, window={window}")
        if isinstance(gnn_layers, bool) or not isinstance(gnn_layers, int) or gnn_layers < 1:
            raise ValueError(f"gnn_layers must be a positive int (graph convolutions in enc_gnn), got {gnn_layers!r}")
        self.geometry = geometry
        self.config = GraphSTADConfig(
            geometry.name,
            geometry.depth_table_name if geometry.depth_table_name != "custom" else None,
            latent,
            window,
            use_gnn,
            temporal,
            variational,
            rin,
            readout,
            spatial,
            dc,
            ceil_pool,
            gnn_layers,
        )
        c, lat = self.config.width, latent

        # 1. layout: with DC the two detector halves, minus side flipped, each [H, 72, D]; without, the whole map
        #    (either way the same block shapes for HE and HB)
        self._register_layout(geometry)
        self.plan = plan = cnn_plan((self.rows.shape[1], MAP_SHAPE[1], self.depth), ceil=ceil_pool)
        self.cells = int(np.prod(plan[-1]["out"]))  # cells left per part after the four poolings (DC: 1 x 5 x 1)

        # 2. encoder: CNN per LS, GNN per LS over the channel graph, then over the window (LSTMs or dense)
        self.enc_cnn = CNNEncoder(plan, c)
        feat = self.cells * c
        if use_gnn:
            self.enc_gnn = GraphEncoder(c, gnn_layers)
            self._register_graph(geometry, readout, spatial)
            feat += c
        self.enc_rnn = LSTMStack((feat, c, lat)) if temporal else DenseStep(feat, lat)

        # 3. decoder: latent back to T feature maps, then the mirrored CNN. The VAE head (between encoder and decoder
        #    in the forward pass) is registered after dec_rnn: the order fixes the random initialisation of each seed.
        self.dec_rnn = LSTMStack((lat, c, self.cells * c)) if temporal else DenseStep(lat, self.cells * c)
        if variational:
            self.latent_head = LatentHead(lat)
        self.dec_cnn = CNNDecoder(plan, c)

        self.reset_parameters()
        # channels-last layout: ~1.4x faster encoder convolutions on CPU (oneDNN); slower for the decoder
        self.enc_cnn.to(memory_format=torch.channels_last_3d)

    @classmethod
    def like(cls, source: GraphSTAD, geometry: Geometry | str, **overrides) -> GraphSTAD:
        """A freshly initialised model for ``geometry`` with exactly the hyper-parameters of ``source``
        (latent, window, GNN and its graph rules, LSTMs, VAE head, RIN): the target model of a transfer.

        Args:
            source: a trained (or untrained) model, e.g. the HE source of chapter 4.
            geometry: the target geometry (or subdetector name).
            overrides: hyper-parameters to change (e.g. ``use_gnn=False`` for an ablation of the same model).
        """
        if not isinstance(source, GraphSTAD):
            raise TypeError(f"source must be a GraphSTAD, got {type(source).__name__}")
        hyper = {k: v for k, v in asdict(source.config).items() if k not in ("subdetector", "depth_table")}
        return cls(geometry, **{**hyper, **overrides})

    def _register_layout(self, geometry: Geometry) -> None:
        """Index buffers that cut a map into the two stacked halves and pick each channel's cell."""
        lo, hi = geometry.ieta_range
        ieta = np.arange(lo, hi + 1)
        self.depth = geometry.max_depth
        if self.config.dc:
            rows = np.stack([ieta_to_row(-ieta), ieta_to_row(ieta)])  # [2, H], small → large |ieta|
        else:
            rows = np.arange(MAP_SHAPE[0])[None]  # [1, 64]: the whole map, one part
        self.parts = len(rows)
        self.register_buffer("rows", torch.as_tensor(rows, dtype=torch.long), persistent=False)
        self.register_buffer("mask", torch.as_tensor(np.array(geometry.mask)), persistent=False)
        r, col, d = geometry.node_index
        self.register_buffer(
            "node_flat",
            torch.as_tensor((r * MAP_SHAPE[1] + col) * MAP_SHAPE[2] + d, dtype=torch.long),
            persistent=False,
        )
        half = (geometry.channels["side"].to_numpy() > 0).astype(np.int64)
        if np.any(np.diff(half) < 0):
            raise ValueError(
                f"{geometry.name}: channels must list the minus side first (the GNN pools each half as a "
                "contiguous range)"
            )
        self.register_buffer("node_half", torch.as_tensor(half), persistent=False)
        sizes = (int((half == 0).sum()), int((half == 1).sum()))
        self.half_sizes = sizes if self.config.dc else (sum(sizes),)  # the GNN pools one vector per part

    def _register_graph(self, geometry: Geometry, readout: str | None, spatial: bool) -> None:
        """The static channel graph as a normalised sparse adjacency buffer for the GNN."""
        edge_index = build_edge_index(geometry, readout=readout, spatial=spatial)
        self.register_buffer("adj", normalized_adjacency(edge_index, geometry.n_channels), persistent=False)
        symmetric = is_symmetric(self.adj)  # undirected graph: D^-1/2 A D^-1/2 is symmetric, the cheap backward holds
        for conv in self.enc_gnn.convs:
            conv.symmetric = symmetric
        self.n_edges = int(edge_index.shape[1])

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
                    nn.init.kaiming_uniform_(
                        p,
                        nonlinearity="leaky_relu",
                        a=0.5 if isinstance(module, (nn.Conv3d, nn.ConvTranspose3d)) else 0.0,
                    )

    # -- layout helpers -------------------------------------------------------------------
    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 5 or tuple(x.shape[2:]) != MAP_SHAPE:
            raise ValueError(f"GraphSTAD expects windows [B, T, 64, 72, 7], got {tuple(x.shape)}")
        if x.shape[1] != self.config.window:
            raise ValueError(f"window length {x.shape[1]} does not match the model's T = {self.config.window}")
        if not torch.isfinite(x).all():
            raise ValueError("input windows contain NaN or inf")

    def _rin_factor(self, x: torch.Tensor) -> torch.Tensor:
        return rin_factor(x, self.mask)

    def _halves(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, 64, 72, 7] → [B·P·T, 1, H, 72, D] (with DC: minus half flipped, halves stacked per window)."""
        b, t = x.shape[:2]
        h = x[:, :, self.rows, :, : self.depth]  # [B, T, P, H, 72, D]
        h = h.permute(0, 2, 1, 3, 4, 5).reshape(b * self.parts * t, 1, *h.shape[3:])
        return h.contiguous(memory_format=torch.channels_last_3d)  # oneDNN's fast layout on CPU

    def _merge(self, h: torch.Tensor, b: int, t: int) -> torch.Tensor:
        """Inverse of :meth:`_halves`: [B·P·T, 1, H, 72, D] → [B, T, 64, 72, 7]."""
        h = h.reshape(b, self.parts, t, *h.shape[2:]).permute(0, 2, 1, 3, 4, 5)  # [B, T, P, H, 72, D]
        out = h.new_zeros(b, t, *MAP_SHAPE)
        out[:, :, self.rows, :, : self.depth] = h
        return out

    # -- the stages of one forward pass ---------------------------------------------------------
    # The window forward (encode + decode), the stream scorer's per-LS step (hcaltl.online.features) and the
    # exported ONNX step (hcaltl.online.graph_step) are all made of these stages; tests/test_online.py checks
    # that the three give the same reconstruction.
    def normalise(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Stage 1, RIN: the maps masked to the geometry, each (ieta, depth) row's factor, and the maps divided by it.

        Shapes:
            x ``[..., 64, 72, 7]`` → (masked ``[..., 64, 72, 7]``, factor ``[..., 64, 1, 7]`` (1 without RIN),
            normalised ``[..., 64, 72, 7]``).
        """
        x = x * self.mask.to(x.dtype)
        factor = rin_factor(x, self.mask) if self.config.rin else torch.ones_like(x[..., :1, :])
        return x, factor, x / factor

    def ls_features(self, xn: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Stage 2, per LS: the CNN's features of each part (detector half with DC) and, with the GNN, the graph's
        pooled features beside them; the CNN's pooling indices for the decoder.

        Shapes:
            xn ``[B, T, 64, 72, 7]`` normalised → (features ``[B, P, T, F]``, one index tensor per CNN block
            ``[B·P·T, C, ...]``).
        """
        b, t = xn.shape[:2]
        feats, indices = self.enc_cnn(self._halves(xn))  # [B·P·T, C, cells]
        seq = feats.reshape(b, self.parts, t, -1)
        if self.config.use_gnn:
            nodes = xn.reshape(b * t, -1)[:, self.node_flat]  # [B·T, N]
            pooled = self.enc_gnn(self.adj, nodes, self.half_sizes)  # [B·T, P, C]
            seq = torch.cat([seq, pooled.reshape(b, t, self.parts, -1).transpose(1, 2)], dim=-1)
        return seq, indices

    def code(self, seq: torch.Tensor) -> dict[str, torch.Tensor]:
        """Stage 3, over the window: the encoder LSTMs read the T feature rows of each part, and the VAE head turns
        the last step into the latent (sampled in training, its mean in evaluation).

        Shapes:
            seq ``[B·P, T, F]`` → ``{"h", "z"}`` (and ``"mu"``, ``"logvar"``) ``[B·P, L]`` (``[B·P, T, L]`` for the
            CNN-only ablation, which codes each LS on its own).
        """
        return temporal_code(
            self.enc_rnn,
            self.latent_head if self.config.variational else None,
            seq,
            temporal=self.config.temporal,
            sample=self.training,
        )

    def unroll(self, z: torch.Tensor, t: int) -> torch.Tensor:
        """Stage 4: the decoder LSTMs unroll the latent over T steps (the dense ablation maps each LS's own).

        Shapes:
            z ``[B·P, L]`` (or ``[B·P, T, L]``) → ``[B·P, T, cells·C]``.
        """
        return unroll(self.dec_rnn, z, t, temporal=self.config.temporal)

    def to_maps(self, seq: torch.Tensor, indices: list[torch.Tensor], factor: torch.Tensor, b: int, t: int):
        """Stage 5: the CNN decoder (unpooling with the encoder's indices), the parts merged back into the map,
        RIN undone and the map masked.

        Shapes:
            seq ``[B·P, T, cells·C]``, factor ``[B, T, 64, 1, 7]`` → reconstruction ``[B, T, 64, 72, 7]``.
        """
        feats = seq.reshape(b * self.parts * t, self.config.width, *self.plan[-1]["out"])
        maps = self._merge(self.dec_cnn(feats, indices), b, t)
        return maps * factor * self.mask.to(maps.dtype)

    # -- forward --------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Encoder pass (stages 1–3); returns latent ``z`` [B·P, L] (and ``mu``, ``logvar`` for the VAE) plus
        internals."""
        self._check(x)
        b, t = x.shape[:2]
        _, factor, xn = self.normalise(x)
        seq, indices = self.ls_features(xn)
        out = self.code(seq.reshape(b * self.parts, t, -1))
        out.update(indices=indices, factor=factor)
        return out

    def decode(self, enc: dict[str, torch.Tensor], b: int, t: int) -> torch.Tensor:
        """Decoder pass (stages 4–5) of :meth:`encode`'s output."""
        return self.to_maps(self.unroll(enc["z"], t), enc["indices"], enc["factor"], b, t)

    def forward(self, x: torch.Tensor, return_latent: bool = False):
        """Reconstruct windows ``[B, T, 64, 72, 7]``; with ``return_latent`` also the encoder outputs."""
        b, t = x.shape[:2] if x.dim() >= 2 else (0, 0)
        enc = self.encode(x)
        recon = self.decode(enc, b, t)
        if return_latent:
            return recon, enc
        return recon

    def latent(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic latent (mu for the VAE) per window, parts concatenated: [B, P·L]."""
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
            counts[name] = count_parameters(module)
        return counts

    def cnn_reach(self) -> np.ndarray:
        """Which cells of the map the encoder CNN reads: True where a change of the input can change the CNN's
        output for some weights (traced back through every pooling and convolution; the GNN reads every channel
        regardless). Ceil pooling reaches every cell; floor pooling drops the cells of a partial pooling cell at an
        edge beyond what the convolutions' kernels carry inwards. Explained in chapter 4.

        Shapes:
            returns ``[64, 72, 7]`` bool (False outside the subdetector's depths).
        """
        from scipy.ndimage import binary_dilation

        reach = np.ones(self.plan[-1]["out"], dtype=bool)
        for p in reversed(self.plan):
            full = np.zeros(p["in"], dtype=bool)
            up = reach.repeat(p["pool"][0], 0).repeat(p["pool"][1], 1).repeat(p["pool"][2], 2)
            h, w, d = (min(a, b) for a, b in zip(up.shape, p["in"]))
            full[:h, :w, :d] = up[:h, :w, :d]
            reach = binary_dilation(full, structure=np.ones(p["kernel"], dtype=bool))  # kernels are odd and centred
        out = np.zeros(MAP_SHAPE, dtype=bool)
        for part, rows in enumerate(self.rows.numpy()):
            out[rows, :, : self.depth] = reach[part]
        return out

    def config_dict(self) -> dict:
        return asdict(self.config)

    @classmethod
    def from_config(cls, config: dict) -> GraphSTAD:
        cfg = dict(config)
        name, table = cfg.pop("subdetector"), cfg.pop("depth_table")
        return cls(get_geometry(name, table), **cfg)


def shape_walkthrough(model: GraphSTAD, batch: int = 1) -> pd.DataFrame:
    """The tensor shape after every stage of a forward pass (for the architecture walk-through).

    Returns a table with one row per stage: name, shape, and the parameters of the block used there.
    """
    was = model.training
    model.eval()  # no BatchNorm statistics are touched
    with torch.no_grad():
        table = _walk(model, batch)
    model.train(was)
    return table


def _walk(model: GraphSTAD, batch: int) -> pd.DataFrame:
    t = model.config.window
    x = torch.zeros(batch, t, *MAP_SHAPE)
    rows = [("input windows", tuple(x.shape), 0)]
    halves = model._halves(x)
    rows.append(
        ("two halves stacked, minus side flipped" if model.config.dc else "whole map (no DC)", tuple(halves.shape), 0)
    )
    parts = model.parts
    h = halves
    for i, (block, p) in enumerate(zip(model.enc_cnn.blocks, model.plan), 1):
        h = torch.nn.functional.max_pool3d(block["bn"](block["conv"](h)), p["pool"], p["pool"], ceil_mode=p["ceil"])
        rows.append(
            (f"enc_cnn block {i}: conv {p['kernel']}, pool {p['pool']}", tuple(h.shape), count_parameters(block))
        )
    enc = model.encode(x)
    if model.config.use_gnn:
        rows.append(
            (
                f"enc_gnn: {model.config.gnn_layers} graph convolutions + attention pooling per "
                f"{'half' if model.config.dc else 'map'}",
                (batch * t, parts, model.config.width),
                count_parameters(model.enc_gnn),
            )
        )
    feat = model.cells * model.config.width + (model.config.width if model.config.use_gnn else 0)
    rows.append(("per-LS features, concatenated", (batch * parts, t, feat), 0))
    rows.append(("enc_rnn: LSTM → LSTM, last step", tuple(enc["h"].shape), count_parameters(model.enc_rnn)))
    if model.config.variational:
        rows.append(("latent_head: mu, log-variance", tuple(enc["mu"].shape), count_parameters(model.latent_head)))
    rows.append(
        (
            "dec_rnn: latent repeated T times → LSTM → LSTM",
            (batch * parts, t, model.cells * model.config.width),
            count_parameters(model.dec_rnn),
        )
    )
    rows.append(
        (
            "dec_cnn: 4 unpool + transposed-conv blocks, 1×1×1 output",
            tuple(halves.shape),
            count_parameters(model.dec_cnn),
        )
    )
    rows.append(("reconstruction, halves put back, RIN undone", tuple(model(x).shape), 0))
    return pd.DataFrame(rows, columns=["stage", "shape", "parameters"])
