"""A Sphinx extension of the API reference: the docstrings' plain-text bars read as bars.

The library's docstrings write absolute values as physicists do (``|ieta|``, ``|error|``), which
reStructuredText would take for substitution references. Outside inline literals, each ``|`` is escaped before
autodoc renders the docstring.
"""

from __future__ import annotations

import re

#: An inline literal (kept as it is) or a bar (escaped).
_TOKEN = re.compile(r"``.*?``|\|")


def escape_bars(app, what, name, obj, options, lines: list[str]) -> None:
    """``autodoc-process-docstring``: escape every ``|`` outside ````…```` spans, in place."""
    for i, line in enumerate(lines):
        if "|" in line:
            lines[i] = _TOKEN.sub(lambda m: m.group(0) if m.group(0).startswith("``") else r"\|", line)


def setup(app) -> dict:
    app.connect("autodoc-process-docstring", escape_bars)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
