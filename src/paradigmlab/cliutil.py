"""The pieces of the command-line grammar every paradigm's ``cli.py`` shares.

- ``--json PATH`` writes the command's JSON to PATH (atomically); ``--json -`` (or a bare
  ``--json``) prints it on standard output instead of the human-readable lines.
- ``--out`` keeps its meaning per command: a file where the command writes one, a folder where it
  writes several; each command's help says which (:func:`add_out_option`).
"""

from __future__ import annotations

import argparse
from typing import Any

from paradigmlab.measure import emit_json

#: Epilog shown under a parser's options: how --json behaves everywhere.
JSON_HELP = "--json PATH writes JSON to PATH; --json - (or a bare --json) prints it."


def add_json_option(parser: argparse.ArgumentParser, what: str = "the result", default: str | None = None) -> None:
    """Add ``--json [PATH]``: ``PATH`` writes ``what`` as JSON there, ``-`` or no value prints it."""
    dflt = f" (default {default})" if default else ""
    parser.add_argument("--json", nargs="?", const="-", default=default, metavar="PATH",
                        help=f"write {what} as JSON to PATH{dflt}; '-' or no PATH prints it")


def add_out_option(parser: argparse.ArgumentParser, kind: str, what: str, default: str | None = None,
                   required: bool = False) -> None:
    """Add ``--out``; ``kind`` is ``"file"`` or ``"folder"`` and the help says which."""
    if kind not in ("file", "folder"):
        raise ValueError(f"kind must be 'file' or 'folder', got {kind!r}")
    dflt = f" (default {default})" if default else ""
    parser.add_argument("--out", default=default, required=required, metavar="FILE" if kind == "file" else "DIR",
                        help=f"{kind} to write {what} to{dflt}")


def json_to_stdout(args: argparse.Namespace) -> bool:
    """Whether this command prints its JSON (then it prints nothing else on standard output)."""
    return getattr(args, "json", None) == "-"


def write_json_option(args: argparse.Namespace, obj: Any) -> None:
    """Honour ``--json`` (no-op when it was not given)."""
    target = getattr(args, "json", None)
    if target is not None:
        emit_json(target, obj)
