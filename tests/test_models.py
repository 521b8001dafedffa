import numpy as np
import pytest
import torch
from torch_geometric.nn import GCNConv

from hcaltl.models import BLOCKS, GraphSTAD
from hcaltl.models.layers import DenseStep
from hcaltl.train import masked_mse


@pytest.fixture(scope="module")
def he_model():
    torch.manual_seed(0)
    return GraphSTAD("HE", latent=4)


@pytest.fixture(scope="module")
def hb_model():
    torch.manual_seed(0)
    return GraphSTAD("HB", latent=4)


def test_shapes_end_to_end_at_full_geometry(he_model, hb_model):
    for m, g in ((he_model, "HE"), (hb_model, "HB")):
        x = torch.rand(2, 5, 64, 72, 7)
        recon, enc = m(x, return_latent=True)
        assert recon.shape == x.shape
        assert enc["z"].shape == (4, 4)  # two halves per window, latent 4
        assert torch.all(recon[:, :, ~m.mask] == 0)
        assert m.latent(x).shape == (2, 8)
        assert m.geometry.name == g


def test_he_and_hb_blocks_have_identical_shapes(he_model, hb_model):
    he_shapes = {k: tuple(v.shape) for k, v in he_model.state_dict().items()}
    hb_shapes = {k: tuple(v.shape) for k, v in hb_model.state_dict().items()}
    assert he_shapes == hb_shapes
    for block in BLOCKS:
        assert hasattr(he_model, block) and hasattr(hb_model, block), block


def test_parameter_count_matches_the_authors_model():
    # 207,253 parameters for L = 8 with the two halves stacked (reference analysis of the public code)
    m = GraphSTAD("HE", latent=8)
    assert sum(p.numel() for p in m.parameters()) == 207_253
    assert m.block_parameters()["dec_rnn"] > m.block_parameters()["enc_rnn"]


def test_without_dimension_compression_the_cnn_reads_the_whole_map():
    """dc=False: one part per LS (the whole 64-row map, cells 4 x 5 x 1), the public code's GraphSTAD with GNN:
    1,882,261 parameters at L = 8 (reference analysis), HE and HB blocks still of identical shapes."""
    he = GraphSTAD("HE", latent=8, dc=False)
    assert sum(p.numel() for p in he.parameters()) == 1_882_261 and he.parts == 1 and he.plan[-1]["out"] == (4, 5, 1)
    small = GraphSTAD("HB", latent=2, dc=False)
    assert {k: v.shape for k, v in GraphSTAD.like(small, "HE").state_dict().items()} == {
        k: v.shape for k, v in small.state_dict().items()
    }
    x = torch.rand(2, 5, 64, 72, 7)
    recon, enc = small(x, return_latent=True)
    assert recon.shape == x.shape and enc["z"].shape == (2, 2) and small.latent(x).shape == (2, 2)
    recon.sum().backward()
    assert all(p.grad is not None for p in small.parameters() if p.requires_grad)


def test_floor_pooling_and_three_graph_convolutions_give_table_5s_sizes():
    """ceil_pool=False, gnn_layers=3 without DC (the sizes of paper A's Table 5, chapter 4): cells 4 x 4 x 1 per LS,
    three graph convolutions, 1,257,589 parameters at L = 8; HE and HB blocks still of identical shapes, so every
    transfer applies; forward and backward run."""
    he = GraphSTAD("HE", latent=8, dc=False, ceil_pool=False, gnn_layers=3)
    assert he.plan[-1]["out"] == (4, 4, 1) and len(he.enc_gnn.convs) == 3
    assert sum(p.numel() for p in he.parameters()) == 1_257_589
    small = GraphSTAD("HB", latent=2, dc=False, ceil_pool=False, gnn_layers=3)
    assert {k: v.shape for k, v in GraphSTAD.like(small, "HE").state_dict().items()} == {
        k: v.shape for k, v in small.state_dict().items()
    }
    x = torch.rand(2, 5, 64, 72, 7)
    recon = small(x)
    assert recon.shape == x.shape and torch.isfinite(recon).all()
    recon.sum().backward()
    assert all(p.grad is not None for p in small.parameters() if p.requires_grad)
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match=f"gnn_layers must be a positive int.*got {bad!r}"):
            GraphSTAD("HB", latent=2, gnn_layers=bad)


@pytest.mark.parametrize("kwargs", [{}, {"dc": False, "ceil_pool": False}])
@pytest.mark.parametrize("sub", ["HE", "HB"])
def test_cnn_reach_is_what_the_gradients_see(sub, kwargs):
    """cnn_reach: a cell outside it never changes the encoder CNN's output (zero gradient for any input and
    weights); every cell inside it does for some input. Ceil pooling reads every active channel; floor pooling of
    the whole HE map drops the deep layers (depth is pooled but never convolved)."""
    torch.manual_seed(1)
    model = GraphSTAD(sub, latent=1, **kwargs).eval()  # in training, BatchNorm's batch statistics couple every cell
    reach = model.cnn_reach()
    mask = np.array(model.geometry.mask)
    seen = torch.zeros(64, 72, 7, dtype=torch.bool)
    for _ in range(4):
        x = torch.rand(1, 1, 64, 72, 7, requires_grad=True)
        out, _ = model.enc_cnn(model._halves(x))
        (out * torch.randn_like(out)).sum().backward()
        seen |= x.grad[0, 0] != 0
    assert not (seen.numpy() & ~reach).any()
    assert seen.numpy()[reach & mask].mean() > 0.99
    full = reach[mask].all()
    assert full if kwargs == {} or sub == "HB" else not full


def test_inactive_cells_never_matter(hb_model):
    hb_model.eval()
    x = torch.rand(2, 5, 64, 72, 7)
    y = x.clone()
    y[:, :, ~hb_model.mask] = 123.0
    with torch.no_grad():
        assert torch.allclose(hb_model(x), hb_model(y))
    x.requires_grad_(True)
    loss = masked_mse(hb_model(x), x.detach(), hb_model.mask)
    loss.backward()
    assert torch.all(x.grad[:, :, ~hb_model.mask] == 0)
    assert x.grad[:, :, hb_model.mask].abs().sum() > 0
    target = x.detach().clone()
    target[:, :, ~hb_model.mask] = 99.0
    assert torch.isclose(masked_mse(hb_model(x.detach()), target, hb_model.mask), loss)


def test_static_gcn_equals_pyg_per_ls_loop(hb_model):
    """The vectorised graph convolution gives what PyG's GCNConv gives, LS by LS."""
    conv = hb_model.enc_gnn.convs[1]
    ref = GCNConv(conv.lin.in_features, conv.lin.out_features, add_self_loops=False, normalize=True)
    ref.lin.weight.data.copy_(conv.lin.weight.data)
    ref.bias.data.copy_(conv.bias.data)
    from hcaltl.graph import build_edge_index

    ei = build_edge_index(hb_model.geometry)
    h = torch.randn(hb_model.geometry.n_channels, 3, conv.lin.in_features, requires_grad=True)
    h_ref = h.detach().clone().requires_grad_(True)
    assert conv.relu  # the model's layers apply their ReLU in place
    ours = conv(hb_model.adj, h)
    theirs = torch.stack([torch.relu(ref(h_ref[:, s], ei)) for s in range(3)], dim=1)
    assert torch.allclose(ours, theirs, atol=1e-5)
    g = torch.randn_like(ours)
    ours.backward(g)
    theirs.backward(g)
    assert torch.allclose(h.grad, h_ref.grad, atol=1e-5)
    assert torch.allclose(conv.lin.weight.grad, ref.lin.weight.grad, atol=1e-4)
    assert torch.allclose(conv.bias.grad, ref.bias.grad, atol=1e-4)
    conv.zero_grad()


def test_deterministic_from_seed():
    torch.manual_seed(5)
    a = GraphSTAD("HB", latent=2)
    torch.manual_seed(5)
    b = GraphSTAD("HB", latent=2)
    x = torch.rand(1, 5, 64, 72, 7)
    a.eval(), b.eval()
    with torch.no_grad():
        assert torch.equal(a(x), b(x))


def test_random_init_is_kaiming_with_zero_biases(hb_model):
    for name, p in hb_model.named_parameters():
        if name.endswith("bias") or "bias_" in name:
            if ".bn." not in name:
                assert torch.all(p == 0), name


def test_ablations():
    cnn_lstm = GraphSTAD("HB", latent=2, use_gnn=False)
    cnn_only = GraphSTAD("HB", latent=2, use_gnn=False, temporal=False, variational=False)
    assert not hasattr(cnn_lstm, "enc_gnn") and hasattr(cnn_lstm, "enc_rnn")
    assert isinstance(cnn_only.enc_rnn, DenseStep) and isinstance(cnn_only.dec_rnn, DenseStep)
    for m in (cnn_lstm, cnn_only):  # every variant's blocks are named blocks that transfer can address
        assert set(m.block_parameters()) <= set(BLOCKS)
    x = torch.rand(1, 5, 64, 72, 7)
    for m in (cnn_lstm, cnn_only):
        assert m(x).shape == x.shape


def test_bad_input_is_named(hb_model):
    with pytest.raises(ValueError, match=r"\[B, T, 64, 72, 7\]"):
        hb_model(torch.rand(2, 5, 64, 72, 4))
    with pytest.raises(ValueError, match="window length 3"):
        hb_model(torch.rand(2, 3, 64, 72, 7))
    x = torch.rand(1, 5, 64, 72, 7)
    x[0, 0, 40, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        hb_model(x)
    with pytest.raises(ValueError, match="unknown subdetector"):
        GraphSTAD("HO")


def test_keep_freed_memory_reports_whether_it_applies():
    import platform
    import sys

    from hcaltl.utils import keep_freed_memory

    applied = keep_freed_memory()
    assert isinstance(applied, bool)
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert applied and keep_freed_memory()


@pytest.mark.parametrize("era", ["2016", "2017", "2018", "run3"])
def test_models_and_the_papers_transfer_work_on_every_era(era):
    """Stacked halves give identical block shapes, so a source of any era transfers to a target of any era."""
    import torch

    from hcaltl import transfer
    from hcaltl.geometry import get_geometry

    source = GraphSTAD(get_geometry("HE", era=era), latent=4)
    for sub in ("HB", "HE"):
        target = GraphSTAD.like(source, get_geometry(sub, era=era))
        transfer.apply(target, source, "TL-7", "TL-6")
        for block in ("enc_cnn", "enc_gnn", "enc_rnn", "dec_rnn", "dec_cnn"):
            ours, theirs = getattr(target, block).state_dict(), getattr(source, block).state_dict()
            assert all(torch.equal(ours[k], theirs[k]) for k in theirs)
        target.eval()
        with torch.no_grad():
            out = target(torch.rand(1, 5, 64, 72, 7))
        assert out.shape == (1, 5, 64, 72, 7)
        assert torch.all(out[0, :, ~torch.as_tensor(np.array(target.geometry.mask))] == 0)
