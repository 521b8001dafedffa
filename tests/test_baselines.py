"""The simple detectors (:mod:`hcaltl.detectors`): fitted on healthy windows,
per-channel σ scores of the shape of ``detectors.channel_scores``, that rank injected faults above healthy channels."""

import numpy as np
import pandas as pd
import pytest

from hcaltl import detectors as dt
from hcaltl.detectors import MAX_SIGMA
from hcaltl.experiments import detection_study as ds

CASES = (
    ("dead", "dead", None),
    ("degraded ×0.4", "degraded", 0.4),
    ("RM dead", "rm_dead", None),
    ("RBX ×0.6", "rbx_degraded", 0.6),
)


@pytest.fixture(scope="module")
def test_set(hb_prepared):
    return ds.make_test_set(hb_prepared.windows["test"], hb_prepared.scaler, 30, seed=4, cases=CASES)


@pytest.fixture(scope="module")
def detectors(hb_prepared):
    train, hb = hb_prepared.windows["train"], hb_prepared.scaler.geometry
    # the per-channel mean on the last LS: the z-score of issue 18 (averaged over the window, its centred σ can
    # rank a degraded channel below healthy ones — a property of that score, shown in chapter 5, not tested here)
    return {
        "per-channel mean": dt.ChannelMeanDetector(hb, reduce="last").fit(train),
        "PCA": dt.PCADetector(hb, n_components=8).fit(train),
        "reference test": dt.ReferenceTest(hb_prepared.scaler).fit(train),
        "reference test, last LS": dt.ReferenceTest(hb_prepared.scaler, reduce="last").fit(train),
    }


@pytest.mark.parametrize("name", ["per-channel mean", "PCA", "reference test", "reference test, last LS"])
def test_each_baseline_ranks_injected_faults_above_healthy_channels(detectors, test_set, name):
    detector = detectors[name]
    healthy = detector.channel_scores(test_set.healthy)
    assert healthy.shape == (len(test_set.healthy), detector.geometry.n_channels)
    assert np.isfinite(healthy).all() and (healthy >= 0).all()
    for case, windows in test_set.anomalous.items():
        labels = test_set.labels[case]
        scores = detector.channel_scores(windows)
        y = np.concatenate([labels, np.zeros_like(labels)]).ravel()
        auc = dt.roc_auc(y, np.concatenate([scores, healthy]).ravel())
        assert auc > 0.75, (name, case, auc)  # far above chance (0.5)
        assert np.median(scores[labels]) > np.median(healthy), (name, case)


def test_scores_of_the_last_ls_see_a_last_ls_fault_more_sharply(detectors, test_set):
    labels = test_set.labels["degraded ×0.4"]
    mean = detectors["reference test"].channel_scores(test_set.anomalous["degraded ×0.4"])[labels]
    last = detectors["reference test, last LS"].channel_scores(test_set.anomalous["degraded ×0.4"])[labels]
    assert np.median(last) > np.median(mean)  # the window mean dilutes one LS's fault over T LS
    assert last.max() <= MAX_SIGMA


def test_healthy_training_windows_rarely_pass_ten_sigma(detectors, hb_prepared):
    for name, detector in detectors.items():
        flagged = (detector.channel_scores(hb_prepared.windows["val"]) > 10).mean()
        assert flagged < 0.01, (name, flagged)


def test_model_detector_is_graphstad_with_the_chapter_s_sigma(trained_hb, hb_windows, test_set):
    model = trained_hb[0]
    detector = dt.ModelDetector(model).fit(hb_windows["train"])
    expected = dt.channel_scores(model, test_set.healthy[:6], ds.fit_error_scaler(model, hb_windows["train"]))
    np.testing.assert_array_equal(detector.channel_scores(test_set.healthy[:6]), expected)
    last = dt.ModelDetector(model, reduce="last").fit(hb_windows["train"][:40])
    assert last.channel_scores(test_set.healthy[:3]).shape == expected[:3].shape


def test_baselines_refuse_bad_input(hb_prepared, hb, he):
    train = hb_prepared.windows["train"]
    with pytest.raises(ValueError, match="fitted on at least one healthy window"):
        dt.ChannelMeanDetector(hb).fit(train[:0])
    with pytest.raises(RuntimeError, match="PCADetector is not fitted"):
        dt.PCADetector(hb).channel_scores(train[:2])
    with pytest.raises(ValueError, match="reduce must be one of mean, last, got 'max'"):
        dt.ChannelMeanDetector(hb, reduce="max")
    with pytest.raises(ValueError, match="n_components=50 needs at least as many healthy LS"):
        dt.PCADetector(hb, n_components=50).fit(train[:2])
    with pytest.raises(TypeError, match="scaler must be the ChannelScaler"):
        dt.ReferenceTest(hb)
    with pytest.raises(ValueError, match="needs occupancy as a fraction of events"):
        dt.ReferenceTest(hb_prepared.scaler).fit(train[:4] * 50)  # far above the scaler's range: not fractions
    with pytest.raises(ValueError, match="outside the HE geometry"):
        dt.ChannelMeanDetector(he).fit(train[:2])
    with pytest.raises(TypeError, match="model must be a GraphSTAD"):
        dt.ModelDetector("model.pt")


def test_comparison_scores_every_detector_on_every_case(trained_hb, hb_prepared):
    from hcaltl.experiments import baseline_study as bs

    train = hb_prepared.windows["train"][:80]
    model = trained_hb[0]
    suite = bs.detectors(train, hb_prepared.scaler, {"GraphSTAD": (model, ds.fit_error_scaler(model, train))})
    assert len(suite) == 2 * (1 + len(bs.BASELINES)) and all(d.fitted for d in suite.values())
    tests = {
        "readout": ds.make_test_set(hb_prepared.windows["test"], hb_prepared.scaler, 6, seed=2, cases=bs.READOUT_CASES)
    }
    rows = bs.comparison(suite, tests)
    assert len(rows) == len(suite) * len(bs.READOUT_CASES) and rows["AUC"].between(0, 1).all()
    table = bs.auc_table(rows, "last")
    fpr = bs.auc_table(rows, "mean", metric="FPR@95")
    assert fpr.shape == table.shape and fpr.stack().between(0, 1).all()
    with pytest.raises(ValueError, match="metric 'FPR@96' is not a column"):
        bs.auc_table(rows, "mean", metric="FPR@96")
    assert list(table.index) == [c[0] for c in bs.READOUT_CASES] and list(table.columns) == ["GraphSTAD", *bs.BASELINES]
    facts = bs.facts(rows, "GraphSTAD", ablation="per-channel mean")
    assert 0 <= facts["c5_base_mean_wins"] <= facts["c5_base_mean_cases"] == len(bs.READOUT_CASES)
    assert facts["c5_base_last_best"] in bs.BASELINES and set(facts) >= {"c5_gnn_gain_readout"}
    two_seeds = pd.concat([rows.assign(seed=1), rows.assign(seed=2, AUC=rows["AUC"] * 0.9)])
    spread = bs.seed_table(two_seeds, "last")
    assert spread.shape == table.shape and spread.iloc[0, 0].count("±") == 1
    with pytest.raises(ValueError, match="no rows with reduce='max'"):
        bs.seed_table(rows, "max")
    assert "No comparison cell" in bs.seeds_sentence(None)
    sentence = bs.seeds_sentence(
        two_seeds.assign(kind="comparison", preset="fast", n_anomalies=6), "GraphSTAD", ablation="per-channel mean"
    )
    assert sentence.startswith("Over 2 seed(s) of the fast preset (6 anomalous windows per fault)")


def test_graph_gains_measure_each_gnn_from_the_model_without_one():
    from hcaltl.experiments import baseline_study as bs

    auc = {
        bs.ABLATION: {"boxes": 0.90, "readout": 0.80},
        "GraphSTAD (RANDOM/No-TL)": {"boxes": 0.90, "readout": 0.85},
        "GraphSTAD, graph: spatial": {"boxes": 0.91, "readout": 0.79},
    }
    rows = pd.DataFrame(
        [
            {
                "detector": d,
                "reduce": r,
                "test set": t,
                "case": f"{t} {c}",
                "seed": s,
                "AUC": a[t] + 0.001 * s * (d != bs.ABLATION),
            }
            for d, a in auc.items()
            for r in ("mean", "last")
            for t in a
            for c in range(2)
            for s in (1, 2)
        ]
    )
    gains = bs.graph_gains(rows).set_index(["detector", "test set", "seed"])["gain"]
    assert len(gains) == 2 * 2 * 2  # two GNN models x two sets x two seeds; the ablation is the reference
    assert gains["GraphSTAD (RANDOM/No-TL)", "readout", 2] == pytest.approx(0.052)
    assert gains["GraphSTAD, graph: spatial", "boxes", 1] == pytest.approx(0.011)
    table = bs.gain_table(bs.graph_gains(rows))
    assert table.at["GraphSTAD (RANDOM/No-TL)", "readout"] == "+0.051 ± 0.001"
    assert list(table.columns) == ["boxes", "readout", "seeds"] and table["seeds"].tolist() == [2, 2]
    unfinished = bs.gain_table(
        bs.graph_gains(rows[(rows["seed"] == 1) | rows["detector"].str.contains("RANDOM|no GNN")])
    )
    assert unfinished["seeds"].to_dict() == {"GraphSTAD (RANDOM/No-TL)": 2, "GraphSTAD, graph: spatial": 1}
    sentence = bs.graph_sentence(bs.graph_gains(rows))  # the graphs only: the RANDOM/No-TL model is not a graph
    assert "on the readout faults the best graph is spatial (-0.009 ± 0.001" in sentence and "RANDOM" not in sentence
    assert sentence.endswith("that stands out of twice the seeds' spread: spatial on the boxes")
    no_graph = rows[rows["detector"] != "GraphSTAD, graph: spatial"]
    one_seed = bs.graph_sentence(bs.graph_gains(no_graph[no_graph["seed"] == 1]))  # no graph model: every GNN counts
    assert "(+0.051 in mean AUC)" in one_seed and one_seed.endswith("but one seed has no spread to judge them by")
    everyone = pd.concat(
        [rows]
        + [
            rows[rows["detector"] == "GraphSTAD, graph: spatial"].assign(
                detector=name, AUC=lambda r, k=k: r["AUC"] + 0.002 * k
            )
            for k, name in enumerate(bs.GRAPH_MODELS)
        ]
    )
    facts = bs.graph_facts(
        bs.graph_gains(everyone.drop_duplicates(["detector", "reduce", "case", "seed"])), "GraphSTAD (RANDOM/No-TL)"
    )
    assert facts["paired_spread"] == pytest.approx(0.002 * (len(bs.GRAPH_MODELS) - 1))
    assert facts["control_gap"] > 0
    with pytest.raises(ValueError, match="gains lack the detectors"):
        bs.graph_facts(bs.graph_gains(rows), "GraphSTAD (RANDOM/No-TL)")
    assert bs.graph_name("spatial") == "GraphSTAD, graph: spatial" in bs.GRAPH_MODELS
    with pytest.raises(ValueError, match="unknown graph 'rbx'; graphs are"):
        bs.graph_name("rbx")
    assert "no graph gains" in bs.graph_sentence(bs.graph_gains(rows.assign(AUC=0.9)))
    with pytest.raises(ValueError, match="reference 'per-channel mean' has no rows"):
        bs.graph_gains(rows, reference="per-channel mean")
    with pytest.raises(ValueError, match="no GraphSTAD detector"):
        bs.graph_gains(rows[~rows["detector"].str.startswith("GraphSTAD")])


def test_the_graph_models_are_chapter_2s_other_graphs():
    from dataclasses import fields

    from hcaltl.experiments import baseline_study as bs
    from hcaltl.graph import VARIANTS
    from hcaltl.models.graphstad import GraphSTADConfig

    defaults = {f.name: f.default for f in fields(GraphSTADConfig)}
    assert VARIANTS[bs.DEFAULT_GRAPH] == {"readout": defaults["readout"], "spatial": defaults["spatial"]}
    assert list(bs.GRAPH_MODELS) == [bs.graph_name(g) for g in VARIANTS] and all(
        kw["use_gnn"] for kw in bs.GRAPH_MODELS.values()
    )
    from hcaltl import plotting

    named = [*bs.BASELINES, *bs.ABLATIONS.values(), *(bs.graph_name(g) for g in VARIANTS)]
    assert set(named) <= set(plotting.DETECTOR_STYLES)  # a fixed colour and marker for every detector of chapter 5
    import torch

    from hcaltl.models import GraphSTAD
    from hcaltl.utils import seed_everything

    source, first = GraphSTAD("HE", latent=2), None
    for overrides in bs.GRAPH_MODELS.values():  # same seed: the same initial weights whatever the graph
        seed_everything(1)
        state = GraphSTAD.like(source, "HB", **overrides).state_dict()
        first = first or state
        assert all(torch.equal(first[k], state[k]) for k in first)
    with pytest.raises(ValueError, match="names must be graph models among"):
        bs.train_graphs(None, {}, ["GraphSTAD, graph: rbx"])


def test_seed_graph_facts_read_the_committed_fast_cells():
    from pathlib import Path

    from hcaltl.experiments import baseline_study as bs
    from hcaltl.experiments import paper_scale

    facts, table = bs.seed_graph_facts(None, "GraphSTAD (RANDOM/No-TL)")
    assert table is None and "no graphs cell" in facts["c5_graph_seeds"] and np.isnan(facts["c5_graph_paired"])
    rows = paper_scale.load(Path(__file__).resolve().parents[1] / "results" / "fast")
    facts, table = bs.seed_graph_facts(rows, "GraphSTAD (RANDOM/No-TL)")
    assert facts["c5_graph_seeds"].startswith("over 3 seed(s), on the boxes the best graph is")
    fewer = rows[~((rows["kind"] == "graphs") & (rows["seed"] == 3))]  # a sweep whose last graphs cell runs
    assert bs.seed_graph_facts(fewer, "GraphSTAD (RANDOM/No-TL)")[0]["c5_graph_seeds"].startswith(
        "over 2 seed(s) (the comparison cells have 3), on the boxes"
    )
    assert min(facts["c5_graph_paired"], facts["c5_graph_maxgain"]) >= 0 and facts["c5_graph_control"] > 0
    assert set(bs.GRAPH_MODELS) <= set(table.index) and list(table.columns) == ["boxes", "readout", "seeds"]
    assert table["seeds"].eq(3).all()
    with pytest.raises(ValueError, match="baseline_rows lack the detectors"):
        bs.graph_study(None, {}, None, {}, pd.DataFrame({"detector": ["PCA (16 components)"]}), "GraphSTAD (X)")


def test_train_ablation_accepts_only_the_ablations():
    from hcaltl.experiments import baseline_study as bs

    for name in ("GraphSTAD", "GraphSTAD (no DC)", "PCA"):
        with pytest.raises(
            ValueError, match=r"one of CNN \+ LSTM, CNN only; got '" + name.replace("(", r"\(").replace(")", r"\)")
        ):
            bs.train_ablation(None, {}, name)  # refused before any training


def test_quoted_aucs_are_the_chapter_s_table_entries_and_name_what_is_missing():
    from hcaltl.experiments import baseline_study as bs

    detectors = [
        "GraphSTAD",
        "per-channel mean",
        "reference test (beta)",
        "PCA (16 components)",
        bs.ABLATIONS["CNN only"],
    ]
    cases = ["degraded ×0.8", "RM noisy (p 0.1)", "dead"]
    rows = pd.DataFrame(
        [
            {
                "detector": d,
                "reduce": r,
                "test set": "boxes",
                "case": c,
                "seed": s,
                "AUC": 0.5 + 0.1 * i + 0.01 * j + 0.001 * (r == "last") + 0.0001 * s,
            }
            for i, d in enumerate(detectors)
            for j, c in enumerate(cases)
            for r in ("mean", "last")
            for s in (1, 2)
        ]
    )
    quoted = bs.quoted_aucs(rows, "GraphSTAD")
    assert quoted["c5_chmean_mild"] == pytest.approx(0.6 + 0.00015)  # averaged over the two seeds
    assert quoted["c5_chmean_mild_last"] == pytest.approx(0.6 + 0.00115)
    assert quoted["c5_noisy_ref"] == pytest.approx(0.71015) and quoted["c5_noisy_pca"] == pytest.approx(0.81015)
    assert quoted["c5_noisy_graphstad_last"] == pytest.approx(0.51115)
    assert quoted["c5_graphstad_mean"] == pytest.approx(0.51015) and quoted["c5_cnn_only_mean"] == pytest.approx(
        0.91015
    )
    with pytest.raises(ValueError, match=r"no AUC of 'PCA \(16 components\)' on 'RM noisy \(p 0.1\)'.*detectors: \["):
        bs.quoted_aucs(rows[rows["detector"] != "PCA (16 components)"], "GraphSTAD")
    with pytest.raises(ValueError, match=r"no detector 'CNN only \(no GNN, no LSTM\)'; detectors: \['GraphSTAD'"):
        bs.quoted_aucs(rows[rows["detector"] != bs.ABLATIONS["CNN only"]], "GraphSTAD")
