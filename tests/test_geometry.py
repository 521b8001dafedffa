import numpy as np
import pytest

from hcaltl.geometry import (
    DEPTH_TABLES,
    ERAS,
    GEOMETRIES,
    MAP_SHAPE,
    era_masks,
    geometries_table,
    get_geometry,
    ieta_to_row,
    iphi_to_rbx,
    rbx_iphis,
    row_to_ieta,
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
    with pytest.raises(ValueError, match="'HE-SiPM-192' belongs to HE, not HB; valid names for HB are HB-HPD, HB-SiPM"):
        get_geometry("HB", "HE-SiPM-192")
    with pytest.raises(ValueError, match="empty"):
        get_geometry("HB", {})
    with pytest.raises(ValueError, match="outside HB, which covers"):
        get_geometry("HB", {20: (1,)})
    with pytest.raises(ValueError, match="unknown era '2030'; valid eras are 2016, 2017, 2018, run3"):
        get_geometry("HE", era="2030")
    with pytest.raises(ValueError, match="pass one of them"):
        get_geometry("HE", "HE-HPD", era="2018")
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


@pytest.mark.parametrize(
    ("era", "sub", "channels", "per_rbx", "max_depth"),
    [
        ("2016", "HB", 2592, {72}, 2),
        ("2016", "HE", 2592, {72}, 3),
        ("2017", "HB", 2592, {72}, 2),
        ("2017", "HE", 35 * 72 + 184, {72, 184}, 7),
        ("2018", "HB", 2592, {72}, 2),
        ("2018", "HE", 6912, {192}, 7),
        ("run3", "HB", 9072, {252}, 4),
        ("run3", "HE", 6768, {188}, 7),
    ],
)
def test_every_era_has_its_counts(era, sub, channels, per_rbx, max_depth):
    g = get_geometry(sub, era=era)
    assert g.n_channels == channels and g.mask.sum() == channels
    assert set(g.channels_per_rbx) == per_rbx and g.channels_per_rbx.size == 36
    assert g.max_depth == max_depth and era in g.eras
    assert g.channels.groupby(["side", "iphi"]).ngroups == 144  # every iphi of both sides is read out
    assert np.all(np.diff(((g.channels.row * 72 + g.channels.col) * 7 + g.channels.dep).to_numpy()) > 0)


def test_run3_barrel_reads_256_per_rbx_with_four_calibration_channels():
    """CMSSW counts 9216 HB back-end channels (36 x 256) and 144 calibration channels: 9072 cells are left,
    4 depths up to |ieta| 15 and 3 at |ieta| 16, where HE's depth 4 begins."""
    hb, he = get_geometry("HB", era="run3"), get_geometry("HE", era="run3")
    assert hb.n_channels + 144 == 36 * 256
    assert set(hb.channels.groupby(["rbx_name", "rm"]).size()) == {63}  # 64 SiPMs per RM, one for calibration
    assert hb.depth_table[16] == (1, 2, 3) and he.depth_table[16] == (4,)
    assert he.n_channels + 144 == 36 * 192  # the same reading of paper A's 192 per HE RBX


def test_the_2017_endcap_is_mixed_per_rbx():
    g = get_geometry("HE", era="2017")
    assert g is get_geometry("HE-2017") and g.sensors == ("HPD", "SiPM")
    hep17 = g.channels[g.channels.rbx_name == "HEP17"]
    assert len(hep17) == 184 and set(hep17.sensor) == {"SiPM"} and set(hep17.iphi) == {63, 64, 65, 66}
    assert set(g.channels.loc[g.channels.rbx_name == "HEM17", "sensor"]) == {"HPD"}
    assert set(hep17.loc[hep17.ieta == 16, "depth"]) == {4}
    assert set(g.channels.loc[(g.channels.rbx_name == "HEP16") & (g.channels.ieta == 16), "depth"]) == {3}


@pytest.mark.parametrize("era", list(ERAS))
def test_detectors_of_an_era_never_share_a_cell(era):
    masks = era_masks(era)
    assert sum(m.astype(int) for m in masks.values()).max() == 1
    assert ("HO" in masks) == (era != "run3")  # depth 4 at |ieta| <= 15 is HO until HB uses it


def test_every_depth_table_is_cited_and_listed():
    for name, table in DEPTH_TABLES.items():
        assert len(table.source) > 40, name
        assert name in GEOMETRIES
    listed = geometries_table()
    assert set(listed.index) == set(GEOMETRIES) and listed.loc["HE-2017", "eras"] == "2017"


def test_default_geometries_mean_what_they_meant():
    assert get_geometry("HB") is get_geometry("HB", era="2018") is get_geometry("HB", "HB-HPD")
    assert get_geometry("HE").depth_table_name == "HE-SiPM-192"
