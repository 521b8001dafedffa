"""Shared fixtures: small data sets and real-format files written by the tests themselves."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hcaltl.geometry import get_geometry
from hcaltl.models import GraphSTAD
from hcaltl.preprocess import prepare_windows
from hcaltl.simulate import simulate
from hcaltl.train import TrainConfig, fit


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


@pytest.fixture(scope="session")
def hb_run(hb):
    """Raw HB counts of a simulated run set (1400 LS), the data of the trained HB model below."""
    return simulate(hb, 1400, seed=1)


@pytest.fixture(scope="session")
def hb_prepared(hb_run):
    return prepare_windows(hb_run)


@pytest.fixture(scope="session")
def hb_windows(hb_prepared):
    return hb_prepared.windows


@pytest.fixture(scope="session")
def trained_hb(hb_windows):
    """An HB GraphSTAD trained for 4 epochs on ``hb_windows`` (shared by the training and online tests)."""
    torch.manual_seed(0)
    model = GraphSTAD("HB", latent=8)
    history = fit(model, hb_windows["train"], hb_windows["val"], TrainConfig(epochs=4, progress=False))
    return model, history


def _dqm_block(maps: np.ndarray, depth: int) -> np.ndarray:
    """One depth of maps [LS, 64, 72, 7] as a DQM dataset (LS, 72 iphi, 84 ieta bins), bins computed here."""
    ieta = np.concatenate([np.arange(-29, 0), np.arange(1, 30)])
    rows = np.where(ieta < 0, ieta + 32, ieta + 31)
    bins = np.where(ieta < 0, ieta + 42, ieta + 41)
    block = np.zeros((maps.shape[0], 72, 84), dtype=np.float32)
    block[:, :, bins] = np.transpose(maps[..., depth - 1][:, rows, :], (0, 2, 1))
    return block


def write_dqm_hdf5(path, maps: np.ndarray, n_events=None, depths=range(1, 8), hf_depths=(1, 2), rechit=None) -> None:
    """Write maps [LS, 64, 72, 7] in the real HCAL DQM HDF5 layout: per depth a (LS, 72 iphi, 84 ieta) dataset,
    lzf-compressed, Digi and RecHit maps, no event count, run or LS number stored.

    HF (bins 0-12, 71-83) is written as it is read out, without zero suppression: every odd-iphi HF channel of
    ``hf_depths`` fires in every event (``n_events``), the others in fewer.
    """
    import h5py

    with h5py.File(path, "w") as f:
        for d in depths:
            block = _dqm_block(maps, d)
            if n_events is not None and d in hf_depths:
                n = np.asarray(n_events, dtype=np.float32)[:, None, None]
                block[:, 0::2, :13] = n  # iphi index 0, 2, … = odd iphi
                block[:, 0::2, 71:] = n
                block[:, 1::2, :13] = np.floor(0.6 * n)
                block[:, 1::2, 71:] = np.floor(0.6 * n)
            f.create_dataset(f"DigiTask_Occupancy_depth_depth{d}", data=block, compression="lzf")
            rec = block if rechit is None else _dqm_block(rechit, d)
            if rechit is not None:
                rec[:, :, :13], rec[:, :, 71:] = block[:, :, :13], block[:, :, 71:]
            f.create_dataset(f"RecHitTask_Occupancy_depth_depth{d}", data=rec, compression="lzf")


def real_layout_maps(era: str = "2017", n_ls: int = 10, seed: int = 0, dead=((5, 10, 1),)):
    """A detector of ``era`` as a DQM file holds it: HB and HE (simulated with one beam), HO at depth 4 for
    |ieta| <= 15 where HB does not use it, and dead HB channels (ieta, iphi, depth).

    Returns:
        (maps [LS, 64, 72, 7], n_events [LS], {"HB": data, "HE": data}).
    """
    from hcaltl.geometry import ieta_to_row

    parts = {sub: simulate(get_geometry(sub, era=era), n_ls, seed=seed) for sub in ("HB", "HE")}
    n_events = parts["HB"].n_events
    assert np.array_equal(n_events, parts["HE"].n_events)  # one seed, one beam
    maps = parts["HB"].occupancy + parts["HE"].occupancy
    for ieta, iphi, depth in dead:
        maps[:, ieta_to_row(ieta), iphi - 1, depth - 1] = 0
    if 4 not in get_geometry("HB", era=era).depths:  # HO in the depth-4 maps
        rng = np.random.default_rng(seed + 1)
        for a in range(1, 16):
            level = 0.12 if a <= 4 else 0.31 if a <= 10 else 0.50
            for ieta in (-a, a):
                maps[:, ieta_to_row(ieta), :, 3] = rng.binomial(
                    n_events[:, None], level * (1 + 0.08 * rng.standard_normal(72)).clip(0.01, 1)
                )
    return maps.astype(np.float32), n_events, parts


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
                fName=f"hist3D_depth{d}",
                fTitle=f"hist3D_depth{d}",
                data=values.ravel(order="F"),
                fEntries=float(values.sum()),
                fTsumw=float(values.sum()),
                fTsumw2=float(values.sum()),
                fTsumwx=0.0,
                fTsumwx2=0.0,
                fTsumwy=0.0,
                fTsumwy2=0.0,
                fTsumwz=0.0,
                fTsumwz2=0.0,
                fTsumwxy=0.0,
                fTsumwxz=0.0,
                fTsumwyz=0.0,
                fSumw2=values.ravel(order="F").astype(np.float64),
                fXaxis=uproot.writing.identify.to_TAxis("xaxis", "", 2000, 0.0, 2000.0),
                fYaxis=uproot.writing.identify.to_TAxis("yaxis", "", 64, -32.0, 32.0),
                fZaxis=uproot.writing.identify.to_TAxis("zaxis", "", 72, 0.0, 72.0),
            )
        lumisec = np.repeat(ls_numbers, n_events).astype(np.int32)
        f["Hcal4DQMAnalyzer/evttree"] = {"RunNum": np.full(len(lumisec), run, dtype=np.int32), "LumiSec": lumisec}
