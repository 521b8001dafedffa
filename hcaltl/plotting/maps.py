"""Pictures of the detector: one depth of a channel map on the ieta–iphi plane, its RBX wedges, the depth
segmentation, and maps side by side (chapters 1, 3 and 5).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ..geometry import N_IPHI, WIDE_TOWER_IETA, Geometry, row_to_ieta
from .style import SUBDETECTOR_COLORS, _ax, _per_panel, geometry_label, panels


def _rows_of(geometry: Geometry) -> np.ndarray:
    return np.flatnonzero(geometry.mask.any(axis=(1, 2)))


def _ieta_ticks(ax: Axes, rows: np.ndarray, axis: str = "x") -> None:
    """Label a few ieta values on the row axis, never two neighbours (no overlapping labels)."""
    ieta = row_to_ieta(rows)
    wanted = {1, 4, 8, 12, 16, 20, 24, 29}
    pos, lab, last = [], [], -10
    for i, e in enumerate(ieta):
        if abs(int(e)) in wanted and i - last >= 3:
            pos.append(i)
            lab.append(str(int(e)))
            last = i
    if axis == "x":
        ax.set_xticks(pos, lab)
        ax.set_xlabel("ieta")
    else:
        ax.set_yticks(pos, lab)
        ax.set_ylabel("ieta")


def _spread_wide_towers(img: np.ndarray, mask: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For display, let a 10° tower (odd iphi only, |ieta| >= 21) also cover the even iphi after it.

    Shapes:
        img, mask: [len(rows), 72] → same shapes.
    """
    img, mask = img.copy(), mask.copy()
    wide = np.abs(row_to_ieta(rows)) >= WIDE_TOWER_IETA
    img[wide, 1::2] = img[wide, 0::2]
    mask[wide, 1::2] = mask[wide, 0::2]
    return img, mask


def plot_map(
    values: np.ndarray,
    geometry: Geometry,
    depth: int,
    *,
    ax: Axes | None = None,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar: bool = True,
    label: str = "",
) -> Axes:
    """ieta–iphi picture of one depth of a map ``[64, 72, 7]``; inactive cells blank.

    Only the ieta rows of the subdetector are shown (no gap at ieta 0).
    """
    values = np.asarray(values)
    if values.shape != geometry.mask.shape:
        raise ValueError(f"values must have shape {geometry.mask.shape}, got {values.shape}")
    if not 1 <= depth <= 7:
        raise ValueError(f"depth must be in 1…7, got {depth}")
    ax = _ax(ax)
    rows = _rows_of(geometry)
    img, active = _spread_wide_towers(values[rows, :, depth - 1], geometry.mask[rows, :, depth - 1], rows)
    img = np.ma.masked_where(~active, img)
    mesh = ax.pcolormesh(
        np.arange(len(rows) + 1) - 0.5,
        np.arange(N_IPHI + 1) + 0.5,
        img.T,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        shading="flat",
    )
    _ieta_ticks(ax, rows)
    ax.set_ylabel("iphi")
    ax.set_title(f"{geometry.name} depth {depth}")
    if colorbar:
        plt.colorbar(mesh, ax=ax, label=label, fraction=0.046, pad=0.02)
    return ax


def plot_rbx_wedges(geometry: Geometry, depth: int | None = None, *, ax: Axes | None = None) -> Axes:
    """Channels coloured by their RBX (readout box) on the ieta–iphi plane.

    With ``depth=None`` every (ieta, iphi) tower with at least one active depth is shown.
    """
    ax = _ax(ax)
    rbx_map = np.full(geometry.mask.shape, np.nan)
    ch = geometry.channels
    rbx_map[ch["row"], ch["col"], ch["dep"]] = (ch["rbx"] - 1) % 6 + 6 * (ch["side"] > 0)  # alternate shades per side
    rows = _rows_of(geometry)
    if depth is None:
        img = np.nanmax(np.where(geometry.mask, rbx_map, -np.inf)[rows], axis=2)
        active = geometry.mask[rows].any(axis=2)
    else:
        img, active = rbx_map[rows, :, depth - 1], geometry.mask[rows, :, depth - 1]
    img, active = _spread_wide_towers(img, active, rows)
    img = np.ma.masked_where(~active, img)
    cmap = ListedColormap(
        plt.get_cmap("Blues")(np.linspace(0.35, 0.9, 6)).tolist()
        + plt.get_cmap("Oranges")(np.linspace(0.35, 0.9, 6)).tolist()
    )
    ax.pcolormesh(
        np.arange(len(rows) + 1) - 0.5,
        np.arange(N_IPHI + 1) + 0.5,
        img.T,
        cmap=cmap,
        vmin=-0.5,
        vmax=11.5,
        shading="flat",
    )
    for k in range(1, 19):  # RBX boundaries: RBX k starts at iphi 4k-5
        ax.axhline((4 * k - 5 - 1) % N_IPHI + 0.5, color="k", lw=0.4)
    _ieta_ticks(ax, rows)
    ax.set_ylabel("iphi")
    ax.set_title(f"{geometry.name}: 36 RBX wedges" + ("" if depth is None else f" (depth {depth})"))
    return ax


def plot_depth_profile(geometry: Geometry, *, ax: Axes | None = None) -> Axes:
    """Side view of the segmentation: active depths per ieta (plus side), marker size ∝ iphi count."""
    ax = _ax(ax)
    color = SUBDETECTOR_COLORS[geometry.name]
    cells = geometry.channels.assign(aeta=geometry.channels["ieta"].abs()).groupby(["aeta", "depth"]).size() / 2
    ax.scatter(
        cells.index.get_level_values(0),
        cells.index.get_level_values(1),
        s=cells.to_numpy() * 1.5,
        marker="s",
        color=color,
        label=None,
    )
    ax.scatter([], [], marker="s", color=color, label=geometry_label(geometry))
    ax.set_xlabel("|ieta|")
    ax.set_ylabel("depth")
    ax.set_yticks(range(1, 8))
    ax.set_xlim(0, 30)
    ax.set_ylim(0.3, 7.7)
    ax.invert_yaxis()
    return ax


def plot_region_map(
    values: np.ndarray,
    labels: np.ndarray,
    geometry: Geometry,
    depth: int,
    *,
    ax: Axes | None = None,
    vmin: float | None = 0.0,
    vmax: float | None = None,
    title: str = "",
) -> Axes:
    """One depth of a map with the labelled channels (``labels``: bool per channel) outlined in red.

    The colour scale starts at ``vmin`` (0), so maps with and without a dead region share their colours."""
    ax = plot_map(values, geometry, depth, ax=ax, vmin=vmin, vmax=vmax, colorbar=False)
    ch = geometry.channels
    pick = labels & (ch["depth"].to_numpy() == depth)
    x = np.searchsorted(
        _rows_of(geometry), ch["row"].to_numpy()[pick]
    )  # plot_map's x is the position among active rows
    ax.scatter(x, ch["iphi"].to_numpy()[pick], s=18, facecolors="none", edgecolors="red", linewidths=0.8)
    if title:
        ax.set_title(title)
    return ax


def maps_figure(
    maps: list[np.ndarray],
    geometries: Geometry | list[Geometry],
    depths: int | list[int],
    *,
    titles: list[str] | None = None,
    size: tuple[float, float] = (4.7, 3.8),
    **map_kwargs,
) -> Figure:
    """Detector maps side by side (:func:`plot_map` per panel); a single geometry or depth applies to all.

    Args:
        maps: ``[64, 72, 7]`` arrays, one per panel.
        geometries, depths: per panel, or one for every panel.
        titles: one per panel (default: plot_map's "<subdetector> depth <d>").
        map_kwargs: passed to :func:`plot_map` (``vmin``, ``vmax``, ``cmap``, ``label``): one value for every
            panel, or a list with one value per panel.
    """
    n = len(maps)
    geometries = geometries if isinstance(geometries, list) else [geometries] * n
    depths = depths if isinstance(depths, list) else [depths] * n
    if not len(geometries) == len(depths) == n or (titles is not None and len(titles) != n):
        raise ValueError(f"maps, geometries, depths and titles must have one entry per panel ({n})")
    fig, axes = panels(n, size=size)
    for i, ax in enumerate(axes):
        plot_map(maps[i], geometries[i], depths[i], ax=ax, **{k: _per_panel(v, i, n, k) for k, v in map_kwargs.items()})
        if titles is not None:
            ax.set_title(titles[i])
    fig.tight_layout()
    return fig


def region_maps_figure(
    maps: list[np.ndarray],
    labels: list[np.ndarray],
    geometry: Geometry,
    depth: int,
    *,
    titles: list[str],
    vmax: float | list[float] | None = None,
    size: tuple[float, float] = (3.4, 3.6),
) -> Figure:
    """Maps side by side with labelled channels outlined (:func:`plot_region_map` per panel), sharing the iphi axis."""
    n = len(maps)
    if not len(labels) == len(titles) == n:
        raise ValueError(f"maps, labels and titles must have one entry per panel ({n})")
    fig, axes = panels(n, size=size, sharey=True)
    for i, ax in enumerate(axes):
        plot_region_map(
            maps[i], labels[i], geometry, depth, ax=ax, vmax=_per_panel(vmax, i, n, "vmax"), title=titles[i]
        )
    fig.tight_layout()
    return fig


def reconstruction_figure(
    measured: np.ndarray, reconstructed: np.ndarray, geometry: Geometry, depth: int = 1
) -> Figure:
    """One LS as measured, as reconstructed, and their absolute difference (maps ``[64, 72, 7]``)."""
    fig, axes = panels(3, size=(5, 3.8))
    plot_map(measured, geometry, depth, ax=axes[0], vmin=0, vmax=1, label="scaled occupancy")
    plot_map(reconstructed, geometry, depth, ax=axes[1], vmin=0, vmax=1, label="reconstruction")
    plot_map(np.abs(reconstructed - measured), geometry, depth, ax=axes[2], cmap="magma", label="|error|")
    for ax, title in zip(axes, ("measured", "reconstructed", "absolute error")):
        ax.set_title(f"{title}, depth {depth}")
    fig.tight_layout()
    return fig


def channel_error_figure(errors: np.ndarray, geometry: Geometry, depths: tuple[int, ...] = (1, 5)) -> Figure:
    """Mean per-channel error ``errors`` ``[windows, channels]`` on the detector at ``depths``, and by |ieta|."""
    mean = np.asarray(errors).mean(axis=0)
    fig, axes = panels(len(depths) + 1, size=(5, 3.8))
    for ax, depth in zip(axes, depths):
        plot_map(geometry.nodes_to_map(mean), geometry, depth, ax=ax, cmap="magma", label="mean |error|")
    by_eta = pd.Series(mean).groupby(geometry.channels["ieta"].abs().to_numpy()).mean()
    axes[-1].plot(by_eta.index, by_eta.values, marker="o", color=SUBDETECTOR_COLORS.get(geometry.name))
    axes[-1].set(xlabel="|ieta|", ylabel="mean |error|", title="error by |ieta|")
    fig.tight_layout()
    return fig
