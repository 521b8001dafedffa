"""CMS data certification ("golden") JSON files: which lumisections of which runs are good.

The format is ``{"run": [[first_ls, last_ls], ...], ...}`` with inclusive ranges. Paper C's global label is 1 for a
lumisection listed in the 2010 file (CERN Open Data record 1000; a copy is in ``shared/data/cms-dqm/``), 0 otherwise;
a run absent from the file is bad throughout.

Explained in chapter 6 (``notebooks/06_multihead_cause.ipynb``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import validate


@dataclass(frozen=True)
class Certification:
    """Certified LS ranges per run.

    Attributes:
        ranges: run → sorted, non-overlapping inclusive ``(first_ls, last_ls)`` ranges.
        source: where the ranges were read from.
    """

    ranges: dict[int, tuple[tuple[int, int], ...]]
    source: str = ""

    @property
    def runs(self) -> list[int]:
        return sorted(self.ranges)

    @property
    def n_certified(self) -> int:
        """Number of certified lumisections."""
        return sum(last - first + 1 for r in self.ranges.values() for first, last in r)

    def is_good(self, run: int, ls: int) -> bool:
        return any(first <= ls <= last for first, last in self.ranges.get(int(run), ()))

    def labels(self, run: np.ndarray, ls: np.ndarray) -> np.ndarray:
        """Good (True) / bad (False) for each (run, LS) pair; runs absent from the file are bad.

        Shapes:
            run, ls ``[n]`` → ``[n]`` bool.
        """
        run, ls = np.asarray(run), np.asarray(ls)
        if run.shape != ls.shape:
            raise ValueError(f"run and ls differ in shape: {run.shape} vs {ls.shape}")
        good = np.zeros(run.shape, dtype=bool)
        for r in np.unique(run):
            here = run == r
            for first, last in self.ranges.get(int(r), ()):
                good[here] |= (ls[here] >= first) & (ls[here] <= last)
        return good

    def table(self) -> pd.DataFrame:
        """One row per run: number of ranges and of certified LS, first and last certified LS."""
        return pd.DataFrame(
            [
                {
                    "run": r,
                    "ranges": len(v),
                    "certified LS": sum(b - a + 1 for a, b in v),
                    "first LS": v[0][0],
                    "last LS": v[-1][1],
                }
                for r, v in sorted(self.ranges.items())
            ]
        ).set_index("run")


def load_golden_json(path: str | Path) -> Certification:
    """Parse a certification JSON file into a :class:`Certification`.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the content is not ``{run: [[first, last], ...]}`` with positive integers, ``first ≤ last`` and
            no overlapping ranges within a run.
    """
    path = validate.file(path, "path", suffixes=(".json", ".txt"), what="certification JSON (.json or .txt)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise validate.FileFormatError(f"{path} is not valid JSON: {err}") from err
    return parse_golden(raw, source=str(path))


def parse_golden(raw: dict, source: str = "") -> Certification:
    """The :class:`Certification` of an already-loaded ``{run: [[first, last], ...]}`` mapping."""
    if not isinstance(raw, dict):
        raise ValueError(f"{source or 'certification'}: expected an object of runs, got {type(raw).__name__}")
    ranges, spelled = {}, {}
    for key, value in raw.items():
        text = str(key).strip()
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"{source or 'certification'}: run {key!r} is not a positive integer")
        run = int(text)
        if run in spelled:
            raise ValueError(
                f"{source or 'certification'}: runs {spelled[run]!r} and {key!r} are the same run {run}, listed twice"
            )
        spelled[run] = key
        pairs = []
        for item in value if isinstance(value, list) else [None]:
            if not (
                isinstance(item, list)
                and len(item) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) for x in item)
            ):
                raise ValueError(f"{source or 'certification'}: run {run} has a range {item!r}, expected [first, last]")
            first, last = item
            if not 1 <= first <= last:
                raise ValueError(f"{source or 'certification'}: run {run} has an invalid range [{first}, {last}]")
            pairs.append((first, last))
        pairs.sort()
        for (_, a_last), (b_first, _) in zip(pairs, pairs[1:]):
            if b_first <= a_last:
                raise ValueError(f"{source or 'certification'}: run {run} has overlapping ranges")
        ranges[run] = tuple(pairs)
    return Certification(ranges, source)
