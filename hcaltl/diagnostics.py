"""Summaries of an occupancy data set that a DQM shifter would look at.

Explained in chapter 1 (``notebooks/01_detector_and_data.ipynb``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .data import OccupancyData


def group_deviation(data: OccupancyData, by: Literal["rbx", "rm"] = "rbx") -> pd.DataFrame:
    """Relative deviation of each RBX's (or RM's) occupancy from its usual share, per LS.

    For every LS, the mean renormalised occupancy of a group is divided by the
    subdetector mean; that ratio is divided by its median over the data set, so
    1 means "as usual" and 1.05 means 5 % more hits than usual given the
    luminosity.  Luminosity and event count cancel; what remains are gain
    drifts, noise bursts and faults of the group.

    Returns:
        DataFrame [n_ls rows, one column per group] of ratios minus 1.
    """
    x = data.node_values()
    if data.normalised is None:
        x = x / data.n_events[:, None]
    if by not in ("rbx", "rm"):
        raise ValueError(f"by must be 'rbx' or 'rm', got {by!r}")
    ch = data.geometry.channels
    key = ch["rbx_name"] if by == "rbx" else ch["rbx_name"] + "-RM" + ch["rm"].astype(str)
    codes, names = pd.factorize(key, sort=True)
    onehot = np.zeros((len(codes), len(names)), dtype=np.float64)
    onehot[np.arange(len(codes)), codes] = 1.0 / np.bincount(codes)[codes]
    group_mean = x @ onehot
    ratio = group_mean / x.mean(axis=1, keepdims=True)
    ratio /= np.median(ratio, axis=0, keepdims=True)
    return pd.DataFrame(ratio - 1.0, columns=names)


def ls_summary(data: OccupancyData) -> pd.DataFrame:
    """One row per LS: run, LS, luminosity, events and mean renormalised occupancy."""
    x = data.node_values()
    frac = x / data.n_events[:, None] if data.normalised is None else x
    return pd.DataFrame(
        {
            "run": data.run,
            "ls": data.ls,
            "luminosity": data.luminosity,
            "n_events": data.n_events,
            "mean_occupancy": frac.mean(axis=1),
        }
    )
