import numpy as np
import pytest

from hcaltl.preprocess import ChannelScaler, apply_mask, make_windows, renormalise, split, window_starts


def test_renormalise_by_events(hb_data):
    norm = renormalise(hb_data)
    i = 17
    assert np.allclose(norm.occupancy[i], hb_data.occupancy[i] / hb_data.n_events[i])
    assert norm.normalised == "events"
    with pytest.raises(ValueError, match="already normalised"):
        renormalise(norm)


def test_renormalise_by_luminosity(hb_data):
    lumi = renormalise(hb_data, by="luminosity")
    ratio = lumi.node_values().sum(axis=1) / hb_data.node_values().sum(axis=1)
    assert np.allclose(ratio * hb_data.luminosity, ratio[0] * hb_data.luminosity[0], rtol=1e-4)
    with pytest.raises(ValueError, match="unknown renormalisation"):
        renormalise(hb_data, by="pileup")


def test_renormalisation_removes_trigger_rate_dependence(hb_data):
    """Raw counts follow each run's trigger rate; the fraction of events follows luminosity alone."""

    def r2_against_luminosity(y):
        coef = np.polyfit(hb_data.luminosity, y, 2)
        resid = y - np.polyval(coef, hb_data.luminosity)
        return 1 - resid.var() / y.var()

    raw = hb_data.node_values().mean(axis=1)
    frac = renormalise(hb_data).node_values().mean(axis=1)
    assert r2_against_luminosity(frac) > 0.95
    # what luminosity leaves unexplained is far larger for raw counts
    assert 1 - r2_against_luminosity(raw) > 20 * (1 - r2_against_luminosity(frac))


def test_apply_mask(hb):
    maps = np.ones((2, 64, 72, 7), dtype=np.float32)
    masked = apply_mask(maps, hb)
    assert masked.sum() == 2 * 2592 and masked.dtype == np.float32


def test_split_ls_block_follows_the_authors_rule(hb_data):
    s = split(hb_data, "ls_block", train_ls=500, val_fraction=0.2, gap=5)
    assert np.all(hb_data.ls[s.train] <= 500) and np.all(hb_data.ls[s.val] <= 500)
    assert np.all(hb_data.ls[s.test] > 500)
    assert not set(s.train) & set(s.val) and not set(s.train) & set(s.test)
    for run in hb_data.runs():
        tr = s.train[hb_data.run[s.train] == run]
        va = s.val[hb_data.run[s.val] == run]
        if len(tr) and len(va):
            assert va.min() - tr.max() > 5  # the gap, in time order
    total = len(s.train) + len(s.val) + len(s.test)
    assert total == hb_data.n_ls - 5 * len(hb_data.runs())


def test_split_by_run(hb_data):
    s = split(hb_data, "run", test_runs=0.5, seed=1)
    assert not set(hb_data.run[s.test]) & set(hb_data.run[np.concatenate([s.train, s.val])])
    with pytest.raises(ValueError, match="unknown split scheme"):
        split(hb_data, "random")


def test_scaler_fits_on_training_only(hb_data):
    norm = renormalise(hb_data)
    s = split(norm, "ls_block")
    scaler = ChannelScaler(norm.geometry).fit(norm.occupancy[s.train])
    train = norm.geometry.map_to_nodes(scaler.transform(norm.occupancy[s.train]))
    assert train.min() == pytest.approx(0) and train.max() == pytest.approx(1)
    assert np.allclose(train.min(axis=0), 0) and np.allclose(train.max(axis=0), 1)
    back = scaler.inverse_transform(scaler.transform(norm.occupancy[s.test]))
    assert np.allclose(back, norm.occupancy[s.test], atol=1e-6)
    assert np.all(scaler.transform(norm.occupancy[:3])[:, ~norm.geometry.mask] == 0)
    with pytest.raises(RuntimeError, match="not fitted"):
        ChannelScaler(norm.geometry).transform(norm.occupancy[:2])
    with pytest.raises(ValueError, match="NaN"):
        ChannelScaler(norm.geometry).fit(np.full((2, 64, 72, 7), np.nan, dtype=np.float32))


def test_windows_never_cross_runs():
    run = np.array([1] * 12 + [2] * 7)
    ls = np.concatenate([np.arange(1, 13), np.arange(1, 8)])
    assert window_starts(run, ls, 5).tolist() == [0, 5, 12]
    assert window_starts(run, ls, 5, stride=1).tolist() == list(range(0, 8)) + [12, 13, 14]
    ls_gap = ls.copy()
    ls_gap[3:] += 1  # a missing LS number inside run 1
    assert window_starts(run, ls_gap, 5).tolist() == [3, 12]


def test_make_windows_shapes_and_content(hb_data):
    norm = renormalise(hb_data)
    w, starts = make_windows(norm.occupancy, norm.run, norm.ls, length=5)
    assert w.shape[1:] == (5, 64, 72, 7)
    n_expected = sum((np.sum(norm.run == r) - 5) // 5 + 1 for r in norm.runs())
    assert w.shape[0] == n_expected
    k = len(starts) // 2
    assert np.array_equal(w[k, 2], norm.occupancy[starts[k] + 2])
    with pytest.raises(ValueError, match="window length"):
        make_windows(norm.occupancy, norm.run, norm.ls, length=0)
    with pytest.raises(ValueError, match="no window"):
        make_windows(norm.occupancy[:3], norm.run[:3], norm.ls[:3], length=5)


def test_prepare_windows_runs_the_whole_pipeline(hb_data):
    from hcaltl.preprocess import prepare_windows

    prep = prepare_windows(hb_data, window=5)
    assert set(prep.windows) == {"train", "val", "test"}
    train_nodes = hb_data.geometry.map_to_nodes(prep.windows["train"])
    assert train_nodes.min() >= 0 and train_nodes.max() <= 1 + 1e-6
    for name, w in prep.windows.items():
        assert w.shape[1:] == (5, 64, 72, 7) and len(prep.starts[name]) == len(w)
        # every window starts at an LS of its own part of the split
        assert set(prep.starts[name]) <= set(getattr(prep.split, name))
    with pytest.raises(ValueError, match="empty"):
        prepare_windows(hb_data.select(hb_data.ls <= 400), window=5)


def test_scaler_from_a_stored_range_scales_as_the_fitted_one(hb_data):
    from hcaltl.preprocess import ChannelScaler, renormalise

    maps = renormalise(hb_data).occupancy
    fitted = ChannelScaler(hb_data.geometry).fit(maps)
    again = ChannelScaler.from_range("HB", fitted.data_min, fitted.data_max)
    assert np.array_equal(again.transform(maps[:5]), fitted.transform(maps[:5]))
    with pytest.raises(ValueError, match="data_min exceeds data_max"):
        ChannelScaler.from_range("HB", fitted.data_max + 1, fitted.data_max)
    with pytest.raises(ValueError, match=r"must be \[2592\]"):
        ChannelScaler.from_range("HB", fitted.data_min[:5], fitted.data_max[:5])
