"""HCAL DQM occupancy files as they really are: what they hold, events per LS from HF, and which era fits.

A DQM HDF5 file holds, per depth N = 1…7, the datasets ``DigiTask_Occupancy_depth_depthN`` and
``RecHitTask_Occupancy_depth_depthN``, each ``(LS, 72 iphi, 84 ieta)`` raw counts.  The 84 ieta bins are
0–12 → −41…−29 (HF), 13–41 → −29…−1, 42–70 → +1…+29, 71–83 → +29…+41 (HF).  The file carries **no** event
count, run number or LS number.  Every HF channel is read out without zero suppression, so it fires in every
event: the largest count of an LS, reached in the HF bins and equal in every depth, *is* the number of events
(:func:`estimate_events_hf`).

The HB/HE bins also hold other detectors: HO at depth 4 for |ieta| ≤ 15 (before Run 3), and the other one of
HB/HE.  :func:`region_hits` counts the hits of every region, so a loader can say exactly what it left out.

Explained in chapter 1 (``notebooks/01_detector_and_data.ipynb``, "Your own data").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .geometry import ERAS, IETA_LIMITS, MAP_SHAPE, N_DEPTH, N_IPHI, SUBDETECTORS, Geometry, era_masks, ieta_to_row

DATASETS = {"digi": "DigiTask_Occupancy_depth_depth{depth}", "rechit": "RecHitTask_Occupancy_depth_depth{depth}"}
N_IETA_BINS = 84
#: The 26 HF ieta bins of the DQM maps (ieta −41…−29 and +29…+41).
HF_BINS = np.r_[0:13, 71:84]
#: HB/HE ieta −29…−1, +1…+29, their DQM bins and their rows of the 64-row map.
_IETA = np.concatenate([np.arange(-29, 0), np.arange(1, 30)])
_BINS = np.where(_IETA < 0, _IETA + 42, _IETA + 41)
_ROWS = ieta_to_row(_IETA)


def dqm_ieta_bin(ieta: np.ndarray | int) -> np.ndarray:
    """DQM ieta bin (0…83) of an HB/HE ieta in ±1…29 (the HB/HE bins, not HF's)."""
    ieta = np.asarray(ieta)
    if np.any((ieta == 0) | (np.abs(ieta) > 29)):
        raise ValueError("ieta must be in ±1…29 for HB/HE")
    return np.where(ieta < 0, ieta + 42, ieta + 41)


@dataclass(frozen=True)
class DQMFile:
    """The content of one DQM occupancy file, in hcaltl's map layout.

    Attributes:
        path: the file.
        kind: ``"digi"`` or ``"rechit"``: which maps were read.
        datasets: every dataset name in the file.
        maps: float32 ``[n_ls, 64, 72, 7]``, the HB/HE ieta bins of every depth (all detectors in them).
        hf: float32 ``[n_ls, 7, 72, 26]``, the HF bins of every depth.
        depths: the depths present in the file (1…7).

    Shapes:
        see the attributes.
    """

    path: Path
    kind: str
    datasets: tuple[str, ...]
    maps: np.ndarray
    hf: np.ndarray
    depths: tuple[int, ...]

    @property
    def n_ls(self) -> int:
        return int(self.maps.shape[0])

    def live(self) -> np.ndarray:
        """bool ``[64, 72, 7]``: cells with at least one hit in any LS."""
        return self.maps.sum(axis=0) > 0


def read_dqm_hdf5(path: str | Path, maps: str = "digi") -> DQMFile:
    """Read every depth of a DQM HDF5 file (Digi or RecHit maps) without choosing a detector.

    Args:
        path: the ``.hdf5`` file.
        maps: ``"digi"`` (default, the maps the papers use) or ``"rechit"``.

    Shapes:
        each dataset ``(LS, 72, 84)`` → ``maps [LS, 64, 72, 7]`` and ``hf [LS, 7, 72, 26]``.
    """
    import h5py

    if maps not in DATASETS:
        raise ValueError(f"maps must be one of {', '.join(DATASETS)}, got {maps!r}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path} is not a readable HDF5 file (truncated or damaged?): {exc}") from exc
    with f:
        names = tuple(sorted(f.keys()))
        present = [d for d in range(1, N_DEPTH + 1) if DATASETS[maps].format(depth=d) in f]
        if not present:
            other = [k for k, v in DATASETS.items() if k != maps and any(v.format(depth=d) in f for d in range(1, 8))]
            hint = f"; it has {other[0]} maps (maps={other[0]!r})" if other else ""
            raise ValueError(
                f"{path} holds no {DATASETS[maps].format(depth='N')} dataset{hint}; datasets: {list(names)}"
            )
        n_ls = f[DATASETS[maps].format(depth=present[0])].shape[0]
        out = np.zeros((n_ls, *MAP_SHAPE), dtype=np.float32)
        hf = np.zeros((n_ls, N_DEPTH, N_IPHI, len(HF_BINS)), dtype=np.float32)
        for d in present:
            name = DATASETS[maps].format(depth=d)
            ds = f[name]
            if ds.shape != (n_ls, N_IPHI, N_IETA_BINS):
                raise ValueError(f"{path}:{name} has shape {ds.shape}, expected ({n_ls}, 72, 84)")
            try:
                block = np.asarray(ds[()], dtype=np.float32)  # (LS, iphi, ieta bin)
            except OSError as exc:
                raise ValueError(f"{path}:{name} cannot be read (truncated file?): {exc}") from exc
            if not np.all(np.isfinite(block)):
                raise ValueError(f"{path}:{name} contains NaN or inf")
            if np.any(block < 0):
                raise ValueError(f"{path}:{name} contains negative counts")
            out[..., d - 1][:, _ROWS, :] = np.transpose(block[:, :, _BINS], (0, 2, 1))
            hf[:, d - 1] = block[:, :, HF_BINS]
    if n_ls == 0:
        raise ValueError(f"{path} holds no lumisection")
    return DQMFile(path=path, kind=maps, datasets=names, maps=out, hf=hf, depths=tuple(present))


def estimate_events_hf(content: DQMFile, rtol: float = 0.01) -> np.ndarray:
    """Events per LS from HF: the largest HF count of the LS, checked to agree across depths.

    HF is read out without zero suppression, so its busiest channel fires in every event.

    Args:
        content: from :func:`read_dqm_hdf5`.
        rtol: largest relative difference allowed between the depths' HF maxima.

    Returns:
        int64 ``[n_ls]``.

    Raises:
        ValueError: an LS without HF hits, depths that disagree, or HB/HE counts above the estimate.
    """
    peak = content.hf.max(axis=(2, 3))  # [n_ls, 7]
    estimate = peak.max(axis=1)
    empty = np.flatnonzero(estimate <= 0)
    if len(empty):
        raise ValueError(
            f"{content.path}: no HF hits in LS index {empty[:5].tolist()}, so the event count cannot be "
            "estimated from HF; pass n_events= with one count per LS"
        )
    with_hf = peak > 0
    lowest = np.where(with_hf, peak, np.inf).min(axis=1)
    spread = (estimate - lowest) / estimate
    bad = np.flatnonzero(spread > rtol)
    if len(bad):
        i = bad[0]
        per_depth = {d + 1: int(peak[i, d]) for d in np.flatnonzero(with_hf[i])}
        raise ValueError(
            f"{content.path}: the HF estimate of the events is not consistent across depths at LS index "
            f"{bad[:5].tolist()} (LS index {i}: largest HF count per depth {per_depth}, differing by "
            f"{spread[i]:.1%} > rtol={rtol}); is HF zero-suppressed in this file? pass n_events= instead"
        )
    over = content.maps.reshape(content.n_ls, -1).max(axis=1) > estimate
    if np.any(over):
        raise ValueError(
            f"{content.path}: HB/HE counts exceed the HF event estimate at LS index "
            f"{np.flatnonzero(over)[:5].tolist()}; the estimate cannot be right, pass n_events="
        )
    return np.rint(estimate).astype(np.int64)


def _regions(era: str) -> dict[str, np.ndarray]:
    masks = era_masks(era)
    return {name: masks[name] for name in (*SUBDETECTORS, "HO") if name in masks}


def _union(era: str) -> np.ndarray:
    """Every cell that some detector of ``era`` occupies in the HB/HE bins: bool [64, 72, 7]."""
    return np.logical_or.reduce(list(_regions(era).values()))


def region_hits(maps: np.ndarray, geometry: Geometry, era: str | None = None) -> dict[str, float]:
    """Hits of maps ``[n_ls, 64, 72, 7]`` in ``geometry`` and in every other region of the DQM maps.

    Args:
        maps: raw counts in hcaltl's layout (HB/HE ieta bins only).
        geometry: the detector kept.
        era: the era whose other detectors name the rest (default: the geometry's first era, else 2018).

    Returns:
        ``{"kept": …, "HB"/"HE": …, "HO": …, "unassigned": …}`` (the regions of that era, without HF).
    """
    era = era or (geometry.eras[0] if geometry.eras else "2018")
    per_cell = np.asarray(maps, dtype=np.float64).sum(axis=0)
    out = {"kept": float(per_cell[geometry.mask].sum())}
    claimed = geometry.mask.copy()
    for name, mask in _regions(era).items():
        if name == geometry.name:
            continue
        cells = mask & ~claimed
        out[name] = float(per_cell[cells].sum())
        claimed |= cells
    out["unassigned"] = float(per_cell[~claimed].sum())
    return out


def era_fit(content: DQMFile) -> pd.DataFrame:
    """How well each era's detectors explain the live cells of a file (HB/HE ieta bins).

    Columns: ``live`` (live cells), ``explained`` (live cells inside the era's HB, HE or HO masks),
    ``unexplained`` (live cells outside them), ``silent`` (mask cells without a hit), ``jaccard``
    (explained / (live + silent)).  Rows sorted best first.
    """
    live = content.live()
    rows = []
    for era in ERAS:
        union = _union(era)
        explained = int((live & union).sum())
        rows.append(
            {
                "era": era,
                "live": int(live.sum()),
                "explained": explained,
                "unexplained": int((live & ~union).sum()),
                "silent": int((union & ~live).sum()),
                "jaccard": explained / max(int((live | union).sum()), 1),
            }
        )
    return pd.DataFrame(rows).set_index("era").sort_values("jaccard", ascending=False)


def check_fit(content: DQMFile, geometry: Geometry, *, min_live: float = 0.8, max_unexplained: float = 0.005) -> None:
    """Raise a clear error when the file's maps do not fit ``geometry``.

    The geometry fits when at least ``min_live`` of its cells have hits and, for a named era geometry, at most
    ``max_unexplained`` of the live cells in its |ieta| range lie outside every detector of one of its eras.
    """
    live = content.live()
    coverage = float(live[geometry.mask].mean())

    def hint() -> str:  # ranking every era is only needed to explain a refusal
        best = era_fit(content).index[0]
        return (
            f"the era that fits this file best is {best!r} (get_geometry({geometry.name!r}, era={best!r}); "
            "see `hcaltl inspect`)"
        )

    if coverage < min_live:
        raise ValueError(
            f"{content.path} does not fit {geometry.name} geometry {geometry.depth_table_name!r}: only "
            f"{int(live[geometry.mask].sum())} of its {geometry.n_channels} cells have hits "
            f"({coverage:.0%} < {min_live:.0%}); {hint()}"
        )
    if not geometry.eras:
        return
    lo, hi = IETA_LIMITS[geometry.name]
    ieta = np.arange(lo, hi + 1)
    zone = np.zeros(MAP_SHAPE, dtype=bool)
    zone[ieta_to_row(np.concatenate([-ieta, ieta]))] = True
    zone_live = live & zone
    outside = [int((zone_live & ~_union(era)).sum()) for era in geometry.eras]
    if min(outside) > max_unexplained * max(int(zone_live.sum()), 1):
        raise ValueError(
            f"{content.path} does not fit {geometry.name} geometry {geometry.depth_table_name!r} "
            f"(eras {', '.join(geometry.eras)}): {min(outside)} live cells in |ieta| {lo}-{hi} lie outside "
            f"every detector of those eras; {hint()}"
        )


def live_cells_table(content: DQMFile, era: str) -> pd.DataFrame:
    """Live cells per depth: in each detector of ``era`` (HB, HE, HO), outside all of them, and in HF."""
    live = content.live()
    regions = _regions(era)
    claimed = np.zeros(MAP_SHAPE, dtype=bool)
    table = {}
    for name, mask in regions.items():
        cells = mask & ~claimed
        table[f"{name} live / cells"] = [
            f"{int((live & cells)[..., d].sum())} / {int(cells[..., d].sum())}" for d in range(N_DEPTH)
        ]
        claimed |= cells
    table["outside all"] = [int((live & ~claimed)[..., d].sum()) for d in range(N_DEPTH)]
    table["HF live"] = [int((content.hf[:, d].sum(axis=0) > 0).sum()) for d in range(N_DEPTH)]
    return pd.DataFrame(table, index=pd.Index(range(1, N_DEPTH + 1), name="depth"))


def describe_file(content: DQMFile) -> str:
    """A plain-text report of a DQM file: datasets, LS, events per LS, live cells, and the best era."""
    lines = [
        f"{content.path}",
        f"  datasets ({len(content.datasets)}): {', '.join(content.datasets)}",
        f"  maps read: {content.kind}, depths {list(content.depths)}, {content.n_ls} LS (the file stores no run "
        "or LS numbers)",
    ]
    try:
        events = estimate_events_hf(content)
        lines.append(f"  events per LS from HF: {events.tolist()}")
    except ValueError as exc:
        lines.append(f"  events per LS from HF: not available ({exc})")
    total = float(content.maps.sum(dtype=np.float64)) + float(content.hf.sum(dtype=np.float64))
    if total > 0:
        lines.append(f"  HF holds {float(content.hf.sum(dtype=np.float64)) / total:.0%} of all hits")
    fit = era_fit(content)
    best = fit.index[0]
    lines += [
        "",
        "  era fit (live cells of the HB/HE bins against each era's HB, HE and HO cells):",
        _indent(fit.to_string(float_format=lambda v: f"{v:.3f}")),
        "",
        f"  live cells per depth against the best era, {best!r}:",
        _indent(live_cells_table(content, best).to_string()),
        "",
        f"  best-fitting era: {best!r} -> get_geometry('HB', era={best!r}), get_geometry('HE', era={best!r})",
    ]
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


#: HO levels in the depth-4 maps measured on the 2017 file (|ieta| 1–4, 5–10, 11–15), with ~8 % channel spread.
HO_LEVELS = ((4, 0.12), (10, 0.31), (15, 0.50))


def write_dqm_hdf5(path: str | Path, parts, *, seed: int = 0, hf_depths: tuple[int, ...] = (1, 2)) -> Path:
    """Write detectors in the DQM HDF5 layout, as real files hold them (for examples and the online chapter).

    The HB/HE maps of ``parts`` (containers of raw counts over the same LS and events, e.g. HB and HE
    simulated with one seed) are summed; HO fills depth 4 at |ieta| <= 15 when no part uses it (levels of
    :data:`HO_LEVELS`); every HF channel of ``hf_depths`` fires in every event.  Digi and RecHit maps are
    written (equal), lzf-compressed; no event count, run or LS number is stored, as in real files.

    Args:
        path: the ``.hdf5`` file to write.
        parts: :class:`~hcaltl.data.OccupancyData` of raw counts sharing ``n_events``.
        seed: seed of the HO draw.
        hf_depths: depths whose HF bins are filled.
    """
    import h5py

    parts = list(parts)
    if not parts:
        raise ValueError("parts must hold at least one OccupancyData")
    n_events = parts[0].n_events
    for p in parts:
        if p.normalised is not None:
            raise ValueError("write_dqm_hdf5 writes raw counts; a part is normalised")
        if not np.array_equal(p.n_events, n_events):
            raise ValueError(
                "every part must cover the same LS with the same event counts (simulate them with one seed)"
            )
    maps = np.sum([p.occupancy for p in parts], axis=0)
    if not any(4 in p.geometry.depths and p.geometry.name == "HB" for p in parts):
        rng = np.random.default_rng(seed)
        lo = 1
        for hi, level in HO_LEVELS:
            ieta = np.arange(lo, hi + 1)
            rows = ieta_to_row(np.concatenate([-ieta, ieta]))
            p = np.clip(level * (1 + 0.08 * rng.standard_normal((len(rows), N_IPHI))), 0, 1)
            maps[..., 3][:, rows, :] = rng.binomial(n_events[:, None, None], p[None])
            lo = hi + 1
    path = Path(path)
    with h5py.File(path, "w") as f:
        for d in range(1, N_DEPTH + 1):
            block = np.zeros((len(n_events), N_IPHI, N_IETA_BINS), dtype=np.float32)
            block[:, :, _BINS] = np.transpose(maps[..., d - 1][:, _ROWS, :], (0, 2, 1))
            if d in hf_depths:
                block[:, :, HF_BINS] = n_events[:, None, None]
            for kind in DATASETS.values():
                f.create_dataset(kind.format(depth=d), data=block, compression="lzf")
    return path


def example_file(path: str | Path, era: str = "2017", n_ls: int = 10, seed: int = 0) -> Path:
    """A stand-in for a real DQM file: HB and HE of ``era`` simulated with one seed, written by
    :func:`write_dqm_hdf5`.  The book uses it where it cannot ship a real file."""
    from .geometry import get_geometry
    from .simulate import simulate

    parts = [simulate(get_geometry(sub, era=era), n_ls, seed=seed) for sub in SUBDETECTORS]
    return write_dqm_hdf5(path, parts, seed=seed, hf_depths=(1, 2, 3, 4) if era == "run3" else (1, 2))
