"""The set-up every chapter shares, in three lines:

.. code-block:: python

    cfg = chapter.preset(preset, n_ls_hb=n_ls_hb, epochs=epochs)   # the scale knob; None means "the preset's"
    prep = chapter.hb_windows(cfg, seed=hb_seed)                     # simulated HB, split, scaled, windowed
    source = chapter.he_source(source_checkpoint, cfg, latent=latent, seed=seed)   # chapter 3's model

The HE source model is trained once (chapter 3, or the first chapter that needs it) and stored with its
*recipe* (LS, epochs, latent, window, seed); :func:`he_source` reuses a checkpoint only when its recipe
matches, so a stale or foreign file is never used silently. :func:`train_source` and :func:`he_source`
are the one writer and the one reader of that record; both hold a lock on it (``<checkpoint>.lock``), so
chapters executed side by side (as ``make test`` runs them) wait for the one that trains instead of reading a
half-written file or training the same model twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from filelock import FileLock

from ..checkpoints import load_checkpoint, save_checkpoint
from ..geometry import get_geometry
from ..models import GraphSTAD
from ..preprocess import Prepared, prepare_windows
from ..simulate import simulate
from ..train import TrainConfig, train_and_evaluate
from ..utils import seed_everything
from .presets import Preset, get_preset


def preset(name: str = "fast", **overrides: Any) -> Preset:
    """The named preset with the chapter's overrides; an override of ``None`` means "keep the preset's value"
    (the convention of every chapter's ``parameters`` cell)."""
    return get_preset(name, **{k: v for k, v in overrides.items() if v is not None})


def he_windows(cfg: Preset, seed: int) -> tuple[Prepared, Any]:
    """Simulated HE data at the preset's size, and its windows (split by LS block, scaled on training LS).

    Returns:
        (prepared windows, the simulated :class:`~hcaltl.data.OccupancyData`).
    """
    data = simulate(get_geometry("HE"), cfg.n_ls_he, seed=seed)
    return prepare_windows(data, window=cfg.window), data


def hb_windows(cfg: Preset, seed: int) -> Prepared:
    """Simulated HB (target) data at the preset's size, split, scaled and cut into windows."""
    return prepare_windows(simulate(get_geometry("HB"), cfg.n_ls_hb, seed=seed), window=cfg.window)


def source_recipe(cfg: Preset, latent: int, seed: int) -> dict:
    """What defines a trained HE source model (stored in its checkpoint)."""
    return {"n_ls_he": cfg.n_ls_he, "epochs": cfg.epochs, "latent": latent, "window": cfg.window, "seed": seed}


def new_source(cfg: Preset, latent: int, seed: int) -> GraphSTAD:
    """A freshly initialised HE GraphSTAD, seeded as every chapter seeds it."""
    seed_everything(seed)
    return GraphSTAD("HE", latent=latent, window=cfg.window)


def train_source(
    model: GraphSTAD, windows: dict, cfg: Preset, *, seed: int, checkpoint: str | Path, progress: bool = True
) -> dict:
    """Train the HE source on ``windows`` and save it with its recipe; returns the result row
    (:func:`hcaltl.train.train_and_evaluate`)."""
    with _lock(checkpoint):
        return _train_and_save(model, windows, cfg, seed=seed, checkpoint=checkpoint, progress=progress)


def _lock(checkpoint: str | Path) -> FileLock:
    """The lock that one writer and its readers of ``checkpoint`` share, across processes."""
    path = Path(checkpoint)
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(f"{path}.lock")


def _train_and_save(
    model: GraphSTAD, windows: dict, cfg: Preset, *, seed: int, checkpoint: str | Path, progress: bool
) -> dict:
    config = TrainConfig(epochs=cfg.epochs, seed=seed, progress=progress)
    result = train_and_evaluate(model, windows, config)
    save_checkpoint(
        model,
        checkpoint,
        train_config=config,
        history=result["history"],
        extra={"recipe": source_recipe(cfg, model.config.latent, seed), "he_test_mse": result["test_mse"]},
    )
    return result


def he_source(
    checkpoint: str | Path, cfg: Preset, *, latent: int = 8, seed: int = 2018, progress: bool = True
) -> GraphSTAD:
    """The HE source model: loaded from ``checkpoint`` when it was trained with exactly this recipe, else
    trained (as in chapter 3) and saved there.

    Args:
        checkpoint: path of the stored source (chapter 3 writes ``checkpoints/he_source.pt``).
        cfg: the preset (its ``n_ls_he``, ``epochs`` and ``window`` are part of the recipe).
        latent, seed: the rest of the recipe.
    """
    path = Path(checkpoint)
    with _lock(path):
        if path.exists():
            model, record = load_checkpoint(path, expect_subdetector="HE")
            if record["extra"].get("recipe") == source_recipe(cfg, latent, seed):
                return model.eval()
        windows = he_windows(cfg, seed)[0].windows
        model = new_source(cfg, latent, seed)
        _train_and_save(model, windows, cfg, seed=seed, checkpoint=path, progress=progress)
    return model.eval()


def glue(facts: dict) -> None:
    """Glue each fact into the chapter for its text (myst-nb's ``{glue:text}`` for numbers, ``{glue:md}`` for
    phrases, given as ``str``). Outside a book build (no myst-nb, e.g. on Colab) it does nothing: the numbers
    are printed by the chapter's summary cell as well."""
    try:
        from IPython.display import Markdown
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    for key, value in facts.items():
        if hasattr(value, "item"):  # a numpy scalar: glue its Python value (text/plain "0.5", not "np.float64(0.5)")
            value = value.item()
        myst_glue(key, Markdown(value) if isinstance(value, str) else value, display=False)
