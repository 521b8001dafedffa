"""The map reconstructed from its first principal components of the healthy LS: the classical linear
autoencoder (AutoDQM's PCA test).

Explained in chapter 5 (``notebooks/05_anomaly_detection.ipynb``, "Honest baselines").
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA

from .. import validate
from ..geometry import Geometry
from .base import LSDetector, Reduce


class PCADetector(LSDetector):
    """The map reconstructed from its first ``n_components`` principal components of the healthy LS.

    Args:
        n_components: principal components kept (16 matches the 2 × 8 latent numbers of the book's GraphSTAD).
        seed: seeds the randomised SVD.
    """

    def __init__(
        self, geometry: Geometry | str, n_components: int = 16, reduce: Reduce = "mean", seed: int = 0
    ) -> None:
        super().__init__(geometry, reduce)
        self.n_components = validate.count(n_components, "n_components")
        self.seed = seed

    def _fit(self, ls: np.ndarray) -> None:
        if self.n_components > min(ls.shape):
            raise ValueError(
                f"n_components={self.n_components} needs at least as many healthy LS and channels, "
                f"got {ls.shape[0]} LS of {ls.shape[1]} channels"
            )
        self.pca = PCA(self.n_components, svd_solver="randomized", random_state=self.seed).fit(ls)

    def _ls_scores(self, ls: np.ndarray) -> np.ndarray:
        return np.abs(ls - self.pca.inverse_transform(self.pca.transform(ls)))
