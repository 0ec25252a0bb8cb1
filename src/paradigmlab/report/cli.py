"""``paradigmlab reproduce`` sub-command."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``reproduce`` sub-command."""
    p = sub.add_parser("reproduce", help="run the paper's experiments and write a report")
    p.add_argument("--quick", action="store_true", help="laptop scale (minutes)")
    p.add_argument("--out", default="report", help="output folder (default: report)")
    p.add_argument("--only", nargs="*", help="run only sections whose module name contains one of these words")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from paradigmlab.report import reproduce

    path = reproduce(args.out, quick=args.quick, only=args.only)
    print(f"report written to {path}")
    return 0
