"""Command-line entry point: one sub-command per paradigm plus ``reproduce``.

Each paradigm package owns a ``cli`` module with ``register(subparsers)``; this
file only lists them, so adding a paradigm is one line here.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = [
    "paradigmlab.pbit.cli",
    "paradigmlab.looped.cli",
    "paradigmlab.costmodel.cli",
    "paradigmlab.report.cli",
    "paradigmlab.optimize.cli",
    "paradigmlab.ebm.cli",
]


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every paradigm's sub-commands."""
    from paradigmlab import __version__

    parser = argparse.ArgumentParser(
        prog="paradigmlab",
        description="Next-generation AI computing paradigms, runnable and measured.",
    )
    parser.add_argument("--version", action="version", version=f"paradigmlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors (bad files, bad options) exit 2 with one clear line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"paradigmlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("paradigmlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
