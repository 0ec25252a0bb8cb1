"""I-JEPA against a masked autoencoder, a SimCLR encoder and a supervised ceiling of the same ViT, at equal batch
and steps, on Fashion-MNIST, MNIST and MNIST-1D; linear probe and k-NN on frozen features, low-label (1 %, 10 %),
quality against training FLOPs, and the energy-based reading (corrupted and out-of-distribution inputs).

Each run trains with :func:`paradigmlab.jepa.experiments.train_run` in ``--runs/<data>/<method>-s<seed>`` (a rerun
resumes unfinished runs and reuses finished ones). Prints the machine, sizes, epochs and seeds of every table.

    .venv/bin/python benchmarks/jepa_probe.py [--data fashion-mnist,mnist,mnist1d] [--epochs 8] [--runs runs/jepa_bench]

Writes benchmarks/results/jepa_probe.json and one PNG per data set (the report's full-budget section reads them).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from paradigmlab.jepa import experiments as ex
from paradigmlab.jepa.reproduce import plot_curves
from paradigmlab.measure import machine_info, write_json_atomic

RESULTS = Path(__file__).resolve().parent / "results"
#: Per data set: how much of it this CPU budget trains on (the test sets are whole) and for how many epochs
#: (--epochs for the others): about 60,000-160,000 training inputs seen per run.
LIMITS = {"fashion-mnist": {"train_limit": 20000}, "mnist": {"epochs": 12}, "mnist1d": {"batch_size": 128, "epochs": 30}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="fashion-mnist,mnist,mnist1d")
    ap.add_argument("--methods", default="jepa,mae,simclr,supervised")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--energy-n", type=int, default=2000)
    ap.add_argument("--runs", default="runs/jepa_bench")
    ap.add_argument("--out", default=str(RESULTS / "jepa_probe.json"))
    ap.add_argument("--merge", action="store_true",
                    help="keep the tables (and energy study) of --out that this run does not redo; each table names its machine")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = args.methods.split(",")
    info = machine_info()
    print(f"machine: {info['processor']}, {info['cpu_count']} cores, torch {info['torch']}, "
          f"{info['torch_threads']} threads")
    t0 = time.perf_counter()
    result = {"machine": info, "epochs": args.epochs, "seeds": seeds, "tables": {}, "energy": {}}
    if args.merge and Path(args.out).is_file():
        old = json.loads(Path(args.out).read_text())
        for tab in old.get("tables", {}).values():
            tab.setdefault("machine", old.get("machine"))  # tables written before tables named their machine
        result["tables"], result["energy"] = old.get("tables", {}), old.get("energy", {})
        for study in result["energy"].values():
            study.setdefault("machine", old.get("machine"))
    for name in args.data.split(","):
        t = time.perf_counter()
        tab = ex.probe_table(name, methods, seeds, args.runs, progress=True, threads=args.threads,
                             probe_every=1, **{"epochs": args.epochs, **LIMITS.get(name, {})})
        tab["seconds"] = time.perf_counter() - t
        tab["machine"] = info
        result["tables"][name] = tab
        print(f"\n{name}: {tab['source']}; {tab['train']:,} train / {tab['test']:,} test, {tab['config']['epochs']} epochs, "
              f"seeds {seeds}, batch {tab['config']['batch_size']} ({tab['seconds']:.0f} s)")
        for row, r in {**tab["rows"], **tab["baselines"]}.items():
            lin = r["linear"]["mean"] if isinstance(r["linear"], dict) else r["linear"]
            knn = r["knn"]["mean"] if isinstance(r["knn"], dict) else r["knn"]
            low = {f: round(v["mean"], 2) for f, v in r["low_label"].items()}
            cost = (f"  {r['flops_per_step'] / 1e9:.2f} GFLOP/step, {r['seconds_per_epoch']:.1f} s/epoch"
                    if "flops_per_step" in r else "")
            print(f"  {row:15s} linear {lin:6.2f}  k-NN {knn:6.2f}  low-label {low}{cost}")
        for run, why in tab["collapsed"].items():
            print(f"  {run}: {why}")
        print("  goals:", {k: v for k, v in tab["goals"].items() if not isinstance(v, dict)})
        plot_curves(tab, RESULTS / f"jepa_probe_{name}.png")
        write_json_atomic(args.out, result, indent=None)  # after every table: an interrupted benchmark keeps them
    if "fashion-mnist" in args.data.split(","):
        runs = {m: Path(args.runs) / "fashion-mnist" / f"{m}-s{seeds[0]}" for m in ("jepa", "mae", "simclr")
                if (Path(args.runs) / "fashion-mnist" / f"{m}-s{seeds[0]}" / "model.pt").is_file()}
        t = time.perf_counter()
        study = ex.energy_study(runs, ex.load_dataset("fashion-mnist", LIMITS["fashion-mnist"]["train_limit"]),
                                ex.load_dataset("mnist"), n=args.energy_n)
        study["seconds"] = time.perf_counter() - t
        study["machine"] = info
        result["energy"]["fashion-mnist"] = study
        print(f"\nenergy (Fashion-MNIST models; AUROC clean vs each set, n = {study['n']}, {study['draws']} draws):")
        for m, row in study["methods"].items():
            print(f"  {m:8s} " + "  ".join(f"{k}: {v:.3f}" for k, v in row["auroc"].items()))
    result["seconds"] = time.perf_counter() - t0
    write_json_atomic(args.out, result, indent=None)
    print(f"\nwrote {args.out} ({result['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
