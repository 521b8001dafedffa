"""Benchmark: GraphSTAD training throughput and single-window inference latency at full HE geometry.

Compares, in the same process, on the same inputs and with the same weights:

* **hcaltl** — :class:`hcaltl.models.GraphSTAD`: static-graph GCN (one sparse product per layer for all
  B·T lumisections, dense attention pooling over the two halves), channels-last encoder convolutions, the
  first encoder block pooled before its BatchNorm/LeakyReLU with batch statistics from input moments,
  BatchNorm folded into the convolutions at inference, the decoder's one-channel transposed convolution as a
  product over channels plus shifted sums, ReLU in place without autograd copies;
* **reference** — the same architecture written the straightforward way: the CNN blocks as their modules in
  sequence (Conv3d → BatchNorm3d → LeakyReLU → MaxPool3d, default memory layout), and PyTorch Geometric's
  ``GCNConv`` with its defaults applied lumisection by lumisection in a Python loop, then PyG's
  ``AttentionalAggregation`` by scatter. Before timing, the two are checked to give the same output
  (on hcaltl's graph without self-loops; the timed reference uses GCNConv's default self-loops).

Both run after :func:`hcaltl.utils.keep_freed_memory` (as :func:`hcaltl.train.fit` does); the time of
the hcaltl model without it is reported too. Rounds alternate between the implementations so that drifts
of a shared machine hit both. Run on demand (``python benchmarks/bench_graphstad.py``); writes
``benchmarks/results/graphstad.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode
from torch_geometric.nn import GCNConv

from hcaltl.experiments.provenance import git_commit, machine_info, package_versions
from hcaltl.graph import build_edge_index
from hcaltl.models import GraphSTAD
from hcaltl.train import masked_mse
from hcaltl.utils import keep_freed_memory

OUT = Path(__file__).parent / "results" / "graphstad.json"


class LoopGraphEncoder(nn.Module):
    """GCNConv applied to one lumisection at a time, then attention pooling per half.

    Built without self-loops (hcaltl's graph, as DGL's ``GraphConv`` of the authors) so that the two models
    can be checked to agree; :func:`use_pyg_defaults` then restores PyG's defaults for the timing
    (self-loops added and the normalisation recomputed at every call, no caching).
    """

    def __init__(self, width: int, edge_index: torch.Tensor, pool: nn.Module, node_half: torch.Tensor) -> None:
        super().__init__()
        chans = [1, width, width, width, width]
        self.convs = nn.ModuleList(GCNConv(a, b, add_self_loops=False) for a, b in zip(chans[:-1], chans[1:]))
        self.register_buffer("edge_index", edge_index)
        self.register_buffer("node_half", node_half)
        self.pool = pool

    def forward(self, adj, nodes, half_sizes):  # same signature as hcaltl's GraphEncoder
        out = []
        for s in range(nodes.shape[0]):
            h = nodes[s].unsqueeze(-1)
            for conv in self.convs:
                h = torch.relu(conv(h, self.edge_index))
            out.append(self.pool(h, self.node_half, dim_size=2))
        return torch.stack(out)


def use_pyg_defaults(model: GraphSTAD) -> None:
    """Switch the reference's GCNConv layers back to PyG's default ``add_self_loops=True``."""
    for conv in model.enc_gnn.convs:
        conv.add_self_loops = True


class PlainCNNEncoder(nn.Module):
    """The encoder blocks' modules called in sequence."""

    def __init__(self, blocks: nn.ModuleList, plan: list[dict]) -> None:
        super().__init__()
        self.blocks, self.plan = blocks, plan

    def forward(self, x):
        indices = []
        for block, p in zip(self.blocks, self.plan):
            x = nn.functional.leaky_relu(block["bn"](block["conv"](x)), 0.5)
            x, idx = nn.functional.max_pool3d(x, p["pool"], p["pool"], ceil_mode=True, return_indices=True)
            indices.append(idx)
        return x, indices


class PlainCNNDecoder(nn.Module):
    """The decoder blocks' modules called in sequence."""

    def __init__(self, blocks: nn.ModuleList, out: nn.Module, plan: list[dict]) -> None:
        super().__init__()
        self.blocks, self.out, self.plan = blocks, out, plan

    def forward(self, x, indices):
        for block, p, idx in zip(self.blocks, self.plan, indices[::-1]):
            x = nn.functional.max_unpool3d(x, idx, p["pool"], p["pool"], output_size=p["in"])
            x = nn.functional.leaky_relu(block["bn"](block["deconv"](x)), 0.5)
        return self.out(x)


def reference_model(model: GraphSTAD) -> GraphSTAD:
    """A copy of ``model`` whose CNN and GNN blocks run the straightforward way (same parameters)."""
    ref = GraphSTAD("HE", latent=model.config.latent)
    ref.load_state_dict(model.state_dict())
    ref.enc_cnn.to(memory_format=torch.contiguous_format)
    ref.enc_cnn = PlainCNNEncoder(ref.enc_cnn.blocks, ref.enc_cnn.plan)
    ref.dec_cnn = PlainCNNDecoder(ref.dec_cnn.blocks, ref.dec_cnn.out, ref.dec_cnn.plan)
    loop = LoopGraphEncoder(model.config.width, build_edge_index(model.geometry), ref.enc_gnn.pool, ref.node_half)
    with torch.no_grad():
        for mine, pyg in zip(ref.enc_gnn.convs, loop.convs):
            pyg.lin.weight.copy_(mine.lin.weight)
            pyg.bias.copy_(mine.bias)
    ref.enc_gnn = loop
    ref._halves_fast = ref._halves
    ref._halves = lambda x: ref._halves_fast(x).contiguous()
    return ref


def training_times(model: GraphSTAD, batch: torch.Tensor, steps: int) -> list[float]:
    """Seconds of each of ``steps`` optimiser steps (after one warm-up step)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = masked_mse(model(batch), batch, model.mask)
        loss.backward()
        opt.step()
        if i >= 1:
            times.append(time.perf_counter() - t0)
    return times


@torch.no_grad()
def inference_times(model: GraphSTAD, window: torch.Tensor, repeats: int) -> list[float]:
    model.eval()
    for _ in range(2):
        model(window)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model(window)
        times.append(time.perf_counter() - t0)
    return times


class _RecordOps(TorchDispatchMode):
    """Records every ATen operation (with its arguments) called while active."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.calls.append((func, args, kwargs))
        return func(*args, **kwargs)


@torch.no_grad()
def _replay(calls: list[tuple], repeats: int) -> tuple[float, dict[str, float]]:
    """Each recorded operation run alone ``repeats`` times after a warm-up: the sum of the best times (s),
    and that sum per operator, largest first (ms)."""
    total, per_op = 0.0, {}
    for func, args, kwargs in calls:
        func(*args, **kwargs)
        best = min(_seconds(lambda f=func, a=args, k=kwargs: f(*a, **k)) for _ in range(repeats))
        total += best
        per_op[str(func)] = per_op.get(str(func), 0.0) + 1e3 * best
    return total, dict(sorted(per_op.items(), key=lambda kv: -kv[1]))


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def kernel_floor(model: GraphSTAD, batch: torch.Tensor, repeats: int = 5) -> dict:
    """What one window's inference and one training forward + backward would cost if nothing but the library
    kernels ran: every ATen operation they call, replayed alone on its recorded inputs (warm caches), best of
    ``repeats``, summed. The measured times minus this are Python, dispatch and memory overhead; a target
    below it needs faster kernels, not less overhead."""
    model.eval()
    with torch.no_grad(), _RecordOps() as infer_rec:
        model(batch[:1])
    infer, infer_ops = _replay(infer_rec.calls, repeats)
    model.train()
    with _RecordOps() as train_rec:
        masked_mse(model(batch), batch, model.mask).backward()
    model.zero_grad(set_to_none=True)
    train, train_ops = _replay(train_rec.calls, repeats)
    return {
        "inference_ms_per_window": 1e3 * infer,
        "inference_aten_calls": len(infer_rec.calls),
        "inference_top_ms": _top(infer_ops),
        "train_forward_backward_seconds": train,
        "train_aten_calls": len(train_rec.calls),
        "train_top_ms": _top(train_ops),
    }


def _top(per_op: dict[str, float], n: int = 6) -> dict[str, float]:
    return {name: round(ms, 2) for name, ms in list(per_op.items())[:n]}


def _flops(run) -> float:
    """Floating-point operations of ``run()``: PyTorch's counter, with sparse–dense products counted by their
    non-zeros (the counter prices them as dense [N, N] products)."""
    with FlopCounterMode(display=False) as counter, _RecordOps() as rec:
        run()
    flops = float(counter.get_total_flops())
    for func, args, _ in rec.calls:
        if func.overloadpacket is torch.ops.aten.addmm:
            sparse, dense = args[1], args[2]
            if sparse.layout != torch.strided:
                n, k = sparse.shape
                flops += 2.0 * dense.shape[1] * (sparse._nnz() - n * k)
    return flops


def gemm_rate(size: int = 2048, repeats: int = 5) -> float:
    """This machine's float32 matrix-product rate (FLOP/s) on large square matrices: the best case of its
    vector units, as a yardstick for the model's arithmetic."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    return 2.0 * size**3 / min(_seconds(lambda: a @ b) for _ in range(repeats))


def arithmetic(model: GraphSTAD, batch: torch.Tensor) -> dict:
    """Arithmetic of one window's inference and of one training forward + backward, and the time it would
    take at this machine's large-GEMM rate (a lower bound: no kernel of the model is as efficient)."""
    model.eval()
    with torch.no_grad():
        infer = _flops(lambda: model(batch[:1]))
    model.train()
    train = _flops(lambda: masked_mse(model(batch), batch, model.mask).backward())
    model.zero_grad(set_to_none=True)
    rate = gemm_rate()
    return {
        "inference_gflop_per_window": infer / 1e9,
        "train_forward_backward_gflop": train / 1e9,
        "gemm_gflop_per_second": rate / 1e9,
        "inference_ms_at_gemm_rate": 1e3 * infer / rate,
        "train_seconds_at_gemm_rate": train / rate,
    }


def _without_allocator_setting(latent: int, steps: int) -> float:
    """Median training step of the hcaltl model in a fresh process that keeps glibc's default thresholds."""
    here = str(Path(__file__).parent)
    code = (
        f"import statistics, torch, sys; sys.path.insert(0, {here!r}); from bench_graphstad import training_times;"
        "from hcaltl.models import GraphSTAD; torch.manual_seed(0); b = torch.rand(4, 5, 64, 72, 7);"
        f"print(statistics.median(training_times(GraphSTAD('HE', latent={latent:d}), b, {steps:d})))"
    )
    return float(
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()[-1]
    )


def main(latent: int = 8, batch_size: int = 4, steps: int = 3, repeats: int = 10, rounds: int = 3) -> dict:
    keep_freed_memory()
    torch.manual_seed(0)
    batch = torch.rand(batch_size, 5, 64, 72, 7)
    window = batch[:1]
    fast = GraphSTAD("HE", latent=latent)
    models = {"hcaltl": fast, "reference": reference_model(fast)}
    with torch.no_grad():  # same parameters, same function: the two must agree before they are timed
        fast.eval(), models["reference"].eval()
        agree = float((fast(window) - models["reference"](window)).abs().max())
    if agree > 1e-3:
        raise RuntimeError(f"the reference and hcaltl models disagree by {agree:.2e}")
    use_pyg_defaults(models["reference"])
    step_times = {k: [] for k in models}
    infer_times = {k: [] for k in models}
    for _ in range(rounds):  # alternate, so that a slow spell of the machine hits both
        for name, model in models.items():
            step_times[name] += training_times(model, batch, steps)
            infer_times[name] += inference_times(model, window, repeats)
    rows = {}
    for name in models:
        step, infer = statistics.median(step_times[name]), statistics.median(infer_times[name])
        rows[name] = {
            "seconds_per_step": step,
            "seconds_per_step_min": min(step_times[name]),
            "train_ls_per_second": batch_size * 5 / step,
            "inference_ms_per_window": 1e3 * infer,
            "inference_ms_per_window_min": 1e3 * min(infer_times[name]),
        }
        print(
            f"{name:10s} train {rows[name]['train_ls_per_second']:7.1f} LS/s   inference "
            f"{rows[name]['inference_ms_per_window']:7.1f} ms/window"
        )
    default_alloc = _without_allocator_setting(latent, steps + 2)
    print(f"hcaltl with glibc's default malloc thresholds: {default_alloc:.3f} s per step")
    floor = kernel_floor(fast, batch)
    print(
        f"hcaltl kernel floor: inference {floor['inference_ms_per_window']:.1f} ms/window, "
        f"training forward + backward {floor['train_forward_backward_seconds']:.3f} s"
    )
    work = arithmetic(fast, batch)
    print(
        f"arithmetic: {work['inference_gflop_per_window']:.2f} GFLOP per window "
        f"({work['inference_ms_at_gemm_rate']:.1f} ms at {work['gemm_gflop_per_second']:.0f} GFLOP/s), "
        f"{work['train_forward_backward_gflop']:.2f} GFLOP per training forward + backward "
        f"({work['train_seconds_at_gemm_rate']:.3f} s)"
    )
    result = {
        "benchmark": "graphstad",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(Path(__file__).parent),
        "setup": {
            "subdetector": "HE",
            "channels": 6912,
            "window": 5,
            "latent": latent,
            "batch_windows": batch_size,
            "device": "cpu",
            "threads": torch.get_num_threads(),
            "rounds": rounds,
            "steps_per_round": steps,
            "inference_repeats_per_round": repeats,
            "statistic": "median",
        },
        "machine": machine_info(),
        "versions": package_versions(),
        "rows": [{"implementation": k, **v} for k, v in rows.items()],
        "hcaltl_seconds_per_step_default_malloc": default_alloc,
        "hcaltl_kernel_floor": floor,
        "hcaltl_arithmetic": work,
        "max_abs_difference_of_outputs": agree,
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
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per round")
    parser.add_argument("--repeats", type=int, default=10, help="timed inferences per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    main(latent=args.latent, steps=args.steps, repeats=args.repeats, rounds=args.rounds)
