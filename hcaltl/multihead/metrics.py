"""How well each head names the cause: global AUC, attribution and decomposition AUCs, exclusive
anomalies and the inferred cause per LS.

Explained in chapter 6 (``notebooks/06_multihead_cause.ipynb``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from .. import validate
from .features import LumiFeatures


def _weighted_auc(bad: np.ndarray, score: np.ndarray, weight: np.ndarray) -> float:
    if bad.all() or not bad.any():
        return float("nan")
    return float(roc_auc_score(bad, score, sample_weight=weight))


def global_auc(table: pd.DataFrame, data: LumiFeatures, weighted: bool = True) -> float:
    """ROC AUC of 1 − f against the bad label (luminosity-weighted, as the authors compute every AUC)."""
    return _weighted_auc(~data.good, 1 - table["global"].to_numpy(), data.lumi if weighted else np.ones(data.n_ls))


def attribution_table(
    table: pd.DataFrame,
    data: LumiFeatures,
    heads: list[str] | None = None,
    *,
    among: Literal["all", "bad"] = "all",
    weighted: bool = True,
) -> pd.DataFrame:
    """ROC AUC of each head's 1 − s_i against each subsystem's truth (rows: heads, columns: ``inclusive`` and
    the subsystems).

    Args:
        among: ``"all"``: negatives are every LS where the subsystem was fine (paper C's Fig. 3);
            ``"bad"``: only bad LS, i.e. "was it this subsystem, given that something failed?".
    """
    if data.causes is None:
        raise ValueError("attribution needs per-subsystem truth (data.causes)")
    heads = heads or [c for c in table.columns if c != "global"]
    validate.choice(among, "among", ("all", "bad"))
    keep = np.ones(data.n_ls, dtype=bool) if among == "all" else ~data.good
    w = (data.lumi if weighted else np.ones(data.n_ls))[keep]
    truth = {"inclusive": ~data.good, **{s: data.causes[s].to_numpy() for s in data.causes.columns}}
    rows = {
        h: {name: _weighted_auc(t[keep], 1 - table[h].to_numpy()[keep], w) for name, t in truth.items()} for h in heads
    }
    out = pd.DataFrame(rows).T
    return out.drop(columns="inclusive") if among == "bad" else out


def visible_truth(causes: pd.DataFrame, visibility: Mapping[str, tuple[str, ...]], heads: list[str]) -> pd.DataFrame:
    """Per head: True where a failing subsystem of the LS is visible to the head's channel."""
    unknown = set(causes.columns) - set(visibility)
    if unknown:
        raise ValueError(f"no visibility given for subsystems {sorted(unknown)}")
    return pd.DataFrame(
        {h: causes[[s for s in causes.columns if h in visibility[s]]].any(axis=1).to_numpy() for h in heads}
    )


def decomposition_auc(
    table: pd.DataFrame,
    data: LumiFeatures,
    visibility: Mapping[str, tuple[str, ...]],
    heads: Mapping[str, str] | list[str] | None = None,
    weighted: bool = True,
) -> pd.Series:
    """Among bad LS, ROC AUC of each head's 1 − s_i against "the failure is visible to this head's channel":
    the decomposition property itself (s_i ≈ 0 when channel i sees the failure, ≈ 1 when it cannot).

    ``heads`` maps table columns to channels: a single-head baseline passes its one column once per channel
    (e.g. ``{"muons": "all", …}``) and is scored on every channel's truth with its one score.
    """
    if data.causes is None:
        raise ValueError("decomposition needs per-subsystem truth (data.causes)")
    heads = heads or {c: c for c in table.columns if c != "global"}
    heads = heads if isinstance(heads, Mapping) else {h: h for h in heads}
    bad = ~data.good
    truth = visible_truth(data.causes, visibility, list(heads))
    w = (data.lumi if weighted else np.ones(data.n_ls))[bad]
    return pd.Series(
        {h: _weighted_auc(truth[h].to_numpy()[bad], 1 - table[col].to_numpy()[bad], w) for h, col in heads.items()},
        name="AUC, visible vs invisible failures",
    )


def exclusive_table(
    table: pd.DataFrame, data: LumiFeatures, heads: list[str] | None = None, threshold: float = 0.5
) -> pd.DataFrame:
    """For LS bad in exactly one subsystem: the share each head flags (s_i < threshold), per subsystem
    (paper C's Fig. 4). The last column counts the LS."""
    if data.causes is None:
        raise ValueError("exclusive anomalies need per-subsystem truth (data.causes)")
    heads = heads or [c for c in table.columns if c != "global"]
    only = data.causes.sum(axis=1).to_numpy() == 1
    out = {}
    for s in data.causes.columns:
        sel = only & data.causes[s].to_numpy()
        out[s] = {h: float((table[h].to_numpy()[sel] < threshold).mean()) if sel.any() else float("nan") for h in heads}
        out[s]["LS"] = int(sel.sum())
    return pd.DataFrame(out)


def infer_cause(table: pd.DataFrame, visibility: Mapping[str, tuple[str, ...]], threshold: float = 0.5) -> pd.Series:
    """The subsystem whose pattern of visible channels best matches the heads that flag an LS (s_i < threshold):
    fewest mismatched heads, ties broken by the larger summed "badness" of its channels. "none" when no head flags.

    Beyond paper C, which reads the heads one at a time.
    """
    heads = [c for c in table.columns if c != "global"]
    unknown = {c for v in visibility.values() for c in v} - set(heads)
    if unknown:
        raise ValueError(f"visibility names channels without a head: {sorted(unknown)}")
    flagged = table[heads].to_numpy() < threshold
    badness = 1 - table[heads].to_numpy()
    names = list(visibility)
    pattern = np.array([[h in visibility[s] for h in heads] for s in names])  # [S, K]
    mismatch = (flagged[:, None, :] != pattern[None]).sum(-1)  # [n, S]
    support = (badness[:, None, :] * pattern[None]).sum(-1) / pattern.sum(-1)
    key = mismatch - 1e-3 * support
    choice = np.array(names, dtype=object)[key.argmin(axis=1)]
    return pd.Series(np.where(flagged.any(axis=1), choice, "none"), index=table.index, name="inferred cause")
