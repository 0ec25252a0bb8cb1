"""Multispin coding (64 chains per machine word) against the numba kernel, side by side (issue 20).

Both sample the same +-J models (the throughput benchmark's 128x128 periodic +-J lattice and random 6-regular
graph of 4,096 p-bits with +-1 couplings; the Gaussian Niazi graph is listed as not applicable to multispin
coding) at beta 1, with 64, 1,024 and 4,096 chains (one word per p-bit, and rows of 16 and 64 words: the two loop
orders of ``paradigmlab.pbit.multispin``), on every core numba has: attempted updates per wall ns, median of
``--repeats`` after a warm-up call (which absorbs compilation). Goal: >= 10 flips/ns on 2 cores.

    .venv/bin/python benchmarks/pbit_multispin.py [--sweeps 100] [--repeats 5] [--chains 64 1024 4096] [--json benchmarks/results/pbit_multispin.json]

Writes the JSON and a PNG bar chart beside it; prints machine, sizes, repeats and medians.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from paradigmlab.measure import write_json_atomic
from paradigmlab.pbit.bench import plot_throughput, run_throughput

GOAL = 10.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sweeps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--chains", type=int, nargs="+", default=[64, 1024, 4096])
    ap.add_argument("--json", default="benchmarks/results/pbit_multispin.json")
    args = ap.parse_args()
    graphs = ["random-6-regular-4096 (+-1)", "lattice-128x128-periodic (+-J)", "niazi2024-4264 (gaussian)"]
    report = None
    for chains in args.chains:
        part = run_throughput(graphs, chains=chains, sweeps=args.sweeps, repeats=args.repeats,
                              backends=("numba", "multispin"), competitors=())
        report = part if report is None else {**report, "results": report["results"] + part["results"]}
    report["what"] = ("multispin coding vs the numba kernel: attempted updates per wall ns at beta 1, median of "
                      "repeats after a warm-up call")
    report["goal_flips_per_ns"] = GOAL
    for chains in args.chains:
        for g in graphs:
            row = {r["sampler"]: r for r in report["results"] if r["graph"] == g and r["chains"] == chains}
            ms, nb = row.get("paradigmlab-multispin", {}), row.get("paradigmlab-numba", {})
            if "flips_per_ns" in ms and "flips_per_ns" in nb:
                print(f"{g:32s} {chains:5d} chains: multispin / numba = {ms['flips_per_ns'] / nb['flips_per_ns']:.2f}x")
    path = Path(args.json)
    write_json_atomic(path, report)
    plot_throughput(report, str(path.with_suffix(".png")))
    print(f"wrote {path} and {path.with_suffix('.png')}")


if __name__ == "__main__":
    main()
