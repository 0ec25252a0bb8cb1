"""``paradigmlab ebm``: train, evaluate and sample the sparse DBM on MNIST from the shell."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``ebm`` sub-command with ``train``, ``evaluate`` and ``generate``."""
    p = sub.add_parser("ebm", help="sparse deep Boltzmann machine on the p-bit sampler (MNIST)")
    s = p.add_subparsers(dest="ebm_command", required=True)

    t = s.add_parser("train", help="train the Niazi-graph DBM on the 5k MNIST subset (resumable)")
    t.add_argument("--minutes", type=float, default=10.0, help="training-time budget, cumulative over resumes")
    t.add_argument("--checkpoint", default="dbm_ckpt.npz", help="checkpoint file (resumed when it exists)")
    t.add_argument("--out", default="dbm.npz", help="where to save the trained model")
    t.add_argument("--eval-every", type=int, default=250, help="updates between accuracy estimates")
    t.add_argument("--recipe", default="{}", help='JSON overrides, e.g. \'{"lr": 0.02, "num_chains": 256}\'')
    t.add_argument("--label-copies", type=int, default=None,
                   help="label copies on the graph (default: the recipe's; Niazi et al. have 5)")
    t.add_argument("--label-block", default=None, choices=("independent", "softmax"),
                   help="label p-bits flip one by one (Niazi et al.) or form one categorical variable "
                        "(default: the recipe's)")
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(func=_train)

    e = s.add_parser("evaluate", help="test accuracy of a saved DBM on the MNIST test images")
    e.add_argument("model", help="a .npz written by `ebm train` or SparseDBM.save")
    e.add_argument("--n", type=int, default=None, help="first n test images (default all)")
    e.add_argument("--long", action="store_true", help="the long read-out of the final reports (200 reads)")
    e.set_defaults(func=_evaluate)

    g = s.add_parser("generate", help="PNG grid of digits generated with the label clamped")
    g.add_argument("model")
    g.add_argument("--out", default="dbm_digits.png")
    g.add_argument("--per-class", type=int, default=6)
    g.set_defaults(func=_generate)


def _train(args: argparse.Namespace) -> int:
    from paradigmlab.ebm import experiments as ex

    split = ex.load_split()
    print(f"data: {split.source}")
    copies = ex.DBM_LABEL_COPIES if args.label_copies is None else args.label_copies
    model, trainer = ex.train_dbm(split, args.minutes, args.checkpoint, eval_every=args.eval_every, seed=args.seed,
                                  label_copies=copies, label_block=args.label_block or ex.DBM_LABEL_BLOCK,
                                  **json.loads(args.recipe))
    model.save(args.out)
    s = trainer.summary(len(split.y_train))
    last = trainer.history[-1]["accuracy"] if trainer.history else float("nan")
    print(f"{s['update']} updates ({s['epoch']:.1f} epochs) in {s['train_s'] / 60:.1f} min, "
          f"{s['flips_per_ns_training']:.3f} flips/ns; accuracy estimate {last:.3f}; model saved to {args.out}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from paradigmlab.ebm import experiments as ex
    from paradigmlab.ebm.dbm import SparseDBM

    res = ex.evaluate(SparseDBM.load(args.model), ex.load_split(), n=args.n,
                      readout=ex.READOUT_LONG if args.long else None)
    print(f"test accuracy {res['accuracy']:.4f} on {res['test_images']} images ({res['seconds']:.1f} s)")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from paradigmlab.ebm import experiments as ex
    from paradigmlab.ebm.dbm import SparseDBM

    path = ex.plot_digits(SparseDBM.load(args.model), args.out, per_class=args.per_class)
    print(f"wrote {path}")
    return 0
