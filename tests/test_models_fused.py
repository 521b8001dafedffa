"""The speed kernels of :mod:`hcaltl.models.fused`: each must compute exactly what the plain PyTorch modules
compute (values, indices, gradients, BatchNorm running statistics). These tests are the kernels' contract."""

import pytest
import torch

from hcaltl.models import GraphSTAD


@pytest.fixture(scope="module")
def hb_model():
    torch.manual_seed(0)
    return GraphSTAD("HB", latent=4)


def test_symmetric_propagation_gives_the_generic_gradient(hb):
    from hcaltl.models.fused import is_symmetric, propagate

    model = GraphSTAD(hb, latent=4)
    assert is_symmetric(model.adj) and all(conv.symmetric for conv in model.enc_gnn.convs)
    h = torch.rand(hb.n_channels, 6, requires_grad=True)
    fast = torch.autograd.grad((propagate(model.adj, h, True) ** 2).sum(), h)[0]
    generic = torch.autograd.grad((torch.sparse.mm(model.adj, h) ** 2).sum(), h)[0]
    torch.testing.assert_close(fast, generic)
    lower = torch.sparse_coo_tensor(torch.tensor([[1], [0]]), torch.tensor([1.0]), (2, 2), check_invariants=True)
    assert not is_symmetric(lower)


@pytest.mark.parametrize("ceil", [True, False])
@pytest.mark.parametrize("c_in", [1, 4])
@pytest.mark.parametrize("training", [True, False])
def test_pooled_first_block_equals_the_modules_in_sequence(c_in, training, ceil):
    """Conv → BatchNorm → LeakyReLU → MaxPool, pooled first: same values, indices, gradients, running stats."""
    import copy

    from torch import nn

    from hcaltl.models.fused import conv_bn_leaky_pool

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
    x = torch.rand(3, c_in, 7, 11, 5, dtype=torch.float64)  # odd sizes: partial cells at the edges (kept or dropped)
    got, idx = conv_bn_leaky_pool(x, conv, bn, (2, 2, 2), ceil)
    ref, ref_idx = torch.nn.functional.max_pool3d(
        torch.nn.functional.leaky_relu(bn2(conv2(x)), 0.5), 2, 2, ceil_mode=ceil, return_indices=True
    )
    assert got.shape[2:] == ((4, 6, 3) if ceil else (3, 5, 2))
    torch.testing.assert_close(got, ref)
    assert torch.equal(idx, ref_idx)
    g = torch.randn_like(got)
    params = [conv.weight, bn.weight, bn.bias]
    for a, b in zip(
        torch.autograd.grad((got * g).sum(), params),
        torch.autograd.grad((ref * g).sum(), [conv2.weight, bn2.weight, bn2.bias]),
    ):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(bn.running_mean, bn2.running_mean)
    torch.testing.assert_close(bn.running_var, bn2.running_var)
    assert int(bn.num_batches_tracked) == int(bn2.num_batches_tracked)


def test_dense_half_pooling_equals_pyg_attentional_aggregation(hb_model):
    from hcaltl.models.fused import half_attention_pool

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

    from hcaltl.models.fused import conv_bn_leaky

    torch.manual_seed(4)
    conv = (nn.ConvTranspose3d if transposed else nn.Conv3d)(
        5, c_out, (3, 3, 1), padding=(1, 1, 0), bias=False
    ).double()
    bn = nn.BatchNorm3d(c_out).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([0.8, -1.1, 1.3][:c_out]))
        bn.bias.uniform_(-0.3, 0.3)
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
    conv2, bn2 = copy.deepcopy(conv), copy.deepcopy(bn)
    bn.train(training), bn2.train(training)
    x = torch.randn(2, 5, 4, 9, 3, dtype=torch.float64)
    torch.testing.assert_close(conv_bn_leaky(x, conv, bn), torch.nn.functional.leaky_relu(bn2(conv2(x)), 0.5))
    torch.testing.assert_close(bn.running_mean, bn2.running_mean)


@pytest.mark.parametrize("kernel", [(3, 3), (1, 3), (3, 1), (5, 3)])
def test_transposed_convolution_to_one_channel_equals_pytorchs(kernel):
    """The decoder's last layer: values and both gradients of conv_transpose3d (float64, gradcheck)."""
    from torch import nn

    from hcaltl.models.fused import TransposedConvToOne, to_one_channel

    kh, kw = kernel
    conv = nn.ConvTranspose3d(4, 1, (kh, kw, 1), padding=(kh // 2, kw // 2, 0), bias=False).double()
    assert to_one_channel(conv)
    torch.manual_seed(5)
    u = torch.randn(3, 4, 6, 7, 2, dtype=torch.float64, requires_grad=True)
    w = conv.weight.detach().clone().requires_grad_(True)
    torch.testing.assert_close(
        TransposedConvToOne.apply(u, w), nn.functional.conv_transpose3d(u, w, padding=conv.padding)
    )
    assert torch.autograd.gradcheck(TransposedConvToOne.apply, (u, w))
    for other in (
        nn.ConvTranspose3d(4, 2, (3, 3, 1), padding=(1, 1, 0)),
        nn.ConvTranspose3d(4, 1, (3, 3, 1), stride=2),
        nn.ConvTranspose3d(4, 1, (3, 3, 3), padding=1),
        nn.ConvTranspose3d(4, 1, (3, 3, 1)),
    ):
        assert not to_one_channel(other)  # these keep PyTorch's kernel
