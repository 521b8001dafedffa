"""The readout units of a geometry — readout box (RBX), readout module (RM) and QIE card — as lists of channels.

A fault in the electronics hits the channels of one unit together, whether or not they are neighbours in the
detector: an RM reads one iphi slice of an RBX through all its ieta rings and depths, an RBX four such slices.

Names (one convention, used everywhere):

* RBX: the geometry's ``rbx_name``, e.g. ``"HBM03"`` (subdetector, side M/P, box 01…18);
* RM: ``"HBM03-RM2"`` (RM 1…4 of the box, :func:`hcaltl.geometry` assigns them);
* QIE card: ``"HBM03-RM2-QIE1"``.

QIE cards are the digitiser boards of an RM. The public CMSSW emap ties each channel to its card and fibre; that
table is not in hcaltl, so a card here is a run of :data:`QIE_CARD_CHANNELS` consecutive channels of its RM in
(|ieta|, depth, iphi) order — a card-sized group of one RM, which is what matters for the faults of chapter 5
(the last card of an RM whose channel count is not a multiple of the card size is shorter).

Explained in chapter 5 (``notebooks/05_anomaly_detection.ipynb``, "Faults that follow the readout").
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .geometry import Geometry

#: Channels per QIE card by photodetector (QIE8 cards of the HPD era read 6 channels, QIE11 cards 12 in the
#: Phase-1 HE and 16 in the Run 3 HB).
QIE_CARD_CHANNELS = {("HB", "HPD"): 6, ("HE", "HPD"): 6, ("HB", "SiPM"): 16, ("HE", "SiPM"): 12}
LEVELS = ("rbx", "rm", "qie")

Level = Literal["rbx", "rm", "qie"]


def _with_unit_columns(geometry: Geometry) -> pd.DataFrame:
    ch = geometry.channels[["rbx_name", "rm", "ieta", "depth", "iphi", "sensor"]].copy()
    ch["rm_name"] = ch["rbx_name"] + "-RM" + ch["rm"].astype(str)
    ch["aeta"] = ch["ieta"].abs()
    return ch


def units(geometry: Geometry, level: Level) -> dict[str, np.ndarray]:
    """Every readout unit of one level, by name, with its channel (node) indices, sorted.

    Args:
        geometry: the detector.
        level: ``"rbx"``, ``"rm"`` or ``"qie"``.

    Returns:
        ``{name: nodes}``, names in sorted order (see the module's naming convention).
    """
    if level not in LEVELS:
        raise ValueError(f"unknown readout level {level!r}; valid levels are {', '.join(LEVELS)}")
    ch = _with_unit_columns(geometry)
    if level == "rbx":
        return {k: np.sort(v) for k, v in sorted(ch.groupby("rbx_name").indices.items())}
    modules = {k: np.sort(v) for k, v in sorted(ch.groupby("rm_name").indices.items())}
    if level == "rm":
        return modules
    cards = {}
    for name, nodes in modules.items():
        sub = ch.iloc[nodes]
        size = QIE_CARD_CHANNELS[(geometry.name, str(sub["sensor"].iloc[0]))]
        ordered = nodes[np.lexsort((sub["iphi"].to_numpy(), sub["depth"].to_numpy(), sub["aeta"].to_numpy()))]
        for k, start in enumerate(range(0, len(ordered), size), start=1):
            cards[f"{name}-QIE{k}"] = np.sort(ordered[start : start + size])
    return cards


def unit_nodes(geometry: Geometry, name: str) -> np.ndarray:
    """The channels of one named readout unit (RBX ``"HBM03"``, RM ``"HBM03-RM2"`` or card ``"HBM03-RM2-QIE1"``).

    Raises:
        ValueError: the name is not a unit of this geometry (the message gives the format and valid examples).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a readout unit name such as 'HBM03-RM2', got {type(name).__name__}")
    level = ("rbx", "rm", "qie")[min(name.count("-"), 2)]
    found = units(geometry, level)
    if name not in found:
        names = list(found)
        raise ValueError(
            f"{name!r} is not a readout {level.upper()} of {geometry.name} ({len(names)} of them: "
            f"{names[0]} … {names[-1]}; names read RBX 'HBM03', RM 'HBM03-RM2', QIE card "
            "'HBM03-RM2-QIE1')"
        )
    return found[name]
