"""``paradigmlab liquid train|evaluate|table|solvers``: liquid networks from the shell (argument parsing and
printing only; the runs are :mod:`paradigmlab.liquid.experiments`)."""

from __future__ import annotations

import argparse

from paradigmlab.cliutil import (JSON_HELP, add_json_option, add_out_option, json_to_stdout, nonnegative_int,
                                 positive_float, positive_int, write_json_option)

TASKS = ("xor", "mnist1d", "cheetah")

TRAIN_EXAMPLES = f"""\
example (seconds: CfC on MNIST-1D, 2 epochs):
  paradigmlab liquid train --task mnist1d --model cfc --epochs 2 --out /tmp/liquid_run --json -

--out holds ckpt.pt (every epoch and on Ctrl-C), then model.pt and result.json; rerunning the same command
resumes the checkpoint bit-exactly (also after kill -9); a larger --epochs extends the run.
Models: ltc, cfc, cfc-mm (mixed memory), cfc-nogate, cfc-pure, liquid-s4, s4d, gru, lstm, and with the
bench extra ncps-ltc, ncps-cfc, ncps-cfc-mm. Tasks: xor (event-based bit-stream XOR), mnist1d, cheetah
(../shared/data/cheetah). Defaults per task: paradigmlab.liquid.experiments.RECIPES.
{JSON_HELP}
"""

EVALUATE_EXAMPLES = f"""\
example (seconds; the run written by the `liquid train` example):
  paradigmlab liquid evaluate /tmp/liquid_run --split test --json -

{JSON_HELP}
"""

SOLVER_EXAMPLES = f"""\
example (seconds): eq. 1 by the fused, Euler and RK4 solvers against scipy's solve_ivp
  paradigmlab liquid solvers --json -

{JSON_HELP}
"""


def comma_list(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
    return items


def seed_list(text: str) -> list[int]:
    return [nonnegative_int(t) for t in comma_list(text)]


def add_run_options(p: argparse.ArgumentParser) -> None:
    """Budget and sizes of a run; unset ones come from the task's recipe."""
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--epochs", type=positive_int, default=None, help="budget in epochs (default: the recipe's)")
    p.add_argument("--units", type=positive_int, default=None, help="hidden units (default: the recipe's)")
    p.add_argument("--batch-size", type=positive_int, default=None)
    p.add_argument("--lr", type=positive_float, default=None)
    p.add_argument("--quick", action="store_true", help="the recipe's laptop budget (smaller data, few epochs)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``liquid train | evaluate | table | solvers``."""
    from paradigmlab.liquid.models import CORES

    p = sub.add_parser("liquid", help="liquid time-constant networks (eq. 1), CfC, Liquid-S4 on sequence tasks")
    s = p.add_subparsers(dest="liquid_command", required=True)

    t = s.add_parser("train", help="train one model on one task (resumable, bit-exact)", epilog=TRAIN_EXAMPLES,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_options(t)
    t.add_argument("--model", required=True, choices=CORES)
    t.add_argument("--seed", type=nonnegative_int, default=0)
    t.add_argument("--allow-resume-changes", action="store_true",
                   help="resume a checkpoint even if it was written with other training settings")
    add_out_option(t, "folder", "ckpt.pt, model.pt, result.json (resumed when present)", default=None)
    add_json_option(t, "the run's result (scores, params, seconds per epoch, history)")
    t.set_defaults(func=_train)

    e = s.add_parser("evaluate", help="score a trained run on a split of its task", epilog=EVALUATE_EXAMPLES,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("run", help="a run folder written by `liquid train --out`, or its model.pt")
    e.add_argument("--split", default="test", choices=("train", "val", "test"))
    add_json_option(e, "the scores")
    e.set_defaults(func=_evaluate)

    tb = s.add_parser("table", help="several models x seeds on one task, next to the published numbers",
                      epilog=JSON_HELP)
    add_run_options(tb)
    tb.add_argument("--models", type=comma_list, default=["ltc", "cfc", "gru"], help="comma-separated models")
    tb.add_argument("--seeds", type=seed_list, default=[0], help="comma-separated seeds (default 0)")
    add_out_option(tb, "folder", "one run folder per model and seed (an interrupted table resumes)",
                   default="runs/liquid")
    add_json_option(tb, "the table")
    tb.set_defaults(func=_table)

    so = s.add_parser("solvers", help="eq. 1: fused vs Euler vs RK4 against scipy solve_ivp",
                      epilog=SOLVER_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    so.add_argument("--seed", type=nonnegative_int, default=0)
    add_json_option(so, "the errors and bounds")
    so.set_defaults(func=_solvers)


def _train(args: argparse.Namespace) -> int:
    from paradigmlab.liquid import experiments as ex

    cfg = ex.RunConfig(task=args.task, model=args.model, seed=args.seed, epochs=args.epochs, units=args.units,
                       batch_size=args.batch_size, lr=args.lr, quick=args.quick)
    res = ex.train_run(cfg, args.out, progress=not args.no_progress, threads=args.threads,
                       allow_changes=args.allow_resume_changes)
    write_json_option(args, res)
    if not json_to_stdout(args):
        print(run_line(res))
        if args.out:
            print(f"saved to {args.out}/model.pt and result.json")
    return 0


def run_line(res: dict) -> str:
    c, metric = res["config"], ("accuracy" if "test_accuracy" in res else "mse")
    unit = " %" if metric == "accuracy" else ""
    pub = res.get("published")
    ref = f" (published {pub['mean']}{unit})" if pub else ""
    return (f"{c['task']} {c['model']} seed {c['seed']}: test {metric} {res['test_' + metric]:.4g}{unit}{ref} "
            f"at best-val epoch {res['best_epoch']}/{c['epochs']}; {res['params']} params, "
            f"{res['seconds_per_epoch']:.2f} s/epoch, {res['inference_us_per_step']:.1f} us/step")


def _evaluate(args: argparse.Namespace) -> int:
    from paradigmlab.liquid import experiments as ex

    res = ex.evaluate_run(args.run, args.split)
    write_json_option(args, res)
    if not json_to_stdout(args):
        score = f"accuracy {res['accuracy']:.2f} %" if "accuracy" in res else f"mse {res['mse']:.4g}"
        print(f"{res['run']['task']} {res['run']['model']} on {res['split']}: {score} (loss {res['loss']:.4g})")
    return 0


def _table(args: argparse.Namespace) -> int:
    from paradigmlab.liquid import experiments as ex
    from paradigmlab.liquid.models import CORES
    from paradigmlab.validate import InputError

    bad = [m for m in args.models if m not in CORES]
    if bad:
        raise InputError(f"--models: unknown {bad}; choose from {', '.join(CORES)}")
    res = ex.task_table(args.task, args.models, args.seeds, args.out, quick=args.quick,
                        progress=not args.no_progress, threads=args.threads,
                        **{k: v for k, v in (("epochs", args.epochs), ("units", args.units),
                                             ("batch_size", args.batch_size), ("lr", args.lr)) if v is not None})
    write_json_option(args, res)
    if not json_to_stdout(args):
        for r in res["rows"]:
            pub = f"  published {r['published']['mean']}" if r["published"] else ""
            print(f"{r['model']:12s} {r['metric']} {r['mean']:.4g} +- {r['std']:.2g} over seeds {r['seeds']}"
                  f"{pub}  ({r['params']} params, {r['seconds_per_epoch']:.2f} s/epoch)")
    return 0


def _solvers(args: argparse.Namespace) -> int:
    from paradigmlab.liquid import experiments as ex

    res = ex.solver_study(seed=args.seed)
    write_json_option(args, res)
    if not json_to_stdout(args):
        print(f"Euler stable below dt = {res['euler_stability_dt']:.3g} (2 / max rate); reference: {res['reference']}")
        for row in res["by_dt"]:
            cells = "  ".join(f"{s} err {row[s]['max_error']:.2e} outside {row[s]['bound_violation']:.1e}"
                              for s in ("fused", "euler", "rk4"))
            print(f"dt {row['dt']:<5g} {cells}")
    return 0
