"""Per-lumisection features of CMS 2010 collision data, in the layout of paper C: a simulator with known causes,
and a loader for the real extracted feature table.

**Features** (the authors' pipeline). Per event and channel, the objects are sorted by pT and five "quantile
objects" are kept: ranks ⌊i·N/5⌋ (i = 0…3) and the maximum, zero-padded when N < 5. Each object contributes its
variables (muons and calo jets: pT, η, φ, mass, vertex x/y/z; photons: no mass; PF candidates: pT, η, φ), and three
"momentum" sums over the first three objects are added with the authors' formulae (θ = 2·atan e^−η):
Px = Σ pT·cos θ, Py = Σ pT·sin θ·cos φ, Pz = Σ pT·sin θ·sin φ. Each per-event variable is summarised per LS by
7 statistics (mean, std, percentiles 1/25/50/75/99), and the muon and photon streams carry their instantaneous
luminosity: 267 / 232 / 126 / 266 features.

**Simulator.** Objects are independent draws per event: a power-law pT spectrum, uniform η within the channel's
acceptance and uniform φ, a per-run beam spot for vertices; multiplicities grow with pileup, which follows the
luminosity of each fill. The five quantile objects of N draws are sampled exactly from the joint distribution of
uniform order statistics (sequential Beta draws), so a PF event with hundreds of candidates costs as much as a
muon event with two. Bad lumisections come in blocks within runs, each caused by one subsystem (sometimes two),
whose failure changes only the channels that can see it (:data:`VISIBILITY`).

Explained in chapter 6 (``notebooks/06_multihead_cause.ipynb``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import validate
from .certification import Certification
from .multihead.features import LumiFeatures
from .simulate import RunPlan, run_structure

CHANNELS: tuple[str, ...] = ("muons", "photons", "PF", "calo")
#: Per-object variables of each channel.
VARIABLES: dict[str, tuple[str, ...]] = {
    "muons": ("pt", "eta", "phi", "mass", "vx", "vy", "vz"),
    "photons": ("pt", "eta", "phi", "vx", "vy", "vz"),
    "PF": ("pt", "eta", "phi"),
    "calo": ("pt", "eta", "phi", "mass", "vx", "vy", "vz"),
}
STATISTICS: tuple[str, ...] = ("mean", "std", "p1", "p25", "p50", "p75", "p99")
MOMENTA: tuple[str, ...] = ("Px", "Py", "Pz")
WITH_LUMI: tuple[str, ...] = ("muons", "photons")
#: Feature counts of paper C's channels.
PAPER_SIZES: dict[str, int] = {"muons": 267, "photons": 232, "PF": 126, "calo": 266}

#: Subsystems whose failures the simulator injects, and the channels that can see each of them.
VISIBILITY: dict[str, tuple[str, ...]] = {
    "muon": ("muons",),
    "tracker": ("muons", "PF"),
    "ecal": ("photons", "PF", "calo"),
    "hcal": ("PF", "calo"),
    "csc": ("muons",),
    "global": CHANNELS,
}
SUBSYSTEMS: tuple[str, ...] = tuple(VISIBILITY)


@dataclass(frozen=True)
class ObjectModel:
    """How one channel's objects are drawn.

    Attributes:
        n_base, n_per_pileup: mean multiplicity = n_base + n_per_pileup · μ (plus ``n_min`` always present).
        n_min: objects every event has (the trigger of the muon and photon streams).
        pt_min, pt_index: power-law pT spectrum ∝ pT^−index above pt_min (GeV).
        eta_max: uniform η in (−eta_max, eta_max).
        mass: "muon" (0.1057 GeV), "jet" (a share of pT) or None.
        vertex: "track" (event vertex ± track resolution), "beamspot" (nominal beam spot) or None.
    """

    n_base: float
    n_per_pileup: float
    n_min: int
    pt_min: float
    pt_index: float
    eta_max: float
    mass: str | None
    vertex: str | None


OBJECTS: dict[str, ObjectModel] = {
    "muons": ObjectModel(0.2, 0.15, 1, 3.0, 4.0, 2.4, "muon", "track"),
    "photons": ObjectModel(0.4, 0.3, 1, 10.0, 4.5, 2.5, None, "beamspot"),
    "PF": ObjectModel(25.0, 18.0, 0, 0.3, 3.2, 4.7, None, None),
    "calo": ObjectModel(2.0, 1.5, 0, 5.0, 4.5, 4.7, "jet", "beamspot"),
}


def feature_names(channel: str) -> list[str]:
    """Column names of a channel's features, e.g. ``muons_pt_q0_mean`` … ``muons_Pz_p99``, ``muons_instantLumi``."""
    if channel not in VARIABLES:
        raise ValueError(f"unknown channel {channel!r}; channels: {list(CHANNELS)}")
    per_event = [f"{v}_q{q}" for q in range(5) for v in VARIABLES[channel]] + list(MOMENTA)
    names = [f"{channel}_{v}_{s}" for v in per_event for s in STATISTICS]
    return names + ([f"{channel}_instantLumi"] if channel in WITH_LUMI else [])


# ------------------------------------------------------------------------------------------------------------------
# simulation

PLAN_2010 = RunPlan(
    run_ls=(60, 600),
    runs_per_fill=(1, 3),
    peak_lumi=(0.002, 0.02),
    lumi_lifetime_h=(10.0, 20.0),
    n_bunches=348,
    trigger_rate_hz=(100.0, 100.0),
    first_run=146240,
)


def quantile_ranks(n: np.ndarray) -> np.ndarray:
    """1-based pT ranks of the five quantile objects of events with ``n`` objects (0 = empty slot).

    Shapes: ``[E]`` → ``[E, 5]``.
    """
    i = np.arange(4)
    many = np.concatenate([np.floor(i * n[:, None] / 5).astype(int) + 1, n[:, None]], axis=1)
    few = np.where(np.arange(1, 6) <= n[:, None], np.arange(1, 6), 0)
    return np.where(n[:, None] >= 5, many, few)


def order_statistics(n: np.ndarray, ranks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Uniform order statistics U_(r) of ``n`` draws at increasing ``ranks``, sampled jointly (NaN where rank 0)."""
    u = np.full(ranks.shape, np.nan)
    prev_u = np.zeros(len(n))
    prev_r = np.zeros(len(n), dtype=int)
    for k in range(ranks.shape[1]):
        r = ranks[:, k]
        ok = r > 0
        a = np.where(ok, r - prev_r, 1)
        b = np.where(ok, n - r + 1, 1)
        step = rng.beta(np.maximum(a, 1), np.maximum(b, 1))
        u[:, k] = np.where(ok, prev_u + (1 - prev_u) * step, np.nan)
        prev_u = np.where(ok, u[:, k], prev_u)
        prev_r = np.where(ok, r, prev_r)
    return u


@dataclass(frozen=True)
class Failure:
    """The effect of one subsystem failure of strength ``s`` ∈ (0, 1] on one channel's objects."""

    multiplicity: float = 0.0  # relative change of the mean multiplicity per unit strength
    pt_scale: float = 0.0  # relative change of pT per unit strength
    pt_smear: float = 0.0  # log-normal pT smearing per unit strength
    phi_hole: float = 0.0  # width (rad) of a dead φ sector per unit strength
    vz_spread: float = 0.0  # relative widening of the vertex z spread per unit strength
    hot_share: float = 0.0  # probability per event of a spurious object at a fixed (η, φ), per unit strength


#: subsystem → channel → effect; the channels listed are exactly ``VISIBILITY[subsystem]``.
EFFECTS: dict[str, dict[str, Failure]] = {
    "muon": {"muons": Failure(multiplicity=-0.5, phi_hole=2.0, pt_smear=0.15)},
    "tracker": {"muons": Failure(pt_smear=0.4, vz_spread=2.0), "PF": Failure(multiplicity=-0.45, pt_scale=-0.05)},
    "ecal": {
        "photons": Failure(pt_scale=-0.25, phi_hole=1.5),
        "PF": Failure(pt_scale=-0.06, multiplicity=-0.1),
        "calo": Failure(pt_scale=-0.1),
    },
    "hcal": {"PF": Failure(pt_scale=-0.06, hot_share=0.5), "calo": Failure(pt_scale=-0.25, hot_share=0.6)},
    "csc": {"muons": Failure(multiplicity=-0.04, phi_hole=0.15)},  # a few endcap chambers: barely visible
    "global": {c: Failure(multiplicity=0.6, vz_spread=1.0) for c in CHANNELS},
}


def _draw_channel(
    channel: str,
    pileup: np.ndarray,
    events: int,
    failures: list[tuple[Failure, np.ndarray]],
    beamspot: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Per-event variables of one channel for a chunk of LS: ``[n_ls, events, n_per_event]``."""
    model = OBJECTS[channel]
    n_ls = len(pileup)
    mult = np.ones(n_ls)
    pt_scale, pt_smear, phi_hole, vz_spread, hot = (np.zeros(n_ls) for _ in range(5))
    for effect, s in failures:
        mult *= np.clip(1 + effect.multiplicity * s, 0.05, None)
        pt_scale += effect.pt_scale * s
        pt_smear += effect.pt_smear * s
        phi_hole += effect.phi_hole * s
        vz_spread += effect.vz_spread * s
        hot += effect.hot_share * s
    per_ls = lambda x: np.repeat(x, events)  # noqa: E731
    e = n_ls * events
    n = model.n_min + rng.poisson(per_ls((model.n_base + model.n_per_pileup * pileup) * mult))
    ranks = quantile_ranks(n)
    u = order_statistics(n, ranks, rng)
    empty = np.isnan(u)
    u = np.nan_to_num(u, nan=0.0)
    pt = model.pt_min * (1 - np.minimum(u, 1 - 1e-9)) ** (-1.0 / (model.pt_index - 1))
    pt *= (1 + per_ls(pt_scale))[:, None] * np.exp(per_ls(pt_smear)[:, None] * rng.standard_normal((e, 5)))
    eta = rng.uniform(-model.eta_max, model.eta_max, (e, 5))
    hole = per_ls(np.clip(phi_hole, 0, 2 * np.pi - 0.1))[:, None]
    phi = -np.pi + hole + rng.uniform(0, 1, (e, 5)) * (2 * np.pi - hole)  # no objects in (−π, −π + hole)
    is_hot = (rng.random(e) < per_ls(np.clip(hot, 0, 1)))[:, None] & (np.arange(5) == 4)
    pt, eta, phi = np.where(is_hot, 50.0, pt), np.where(is_hot, 1.1, eta), np.where(is_hot, 0.35, phi)
    values = {"pt": pt, "eta": eta, "phi": phi}
    if model.mass == "muon":
        values["mass"] = np.full((e, 5), 0.1057)
    elif model.mass == "jet":
        values["mass"] = pt * rng.uniform(0.05, 0.2, (e, 5))
    if model.vertex is not None:
        bs = np.repeat(beamspot, events, axis=0)  # [e, 3]
        if model.vertex == "track":
            z = bs[:, 2] + 5.0 * (1 + per_ls(vz_spread)) * rng.standard_normal(e)
            values["vx"] = bs[:, :1] + 0.01 * rng.standard_normal((e, 5))
            values["vy"] = bs[:, 1:2] + 0.01 * rng.standard_normal((e, 5))
            values["vz"] = z[:, None] + 0.05 * rng.standard_normal((e, 5))
        else:
            spread = 5.0 * (1 + per_ls(vz_spread))[:, None]
            values["vx"] = np.broadcast_to(bs[:, :1], (e, 5)).copy()
            values["vy"] = np.broadcast_to(bs[:, 1:2], (e, 5)).copy()
            values["vz"] = bs[:, 2:3] + spread * rng.standard_normal((e, 5))
    objects = np.stack([np.where(empty, 0.0, values[v]) for v in VARIABLES[channel]], axis=-1)  # [e, 5, V]
    theta = 2 * np.arctan(np.exp(-eta[:, :3]))
    first3 = np.where(empty[:, :3], 0.0, pt[:, :3])
    momenta = np.stack(
        [
            (first3 * np.cos(theta)).sum(1),
            (first3 * np.sin(theta) * np.cos(phi[:, :3])).sum(1),
            (first3 * np.sin(theta) * np.sin(phi[:, :3])).sum(1),
        ],
        axis=-1,
    )
    per_event = np.concatenate([objects.reshape(e, -1), momenta], axis=1)
    return per_event.reshape(n_ls, events, -1)


def _summarise(per_event: np.ndarray) -> np.ndarray:
    """The 7 statistics over events: ``[n_ls, events, V]`` → ``[n_ls, V * 7]`` (statistics fastest)."""
    stats = [per_event.mean(1), per_event.std(1), *np.percentile(per_event, [1, 25, 50, 75, 99], axis=1)]
    return np.stack(stats, axis=-1).reshape(len(per_event), -1)


def _bad_blocks(
    run: np.ndarray,
    bad_fraction: float,
    block_ls: float,
    double_share: float,
    weights: dict[str, float],
    min_severity: float,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Contiguous blocks of bad LS within runs, each with one cause (two with probability ``double_share``)."""
    n = len(run)
    causes = np.zeros((n, len(SUBSYSTEMS)), dtype=bool)
    severity = np.zeros(n)
    p = np.array([weights[s] for s in SUBSYSTEMS], dtype=float)
    p /= p.sum()
    target = int(round(bad_fraction * n))
    while causes.any(axis=1).sum() < target:
        start = int(rng.integers(n))
        length = int(rng.geometric(1 / block_ls))
        stop = min(start + length, n)
        stop = start + int(np.searchsorted(run[start:stop], run[start], side="right"))  # stay within the run
        two = rng.random() < double_share and (p > 0).sum() >= 2
        which = rng.choice(len(SUBSYSTEMS), size=2 if two else 1, replace=False, p=p)
        causes[start:stop, which] = True
        strength = float(np.exp(rng.uniform(np.log(min_severity), 0.0)))  # log-uniform: many mild failures
        severity[start:stop] = np.maximum(severity[start:stop], strength)
    return pd.DataFrame(causes, columns=list(SUBSYSTEMS)), severity


def simulate_2010(
    n_ls: int = 4000,
    *,
    events_per_ls: int = 200,
    bad_fraction: float = 0.25,
    block_ls: float = 15.0,
    double_share: float = 0.1,
    cause_weights: dict[str, float] | None = None,
    min_severity: float = 0.03,
    seed: int = 2010,
    chunk: int = 64,
    progress: bool = True,
) -> LumiFeatures:
    """Simulate ``n_ls`` lumisections of 2010-style features with known causes of every bad LS.

    Args:
        n_ls: lumisections (paper C: almost 16,000).
        events_per_ls: events summarised per LS and channel (real LS hold thousands; the statistics converge).
        bad_fraction: share of bad LS (paper C: 25 %).
        block_ls: mean length of a block of bad LS.
        double_share: probability that a block has two failing subsystems.
        cause_weights: relative frequency of each subsystem's failures (default: equal).
        min_severity: strengths of failures are log-uniform in [min_severity, 1].
        seed: random seed.
        chunk: LS simulated at once (memory ∝ chunk × events × 5 objects).

    Returns:
        :class:`LumiFeatures` with the feature blocks of :data:`PAPER_SIZES`, ``good`` = no subsystem failed, and
        ``causes`` per subsystem.
    """
    n_ls = validate.count(n_ls, "n_ls", maximum=validate.MAX_LS, why="more LS than memory can hold")
    events_per_ls = validate.count(
        events_per_ls,
        "events_per_ls",
        maximum=1_000_000,
        why="the statistics converge long before; memory grows with it",
    )
    chunk = validate.count(chunk, "chunk", maximum=100_000)
    if n_ls < 10 or events_per_ls < 5:
        raise ValueError(f"need n_ls ≥ 10 and events_per_ls ≥ 5, got {n_ls} and {events_per_ls}")
    if not 0 < min_severity <= 1:
        raise ValueError(f"min_severity must be in (0, 1], got {min_severity}")
    validate.fraction(double_share, "double_share")
    validate.fraction(bad_fraction, "bad_fraction", one=False)
    validate.real(block_ls, "block_ls", low=1.0)
    if cause_weights is not None:
        for name, w in cause_weights.items():
            validate.real(w, f"cause_weights[{name!r}]", low=0.0)
        if sum(cause_weights.values()) <= 0:
            raise ValueError(f"cause_weights must not all be zero, got {cause_weights}")
    if not 0 <= bad_fraction < 1:
        raise ValueError(f"bad_fraction must be in [0, 1), got {bad_fraction}")
    weights = cause_weights or {s: 1.0 for s in SUBSYSTEMS}
    unknown = set(weights) - set(SUBSYSTEMS)
    if unknown:
        raise ValueError(f"unknown subsystems {sorted(unknown)}; subsystems: {list(SUBSYSTEMS)}")
    weights = {s: weights.get(s, 0.0) for s in SUBSYSTEMS}
    rng = np.random.default_rng(seed)
    runs = run_structure(n_ls, PLAN_2010, rng)
    lumi = runs["luminosity"][:n_ls]
    run, ls = runs["run"][:n_ls], runs["ls"][:n_ls]
    pileup = 0.5 + 2.0 * lumi / PLAN_2010.peak_lumi[1]
    run_ids, run_of = np.unique(run, return_inverse=True)
    spots = np.column_stack(
        [rng.normal(0.08, 0.01, len(run_ids)), rng.normal(0.0, 0.01, len(run_ids)), rng.normal(0.3, 0.5, len(run_ids))]
    )[run_of]
    causes, severity = _bad_blocks(run, bad_fraction, block_ls, double_share, weights, min_severity, rng)
    features = {c: np.empty((n_ls, len(feature_names(c))), dtype=np.float32) for c in CHANNELS}
    for start in tqdm(range(0, n_ls, chunk), desc="simulating 2010 LS", disable=not progress):
        sl = slice(start, min(start + chunk, n_ls))
        for k, channel in enumerate(CHANNELS):
            failures = [
                (EFFECTS[s][channel], np.where(causes[s].to_numpy()[sl], severity[sl], 0.0))
                for s in SUBSYSTEMS
                if channel in EFFECTS[s]
            ]
            stream = np.random.default_rng(
                [seed, start, k]
            )  # one stream per chunk and channel: channels are independent
            summary = _summarise(_draw_channel(channel, pileup[sl], events_per_ls, failures, spots[sl], stream))
            if channel in WITH_LUMI:
                summary = np.concatenate([summary, lumi[sl, None]], axis=1)
            features[channel][sl] = summary
    return LumiFeatures(
        features,
        {c: feature_names(c) for c in CHANNELS},
        run,
        ls,
        lumi.astype(np.float64),
        ~causes.any(axis=1).to_numpy(),
        causes,
        severity,
    )


# ------------------------------------------------------------------------------------------------------------------
# real data

RUN_COLUMNS = ("run",)
LS_COLUMNS = ("ls", "lumi", "luminosityBlock", "lumisection")
LUMI_COLUMNS = ("instantLumi", "muons_instantLumi", "photons_instantLumi")


def load_feature_table(
    path: str | Path,
    *,
    channels: tuple[str, ...] = CHANNELS,
    certification: Certification | None = None,
    fill_missing: float | None = None,
    drop_zero_lumi: bool = True,
) -> LumiFeatures:
    """Read a per-LS feature table (CSV or parquet) in the authors' layout.

    The table has one row per LS with a ``run`` column, an LS column (``ls``, ``lumi`` or ``luminosityBlock``),
    feature columns prefixed by their channel (``muons_…``, ``photons_…``, ``PF_…``, ``calo_…``), a luminosity
    (``instantLumi``, or the largest of the streams' ``*_instantLumi``) and either a ``label`` column (1 = good)
    or a ``certification`` to label it.

    Args:
        fill_missing: value for missing features (the authors fill the gaps of their outer join with 0); None raises.
        drop_zero_lumi: drop LS without luminosity, as the authors do (the number dropped is reported).
    """
    path = validate.file(path, "path", suffixes=(".csv", ".gz", ".parquet"), what="feature table (.csv or .parquet)")
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except ImportError as err:
        raise ImportError(f"reading {path} needs pyarrow (pip install pyarrow), or save the table as CSV") from err
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError, EOFError) as err:
        raise validate.FileFormatError(f"{path} is not a readable feature table: {type(err).__name__}: {err}") from err
    return features_from_frame(
        frame,
        channels=channels,
        certification=certification,
        fill_missing=fill_missing,
        drop_zero_lumi=drop_zero_lumi,
        source=str(path),
    )


def _pick(frame: pd.DataFrame, names: tuple[str, ...], what: str, source: str) -> str:
    for name in names:
        if name in frame.columns:
            return name
    raise ValueError(f"{source}: no {what} column (looked for {', '.join(names)})")


def features_from_frame(
    frame: pd.DataFrame,
    *,
    channels: tuple[str, ...] = CHANNELS,
    certification: Certification | None = None,
    fill_missing: float | None = None,
    drop_zero_lumi: bool = True,
    source: str = "table",
) -> LumiFeatures:
    """The :class:`LumiFeatures` of an in-memory table in the layout of :func:`load_feature_table`."""
    run_col, ls_col = _pick(frame, RUN_COLUMNS, "run", source), _pick(frame, LS_COLUMNS, "lumisection", source)
    lumi_cols = [c for c in LUMI_COLUMNS if c in frame.columns]
    if not lumi_cols:
        raise ValueError(f"{source}: no luminosity column (looked for {', '.join(LUMI_COLUMNS)})")
    columns = {c: [k for k in frame.columns if k.startswith(f"{c}_")] for c in channels}
    empty = [c for c, cols in columns.items() if not cols]
    if empty:
        raise ValueError(
            f"{source}: no feature columns for channels {empty} (expected names like '{empty[0]}_pt_q0_mean')"
        )
    feature_cols = [k for cols in columns.values() for k in cols]
    missing = frame[feature_cols].isna().sum()
    if missing.any():
        if fill_missing is None:
            worst = missing[missing > 0].sort_values(ascending=False)
            raise ValueError(
                f"{source}: {int(worst.sum())} missing feature values in {len(worst)} columns "
                f"(e.g. {list(worst.index[:3])}); pass fill_missing=0 to fill them as the authors did"
            )
        frame = frame.fillna({k: fill_missing for k in feature_cols})
    lumi = frame[lumi_cols].max(axis=1).to_numpy(dtype=np.float64)
    if np.isnan(lumi).any():
        raise ValueError(f"{source}: {int(np.isnan(lumi).sum())} LS have no luminosity")
    keep = lumi > 0 if drop_zero_lumi else np.ones(len(frame), dtype=bool)
    if (~keep).any():
        warnings.warn(
            f"{source}: dropped {int((~keep).sum())} LS with zero or negative luminosity (drop_zero_lumi=True)",
            stacklevel=2,
        )
    frame, lumi = frame[keep].reset_index(drop=True), lumi[keep]
    if not keep.any():
        raise ValueError(
            f"{source}: every one of the {len(keep)} LS has zero or negative luminosity; nothing is left "
            "(pass drop_zero_lumi=False to keep them)"
        )
    if (lumi < 0).any():
        raise ValueError(
            f"{source}: {int((lumi < 0).sum())} LS have negative luminosity (first at row "
            f"{int(np.flatnonzero(lumi < 0)[0])})"
        )
    run, ls = _whole(frame[run_col], "run", source), _whole(frame[ls_col], ls_col, source)
    pairs = pd.Series(list(zip(run, ls)))
    if pairs.duplicated().any():
        r, s = pairs[pairs.duplicated()].iloc[0]
        raise ValueError(
            f"{source}: (run, LS) pairs must be unique; ({r}, {s}) appears more than once "
            f"({int(pairs.duplicated().sum())} duplicated rows)"
        )
    if certification is not None:
        good = certification.labels(run, ls)
    elif "label" in frame.columns:
        labels = frame["label"]
        valid = labels.isin([0, 1]) & labels.map(lambda v: not isinstance(v, (str, bool)))
        if not valid.all():
            raise ValueError(
                f"{source}: label must be 1 (good) or 0 (bad); got {labels[~valid].unique()[:5].tolist()} "
                f"(first at row {int(np.flatnonzero(~valid.to_numpy())[0])})"
            )
        good = labels.to_numpy() == 1
    else:
        raise ValueError(f"{source}: no 'label' column; pass certification=load_golden_json(...) to label the LS")
    feats = {c: frame[cols].to_numpy(dtype=np.float32) for c, cols in columns.items()}
    return LumiFeatures(feats, columns, run, ls, lumi, good)


def _whole(column: pd.Series, name: str, source: str) -> np.ndarray:
    """A column of whole numbers as int64, refusing NaN, fractions and text rather than truncating them."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{source}: {name} must hold whole non-negative numbers; {int(bad.sum())} do not, first "
            f"{column.iloc[i]!r} at row {i}"
        )
    return values.astype(np.int64)
