"""One check per concept, shared by every public function: a geometry argument, a windows array, a maps array, an
events vector, a share or probability, a positive count, sample indices, a file of a given format.

Each check returns the value in its canonical form (a :class:`~hcaltl.geometry.Geometry`, a float32 array, an
int, a :class:`~pathlib.Path`) or raises with a message that names the argument, what was expected and what
came (for files, the path). The error types are few and documented (the book's reference page "Errors"):

* :class:`TypeError` — the argument is of the wrong kind (``None`` where a geometry is expected, a string where
  an array is, a boolean where a count is);
* :class:`ValueError` — the right kind with a wrong value: shape, range, NaN, duplicates, a geometry that does
  not match; :class:`FileFormatError` (a ``ValueError``) — a file that exists but cannot be read as the format
  it claims;
* :class:`FileNotFoundError` — a path that does not exist.

Nothing here clips, drops or relabels: a value is accepted as it is, or refused.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .geometry import MAP_SHAPE, Geometry, get_geometry


class FileFormatError(ValueError):
    """A file that exists but is not (or no longer) a readable file of the expected format."""


def _kind(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    return (
        f"{type(value).__name__} {value!r}"
        if not hasattr(value, "__len__") or isinstance(value, str)
        else type(value).__name__
    )


def geometry(value, name: str = "geometry", *, subdetector: str | None = None) -> Geometry:
    """A :class:`~hcaltl.geometry.Geometry`, given as one or as a name (``"HB"``, ``"HE"``, ``"HE-2017"``)."""
    if isinstance(value, str):
        value = get_geometry(value)
    if not isinstance(value, Geometry):
        raise TypeError(f"{name} must be a Geometry or a name such as 'HB' or 'HE', got {_kind(value)}")
    if subdetector is not None and value.name != subdetector:
        raise ValueError(f"{name} must be a {subdetector} geometry, got {value.name} ({value.depth_table_name!r})")
    return value


def same_geometry(a: Geometry, b: Geometry, what_a: str, what_b: str) -> None:
    """Refuse two geometries that differ (subdetector, depth table or channel count)."""
    if a.name != b.name or a.depth_table_name != b.depth_table_name or a.n_channels != b.n_channels:
        raise ValueError(
            f"{what_a} is {a.name} {a.depth_table_name!r} ({a.n_channels} channels) but {what_b} is "
            f"{b.name} {b.depth_table_name!r} ({b.n_channels} channels)"
        )


def _numeric_array(value, name: str, dtype=np.float32) -> np.ndarray:
    if value is None or isinstance(value, (str, bytes, dict)):
        raise TypeError(f"{name} must be a numeric array, got {_kind(value)}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(
            f"{name} must be a numeric array, got {type(value).__name__} that numpy cannot read ({exc})"
        ) from None
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr.astype(dtype, copy=False)


def _finite(arr: np.ndarray, name: str) -> None:
    if not np.isfinite(arr.max(initial=0.0)) or not np.isfinite(arr.min(initial=0.0)) or np.isnan(arr.sum()):
        where = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name}: {int((~np.isfinite(arr)).sum())} NaN or infinite values (first at index "
            f"{tuple(int(i) for i in where)})"
        )


def _outside(arr: np.ndarray, geom: Geometry, name: str) -> None:
    """Refuse non-zero values in cells the geometry does not have (data of another detector or era)."""
    flat = arr.reshape(-1, int(np.prod(MAP_SHAPE)))
    inactive = (~geom.mask).ravel()
    if np.any(np.abs(flat[:, inactive]).max(initial=0.0) > 0):
        cells = np.argwhere(np.any(arr.reshape(-1, *MAP_SHAPE) != 0, axis=0) & ~geom.mask)
        ieta_row, iphi, depth = cells[0]
        raise ValueError(
            f"{name}: non-zero values in {len(cells)} cells outside the {geom.name} geometry "
            f"({geom.depth_table_name!r}), e.g. map row {ieta_row}, iphi index {iphi}, depth index "
            f"{depth}: they belong to another subdetector or era"
        )


def windows(
    value, name: str = "windows", *, geometry_: Geometry | None = None, window: int | None = None
) -> np.ndarray:
    """Windows of maps ``[n, T, 64, 72, 7]`` as float32: non-empty, finite, and, given a geometry, zero outside it.

    Shapes:
        ``[n, T, 64, 72, 7]`` (T = ``window`` when given).
    """
    arr = _numeric_array(value, name)
    t = window if window is not None else (arr.shape[1] if arr.ndim == 5 else "T")
    if arr.ndim != 5 or arr.shape[2:] != MAP_SHAPE or (window is not None and arr.shape[1] != window):
        hint = " (maps of single LS: cut windows with hcaltl.preprocess.make_windows)" if arr.ndim == 4 else ""
        raise ValueError(f"{name} must be [n, {t}, 64, 72, 7], got shape {arr.shape}{hint}")
    if len(arr) == 0:
        raise ValueError(f"{name} holds no window (n = 0)")
    _finite(arr, name)
    if geometry_ is not None:
        _outside(arr, geometry_, name)
    return arr


def maps(value, name: str = "maps", *, geometry_: Geometry | None = None, nonnegative: bool = True) -> np.ndarray:
    """Maps of single LS ``[n, 64, 72, 7]`` as float32: non-empty, finite, non-negative, zero outside the geometry."""
    arr = _numeric_array(value, name)
    if arr.ndim != 4 or arr.shape[1:] != MAP_SHAPE:
        hint = " (windows: take one LS per window, e.g. windows[:, -1])" if arr.ndim == 5 else ""
        raise ValueError(f"{name} must be maps [n, 64, 72, 7], got shape {arr.shape}{hint}")
    if len(arr) == 0:
        raise ValueError(f"{name} holds no map (n = 0)")
    _finite(arr, name)
    if nonnegative and arr.min() < 0:
        where = np.argwhere(arr < 0)[0]
        raise ValueError(
            f"{name} must be non-negative, got {arr[tuple(where)]} at index {tuple(int(i) for i in where)}"
        )
    if geometry_ is not None:
        _outside(arr, geometry_, name)
    return arr


#: More events than the LHC can deliver in one LS (40 MHz × 23.3 s ≈ 9.3e8), so a unit or overflow error.
MAX_EVENTS_PER_LS = 1e9


def events(value, name: str = "n_events", n: int | None = None) -> np.ndarray:
    """Events per LS as int64 ``[n]``: whole, positive, finite and at most :data:`MAX_EVENTS_PER_LS`."""
    arr = _numeric_array(value, name, dtype=np.float64)
    if arr.ndim != 1 or (n is not None and len(arr) != n):
        raise ValueError(
            f"{name} must be a vector of {n if n is not None else 'n'} events per LS, got shape {arr.shape}"
        )
    _finite(arr, name)
    bad = np.flatnonzero((arr <= 0) | (arr != np.round(arr)) | (arr > MAX_EVENTS_PER_LS))
    if len(bad):
        i = bad[0]
        reason = (
            "zero or negative"
            if arr[i] <= 0
            else "not a whole number"
            if arr[i] != np.round(arr[i])
            else f"above {MAX_EVENTS_PER_LS:.0e}, more than one LS can hold"
        )
        raise ValueError(
            f"{name} must be whole positive event counts; {len(bad)} are not, first at LS index {i}: "
            f"{arr[i]!r} is {reason}"
        )
    return arr.astype(np.int64)


def real(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number within optional bounds (``low_open``/``high_open``: the bound itself is excluded)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_kind(value)}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    below = low is not None and (v <= low if low_open else v < low)
    above = high is not None and (v >= high if high_open else v > high)
    if below or above:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {v:g}")
    return v


def fraction(value, name: str, *, zero: bool = True, one: bool = True) -> float:
    """A share or probability in [0, 1] (``zero``/``one``: whether the end points are allowed)."""
    return real(value, name, low=0.0, high=1.0, low_open=not zero, high_open=not one)


def count(value, name: str, *, minimum: int = 1, maximum: int | None = None, why: str = "") -> int:
    """A whole number ≥ ``minimum`` (an integral float such as ``5.0`` is accepted; ``True`` and ``12.5`` are not),
    and at most ``maximum`` when given (``why`` says what the bound protects, e.g. the memory it would take)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be an integer, got {_kind(value)}")
    if isinstance(value, numbers.Integral):
        v = int(value)
    elif math.isfinite(float(value)) and float(value).is_integer():
        v = int(value)
    else:
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if v < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be at most {maximum:,}, got {v:,}{f' ({why})' if why else ''}")
    return v


#: The most lumisections one call simulates or holds (about 130 GB of float32 maps; the paper uses 20,000).
MAX_LS = 1_000_000


def indices(value, name: str, n: int) -> np.ndarray:
    """Positions into ``n`` items: integer indices in [0, n) or a boolean mask of length ``n``; int64, no duplicates."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be integer indices or a boolean mask, got {_kind(value)}")
    arr = np.asarray(value)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(f"{name}: a boolean mask must have shape ({n},), got {arr.shape}")
        return np.flatnonzero(arr).astype(np.int64)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"{name} must be integer indices or a boolean mask, got dtype {arr.dtype} (e.g. {arr.ravel()[0]!r})"
        )
    arr = arr.astype(np.int64).ravel()
    bad = arr[(arr < 0) | (arr >= n)]
    if len(bad):
        raise ValueError(f"{name} must be in [0, {n}), got {bad[:5].tolist()}")
    uniq, counts = np.unique(arr, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"{name} holds duplicated indices {uniq[counts > 1][:5].tolist()}")
    return arr


def choice(value, name: str, options: Iterable[str]) -> str:
    """One of ``options`` (the message lists them)."""
    options = list(options)
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def file(path, name: str = "path", *, suffixes: Iterable[str] = (), what: str = "file") -> Path:
    """An existing, non-empty file; with ``suffixes``, one of those extensions (the message says which reader to use
    for the other formats hcaltl knows)."""
    if path is None or not isinstance(path, (str, Path)):
        raise TypeError(f"{name} must be a path (str or pathlib.Path), got {_kind(path)}")
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{name}: no {what} at {p}")
    if p.is_dir():
        raise IsADirectoryError(f"{name}: {p} is a folder, expected a {what}")
    suffixes = [s.lower() for s in suffixes]
    if suffixes and p.suffix.lower() not in suffixes:
        hint = READERS.get(p.suffix.lower())
        raise FileFormatError(
            f"{name}: {p} is not a {what} ({' or '.join(suffixes)})"
            + (f"; a {p.suffix} file is read with {hint}" if hint else "")
        )
    if p.stat().st_size == 0:
        raise FileFormatError(f"{name}: {p} is empty (0 bytes)")
    return p


#: Which hcaltl function reads each kind of file (for errors that meet the wrong one).
READERS = {
    ".npz": "hcaltl.data.OccupancyData.load (hcaltl's container)",
    ".hdf5": "hcaltl.loaders.load_dqm_hdf5 (DQM maps)",
    ".h5": "hcaltl.loaders.load_dqm_hdf5 (DQM maps)",
    ".root": "hcaltl.loaders.load_hcalanalyzer_root",
    ".npy": "hcaltl.loaders.load_hcalanalyzer_npy",
    ".pt": "hcaltl.checkpoints.load_checkpoint",
    ".csv": "hcaltl.cms2010.load_feature_table",
    ".json": "hcaltl.certification.load_golden_json",
}
