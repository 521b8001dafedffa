import json

import numpy as np
import pandas as pd
import pytest
import torch

from hcaltl import transfer
from hcaltl.experiments import headlines, paper_values
from hcaltl.experiments import transfer_study as ts
from hcaltl.experiments.ablations import TABLE5_ARCHITECTURE
from hcaltl.models import GraphSTAD
from hcaltl.preprocess import prepare_windows
from hcaltl.train import TrainConfig


@pytest.fixture(scope="module")
def hb_windows(hb_data):
    return prepare_windows(hb_data).windows


def test_limit_takes_a_seeded_share_in_time_order():
    windows = np.arange(100)[:, None]
    a = ts.limit(windows, 0.1, seed=3)
    assert len(a) == 10 and np.all(np.diff(a[:, 0]) > 0)
    assert np.array_equal(a, ts.limit(windows, 0.1, seed=3))
    assert not np.array_equal(a, ts.limit(windows, 0.1, seed=4))
    assert len(ts.limit(windows, 0.01, seed=0)) == 4  # never fewer than one batch
    assert len(ts.limit(windows, 1.0, seed=0)) == 100
    with pytest.raises(ValueError, match="fraction must be in"):
        ts.limit(windows, 0.0, seed=0)


def test_run_pair_row(hb_windows):
    torch.manual_seed(0)
    source = GraphSTAD("HE", latent=4)
    row = ts.run_pair(
        source, hb_windows, "TL-7", "TL-6", fraction=0.1, seed=2, config=TrainConfig(epochs=1, progress=False)
    )
    assert row["pair"] == "TL-7/TL-6" and row["n_train_windows"] == len(ts.limit(hb_windows["train"], 0.1, 2))
    assert np.isfinite(row["test_mse"]) and row["trainable_change_pct"] < -50
    assert len(json.loads(row["val_curve"])) == row["epochs"] == 1


def fake_results():
    rows = []
    for pair, mse in {
        "RANDOM/No-TL": [1.0, 0.8],
        "TL-4/No-TL": [0.8, 0.6],
        "TL-4/TL-2d": [40.0, 30.0],
        "TL-4/TL-2d[BN]": [20.0, 10.0],
    }.items():
        for seed, value in enumerate(mse):
            rows.append(
                {
                    "pair": pair,
                    "fraction": 0.1,
                    "seed": seed,
                    "one_cycle": False,
                    "test_mse": value,
                    "trainable_change_pct": 0.0,
                    "val_curve": "[1.0, 0.5]",
                }
            )
    return pd.DataFrame(rows)


def test_summary_compares_mean_with_mean_and_best_with_best():
    table = ts.summary(fake_results()).set_index("pair")
    assert table.at["TL-4/No-TL", "mean_mse"] == pytest.approx(0.7)
    assert table.at["TL-4/No-TL", "mean_change_%"] == pytest.approx(100 * (0.7 / 0.9 - 1))
    assert table.at["TL-4/No-TL", "best_change_%"] == pytest.approx(100 * (0.6 / 0.8 - 1))
    assert table.at["RANDOM/No-TL", "mean_change_%"] == pytest.approx(0.0)
    comparison = ts.paper_comparison(fake_results(), 0.1)
    assert comparison.at["TL-4/TL-2d[BN]", "ours_vs_TL-2d"] == pytest.approx(100 * (15 / 35 - 1))
    assert comparison.at["TL-4/TL-2d", "paper_T3_average"] == paper_values.TABLE3_MSE_CHANGE[("TL-4", "TL-2d")][0]
    assert np.isnan(comparison.at["TL-7/TL-6", "ours_mean_change"])  # not run: NaN, not dropped
    assert "TL-4/No-TL" in headlines.transfer(ts.summary(fake_results()), 0.1)
    no_ref = ts.summary(fake_results().query("pair != 'RANDOM/No-TL'"))
    assert no_ref["mean_change_%"].isna().all()
    with pytest.raises(ValueError, match="lacks columns"):
        ts.summary(fake_results().drop(columns="test_mse"))


def test_summary_compares_a_pair_with_the_reference_over_the_seeds_both_have():
    """A sweep still running: one seed of a pair is never set against the mean of several of the reference."""
    rows = fake_results()
    rows = pd.concat(
        [rows, rows[rows["pair"] == "RANDOM/No-TL"].iloc[:1].assign(seed=7, test_mse=5.0)], ignore_index=True
    )
    rows = rows[~((rows["pair"] == "TL-4/TL-2d[BN]") & (rows["seed"] == 1))]
    table = ts.summary(rows).set_index("pair")
    assert table.at["RANDOM/No-TL", "mean_mse"] == pytest.approx(6.8 / 3) and table.at["RANDOM/No-TL", "seeds"] == 3
    assert table.at["TL-4/No-TL", "matched_seeds"] == 2
    assert table.at["TL-4/No-TL", "mean_change_%"] == pytest.approx(100 * (0.7 / 0.9 - 1))  # seeds 0 and 1
    assert table.at["TL-4/TL-2d[BN]", "matched_seeds"] == 1
    assert table.at["TL-4/TL-2d[BN]", "mean_change_%"] == pytest.approx(100 * (20.0 / 1.0 - 1))  # seed 0 only
    alone = ts.summary(rows.assign(seed=np.where(rows["pair"] == "TL-4/No-TL", 99, rows["seed"]))).set_index("pair")
    assert alone.at["TL-4/No-TL", "matched_seeds"] == 0 and np.isnan(alone.at["TL-4/No-TL", "mean_change_%"])
    # the TL-2d repairs against TL-2d (Table 4) over shared seeds too: [BN]'s seed 0 (20) against TL-2d's seed 0 (40)
    comparison = ts.paper_comparison(rows, 0.1)
    assert comparison.at["TL-4/TL-2d[BN]", "ours_vs_TL-2d"] == pytest.approx(100 * (20.0 / 40.0 - 1))
    assert comparison.at["TL-4/No-TL", "ours_mean_change"] == pytest.approx(table.at["TL-4/No-TL", "mean_change_%"])


def test_paper_comparison_refuses_a_summary_or_a_share_not_run():
    with pytest.raises(ValueError, match=r"fraction=0\.5, one_cycle=False.*\(0\.1, False\)"):
        ts.paper_comparison(fake_results(), 0.5)
    with pytest.raises(ValueError, match="not a summary"):
        ts.paper_comparison(ts.summary(fake_results()).drop(columns="fraction"), 0.1)


def test_trainable_table_matches_apply():
    source = GraphSTAD("HE", latent=4)
    table = ts.trainable_table(source, ["RANDOM/No-TL", "TL-7/TL-6"])
    assert table.at["RANDOM/No-TL", "ours_change_%"] == 0.0
    model = transfer.apply(GraphSTAD("HB", latent=4), source, "TL-7", "TL-6")
    assert table.at["TL-7/TL-6", "trainable"] == sum(p.numel() for p in model.parameters() if p.requires_grad)

    assert table.at["TL-7/TL-6", "paper_change_%"] == -97.77
    plain = transfer.apply(
        GraphSTAD("HB", latent=4, **TABLE5_ARCHITECTURE),
        GraphSTAD("HE", latent=4, **TABLE5_ARCHITECTURE),
        "TL-7",
        "TL-6",
    )
    assert table.at["TL-7/TL-6", "unpooled_change_%"] == pytest.approx(transfer.trainable_change(plain))


def test_the_unpooled_sizes_reproduce_table_5s_trainable_column():
    """The unpooled model in TABLE5_ARCHITECTURE's sizes gives every trainable-parameter change of Table 5 within
    0.1 percentage point at L = 8 (and to the printed precision at L = 16); the public code's unpooled model and
    the book's pooled one do not, so the column does tell the architectures apart."""
    table = ts.architecture_table(
        latents=(8,), architectures={"table 5": TABLE5_ARCHITECTURE, "public": {"dc": False}, "pooled": {}}
    )
    assert table.at[("table 5", 8), "max_gap_pp"] < 0.1
    assert table.at[("public", 8), "max_gap_pp"] > 1 and table.at[("pooled", 8), "max_gap_pp"] > 10
    assert table.loc["paper"].iloc[0]["TL-7/TL-6"] == -97.77
    ours = ts.trainable_table(GraphSTAD("HE", latent=8), ["TL-4/TL-1", "TL-7/TL-6"])
    assert ours["unpooled_change_%"].tolist() == pytest.approx(
        table.loc[("table 5", 8), ["TL-4/TL-1", "TL-7/TL-6"]].tolist()
    )
    with pytest.raises(ValueError, match="trainable-parameter value in Table 5.*RANDOM/No-TL"):
        ts.architecture_table(latents=(2,), pairs=["RANDOM/No-TL"])


def test_target_model_copies_every_hyperparameter_of_the_source():
    """GraphSTAD.like: the HB model gets the source's latent, window, GNN rules, LSTMs, VAE head and RIN."""
    source = GraphSTAD("HE", latent=3, window=4, readout="rm", spatial=False, variational=False, rin=False)
    target = GraphSTAD.like(source, "HB")
    ours, theirs = target.config_dict(), source.config_dict()
    assert ours.pop("subdetector") == "HB" and theirs.pop("subdetector") == "HE"
    ours.pop("depth_table"), theirs.pop("depth_table")
    assert ours == theirs
    assert {k: v.shape for k, v in target.enc_rnn.state_dict().items()} == {
        k: v.shape for k, v in source.enc_rnn.state_dict().items()
    }
    with pytest.raises(TypeError, match="source must be a GraphSTAD"):
        GraphSTAD.like("HE", "HB")


def test_schedule_table_keeps_pairs_run_with_both_schedules_even_without_a_one_cycle_reference():
    rows = fake_results()
    one_cycle = rows[rows["pair"] == "TL-4/No-TL"].assign(one_cycle=True, test_mse=[0.5, 0.4])
    table = ts.schedule_table(ts.summary(pd.concat([rows, one_cycle], ignore_index=True)))
    assert list(table.index.get_level_values("pair")) == ["TL-4/No-TL"]
    assert table["one_cycle_mse"].iloc[0] == pytest.approx(0.45)
    assert np.isnan(table["one_cycle_change_%"].iloc[0]) and np.isfinite(table["constant_change_%"].iloc[0])
    assert ts.schedule_table(ts.summary(rows)).empty  # one schedule only
