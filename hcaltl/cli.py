"""The ``hcaltl`` command line.

    hcaltl geometry HE                      # channel counts of a subdetector
    hcaltl geometry --list                  # every named geometry and era
    hcaltl geometry HB --era run3
    hcaltl inspect dqm.hdf5                 # what a DQM file holds, events per LS, which era fits
    hcaltl convert dqm.hdf5 --geometry HB --era 2017 --out hb.npz
    hcaltl simulate HB --n-ls 7000 --seed 1 --out hb.npz
    hcaltl info hb.npz                      # what a saved data set holds
    hcaltl configs                          # the transfer-learning configurations
    hcaltl export-onnx scorer.pt --out model.onnx   # a calibrated online scorer as one ONNX graph
    hcaltl score hb.npz --model model.onnx          # per-LS flagged channels of raw counts (or --model scorer.pt)
    hcaltl sweep --preset paper --seeds 1 2 3 --out results/paper    # the book's paper-scale runs, on Dask

The command line is where the two wings meet: every command but ``sweep`` uses the library alone; ``sweep``
runs the book's experiments of chapters 3-5 (``hcaltl.experiments.sweep``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from . import __version__


def _geometry(args: argparse.Namespace) -> int:
    from .geometry import ERAS, geometries_table, get_geometry

    if args.list:
        print(geometries_table().drop(columns="description").to_string())
        print("\neras: " + "; ".join(f"{e}: HB {g['HB']}, HE {g['HE']}" for e, g in ERAS.items()))
        return 0
    if args.subdetector is None:
        raise ValueError("name a subdetector or geometry (HB, HE, HE-2017, …) or pass --list")
    g = get_geometry(args.subdetector, args.depth_table, era=args.era)
    print(g.describe().to_string())
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from .dqm import describe_file, read_dqm_hdf5

    print(describe_file(read_dqm_hdf5(args.path, args.maps)))
    return 0


def _convert(args: argparse.Namespace) -> int:
    from .geometry import get_geometry
    from .loaders import load

    g = get_geometry(args.geometry, args.depth_table, era=args.era)
    kwargs = {}
    if args.path.lower().endswith((".hdf5", ".h5")):  # the ROOT files carry their own events, runs and LS
        kwargs = {"n_events": args.n_events, "maps": args.maps, "run": args.run}
    data = load(args.path, g, **kwargs)
    path = data.save(args.out)
    outside = data.meta.get("hits_by_region", {})
    print(
        f"wrote {data.n_ls} LS of {g.name} ({g.depth_table_name}, {g.n_channels} channels) to {path}; "
        f"hits left out per region: { ({k: int(v) for k, v in outside.items()}) }"
    )
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from .geometry import get_geometry
    from .simulate import simulate

    g = get_geometry(args.subdetector, args.depth_table, era=args.era)
    data = simulate(g, args.n_ls, seed=args.seed, progress=not args.quiet)
    path = data.save(args.out)
    print(f"wrote {data.n_ls} LS of {g.name} ({g.n_channels} channels, {len(data.runs())} runs) to {path}")
    return 0


def _info(args: argparse.Namespace) -> int:
    from .data import OccupancyData

    data = OccupancyData.load(args.path)
    print(
        f"{args.path}: {data.subdetector}, {data.n_ls} LS, {data.geometry.n_channels} channels, "
        f"runs {data.runs().tolist()[:10]}{' …' if len(data.runs()) > 10 else ''}, normalised={data.normalised}"
    )
    return 0


def _configs(args: argparse.Namespace) -> int:
    from .transfer import configs_table

    print(configs_table().to_string())
    return 0


def _export_onnx(args: argparse.Namespace) -> int:
    from .online import export_onnx, load_scorer

    scorer = load_scorer(args.checkpoint)
    threshold = scorer.threshold if args.threshold is None else args.threshold
    path = export_onnx(scorer.model, args.out, scorer.scaler, scorer.noise, masked=scorer.masked, threshold=threshold)
    print(
        f"wrote {path}: {scorer.geometry.name} ({scorer.geometry.depth_table_name}), window {scorer.window} LS, "
        f"threshold {threshold:g} σ; inputs input_data [1, 64, 72, {scorer.geometry.max_depth}, 1], input_data_exo, "
        "anomaly_std_th, feature_history"
    )
    return 0


def _score(args: argparse.Namespace) -> int:
    from .data import OccupancyData
    from .online import OnnxScorer, load_scorer

    scorer = OnnxScorer(args.model) if str(args.model).endswith(".onnx") else load_scorer(args.model)
    if args.threshold is not None:
        scorer.threshold = args.threshold
    replay = scorer.replay(OccupancyData.load(args.path), progress=not args.quiet)
    print(replay.table[["run", "ls", "status", "n_flagged"]].to_string(index=False))
    if args.out:
        scored = replay.table[replay.scored]
        np.savez_compressed(
            args.out,
            run=scored["run"].to_numpy(),
            ls=scored["ls"].to_numpy(),
            scores=replay.scores,
            flags=replay.flags,
            threshold=scorer.threshold,
        )
        print(f"wrote per-channel scores of {len(scored)} LS to {args.out}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from .experiments.cells import Spec
    from .experiments.sweep import CONTAMINATION_RATES, PAPER_FRACTIONS, plan, progress_table, sweep
    from .transfer import PAPER_PAIRS

    for name in ("epochs", "n_ls_he", "n_ls_hb", "n_anomalies", "workers", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be a positive integer, got {value}")
    cells = plan(
        args.chapters,
        args.seeds,
        pairs=args.pairs or PAPER_PAIRS,
        fractions=args.fractions or PAPER_FRACTIONS,
        rates=args.rates if args.rates is not None else CONTAMINATION_RATES,
        kinds=args.kinds,
    )
    spec = Spec(
        preset=args.preset,
        n_ls_he=args.n_ls_he,
        n_ls_hb=args.n_ls_hb,
        epochs=args.epochs,
        n_anomalies=args.n_anomalies or 1000,
        device=args.device,
    )
    if args.plan:
        print(progress_table(args.out, cells).to_string())
        return 0
    table = sweep(
        args.out,
        cells,
        spec,
        scheduler=args.scheduler,
        workers=args.workers or 1,
        threads=args.threads or 1,
        progress=not args.quiet,
    )
    print(f"{len(table)} rows of {len(cells)} cells in {args.out}/cells")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hcaltl", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"hcaltl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("geometry", help="print channel counts of HB or HE, of any era")
    p.add_argument("subdetector", nargs="?", default=None, help="HB, HE or a named geometry such as HE-2017")
    p.add_argument("--depth-table", default=None, help="a named geometry of that subdetector")
    p.add_argument("--era", default=None, help="2016, 2017, 2018 (default) or run3")
    p.add_argument("--list", action="store_true", help="list every named geometry and era")
    p.set_defaults(func=_geometry)

    p = sub.add_parser("inspect", help="what a DQM HDF5 file holds: datasets, LS, events per LS, live cells, best era")
    p.add_argument("path")
    p.add_argument("--maps", default="digi", choices=["digi", "rechit"])
    p.set_defaults(func=_inspect)

    p = sub.add_parser("convert", help="load a real file for one detector and save the hcaltl container (.npz)")
    p.add_argument("path")
    p.add_argument("--geometry", required=True, help="HB, HE or a named geometry")
    p.add_argument("--depth-table", default=None)
    p.add_argument("--era", default=None, help="2016, 2017, 2018 or run3 (see hcaltl inspect)")
    p.add_argument("--n-events", default="hf", help="'hf' (default: estimated from HF) for DQM files")
    p.add_argument("--maps", default="digi", choices=["digi", "rechit"])
    p.add_argument("--run", type=int, default=None, help="run number (DQM files store none)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_convert)

    p = sub.add_parser("simulate", help="simulate raw occupancy and save it to .npz")
    p.add_argument("subdetector", help="HB, HE or a named geometry such as HE-2017")
    p.add_argument("--n-ls", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--depth-table", default=None)
    p.add_argument("--era", default=None, help="2016, 2017, 2018 (default) or run3")
    p.add_argument("--out", required=True)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_simulate)

    p = sub.add_parser("info", help="describe a saved occupancy file")
    p.add_argument("path")
    p.set_defaults(func=_info)

    p = sub.add_parser("configs", help="list the transfer-learning configurations")
    p.set_defaults(func=_configs)

    p = sub.add_parser("sweep", help="the book's paper-scale runs (chapters 3-5) as Dask tasks; reruns resume")
    p.add_argument("--out", required=True, help="results folder (cells/ holds one CSV per finished cell)")
    p.add_argument("--chapters", nargs="+", type=int, default=[3, 4, 5], help="any of 3 4 5 (default: all)")
    p.add_argument("--preset", default="paper", choices=["fast", "paper"])
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3], help="replica seeds (default: 1 2 3)")
    p.add_argument(
        "--pairs", nargs="+", default=None, help="INIT/TRAIN names, e.g. RANDOM/No-TL TL-7/TL-6 (default: the paper's)"
    )
    p.add_argument("--fractions", nargs="+", type=float, default=None, help="shares of the HB training windows")
    p.add_argument("--rates", nargs="*", type=float, default=None, help="contaminated shares (chapter 5)")
    p.add_argument(
        "--kinds",
        nargs="+",
        default=None,
        help="only these cell kinds (model baseline transfer detection comparison graphs contamination rin), "
        "with their HE sources",
    )
    p.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    p.add_argument("--n-ls-he", type=int, default=None, help="override the preset's HE lumisections")
    p.add_argument("--n-ls-hb", type=int, default=None, help="override the preset's HB lumisections")
    p.add_argument("--n-anomalies", type=int, default=None, help="anomalous windows per kind (default 1000)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--scheduler", default=None, help="address of a running Dask scheduler (default: a LocalCluster)")
    p.add_argument("--workers", type=int, default=None, help="LocalCluster worker processes (default 1)")
    p.add_argument("--threads", type=int, default=None, help="torch threads per cell (default 1)")
    p.add_argument("--plan", action="store_true", help="print cells done and planned, run nothing")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_sweep)

    p = sub.add_parser(
        "export-onnx", help="write a calibrated online scorer (hcaltl.online.save_scorer) as one ONNX graph"
    )
    p.add_argument("checkpoint", help="a checkpoint written by hcaltl.online.save_scorer")
    p.add_argument("--out", required=True, help="the .onnx file to write")
    p.add_argument(
        "--threshold", type=float, default=None, help="σ threshold stored as the default (else the scorer's)"
    )
    p.set_defaults(func=_export_onnx)

    p = sub.add_parser("score", help="score raw counts LS by LS with an ONNX graph or a saved scorer")
    p.add_argument("path", help="raw counts saved by hcaltl (.npz; real files: hcaltl convert first)")
    p.add_argument("--model", required=True, help="model.onnx (hcaltl export-onnx) or scorer.pt (save_scorer)")
    p.add_argument("--threshold", type=float, default=None, help="σ threshold (default: the model's)")
    p.add_argument("--out", default=None, help="write per-channel scores and flags of the scored LS (.npz)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_score)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, KeyError, RuntimeError, ConnectionError) as exc:
        print(f"hcaltl: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
