"""Gset Max-Cut side by side under the same wall-clock budget on this machine's cores.

Solvers: ours (p-bit annealing, p-bit parallel tempering), dwave-samplers
SimulatedAnnealingSampler, OpenJij SASampler (both restarted with doubling
sweeps in one process per core), simulated-bifurcation (torch, all cores).
Our solvers stop at the best-known cut; baselines run the whole budget and
their first time at the best-known cut is read off their trace.

    .venv/bin/python benchmarks/optimize_maxcut.py [--graphs G11 G14 ...] [--seeds 0 1 2]

Writes benchmarks/results/optimize_maxcut.json (runs, summary, machine), the
checkpoint optimize_maxcut_runs.json (rerun to resume) and optimize_maxcut.png.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from paradigmlab.measure import machine_info, write_json_atomic
from paradigmlab.optimize import experiments as ex

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--graphs", nargs="+", default=["G11", "G14", "G43", "G22", "G55"])
    ap.add_argument("--solvers", nargs="+", default=list(ex.OURS) + list(ex.BASELINES))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--budget-small", type=float, default=10.0, help="seconds per run on graphs of <= 800 nodes")
    ap.add_argument("--budget-large", type=float, default=60.0, help="seconds per run on larger graphs")
    ap.add_argument("--tag", default="", help="suffix for the output files")
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "optimize_maxcut" + (f"_{args.tag}" if args.tag else "")
    machine = machine_info()
    print(f"machine: {machine['processor']}, {machine['cpu_count']} CPUs, numba threads "
          f"{machine.get('numba_threads')}, torch threads {machine.get('torch_threads')}")
    instances = ex.gset_instances(args.graphs, RESULTS / "generated_graphs")
    for i in instances:
        print(f"{i.name}: N={i.problem.num_nodes}, edges={i.problem.W.nnz // 2}, best-known {i.best_known}")
    t0 = time.perf_counter()
    rows = ex.maxcut_runs(instances, args.solvers,
                          lambda i: args.budget_small if i.problem.num_nodes <= 800 else args.budget_large,
                          args.seeds, checkpoint=RESULTS / f"{name}_runs.json")
    summary = ex.maxcut_summary(rows)
    print(ex.maxcut_markdown(summary))
    for base in ex.BASELINES:
        print(f"best of ours vs {base}: {ex.head_to_head(summary, base)}")
    ex.plot_traces(rows, RESULTS / f"{name}.png")
    write_json_atomic(RESULTS / f"{name}.json", {"machine": machine, "args": vars(args), "summary": summary,
                                                 "runs": rows, "seconds": time.perf_counter() - t0},
                      indent=None)  # one line: the traces are long
    print(f"wrote {RESULTS / (name + '.json')} and {name}.png")


if __name__ == "__main__":
    main()
