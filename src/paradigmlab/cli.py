"""Command-line entry point: one command group per paradigm plus ``reproduce``.

This module sits above everything: it holds the one list of paradigms
(:data:`PARADIGMS`). Each paradigm package ``paradigmlab.<name>`` owns a ``cli``
module with ``register(subparsers)`` (its command group is named like the
package) and a ``reproduce`` module with ``reproduce_section(out_dir, quick)``;
this file registers the first and hands the second to :mod:`paradigmlab.report`,
so adding a paradigm is one word here.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from paradigmlab.cliutil import add_out_option, check_outputs

#: Every paradigm, in report order; ``paradigmlab.<name>.cli`` and ``paradigmlab.<name>.reproduce`` exist for each.
PARADIGMS = ("pbit", "optimize", "looped", "costmodel", "ebm", "liquid", "diffusion", "thermo", "jepa")

# Copy-paste examples, one or more per command group. Each runs in seconds from a fresh clone
# (run from the repository root); tests/test_cli.py runs every "$ " line of this text, in order.
EXAMPLES = r"""
examples (each runs in seconds, from the repository root of a fresh clone):
  # pbit: sample a 3-spin ferromagnetic ring (text edge list "i j J_ij")
  $ printf '0 1 1\n1 2 1\n2 0 1\n' > ring.txt && paradigmlab pbit sample ring.txt --chains 8 --sweeps 100
  # optimize: factor 35 with an invertible-logic multiplier on p-bits
  $ paradigmlab optimize factor 35 --time-limit 2 --quiet
  # looped: train a 1-layer x 2-loop LM for 20 steps, then sample from it with the KV cache
  $ paradigmlab looped train --layers 1 --loops 2 --d-model 32 --n-head 2 --block-size 32 --steps 20 --eval-every 10 --eval-batches 2 --corpus shakespeare --max-chars 100000 --no-progress --out looped_run
  $ paradigmlab looped generate looped_run --prompt "ROMEO:" --max-new-tokens 40
  # costmodel: one decode step of Llama-2-7B on an A100 (FLOPs, bytes, intensity, roofline time)
  $ paradigmlab costmodel decode --model llama-2-7b --hardware a100-80gb
  $ paradigmlab costmodel hardware
  # costmodel: the fastest TP/PP/DP plan for Llama-3-8B on 64 H100s (DGX SuperPOD), and P/D pools serving it
  $ paradigmlab costmodel plan --model llama-3-8b --gpus 64 --hardware h100-sxm --batch 256 --top 3
  $ paradigmlab costmodel serve --model llama-3-8b --hardware h100-sxm --rate 10
  # ebm: accuracy of the shipped 20-copy DBM on the first 200 MNIST test images
  $ paradigmlab ebm evaluate benchmarks/results/ebm_dbm_sm20_fit_model.npz --n 200
  # ebm: the RRAM attractor circuit of Li et al. Fig. 4a; the Hebbian Hopfield net's capacity curve at N = 100
  $ paradigmlab ebm attractor attractors --v 0.4,-1.2,0.8,0.8
  $ paradigmlab ebm hopfield capacity --sizes 100 --trials 2
  # liquid: eq. 1 by three solvers; a CfC trained 2 epochs on MNIST-1D (resumable run folder), then scored
  $ paradigmlab liquid solvers
  $ paradigmlab liquid train --task mnist1d --model cfc --epochs 2 --threads 1 --no-progress --out liquid_run
  $ paradigmlab liquid evaluate liquid_run --split test
  # diffusion: a masked-diffusion LM on the built-in Markov corpus for 30 steps, its NELBO, LLaDA samples (block cache)
  $ paradigmlab diffusion train --data markov --kind mdm --steps 30 --d-model 32 --layers 1 --n-head 2 --block-size 32 --threads 1 --no-progress --out diffusion_run
  $ paradigmlab diffusion evaluate diffusion_run --data markov --max-windows 64 --samples 2
  $ paradigmlab diffusion generate diffusion_run --length 16 --tokens-per-step 4 --block-length 8 --cache prefix
  # thermo: solve A x = b on an emulated Langevin device (time average of its state), next to numpy
  $ python -c "import numpy as np; np.save('thermo_A.npy', np.array([[2.0, 0.5], [0.5, 1.0]]))" && paradigmlab thermo solve thermo_A.npy --b 1,2 --duration 1e4
  # jepa: I-JEPA (EMA target, multi-block masks) on 512 digits for one epoch, then its frozen-feature probes
  $ paradigmlab jepa train --data mnist --epochs 1 --train-limit 512 --test-limit 500 --batch-size 128 --threads 1 --no-progress --out jepa_run
  $ paradigmlab jepa probe jepa_run --fractions 0.1 --seeds 0
  # reproduce: the report's sections (the full quick report is `make reproduce`; --only NAME runs one)
  $ paradigmlab reproduce --list

--json PATH writes a command's JSON to PATH, --json - (or a bare --json) prints it;
--out is a file or a folder, as each command's --help says. Old names still work: solve = optimize, cost = costmodel.
"""


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every paradigm's command group and ``reproduce``."""
    from paradigmlab import __version__

    parser = argparse.ArgumentParser(
        prog="paradigmlab",
        description="Next-generation AI computing paradigms, runnable and measured.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"paradigmlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in PARADIGMS:
        importlib.import_module(f"paradigmlab.{name}.cli").register(sub)
    _register_reproduce(sub)
    return parser


def report_sections() -> dict:
    """Each paradigm's report sections in :data:`PARADIGMS` order: its ``reproduce_section`` under the paradigm's
    name, or, where its ``reproduce`` module has a ``SECTIONS`` dict (name -> section function), those."""
    out = {}
    for name in PARADIGMS:
        mod = importlib.import_module(f"paradigmlab.{name}.reproduce")
        out.update(getattr(mod, "SECTIONS", None) or {name: mod.reproduce_section})
    return out


def _register_reproduce(sub) -> None:
    p = sub.add_parser("reproduce", help="run the paper's experiments and write a report")
    p.add_argument("--quick", action="store_true", help="laptop scale (minutes)")
    add_out_option(p, "folder", "the report (README.md, summary.json, figures)", default="report")
    p.add_argument("--only", nargs="*", metavar="SECTION",
                   help=f"run only the sections whose name contains one of these words ({', '.join(PARADIGMS)})")
    p.add_argument("--list", action="store_true", help="print the sections and exit")
    p.set_defaults(func=_reproduce)


def _reproduce(args: argparse.Namespace) -> int:
    from paradigmlab.report import reproduce, select_sections

    sections = report_sections()
    if args.list:
        for name, fn in select_sections(sections, args.only).items():
            print(f"{name:10s} {fn.__module__}")
        return 0
    try:
        path = reproduce(args.out, sections, quick=args.quick, only=args.only)
    except RuntimeError as exc:  # some sections failed; the report says why, with their tracebacks
        print(f"paradigmlab: {exc}", file=sys.stderr)
        return 1
    print(f"report written to {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors (bad files, bad options, unwritable outputs) exit 2 with one clear line.

    A reader that closes the pipe early (``paradigmlab ... | head -1``) ends the command quietly
    with status 141, as a command killed by SIGPIPE would.
    """
    try:
        try:
            code = _main(argv)
        except SystemExit:  # --help, --version and usage errors: flush here, so a closed pipe is caught below
            sys.stdout.flush()
            raise
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # As Python's documentation on SIGPIPE recommends: point stdout at devnull so that the
        # interpreter's final flush does not raise again, and exit without a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_outputs(args)  # an unwritable output is found before the work, not after it
        return int(args.func(args) or 0)
    except BrokenPipeError:
        raise
    except (ValueError, KeyError, OSError, ModuleNotFoundError) as exc:
        # OSError: missing inputs, unwritable or misnamed outputs; ModuleNotFoundError: an optional dependency
        print(f"paradigmlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("paradigmlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
