"""The cluster model: its validation against published training runs, and how fast the planner sweeps plans.

Run: `.venv/bin/python benchmarks/cluster_planner.py [--repeats 5]`.
Writes benchmarks/results/cluster_planner.json (validation rows and summary, the search speed per scenario) and
cluster_validation.png / cluster_planner.png. Search speed: each scenario's full search (candidate generation and
pricing) timed ``repeats`` times after one warm-up run in the same process (the per-layer cost cache is then warm,
as it is for a user's second query); median and spread printed with the machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from paradigmlab.costmodel import load_model
from paradigmlab.costmodel.cluster import load_cluster
from paradigmlab.costmodel.cluster.planner import plot_breakdown, search
from paradigmlab.costmodel.cluster.validation import cluster_calibration, cluster_validation_markdown, validate_cluster
from paradigmlab.costmodel.experiments import plot_validation
from paradigmlab.measure import machine_info, write_json_atomic

RESULTS = Path(__file__).resolve().parent / "results"
SCENARIOS = [("llama-3-70b", "dgx-h100-superpod", 1024, 8192, 2048, "bf16"),
             ("llama-3-70b", "dgx-h100-superpod", 16384, 8192, 2048, "bf16"),
             ("deepseek-v3", "dgx-h100-superpod", 1024, 4096, 15360, "fp8"),
             ("llama-3.1-405b", "meta-h100-roce", 16384, 8192, 2048, "bf16")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    machine = machine_info()
    t0 = time.perf_counter()
    val = validate_cluster()
    val_s = time.perf_counter() - t0
    print(cluster_validation_markdown(val))
    plot_validation(val, RESULTS / "cluster_validation.png")
    speed = []
    best_steps = []
    for model, cluster, gpus, seq, batch, dtype in SCENARIOS:
        cfg, c = load_model(model), load_cluster(cluster)
        cal, _ = cluster_calibration(c.gpu, dtype)
        res = search(cfg, c, gpus, seq, batch, cal, dtype, top=1)  # warm-up (fills the per-layer cache)
        times = []
        for _ in range(args.repeats):
            res = search(cfg, c, gpus, seq, batch, cal, dtype, top=1)
            times.append(res.seconds)
        med = statistics.median(times)
        row = {"model": model, "cluster": cluster, "gpus": gpus, "seq_len": seq, "global_batch": batch, "dtype": dtype,
               "plans": res.evaluated, "feasible": res.feasible, "median_s": med, "min_s": min(times),
               "max_s": max(times), "plans_per_s": res.evaluated / med, "best": res.best.to_dict()}
        speed.append(row)
        best_steps.append(res.best)
        print(f"{model} on {gpus} x {cluster} ({dtype}): {res.evaluated} plans, median {med * 1e3:.1f} ms over "
              f"{args.repeats} (min {min(times) * 1e3:.1f}, max {max(times) * 1e3:.1f}) = {row['plans_per_s']:,.0f} "
              f"plans/s; best {res.best.plan.label()} {res.best.seconds:.2f} s/step, MFU {res.best.mfu:.1%}")
    labels = [f"{r['model']} x{r['gpus']}: {s.plan.label()}" for r, s in zip(speed, best_steps)]
    plot_breakdown(best_steps, RESULTS / "cluster_planner.png", "best plan per scenario (benchmarks/cluster_planner.py)",
                   labels)
    out = {"machine": machine, "repeats": args.repeats, "validation_seconds": val_s,
           "validation": {"summary": val["summary"], "calibrations": val["calibrations"], "rows": val["rows"]},
           "search": speed}
    write_json_atomic(RESULTS / "cluster_planner.json", out, indent=None)
    print(f"machine: {machine['processor']}, {machine['cpu_count']} CPUs; validation {val_s:.1f} s; "
          f"written to {RESULTS / 'cluster_planner.json'}")


if __name__ == "__main__":
    main()
