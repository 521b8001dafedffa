import numpy as np
import pytest
import torch

from hcaltl.experiments import hcal_heads as hh
from hcaltl.experiments.detection_study import fit_error_scaler
from hcaltl.models import GraphSTAD
from hcaltl.preprocess import prepare_windows
from hcaltl.train import TrainConfig, fit


def test_rbx_partitions_split_each_side_into_disjoint_groups(hb):
    parts = hh.rbx_partitions(hb, 2)
    assert list(parts) == ["HBM01-09", "HBM10-18", "HBP01-09", "HBP10-18"]
    nodes = np.concatenate(list(parts.values()))
    assert len(nodes) == hb.n_channels and len(np.unique(nodes)) == hb.n_channels
    assert {len(v) for v in parts.values()} == {hb.n_channels // 4}
    with pytest.raises(ValueError, match="groups_per_side"):
        hh.rbx_partitions(hb, 0)


def test_partition_features_by_hand():
    scores = np.array([[0.0, 1.0, 20.0, 2.0], [1.0, 1.0, 1.0, 1.0]])
    feats = hh.partition_features(scores, {"a": np.array([0, 1, 2]), "b": np.array([3])})
    assert feats["a"].shape == (2, len(hh.PARTITION_STATISTICS))
    row = dict(zip(hh.PARTITION_STATISTICS, feats["a"][0]))
    assert row["mean"] == pytest.approx(7.0) and row["max"] == 20 and row["over10"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="has channel 5"):
        hh.partition_features(scores, {"c": np.array([5])})


def test_partition_dataset_truth_follows_the_injected_channels(hb_data):
    prep = prepare_windows(hb_data)
    torch.manual_seed(0)
    model = GraphSTAD("HB", latent=4)
    fit(model, prep.windows["train"], prep.windows["val"], TrainConfig(epochs=1, progress=False))
    parts = hh.rbx_partitions(prep.scaler.geometry, 2)
    data = hh.partition_dataset(
        model,
        fit_error_scaler(model, prep.windows["train"]),
        prep.windows["test"],
        prep.scaler,
        24,
        partitions=parts,
        bad_fraction=0.5,
        seed=2,
    )
    assert data.n_ls == 24 and (~data.good).sum() == 12
    assert data.causes.any(axis=1).sum() == 12 and list(data.causes.columns) == list(parts)
    assert data.sizes == {p: len(hh.PARTITION_STATISTICS) for p in parts}
    hot_max = {p: data.features[p][:, 5] for p in parts}
    broken = [hot_max[p][data.causes[p].to_numpy()].mean() for p in parts if data.causes[p].any()]
    healthy = np.concatenate([hot_max[p][data.good] for p in parts])
    assert np.mean(broken) > np.median(healthy)
