import pytest
import torch

from hcaltl.graph import build_edge_index, degree_table, normalized_adjacency


def _neighbours(g, ei, ieta, iphi, depth):
    node = g.node_of(ieta, iphi, depth)
    nb = ei[1, ei[0] == node].numpy()
    ch = g.channels.set_index("node").loc[nb]
    return set(zip(ch["ieta"], ch["iphi"], ch["depth"]))


def test_edge_index_is_undirected_without_self_loops(hb, he):
    for g in (hb, he):
        ei = build_edge_index(g)
        assert ei.dtype == torch.long and ei.shape[0] == 2
        assert int(ei.max()) < g.n_channels
        assert not (ei[0] == ei[1]).any()
        fwd = set(map(tuple, ei.t().tolist()))
        assert all((b, a) in fwd for a, b in fwd)
        with_loops = build_edge_index(g, self_loops=True)
        assert with_loops.shape[1] == ei.shape[1] + g.n_channels


def test_spatial_neighbours_in_hb(hb):
    ei = build_edge_index(hb, readout=None)
    assert _neighbours(hb, ei, 5, 10, 1) == {(4, 10, 1), (6, 10, 1), (5, 9, 1), (5, 11, 1)}
    assert (1, 72, 1) in _neighbours(hb, ei, 1, 1, 1)  # iphi wraps 72 → 1
    assert (-1, 1, 1) in _neighbours(hb, ei, 1, 1, 1)  # across eta = 0
    assert (15, 30, 1) in _neighbours(hb, ei, 15, 30, 2)  # depth neighbour


def test_spatial_neighbours_respect_10_degree_towers(he):
    ei = build_edge_index(he, readout=None)
    nb = _neighbours(he, ei, 21, 1, 1)
    assert {(20, 1, 1), (20, 2, 1), (21, 71, 1), (21, 3, 1), (22, 1, 1), (21, 1, 2)} == nb
    assert (21, 1, 1) in _neighbours(he, ei, 20, 2, 1)  # the even 5° tower borders the 10° tower covering it
    assert (-21, 1, 1) in _neighbours(he, ei, -20, 2, 1)


def test_readout_edges_stay_inside_one_readout_module(he):
    ei = build_edge_index(he, readout="rm_depth", spatial=False)
    ch = he.channels.set_index("node")
    a, b = ch.loc[ei[0].numpy()], ch.loc[ei[1].numpy()]
    assert (a["rbx_index"].to_numpy() == b["rbx_index"].to_numpy()).all()
    assert (a["rm"].to_numpy() == b["rm"].to_numpy()).all()
    assert (a["depth"].to_numpy() == b["depth"].to_numpy()).all()
    dense = build_edge_index(he, readout="rm", spatial=False)
    assert dense.shape[1] == 144 * 48 * 47  # every RM a clique of 48


def test_normalized_adjacency_matches_dense_formula(hb):
    ei = build_edge_index(hb)
    adj = normalized_adjacency(ei, hb.n_channels).to_dense()
    a = torch.zeros(hb.n_channels, hb.n_channels)
    a[ei[1], ei[0]] = 1
    d = a.sum(1)
    expected = a / torch.sqrt(d[:, None] * d[None, :])
    assert torch.allclose(adj, expected, atol=1e-6)
    assert torch.allclose(adj, adj.t())


def test_degree_table_and_bad_input(hb):
    table = degree_table(hb, build_edge_index(hb))
    assert len(table) == 2592 and table["degree"].min() > 0
    with pytest.raises(ValueError, match="unknown readout rule"):
        build_edge_index(hb, readout="rbx")
    with pytest.raises(ValueError, match="no edge rule"):
        build_edge_index(hb, readout=None, spatial=False)
    with pytest.raises(ValueError, match="refers to node"):
        normalized_adjacency(torch.tensor([[0, 5000], [5000, 0]]), hb.n_channels)
