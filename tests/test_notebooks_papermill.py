"""Run every chapter once through papermill with small, non-default parameters.

nbval (``pytest --nbval-lax notebooks``) checks the chapters at their defaults; this test
checks that the ``parameters`` cell really drives them, at sizes that still exercise
every code path.
"""

from __future__ import annotations

import pathlib

import pytest

papermill = pytest.importorskip("papermill")

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# Small parameters per chapter: fewer LS and another seed than the defaults.
SMALL = {
    "01_detector_and_data.ipynb": {"n_ls_he": 700, "n_ls_hb": 1100, "seed": 7},
    "02_channel_graphs.ipynb": {"n_ls_hb": 1100, "epochs": 1, "latent": 4, "seed": 7},
    "03_graphstad_on_he.ipynb": {"n_ls_he": 1200, "epochs": 1, "latent": 4, "seed": 7, "ablations": False},
    "04_transfer_he_to_hb.ipynb": {"n_ls_he": 1200, "n_ls_hb": 1100, "epochs": 1, "latent": 4, "seed": 7, "hb_seed": 8,
                                   "pairs": ["RANDOM/No-TL", "TL-4/TL-2d", "TL-4/TL-2d[BN]", "TL-7/TL-6"], "fractions": [0.2],
                                   "one_cycle_pairs": ["RANDOM/No-TL", "TL-7/TL-6"], "one_cycle_fractions": [0.2]},
    "05_anomaly_detection.ipynb": {"n_ls_he": 1200, "n_ls_hb": 1100, "epochs": 1, "latent": 4, "seed": 7, "hb_seed": 8,
                                   "pairs": ["TL-7/TL-6", "TL-4/TL-3"], "n_anomalies": 30, "anomaly_seed": 5,
                                   "contamination_rates": [0.0, 0.1], "contamination_pairs": ["TL-7/TL-6"]},
    "06_multihead_cause.ipynb": {"n_ls": 1200, "events_per_ls": 40, "epochs": 8, "seed": 3, "hidden": [20],
                                 "variants": ["Fuzzy AND, soft pretraining (authors)", "single head (all features)"],
                                 "n_ls_he": 1200, "n_ls_hb": 1100, "hcal_epochs": 1, "latent": 4, "hcal_windows": 200},
}


def test_every_chapter_has_small_parameters():
    assert NOTEBOOKS, "no chapters found"
    assert {nb.name for nb in NOTEBOOKS} == set(SMALL)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_papermill_sees_every_parameter(nb):
    """Every assignment in the parameters cell must be parseable by papermill (e.g. no quote in a comment)."""
    import ast
    import json

    cells = json.loads(nb.read_text())["cells"]
    source = next("".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    assigned = {t.id for node in ast.parse(source).body if isinstance(node, ast.Assign) for t in node.targets}
    assert assigned == set(papermill.inspect_notebook(str(nb)))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_runs_with_small_parameters(nb, tmp_path):
    params = papermill.inspect_notebook(str(nb))
    assert set(SMALL[nb.name]) <= set(params), f"{nb.name}: parameters cell lacks {set(SMALL[nb.name]) - set(params)}"
    out = tmp_path / nb.name
    parameters = dict(SMALL[nb.name])
    for name in ("checkpoint", "source_checkpoint"):  # keep the small run's artefacts out of the repository
        if name in params:
            parameters[name] = str(tmp_path / f"{name}.pt")
    papermill.execute_notebook(
        str(nb), str(out), parameters=parameters, cwd=str(nb.parent), kernel_name="python3", progress_bar=False
    )
    assert out.exists()
