"""Transfer-learning configurations of Asres et al. (paper A, Table 2): which GraphSTAD blocks the HB (target)
model takes from the HE (source) model, and which of them stay frozen while fine-tuning on HB.

Two kinds of names, used in pairs such as ``"TL-7/TL-6"``:

* **init modes** choose the blocks *initialised* from the source: ``RANDOM`` (none; Kaiming-uniform weights,
  zero biases), ``TL-4`` (the spatial networks: encoder CNN, GNN and decoder CNN), ``TL-7`` (every block);
* **train modes** choose the blocks *frozen* during fine-tuning: ``No-TL`` (none), ``TL-1`` (encoder GNN),
  ``TL-2`` (encoder CNN), ``TL-2d`` (decoder CNN), ``TL-3`` (encoder CNN and GNN), ``TL-5`` (encoder CNN, GNN
  and LSTM), ``TL-6`` (as TL-5 plus the decoder LSTM). A suffix ``[BN]`` keeps fine-tuning the BatchNorm affine
  parameters inside the frozen blocks; ``[BN,BIAS]`` also every bias.

The block each freeze addresses is stripped from the paper's text; the readings here are the ones consistent
with the paper's trainable-parameter shares (Table 5) and are argued in chapter 4
(``notebooks/04_transfer_he_to_hb.ipynb``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from torch import nn

from .models import BLOCKS, GraphSTAD
from .utils import count_parameters

SPATIAL = ("enc_cnn", "enc_gnn", "dec_cnn")


@dataclass(frozen=True)
class TransferConfig:
    """One named configuration.

    Attributes:
        name: the paper's name, e.g. ``"TL-4"`` or ``"TL-2d[BN,BIAS]"``.
        kind: ``"init"`` (``blocks`` are copied from the source) or ``"train"`` (``blocks`` are frozen).
        blocks: GraphSTAD block names (see :data:`~hcaltl.models.graphstad.BLOCKS`).
        release: inside frozen blocks, parameter groups that stay trainable: ``"bn"`` and/or ``"bias"``.
        description: one line for tables.
    """

    name: str
    kind: Literal["init", "train"]
    blocks: tuple[str, ...]
    release: tuple[str, ...] = ()
    description: str = ""


def _train_modes() -> dict[str, TransferConfig]:
    base = {
        "No-TL": ((), "nothing frozen; every block fine-tuned"),
        "TL-1": (("enc_gnn",), "encoder GNN frozen"),
        "TL-2": (("enc_cnn",), "encoder CNN frozen"),
        "TL-2d": (("dec_cnn",), "decoder CNN frozen"),
        "TL-3": (("enc_cnn", "enc_gnn"), "encoder CNN and GNN frozen"),
        "TL-5": (("enc_cnn", "enc_gnn", "enc_rnn"), "encoder CNN, GNN and LSTM frozen"),
        "TL-6": (("enc_cnn", "enc_gnn", "enc_rnn", "dec_rnn"), "encoder CNN, GNN, LSTM and decoder LSTM frozen"),
    }
    modes = {}
    for name, (blocks, text) in base.items():
        modes[name] = TransferConfig(name, "train", blocks, (), text)
        if blocks:
            modes[f"{name}[BN]"] = TransferConfig(
                f"{name}[BN]", "train", blocks, ("bn",), text + "; BatchNorm fine-tuned"
            )
            modes[f"{name}[BN,BIAS]"] = TransferConfig(
                f"{name}[BN,BIAS]", "train", blocks, ("bn", "bias"), text + "; BatchNorm and biases fine-tuned"
            )
    return modes


CONFIGS: dict[str, TransferConfig] = {
    "RANDOM": TransferConfig("RANDOM", "init", (), (), "nothing from the source: Kaiming-uniform weights, zero biases"),
    "TL-4": TransferConfig(
        "TL-4", "init", SPATIAL, (), "spatial networks (encoder CNN, GNN, decoder CNN) from the source"
    ),
    "TL-7": TransferConfig("TL-7", "init", BLOCKS, (), "every block (spatial and temporal) from the source"),
    **_train_modes(),
}
"""Every configuration by name (init modes and train modes, with their [BN] and [BN,BIAS] variants)."""

PAPER_PAIRS: tuple[tuple[str, str], ...] = (
    ("RANDOM", "No-TL"),
    ("TL-4", "No-TL"),
    ("TL-4", "TL-1"),
    ("TL-4", "TL-2"),
    ("TL-4", "TL-3"),
    ("TL-4", "TL-2d"),
    ("TL-4", "TL-2d[BN]"),
    ("TL-4", "TL-2d[BN,BIAS]"),
    ("TL-7", "TL-5"),
    ("TL-7", "TL-6"),
)
"""The (init, train) pairs the paper reports, in the order of its tables."""


def canonical_name(name: str) -> str:
    """Normalise spellings such as ``"TL-2d/[BN, BIAS]"`` or ``"tl-2d[bn]"`` to the registry's key."""
    if not isinstance(name, str):
        raise TypeError(f"a configuration name must be a string, got {type(name).__name__}")
    text = name.replace(" ", "").replace("/[", "[")
    lookup = {key.upper(): key for key in CONFIGS}
    if text.upper() not in lookup:
        raise ValueError(f"unknown transfer configuration {name!r}; valid names are {', '.join(CONFIGS)}")
    return lookup[text.upper()]


def get_config(name: str, kind: str | None = None) -> TransferConfig:
    """The configuration called ``name``; with ``kind``, also check it is an init or a train mode."""
    config = CONFIGS[canonical_name(name)]
    if kind is not None and config.kind != kind:
        valid = [k for k, c in CONFIGS.items() if c.kind == kind]
        raise ValueError(
            f"{name!r} is a {config.kind} mode, but a {kind} mode was expected; valid {kind} modes are "
            f"{', '.join(valid)}"
        )
    return config


def parse_pair(pair: str | tuple[str, str]) -> tuple[str, str]:
    """``"TL-7/TL-6"`` or ``("TL-7", "TL-6")`` → canonical ``("TL-7", "TL-6")``."""
    if isinstance(pair, str):
        init, sep, train = pair.partition("/")
        if not sep:
            raise ValueError(f"a pair is written 'INIT/TRAIN', e.g. 'TL-7/TL-6', got {pair!r}")
    else:
        init, train = pair
    return get_config(init, "init").name, get_config(train, "train").name


def pair_label(init: str, train: str) -> str:
    return f"{init}/{train}"


def _is_bn(module: nn.Module) -> bool:
    return isinstance(module, nn.modules.batchnorm._BatchNorm)


def _check_compatible(target: GraphSTAD, source: GraphSTAD, blocks: tuple[str, ...]) -> None:
    for block in blocks:
        if not hasattr(source, block) or not hasattr(target, block):
            raise ValueError(
                f"block {block!r} is missing from the {'source' if not hasattr(source, block) else 'target'} "
                f"model (built without it?); both need it for this configuration"
            )
        src, tgt = getattr(source, block).state_dict(), getattr(target, block).state_dict()
        bad = [k for k in tgt if k not in src or src[k].shape != tgt[k].shape]
        if bad:
            raise ValueError(
                f"block {block!r} of the source does not fit the target: {bad[:3]} differ in name or shape "
                f"(source latent {source.config.latent}, target latent {target.config.latent})"
            )


def apply(target: GraphSTAD, source: GraphSTAD | None, init_mode: str, freeze_mode: str = "No-TL") -> GraphSTAD:
    """Prepare ``target`` for fine-tuning: initialise blocks from ``source`` and freeze blocks, as named.

    Args:
        target: the HB model; its parameters are overwritten in place.
        source: the trained HE model (may be None only for ``init_mode="RANDOM"``).
        init_mode: which blocks are copied from the source (``"RANDOM"``, ``"TL-4"``, ``"TL-7"``).
        freeze_mode: which blocks stay frozen while fine-tuning, a train mode of the paper (``"No-TL"``,
            ``"TL-1"``, …, ``"TL-6"``, with optional ``[BN]``/``[BN,BIAS]``).

    Returns:
        ``target``, with ``requires_grad`` False exactly on the frozen parameters. BatchNorm running statistics
        of frozen blocks keep tracking the target data in training mode, as in plain PyTorch.

    Example: ``apply(hb_model, he_model, "TL-7", "TL-6")``.
    """
    init_cfg, train_cfg = get_config(init_mode, "init"), get_config(freeze_mode, "train")
    if not isinstance(target, GraphSTAD):
        raise TypeError(f"target must be a GraphSTAD model, got {type(target).__name__}")
    target.reset_parameters()
    if init_cfg.blocks:
        if source is None:
            raise ValueError(
                f"init mode {init_cfg.name} copies {init_cfg.blocks} from a source model, but source is None"
            )
        blocks = tuple(b for b in init_cfg.blocks if hasattr(target, b) or hasattr(source, b))
        _check_compatible(target, source, blocks)
        for block in blocks:
            getattr(target, block).load_state_dict(getattr(source, block).state_dict())
    for p in target.parameters():
        p.requires_grad_(True)
    not_copied = [b for b in train_cfg.blocks if b not in init_cfg.blocks]
    if not_copied:
        warnings.warn(
            f"{init_cfg.name}/{train_cfg.name} freezes {not_copied}, which were not initialised from the "
            "source: they stay at their random initialisation",
            stacklevel=2,
        )
    for block in train_cfg.blocks:
        if not hasattr(target, block):
            raise ValueError(f"train mode {train_cfg.name} freezes {block!r}, which this model does not have")
        for module in getattr(target, block).modules():
            for name, p in module.named_parameters(recurse=False):
                keep = ("bn" in train_cfg.release and _is_bn(module)) or (
                    "bias" in train_cfg.release and "bias" in name
                )
                p.requires_grad_(keep)
    return target


def trainable_fraction(model: nn.Module) -> float:
    """Fraction of the model's parameters (by count) that will be fine-tuned.

    Args:
        model: a model prepared by :func:`apply` (its frozen parameters have ``requires_grad`` off).

    Returns:
        Trainable parameters over all parameters, in [0, 1].
    """
    return count_parameters(model, trainable=True) / count_parameters(model)


def target_model(source: GraphSTAD, geometry, init_mode: str, freeze_mode: str = "No-TL") -> GraphSTAD:
    """A target model built :meth:`~hcaltl.models.GraphSTAD.like` the source for ``geometry``, prepared by
    :func:`apply`."""
    return apply(GraphSTAD.like(source, geometry), source, init_mode, freeze_mode)


def trainable_change(model: nn.Module) -> float:
    """% change of trainable parameters vs RANDOM/No-TL (everything trainable), as in the paper's Table 5."""
    return 100.0 * (trainable_fraction(model) - 1.0)


def block_table(model: GraphSTAD) -> pd.DataFrame:
    """Per block: parameters, trainable parameters and share of the model (for the trainable-parameter tables)."""
    rows = []
    total = count_parameters(model)
    for name, module in model.named_children():
        n = count_parameters(module)
        rows.append(
            {
                "block": name,
                "parameters": n,
                "trainable": count_parameters(module, trainable=True),
                "share_%": 100.0 * n / total,
            }
        )
    return pd.DataFrame(rows).set_index("block")


def configs_table() -> pd.DataFrame:
    """Every configuration as a table (name, kind, blocks, released groups, description)."""
    return pd.DataFrame(
        [
            {
                "name": c.name,
                "kind": c.kind,
                "blocks": ", ".join(c.blocks) or "—",
                "fine-tuned inside frozen blocks": ", ".join(c.release) or "—",
                "description": c.description,
            }
            for c in CONFIGS.values()
        ]
    ).set_index("name")
