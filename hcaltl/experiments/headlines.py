"""The chapters' key numbers in words, written from the computed tables (never typed), so that prose and
numbers cannot drift apart.

* :func:`transfer` (chapter 4), :func:`detection` (chapter 5) and :func:`cause_inference` (chapter 6): the
  sentences a chapter prints after its tables;
* :func:`detection_facts` and :func:`cause_inference_facts`: the numbers and phrases that chapters 5 and 6
  quote in their discussion, glued into the text with myst-nb (:func:`hcaltl.experiments.chapter.glue`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..transfer import pair_label
from . import paper_values
from .paper_values import PAPER_C_GLOBAL_AUC
from .transfer_study import REFERENCE


def transfer(table: pd.DataFrame, fraction: float | None, one_cycle: bool = False) -> str:
    """A few sentences with the key numbers of a summary table at one data share (for the chapter's text)."""
    if fraction is None:
        return "no constant-LR runs to summarise"
    part = table[(table["fraction"] == fraction) & (table["one_cycle"] == one_cycle)].set_index("pair")
    ref = pair_label(*REFERENCE)
    if ref not in part.index:
        return f"RANDOM/No-TL was not run at share {fraction:g}: no changes to report"
    lines = [
        f"At {100 * fraction:g} % of the HB training windows, RANDOM/No-TL reaches a mean test MSE of "
        f"{part.at[ref, 'mean_mse']:.3g} "
        f"over {int(part.at[ref, 'seeds'])} seed(s)."
    ]
    others = part.drop(index=ref)
    if len(others):
        best = others["mean_change_%"].idxmin()
        paper_best = min(v[0] for v in paper_values.TABLE3_MSE_CHANGE.values())
        lines.append(
            f"Best pair: {best}, {others.at[best, 'mean_change_%']:+.1f} % (paper's best in Table 3: "
            f"{paper_best:+.1f} %)."
        )
        worst = others["mean_change_%"].idxmax()
        lines.append(f"Worst pair: {worst}, {others.at[worst, 'mean_change_%']:+.1f} %.")
        for pair in ("TL-4/No-TL", "TL-4/TL-3", "TL-4/TL-2d", "TL-7/TL-6"):
            if pair in others.index and pair not in (best, worst):
                lines.append(f"{pair}: {others.at[pair, 'mean_change_%']:+.1f} %.")
        beat = int((others["mean_change_%"] < 0).sum())
        lines.append(f"{beat} of {len(others)} transfer pairs beat RANDOM/No-TL at this share.")
    return "\n".join(lines)


def detection(tables: dict[str, pd.DataFrame], single: pd.DataFrame, contamination: pd.DataFrame) -> str:
    """Key numbers of the chapter in sentences: box faults, single-channel faults, contamination."""
    lines = []
    for pair, t in tables.items():
        worst = t["AUC"].idxmin()
        perfect = int((t["AUC"] >= 0.9995).sum())
        lines.append(
            f"{pair}: AUC ≥ 0.9995 on {perfect} of {len(t)} box cases; lowest {t.at[worst, 'AUC']:.4f} ({worst}), "
            f"FPR@95 there {t.at[worst, 'FPR@95']:.2e}."
        )
    for pair in single.columns:
        worst = single[pair].idxmin()
        lines.append(f"{pair}, single channels: lowest AUC {single.at[worst, pair]:.4f} ({worst}).")
    if len(contamination):
        lo, hi = contamination["rate"].min(), contamination["rate"].max()
        for pair, part in contamination.groupby("pair", sort=False):
            a = part[part["rate"] == lo]["AUC"].mean()
            b = part[part["rate"] == hi]["AUC"].mean()
            lines.append(
                f"{pair}: mean AUC over the cases {a:.4f} with {100 * lo:g} % contaminated training windows, "
                f"{b:.4f} with {100 * hi:g} %."
            )
    return "\n".join(lines)


def cause_inference(table: pd.DataFrame) -> str:
    """The chapter's key numbers in sentences."""
    authors = table.index[0]
    lines = [
        f"{name}: global AUC {r['global AUC']:.3f}, decomposition AUC {r['decomposition AUC (mean over heads)']:.3f}"
        + (
            ""
            if np.isnan(r["cause inferred (exclusive LS)"])
            else f", cause inferred for {100 * r['cause inferred (exclusive LS)']:.0f} % of exclusive anomalies"
        )
        for name, r in table.drop(index="paper C").iterrows()
    ]
    lines.append(
        f"paper C: global AUC {PAPER_C_GLOBAL_AUC:.2f} (ours, authors' recipe: {table.at[authors, 'global AUC']:.3f})."
    )
    return "\n".join(lines)


def count_phrase(k: int, n: int, noun: str, verb: tuple[str, str]) -> str:
    """'all three transfer pairs beat', 'two of the three … beat', 'one of the three … beats', 'no … beats'."""
    words = {0: "no", 1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
    many, one = verb
    if k == n:
        return f"{'both' if n == 2 else 'all ' + words.get(n, str(n))} {noun}s {many}" if n > 1 else f"the {noun} {one}"
    if k == 0:
        return f"no {noun} {one}"
    return f"{words.get(k, str(k))} of the {words.get(n, str(n))} {noun}s {one if k == 1 else many}"


def detection_facts(
    tables: dict[str, pd.DataFrame],
    single: pd.DataFrame,
    contamination: pd.DataFrame,
    reference: str = "RANDOM/No-TL",
    mild: str = "degraded ×0.8",
) -> dict:
    """The numbers and phrases chapter 5's discussion quotes (glued into its text), from its computed tables.

    Returns floats (formatted by the text) and phrases (str, glued as Markdown) under ``c5_*`` keys.
    """
    others = [p for p in tables if p != reference]
    auc = pd.DataFrame({p: t["AUC"] for p, t in tables.items()})
    hardest = int(sum(auc[p].idxmin() == mild for p in auc))
    facts = {
        "c5_hardest": count_phrase(hardest, len(auc.columns), "configuration", ("find it hardest", "finds it hardest")),
        "c5_mild_random": float(auc.at[mild, reference]),
        "c5_mild_tl_lo": float(auc.loc[mild, others].min()),
        "c5_mild_tl_hi": float(auc.loc[mild, others].max()),
        "c5_mild_beaten": count_phrase(
            int((auc.loc[mild, others] > auc.at[mild, reference]).sum()),
            len(others),
            "transfer pair",
            ("beat", "beats"),
        ),
        "c5_single_random": float(single.at[mild, reference]),
        "c5_single_tl_lo": float(single.loc[mild, others].min()),
        "c5_single_tl_hi": float(single.loc[mild, others].max()),
        "c5_dead_lo": float(auc.loc["dead"].min()),
        "c5_dead_lo_pair": str(auc.loc["dead"].idxmin()),
        "c5_dead_hi": float(auc.loc["dead"].max()),
        "c5_dead_hi_pair": str(auc.loc["dead"].idxmax()),
    }
    # the paper's Table 7 on the same row, in the order of its columns (paper_values.TABLE7_PAIRS)
    facts["c5_paper_mild_random"], facts["c5_paper_mild_tl"] = paper_values.TABLE7_AUC.get(mild, (np.nan, np.nan))
    if len(contamination):
        lo, hi = contamination["rate"].min(), contamination["rate"].max()
        facts["c5_cont_rate"] = float(100.0 * hi)
        losses = {}
        for i, (pair, part) in enumerate(contamination.groupby("pair", sort=False), 1):
            clean, dirty = part[part["rate"] == lo], part[part["rate"] == hi]
            a, b = clean["AUC"].mean(), dirty["AUC"].mean()
            losses[pair] = a - b
            facts.update(
                {
                    f"c5_cont{i}_pair": pair,
                    f"c5_cont{i}_clean": float(a),
                    f"c5_cont{i}_dirty": float(b),
                    f"c5_cont{i}_loss": float(a - b),
                    f"c5_cont{i}_mild_clean": float(clean.set_index("case").at[mild, "AUC"]),
                    f"c5_cont{i}_mild_dirty": float(dirty.set_index("case").at[mild, "AUC"]),
                }
            )
        if reference in losses and len(losses) > 1:
            best = min(losses, key=losses.get)
            facts["c5_cont_softens"] = (
                f"{best} loses the least"
                if best != reference
                else f"here the model trained from scratch ({reference}) loses the least"
            )
    return facts


def cause_inference_facts(
    table: pd.DataFrame,
    attribution: pd.DataFrame,
    exclusive: pd.DataFrame,
    confusion: pd.DataFrame,
    hcal_attribution: pd.DataFrame,
    hcal_confusion: pd.DataFrame,
    sides: dict[str, str],
) -> dict:
    """The numbers and phrases chapter 6's discussion quotes (glued into its text), under ``c6_*`` keys.

    Args:
        table: :func:`~hcaltl.experiments.multihead_study.summary` (first row: the authors' recipe; a row
            ``"single head (all features)"``; a row ``"paper C"``).
        attribution, exclusive, confusion: the authors' variant's attribution AUCs, exclusive shares and cause
            confusion on the 2010 data.
        hcal_attribution, hcal_confusion: the same for the HCAL heads.
        sides: HCAL group → detector side, to find each group's neighbour on the same side.
    """
    authors, single = table.index[0], "single head (all features)"
    heads = table.drop(index=[single, "paper C"], errors="ignore")
    g, d = heads["global AUC"], heads["decomposition AUC (mean over heads)"]
    best_global = g.idxmax()
    csc = attribution["csc"] if "csc" in attribution else pd.Series(dtype=float)
    csc_exclusive = confusion.loc["csc"] if "csc" in confusion.index else pd.Series(dtype=float)
    groups = [p for p in hcal_attribution.index]
    own = pd.Series({p: hcal_attribution.at[p, p] for p in groups})
    neighbours = pd.Series(
        {(p, q): hcal_attribution.at[p, q] for p in groups for q in groups if q != p and sides[p] == sides[q]}
    )
    single_group = hcal_confusion.drop(columns="none", errors="ignore")
    facts = {
        "c6_global": float(g[authors]),
        "c6_paper_global": PAPER_C_GLOBAL_AUC,
        "c6_single_global": float(table.at[single, "global AUC"]) if single in table.index else float("nan"),
        "c6_decomposition_lo": float(d.min()),
        "c6_decomposition_hi": float(d.max()),
        "c6_single_decomposition": float(table.at[single, "decomposition AUC (mean over heads)"])
        if single in table.index
        else float("nan"),
        "c6_cause_share": 100.0 * float(table.at[authors, "cause inferred (exclusive LS)"]),
        "c6_global_lo": float(g.min()),
        "c6_global_hi": float(g.max()),
        "c6_best_global": (
            "the authors' recipe gives the best global AUC"
            if best_global == authors
            else f"the best global AUC comes from another variant ({best_global}), within a few thousandths"
        ),
        "c6_muon_on_muon": float(attribution.at["muons", "muon"]),
        "c6_calo_on_hcal": float(attribution.at["calo", "hcal"]),
        "c6_photons_on_tracker": float(attribution.at["photons", "tracker"]),
        "c6_inclusive_lo": float(attribution["inclusive"].min()),
        "c6_inclusive_hi": float(attribution["inclusive"].max()),
        "c6_photons_on_hcal_exclusive": 100.0 * float(exclusive.at["photons", "hcal"]),
        "c6_csc_lo": float(csc.min()),
        "c6_csc_hi": float(csc.max()),
        "c6_csc_none": int(csc_exclusive.get("none", 0)),
        "c6_csc_exclusive": int(csc_exclusive.sum()),
        "c6_hcal_own_lo": float(own.min()),
        "c6_hcal_own_hi": float(own.max()),
        "c6_hcal_neighbour_lo": float(neighbours.min()),
        "c6_hcal_neighbour_hi": float(neighbours.max()),
        "c6_hcal_right": int(sum(single_group.at[p, p] for p in single_group.index if p in single_group.columns)),
        "c6_hcal_faults": int(hcal_confusion.to_numpy().sum()),
    }
    return facts | _paper_c_facts()


def _paper_c_facts() -> dict[str, float]:
    """Paper C's values that chapter 6's discussion sets beside ours (its Figs. 3 and 4), under ``c6_paper_*``."""
    fig3, fig4 = paper_values.PAPER_C_FIG3_AUC, paper_values.PAPER_C_FIG4_EXCLUSIVE
    inclusive = [aucs["inclusive"] for aucs in fig3.values()]
    csc = [aucs["CSC"] for aucs in fig3.values()]
    return {
        "c6_paper_muon_on_muon": fig3["muons"]["Muon"],
        "c6_paper_calo_on_hcal": fig3["calo"]["HCAL"],
        "c6_paper_photons_on_tracker": fig3["photons"]["Track"],
        "c6_paper_inclusive_lo": min(inclusive),
        "c6_paper_inclusive_hi": max(inclusive),
        "c6_paper_photons_on_hcal_exclusive": 100.0 * fig4["photons"]["HCAL"],
        "c6_paper_csc_lo": min(csc),
        "c6_paper_csc_hi": max(csc),
    }
