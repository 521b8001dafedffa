"""hcaltl — machine-learning data-quality monitoring for the CMS hadron calorimeter.

The package has two wings:

* **the library** (this package's modules): detector geometry, the occupancy container, the simulator, loaders
  for the real DQM formats, preprocessing, channel graphs, GraphSTAD (:mod:`hcaltl.models`), training,
  transfer learning, anomaly injection, detection scores, the 2010 feature simulator and multi-head cause
  inference, plotting. It knows nothing of the book: reuse it on your own detector data.
* **the book's experiments** (:mod:`hcaltl.experiments`): presets, the chapters' shared set-up, the studies of
  the papers, the paper-scale sweep on Dask, the papers' published values and the chapters' headline text. It imports
  the library, never the other way round.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hcaltl")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from . import data, diagnostics, dqm, geometry, loaders, preprocess, simulate  # noqa: E402

#: The library's modules. Those that import torch (graph and everything after it) load on first use:
#: ``import hcaltl.models``.
__all__ = [
    "anomalies",
    "certification",
    "checkpoints",
    "cli",
    "cms2010",
    "data",
    "detectors",
    "diagnostics",
    "dqm",
    "geometry",
    "graph",
    "inference",
    "loaders",
    "models",
    "multihead",
    "online",
    "plotting",
    "preprocess",
    "readout",
    "simulate",
    "train",
    "transfer",
    "utils",
    "validate",
    "__version__",
]
