"""nbval's execution is the book's execution.

``make test`` runs ``pytest --nbval-lax`` over the chapters and the executed book pages: nbval executes every
cell once and compares the outputs of the cells marked ``# NBVAL_CHECK_OUTPUT`` with the committed ones. The
hooks below store each notebook's outputs, as nbval executed them, in the book's execution cache
(``_build/.jupyter_cache``, the jupyter-cache database that ``jupyter-book build`` reads with
``execute_notebooks: cache``). The book build that follows then finds every notebook in its cache and
renders what nbval executed, so no chapter runs twice. A notebook with a failed cell is not stored.

Set ``HCALTL_EXECUTION_CACHE`` to another folder to store elsewhere, or to an empty string to store nothing.
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs on pytest-xdist workers, one per core: each worker (and each notebook kernel it starts,
    # which inherits the variable) computes on one thread, so two workers never fight over the two cores
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent
_CACHE = os.environ.get("HCALTL_EXECUTION_CACHE", str(ROOT / "_build" / ".jupyter_cache"))
_RUNS: dict[Path, dict] = {}  # per notebook: outputs by code-cell index, seconds, whether a cell failed


def _is_cell(item: pytest.Item) -> bool:
    return type(item).__name__ == "IPyNbCell" and hasattr(item, "cell_num")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not _CACHE or not _is_cell(item) or call.when != "call":
        return
    run = _RUNS.setdefault(item.parent.path, {"outputs": {}, "seconds": 0.0, "failed": False})
    run["outputs"][item.cell_num] = item.test_outputs or []
    run["seconds"] += call.duration
    run["failed"] |= outcome.get_result().failed


def pytest_runtest_teardown(item, nextitem):
    if not _CACHE or not _is_cell(item):
        return
    if nextitem is not None and getattr(nextitem, "parent", None) is item.parent:
        return  # the notebook has cells left
    run = _RUNS.pop(item.parent.path, None)
    if run is None or run["failed"]:
        return
    _store(item.parent.nb, item.parent.path, run)


def _store(nb, path: Path, run: dict) -> None:
    """Put the executed notebook ``nb`` (its code cells' outputs from ``run``) into the execution cache."""
    from filelock import FileLock
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    executed = copy.deepcopy(nb)
    code = [c for c in executed.cells if c.cell_type == "code"]
    if len(run["outputs"]) != len(code):
        return  # some cells did not run (deselected or skipped): nothing complete to store
    for number, cell in enumerate(code):
        cell.execution_count = number + 1
        cell.outputs = copy.deepcopy(run["outputs"][number])
        for output in cell.outputs:
            if output.output_type == "execute_result":
                output.execution_count = number + 1
    Path(_CACHE).mkdir(parents=True, exist_ok=True)
    with FileLock(str(Path(_CACHE) / "nbval.lock")):  # pytest-xdist workers share one database
        get_cache(_CACHE).cache_notebook_bundle(
            CacheBundleIn(
                executed,
                str(path),
                data={"execution_seconds": run["seconds"], "executed_by": "nbval", "executed_at": time.time()},
            ),
            check_validity=True,
            overwrite=True,
        )
