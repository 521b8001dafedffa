"""The API reference pages of the book (``book/api/``): one page per library module or package, made by autodoc.

A package's page documents what the package exports (``__all__``, the public path) and then each of its modules
with what they define beyond that, so every object has one documented place and every cross-reference of the
docstrings (``:func:``, ``:class:``, ``:mod:``) resolves in the ``-W -n`` book build. The pages are plain
Markdown written by :func:`pages`; after adding or moving a module, rewrite them with
``.venv/bin/python tests/test_api_pages.py``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "book" / "api"


def _automodule(name: str, members: bool, exclude: list[str]) -> str:
    lines = ["```{eval-rst}", f".. automodule:: {name}"]
    if members:
        lines.append("   :members:")
    if exclude:
        lines.append(f"   :exclude-members: {', '.join(sorted(exclude))}")
    return "\n".join([*lines, "```", ""])


def pages() -> dict[str, str]:
    """Page name → Markdown, for every library module and package of ``hcaltl.__all__``."""
    import hcaltl

    out = {}
    for top in sorted(m for m in hcaltl.__all__ if m != "__version__"):
        name = f"hcaltl.{top}"
        module = importlib.import_module(name)
        subs = []
        if hasattr(module, "__path__"):
            subs = [f"{name}.{s.name}" for s in pkgutil.iter_modules(module.__path__) if not s.name.startswith("_")]
        exported = list(getattr(module, "__all__", []))
        clash = [n for n in exported if f"{name}.{n}" in subs]  # a function named like its module (``metrics``)
        text = [f"# `{name}`", "", _automodule(name, bool(exported) or not subs, clash)]
        for sub in subs:
            own = [n for n, v in vars(importlib.import_module(sub)).items() if getattr(v, "__module__", None) == sub]
            skip = [n for n in own if n in exported and n not in clash]
            text += [f"## `{sub}`", "", _automodule(sub, True, skip)]
        out[top] = "\n".join(text)
    return out


def test_every_library_module_has_its_current_page():
    expected = pages()
    found = {p.stem: p.read_text() for p in API.glob("*.md")}
    missing, extra = set(expected) - set(found), set(found) - set(expected)
    assert not missing and not extra, f"pages missing: {missing}, pages of no module: {extra}"
    stale = [name for name in expected if found[name] != expected[name]]
    assert not stale, f"book/api pages out of date: {stale} (rewrite them: python tests/test_api_pages.py)"


def test_every_page_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    assert not [name for name in pages() if f"file: book/api/{name}\n" not in toc]


if __name__ == "__main__":
    API.mkdir(parents=True, exist_ok=True)
    for old in API.glob("*.md"):
        old.unlink()
    for page, text in pages().items():
        (API / f"{page}.md").write_text(text)
    sys.exit(0)


def test_the_detectors_package_documents_every_argument():
    """The scoring layer's public functions and methods say what each argument is (``Args:``) and what comes back."""
    import ast

    missing = []
    for path in sorted((ROOT / "hcaltl" / "detectors").glob("*.py")):
        body = ast.parse(path.read_text()).body
        defs = [*body, *(n for c in body if isinstance(c, ast.ClassDef) for n in c.body)]  # functions, methods
        for node in defs:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                args = [a.arg for a in [*node.args.args, *node.args.kwonlyargs] if a.arg not in ("self", "cls")]
                doc = ast.get_docstring(node) or ""
                if args and ("Args:" not in doc or "Returns:" not in doc):
                    missing.append(f"{path.name}:{node.name}")
    assert not missing, missing
