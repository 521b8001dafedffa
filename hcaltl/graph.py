"""The channel graph that GraphSTAD's GNN propagates along.

Nodes are the active channels of a subdetector (node numbering of
:class:`~hcaltl.geometry.Geometry`).  Edges come from two switchable rules:

* **readout** — channels that share readout electronics.  ``"rm_depth"``
  (default) links the channels of one readout module (RM) that sit in the same
  depth layer; ``"rm"`` links every pair of channels of one RM (a dense clique,
  7× more edges in HE); ``None`` switches the rule off.
* **spatial** — detector neighbours: ieta ± 1, iphi ± 1 and depth ± 1.  Where
  towers are 10° wide (|ieta| ≥ 21, odd iphi only) the iphi neighbour is two
  iphi away, and a 10° tower borders both 5° towers it covers.  ieta −1 and +1
  are neighbours (adjacent towers across η = 0).

The authors' edge list is not public; these rules follow paper B's description
(shared back-end circuits and housing boxes, plus spatial neighbours).  Chapter
2 (``notebooks/02_channel_graphs.ipynb``) shows how the choice changes the graph.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
import torch
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import coalesce, to_undirected

from .geometry import MAP_SHAPE, N_IPHI, WIDE_TOWER_IETA, Geometry, row_to_ieta

Readout = Literal["rm_depth", "rm"] | None

#: The channel graphs chapter 2 compares (and chapter 5 scores), by name, as :func:`build_edge_index` keyword
#: arguments. The default of GraphSTAD is ``"readout + spatial (default)"``.
VARIANTS: dict[str, dict] = {
    "spatial": {"readout": None, "spatial": True},
    "readout (RM, same depth)": {"readout": "rm_depth", "spatial": False},
    "readout + spatial (default)": {"readout": "rm_depth", "spatial": True},
    "full RM clique + spatial": {"readout": "rm", "spatial": True},
}


def _node_grid(geometry: Geometry) -> np.ndarray:
    grid = np.full(MAP_SHAPE, -1, dtype=np.int64)
    r, c, d = geometry.node_index
    grid[r, c, d] = np.arange(geometry.n_channels)
    return grid


def _spatial_edges(geometry: Geometry) -> np.ndarray:
    """Directed edges to the higher neighbour along each axis; [2, E] (made undirected later)."""
    grid = _node_grid(geometry)
    r, c, d = (a.astype(np.int64) for a in geometry.node_index)
    src_nodes = np.arange(geometry.n_channels)
    wide = np.abs(row_to_ieta(np.arange(MAP_SHAPE[0]))) >= WIDE_TOWER_IETA
    pairs = []

    def link(rr, cc, dd, keep):
        ok = keep & (rr >= 0) & (rr < MAP_SHAPE[0]) & (dd >= 0) & (dd < MAP_SHAPE[2])
        dst = np.full(len(src_nodes), -1)
        dst[ok] = grid[rr[ok], cc[ok] % N_IPHI, dd[ok]]
        hit = dst >= 0
        pairs.append(np.stack([src_nodes[hit], dst[hit]]))

    everyone = np.ones(len(src_nodes), dtype=bool)
    link(r, c, d + 1, everyone)  # depth + 1, same tower
    link(r, c + np.where(wide[r], 2, 1), d, everyone)  # iphi + 1 (two iphi in 10° towers), wraps at 72
    # ieta + 1 (next row), same depth.  Narrow → wide: the 10° tower covering this iphi
    # (odd iphi, i.e. even column); wide → narrow: both 5° towers it covers.
    nxt = np.minimum(r + 1, MAP_SHAPE[0] - 1)
    in_range = r + 1 < MAP_SHAPE[0]
    to_wide = wide[nxt] & ~wide[r]
    from_wide = wide[r] & ~wide[nxt]
    link(r + 1, np.where(to_wide, c - (c % 2), c), d, in_range)
    link(r + 1, c + 1, d, from_wide & in_range)
    return np.concatenate(pairs, axis=1)


def _readout_edges(geometry: Geometry, rule: str) -> np.ndarray:
    ch = geometry.channels
    keys = ["rbx_index", "rm"] + (["depth"] if rule == "rm_depth" else [])
    out = []
    for _, group in ch.groupby(keys, sort=False):
        nodes = group["node"].to_numpy()
        a, b = np.meshgrid(nodes, nodes, indexing="ij")
        sel = a < b
        out.append(np.stack([a[sel], b[sel]]))
    return np.concatenate(out, axis=1) if out else np.zeros((2, 0), dtype=np.int64)


def build_edge_index(
    geometry: Geometry,
    *,
    readout: Readout = "rm_depth",
    spatial: bool = True,
    self_loops: bool = False,
) -> torch.Tensor:
    """Undirected edge list of the channel graph, as PyTorch Geometric's ``edge_index``.

    Args:
        geometry: from :func:`hcaltl.geometry.get_geometry`.
        readout: ``"rm_depth"``, ``"rm"`` or ``None`` (see module docstring).
        spatial: add detector-neighbour edges.
        self_loops: add an edge from every node to itself.

    Returns:
        LongTensor ``[2, E]``, both directions of every edge, sorted and without duplicates.
    """
    if readout not in ("rm_depth", "rm", None):
        raise ValueError(f"unknown readout rule {readout!r}; use 'rm_depth', 'rm' or None")
    parts = []
    if readout is not None:
        parts.append(_readout_edges(geometry, readout))
    if spatial:
        parts.append(_spatial_edges(geometry))
    if not parts:
        raise ValueError("the graph has no edge rule: set readout and/or spatial")
    edges = torch.as_tensor(np.concatenate(parts, axis=1), dtype=torch.long)
    edges = edges[:, edges[0] != edges[1]]
    edge_index = to_undirected(edges, num_nodes=geometry.n_channels)
    if self_loops:
        loops = torch.arange(geometry.n_channels).repeat(2, 1)
        edge_index = coalesce(torch.cat([edge_index, loops], dim=1), num_nodes=geometry.n_channels)
    return edge_index


def normalized_adjacency(edge_index: torch.Tensor, n_nodes: int, *, add_self_loops: bool = False) -> torch.Tensor:
    """Symmetric-normalised adjacency D^-1/2 A D^-1/2 as a sparse CSR tensor ``[n, n]``.

    Uses PyG's ``gcn_norm``; isolated nodes get no messages.  Without self-loops
    this matches DGL's ``GraphConv(norm="both")`` used by the authors.
    """
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must be [2, E], got {tuple(edge_index.shape)}")
    if edge_index.numel() and int(edge_index.max()) >= n_nodes:
        raise ValueError(f"edge_index refers to node {int(edge_index.max())} but the graph has {n_nodes} nodes")
    ei, w = gcn_norm(edge_index, None, n_nodes, improved=False, add_self_loops=add_self_loops, flow="source_to_target")
    coo = torch.sparse_coo_tensor(torch.stack([ei[1], ei[0]]), w, (n_nodes, n_nodes), check_invariants=True).coalesce()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return coo.to_sparse_csr()


def degree_table(geometry: Geometry, edge_index: torch.Tensor) -> pd.DataFrame:
    """Per-channel degree with the channel's ieta, depth and RBX, for statistics and plots."""
    deg = torch.bincount(edge_index[0], minlength=geometry.n_channels).numpy()
    return geometry.channels[["node", "ieta", "iphi", "depth", "rbx_name", "rm"]].assign(degree=deg)
