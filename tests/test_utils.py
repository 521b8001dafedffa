import numpy as np
import torch
from torch import nn

from hcaltl.utils import count_parameters, seed_everything


def test_count_parameters_counts_all_or_trainable_only():
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    assert count_parameters(net) == 3 * 4 + 4 + 4 * 2 + 2
    net[0].weight.requires_grad_(False)
    assert count_parameters(net, trainable=True) == 4 + 4 * 2 + 2
    assert count_parameters(nn.ReLU()) == 0


def test_seed_everything_makes_every_generator_repeat():
    draws = []
    for _ in range(2):
        gen = seed_everything(11)
        draws.append((np.random.rand(3).tolist(), torch.rand(3).tolist(), torch.randperm(10, generator=gen).tolist()))
    assert draws[0] == draws[1]
    seed_everything(12)
    assert np.random.rand(3).tolist() != draws[0][0]
