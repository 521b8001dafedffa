"""The HCAL barrel (HB) and endcap (HE) channel geometry at full channel counts.

Every array in hcaltl uses one layout, shared by loaders, simulator and models
(the authors' GraphSTAD convention):

* maps are ``[ieta 64, iphi 72, depth 7]``;
* ieta < 0 goes to row ``ieta + 32`` (−32 → 0, −1 → 31), ieta > 0 to row
  ``ieta + 31`` (1 → 32, 32 → 63); there is no ieta 0;
* iphi goes to column ``iphi − 1`` and depth to ``depth − 1``.

A channel ("node") is an active cell of a subdetector.  Nodes are numbered in
row-major order over (row, column, depth) of the active cells, so
``map_to_nodes`` and ``nodes_to_map`` are exact inverses on active cells.

Readout structure: each side (M: ieta < 0, P: ieta > 0) has 18 readout boxes
(RBX).  RBX k covers iphi {4k−5, 4k−4, 4k−3, 4k−2} wrapped into 1…72, so RBX01 =
{71, 72, 1, 2}.  An RBX holds four readout modules (RM).

Explained in chapter 1 (``notebooks/01_detector_and_data.ipynb``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping

import numpy as np
import pandas as pd

N_IETA_ROWS = 64
N_IPHI = 72
N_DEPTH = 7
MAP_SHAPE = (N_IETA_ROWS, N_IPHI, N_DEPTH)
N_RBX_PER_SIDE = 18
N_RM_PER_RBX = 4

SUBDETECTORS = ("HB", "HE")

#: HB in the HPD era (paper A's target): depth 1 at |ieta| 1–16, depth 2 at |ieta| 15–16.
HB_HPD_DEPTHS: dict[int, tuple[int, ...]] = {
    **{ieta: (1,) for ieta in range(1, 15)},
    15: (1, 2),
    16: (1, 2),
}

#: HE SiPM default (paper A's source): gives the paper's 192 channels per RBX.
#: It is the 2017 HEP17 prototype table with ieta 16 at depths 3–4 (instead of 4)
#: and ieta 18 at depths 1–5 (instead of 2–5):
#: 4·(2+2+5+6+6) + 2·(5·6 + 3·7 + 3) = 84 + 108 = 192.
HE_SIPM_192: dict[int, tuple[int, ...]] = {
    16: (3, 4),
    17: (2, 3),
    18: (1, 2, 3, 4, 5),
    19: tuple(range(1, 7)),
    20: tuple(range(1, 7)),
    **{ieta: tuple(range(1, 7)) for ieta in range(21, 26)},
    **{ieta: tuple(range(1, 8)) for ieta in range(26, 29)},
    29: (1, 2, 3),
}

#: HE SiPM as measured on the 2017 HEP17 prototype wedge: 184 channels per RBX.
HE_SIPM_PROTOTYPE_2017: dict[int, tuple[int, ...]] = {
    **HE_SIPM_192,
    16: (4,),
    18: (2, 3, 4, 5),
}

DEPTH_TABLES: dict[str, dict[int, tuple[int, ...]]] = {
    "HB-HPD": HB_HPD_DEPTHS,
    "HE-SiPM-192": HE_SIPM_192,
    "HE-SiPM-prototype-2017": HE_SIPM_PROTOTYPE_2017,
}
DEFAULT_DEPTH_TABLE = {"HB": "HB-HPD", "HE": "HE-SiPM-192"}
SENSOR = {"HB": "HPD", "HE": "SiPM"}
#: |ieta| from which towers are 10° wide (odd iphi only).
WIDE_TOWER_IETA = 21


def ieta_to_row(ieta: np.ndarray | int) -> np.ndarray:
    """Row of the 64-row map for a signed ieta (ieta 0 does not exist)."""
    ieta = np.asarray(ieta)
    if np.any(ieta == 0) or np.any(np.abs(ieta) > 32):
        raise ValueError("ieta must be a non-zero integer in [-32, 32]")
    return np.where(ieta < 0, ieta + 32, ieta + 31)


def row_to_ieta(row: np.ndarray | int) -> np.ndarray:
    """Signed ieta of a row of the 64-row map (inverse of :func:`ieta_to_row`)."""
    row = np.asarray(row)
    if np.any((row < 0) | (row >= N_IETA_ROWS)):
        raise ValueError(f"row must be in [0, {N_IETA_ROWS - 1}]")
    return np.where(row < 32, row - 32, row - 31)


def iphi_to_rbx(iphi: np.ndarray | int) -> np.ndarray:
    """RBX number 1…18 of an iphi 1…72 (RBX k covers iphi 4k−5 … 4k−2, wrapped)."""
    iphi = np.asarray(iphi)
    if np.any((iphi < 1) | (iphi > N_IPHI)):
        raise ValueError("iphi must be in [1, 72]")
    return ((iphi + 1) % N_IPHI) // 4 + 1


def rbx_iphis(rbx: int) -> tuple[int, int, int, int]:
    """The four iphi of RBX ``rbx`` (1…18), in readout-module order."""
    if not 1 <= rbx <= N_RBX_PER_SIDE:
        raise ValueError(f"rbx must be in [1, {N_RBX_PER_SIDE}], got {rbx}")
    return tuple(int((4 * rbx - 6 + j) % N_IPHI + 1) for j in range(4))  # type: ignore[return-value]


def _validate_depth_table(table: Mapping[int, tuple[int, ...]]) -> dict[int, tuple[int, ...]]:
    clean: dict[int, tuple[int, ...]] = {}
    for ieta, depths in table.items():
        ieta = int(ieta)
        if not 1 <= ieta <= 29:
            raise ValueError(f"depth table: |ieta| must be in [1, 29], got {ieta}")
        depths = tuple(sorted(int(d) for d in depths))
        if not depths or depths[0] < 1 or depths[-1] > N_DEPTH or len(set(depths)) != len(depths):
            raise ValueError(f"depth table: depths for ieta {ieta} must be distinct values in 1…7, got {depths}")
        clean[ieta] = depths
    return dict(sorted(clean.items()))


@dataclass(frozen=True, eq=False)
class Geometry:
    """Active channels of one subdetector, with masks, node indexing and readout map.

    Attributes:
        name: ``"HB"`` or ``"HE"``.
        sensor: ``"HPD"`` or ``"SiPM"``.
        depth_table_name: name of the per-|ieta| depth table used.
        depth_table: |ieta| → active depths, the same on both sides.
        mask: bool ``[64, 72, 7]``, True on active cells.
        channels: one row per channel (node) with columns ``node, side, side_name,
            ieta, iphi, depth, row, col, dep, rbx, rbx_name, rbx_index, rm``.

    Shapes:
        ``mask``: [64, 72, 7]; ``channels``: [n_channels rows].
    """

    name: str
    sensor: str
    depth_table_name: str
    depth_table: dict[int, tuple[int, ...]]
    mask: np.ndarray = field(repr=False)
    channels: pd.DataFrame = field(repr=False)

    @property
    def n_channels(self) -> int:
        return int(len(self.channels))

    @property
    def n_rbx(self) -> int:
        return 2 * N_RBX_PER_SIDE

    @property
    def channels_per_rbx(self) -> pd.Series:
        """Number of channels in each RBX, indexed by RBX name."""
        return self.channels.groupby("rbx_name", sort=True).size()

    @property
    def ieta_range(self) -> tuple[int, int]:
        """Smallest and largest |ieta| of the subdetector."""
        return min(self.depth_table), max(self.depth_table)

    @property
    def node_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, col, dep) array indices of every node, for fancy indexing of maps."""
        c = self.channels
        return c["row"].to_numpy(), c["col"].to_numpy(), c["dep"].to_numpy()

    def map_to_nodes(self, maps: np.ndarray) -> np.ndarray:
        """Take the active cells of maps ``[..., 64, 72, 7]`` → ``[..., n_channels]``."""
        maps = np.asarray(maps)
        if maps.shape[-3:] != MAP_SHAPE:
            raise ValueError(f"expected maps of shape [..., 64, 72, 7], got {maps.shape}")
        return maps[(..., *self.node_index)]

    def nodes_to_map(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Scatter node values ``[..., n_channels]`` back to maps ``[..., 64, 72, 7]``."""
        values = np.asarray(values)
        if values.shape[-1:] != (self.n_channels,):
            raise ValueError(f"expected node values of shape [..., {self.n_channels}] for {self.name}, got {values.shape}")
        out = np.zeros(values.shape[:-1] + MAP_SHAPE, dtype=values.dtype)
        if fill != 0:
            out[...] = fill
        out[(..., *self.node_index)] = values
        return out

    def node_of(self, ieta: int, iphi: int, depth: int) -> int:
        """Node number of the channel at (ieta, iphi, depth); error if it is not active."""
        hit = self.channels.query("ieta == @ieta and iphi == @iphi and depth == @depth")
        if hit.empty:
            raise KeyError(f"{self.name} has no active channel at ieta={ieta}, iphi={iphi}, depth={depth}")
        return int(hit["node"].iloc[0])

    def describe(self) -> pd.DataFrame:
        """One-row summary: channels, RBX, channels per RBX, ieta range, depths."""
        per_rbx = self.channels_per_rbx
        return pd.DataFrame(
            {
                "sensor": [self.sensor],
                "depth table": [self.depth_table_name],
                "|ieta|": [f"{self.ieta_range[0]}–{self.ieta_range[1]}"],
                "channels": [self.n_channels],
                "RBX": [per_rbx.size],
                "channels/RBX": [int(per_rbx.iloc[0]) if per_rbx.nunique() == 1 else f"{per_rbx.min()}–{per_rbx.max()}"],
                "max depth": [max(max(d) for d in self.depth_table.values())],
            },
            index=[self.name],
        )


def _iphis_for(abs_ieta: int) -> np.ndarray:
    """iphi values present at |ieta|: all 72 (5°) below |ieta| 21, odd ones (10°) from 21."""
    if abs_ieta >= WIDE_TOWER_IETA:
        return np.arange(1, N_IPHI + 1, 2)
    return np.arange(1, N_IPHI + 1)


def _assign_rm(df: pd.DataFrame) -> np.ndarray:
    """Readout module 1…4 of each channel.

    5° cells: the RM is the iphi slot in the RBX wedge (HPD era: one HPD per iphi
    slice).  10° cells span two slots (s, s+1); their cells are dealt alternately
    to RM s and RM s+1 in (ieta, depth) order, which gives 48 channels per RM for
    the 192-channel HE table (four RMs of 48 SiPM channels).
    """
    slot = ((df["iphi"].to_numpy() + 1) % N_IPHI) % 4 + 1  # 1…4 within the wedge
    rm = slot.copy()
    wide = (df["ieta"].abs() >= WIDE_TOWER_IETA).to_numpy()
    if wide.any():
        sub = df.loc[wide, ["side", "iphi", "ieta", "depth"]].copy()
        sub["order"] = sub.assign(aeta=sub["ieta"].abs()).sort_values(["aeta", "depth"]).groupby(["side", "iphi"]).cumcount()
        rm[wide] = slot[wide] + (sub["order"].to_numpy() % 2)
    return rm


@lru_cache(maxsize=None)
def _build(name: str, table_name: str, table_items: tuple[tuple[int, tuple[int, ...]], ...]) -> Geometry:
    table = dict(table_items)
    rows = []
    for side in (-1, 1):
        for abs_ieta, depths in table.items():
            for iphi in _iphis_for(abs_ieta):
                for depth in depths:
                    rows.append((side, side * abs_ieta, int(iphi), depth))
    df = pd.DataFrame(rows, columns=["side", "ieta", "iphi", "depth"])
    df["row"] = ieta_to_row(df["ieta"].to_numpy())
    df["col"] = df["iphi"] - 1
    df["dep"] = df["depth"] - 1
    df = df.sort_values(["row", "col", "dep"], ignore_index=True)
    df.insert(0, "node", np.arange(len(df)))
    df.insert(2, "side_name", np.where(df["side"] < 0, "M", "P"))
    df["rbx"] = iphi_to_rbx(df["iphi"].to_numpy())
    df["rbx_name"] = [f"{name}{s}{r:02d}" for s, r in zip(df["side_name"], df["rbx"])]
    df["rbx_index"] = (df["side"] > 0) * N_RBX_PER_SIDE + df["rbx"] - 1
    df["rm"] = _assign_rm(df)
    mask = np.zeros(MAP_SHAPE, dtype=bool)
    mask[df["row"], df["col"], df["dep"]] = True
    mask.setflags(write=False)
    return Geometry(name=name, sensor=SENSOR[name], depth_table_name=table_name, depth_table=table, mask=mask, channels=df)


def get_geometry(name: str, depth_table: str | Mapping[int, tuple[int, ...]] | None = None) -> Geometry:
    """Build the geometry of ``"HB"`` or ``"HE"`` at full channel count.

    Args:
        name: subdetector, ``"HB"`` (HPD era, 2592 channels) or ``"HE"`` (SiPM, 6912 channels by default).
        depth_table: a name from :data:`DEPTH_TABLES` or a mapping |ieta| → depths.
            Defaults to ``"HB-HPD"`` for HB and ``"HE-SiPM-192"`` for HE; pass
            ``"HE-SiPM-prototype-2017"`` for the measured 184-per-RBX HE table.

    Returns:
        A cached, immutable :class:`Geometry`.
    """
    if name not in SUBDETECTORS:
        raise ValueError(f"unknown subdetector {name!r}; valid names are {', '.join(SUBDETECTORS)}")
    if depth_table is None:
        depth_table = DEFAULT_DEPTH_TABLE[name]
    if isinstance(depth_table, str):
        if depth_table not in DEPTH_TABLES:
            raise ValueError(f"unknown depth table {depth_table!r}; valid names are {', '.join(DEPTH_TABLES)}")
        table_name, table = depth_table, DEPTH_TABLES[depth_table]
    else:
        table_name, table = "custom", depth_table
    table = _validate_depth_table(table)
    return _build(name, table_name, tuple(table.items()))
