"""``paradigmlab jepa train|probe|table|energy``: I-JEPA and its baselines from the shell (argument parsing and
printing only; the runs are :mod:`paradigmlab.jepa.experiments`)."""

from __future__ import annotations

import argparse
import sys

from paradigmlab.cliutil import (JSON_HELP, add_json_option, add_out_option, json_to_stdout, nonnegative_int,
                                 positive_float, positive_int, write_json_option)

DATASETS = ("fashion-mnist", "mnist", "mnist1d")
METHODS = ("jepa", "mae", "simclr", "supervised")

TRAIN_EXAMPLES = f"""\
example (a minute: I-JEPA on 2,048 Fashion-MNIST images for 2 epochs, then its probe):
  paradigmlab jepa train --data fashion-mnist --method jepa --epochs 2 --train-limit 2048 --out /tmp/jepa_run
  paradigmlab jepa probe /tmp/jepa_run --json -

--out holds ckpt.pt (every epoch and on Ctrl-C), then model.pt and result.json; rerunning the same command
resumes the checkpoint bit-exactly (also after kill -9). Several processes (DDP, gloo on CPU, NCCL on GPUs):
  torchrun --nproc_per_node 2 -m paradigmlab.cli jepa train --data mnist --epochs 2 --out /tmp/jepa_ddp
The progress bar shows the loss, the features' spread (feature_std) and effective rank each epoch; a run whose
features collapse stops with a message saying so. Defaults: paradigmlab.jepa.experiments.RunConfig.
{JSON_HELP}
"""


def float_pair(text: str) -> tuple[float, float]:
    parts = [t.strip() for t in text.split(",")]
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected two comma-separated numbers LOW,HIGH, got {text!r}")
    return positive_float(parts[0]), positive_float(parts[1])


def float_list(text: str) -> list[float]:
    return [positive_float(t.strip()) for t in text.split(",") if t.strip()]


def int_list(text: str) -> list[int]:
    return [nonnegative_int(t.strip()) for t in text.split(",") if t.strip()]


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="fashion-mnist", choices=DATASETS)
    p.add_argument("--epochs", type=positive_int, default=10)
    p.add_argument("--batch-size", type=positive_int, default=256)
    p.add_argument("--lr", type=positive_float, default=1e-3)
    p.add_argument("--dim", type=positive_int, default=64, help="encoder width")
    p.add_argument("--depth", type=positive_int, default=4, help="encoder blocks")
    p.add_argument("--patch", type=positive_int, default=None, help="patch size (default: 4 for images, 2 for MNIST-1D)")
    p.add_argument("--loss", default="smooth_l1", choices=("smooth_l1", "l2"), help="JEPA's distance")
    p.add_argument("--target-scale", type=float_pair, default=(0.15, 0.2), help="target block scale LOW,HIGH")
    p.add_argument("--context-scale", type=float_pair, default=(0.85, 1.0), help="context block scale LOW,HIGH")
    p.add_argument("--train-limit", type=positive_int, default=None, help="keep the first N training inputs")
    p.add_argument("--test-limit", type=positive_int, default=None)
    p.add_argument("--probe-every", type=nonnegative_int, default=0, help="quick probe every N epochs (0: none)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--threads", type=positive_int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--no-progress", action="store_true")


def run_config(args: argparse.Namespace, method: str, seed: int = 0):
    from paradigmlab.jepa.experiments import RunConfig

    return RunConfig(method=method, data=args.data, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                     dim=args.dim, depth=args.depth, patch=args.patch, loss=args.loss, seed=seed,
                     target_scale=args.target_scale, context_scale=args.context_scale, train_limit=args.train_limit,
                     test_limit=args.test_limit, probe_every=args.probe_every, device=args.device)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``jepa train | probe | table | energy``."""
    p = sub.add_parser("jepa", help="I-JEPA against MAE, SimCLR and supervised encoders: train, probe, energy")
    s = p.add_subparsers(dest="jepa_command", required=True)

    t = s.add_parser("train", help="train one method (resumable, bit-exact; DDP under torchrun)",
                     epilog=TRAIN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_options(t)
    t.add_argument("--method", default="jepa", choices=METHODS)
    t.add_argument("--seed", type=nonnegative_int, default=0)
    t.add_argument("--allow-resume-changes", action="store_true",
                   help="resume a checkpoint even if it was written with other settings")
    add_out_option(t, "folder", "ckpt.pt, model.pt, result.json (resumed when present)", default=None)
    add_json_option(t, "the run's record (history with the collapse statistics, cost)")
    t.set_defaults(func=_train)

    pr = s.add_parser("probe", help="linear probe and k-NN on a trained run's frozen features (and low-label)",
                      epilog=JSON_HELP)
    pr.add_argument("run", help="a run folder written by `jepa train --out`, or its model.pt")
    pr.add_argument("--fractions", type=float_list, default=[0.01, 0.1], help="label fractions for the low-label probe")
    pr.add_argument("--seeds", type=int_list, default=[0, 1, 2], help="label-subset seeds")
    add_json_option(pr, "the probe accuracies")
    pr.set_defaults(func=_probe)

    tb = s.add_parser("table", help="all methods at equal size and steps, probed, with random-encoder and raw rows",
                      epilog=JSON_HELP)
    add_run_options(tb)
    tb.add_argument("--methods", type=lambda v: [m.strip() for m in v.split(",") if m.strip()],
                    default=list(METHODS), help="comma-separated methods")
    tb.add_argument("--seeds", type=int_list, default=[0], help="comma-separated training seeds")
    add_out_option(tb, "folder", "one run folder per method and seed (an interrupted table resumes)",
                   default="runs/jepa")
    add_json_option(tb, "the table")
    tb.set_defaults(func=_table)

    en = s.add_parser("energy", help="rank corrupted and out-of-distribution inputs by each run's energy (AUROC)",
                      epilog=JSON_HELP)
    en.add_argument("runs", nargs="+", help="run folders trained on the same data set (jepa, mae and/or simclr)")
    en.add_argument("--ood", default=None, choices=DATASETS, help="an out-of-distribution data set (same input shape)")
    en.add_argument("--n", type=positive_int, default=2000, help="test inputs per set")
    en.add_argument("--draws", type=positive_int, default=4, help="masks / view pairs averaged per input")
    add_json_option(en, "the AUROCs and mean energies")
    en.set_defaults(func=_energy)


def _train(args: argparse.Namespace) -> int:
    from paradigmlab.jepa import experiments as ex
    from paradigmlab.trainer import torchrun_group

    with torchrun_group(args.device) as (rank, world, device):
        cfg = run_config(args, args.method, args.seed)
        cfg.device = device if world > 1 else cfg.device
        try:
            res = ex.train_run(cfg, args.out, progress=not args.no_progress and rank == 0, threads=args.threads,
                               allow_changes=args.allow_resume_changes)
        except ex.RepresentationCollapse as exc:
            print(f"paradigmlab: stopped: {exc}", file=sys.stderr)
            return 3
    if rank:
        return 0
    write_json_option(args, res)
    if not json_to_stdout(args):
        last = res["history"][-1]
        print(f"{args.method} on {args.data}: {res['steps']} steps in {res['train_seconds']:.1f} s "
              f"({res['seconds_per_epoch']:.2f} s/epoch, {world} process{'es' if world > 1 else ''}), loss "
              f"{last['train_loss']:.4f}, feature std {last['feature_std']:.3f}, effective rank "
              f"{last['effective_rank']:.1f}, {res['train_flops']:.3g} training FLOPs")
        if args.out:
            print(f"saved to {args.out}/model.pt and result.json")
    return 0


def _probe(args: argparse.Namespace) -> int:
    from paradigmlab.jepa import experiments as ex

    res = ex.probe_run(args.run, fractions=tuple(args.fractions), seeds=tuple(args.seeds))
    write_json_option(args, res)
    if not json_to_stdout(args):
        low = ", ".join(f"{float(f) * 100:g} % labels {v['mean']:.2f}" for f, v in res["low_label"].items())
        print(f"{res['method']} on {res['data']}: linear probe {res['linear']:.2f} %, k-NN {res['knn']:.2f} %; {low}")
    return 0


def _table(args: argparse.Namespace) -> int:
    from paradigmlab.jepa import experiments as ex
    from paradigmlab.validate import InputError

    bad = [m for m in args.methods if m not in METHODS]
    if bad:
        raise InputError(f"--methods: unknown {bad}; choose from {', '.join(METHODS)}")
    base = run_config(args, "jepa")
    over = {k: getattr(base, k) for k in ("epochs", "batch_size", "lr", "dim", "depth", "patch", "loss",
                                          "target_scale", "context_scale", "train_limit", "test_limit", "device")}
    res = ex.probe_table(args.data, args.methods, args.seeds, args.out, progress=not args.no_progress,
                         threads=args.threads, probe_every=max(args.probe_every, 1), **over)
    write_json_option(args, res)
    if not json_to_stdout(args):
        for name, r in {**res["rows"], **res["baselines"]}.items():
            lin = r["linear"]["mean"] if isinstance(r["linear"], dict) else r["linear"]
            knn = r["knn"]["mean"] if isinstance(r["knn"], dict) else r["knn"]
            print(f"{name:15s} linear {lin:6.2f} %  k-NN {knn:6.2f} %")
        print("goals:", {k: v for k, v in res["goals"].items() if isinstance(v, (bool, float))})
    return 0


def _energy(args: argparse.Namespace) -> int:
    from paradigmlab.jepa import experiments as ex

    runs = {}
    for folder in args.runs:
        _, cfg = ex.load_model(folder)
        runs[cfg.method] = folder
    data = ex.load_dataset(cfg.data, test_limit=args.n)
    ood = ex.load_dataset(args.ood, test_limit=args.n) if args.ood else None
    res = ex.energy_study(runs, data, ood, n=args.n, draws=args.draws)
    write_json_option(args, res)
    if not json_to_stdout(args):
        for method, row in res["methods"].items():
            print(f"{method:8s} " + "  ".join(f"{k}: AUROC {v:.3f}" for k, v in row["auroc"].items()))
    return 0
