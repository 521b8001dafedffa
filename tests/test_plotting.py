import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hcaltl import plotting  # noqa: E402
from hcaltl.diagnostics import group_deviation, ls_summary  # noqa: E402
from hcaltl.preprocess import renormalise  # noqa: E402


@pytest.mark.parametrize(
    "draw",
    [
        lambda ax, d: plotting.plot_map(d.occupancy[0], d.geometry, 1, ax=ax),
        lambda ax, d: plotting.plot_rbx_wedges(d.geometry, ax=ax),
        lambda ax, d: plotting.plot_rbx_wedges(d.geometry, depth=2, ax=ax),
        lambda ax, d: plotting.plot_depth_profile(d.geometry, ax=ax),
        lambda ax, d: plotting.plot_lumi_timeline(d, ax=ax),
        lambda ax, d: plotting.plot_occupancy_vs_lumi(d, ax=ax),
        lambda ax, d: plotting.plot_channel_distribution(d, ax=ax),
    ],
)
def test_every_plot_takes_and_returns_ax(draw, hb_data):
    fig, ax = plt.subplots()
    assert draw(ax, hb_data) is ax
    assert ax.has_data()
    plt.close(fig)


def test_the_package_keeps_the_house_rules_of_its_figures():
    """Every ``plot_*`` takes a keyword ``ax`` defaulting to None and says it returns Axes; every ``*_figure``
    says it returns a Figure; and every public name is re-exported once, from the module of its subject."""
    import inspect

    public = {n: getattr(plotting, n) for n in plotting.__all__}
    assert len(plotting.__all__) == len(set(plotting.__all__))
    plots = {n: f for n, f in public.items() if n.startswith("plot_")}
    figures = {n: f for n, f in public.items() if n.endswith("_figure")}
    assert len(plots) > 25 and len(figures) > 10
    for name, f in plots.items():
        ax = inspect.signature(f).parameters.get("ax")
        assert ax is not None and ax.kind is ax.KEYWORD_ONLY and ax.default is None, name
        assert inspect.signature(f).return_annotation == "Axes", name
    for name, f in figures.items():
        assert inspect.signature(f).return_annotation == "Figure", name
    homes = {f.__module__ for f in (*plots.values(), *figures.values())}
    assert homes <= {
        f"hcaltl.plotting.{m}" for m in ("maps", "occupancy", "graphs", "transfer", "detection", "heads")
    }, homes


def test_plot_makes_axes_when_none_given(hb_data):
    ax = plotting.plot_depth_profile(hb_data.geometry)
    assert ax is not None
    plt.close("all")


def test_plot_map_shows_only_active_cells(he_data):
    values = renormalise(he_data).occupancy[0]
    ax = plotting.plot_map(values, he_data.geometry, 1, colorbar=False)
    shown = ax.collections[0].get_array()
    # 14 ieta rows per side at depth 1 minus the rows without depth 1 (ieta 16, 17): 24 rows × 72 cells
    assert shown.count() == 24 * 72
    with pytest.raises(ValueError, match="depth"):
        plotting.plot_map(values, he_data.geometry, 8)
    with pytest.raises(ValueError, match="shape"):
        plotting.plot_map(values[:10], he_data.geometry, 1)
    plt.close("all")


def test_fixed_colours_cover_names():
    assert set(plotting.SUBDETECTOR_COLORS) == {"HB", "HE"}
    assert {"RANDOM", "TL-1", "TL-2", "TL-2d", "TL-3", "TL-4", "TL-5", "TL-6", "TL-7"} <= set(plotting.CONFIG_COLORS)
    assert len(set(plotting.CONFIG_COLORS.values())) == len(plotting.CONFIG_COLORS)


def test_group_deviation_sees_an_injected_rm_burst(hb_data):
    data = hb_data.select(slice(0, 200))
    occ = data.occupancy.copy()
    ch = data.geometry.channels
    sel = ch[(ch["rbx_name"] == "HBP05") & (ch["rm"] == 2)]
    occ[100, sel["row"], sel["col"], sel["dep"]] *= 1.5
    from dataclasses import replace

    dev = group_deviation(replace(data, occupancy=np.minimum(occ, data.n_events[:, None, None, None])), by="rm")
    assert dev.shape == (200, 144)
    assert dev.abs().stack().idxmax() == (100, "HBP05-RM2")
    with pytest.raises(ValueError, match="by must be"):
        group_deviation(data, by="qie")
    assert list(ls_summary(data).columns) == ["run", "ls", "luminosity", "n_events", "mean_occupancy"]


def test_graph_plots_take_and_return_ax(hb, he):
    from hcaltl.graph import build_edge_index

    fig, axes = plt.subplots(1, 2)
    edges = {"spatial": build_edge_index(he, readout=None), "readout": build_edge_index(he, spatial=False)}
    assert plotting.plot_graph(he, edges, depth=1, iphi_range=(1, 8), ax=axes[0]) is axes[0]
    assert len(axes[0].collections) >= 3  # two edge sets and the nodes
    deg = {"spatial": np.bincount(edges["spatial"][0].numpy())}
    assert plotting.plot_degree_hist(deg, ax=axes[1]) is axes[1]
    plt.close(fig)


def test_transfer_and_detection_plots_take_and_return_ax(hb_data):
    import pandas as pd

    summary = pd.DataFrame(
        {
            "pair": ["RANDOM/No-TL", "TL-4/TL-2d[BN]", "RANDOM/No-TL"],
            "fraction": [0.1, 0.1, 1.0],
            "mean_mse": [0.1, 0.05, 0.01],
            "trainable_change_pct": [0.0, -10.0, 0.0],
        }
    )
    y = np.array([0, 0, 1, 1] * 10)
    s = np.arange(40.0) % 7 + y * 5
    labels = np.zeros(hb_data.geometry.n_channels, dtype=bool)
    labels[:5] = True
    draws = [
        lambda ax: plotting.plot_learning_curves({"RANDOM/No-TL": [1.0, 0.5], "TL-7/TL-6": [0.4, 0.3]}, ax=ax),
        lambda ax: plotting.plot_mse_vs_fraction(summary, ax=ax),
        lambda ax: plotting.plot_trainable_vs_mse(summary, ax=ax),
        lambda ax: plotting.plot_roc({"dead": (y, s)}, ax=ax),
        lambda ax: plotting.plot_score_distributions({"dead": (y, s)}, ax=ax),
        lambda ax: plotting.plot_region_map(hb_data.occupancy[0], labels, hb_data.geometry, 1, ax=ax),
        lambda ax: plotting.plot_flag_timeline(
            pd.DataFrame(
                {
                    "ls": [1, 2, 3, 4],
                    "status": ["warming up", "scored", "scored", "skipped: zero events"],
                    "n_flagged": [0, 2, 40, 0],
                }
            ),
            {"channel dies": 3},
            truth=np.array([0, 0, 1, 1]),
            ax=ax,
        ),
        lambda ax: plotting.plot_auc_gains(
            pd.DataFrame(
                {"CNN + LSTM (no GNN)": [0.9, 0.8], "GraphSTAD, graph: spatial": [0.95, 0.7]}, index=["dead", "RM dead"]
            ),
            "CNN + LSTM (no GNN)",
            ax=ax,
        ),
    ]
    for draw in draws:
        fig, ax = plt.subplots()
        assert draw(ax) is ax and ax.has_data()
        plt.close(fig)
    assert plotting.pair_style("TL-4/TL-2d[BN,BIAS]") == {"color": plotting.CONFIG_COLORS["TL-2d"], "ls": "-."}
    assert plotting.pair_style("TL-7/No-TL")["color"] == plotting.CONFIG_COLORS["TL-7"]
    changes = pd.DataFrame(
        {"ours %": [-30.0, -20.0], "sd over seeds": [5.0, np.nan], "paper block 1 %": [-29.8, -16.9]},
        index=["TL-4/TL-2", "TL-4/No-TL"],
    )
    ax = plotting.plot_changes_vs_paper(changes, label="no DC", marker="s", filled=False, diagonal=False)
    ax = plotting.plot_changes_vs_paper(changes, ax=ax)
    assert len(ax.containers) == 4 and ax.lines[-1].get_label() == "as in the paper"  # one point per pair, the diagonal
    labels = ax.get_legend_handles_labels()[1]
    assert labels.count("no DC") == 1 and labels.count("as in the paper") == 1 and "TL-4/TL-2" in labels
    low = min(ax.lines[-1].get_xdata())
    assert low <= -30.0 - 5.0  # the diagonal spans every point drawn, error bars included
    with pytest.raises(ValueError, match=r"lacks columns \['sd over seeds'\]"):
        plotting.plot_changes_vs_paper(changes.drop(columns="sd over seeds"))
    plt.close("all")
    with pytest.raises(ValueError, match="reference 'PCA' is not a column"):
        plotting.plot_auc_gains(pd.DataFrame({"a": [0.5]}), "PCA")
    fig, ax = plt.subplots()
    plotting.plot_learning_curves({}, ax=ax)  # an empty sweep cell draws nothing and does not warn
    assert ax.get_legend() is None
    plt.close(fig)


def test_plot_contamination_draws_one_line_per_pair_and_rejects_unknown_cases():
    rows = pd.DataFrame(
        {
            "rate": [0.0, 0.1, 0.0, 0.1],
            "pair": ["RANDOM/No-TL"] * 2 + ["TL-7/TL-6"] * 2,
            "case": ["dead"] * 4,
            "AUC": [0.99, 0.95, 0.99, 0.97],
            "FPR@95": [0.01, 0.05, 0.01, 0.02],
        }
    )
    ax = plotting.plot_contamination(rows, "dead", "FPR@95")
    assert len(ax.lines) == 2 and list(ax.lines[0].get_xdata()) == [0.0, 10.0]
    assert ax.get_ylabel() == "FPR at TPR 95 %"
    with pytest.raises(ValueError, match="no contamination rows"):
        plotting.plot_contamination(rows, "fully hot")
    plt.close("all")


def _paper_scale_detection_tables():
    """Table 7 and contamination tables of hand-built paper-scale rows (two seeds, two pairs, rates 0 and 20 %)."""
    from hcaltl.experiments import detection_study as ds
    from hcaltl.experiments import paper_scale

    rows = pd.DataFrame(
        [
            {
                "kind": kind,
                "experiment": "boxes",
                "pair": pair,
                "seed": seed,
                "rate": rate,
                "n_anomalies": 10,
                "case": case,
                "AUC": 1.0 - 0.01 * i * (1 + rate) - 0.001 * seed,
            }
            for kind, rate in (("detection", 0.0), ("contamination", 0.2))
            for pair in ("RANDOM/No-TL", "TL-7/TL-6")
            for seed in (1, 2)
            for i, (case, _, _) in enumerate(ds.CASES)
        ]
    )
    return paper_scale.table7_table(rows), paper_scale.contamination_table(rows)


def test_paper_scale_detection_plots_take_ax_and_refuse_other_tables():
    table7, contamination = _paper_scale_detection_tables()
    fig, ax = plt.subplots()
    assert plotting.plot_table7(table7, ax=ax) is ax
    assert len(ax.containers) == 2 and ax.get_legend_handles_labels()[1] == [
        "paper (Table 7)",
        "RANDOM/No-TL",
        "TL-7/TL-6",
    ]
    assert min(ax.collections[-2].get_offsets()[:, 0]) == 1e-4  # the paper's AUC of 1.000 sits on the floor
    fig, ax = plt.subplots()
    assert plotting.plot_contamination_loss(contamination, ax=ax) is ax
    assert len(ax.containers) == 2 and list(ax.lines[0].get_xdata()) == [0.0, 20.0]
    with pytest.raises(ValueError, match="table must be paper_scale.table7_table's"):
        plotting.plot_table7(contamination)
    with pytest.raises(ValueError, match=r"table must be paper_scale.contamination_table's: .*got index \['case'\]"):
        plotting.plot_contamination_loss(table7.droplevel(1, axis=1).iloc[:, :1].rename_axis("case"))
    plt.close("all")


def test_figures_of_several_panels_return_the_figure_with_every_panel_drawn(hb_data):
    from matplotlib.figure import Figure

    g = hb_data.geometry
    norm = renormalise(hb_data.select(slice(0, 40)))
    m = norm.occupancy[0]
    rng = np.random.default_rng(0)
    labels = np.zeros(g.n_channels, dtype=bool)
    labels[:10] = True
    curves = {"dead": (np.r_[np.ones(10), np.zeros(90)], rng.random(100) + np.r_[np.ones(10), np.zeros(90)])}
    summary = pd.DataFrame(
        {
            "pair": ["RANDOM/No-TL", "TL-7/TL-6"] * 2,
            "fraction": [0.1, 0.1, 1.0, 1.0],
            "mean_mse": [0.3, 0.2, 0.1, 0.09],
            "trainable_change_pct": [0.0, -80.0, 0.0, -80.0],
        }
    )
    contamination = pd.DataFrame(
        {
            "rate": [0.0, 0.2] * 2,
            "pair": ["TL-7/TL-6"] * 4,
            "case": ["dead"] * 2 + ["hot"] * 2,
            "AUC": [0.99, 0.9, 0.98, 0.95],
            "FPR@95": [0.01, 0.05, 0.02, 0.03],
        }
    )
    scores = pd.DataFrame({"a": rng.random(50), "b": rng.random(50), "global": rng.random(50)})
    causes = pd.DataFrame({"a": np.r_[np.ones(10, bool), np.zeros(40, bool)], "b": np.zeros(50, bool)})
    figures = {  # figure → panels it must draw
        "maps": (plotting.maps_figure([m, m, m], g, [1, 2, 1], vmin=0, vmax=[1, 1, 0.6], titles=["x", "y", "z"]), 3),
        "stacked": (plotting.stacked_figure(plotting.plot_lumi_timeline, [hb_data, hb_data]), 2),
        "reconstruction": (plotting.reconstruction_figure(m, 0.9 * m, g, depth=2), 3),
        "channel error": (plotting.channel_error_figure(rng.random((5, g.n_channels)), g), 3),
        "embedding": (
            plotting.embedding_figure(
                rng.random((30, 2)), {"a": (rng.random(30), "A", "viridis"), "b": (rng.random(30), "B", "tab10")}
            ),
            2,
        ),
        "renormalisation": (plotting.renormalisation_figure([hb_data], [renormalise(hb_data)]), 2),
        "transfer": (
            plotting.transfer_figure({"RANDOM/No-TL": [1.0, 0.5]}, summary, curves_fraction=0.1, compared_fraction=1.0),
            3,
        ),
        "paper transfer": (
            plotting.paper_transfer_figure(
                pd.DataFrame(
                    {"ours %": [-30.0], "sd over seeds": [5.0], "paper block 1 %": [-29.8]}, index=["TL-4/TL-2"]
                ),
                summary,
                pd.DataFrame(
                    {"ours %": [-40.0], "sd over seeds": [np.nan], "paper block 1 %": [-29.8]}, index=["TL-4/TL-2"]
                ),
            ),
            2,
        ),
        "region maps": (
            plotting.region_maps_figure([m, m], [labels, labels], g, 1, titles=["a", "b"], vmax=[1.0, 20]),
            2,
        ),
        "detection": (plotting.detection_figure(curves, name="TL-7/TL-6"), 2),
        "contamination": (plotting.contamination_figure(contamination, auc_case="dead", fpr_cases=["dead", "hot"]), 3),
        "head scores": (plotting.head_scores_figure(scores, ~causes.any(axis=1).to_numpy(), causes), 2),
        "paper detection": (plotting.paper_detection_figure(*_paper_scale_detection_tables()), 2),
        "paper detection, no contamination yet": (
            plotting.paper_detection_figure(_paper_scale_detection_tables()[0]),
            1,
        ),
    }
    for name, (fig, n) in figures.items():
        assert isinstance(fig, Figure), name
        drawn = [ax for ax in fig.axes if ax.get_visible() and ax.has_data() and ax.get_label() != "<colorbar>"]
        places = {tuple(np.round(ax.get_position().bounds, 3)) for ax in drawn}  # a twin axis shares its panel
        assert len(places) == n, (name, len(places))
    assert [ax.get_title() for ax in figures["maps"][0].axes if ax.get_label() != "<colorbar>"] == ["x", "y", "z"]
    with pytest.raises(ValueError, match="vmax has 2 values for 3 panels"):
        plotting.maps_figure([m, m, m], g, 1, vmax=[1, 2])
    with pytest.raises(ValueError, match="one entry per panel"):
        plotting.region_maps_figure([m, m], [labels], g, 1, titles=["a", "b"])
    ax = plotting.plot_certified_ls(pd.DataFrame({"certified LS": [10, 200, 5]}))
    assert len(ax.patches) == 3
    plt.close("all")


def test_score_distributions_keep_the_cases_order_and_colours():
    """The seaborn histograms: normal channels first, then each case in the order given, each on its own density."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.colors import to_rgb

    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(500), np.ones(50)].astype(int)
    curves = {
        "b": (y, np.r_[rng.exponential(1, 500), rng.uniform(20, 30, 50)]),
        "a": (y, np.r_[rng.exponential(1, 500), rng.uniform(2, 3, 50)]),
    }
    fig, ax = plt.subplots()
    try:
        assert plotting.plot_score_distributions(curves, ax=ax) is ax
        handles, labels = ax.get_legend_handles_labels()
        assert labels == ["normal channels", "b", "a"]
        palette = sns.color_palette("colorblind", 2)
        assert [to_rgb(h.get_color()) for h in handles[1:]] == [to_rgb(c) for c in palette]
        assert ax.get_xscale() == ax.get_yscale() == "log"
    finally:
        plt.close(fig)


def test_the_panels_of_the_detection_figure_give_each_case_one_colour():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(300), np.ones(30)].astype(int)
    curves = {f"case {k}": (y, np.r_[rng.exponential(1, 300), rng.uniform(k, k + 5, 30)]) for k in range(3)}
    fig = plotting.detection_figure(curves)
    try:
        dist, roc = fig.axes[:2]
        by_panel = [dict(zip(*reversed(ax.get_legend_handles_labels()))) for ax in (dist, roc)]
        for name in curves:
            assert by_panel[0][name].get_color() == by_panel[1][name].get_color(), name
    finally:
        plt.close(fig)
