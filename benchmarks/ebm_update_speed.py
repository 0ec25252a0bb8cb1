"""Time per DBM learning update on the Niazi graph by thread setting: numba threads inside the
kernels against the phases of an update run side by side in Python threads (``TrainConfig.phase_threads``).

    .venv/bin/python benchmarks/ebm_update_speed.py [--updates 40 --repeats 5 --label-copies 40]

Every setting trains a fresh model from the same seed with the recipe (``experiments.DBM_RECIPE``, softmax
labels); after ``--warmup`` updates it times ``--repeats`` blocks of ``--updates`` updates and reports the
median ms per update. The weights after the last update are compared across settings (the run is a function
of its seed, so they must be bit-identical). Writes benchmarks/results/ebm_update_speed.{json,png}.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numba
import numpy as np

from paradigmlab.ebm import experiments as ex
from paradigmlab.ebm.dbm import SparseDBM
from paradigmlab.ebm.training import TrainConfig, Trainer
from paradigmlab.measure import Run
from paradigmlab.report import save_figure

RESULTS = Path(__file__).resolve().parent / "results"


def time_setting(split, numba_threads: int, phase_threads: int, args) -> dict:
    """Median seconds per update (and the final weights) of one thread setting."""
    numba.set_num_threads(numba_threads)
    model = SparseDBM.niazi2024(label_copies=args.label_copies, label_block="softmax")
    cfg = TrainConfig(**ex.DBM_RECIPE.to_dict(), label_lr_scale=1.0 / args.label_copies, epochs=800,
                      phase_threads=phase_threads, progress=False)
    trainer = Trainer(model, cfg)
    x, y = model.check_images(split.x_train), split.y_train
    for _ in range(args.warmup):
        trainer.step(x, y)
    blocks = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for _ in range(args.updates):
            trainer.step(x, y)
        blocks.append((time.perf_counter() - t0) / args.updates)
    return {"numba_threads": numba_threads, "phase_threads": phase_threads,
            "median_ms_per_update": 1e3 * float(np.median(blocks)), "ms_per_update": [1e3 * b for b in blocks],
            "weights": model.weights.copy()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--updates", type=int, default=40, help="updates per timed block")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--label-copies", type=int, default=40)
    args = p.parse_args()
    split = ex.load_split()
    cores = numba.config.NUMBA_NUM_THREADS
    settings = [(1, 1)] + ([(cores, 1), (1, 2)] if cores > 1 else [])
    rows = [time_setting(split, n, t, args) for n, t in settings]
    numba.set_num_threads(cores)
    same = all(np.array_equal(r["weights"], rows[0]["weights"]) for r in rows)
    for r in rows:
        r.pop("weights")
        print(f"numba threads {r['numba_threads']}, phase threads {r['phase_threads']}: "
              f"{r['median_ms_per_update']:.1f} ms per update (median of {args.repeats} x {args.updates})")
    print(f"weights after {args.warmup + args.repeats * args.updates} updates bit-identical across settings: {same}")
    run = Run(paradigm="sparse DBM (p-bit learning)", task="time per learning update by thread setting",
              config={**vars(args), "recipe": ex.DBM_RECIPE.to_dict(), "label_block": "softmax"},
              quality={"bit_identical": same}, cost={"settings": rows})
    run.save(RESULTS / "ebm_update_speed.json")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    names = [f"numba {r['numba_threads']}\nphases {r['phase_threads']}" for r in rows]
    ax.bar(names, [r["median_ms_per_update"] for r in rows])
    ax.set_ylabel("ms per update (median)")
    ax.set_title(f"DBM update, {args.label_copies} label copies, {run.machine.get('cpu_count', '?')} CPUs",
                 fontsize=9)
    save_figure(fig, RESULTS / "ebm_update_speed.png", dpi=120)
    print(f"wrote {RESULTS}/ebm_update_speed.json, .png")


if __name__ == "__main__":
    main()
