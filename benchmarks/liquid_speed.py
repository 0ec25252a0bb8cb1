"""Training and inference speed of our liquid layers against ncps 1.0.1 and torch's GRU / LSTM (issue 16).

Goal: our cells train >= 3x faster per epoch than ncps's on CPU. For each task shape (Half-Cheetah: LTC,
batch 16, T 32, 17 features, 32 units, 6 unfolds, 17 outputs at every step, MSE; MNIST-1D: CfC 64 units with
mixed memory, batch 100, T 40, 1 feature, 10 classes at the last step; bit-stream XOR: batch 256, T 32,
2 features, per-sample elapsed times, the last valid step of a padded sequence, CfC and LTC of 64 units)
it times, for ours (fast path), our reference loop (``fast=False``), ncps (``LTC`` with its
``FullyConnected`` wiring and ``ode_unfolds=6``; ``CfC`` with the same backbone) and a GRU / LSTM of equal
units: one training step (forward, backward, Adam), median of repeats after a warm-up, in seconds per step
and per epoch (``steps_per_epoch`` stated per shape), and inference in microseconds per time step (batch 1,
no grad, the whole sequence divided by T). Every ratio is ncps / ours. Timing runs under
``torch.set_num_threads(threads)`` and restores the previous setting. The repeats go round-robin over the
models; each training step's process CPU time is recorded too (``train_step_cpu_s``): with one thread on a
shared machine it counts the work, not the waits, and is the robust figure there.

    .venv/bin/python benchmarks/liquid_speed.py [--quick] [--json benchmarks/results/liquid_speed.json] [--repeats 5]

``--quick`` (< 1 min smoke) times fewer repeats on the Half-Cheetah and MNIST-1D shapes only and writes
nothing unless ``--json`` is given. Otherwise writes the JSON and a PNG bar chart beside it.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from paradigmlab.liquid import CfC, LTC
from paradigmlab.measure import machine_info, write_json_atomic
from paradigmlab.trainer import torch_threads
from paradigmlab.report import save_figure

GOAL_RATIO = 3.0

# name, model family, batch, T, features, units, outputs, loss, read-out, training-set size (sequences)
SHAPES = {
    # 10 training traces of 1000 steps, windows of 32 (+1 target) with stride 10 (../shared/data/cheetah/README.md)
    "cheetah": dict(cell="ltc", batch=16, T=32, features=17, units=32, outputs=17, loss="mse", readout="all",
                    train_size=10 * ((1000 - 33) // 10 + 1)),
    "mnist1d": dict(cell="cfc-mm", batch=100, T=40, features=1, units=64, outputs=10, loss="ce", readout="last",
                    train_size=4000),
    "xor_cfc": dict(cell="cfc", batch=256, T=32, features=2, units=64, outputs=1, loss="bce", readout="masked",
                    train_size=100_000),
    "xor_ltc": dict(cell="ltc", batch=256, T=32, features=2, units=64, outputs=1, loss="bce", readout="masked",
                    train_size=100_000),
}
QUICK_SHAPES = ("cheetah", "mnist1d")
UNFOLDS = 6
BACKBONE_UNITS = 128


class Model(nn.Module):
    """A recurrent core and a linear read-out; every core is called as ``core(x, timespans)``."""

    def __init__(self, kind: str, shape: dict) -> None:
        super().__init__()
        f, u, cell = shape["features"], shape["units"], shape["cell"]
        self.kind = kind
        if kind in ("ours", "reference"):
            fast = kind == "ours"
            self.core = (LTC(f, u, unfolds=UNFOLDS, fast=fast) if cell == "ltc" else
                         CfC(f, u, mixed_memory=cell == "cfc-mm", backbone_units=BACKBONE_UNITS, fast=fast))
        elif kind == "ncps":
            from ncps import torch as ncps_torch
            from ncps.wirings import FullyConnected

            self.core = (ncps_torch.LTC(f, FullyConnected(u), ode_unfolds=UNFOLDS, batch_first=True)
                         if cell == "ltc" else
                         ncps_torch.CfC(f, u, batch_first=True, mixed_memory=cell == "cfc-mm",
                                        backbone_units=BACKBONE_UNITS))
        else:
            self.core = (nn.GRU if kind == "gru" else nn.LSTM)(f, u, batch_first=True)
        self.head = nn.Linear(u, shape["outputs"])

    def forward(self, x, timespans=None, last=None):
        if self.kind in ("gru", "lstm", "ncps"):
            # ncps squeezes timespans[:, t] to (B,), which does not broadcast over (B, units) (its issues
            # #81/#82): it runs with unit steps here, the same work per step
            h = self.core(x)[0]
        else:
            h, _ = self.core(x, timespans=timespans)
        if last is not None:  # the last valid step of each padded sequence
            h = h[torch.arange(h.shape[0]), last]
        return self.head(h)


def make_batch(shape: dict, gen: torch.Generator):
    B, T, f = shape["batch"], shape["T"], shape["features"]
    x = torch.randn(B, T, f, generator=gen)
    ts = last = None
    if shape["readout"] == "masked":
        ts = torch.rand(B, T, generator=gen) * 2.0
        last = torch.randint(1, T, (B,), generator=gen)
        y = torch.randint(0, 2, (B, 1), generator=gen).float()
    elif shape["loss"] == "ce":
        last = torch.full((B,), T - 1)
        y = torch.randint(0, shape["outputs"], (B,), generator=gen)
    else:
        y = torch.randn(B, T, shape["outputs"], generator=gen)
    return x, ts, last, y


def loss_of(shape, out, y):
    if shape["loss"] == "mse":
        return F.mse_loss(out, y)
    if shape["loss"] == "ce":
        return F.cross_entropy(out, y)
    return F.binary_cross_entropy_with_logits(out, y)


KINDS = ("ours", "reference", "ncps", "gru", "lstm")


def timed_calls(shape: dict, kind: str, seed: int = 0):
    """``(model, train_step, infer)`` for one model on one fixed seeded batch."""
    torch.manual_seed(seed)
    model = Model(kind, shape)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, ts, last, y = make_batch(shape, torch.Generator().manual_seed(seed))

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_of(shape, model(x, ts, last), y)
        loss.backward()
        opt.step()

    x1, ts1 = x[:1], None if ts is None else ts[:1]

    def infer():
        with torch.no_grad():
            model(x1, ts1)

    return model, train_step, infer


def measure_shape(shape: dict, repeats: int) -> list[dict]:
    """Every model of ``KINDS`` on ``shape``; the repeats run round-robin over the models, so that a load
    change on a shared machine touches them all alike (ratios stay fair), after two warm-up calls each."""
    calls = {kind: timed_calls(shape, kind) for kind in KINDS}
    times = {kind: {"train": [], "infer": [], "train_cpu": []} for kind in KINDS}
    for _, train_step, infer in calls.values():
        for _ in range(2):
            train_step()
            infer()
    for _ in range(repeats):
        for kind, (_, train_step, infer) in calls.items():
            c0, t0 = time.process_time(), time.perf_counter()
            train_step()
            t1, c1 = time.perf_counter(), time.process_time()
            times[kind]["train"].append(t1 - t0)
            times[kind]["train_cpu"].append(c1 - c0)
            t0 = time.perf_counter()
            infer()
            times[kind]["infer"].append(time.perf_counter() - t0)
    steps = math.ceil(shape["train_size"] / shape["batch"])
    rows = []
    for kind, (model, _, _) in calls.items():
        train, infer = statistics.median(times[kind]["train"]), statistics.median(times[kind]["infer"])
        rows.append({"model": kind, "params": sum(p.numel() for p in model.parameters()),
                     "train_step_s": train, "train_step_min_s": min(times[kind]["train"]),
                     "train_step_cpu_s": statistics.median(times[kind]["train_cpu"]),
                     "train_step_times_s": times[kind]["train"], "train_epoch_s": train * steps,
                     "infer_us_per_step": infer / shape["T"] * 1e6,
                     "infer_min_us_per_step": min(times[kind]["infer"]) / shape["T"] * 1e6})
    return rows


def cfc_gemm_shapes(shape: dict) -> list:
    """``(m, k, n, count)`` of every matrix product in one training step of our CfC (the compiled time loop of
    :mod:`paradigmlab.liquid.cfc_kernel`): per step, the forward's state GEMMs (LSTM gates, backbone, heads)
    and the backward's adjoints through them in reverse; at the end, each weight gradient as one GEMM over all
    ``T * B`` rows; the input projections of all steps, forward and backward. ncps computes the same products
    (its weight gradients as T small GEMMs each)."""
    B, T, f, n, U = shape["batch"], shape["T"], shape["features"], shape["units"], BACKBONE_UNITS
    H, rows = 4 * n, shape["batch"] * shape["T"]
    g = [(B, n, U, T), (B, U, H, T), (B, H, U, T), (B, U, n, T), (n, rows, U, 1), (U, rows, H, 1),
         (rows, f, U, 1), (f, rows, U, 1)]
    if shape["cell"] == "cfc-mm":
        g += [(B, n, 4 * n, T), (B, 4 * n, n, T), (n, rows, 4 * n, 1), (rows, f, 4 * n, 1), (f, rows, 4 * n, 1)]
    return g


def gemm_seconds(shape: dict, repeats: int = 5) -> dict:
    """The matrix products of one of our CfC training steps (:func:`cfc_gemm_shapes`) timed alone with torch's
    BLAS: a bound on what any implementation of the same maths can reach on this machine. Each shape is run
    on fresh contiguous tensors, median of ``repeats``, times its count."""
    total, flops, calls = 0.0, 0.0, 0
    shapes = cfc_gemm_shapes(shape)
    for m, k, n, count in shapes:
        a, b = torch.randn(m, k), torch.randn(k, n)
        flops += count * 2.0 * m * k * n
        calls += count
        for _ in range(3):
            torch.mm(a, b)
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(count):
                torch.mm(a, b)
            ts.append(time.perf_counter() - t0)
        total += statistics.median(ts)
    return {"gemm_s": total, "gemm_calls": calls, "gemm_shapes": len(shapes), "gemm_flops": flops}


def run(shapes, repeats: int, threads: int) -> dict:
    results = []
    with torch_threads(threads):
        for name in shapes:
            shape = SHAPES[name]
            rows = {row["model"]: row for row in measure_shape(shape, repeats)}
            ours, ncps = rows["ours"], rows["ncps"]
            # the GEMM bound only means something where GEMMs carry the step (CfC); LTC's synapses are elementwise
            floor = gemm_seconds(shape, repeats) if shape["cell"].startswith("cfc") else None
            results.append({
                "shape": name, **shape, "steps_per_epoch": math.ceil(shape["train_size"] / shape["batch"]),
                "unfolds": UNFOLDS if shape["cell"] == "ltc" else None, "models": list(rows.values()),
                "train_ratio_ncps_over_ours": ncps["train_step_s"] / ours["train_step_s"],
                "train_ratio_min_ncps_over_ours": ncps["train_step_min_s"] / ours["train_step_min_s"],
                "train_ratio_cpu_ncps_over_ours": ncps["train_step_cpu_s"] / ours["train_step_cpu_s"],
                "train_ratio_reference_over_ours": rows["reference"]["train_step_s"] / ours["train_step_s"],
                "infer_ratio_ncps_over_ours": ncps["infer_us_per_step"] / ours["infer_us_per_step"],
            })
            if floor is not None:
                results[-1].update({"ours_gemm": floor, "gemm_share_of_ours": floor["gemm_s"] / ours["train_step_s"],
                                    "train_ratio_bound_ncps_over_gemm": ncps["train_step_s"] / floor["gemm_s"]})
    notes = ["ncps runs XOR without timespans: it squeezes timespans[:, t] to (B,), which does not broadcast "
             "over (B, units) (its issues #81/#82); ours and the reference get per-sample elapsed times",
             "train_step_cpu_s is process CPU time; with threads > 1 it includes OpenMP spin-waits",
             "inference: batch 1, no grad, one sequence of T steps divided by T",
             "ours_gemm: the GEMMs of our CfC training step (cfc_gemm_shapes: the compiled loop's per-step products "
             "and its batched weight gradients) timed alone with torch's BLAS; "
             "train_ratio_bound_ncps_over_gemm = ncps's step / that time, the most any fusion of our maths could "
             "reach against ncps with this BLAS"]
    return {"benchmark": "liquid_speed", "goal_train_ratio": GOAL_RATIO, "threads": threads, "notes": notes,
            "repeats": repeats, "torch": torch.__version__, "machine": machine_info(), "results": results}


def plot(report: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    kinds = [m["model"] for m in report["results"][0]["models"]]
    width = 0.8 / len(kinds)
    for ax, key, label in ((axes[0], "train_step_s", "training step (s)"),
                           (axes[1], "infer_us_per_step", "inference, batch 1 (us / time step)")):
        for i, kind in enumerate(kinds):
            vals = [next(m[key] for m in r["models"] if m["model"] == kind) for r in report["results"]]
            ax.bar([j + i * width for j in range(len(vals))], vals, width, label=kind)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(report["results"]))])
        ax.set_xticklabels([r["shape"] for r in report["results"]])
        ax.set_yscale("log")
        ax.set_ylabel(label)
    axes[0].legend()
    fig.suptitle(f"liquid layers vs ncps, torch {report['torch']}, {report['threads']} threads, "
                 f"median of {report['repeats']}")
    save_figure(fig, path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", default=None, help="JSON file to write (default benchmarks/results/liquid_speed.json; "
                                                 "none with --quick)")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats per measurement (default 5, 3 quick)")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads while timing")
    ap.add_argument("--quick", action="store_true", help="smoke run: two shapes, 3 repeats")
    ap.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), help="shapes to time (default all)")
    ap.add_argument("--flush-denormal", action="store_true",
                    help="torch.set_flush_denormal(True) for every model (long sequences' vanishing adjoints "
                         "reach float32's denormal range, where x86 arithmetic is many times slower)")
    args = ap.parse_args()
    if args.flush_denormal and not torch.set_flush_denormal(True):
        raise SystemExit("--flush-denormal: this CPU does not support flushing denormals")
    shapes = args.shapes or (QUICK_SHAPES if args.quick else tuple(SHAPES))
    repeats = args.repeats or (3 if args.quick else 5)
    report = run(shapes, repeats, args.threads)
    report["flush_denormal"] = args.flush_denormal
    m = report["machine"]
    print(f"machine: {m.get('processor')}, {m.get('cpu_count')} CPUs; torch {report['torch']}, "
          f"{args.threads} threads, median of {repeats} after 2 warm-ups")
    for r in report["results"]:
        print(f"{r['shape']}: {r['cell']} batch {r['batch']} T {r['T']} features {r['features']} units {r['units']}"
              f" ({r['steps_per_epoch']} steps per epoch of {r['train_size']} sequences)")
        for row in r["models"]:
            print(f"  {row['model']:9s} params {row['params']:7d}  train {row['train_step_s'] * 1e3:8.1f} ms/step "
                  f"(CPU {row['train_step_cpu_s'] * 1e3:8.1f} ms) "
                  f"{row['train_epoch_s']:7.2f} s/epoch  infer {row['infer_us_per_step']:8.1f} us/step")
        print(f"  ncps / ours: train {r['train_ratio_ncps_over_ours']:.2f}x (goal >= {GOAL_RATIO}; of the "
              f"fastest repeats {r['train_ratio_min_ncps_over_ours']:.2f}x; in CPU time "
              f"{r['train_ratio_cpu_ncps_over_ours']:.2f}x), "
              f"infer {r['infer_ratio_ncps_over_ours']:.2f}x; reference / ours: train "
              f"{r['train_ratio_reference_over_ours']:.2f}x")
        g = r.get("ours_gemm")
        if g:
            print(f"  our step's {g['gemm_calls']} GEMMs alone: {g['gemm_s'] * 1e3:.1f} ms "
                  f"({g['gemm_flops'] / g['gemm_s'] / 1e9:.1f} GFLOP/s, {r['gemm_share_of_ours']:.0%} of our step): "
                  f"no fusion of these maths can beat ncps by more than {r['train_ratio_bound_ncps_over_gemm']:.2f}x")
    target = args.json or (None if args.quick else "benchmarks/results/liquid_speed.json")
    if target:
        write_json_atomic(target, report)
        png = str(Path(target).with_suffix(".png"))
        plot(report, png)
        print(f"wrote {target} and {png}")


if __name__ == "__main__":
    main()
