"""Run every chapter once through papermill with small, non-default parameters.

The book build of ``make test`` executes the chapters at their defaults (checked in ``test_book.py``); this
test checks that the ``parameters`` cell really drives them, at sizes that are small in time (LS, epochs,
configurations) and still exercise every code path, on the full detector geometry.
"""

from __future__ import annotations

import pathlib

import pytest

papermill = pytest.importorskip("papermill")

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# Small parameters per chapter: fewer LS, one epoch, fewer configurations and another seed than the defaults
# (the geometry stays full). Chapters 3 to 6 share one small HE source: chapter 3 trains it, the others reuse it
# (same recipe: 1200 LS, 1 epoch, latent 4, seed 7).
SOURCE = {"n_ls_he": 1200, "epochs": 1, "latent": 4}
SMALL = {
    "01_detector_and_data.ipynb": {"n_ls_he": 700, "n_ls_hb": 1100, "seed": 7},
    "02_channel_graphs.ipynb": {"n_ls_hb": 1100, "epochs": 1, "latent": 4, "seed": 7},
    "03_graphstad_on_he.ipynb": {**SOURCE, "seed": 7, "ablations": False},
    "04_transfer_he_to_hb.ipynb": {**SOURCE, "n_ls_hb": 1100, "seed": 7, "hb_seed": 8,
                                   "pairs": ["RANDOM/No-TL", "TL-4/TL-2d[BN]", "TL-7/TL-6"], "fractions": [0.2],
                                   "one_cycle_pairs": ["TL-7/TL-6"], "one_cycle_fractions": [0.2]},
    "05_anomaly_detection.ipynb": {**SOURCE, "n_ls_hb": 1100, "seed": 7, "hb_seed": 8,
                                   "pairs": ["RANDOM/No-TL", "TL-7/TL-6"], "n_anomalies": 10, "anomaly_seed": 5,
                                   "contamination_rates": [0.0, 0.1], "contamination_pairs": ["TL-7/TL-6"]},
    "06_multihead_cause.ipynb": {"n_ls": 1200, "events_per_ls": 40, "epochs": 4, "seed": 3, "hidden": [20],
                                 "variants": ["Fuzzy AND, soft pretraining (authors)", "single head (all features)"],
                                 "n_ls_he": 1200, "n_ls_hb": 1100, "hcal_epochs": 1, "latent": 4, "source_seed": 7,
                                 "hcal_windows": 100},
    "07_online_monitoring.ipynb": {**SOURCE, "seed": 7, "n_noise_ls": 60, "replay_ls": 200, "n_check_ls": 20},
}


@pytest.fixture(scope="module")
def source_checkpoint(tmp_path_factory) -> str:
    """One place for the small HE source, written by chapter 3's run and read by chapters 4 to 6."""
    return str(tmp_path_factory.mktemp("papermill_source") / "he_source.pt")


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
def test_chapter_runs_with_small_parameters(nb, tmp_path, source_checkpoint):
    params = papermill.inspect_notebook(str(nb))
    assert set(SMALL[nb.name]) <= set(params), f"{nb.name}: parameters cell lacks {set(SMALL[nb.name]) - set(params)}"
    out = tmp_path / nb.name
    parameters = dict(SMALL[nb.name])
    for name in ("checkpoint", "source_checkpoint"):  # keep the small run's artefacts out of the repository
        if name in params:
            parameters[name] = source_checkpoint
    papermill.execute_notebook(
        str(nb), str(out), parameters=parameters, cwd=str(nb.parent), kernel_name="python3", progress_bar=False
    )
    assert out.exists()
