"""Faults shaped by the readout electronics (issue 18): the readout units of every era's geometry, and each
readout-shaped fault kind of :func:`hcaltl.anomalies.inject` — what it changes, what it labels, its errors."""

import numpy as np
import pytest

from hcaltl import readout
from hcaltl.anomalies import READOUT_KINDS, inject, readout_region
from hcaltl.geometry import ERAS, get_geometry


def nodes(data):
    return data.geometry.map_to_nodes(data.occupancy).astype(np.float64)


@pytest.fixture(scope="module")
def raw(hb_data):
    """Raw HB counts of 120 LS (whole numbers, with their event counts)."""
    return hb_data.select(slice(0, 120))


@pytest.mark.parametrize("era", list(ERAS))
@pytest.mark.parametrize("subdetector", ["HB", "HE"])
def test_readout_units_partition_the_channels_at_every_level(era, subdetector):
    geometry = get_geometry(subdetector, era=era)
    for level, count in (("rbx", 36), ("rm", 144), ("qie", None)):
        found = readout.units(geometry, level)
        every = np.concatenate(list(found.values()))
        assert np.array_equal(np.sort(every), np.arange(geometry.n_channels)), level  # each channel once
        assert count is None or len(found) == count
    for name, card in readout.units(geometry, "qie").items():
        rm = readout.unit_nodes(geometry, name.rsplit("-", 1)[0])
        assert set(card) <= set(rm)  # a card lies within its module
        sensor = geometry.channels["sensor"].iloc[card[0]]
        assert 1 <= len(card) <= readout.QIE_CARD_CHANNELS[(subdetector, sensor)]


def test_a_module_reads_one_iphi_slice_through_every_ring(hb):
    rm = readout.unit_nodes(hb, "HBP05-RM3")
    ch = hb.channels.iloc[rm]
    assert ch["iphi"].nunique() == 1 and (ch["ieta"] > 0).all()
    assert sorted(ch["ieta"].unique()) == list(range(1, 17))  # all 16 rings: not a box a CNN kernel covers


@pytest.mark.parametrize(
    "kind,factor", [("rm_dead", None), ("rm_noisy", 0.2), ("rbx_degraded", 0.4), ("qie_degraded", 0.6)]
)
def test_each_readout_kind_hits_one_whole_unit_and_labels_exactly_the_changed_cells(raw, kind, factor):
    out = inject(raw, kind, factor, seed=2, fraction=0.25)
    before, after = nodes(raw), nodes(out.data)
    assert np.array_equal(out.labels, after != before)
    level = {"rm_dead": "rm", "rm_noisy": "rm", "rbx_degraded": "rbx", "qie_degraded": "qie"}[kind]
    units = readout.units(raw.geometry, level)
    n_events = raw.n_events.astype(np.float64)[:, None]
    for i, region in zip(out.samples, out.regions):
        assert np.array_equal(region.nodes, units[region.unit])
        outside = np.setdiff1d(np.arange(raw.geometry.n_channels), region.nodes)
        assert np.array_equal(after[i, outside], before[i, outside])
        x, n, f = before[i, region.nodes], n_events[i], factor or 0.0
        expected = {
            "rm_dead": 0 * x,
            "rm_noisy": np.round(x + (n - x) * f),
            "rbx_degraded": np.round(x * f),
            "qie_degraded": np.round(x * f),
        }[kind]
        np.testing.assert_array_equal(after[i, region.nodes], np.where(x != 0, expected, x))
    assert (after <= n_events).all() and (after >= 0).all()  # never more hits than events
    assert len({r.unit for r in out.regions}) > 1  # a random unit per sample


def test_a_named_unit_is_hit_in_every_sample(raw):
    region = readout_region(raw.geometry, "HBM07-RM1")
    out = inject(raw, "rm_dead", samples=np.arange(50, 120), regions=region)
    assert out.labels[:50].sum() == 0
    fired = nodes(raw)[50:, region.nodes] != 0
    assert np.array_equal(out.labels[50:][:, region.nodes], fired)


def test_a_drift_falls_linearly_to_its_factor_then_holds(raw):
    out = inject(raw, "drift", 0.3, seed=5, onset=40, drift_ls=30)
    region = out.regions[0]
    assert region.unit is not None and region.unit.count("-") == 1  # an RM by default
    assert np.array_equal(out.samples, np.arange(40, raw.n_ls))
    before, after = nodes(raw)[:, region.nodes], nodes(out.data)[:, region.nodes]
    assert np.array_equal(before[:40], after[:40]) and not out.labels[:40].any()
    busy = before.sum(axis=1)
    response = after.sum(axis=1) / busy
    expected = 1 - 0.7 * np.minimum(1, (np.arange(raw.n_ls) - 40 + 1) / 30)
    np.testing.assert_allclose(response[40:], expected[40:], atol=2e-3)  # rounding to whole counts
    assert np.all(np.diff(expected[40:]) <= 0) and expected[69] == pytest.approx(0.3)
    single = inject(raw, "drift", 0.5, seed=5, shape="single", drift_ls=10)
    assert len(single.regions[0].nodes) == 1 and len(single.samples) >= 10


def test_readout_kinds_work_on_scaled_windows_too(hb_prepared):
    windows = hb_prepared.windows["test"][:6]
    out = inject(windows, "rbx_degraded", 0.2, seed=1, scaler=hb_prepared.scaler)
    assert out.labels.any(axis=1).all() and out.data.shape == windows.shape
    assert np.array_equal(out.data[:, :-1], windows[:, :-1])  # the anomaly is on the last LS only
    assert all(len(r.nodes) == 72 for r in out.regions)  # an HPD-era HB RBX: 72 channels


def test_readout_faults_refuse_bad_input(raw):
    hb = raw.geometry
    with pytest.raises(ValueError, match="unknown anomaly kind 'rm_hot'.*rm_dead, rm_noisy, rbx_degraded"):
        inject(raw, "rm_hot")
    with pytest.raises(ValueError, match="'HBM19-RM1' is not a readout RM of HB.*HBM01-RM1 … HBP18-RM4"):
        readout_region(hb, "HBM19-RM1")
    with pytest.raises(ValueError, match="'HBM03-RM2-QIE9' is not a readout QIE"):
        readout_region(hb, "HBM03-RM2-QIE9")
    with pytest.raises(ValueError, match="'HEP01' is not a readout RBX of HB"):
        readout_region(hb, "HEP01")
    with pytest.raises(ValueError, match="drift_ls=500 is longer than the data \\(120 LS\\)"):
        inject(raw, "drift", 0.5, drift_ls=500)
    with pytest.raises(ValueError, match="from onset=100 runs past"):
        inject(raw, "drift", 0.5, drift_ls=30, onset=100)
    with pytest.raises(ValueError, match="inject it into an OccupancyData"):
        inject(np.zeros((2, 5, 64, 72, 7), np.float32), "drift", 0.5, geometry="HB")
    with pytest.raises(ValueError, match="pass onset=, not samples="):
        inject(raw, "drift", 0.5, samples=[3])
    with pytest.raises(ValueError, match="'rbx_degraded' needs a factor"):
        inject(raw, "rbx_degraded")
    with pytest.raises(ValueError, match="factor of 'qie_degraded'"):
        inject(raw, "qie_degraded", 1.5)
    with pytest.raises(ValueError, match="extra firing probability"):
        inject(raw, "rm_noisy", 0.0)
    with pytest.raises(ValueError, match="'rm_dead' hits one 'rm'; leave shape unset"):
        inject(raw, "rm_dead", shape="box")
    with pytest.raises(ValueError, match="fixed definition"):
        inject(raw, "rm_dead", 0.5)
    assert set(READOUT_KINDS) == {"rm_dead", "rm_noisy", "rbx_degraded", "qie_degraded", "drift"}
