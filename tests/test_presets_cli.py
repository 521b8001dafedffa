import pytest

from hcaltl.cli import main
from hcaltl.experiments.presets import PRESETS, get_preset


def test_presets_shrink_time_not_geometry():
    fast, paper = get_preset("fast"), get_preset("paper")
    assert paper.n_ls_he == 20000 and paper.n_ls_hb == 7000 and paper.window == 5
    assert fast.n_ls_he < paper.n_ls_he and fast.n_ls_hb < paper.n_ls_hb
    assert set(vars(fast)) == set(vars(paper))
    assert get_preset("fast", n_ls_hb=100).n_ls_hb == 100
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        get_preset("huge")
    with pytest.raises(ValueError, match="unknown preset field"):
        get_preset("fast", n_channels=10)
    assert set(PRESETS) == {"fast", "paper"}


def test_cli_simulate_and_info(tmp_path, capsys):
    out = tmp_path / "hb.npz"
    assert main(["simulate", "HB", "--n-ls", "20", "--seed", "1", "--out", str(out), "--quiet"]) == 0
    assert main(["info", str(out)]) == 0
    assert main(["geometry", "HE"]) == 0
    text = capsys.readouterr().out
    assert "20 LS of HB (2592 channels" in text and "6912" in text


def test_cli_errors_are_clear(tmp_path, capsys):
    assert main(["info", str(tmp_path / "none.npz")]) == 2
    assert "no hcaltl occupancy file" in capsys.readouterr().err
    assert main(["simulate", "HF", "--n-ls", "2", "--out", "x"]) == 2
    assert "unknown subdetector 'HF'" in capsys.readouterr().err
    assert main(["geometry", "HB", "--era", "1999"]) == 2
    assert "valid eras are 2016, 2017, 2018, run3" in capsys.readouterr().err


def test_cli_lists_every_geometry(capsys):
    assert main(["geometry", "--list"]) == 0
    text = capsys.readouterr().out
    assert all(name in text for name in ("HB-SiPM", "HE-2017", "HE-HPD", "run3", "9072"))
    assert main(["geometry", "HB", "--era", "run3"]) == 0
    assert "252" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "0"], "--epochs must be a positive integer, got 0"),
        (["--workers", "0"], "--workers must be a positive integer, got 0"),
        (["--seeds", "-1"], r"seeds: expected positive integer seeds, got [-1]"),
        (["--chapters", "7"], "chapters: expected chapters among (3, 4, 5), got [7]"),
        (["--fractions", "1.5"], "fractions: expected fractions in (0, 1], got [1.5]"),
        (["--pairs", "RANDOM/TL-9"], "unknown transfer configuration"),
    ],
)
def test_cli_sweep_refuses_bad_options_before_running(tmp_path, capsys, args, message):
    assert main(["sweep", "--out", str(tmp_path / "r"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # nothing started


def test_cli_sweep_plan_lists_cells_without_running(tmp_path, capsys):
    assert main(["sweep", "--out", str(tmp_path / "r"), "--chapters", "3", "--seeds", "1", "2", "--plan"]) == 0
    out = capsys.readouterr().out
    assert "model" in out and "baseline" in out and "planned" in out
