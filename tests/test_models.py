import numpy as np
import pytest
import torch
from torch_geometric.nn import GCNConv

from hcaltl.models import BLOCKS, GraphSTAD
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
    assert not hasattr(cnn_only, "enc_rnn") and hasattr(cnn_only, "enc_dense")
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


def test_symmetric_propagation_gives_the_generic_gradient(hb):
    from hcaltl.models import is_symmetric, propagate

    model = GraphSTAD(hb, latent=4)
    assert is_symmetric(model.adj) and all(conv.symmetric for conv in model.enc_gnn.convs)
    h = torch.rand(hb.n_channels, 6, requires_grad=True)
    fast = torch.autograd.grad((propagate(model.adj, h, True) ** 2).sum(), h)[0]
    generic = torch.autograd.grad((torch.sparse.mm(model.adj, h) ** 2).sum(), h)[0]
    torch.testing.assert_close(fast, generic)
    lower = torch.sparse_coo_tensor(torch.tensor([[1], [0]]), torch.tensor([1.0]), (2, 2), check_invariants=True)
    assert not is_symmetric(lower)


@pytest.mark.parametrize("c_in", [1, 4])
@pytest.mark.parametrize("training", [True, False])
def test_pooled_first_block_equals_the_modules_in_sequence(c_in, training):
    """Conv → BatchNorm → LeakyReLU → MaxPool, pooled first: same values, indices, gradients, running stats."""
    import copy

    from torch import nn

    from hcaltl.models import conv_bn_leaky_pool

    torch.manual_seed(3)
    conv = nn.Conv3d(c_in, 6, (3, 3, 1), padding=(1, 1, 0), bias=False).double()
    bn = nn.BatchNorm3d(6).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.2, -0.7, 0.4, -1.5, 0.9, -0.05]))  # negative scales included
        bn.bias.uniform_(-0.3, 0.3)
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
    conv2, bn2 = copy.deepcopy(conv), copy.deepcopy(bn)
    bn.train(training), bn2.train(training)
    x = torch.rand(3, c_in, 7, 11, 5, dtype=torch.float64)  # odd sizes: ceil-mode cells at the edges
    got, idx = conv_bn_leaky_pool(x, conv, bn, (2, 2, 2))
    ref, ref_idx = torch.nn.functional.max_pool3d(torch.nn.functional.leaky_relu(bn2(conv2(x)), 0.5), 2, 2,
                                                  ceil_mode=True, return_indices=True)
    torch.testing.assert_close(got, ref)
    assert torch.equal(idx, ref_idx)
    g = torch.randn_like(got)
    params = [conv.weight, bn.weight, bn.bias]
    for a, b in zip(torch.autograd.grad((got * g).sum(), params),
                    torch.autograd.grad((ref * g).sum(), [conv2.weight, bn2.weight, bn2.bias])):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(bn.running_mean, bn2.running_mean)
    torch.testing.assert_close(bn.running_var, bn2.running_var)
    assert int(bn.num_batches_tracked) == int(bn2.num_batches_tracked)


def test_dense_half_pooling_equals_pyg_attentional_aggregation(hb_model):
    from hcaltl.models import half_attention_pool

    torch.manual_seed(0)
    pool = hb_model.enc_gnn.pool
    with torch.no_grad():
        pool.gate_nn.weight.normal_()
        pool.gate_nn.bias.fill_(0.3)
    n, c = hb_model.geometry.n_channels, hb_model.config.width
    h = torch.randn(n, 3, c)
    dense = half_attention_pool(h, pool.gate_nn, hb_model.half_sizes)
    for s in range(3):
        torch.testing.assert_close(dense[s], pool(h[:, s], hb_model.node_half, dim_size=2), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("transposed, c_out", [(False, 3), (True, 3), (True, 1)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_folded_into_the_convolution_at_evaluation(transposed, c_out, training):
    """Conv → BatchNorm → LeakyReLU of the decoder: BatchNorm folded into the weights in evaluation
    (c_out = 1: the transposed convolution written as channel sums and shifts)."""
    import copy

    from torch import nn

    from hcaltl.models import _conv_bn

    torch.manual_seed(4)
    conv = (nn.ConvTranspose3d if transposed else nn.Conv3d)(5, c_out, (3, 3, 1), padding=(1, 1, 0), bias=False).double()
    bn = nn.BatchNorm3d(c_out).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([0.8, -1.1, 1.3][:c_out]))
        bn.bias.uniform_(-0.3, 0.3)
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
    conv2, bn2 = copy.deepcopy(conv), copy.deepcopy(bn)
    bn.train(training), bn2.train(training)
    x = torch.randn(2, 5, 4, 9, 3, dtype=torch.float64)
    torch.testing.assert_close(_conv_bn(x, conv, bn), torch.nn.functional.leaky_relu(bn2(conv2(x)), 0.5))
    torch.testing.assert_close(bn.running_mean, bn2.running_mean)


@pytest.mark.parametrize("kernel", [(3, 3), (1, 3), (3, 1), (5, 3)])
def test_transposed_convolution_to_one_channel_equals_pytorchs(kernel):
    """The decoder's last layer: values and both gradients of conv_transpose3d (float64, gradcheck)."""
    from torch import nn

    from hcaltl.models import _TransposedConvToOne, _to_one_channel

    kh, kw = kernel
    conv = nn.ConvTranspose3d(4, 1, (kh, kw, 1), padding=(kh // 2, kw // 2, 0), bias=False).double()
    assert _to_one_channel(conv)
    torch.manual_seed(5)
    u = torch.randn(3, 4, 6, 7, 2, dtype=torch.float64, requires_grad=True)
    w = conv.weight.detach().clone().requires_grad_(True)
    torch.testing.assert_close(_TransposedConvToOne.apply(u, w), nn.functional.conv_transpose3d(u, w, padding=conv.padding))
    assert torch.autograd.gradcheck(_TransposedConvToOne.apply, (u, w))
    for other in (nn.ConvTranspose3d(4, 2, (3, 3, 1), padding=(1, 1, 0)), nn.ConvTranspose3d(4, 1, (3, 3, 1), stride=2),
                  nn.ConvTranspose3d(4, 1, (3, 3, 3), padding=1), nn.ConvTranspose3d(4, 1, (3, 3, 1))):
        assert not _to_one_channel(other)  # these keep PyTorch's kernel


def test_keep_freed_memory_reports_whether_it_applies():
    import platform
    import sys

    from hcaltl.allocator import keep_freed_memory

    applied = keep_freed_memory()
    assert isinstance(applied, bool)
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert applied and keep_freed_memory()
