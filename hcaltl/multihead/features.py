"""The container every multi-head model reads: per-LS feature blocks of several channels, the global label and,
when known, the cause of each bad LS. :mod:`hcaltl.cms2010` fills it (simulated 2010 features, real feature
tables), and so does the book's HCAL multi-head study (HCAL σ scores).

Explained in chapter 6 (``notebooks/06_multihead_cause.ipynb``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class LumiFeatures:
    """Per-LS feature blocks of several channels with the global label and, when known, the cause of each bad LS.

    Attributes:
        features: channel → ``[n_ls, n_features]`` float32.
        columns: channel → feature names.
        run, ls: ``[n_ls]`` run and lumisection numbers.
        lumi: ``[n_ls]`` instantaneous luminosity (weights of the loss and of every AUC).
        good: ``[n_ls]`` bool global label (True = certified good).
        causes: ``[n_ls rows]`` bool per subsystem (True = this subsystem was bad), or None when unknown.
        severity: ``[n_ls]`` strength of the failure (0 on good LS), or None.
    """

    features: dict[str, np.ndarray]
    columns: dict[str, list[str]]
    run: np.ndarray
    ls: np.ndarray
    lumi: np.ndarray
    good: np.ndarray
    causes: pd.DataFrame | None = None
    severity: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        n = len(self.good)
        for name, x in self.features.items():
            if x.ndim != 2 or len(x) != n:
                raise ValueError(f"features[{name!r}] must be [{n}, n_features], got {x.shape}")
            if len(self.columns[name]) != x.shape[1]:
                raise ValueError(f"features[{name!r}] has {x.shape[1]} columns but {len(self.columns[name])} names")
            if not np.isfinite(x).all():
                raise ValueError(f"features[{name!r}] contain NaN or inf")
        for name in ("run", "ls", "lumi"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} entries, expected {n}")
        if self.causes is not None and len(self.causes) != n:
            raise ValueError(f"causes has {len(self.causes)} rows, expected {n}")

    @property
    def n_ls(self) -> int:
        return len(self.good)

    @property
    def sizes(self) -> dict[str, int]:
        """The number of features of each channel, the input sizes of :class:`~hcaltl.multihead.FuzzyAndNet`."""
        return {name: x.shape[1] for name, x in self.features.items()}

    def subset(self, index: np.ndarray) -> LumiFeatures:
        index = np.asarray(index)
        return LumiFeatures(
            {k: v[index] for k, v in self.features.items()},
            self.columns,
            self.run[index],
            self.ls[index],
            self.lumi[index],
            self.good[index],
            None if self.causes is None else self.causes.iloc[index].reset_index(drop=True),
            None if self.severity is None else self.severity[index],
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per LS: run, ls, instantLumi, label, then every feature column (the loader's format)."""
        parts = [
            pd.DataFrame({"run": self.run, "ls": self.ls, "instantLumi": self.lumi, "label": self.good.astype(int)})
        ]
        parts += [pd.DataFrame(self.features[c], columns=self.columns[c]) for c in self.features]
        return pd.concat(parts, axis=1)
