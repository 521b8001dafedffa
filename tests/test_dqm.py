"""DQM files as they really are: no event counts, HF without zero suppression, HO and HE in the HB/HE bins."""

import numpy as np
import pytest

from conftest import real_layout_maps, write_dqm_hdf5
from hcaltl.cli import main
from hcaltl.dqm import describe_file, era_fit, estimate_events_hf, read_dqm_hdf5
from hcaltl.geometry import get_geometry
from hcaltl.loaders import load_dqm_hdf5


@pytest.fixture(scope="module")
def file_2017(tmp_path_factory):
    maps, n_events, parts = real_layout_maps("2017", n_ls=10, seed=0)
    path = tmp_path_factory.mktemp("dqm") / "run_2017.hdf5"
    write_dqm_hdf5(path, maps, n_events=n_events)
    return path, maps, n_events, parts


def test_events_are_estimated_from_hf(file_2017):
    path, _, n_events, _ = file_2017
    content = read_dqm_hdf5(path)
    assert not any("NumEvents" in name for name in content.datasets)
    assert np.array_equal(estimate_events_hf(content), n_events)


def test_load_keeps_the_detector_and_counts_every_other_region(file_2017):
    path, maps, n_events, parts = file_2017
    hb = get_geometry("HB", era="2017")
    data = load_dqm_hdf5(path, hb, n_events="hf", run=306138)
    assert np.array_equal(data.n_events, n_events)
    expected = np.where(hb.mask, maps, 0)
    assert np.array_equal(data.occupancy, expected)
    regions = data.meta["hits_by_region"]
    assert regions["HE"] == pytest.approx(parts["HE"].occupancy.sum(dtype=np.float64))
    assert regions["HO"] > 0 and regions["HF"] > 0 and regions["unassigned"] == 0
    total = maps.sum(dtype=np.float64) + regions["HF"]
    assert data.meta["hits_kept"] + sum(regions.values()) == pytest.approx(total)  # nothing vanishes uncounted
    assert data.meta["defaults"] == {"ls": "not stored in the file and not given: numbered 1…10 (pass ls=)"}
    assert set(data.run) == {306138}
    unset = load_dqm_hdf5(path, hb, n_events="hf")
    assert "run" in unset.meta["defaults"]  # the default run number is announced, not silent


def test_mixed_2017_endcap_and_the_era_fit(file_2017):
    path, maps, _, parts = file_2017
    fit = era_fit(read_dqm_hdf5(path))
    assert fit.index[0] == "2017"
    he = load_dqm_hdf5(path, get_geometry("HE", era="2017"), n_events="hf")
    assert np.array_equal(he.occupancy, parts["HE"].occupancy)
    assert set(he.geometry.sensors) == {"HPD", "SiPM"}
    with pytest.raises(ValueError, match="best is '2017'|fits this file best is '2017'"):
        load_dqm_hdf5(path, get_geometry("HE", era="2018"), n_events="hf")  # SiPM everywhere: most cells silent
    with pytest.raises(ValueError, match="outside every detector"):
        load_dqm_hdf5(path, get_geometry("HE", era="2016"), n_events="hf")  # HEP17's extra depths unexplained
    with pytest.raises(ValueError, match="only .* of its 9072 cells"):
        load_dqm_hdf5(path, get_geometry("HB", era="run3"), n_events="hf")


def test_rechit_maps_can_be_chosen(tmp_path, file_2017):
    _, maps, n_events, _ = file_2017
    rechit = np.floor(0.9 * maps)
    path = tmp_path / "rechit.hdf5"
    write_dqm_hdf5(path, maps, n_events=n_events, rechit=rechit)
    he = get_geometry("HE", era="2017")
    digi = load_dqm_hdf5(path, he, n_events="hf")
    rec = load_dqm_hdf5(path, he, n_events="hf", maps="rechit")
    assert np.array_equal(rec.occupancy, np.where(he.mask, rechit, 0))
    assert rec.occupancy.sum() < digi.occupancy.sum()


def test_bad_event_counts_are_named(tmp_path, file_2017):
    path, maps, n_events, _ = file_2017
    hb = get_geometry("HB", era="2017")
    with pytest.raises(ValueError, match="n_events='hf'.*n_events=\\[...\\]"):
        load_dqm_hdf5(path, hb)
    with pytest.raises(ValueError, match="exceed the given n_events"):
        load_dqm_hdf5(path, hb, n_events=np.full(10, 5))
    with pytest.raises(ValueError, match="'hf' or one count per LS"):
        load_dqm_hdf5(path, hb, n_events="lumi")
    skewed = tmp_path / "skewed.hdf5"
    write_dqm_hdf5(skewed, maps, n_events=n_events, hf_depths=(1,))
    import h5py

    with h5py.File(skewed, "a") as f:  # depth 2's HF disagrees with depth 1's by 10 %
        block = f["DigiTask_Occupancy_depth_depth2"][()]
        block[:, 0::2, :13] = np.floor(1.1 * n_events)[:, None, None]
        del f["DigiTask_Occupancy_depth_depth2"]
        f.create_dataset("DigiTask_Occupancy_depth_depth2", data=block)
    with pytest.raises(ValueError, match="not consistent across depths"):
        load_dqm_hdf5(skewed, hb, n_events="hf")
    no_hf = tmp_path / "nohf.hdf5"
    write_dqm_hdf5(no_hf, maps)
    with pytest.raises(ValueError, match="no HF hits"):
        load_dqm_hdf5(no_hf, hb, n_events="hf")


def test_inspect_and_convert_on_the_command_line(tmp_path, file_2017, capsys):
    path = file_2017[0]
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "best-fitting era: '2017'" in out and "events per LS from HF" in out
    assert (
        main(
            [
                "convert",
                str(path),
                "--geometry",
                "HB",
                "--era",
                "2017",
                "--run",
                "306138",
                "--out",
                str(tmp_path / "hb.npz"),
            ]
        )
        == 0
    )
    assert "HF" in capsys.readouterr().out
    assert (tmp_path / "hb.npz").exists()
    assert main(["convert", str(path), "--geometry", "HB", "--era", "run3", "--out", str(tmp_path / "x.npz")]) == 2
    assert "best is '2017'" in capsys.readouterr().err


def test_run3_file_loads_with_its_own_geometry(tmp_path):
    maps, n_events, parts = real_layout_maps("run3", n_ls=6, seed=2, dead=())
    path = tmp_path / "run3.hdf5"
    write_dqm_hdf5(path, maps, n_events=n_events, hf_depths=(1, 2, 3, 4))
    assert era_fit(read_dqm_hdf5(path)).index[0] == "run3"
    hb = load_dqm_hdf5(path, get_geometry("HB", era="run3"), n_events="hf")
    assert np.array_equal(hb.occupancy, parts["HB"].occupancy) and hb.geometry.n_channels == 9072
    assert "best-fitting era: 'run3'" in describe_file(read_dqm_hdf5(path))
