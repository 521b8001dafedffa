"""The chapters' glued numbers and phrases come from the tables they summarise."""

import numpy as np
import pandas as pd
import pytest

from hcaltl.experiments import headlines

CASES = ["degraded ×0.8", "degraded ×0.4", "dead", "fully hot"]


def _detection_inputs():
    auc = {
        "RANDOM/No-TL": [0.80, 0.97, 0.99, 1.0],
        "TL-4/No-TL": [0.85, 0.98, 0.97, 1.0],
        "TL-7/TL-6": [0.78, 0.99, 0.995, 1.0],
    }
    tables = {p: pd.DataFrame({"AUC": v, "FPR@95": 0.1}, index=CASES) for p, v in auc.items()}
    single = pd.DataFrame({p: [v[0] - 0.05, 0.99, 1.0, 1.0] for p, v in auc.items()}, index=CASES)
    rows = []
    for rate, drop in ((0.0, 0.0), (0.2, 1.0)):
        for pair, loss in (("RANDOM/No-TL", 0.06), ("TL-7/TL-6", 0.02)):
            for case, a in zip(CASES, auc[pair]):
                rows.append({"rate": rate, "pair": pair, "case": case, "AUC": a - drop * loss})
    return tables, single, pd.DataFrame(rows)


def test_detection_facts_follow_the_tables():
    facts = headlines.detection_facts(*_detection_inputs())
    assert facts["c5_mild_random"] == 0.80 and facts["c5_mild_tl_lo"] == 0.78 and facts["c5_mild_tl_hi"] == 0.85
    assert facts["c5_mild_beaten"] == "one of the two transfer pairs beats"
    assert facts["c5_hardest"] == "all three configurations find it hardest"
    assert facts["c5_dead_lo_pair"] == "TL-4/No-TL" and facts["c5_dead_hi"] == 0.995
    assert facts["c5_single_random"] == pytest.approx(0.75)
    assert (facts["c5_paper_mild_random"], facts["c5_paper_mild_tl"]) == (0.993, 0.996)  # Table 7, never typed
    assert facts["c5_cont_rate"] == 20.0 and facts["c5_cont1_pair"] == "RANDOM/No-TL"
    assert facts["c5_cont1_loss"] == pytest.approx(0.06) and facts["c5_cont2_loss"] == pytest.approx(0.02)
    assert facts["c5_cont_softens"] == "TL-7/TL-6 loses the least"


def test_count_phrases_read_as_english():
    assert headlines.count_phrase(3, 3, "transfer pair", ("beat", "beats")) == "all three transfer pairs beat"
    assert headlines.count_phrase(2, 2, "transfer pair", ("beat", "beats")) == "both transfer pairs beat"
    assert headlines.count_phrase(0, 3, "transfer pair", ("beat", "beats")) == "no transfer pair beats"
    assert headlines.count_phrase(2, 3, "transfer pair", ("beat", "beats")) == "two of the three transfer pairs beat"


def test_cause_inference_facts_follow_the_tables():
    table = pd.DataFrame(
        {
            "global AUC": [0.95, 0.96, 0.94, 0.96],
            "decomposition AUC (mean over heads)": [0.89, 0.90, 0.52, np.nan],
            "cause inferred (exclusive LS)": [0.74, 0.70, np.nan, np.nan],
        },
        index=["authors", "linear", "single head (all features)", "paper C"],
    )
    subsystems = ["muon", "tracker", "ecal", "hcal", "csc"]
    attribution = pd.DataFrame(0.6, index=["muons", "photons", "PF", "calo"], columns=["inclusive", *subsystems])
    attribution.loc["muons", "muon"], attribution.loc["calo", "hcal"], attribution.loc["photons", "tracker"] = (
        0.97,
        0.96,
        0.58,
    )
    exclusive = pd.DataFrame(0.0, index=attribution.index, columns=subsystems)
    confusion = pd.DataFrame(0, index=subsystems, columns=[*subsystems, "none"])
    confusion.loc["csc", "none"], confusion.loc["csc", "ecal"] = 8, 2
    groups = ["M1", "M2", "P1", "P2"]
    hcal = pd.DataFrame(
        [[0.99, 0.9, 0.3, 0.2], [0.8, 0.98, 0.4, 0.3], [0.3, 0.2, 0.97, 0.85], [0.1, 0.2, 0.95, 0.99]],
        index=groups,
        columns=groups,
    )
    hcal_confusion = pd.DataFrame(
        [[5, 0, 0, 0, 0], [1, 2, 0, 0, 1], [0, 0, 7, 0, 0], [0, 0, 4, 8, 0]], index=groups, columns=[*groups, "none"]
    )
    facts = headlines.cause_inference_facts(
        table,
        attribution,
        exclusive,
        confusion,
        hcal,
        hcal_confusion,
        {"M1": "minus", "M2": "minus", "P1": "plus", "P2": "plus"},
    )
    assert facts["c6_global"] == 0.95 and facts["c6_single_global"] == 0.94 and facts["c6_global_hi"] == 0.96
    assert facts["c6_best_global"].startswith("the best global AUC comes from another variant (linear)")
    assert facts["c6_cause_share"] == pytest.approx(74.0) and facts["c6_single_decomposition"] == 0.52
    assert (facts["c6_csc_none"], facts["c6_csc_exclusive"]) == (8, 10)
    assert (facts["c6_hcal_own_lo"], facts["c6_hcal_own_hi"]) == (0.97, 0.99)
    assert (facts["c6_hcal_neighbour_lo"], facts["c6_hcal_neighbour_hi"]) == (0.8, 0.95)
    assert (facts["c6_hcal_right"], facts["c6_hcal_faults"]) == (22, 28)
    # paper C's side of each comparison comes from its figures, never typed into the text
    assert (facts["c6_paper_csc_lo"], facts["c6_paper_csc_hi"]) == (0.53, 0.62)
    assert (facts["c6_paper_inclusive_lo"], facts["c6_paper_inclusive_hi"]) == (0.89, 0.96)
    assert facts["c6_paper_photons_on_hcal_exclusive"] == pytest.approx(84.0)
