"""Shared fixtures: small data sets and real-format files written by the tests themselves."""

from __future__ import annotations

import numpy as np
import pytest

from hcaltl.geometry import get_geometry
from hcaltl.simulate import simulate


@pytest.fixture(scope="session")
def hb():
    return get_geometry("HB")


@pytest.fixture(scope="session")
def he():
    return get_geometry("HE")


@pytest.fixture(scope="session")
def hb_data(hb):
    return simulate(hb, 1200, seed=3)


@pytest.fixture(scope="session")
def he_data(he):
    return simulate(he, 600, seed=3)


def write_dqm_hdf5(path, maps: np.ndarray, n_events=None, depths=range(1, 8)) -> None:
    """Write maps [LS, 64, 72, 7] in the HCAL DQM HDF5 layout (LS, 72 iphi, 84 ieta) per depth."""
    import h5py

    ieta = np.concatenate([np.arange(-29, 0), np.arange(1, 30)])
    rows = np.where(ieta < 0, ieta + 32, ieta + 31)
    bins = np.where(ieta < 0, ieta + 42, ieta + 41)
    with h5py.File(path, "w") as f:
        for d in depths:
            block = np.zeros((maps.shape[0], 72, 84), dtype=np.float32)
            block[:, :, bins] = np.transpose(maps[..., d - 1][:, rows, :], (0, 2, 1))
            # HF bins carry unrelated hits that a loader must ignore
            block[:, :, :13] = 7.0
            block[:, :, 71:] = 7.0
            f.create_dataset(f"DigiTask_Occupancy_depth_depth{d}", data=block)
        if n_events is not None:
            f.create_dataset("NumEvents", data=np.asarray(n_events))


def write_hcalanalyzer_root(path, maps: np.ndarray, ls_numbers: np.ndarray, n_events: np.ndarray, run: int) -> None:
    """Write maps like Hcal4DQMAnalyzer: TH3 hist3D_depthN (LS × ieta × iphi) and evttree (one entry per event)."""
    import uproot

    with uproot.recreate(path) as f:
        for d in range(1, 8):
            # values with flow bins: (2000+2, 64+2, 72+2); ROOT stores them x-fastest (Fortran order)
            values = np.zeros((2002, 66, 74))
            rows = np.arange(64)
            ieta = np.where(rows < 32, rows - 32, rows - 31)
            keep = rows != 63  # row 63 would be ieta 32, outside the histogram
            z = np.concatenate([1 + np.arange(1, 72), [73]])  # iphi 72 lands in the overflow bin
            values[np.ix_(1 + np.asarray(ls_numbers), 1 + ieta[keep] + 32, z)] = maps[..., d - 1][:, rows[keep], :]
            f[f"Hcal4DQMAnalyzer/hist3D_depth{d}"] = uproot.writing.identify.to_TH3x(
                fName=f"hist3D_depth{d}", fTitle=f"hist3D_depth{d}", data=values.ravel(order="F"),
                fEntries=float(values.sum()), fTsumw=float(values.sum()), fTsumw2=float(values.sum()),
                fTsumwx=0.0, fTsumwx2=0.0, fTsumwy=0.0, fTsumwy2=0.0, fTsumwz=0.0, fTsumwz2=0.0,
                fTsumwxy=0.0, fTsumwxz=0.0, fTsumwyz=0.0, fSumw2=values.ravel(order="F").astype(np.float64),
                fXaxis=uproot.writing.identify.to_TAxis("xaxis", "", 2000, 0.0, 2000.0),
                fYaxis=uproot.writing.identify.to_TAxis("yaxis", "", 64, -32.0, 32.0),
                fZaxis=uproot.writing.identify.to_TAxis("zaxis", "", 72, 0.0, 72.0),
            )
        lumisec = np.repeat(ls_numbers, n_events).astype(np.int32)
        f["Hcal4DQMAnalyzer/evttree"] = {"RunNum": np.full(len(lumisec), run, dtype=np.int32), "LumiSec": lumisec}
