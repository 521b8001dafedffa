"""Chapter 7's replay pieces: faults that start part-way and persist on fixed channels."""

from __future__ import annotations

import numpy as np
import pytest

from hcaltl.experiments import online_study as study
from hcaltl.preprocess import renormalise


@pytest.fixture(scope="module")
def run(hb_data):
    return study.longest_run(hb_data)


def test_faults_start_at_their_onsets_and_stay_on_their_channels(run):
    faulty = study.faulty_run(
        run, {"channel dies": 0.2, "RM turns noisy": 0.5, "slow degradation": 0.4}, seed=1, drift_ls=40
    )
    assert len(np.unique(run.run)) == 1 and faulty.data.n_ls == run.n_ls
    channels = run.geometry.channels
    rm = channels.iloc[faulty.channels["RM turns noisy"]]
    assert rm[["rbx_name", "rm"]].drop_duplicates().shape[0] == 1  # one readout module, all of it
    assert len(rm) == len(channels[(channels.rbx_name == rm.rbx_name.iloc[0]) & (channels.rm == rm.rm.iloc[0])])
    for name, onset in faulty.onsets.items():
        index = int(np.flatnonzero(run.ls == onset)[0])
        mine = faulty.labels[:, faulty.channels[name]].any(axis=1)
        assert not mine[:index].any() and mine[index:].mean() > 0.9, name  # a zero count cannot be changed
    nodes = lambda d: d.geometry.map_to_nodes(d.occupancy).astype(float)  # noqa: E731
    box = faulty.channels["slow degradation"]
    start = int(np.flatnonzero(run.ls == faulty.onsets["slow degradation"])[0])
    ratio = nodes(faulty.data)[:, box].sum(axis=1) / np.maximum(nodes(run)[:, box].sum(axis=1), 1)
    steps = [ratio[start + 10 * i : start + 10 * (i + 1)].mean() for i in range(4)]
    assert all(a > b for a, b in zip(steps, steps[1:]))  # the response falls, ten LS after ten LS
    assert ratio[start + 40 :].mean() == pytest.approx(study.DRIFT_FACTOR, abs=0.05)  # then holds at its final response
    noisy = faulty.channels["RM turns noisy"]
    assert (nodes(faulty.data)[-1, noisy] >= nodes(run)[-1, noisy]).all()  # a noisy module only ever fires more
    with pytest.raises(ValueError, match="unknown faults"):
        study.faulty_run(run, {"volcano": 0.5})
    with pytest.raises(ValueError, match="raw counts of one run"):
        study.faulty_run(renormalise(run), {"channel dies": 0.5})


def test_drift_caught_says_when_and_how_far_the_drift_had_gone():
    import pandas as pd

    table = pd.DataFrame({"delay [LS]": [0.0, float("nan")]}, index=["slow degradation", "channel dies"])
    assert study.drift_caught(table, drift_ls=10) == (
        "is first flagged 0 lumisections after its onset, with "
        f"{100 * (1 - (1 - study.DRIFT_FACTOR) / 10):.0f} % of its response left"
    )
    assert study.drift_caught(table.iloc[::-1].set_axis(table.index)) == "is never flagged before the run ends"
