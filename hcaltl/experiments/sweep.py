"""Papermill sweeps: execute the transfer chapter once per (pair × fraction × seed × schedule) cell, in parallel
processes, and collect every cell's rows into one tidy CSV with provenance. Resumable: finished cells are skipped.

    hcaltl sweep --notebook notebooks/04_transfer_he_to_hb.ipynb --preset paper --jobs 2 --out results/transfer_paper.csv

The notebook is always given by path (the installed package never looks for the book's files); it must be a
chapter with the transfer chapter's parameters. Explained in chapter 4 (``notebooks/04_transfer_he_to_hb.ipynb``).
"""

from __future__ import annotations

import multiprocessing
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from .. import __version__, transfer
from .presets import get_preset
from .provenance import git_commit

PAPER_FRACTIONS = (0.05, 0.1, 0.25, 1.0)


@dataclass(frozen=True)
class Cell:
    """One sweep cell: a pair, a data fraction, a seed and the LR schedule."""

    pair: str
    fraction: float
    seed: int
    one_cycle: bool

    @property
    def key(self) -> str:
        slug = re.sub(r"[^A-Za-z0-9.-]+", "_", self.pair).strip("_")
        return f"{slug}__f{self.fraction:g}__s{self.seed}__{'onecycle' if self.one_cycle else 'constant'}"

    def parameters(self) -> dict:
        """Papermill parameters restricting the chapter to this cell."""
        grid = {"pairs": [self.pair], "fractions": [self.fraction], "one_cycle_pairs": [], "one_cycle_fractions": []}
        if self.one_cycle:
            grid = {"pairs": [], "fractions": [], "one_cycle_pairs": [self.pair], "one_cycle_fractions": [self.fraction]}
        return {**grid, "seeds": [self.seed]}


def cells(pairs, fractions, seeds, schedules=(False,)) -> list[Cell]:
    """The grid, pairs validated against :data:`hcaltl.transfer.CONFIGS`."""
    labels = [transfer.pair_label(*transfer.parse_pair(p)) for p in pairs]
    for f in fractions:
        if not 0 < f <= 1:
            raise ValueError(f"fractions must be in (0, 1], got {f}")
    return [Cell(p, float(f), int(s), bool(oc)) for oc in schedules for f in fractions for s in seeds for p in labels]


def _run_cell(notebook: str, out_dir: str, cell: Cell, base: dict, threads: int) -> tuple[Cell, float, str | None]:
    """Worker: execute the chapter for one cell (its own process; torch threads limited by environment)."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["MKL_NUM_THREADS"] = str(threads)
    import papermill

    out = Path(out_dir)
    csv = out / f"{cell.key}.csv"
    params = {**base, **cell.parameters(), "results_csv": str(csv.resolve())}
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(notebook, str(out / f"{cell.key}.ipynb"), parameters=params, cwd=str(Path(notebook).parent),
                                   kernel_name="python3", progress_bar=False)
    except Exception as exc:  # papermill raises PapermillExecutionError with the cell's traceback
        return cell, time.perf_counter() - t0, f"{type(exc).__name__}: {str(exc)[-2000:]}"
    return cell, time.perf_counter() - t0, None


def sweep(out: str | Path, notebook: str | Path, *, pairs=transfer.PAPER_PAIRS, fractions=PAPER_FRACTIONS, seeds=None,
          schedules=(False,), preset: str = "fast", jobs: int = 1, extra_parameters: dict | None = None,
          progress: bool = True) -> pd.DataFrame:
    """Run the grid through papermill and write one tidy CSV at ``out``.

    Args:
        out: the collected results (CSV). Per-cell notebooks and rows go to ``<out stem>_cells/`` beside it; a cell
            whose rows exist there is not run again, so an interrupted sweep resumes where it stopped.
        notebook: the transfer chapter (``notebooks/04_transfer_he_to_hb.ipynb`` in the book's repository).
        pairs: ``"INIT/TRAIN"`` names or tuples; fractions: shares of the HB training windows; seeds: seed list
            (default: ``range(1, preset.seeds + 1)``); schedules: ``(False,)``, ``(True,)`` or both (one-cycle LR).
        preset: ``"fast"`` or ``"paper"`` (passed to the chapter); jobs: parallel processes.
        extra_parameters: more chapter parameters (e.g. ``{"epochs": 1}``) for every cell.

    Returns:
        The collected table, one row per (cell, run), with provenance columns ``commit``, ``preset``, ``device``,
        ``hcaltl_version``, ``wall_seconds``, ``finished_at``.
    """
    import torch

    from . import chapter

    notebook = Path(notebook)
    if not notebook.is_file():
        raise FileNotFoundError(f"notebook {str(notebook)!r} does not exist: give the transfer chapter's path, "
                                "e.g. notebooks/04_transfer_he_to_hb.ipynb")
    cfg = get_preset(preset)
    seeds = list(seeds) if seeds is not None else list(range(1, cfg.seeds + 1))
    grid = cells(pairs, fractions, seeds, schedules)
    out = Path(out)
    cell_dir = out.with_name(out.stem + "_cells")
    cell_dir.mkdir(parents=True, exist_ok=True)
    base = {"preset": preset, **(extra_parameters or {})}
    # train (or find) the HE source once, before the workers start, so they never race for it
    base.setdefault("source_checkpoint", str((cell_dir / "he_source.pt").resolve()))
    params = _chapter_defaults(notebook)
    source_cfg = chapter.preset(preset, n_ls_he=base.get("n_ls_he"), epochs=base.get("epochs"))
    chapter.he_source(base["source_checkpoint"], source_cfg, latent=base.get("latent", params.get("latent", 8)),
                      seed=base.get("seed", params.get("seed", 2018)), progress=progress)
    todo = [c for c in grid if not (cell_dir / f"{c.key}.csv").exists()]
    threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    commit = git_commit(Path(notebook).parent)
    failures = []
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_run_cell, str(notebook), str(cell_dir), c, base, threads) for c in todo]
        for fut in tqdm(as_completed(futures), total=len(futures), desc="sweep cells", disable=not progress):
            cell, seconds, error = fut.result()
            if error:
                failures.append(f"{cell.key}: {error}")
                continue
            rows = pd.read_csv(cell_dir / f"{cell.key}.csv")
            rows = rows.assign(cell=cell.key, commit=commit, preset=preset, device=device, hcaltl_version=__version__,
                               wall_seconds=seconds, finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
            rows.to_csv(cell_dir / f"{cell.key}.csv", index=False)
    table = collect(cell_dir, grid)
    table.to_csv(out, index=False)
    if failures:
        raise RuntimeError(f"{len(failures)} sweep cell(s) failed (finished cells are kept; rerun to resume):\n"
                           + "\n".join(failures))
    return table


def collect(cell_dir: str | Path, grid: list[Cell] | None = None) -> pd.DataFrame:
    """Concatenate the per-cell CSVs (only the grid's cells when given)."""
    cell_dir = Path(cell_dir)
    keys = [c.key for c in grid] if grid is not None else sorted(p.stem for p in cell_dir.glob("*.csv"))
    parts = [pd.read_csv(cell_dir / f"{k}.csv") for k in keys if (cell_dir / f"{k}.csv").exists()]
    if not parts:
        raise ValueError(f"no finished sweep cells in {cell_dir}")
    return pd.concat(parts, ignore_index=True)


def _chapter_defaults(notebook: str | Path) -> dict:
    import papermill

    return {name: _literal(info["default"]) for name, info in papermill.inspect_notebook(str(notebook)).items()}


def _literal(text: str):
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
