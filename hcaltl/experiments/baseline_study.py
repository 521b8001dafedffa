"""Chapter 5's comparison of GraphSTAD with the detectors a DQM expert runs first, on the paper's boxes and on
faults that follow the readout electronics (issue 18).

Every detector (:mod:`hcaltl.detectors`) is fitted on the same healthy HB training windows and scores the same
test sets (:func:`~hcaltl.experiments.detection_study.make_test_set`); the positives are the labelled channels of
each window's last LS, the negatives every other channel of those windows and of their healthy originals, as in
the chapter's detection table.

Explained in chapter 5 (``notebooks/05_anomaly_detection.ipynb``, "Honest baselines").
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..detectors import (
    ChannelMeanDetector,
    ErrorScaler,
    ModelDetector,
    PCADetector,
    ReferenceTest,
    WindowDetector,
    metrics,
    window_channel_errors,
)
from ..graph import VARIANTS
from ..models import GraphSTAD
from ..preprocess import ChannelScaler
from ..train import TrainConfig, fit
from ..utils import seed_everything
from .ablations import COMPARED, MODELS
from .detection_study import TestSet

#: Faults shaped by the readout, as (label, kind, factor): rows of the comparison beside the paper's boxes.
READOUT_CASES: tuple[tuple[str, str, float | None], ...] = (
    ("RM dead", "rm_dead", None),
    ("RM noisy (p 0.1)", "rm_noisy", None),
    ("RBX ×0.6", "rbx_degraded", 0.6),
    ("QIE card ×0.4", "qie_degraded", 0.4),
)
#: The simple detectors, by the name the chapter's tables use.
BASELINES = ("per-channel mean", "PCA (16 components)", "reference test (beta)")
#: GraphSTAD without its GNN, by the name the chapter's tables use: what every graph is measured against.
ABLATION = "CNN + LSTM (no GNN)"
#: Chapter 3's ablations by the names the comparison's tables use (chapter-3 model name → detector name).
ABLATIONS = {"CNN + LSTM": ABLATION, "CNN only": "CNN only (no GNN, no LSTM)"}
#: The channel graph GraphSTAD uses unless told (:data:`hcaltl.graph.VARIANTS`).
DEFAULT_GRAPH = "readout + spatial (default)"
#: Chapter 2's channel graphs, as detector name (:func:`graph_name`) → GraphSTAD keyword arguments. The default
#: graph is among them: trained the same way as the others, it is the fair reference for them.
GRAPH_MODELS: dict[str, dict] = {
    f"GraphSTAD, graph: {name}": {"use_gnn": True, **rules} for name, rules in VARIANTS.items()
}


def train_like(
    source: GraphSTAD,
    windows: dict[str, np.ndarray],
    overrides: dict,
    *,
    seed: int = 1,
    config: TrainConfig | None = None,
    checkpoint: str | Path | None = None,
) -> GraphSTAD:
    """An HB model with the source's hyper-parameters but ``overrides`` (:meth:`GraphSTAD.like`), trained from
    scratch on ``windows["train"]`` like RANDOM/No-TL (same seed and settings).

    Args:
        source: the HE source (its latent size, window and other settings are kept).
        windows: scaled HB windows with ``"train"`` and ``"val"``.
        overrides: GraphSTAD keyword arguments to change, e.g. ``{"use_gnn": False}`` or a graph's edge rules.
        checkpoint: where to keep the training state after every epoch; an interrupted run resumes from it.
    """
    seed_everything(seed)
    model = GraphSTAD.like(source, "HB", **overrides)
    fit(
        model,
        windows["train"],
        windows["val"],
        replace(config or TrainConfig(), seed=seed),
        checkpoint=checkpoint,
        resume=checkpoint is not None and Path(checkpoint).exists(),
    )
    return model.eval()


def train_ablation(
    source: GraphSTAD,
    windows: dict[str, np.ndarray],
    model: str = "CNN + LSTM",
    *,
    seed: int = 1,
    config: TrainConfig | None = None,
    checkpoint: str | Path | None = None,
) -> GraphSTAD:
    """:func:`train_like` with one of chapter 3's ablations (``"CNN + LSTM"``: no GNN; ``"CNN only"``), a name of
    :data:`hcaltl.experiments.ablations.COMPARED` other than GraphSTAD."""
    ablations = [m for m in COMPARED if m != "GraphSTAD"]
    if model not in ablations:
        raise ValueError(f"model must be an ablation, one of {', '.join(ablations)}; got {model!r}")
    return train_like(source, windows, MODELS[model], seed=seed, config=config, checkpoint=checkpoint)


def train_graphs(
    source: GraphSTAD,
    windows: dict[str, np.ndarray],
    names=tuple(GRAPH_MODELS),
    *,
    seed: int = 1,
    config: TrainConfig | None = None,
    checkpoints: str | Path | None = None,
    progress: bool = False,
) -> dict[str, GraphSTAD]:
    """:func:`train_like` once per channel graph of :data:`GRAPH_MODELS` (by name), same seed and settings. A graph has
    no weights of its own, so every model starts from the same initial weights and sees the same batches: only the
    graph differs (a paired comparison, ``tests/test_baselines.py``).

    Args:
        checkpoints: a folder for the training states (one file per graph), so an interrupted run resumes.

    Returns:
        detector name → trained HB model, in the order of ``names``.
    """
    names = list(names)
    unknown = [n for n in names if n not in GRAPH_MODELS]
    if unknown or not names:
        raise ValueError(f"names must be graph models among {list(GRAPH_MODELS)}; got {names!r}")
    folder = Path(checkpoints) if checkpoints is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in tqdm(names, desc="graphs", disable=not progress):
        state = folder / f"{re.sub(r'[^A-Za-z0-9]+', '_', name).strip('_')}.pt" if folder is not None else None
        out[name] = train_like(source, windows, GRAPH_MODELS[name], seed=seed, config=config, checkpoint=state)
    return out


def detectors(
    train_windows: np.ndarray,
    scaler: ChannelScaler,
    models: dict[str, tuple[GraphSTAD, ErrorScaler | None]],
    reductions=("mean", "last"),
    *,
    baselines: bool = True,
) -> dict[str, WindowDetector]:
    """Every detector of the comparison, fitted on healthy training windows, under ``"name, reduction"`` keys.

    Args:
        train_windows: healthy scaled HB training windows.
        scaler: their :class:`~hcaltl.preprocess.ChannelScaler`.
        models: name → (trained GraphSTAD, its σ statistics on ``train_windows`` for the window mean, or None to
            fit them here); each model runs over the training windows once for every reduction.
        reductions: ``"mean"`` over the window (the authors' score) and/or ``"last"`` LS.
        baselines: add the simple detectors of :data:`BASELINES` (False: the models only).
    """
    geometry = scaler.geometry
    fitted: dict[str, dict[str, WindowDetector]] = {r: {} for r in reductions}
    for name, (model, mean_errors) in models.items():
        need = [r for r in reductions if not (r == "mean" and mean_errors is not None)]
        errors = window_channel_errors(model, train_windows, reductions=tuple(need)) if need else {}
        for r in reductions:
            statistics = mean_errors if r not in errors else ErrorScaler().fit(errors[r])
            fitted[r][name] = ModelDetector(model, reduce=r, error_scaler=statistics)
    for r in reductions if baselines else ():
        fitted[r].update(
            {
                BASELINES[0]: ChannelMeanDetector(geometry, reduce=r).fit(train_windows),
                BASELINES[1]: PCADetector(geometry, n_components=16, reduce=r).fit(train_windows),
                BASELINES[2]: ReferenceTest(scaler, reduce=r).fit(train_windows),
            }
        )
    return {f"{name}, {r}": d for r in reductions for name, d in fitted[r].items()}


def _scores(detectors: dict[str, WindowDetector], windows: np.ndarray) -> dict[str, np.ndarray]:
    """Every detector's σ scores of ``windows``; each GraphSTAD runs once for all its reductions."""
    out, by_model = {}, {}
    for key, d in detectors.items():
        if isinstance(d, ModelDetector):
            by_model.setdefault(id(d.model), []).append(key)
        else:
            out[key] = d.channel_scores(windows)
    for keys in by_model.values():
        first = detectors[keys[0]]
        errors = window_channel_errors(
            first.model, windows, first.batch_size, tuple({detectors[k].reduce for k in keys})
        )
        out.update({k: detectors[k].error_scaler.transform(errors[detectors[k].reduce]) for k in keys})
    return {k: out[k] for k in detectors}


def _collect(detectors: dict[str, WindowDetector], tests: dict[str, TestSet], into: dict) -> None:
    """Append every detector's (labels, scores) of every case of every test set to ``into[(key, set, case)]``."""
    for test_name, test in tests.items():
        healthy = _scores(detectors, test.healthy)
        for case, windows in test.anomalous.items():
            labels = test.labels[case]
            y = np.concatenate([labels, np.zeros_like(labels)]).ravel()
            for key, scores in _scores(detectors, windows).items():
                into.setdefault((key, test_name, case), []).append((y, np.concatenate([scores, healthy[key]]).ravel()))


def _rows(collected: dict) -> pd.DataFrame:
    rows = []
    for (key, test_name, case), parts in collected.items():
        name, _, reduce = key.rpartition(", ")
        y, s = (np.concatenate(a) for a in zip(*parts))
        rows.append({"detector": name, "reduce": reduce, "test set": test_name, "case": case, **metrics(y, s)})
    return pd.DataFrame(rows)


def comparison(detectors: dict[str, WindowDetector], tests: dict[str, TestSet]) -> pd.DataFrame:
    """Tidy rows (detector, reduce, test set, case, FPR@90/95/99, AUC) of every detector on every test set.

    Each detector scores a test set's healthy windows once and each case's anomalous windows once.
    """
    collected: dict = {}
    _collect(detectors, tests, collected)
    return _rows(collected)


def comparison_chunked(
    detectors: dict[str, WindowDetector],
    windows: np.ndarray,
    scaler: ChannelScaler,
    n: int,
    seed: int,
    sets: dict[str, tuple],
    *,
    chunk: int = 100,
    progress: bool = False,
) -> pd.DataFrame:
    """:func:`comparison` on ``n`` anomalous windows per case of each ``{set: cases}``, built and scored ``chunk``
    at a time so memory stays that of one chunk (paper scale: 1000 windows per case). Chunk ``i`` of every set is
    :func:`~hcaltl.experiments.detection_study.make_test_set` with seed ``1000 * seed + i``, as in
    :func:`~hcaltl.experiments.detection_study.detection_table_chunked`."""
    from .detection_study import make_test_set

    if n < 1 or chunk < 1:
        raise ValueError(f"n and chunk must be positive, got n={n}, chunk={chunk}")
    collected: dict = {}
    for i, start in enumerate(tqdm(range(0, n, chunk), desc="comparison chunks", disable=not progress)):
        tests = {
            name: make_test_set(windows, scaler, min(chunk, n - start), seed=1000 * seed + i, cases=cases)
            for name, cases in sets.items()
        }
        _collect(detectors, tests, collected)
    return _rows(collected)


def auc_table(rows: pd.DataFrame, reduce: str, metric: str = "AUC") -> pd.DataFrame:
    """AUC (or another ``metric`` column, e.g. ``"FPR@95"``) per case (rows, in the test sets' order) and detector
    (columns) for one reduction."""
    if metric not in rows.columns:
        raise ValueError(f"metric {metric!r} is not a column of the rows; columns: {list(rows.columns)}")
    part = rows[rows["reduce"] == reduce]
    order = list(dict.fromkeys(part["case"]))
    return part.pivot_table(index="case", columns="detector", values=metric, sort=False).reindex(order)[
        list(dict.fromkeys(part["detector"]))
    ]


def _lead_phrase(gap: pd.Series, reduce: str, model: str) -> str:
    """Where the best simple detector is furthest ahead of ``model`` and where ``model`` is (AUC margins)."""
    ahead, behind = gap.idxmax(), gap.idxmin()
    text = f"the simple detectors are furthest ahead on {ahead} (+{gap[ahead]:.3f} AUC)"
    if gap[behind] < 0:
        return text + f", {model} on {behind} (+{-gap[behind]:.3f})"
    return text + f" while {model} is ahead in no case"


def _gnn_phrase(gain: pd.Series, resolution: float = 0.01) -> str:
    """What the GNN adds (GraphSTAD minus its ablation, mean AUC) on boxes and on readout faults, in words."""
    boxes, readout = gain.get("boxes", np.nan), gain.get("readout", np.nan)
    numbers = f"{boxes:+.3f} in mean AUC on the boxes and {readout:+.3f} on the readout faults"
    if max(abs(boxes), abs(readout)) < resolution:
        return numbers + ": below 0.01 in AUC either way, too small to call"
    if readout <= 0 and boxes <= 0:
        return numbers + ": the model without the GNN does as well or better on both"
    if readout > boxes:
        return numbers + ": in this run the GNN adds more where channels share electronics"
    return numbers + ": in this run whatever the GNN adds is not specific to faults that follow the readout"


def facts(rows: pd.DataFrame, model: str, ablation: str, prefix: str = "c5") -> dict[str, object]:
    """The numbers and phrases chapter 5's text quotes: per score reduction, in how many cases the best simple
    detector reaches at least ``model``'s AUC, which simple detector has the best mean AUC and the largest margins
    either way; and the GNN's share, ``model`` minus ``ablation`` in mean AUC over the box cases and over the
    readout cases (window-mean score). Several seeds' rows are averaged per detector and case first; the keys
    start with ``prefix``."""
    keys = ["detector", "reduce", "test set", "case"]
    rows = rows.groupby(keys, sort=False, as_index=False)["AUC"].mean()
    out: dict[str, object] = {}
    for reduce in ("mean", "last"):
        table = auc_table(rows, reduce)
        simple = table[[c for c in table.columns if c in BASELINES]]
        gap = simple.max(axis=1) - table[model]
        out.update(
            {
                f"{prefix}_base_{reduce}_cases": len(table),
                f"{prefix}_base_{reduce}_wins": int((gap >= 0).sum()),
                f"{prefix}_base_{reduce}_best": str(simple.mean().idxmax()),
                f"{prefix}_base_{reduce}_leads": _lead_phrase(gap, reduce, model),
            }
        )
    part = rows[rows["reduce"] == "mean"].pivot_table(index=["test set", "case"], columns="detector", values="AUC")
    gain = (part[model] - part[ablation]).groupby(level="test set").mean()
    out.update({f"{prefix}_gnn_gain_{t}": float(g) for t, g in gain.items()})
    out[f"{prefix}_gnn_verdict"] = _gnn_phrase(gain)
    return out


#: The single AUCs chapter 5's text quotes from the comparison: glue key → (score reduction, case, detector), the
#: detector None standing for the chapter's GraphSTAD model.
QUOTED_AUCS = {
    "chmean_mild": ("mean", "degraded ×0.8", "per-channel mean"),
    "chmean_mild_last": ("last", "degraded ×0.8", "per-channel mean"),
    "noisy_ref": ("mean", "RM noisy (p 0.1)", "reference test (beta)"),
    "noisy_pca": ("mean", "RM noisy (p 0.1)", "PCA (16 components)"),
    "noisy_graphstad_last": ("last", "RM noisy (p 0.1)", None),
}


def quoted_aucs(rows: pd.DataFrame, model: str, prefix: str = "c5") -> dict[str, float]:
    """The AUCs of :data:`QUOTED_AUCS`, and the mean AUC over every case (window-mean score) of ``model`` and of
    the CNN-only ablation, from :func:`comparison`'s rows (several seeds' rows are averaged per case first, as in
    :func:`auc_table`); the keys start with ``prefix``.

    Raises:
        ValueError: when a quoted case or detector is missing from the rows (naming it and those present).
    """
    tables = {reduce: auc_table(rows, reduce) for reduce in ("mean", "last")}
    out: dict[str, float] = {}
    for key, (reduce, case, detector) in QUOTED_AUCS.items():
        table, detector = tables[reduce], detector or model
        if case not in table.index or detector not in table.columns:
            raise ValueError(
                f"the rows have no AUC of {detector!r} on {case!r} ({reduce} score); cases: "
                f"{list(table.index)}, detectors: {list(table.columns)}"
            )
        out[f"{prefix}_{key}"] = float(table.at[case, detector])
    for key, detector in (("cnn_only_mean", ABLATIONS["CNN only"]), ("graphstad_mean", model)):
        if detector not in tables["mean"].columns:
            raise ValueError(f"the rows have no detector {detector!r}; detectors: {list(tables['mean'].columns)}")
        out[f"{prefix}_{key}"] = float(tables["mean"][detector].mean())
    return out


def seed_table(rows: pd.DataFrame, reduce: str) -> pd.DataFrame:
    """AUC per case and detector as ``"mean ± sd"`` over the seeds of several runs' rows (e.g. the committed
    comparison cells of a sweep), for one score reduction."""
    part = rows[rows["reduce"] == reduce]
    if part.empty:
        raise ValueError(f"no rows with reduce={reduce!r}; reductions present: {sorted(set(rows['reduce']))}")
    order, detectors = list(dict.fromkeys(part["case"])), list(dict.fromkeys(part["detector"]))
    stats = part.groupby(["case", "detector"])["AUC"].agg(["mean", "std"])
    text = stats.apply(
        lambda r: f"{r['mean']:.3f} ± {r['std']:.3f}" if pd.notna(r["std"]) else f"{r['mean']:.3f}", axis=1
    )
    return text.unstack("detector").reindex(order)[detectors]


def seeds_sentence(rows: pd.DataFrame | None, model: str = "GraphSTAD (RANDOM/No-TL)", ablation: str = ABLATION) -> str:
    """What the comparison cells of several seeds say (``rows``: a sweep's rows, any kinds), as one paragraph; a
    sentence saying none has finished when there are none."""
    part = rows[rows["kind"] == "comparison"] if rows is not None and "kind" in rows else None
    if part is None or part.empty:
        return "No comparison cell of the sweep has finished yet; its table will appear here."
    f = facts(part, model, ablation, prefix="seeds")
    n, windows = int(part["seed"].nunique()), int(part["n_anomalies"].iloc[0])
    if n > 1:  # with seeds, the GNN's share is judged against their spread
        stats = (
            graph_gains(part, reference=ablation)
            .query("detector == @model")
            .groupby("test set")["gain"]
            .agg(["mean", "std"])
        )
        numbers = " and ".join(f"{m:+.3f} ± {sd:.3f} on the {_SET_WORDS.get(t, t)}" for t, (m, sd) in stats.iterrows())
        within = (stats["mean"].abs() < 2 * stats["std"]).all()
        f["seeds_gnn_verdict"] = (
            numbers
            + " in mean AUC (mean ± sd over seeds): "
            + (
                "within twice the seeds' spread on both, too small to call"
                if within
                else "beyond twice the seeds' spread on "
                + ", ".join(_SET_WORDS.get(t, t) for t in stats.index[stats["mean"].abs() >= 2 * stats["std"]])
            )
        )
    return (
        f"Over {n} seed(s) of the {part['preset'].iloc[0]} preset ({windows} anomalous windows per fault), the best "
        f"simple detector reaches {model}'s mean AUC in {f['seeds_base_mean_wins']} of {f['seeds_base_mean_cases']} "
        f"cases with the window score and in {f['seeds_base_last_wins']} of {f['seeds_base_last_cases']} on the "
        f"last LS ({f['seeds_base_mean_best']} has the best mean AUC of the three with the window score); {model} "
        f"minus the same model without its GNN is {f['seeds_gnn_verdict']}."
    )


def graph_name(detector: str) -> str:
    """The detector name of GraphSTAD trained on one of :data:`hcaltl.graph.VARIANTS`, e.g. for the default
    model's rows: ``rows.replace({"detector": {"GraphSTAD (RANDOM/No-TL)": graph_name(DEFAULT_GRAPH)}})``."""
    if detector not in VARIANTS:
        raise ValueError(f"unknown graph {detector!r}; graphs are {list(VARIANTS)}")
    return f"GraphSTAD, graph: {detector}"


def graph_study(
    source: GraphSTAD,
    windows: dict[str, np.ndarray],
    scaler: ChannelScaler,
    tests: dict[str, TestSet],
    baseline_rows: pd.DataFrame,
    control: str,
    *,
    seed: int = 1,
    config: TrainConfig | None = None,
) -> pd.DataFrame:
    """Chapter 5's live comparison of channel graphs: :func:`train_graphs`, each model scored with the window-mean
    score on ``tests``, with the rows of ``control`` (another GNN model) and of :data:`ABLATION` taken from a
    :func:`comparison` of the same tests (``baseline_rows``), ready for :func:`graph_gains`.

    Args:
        source: the HE source (hyper-parameters); windows: scaled HB windows with ``"train"`` and ``"val"``.
        scaler: their scaler; tests: ``{set name: TestSet}``, as in ``baseline_rows``.
        control: the detector name of the control model in ``baseline_rows``.
    """
    missing = [d for d in (control, ABLATION) if d not in set(baseline_rows["detector"])]
    if missing:
        raise ValueError(
            f"baseline_rows lack the detectors {missing}; present: {sorted(set(baseline_rows['detector']))}"
        )
    models = train_graphs(source, windows, seed=seed, config=config)
    suite = detectors(
        windows["train"], scaler, {n: (m, None) for n, m in models.items()}, reductions=("mean",), baselines=False
    )
    return pd.concat(
        [baseline_rows[baseline_rows["detector"].isin([control, ABLATION])], comparison(suite, tests)],
        ignore_index=True,
    )


def graph_gains(rows: pd.DataFrame, reference: str = ABLATION, reduce: str = "mean") -> pd.DataFrame:
    """What each GraphSTAD's GNN adds: its AUC minus ``reference``'s (the same model without a GNN), averaged over
    the cases of each test set, per seed (rows without a seed column count as one seed).

    Args:
        rows: tidy rows of :func:`comparison` (one or several seeds, e.g. a sweep's comparison and graphs cells);
            every detector whose name starts with ``"GraphSTAD"`` is a GNN model.
        reference: the detector every gain is measured from.
        reduce: the score reduction (``"mean"``: the authors' window score).

    Returns:
        Tidy frame with columns ``detector``, ``test set``, ``seed``, ``gain``.
    """
    part = rows[rows["reduce"] == reduce]
    part = part if "seed" in part else part.assign(seed=0)
    if reference not in set(part["detector"]):
        raise ValueError(
            f"reference {reference!r} has no rows with reduce={reduce!r}; detectors present: "
            f"{sorted(set(part['detector']))}"
        )
    wide = part.pivot_table(index=["seed", "test set", "case"], columns="detector", values="AUC", sort=False)
    gnn = [c for c in dict.fromkeys(part["detector"]) if c.startswith("GraphSTAD")]
    if not gnn:
        raise ValueError(f"no GraphSTAD detector in the rows; detectors present: {sorted(set(part['detector']))}")
    gain = wide[gnn].sub(wide[reference], axis=0).groupby(level=["seed", "test set"], sort=False).mean()
    return gain.stack(future_stack=True).rename("gain").reset_index().dropna(subset=["gain"])


def gain_table(gains: pd.DataFrame) -> pd.DataFrame:
    """:func:`graph_gains` as a table: detector (rows) × test set (columns), the mean gain over seeds, written
    ``"+0.012 ± 0.004"`` (mean ± sd) when there are several seeds, and a last column ``seeds``: how many seeds each
    detector's gains have on every test set (a sweep still running may have fewer for the graphs than the control)."""
    stats = gains.groupby(["detector", "test set"], sort=False)["gain"].agg(["mean", "std", "count"])
    text = stats.apply(
        lambda r: f"{r['mean']:+.3f} ± {r['std']:.3f}" if r["count"] > 1 else f"{r['mean']:+.3f}", axis=1
    )
    detectors, sets = list(dict.fromkeys(gains["detector"])), list(dict.fromkeys(gains["test set"]))
    table = text.unstack("test set").reindex(detectors)[sets]
    return table.assign(seeds=stats["count"].unstack("test set").reindex(detectors)[sets].min(axis=1).astype(int))


def graph_sentence(gains: pd.DataFrame, resolution: float = 0.01) -> str:
    """What the graphs add, in words: for each test set, the graph (of :data:`GRAPH_MODELS`, when the gains hold any;
    other GNN models such as a control are left out) with the largest mean gain over the model without a GNN, and
    which gains reach ``resolution`` (in AUC) and, when every model has several seeds, twice their spread over seeds
    (with one seed the sentence says there is no spread to judge by)."""
    if gains["detector"].isin(list(GRAPH_MODELS)).any():  # a control model (e.g. another draw) is not a graph
        gains = gains[gains["detector"].isin(list(GRAPH_MODELS))]
    parts, resolved = [], []
    several = bool(gains.groupby(["detector", "test set"])["gain"].count().gt(1).all())
    for test_set, sub in gains.groupby("test set", sort=False):
        stats = sub.groupby("detector", sort=False)["gain"].agg(["mean", "std", "count"])
        best = stats["mean"].idxmax()
        name = best.removeprefix("GraphSTAD, graph: ")
        spread = f" ± {stats.at[best, 'std']:.3f}" if several else ""
        where = _SET_WORDS.get(test_set, test_set)
        parts.append(f"on the {where} the best graph is {name} ({stats.at[best, 'mean']:+.3f}{spread} in mean AUC)")
        clear = (stats["mean"] >= resolution) & ~(several & (stats["mean"] < 2 * stats["std"]))
        resolved += [f"{d.removeprefix('GraphSTAD, graph: ')} on the {where}" for d in stats.index[clear]]
    if several:
        verdict = (
            f"a gain of at least {resolution} that stands out of twice the seeds' spread: {', '.join(resolved)}"
            if resolved
            else f"no graph gains {resolution} in mean AUC beyond twice the seeds' spread on either set"
        )
    else:
        verdict = (
            f"gains of at least {resolution}: {', '.join(resolved)}, but one seed has no spread to judge them by"
            if resolved
            else f"no graph gains {resolution} in mean AUC on either set"
        )
    return "; ".join(parts) + f"; {verdict}"


def graph_facts(gains: pd.DataFrame, control: str) -> dict[str, float]:
    """Two numbers that say how large a graph's effect is against the noise of training (from :func:`graph_gains`).

    Args:
        gains: :func:`graph_gains` of rows holding every :data:`GRAPH_MODELS` detector and ``control``.
        control: another model with the default graph, trained with a different random draw of its initial weights
            (e.g. chapter 5's ``"GraphSTAD (RANDOM/No-TL)"``).

    Returns:
        ``paired_spread``: the largest range of the graphs' gains within one seed and test set (the graph models of a
        seed start from the same weights and batches: a graph has no weights of its own, so only the graph
        differs); ``control_gap``: the mean absolute difference between ``control`` and the default graph's model,
        over seeds and test sets (the same graph, another draw of the initial weights).
    """
    wide = gains.pivot_table(index=["seed", "test set"], columns="detector", values="gain")
    missing = [d for d in (*GRAPH_MODELS, control) if d not in wide.columns]
    if missing:
        raise ValueError(f"gains lack the detectors {missing}; present: {list(wide.columns)}")
    graphs = wide[list(GRAPH_MODELS)]
    return {
        "paired_spread": float((graphs.max(axis=1) - graphs.min(axis=1)).max()),
        "control_gap": float((wide[control] - wide[graph_name(DEFAULT_GRAPH)]).abs().mean()),
    }


def seed_graph_facts(rows: pd.DataFrame | None, control: str, prefix: str = "c5") -> tuple[dict, pd.DataFrame | None]:
    """What a sweep's ``comparison`` and ``graphs`` cells of several seeds say about the graphs: the facts chapter 5
    glues (``{prefix}_graph_seeds``: :func:`graph_sentence`, over the seeds of the graphs cells; ``_paired``,
    ``_control``: :func:`graph_facts`; ``_maxgain``: the largest mean gain or loss of any GNN model) and
    :func:`gain_table`. Without graphs cells the sentence says so, the numbers are NaN and the table is None."""
    part = rows[rows["kind"].isin(["comparison", "graphs"])] if rows is not None and "kind" in rows else None
    if part is None or not (part["kind"] == "graphs").any():
        return (
            {
                f"{prefix}_graph_seeds": "no graphs cell of the sweep has finished yet",
                **{f"{prefix}_graph_{k}": float("nan") for k in ("paired", "control", "maxgain")},
            },
            None,
        )
    gains = graph_gains(part)
    found = graph_facts(gains, control)
    seeds = gains.loc[gains["detector"].isin(list(GRAPH_MODELS)), "seed"].nunique()  # those of the graphs cells
    more = gains["seed"].nunique()
    lead = f"over {seeds} seed(s)" + (f" (the comparison cells have {more})" if more > seeds else "")
    facts = {
        f"{prefix}_graph_seeds": f"{lead}, " + graph_sentence(gains),
        f"{prefix}_graph_paired": found["paired_spread"],
        f"{prefix}_graph_control": found["control_gap"],
        f"{prefix}_graph_maxgain": float(gains.groupby(["detector", "test set"])["gain"].mean().abs().max()),
    }
    return facts, gain_table(gains)


#: How the sentences name each test set.
_SET_WORDS = {"boxes": "boxes", "readout": "readout faults"}
