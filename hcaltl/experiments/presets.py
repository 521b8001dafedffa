"""The single scale knob of the book: fast (laptop CPU, minutes) or paper scale.

Presets shrink time — lumisections, epochs, seeds — never the detector: every
preset uses the full HB and HE geometry.  Each chapter's ``parameters`` cell
starts from :func:`get_preset` and papermill can override any field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from .. import validate


@dataclass(frozen=True)
class Preset:
    """Sizes used by the chapters.

    Attributes:
        name: ``"fast"`` or ``"paper"``.
        n_ls_he: simulated HE (source) lumisections (paper: 20,000).
        n_ls_hb: simulated HB (target) lumisections (paper: 7,000).
        window: LS per window (paper code: 5).
        epochs: training epochs (used from chapter 3 on).
        seeds: independent seeds per experiment (used from chapter 4 on).
    """

    name: str
    n_ls_he: int
    n_ls_hb: int
    window: int = 5
    epochs: int = 3
    seeds: int = 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS: dict[str, Preset] = {
    "fast": Preset(name="fast", n_ls_he=2000, n_ls_hb=1400, window=5, epochs=3, seeds=1),
    "paper": Preset(name="paper", n_ls_he=20000, n_ls_hb=7000, window=5, epochs=10, seeds=5),
}


def get_preset(name: str = "fast", **overrides: Any) -> Preset:
    """The named preset, with any field overridden (e.g. ``get_preset("fast", n_ls_he=500)``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid names are {', '.join(PRESETS)}")
    preset = PRESETS[name]
    unknown = set(overrides) - set(preset.as_dict())
    if unknown:
        raise ValueError(f"unknown preset field(s) {sorted(unknown)}; valid fields are {sorted(preset.as_dict())}")
    for field_name, value in overrides.items():
        if field_name != "name":
            validate.count(value, field_name, maximum=validate.MAX_LS)
    return replace(preset, **overrides)
