from dataclasses import replace

import numpy as np
import pytest
import torch

from hcaltl.checkpoints import load_checkpoint, save_checkpoint
from hcaltl.inference import reconstruct
from hcaltl.models import GraphSTAD
from hcaltl.train import TrainConfig, evaluate, fit, learning_rates, per_channel_mean_mse, train_and_evaluate


@pytest.fixture(scope="module")
def trained(trained_hb):
    return trained_hb


def test_training_lowers_the_loss(trained):
    _, history = trained
    assert len(history.train_loss) == 4
    assert history.train_loss[-1] < 0.2 * history.train_loss[0]
    assert history.val_loss[history.best_epoch] == min(history.val_loss)
    assert history.ls_per_second > 0


def test_trained_model_beats_per_channel_mean_on_held_out_ls(trained, hb_windows, hb):
    model, _ = trained
    test = hb_windows["test"]
    baseline = per_channel_mean_mse(hb_windows["train"], test, hb.mask)
    mean_map = hb_windows["train"].mean(axis=(0, 1))
    by_hand = float(((mean_map - test) ** 2)[..., hb.mask].mean())
    assert baseline == pytest.approx(by_hand, rel=1e-4)
    ours = evaluate(model, test)
    assert ours < 0.5 * baseline, f"GraphSTAD {ours:.4g} vs per-channel mean {baseline:.4g}"
    recon = reconstruct(model, test[:3])
    assert recon.shape == test[:3].shape


def test_frozen_parameters_stay_bit_identical(hb_windows):
    torch.manual_seed(1)
    model = GraphSTAD("HB", latent=2)
    for p in model.enc_cnn.parameters():
        p.requires_grad_(False)
    before = {
        k: v.clone() for k, v in model.enc_cnn.state_dict().items() if "running" not in k and "num_batches" not in k
    }
    fit(model, hb_windows["train"][:8], hb_windows["val"][:4], TrainConfig(epochs=1, progress=False))
    after = model.enc_cnn.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_one_cycle_schedule_and_bad_input(hb_windows):
    model = GraphSTAD("HB", latent=2)
    config = TrainConfig(epochs=2, one_cycle=True, lr=1e-2, progress=False)
    h = fit(model, hb_windows["train"][:8], hb_windows["val"][:4], config)
    assert h.lr[0] != h.lr[1]
    rates = learning_rates(config, 2)  # 8 windows in batches of 4: fit's rate after its first epoch is the third step's
    assert rates.shape == (4,) and h.lr[0] == pytest.approx(rates[2])
    ten = learning_rates(replace(config, epochs=10), 100)  # torch's defaults: from lr/25 up to lr at 30 %, then down
    assert ten[0] == pytest.approx(4e-4) and ten.argmax() == 299 and ten.max() == pytest.approx(1e-2)
    assert 0.45 < ten.mean() / 1e-2 < 0.55 and ten[-1] < 1e-6
    assert (learning_rates(replace(config, one_cycle=False), 3) == 1e-2).all()
    with pytest.raises(ValueError, match="steps_per_epoch must be at least 1, got 0"):
        learning_rates(config, 0)
    with pytest.raises(ValueError, match=r"training windows must be \[n, 5, 64, 72, 7\]"):
        fit(model, hb_windows["train"][:, :3], hb_windows["val"], TrainConfig(epochs=1, progress=False))
    bad = hb_windows["val"][:2].copy()
    bad[0, 0, 40, 0, 0] = np.nan
    with pytest.raises(ValueError, match="validation windows: 1 NaN or infinite values"):
        fit(model, hb_windows["train"][:4], bad, TrainConfig(epochs=1, progress=False))
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="every parameter is frozen"):
        fit(model, hb_windows["train"][:4], hb_windows["val"][:2], TrainConfig(epochs=1, progress=False))
    with pytest.raises(ValueError, match="device must be"):
        fit(
            GraphSTAD("HB", latent=2),
            hb_windows["train"][:4],
            hb_windows["val"][:2],
            TrainConfig(epochs=1, device="tpu"),
        )


def test_train_and_evaluate_row(hb_windows):
    small = {k: v[:8] for k, v in hb_windows.items()}
    row = train_and_evaluate(GraphSTAD("HB", latent=2), small, TrainConfig(epochs=1, progress=False))
    assert {"test_mse", "best_val_mse", "epochs", "parameters", "train_seconds", "history"} <= set(row)
    assert row["epochs"] == 1 and row["test_mse"] > 0


def test_resume_continues_exactly_like_an_uninterrupted_run(hb_windows, tmp_path):
    train, val = hb_windows["train"][:24], hb_windows["val"][:8]

    def run(epochs, path, resume=False):
        torch.manual_seed(5)
        model = GraphSTAD("HB", latent=4)
        history = fit(
            model, train, val, TrainConfig(epochs=epochs, seed=9, progress=False), checkpoint=path, resume=resume
        )
        return model, history

    whole, whole_history = run(3, tmp_path / "whole.pt")
    run(1, tmp_path / "cut.pt")  # "interrupted" after one epoch
    resumed, resumed_history = run(3, tmp_path / "cut.pt", resume=True)
    assert resumed_history.train_loss == whole_history.train_loss
    assert resumed_history.val_loss == whole_history.val_loss
    assert len(resumed_history.seconds) == 3 and min(resumed_history.seconds) > 0  # every session's epochs timed
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    stored, record = load_checkpoint(tmp_path / "cut.pt")
    assert record["resume"]["epoch"] == 2 and record["history"]["best_epoch"] == resumed_history.best_epoch
    for a, b in zip(stored.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)  # the checkpoint's model is the best (restored) one


def test_resume_refuses_a_mismatch(hb_windows, tmp_path):
    train, val = hb_windows["train"][:8], hb_windows["val"][:4]
    path = tmp_path / "run.pt"
    fit(GraphSTAD("HB", latent=4), train, val, TrainConfig(epochs=1, progress=False), checkpoint=path)
    with pytest.raises(ValueError, match="different training settings.*lr"):
        fit(
            GraphSTAD("HB", latent=4),
            train,
            val,
            TrainConfig(epochs=2, lr=1e-3, progress=False),
            checkpoint=path,
            resume=True,
        )
    with pytest.raises(ValueError, match="another model configuration"):
        fit(GraphSTAD("HB", latent=2), train, val, TrainConfig(epochs=2, progress=False), checkpoint=path, resume=True)
    with pytest.raises(ValueError, match="needs the checkpoint"):
        fit(GraphSTAD("HB", latent=4), train, val, TrainConfig(epochs=2, progress=False), resume=True)
    save_checkpoint(GraphSTAD("HB", latent=4), tmp_path / "plain.pt")
    with pytest.raises(ValueError, match="no training state"):
        fit(
            GraphSTAD("HB", latent=4),
            train,
            val,
            TrainConfig(epochs=2, progress=False),
            checkpoint=tmp_path / "plain.pt",
            resume=True,
        )
