"""The anomaly-detection experiment: injected test sets, per-kind detection tables for trained HB models,
and training-set contamination.

Evaluation unit (the authors'): the channels of the **last LS** of each window. Every anomalous window is scored
together with its healthy original, so negatives include the same lumisections without the fault.

Explained in chapter 5 (``notebooks/05_anomaly_detection.ipynb``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import transfer
from ..anomalies import DEGRADED_FACTORS, inject
from ..data import OccupancyData
from ..detectors import ErrorScaler, channel_scores, metrics
from ..models import GraphSTAD
from ..preprocess import ChannelScaler
from ..train import TrainConfig
from .paper_values import TABLE7_AUC, TABLE7_PAIRS
from .transfer_study import fine_tune

#: The rows of paper A's Table 7: (label, kind, factor).
CASES: tuple[tuple[str, str, float | None], ...] = (
    *((f"degraded ×{f}", "degraded", f) for f in DEGRADED_FACTORS),
    ("dead", "dead", None),
    ("noisy hot ×2", "noisy_hot", None),
    ("fully hot", "fully_hot", None),
)
#: The cases of the single-channel study (the mildest and strongest degradations, dead, fully hot).
SINGLE_CHANNEL_CASES = ("degraded ×0.8", "degraded ×0.4", "dead", "fully hot")


@dataclass
class TestSet:
    """Healthy windows and, per case, their anomalous copies with labels (last LS of each window), the regions of
    the last case and those of every case (``by_case``: readout faults hit other units than boxes)."""

    healthy: np.ndarray
    anomalous: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    regions: list
    by_case: dict[str, list] = field(default_factory=dict)


def make_test_set(
    windows: np.ndarray,
    scaler: ChannelScaler,
    n: int,
    seed: int = 101,
    *,
    shape: str | None = None,
    where: str = "last",
    cases=CASES,
) -> TestSet:
    """``n`` windows drawn with replacement from ``windows``, each carrying one region per case (same regions
    for every case, as in the authors' generator).

    Shapes:
        windows ``[m, T, 64, 72, 7]`` (scaled) → healthy/anomalous ``[n, T, 64, 72, 7]``, labels ``[n, N]``.
    """
    rng = np.random.default_rng(seed)
    healthy = windows[rng.integers(len(windows), size=n)]
    occupancy = scaler.inverse_transform(healthy)  # once, not once per case
    anomalous, labels, by_case = {}, {}, {}
    for label, kind, factor in cases:
        out = inject(
            occupancy, kind, factor, seed=seed, fraction=1.0, shape=shape, where=where, geometry=scaler.geometry
        )
        anomalous[label], labels[label], by_case[label] = scaler.transform(out.data), out.labels, out.regions
    return TestSet(healthy, anomalous, labels, by_case[label], by_case)


def fit_error_scaler(model: GraphSTAD, train_windows: np.ndarray) -> ErrorScaler:
    """Per-channel σ statistics of the model's reconstruction error on its training windows."""
    return ErrorScaler().fit(channel_scores(model, train_windows))


def detection_scores(model: GraphSTAD, scaler: ErrorScaler, test: TestSet) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per case, the labels and σ scores of the channels of the last LS: the anomalous windows, then their healthy
    originals (every channel of those is a negative).

    Shapes:
        each case → (labels ``[2 n N]``, scores ``[2 n N]``) for ``n`` test windows of ``N`` channels.
    """
    healthy = channel_scores(model, test.healthy, scaler)
    cases = {}
    for case, windows in test.anomalous.items():
        scores = channel_scores(model, windows, scaler)
        cases[case] = (
            np.concatenate([test.labels[case], np.zeros_like(test.labels[case])]).ravel(),
            np.concatenate([scores, healthy]).ravel(),
        )
    return cases


def _table(cases: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    return pd.DataFrame(
        {case: {**metrics(y, s), "anomalous channels": int(y.sum())} for case, (y, s) in cases.items()}
    ).T


def detection_table(model: GraphSTAD, scaler: ErrorScaler, test: TestSet) -> tuple[pd.DataFrame, dict]:
    """FPR@90/95/99 and AUC per case; also returns the scores ``{case: (labels, scores)}`` for figures.

    Negatives are every unlabelled channel of the anomalous windows and every channel of their healthy originals.
    """
    cases = detection_scores(model, scaler, test)
    return _table(cases), cases


def detection_table_chunked(
    model: GraphSTAD,
    scaler: ErrorScaler,
    windows: np.ndarray,
    channel_scaler: ChannelScaler,
    n: int,
    seed: int,
    *,
    shape: str | None = None,
    cases=CASES,
    chunk: int = 100,
) -> pd.DataFrame:
    """:func:`detection_table` for ``n`` anomalous windows per case, built and scored ``chunk`` at a time, so memory
    stays that of one chunk (a paper-scale test set of 1000 windows per kind would otherwise hold GBs).

    Chunk ``i`` is :func:`make_test_set` with seed ``1000 * seed + i``.
    """
    if n < 1 or chunk < 1:
        raise ValueError(f"n and chunk must be positive, got n={n}, chunk={chunk}")
    parts: dict[str, list] = {}
    for i, start in enumerate(range(0, n, chunk)):
        test = make_test_set(
            windows, channel_scaler, min(chunk, n - start), seed=1000 * seed + i, shape=shape, cases=cases
        )
        for case, ys in detection_scores(model, scaler, test).items():
            parts.setdefault(case, []).append(ys)
    return _table({case: tuple(np.concatenate(a) for a in zip(*p)) for case, p in parts.items()})


def contaminate(
    windows: np.ndarray, scaler: ChannelScaler, rate: float, seed: int = 0, cases=CASES
) -> tuple[np.ndarray, np.ndarray]:
    """A training set in which a ``rate`` share of windows carries an anomaly on all its LS, the case of each
    drawn at random from ``cases``. Returns (windows, per-window contaminated flag)."""
    if not 0 <= rate < 1:
        raise ValueError(f"contamination rate must be in [0, 1), got {rate}")
    out = np.array(windows, copy=True)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(windows), size=int(round(rate * len(windows))), replace=False))
    which = rng.integers(len(cases), size=len(chosen))
    for c, (_, kind, factor) in enumerate(cases):
        idx = chosen[which == c]
        if len(idx):
            out[idx] = inject(windows[idx], kind, factor, seed=seed + c, fraction=1.0, where="all", scaler=scaler).data
    flag = np.zeros(len(windows), dtype=bool)
    flag[chosen] = True
    return out, flag


def contamination_study(
    source: GraphSTAD,
    windows: dict[str, np.ndarray],
    scaler: ChannelScaler,
    test: TestSet,
    rates,
    pairs,
    *,
    config: TrainConfig | None = None,
    trained: dict | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
    seed: int = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Train each pair on training windows with a ``rate`` share contaminated (:func:`contaminate`), fit its σ
    statistics on the same contaminated windows, and score ``test``.

    Args:
        source: the HE source model (every HB model is built like it; RANDOM pairs copy none of its weights).
        windows: ``{"train", "val"}`` scaled windows; validation stays clean.
        trained: ``{pair: (model, ErrorScaler)}`` already trained on clean data, reused at rate 0.
        tables: ``{pair: table}`` of :func:`detection_table` already computed for those models on ``test`` (rate 0
            is then not scored again).
        seed: seed of the contamination and of the fine-tuning.

    Returns:
        Tidy rows: rate, pair, case, FPR@90/95/99, AUC.
    """
    trained, tables = trained or {}, tables or {}
    rows, dirty = [], {}
    cells = [(rate, pair) for rate in rates for pair in pairs]
    for rate, pair in tqdm(cells, desc="contamination", disable=not progress):
        if rate == 0 and pair in trained and pair in tables:
            table = tables[pair]
        else:
            if rate == 0 and pair in trained:
                model, error_scaler = trained[pair]
            else:
                if rate not in dirty:
                    dirty[rate] = contaminate(windows["train"], scaler, rate, seed=seed)[0]
                model, _, _ = fine_tune(
                    source, dirty[rate], windows["val"], *transfer.parse_pair(pair), seed=1, config=config
                )
                error_scaler = fit_error_scaler(model, dirty[rate])
            table = detection_table(model, error_scaler, test)[0]
        rows += [
            {"rate": rate, "pair": pair, "case": case, **r}
            for case, r in table.drop(columns="anomalous channels").iterrows()
        ]
    return pd.DataFrame(rows)


def results_frame(tables: dict[str, pd.DataFrame], single: pd.DataFrame, contamination: pd.DataFrame) -> pd.DataFrame:
    """Every number of chapter 5 as tidy rows (experiment, pair, rate, case, metric columns), for a results file."""
    parts = [
        t.drop(columns="anomalous channels")
        .rename_axis("case")
        .reset_index()
        .assign(experiment="boxes", pair=pair, rate=0.0)
        for pair, t in tables.items()
    ]
    parts.append(
        single.rename_axis("case")
        .reset_index()
        .melt(id_vars="case", var_name="pair", value_name="AUC")
        .assign(experiment="single channels", rate=0.0)
    )
    parts.append(contamination.assign(experiment="contamination"))
    out = pd.concat(parts, ignore_index=True)
    return out[
        [
            "experiment",
            "pair",
            "rate",
            "case",
            *[c for c in out.columns if c not in ("experiment", "pair", "rate", "case")],
        ]
    ]


def auc_beside_paper(aucs: pd.DataFrame) -> pd.DataFrame:
    """AUC per case (rows) and pair (columns) with the paper's Table 7 AUCs added as two columns."""
    out = aucs.reindex([c[0] for c in CASES if c[0] in aucs.index])
    for i, pair in enumerate(TABLE7_PAIRS):
        out[f"paper {pair}"] = [TABLE7_AUC[c][i] for c in out.index]
    return out


def own_detector_flags(
    own: OccupancyData,
    trained: dict[str, tuple[GraphSTAD, ErrorScaler, ChannelScaler]],
    source: GraphSTAD,
    *,
    n_calibrate: int = 10,
    n_ls_sim: int = 1400,
    sim_seed: int = 0,
    config: TrainConfig | None = None,
    threshold: float = 10.0,
    validation: dict[str, np.ndarray] | None = None,
    split: dict | None = None,
) -> pd.DataFrame:
    """Healthy lumisections of a real detector, scored by models trained on simulation: how many channels each
    flags, against the same model on its own validation data.

    The first ``n_calibrate`` LS of ``own`` calibrate the simulator (:func:`hcaltl.simulate.calibrate`); a model
    trained from scratch (RANDOM/No-TL) on the calibrated simulation joins ``trained`` (e.g. chapter 5's model
    trained on the default simulation); every model scores the remaining LS of ``own`` in sliding windows.

    Args:
        own: raw counts of the detector (e.g. loaded from a DQM file), healthy.
        trained: name → (model, its error scaler, its channel scaler) of models trained elsewhere.
        source: the HE source, whose hyper-parameters the calibrated model takes.
        n_calibrate, n_ls_sim, sim_seed: LS used to calibrate; size and seed of the calibrated simulation.
        config: training settings; threshold: flag threshold in σ (production: 10–30).
        validation: name → validation windows of the models in ``trained`` (for the comparison column).
        split: arguments of :func:`hcaltl.preprocess.split` for the calibrated simulation (default: the authors').

    Returns:
        One row per model: mean flagged channels per window and flagged share, on the held-out LS and on the
        model's own validation windows.
    """
    from ..preprocess import prepare_windows, scoring_windows
    from ..simulate import calibrate, simulate

    if own.n_ls < n_calibrate + source.config.window:
        raise ValueError(
            f"own holds {own.n_ls} LS: {n_calibrate} to calibrate leave no held-out window of {source.config.window} LS"
        )
    cal = calibrate(own.select(slice(0, n_calibrate)))
    twin = prepare_windows(
        simulate(own.geometry, n_ls_sim, seed=sim_seed, calibration=cal), window=source.config.window, **(split or {})
    )
    model, _, _ = fine_tune(
        source, twin.windows["train"], twin.windows["val"], "RANDOM", "No-TL", seed=1, config=config
    )
    models = {
        **trained,
        "trained on the calibrated simulation": (model, fit_error_scaler(model, twin.windows["train"]), twin.scaler),
    }
    validation = {**(validation or {}), "trained on the calibrated simulation": twin.windows["val"]}
    held_out = own.select(slice(n_calibrate, own.n_ls))
    rows = {}
    for name, (m, err_scaler, ch_scaler) in models.items():
        windows, _ = scoring_windows(held_out, ch_scaler, window=m.config.window, stride=1)
        flagged = channel_scores(m, windows, err_scaler) > threshold
        row = {
            "held-out LS: flagged channels per window": float(flagged.sum(axis=1).mean()),
            "held-out LS: flagged share": float(flagged.mean()),
        }
        if name in validation:
            own_flags = channel_scores(m, validation[name], err_scaler) > threshold
            row["own validation: flagged share"] = float(own_flags.mean())
        rows[name] = row
    return pd.DataFrame(rows).T
