"""GraphSTAD, the CNN + GNN + LSTM autoencoder (chapter 3).

* :mod:`~hcaltl.models.graphstad` — the model, read top to bottom as the paper's architecture;
* :mod:`~hcaltl.models.layers` — its blocks (CNN encoder/decoder, graph encoder, LSTM stacks, VAE head);
* :mod:`~hcaltl.models.fused` — exact, cheaper forms of the blocks' operations (the speed kernels).
"""

from .graphstad import BLOCKS, GraphSTAD, GraphSTADConfig, shape_walkthrough
from .layers import (
    CNNDecoder,
    CNNEncoder,
    GraphEncoder,
    LatentHead,
    LSTMStack,
    StaticGCN,
)

__all__ = [
    "BLOCKS",
    "GraphSTAD",
    "GraphSTADConfig",
    "shape_walkthrough",
    "StaticGCN",
    "GraphEncoder",
    "CNNEncoder",
    "CNNDecoder",
    "LSTMStack",
    "LatentHead",
]
