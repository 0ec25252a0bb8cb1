"""``paradigmlab thermo solve|inv|expm|slogdet|sample``: thermodynamic linear algebra on an emulated device from the
shell (argument parsing only; the algorithms are :mod:`paradigmlab.thermo.linalg`)."""

from __future__ import annotations

import argparse

import numpy as np

from paradigmlab.cliutil import (JSON_HELP, add_json_option, add_out_option, json_to_stdout, nonnegative_int,
                                 positive_float, positive_int, write_json_option)

EXAMPLES = f"""\\
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
