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
* **Calibrated levels.** For the HPD detectors, λ is not a formula but the measured level of each (ring,
  depth) on real 2017 data (:data:`RING_LEVELS`, from ``real-occupancy.md``), reached at
  :data:`REFERENCE_PILEUP`; the channel response spread and the RBX spread are the measured ones.
  :func:`calibrate` measures all of it, channel by channel, on a few LS of *your* detector, and
  ``simulate(..., calibration=...)`` then draws whole runs of that detector.

Everything is drawn from one seeded :class:`numpy.random.Generator`, so a seed
fixes the whole data set.  Explained in chapter 1
(``notebooks/01_detector_and_data.ipynb``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from tqdm.auto import tqdm

from . import validate
from .data import LS_SECONDS, OccupancyData
from .geometry import DEPTH_TABLES, WIDE_TOWER_IETA, Geometry

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
        rbx_spread: static RBX-to-RBX spread of the response (log-normal σ).
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
    rbx_spread: float = 0.0


#: The sensor model of each photodetector kind (HPD, SiPM) the simulator draws channels from.
SENSOR_MODELS: dict[str, SensorModel] = {
    "SiPM": SensorModel(
        lambda0=2.0e-3,
        eta_slope=0.18,
        depth_slope=0.35,
        gain_spread=0.06,
        noise_prob=2e-4,
        noise_per_fb=0.15,
        ageing_fb=0.0,
        rbx_drift=0.02,
        drift_ls=400.0,
        burst_prob=0.0,
        burst_scale=0.0,
    ),
    # gain_spread 0.5: the log of a channel's occupancy fraction then spreads by ~0.40 within an RBX, as measured
    # on the 2017 barrel (the fraction saturates, so its spread is smaller than the response's); rbx_spread: RBX
    # means differ by ~6 % there.  lambda0, eta_slope and depth_slope only serve tables without RING_LEVELS.
    "HPD": SensorModel(
        lambda0=5.0e-3,
        eta_slope=0.05,
        depth_slope=0.7,
        gain_spread=0.5,
        noise_prob=1e-3,
        noise_per_fb=0.0,
        ageing_fb=150.0,
        rbx_drift=0.01,
        drift_ls=400.0,
        burst_prob=0.01,
        burst_scale=0.004,
        rbx_spread=0.06,
    ),
}

#: Pileup at which :data:`RING_LEVELS` hold: the median pileup of the default :class:`RunPlan`.  The real file
#: stores no luminosity; its run was taken at 2017 pileup (40–60 at the peak), so a default simulation has the
#: real levels on average.
REFERENCE_PILEUP = 35.0

#: Mean occupancy fraction of the channels of each (|ieta|, depth) at :data:`REFERENCE_PILEUP`, per depth table.
#: HB-HPD: measured on the 2017 barrel (real-occupancy.md: depth 1 0.33–0.38 at |ieta| 1–9, 0.40–0.45 at 10–12,
#: 0.50 at 13–14, 0.65 at 15, 0.38–0.41 at 16; depth 2 0.23–0.25 at 15 and 0.55 at 16).
#: HE-HPD: measured depth 1 (0.13 at 17, 0.25–0.31 at 18–20, 0.5–0.7 at 21–23, 0.8–0.95 at 24–28); depth 2 is only
#: known as 0.08–0.6 over the same rings, interpolated linearly; depth 3 and ring 29 are assumptions (marked).
RING_LEVELS: dict[str, dict[tuple[int, int], float]] = {
    "HB-HPD": {
        **{(i, 1): 0.355 for i in range(1, 10)},
        **{(i, 1): 0.425 for i in range(10, 13)},
        (13, 1): 0.50,
        (14, 1): 0.50,
        (15, 1): 0.65,
        (16, 1): 0.395,
        (15, 2): 0.24,
        (16, 2): 0.55,
    },
    "HE-HPD": {
        (17, 1): 0.13,
        (18, 1): 0.25,
        (19, 1): 0.28,
        (20, 1): 0.31,
        (21, 1): 0.50,
        (22, 1): 0.60,
        (23, 1): 0.70,
        **{(i, 1): 0.80 + 0.0375 * (i - 24) for i in range(24, 29)},
        **{(i, 2): round(0.08 + 0.052 * (i - 18), 3) for i in range(18, 29)},
        (29, 1): 0.90,
        (29, 2): 0.60,  # assumed: ring 29 like ring 28
        (16, 3): 0.30,
        (27, 3): 0.30,
        (28, 3): 0.30,  # assumed: not in the measured figures
    },
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

    def __post_init__(self) -> None:
        def pair(name: str, lowest: float, integer: bool) -> None:
            lo, hi = getattr(self, name)
            if integer and (int(lo) != lo or int(hi) != hi):
                raise ValueError(f"RunPlan.{name} must be a pair of integers, got {(lo, hi)}")
            if not (np.isfinite(lo) and np.isfinite(hi) and lowest <= lo <= hi):
                raise ValueError(f"RunPlan.{name} must be (min, max) with {lowest} <= min <= max, got {(lo, hi)}")

        pair("run_ls", 1, True)  # a run without LS would never fill the plan
        pair("runs_per_fill", 1, True)
        for name in ("peak_lumi", "lumi_lifetime_h", "trigger_rate_hz"):
            pair(name, 1e-12, False)
        if int(self.n_bunches) != self.n_bunches or self.n_bunches < 1:
            raise ValueError(f"RunPlan.n_bunches must be a positive integer, got {self.n_bunches!r}")
        if not np.isfinite(self.start_int_lumi_fb) or self.start_int_lumi_fb < 0:
            raise ValueError(f"RunPlan.start_int_lumi_fb must be >= 0, got {self.start_int_lumi_fb!r}")


def run_structure(n_ls: int, plan: RunPlan, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Luminosity, event counts, run and LS numbers for ``n_ls`` lumisections."""
    if isinstance(n_ls, bool) or int(n_ls) != n_ls or n_ls < 1:
        raise ValueError(f"n_ls must be a positive integer, got {n_ls!r}")
    n_ls = int(n_ls)
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


def _mean_fraction(a: np.ndarray, sigma: float) -> np.ndarray:
    """Mean of 1 − exp(−a g) over a log-normal response g with E[g] = 1 and log-σ ``sigma``."""
    z, w = np.polynomial.hermite_e.hermegauss(40)
    g = np.exp(sigma * z - sigma**2 / 2)
    return (-np.expm1(-np.multiply.outer(a, g)) * w).sum(axis=-1) / w.sum()


def level_to_lambda(level: float, sigma: float, pileup: float = REFERENCE_PILEUP) -> float:
    """Deposit probability per interaction λ that gives a mean channel fraction ``level`` at ``pileup``
    when responses spread log-normally by ``sigma``."""
    if not 0 < level < 1:
        raise ValueError(f"level must be a fraction in (0, 1), got {level}")
    a = brentq(lambda x: float(_mean_fraction(np.array(x), sigma)) - level, 1e-9, 1e3)
    return a / pileup


def _channel_lambda(
    geometry: Geometry, models: dict[str, SensorModel], sigma: np.ndarray, levels_allowed: bool = True
) -> np.ndarray:
    """Mean above-threshold deposit probability per interaction for every channel: [n_channels].

    From :data:`RING_LEVELS` where the channel's depth table has them (and ``levels_allowed``), else from its
    sensor model's formula.
    """
    ch = geometry.channels
    abs_ieta = ch["ieta"].abs().to_numpy()
    depth = ch["depth"].to_numpy()
    first_depth = ch.groupby(["side", "ieta", "iphi"])["depth"].transform("min").to_numpy()
    lam = np.empty(len(ch))
    for table, idx in ch.groupby("table").indices.items():
        levels = RING_LEVELS.get(table) if levels_allowed else None
        if levels is not None:
            cache: dict[tuple[int, int, float], float] = {}
            for i in idx:
                key = (int(abs_ieta[i]), int(depth[i]), float(sigma[i]))
                if key not in cache:
                    cache[key] = level_to_lambda(levels[key[:2]], key[2])
                lam[i] = cache[key]
            continue
        model = models[ch["sensor"].iat[idx[0]]]
        depths = DEPTH_TABLES[table].depths if table in DEPTH_TABLES else geometry.depth_table
        eta_min = min(depths)
        wide = np.where(abs_ieta[idx] >= WIDE_TOWER_IETA, 2.0, 1.0)
        lam[idx] = (
            model.lambda0
            * np.exp(model.eta_slope * (abs_ieta[idx] - eta_min))
            * np.exp(-model.depth_slope * (depth[idx] - first_depth[idx]))
            * wide
        )
    return lam


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


@dataclass(frozen=True)
class Calibration:
    """A detector's own response, measured on a few of its lumisections by :func:`calibrate`.

    Attributes:
        geometry: the geometry it was measured on (``simulate`` refuses any other).
        pileup: the pileup the fractions were measured at, and how it was known (``pileup_source``).
        lam: deposit probability per interaction of every channel, its response included (0 for dead channels).
        fraction: measured occupancy fraction of every channel.
        dead: channels without a single hit (kept dead in simulation).
        saturated: channels that fired in every event (their λ is a lower bound).
        n_ls, n_events: LS and events it was measured on.
        meta: provenance (source file, …).

    Shapes:
        ``lam``, ``fraction``, ``dead``, ``saturated``: [n_channels].
    """

    geometry: Geometry
    pileup: float
    pileup_source: str
    lam: np.ndarray = field(repr=False)
    fraction: np.ndarray = field(repr=False)
    dead: np.ndarray = field(repr=False)
    saturated: np.ndarray = field(repr=False)
    n_ls: int = 0
    n_events: int = 0
    meta: dict = field(default_factory=dict, repr=False)

    def levels(self) -> pd.DataFrame:
        """Per (|ieta|, depth): live channels, mean fraction, and the spread of log fraction (the response)."""
        ch = self.geometry.channels.assign(
            aeta=self.geometry.channels["ieta"].abs(), fraction=self.fraction, dead=self.dead
        )
        live = ch[~ch["dead"]].assign(log_f=lambda d: np.log(d["fraction"]))
        out = live.groupby(["aeta", "depth"]).agg(
            channels=("fraction", "size"), mean_fraction=("fraction", "mean"), log_spread=("log_f", "std")
        )
        out["dead"] = ch.groupby(["aeta", "depth"])["dead"].sum()
        return out.rename_axis(["|ieta|", "depth"])

    def summary(self) -> dict:
        """The numbers a reader checks first: channels, dead, saturated, LS, pileup, mean fraction per depth."""
        ch = self.geometry.channels
        live = ~self.dead
        per_depth = {
            int(d): float(self.fraction[live & (ch["depth"].to_numpy() == d)].mean()) for d in self.geometry.depths
        }
        return {
            "geometry": self.geometry.depth_table_name,
            "channels": self.geometry.n_channels,
            "dead": int(self.dead.sum()),
            "saturated": int(self.saturated.sum()),
            "n_ls": self.n_ls,
            "pileup": self.pileup,
            "pileup_source": self.pileup_source,
            "mean_fraction_per_depth": per_depth,
        }


def calibrate(
    data: OccupancyData, *, pileup: float | None = None, plan: RunPlan | None = None, min_ls: int = 5
) -> Calibration:
    """Measure a detector's response on a few lumisections, for :func:`simulate` to reproduce it.

    Each channel's occupancy fraction f (hits / events, summed over the LS) is turned into its deposit
    probability per interaction, λ = (−ln(1 − f) − ν) / μ, with ν the sensor's noise and μ the pileup; the
    static response (gain, threshold) of the channel is inside λ.  Channels without a hit are dead.

    Args:
        data: raw counts of the detector (``normalised=None``), at least ``min_ls`` LS.
        pileup: the LS's mean pileup, if known.  Otherwise it is computed from ``data.luminosity`` when that is
            recorded, else :data:`REFERENCE_PILEUP` is assumed (and ``pileup_source`` says so).
        plan: the run plan whose bunch count turns luminosity into pileup (default :class:`RunPlan`).
        min_ls: fewest LS accepted.

    Returns:
        A :class:`Calibration`.

    Explained in chapter 1 (``notebooks/01_detector_and_data.ipynb``, "Your own data").
    """
    if not isinstance(data, OccupancyData):
        raise TypeError(f"data must be an OccupancyData, got {type(data).__name__}")
    if data.normalised is not None:
        raise ValueError(
            f"calibrate needs raw counts with their event counts; data is normalised by {data.normalised!r}"
        )
    if data.n_ls < min_ls:
        raise ValueError(f"calibrate needs at least {min_ls} LS to measure every channel, got {data.n_ls}")
    plan = plan or RunPlan()
    if pileup is not None:
        if not np.isfinite(pileup) or pileup <= 0:
            raise ValueError(f"pileup must be a positive number, got {pileup!r}")
        mu, source = float(pileup), "given"
    elif np.all(data.luminosity > 0):
        mu = float(np.mean(data.luminosity) * 1e34 * SIGMA_INEL_CM2 / (plan.n_bunches * F_REV_HZ))
        source = f"from the recorded luminosity ({plan.n_bunches} bunches)"
    else:
        mu, source = REFERENCE_PILEUP, "assumed (no luminosity recorded): REFERENCE_PILEUP"
    geometry = data.geometry
    events = int(data.n_events.sum())
    fraction = data.node_values().sum(axis=0, dtype=np.float64) / events
    dead = fraction == 0
    cap = 1.0 - 0.5 / events
    saturated = fraction >= cap
    noise = np.array([SENSOR_MODELS[s].noise_prob for s in geometry.channels["sensor"]])
    x = -np.log1p(-np.minimum(fraction, cap))
    lam = np.where(dead, 0.0, np.maximum(x - noise, 0.0) / mu)
    return Calibration(
        geometry=geometry,
        pileup=mu,
        pileup_source=source,
        lam=lam,
        fraction=fraction,
        dead=dead,
        saturated=saturated,
        n_ls=data.n_ls,
        n_events=events,
        meta={"source": data.meta.get("source_file", data.meta.get("source", "unknown"))},
    )


def simulate(
    geometry: Geometry | str,
    n_ls: int,
    seed: int = 0,
    *,
    plan: RunPlan | None = None,
    sensor: SensorModel | None = None,
    calibration: Calibration | None = None,
    progress: bool = False,
    return_truth: bool = False,
) -> OccupancyData | tuple[OccupancyData, SimulationTruth]:
    """Simulate ``n_ls`` lumisections of raw digi-occupancy counts for ``geometry``.

    Args:
        geometry: from :func:`hcaltl.geometry.get_geometry` (any era; each RBX uses its own sensor).
        n_ls: number of lumisections (paper scale: HE 20,000, HB 7,000).
        seed: seed of the one random generator used; same seed, same data.
        plan: fills, runs, luminosity and trigger rates (:class:`RunPlan`).
        sensor: detector response for every channel, its formula for λ included (it then replaces the measured
            :data:`RING_LEVELS` too); default :data:`SENSOR_MODELS` [each channel's sensor] with the levels.
        calibration: a detector measured by :func:`calibrate`: its channel map (λ with the response, dead
            channels) replaces the drawn one; luminosity, fills, noise, drifts and bursts stay simulated.
        progress: show a tqdm progress bar.
        return_truth: also return the hidden :class:`SimulationTruth`.

    Returns:
        An :class:`~hcaltl.data.OccupancyData` of raw counts (``normalised=None``).

    Shapes:
        ``occupancy``: [n_ls, 64, 72, 7]; ``n_events``, ``luminosity``, ``run``, ``ls``: [n_ls].
    """
    geometry = validate.geometry(geometry)
    n_ls = validate.count(n_ls, "n_ls", maximum=validate.MAX_LS, why="more LS than memory can hold: simulate in parts")
    if calibration is not None:
        if not isinstance(calibration, Calibration):
            raise TypeError(f"calibration must come from hcaltl.simulate.calibrate, got {type(calibration).__name__}")
        validate.same_geometry(geometry, calibration.geometry, "the geometry asked for", "the calibration's")
    n_ls = int(n_ls)
    plan = plan or RunPlan()
    rng = np.random.default_rng(validate.count(seed, "seed", minimum=0))
    ch = geometry.channels
    n_ch = geometry.n_channels
    models = {s: sensor or SENSOR_MODELS[s] for s in geometry.sensors}
    sensor_of = ch["sensor"].to_numpy()

    def per_channel(name: str) -> np.ndarray:
        return np.array([getattr(models[s], name) for s in sensor_of], dtype=np.float64)

    beam = run_structure(n_ls, plan, rng)
    pileup = beam["luminosity"] * 1e34 * SIGMA_INEL_CM2 / (plan.n_bunches * F_REV_HZ)
    int_lumi = plan.start_int_lumi_fb + np.cumsum(beam["luminosity"]) * FB_PER_LS_AT_1E34

    spread = per_channel("gain_spread")
    if calibration is None:
        lam = _channel_lambda(geometry, models, spread, levels_allowed=sensor is None)
        alive = np.ones(n_ch)
    else:
        lam, alive, spread = calibration.lam, (~calibration.dead).astype(np.float64), np.zeros(n_ch)
    channel_gain = np.exp(spread * rng.standard_normal(n_ch) - spread**2 / 2)
    rbx_walk = _smooth_walk(n_ls, geometry.n_rbx, max(m.drift_ls for m in models.values()), rng)
    rbx_idx = ch["rbx_index"].to_numpy()
    rbx_drift = per_channel("rbx_drift")
    ageing_fb = per_channel("ageing_fb")
    inv_ageing = np.divide(1.0, ageing_fb, out=np.zeros(n_ch), where=ageing_fb > 0)
    noise_prob, noise_per_fb = per_channel("noise_prob"), per_channel("noise_per_fb")
    rm_key = ch["rbx_index"].to_numpy() * 4 + ch["rm"].to_numpy() - 1
    n_rm = geometry.n_rbx * 4
    rm_model = pd.Series(sensor_of).groupby(rm_key).first().reindex(range(n_rm)).fillna(geometry.sensor).map(models)
    burst_prob = np.array([m.burst_prob for m in rm_model])
    burst_scale = np.array([m.burst_scale or 1.0 for m in rm_model])
    bursts = (rng.random((n_ls, n_rm)) < burst_prob) * rng.exponential(burst_scale, (n_ls, n_rm))
    rbx_spread = per_channel("rbx_spread")
    if calibration is None and np.any(rbx_spread > 0):
        z = rng.standard_normal(geometry.n_rbx)[rbx_idx]
        channel_gain = channel_gain * np.exp(rbx_spread * z - rbx_spread**2 / 2)

    counts = np.empty((n_ls, n_ch), dtype=np.float32)
    hit_prob = np.empty((n_ls, n_ch), dtype=np.float32) if return_truth else None
    starts = list(range(0, n_ls, CHUNK_LS))
    # One independent generator per chunk, spawned from the seed: the result depends
    # on the seed only, not on how many threads draw the chunks.
    chunk_rngs = np.random.SeedSequence(seed).spawn(len(starts))

    def draw(i: int) -> None:
        s, e = starts[i], min(starts[i] + CHUNK_LS, n_ls)
        gain = (1.0 + rbx_drift * rbx_walk[s:e][:, rbx_idx]) * (
            np.exp(-int_lumi[s:e, None] * inv_ageing) * channel_gain
        )
        noise_ls = noise_prob * (1.0 + noise_per_fb * (int_lumi[s:e, None] - plan.start_int_lumi_fb))
        noise = (noise_ls + bursts[s:e][:, rm_key]) * alive
        p = -np.expm1(-(pileup[s:e, None] * lam[None, :] * gain + noise))
        counts[s:e] = np.random.default_rng(chunk_rngs[i]).binomial(beam["n_events"][s:e, None], p)
        if hit_prob is not None:
            hit_prob[s:e] = p

    workers = min(4, os.cpu_count() or 1, len(starts))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        jobs = [pool.submit(draw, i) for i in range(len(starts))]
        for job in tqdm(
            as_completed(jobs), total=len(jobs), desc=f"simulating {geometry.name}", unit="kLS", disable=not progress
        ):
            job.result()

    meta = {
        "source": "hcaltl.simulate",
        "seed": int(seed),
        "n_ls": n_ls,
        "geometry": geometry.depth_table_name,
        "plan": asdict(plan),
        "sensor": {s: asdict(m) for s, m in models.items()},
        "calibration": None if calibration is None else {**calibration.summary(), **calibration.meta},
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
