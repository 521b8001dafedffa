"""Splitting per-LS feature sets for training and testing, and the single-head baseline's input.

Explained in chapter 6 (``notebooks/06_multihead_cause.ipynb``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .features import LumiFeatures


def split(data: LumiFeatures, test_size: float = 0.1, seed: int = 1) -> tuple[LumiFeatures, LumiFeatures]:
    """Stratified train/test split of LS (the authors: 10 % test, random_state=1)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(data.n_ls)
    train, test = train_test_split(idx, test_size=test_size, random_state=seed, stratify=data.good)
    return data.subset(np.sort(train)), data.subset(np.sort(test))


def single_head(data: LumiFeatures) -> tuple[LumiFeatures, dict[str, int]]:
    """All channels concatenated into one block ``"all"``: the single-head baseline's input and head size."""
    joined = np.concatenate([data.features[c] for c in data.features], axis=1)
    cols = [k for c in data.features for k in data.columns[c]]
    return replace(data, features={"all": joined}, columns={"all": cols}), {"all": joined.shape[1]}
