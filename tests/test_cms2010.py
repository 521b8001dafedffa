import numpy as np
import pytest

from hcaltl import cms2010 as c
from hcaltl.certification import parse_golden


@pytest.fixture(scope="module")
def sim():
    return c.simulate_2010(800, events_per_ls=60, seed=11, progress=False)


def test_feature_blocks_have_the_papers_sizes_and_names(sim):
    assert sim.sizes == c.PAPER_SIZES
    for channel in c.CHANNELS:
        names = sim.columns[channel]
        assert len(set(names)) == len(names) and all(n.startswith(f"{channel}_") for n in names)
    assert "muons_mass_q4_p25" in sim.columns["muons"] and "photons_instantLumi" in sim.columns["photons"]
    assert "PF_instantLumi" not in sim.columns["PF"]
    with pytest.raises(ValueError, match="unknown channel"):
        c.feature_names("jets")


def test_quantile_ranks_follow_the_authors_rule():
    ranks = c.quantile_ranks(np.array([0, 3, 5, 10]))
    assert ranks.tolist() == [[0, 0, 0, 0, 0], [1, 2, 3, 0, 0], [1, 2, 3, 4, 5], [1, 3, 5, 7, 10]]


def test_order_statistics_are_sorted_and_have_the_right_law():
    rng = np.random.default_rng(0)
    n = np.full(20000, 9)
    u = c.order_statistics(n, c.quantile_ranks(n), rng)
    assert (np.diff(u, axis=1) >= 0).all()
    # U_(r) of n uniforms has mean r / (n + 1)
    assert np.allclose(u.mean(0), np.array([1, 2, 4, 6, 9]) / 10, atol=0.01)
    assert np.isnan(c.order_statistics(np.array([2]), c.quantile_ranks(np.array([2])), rng)[0, 2:]).all()


def test_labels_causes_and_effects_are_consistent(sim):
    assert 0.2 < 1 - sim.good.mean() < 0.3
    assert (sim.good == ~sim.causes.any(axis=1).to_numpy()).all()
    assert (sim.severity[sim.good] == 0).all() and (sim.severity[~sim.good] > 0).all()
    for subsystem, effects in c.EFFECTS.items():
        assert set(effects) == set(c.VISIBILITY[subsystem])


def test_a_failure_leaves_channels_that_cannot_see_it_untouched():
    # the same failures at two strengths: only the channels that can see HCAL may change
    mild, strong = (
        c.simulate_2010(300, events_per_ls=40, seed=3, progress=False, cause_weights={"hcal": 1.0}, min_severity=m)
        for m in (0.05, 1.0)
    )
    assert (mild.causes == strong.causes).all().all() and (strong.severity[~strong.good] == 1.0).all()
    for channel in c.CHANNELS:
        same = np.array_equal(mild.features[channel], strong.features[channel])
        assert same == (channel not in c.VISIBILITY["hcal"]), channel


def test_simulator_rejects_bad_settings():
    with pytest.raises(ValueError, match="bad_fraction"):
        c.simulate_2010(100, bad_fraction=1.0, progress=False)
    with pytest.raises(ValueError, match="unknown subsystems"):
        c.simulate_2010(100, cause_weights={"pixel": 1.0}, progress=False)


def test_feature_table_round_trip_and_clear_errors(sim, tmp_path):
    path = tmp_path / "features.csv"
    sim.to_frame().to_csv(path, index=False)
    back = c.load_feature_table(path)
    assert back.sizes == sim.sizes and (back.good == sim.good).all()
    assert np.allclose(back.features["calo"], sim.features["calo"], rtol=1e-5)

    cert = parse_golden({str(sim.run[0]): [[1, 10]]})
    labelled = c.load_feature_table(path, certification=cert)
    assert labelled.good.sum() == ((sim.run == sim.run[0]) & (sim.ls <= 10)).sum()

    frame = sim.to_frame()
    frame.loc[3, "PF_pt_q0_mean"] = np.nan
    with pytest.raises(ValueError, match="missing feature values"):
        c.features_from_frame(frame)
    assert c.features_from_frame(frame, fill_missing=0.0).features["PF"][3, 0] == 0.0
    with pytest.raises(ValueError, match="no feature columns for channels \\['calo'\\]"):
        c.features_from_frame(frame.drop(columns=sim.columns["calo"]), fill_missing=0.0)
    with pytest.raises(ValueError, match="no 'label' column"):
        c.features_from_frame(sim.to_frame().drop(columns="label"))
    frame = sim.to_frame()
    frame.loc[:4, ["instantLumi", "muons_instantLumi", "photons_instantLumi"]] = 0.0
    with pytest.warns(UserWarning, match="dropped 5 LS with zero or negative luminosity"):
        assert c.features_from_frame(frame).n_ls == sim.n_ls - 5
    with pytest.raises(FileNotFoundError):
        c.load_feature_table(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="csv or .parquet"):
        c.load_feature_table(path.rename(tmp_path / "features.txt"))
