"""Loaders for the real HCAL occupancy formats, into :class:`~hcaltl.data.OccupancyData`.

Users with CMS data can run every chapter on it through these:

* :func:`load_dqm_hdf5` — the HCAL DQM HDF5 layout (:mod:`hcaltl.dqm`): Digi or RecHit maps per depth,
  ``(LS, 72 iphi, 84 ieta)``.  These files carry no event counts, run or LS numbers: the event count of each
  LS is estimated from HF (``n_events="hf"``) or given; run and LS numbers are given or defaulted, and the
  default is written into the container's provenance.
* :func:`load_hcalanalyzer_root` — ROOT files of the ``Hcal4DQMAnalyzer``
  (TH3 ``hist3D_depth1..7`` with axes LS [0, 2000) × ieta [−32, 32) × iphi
  [0, 72), one bin per unit, plus the ``evttree`` TTree with one entry per
  event and branches ``RunNum`` and ``LumiSec``), read with uproot.  The
  analyzer fills iphi 72 into the z overflow bin; we read it back from there
  (the authors' converter drops it).
* :func:`load_hcalanalyzer_npy` — that converter's numpy export
  ``[LS, 64, 72, D, 1]`` with event counts given separately.

Cells outside the chosen detector (the maps hold several) are left out of the container and counted per
region in ``meta["hits_by_region"]`` (HB, HE, HO, HF, unassigned); ``meta["hits_outside_geometry"]`` is their sum.

Explained in chapter 1 (``notebooks/01_detector_and_data.ipynb``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from . import validate
from .data import OccupancyData
from .dqm import check_fit, dqm_ieta_bin, era_fit, estimate_events_hf, read_dqm_hdf5, region_hits
from .geometry import MAP_SHAPE, N_DEPTH, Geometry
from .validate import FileFormatError

__all__ = ["dqm_ieta_bin", "load", "load_dqm_hdf5", "load_hcalanalyzer_npy", "load_hcalanalyzer_root"]

ROOT_DIRECTORY = "Hcal4DQMAnalyzer"


def _existing(path: str | Path, suffixes: tuple[str, ...] = (), what: str = "file") -> Path:
    return validate.file(path, "path", suffixes=suffixes, what=what)


def _numbers(run, ls, n_ls: int) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """Run and LS numbers from the arguments, with a provenance note for each default used."""
    notes = {}
    if run is None:
        run, notes["run"] = 0, "not stored in the file and not given: set to 0 (pass run=)"
    if ls is None:
        ls, notes["ls"] = np.arange(1, n_ls + 1), f"not stored in the file and not given: numbered 1…{n_ls} (pass ls=)"
    run_arr = np.full(n_ls, run) if np.ndim(run) == 0 else np.asarray(run)
    return run_arr, np.asarray(ls), notes


def _container(
    geometry: Geometry,
    maps: np.ndarray,
    n_events: Sequence[int] | np.ndarray | None,
    run: int | Sequence[int] | np.ndarray | None,
    ls: Sequence[int] | np.ndarray | None,
    luminosity: Sequence[float] | np.ndarray | None,
    meta: dict,
    extra_regions: dict[str, float] | None = None,
    era: str | None = None,
) -> OccupancyData:
    n_ls = maps.shape[0]
    if n_events is None:
        raise ValueError(
            f"{meta.get('source_file', 'this file')} carries no per-LS event counts; pass n_events= "
            "(one count per LS) so the maps can be renormalised"
        )
    n_events = validate.events(n_events, "n_events", n_ls)
    if np.any(~np.isfinite(maps)):
        raise ValueError(f"{meta.get('source_file')}: occupancy contains NaN or inf")
    inside = np.where(geometry.mask, maps, 0).astype(np.float32)
    regions = {**region_hits(maps, geometry, era), **(extra_regions or {})}
    kept = regions.pop("kept")
    run_arr, ls_arr, notes = _numbers(run, ls, n_ls)
    meta = {
        **meta,
        "hits_kept": kept,
        "hits_by_region": regions,
        "hits_outside_geometry": float(sum(regions.values())),
        "geometry": geometry.depth_table_name,
        "regions_named_by_era": era or "geometry's first era",
        "defaults": notes,
    }
    return OccupancyData(
        geometry=geometry,
        occupancy=inside,
        n_events=n_events,
        luminosity=np.zeros(n_ls) if luminosity is None else np.asarray(luminosity, dtype=np.float64),
        run=run_arr,
        ls=ls_arr,
        meta=meta,
    )


def load_dqm_hdf5(
    path: str | Path,
    geometry: Geometry,
    n_events: Literal["hf"] | Sequence[int] | np.ndarray | None = None,
    *,
    maps: Literal["digi", "rechit"] = "digi",
    run: int | Sequence[int] | None = None,
    ls: Sequence[int] | None = None,
    luminosity: Sequence[float] | None = None,
    check_era: bool = True,
) -> OccupancyData:
    """Load an HCAL DQM HDF5 file for one detector.

    Args:
        path: the ``.hdf5`` file.
        geometry: the detector to keep, of the file's era (``get_geometry("HB", era="2017")``); the hits of every
            other region are counted in ``meta["hits_by_region"]``.
        n_events: ``"hf"`` to estimate each LS's events from HF (:func:`hcaltl.dqm.estimate_events_hf`), or one
            count per LS.  Required: the file stores none.
        maps: ``"digi"`` (default) or ``"rechit"``.
        run, ls: run number(s) and LS numbers; the file stores none, so defaults (run 0, LS 1…n) are noted in
            ``meta["defaults"]``.
        luminosity: per-LS luminosity in 10^34 cm^-2 s^-1, if known (else 0).
        check_era: raise when the file's live cells do not fit ``geometry`` (:func:`hcaltl.dqm.check_fit`).

    Shapes:
        each dataset: (LS, 72, 84) → occupancy [LS, 64, 72, 7].
    """
    if n_events is None:
        raise ValueError(
            f"{path}: DQM files store no per-LS event count; pass n_events='hf' to estimate it from HF "
            "(read out without zero suppression) or n_events=[...] with one count per LS"
        )
    content = read_dqm_hdf5(path, maps)
    missing = [d for d in geometry.depths if d not in content.depths]
    if missing:
        raise ValueError(
            f"{path} lacks the {maps} datasets of depths {missing}, needed for {geometry.name} "
            f"({geometry.depth_table_name})"
        )
    if check_era:
        check_fit(content, geometry)
    source = "given"
    if isinstance(n_events, str):
        if n_events != "hf":
            raise ValueError(f"n_events must be 'hf' or one count per LS, got {n_events!r}")
        n_events, source = estimate_events_hf(content), "estimated from HF (largest HF count of each LS)"
    else:
        n_events = np.asarray(n_events)
        if n_events.shape != (content.n_ls,):
            raise ValueError(f"n_events must have one entry per LS ({content.n_ls}), got shape {n_events.shape}")
        peak = np.where(geometry.mask, content.maps, 0).reshape(content.n_ls, -1).max(axis=1)
        if np.any(peak > n_events):
            bad = np.flatnonzero(peak > n_events)
            raise ValueError(
                f"{path}: counts exceed the given n_events at LS index {bad[:5].tolist()} "
                f"(largest count {int(peak[bad[0]])} > {int(n_events[bad[0]])} events)"
            )
    ranked = list(era_fit(content).index)
    era = next((e for e in ranked if e in geometry.eras), ranked[0])
    return _container(
        geometry,
        content.maps,
        n_events,
        run,
        ls,
        luminosity,
        {"source": "dqm_hdf5", "source_file": str(path), "maps": maps, "n_events_source": source},
        extra_regions={"HF": float(content.hf.sum(dtype=np.float64))},
        era=era,
    )


def load_hcalanalyzer_root(path: str | Path, geometry: Geometry, *, directory: str = ROOT_DIRECTORY) -> OccupancyData:
    """Load a ``Hcal4DQMAnalyzer`` ROOT file: TH3 ``hist3D_depthN`` plus ``evttree``.

    The event count of each LS is the number of ``evttree`` entries with that
    ``LumiSec``; the run number comes from ``RunNum``.  Only LS with events are kept.
    """
    import uproot

    path = _existing(path, (".root",), "ROOT file")
    geometry = validate.geometry(geometry)
    try:
        f = uproot.open(path)
    except Exception as exc:  # uproot raises several types for damaged files
        raise FileFormatError(f"{path} is not a readable ROOT file (truncated or damaged?): {exc}") from exc
    try:
        maps, n_events, run, ls_numbers = _read_analyzer(f, path, geometry, directory)
    except FileFormatError:
        raise
    except Exception as exc:  # a file that opens but breaks while its objects are read (truncated baskets, ...)
        raise FileFormatError(
            f"{path}: the ROOT file opened but its contents cannot be read (truncated or damaged?): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    finally:
        f.close()
    return _container(
        geometry,
        maps,
        n_events,
        run,
        ls_numbers,
        None,
        {"source": "hcalanalyzer_root", "source_file": str(path)},
    )


def _read_analyzer(f, path: Path, geometry: Geometry, directory: str):
    """(maps, events per LS, run, LS numbers) of an open analyzer file; FileFormatError for a wrong layout."""
    prefix = f"{directory}/" if directory else ""
    tree_key = f"{prefix}evttree"
    if tree_key not in f:
        raise FileFormatError(f"{path} has no TTree '{tree_key}' (needed for event counts per LS)")
    tree = f[tree_key]
    for branch in ("RunNum", "LumiSec"):
        if branch not in tree.keys():
            raise FileFormatError(f"{path}:{tree_key} has no branch {branch!r}")
    lumisec = np.asarray(tree["LumiSec"].array(library="np"))
    runs = np.unique(np.asarray(tree["RunNum"].array(library="np")))
    if len(lumisec) == 0:
        raise FileFormatError(f"{path}:{tree_key} holds no events")
    if len(runs) != 1:
        raise FileFormatError(f"{path} mixes runs {runs.tolist()}; the analyzer writes one run per file")
    ls_numbers, n_events = np.unique(lumisec, return_counts=True)
    maps = np.zeros((len(ls_numbers), *MAP_SHAPE), dtype=np.float32)
    depths_present = [d for d in range(1, N_DEPTH + 1) if f"{prefix}hist3D_depth{d}" in f]
    needed = list(geometry.depths)
    missing = [d for d in needed if d not in depths_present]
    if missing:
        raise FileFormatError(f"{path} lacks hist3D_depth{missing} needed for {geometry.name}")
    for d in depths_present:
        hist = f[f"{prefix}hist3D_depth{d}"]
        values = np.asarray(hist.values(flow=True))  # (LS+2, ieta+2, iphi+2) with flow bins
        x_edges = hist.axis("x").edges()
        y_edges = hist.axis("y").edges()
        z_edges = hist.axis("z").edges()
        if not (
            np.allclose(np.diff(x_edges), 1)
            and np.allclose(y_edges[[0, -1]], [-32, 32])
            and len(y_edges) == 65
            and np.allclose(z_edges[[0, -1]], [0, 72])
            and len(z_edges) == 73
        ):
            raise FileFormatError(
                f"{path}:hist3D_depth{d} does not have the analyzer's binning (LS×[-32,32)×[0,72), unit bins)"
            )
        x_bin = (ls_numbers - x_edges[0]).astype(int) + 1  # +1: underflow bin first
        if np.any((x_bin < 1) | (x_bin > len(x_edges) - 1)):
            raise FileFormatError(f"{path}: LS numbers outside the histogram's LS axis [{x_edges[0]}, {x_edges[-1]})")
        sel = values[x_bin]  # (n_ls, 66, 74)
        ieta_vals = np.arange(-32, 32)
        keep = ieta_vals != 0
        rows = np.where(ieta_vals[keep] < 0, ieta_vals[keep] + 32, ieta_vals[keep] + 31)
        # y: flow index 1 + (ieta + 32); z: iphi 1…71 at flow index 1 + iphi, iphi 72 in the overflow (73)
        y_index = 1 + (ieta_vals[keep] + 32)
        z_index = np.concatenate([1 + np.arange(1, 72), [73]])
        block = sel[:, y_index][:, :, z_index]  # (n_ls, 63, 72)
        maps[..., d - 1][:, rows, :] = block
    return maps, n_events, int(runs[0]), ls_numbers


def load_hcalanalyzer_npy(
    path: str | Path,
    geometry: Geometry,
    n_events: Sequence[int] | np.ndarray,
    *,
    run: int | Sequence[int] | None = None,
    ls: Sequence[int] | None = None,
    luminosity: Sequence[float] | None = None,
) -> OccupancyData:
    """Load the authors' numpy export ``[LS, 64, 72, D, 1]`` (D ≤ 7, at least the geometry's deepest depth) with
    its event counts."""
    path = _existing(path, (".npy",), "numpy export (.npy)")
    geometry = validate.geometry(geometry)
    with open(path, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            raise FileFormatError(f"{path} is not a numpy .npy file (no .npy header; another format renamed?)")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FileFormatError(f"{path} is not a readable .npy file (truncated or damaged?): {exc}") from exc
    if arr.ndim == 5 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 4 or arr.shape[1:3] != (64, 72) or not 1 <= arr.shape[3] <= N_DEPTH:
        raise FileFormatError(f"{path} has shape {arr.shape}; expected [LS, 64, 72, D, 1] with D <= 7")
    if arr.shape[3] < geometry.max_depth:
        raise FileFormatError(
            f"{path} holds depths 1-{arr.shape[3]}, but {geometry.name} ({geometry.depth_table_name!r}) "
            f"needs depths up to {geometry.max_depth}: missing depths are not filled with zeros"
        )
    maps = np.zeros((arr.shape[0], *MAP_SHAPE), dtype=np.float32)
    maps[..., : arr.shape[3]] = arr
    return _container(
        geometry, maps, n_events, run, ls, luminosity, {"source": "hcalanalyzer_npy", "source_file": str(path)}
    )


def load(path: str | Path, geometry: Geometry | None = None, **kwargs) -> OccupancyData:
    """Load any supported file by its suffix: ``.npz`` (hcaltl), ``.hdf5``/``.h5`` (DQM), ``.root``, ``.npy``.

    Args:
        path: the file.
        geometry: the subdetector to read; required for the real formats, which hold several subdetectors
            (:func:`~hcaltl.geometry.get_geometry`; ``hcaltl inspect`` says which era fits a file).
        **kwargs: passed to the format's loader (e.g. ``n_events=``).

    Returns:
        The file's :class:`~hcaltl.data.OccupancyData`.
    """
    path = _existing(path)
    if geometry is not None:
        geometry = validate.geometry(geometry)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        data = OccupancyData.load(path)
        if geometry is not None and geometry.name != data.subdetector:
            raise ValueError(f"{path} holds {data.subdetector}, but {geometry.name} was asked for")
        return data
    loaders = {
        ".hdf5": load_dqm_hdf5,
        ".h5": load_dqm_hdf5,
        ".root": load_hcalanalyzer_root,
        ".npy": load_hcalanalyzer_npy,
    }
    if suffix not in loaders:
        raise ValueError(f"unsupported file type {suffix!r} for {path}; supported: .npz, {', '.join(loaders)}")
    if geometry is None:
        raise ValueError(f"loading {path} needs geometry= (HB or HE): the file holds several subdetectors")
    if suffix == ".npy" and "n_events" not in kwargs:
        raise ValueError(f"loading {path} (a numpy export without event counts) needs n_events= (one count per LS)")
    return loaders[suffix](path, geometry, **kwargs)
