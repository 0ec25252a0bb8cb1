"""The liquid task table at full budget: our LTC / CfC / Liquid-S4 next to torch GRU / LSTM, a small Transformer
and the ncps library's LTC / CfC, same task, recipe, budget and seeds, next to the published numbers.

Each run trains with :func:`paradigmlab.liquid.experiments.train_run` in ``--runs/<task>-<model>-s<seed>`` (a
rerun resumes unfinished runs and reuses finished ones) and reports the test score at the best-validation epoch,
parameters, training seconds per epoch and batch-1 inference microseconds per step. Prints the machine, the
sizes, epochs and seeds of every row. ncps rows need the bench extra (``make bench``); missing shared data
(Half-Cheetah) skips that task with the reason.

    .venv/bin/python benchmarks/liquid_tasks.py [--tasks xor,mnist1d,cheetah] [--seeds 0,1] [--runs runs/liquid_tasks]
                                                [--keep-other-tasks]

Writes benchmarks/results/liquid_tasks.json and .png (the report's full-budget table reads the JSON).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

from paradigmlab.liquid import experiments as ex
from paradigmlab.measure import machine_info, write_json_atomic
from paradigmlab.report import save_figure

#: task -> models of its row set (ncps models are dropped with a note when ncps is not installed)
MODELS = {
    "xor": ["cfc", "cfc-mm", "ltc", "gru", "lstm"],
    "mnist1d": ["cfc-mm", "cfc", "gru", "lstm", "liquid-s4", "s4d", "transformer", "ncps-cfc-mm"],
    "cheetah": ["ltc", "cfc", "lstm", "gru", "liquid-s4", "ncps-ltc"],
}
#: Seeds per task (--seeds overrides), and rows run on fewer seeds for CPU time (reported in the JSON).
TASK_SEEDS = {"xor": [0], "mnist1d": [0, 1, 2], "cheetah": [0, 1, 2]}
FEWER_SEEDS = {("cheetah", "ncps-ltc"): [0], ("mnist1d", "s4d"): [0], ("mnist1d", "liquid-s4"): [0],
               ("mnist1d", "transformer"): [0]}
#: Budget changes for models whose full recipe does not fit this benchmark's CPU time (reported in the JSON).
BUDGET = {("xor", "ltc"): {"epochs": 2}, ("xor", "gru"): {"epochs": 50}, ("xor", "lstm"): {"epochs": 50}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", default="xor,mnist1d,cheetah")
    ap.add_argument("--seeds", default=None, help="comma-separated seeds for every task (default: TASK_SEEDS)")
    ap.add_argument("--runs", default="runs/liquid_tasks", help="run folders (resumable)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1)")
    ap.add_argument("--json", default="benchmarks/results/liquid_tasks.json")
    ap.add_argument("--keep-other-tasks", action="store_true",
                    help="keep the tables of the tasks not run now from the existing --json (each table names the "
                         "machine it was measured on)")
    args = ap.parse_args()
    chosen = None if args.seeds is None else [int(s) for s in args.seeds.split(",")]
    have_ncps = importlib.util.find_spec("ncps") is not None
    m = machine_info()
    print(f"machine: {m['processor']}, {m['cpu_count']} CPUs; torch threads per run {args.threads}")
    tables, notes = {}, []
    for task in args.tasks.split(","):
        models = [x for x in MODELS[task] if have_ncps or not x.startswith("ncps")]
        if len(models) < len(MODELS[task]):
            notes.append(f"{task}: ncps not installed, its rows skipped (make bench installs it)")
        rows = []
        task_seeds = chosen or TASK_SEEDS[task]
        try:
            for model in models:
                seeds = FEWER_SEEDS.get((task, model), task_seeds) if chosen is None else chosen
                over = BUDGET.get((task, model), {})
                tab = ex.task_table(task, [model], seeds, args.runs, progress=False, threads=args.threads, **over)
                row = tab["rows"][0]
                row["budget_note"] = f"epochs cut to {over['epochs']} (CPU time)" if over else ""
                rows.append(row)
                pub = row["published"]
                print(f"{task:8s} {model:12s} test {row['metric']} {row['mean']:.4g} +- {row['std']:.2g} "
                      f"(seeds {row['seeds']}, {row['epochs']} epochs, {row['params']} params, "
                      f"{row['seconds_per_epoch']:.1f} s/epoch, {row['inference_us_per_step']:.0f} us/step)"
                      + (f"  published {pub['mean']}" if pub else ""), flush=True)
        except FileNotFoundError as exc:
            notes.append(f"{task}: skipped ({exc})")
            print(notes[-1])
            continue
        tables[task] = {"task": task, "seeds": task_seeds, "rows": rows, "machine": m,
                        "recipe": {r["model"]: ex.recipe_for(task, r["model"]).__dict__ for r in rows}}
    if args.keep_other_tasks and Path(args.json).is_file():
        old = json.loads(Path(args.json).read_text())
        for task, table in old.get("tables", {}).items():
            if task not in tables:
                tables[task] = {**table, "machine": table.get("machine", old.get("machine"))}
                print(f"{task}: table kept from {args.json} (measured on {tables[task]['machine'].get('processor')})")
    report = {"tables": tables, "notes": notes, "machine": m, "threads": args.threads,
              "how": "test score at the best-validation epoch; seconds/epoch are medians over the epochs of each "
                     "run (runs may have shared the machine's cores with other runs)"}
    write_json_atomic(args.json, report)
    png = plot(report, Path(args.json).with_suffix(".png"))
    print(f"wrote {args.json} and {png}")


def plot(report: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(report["tables"])
    fig, axes = plt.subplots(1, max(1, len(tasks)), figsize=(5 * max(1, len(tasks)), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        rows = report["tables"][task]["rows"]
        names = [r["model"] for r in rows]
        ax.bar(names, [r["mean"] for r in rows], yerr=[r["std"] for r in rows], color="tab:blue", label="ours")
        pubs = [(i, r["published"]["mean"]) for i, r in enumerate(rows) if r["published"]]
        if pubs:
            ax.scatter([i for i, _ in pubs], [p for _, p in pubs], color="tab:red", zorder=3, label="published")
        metric = rows[0]["metric"] if rows else ""
        ax.set(title=task, ylabel=f"test {metric}")
        if metric == "accuracy":
            ax.set_ylim(0, 100)
        ax.tick_params(axis="x", rotation=45)
        ax.legend(fontsize=8)
    save_figure(fig, path, dpi=120)
    return path


if __name__ == "__main__":
    main()
