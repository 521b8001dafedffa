from dataclasses import replace

import numpy as np
import pytest

from hcaltl.data import OccupancyData
from hcaltl.preprocess import renormalise


def test_round_trip(tmp_path, hb_data):
    path = hb_data.save(tmp_path / "hb.npz")
    back = OccupancyData.load(path)
    assert back.subdetector == "HB" and back.geometry is hb_data.geometry
    for key in ("occupancy", "n_events", "luminosity", "run", "ls"):
        assert np.array_equal(getattr(back, key), getattr(hb_data, key)), key
    assert back.meta["seed"] == 3 and back.normalised is None
    norm = renormalise(hb_data)
    assert OccupancyData.load(norm.save(tmp_path / "norm")).normalised == "events"


def test_select_keeps_arrays_aligned(hb_data):
    sub = hb_data.select(hb_data.run == hb_data.runs()[0])
    assert sub.n_ls == (hb_data.run == hb_data.runs()[0]).sum()
    assert np.array_equal(sub.ls, np.arange(1, sub.n_ls + 1))


def test_missing_and_truncated_files(tmp_path, hb_data):
    with pytest.raises(FileNotFoundError, match="no hcaltl occupancy file"):
        OccupancyData.load(tmp_path / "nope.npz")
    path = hb_data.save(tmp_path / "hb.npz")
    raw = path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="cut.npz is not an .npz archive .truncated, damaged"):
        OccupancyData.load(cut)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(ValueError, match="not an hcaltl occupancy file"):
        OccupancyData.load(other)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: {"occupancy": d.occupancy[:, :, :, :4]}, "shape"),
        (lambda d: {"n_events": d.n_events[:-1]}, "n_events must have shape"),
        (
            lambda d: {"n_events": np.where(np.arange(d.n_ls) == 7, 0, d.n_events)},
            r"zero or negative at LS index \[7\]",
        ),
        (lambda d: {"luminosity": np.full(d.n_ls, np.nan)}, "luminosity contains NaN"),
        (lambda d: {"occupancy": _poke(d.occupancy, np.nan)}, "NaN/inf"),
        (lambda d: {"occupancy": _poke(d.occupancy, -1.0)}, "negative"),
        (lambda d: {"occupancy": _poke(d.occupancy, 1e9)}, "exceed n_events"),
        (lambda d: {"occupancy": _poke(d.occupancy, 1.0, inactive=True)}, "outside the active cells"),
        (lambda d: {"normalised": "pileup"}, "normalised must be"),
    ],
)
def test_bad_input_is_named(hb_data, change, message):
    with pytest.raises(ValueError, match=message):
        replace(hb_data, **change(hb_data))


def _poke(occ, value, inactive=False):
    out = occ.copy()
    row, col, dep = (0, 0, 6) if inactive else (40, 5, 0)  # row 0 is ieta -32 (never active)
    out[3, row, col, dep] = value
    return out


def test_every_era_round_trips_through_npz(tmp_path):
    from hcaltl.data import OccupancyData
    from hcaltl.geometry import get_geometry
    from hcaltl.simulate import simulate

    for era, sub in (("2017", "HE"), ("run3", "HB")):
        data = simulate(get_geometry(sub, era=era), 3, seed=1)
        back = OccupancyData.load(data.save(tmp_path / f"{era}{sub}.npz"))
        assert back.geometry is data.geometry and np.array_equal(back.occupancy, data.occupancy)
