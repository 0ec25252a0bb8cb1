"""The sparse DBM on emulated p-bit hardware (issue 20): MNIST test accuracy of the shipped Niazi-graph model when
its p-bits run on each substrate knob of the p-bit study (fixed-point weights, comparator bits, LFSRs, a tanh
look-up table, simultaneous updates, stochastic MTJs), one knob at a time, on the same test images, read-out and
seed (:func:`paradigmlab.ebm.experiments.dbm_substrate_study`).

    .venv/bin/python benchmarks/ebm_dbm_substrates.py [--n 500] [--json benchmarks/results/ebm_dbm_substrates.json]

Writes the JSON and a PNG beside it (the report's DBM section reads the JSON). About 8 minutes on 2 cores at n=500.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from paradigmlab.ebm.dbm import SparseDBM
from paradigmlab.ebm.experiments import SHIPPED_MODEL, dbm_substrate_study, load_split
from paradigmlab.ebm.reproduce import plot_dbm_substrates
from paradigmlab.measure import write_json_atomic


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=500, help="test images per knob")
    ap.add_argument("--json", default="benchmarks/results/ebm_dbm_substrates.json")
    args = ap.parse_args()
    split = load_split()
    if split.test_is_holdout:
        raise SystemExit("needs the MNIST test set (../shared/data/mnist): the shipped model was trained on the "
                         "embedded images")
    r = dbm_substrate_study(SparseDBM.load(SHIPPED_MODEL), split, n=args.n)
    r["model_file"] = "benchmarks/results/ebm_dbm_sm20_fit_model.npz"
    print(f"machine: {r['machine']['processor']}, {r['machine']['cpu_count']} CPUs; {r['test_images']} test images, "
          f"read-out {r['readout']}")
    for row in r["rows"]:
        print(f"{row['knob']:<60} {100 * row['accuracy']:6.2f} +- {100 * row['stderr']:.2f} %  "
              f"({row['kernel']}, {row['seconds']:.1f} s)")
    write_json_atomic(args.json, r)
    plot_dbm_substrates(r, Path(args.json).with_suffix(".png"))


if __name__ == "__main__":
    main()
