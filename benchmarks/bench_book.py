"""Benchmark: the cost of building the book (``make book``) and of the chapters in ``make test``.

Run on demand (``make benchmark``, or ``python benchmarks/bench_book.py``); writes
``benchmarks/results/book.json``, which the status page shows.

* **Book build**: ``jupyter-book build`` of a clean copy of the committed tree (empty execution cache, so every
  chapter is executed, as on a fresh clone), with the memory of the whole process tree (the builder and the
  kernel it starts) sampled every 0.2 s: peak of the sum and peak of the largest process. The seconds of each
  chapter's execution come from the build's execution cache.
* **Earlier test runs** (``--before REF``): how long each chapter took in the ``make test`` of an earlier commit,
  read from that run's JUnit report (``--before-junit``), so the status page can show before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import psutil

from hcaltl.experiments.provenance import git_commit, machine_info, package_versions

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).parent / "results" / "book.json"


class TreeMemory:
    """Samples the resident memory of a process and all its descendants until stopped."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.root, self.every = psutil.Process(pid), every
        self.peak_sum = self.peak_single = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            rss = []
            for p in procs:
                try:
                    rss.append(p.memory_info().rss)
                except psutil.NoSuchProcess:
                    pass
            if rss:
                self.peak_sum, self.peak_single = max(self.peak_sum, sum(rss)), max(self.peak_single, max(rss))
            time.sleep(self.every)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _clean_copy(dest: Path) -> None:
    """The committed files of the working tree (``git ls-files``), as a fresh clone has them."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, files):
        src, dst = ROOT / name.decode(), dest / name.decode()
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def chapter_seconds(build: Path) -> dict[str, float]:
    """Execution seconds of each executed notebook, from the book build's jupyter-cache."""
    from jupyter_cache import get_cache

    cache = get_cache(build / ".jupyter_cache")
    return {
        Path(r.uri).stem: round(float(r.data.get("execution_seconds", float("nan"))), 1)
        for r in cache.list_cache_records()
    }


def build_book(keep: Path | None = None) -> dict:
    """Build the book from a clean copy of the tree (kept at ``keep`` when given, with its ``_build``); wall time,
    peak memory and seconds per chapter."""
    exe = Path(sys.executable).parent / "jupyter-book"
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(keep) if keep is not None else Path(tmp) / "hcaltl"
        if tree.exists():
            raise FileExistsError(f"{tree} exists: give a new folder for the clean copy")
        _clean_copy(tree)
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
        env.pop("MPLBACKEND", None)
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [str(exe), "build", "-W", "-n", "--keep-going", "."],
            cwd=tree,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        with TreeMemory(proc.pid) as memory:
            log, _ = proc.communicate()
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            warnings = "\n".join(line for line in log.splitlines() if "WARNING" in line or "ERROR" in line)
            raise RuntimeError(f"book build failed:\n{warnings}\n{log[-3000:]}")
        return {
            "wall_seconds": round(wall, 1),
            "peak_memory_gb": round(memory.peak_sum / 1e9, 2),
            "peak_single_process_gb": round(memory.peak_single / 1e9, 2),
            "chapter_seconds": chapter_seconds(tree / "_build"),
        }


def junit_chapter_seconds(report: Path) -> dict[str, dict[str, float]]:
    """Seconds per chapter and kind of execution (nbval, papermill) in a pytest JUnit report of ``make test``."""
    out: dict[str, dict[str, float]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name, cls, seconds = case.get("name", ""), case.get("classname", ""), float(case.get("time", 0))
        if cls.startswith("notebooks.") or ".ipynb" in case.get("file", ""):  # nbval: one case per cell
            chapter, kind = cls.split(".")[-1] if cls.startswith("notebooks.") else Path(case.get("file")).stem, "nbval"
        elif "test_chapter_runs_with_small_parameters" in name:
            chapter, kind = name.split("[")[1].split(".ipynb")[0], "papermill"
        else:
            continue
        out.setdefault(chapter, {}).setdefault(kind, 0.0)
        out[chapter][kind] = round(out[chapter][kind] + seconds, 1)
    return out


def build_log_chapter_seconds(log: Path) -> dict[str, float]:
    """Seconds per executed notebook from a ``jupyter-book build`` log
    ("…/NAME.ipynb: Executed notebook in S seconds")."""
    import re

    found = re.findall(r"/([^/\s]+)\.ipynb: Executed notebook in ([0-9.]+) seconds", log.read_text())
    return {name: round(float(sec), 1) for name, sec in found}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default=None, help="commit whose make test the --before-junit report comes from")
    parser.add_argument("--before-junit", type=Path, default=None, help="JUnit XML of that make test")
    parser.add_argument(
        "--before-build-log",
        type=Path,
        default=None,
        help="log of a book build at the earlier chapters' parameters: their nbval execution time",
    )
    parser.add_argument("--after-junit", type=Path, default=None, help="JUnit XML of this commit's make test")
    parser.add_argument("--keep", type=Path, default=None, help="keep the clean copy and its build in this new folder")
    parser.add_argument("--no-build", action="store_true", help="only add the JUnit reports to the existing results")
    args = parser.parse_args()
    old = json.loads(OUT.read_text()) if OUT.exists() else {}
    result = {
        "benchmark": "book",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": old.get("commit") if args.no_build else git_commit(ROOT),  # the commit the build measured
        "machine": machine_info(),
        "versions": package_versions(),
        "build": old.get("build") if args.no_build else build_book(args.keep),
        "before": old.get("before"),
        "after_test_run": old.get("after_test_run"),
    }
    if args.before_junit or args.before_build_log:
        chapters = junit_chapter_seconds(args.before_junit) if args.before_junit else {}
        if args.before_build_log:  # one execution per chapter, as nbval made it
            for name, seconds in build_log_chapter_seconds(args.before_build_log).items():
                chapters.setdefault(name, {})["nbval"] = seconds
        result["before"] = {"commit": args.before, "chapters": chapters}
    if args.after_junit:
        result["after_test_run"] = {"commit": git_commit(ROOT), "chapters": junit_chapter_seconds(args.after_junit)}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(json.dumps(result["build"], indent=2))
    print(f"wrote {OUT}")
    return result


if __name__ == "__main__":
    main()
