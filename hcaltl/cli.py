"""The ``hcaltl`` command line.

    hcaltl geometry HE                      # channel counts of a subdetector
    hcaltl simulate HB --n-ls 7000 --seed 1 --out hb.npz
    hcaltl info hb.npz                      # what a saved data set holds
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from . import __version__


def _geometry(args: argparse.Namespace) -> int:
    from .geometry import get_geometry

    g = get_geometry(args.subdetector, args.depth_table)
    print(g.describe().to_string())
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from .geometry import get_geometry
    from .simulate import simulate

    g = get_geometry(args.subdetector, args.depth_table)
    data = simulate(g, args.n_ls, seed=args.seed, progress=not args.quiet)
    path = data.save(args.out)
    print(f"wrote {data.n_ls} LS of {g.name} ({g.n_channels} channels, {len(data.runs())} runs) to {path}")
    return 0


def _info(args: argparse.Namespace) -> int:
    from .data import OccupancyData

    data = OccupancyData.load(args.path)
    print(f"{args.path}: {data.subdetector}, {data.n_ls} LS, {data.geometry.n_channels} channels, "
          f"runs {data.runs().tolist()[:10]}{' …' if len(data.runs()) > 10 else ''}, normalised={data.normalised}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hcaltl", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"hcaltl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("geometry", help="print channel counts of HB or HE")
    p.add_argument("subdetector", choices=["HB", "HE"])
    p.add_argument("--depth-table", default=None, help="name of an HE/HB depth table")
    p.set_defaults(func=_geometry)

    p = sub.add_parser("simulate", help="simulate raw occupancy and save it to .npz")
    p.add_argument("subdetector", choices=["HB", "HE"])
    p.add_argument("--n-ls", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--depth-table", default=None)
    p.add_argument("--out", required=True)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_simulate)

    p = sub.add_parser("info", help="describe a saved occupancy file")
    p.add_argument("path")
    p.set_defaults(func=_info)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"hcaltl: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
