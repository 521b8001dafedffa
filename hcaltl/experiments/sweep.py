"""The paper-scale sweep on Dask: every cell of chapters 3–5 (:mod:`hcaltl.experiments.cells`) is one task on a
Dask cluster — a :class:`~distributed.LocalCluster` by default, or any running scheduler given by address (how a
batch system such as HTCondor or SLURM is reached through ``dask-jobqueue``).

    hcaltl sweep --chapters 3 4 5 --preset paper --seeds 1 2 3 --out results/paper

* **Resumable**: a finished cell writes ``<out>/cells/<key>.csv`` (atomically) and is never recomputed; a long
  training cell saves its state every epoch and a killed one resumes from its last epoch.
* **Order**: the cells run in plan order, one per task slot (:func:`in_plan_order`); the cells of a seed that start
  from the HE source wait for its chapter-3 cell.
* **Failures** are retried once, then reported with their traceback; the other cells go on.
* **Provenance** on every row: commit, preset, sizes, seed, device, torch threads, wall time, the simulator's
  fingerprint.

Explained on the book's page "Running at scale" (``book/running_at_scale.md``).
"""

from __future__ import annotations

import os
import platform
import re
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from .. import __version__, transfer
from . import paper_values
from .ablations import COMPARED, UNPOOLED
from .cells import KINDS, MODELS, Cell, Spec, run_cell, simulator_id
from .provenance import git_commit

PAPER_FRACTIONS = (0.05, 0.1, 0.25, 1.0)
ONE_CYCLE_PAIRS = ("RANDOM/No-TL", "TL-4/No-TL", "TL-4/TL-3", "TL-7/TL-5", "TL-7/TL-6")
#: Table 5's pairs (its first block: every HB training window), run with the unpooled model too; RANDOM/No-TL is
#: the reference of the % changes.
UNPOOLED_PAIRS = ("RANDOM/No-TL", *(transfer.pair_label(*p) for p in paper_values.TABLE5_MSE_CHANGE))
#: Pairs also run at share 1 with :data:`LONGER_EPOCHS` epochs: at the preset's 10 epochs the validation error of
#: every transfer cell is still falling, so these ask whether the gains over RANDOM/No-TL outlast a longer budget.
LONGER_PAIRS = ("RANDOM/No-TL", "TL-4/No-TL", "TL-4/TL-2")
LONGER_EPOCHS = 30
DETECTION_PAIRS = ("RANDOM/No-TL", "TL-4/No-TL", "TL-4/TL-3", "TL-7/TL-6")
CONTAMINATION_PAIRS = ("RANDOM/No-TL", "TL-7/TL-6")
CONTAMINATION_RATES = (0.02, 0.05, 0.1, 0.2)  # rate 0 is the detection cell
CHAPTERS = (3, 4, 5)
#: Provenance columns of every row. ``torch_threads`` matters for reproducibility: the same seed gives bit-identical
#: numbers with the same number of torch threads, and other numbers with another (sums split differently).
PROVENANCE = (
    "commit",
    "preset",
    "n_ls_he",
    "n_ls_hb",
    "preset_epochs",
    "latent",
    "simulator",
    "device",
    "hcaltl_version",
    "wall_seconds",
    "finished_at",
    "host",
    "torch_threads",
)


def plan(
    chapters=CHAPTERS,
    seeds=(1, 2, 3),
    *,
    pairs=transfer.PAPER_PAIRS,
    fractions=PAPER_FRACTIONS,
    one_cycle_pairs=ONE_CYCLE_PAIRS,
    detection_pairs=DETECTION_PAIRS,
    contamination_pairs=CONTAMINATION_PAIRS,
    rates=CONTAMINATION_RATES,
    models=COMPARED,
    unpooled_pairs=UNPOOLED_PAIRS,
    longer_pairs=LONGER_PAIRS,
    longer_epochs=LONGER_EPOCHS,
    rin=True,
    kinds=None,
) -> list[Cell]:
    """The cells of a sweep, in the order they should run (issue order: chapter 3's model comparison, Table 3/5 at
    share 1, Table 5's pairs with the unpooled model and the longer budget for the first seed, the limited-data
    shares, one-cycle, chapter 5's detection, comparison, contamination, then the graph variants, the unpooled pairs
    and the longer budget of the other seeds, and last the RIN ablation; seeds in turn within each).

    Args:
        chapters: any of 3, 4, 5; seeds: replica seeds (positive integers).
        pairs: chapter 4's ``"INIT/TRAIN"`` pairs; fractions: HB training shares in (0, 1].
        one_cycle_pairs: pairs also run with one-cycle LR (Table 6), at every fraction.
        detection_pairs, contamination_pairs, rates: chapter 5's pairs and contaminated shares in (0, 1).
        models: chapter 3's models (names of :data:`~hcaltl.experiments.cells.MODELS`).
        unpooled_pairs: those of ``pairs`` also run at share 1 with the unpooled model (``dc=False``), each seed
            after its unpooled HE source; empty: none.
        longer_pairs, longer_epochs: those of ``pairs`` also run at share 1 with ``longer_epochs`` epochs (does the
            preset's budget converge?); empty: none.
        rin: with chapter 4 and share 1, a ``"rin"`` cell per seed (TL-2d and its repair without row normalisation).
        kinds: only cells of these kinds (:data:`~hcaltl.experiments.cells.KINDS`), with the HE GraphSTAD source of
            each seed they start from; None keeps every kind.
    """
    chapters = _checked_list("chapters", chapters, lambda c: c in CHAPTERS, f"chapters among {CHAPTERS}")
    seeds = _checked_list(
        "seeds", seeds, lambda s: isinstance(s, int) and not isinstance(s, bool) and s > 0, "positive integer seeds"
    )
    _checked_list("fractions", fractions, lambda f: isinstance(f, (int, float)) and 0 < f <= 1, "fractions in (0, 1]")
    _checked_list(
        "rates",
        rates,
        lambda r: isinstance(r, (int, float)) and 0 < r < 1,
        "contamination rates in (0, 1)",
        allow_empty=True,
    )
    _checked_list("models", models, lambda m: m in MODELS, f"model names among {list(MODELS)}")
    chosen = {transfer.pair_label(*transfer.parse_pair(p)) for p in pairs}
    unpooled_pairs = [p for p in unpooled_pairs if transfer.pair_label(*transfer.parse_pair(p)) in chosen]
    longer_pairs = [p for p in longer_pairs if transfer.pair_label(*transfer.parse_pair(p)) in chosen]
    if longer_pairs and (isinstance(longer_epochs, bool) or not isinstance(longer_epochs, int) or longer_epochs < 1):
        raise ValueError(f"longer_epochs must be a positive int, got {longer_epochs!r}")
    out: list[Cell] = []

    def beyond_share_1(some_seeds) -> list[Cell]:
        """Each seed's unpooled HE source and its unpooled pairs at share 1, then the longer budget's cells."""
        cells = []
        for s in some_seeds if unpooled_pairs else ():
            cells += [
                Cell("model", s, model=UNPOOLED),
                *(Cell("transfer", s, pair=p, dc=False) for p in unpooled_pairs),
            ]
        return cells + [Cell("transfer", s, pair=p, epochs=longer_epochs) for s in some_seeds for p in longer_pairs]

    if 3 in chapters:
        out += [Cell("baseline", 0)] + [Cell("model", s, model=m) for s in seeds for m in models]  # baseline: seconds
    if 4 in chapters:
        full = [f for f in fractions if f == 1.0]
        limited = sorted(f for f in fractions if f < 1.0)
        for group in (full, limited):
            out += [Cell("transfer", s, pair=p, fraction=f) for s in seeds for f in group for p in pairs]
            out += beyond_share_1(seeds[:1]) if group is full and full else []
        out += [
            Cell("transfer", s, pair=p, fraction=f, one_cycle=True)
            for s in seeds
            for f in [*full, *limited]
            for p in one_cycle_pairs
        ]
    if 5 in chapters:
        out += [Cell("detection", s, pair=p) for s in seeds for p in detection_pairs]
        out += [Cell("comparison", s, pair=detection_pairs[0]) for s in seeds]  # the pair trained from scratch
        out += [Cell("contamination", s, pair=p, rate=r) for s in seeds for r in rates for p in contamination_pairs]
        out += [Cell("graphs", s, pair=detection_pairs[0]) for s in seeds]  # chapter 2's graphs, after the issue's list
    if 4 in chapters and 1.0 in fractions:
        out += beyond_share_1(seeds[1:])
        out += [Cell("rin", s) for s in seeds] if rin else []
    if kinds is not None:
        kinds = _checked_list("kinds", kinds, lambda k: k in KINDS, f"cell kinds among {KINDS}")
        kept = [c for c in out if c.kind in kinds]
        out = [c.source_cell() for c in kept if c.needs_source()] + kept
    return list(dict.fromkeys(out))  # a pair given twice is one cell


def _checked_list(name: str, values, ok, expected: str, allow_empty: bool = False) -> list:
    values = list(values)
    if not values and not allow_empty:
        raise ValueError(f"{name} must not be empty; expected {expected}")
    bad = [v for v in values if not ok(v)]
    if bad:
        raise ValueError(f"{name}: expected {expected}, got {bad!r}")
    return values


def cell_dir(out: str | Path) -> Path:
    """The folder of a results folder ``out`` that holds one CSV of rows per finished cell."""
    if not isinstance(out, (str, Path)):
        raise TypeError(f"out must be a results folder (str or Path), got {type(out).__name__}")
    return Path(out) / "cells"


def done(out: str | Path) -> set[str]:
    """Keys of the cells whose rows are written."""
    return {p.stem for p in cell_dir(out).glob("*.csv")}


def _execute(cell: Cell, spec: Spec, out: str, provenance: dict, threads: int | None, *dependencies) -> str:
    """Dask task: compute the cell and write its rows with provenance (tmp file, then rename)."""
    t0 = time.perf_counter()
    rows = run_cell(cell, spec, out, threads=threads)
    import torch

    device = "cuda" if spec.device != "cpu" and torch.cuda.is_available() else "cpu"
    rows = rows.assign(
        cell=cell.key,
        **provenance,
        device=device,
        wall_seconds=round(time.perf_counter() - t0, 1),
        finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        host=platform.node(),
        torch_threads=torch.get_num_threads(),
    )
    path = cell_dir(out) / f"{cell.key}.csv"
    tmp = path.with_suffix(".csv.tmp")
    rows.to_csv(tmp, index=False)
    os.replace(tmp, path)
    return cell.key


def connect(scheduler: str | None = None, *, workers: int = 1, threads: int = 1, timeout: float = 10.0):
    """A Dask client: to ``scheduler`` (``"tcp://host:port"``) when given, else to a new :class:`LocalCluster` of
    ``workers`` processes with one task each (``threads`` torch threads per task).

    An address that does not answer raises :class:`ConnectionError` within ``timeout`` seconds.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=f"{timeout}s")
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(
                f"no Dask scheduler answered at scheduler={scheduler!r} within {timeout:g} s "
                f"({type(exc).__name__}: {exc}); start one (dask scheduler) or omit it for a "
                "LocalCluster"
            ) from exc
    if workers < 1 or threads < 1:
        raise ValueError(f"workers and threads must be positive, got workers={workers}, threads={threads}")
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", memory_limit=0, silence_logs=40
    )
    return Client(cluster)


def sweep(
    out: str | Path,
    cells: list[Cell],
    spec: Spec | None = None,
    *,
    scheduler: str | None = None,
    workers: int = 1,
    threads: int = 1,
    retries: int = 1,
    progress: bool = True,
) -> pd.DataFrame:
    """Run every cell not yet done on Dask and return the collected rows of the whole plan.

    Args:
        out: the results folder (``cells/`` holds one CSV per finished cell, ``sources/`` the HE models,
            ``targets/`` the HB models fine-tuned on every training window, which chapter 5's cells score).
        cells: from :func:`plan`; spec: the shared recipe (:class:`~hcaltl.experiments.cells.Spec`, paper preset).
        scheduler: address of a running Dask scheduler; None starts a LocalCluster of ``workers`` processes.
        threads: torch threads per task; retries: reruns of a failed cell before it is reported.

    Raises:
        RuntimeError: listing each failed cell with its traceback (finished cells are kept; rerun to resume).
    """
    spec = spec or Spec()
    out = Path(out)
    cell_dir(out).mkdir(parents=True, exist_ok=True)
    finished = done(out)
    todo = [c for c in cells if c.key not in finished]
    provenance = {
        "commit": git_commit(Path(__file__).parent),
        "preset": spec.preset,
        **_sizes(spec),
        "latent": spec.latent,
        "simulator": simulator_id(),
        "hcaltl_version": __version__,
    }
    if finished:  # the folder's cells must be of this recipe
        check_consistent(
            pd.concat(
                [collect(out).iloc[:1], pd.DataFrame([{**provenance, "cell": "(this sweep)"}])], ignore_index=True
            ),
            str(cell_dir(out)),
        )
    if not todo:
        return collect(out, cells)
    client = connect(scheduler, workers=workers, threads=threads)
    failures: list[str] = []
    try:
        bar = tqdm(total=len(todo), desc="sweep cells", unit="cell", disable=not progress)

        def submit(cell: Cell):
            return client.submit(
                _execute, cell, spec, str(out), provenance, threads, key=f"cell-{cell.key}", retries=retries, pure=False
            )

        for cell, fut, source_failed in in_plan_order(client, todo, submit):
            if source_failed:
                failures.append(f"{cell.key}: not run, its HE source cell {cell.source_cell().key} failed")
            elif fut.status == "error":
                exc, tb = fut.exception(), fut.traceback()
                failures.append(
                    f"{cell.key}: {type(exc).__name__}: {exc}\n"
                    + "".join(traceback.format_tb(tb) if tb is not None else [])
                )
            bar.update(1)
            bar.set_postfix(failed=len(failures))
        bar.close()
    finally:
        cluster = client.cluster
        client.close()
        if cluster is not None:
            cluster.close()
    if failures:
        raise RuntimeError(
            f"{len(failures)} of {len(todo)} sweep cell(s) failed after {retries} retr"
            f"{'y' if retries == 1 else 'ies'} (finished cells are kept; rerun to resume):\n\n" + "\n\n".join(failures)
        )
    return collect(out, cells)


def in_plan_order(client, todo: list[Cell], submit):
    """Run cells on a Dask cluster in plan order: yield ``(cell, future, source_failed)`` as each cell ends.

    Dask's task priorities do not hold between tasks with and without dependencies (a dependent task that becomes
    ready jumps ahead of queued ones; tasks assigned to a busy worker wait there while another is free), and a sweep
    runs for days, so the order matters: chapters show what has finished. So the sweep feeds the cluster itself: one
    cell per task slot (slots read again as cells end, so a cluster that grows is used), the earliest free cell of
    the plan first, and a cell that starts from a source still in this sweep only once that source has finished (it
    is yielded with ``source_failed`` if the source failed, and never submitted). Cells last minutes to hours, so
    the moment between one cell's end and the next one's submission costs nothing.

    Args:
        client: a :class:`distributed.Client`; todo: cells in plan order; submit: ``cell -> Future``.
    """
    from distributed import as_completed

    pending, keys, ended = list(todo), {c.key for c in todo}, {}
    running, finished = {}, as_completed()

    def blocked(cell: Cell) -> str | None:  # "wait", "failed" or None (free to run)
        source = cell.source_cell().key if cell.needs_source() else None
        if source is None or source not in keys:
            return None
        return {None: "wait", "error": "failed"}.get(ended.get(source), None)

    def fill():
        skipped, i = [], 0
        slots = max(sum(client.nthreads().values()), 1)
        while i < len(pending) and len(running) < slots:
            state = blocked(pending[i])
            if state == "wait":
                i += 1
                continue
            cell = pending.pop(i)
            if state == "failed":
                ended[cell.key] = "error"
                skipped.append(cell)
                continue
            fut = submit(cell)
            running[fut.key] = cell
            finished.add(fut)
        return skipped

    for cell in fill():
        yield cell, None, True
    for fut in finished:
        cell = running.pop(fut.key)
        ended[cell.key] = fut.status
        yield cell, fut, False
        for skipped in fill():
            yield skipped, None, True
    if pending:  # only if a cell came before its source in the plan
        raise RuntimeError(
            f"{len(pending)} cell(s) never became free to run, e.g. {pending[0].key}: its source "
            f"{pending[0].source_cell().key} must come before it in the plan"
        )


def _sizes(spec: Spec) -> dict:
    cfg = spec.cfg
    return {"n_ls_he": cfg.n_ls_he, "n_ls_hb": cfg.n_ls_hb, "preset_epochs": cfg.epochs}


#: Provenance that must agree across the rows of one table: rows that differ in any of these are not averaged.
MUST_AGREE = ("preset", "n_ls_he", "n_ls_hb", "preset_epochs", "latent", "simulator")


def collect(out: str | Path, cells: list[Cell] | None = None) -> pd.DataFrame:
    """The finished cells' rows (only the given cells when ``cells`` is set), one table, checked by
    :func:`check_consistent`."""
    directory = cell_dir(out)
    keys = [c.key for c in cells] if cells is not None else sorted(done(out))
    parts = [pd.read_csv(directory / f"{k}.csv") for k in keys if (directory / f"{k}.csv").exists()]
    if not parts:
        raise FileNotFoundError(f"no finished sweep cells in {directory}")
    return check_consistent(pd.concat(parts, ignore_index=True), str(directory))


def check_consistent(rows: pd.DataFrame, name: str = "results") -> pd.DataFrame:
    """Refuse rows that mix presets, sizes or simulator calibrations (:data:`MUST_AGREE`): they would be averaged
    as if they were seeds of one experiment. Rows from several commits are allowed (a sweep runs over days; each
    row keeps its commit, and :func:`provenance_line` names the first and the last).

    Raises:
        ValueError: naming the column, its values and one cell of each.
    """
    missing = [c for c in MUST_AGREE if c not in rows.columns]
    if missing:
        raise ValueError(f"{name} lacks the provenance column(s) {missing}: not written by hcaltl sweep")
    for column in MUST_AGREE:
        values = rows[column].astype(str).unique()
        if len(values) > 1:
            examples = {v: rows.loc[rows[column].astype(str) == v, "cell"].iloc[0] for v in values}
            raise ValueError(
                f"{name} mixes {column} values {sorted(values)} (e.g. {examples}); keep each "
                "preset and simulator in its own results folder"
            )
    return rows


def provenance_line(rows: pd.DataFrame) -> str:
    """One line saying where a table's cells come from: how many, when they finished, at how many commits (the
    first and the last in run order) and on which devices, with the simulator calibration they share.

    Args:
        rows: sweep rows (:func:`collect`); columns ``cell``, ``commit``, ``finished_at``, ``device`` and
            ``simulator`` (all written by every cell).

    Raises:
        ValueError: naming the provenance columns the rows lack.
    """
    needed = ("cell", "commit", "finished_at", "device", "simulator")
    missing = [c for c in needed if c not in rows.columns]
    if missing:
        raise ValueError(f"rows lack the provenance column(s) {missing}: not written by hcaltl sweep")
    cells = rows.drop_duplicates("cell").sort_values("finished_at")
    commits = list(dict.fromkeys(cells["commit"].astype(str)))
    at = commits[0] if len(commits) == 1 else f"{len(commits)} commits ({commits[0]} first, {commits[-1]} last)"
    days = [str(cells["finished_at"].iloc[i])[:10] for i in (0, -1)]
    when = days[0] if days[0] == days[1] else f"{days[0]} to {days[1]}"
    return (
        f"paper scale: {len(cells)} cells finished {when} at {at}, devices {sorted(set(cells['device']))}, "
        f"simulator {', '.join(sorted(set(cells['simulator'].astype(str))))}"
    )


def _cell_seconds(path: Path) -> float:
    """A finished cell's time: its process's wall time, or the epochs' time summed over every session when the cell
    was resumed (``train_seconds``), whichever is longer."""
    rows = pd.read_csv(path)
    seconds = float(rows["wall_seconds"].iloc[0])
    if "train_seconds" in rows:
        seconds = max(seconds, float(rows["train_seconds"].fillna(0).max()))
    return seconds


def _shape(key: str) -> str:
    """A cell's key without its seed: the same cell at every seed, which costs about the same."""
    return re.sub(r"_s\d+$", "", key)


def progress_table(out: str | Path, cells: list[Cell]) -> pd.DataFrame:
    """Cells done and planned per chapter and kind (chapters in order, kinds in plan order within each), the
    CPU-hours spent so far, and an estimate of the hours the unfinished cells still need.

    Each unfinished cell is estimated by the mean time of the finished cells in ``out`` of the same shape (the same
    cell at other seeds), else of the same kind; ``hours left (est.)`` is NaN for a kind with a cell that neither
    estimate covers (none of its kind has finished), so an unknown cost never reads as a small one.
    """
    finished = done(out)
    seconds = pd.Series({key: _cell_seconds(cell_dir(out) / f"{key}.csv") for key in finished}, dtype=float)
    by_shape = seconds.groupby(_shape).mean()
    by_kind = seconds.groupby(lambda key: key.partition("_")[0]).mean()
    rows = []
    for cell in cells:
        is_done = cell.key in finished
        left = 0.0 if is_done else by_shape.get(_shape(cell.key), by_kind.get(cell.kind, float("nan")))
        rows.append(
            {
                "chapter": cell.chapter,
                "kind": cell.kind,
                "done": is_done,
                "hours": seconds.get(cell.key, 0.0) / 3600,
                "left": left / 3600,
            }
        )
    table = (
        pd.DataFrame(rows)
        .groupby(["chapter", "kind"], sort=False)
        .agg(
            done=("done", "sum"),
            planned=("done", "size"),
            hours=("hours", "sum"),
            **{"hours left (est.)": ("left", lambda s: s.sum(skipna=False))},
        )
    )
    return table.sort_index(level="chapter", sort_remaining=False, kind="stable")
