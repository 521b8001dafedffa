"""The papermill sweep: two tiny cells of the transfer chapter, end to end, then a resume that runs nothing."""

import pathlib

import pandas as pd
import pytest

pytest.importorskip("papermill")

from hcaltl.experiments import sweep as sw  # noqa: E402
from hcaltl.experiments import transfer_study as ts  # noqa: E402

TINY = {"n_ls_he": 1200, "n_ls_hb": 1100, "epochs": 1, "latent": 4}
CHAPTER = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "04_transfer_he_to_hb.ipynb"


def test_cells_are_validated_and_named():
    grid = sw.cells(["RANDOM/No-TL", "tl-4/tl-2d[bn]"], [0.1], [1, 2], schedules=(False, True))
    assert len(grid) == 8 and len({c.key for c in grid}) == 8
    assert grid[1].pair == "TL-4/TL-2d[BN]" and "/" not in grid[1].key and "[" not in grid[1].key
    one_cycle = next(c for c in grid if c.one_cycle).parameters()
    assert one_cycle["pairs"] == [] and one_cycle["one_cycle_pairs"] == ["RANDOM/No-TL"]
    with pytest.raises(ValueError, match="unknown transfer configuration"):
        sw.cells(["RANDOM/TL-9"], [0.1], [1])
    with pytest.raises(ValueError, match="fractions must be in"):
        sw.cells(["RANDOM/No-TL"], [1.5], [1])


def test_sweep_needs_an_existing_notebook(tmp_path):
    with pytest.raises(FileNotFoundError, match="give the transfer chapter's path"):
        sw.sweep(tmp_path / "out.csv", tmp_path / "missing.ipynb", pairs=["RANDOM/No-TL"], fractions=[0.2], seeds=[1])


def test_sweep_runs_two_cells_and_resumes(tmp_path):
    out = tmp_path / "sweep.csv"
    table = sw.sweep(out, CHAPTER, pairs=["RANDOM/No-TL", "TL-7/TL-6"], fractions=[0.2], seeds=[1], jobs=2,
                     extra_parameters=TINY, progress=False)
    assert len(table) == 2 and set(table["pair"]) == {"RANDOM/No-TL", "TL-7/TL-6"}
    for column in ("commit", "preset", "device", "wall_seconds", "hcaltl_version", "test_mse"):
        assert table[column].notna().all(), column
    assert pd.read_csv(out).shape == table.shape
    summary = ts.summary(table).set_index("pair")
    assert summary.at["RANDOM/No-TL", "mean_change_%"] == 0.0 and pd.notna(summary.at["TL-7/TL-6", "mean_change_%"])
    cell_dir = tmp_path / "sweep_cells"
    stamps = {p.name: p.stat().st_mtime_ns for p in cell_dir.glob("*.ipynb")}
    assert len(stamps) == 2
    again = sw.sweep(out, CHAPTER, pairs=["RANDOM/No-TL", "TL-7/TL-6"], fractions=[0.2], seeds=[1], jobs=2,
                     extra_parameters=TINY, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in cell_dir.glob("*.ipynb")} == stamps  # nothing re-ran
    pd.testing.assert_frame_equal(again, table)
