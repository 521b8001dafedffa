"""Chapter 3's models: GraphSTAD, its ablations and its unpooled variant, as GraphSTAD keyword arguments (the
ablations switch blocks off; the unpooled variant keeps the full map, ``dc=False``, in the layer sizes that reproduce
paper A's Table 5 column of trainable parameters). Used by the sweep's model cells (chapter 3), chapter 4's unpooled
Table 5 pairs and chapter 5's comparison of detectors.
"""

from __future__ import annotations

#: The unpooled GraphSTAD in the sizes whose trainable-parameter changes are paper A's Table 5 column (chapter 4
#: derives them): the public code's model without DC, pooled in PyTorch's default floor mode (cells 4 × 4 × 1, not
#: 4 × 5 × 1) and with three graph convolutions, not four.
TABLE5_ARCHITECTURE: dict = {"dc": False, "ceil_pool": False, "gnn_layers": 3}

#: name → GraphSTAD keyword arguments.
MODELS: dict[str, dict] = {
    "GraphSTAD": {},
    "CNN + LSTM": {"use_gnn": False},
    "CNN only": {"use_gnn": False, "temporal": False, "variational": False},
    "GraphSTAD (no DC)": TABLE5_ARCHITECTURE,
}

#: The unpooled GraphSTAD: the architecture whose parameter shares the paper's Table 5 reports (chapter 4).
UNPOOLED = "GraphSTAD (no DC)"

#: Chapter 3's model comparison (the unpooled variant is trained only as the source of chapter 4's unpooled pairs).
COMPARED = ("GraphSTAD", "CNN + LSTM", "CNN only")

#: The HE source model of a transfer cell, by whether the model pools the detector halves (DC).
SOURCE_MODEL = {True: "GraphSTAD", False: UNPOOLED}
