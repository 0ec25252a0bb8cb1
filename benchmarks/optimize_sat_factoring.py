"""Random 3-SAT at the threshold and invertible-logic factoring on the p-bit computer.

3-SAT: 100 variables, 430 clauses, generated from a fixed seed and checked
satisfiable with pycosat; solve rate and median time over repeated runs.
Factoring: balanced semiprimes of 10, 14, 16 and 20 bits; median time to factor.

    .venv/bin/python benchmarks/optimize_sat_factoring.py [--sat-runs 20] [--per-bits 5]

Writes benchmarks/results/optimize_sat_factoring.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from paradigmlab.measure import machine_info, write_json_atomic
from paradigmlab.optimize import experiments as ex

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sat-runs", type=int, default=20)
    ap.add_argument("--sat-time", type=float, default=20.0, help="seconds per 3-SAT run")
    ap.add_argument("--bits", nargs="+", type=int, default=[10, 14, 16, 20])
    ap.add_argument("--per-bits", type=int, default=5, help="semiprimes per bit length")
    ap.add_argument("--factor-time", type=float, default=60.0, help="seconds per factoring run")
    args = ap.parse_args()
    machine = machine_info()
    print(f"machine: {machine['processor']}, {machine['cpu_count']} CPUs, numba threads {machine.get('numba_threads')}")
    out = RESULTS / "optimize_sat_factoring.json"
    result = {"machine": machine, "args": vars(args)}
    result["sat"] = ex.sat_experiment(runs=args.sat_runs, time_limit=args.sat_time)
    s = result["sat"]
    print(f"3-SAT {s['num_vars']} vars / {s['num_clauses']} clauses (seed {s['instance_seed']}): solved "
          f"{s['solved']}/{s['runs']}, median time of solved runs {s['median_time_s']}, TTS(99%) {s['tts']['tts']:.3g} s")
    write_json_atomic(out, result)
    result["factoring"] = ex.factoring_experiment(args.bits, args.per_bits, args.factor_time)
    for f in result["factoring"]:
        print(f"factoring {f['bits']:>2} bits: {f['solved']}/{f['runs']} factored, median time {f['median_time_s']} s")
    write_json_atomic(out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
