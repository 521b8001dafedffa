"""Provenance helpers: package versions and machine facts, for the status page and benchmarks."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

PACKAGES = (
    "hcaltl",
    "torch",
    "torch-geometric",
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "matplotlib",
    "h5py",
    "uproot",
    "tqdm",
    "papermill",
    "jupyter-book",
)


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed version of each package (``"not installed"`` when absent)."""
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine_info() -> dict[str, str | int]:
    """CPU count, platform, processor, and accelerator (if torch sees one)."""
    info: dict[str, str | int] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count() or 1,
        "python_executable": sys.executable,
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["accelerator"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    except ImportError:  # pragma: no cover
        info["accelerator"] = "unknown (torch missing)"
    return info


def git_commit(path: str | Path = ".") -> str:
    """Short commit hash of the repository at ``path`` (``"-dirty"`` appended when tracked files differ from it),
    or ``"unknown"``."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=7"],
            cwd=path,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment_table() -> pd.DataFrame:
    """Versions and machine facts as one two-column table."""
    rows = {**package_versions(), **{k: str(v) for k, v in machine_info().items() if k != "python_executable"}}
    return pd.DataFrame({"value": rows}).rename_axis("item")


def benchmark_table(path: str | Path) -> pd.DataFrame | None:
    """Rows of a benchmark JSON written by ``benchmarks/`` as a table, or None if the file is absent."""
    import json

    path = Path(path)
    if not path.exists():
        return None
    result = json.loads(path.read_text())
    table = pd.DataFrame(result["rows"]).drop(columns=["seconds_all"], errors="ignore")
    table.attrs["machine"] = result.get("machine", {})
    table.attrs["commit"] = result.get("commit", "unknown")
    return table


def book_cost_table(path: str | Path) -> pd.DataFrame | None:
    """Seconds each chapter costs in ``make test``, before and after executing every chapter only once, from the
    JSON written by ``benchmarks/bench_book.py`` (None if the file is absent).

    Before: the chapter ran under nbval and again under papermill (the book was built from the stored outputs).
    After: the book build executes it once (the tests read that build), and papermill runs it at small parameters.
    """
    import json

    path = Path(path)
    if not path.exists():
        return None
    result = json.loads(path.read_text())
    before = (result.get("before") or {}).get("chapters", {})
    after_tests = (result.get("after_test_run") or {}).get("chapters", {})
    build = result["build"]["chapter_seconds"]
    rows = {}
    for chapter in sorted(set(before) | {c for c in build if c[:2].isdigit()}):
        b, a = before.get(chapter, {}), after_tests.get(chapter, {})
        rows[chapter] = {
            "before: nbval": b.get("nbval"),
            "before: papermill": b.get("papermill"),
            "after: book build": build.get(chapter),
            "after: papermill": a.get("papermill"),
        }
    table = pd.DataFrame(rows).T.astype(float)
    table["before: total"] = table[["before: nbval", "before: papermill"]].sum(axis=1, min_count=1)
    table["after: total"] = table[["after: book build", "after: papermill"]].sum(axis=1, min_count=1)
    table.loc["all chapters"] = table.sum(axis=0, min_count=1)
    table.attrs.update({k: result["build"][k] for k in ("wall_seconds", "peak_memory_gb", "peak_single_process_gb")})
    table.attrs.update(commit=result.get("commit"), before_commit=(result.get("before") or {}).get("commit"))
    return table.rename_axis("seconds")
