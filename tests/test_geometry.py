import numpy as np
import pytest

from hcaltl.geometry import (
    DEPTH_TABLES, MAP_SHAPE, get_geometry, ieta_to_row, iphi_to_rbx, rbx_iphis, row_to_ieta,
)


def test_channel_counts_match_the_paper(hb, he):
    assert hb.n_channels == 2592
    assert he.n_channels == 6912
    assert hb.channels_per_rbx.size == 36 and he.channels_per_rbx.size == 36
    assert set(hb.channels_per_rbx) == {72}
    assert set(he.channels_per_rbx) == {192}
    assert hb.mask.shape == MAP_SHAPE and hb.mask.sum() == 2592 and he.mask.sum() == 6912


def test_readout_modules_are_balanced(hb, he):
    assert set(hb.channels.groupby(["rbx_name", "rm"]).size()) == {18}
    assert set(he.channels.groupby(["rbx_name", "rm"]).size()) == {48}


def test_prototype_table_gives_184_per_rbx():
    g = get_geometry("HE", "HE-SiPM-prototype-2017")
    assert set(g.channels_per_rbx) == {184}
    assert g.n_channels == 36 * 184


def test_hb_segmentation(hb):
    ch = hb.channels
    assert ch["ieta"].abs().max() == 16 and ch["ieta"].abs().min() == 1
    assert set(ch.loc[ch["depth"] == 2, "ieta"].abs()) == {15, 16}
    assert ch.groupby(["side", "iphi"]).size().eq(18).all()


def test_he_wide_towers_use_odd_iphi_only(he):
    wide = he.channels[he.channels["ieta"].abs() >= 21]
    assert (wide["iphi"] % 2 == 1).all()
    narrow = he.channels[he.channels["ieta"].abs() <= 20]
    assert narrow["iphi"].nunique() == 72


def test_hb_and_he_share_ieta16_without_overlap(hb, he):
    assert not (hb.mask & he.mask).any()
    assert hb.mask[47].any() and he.mask[47].any()  # row 47 is ieta +16


def test_rbx_wedges():
    assert rbx_iphis(1) == (71, 72, 1, 2)
    assert rbx_iphis(17) == (63, 64, 65, 66)
    assert rbx_iphis(18) == (67, 68, 69, 70)
    for k in range(1, 19):
        assert set(iphi_to_rbx(np.array(rbx_iphis(k)))) == {k}


def test_index_round_trips(he):
    ieta = np.array([-32, -29, -16, -1, 1, 16, 29, 32])
    rows = ieta_to_row(ieta)
    assert rows.tolist() == [0, 3, 16, 31, 32, 47, 60, 63]
    assert row_to_ieta(rows).tolist() == ieta.tolist()
    rng = np.random.default_rng(0)
    values = rng.random(he.n_channels).astype(np.float32)
    maps = he.nodes_to_map(values)
    assert maps.shape == MAP_SHAPE
    assert np.array_equal(he.map_to_nodes(maps), values)
    assert np.all(maps[~he.mask] == 0)
    batch = rng.random((3, 2, he.n_channels))
    assert np.array_equal(he.map_to_nodes(he.nodes_to_map(batch)), batch)


def test_node_order_is_row_major(he):
    c = he.channels
    flat = (c["row"] * 72 + c["col"]) * 7 + c["dep"]
    assert np.all(np.diff(flat.to_numpy()) > 0)
    row = c.iloc[100]
    assert he.node_of(int(row.ieta), int(row.iphi), int(row.depth)) == 100


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown subdetector 'HF'"):
        get_geometry("HF")
    with pytest.raises(ValueError, match="unknown depth table"):
        get_geometry("HE", "HE-2030")
    with pytest.raises(ValueError, match="depths for ieta 20"):
        get_geometry("HE", {20: (0, 1)})
    with pytest.raises(ValueError, match=r"\[\.\.\., 64, 72, 7\]"):
        get_geometry("HB").map_to_nodes(np.zeros((64, 72, 4)))
    with pytest.raises(ValueError, match="2592"):
        get_geometry("HB").nodes_to_map(np.zeros(6912))
    with pytest.raises(KeyError, match="no active channel"):
        get_geometry("HB").node_of(20, 1, 1)
    with pytest.raises(ValueError, match="ieta"):
        ieta_to_row(0)
    assert set(DEPTH_TABLES) >= {"HB-HPD", "HE-SiPM-192", "HE-SiPM-prototype-2017"}
