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

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd

N_IETA_ROWS = 64
N_IPHI = 72
N_DEPTH = 7
MAP_SHAPE = (N_IETA_ROWS, N_IPHI, N_DEPTH)
N_RBX_PER_SIDE = 18
N_RM_PER_RBX = 4

SUBDETECTORS = ("HB", "HE")
#: |ieta| each subdetector may cover (HB and HE share ring 16, in different depths).
IETA_LIMITS = {"HB": (1, 16), "HE": (16, 29)}
#: |ieta| from which towers are 10° wide (odd iphi only).
WIDE_TOWER_IETA = 21


@dataclass(frozen=True)
class DepthTable:
    """Active depths per |ieta| of one readout box, with the photodetector that reads them.

    Attributes:
        subdetector: ``"HB"`` or ``"HE"``.
        sensor: ``"HPD"`` or ``"SiPM"``.
        depths: |ieta| → active depths (the same on both sides and in every iphi of the wedge).
        source: where the table comes from (public CMSSW code, a measurement, or a construction).
    """

    subdetector: str
    sensor: str
    depths: Mapping[int, tuple[int, ...]]
    source: str


def _rings(first: int, last: int, depths: tuple[int, ...]) -> dict[int, tuple[int, ...]]:
    return {ieta: depths for ieta in range(first, last + 1)}


#: The per-|ieta| depth tables, each cited (the book's choices page lists them).
DEPTH_TABLES: dict[str, DepthTable] = {
    "HB-HPD": DepthTable(
        "HB",
        "HPD",
        {**_rings(1, 14, (1,)), 15: (1, 2), 16: (1, 2)},
        "CMSSW Geometry/CaloTopology/src/HcalTopology.cc, HcalTopology::depthBinInformation (HB outside the "
        "SLHC/Run 3 modes: one depth for |ieta| <= 14, two for 15-16); CalibCalorimetry/HcalAlgos "
        "HcalLogicalMapGenerator.cc (HbHalf = 1296 channels per side); 2586 of its 2592 cells live in the 2017 "
        "DQM file (run 306138).",
    ),
    "HB-SiPM": DepthTable(
        "HB",
        "SiPM",
        {**_rings(1, 15, (1, 2, 3, 4)), 16: (1, 2, 3)},
        "CMSSW ngHBConstant (the Phase-1 HB map object of the HCAL logical-map code): depths 1-4 for |ieta| 1-15 "
        "and 1-3 for |ieta| 16, 2 x 72 x 63 = 9072 cells; HcalTopology::depthBinInformation (Run 3: HB ring 16 "
        "ends at getDepthEta16, HE ring 16 starts after it). The same code counts 9216 back-end channels "
        "(36 RBX x 256): the 144 more are the 144 calibration channels it lists, which carry no occupancy cell.",
    ),
    "HE-HPD": DepthTable(
        "HE",
        "HPD",
        {16: (3,), 17: (1,), **_rings(18, 26, (1, 2)), 27: (1, 2, 3), 28: (1, 2, 3), 29: (1, 2)},
        "CMSSW HcalTopology::depthBinInformation and HcalTopology::validHcal (legacy HE: ring 16 at depth 3, "
        "ring 17 at depth 1, triple depth at 27-28, two depths elsewhere, last ring 29 with two); "
        "72 channels per RBX, HeHalf = 1296 in HcalLogicalMapGenerator.cc; measured on the 2017 DQM file.",
    ),
    "HE-SiPM-192": DepthTable(
        "HE",
        "SiPM",
        {
            16: (3, 4),
            17: (2, 3),
            18: (1, 2, 3, 4, 5),
            **_rings(19, 25, tuple(range(1, 7))),
            **_rings(26, 28, tuple(range(1, 8))),
            29: (1, 2, 3),
        },
        "Constructed to give paper A's 192 channels per RBX (6912 in all): the CMSSW Phase-1 table "
        "(HE-SiPM-2018) plus the legacy HE cell at |ieta| 16, depth 3; 4 x (2+2+5+6+6) + 2 x (5 x 6 + 3 x 7 + 3).",
    ),
    "HE-SiPM-2018": DepthTable(
        "HE",
        "SiPM",
        {
            16: (4,),
            17: (2, 3),
            18: (1, 2, 3, 4, 5),
            **_rings(19, 25, tuple(range(1, 7))),
            **_rings(26, 28, tuple(range(1, 8))),
            29: (1, 2, 3),
        },
        "CMSSW ngHEConstant (the Phase-1 HE map object of the HCAL logical-map code): ring 16 only at depth 4, "
        "ring 17 at depths 2-3, then 5, 6, 6 depths up to ring 20 and 6,6,6,6,6,7,7,7,3 for rings 21-29: "
        "188 cells per RBX, 6768 in all. The same code counts 6912 back-end channels (36 x 192), the 144 more "
        "being calibration channels: one reading of paper A's 192 per RBX.",
    ),
    "HE-SiPM-prototype-2017": DepthTable(
        "HE",
        "SiPM",
        {
            16: (4,),
            17: (2, 3),
            18: (2, 3, 4, 5),
            **_rings(19, 25, tuple(range(1, 7))),
            **_rings(26, 28, tuple(range(1, 8))),
            29: (1, 2, 3),
        },
        "Measured on the SiPM wedge HEP17 (iphi 63-66) of the 2017 DQM file (run 306138): 184 cells per RBX.",
    ),
}


@dataclass(frozen=True)
class Layout:
    """A named geometry: one depth table for every RBX, and overrides for single RBXes.

    Attributes:
        subdetector: ``"HB"`` or ``"HE"``.
        table: the depth table of every RBX not overridden (a key of :data:`DEPTH_TABLES`).
        overrides: ``(RBX name, depth table)`` pairs, e.g. ``(("HEP17", "HE-SiPM-prototype-2017"),)``.
        description: one line for ``hcaltl geometry --list``.
    """

    subdetector: str
    table: str
    overrides: tuple[tuple[str, str], ...] = ()
    description: str = ""


#: Every named geometry (each depth table used in every RBX, plus the mixed 2017 endcap).
GEOMETRIES: dict[str, Layout] = {
    **{
        name: Layout(t.subdetector, name, (), f"{t.subdetector}, {t.sensor} in every RBX")
        for name, t in DEPTH_TABLES.items()
    },
    "HE-2017": Layout(
        "HE",
        "HE-HPD",
        (("HEP17", "HE-SiPM-prototype-2017"),),
        "HE in 2017: legacy HPD RBXes, SiPM wedge HEP17 (plus side, iphi 63-66) with the upgraded depths",
    ),
}

#: The detector of each data-taking era.  "2018" (HPD HB, SiPM HE) is paper A's detector and the default.
ERAS: dict[str, dict[str, str]] = {
    "2016": {"HB": "HB-HPD", "HE": "HE-HPD"},
    "2017": {"HB": "HB-HPD", "HE": "HE-2017"},
    "2018": {"HB": "HB-HPD", "HE": "HE-SiPM-192"},
    "run3": {"HB": "HB-SiPM", "HE": "HE-SiPM-2018"},
}
DEFAULT_ERA = "2018"
#: HO shares the DQM depth-4 maps at |ieta| <= 15 in the HPD-HB eras (it is not HB there).
HO_IETA_MAX = 15


def ieta_to_row(ieta: np.ndarray | int) -> np.ndarray:
    """Row of the 64-row map for a signed ieta (ieta 0 does not exist).

    Args:
        ieta: signed ieta, one or an array, in [-32, -1] or [1, 32].

    Returns:
        The map row(s) 0…63, of the shape of ``ieta``.
    """
    ieta = np.asarray(ieta)
    if np.any(ieta == 0) or np.any(np.abs(ieta) > 32):
        raise ValueError("ieta must be a non-zero integer in [-32, 32]")
    return np.where(ieta < 0, ieta + 32, ieta + 31)


def row_to_ieta(row: np.ndarray | int) -> np.ndarray:
    """Signed ieta of a row of the 64-row map (inverse of :func:`ieta_to_row`).

    Args:
        row: map row(s) in [0, 63].

    Returns:
        The signed ieta, of the shape of ``row``.
    """
    row = np.asarray(row)
    if np.any((row < 0) | (row >= N_IETA_ROWS)):
        raise ValueError(f"row must be in [0, {N_IETA_ROWS - 1}]")
    return np.where(row < 32, row - 32, row - 31)


def iphi_to_rbx(iphi: np.ndarray | int) -> np.ndarray:
    """RBX number 1…18 of an iphi 1…72 (RBX k covers iphi 4k−5 … 4k−2, wrapped).

    Args:
        iphi: iphi, one or an array, in [1, 72].

    Returns:
        The RBX number(s), of the shape of ``iphi``.
    """
    iphi = np.asarray(iphi)
    if np.any((iphi < 1) | (iphi > N_IPHI)):
        raise ValueError("iphi must be in [1, 72]")
    return ((iphi + 1) % N_IPHI) // 4 + 1


def rbx_iphis(rbx: int) -> tuple[int, int, int, int]:
    """The four iphi of RBX ``rbx`` (1…18), in readout-module order.

    Args:
        rbx: the RBX number on one side, 1…18.

    Returns:
        Its four iphi.
    """
    if not 1 <= rbx <= N_RBX_PER_SIDE:
        raise ValueError(f"rbx must be in [1, {N_RBX_PER_SIDE}], got {rbx}")
    return tuple(int((4 * rbx - 6 + j) % N_IPHI + 1) for j in range(4))  # type: ignore[return-value]


def _validate_depth_table(table: Mapping[int, tuple[int, ...]], subdetector: str) -> dict[int, tuple[int, ...]]:
    if not isinstance(table, Mapping):
        raise TypeError(f"depth table must be a name or a mapping |ieta| -> depths, got {type(table).__name__}")
    if len(table) == 0:
        raise ValueError(f"depth table for {subdetector} is empty: give at least one |ieta| with its depths")
    lo, hi = IETA_LIMITS[subdetector]
    clean: dict[int, tuple[int, ...]] = {}
    for ieta, depths in table.items():
        ieta = int(ieta)
        if not lo <= ieta <= hi:
            raise ValueError(f"depth table: |ieta| {ieta} is outside {subdetector}, which covers |ieta| {lo}-{hi}")
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
        sensor: ``"HPD"`` or ``"SiPM"``: the photodetector of the RBXes not overridden
            (``channels["sensor"]`` gives each channel's own).
        depth_table_name: the named geometry (a key of :data:`GEOMETRIES`) or ``"custom"``.
        depth_table: |ieta| → active depths of the RBXes not overridden, the same on both sides.
        overrides: ``(RBX name, depth table name)`` for RBXes read out differently (the 2017 HEP17 wedge).
        mask: bool ``[64, 72, 7]``, True on active cells.
        channels: one row per channel (node) with columns ``node, side, side_name,
            ieta, iphi, depth, row, col, dep, rbx, rbx_name, rbx_index, rm, sensor, table``.

    Shapes:
        ``mask``: [64, 72, 7]; ``channels``: [n_channels rows].
    """

    name: str
    sensor: str
    depth_table_name: str
    depth_table: dict[int, tuple[int, ...]]
    mask: np.ndarray = field(repr=False)
    channels: pd.DataFrame = field(repr=False)
    overrides: tuple[tuple[str, str], ...] = ()

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
        a = self.channels["ieta"].abs()
        return int(a.min()), int(a.max())

    @property
    def depths(self) -> tuple[int, ...]:
        """Every depth that holds a channel somewhere, sorted."""
        return tuple(int(d) for d in np.unique(self.channels["depth"]))

    @property
    def max_depth(self) -> int:
        return int(self.channels["depth"].max())

    @property
    def sensors(self) -> tuple[str, ...]:
        """The photodetector technologies present (two in the mixed 2017 endcap)."""
        return tuple(sorted(self.channels["sensor"].unique()))

    @property
    def eras(self) -> tuple[str, ...]:
        """The data-taking eras whose detector this geometry is (empty for custom tables)."""
        return tuple(e for e, g in ERAS.items() if g[self.name] == self.depth_table_name)

    @property
    def node_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, col, dep) array indices of every node, for fancy indexing of maps."""
        c = self.channels
        return c["row"].to_numpy(), c["col"].to_numpy(), c["dep"].to_numpy()

    def map_to_nodes(self, maps: np.ndarray) -> np.ndarray:
        """Take the active cells of maps.

        Args:
            maps: any leading dimensions, then the map.

        Returns:
            One value per active channel, in node order.

        Shapes:
            maps ``[..., 64, 72, 7]`` → ``[..., n_channels]``.
        """
        maps = np.asarray(maps)
        if maps.shape[-3:] != MAP_SHAPE:
            raise ValueError(f"expected maps of shape [..., 64, 72, 7], got {maps.shape}")
        return maps[(..., *self.node_index)]

    def nodes_to_map(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Scatter node values back to maps (the inverse of :meth:`map_to_nodes`).

        Args:
            values: one value per active channel, in node order.
            fill: the value of the inactive cells.

        Returns:
            The maps, in the dtype of ``values``.

        Shapes:
            values ``[..., n_channels]`` → ``[..., 64, 72, 7]``.
        """
        values = np.asarray(values)
        if values.shape[-1:] != (self.n_channels,):
            raise ValueError(
                f"expected node values of shape [..., {self.n_channels}] for {self.name}, got {values.shape}"
            )
        out = np.zeros(values.shape[:-1] + MAP_SHAPE, dtype=values.dtype)
        if fill != 0:
            out[...] = fill
        out[(..., *self.node_index)] = values
        return out

    def node_of(self, ieta: int, iphi: int, depth: int) -> int:
        """Node number of the channel at (ieta, iphi, depth); error if it is not active.

        Args:
            ieta, iphi, depth: the channel's coordinates.

        Returns:
            Its node number (the index into ``[..., n_channels]`` arrays).
        """
        hit = self.channels.query("ieta == @ieta and iphi == @iphi and depth == @depth")
        if hit.empty:
            raise KeyError(f"{self.name} has no active channel at ieta={ieta}, iphi={iphi}, depth={depth}")
        return int(hit["node"].iloc[0])

    def describe(self) -> pd.DataFrame:
        """One-row summary: channels, RBX, channels per RBX, ieta range, depths."""
        per_rbx = self.channels_per_rbx
        return pd.DataFrame(
            {
                "sensor": ["+".join(self.sensors)],
                "geometry": [self.depth_table_name],
                "eras": [", ".join(self.eras) or "—"],
                "|ieta|": [f"{self.ieta_range[0]}–{self.ieta_range[1]}"],
                "channels": [self.n_channels],
                "RBX": [per_rbx.size],
                "channels/RBX": [
                    int(per_rbx.iloc[0]) if per_rbx.nunique() == 1 else f"{per_rbx.min()}–{per_rbx.max()}"
                ],
                "max depth": [self.max_depth],
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
        sub["order"] = (
            sub.assign(aeta=sub["ieta"].abs()).sort_values(["aeta", "depth"]).groupby(["side", "iphi"]).cumcount()
        )
        rm[wide] = slot[wide] + (sub["order"].to_numpy() % 2)
    return rm


@cache
def _build(
    name: str,
    layout_name: str,
    tables: tuple[tuple[str, tuple[tuple[int, tuple[int, ...]], ...], str], ...],
    overrides: tuple[tuple[str, str], ...],
) -> Geometry:
    """Build a geometry; ``tables`` holds (table name, items, sensor) with the default table first."""
    by_name = {t[0]: (dict(t[1]), t[2]) for t in tables}
    default = tables[0][0]
    table_of = dict(overrides)
    rows = []
    for side, side_name in ((-1, "M"), (1, "P")):
        for rbx in range(1, N_RBX_PER_SIDE + 1):
            table_name = table_of.get(f"{name}{side_name}{rbx:02d}", default)
            depth_map, sensor = by_name[table_name]
            wedge = np.array(rbx_iphis(rbx))
            for abs_ieta, depths in depth_map.items():
                for iphi in np.intersect1d(wedge, _iphis_for(abs_ieta)):
                    for depth in depths:
                        rows.append((side, side * abs_ieta, int(iphi), depth, sensor, table_name))
    df = pd.DataFrame(rows, columns=["side", "ieta", "iphi", "depth", "sensor", "table"])
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
    df = df[
        [
            "node",
            "side",
            "side_name",
            "ieta",
            "iphi",
            "depth",
            "row",
            "col",
            "dep",
            "rbx",
            "rbx_name",
            "rbx_index",
            "rm",
            "sensor",
            "table",
        ]
    ]
    mask = np.zeros(MAP_SHAPE, dtype=bool)
    mask[df["row"], df["col"], df["dep"]] = True
    mask.setflags(write=False)
    return Geometry(
        name=name,
        sensor=by_name[default][1],
        depth_table_name=layout_name,
        depth_table=by_name[default][0],
        mask=mask,
        channels=df,
        overrides=overrides,
    )


def _valid_names(subdetector: str) -> str:
    return ", ".join(k for k, v in GEOMETRIES.items() if v.subdetector == subdetector)


def get_geometry(
    name: str, depth_table: str | Mapping[int, tuple[int, ...]] | None = None, *, era: str | None = None
) -> Geometry:
    """Build the geometry of ``"HB"`` or ``"HE"`` at full channel count, for any era.

    Args:
        name: subdetector, ``"HB"`` or ``"HE"``, or a named geometry of :data:`GEOMETRIES`
            (e.g. ``"HE-2017"``).
        depth_table: a named geometry of that subdetector, or a mapping |ieta| → depths
            (a custom table, read out by the subdetector's default sensor).
        era: ``"2016"``, ``"2017"``, ``"2018"`` or ``"run3"`` (:data:`ERAS`).  With neither
            ``era`` nor ``depth_table``, the 2018 detector of paper A: HPD HB (2592 channels)
            and SiPM HE (6912 channels, 192 per RBX).

    Returns:
        A cached, immutable :class:`Geometry`.

    Explained in chapter 1 (``notebooks/01_detector_and_data.ipynb``, "Every era").
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string such as 'HB' or 'HE', got {type(name).__name__}")
    if name not in SUBDETECTORS:
        if name not in GEOMETRIES:
            raise ValueError(
                f"unknown subdetector {name!r}; valid names are {', '.join(SUBDETECTORS)} "
                f"or a named geometry: {', '.join(GEOMETRIES)}"
            )
        if depth_table is not None and depth_table != name:
            raise ValueError(f"name {name!r} is already a geometry; do not also pass depth_table={depth_table!r}")
        name, depth_table = GEOMETRIES[name].subdetector, name
    if era is not None:
        if era not in ERAS:
            raise ValueError(f"unknown era {era!r}; valid eras are {', '.join(ERAS)}")
        if depth_table is not None and depth_table != ERAS[era][name]:
            raise ValueError(
                f"era {era!r} has {name} geometry {ERAS[era][name]!r}, but depth_table={depth_table!r} "
                "was also given; pass one of them"
            )
        depth_table = ERAS[era][name]
    if depth_table is None:
        depth_table = ERAS[DEFAULT_ERA][name]
    if isinstance(depth_table, str):
        if depth_table not in GEOMETRIES:
            raise ValueError(f"unknown depth table {depth_table!r}; valid names for {name} are {_valid_names(name)}")
        layout = GEOMETRIES[depth_table]
        if layout.subdetector != name:
            raise ValueError(
                f"depth table {depth_table!r} belongs to {layout.subdetector}, not {name}; "
                f"valid names for {name} are {_valid_names(name)}"
            )
        names = [layout.table] + [t for _, t in layout.overrides if t != layout.table]
        tables = tuple(
            (t, tuple(_validate_depth_table(DEPTH_TABLES[t].depths, name).items()), DEPTH_TABLES[t].sensor)
            for t in dict.fromkeys(names)
        )
        return _build(name, depth_table, tables, layout.overrides)
    table = _validate_depth_table(depth_table, name)
    default_sensor = DEPTH_TABLES[GEOMETRIES[ERAS[DEFAULT_ERA][name]].table].sensor
    return _build(name, "custom", (("custom", tuple(table.items()), default_sensor),), ())


def era_masks(era: str) -> dict[str, np.ndarray]:
    """The cells each detector of ``era`` occupies in the DQM depth maps: ``HB``, ``HE`` and, in the HPD-HB
    eras, ``HO`` (depth 4 at |ieta| <= 15, which HB does not use before Run 3).

    Args:
        era: a data-taking era (:data:`ERAS`).

    Returns:
        Detector name → boolean mask.

    Shapes:
        each mask: [64, 72, 7].
    """
    if era not in ERAS:
        raise ValueError(f"unknown era {era!r}; valid eras are {', '.join(ERAS)}")
    out = {sub: get_geometry(sub, era=era).mask for sub in SUBDETECTORS}
    if 4 not in get_geometry("HB", era=era).depths:
        ho = np.zeros(MAP_SHAPE, dtype=bool)
        ieta = np.arange(1, HO_IETA_MAX + 1)
        ho[ieta_to_row(np.concatenate([-ieta, ieta])), :, 3] = True
        out["HO"] = ho
    return out


def geometries_table() -> pd.DataFrame:
    """Every named geometry with its channel count, channels per RBX, sensors, eras and source."""
    rows = []
    for key, layout in GEOMETRIES.items():
        g = get_geometry(layout.subdetector, key)
        d = g.describe().iloc[0].to_dict()
        rows.append(
            {
                "geometry": key,
                "subdetector": g.name,
                "sensor": d["sensor"],
                "channels": g.n_channels,
                "channels/RBX": d["channels/RBX"],
                "|ieta|": d["|ieta|"],
                "max depth": g.max_depth,
                "eras": d["eras"],
                "description": layout.description,
            }
        )
    return pd.DataFrame(rows).set_index("geometry")
