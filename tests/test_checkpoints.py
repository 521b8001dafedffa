import pytest
import torch

from hcaltl.checkpoints import load_checkpoint, save_checkpoint
from hcaltl.models import GraphSTAD
from hcaltl.train import History, TrainConfig


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(2)
    model = GraphSTAD("HB", latent=2, readout="rm", use_gnn=True)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))  # not the initial weights: the file must carry them
    history = History(train_loss=[1.0, 0.5], val_loss=[0.9, 0.6], best_epoch=1)
    path = save_checkpoint(model, tmp_path / "hb.pt", train_config=TrainConfig(), history=history, extra={"note": "x"})
    back, record = load_checkpoint(path)
    x = torch.rand(2, 5, 64, 72, 7)
    model.eval(), back.eval()
    with torch.no_grad():
        assert torch.equal(model(x), back(x))
    assert back.config == model.config and record["extra"] == {"note": "x"}
    assert record["model_config"]["subdetector"] == "HB" and record["history"]["best_epoch"] == 1
    with pytest.raises(ValueError, match="trained on HB, but a HE model"):
        load_checkpoint(path, expect_subdetector="HE")
    raw = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated or damaged"):
        load_checkpoint(tmp_path / "cut.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "none.pt")
    torch.save({"format": "other"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an hcaltl GraphSTAD checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
