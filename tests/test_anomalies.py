import numpy as np
import pytest

from hcaltl import anomalies
from hcaltl.anomalies import inject
from hcaltl.preprocess import prepare_windows, renormalise


@pytest.fixture(scope="module")
def hb_norm(hb_data):
    return renormalise(hb_data)


def nodes(data):
    return data.geometry.map_to_nodes(data.occupancy)


@pytest.mark.parametrize("kind,factor", [("degraded", 0.6), ("dead", None), ("noisy_hot", None), ("fully_hot", None)])
def test_each_kind_changes_values_as_defined_and_labels_exactly_the_changed_cells(hb_norm, kind, factor):
    out = inject(hb_norm, kind, factor, seed=4, fraction=0.2)
    before, after = nodes(hb_norm), nodes(out.data)
    assert np.array_equal(out.labels, after != before)  # labels are exactly the changed cells
    assert len(out.samples) == round(0.2 * hb_norm.n_ls)
    assert set(np.flatnonzero(out.labels.any(axis=1))) <= set(out.samples)
    lab = out.labels
    expected = {
        "degraded": before * 0.6,
        "dead": 0 * before,
        "noisy_hot": np.minimum(2 * before, 1.0),
        "fully_hot": np.ones_like(before),
    }[kind]
    np.testing.assert_allclose(after[lab], expected[lab], rtol=1e-6)
    inactive = ~hb_norm.geometry.mask
    assert np.array_equal(out.data.occupancy[:, inactive], hb_norm.occupancy[:, inactive])
    for i, region in zip(out.samples, out.regions):  # nothing outside the region changes
        outside = np.setdiff1d(np.arange(hb_norm.geometry.n_channels), region.nodes)
        assert not lab[i, outside].any()


def test_boxes_span_at_least_two_cells_per_axis_and_are_shared_across_kinds(hb_norm, he):
    a = inject(hb_norm, "dead", seed=9, fraction=0.05)
    b = inject(hb_norm, "degraded", 0.8, seed=9, fraction=0.05)
    assert np.array_equal(a.samples, b.samples)
    for ra, rb in zip(a.regions, b.regions):
        assert np.array_equal(ra.nodes, rb.nodes)
    for r in anomalies.draw_regions(he, 200, seed=1):
        assert r.ieta[1] > r.ieta[0] and r.depth[1] > r.depth[0] and 1 <= r.iphi[1] - r.iphi[0] <= 5
        ch = he.channels.iloc[r.nodes]
        assert (ch["side"] == r.side).all() and ch["iphi"].between(*r.iphi).all()
    singles = anomalies.draw_regions(he, 20, seed=1, shape="single")
    assert all(len(r.nodes) == 1 for r in singles)


def test_zero_cells_are_never_labelled(hb_norm):
    data = hb_norm.select(slice(0, 40))
    occ = data.occupancy.copy()
    occ[:, data.geometry.mask] = 0.0  # every active cell silent
    from dataclasses import replace

    silent = replace(data, occupancy=occ)
    out = inject(silent, "fully_hot", seed=0, fraction=1.0)
    assert not out.labels.any() and np.array_equal(out.data.occupancy, occ)


def test_raw_counts_fully_hot_is_the_number_of_events(hb_data):
    out = inject(hb_data.select(slice(0, 50)), "fully_hot", seed=2, fraction=0.5)
    after = nodes(out.data)
    rows, cols = np.nonzero(out.labels)
    np.testing.assert_array_equal(after[rows, cols], hb_data.n_events[rows])
    degraded = inject(hb_data.select(slice(0, 50)), "degraded", 0.4, seed=2, fraction=0.5)
    assert np.all(np.mod(nodes(degraded.data), 1) == 0)  # counts stay whole


def test_windows_last_or_all_and_scaled_round_trip(hb_data):
    prep = prepare_windows(hb_data)
    w = prep.windows["test"]
    last = inject(w, "dead", seed=1, fraction=0.5, scaler=prep.scaler)
    every = inject(w, "dead", seed=1, fraction=0.5, scaler=prep.scaler, where="all")
    assert last.labels.shape == (len(w), hb_data.geometry.n_channels)
    raw_last = prep.scaler.inverse_transform(last.data)
    raw_every = prep.scaler.inverse_transform(every.data)
    raw = prep.scaler.inverse_transform(w)
    i = last.samples[0]
    cells = last.regions[0].nodes
    g = hb_data.geometry
    assert np.allclose(g.map_to_nodes(raw_last[i, -1])[cells], 0, atol=1e-6)
    np.testing.assert_allclose(g.map_to_nodes(raw_last[i, :-1]), g.map_to_nodes(raw[i, :-1]), atol=1e-5)
    assert np.allclose(g.map_to_nodes(raw_every[i])[:, cells], 0, atol=1e-6)
    untouched = np.setdiff1d(np.arange(len(w)), last.samples)
    np.testing.assert_allclose(last.data[untouched], w[untouched], atol=1e-5)


def test_bad_input_is_refused(hb_norm):
    with pytest.raises(ValueError, match="unknown anomaly kind 'hot'.*degraded, dead, noisy_hot, fully_hot"):
        inject(hb_norm, "hot")
    with pytest.raises(ValueError, match="needs a factor"):
        inject(hb_norm, "degraded")
    with pytest.raises(ValueError, match="fixed definition"):
        inject(hb_norm, "dead", 0.5)
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        inject(hb_norm, "degraded", 1.5)
    with pytest.raises(ValueError, match="windows must be"):
        inject(np.zeros((2, 5, 64, 72)), "dead", geometry="HB")
    with pytest.raises(ValueError, match="needs geometry"):
        inject(np.zeros((2, 5, 64, 72, 7)), "dead")
    bad = np.zeros((2, 5, 64, 72, 7))
    bad[0, 0, 20, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        inject(bad, "dead", geometry="HB")


@pytest.mark.parametrize("era", ["2016", "2017", "run3"])
def test_injection_works_on_every_era(era):
    from hcaltl.geometry import get_geometry
    from hcaltl.simulate import simulate

    for sub in ("HB", "HE"):
        data = renormalise(simulate(get_geometry(sub, era=era), 12, seed=2))
        out = inject(data, "dead", seed=3, fraction=0.5)
        assert out.labels.shape == (12, data.geometry.n_channels) and out.labels.any()
        assert np.array_equal(out.labels, nodes(out.data) != nodes(data))
        for region in out.regions:  # a box stays inside the era's channels, on one side
            assert set(data.geometry.channels.iloc[region.nodes]["side"]) == {region.side}


def test_a_fixed_region_persists_over_the_samples_given(hb_data):
    geometry = hb_data.geometry
    box = anomalies.draw_regions(geometry, 1, seed=4)[0]
    region = anomalies.region_of(geometry, box.nodes)
    assert np.array_equal(region.nodes, np.sort(box.nodes)) and region.side == box.side
    later = np.arange(10, 30)
    injected = inject(hb_data, "dead", samples=later, regions=region)
    changed = injected.labels.any(axis=0)
    assert set(np.flatnonzero(changed)) <= set(region.nodes)
    assert not injected.labels[:10].any() and injected.labels[later].any(axis=1).all()
    with pytest.raises(ValueError, match="one Region or one per sample"):
        inject(hb_data, "dead", samples=later, regions=[region, region])
    with pytest.raises(ValueError, match="one side"):
        minus, plus = (
            np.flatnonzero(geometry.channels["side"] < 0)[:1],
            np.flatnonzero(geometry.channels["side"] > 0)[:1],
        )
        anomalies.region_of(geometry, np.concatenate([minus, plus]))
    with pytest.raises(ValueError, match="at least one channel"):
        anomalies.region_of(geometry, [])
