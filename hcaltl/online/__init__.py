"""Online monitoring: score lumisections as they arrive, calibrate the flag threshold, export to ONNX.

* :class:`StreamScorer` — PyTorch scoring of one LS at a time, each LS encoded once;
* :class:`OnnxScorer` — the same on ONNX Runtime, from a file written by :func:`export_onnx`;
* :func:`save_scorer`, :func:`load_scorer` — a calibrated scorer in one checkpoint;
* :func:`calibrate_threshold`, :func:`flag_rates` — the σ threshold for a target false-flag rate, and what it
  catches.

Explained in chapter 7 (``notebooks/07_online_monitoring.ipynb``).
"""

from .features import Encoded, encode_ls, newest_reconstruction, pooling_margin
from .onnx_export import INPUTS, OUTPUTS, OnnxScorer, export_onnx
from .store import load_scorer, save_scorer
from .stream import DEFAULT_THRESHOLD, LSResult, Replay, Stream, StreamScorer, scaling_maps
from .threshold import calibrate_threshold, flag_rates

__all__ = [
    "DEFAULT_THRESHOLD",
    "Encoded",
    "INPUTS",
    "LSResult",
    "OUTPUTS",
    "OnnxScorer",
    "Replay",
    "Stream",
    "StreamScorer",
    "calibrate_threshold",
    "encode_ls",
    "export_onnx",
    "load_scorer",
    "save_scorer",
    "flag_rates",
    "newest_reconstruction",
    "pooling_margin",
    "scaling_maps",
]
