"""What a default ``PBitSampler.sample(model, 64, 300)`` call costs on top of its bare sweeps.

Times the call (kernel set-up, 300 sweeps, final states read once, their
energies) against ``kernel.run`` of the same 300 sweeps on a kept kernel, on
the random 6-regular 4,096-node graph and the Niazi graph; medians of repeats
after a warm-up (:func:`paradigmlab.pbit.experiments.sample_overhead`). Goal:
ratio <= 1.25. Prints machine, sizes, repeats, medians and the ratio.

    .venv/bin/python benchmarks/pbit_sample_overhead.py [--json benchmarks/results/pbit_sample_overhead.json] [--repeats 5]

Writes the JSON and a PNG beside it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from paradigmlab.measure import write_json_atomic
from paradigmlab.pbit import experiments
from paradigmlab.pbit.bench import plot_sample_overhead


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", default="benchmarks/results/pbit_sample_overhead.json", help="JSON file to write")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--chains", type=int, default=64)
    ap.add_argument("--sweeps", type=int, default=300)
    ap.add_argument("--backend", default="numba")
    args = ap.parse_args()
    report = experiments.sample_overhead(chains=args.chains, sweeps=args.sweeps, repeats=args.repeats,
                                         backend=args.backend)
    m = report["machine"]
    print(f"machine: {m['processor']}, {m['cpu_count']} CPUs, numba threads {m.get('numba_threads')}")
    for r in report["results"]:
        print(f"{r['graph']:30s} N={r['N']} edges={r['edges']} {r['chains']} chains x {r['sweeps']} sweeps, "
              f"{r['repeats']} repeats: kernel.run {r['kernel_run_s']['median_s'] * 1e3:.1f} ms, "
              f"sample() {r['sample_s']['median_s'] * 1e3:.1f} ms, ratio {r['ratio']:.3f} "
              f"(goal <= {report['goal_ratio']})")
    write_json_atomic(args.json, report)
    png = str(Path(args.json).with_suffix(".png"))
    plot_sample_overhead(report, png)
    print(f"wrote {args.json} and {png}")


if __name__ == "__main__":
    main()
