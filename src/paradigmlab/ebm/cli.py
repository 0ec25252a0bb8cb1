"""``paradigmlab ebm train|evaluate|generate``: the sparse DBM on MNIST from the shell (argument parsing only;
the runs are :mod:`paradigmlab.ebm.experiments`)."""

from __future__ import annotations

import argparse
import json

from paradigmlab.cliutil import (JSON_HELP, add_json_option, add_out_option, json_to_stdout, mark_output_files,
                                 nonnegative_int, positive_float, positive_int, write_json_option)

TRAIN_EXAMPLES = f"""\
example (seconds: 10 updates, accuracy estimated on 100 test images):
  paradigmlab ebm train --minutes 1 --recipe '{{"epochs": 0.2}}' --eval-n 100 \\
      --checkpoint /tmp/dbm_ckpt.npz --out /tmp/dbm.npz --json -

The recipe is paradigmlab.ebm.experiments.DBM_RECIPE; --recipe overrides its fields (TrainConfig names).
A rerun with the same --checkpoint resumes it bit-exactly (a larger --minutes or "epochs" continues).
{JSON_HELP}
"""

EVALUATE_EXAMPLES = f"""\
example (seconds; the model written by the `ebm train` example):
  paradigmlab ebm evaluate /tmp/dbm.npz --n 200 --json -

{JSON_HELP}
"""

GENERATE_EXAMPLES = """\
example (seconds; the model written by the `ebm train` example):
  paradigmlab ebm generate /tmp/dbm.npz --per-class 2 --out /tmp/dbm_digits.png
"""


def add_train_options(p: argparse.ArgumentParser, minutes: float = 10.0) -> None:
    """The options of a DBM training run (``ebm train`` and ``benchmarks/ebm_dbm_training.py``)."""
    p.add_argument("--minutes", type=positive_float, default=minutes,
                   help=f"training-time budget, cumulative over resumes (default {minutes:g})")
    p.add_argument("--eval-every", type=positive_int, default=250,
                   help="updates between accuracy estimates and checkpoints (default 250)")
    p.add_argument("--eval-n", type=positive_int, default=1000, help="test images of the accuracy estimates (default 1000)")
    p.add_argument("--recipe", default="{}", help='JSON overrides of the recipe, e.g. \'{"lr": 0.02, "epochs": 1100}\'')
    p.add_argument("--label-copies", type=positive_int, default=None,
                   help="label copies on the graph (default: the recipe's; Niazi et al. have 5)")
    p.add_argument("--label-block", default=None, choices=("independent", "softmax"),
                   help="label p-bits flip one by one (Niazi et al.) or form one categorical variable "
                        "(default: the recipe's)")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--allow-resume-changes", action="store_true",
                   help="resume a checkpoint even if it was written with other training settings")


def train_arguments(args: argparse.Namespace) -> dict:
    """The keyword arguments of :func:`~paradigmlab.ebm.experiments.train_dbm` that the options give."""
    try:
        recipe = json.loads(args.recipe)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--recipe is not valid JSON ({exc}): {args.recipe!r}") from None
    if not isinstance(recipe, dict):
        raise ValueError(f"--recipe must be a JSON object of TrainConfig fields, got {args.recipe!r}")
    return dict(eval_every=args.eval_every, eval_n=args.eval_n, seed=args.seed, label_copies=args.label_copies,
                label_block=args.label_block, recipe=recipe, allow_resume_changes=args.allow_resume_changes)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``ebm`` sub-command with ``train``, ``evaluate`` and ``generate``."""
    p = sub.add_parser("ebm", help="sparse deep Boltzmann machine on the p-bit sampler (MNIST)")
    s = p.add_subparsers(dest="ebm_command", required=True)

    t = s.add_parser("train", help="train the Niazi-graph DBM on the 5k MNIST subset (resumable)",
                     epilog=TRAIN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_train_options(t)
    t.add_argument("--checkpoint", default="dbm_ckpt.npz", help="checkpoint file (resumed when it exists)")
    mark_output_files(t, "checkpoint")
    add_out_option(t, "file", "the trained model (.npz)", default="dbm.npz")
    add_json_option(t, "the run's summary (updates, time, flips/ns, accuracy estimate)")
    t.set_defaults(func=_train)

    e = s.add_parser("evaluate", help="test accuracy of a saved DBM on the MNIST test images",
                     epilog=EVALUATE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("model", help="a .npz written by `ebm train` or SparseDBM.save")
    e.add_argument("--n", type=positive_int, default=None, help="first n test images (default all)")
    e.add_argument("--long", action="store_true", help="the long read-out of the final reports (200 reads)")
    add_json_option(e, "the accuracy and read-out")
    e.set_defaults(func=_evaluate)

    g = s.add_parser("generate", help="PNG grid of digits generated with the label clamped",
                     epilog=GENERATE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("model", help="a .npz written by `ebm train` or SparseDBM.save")
    add_out_option(g, "file", "the PNG grid", default="dbm_digits.png")
    g.add_argument("--per-class", type=positive_int, default=6, help="digits per class (default 6)")
    g.set_defaults(func=_generate)


def _train(args: argparse.Namespace) -> int:
    from paradigmlab.ebm import experiments as ex

    res = ex.train_and_save(args.minutes, args.checkpoint, args.out, **train_arguments(args))
    write_json_option(args, res)
    if not json_to_stdout(args):
        print(f"data: {res['data']}")
        print(f"{res['update']} updates ({res['epoch']:.1f} epochs) in {res['train_s'] / 60:.1f} min, "
              f"{res['flips_per_ns_training']:.3f} flips/ns; accuracy estimate {res['accuracy_estimate']:.3f}; "
              f"model saved to {res['model_path']}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from paradigmlab.ebm import experiments as ex

    res = ex.evaluate_saved(args.model, n=args.n, long=args.long)
    write_json_option(args, res)
    if not json_to_stdout(args):
        print(f"test accuracy {res['accuracy']:.4f} on {res['test_images']} images ({res['seconds']:.1f} s)")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from paradigmlab.ebm import experiments as ex

    path = ex.generate_saved(args.model, args.out, per_class=args.per_class)
    print(f"wrote {path}")
    return 0
