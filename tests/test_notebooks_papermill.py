"""The chapters' ``parameters`` cells, as papermill (and so the sweep and a reader's own runs) sees them.

nbval executes every chapter once, at its defaults (the fast preset), in ``make test``. Here papermill parses
every chapter's parameters cell, and one chapter (the cheapest) runs with other parameters than its defaults,
so a broken injection (a parameter papermill cannot see, a later cell that overrides one) is caught without
executing every chapter a second time.
"""

from __future__ import annotations

import ast
import json
import pathlib

import pytest

papermill = pytest.importorskip("papermill")

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _parameters_source(nb: pathlib.Path) -> str:
    cells = json.loads(nb.read_text())["cells"]
    return next("".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_papermill_sees_every_parameter(nb):
    """Every assignment in the parameters cell must be parseable by papermill (e.g. no quote in a comment, no
    value spread over several lines)."""
    assigned = {
        t.id for node in ast.parse(_parameters_source(nb)).body if isinstance(node, ast.Assign) for t in node.targets
    }
    assert assigned == set(papermill.inspect_notebook(str(nb)))


def test_parameters_drive_the_chapter(tmp_path):
    """Chapter 1 with fewer LS and another seed: the injected values are the ones the chapter uses."""
    nb = ROOT / "notebooks" / "01_detector_and_data.ipynb"
    parameters = {"n_ls_he": 700, "n_ls_hb": 1100, "seed": 7}
    assert set(parameters) <= set(papermill.inspect_notebook(str(nb)))
    out = tmp_path / nb.name
    papermill.execute_notebook(
        str(nb), str(out), parameters=parameters, cwd=str(nb.parent), kernel_name="python3", progress_bar=False
    )
    executed = json.loads(out.read_text())
    injected = next(c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
    namespace: dict = {}
    exec("".join(injected["source"]), namespace)  # the injected cell is plain assignments
    assert {k: namespace[k] for k in parameters} == parameters
    text = "".join(
        "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
        for c in executed["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
    )
    assert "HE: 700 LS" in text, "chapter 1 did not report the 700 HE LS it was given"
