"""The chapters' shared set-up: the preset knob, and the HE source stored with its recipe and reused only on a match."""

import pytest
import torch

from hcaltl.experiments import chapter
from hcaltl.experiments.presets import get_preset


def test_preset_drops_none_overrides_and_keeps_the_rest():
    assert chapter.preset("fast", n_ls_he=None, epochs=None) == get_preset("fast")
    assert chapter.preset("fast", n_ls_hb=900, epochs=None).n_ls_hb == 900
    with pytest.raises(ValueError, match="unknown preset field"):
        chapter.preset("fast", n_ls=5)


@pytest.fixture(scope="module")
def he_prep():
    return chapter.he_windows(chapter.preset("fast", n_ls_he=1100, epochs=1), seed=4)[0]


def test_he_source_reuses_only_a_checkpoint_of_the_same_recipe(he_prep, tmp_path):
    cfg = chapter.preset("fast", n_ls_he=1100, epochs=1)
    small = {name: w[:8] for name, w in he_prep.windows.items()}
    model = chapter.new_source(cfg, latent=2, seed=4)
    result = chapter.train_source(model, small, cfg, seed=4, checkpoint=tmp_path / "he.pt", progress=False)
    assert result["epochs"] == 1
    # same recipe: the stored model comes back as it is (it was trained on 8 windows, not on the preset's LS)
    again = chapter.he_source(tmp_path / "he.pt", cfg, latent=2, seed=4, progress=False)
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
    # another seed is another recipe: trained afresh on the preset's data and stored in place of the old one
    other = chapter.he_source(tmp_path / "he.pt", cfg, latent=2, seed=5, progress=False)
    assert any(not torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))
    assert chapter.he_source(tmp_path / "he.pt", cfg, latent=2, seed=5, progress=False).config == other.config
