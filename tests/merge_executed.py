"""Write the outputs of the last execution (``make test``'s nbval run, or ``make book``) into the committed
notebooks, so that a reader who opens a chapter in JupyterLab, Binder or Colab sees what the book shows.

``make outputs`` runs it after ``make test``: each notebook's record in the book's execution cache
(``_build/.jupyter_cache``) is merged into the notebook; a notebook whose code changed since (no record matches
its code) is left alone and named.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from jupyter_cache import get_cache

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [*sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), *sorted((ROOT / "book").glob("*.ipynb"))]


def merge(cache_path: Path = ROOT / "_build" / ".jupyter_cache") -> list[Path]:
    """Merge the cached outputs into every notebook that has a record; returns those without one."""
    cache = get_cache(str(cache_path))
    stale = []
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        try:
            _, merged = cache.merge_match_into_notebook(nb)
        except KeyError:
            stale.append(path)
            continue
        nbformat.write(merged, path)
    return stale


if __name__ == "__main__":
    missing = merge()
    for path in missing:
        print(f"no execution of the current {path.relative_to(ROOT)} in the cache: run `make test` first")
    sys.exit(1 if missing else 0)
