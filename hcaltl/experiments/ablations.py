"""Chapter 3's models: GraphSTAD and its ablations, as GraphSTAD keyword arguments (the ablations switch blocks
off). Used by the sweep's model cells (chapter 3) and chapter 5's comparison of detectors.
"""

from __future__ import annotations

#: name → GraphSTAD keyword arguments.
MODELS: dict[str, dict] = {
    "GraphSTAD": {},
    "CNN + LSTM": {"use_gnn": False},
    "CNN only": {"use_gnn": False, "temporal": False, "variational": False},
}
