import numpy as np
import pytest
import torch

from hcaltl.inference import as_windows, latents, reconstruct
from hcaltl.models import GraphSTAD


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(3)
    return GraphSTAD("HB", latent=3)


def test_batched_latents_and_reconstructions_equal_one_pass(model):
    x = np.random.default_rng(0).random((5, 5, 64, 72, 7), dtype=np.float32) * model.geometry.mask  # its cells only
    model.train()  # batching switches to evaluation mode and back
    codes = latents(model, x, batch_size=2)
    assert codes.shape == (5, 6) and model.training
    np.testing.assert_allclose(codes, model.latent(torch.as_tensor(x)).numpy(), rtol=1e-5, atol=1e-6)
    model.eval()
    with torch.no_grad():
        whole = model(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(reconstruct(model, x, batch_size=3), whole, rtol=1e-5, atol=1e-6)


def test_windows_are_checked_against_the_model(model):
    with pytest.raises(ValueError, match=r"input windows must be \[n, 5, 64, 72, 7\]"):
        as_windows(np.zeros((2, 4, 64, 72, 7)), "input", model)
    with pytest.raises(ValueError, match="input windows holds no window"):
        as_windows(np.zeros((0, 5, 64, 72, 7)), "input", model)
    bad = np.zeros((1, 5, 64, 72, 7))
    bad[0, 0, 40, 1, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        latents(model, bad)
