"""Property-based tests of the package's promise about bad input: every call either raises one of the documented
error types (``hcaltl.validate``: TypeError, ValueError and its FileFormatError, FileNotFoundError) with a message
that names the argument (or, for files, the path), or returns a result that satisfies the function's invariants.
Every call is time-boxed: a hang fails the test.

Hypothesis generates the inputs: arrays of every dtype, shape and special value, parameters at and beyond their
bounds, corrupted and truncated files of every format, malformed certification and feature tables. The profile
is fixed (derandomised, no example database), so CI runs the same cases every time.
"""

from __future__ import annotations

import contextlib
import json
import signal
import string
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hcaltl import anomalies, certification, checkpoints, cms2010, detectors, dqm, loaders, preprocess, simulate, train
from hcaltl.data import OccupancyData
from hcaltl.experiments.presets import get_preset
from hcaltl.geometry import get_geometry
from hcaltl.models import GraphSTAD
from hcaltl.validate import FileFormatError

settings.register_profile(
    "hcaltl",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
settings.load_profile("hcaltl")

DOCUMENTED = (TypeError, ValueError, FileNotFoundError, IsADirectoryError)
SECONDS = 20  # no single call may take longer: a hang is a failure, not a wait
HB = get_geometry("HB")
DATA = simulate.simulate(HB, 12, seed=3)
NORMALISED = preprocess.renormalise(DATA)
SCALER = preprocess.ChannelScaler(HB).fit(NORMALISED.occupancy)
WINDOWS = preprocess.make_windows(SCALER.transform(NORMALISED.occupancy), DATA.run, DATA.ls, length=5)[0]
MODEL = GraphSTAD("HB", latent=2).eval()
CALLS = {"n": 0}


class Hang(Exception):
    pass


@contextlib.contextmanager
def time_box(seconds: float = SECONDS):
    def alarm(signum, frame):
        raise Hang(f"the call did not return within {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def outcome(fn, *names: str, invariant=None):
    """Call ``fn()``: a documented error must name one of ``names``; a result must satisfy ``invariant``."""
    CALLS["n"] += 1
    try:
        with time_box():
            result = fn()
    except Hang:
        raise
    except DOCUMENTED as exc:
        message = str(exc)
        assert any(n in message for n in names), f"{type(exc).__name__} does not name any of {names}: {message}"
        return exc
    if invariant is not None:
        assert invariant(result), f"result breaks the invariant: {result!r}"[:500]
    return result


# -- arrays --------------------------------------------------------------------------------------------------------

SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf, -1.0, 1e30, 0.0, 0.5])
DTYPES = st.sampled_from([np.float32, np.float64, np.int32, np.int64, np.bool_, np.complex64])


@st.composite
def window_like(draw):
    """Windows that are right, or wrong in one respect: shape, dtype, a special value, another geometry's cells."""
    base = WINDOWS[: draw(st.integers(0, 2))].copy()
    flaw = draw(st.sampled_from(["none", "shape", "dtype", "value", "geometry", "maps", "empty"]))
    if flaw == "shape":
        return np.zeros(draw(hnp.array_shapes(min_dims=0, max_dims=6, max_side=4)), dtype=np.float32)
    if flaw == "dtype":
        return base.astype(draw(DTYPES))
    if flaw == "value" and len(base):
        idx = tuple(draw(st.integers(0, s - 1)) for s in base.shape)
        base[idx] = draw(SPECIAL)
    if flaw == "geometry" and len(base):
        base[:, :, 0, 0, 6] = 0.5  # a cell HB does not have (ieta -32, depth 7)
    if flaw == "maps":
        return base[:, 0]
    if flaw == "empty":
        return base[:0]
    return base


@given(window_like())
@settings(max_examples=60)
def test_windows_consumers_refuse_or_score(windows):
    outcome(lambda: train.evaluate(MODEL, windows), "windows", invariant=lambda v: np.isfinite(v) and v >= 0)
    outcome(
        lambda: train.per_channel_mean_mse(WINDOWS, windows, HB.mask),
        "windows",
        invariant=lambda v: np.isfinite(v) and v >= 0,
    )
    outcome(
        lambda: SCALER.inverse_transform(windows),
        "maps",
        invariant=lambda v: np.isfinite(v).all() and v.shape == np.shape(windows),
    )


@given(st.data())
@settings(max_examples=40)
def test_error_scaler_and_metrics(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5))
    errors = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-1e3, 1e3) | SPECIAL))
    outcome(
        lambda: detectors.ErrorScaler().fit(errors).transform(errors),
        "errors",
        invariant=lambda v: np.isfinite(v).all() and (v >= 0).all(),
    )
    labels = data.draw(
        hnp.arrays(
            data.draw(st.sampled_from([np.int64, np.bool_, np.float64])),
            data.draw(hnp.array_shapes(max_dims=2, max_side=6)),
        )
    )
    scores = data.draw(
        hnp.arrays(
            np.float64,
            data.draw(st.sampled_from([labels.shape, (labels.size,), (3,)])),
            elements=st.floats(-5, 5) | SPECIAL,
        )
    )
    outcome(lambda: detectors.roc_auc(labels, scores), "labels", "scores", "classes", invariant=lambda v: 0 <= v <= 1)


# -- parameters ----------------------------------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(-5, 30),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
)


@given(field=st.sampled_from(["n_ls_he", "n_ls_hb", "window", "epochs", "seeds"]), value=NUMBERS)
@settings(max_examples=30)
def test_preset_overrides(field, value):
    outcome(
        lambda: get_preset("fast", **{field: value}),
        field,
        invariant=lambda p: getattr(p, field) == value and int(value) >= 1,
    )


@given(
    field=st.sampled_from(["epochs", "batch_size", "lr", "weight_decay", "beta_kl", "patience", "seed"]), value=NUMBERS
)
@settings(max_examples=40)
def test_train_config_fields(field, value):
    def ok(cfg):
        v = getattr(cfg, field)
        return np.isfinite(float(v)) and float(v) >= 0 and not isinstance(v, bool)

    outcome(lambda: train.TrainConfig(**{field: value}), field, invariant=ok)


@given(gap=NUMBERS, val_fraction=NUMBERS, train_ls=NUMBERS)
@settings(max_examples=30)
def test_split_never_leaks(gap, val_fraction, train_ls):
    def disjoint(parts):
        sets = [set(parts.train), set(parts.val), set(parts.test)]
        return not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])

    outcome(
        lambda: preprocess.split(DATA, gap=gap, val_fraction=val_fraction, train_ls=train_ls),
        "gap",
        "val_fraction",
        "train_ls",
        "training LS",
        invariant=disjoint,
    )


INDEX_ARRAYS = hnp.arrays(np.int64, st.integers(0, 14), elements=st.integers(-2, 13))
MASKS = st.lists(st.booleans(), min_size=11, max_size=13).map(np.array)  # of the right length (12) or not


@given(
    samples=st.one_of(
        INDEX_ARRAYS,
        INDEX_ARRAYS.map(lambda a: a.astype(np.float64) + 0.5),
        MASKS,
        st.lists(st.integers(-3, 15), max_size=5),
    ),
    fraction=NUMBERS,
)
@settings(max_examples=30)
def test_inject_marks_exactly_the_chosen_samples(samples, fraction):
    def right_rows(out):
        rows = np.flatnonzero(out.labels.any(axis=1))
        return set(rows) <= set(out.samples.tolist())

    outcome(lambda: anomalies.inject(DATA, "dead", samples=samples), "samples", invariant=right_rows)
    outcome(
        lambda: anomalies.inject(DATA, "dead", fraction=fraction),
        "fraction",
        invariant=lambda out: len(out.samples) == int(round(float(fraction) * DATA.n_ls)),
    )


@given(n_ls=NUMBERS, run_ls=st.tuples(st.integers(-2, 3), st.integers(-2, 3)))
@settings(max_examples=25)
def test_simulate_finishes_or_refuses(n_ls, run_ls):
    def plan():
        return simulate.RunPlan(run_ls=run_ls)

    def run():
        return simulate.simulate(HB, n_ls, seed=0, plan=plan())

    outcome(run, "n_ls", "run_ls", invariant=lambda d: d.n_ls == n_ls)


@given(
    field=st.sampled_from(["n_ls", "events_per_ls", "chunk", "double_share", "bad_fraction", "block_ls"]), value=NUMBERS
)
@settings(max_examples=30)
def test_simulate_2010_parameters(field, value):
    kwargs = {"n_ls": 20, "events_per_ls": 10, "progress": False, field: value}
    outcome(
        lambda: cms2010.simulate_2010(**kwargs),
        field,
        invariant=lambda f: f.n_ls == kwargs["n_ls"] and all(np.isfinite(v).all() for v in f.features.values()),
    )


# -- containers and tables -----------------------------------------------------------------------------------------


@given(
    field=st.sampled_from(["n_events", "luminosity", "run", "ls"]),
    value=SPECIAL | st.integers(-3, 3),
    where=st.integers(0, 11),
    dtype=st.sampled_from([None, np.bool_, np.complex64]),
)
@settings(max_examples=30)
def test_occupancy_data_fields(field, value, where, dtype):
    arrays = {k: np.array(getattr(DATA, k), dtype=np.float64) for k in ("n_events", "luminosity", "run", "ls")}
    arrays[field][where] = value
    if dtype is not None:
        arrays[field] = arrays[field].astype(dtype)

    def valid(d):
        pairs = set(zip(d.run.tolist(), d.ls.tolist()))
        return (
            len(pairs) == d.n_ls and (d.ls >= 1).all() and (d.n_events >= 1).all() and np.isfinite(d.luminosity).all()
        )

    outcome(lambda: OccupancyData(HB, DATA.occupancy, **arrays), field, invariant=valid)


RUN_KEYS = st.one_of(st.integers(-3, 400).map(str), st.sampled_from(["01", "1", " 2", "x", "1.5", ""]))
RANGES = st.lists(
    st.lists(st.one_of(st.integers(-2, 20), st.booleans(), st.floats(0, 5), st.none()), min_size=0, max_size=3),
    max_size=3,
)


@given(st.dictionaries(RUN_KEYS, RANGES, max_size=4))
@settings(max_examples=40)
def test_golden_json_is_parsed_or_refused(raw):
    def sound(cert):
        for run, ranges in cert.ranges.items():
            assert run >= 1 and all(1 <= a <= b for a, b in ranges)
            assert all(b1 < a2 for (_, b1), (a2, _) in zip(ranges, ranges[1:]))
        return len(cert.ranges) == len(raw)

    outcome(lambda: certification.parse_golden(raw), "run", "range", invariant=sound)


@given(
    labels=st.lists(st.one_of(st.integers(-1, 2), st.sampled_from(["good", "1", 1.0, 0.5])), min_size=4, max_size=4),
    runs=st.lists(st.one_of(st.integers(0, 3), st.floats(0, 3), st.just(np.nan)), min_size=4, max_size=4),
    lumi=st.lists(st.sampled_from([0.0, -1.0, 1.0, 2.5]), min_size=4, max_size=4),
)
@settings(max_examples=40)
def test_feature_table_never_relabels_or_truncates(labels, runs, lumi):
    frame = pd.DataFrame(
        {
            "run": runs,
            "ls": [1, 2, 3, 4],
            "instantLumi": lumi,
            "label": labels,
            **{f"{c}_f0": [0.1, 0.2, 0.3, 0.4] for c in cms2010.CHANNELS},
        }
    )

    def faithful(features):
        kept = frame[frame["instantLumi"] > 0]
        return (features.run == kept["run"].to_numpy()).all() and (features.good == (kept["label"] == 1)).all()

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome(
            lambda: cms2010.features_from_frame(frame), "label", "run", "luminosity", "(run, LS)", invariant=faithful
        )


# -- files ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("good")
    np.save(d / "export.npy", np.zeros((3, 64, 72, 4, 1), np.float32))
    (d / "golden.json").write_text(json.dumps({"1": [[1, 3]]}))
    pd.DataFrame(
        {"run": [1], "ls": [1], "instantLumi": [1.0], "label": [1], **{f"{c}_f0": [0.1] for c in cms2010.CHANNELS}}
    ).to_csv(d / "table.csv", index=False)
    return {
        ".npz": DATA.save(d / "data.npz"),
        ".hdf5": dqm.example_file(d / "dqm.hdf5", era="2018", n_ls=4, seed=1),
        ".npy": d / "export.npy",
        ".pt": checkpoints.save_checkpoint(GraphSTAD("HB", latent=2), d / "model.pt"),
        ".json": d / "golden.json",
        ".csv": d / "table.csv",
    }


READERS = {
    ".npz": lambda p: OccupancyData.load(p),
    ".hdf5": lambda p: loaders.load_dqm_hdf5(p, HB, n_events="hf"),
    ".npy": lambda p: loaders.load_hcalanalyzer_npy(p, HB, n_events=np.full(3, 100)),
    ".root": lambda p: loaders.load_hcalanalyzer_root(p, HB),
    ".pt": lambda p: checkpoints.load_checkpoint(p),
    ".json": lambda p: certification.load_golden_json(p),
    ".csv": lambda p: cms2010.load_feature_table(p),
}


@given(data=st.data())
@settings(max_examples=60)
def test_corrupted_files_are_refused_with_their_path(good_files, tmp_path, data):
    suffix = data.draw(st.sampled_from(sorted(READERS)))
    source = data.draw(st.sampled_from(sorted(good_files)))  # any format, possibly renamed to the wrong one
    content = good_files[source].read_bytes()
    damage = data.draw(st.sampled_from(["truncate", "flip", "garbage", "empty", "text", "none"]))
    if damage == "truncate":
        content = content[: data.draw(st.integers(0, max(len(content) - 1, 0)))]
    elif damage == "flip" and content:
        i = data.draw(st.integers(0, len(content) - 1))
        content = content[:i] + bytes([content[i] ^ 0xFF]) + content[i + 1 :]
    elif damage == "garbage":
        content = data.draw(st.binary(max_size=200))
    elif damage == "empty":
        content = b""
    elif damage == "text":
        content = data.draw(st.text(string.printable, max_size=100)).encode()
    path = tmp_path / f"f{CALLS['n']}{suffix}"
    path.write_bytes(content)
    result = outcome(lambda: READERS[suffix](path), str(path), "path")
    assert not isinstance(result, Exception) or isinstance(result, DOCUMENTED)


def test_missing_files_and_folders_name_their_path(tmp_path):
    for suffix, read in READERS.items():
        missing = tmp_path / f"missing{suffix}"
        err = outcome(lambda read=read, missing=missing: read(missing), str(missing))
        assert isinstance(err, FileNotFoundError), (suffix, err)
        err = outcome(lambda read=read: read(tmp_path), str(tmp_path))
        assert isinstance(err, (IsADirectoryError, FileFormatError, ValueError)), (suffix, err)


def test_the_suite_generates_enough_cases(request):
    """Runs last in this module: the property tests above made at least 300 time-boxed calls."""
    here = [item for item in request.session.items if getattr(item, "module", None) is sys.modules[__name__]]
    if len(here) < len([name for name in globals() if name.startswith("test_")]):
        pytest.skip("only part of the property suite was selected")
    assert CALLS["n"] >= 300, CALLS["n"]
