"""The papers' claims set against the paper-scale sweep, one row each: what the paper says, what the committed
cells show, and a verdict decided by the spread over seeds (the closing table of chapters 3–5's paper-scale sections
and of the Running at scale page).

The claims are data (:data:`CLAIMS`), like the paper's tables in :mod:`~hcaltl.experiments.paper_values`: each
names its chapter, where the paper makes it, and the function that judges it from the rows of one results folder
(:func:`~.tables.load`). A verdict is one of :data:`VERDICTS`; each judge's docstring says when it gives which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ... import transfer
from .. import detection_study as ds
from .. import paper_values
from .. import transfer_study as ts
from .sentences import gain_grows_as_data_shrinks, share_medians, spearman
from .tables import (
    box_rows,
    changes_vs_paper,
    contamination_losses,
    model_table,
    share_1_rows,
    transfer_rows,
    transfer_table,
    unpooled_table,
)

HOLDS, PARTLY, CLOSE, FAILS, PENDING = "holds", "partly", "too close to call", "does not hold", "not run yet"
#: Every verdict, from the best for the paper to the cells that have not finished.
VERDICTS = (HOLDS, PARTLY, CLOSE, FAILS, PENDING)

Judged = tuple[str, str]  # (what our cells show, verdict)
_REFERENCE = transfer.pair_label(*ts.REFERENCE)
_MILD = ds.CASES[0][0]  # the mildest degradation, Table 7's first row
_NOT_YET: Judged = ("—", PENDING)


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, and how the sweep's rows judge it.

    Attributes:
        chapter: the book's chapter that tests it (3, 4 or 5).
        source: where the paper makes it (paper, table).
        text: the claim in a few words.
        paper: the paper's number or words for it.
        judge: rows → (what our cells show, a verdict of :data:`VERDICTS`).
    """

    chapter: int
    source: str
    text: str
    paper: str
    judge: Callable[[pd.DataFrame], Judged]


def _seeds(n: int) -> str:
    return f"{n} seed{'s' if n != 1 else ''}"


def _gnn_lowers_the_error(rows: pd.DataFrame) -> Judged:
    """GraphSTAD against its CNN + LSTM ablation on held-out HE: holds when its mean MSE is lower by more than the
    larger standard deviation over seeds, does not hold when higher by more, too close to call otherwise."""
    table = model_table(rows)
    if table.empty or not {"GraphSTAD", "CNN + LSTM"} <= set(table.index):
        return _NOT_YET
    g, c = table.loc["GraphSTAD"], table.loc["CNN + LSTM"]
    if min(g["seeds"], c["seeds"]) < 2:
        return _NOT_YET
    noise = max(g["sd over seeds"], c["sd over seeds"])
    seeds = (
        _seeds(int(g["seeds"])) if g["seeds"] == c["seeds"] else f"{int(g['seeds'])} and {int(c['seeds'])} seeds"
    )  # unpaired: each model's mean over its own seeds
    ours = (
        f"MSE {g['test MSE']:.3g} ± {g['sd over seeds']:.1g} with the GNN, {c['test MSE']:.3g} ± "
        f"{c['sd over seeds']:.1g} without ({seeds}), at "
        f"{g['hours'] / c['hours']:.1f}× the training time"
    )
    return ours, (
        HOLDS if g["test MSE"] < c["test MSE"] - noise else FAILS if g["test MSE"] > c["test MSE"] + noise else CLOSE
    )


def _beats(rows: pd.DataFrame, dc: bool) -> Judged | None:
    """Table 5's pairs at share 1 against RANDOM/No-TL, pooled (``dc``) or unpooled model: how many have a lower mean
    test MSE, and how many lower by more than the larger standard deviation over seeds (as chapter 4's sentence
    counts them). Holds when all do by more, partly when most are lower, does not hold otherwise; None before a
    pair and the reference have finished."""
    table = transfer_table(rows, dc=dc)
    if table.empty:
        return None
    table = table[~table["one_cycle"] & (table["fraction"] == 1.0)].set_index("pair")
    pairs = table.reindex([transfer.pair_label(*p) for p in paper_values.TABLE5_MSE_CHANGE]).dropna(
        subset=["mean_change_%"]
    )
    if pairs.empty or _REFERENCE not in table.index:
        return None
    ref = table.loc[_REFERENCE]
    beat = pairs["mean_change_%"] < 0
    clear = pairs["mean_mse"] < ref["mean_mse"] - np.maximum(pairs["sd_mse"], ref["sd_mse"])
    text = (
        f"{int(beat.sum())} of {len(pairs)} ({pairs['mean_change_%'].min():+.1f} to "
        f"{pairs['mean_change_%'].max():+.1f} %; {int(clear.sum())} beyond the seeds' spread)"
    )
    return text, HOLDS if clear.all() else PARTLY if 2 * beat.sum() > len(pairs) else FAILS


def _worst(verdicts: list[str]) -> str:
    """The verdict least favourable to the paper among those judged (pending when none is)."""
    judged = [v for v in verdicts if v != PENDING]
    return max(judged, key=VERDICTS.index) if judged else PENDING


def _transfer_beats_scratch(rows: pd.DataFrame) -> Judged:
    """Table 5's pairs against RANDOM/No-TL at share 1, for the pooled and the unpooled model (:func:`_beats`); the
    verdict is the worse of the two."""
    judged = {name: _beats(rows, dc) for name, dc in (("pooled", True), ("unpooled", False))}
    judged = {name: j for name, j in judged.items() if j is not None}
    if not judged:
        return _NOT_YET
    return "; ".join(f"{name}: {text}" for name, (text, _) in judged.items()), _worst([v for _, v in judged.values()])


def _order_of_the_gains(rows: pd.DataFrame) -> Judged:
    """Spearman's rank correlation of our Table 5 changes with block 1's, per architecture: holds at 0.7 or more,
    partly from 0.3, does not hold below; the verdict is the worse of the two."""
    parts, verdicts = [], []
    for name, dc in (("pooled", True), ("unpooled", False)):
        changes = changes_vs_paper(rows, dc=dc)
        rho = spearman(changes["ours %"], changes["paper block 1 %"]) if not changes.empty else None
        if rho is not None:
            parts.append(f"ρ = {rho:.2f} ({name}, best {changes['ours %'].idxmin()})")
            verdicts.append(HOLDS if rho >= 0.7 else PARTLY if rho >= 0.3 else FAILS)
    return ("; ".join(parts), _worst(verdicts)) if parts else _NOT_YET


def _scarce_data(rows: pd.DataFrame) -> Judged:
    """The median change against RANDOM/No-TL per data share (:func:`~.sentences.share_medians`): holds when the gain
    grows steadily as the share shrinks, partly when it is only larger at the smallest share than at the largest,
    does not hold otherwise."""
    common, median = share_medians(transfer_table(rows))
    if not common:
        return _NOT_YET
    ours = "median " + ", ".join(f"{change:+.1f} % at {100 * share:g} %" for share, change in median.items())
    verdict = HOLDS if gain_grows_as_data_shrinks(median) else PARTLY if median.iloc[0] < median.iloc[-1] else FAILS
    return f"{ours} of the HB windows ({len(common)} pairs)", verdict


def _per_seed_mse(rows: pd.DataFrame) -> pd.DataFrame:
    """Test MSE at share 1 (pooled model, constant schedule), one row per seed and a column per pair."""
    part = share_1_rows(rows)
    return part.pivot_table(index="seed", columns="pair", values="test_mse") if not part.empty else pd.DataFrame()


def _frozen_decoder_hurts(rows: pd.DataFrame) -> Judged:
    """TL-4/TL-2d's test MSE over RANDOM/No-TL's (the ratio of the means over the seeds both have, and its range
    seed by seed): holds when it is over twice in every seed ("far
    worse"), partly when over once in every seed, does not hold otherwise."""
    mse = _per_seed_mse(rows)
    tl2d = transfer.pair_label("TL-4", "TL-2d")
    if mse.empty or not {tl2d, _REFERENCE} <= set(mse.columns):
        return _NOT_YET
    both = mse[[tl2d, _REFERENCE]].dropna()
    if both.empty:
        return _NOT_YET
    factor = both[tl2d] / both[_REFERENCE]
    ours = (
        f"{both[tl2d].mean() / both[_REFERENCE].mean():.1f}× ({factor.min():.1f} to {factor.max():.1f}× seed by "
        f"seed, {_seeds(len(both))})"
    )
    return ours, HOLDS if (factor > 2).all() else PARTLY if (factor > 1).all() else FAILS


def _batchnorm_repairs(rows: pd.DataFrame) -> Judged:
    """TL-4/TL-2d[BN]'s test MSE against TL-4/TL-2d's (the change of the means over the seeds both have, and its
    range seed by seed): holds when lower in every seed, partly when lower on average, does not hold otherwise."""
    mse = _per_seed_mse(rows)
    tl2d, bn = transfer.pair_label("TL-4", "TL-2d"), transfer.pair_label("TL-4", "TL-2d[BN]")
    if mse.empty or not {tl2d, bn} <= set(mse.columns):
        return _NOT_YET
    both = mse[[bn, tl2d]].dropna()
    if both.empty:
        return _NOT_YET
    cut, mean = 100 * (both[bn] / both[tl2d] - 1), 100 * (both[bn].mean() / both[tl2d].mean() - 1)
    ours = f"{mean:+.0f} % ({cut.min():+.0f} to {cut.max():+.0f} % seed by seed)"
    return ours, HOLDS if (cut < 0).all() else PARTLY if mean < 0 else FAILS


def _trainable_shares(rows: pd.DataFrame) -> Judged:
    """The unpooled model's trainable-parameter change per Table 5 pair against the paper's: holds within 0.1
    percentage point on every pair, partly within 1 point, does not hold otherwise."""
    table = unpooled_table(rows)
    if table.empty or "trainable % (no DC)" not in table:
        return _NOT_YET
    both = table[["trainable % (no DC)", "paper trainable %"]].dropna()
    if both.empty:
        return _NOT_YET
    gap = (both["trainable % (no DC)"] - both["paper trainable %"]).abs().max()
    ours = f"unpooled model within {gap:.2f} points on all {len(both)} pairs"
    if "trainable % (DC)" in table:
        ours += f" (pooled TL-6: {table.at[transfer.pair_label('TL-7', 'TL-6'), 'trainable % (DC)']:+.2f} %)"
    return ours, HOLDS if gap <= 0.1 else PARTLY if gap <= 1 else FAILS


def _one_cycle_keeps_smaller_gains(rows: pd.DataFrame) -> Judged:
    """Table 6's pairs against the one-cycle RANDOM/No-TL at the largest share run with both schedules: holds when
    all beat it by less than at a constant rate (the paper's gains shrink), partly when all beat it, does not hold
    otherwise."""
    part = transfer_rows(rows, True)
    both = ts.schedule_table(ts.summary(part)) if not part.empty else pd.DataFrame()
    if both.empty or both["one_cycle_change_%"].isna().all():
        return _NOT_YET
    share = both.dropna(subset=["one_cycle_change_%"]).index.get_level_values("fraction").max()
    pairs = (
        both.xs(share, level="fraction").dropna(subset=["one_cycle_change_%"]).drop(index=_REFERENCE, errors="ignore")
    )
    if pairs.empty:
        return _NOT_YET
    beat = pairs["one_cycle_change_%"] < 0
    smaller = pairs["one_cycle_change_%"].abs() < pairs["constant_change_%"].abs()
    ours = (
        f"{int(beat.sum())} of {len(pairs)} beat it ({pairs['one_cycle_change_%'].min():+.1f} to "
        f"{pairs['one_cycle_change_%'].max():+.1f} %); {int(smaller.sum())} of {len(pairs)} by less than at a "
        "constant rate"
    )
    return ours, HOLDS if (beat & smaller).all() else PARTLY if beat.all() else FAILS


def _box_auc_per_seed(rows: pd.DataFrame, mean_over_cases: bool) -> pd.DataFrame:
    """Box AUC of the detection cells, one row per seed and a column per pair: of the mildest degradation, or averaged
    over the cases."""
    boxes = box_rows(rows, "detection")
    if boxes.empty:
        return pd.DataFrame()
    if not mean_over_cases:
        boxes = boxes[boxes["case"] == _MILD]
    return boxes.pivot_table(index="seed", columns="pair", values="AUC")


def _tl_minus_random(rows: pd.DataFrame, mean_over_cases: bool) -> pd.Series:
    """Table 7's TL-7/TL-6 minus RANDOM/No-TL in box AUC, one value per seed both have (empty without them)."""
    auc = _box_auc_per_seed(rows, mean_over_cases)
    reference, tl = paper_values.TABLE7_PAIRS
    if auc.empty or not {reference, tl} <= set(auc.columns):
        return pd.Series(dtype=float)
    return (auc[tl] - auc[reference]).dropna()


def _mild_degradation_caught(rows: pd.DataFrame) -> Judged:
    """Table 7's mildest degradation: holds when both of its pairs come within 0.01 of the paper's AUC on average,
    partly within 0.05, does not hold otherwise."""
    auc = _box_auc_per_seed(rows, mean_over_cases=False)
    pairs = [p for p in paper_values.TABLE7_PAIRS if p in auc.columns]
    if not pairs:
        return _NOT_YET
    paper = dict(zip(paper_values.TABLE7_PAIRS, paper_values.TABLE7_AUC[_MILD]))
    gap = max(paper[p] - auc[p].mean() for p in pairs)
    ours = ", ".join(f"{auc[p].mean():.3f} ± {auc[p].std():.3f}" for p in pairs) + f" ({_seeds(len(auc))})"
    return ours, HOLDS if gap <= 0.01 else PARTLY if gap <= 0.05 else FAILS


def _transfer_detects_better(rows: pd.DataFrame) -> Judged:
    """TL-7/TL-6's box AUC averaged over the cases minus RANDOM/No-TL's, seed by seed: holds when the mean gain is
    positive beyond twice its standard deviation, does not hold when negative beyond it, too close to call
    otherwise (or with one seed). The same difference on the mildest degradation alone is shown beside it, not
    judged: the paper's own gain there (+0.003) is within any spread of a few seeds."""
    gain = _tl_minus_random(rows, mean_over_cases=True)
    if gain.empty:
        return _NOT_YET
    sd = gain.std() if len(gain) > 1 else np.nan
    ours = f"{gain.mean():+.4f} ± {sd:.4f} in mean box AUC, seed by seed ({_seeds(len(gain))})"
    mild = _tl_minus_random(rows, mean_over_cases=False)
    if len(mild) > 1:
        ours += f"; on the mildest degradation alone {mild.mean():+.4f} ± {mild.std():.4f}"
    if len(gain) < 2:
        return ours, CLOSE
    return ours, HOLDS if gain.mean() > 2 * sd else FAILS if gain.mean() < -2 * sd else CLOSE


def _transfer_mitigates_contamination(rows: pd.DataFrame) -> Judged:
    """Seed by seed at every contaminated rate, whether TL-7/TL-6 loses less mean box AUC than RANDOM/No-TL (each
    against itself trained clean): holds when it loses less in a majority that a two-sided sign test finds
    significant (p < 0.05), does not hold when it loses more in such a majority, too close to call otherwise."""
    losses = contamination_losses(rows)
    reference, tl = paper_values.TABLE7_PAIRS
    if losses.empty:
        return _NOT_YET
    paired = losses[(losses["rate"] > 0) & losses["loss"].notna()].set_index(["pair", "rate", "seed"])["loss"]
    if not {reference, tl} <= set(paired.index.get_level_values("pair")):
        return _NOT_YET
    diff = (paired.xs(tl, level="pair") - paired.xs(reference, level="pair")).dropna()
    untied = diff[diff != 0]
    if untied.empty:
        return _NOT_YET
    more = int((untied > 0).sum())
    p = stats.binomtest(more, len(untied), 0.5).pvalue
    ours = f"{tl} loses more in {more} of {len(untied)} (seed, rate) comparisons, sign test p = {p:.2g}"
    if p >= 0.05:
        return ours, CLOSE
    return ours, FAILS if 2 * more > len(untied) else HOLDS


def _table5_range() -> str:
    block1 = [b for b, _ in paper_values.TABLE5_MSE_CHANGE.values()]
    return f"all {len(block1)} pairs, {min(block1):+.1f} to {max(block1):+.1f} %"


def _best_of_block1() -> str:
    best = min(paper_values.TABLE5_MSE_CHANGE, key=lambda pair: paper_values.TABLE5_MSE_CHANGE[pair][0])
    return f"best {transfer.pair_label(*best)}"


def _tl2d_factor() -> str:
    return f"{1 + paper_values.TABLE3_MSE_CHANGE[('TL-4', 'TL-2d')][0] / 100:.1f}× (Table 3's average)"


def _bn_cut() -> str:
    return f"{paper_values.TABLE4_VS_TL2D[('TL-4', 'TL-2d[BN]')]:+.0f} %"


def _trainable_tl6() -> str:
    return f"down to {paper_values.TABLE5_TRAINABLE_CHANGE[('TL-7', 'TL-6')]:+.2f} % (TL-6)"


def _table6_range() -> str:
    values = paper_values.TABLE6_ONE_CYCLE_CHANGE.values()
    return f"{min(values):+.1f} to {max(values):+.1f} %, smaller than at a constant rate"


def _table7_mild() -> str:
    return ", ".join(f"{a:.3f}" for a in paper_values.TABLE7_AUC[_MILD])


#: The claims the paper-scale sweep tests, in the chapters' order.
CLAIMS: tuple[Claim, ...] = (
    Claim(
        3,
        "paper B",
        "the GNN lowers the reconstruction error of CNN + LSTM",
        "no number published",
        _gnn_lowers_the_error,
    ),
    Claim(
        4,
        "paper A, Tables 3 and 5",
        "every spatial or temporal transfer beats training HB from scratch",
        _table5_range(),
        _transfer_beats_scratch,
    ),
    Claim(4, "paper A, Table 5", "the order of the gains follows block 1", _best_of_block1(), _order_of_the_gains),
    Claim(4, "paper A", "transfer helps most when HB data is scarce", "stated, no table", _scarce_data),
    Claim(
        4,
        "paper A, Table 3",
        "a frozen HE decoder (TL-2d) is far worse than training from scratch",
        _tl2d_factor(),
        _frozen_decoder_hurts,
    ),
    Claim(4, "paper A, Table 4", "fine-tuning BatchNorm repairs TL-2d", _bn_cut(), _batchnorm_repairs),
    Claim(
        4,
        "paper A, Table 5",
        "freezing blocks cuts the trainable parameters by the table's shares",
        _trainable_tl6(),
        _trainable_shares,
    ),
    Claim(
        4,
        "paper A, Table 6",
        "with one-cycle scheduling, transfer still helps, by less",
        _table6_range(),
        _one_cycle_keeps_smaller_gains,
    ),
    Claim(
        5,
        "paper A, Table 7",
        "a box degraded to ×0.8 is caught almost perfectly",
        _table7_mild(),
        _mild_degradation_caught,
    ),
    Claim(
        5,
        "paper A, Table 7",
        "the transferred model (TL-7/TL-6) detects at least as well",
        "higher or equal AUC in every case",
        _transfer_detects_better,
    ),
    Claim(
        5,
        "paper A",
        "transfer mitigates contaminated training data",
        "stated, no table",
        _transfer_mitigates_contamination,
    ),
)


def scorecard(rows: pd.DataFrame | None, chapter: int | None = None) -> pd.DataFrame:
    """The papers' claims (:data:`CLAIMS`) judged from the sweep's rows, every claim or those of one ``chapter``;
    each is "not run yet" while its cells have not finished (and all are when ``rows`` is None).

    Args:
        rows: the sweep's rows (:func:`hcaltl.experiments.paper_scale.load`), or None before any cell has finished.
        chapter: 3, 4 or 5 for that chapter's claims only; None for every claim.

    Shapes:
        one row per claim, indexed by its text: ``chapter``, ``source``, ``paper``, ``ours``, ``verdict``.
    """
    chapters = sorted({c.chapter for c in CLAIMS})
    if chapter is not None and chapter not in chapters:
        raise ValueError(f"chapter: expected one of {chapters} or None, got {chapter!r}")
    out = {}
    for claim in CLAIMS:
        if chapter is None or claim.chapter == chapter:
            ours, verdict = claim.judge(rows) if rows is not None else _NOT_YET
            out[claim.text] = {
                "chapter": claim.chapter,
                "source": claim.source,
                "paper": claim.paper,
                "ours": ours,
                "verdict": verdict,
            }
    return pd.DataFrame.from_dict(out, orient="index").rename_axis("claim")


_PHRASES = {
    HOLDS: ("holds", "hold"),
    PARTLY: ("holds in part", "hold in part"),
    CLOSE: ("is too close to call", "are too close to call"),
    FAILS: ("does not hold", "do not hold"),
    PENDING: ("has not been run yet", "have not been run yet"),
}


_NUMBERS = dict(enumerate(["none", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]))


def scorecard_sentence(card: pd.DataFrame) -> str:
    """Which of a :func:`scorecard`'s claims get each verdict, in words (glued in the chapters' summaries).

    Args:
        card: a :func:`scorecard` table, usually one chapter's.

    Shapes:
        one sentence; the verdicts in the order of :data:`VERDICTS`, each with its count and its claims.
    """
    verdicts = [v for v in VERDICTS if v in set(card["verdict"])]
    if len(card) == 1:
        return (
            f"At paper scale this chapter tests one of the papers' claims, that {card.index[0]}, and it "
            f"{_PHRASES[verdicts[0]][0]} (the last table of the paper-scale section)."
        )
    text = (
        f"At paper scale this chapter tests {len(card)} of the papers' claims "
        "(the last table of the paper-scale section)."
    )
    for v in verdicts:
        claims = card.index[card["verdict"] == v]
        count = _NUMBERS.get(len(claims), str(len(claims)))
        text += f" {count.capitalize()} {_PHRASES[v][int(len(claims) > 1)]}: {'; '.join(claims)}."
    return text
