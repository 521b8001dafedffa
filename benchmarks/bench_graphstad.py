"""Benchmark: GraphSTAD training throughput and single-window inference latency at full HE geometry.

Compares, in the same run and on the same inputs:

* **hcaltl** — :class:`hcaltl.models.GraphSTAD` (static-graph GCN: one sparse product per layer for
  all B·T lumisections; channels-last encoder convolutions);
* **reference** — the same architecture written the straightforward way: PyTorch Geometric's
  ``GCNConv`` with its defaults applied lumisection by lumisection in a Python loop, default
  memory layout.

Run on demand (``python benchmarks/bench_graphstad.py``); writes ``benchmarks/results/graphstad.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn
from torch_geometric.nn import GCNConv

from hcaltl.graph import build_edge_index
from hcaltl.models import GraphSTAD
from hcaltl.report import git_commit, machine_info, package_versions
from hcaltl.train import masked_mse

OUT = Path(__file__).parent / "results" / "graphstad.json"


class LoopGraphEncoder(nn.Module):
    """GCNConv (PyG defaults) applied to one lumisection at a time, then attention pooling per half."""

    def __init__(self, width: int, edge_index: torch.Tensor, pool: nn.Module) -> None:
        super().__init__()
        chans = [1, width, width, width, width]
        self.convs = nn.ModuleList(GCNConv(a, b) for a, b in zip(chans[:-1], chans[1:]))
        self.register_buffer("edge_index", edge_index)
        self.pool = pool

    def forward(self, adj, nodes, half):  # same signature as hcaltl's GraphEncoder
        out = []
        for s in range(nodes.shape[0]):
            h = nodes[s].unsqueeze(-1)
            for conv in self.convs:
                h = torch.relu(conv(h, self.edge_index))
            out.append(self.pool(h, half, dim_size=2))
        return torch.stack(out)


def reference_model(latent: int) -> GraphSTAD:
    model = GraphSTAD("HE", latent=latent)
    model.enc_gnn = LoopGraphEncoder(model.config.width, build_edge_index(model.geometry), model.enc_gnn.pool)
    model.enc_cnn.to(memory_format=torch.contiguous_format)
    model._halves_fast = model._halves
    model._halves = lambda x: model._halves_fast(x).contiguous()
    return model


def time_training(model: GraphSTAD, batch: torch.Tensor, steps: int) -> float:
    """Seconds per optimiser step (median of ``steps`` after two warm-up steps)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    times = []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = masked_mse(model(batch), batch, model.mask)
        loss.backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


@torch.no_grad()
def time_inference(model: GraphSTAD, window: torch.Tensor, repeats: int) -> float:
    model.eval()
    for _ in range(3):
        model(window)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model(window)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(latent: int = 8, batch_size: int = 4, steps: int = 5, repeats: int = 20) -> dict:
    torch.manual_seed(0)
    batch = torch.rand(batch_size, 5, 64, 72, 7)
    window = batch[:1]
    rows = {}
    for name, build in (("hcaltl", lambda: GraphSTAD("HE", latent=latent)), ("reference", lambda: reference_model(latent))):
        model = build()
        step = time_training(model, batch, steps)
        infer = time_inference(model, window, repeats)
        rows[name] = {"seconds_per_step": step, "train_ls_per_second": batch_size * 5 / step, "inference_ms_per_window": 1e3 * infer}
        print(f"{name:10s} train {rows[name]['train_ls_per_second']:7.1f} LS/s   inference {rows[name]['inference_ms_per_window']:7.1f} ms/window")
    result = {
        "benchmark": "graphstad",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(Path(__file__).parent),
        "setup": {"subdetector": "HE", "channels": 6912, "window": 5, "latent": latent, "batch_windows": batch_size,
                  "device": "cpu", "threads": torch.get_num_threads()},
        "machine": machine_info(),
        "versions": package_versions(),
        "rows": [{"implementation": k, **v} for k, v in rows.items()],
        "speedup_train": rows["reference"]["seconds_per_step"] / rows["hcaltl"]["seconds_per_step"],
        "speedup_inference": rows["reference"]["inference_ms_per_window"] / rows["hcaltl"]["inference_ms_per_window"],
    }
    print(f"speed-up: training {result['speedup_train']:.2f}x, inference {result['speedup_inference']:.2f}x")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(f"wrote {OUT}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latent", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    main(latent=args.latent, steps=args.steps, repeats=args.repeats)
