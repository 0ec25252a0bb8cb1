"""Emulated p-bit hardware (issue 20): each substrate knob's total-variation distance to the exact law and its
annealed Max-Cut, one knob at a time (:func:`paradigmlab.pbit.experiments.substrate_study`, full size).

    .venv/bin/python benchmarks/pbit_substrates.py [--json benchmarks/results/pbit_substrates.json]

Writes the JSON (machine included) and the PNG beside it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from paradigmlab.measure import machine_info, write_json_atomic
from paradigmlab.pbit import experiments
from paradigmlab.pbit.reproduce import plot_substrates


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", default="benchmarks/results/pbit_substrates.json")
    args = ap.parse_args()
    t0 = time.perf_counter()
    study = experiments.substrate_study(quick=False)
    study["seconds"], study["machine"] = time.perf_counter() - t0, machine_info()
    path = Path(args.json)
    write_json_atomic(path, study)
    plot_substrates(study, path.with_suffix(".png"))
    cuts = {r["knob"]: r["best_cut"] for r in study["maxcut"]["rows"]}
    for r in study["rows"]:
        print(f"{r['knob']:55s} TV {r['tv']:.4f}   best cut {cuts[r['knob']]:.0f}")
    print(f"i.i.d. floor {study['iid_floor_tv']:.4f}; wrote {path} ({study['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
