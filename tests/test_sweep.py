"""The paper-scale sweep on Dask: the plan, the refusal of mixed recipes, and a real LocalCluster of two worker
processes running a tiny sweep end to end — killed after its first cell, then resumed without recomputing it."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
import torch

pytest.importorskip("distributed")

from hcaltl.experiments import baseline_study as bs  # noqa: E402
from hcaltl.experiments import cells as cell_module  # noqa: E402
from hcaltl.experiments import detection_study as ds  # noqa: E402
from hcaltl.experiments import paper_scale  # noqa: E402
from hcaltl.experiments import sweep as sw  # noqa: E402
from hcaltl.experiments import transfer_study as ts  # noqa: E402
from hcaltl.experiments.cells import Cell, Spec, run_cell  # noqa: E402

TINY = Spec(preset="fast", n_ls_he=800, n_ls_hb=1100, epochs=1, latent=4, n_anomalies=4)


def test_plan_follows_the_issue_order_and_validates():
    cells = sw.plan(
        (5, 3, 4), seeds=(1, 2), pairs=["RANDOM/No-TL", "tl-4/tl-2d[bn]"], fractions=(1.0, 0.1), rates=(0.2,)
    )
    kinds = [
        c.kind if c.dc and c.model != "GraphSTAD (no DC)" and c.epochs is None else "unpooled or longer" for c in cells
    ]  # their own test below
    assert kinds.index("transfer") > max(i for i, k in enumerate(kinds) if k in ("model", "baseline"))
    assert kinds.index("detection") > max(i for i, k in enumerate(kinds) if k == "transfer")
    assert (
        max(i for i, k in enumerate(kinds) if k == "detection")
        < kinds.index("comparison")
        < kinds.index("contamination")
    )
    assert [c.pair for c in cells if c.kind == "comparison"] == ["RANDOM/No-TL"] * 2  # one per seed
    assert kinds.index("graphs") > max(
        i for i, k in enumerate(kinds) if k == "contamination"
    )  # last: not in the issue's list
    assert [c.key for c in cells if c.kind == "graphs"] == ["graphs_RANDOM_No-TL_s1", "graphs_RANDOM_No-TL_s2"]
    transfer = [c for c in cells if c.kind == "transfer" and not c.one_cycle and c.dc]
    assert [c.fraction for c in transfer][:4] == [1.0] * 4  # share 1 first, then the limited shares
    assert {c.pair for c in transfer} == {"RANDOM/No-TL", "TL-4/TL-2d[BN]"}
    assert len({c.key for c in cells}) == len(cells) and all("/" not in c.key and "[" not in c.key for c in cells)
    with pytest.raises(ValueError, match="unknown transfer configuration"):
        sw.plan((4,), pairs=["RANDOM/TL-9"])
    with pytest.raises(ValueError, match=r"fractions: expected fractions in \(0, 1\], got \[1.5\]"):
        sw.plan((4,), fractions=[1.5])
    with pytest.raises(ValueError, match=r"seeds: expected positive integer seeds, got \[-1\]"):
        sw.plan((3,), seeds=[-1])
    with pytest.raises(ValueError, match=r"chapters: expected chapters among \(3, 4, 5\), got \[6\]"):
        sw.plan((6,))
    with pytest.raises(ValueError, match="rate must be in"):
        Cell("contamination", 1, pair="RANDOM/No-TL", rate=1.0)


def _rows(**provenance):
    base = {
        "cell": "transfer_x",
        "commit": "abc1234",
        "preset": "paper",
        "n_ls_he": 20000,
        "n_ls_hb": 7000,
        "preset_epochs": 10,
        "latent": 8,
        "simulator": "sim-1",
    }
    return pd.DataFrame([base, {**base, "cell": "transfer_y", **provenance}])


def test_rows_of_another_preset_or_simulator_are_refused_not_averaged():
    mixed = _rows(commit="def5678")  # a sweep runs over days: several commits are allowed, each row keeps its own
    pd.testing.assert_frame_equal(sw.check_consistent(mixed), _rows(commit="def5678"))
    with pytest.raises(ValueError, match=r"mixes preset values \['fast', 'paper'\]"):
        sw.check_consistent(_rows(preset="fast"))
    with pytest.raises(ValueError, match="mixes simulator values"):
        sw.check_consistent(_rows(simulator="sim-2"))
    with pytest.raises(ValueError, match="lacks the provenance column"):
        sw.check_consistent(_rows().drop(columns="simulator"))


def test_an_unreachable_scheduler_fails_within_seconds():
    t0 = time.perf_counter()
    with pytest.raises(ConnectionError, match="no Dask scheduler answered at scheduler='tcp://127.0.0.1:9'"):
        sw.connect("tcp://127.0.0.1:9", timeout=2)
    assert time.perf_counter() - t0 < 30


@pytest.mark.slow
def _timed(seconds: float, fail: bool = False) -> tuple[float, float]:
    start = time.monotonic()
    time.sleep(seconds)
    if fail:
        raise RuntimeError("this source cell fails")
    return start, time.monotonic()


@pytest.mark.parametrize("source_fails", [False, True])
def test_cells_run_in_plan_order_and_dependents_wait_for_their_source(source_fails):
    """Dask alone lets a dependent task jump ahead of queued ones once its source ends; the sweep feeds the cluster
    in plan order instead (real scheduler and workers, in threads so the test's functions need no import)."""
    from distributed import Client, LocalCluster

    source = Cell("model", 1, model="GraphSTAD (no DC)")
    dependents = [Cell("transfer", 1, pair=p, dc=False) for p in ("RANDOM/No-TL", "TL-7/TL-6")]
    free = [Cell("transfer", 2, pair="RANDOM/No-TL", fraction=f) for f in (0.05, 0.1, 0.25, 0.5, 0.75, 1.0)]
    todo = [source, *dependents, *free]  # seed 2's source is not in this sweep: those cells are free to run
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        submitted = []

        def submit(cell):
            submitted.append(cell.key)
            seconds, fail = (1.0, source_fails) if cell == source else (0.3, False)
            return client.submit(_timed, seconds, fail, key=f"cell-{cell.key}", pure=False)

        ended = list(sw.in_plan_order(client, todo, submit))
        times = {cell.key: fut.result() for cell, fut, failed in ended if fut is not None and fut.status == "finished"}
    assert sorted(c.key for c, _, _ in ended) == sorted(c.key for c in todo)  # every cell once
    assert submitted[:3] == [source.key, free[0].key, free[1].key]  # a cell per worker, dependents held back
    starts = [times[c.key][0] for c in free]
    assert starts == sorted(starts)  # the free cells in plan order
    if source_fails:
        assert [c.key for c, fut, failed in ended if failed] == [c.key for c in dependents]
        assert not set(submitted) & {c.key for c in dependents}  # never submitted
    else:
        assert all(times[c.key][0] >= times[source.key][1] for c in dependents)
        assert not any(failed for _, _, failed in ended)


def test_local_cluster_sweep_is_killed_then_resumes_without_recomputing(tmp_path):
    out = tmp_path / "results"
    source = Cell("model", 1, model="GraphSTAD")
    pairs = [
        Cell("transfer", 1, pair="RANDOM/No-TL", fraction=0.5),
        Cell("transfer", 1, pair="TL-7/TL-6", fraction=0.5),
    ]
    # 1. a sweep in its own process (with its own LocalCluster), killed as soon as its first cell is written
    script = textwrap.dedent(f"""
        from hcaltl.experiments import sweep as sw
        from hcaltl.experiments.cells import Cell, Spec
        cells = [Cell("model", 1, model="GraphSTAD"), Cell("model", 1, model="CNN only"),
                 *[Cell("transfer", 1, pair=p, fraction=0.5) for p in ("RANDOM/No-TL", "TL-7/TL-6")]]
        sw.sweep({str(out)!r}, cells, Spec(**{TINY.__dict__!r}), workers=2, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    first = sw.cell_dir(out)
    deadline = time.monotonic() + 600
    while not (list(first.glob("*.csv")) if first.exists() else []):
        assert proc.poll() is None, "the sweep ended before writing a cell"
        assert time.monotonic() < deadline, "no cell finished in 10 minutes"
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)  # the client, the cluster and its workers
    proc.wait()
    written = {p.name: p.stat().st_mtime_ns for p in first.glob("*.csv")}
    assert 1 <= len(written) < 4
    # 2. resumed on a LocalCluster of two processes, with one more cell that must fail (seed 2 has no HE source)
    broken = Cell("transfer", 2, pair="RANDOM/No-TL", fraction=0.5)
    cells = [source, *pairs, broken]
    with pytest.raises(
        RuntimeError,
        match=r"1 of \d sweep cell\(s\) failed after 1 retry(.|\n)*"
        r"transfer_RANDOM_No-TL_f0.5_constant_s2: FileNotFoundError: the HE source of seed 2",
    ):
        sw.sweep(out, cells, TINY, workers=2, progress=False)
    for name, stamp in written.items():  # finished cells were not computed again
        assert (first / name).stat().st_mtime_ns == stamp
    table = sw.collect(out, cells)
    assert set(table["cell"]) == {c.key for c in (source, *pairs)}
    for column in sw.PROVENANCE:
        assert table[column].notna().all(), column
    assert (table["torch_threads"] == 1).all()  # the workers' setting, which the numbers depend on
    assert set(table["simulator"]) == {table["simulator"].iloc[0]} and (table["preset"] == "fast").all()
    graphstad = table[table["kind"] == "model"].iloc[0]
    assert graphstad["test_mse"] > 0 and graphstad["epochs"] == 1
    summary = ts.summary(table[table["kind"] == "transfer"]).set_index("pair")
    assert summary.at["RANDOM/No-TL", "mean_change_%"] == 0.0 and pd.notna(summary.at["TL-7/TL-6", "mean_change_%"])
    assert sw.sweep(out, [source, *pairs], TINY, workers=2, progress=False).shape == table.shape  # all done: no cluster
    # 3. same seed, same numbers: the cell computed again here, in this process, gives the worker's rows
    threads = torch.get_num_threads()
    try:
        here = run_cell(pairs[1], TINY, out, threads=1)
    finally:
        torch.set_num_threads(threads)
        cell_module.hb_data.cache_clear()
    there = table[table["cell"] == pairs[1].key].reset_index(drop=True)
    numbers = ["test_mse", "best_val_mse", "epochs", "trainable_params", "val_curve", "train_curve"]
    pd.testing.assert_frame_equal(here[numbers], there[numbers])
    # 4. the detector comparison of chapter 5 from the same source, read back as the chapter's paper-scale tables
    threads = torch.get_num_threads()
    try:
        rows = run_cell(Cell("comparison", 1, pair="RANDOM/No-TL"), TINY, out, threads=1)
        graphs = run_cell(Cell("graphs", 1, pair="RANDOM/No-TL"), TINY, out, threads=1)  # chapter 2's graphs
    finally:
        torch.set_num_threads(threads)
        cell_module.hb_data.cache_clear()
    assert set(rows["test set"]) == {"boxes", "readout"} and set(rows["reduce"]) == {"mean", "last"}
    assert rows["AUC"].between(0, 1).all() and not list((out / "partial").glob("comparison*"))  # training state gone
    assert set(graphs["detector"]) == set(bs.GRAPH_MODELS) and not (out / "partial" / "graphs_RANDOM_No-TL_s1").exists()
    gains = bs.graph_gains(pd.concat([rows, graphs]))
    assert set(gains["detector"]) == {"GraphSTAD (RANDOM/No-TL)", *bs.GRAPH_MODELS}
    assert set(gains["test set"]) == {"boxes", "readout"} and gains["gain"].between(-1, 1).all()
    assert paper_scale.comparison_tables(table) == {} and paper_scale.detection_tables(table) == {}
    assert "No paper-scale detection cell" in paper_scale.facts(table)["paper_detection"]  # chapters 3-5 before any
    tables = paper_scale.comparison_tables(rows)
    assert list(tables) == [
        "detectors, window mean (AUC, mean of 1 seed(s))",
        "detectors, last LS (AUC, mean of 1 seed(s))",
    ]
    assert list(tables["detectors, last LS (AUC, mean of 1 seed(s))"].columns) == [
        "GraphSTAD (RANDOM/No-TL)",
        "CNN + LSTM (no GNN)",
        "CNN only (no GNN, no LSTM)",
        "per-channel mean",
        "PCA (16 components)",
        "reference test (beta)",
    ]
    # 5. Table 5's pairs with the unpooled model: its own HE source, kept apart from the pooled pairs' tables
    unpooled = [Cell("transfer", 1, pair=p, dc=False) for p in ("RANDOM/No-TL", "TL-7/TL-6")]  # Table 5: share 1
    threads = torch.get_num_threads()
    try:
        with pytest.raises(FileNotFoundError, match=r"model_GraphSTAD_no_DC_s1"):
            run_cell(unpooled[0], TINY, out, threads=1)
        extra = [run_cell(c, TINY, out, threads=1) for c in (unpooled[0].source_cell(), *unpooled)]
    finally:
        torch.set_num_threads(threads)
        cell_module.hb_data.cache_clear()
    assert cell_module.source_path(out, 1, dc=False).exists() and cell_module.source_path(out, 1).exists()
    both = pd.concat([table, *extra], ignore_index=True)
    pooled = paper_scale.transfer_table(both).set_index("pair")
    assert pooled["seeds"].eq(1).all()  # the unpooled rows are not averaged in as a second seed
    assert pooled.at["TL-7/TL-6", "mean_mse"] == table.loc[table["cell"] == pairs[1].key, "test_mse"].iloc[0]
    no_dc = paper_scale.transfer_table(both, dc=False).set_index("pair")
    assert no_dc.at["TL-7/TL-6", "trainable_change_pct"] < pooled.at["TL-7/TL-6", "trainable_change_pct"] - 5
    assert paper_scale.unpooled_table(table).empty  # no unpooled cell
    t5 = paper_scale.unpooled_table(both)  # the pooled cells ran at share 0.5 only: no DC columns
    assert list(t5.index) == ["RANDOM/No-TL", "TL-7/TL-6"] and not any("(DC)" in c for c in t5.columns)
    assert t5.at["RANDOM/No-TL", "MSE change % (no DC)"] == 0 and t5.at["TL-7/TL-6", "paper block 1 %"] == -32.6
    assert (
        abs(t5.at["TL-7/TL-6", "trainable % (no DC)"] - t5.at["TL-7/TL-6", "paper trainable %"]) < 0.1
    )  # Table 5 sizes (chapter 4)
    # 6. a longer epoch budget: its own rows, never averaged with the preset's
    longer = Cell("transfer", 1, pair="TL-7/TL-6", fraction=0.5, epochs=2)
    threads = torch.get_num_threads()
    try:
        extra = run_cell(longer, TINY, out, threads=1)
    finally:
        torch.set_num_threads(threads)
        cell_module.hb_data.cache_clear()
    assert longer.key == "transfer_TL-7_TL-6_f0.5_constant_e2_s1"
    assert extra.at[0, "longer_epochs"] == 2 and extra.at[0, "epochs"] == 2 and (table["preset_epochs"] == 1).all()
    with_longer = pd.concat([table, extra], ignore_index=True)
    assert paper_scale.transfer_table(with_longer).equals(paper_scale.transfer_table(table))
    assert paper_scale.transfer_table(with_longer, longer=True)["pair"].tolist() == ["TL-7/TL-6"]


def test_plan_runs_table_5_with_the_unpooled_model_after_share_1_and_its_source_first():
    cells = sw.plan((3, 4, 5), seeds=(1, 2), fractions=(1.0, 0.1))
    keys = [c.key for c in cells]
    nodc = [i for i, c in enumerate(cells) if not c.dc]
    assert [cells[i].pair for i in nodc[: len(sw.UNPOOLED_PAIRS)]] == list(sw.UNPOOLED_PAIRS)
    assert keys.index("model_GraphSTAD_no_DC_s1") == nodc[0] - 1  # the source just before its pairs
    share_1 = [
        i
        for i, c in enumerate(cells)
        if c.kind == "transfer" and c.dc and c.fraction == 1.0 and not c.one_cycle and c.epochs is None
    ]
    limited = [i for i, c in enumerate(cells) if c.kind == "transfer" and c.fraction < 1.0]
    assert max(share_1) < nodc[0] and nodc[len(sw.UNPOOLED_PAIRS) - 1] < min(limited)
    assert min(i for i in nodc if cells[i].seed == 2) > keys.index("graphs_RANDOM_No-TL_s2")  # other seeds last
    assert all(c.fraction == 1.0 and not c.one_cycle for c in cells if not c.dc) and len(set(keys)) == len(keys)
    assert sw.plan((4,), fractions=(0.1,)) == [c for c in sw.plan((4,), fractions=(0.1,)) if c.dc]  # share 1 only
    assert "model_GraphSTAD_no_DC_s1" not in [c.key for c in sw.plan((3,))]  # not in chapter 3's comparison
    chosen = sw.plan((4,), seeds=(1,), pairs=["TL-7/TL-6", "TL-4/TL-2d"], fractions=(1.0,))
    assert [c.key for c in chosen if not c.dc] == ["transfer_TL-7_TL-6_f1_constant_nodc_s1"]  # only pairs asked for
    with pytest.raises(ValueError, match="False only for a transfer cell; got dc=False for a detection cell"):
        Cell("detection", 1, pair="RANDOM/No-TL", dc=False)
    with pytest.raises(ValueError, match=r"models: expected model names among"):
        sw.plan((3,), models=["GraphSTAD", "MLP"])
    longer = [i for i, c in enumerate(cells) if c.epochs is not None]
    assert [cells[i].key for i in longer[: len(sw.LONGER_PAIRS)]] == [  # seed 1 after its unpooled pairs
        Cell("transfer", 1, pair=p, epochs=sw.LONGER_EPOCHS).key for p in sw.LONGER_PAIRS
    ]
    assert nodc[len(sw.UNPOOLED_PAIRS) - 1] < longer[0] and longer[len(sw.LONGER_PAIRS) - 1] < min(limited)
    assert all(cells[i].seed == 2 for i in longer[len(sw.LONGER_PAIRS) :])
    assert [c.key for c in cells[longer[-1] + 1 :]] == ["rin_no_RIN_s1", "rin_no_RIN_s2"]  # the RIN ablation last
    assert not any(c.epochs for c in sw.plan((4,), seeds=(1,), longer_pairs=()))
    for bad in (0, 2.5, True):
        with pytest.raises(
            ValueError, match=f"epochs must be None or a positive int.*got epochs={bad!r} for a transfer"
        ):
            Cell("transfer", 1, pair="RANDOM/No-TL", epochs=bad)
        with pytest.raises(ValueError, match=f"longer_epochs must be a positive int, got {bad!r}"):
            sw.plan((4,), longer_epochs=bad)
    with pytest.raises(ValueError, match="set only for a transfer cell; got epochs=30 for a detection cell"):
        Cell("detection", 1, pair="RANDOM/No-TL", epochs=30)


def test_unpooled_table_sets_both_architectures_beside_the_paper():
    def row(pair, seed, mse, trainable, dc, fraction=1.0):
        return {
            "kind": "transfer",
            "pair": pair,
            "seed": seed,
            "fraction": fraction,
            "one_cycle": False,
            "dc": dc,
            "test_mse": mse,
            "trainable_change_pct": trainable,
        }

    rows = pd.DataFrame(
        [row("RANDOM/No-TL", s, 2.0, 0.0, dc) for s in (1, 2) for dc in (True, False)]
        + [row("TL-7/TL-6", s, 1.5, -89.0, True) for s in (1, 2)]
        + [row("TL-7/TL-6", 1, 1.0, -98.5, False), row("TL-4/TL-1", 1, 9.0, -1.0, True, 0.1)]
    )
    table = paper_scale.unpooled_table(rows)
    assert list(table.index) == ["RANDOM/No-TL", "TL-7/TL-6"]  # share 1 only; pairs of Table 5 and the reference
    assert (
        table.at["TL-7/TL-6", "MSE change % (DC)"] == -25.0 and table.at["TL-7/TL-6", "MSE change % (no DC)"] == -50.0
    )
    assert table.at["TL-7/TL-6", "seeds (DC)"] == 2 and table.at["TL-7/TL-6", "seeds (no DC)"] == 1
    assert {str(table[c].dtype) for c in ("seeds (DC)", "seeds (no DC)")} == {"Int64"}  # counts, shown as such
    assert (
        table.at["TL-7/TL-6", "trainable % (no DC)"] == -98.5 and table.at["TL-7/TL-6", "paper trainable %"] == -97.77
    )
    assert np.isnan(table.at["RANDOM/No-TL", "paper block 1 %"])
    text = paper_scale.facts(rows.assign(kind="transfer"))["paper_unpooled"]
    assert "1 of 1 Table 5 pairs finished so far beat RANDOM/No-TL" in text and "TL-7/TL-6 (-50.0 %" in text
    old = rows[rows["dc"]].drop(columns="dc")  # rows written before the unpooled cells existed: pooled
    assert paper_scale.unpooled_table(old).empty and len(paper_scale.transfer_table(old)) == 3
    # the order against block 1 (TL-7/TL-6 < TL-4/TL-2 < TL-4/No-TL): the unpooled seed 1 reverses it; the pooled
    # model follows it on seed 1 and reverses it on seed 2, which the unpooled model lacks and is left out
    ordered = pd.DataFrame(
        [
            row("RANDOM/No-TL", 1, 2.0, 0.0, False),
            row("RANDOM/No-TL", 1, 2.0, 0.0, True),
            row("RANDOM/No-TL", 2, 2.0, 0.0, True),
        ]
        + [row(p, 1, m, 0.0, False) for p, m in (("TL-7/TL-6", 1.8), ("TL-4/TL-2", 1.4), ("TL-4/No-TL", 1.0))]
        + [row(p, 1, m, 0.0, True) for p, m in (("TL-7/TL-6", 1.0), ("TL-4/TL-2", 1.2), ("TL-4/No-TL", 1.6))]
        + [row(p, 2, m, 0.0, True) for p, m in (("TL-7/TL-6", 1.9), ("TL-4/TL-2", 1.5), ("TL-4/No-TL", 0.2))]
    )
    assert paper_scale.facts(ordered)["paper_unpooled"].endswith(
        "Their order follows the paper's block 1 with Spearman's rank correlation -1.00 (the pooled model on the same "
        "pairs and seeds, seed(s) 1: 1.00)."
    )
    # a sweep still running: the unpooled TL-4/No-TL has seed 2 as well, the other unpooled pairs do not, so the
    # pooled model is compared pair by pair over the same seeds (seed 2 of the pooled TL-7/TL-6 and TL-4/TL-2 left
    # out: with it, their order would be the reverse of block 1, -1.00)
    running = pd.concat(
        [ordered, pd.DataFrame([row("RANDOM/No-TL", 2, 2.0, 0.0, False), row("TL-4/No-TL", 2, 1.0, 0.0, False)])]
    )
    assert paper_scale.facts(running)["paper_unpooled"].endswith(
        "(the pooled model on the same pairs and seeds, seed(s) 1, 2 for 1 pair(s) and 1 for 2 so far: -0.50)."
    )


def test_budget_table_and_sentence_say_whether_the_preset_budget_converged():
    def row(pair, seed, mse, budget, curve):
        return {
            "kind": "transfer",
            "pair": pair,
            "seed": seed,
            "fraction": 1.0,
            "one_cycle": False,
            "dc": True,
            "test_mse": mse,
            "trainable_change_pct": 0.0,
            "preset_epochs": 3,
            "longer_epochs": budget,
            "epochs": len(curve),
            "best_epoch": int(np.argmin(curve)),
            "val_curve": json.dumps(curve),
        }

    still, flat = [3.0, 2.0, 1.0], [3.0, 1.0, 1.5]
    rows = pd.DataFrame(
        [
            row("RANDOM/No-TL", 1, 2.0, np.nan, still),
            row("TL-4/TL-2", 1, 1.0, np.nan, still),
            row("TL-4/TL-1", 1, 1.5, np.nan, flat),
            row("RANDOM/No-TL", 1, 1.0, 9, flat + [1.2] * 3),
            row("TL-4/TL-2", 1, 0.9, 9, still * 2),
        ]
    )
    table = paper_scale.budget_table(rows)
    assert list(table.index) == ["RANDOM/No-TL", "TL-4/TL-2"]
    assert table.at["TL-4/TL-2", "change % (3 epochs)"] == -50.0
    assert table.at["TL-4/TL-2", "change % (9 epochs)"] == pytest.approx(-10.0)
    assert table.at["RANDOM/No-TL", "epochs run"] == 6 and table.at["TL-4/TL-2", "seeds (9 epochs)"] == 1
    text = paper_scale.facts(rows)["paper_budget"]
    assert "2 of 3 paper-scale transfer cells had their best validation error at the last epoch" in text
    assert "lowered it by a median 50.0 %" in text and "not converged ones" in text
    assert "With 9 epochs, TL-4/TL-2 goes from -50.0 % to -10.0 % against RANDOM/No-TL" in text
    assert paper_scale.budget_table(rows[rows["longer_epochs"] != 9]).empty
    older = paper_scale.transfer_table(rows.drop(columns="longer_epochs")).set_index("pair")  # no column: preset's
    assert older.at["RANDOM/No-TL", "mean_mse"] == 1.5
    assert "levelled off" in paper_scale.facts(rows.iloc[[2]])["paper_budget"]
    seed2 = pd.concat(
        [rows, pd.DataFrame([row("RANDOM/No-TL", 2, 4.0, np.nan, still), row("TL-4/TL-2", 2, 1.0, np.nan, still)])]
    )
    same = paper_scale.budget_table(seed2)  # seed 2 has no longer cells: left out of the preset's column too
    assert same.at["TL-4/TL-2", "change % (3 epochs)"] == -50.0 and same.at["TL-4/TL-2", "seeds (3 epochs)"] == 1
    one = rows.iloc[[0]].assign(preset_epochs=1, epochs=1, best_epoch=0, val_curve="[3.0]")
    assert (
        "had their best validation error at the last epoch, a one-epoch budget"
        in paper_scale.facts(one)["paper_budget"]
    )


def test_the_repair_sentence_sets_tl_2d_and_its_repairs_beside_tables_3_and_4():
    def row(pair, seed, mse, fraction=1.0):
        return {
            "kind": "transfer",
            "pair": pair,
            "seed": seed,
            "fraction": fraction,
            "one_cycle": False,
            "dc": True,
            "test_mse": mse,
            "trainable_change_pct": 0.0,
        }

    rows = pd.DataFrame(
        [row("RANDOM/No-TL", s, 1.0) for s in (1, 2)]
        + [row("TL-4/TL-2d", s, 10.0 * s) for s in (1, 2)]
        + [row("TL-4/TL-2d[BN]", 1, 2.0), row("TL-4/TL-2d", 1, 3.0, 0.1)]
    )
    text = paper_scale.facts(rows)["paper_repair"]
    assert text.startswith(
        "At paper scale and 100 % of the HB training windows, the frozen HE decoder (TL-4/TL-2d) "
        "has 15.0 times RANDOM/No-TL's error (paper: 45.5 times, Table 3's average), between 10.0 "
        "and 20.0 times seed by seed"
    )
    # [BN] against TL-2d's seed 1 (10.0), the only seed both have, not against its two-seed mean 15.0
    assert "TL-4/TL-2d[BN] cuts TL-2d's error by 80 % (paper 53 %)" in text and "[BN,BIAS]" not in text
    assert text.endswith("(2 seed(s) of TL-2d).")
    comparison = paper_scale.comparison_table(rows)  # the largest share, the same shared-seed rule
    assert comparison.at["TL-4/TL-2d[BN]", "ours_vs_TL-2d"] == pytest.approx(-80.0)
    assert comparison.at["TL-4/TL-2d", "ours_mean_change"] == pytest.approx(1400.0)
    assert paper_scale.comparison_table(rows.assign(kind="model")).empty
    assert paper_scale.comparison_table(pd.DataFrame([{"kind": "model", "test_mse": 1.0}])).empty
    assert "have not both finished" in paper_scale.facts(rows[rows["pair"] != "RANDOM/No-TL"])["paper_repair"]


def test_the_models_sentence_says_which_model_is_better_and_whether_beyond_the_seeds_spread():
    rows = pd.DataFrame(
        [
            {
                "kind": "model",
                "model": m,
                "seed": s,
                "test_mse": mse + 0.01 * s,
                "parameters": 1,
                "epochs": 10,
                "train_seconds": 1.0,
            }
            for m, mse in (("GraphSTAD", 1.0), ("CNN + LSTM", 1.005), ("CNN only", 0.5))
            for s in (1, 2)
        ]
    )
    text = paper_scale.facts(rows)["paper_models"]
    assert "the GNN's error is lower, but within the spread over seeds" in text
    assert (
        "the GNN does not earn its cost: 1.0 times the CNN + LSTM's training time (as measured), and no lower "
        "error beyond the spread over seeds"
    ) in text
    better = rows.assign(
        test_mse=np.where(rows["model"] == "GraphSTAD", 0.8, rows["test_mse"]),
        train_seconds=np.where(rows["model"] == "GraphSTAD", 3.0, 1.0),
    )
    assert (
        "the GNN earns its cost: a lower error beyond the spread over seeds, for 3.0 times the CNN + LSTM's "
        "training time"
    ) in paper_scale.facts(better)["paper_models"]
    assert "GraphSTAD's error is higher, by more than the spread over seeds" in text and "Without DC" not in text
    unpooled = pd.concat(
        [
            rows,
            pd.DataFrame(
                [
                    {
                        "kind": "model",
                        "model": "GraphSTAD (no DC)",
                        "seed": 1,
                        "test_mse": 1.3,
                        "parameters": 6,
                        "epochs": 10,
                        "train_seconds": 2.0,
                    }
                ]
            ),
        ]
    )
    assert paper_scale.facts(unpooled)["paper_models"].endswith(
        "Without DC, in the sizes of the paper's Table 5 (6.0 times the parameters), GraphSTAD reaches 1.3 (1 "
        "seed(s)): "
        "the pooled model's error is lower."
    )


def test_the_transfer_sentence_counts_gains_beyond_the_seeds_spread_and_ranks_them_against_table_5():
    def row(pair, seed, mse, fraction=1.0):
        return {
            "kind": "transfer",
            "pair": pair,
            "seed": seed,
            "fraction": fraction,
            "one_cycle": False,
            "dc": True,
            "test_mse": mse,
            "trainable_change_pct": 0.0,
        }

    rows = pd.DataFrame(
        [
            row("RANDOM/No-TL", 1, 2.0),
            row("RANDOM/No-TL", 2, 2.2),
            row("TL-4/No-TL", 1, 1.0),
            row("TL-4/No-TL", 2, 1.1),  # -50 %, clearly
            row("TL-4/TL-1", 1, 1.8),
            row("TL-4/TL-1", 2, 2.3),  # -2.4 %, within the spread
            row("TL-4/TL-2", 1, 0.5),
            row("TL-7/TL-6", 1, 0.8),
            row("TL-4/TL-2d", 1, 9.0),
        ]
    )
    text = paper_scale.facts(rows)["paper_transfer"]
    assert text.startswith(
        "At paper scale and 100 % of the HB training windows, 4 of 5 transfer pairs beat "
        "RANDOM/No-TL (1 of the 2 with several seeds by more than the spread over seeds); "
        "the best is TL-4/TL-2 (-75.0 %, 1 seed(s))."
    )  # against RANDOM/No-TL's seed 1 only
    # paper block 1: TL-7/TL-6 -32.6 < TL-4/TL-2 -29.8 < TL-4/TL-1 -19.5 < TL-4/No-TL -16.9; ours swaps both neighbours
    assert "Over the 4 pairs of the paper's Table 5 finished so far" in text
    assert "Spearman's rank correlation 0.60" in text and "its best pair is TL-7/TL-6, ours TL-4/TL-2" in text
    ratios = sorted([-50 / -16.9, (2.05 / 2.1 - 1) * 100 / -19.5, -75 / -29.8, -60 / -32.6])
    assert f"a median {(ratios[1] + ratios[2]) / 2:.1f} times the paper's" in text
    # the spread over seeds of the per-seed change: TL-4/No-TL -50 and -50 % (sd 0), TL-4/TL-1 -10 and +4.5 %
    changes = paper_scale.changes_vs_paper(rows)
    assert changes.loc["TL-4/TL-1", "sd over seeds"] == pytest.approx(np.std([-10.0, 100 * (2.3 / 2.2 - 1)], ddof=1))
    assert changes.loc["TL-4/No-TL", "sd over seeds"] == pytest.approx(0.0) and changes.loc["TL-4/TL-2", "seeds"] == 1
    assert changes.loc["TL-4/TL-1", "ours %"] == pytest.approx(100 * (2.05 / 2.1 - 1))
    assert "TL-4/TL-2d" not in changes.index and "RANDOM/No-TL" not in changes.index  # Table 5's pairs only
    assert paper_scale.changes_vs_paper(rows, dc=False).empty  # no unpooled cell here
    unpooled = paper_scale.changes_vs_paper(rows.assign(dc=False), dc=False)
    assert unpooled["ours %"].tolist() == pytest.approx(changes["ours %"].tolist())
    assert text.endswith(
        "For 0 of the 2 with several seeds the paper's value lies within one standard deviation of our "
        "per-seed changes."
    )
    wider = rows.copy()  # TL-4/TL-1 at -20 and 0 %: mean -9.5 %, sd 14.1, paper -19.5 within it
    wider.loc[wider["pair"] == "TL-4/TL-1", "test_mse"] = [1.6, 2.2]
    assert "For 1 of the 2 with several seeds" in paper_scale.facts(wider)["paper_transfer"]
    assert paper_scale.changes_vs_paper(rows[rows["pair"] != "RANDOM/No-TL"]).empty
    limited = paper_scale.facts(rows.assign(fraction=0.25))["paper_transfer"]
    assert "25 % of the HB training windows" in limited and "Table 5" not in limited  # block 1 is share 1 only


def test_the_shares_sentence_compares_the_same_pairs_at_every_share():
    def row(pair, mse, fraction):
        return {
            "kind": "transfer",
            "pair": pair,
            "seed": 1,
            "fraction": fraction,
            "one_cycle": False,
            "dc": True,
            "test_mse": mse,
            "trainable_change_pct": 0.0,
        }

    rows = pd.DataFrame(
        [row("RANDOM/No-TL", 2.0, f) for f in (0.05, 1.0)]
        + [
            row("TL-4/TL-1", 1.0, 0.05),
            row("TL-4/TL-1", 1.5, 1.0),  # -50 %, then -25 %
            row("TL-4/TL-3", 1.2, 0.05),
            row("TL-4/TL-3", 1.4, 1.0),  # -40 %, then -30 %
            row("TL-7/TL-6", 0.1, 1.0),  # share 1 only: left out
            row("TL-4/TL-2d", 9.0, 0.05),
            row("TL-4/TL-2d", 9.0, 1.0),
        ]
    )  # the frozen decoder: left out
    text = paper_scale.facts(rows)["paper_shares"]
    assert "over the 2 pair(s) finished at every share (TL-4/TL-1, TL-4/TL-3)" in text
    assert "the median change against RANDOM/No-TL is -45.0 % with 5 %, -27.5 % with 100 %" in text
    assert text.endswith("the gain grows as the data shrinks, as the paper says.")
    flipped = rows.assign(
        test_mse=np.where((rows["fraction"] == 1.0) & (rows["pair"] != "RANDOM/No-TL"), 0.2, rows["test_mse"])
    )
    assert paper_scale.facts(flipped)["paper_shares"].endswith("does not grow steadily as the data shrinks.")
    assert "not finished at two shares" in paper_scale.facts(rows[rows["fraction"] == 1.0])["paper_shares"]


def test_the_one_cycle_sentence_sets_table_6_beside_the_constant_rate():
    def row(pair, seed, mse, one_cycle):
        return {
            "kind": "transfer",
            "pair": pair,
            "seed": seed,
            "fraction": 1.0,
            "one_cycle": one_cycle,
            "dc": True,
            "test_mse": mse,
            "trainable_change_pct": 0.0,
        }

    rows = pd.DataFrame(
        [
            row("RANDOM/No-TL", 1, 2.0, False),
            row("RANDOM/No-TL", 2, 4.0, False),
            row("TL-4/No-TL", 1, 1.0, False),
            row("RANDOM/No-TL", 1, 1.0, True),
            row("TL-4/No-TL", 1, 0.9, True),
        ]
    )
    assert "have not finished yet" in paper_scale.facts(rows[~rows["one_cycle"]])["paper_one_cycle"]
    text = paper_scale.facts(rows)["paper_one_cycle"]
    assert text.startswith(
        "With one-cycle scheduling (Table 6) at 100 % of the HB training windows, 1 of 1 pairs "
        "beat the one-cycle RANDOM/No-TL: TL-4/No-TL -10.0 % (paper -4.0 %, ours at a constant "
        "rate -50.0 %)."
    )
    assert text.endswith(
        "One-cycle changes RANDOM/No-TL's own error by -50.0 % against the constant rate (1 seed(s) run with both)."
    )  # seed 1 only: 1.0 against 2.0, not against the mean 3.0


def test_the_one_cycle_sentence_says_why_one_cycle_can_hurt_within_an_unconverged_budget():
    def row(pair, mse, one_cycle, best_epoch):
        return {
            "kind": "transfer",
            "pair": pair,
            "seed": 1,
            "fraction": 1.0,
            "one_cycle": one_cycle,
            "dc": True,
            "test_mse": mse,
            "trainable_change_pct": 0.0,
            "epochs": 10,
            "best_epoch": best_epoch,
            "val_curve": json.dumps([1.0] * 10),
            "n_train_windows": 400,
        }

    rows = pd.DataFrame(
        [
            row("RANDOM/No-TL", 2.0, False, 9),
            row("RANDOM/No-TL", 4.0, True, 9),  # one-cycle: +100 %
            row("TL-4/No-TL", 1.0, False, 9),
            row("TL-4/No-TL", 1.0, True, 5),  # -50 %, then -75 %
            row("TL-4/TL-1", 0.5, False, 9),
        ]
    )  # not in Table 6: not counted
    text = paper_scale.facts(rows)["paper_one_cycle"]
    assert "One-cycle changes RANDOM/No-TL's own error by +100.0 % against the constant rate" in text
    assert (
        "3 of the 4 cells of these pairs (both schedules) had their best validation error at the last epoch, and "
        "the one-cycle rate averages 51 % of its peak"
    ) in text
    assert text.endswith(
        "That widens the gap to RANDOM/No-TL (1 of 1 pairs gain more than at a constant rate), where "
        "the paper's gaps shrink under one-cycle."
    )
    milder = rows.assign(test_mse=np.where(rows["one_cycle"] & (rows["pair"] == "TL-4/No-TL"), 3.0, rows["test_mse"]))
    text = paper_scale.facts(milder)["paper_one_cycle"]  # -25 % against -50 %: the gap narrows
    assert "one-cycle trains less" in text and "widens" not in text
    assert (
        "trains less"
        not in paper_scale.facts(
            rows.assign(test_mse=np.where(rows["one_cycle"] & (rows["pair"] == "RANDOM/No-TL"), 1.5, rows["test_mse"]))
        )["paper_one_cycle"]
    )


def test_gitignore_keeps_exactly_the_targets_chapter_5_scores():
    """The .gitignore names the kept HB models by hand; they must stay those of sweep.DETECTION_PAIRS."""
    from pathlib import Path

    lines = (Path(__file__).resolve().parents[1] / ".gitignore").read_text().splitlines()
    kept = {line for line in lines if line.startswith("!results/paper/targets/")}
    expected = {
        "!results/paper/targets/" + Cell("transfer", 1, pair=p).key.replace("_s1", "_s*") + ".pt"
        for p in sw.DETECTION_PAIRS
    }
    assert kept == expected


def test_the_rin_cell_fine_tunes_tl_2d_without_row_normalisation_and_its_table_sets_it_beside_rin(tmp_path):
    """A real ``rin`` cell (tiny data, one epoch): the pairs of RIN_PAIRS from an HE source without RIN; then the
    table and the sentence from hand-built rows of both architectures."""
    assert [c.key for c in sw.plan((4,), seeds=(1,), kinds=["rin"])] == ["rin_no_RIN_s1"]  # needs no other cell
    assert not [c for c in sw.plan((4,), seeds=(1,), rin=False) if c.kind == "rin"]
    assert not [c for c in sw.plan((4,), seeds=(1,), fractions=(0.1,)) if c.kind == "rin"]  # share 1 only
    rows = run_cell(Cell("rin", 1), TINY, tmp_path, threads=1)
    assert rows["pair"].tolist() == list(cell_module.RIN_PAIRS) and not rows["rin"].any()
    assert (rows["kind"] == "rin").all() and (rows["chapter"] == 4).all() and rows["test_mse"].gt(0).all()
    assert rows["he_test_mse"].nunique() == 1 and not list((tmp_path / "partial").glob("*"))  # one source, state gone
    assert paper_scale.transfer_table(rows.assign(dc=True)).empty  # never mixed into the transfer tables

    def row(kind, pair, seed, mse):
        return {
            "kind": kind,
            "pair": pair,
            "seed": seed,
            "fraction": 1.0,
            "one_cycle": False,
            "dc": True,
            "test_mse": mse,
            "trainable_change_pct": 0.0,
        }

    table_rows = pd.DataFrame(
        [row("transfer", "RANDOM/No-TL", s, 1.0) for s in (1, 2)]
        + [row("transfer", "TL-4/TL-2d", s, 2.0) for s in (1, 2)]
        + [
            row("transfer", "TL-4/TL-2d[BN]", 1, 1.2),
            row("rin", "RANDOM/No-TL", 1, 4.0),
            row("rin", "TL-4/TL-2d", 1, 40.0),
            row("rin", "TL-4/TL-2d[BN]", 1, 6.0),
            row("rin", "TL-4/TL-2d", 3, 1.0),
        ]
    )  # seed 3: no RIN only, left out
    table = paper_scale.rin_table(table_rows)
    assert table.at["TL-4/TL-2d", "× RANDOM/No-TL (no RIN)"] == pytest.approx(10.0)
    assert table.at["TL-4/TL-2d", "× RANDOM/No-TL (RIN)"] == pytest.approx(2.0)  # seed 1 only, the seed both have
    assert table.at["TL-4/TL-2d", "seeds (RIN)"] == 1 and table.at["TL-4/TL-2d[BN]", "test MSE (no RIN)"] == 6.0
    text = paper_scale.facts(table_rows)["paper_rin"]
    assert "seed by seed" not in text  # one seed: no range
    two = pd.concat(
        [
            table_rows,
            pd.DataFrame(
                [
                    row("transfer", "TL-4/TL-2d[BN]", 2, 1.2),
                    row("rin", "RANDOM/No-TL", 2, 2.0),
                    row("rin", "TL-4/TL-2d", 2, 40.0),
                ]
            ),
        ]
    )
    assert (
        "seed by seed 10.0 to 20.0 times without it and 2.0 to 2.0 times with it):"
        in paper_scale.facts(two)["paper_rin"]
    )
    assert text.startswith(
        "Without RIN, the frozen HE decoder (TL-4/TL-2d) has 10.0 times RANDOM/No-TL's error, "
        "against 2.0 times with it (paper: 45.5 times; 1 seed(s)"
    )
    assert "explains much of why" in text and "1.50 times without RIN and 1.20 times with it." in text
    assert text.endswith("RANDOM/No-TL's HB test MSE is 4 without RIN and 1 with it, 4 times higher without it.")
    assert "has not finished" in paper_scale.facts(table_rows[table_rows["kind"] == "transfer"])["paper_rin"]
    assert paper_scale.rin_table(table_rows[table_rows["seed"] == 3]).empty  # no seed with both


def test_chapter_5_sentences_set_table_7_and_contamination_beside_the_paper_seed_by_seed():
    cases = [c[0] for c in ds.CASES]

    def boxes(kind, pair, seed, mild, others=1.0, rate=0.0):
        return [
            {
                "kind": kind,
                "experiment": "boxes",
                "pair": pair,
                "seed": seed,
                "rate": rate,
                "n_anomalies": 1000,
                "case": case,
                "AUC": mild if case == cases[0] else others,
            }
            for case in cases
        ]

    rows = pd.DataFrame(  # TL-7/TL-6 better on the mild case in both seeds, by 0.004 and 0.006
        boxes("detection", "RANDOM/No-TL", 1, 0.990)
        + boxes("detection", "RANDOM/No-TL", 2, 0.992)
        + boxes("detection", "TL-7/TL-6", 1, 0.994)
        + boxes("detection", "TL-7/TL-6", 2, 0.998)
        + boxes("detection", "TL-4/TL-3", 1, 0.95, others=0.9)  # one seed only; its hardest case is another
        + [
            {
                "kind": "detection",
                "experiment": "single channels",
                "pair": "RANDOM/No-TL",
                "seed": 1,
                "rate": 0.0,
                "n_anomalies": 1000,
                "case": cases[0],
                "AUC": 0.5,
            }
        ]
    )  # single channels never enter Table 7
    table = paper_scale.table7_table(rows)
    assert table.index.tolist() == cases and table.at[cases[0], ("RANDOM/No-TL", "mean")] == pytest.approx(0.991)
    assert table.at[cases[0], ("TL-4/TL-3", "seeds")] == 1 and pd.isna(table.at[cases[0], ("TL-4/TL-3", "sd")])
    assert table.at[cases[0], ("paper", "TL-7/TL-6")] == 0.996
    text = paper_scale.facts(rows)["paper_detection"]
    assert text.startswith(
        "Over 2 seed(s) at paper scale (1000 anomalous windows per fault), 14 of the 14 AUCs of "
        "Table 7 run so far (RANDOM/No-TL and TL-7/TL-6) come within 0.01 of the paper's."
    )
    assert "shorter training does not explain" not in text
    assert "RANDOM/No-TL 0.991 ± 0.0014, TL-7/TL-6 0.996 ± 0.0028, TL-4/TL-3 0.950 (paper: 0.993 for" in text
    assert "not the hardest case for TL-4/TL-3 (degraded ×0.6)" in text
    assert "TL-7/TL-6 minus RANDOM/No-TL is +0.0050 ± 0.0014 (seed by seed, 2 seeds): beyond twice" in text
    assert "On it TL-7/TL-6 minus RANDOM/No-TL" in text and "as the paper finds transfer to help." in text
    assert text.endswith(
        "Averaged over the 7 cases, the transferred pairs minus RANDOM/No-TL are TL-7/TL-6 +0.0007 ± "
        "0.0002 in mean AUC (seed by seed): 1 of 1 beyond twice the seeds' spread, so transfer helps "
        "to detect faults, as the paper finds."
    )  # TL-4/TL-3 has one seed: no spread, left out
    worse = rows.assign(AUC=np.where((rows["pair"] == "TL-7/TL-6") & (rows["case"] != cases[0]), 0.95, rows["AUC"]))
    assert paper_scale.facts(worse)["paper_detection"].endswith(
        "1 of 1 beyond twice the seeds' spread, 1 of them worse than training from scratch."
    )
    noisy = rows.assign(
        AUC=np.where(
            (rows["pair"] == "TL-7/TL-6") & (rows["seed"] == 2) & (rows["case"] == cases[0]), 0.980, rows["AUC"]
        )
    )  # now -0.010 and +0.004: the spread swallows it
    assert (
        "within twice the seeds' spread, too small to call (the paper's gain is +0.003)"
        in paper_scale.facts(noisy)["paper_detection"]
    )
    low = rows.assign(AUC=np.where((rows["pair"] == "RANDOM/No-TL") & (rows["case"] == cases[0]), 0.93, rows["AUC"]))
    text = paper_scale.facts(low[low["pair"] == "RANDOM/No-TL"])["paper_detection"]
    assert "6 of the 7 AUCs of Table 7 run so far (RANDOM/No-TL) come within 0.01" in text
    assert "below the paper's by more than 0.01 for RANDOM/No-TL even with the paper's data and epochs" in text
    # contamination: RANDOM/No-TL loses 0.1-0.11 of the mild case's AUC at 20 %, TL-7/TL-6 0.001
    dirty = pd.DataFrame(
        boxes("contamination", "RANDOM/No-TL", 1, 0.890, rate=0.2)
        + boxes("contamination", "RANDOM/No-TL", 2, 0.882, rate=0.2)
        + boxes("contamination", "TL-7/TL-6", 1, 0.993, rate=0.2)
        + boxes("contamination", "TL-7/TL-6", 2, 0.997, rate=0.2)
        + boxes("contamination", "TL-7/TL-6", 3, 0.5, rate=0.2)
    )  # no clean cell: not in the loss
    assert "No paper-scale contamination cell" in paper_scale.facts(rows)["paper_contamination"]
    both = pd.concat([rows, dirty])
    cont = paper_scale.contamination_table(both)
    assert cont.index.tolist() == [("RANDOM/No-TL", 0.0), ("RANDOM/No-TL", 0.2), ("TL-7/TL-6", 0.0), ("TL-7/TL-6", 0.2)]
    assert cont.at[("RANDOM/No-TL", 0.2), "loss"] == pytest.approx(0.105 / 7)
    assert cont.at[("TL-7/TL-6", 0.2), "seeds"] == 3 and cont.at[("TL-7/TL-6", 0.2), "loss"] == pytest.approx(0.001 / 7)
    text = paper_scale.facts(both)["paper_contamination"]
    assert cont.at[("TL-7/TL-6", 0.2), "paired seeds"] == 2 and cont.at[("RANDOM/No-TL", 0.2), "mild AUC"] == 0.886
    assert text == (
        "Contaminating the HB training windows costs, in mean box AUC / the mildest degradation (each seed "
        "against itself trained clean): at 20 %, RANDOM/No-TL 0.015 ± 0.001 / 0.105 ± 0.007 and TL-7/TL-6 "
        "0.000 ± 0.000 / 0.001 ± 0.000 (2 seed(s)). The paper claims that transfer mitigates contamination: "
        "TL-7/TL-6 loses more mean box AUC than RANDOM/No-TL at 0 of 1 rate(s). Beyond twice the seeds' "
        "spread, at the 1 rate(s) with several seeds, TL-7/TL-6 loses more at none and less at 1 (20 %) in "
        "mean box AUC, and more at none and less at 1 (20 %) on the mildest degradation: where the seeds "
        "can tell, the paper's claim holds here. Seed by seed, TL-7/TL-6 loses more mean box AUC than "
        "RANDOM/No-TL in 0 of 2 (seed, rate) comparison(s) (its loss minus RANDOM/No-TL's: -0.016 to "
        "-0.014); a two-sided sign test gives p = 0.5."
    )  # seed 3 has no clean cell: not compared
    one_seed = paper_scale.facts(both[both["seed"] == 1])["paper_contamination"]
    assert one_seed.endswith("at 0 of 1 rate(s), but with one seed per rate that cannot tell.")
    # TL-7/TL-6 now loses 0.2 on the mild case in both seeds; a 5 % cell of seed 1 alone adds a rate without a verdict
    worse = pd.concat(
        [
            both.assign(
                AUC=np.where(
                    (both["pair"] == "TL-7/TL-6") & (both["kind"] == "contamination") & (both["case"] == cases[0]),
                    both["AUC"] - 0.2,
                    both["AUC"],
                )
            ),
            pd.DataFrame(
                boxes("contamination", "TL-7/TL-6", 1, 0.99, rate=0.05)
                + boxes("contamination", "RANDOM/No-TL", 1, 0.99, rate=0.05)
            ),
        ]
    )
    text = paper_scale.facts(worse)["paper_contamination"]
    assert "at 5 %, RANDOM/No-TL 0.000 / 0.000 and TL-7/TL-6 0.001 / 0.004 (1 seed(s)); at 20 %" in text
    assert (
        "and more at 1 (20 %) and less at none on the mildest degradation: where the seeds can tell, "
        "the transferred model loses more to contamination, not less." in text
    )
    assert text.endswith(
        "in 3 of 3 (seed, rate) comparison(s) (its loss minus RANDOM/No-TL's: +0.001 to +0.014); a "
        "two-sided sign test gives p = 0.25."
    )  # 5 % (seed 1): +0.0006; 20 %: +0.014 and +0.013
    tied = worse[~((worse["pair"] == "TL-7/TL-6") & (worse["rate"] == 0.05))]  # 5 %: both lose nothing
    tied = pd.concat([tied, pd.DataFrame(boxes("contamination", "TL-7/TL-6", 1, 0.994, rate=0.05))])
    assert paper_scale.facts(tied)["paper_contamination"].endswith(
        "in 2 of 2 (seed, rate) comparison(s) (its loss minus RANDOM/No-TL's: +0.013 to +0.014, 1 tie(s) left out); "
        "a two-sided sign test gives p = 0.5."
    )
    assert "more mean box AUC than RANDOM/No-TL at 2 of 2 rate(s)" in text
    close = pd.DataFrame(
        [
            r
            for pair, dirty_mild in (("RANDOM/No-TL", (0.95, 0.97)), ("TL-7/TL-6", (0.945, 0.98)))
            for seed, mild in zip((1, 2), dirty_mild)
            for r in boxes("detection", pair, seed, 0.99) + boxes("contamination", pair, seed, mild, rate=0.1)
        ]
    )
    assert paper_scale.facts(close)["paper_contamination"].endswith(  # losses 0.030 and 0.0275, spreads 0.014 and 0.025
        "and more at none and less at none on the mildest degradation: too close to call. Seed by seed, TL-7/TL-6 "
        "loses more mean box AUC than RANDOM/No-TL in 1 of 2 (seed, rate) comparison(s) (its loss minus "
        "RANDOM/No-TL's: -0.001 to +0.001); a two-sided sign test gives p = 1."
    )
    assert "No paper-scale comparison cell" in paper_scale.facts(both)["paper_detectors"]


def test_the_single_channel_sentence_sets_each_transferred_pair_against_random_seed_by_seed():
    def row(pair, seed, auc, case="degraded ×0.8"):
        return {
            "kind": "detection",
            "experiment": "single channels",
            "pair": pair,
            "seed": seed,
            "case": case,
            "AUC": auc,
            "n_anomalies": 1000,
            "rate": 0.0,
        }

    rows = pd.DataFrame(
        [
            row("RANDOM/No-TL", 1, 0.90),
            row("RANDOM/No-TL", 2, 0.92),
            row("TL-7/TL-6", 1, 0.85),
            row("TL-7/TL-6", 2, 0.80),  # -0.05 and -0.12
            row("TL-4/No-TL", 1, 0.91),
            row("TL-4/No-TL", 2, 0.90),  # +0.01 and -0.02
            row("TL-4/TL-3", 1, 0.10, case="dead"),
        ]
    )  # another case: not in the sentence
    text = paper_scale.facts(rows)["paper_single"]
    assert text == (
        "With one channel broken at a time (a test the paper does not run), the mildest degradation (×0.8) "
        "gives RANDOM/No-TL 0.910 ± 0.014 over 2 seed(s); the transferred pairs minus it, seed by seed: "
        "TL-7/TL-6 -0.085 ± 0.049 (lower in 2 of 2 seeds), TL-4/No-TL -0.005 ± 0.021 (lower in 1 of 2 "
        "seeds). TL-7/TL-6 find a single faint channel worse than training from scratch in every seed, "
        "though by amounts that vary between seeds as much as their mean."
    )
    steady = rows.assign(AUC=np.where((rows["pair"] == "TL-7/TL-6") & (rows["seed"] == 2), 0.86, rows["AUC"]))
    assert paper_scale.facts(steady)["paper_single"].endswith("worse than training from scratch in every seed.")
    assert paper_scale.facts(rows[rows["pair"] != "RANDOM/No-TL"])["paper_single"].startswith("No paper-scale")


def test_each_chapter_section_shows_its_tables_and_figure_only_once_its_cells_exist(capsys):
    import matplotlib.pyplot as plt

    cases = [c[0] for c in ds.CASES]
    rows = pd.DataFrame(
        [
            {
                "kind": kind,
                "experiment": "boxes",
                "pair": pair,
                "seed": seed,
                "rate": rate,
                "n_anomalies": 10,
                "case": case,
                "AUC": 1.0 - 0.01 * i * (1 + rate) - 0.001 * seed,
                "device": "cpu",
            }
            for kind, rate in (("detection", 0.0), ("contamination", 0.2))
            for pair in ("RANDOM/No-TL", "TL-7/TL-6")
            for seed in (1, 2)
            for i, case in enumerate(cases)
        ]
        + [
            {
                "kind": "detection",
                "experiment": "single channels",
                "pair": "RANDOM/No-TL",
                "seed": seed,
                "rate": 0.0,
                "n_anomalies": 10,
                "case": "dead",
                "AUC": 0.9 + 0.02 * seed,
                "device": "cpu",
            }
            for seed in (1, 2)
        ]
    )
    rows = rows.assign(
        cell=[f"{k}_{p}_s{s}_{e}" for k, p, s, e in rows[["kind", "pair", "seed", "experiment"]].values],
        commit="abc1234",
        finished_at="2026-12-03T08:00:00+00:00",
        simulator="sim-test",
    )
    control = "GraphSTAD (RANDOM/No-TL)"
    # before any cell: every sentence the chapter glues, no table, no figure, and a line saying so
    for section, prefix in (
        (paper_scale.chapter3(None), "c3_"),
        (paper_scale.chapter4(None), "c4_"),
        (paper_scale.chapter5(None, control), "c5_"),
    ):
        assert section.facts and all(k.startswith(prefix) for k in section.facts)
        assert section.tables == {} and section.figure() is None
        section.show()
        assert capsys.readouterr().out.startswith("no paper-scale")
    five = paper_scale.chapter5(rows, control)
    assert set(five.facts) == {
        "c5_paper_detection",
        "c5_paper_single",
        "c5_paper_detectors",
        "c5_paper_contamination",
        "c5_paper_graph_seeds",
        "c5_paper_claims",
    }
    assert list(five.tables) == [
        "Table 7: box AUC over seeds, beside the paper",
        "single channels: AUC, mean over seeds",
        "contaminated training data: box AUC and its loss, seed by seed",
        "the papers' claims at paper scale",
    ]  # no comparison yet
    table7 = five.tables["Table 7: box AUC over seeds, beside the paper"]
    full = paper_scale.table7_table(rows)  # the shown Table 7 is the full one without its min and max
    assert list(table7.columns) == [c for c in full.columns if c[1] not in ("min", "max")]
    pd.testing.assert_frame_equal(table7, full[table7.columns])
    assert five.tables["single channels: AUC, mean over seeds"].at["dead", "RANDOM/No-TL"] == pytest.approx(0.93)
    pd.testing.assert_frame_equal(
        five.tables["contaminated training data: box AUC and its loss, seed by seed"],
        paper_scale.contamination_table(rows),
    )
    dirty_only = paper_scale.detection_tables(rows[rows["kind"] == "contamination"])  # no clean cell: no Table 7
    assert list(dirty_only) == ["contaminated training data: box AUC and its loss, seed by seed"]
    five.show()
    out = capsys.readouterr().out
    assert out.startswith("paper scale: 10 cells finished 2026-12-03 at abc1234, devices ['cpu'], simulator sim-test")
    assert "single channels" in out
    fig = five.figure()
    assert len(fig.axes) == 2  # Table 7, and AUC against the contaminated share
    plt.close("all")
    # chapter 3 and 4 sections of rows with no model or transfer cell: no table, no figure
    assert paper_scale.chapter3(rows).tables == {} and paper_scale.chapter4(rows).figure() is None


def test_progress_table_counts_cells_per_chapter_in_chapter_order(tmp_path):
    cells = sw.plan(seeds=(1,), rin=True)
    (tmp_path / "cells").mkdir()
    rin = next(c for c in cells if c.kind == "rin")
    pd.DataFrame({"wall_seconds": [1800.0], "train_seconds": [5400.0]}).to_csv(tmp_path / "cells" / f"{rin.key}.csv")
    table = sw.progress_table(tmp_path, cells)
    chapters = table.index.get_level_values("chapter").tolist()
    assert chapters == sorted(chapters)  # the rin cells (chapter 4) come last in the plan, not in the table
    assert table.loc[(4, "rin")].tolist() == [1, 1, 1.5, 0.0]  # resumed: its epochs' time, not the last process's
    assert table["planned"].sum() == len(cells) and table["done"].sum() == 1
    with pytest.raises(TypeError, match="out must be a results folder \\(str or Path\\), got DataFrame"):
        sw.progress_table(table, cells)  # the rows instead of their folder


def test_progress_table_estimates_what_is_left_from_the_same_cell_at_other_seeds(tmp_path):
    cells = sw.plan(seeds=(1, 2), chapters=(4,), pairs=("RANDOM/No-TL", "TL-4/TL-2"), fractions=(0.1, 1.0), rin=True)
    (tmp_path / "cells").mkdir()
    cost = {("RANDOM/No-TL", 1.0): 3600.0, ("TL-4/TL-2", 1.0): 1800.0, ("RANDOM/No-TL", 0.1): 360.0}

    def costed(c):  # a plain cell (pooled, constant rate, the preset's epochs) of a costed pair and share
        return c.kind == "transfer" and (c.pair, c.fraction) in cost and c.dc and not c.one_cycle and c.epochs is None

    for cell in cells:
        if costed(cell) and cell.seed == 1:
            pd.DataFrame({"wall_seconds": [cost[(cell.pair, cell.fraction)]]}).to_csv(
                tmp_path / "cells" / f"{cell.key}.csv"
            )
    table = sw.progress_table(tmp_path, cells)
    left = [c for c in cells if c.kind == "transfer" and c.key not in sw.done(tmp_path)]
    twins = {c.key: cost[(c.pair, c.fraction)] for c in left if costed(c)}
    assert len(twins) == 3  # seed 2 of each finished cell: its twin's time
    kind_mean = sum(cost.values()) / len(cost)  # the rest (one-cycle, unpooled, longer): the mean of the kind
    expected = (sum(twins.values()) + kind_mean * (len(left) - len(twins))) / 3600
    assert table.at[(4, "transfer"), "hours left (est.)"] == pytest.approx(expected)
    assert np.isnan(table.at[(4, "rin"), "hours left (est.)"])  # no rin cell has finished: unknown, not zero


def test_provenance_line_counts_cells_and_orders_commits_by_when_they_ran():
    rows = pd.DataFrame(
        {
            "cell": ["a", "a", "b", "c"],
            "commit": ["bbb", "bbb", "aaa", "ccc"],
            "finished_at": ["2026-12-01T10:00", "2026-12-01T10:00", "2026-12-02T09:00", "2026-12-03T01:00"],
            "device": ["cpu", "cpu", "cuda", "cpu"],
            "simulator": "sim-1",
        }
    )
    assert sw.provenance_line(rows) == (
        "paper scale: 3 cells finished 2026-12-01 to 2026-12-03 at 3 commits (bbb first, "
        "ccc last), devices ['cpu', 'cuda'], simulator sim-1"
    )
    with pytest.raises(ValueError, match=r"lack the provenance column\(s\) \['finished_at'\]"):
        sw.provenance_line(rows.drop(columns="finished_at"))
