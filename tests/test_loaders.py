import numpy as np
import pytest

from conftest import write_dqm_hdf5, write_hcalanalyzer_root
from hcaltl.geometry import get_geometry
from hcaltl.loaders import load_dqm_hdf5, load_hcalanalyzer_npy, load_hcalanalyzer_root
from hcaltl.simulate import simulate


@pytest.fixture(scope="module")
def small(he):
    return simulate(he, 12, seed=4)


def _with_foreign_hits(data, other):
    """HE maps plus hits in another subdetector's cells (as real files have)."""
    maps = data.occupancy.copy()
    maps[:, other.mask] = 3.0
    return maps


def test_dqm_hdf5_round_trip(tmp_path, small, hb):
    maps = _with_foreign_hits(small, hb)
    path = tmp_path / "dqm.hdf5"
    write_dqm_hdf5(path, maps, n_events=small.n_events)
    data = load_dqm_hdf5(path, small.geometry, n_events="hf", run=316000)
    assert np.array_equal(data.occupancy, small.occupancy)
    assert np.array_equal(data.n_events, small.n_events)
    assert data.meta["hits_by_region"]["HB"] == 3.0 * hb.n_channels * small.n_ls  # counted, not silently lost
    assert data.meta["hits_by_region"]["HF"] > 0
    hb_view = load_dqm_hdf5(path, hb, n_events=small.n_events, check_era=False)
    assert np.all(hb_view.node_values() == 3.0)


def test_dqm_hdf5_errors(tmp_path, small):
    path = tmp_path / "dqm.hdf5"
    write_dqm_hdf5(path, small.occupancy)
    with pytest.raises(ValueError, match="store no per-LS event count"):
        load_dqm_hdf5(path, small.geometry)
    write_dqm_hdf5(path, small.occupancy, depths=range(1, 4))
    with pytest.raises(ValueError, match="lacks the digi datasets of depths"):
        load_dqm_hdf5(path, small.geometry, n_events=small.n_events)
    with pytest.raises(FileNotFoundError):
        load_dqm_hdf5(tmp_path / "missing.hdf5", small.geometry, n_events="hf")
    write_dqm_hdf5(path, small.occupancy, n_events=small.n_events)
    raw = path.read_bytes()
    (tmp_path / "cut.hdf5").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(ValueError, match="truncated"):
        load_dqm_hdf5(tmp_path / "cut.hdf5", small.geometry, n_events=small.n_events)


def test_hcalanalyzer_root_round_trip(tmp_path, small, hb):
    maps = _with_foreign_hits(small, hb)
    ls_numbers = np.array([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15])
    n_events = np.arange(200, 212)
    path = tmp_path / "Run316000__hehb_cut20fc__depth.root"
    write_hcalanalyzer_root(path, np.minimum(maps, 150), ls_numbers, n_events, run=316000)
    data = load_hcalanalyzer_root(path, small.geometry)
    assert np.array_equal(data.ls, ls_numbers)
    assert np.array_equal(data.n_events, n_events)
    assert set(data.run) == {316000}
    assert np.array_equal(data.occupancy, np.minimum(small.occupancy, 150))
    # iphi 72 sits in the TH3 overflow bin and is recovered
    assert data.occupancy[:, :, 71].sum() > 0


def test_hcalanalyzer_root_errors(tmp_path, small):
    bad = tmp_path / "bad.root"
    bad.write_bytes(b"not a root file at all" * 10)
    with pytest.raises(ValueError, match="not a readable ROOT file"):
        load_hcalanalyzer_root(bad, small.geometry)
    with pytest.raises(FileNotFoundError):
        load_hcalanalyzer_root(tmp_path / "missing.root", small.geometry)


def test_hcalanalyzer_npy(tmp_path, small):
    arr = small.occupancy[..., None]  # [LS, 64, 72, 7, 1]
    np.save(tmp_path / "x.npy", arr)
    data = load_hcalanalyzer_npy(tmp_path / "x.npy", small.geometry, n_events=small.n_events)
    assert np.array_equal(data.occupancy, small.occupancy)
    np.save(tmp_path / "y.npy", small.occupancy[:, :, :, :4, None])  # a 4-depth export: HE needs 7
    with pytest.raises(
        ValueError, match="holds depths 1-4, but HE .* needs depths up to 7: missing depths are not filled"
    ):
        load_hcalanalyzer_npy(tmp_path / "y.npy", small.geometry, n_events=small.n_events)
    hb = get_geometry("HB")
    hb_maps = np.where(hb.mask, small.occupancy, 0)[:, :, :, :4, None]  # an HB export needs depths 1-4 only
    np.save(tmp_path / "hb.npy", hb_maps)
    assert load_hcalanalyzer_npy(tmp_path / "hb.npy", hb, n_events=small.n_events).n_ls == small.n_ls
    np.save(tmp_path / "z.npy", np.zeros((3, 64, 70, 7)))
    with pytest.raises(ValueError, match="expected \\[LS, 64, 72, D, 1\\]"):
        load_hcalanalyzer_npy(tmp_path / "z.npy", small.geometry, n_events=[1, 1, 1])
    with pytest.raises(ValueError, match="n_events must be a vector of 12 events per LS, got shape"):
        load_hcalanalyzer_npy(tmp_path / "x.npy", small.geometry, n_events=[1, 2])


def test_load_dispatches_by_suffix(tmp_path, small, hb):
    from hcaltl.loaders import load

    assert load(small.save(tmp_path / "a.npz")).n_ls == small.n_ls
    with pytest.raises(ValueError, match="holds HE, but HB"):
        load(tmp_path / "a.npz", hb)
    np.save(tmp_path / "b.npy", small.occupancy[..., None])
    assert load(tmp_path / "b.npy", small.geometry, n_events=small.n_events).n_ls == small.n_ls
    with pytest.raises(ValueError, match="needs geometry"):
        load(tmp_path / "b.npy")
    (tmp_path / "c.csv").write_text("x")
    with pytest.raises(ValueError, match="unsupported file type '.csv'"):
        load(tmp_path / "c.csv", hb)
