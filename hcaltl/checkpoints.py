"""GraphSTAD checkpoints: weights with the model configuration and geometry, training settings, history,
and (for :func:`hcaltl.train.fit`) the full state needed to resume an interrupted run.

Explained in chapter 3 (``notebooks/03_graphstad_on_he.ipynb``).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from .models import GraphSTAD

FORMAT = "hcaltl-graphstad-1"


def save_with_best(model: GraphSTAD, best_state: dict, path: str | Path, config, history, resume_state: dict) -> None:
    """Save the best weights as the checkpoint's model and the running state under ``"resume"``.

    The model's current weights are restored afterwards from ``resume_state["model"]`` (a copy taken by the caller).
    """
    current = resume_state["model"]
    model.load_state_dict(best_state)
    try:
        save_checkpoint(model, path, train_config=config, history=history, resume=resume_state)
    finally:
        model.load_state_dict(current)


_RESUMABLE_CHANGES = {"epochs", "patience", "progress", "device"}


def load_resume_state(path: str | Path, model: GraphSTAD, config) -> dict:
    """The ``"resume"`` record of a checkpoint, after checking it belongs to this model and these settings."""
    _, record = load_checkpoint(path)
    if record.get("resume") is None:
        raise ValueError(
            f"checkpoint {path} holds no training state to resume from (saved by save_checkpoint, not fit)"
        )
    if GraphSTAD.from_config(record["model_config"]).config_dict() != model.config_dict():  # defaults of newer fields
        raise ValueError(f"checkpoint {path} was written for another model configuration: {record['model_config']}")
    stored = record["train_config"] or {}
    changed = {k for k, v in asdict(config).items() if stored.get(k) != v} - _RESUMABLE_CHANGES
    if config.one_cycle and stored.get("epochs") != config.epochs:
        changed.add("epochs (fixed by the one-cycle schedule)")
    if changed:
        raise ValueError(f"cannot resume {path} with different training settings: {sorted(changed)}")
    return record["resume"]


def save_checkpoint(
    model: GraphSTAD,
    path: str | Path,
    *,
    train_config=None,
    history=None,
    extra: dict | None = None,
    resume: dict | None = None,
) -> Path:
    """Save weights with the full model configuration and geometry, so :func:`load_checkpoint` rebuilds it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")  # written then renamed: an interrupted save never leaves a broken file
    torch.save(
        {
            "format": FORMAT,
            "model_config": model.config_dict(),
            "n_channels": model.geometry.n_channels,
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "train_config": asdict(train_config) if train_config else None,
            "history": asdict(history) if history else None,
            "extra": extra or {},
            "resume": resume,
        },
        tmp,
    )
    tmp.replace(path)
    return path


def load_checkpoint(
    path: str | Path, *, expect_subdetector: str | None = None, device: str = "cpu"
) -> tuple[GraphSTAD, dict]:
    """Rebuild a model from :func:`save_checkpoint`; returns (model, the stored record)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        record = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # torch raises several types for damaged files
        raise ValueError(f"{path} is not a readable checkpoint (truncated or damaged?): {exc}") from exc
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"{path} is not an hcaltl GraphSTAD checkpoint")
    missing = [k for k in ("model_config", "n_channels", "state_dict") if k not in record]
    if missing or "subdetector" not in record.get("model_config", {}):
        raise ValueError(
            f"{path} is an incomplete hcaltl checkpoint: it lacks {missing or ['model_config.subdetector']}"
        )
    bad = [name for name, t in record["state_dict"].items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise ValueError(
            f"{path} holds NaN or infinite weights in {len(bad)} tensor(s), e.g. {bad[:3]}: the training "
            "that wrote it diverged"
        )
    sub = record["model_config"]["subdetector"]
    if expect_subdetector is not None and sub != expect_subdetector:
        raise ValueError(f"checkpoint {path} was trained on {sub}, but a {expect_subdetector} model was asked for")
    model = GraphSTAD.from_config(record["model_config"])
    if model.geometry.n_channels != record["n_channels"]:
        raise ValueError(
            f"checkpoint geometry has {record['n_channels']} channels, the rebuilt {sub} has "
            f"{model.geometry.n_channels}"
        )
    try:
        model.load_state_dict(record["state_dict"])
    except RuntimeError as exc:  # missing, unexpected or mis-shaped tensors
        raise ValueError(f"{path}: the stored weights do not fit the stored model configuration: {exc}") from exc
    return model.to(device), record
