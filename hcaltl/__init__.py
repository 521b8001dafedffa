"""hcaltl — machine-learning data-quality monitoring for the CMS hadron calorimeter.

The package behind the hcaltl book: detector geometry, an occupancy simulator,
real-format loaders, preprocessing, and (in later chapters) graph models,
transfer learning, anomaly detection and multi-head cause inference.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hcaltl")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from . import data, diagnostics, geometry, loaders, preprocess, presets, report, simulate  # noqa: E402

__all__ = [
    "data", "diagnostics", "geometry", "graph", "loaders", "models", "preprocess", "presets", "report",
    "simulate", "train", "__version__",
]
# graph, models and train import torch: load them on first use (``import hcaltl.models``)
