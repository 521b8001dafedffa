from dataclasses import replace

import numpy as np
import pytest

from hcaltl.data import OccupancyData
from hcaltl.preprocess import renormalise
from hcaltl.simulate import SENSOR_MODELS, RunPlan, simulate


def test_shapes_and_types(hb_data, hb):
    assert hb_data.occupancy.shape == (1200, 64, 72, 7)
    assert hb_data.n_events.shape == (1200,)
    assert hb_data.occupancy.dtype == np.float32
    assert np.all(hb_data.occupancy[:, ~hb.mask] == 0)
    assert np.all(hb_data.occupancy == np.round(hb_data.occupancy))  # counts
    assert np.all(hb_data.node_values() <= hb_data.n_events[:, None])


def test_deterministic_from_seed(hb):
    a = simulate(hb, 1500, seed=11)
    b = simulate(hb, 1500, seed=11)
    c = simulate(hb, 1500, seed=12)
    assert np.array_equal(a.occupancy, b.occupancy) and np.array_equal(a.n_events, b.n_events)
    assert not np.array_equal(a.occupancy, c.occupancy)


def test_runs_and_ls_numbers(hb_data):
    for run in hb_data.runs():
        ls = hb_data.ls[hb_data.run == run]
        assert ls[0] == 1 and np.all(np.diff(ls) == 1)
    assert np.all(np.diff(hb_data.runs()) > 0)


def test_occupancy_rises_with_luminosity(he_data, hb_data):
    for data in (he_data, hb_data):
        frac = renormalise(data).node_values().mean(axis=1)
        r = np.corrcoef(data.luminosity, frac)[0, 1]
        assert r > 0.8, f"{data.subdetector}: occupancy–luminosity correlation {r:.2f}"


def test_renormalised_occupancy_in_unit_interval(he_data):
    frac = renormalise(he_data).node_values()
    assert frac.min() >= 0 and frac.max() <= 1
    assert frac.max() > 0.5  # forward channels fire in most events


def test_occupancy_rises_with_ieta_and_falls_with_depth(he_data, he):
    mean = renormalise(he_data).node_values().mean(axis=0)
    ch = he.channels.assign(mean=mean)
    by_eta = ch[ch["depth"] == 3].groupby(ch["ieta"].abs())["mean"].mean()
    assert by_eta.iloc[-1] > 3 * by_eta.iloc[0]
    at25 = ch[ch["ieta"].abs() == 25].groupby("depth")["mean"].mean()
    assert at25.is_monotonic_decreasing


def test_sipm_and_hpd_differ_as_described(he, hb):
    """HPD channels spread more and carry correlated RM noise; SiPM noise grows with integrated luminosity."""
    he_d, he_t = simulate(he, 3000, seed=5, return_truth=True)
    hb_d, hb_t = simulate(hb, 3000, seed=5, return_truth=True)
    assert np.std(np.log(hb_t.channel_gain)) > 1.8 * np.std(np.log(he_t.channel_gain))

    # RM-correlated bursts: within-RM correlation of the per-LS residual is larger for HPD
    def rm_correlation(data):
        x = renormalise(data).node_values()
        resid = x / x.mean(axis=1, keepdims=True)
        resid = resid - resid.mean(axis=0)
        ch = data.geometry.channels
        key = ch["rbx_index"] * 4 + ch["rm"]
        rm_mean = np.stack([resid[:, (key == k).to_numpy()].mean(axis=1) for k in np.unique(key)], axis=1)
        return np.mean(np.abs(rm_mean).max(axis=0) / np.abs(resid).mean())

    assert rm_correlation(hb_d) > rm_correlation(he_d)


def test_sipm_noise_grows_with_integrated_luminosity_hpd_noise_does_not(he, hb):
    """With collisions switched off (lambda0 = 0) only noise fires the channels."""
    quiet = {name: replace(SENSOR_MODELS[name], lambda0=0.0, burst_prob=0.0) for name in SENSOR_MODELS}
    plan = RunPlan(start_int_lumi_fb=0.0)
    for geometry, grows in ((he, True), (hb, False)):
        data, truth = simulate(geometry, 4000, seed=2, sensor=quiet[geometry.sensor], plan=plan, return_truth=True)
        frac = renormalise(data).node_values().mean(axis=1)
        early, late = frac[:800].mean(), frac[-800:].mean()
        model = quiet[geometry.sensor]
        expected = 1 + model.noise_per_fb * (truth.int_lumi_fb[-400] - truth.int_lumi_fb[400])
        if grows:
            assert late / early == pytest.approx(expected, rel=0.05)
            assert late > early * 1.05
        else:
            assert late / early == pytest.approx(1.0, abs=0.02)


def test_bad_input(hb):
    with pytest.raises(ValueError, match="n_ls"):
        simulate(hb, 0)
    with pytest.raises(TypeError, match="geometry must be a Geometry or a name"):
        simulate(None, 10)
    assert simulate("HB", 2, seed=0).geometry is hb  # a name is a geometry
    with pytest.raises(ValueError, match="n_ls must be at most 1,000,000"):
        simulate(hb, 10**12)


def test_paper_scale_size_is_exact(he):
    data = simulate(he, 1, seed=0)
    assert isinstance(data, OccupancyData) and data.node_values().shape == (1, 6912)


def test_run_plans_that_could_never_finish_are_refused():
    """Once hangs: a run or a fill that adds no LS, a fractional LS count."""
    from hcaltl.cms2010 import simulate_2010

    for bad in (
        {"run_ls": (0, 0)},
        {"runs_per_fill": (0, 0)},
        {"run_ls": (5, 2)},
        {"peak_lumi": (0.0, 1.0)},
        {"n_bunches": 0},
        {"run_ls": (1.5, 3)},
    ):
        with pytest.raises(ValueError, match=f"RunPlan.{next(iter(bad))}"):
            RunPlan(**bad)
    with pytest.raises(ValueError, match="n_ls must be a whole number, got 12.5"):
        simulate_2010(n_ls=12.5, progress=False)
    with pytest.raises(ValueError, match="chunk must be at least 1, got -1"):
        simulate_2010(n_ls=20, chunk=-1, progress=False)
