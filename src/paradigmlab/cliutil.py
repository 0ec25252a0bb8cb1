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
from paradigmlab.validate import InputError, float_token, int_token, number, writable_dir, writable_file

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
    parser.set_defaults(out_kind=kind)


def mark_output_files(parser: argparse.ArgumentParser, *dests: str) -> None:
    """Declare further options (by ``dest``) that name files the command writes, so that
    :func:`check_outputs` checks them before the work starts."""
    parser.set_defaults(output_files=tuple(dests))


def check_outputs(args: argparse.Namespace) -> None:
    """Before any work: every output the command will write (``--out``, ``--json PATH``, and the options
    :func:`mark_output_files` declared) can be written -- not a directory where a file is meant, not inside
    a file, not in a folder without write permission. Raises ``InputError`` naming the option."""
    out, kind = getattr(args, "out", None), getattr(args, "out_kind", None)
    if out:
        (writable_file if kind == "file" else writable_dir)(out, "--out")
    target = getattr(args, "json", None)
    if target not in (None, "-"):
        writable_file(target, "--json")
    for dest in getattr(args, "output_files", ()):
        if getattr(args, dest, None):
            writable_file(getattr(args, dest), f"--{dest.replace('_', '-')}")


def positive_int(text: str) -> int:
    """argparse ``type=`` for counts that must be >= 1 (``--n -9998`` is an error, not 2 images)."""
    return _parsed(text, lambda t: int_token(t, "value", min=1), "a positive integer")


def nonnegative_int(text: str) -> int:
    """argparse ``type=`` for counts that may be 0."""
    return _parsed(text, lambda t: int_token(t, "value", min=0), "an integer >= 0")


def positive_float(text: str) -> float:
    """argparse ``type=`` for finite numbers > 0 (budgets, rates)."""
    return _parsed(text, lambda t: number(float_token(t, "value"), "value", positive=True), "a finite number > 0")


def nonnegative_float(text: str) -> float:
    """argparse ``type=`` for finite numbers >= 0 (a temperature of 0 is greedy decoding)."""
    return _parsed(text, lambda t: number(float_token(t, "value"), "value", min=0.0), "a finite number >= 0")


def _parsed(text: str, parse, what: str):
    # the validation layer's strict token parsers: an option like '1_0' or 'nan' is refused, not read as 10 or nan
    try:
        return parse(text)
    except InputError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def json_to_stdout(args: argparse.Namespace) -> bool:
    """Whether this command prints its JSON (then it prints nothing else on standard output)."""
    return getattr(args, "json", None) == "-"


def write_json_option(args: argparse.Namespace, obj: Any) -> None:
    """Honour ``--json`` (no-op when it was not given)."""
    target = getattr(args, "json", None)
    if target is not None:
        emit_json(target, obj)
