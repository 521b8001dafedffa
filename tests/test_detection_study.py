import numpy as np
import pandas as pd
import pytest
import torch

from hcaltl.experiments import detection_study as ds
from hcaltl.models import GraphSTAD
from hcaltl.preprocess import prepare_windows
from hcaltl.train import TrainConfig, fit


@pytest.fixture(scope="module")
def prep(hb_data):
    return prepare_windows(hb_data)


@pytest.fixture(scope="module")
def trained(prep):
    torch.manual_seed(0)
    model = GraphSTAD("HB", latent=4)
    fit(model, prep.windows["train"], prep.windows["val"], TrainConfig(epochs=3, progress=False))
    return model


def test_test_set_shares_regions_across_cases(prep):
    test = ds.make_test_set(prep.windows["test"], prep.scaler, 12, seed=5)
    assert test.healthy.shape[0] == 12 and set(test.anomalous) == {c[0] for c in ds.CASES}
    dead, hot = test.labels["dead"], test.labels["fully hot"]
    assert (dead.sum(axis=1) > 0).all()
    assert not (hot & ~np.isin(np.arange(hot.shape[1]), np.concatenate([r.nodes for r in test.regions]))).any()
    for i, r in enumerate(test.regions):
        assert set(np.flatnonzero(dead[i])) <= set(r.nodes)


def test_trained_model_scores_dead_and_fully_hot_channels_above_normal_ones(prep, trained):
    scaler = ds.fit_error_scaler(trained, prep.windows["train"])
    test = ds.make_test_set(prep.windows["test"], prep.scaler, 40, seed=3)
    table, cases = ds.detection_table(trained, scaler, test)
    for case in ("dead", "fully hot"):
        y, s = cases[case]
        assert np.median(s[y == 1]) > np.percentile(s[y == 0], 99), case
        assert table.at[case, "AUC"] > 0.95, case
    assert table.at["fully hot", "AUC"] >= table.at["degraded ×0.8", "AUC"]


def test_contaminate_marks_the_requested_share(prep):
    w = prep.windows["train"]
    dirty, flag = ds.contaminate(w, prep.scaler, 0.1, seed=0)
    assert flag.sum() == round(0.1 * len(w))
    changed = np.any(np.abs(dirty - w) > 1e-5, axis=(1, 2, 3, 4))
    assert not changed[~flag].any() and changed[flag].mean() > 0.8
    with pytest.raises(ValueError, match="contamination rate"):
        ds.contaminate(w, prep.scaler, 1.0)


def test_contamination_study_reuses_clean_models_and_round_trips_through_a_results_file(prep, trained, tmp_path):
    scaler = ds.fit_error_scaler(trained, prep.windows["train"])
    test = ds.make_test_set(prep.windows["test"], prep.scaler, 10, seed=4)
    clean = ds.detection_table(trained, scaler, test)[0]
    rows = ds.contamination_study(
        GraphSTAD("HE", latent=4),
        prep.windows,
        prep.scaler,
        test,
        [0.0, 0.2],
        ["RANDOM/No-TL"],
        config=TrainConfig(epochs=1, progress=False),
        trained={"RANDOM/No-TL": (trained, scaler)},
        progress=False,
    )
    assert len(rows) == 2 * len(ds.CASES)
    at_zero = rows[rows["rate"] == 0].set_index("case")
    assert np.allclose(at_zero["AUC"], clean.loc[at_zero.index, "AUC"])
    assert rows[rows["rate"] == 0.2]["AUC"].between(0, 1).all()
    reused = ds.contamination_study(
        GraphSTAD("HE", latent=4),
        prep.windows,
        prep.scaler,
        test,
        [0.0],
        ["RANDOM/No-TL"],
        trained={"RANDOM/No-TL": (trained, scaler)},
        tables={"RANDOM/No-TL": clean},
        progress=False,
    )  # the clean table computed once is the rate-0 row
    pd.testing.assert_frame_equal(reused, rows[rows["rate"] == 0].reset_index(drop=True))

    single = pd.DataFrame({"RANDOM/No-TL": clean["AUC"].iloc[:2]})
    results = ds.results_frame({"RANDOM/No-TL": clean}, single, rows)
    assert set(results["experiment"]) == {"boxes", "single channels", "contamination"}
    path = tmp_path / "detection.csv"
    results.to_csv(path, index=False)
    back = pd.read_csv(path)  # what a sweep cell commits, read as the paper-scale tables read it
    boxes = back[back["experiment"] == "boxes"].set_index("case")["AUC"]
    assert list(boxes.index) == [c[0] for c in ds.CASES] and np.allclose(boxes, clean["AUC"])
    dirty = back[back["experiment"] == "contamination"]
    assert sorted(set(dirty["rate"])) == [0.0, 0.2] and len(dirty) == 2 * len(ds.CASES)
