import warnings

import pytest
import torch

from hcaltl import transfer
from hcaltl.models import GraphSTAD
from hcaltl.train import TrainConfig, fit

FROZEN = {
    "No-TL": set(),
    "TL-1": {"enc_gnn"},
    "TL-2": {"enc_cnn"},
    "TL-2d": {"dec_cnn"},
    "TL-3": {"enc_cnn", "enc_gnn"},
    "TL-5": {"enc_cnn", "enc_gnn", "enc_rnn"},
    "TL-6": {"enc_cnn", "enc_gnn", "enc_rnn", "dec_rnn"},
}


@pytest.fixture(scope="module")
def source():
    torch.manual_seed(11)
    model = GraphSTAD("HE", latent=4)
    with torch.no_grad():  # distinguishable from any fresh initialisation
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    return model


def target(seed=3):
    torch.manual_seed(seed)
    return GraphSTAD("HB", latent=4)


def block_of(name):
    return name.split(".")[0]


@pytest.mark.parametrize(
    "train", sorted(transfer.CONFIGS[n].name for n in transfer.CONFIGS if transfer.CONFIGS[n].kind == "train")
)
def test_every_train_mode_freezes_exactly_its_blocks(source, train):
    base, _, suffix = train.partition("[")
    model = transfer.apply(target(), source, "TL-7", train)
    for name, p in model.named_parameters():
        in_frozen = block_of(name) in FROZEN[base]
        module = model.get_submodule(name.rsplit(".", 1)[0])
        released = ("BN" in suffix and isinstance(module, torch.nn.BatchNorm3d)) or (
            "BIAS" in suffix and "bias" in name.rsplit(".", 1)[1]
        )
        assert p.requires_grad == (not in_frozen or released), name


def test_bn_variants_release_exactly_batchnorm_and_biases(source):
    bn = transfer.apply(target(), source, "TL-4", "TL-2d[BN]")
    trainable_in_dec = {n for n, p in bn.dec_cnn.named_parameters() if p.requires_grad}
    assert trainable_in_dec == {f"blocks.{i}.bn.{w}" for i in range(4) for w in ("weight", "bias")}
    both = transfer.apply(target(), source, "TL-4", "TL-2d/[BN, BIAS]")
    trainable_in_dec = {n for n, p in both.dec_cnn.named_parameters() if p.requires_grad}
    assert trainable_in_dec == {f"blocks.{i}.bn.{w}" for i in range(4) for w in ("weight", "bias")} | {"out.bias"}


def test_source_weights_land_in_the_target(source):
    tl4 = transfer.apply(target(), source, "TL-4", "No-TL")
    tl7 = transfer.apply(target(), source, "TL-7", "TL-6")
    rnd = transfer.apply(target(), source, "RANDOM", "No-TL")
    src = source.state_dict()
    for name, value in tl4.state_dict().items():
        assert torch.equal(value, src[name]) == (block_of(name) in transfer.SPATIAL), name
    for name, value in tl7.state_dict().items():
        assert torch.equal(value, src[name]), name
    for name, p in rnd.named_parameters():
        assert not torch.equal(p, src[name]), name
        if "bias" in name and "bn" not in name:
            assert torch.count_nonzero(p) == 0, name  # RANDOM: zero biases


def test_frozen_parameters_are_bit_identical_after_training(source, hb_data):
    from hcaltl.preprocess import prepare_windows

    w = prepare_windows(hb_data).windows
    model = transfer.apply(target(), source, "TL-7", "TL-5[BN]")
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    fit(model, w["train"][:8], w["val"][:4], TrainConfig(epochs=1, progress=False))
    for name, p in model.named_parameters():
        changed = not torch.equal(before[name], p)
        assert changed == p.requires_grad, name


def test_trainable_fraction_matches_the_block_arithmetic(source):
    model = transfer.apply(target(), source, "TL-7", "TL-6")
    counts = model.block_parameters()
    total = sum(counts.values())
    frozen = sum(counts[b] for b in FROZEN["TL-6"])
    assert transfer.trainable_fraction(model) == pytest.approx(1 - frozen / total)
    assert transfer.trainable_change(model) == pytest.approx(-100 * frozen / total)
    table = transfer.block_table(model)
    assert table["parameters"].sum() == total
    assert table.loc["dec_cnn", "trainable"] == counts["dec_cnn"] and table.loc["dec_rnn", "trainable"] == 0
    assert transfer.trainable_fraction(transfer.apply(target(), None, "RANDOM", "No-TL")) == 1.0


def test_unknown_and_misused_names_fail_clearly(source):
    with pytest.raises(ValueError, match="unknown transfer configuration 'TL-9'.*RANDOM.*TL-6"):
        transfer.apply(target(), source, "TL-9", "No-TL")
    with pytest.raises(ValueError, match="is a train mode, but a init mode"):
        transfer.apply(target(), source, "TL-6", "No-TL")
    with pytest.raises(ValueError, match="source is None"):
        transfer.apply(target(), None, "TL-4", "No-TL")
    with pytest.raises(ValueError, match="does not fit the target"):
        transfer.apply(target(), GraphSTAD("HE", latent=2), "TL-4", "No-TL")
    with pytest.raises(ValueError, match="INIT/TRAIN"):
        transfer.parse_pair("TL-7")
    with pytest.warns(UserWarning, match="not initialised from the source"):
        transfer.apply(target(), source, "TL-4", "TL-6")
    assert transfer.parse_pair("tl-4/tl-2d/[bn, bias]") == ("TL-4", "TL-2d[BN,BIAS]")


def test_registry_covers_the_papers_pairs():
    for init, train in transfer.PAPER_PAIRS:
        assert transfer.CONFIGS[init].kind == "init" and transfer.CONFIGS[train].kind == "train"
    table = transfer.configs_table()
    assert set(table.index) == set(transfer.CONFIGS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        transfer.apply(target(), GraphSTAD("HE", latent=4), "TL-7", "TL-6")  # the paper's pairs never warn
