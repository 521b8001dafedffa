"""Benchmark: cost of simulating each preset's data (wall time, memory), at full geometry.

Run on demand (``make benchmark``); writes ``benchmarks/results/simulate.json``, which
chapter 1 shows as the cost table of the scale knob.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

from hcaltl.experiments.presets import PRESETS
from hcaltl.experiments.provenance import git_commit, machine_info, package_versions
from hcaltl.geometry import get_geometry
from hcaltl.simulate import simulate

OUT = Path(__file__).parent / "results" / "simulate.json"


def main(repeats: int = 2) -> dict:
    rows = []
    for preset in PRESETS.values():
        for name, n_ls in (("HE", preset.n_ls_he), ("HB", preset.n_ls_hb)):
            geometry = get_geometry(name)
            times = []
            for r in range(repeats):
                t0 = time.perf_counter()
                data = simulate(geometry, n_ls, seed=r)
                times.append(time.perf_counter() - t0)
            rows.append(
                {
                    "preset": preset.name,
                    "subdetector": name,
                    "n_ls": n_ls,
                    "n_channels": geometry.n_channels,
                    "seconds_best": min(times),
                    "seconds_all": times,
                    "ls_per_second": n_ls / min(times),
                    "occupancy_gb": data.occupancy.nbytes / 1e9,
                }
            )
            print(f"{preset.name:6s} {name} {n_ls:6d} LS: {min(times):6.2f} s, {data.occupancy.nbytes / 1e9:.2f} GB")
            del data
    result = {
        "benchmark": "simulate",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(Path(__file__).parent),
        "machine": machine_info(),
        "versions": package_versions(),
        "rows": rows,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(f"wrote {OUT}")
    return result


if __name__ == "__main__":
    main()
