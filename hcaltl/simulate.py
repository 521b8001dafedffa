"""A physically grounded simulator of HCAL digi-occupancy per lumisection.

The real HCAL occupancy maps of the papers are not public, so the book runs on
this simulator.  It keeps the real geometry (every channel, every RBX) and the
mechanisms that shape real occupancy:

* **Luminosity.** Data come in LHC fills; within a fill the instantaneous
  luminosity decays exponentially from its peak.  Each fill holds one or more
  CMS runs.  Pileup (interactions per crossing) is
  μ = L σ_inel / (n_bunches f_rev).
* **Events per LS.** The monitoring stream records events at a trigger rate that
  is fixed within a run; the count per LS is Poisson.
* **Hit probability.** A channel fires above the digi threshold (20 fC) in an
  event with probability p = 1 − exp(−(μ λ g + ν)): each of the μ interactions
  deposits above threshold with a small probability λ that rises with |ieta|
  (more energy per particle forward) and falls with depth (showers start
  early); 10° towers collect twice the flux of 5° towers.  g is the channel's
  response (gain) and ν its noise probability per event.
* **SiPM (HE) vs HPD (HB).** SiPMs have uniform response and low noise, but their
  dark noise grows with the integrated luminosity (radiation damage) and their
  gain follows the temperature of each RBX (slow drifts).  HPDs have a wider
  channel-to-channel spread, higher noise that comes in bursts shared by all
  channels of one HPD (readout module), and lose gain as they age.
* **Counts.** The occupancy of a channel in an LS is Binomial(n_events, p).

Everything is drawn from one seeded :class:`numpy.random.Generator`, so a seed
fixes the whole data set.  Explained in chapter 1
(``notebooks/01_detector_and_data.ipynb``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm.auto import tqdm

from .data import LS_SECONDS, OccupancyData
from .geometry import WIDE_TOWER_IETA, Geometry

#: LHC revolution frequency (Hz) and inelastic pp cross-section at 13 TeV (cm²).
F_REV_HZ = 11245.0
SIGMA_INEL_CM2 = 80e-27
#: Integrated luminosity of one LS at 1e34 cm⁻² s⁻¹, in fb⁻¹.
FB_PER_LS_AT_1E34 = 1e34 * LS_SECONDS / 1e39
#: Lumisections drawn per chunk (one random stream each, drawn in parallel threads).
CHUNK_LS = 1000


@dataclass(frozen=True)
class SensorModel:
    """Response and noise of one photodetector technology.

    Attributes:
        lambda0: probability per interaction of a deposit above threshold in the
            shallowest depth of the lowest |ieta| tower.
        eta_slope: growth of that probability per unit |ieta| (exponential).
        depth_slope: fall per depth step below the tower's first depth (exponential).
        gain_spread: channel-to-channel spread of the response (log-normal σ).
        noise_prob: probability per event that noise alone crosses the threshold.
        noise_per_fb: relative growth of the noise per fb⁻¹ of integrated luminosity
            (SiPM radiation damage).
        ageing_fb: gain e-folding in fb⁻¹ of integrated luminosity (HPD ageing; 0: none).
        rbx_drift: amplitude (relative) of the slow per-RBX gain drift.
        drift_ls: correlation length of that drift, in LS.
        burst_prob: probability per readout module and LS of a correlated noise burst (HPD discharge).
        burst_scale: mean extra noise probability per event during a burst.
    """

    lambda0: float
    eta_slope: float
    depth_slope: float
    gain_spread: float
    noise_prob: float
    noise_per_fb: float
    ageing_fb: float
    rbx_drift: float
    drift_ls: float
    burst_prob: float
    burst_scale: float


SENSOR_MODELS: dict[str, SensorModel] = {
    "SiPM": SensorModel(
        lambda0=2.0e-3, eta_slope=0.18, depth_slope=0.35, gain_spread=0.06, noise_prob=2e-4,
        noise_per_fb=0.15, ageing_fb=0.0, rbx_drift=0.02, drift_ls=400.0, burst_prob=0.0, burst_scale=0.0,
    ),
    "HPD": SensorModel(
        lambda0=5.0e-3, eta_slope=0.05, depth_slope=0.7, gain_spread=0.15, noise_prob=1e-3,
        noise_per_fb=0.0, ageing_fb=150.0, rbx_drift=0.01, drift_ls=400.0, burst_prob=0.01, burst_scale=0.004,
    ),
}


@dataclass(frozen=True)
class RunPlan:
    """How lumisections are grouped into fills and runs.

    Attributes:
        run_ls: (min, max) LS per run, drawn uniformly.
        runs_per_fill: (min, max) runs per LHC fill.
        peak_lumi: (min, max) peak instantaneous luminosity of a fill, 10^34 cm⁻² s⁻¹.
        lumi_lifetime_h: (min, max) luminosity lifetime of a fill, hours.
        n_bunches: colliding bunch pairs.
        trigger_rate_hz: (min, max) rate of the monitored event stream, per run.
        first_run: number of the first run.
        start_int_lumi_fb: integrated luminosity already delivered before the first LS.
    """

    run_ls: tuple[int, int] = (250, 900)
    runs_per_fill: tuple[int, int] = (1, 2)
    peak_lumi: tuple[float, float] = (1.4, 2.1)
    lumi_lifetime_h: tuple[float, float] = (9.0, 16.0)
    n_bunches: int = 2544
    trigger_rate_hz: tuple[float, float] = (60.0, 110.0)
    first_run: int = 316000
    start_int_lumi_fb: float = 0.0


def run_structure(n_ls: int, plan: RunPlan, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Luminosity, event counts, run and LS numbers for ``n_ls`` lumisections."""
    lumi, run, ls, rate = [], [], [], []
    total, run_number = 0, plan.first_run
    while total < n_ls:
        peak = rng.uniform(*plan.peak_lumi)
        tau_ls = rng.uniform(*plan.lumi_lifetime_h) * 3600.0 / LS_SECONDS
        t = rng.uniform(0, 0.1 * tau_ls)  # the first run starts shortly after stable beams
        for _ in range(rng.integers(plan.runs_per_fill[0], plan.runs_per_fill[1] + 1)):
            length = int(min(rng.integers(plan.run_ls[0], plan.run_ls[1] + 1), n_ls - total))
            steps = t + np.arange(length)
            lumi.append(peak * np.exp(-steps / tau_ls))
            run.append(np.full(length, run_number))
            ls.append(np.arange(1, length + 1))
            rate.append(np.full(length, rng.uniform(*plan.trigger_rate_hz)))
            total += length
            t += length + rng.integers(5, 30)  # a short gap between runs of a fill
            run_number += int(rng.integers(1, 8))
            if total >= n_ls:
                break
    lumi_arr = np.concatenate(lumi)
    lumi_arr = lumi_arr * (1.0 + 0.01 * rng.standard_normal(len(lumi_arr)))  # bunch-by-bunch fluctuations
    rate_arr = np.concatenate(rate)
    n_events = np.maximum(rng.poisson(rate_arr * LS_SECONDS), 1)
    return {
        "luminosity": np.clip(lumi_arr, 0.0, None),
        "n_events": n_events,
        "run": np.concatenate(run),
        "ls": np.concatenate(ls),
    }


def _channel_lambda(geometry: Geometry, model: SensorModel) -> np.ndarray:
    """Mean above-threshold deposit probability per interaction for every channel: [n_channels]."""
    ch = geometry.channels
    abs_ieta = ch["ieta"].abs().to_numpy()
    eta_min = min(geometry.depth_table)
    first_depth = np.array([geometry.depth_table[a][0] for a in abs_ieta])
    wide = np.where(abs_ieta >= WIDE_TOWER_IETA, 2.0, 1.0)
    return (
        model.lambda0
        * np.exp(model.eta_slope * (abs_ieta - eta_min))
        * np.exp(-model.depth_slope * (ch["depth"].to_numpy() - first_depth))
        * wide
    )


def _smooth_walk(n_steps: int, n_series: int, length: float, rng: np.random.Generator) -> np.ndarray:
    """Stationary AR(1) series with unit variance and correlation length ``length``: [n_steps, n_series]."""
    phi = np.exp(-1.0 / max(length, 1.0))
    out = np.empty((n_steps, n_series))
    out[0] = rng.standard_normal(n_series)
    shocks = rng.standard_normal((n_steps, n_series)) * np.sqrt(1 - phi**2)
    for t in range(1, n_steps):
        out[t] = phi * out[t - 1] + shocks[t]
    return out


@dataclass(frozen=True)
class SimulationTruth:
    """Hidden quantities of a simulation, for teaching and tests (not seen by models).

    Shapes:
        pileup: [n_ls]; gain: [n_ls, n_channels]; noise: [n_ls, n_channels];
        hit_prob: [n_ls, n_channels] (only when requested; large).
    """

    pileup: np.ndarray
    channel_lambda: np.ndarray
    channel_gain: np.ndarray
    int_lumi_fb: np.ndarray
    hit_prob: np.ndarray | None = field(default=None, repr=False)


def simulate(
    geometry: Geometry,
    n_ls: int,
    seed: int = 0,
    *,
    plan: RunPlan | None = None,
    sensor: SensorModel | None = None,
    progress: bool = False,
    return_truth: bool = False,
) -> OccupancyData | tuple[OccupancyData, SimulationTruth]:
    """Simulate ``n_ls`` lumisections of raw digi-occupancy counts for ``geometry``.

    Args:
        geometry: from :func:`hcaltl.geometry.get_geometry`.
        n_ls: number of lumisections (paper scale: HE 20,000, HB 7,000).
        seed: seed of the one random generator used; same seed, same data.
        plan: fills, runs, luminosity and trigger rates (:class:`RunPlan`).
        sensor: detector response; default :data:`SENSOR_MODELS` [geometry.sensor].
        progress: show a tqdm progress bar.
        return_truth: also return the hidden :class:`SimulationTruth`.

    Returns:
        An :class:`~hcaltl.data.OccupancyData` of raw counts (``normalised=None``).

    Shapes:
        ``occupancy``: [n_ls, 64, 72, 7]; ``n_events``, ``luminosity``, ``run``, ``ls``: [n_ls].
    """
    if not isinstance(geometry, Geometry):
        raise TypeError(f"geometry must be a hcaltl Geometry (use hcaltl.geometry.get_geometry), got {type(geometry).__name__}")
    if int(n_ls) != n_ls or n_ls < 1:
        raise ValueError(f"n_ls must be a positive integer, got {n_ls!r}")
    n_ls = int(n_ls)
    plan = plan or RunPlan()
    model = sensor or SENSOR_MODELS[geometry.sensor]
    rng = np.random.default_rng(seed)
    ch = geometry.channels
    n_ch = geometry.n_channels

    beam = run_structure(n_ls, plan, rng)
    pileup = beam["luminosity"] * 1e34 * SIGMA_INEL_CM2 / (plan.n_bunches * F_REV_HZ)
    int_lumi = plan.start_int_lumi_fb + np.cumsum(beam["luminosity"]) * FB_PER_LS_AT_1E34

    lam = _channel_lambda(geometry, model)
    channel_gain = np.exp(model.gain_spread * rng.standard_normal(n_ch) - model.gain_spread**2 / 2)
    rbx_walk = _smooth_walk(n_ls, geometry.n_rbx, model.drift_ls, rng)
    rbx_gain = 1.0 + model.rbx_drift * rbx_walk  # [n_ls, 36]
    ageing = np.exp(-int_lumi / model.ageing_fb) if model.ageing_fb > 0 else np.ones(n_ls)
    noise_ls = model.noise_prob * (1.0 + model.noise_per_fb * (int_lumi - plan.start_int_lumi_fb))
    rm_key = (ch["rbx_index"].to_numpy() * 4 + ch["rm"].to_numpy() - 1)
    n_rm = geometry.n_rbx * 4
    bursts = (rng.random((n_ls, n_rm)) < model.burst_prob) * rng.exponential(model.burst_scale or 1.0, (n_ls, n_rm))

    rbx_idx = ch["rbx_index"].to_numpy()
    counts = np.empty((n_ls, n_ch), dtype=np.float32)
    hit_prob = np.empty((n_ls, n_ch), dtype=np.float32) if return_truth else None
    starts = list(range(0, n_ls, CHUNK_LS))
    # One independent generator per chunk, spawned from the seed: the result depends
    # on the seed only, not on how many threads draw the chunks.
    chunk_rngs = np.random.SeedSequence(seed).spawn(len(starts))

    def draw(i: int) -> None:
        s, e = starts[i], min(starts[i] + CHUNK_LS, n_ls)
        gain = rbx_gain[s:e, rbx_idx] * (ageing[s:e, None] * channel_gain[None, :])
        noise = noise_ls[s:e, None] + bursts[s:e][:, rm_key]
        p = -np.expm1(-(pileup[s:e, None] * lam[None, :] * gain + noise))
        counts[s:e] = np.random.default_rng(chunk_rngs[i]).binomial(beam["n_events"][s:e, None], p)
        if hit_prob is not None:
            hit_prob[s:e] = p

    workers = min(4, os.cpu_count() or 1, len(starts))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        jobs = [pool.submit(draw, i) for i in range(len(starts))]
        for job in tqdm(as_completed(jobs), total=len(jobs), desc=f"simulating {geometry.name}", unit="kLS", disable=not progress):
            job.result()

    meta = {
        "source": "hcaltl.simulate",
        "seed": int(seed),
        "n_ls": n_ls,
        "plan": asdict(plan),
        "sensor": asdict(model),
    }
    data = OccupancyData(
        geometry=geometry,
        occupancy=geometry.nodes_to_map(counts),
        n_events=beam["n_events"],
        luminosity=beam["luminosity"],
        run=beam["run"],
        ls=beam["ls"],
        meta=meta,
    )
    if not return_truth:
        return data
    truth = SimulationTruth(
        pileup=pileup,
        channel_lambda=lam,
        channel_gain=channel_gain,
        int_lumi_fb=int_lumi,
        hit_prob=hit_prob,
    )
    return data, truth
