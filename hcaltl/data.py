"""The occupancy data container shared by the simulator, the loaders and the models.

One :class:`OccupancyData` holds a sequence of lumisections (LS) of one
subdetector: the digi-occupancy maps, the number of events and the luminosity
of each LS, and the run and LS numbers.  It validates itself on creation, so a
container that exists is a container that makes sense.

Explained in chapter 1 (``notebooks/01_detector_and_data.ipynb``).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import validate
from .geometry import MAP_SHAPE, Geometry, get_geometry

#: The duration of one lumisection in seconds, 2^18 LHC orbits of 88.924 µs.
LS_SECONDS = 2**18 * 88.924e-6

_FORMAT_VERSION = 1
_ARRAYS = ("occupancy", "n_events", "luminosity", "run", "ls")


@dataclass(frozen=True, eq=False)
class OccupancyData:
    """Digi-occupancy of one subdetector over a sequence of lumisections.

    Attributes:
        geometry: the subdetector's :class:`~hcaltl.geometry.Geometry`.
        occupancy: float32 ``[n_ls, 64, 72, 7]``; raw counts (events in which the
            channel fired) unless ``normalised`` is set.  Inactive cells are 0.
        n_events: int64 ``[n_ls]``, events recorded in each LS (all > 0).
        luminosity: float64 ``[n_ls]``, mean instantaneous luminosity in 10^34 cm^-2 s^-1.
        run: int64 ``[n_ls]``, run number.
        ls: int64 ``[n_ls]``, lumisection number within the run (from 1).
        normalised: ``None`` for raw counts, else what the counts were divided by
            (``"events"`` or ``"luminosity"``).
        meta: JSON-serialisable provenance (simulator settings, source file, …).
    """

    geometry: Geometry
    occupancy: np.ndarray = field(repr=False)
    n_events: np.ndarray = field(repr=False)
    luminosity: np.ndarray = field(repr=False)
    run: np.ndarray = field(repr=False)
    ls: np.ndarray = field(repr=False)
    normalised: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.geometry, Geometry):
            raise TypeError(
                f"geometry must be a hcaltl Geometry (use hcaltl.geometry.get_geometry), got "
                f"{type(self.geometry).__name__}"
            )
        raw = np.asarray(self.occupancy)
        if raw.dtype == bool or not (np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.floating)):
            raise TypeError(f"occupancy must hold real numbers (counts or rates), got dtype {raw.dtype}")
        occ = raw.astype(np.float32, copy=False)
        if occ.ndim != 4 or occ.shape[1:] != MAP_SHAPE:
            raise ValueError(f"occupancy must have shape [n_ls, 64, 72, 7], got {occ.shape}")
        n_ls = occ.shape[0]
        if n_ls == 0:
            raise ValueError("occupancy holds no lumisection (n_ls = 0)")
        arrays = {
            "n_events": np.asarray(self.n_events),
            "luminosity": np.asarray(self.luminosity),
            "run": np.asarray(self.run),
            "ls": np.asarray(self.ls),
        }
        for key, arr in arrays.items():
            if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
                raise TypeError(f"{key} must hold real numbers, got dtype {arr.dtype}")
            if arr.shape != (n_ls,):
                raise ValueError(f"{key} must have shape [{n_ls}] to match occupancy, got {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(
                    f"{key} contains NaN or infinite values at LS index "
                    f"{np.flatnonzero(~np.isfinite(arr))[:5].tolist()}"
                )
        arrays["luminosity"] = arrays["luminosity"].astype(np.float64)
        for key in ("n_events", "run", "ls"):
            arr = arrays[key]
            if np.any(arr != np.round(arr)):
                raise ValueError(f"{key} must hold integers")
            if np.any(np.abs(arr) > 2**53):
                raise ValueError(
                    f"{key} holds values beyond 2^53 (first at LS index {np.flatnonzero(np.abs(arr) > 2**53)[0]}): "
                    "not a count or number HCAL writes"
                )
            arrays[key] = arr.astype(np.int64)
        if np.any(arrays["n_events"] <= 0):
            bad = np.flatnonzero(arrays["n_events"] <= 0)
            raise ValueError(
                f"n_events must be positive; zero or negative at LS index {bad[:5].tolist()} (LS with no events "
                "cannot be renormalised)"
            )
        if np.any(arrays["luminosity"] < 0):
            raise ValueError(
                f"luminosity must be non-negative; negative at LS index "
                f"{np.flatnonzero(arrays['luminosity'] < 0)[:5].tolist()}"
            )
        if np.any(arrays["ls"] < 1):
            raise ValueError(
                f"ls numbers start at 1; got {arrays['ls'][arrays['ls'] < 1][:5].tolist()} at LS index "
                f"{np.flatnonzero(arrays['ls'] < 1)[:5].tolist()}"
            )
        if np.any(arrays["run"] < 0):
            raise ValueError(
                "run numbers must be non-negative; negative at LS index "
                f"{np.flatnonzero(arrays['run'] < 0)[:5].tolist()}"
            )
        pairs = arrays["run"] * (2**31) + arrays["ls"]
        if len(np.unique(pairs)) != n_ls:
            uniq, first, counts = np.unique(pairs, return_index=True, return_counts=True)
            i = first[counts > 1][0]
            raise ValueError(
                f"(run, ls) pairs must be unique; ({arrays['run'][i]}, {arrays['ls'][i]}) appears "
                f"{counts[counts > 1][0]} times ({int((counts > 1).sum())} duplicated pairs in all)"
            )
        # Cheap whole-array checks first (reductions, no full-size temporaries);
        # the exact location is looked up only when something is wrong.
        flat = occ.reshape(n_ls, -1)
        hi, lo = flat.max(axis=1), flat.min(axis=1)
        if not (np.all(np.isfinite(hi)) and np.all(np.isfinite(lo))):
            idx = np.argwhere(~np.isfinite(occ))[0]
            raise ValueError(
                f"occupancy contains {int((~np.isfinite(occ)).sum())} NaN/inf values (first at LS index "
                f"{idx[0]}, cell {tuple(idx[1:])})"
            )
        if np.any(lo < 0):
            idx = np.argwhere(occ < 0)[0]
            raise ValueError(f"occupancy contains negative values (first at LS index {idx[0]}, cell {tuple(idx[1:])})")
        if self.normalised not in (None, "events", "luminosity"):
            raise ValueError(f"normalised must be None, 'events' or 'luminosity', got {self.normalised!r}")
        if self.normalised is None and np.any(hi > arrays["n_events"]):
            bad = np.flatnonzero(hi > arrays["n_events"])
            raise ValueError(
                f"raw counts exceed n_events at LS index {bad[:5].tolist()}: a channel cannot fire in more "
                "events than were recorded"
            )
        # all values are >= 0 here, so a zero sum over inactive cells means they are all zero
        if np.any(flat @ (~self.geometry.mask).ravel().astype(np.float32) > 0):
            outside = int(np.count_nonzero(occ[:, ~self.geometry.mask]))
            raise ValueError(
                f"occupancy has {outside} non-zero values outside the active cells of {self.geometry.name}; "
                "apply the geometry mask first"
            )
        object.__setattr__(self, "occupancy", occ)
        for key, arr in arrays.items():
            object.__setattr__(self, key, arr)

    @property
    def subdetector(self) -> str:
        return self.geometry.name

    @property
    def n_ls(self) -> int:
        return int(self.occupancy.shape[0])

    def node_values(self) -> np.ndarray:
        """Occupancy of the active channels only: ``[n_ls, n_channels]``."""
        return self.geometry.map_to_nodes(self.occupancy)

    def select(self, index: np.ndarray | slice) -> OccupancyData:
        """A new container with the LS picked by ``index`` (boolean mask of length ``n_ls``, integer indices or
        slice)."""
        if not isinstance(index, slice):
            index = validate.indices(index, "index", self.n_ls)  # in the order given

        def take(a):
            return a[index]

        return replace(
            self,
            occupancy=take(self.occupancy),
            n_events=take(self.n_events),
            luminosity=take(self.luminosity),
            run=take(self.run),
            ls=take(self.ls),
        )

    def runs(self) -> np.ndarray:
        """Run numbers in order of first appearance."""
        _, first = np.unique(self.run, return_index=True)
        return self.run[np.sort(first)]

    def save(self, path: str | Path) -> Path:
        """Write to an ``.npz`` file (uncompressed, fast); returns the path."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        header = {
            "format_version": _FORMAT_VERSION,
            "subdetector": self.geometry.name,
            "depth_table_name": self.geometry.depth_table_name,
            "depth_table": {str(k): list(v) for k, v in self.geometry.depth_table.items()},
            "normalised": self.normalised,
            "meta": self.meta,
        }
        np.savez(path, header=np.array(json.dumps(header)), **{k: getattr(self, k) for k in _ARRAYS})
        return path

    @classmethod
    def load(cls, path: str | Path) -> OccupancyData:
        """Read a file written by :meth:`save`, with clear errors for missing or damaged files.

        Args:
            path: an ``.npz`` file written by :meth:`save`.

        Returns:
            The container, as it was saved.
        """
        path = validate.file(path, "path", suffixes=(".npz",), what="hcaltl occupancy file (.npz)")
        if not zipfile.is_zipfile(path):
            raise validate.FileFormatError(
                f"{path} is not an .npz archive (truncated, damaged, or another format renamed to .npz)"
            )
        try:
            with np.load(path, allow_pickle=False) as f:
                missing = [k for k in ("header", *_ARRAYS) if k not in f.files]
                if missing:
                    raise ValueError(f"{path} is not an hcaltl occupancy file: missing {missing}")
                header = json.loads(str(f["header"]))
                arrays = {k: f[k] for k in _ARRAYS}
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise ValueError(f"{path} is truncated or damaged and cannot be read ({exc})") from exc
        if header.get("format_version") != _FORMAT_VERSION:
            raise ValueError(f"{path} has format version {header.get('format_version')}, expected {_FORMAT_VERSION}")
        table = {int(k): tuple(v) for k, v in header["depth_table"].items()}
        name = header["depth_table_name"]
        geometry = get_geometry(header["subdetector"], name if name != "custom" else table)
        return cls(geometry=geometry, normalised=header["normalised"], meta=header["meta"], **arrays)


def as_data(value, name: str = "data") -> OccupancyData:
    """``value`` if it is an :class:`OccupancyData`, else a TypeError that says how to make one."""
    if not isinstance(value, OccupancyData):
        raise TypeError(
            f"{name} must be an OccupancyData (from hcaltl.simulate.simulate, hcaltl.loaders or "
            f"OccupancyData.load), got {type(value).__name__}"
        )
    return value
