"""Benchmark: per-LS latency of online scoring at full HE geometry, three ways, in one run.

(a) PyTorch eager scoring a whole window (the offline path: ``model(window)``, every LS of the window re-encoded),
(b) :class:`hcaltl.online.StreamScorer` (each LS encoded once, its features kept),
(c) :class:`hcaltl.online.OnnxScorer` (the exported graph on ONNX Runtime).

Each path runs in its own process (peak memory is the process's), on the same simulated LS, after a warm-up;
median and p99 over ``--n-ls`` LS and the ratio to the 23.3 s lumisection. Run on demand (``make benchmark``);
writes ``benchmarks/results/online.json``, shown on the status page and in chapter 7.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "results" / "online.json"
PATHS = {
    "pytorch_window": "PyTorch eager, whole window",
    "stream": "StreamScorer (PyTorch, once per LS)",
    "onnxruntime": "ONNX Runtime, exported graph",
}
WARMUP = 20


def _setup(n_ls: int, threads: int):
    import torch

    from hcaltl.models import GraphSTAD
    from hcaltl.preprocess import ChannelScaler, renormalise
    from hcaltl.simulate import simulate

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = GraphSTAD("HE").eval()
    data = simulate(model.geometry, 4 * (n_ls + WARMUP + model.config.window), seed=1)
    runs, sizes = np.unique(data.run, return_counts=True)
    data = data.select(np.flatnonzero(data.run == runs[np.argmax(sizes)]))  # the longest run: no restart inside
    scaler = ChannelScaler(model.geometry).fit(renormalise(data).occupancy)
    return model, scaler, data


def run_path(path: str, n_ls: int, threads: int) -> dict:
    """Time one path in this process; returns its row."""
    import torch

    from hcaltl.data import LS_SECONDS
    from hcaltl.online import OnnxScorer, StreamScorer, export_onnx

    model, scaler, data = _setup(n_ls, threads)
    stream = StreamScorer(model, scaler)
    if path == "onnxruntime":
        onnx_file = Path(tempfile.mkdtemp()) / "he.onnx"
        export_onnx(model, onnx_file, scaler)
        stream = OnnxScorer(onnx_file, threads=threads)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = model.config.window
    times = []
    maps = scaler.transform((data.occupancy / data.n_events[:, None, None, None]).astype(np.float32))
    for i in range(data.n_ls):
        start = time.perf_counter()
        if path == "pytorch_window":
            if i >= t - 1:
                with torch.no_grad():
                    recon = model(torch.as_tensor(maps[None, i - t + 1 : i + 1]))
                    float((recon - torch.as_tensor(maps[i - t + 1 : i + 1])).abs().mean())
        else:
            stream.update(data.occupancy[i], data.n_events[i], run=int(data.run[i]), ls=int(data.ls[i]))
        times.append(time.perf_counter() - start)
    ms = np.array(times[WARMUP + t :][:n_ls]) * 1e3
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "path": path,
        "description": PATHS[path],
        "n_ls": int(len(ms)),
        "median_ms": float(np.median(ms)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
        "peak_rss_mb": peak / 1024,
        "rss_growth_mb": (peak - before) / 1024,
        "share_of_ls": float(np.median(ms) / 1e3 / LS_SECONDS),
    }


def main(n_ls: int = 240, threads: int = 2) -> dict:
    from hcaltl.experiments.provenance import git_commit, machine_info, package_versions

    rows = []
    for path in PATHS:
        done = subprocess.run(
            [sys.executable, __file__, "--one", path, "--n-ls", str(n_ls), "--threads", str(threads)],
            check=True,
            capture_output=True,
            text=True,
        )
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"{row['description']:40s} median {row['median_ms']:7.2f} ms  p99 {row['p99_ms']:7.2f} ms  "
            f"peak {row['peak_rss_mb']:7.0f} MB"
        )
    fastest = min(rows, key=lambda r: r["median_ms"])
    result = {
        "benchmark": "online",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(Path(__file__).parent),
        "machine": machine_info(),
        "versions": package_versions(),
        "setup": {
            "geometry": "HE (HE-SiPM-192, 6912 channels)",
            "latent": 8,
            "window": 5,
            "threads": threads,
            "n_ls": n_ls,
            "warmup_ls": WARMUP,
        },
        "rows": rows,
        "fastest": fastest["path"],
        "speedup_vs_window": {r["path"]: rows[0]["median_ms"] / r["median_ms"] for r in rows},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(f"wrote {OUT}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", choices=list(PATHS), help="time one path in this process and print its row")
    parser.add_argument("--n-ls", type=int, default=240)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_path(args.one, args.n_ls, args.threads)))
    else:
        main(args.n_ls, args.threads)
