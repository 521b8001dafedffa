"""Online monitoring: the stream scorer equals the model, the ONNX graph equals the stream scorer on every era
geometry, the stream's rules (restarts, skips, dead channels, bad input), and a calibrated threshold with a trained
model."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from hcaltl.anomalies import inject, region_of
from hcaltl.geometry import ERAS, get_geometry
from hcaltl.models import GraphSTAD
from hcaltl.online import (
    INPUTS,
    OnnxScorer,
    StreamScorer,
    calibrate_threshold,
    encode_ls,
    export_onnx,
    flag_rates,
    newest_reconstruction,
    pooling_margin,
)
from hcaltl.preprocess import ChannelScaler, renormalise, window_starts
from hcaltl.simulate import simulate
from hcaltl.validate import FileFormatError

ERA_GEOMETRIES = sorted({name for era in ERAS.values() for name in era.values()})


def with_random_batchnorm(model: GraphSTAD, seed: int = 0) -> GraphSTAD:
    """Non-trivial BatchNorm statistics (some negative scales), so that folding them is really exercised."""
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm3d):
            n = module.num_features
            module.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
            module.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=gen))
            module.weight.data.copy_(3 * torch.rand(n, generator=gen) - 1.5)
            module.bias.data.copy_(torch.rand(n, generator=gen) - 0.5)
    return model.eval()


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"temporal": False},
        {"use_gnn": False, "variational": False, "rin": False},
        {"dc": False, "latent": 2},
        {"dc": False, "latent": 2, "ceil_pool": False, "gnn_layers": 3},
    ],
)
def test_per_ls_features_reconstruct_the_newest_ls_exactly_as_the_model(options):
    torch.manual_seed(0)
    model = with_random_batchnorm(GraphSTAD("HE", **options))
    window = torch.rand(1, 5, 64, 72, 7) * model.mask
    with torch.no_grad():
        expected = model(window)[0, -1]
    encoded = encode_ls(model, window[0])  # each LS encoded on its own, as online
    got = newest_reconstruction(model, encoded.features, encoded)
    assert torch.allclose(got, expected, atol=1e-5), float((got - expected).abs().max())


@pytest.mark.parametrize("ceil", [True, False])
def test_pooling_margin_sees_the_cells_max_pooling_sees(ceil):
    """The two largest values per pooling cell: the largest is max pooling's output (partial edge cells kept in ceil
    mode, dropped in floor mode); the margin is finite and non-negative on a floor-pooled model too."""
    from hcaltl.online.features import _top2

    c = torch.randn(2, 3, 7, 11, 5)
    top = _top2(c, (2, 2, 2), ceil)
    assert torch.equal(top[..., 0], torch.nn.functional.max_pool3d(c, 2, 2, ceil_mode=ceil))
    assert (top[..., 0] >= top[..., 1]).all()
    model = with_random_batchnorm(GraphSTAD("HB", latent=2, dc=False, ceil_pool=ceil))
    margins = pooling_margin(model, torch.rand(3, 64, 72, 7))
    assert margins.shape == (3,) and (margins >= 0).all()


def test_stream_scores_are_the_offline_errors_of_each_window_s_last_ls(trained_hb, hb_prepared, hb_run):
    model, _ = trained_hb
    test = hb_run.select(hb_prepared.split.test[:60])
    replay = StreamScorer(model, hb_prepared.scaler).replay(test, progress=False)  # noise 1: raw errors
    starts = window_starts(test.run, test.ls, length=5, stride=1)
    assert np.array_equal(np.flatnonzero(replay.scored), starts + 4)  # scored exactly where a full window ends
    maps = hb_prepared.scaler.transform(renormalise(test).occupancy)
    windows = np.stack([maps[s : s + 5] for s in starts])
    with torch.no_grad():
        recon = model.eval()(torch.as_tensor(windows))[:, -1].numpy()
    offline = np.abs(recon - windows[:, -1]).reshape(len(starts), -1)[:, model.node_flat.numpy()]
    assert np.abs(replay.scores - offline).max() < 1e-5


@pytest.mark.parametrize("dc", [True, False], ids=["stacked halves", "whole map"])
@pytest.mark.parametrize("name", ERA_GEOMETRIES)
def test_window_stream_and_export_forms_are_one_forward_pass(name, dc):
    """The model's window forward, the stream scorer's per-LS step and the exported step (run in PyTorch, before
    ONNX Runtime's rounding, which the next test bounds) give the same reconstruction of a window's newest LS, on
    every era geometry, with the detector halves stacked (DC) or the whole map (the export takes DC only)."""
    from hcaltl.online.graph_step import OnlineStep
    from hcaltl.online.onnx_export import scaling_maps

    geometry = get_geometry(name)
    torch.manual_seed(2)
    model = with_random_batchnorm(GraphSTAD(geometry, latent=2, dc=dc), seed=2)
    data = simulate(geometry, 5, seed=3)
    scaler = ChannelScaler(geometry).fit(renormalise(data).occupancy)
    scorer = StreamScorer(model, scaler, noise=np.ones(geometry.n_channels, np.float32))
    maps = torch.stack([scorer.scaled(data.occupancy[i], data.n_events[i]) for i in range(5)])  # [T, 64, 72, 7]
    with torch.no_grad():
        window = model(maps[None])[0, -1]
    encoded = encode_ls(model, maps)
    stream = newest_reconstruction(model, encoded.features, encoded)
    assert torch.allclose(stream, window, atol=1e-5), float((stream - window).abs().max())
    if not dc:
        return
    step = OnlineStep(model, *scaling_maps(scaler), np.ones(geometry.n_channels, np.float32)).eval()
    depth = geometry.max_depth
    counts = torch.as_tensor(data.occupancy[-1][..., :depth], dtype=torch.float32)[None, ..., None]
    with torch.no_grad():
        score, _, _, features = step(
            counts, torch.tensor([[float(data.n_events[-1])]]), torch.tensor([[20.0]]), encoded.features[:-1]
        )
    assert torch.allclose(features[0], encoded.features[-1], atol=1e-5)
    expected = (window - maps[-1]).abs()[..., :depth] * model.mask[..., :depth]
    assert torch.allclose(score[0, ..., 0], expected, atol=1e-5), float((score[0, ..., 0] - expected).abs().max())


@pytest.mark.parametrize("name", ERA_GEOMETRIES)
def test_onnx_graph_matches_pytorch_on_healthy_and_anomalous_ls(name, tmp_path):
    geometry = get_geometry(name)
    torch.manual_seed(1)
    model = with_random_batchnorm(GraphSTAD(geometry), seed=1)
    data = simulate(geometry, 14, seed=2)
    scaler = ChannelScaler(geometry).fit(renormalise(data).occupancy)
    noise = np.random.default_rng(0).uniform(0.01, 0.1, geometry.n_channels).astype(np.float32)
    path = export_onnx(model, tmp_path / f"{name}.onnx", scaler, noise)

    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert {node.domain for node in proto.graph.node} <= {"", "ai.onnx"}  # standard operators only, no custom op
    assert [i.name for i in proto.graph.input] == list(INPUTS)
    shape = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert shape == [1, 64, 72, geometry.max_depth, 1]

    hot = inject(data, "fully_hot", seed=4, fraction=0.5)
    broken = inject(hot.data, "dead", seed=5, fraction=0.5).data
    torch_scorer, onnx_scorer = StreamScorer(model, scaler, noise=noise), OnnxScorer(path)
    for case in (data, broken):
        expected, got = torch_scorer.replay(case, progress=False), onnx_scorer.replay(case, progress=False)
        assert len(got.scores) >= 8
        assert np.array_equal(got.table["status"], expected.table["status"])
        diff = np.abs(got.scores - expected.scores)
        # Where no max-pooling cell of the encoder is within a few float32 roundings (1e-6) of a tie, the engines
        # agree: the reconstruction errors (σ × noise) to 4 decimals, the σ scores to 4 decimals of the LS's
        # largest (float32 spaces numbers near 2000 σ, a fully hot cell, by 2.4e-4).
        maps = torch.stack([torch_scorer.scaled(case.occupancy[i], case.n_events[i]) for i in range(case.n_ls)])
        clear = pooling_margin(model, maps)[got.scored] >= 1e-6
        assert clear.mean() >= 0.25, "too few LS without a near-tie: the check would say little"
        assert (diff[clear] * noise).max() <= 1e-4
        largest = np.maximum(1.0, np.abs(expected.scores).max(axis=1, keepdims=True))
        assert (diff <= 1e-4 * largest)[clear].all()

    # the graph's own decision and count agree with its scores
    out = onnx_scorer.run(
        data.occupancy[0], float(data.n_events[0]), np.zeros((4, 2, onnx_scorer.feature_size), np.float32)
    )
    assert np.array_equal(out["anomaly_flag"] > 0, out["anomaly_score"] > onnx_scorer.threshold)
    assert int(out["n_flagged"][0, 0]) == int((out["anomaly_score"] > onnx_scorer.threshold).sum())


@pytest.fixture(scope="module")
def hb_stream(hb):
    torch.manual_seed(2)
    model = with_random_batchnorm(GraphSTAD(hb, latent=4), seed=2)
    data = simulate(hb, 30, seed=9)
    scaler = ChannelScaler(hb).fit(renormalise(data).occupancy)
    return model, scaler, data


def test_stream_restarts_at_runs_and_gaps_and_skips_ls_without_events(hb_stream):
    model, scaler, data = hb_stream
    scorer = StreamScorer(model, scaler)
    counts, events = data.occupancy[0], int(data.n_events[0])
    statuses = [scorer.update(counts, events, run=1, ls=ls).status for ls in range(1, 7)]
    assert statuses == ["warming up"] * 4 + ["scored"] * 2
    gap = scorer.update(counts, events, run=1, ls=9)
    assert gap.restarted and gap.status == "warming up" and gap.scores is None
    new_run = [scorer.update(counts, events, run=2, ls=ls) for ls in range(1, 6)]
    assert new_run[0].restarted and [r.status for r in new_run] == ["warming up"] * 4 + ["scored"]
    skipped = scorer.update(counts, 0, run=2, ls=6)
    assert skipped.status.startswith("skipped: zero events") and skipped.flags is None
    assert scorer.update(counts, events, run=2, ls=7).status == "warming up"  # the window restarts after the hole
    with pytest.raises(ValueError, match="must increase"):
        scorer.update(counts, events, run=2, ls=7)


def test_dead_from_the_start_is_not_flagged_but_dying_during_the_run_is(hb_stream, hb):
    model, scaler, data = hb_stream
    noise = np.full(hb.n_channels, 1e-9, np.float32)  # every non-zero error is far above the threshold
    never, dies, masked = 10, 11, 12
    scorer = StreamScorer(model, scaler, threshold=1.0, noise=noise, masked=[masked])
    nodes = hb.map_to_nodes(data.occupancy[:12]).copy()
    nodes[:, never] = 0  # dead from the start of the run
    nodes[6:, dies] = 0  # fires in the first six LS, then dies
    maps = hb.nodes_to_map(nodes)
    results = [scorer.update(maps[i], data.n_events[i], run=5, ls=i + 1) for i in range(12)]
    flags = np.stack([r.flags for r in results if r.flags is not None])
    assert not flags[:, never].any() and not flags[:, masked].any()
    assert flags[-1, dies]
    assert results[-1].scores[never] > 1.0  # scored all the same: the model expects it to fire


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m[:, :, :5], "64, 72, 7"),
        (lambda m: np.where(m > 0, np.nan, m), "NaN"),
        (lambda m: -m, "non-negative"),
        (lambda m: m + 1.0, "outside"),
    ],
)
def test_stream_refuses_bad_maps(hb_stream, change, message):
    model, scaler, data = hb_stream
    with pytest.raises(ValueError, match=message):
        StreamScorer(model, scaler).update(change(data.occupancy[0]), data.n_events[0], run=1, ls=1)


def test_stream_refuses_bad_events_and_mismatched_parts(hb_stream, he, tmp_path):
    model, scaler, data = hb_stream
    scorer = StreamScorer(model, scaler)
    for events in (-5, float("nan"), 10.5):
        with pytest.raises(ValueError, match="n_events"):
            scorer.update(data.occupancy[0], events, run=1, ls=1)
    with pytest.raises(ValueError, match="exceed n_events"):
        scorer.update(data.occupancy[0], 1, run=1, ls=1)
    with pytest.raises(ValueError, match="scaler is HB .* but model is HE"):
        StreamScorer(GraphSTAD(he, latent=4), scaler)
    with pytest.raises(ValueError, match="raw counts"):
        scorer.replay(renormalise(data), progress=False)
    not_onnx = tmp_path / "model.onnx"
    not_onnx.write_text("not a model")
    with pytest.raises(FileFormatError, match="not an ONNX model"):
        OnnxScorer(not_onnx)
    foreign = tmp_path / "foreign.onnx"
    onnx.save(onnx.helper.make_model(onnx.helper.make_graph([], "empty", [], [])), str(foreign))
    with pytest.raises(FileFormatError, match="not one written by hcaltl"):
        OnnxScorer(foreign)
    with pytest.raises(ValueError, match=".onnx"):
        export_onnx(model, tmp_path / "model.pt", scaler)
    with pytest.raises(ValueError, match="production layout, two detector halves stacked"):
        export_onnx(GraphSTAD("HB", latent=2, dc=False), tmp_path / "plain.onnx", scaler)
    with pytest.raises(ValueError, match="pooled in ceil mode"):
        export_onnx(GraphSTAD("HB", latent=2, ceil_pool=False), tmp_path / "floor.onnx", scaler)


def test_calibrated_threshold_keeps_its_false_flag_rate_and_catches_dying_channels(trained_hb, hb_prepared, hb_run):
    model, _ = trained_hb
    split = hb_prepared.split
    scorer = StreamScorer(model, hb_prepared.scaler).fit_noise(hb_run.select(split.train[:300]), progress=False)
    threshold = calibrate_threshold(scorer, hb_run.select(split.val), flags_per_ls=0.01, progress=False)
    assert threshold > 1
    calibration = scorer.replay(hb_run.select(split.val), progress=False)
    assert calibration.flags.sum() <= 0.01 * len(calibration.flags)

    test = hb_run.select(split.test[:150])
    healthy = flag_rates(scorer, inject(test, "dead", samples=[], regions=None), progress=False)
    assert healthy["false_flags_per_ls"] < 0.1  # held-out healthy LS: near the calibrated 0.01
    box = region_of(model.geometry, inject(test, "dead", seed=3, samples=[0]).regions[0].nodes)
    later = np.arange(test.n_ls // 2, test.n_ls)  # the box dies half-way and stays dead
    caught = flag_rates(scorer, inject(test, "dead", samples=later, regions=box), progress=False)
    assert caught["ls_detected"] > 0.9 and caught["true_flag_rate"] > 0.5
    assert caught["false_flags_per_ls"] * caught["scored_ls"] < caught["flagged_anomalous"]  # mostly the right ones


def test_saved_scorer_round_trips_and_the_command_line_exports_and_scores(hb_stream, tmp_path, capsys):
    from hcaltl.checkpoints import save_checkpoint
    from hcaltl.cli import main
    from hcaltl.online import load_scorer, save_scorer

    model, scaler, data = hb_stream
    scorer = StreamScorer(model, scaler, threshold=3.0, masked=[5, 6]).fit_noise(data, progress=False)
    saved = save_scorer(scorer, tmp_path / "scorer.pt")
    again = load_scorer(saved)
    assert again.threshold == 3.0 and np.array_equal(again.noise, scorer.noise)
    assert np.array_equal(again.masked, [5, 6]) and np.array_equal(again.eligible, scorer.eligible)
    assert np.array_equal(again.replay(data, progress=False).scores, scorer.replay(data, progress=False).scores)

    raw = data.save(tmp_path / "run.npz")
    assert main(["export-onnx", str(saved), "--out", str(tmp_path / "m.onnx")]) == 0
    for model_file, out in ((tmp_path / "m.onnx", "onnx.npz"), (saved, "pt.npz")):
        assert main(["score", str(raw), "--model", str(model_file), "--out", str(tmp_path / out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "n_flagged" in printed and "warming up" in printed
    onnx_out, torch_out = np.load(tmp_path / "onnx.npz"), np.load(tmp_path / "pt.npz")
    assert onnx_out["scores"].shape == (data.n_ls - 4, model.geometry.n_channels)
    assert np.array_equal(onnx_out["ls"], torch_out["ls"])
    assert not onnx_out["flags"][:, [5, 6]].any()

    save_checkpoint(model, tmp_path / "bare.pt")
    assert main(["export-onnx", str(tmp_path / "bare.pt"), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "no online calibration" in capsys.readouterr().err
