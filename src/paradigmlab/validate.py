"""One validation layer for every boundary: file loaders, checkpoint loaders, public constructors, CLI options.

A bad input raises :class:`InputError` (a ``ValueError``) whose message names the input (argument,
option, file and line) and the problem, before anything is allocated or computed; the CLI turns it into
one line and exit status 2. Numbers are checked for their exact type (no silent cast of ``2.5`` to ``2``
or of a complex value to its real part), for being finite and for their range; sizes that a file
declares are checked against what allocating them would cost before anything is allocated.

This module is a leaf: it imports nothing of paradigmlab, so every package can use it.
"""

from __future__ import annotations

import numbers
import os
import re
from pathlib import Path
from typing import Iterator

import numpy as np


class InputError(ValueError):
    """A user's input (argument, option, file) is malformed; the message says which and why."""


def _where(name: str, source: str | os.PathLike | None, line: int | None) -> str:
    if source is None:
        return name
    loc = f"{source}:{line}" if line is not None else f"{source}"
    return f"{loc}: {name}"


def integer(value, name: str, *, min: int | None = None, max: int | None = None,
            source: str | os.PathLike | None = None, line: int | None = None) -> int:
    """``value`` as an ``int``; it must be an integer type (not bool, not a float) within ``[min, max]``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise InputError(f"{_where(name, source, line)} must be an integer, got {value!r}")
    v = int(value)
    if min is not None and v < min:
        raise InputError(f"{_where(name, source, line)} must be >= {min}, got {v}")
    if max is not None and v > max:
        raise InputError(f"{_where(name, source, line)} must be <= {max}, got {v}")
    return v


def number(value, name: str, *, min: float | None = None, max: float | None = None, positive: bool = False,
           finite: bool = True, source: str | os.PathLike | None = None, line: int | None = None) -> float:
    """``value`` as a ``float``: a real number (not bool, not complex), finite unless ``finite=False``,
    ``> 0`` when ``positive``, within ``[min, max]``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InputError(f"{_where(name, source, line)} must be a real number, got {value!r}")
    v = float(value)
    if finite and not np.isfinite(v):
        raise InputError(f"{_where(name, source, line)} must be finite, got {v}")
    if np.isnan(v):
        raise InputError(f"{_where(name, source, line)} must be a number, got nan")
    if positive and not v > 0:
        raise InputError(f"{_where(name, source, line)} must be > 0, got {v}")
    if min is not None and v < min:
        raise InputError(f"{_where(name, source, line)} must be >= {min}, got {v}")
    if max is not None and v > max:
        raise InputError(f"{_where(name, source, line)} must be <= {max}, got {v}")
    return v


def real_array(a, name: str, *, shape: tuple | None = None, dtype=np.float64, finite: bool = True,
               source: str | os.PathLike | None = None) -> np.ndarray:
    """``a`` as a real array of ``dtype``: numeric, not complex, not object, finite, of ``shape`` if given."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{_where(name, source, None)} must be a real numeric array, got dtype {arr.dtype}")
    if shape is not None and arr.shape != tuple(shape):
        raise InputError(f"{_where(name, source, None)} must have shape {tuple(shape)}, got {arr.shape}")
    out = arr.astype(dtype, copy=False)
    if finite and out.dtype.kind == "f" and not np.all(np.isfinite(out)):
        raise InputError(f"{_where(name, source, None)} must be finite (it holds nan or inf)")
    return out


_INT_TOKEN = re.compile(r"[+-]?[0-9]+")
_FLOAT_TOKEN = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def int_token(tok: str, name: str, *, source: str | os.PathLike | None = None, line: int | None = None,
              min: int | None = None) -> int:
    """One integer field of a text file, parsed strictly: optional sign and decimal digits only (Python's
    ``int`` would also take ``1_0``, which a data file never means)."""
    if not _INT_TOKEN.fullmatch(tok):
        raise InputError(f"{_where(name, source, line)} must be an integer, got {tok!r}")
    return integer(int(tok), name, min=min, source=source, line=line)


def float_token(tok: str, name: str, *, source: str | os.PathLike | None = None, line: int | None = None) -> float:
    """One real field of a text file, parsed strictly and finite (no ``inf``, ``nan``, ``1_0``, ``0x1p3``)."""
    if tok.lstrip("+-").lower() in ("inf", "infinity", "nan"):
        raise InputError(f"{_where(name, source, line)} must be finite, got {tok!r}")
    if not _FLOAT_TOKEN.fullmatch(tok):
        raise InputError(f"{_where(name, source, line)} must be a number, got {tok!r}")
    return number(float(tok), name, source=source, line=line)


def memory_limit_bytes() -> int:
    """What one loader may allocate: ``$PARADIGMLAB_MAX_ALLOC_BYTES``, else half the physical memory."""
    env = os.environ.get("PARADIGMLAB_MAX_ALLOC_BYTES")
    if env:
        return int(env)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def declared_size(count: int, what: str, bytes_per_item: float, *, source: str | os.PathLike | None = None,
                  line: int | None = None) -> int:
    """Refuse a declared size (``count`` items of ``bytes_per_item``) that would not fit in memory.

    Checked before allocating, so a header claiming 10^12 nodes fails at once with a clear message
    instead of exhausting the machine.
    """
    need = float(count) * float(bytes_per_item)
    limit = memory_limit_bytes()
    if need > limit:
        raise InputError(f"{_where(what, source, line)} = {count:,} would need {need / 2**30:,.1f} GiB, more than "
                         f"the {limit / 2**30:,.1f} GiB a loader may use (set PARADIGMLAB_MAX_ALLOC_BYTES to allow more)")
    return count


def text_lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """``(line_number, line)`` of a UTF-8 text file; a missing file or bytes that are not UTF-8 raise an
    error naming the file (and line)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file" if not p.exists() else f"{p}: not a regular file")
    with p.open("rb") as fh:
        for no, raw in enumerate(fh, start=1):
            try:
                yield no, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"{p}:{no}: not UTF-8 text (byte {raw[exc.start]:#04x} at column {exc.start + 1})"
                                 ) from None


def writable_file(path: str | os.PathLike, what: str = "output file") -> Path:
    """Check before any work that ``path`` can be written as a file (its folder is created if missing)."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{what} {p} is a directory, expected a file path")
    parent = p.parent if str(p.parent) else Path(".")
    _check_dir_writable(parent, what, p)
    if p.exists() and not os.access(p, os.W_OK):
        raise InputError(f"{what} {p} exists and is not writable")
    return p


def writable_dir(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Check before any work that ``path`` is (or can be created as) a writable folder."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{what} {p} exists and is not a directory")
    _check_dir_writable(p, what, p)
    return p


def _check_dir_writable(folder: Path, what: str, target: Path) -> None:
    probe = folder
    while not probe.exists():  # the nearest existing ancestor decides whether the folder can be created
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"{what} {target}: {probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"{what} {target}: no permission to write in {probe}")


def read_npy(path: str | os.PathLike, what: str) -> np.ndarray:
    """The one array of a ``.npy`` file, loaded without pickles; a missing file, an ``.npz`` archive or a damaged
    file (including a header numpy cannot parse) is an ``InputError`` naming the file as ``what``."""
    import tokenize

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} {p} does not exist" if not p.exists() else f"{p}: not a regular file")
    try:
        a = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError, SyntaxError, tokenize.TokenError, KeyError, TypeError) as exc:
        raise InputError(f"{p}: not a readable .npy array ({type(exc).__name__}: {str(exc)[:200]})") from None
    if isinstance(a, np.lib.npyio.NpzFile):
        a.close()
        raise InputError(f"{p}: an .npz archive; save the {what} with np.save as one array")
    return a


def read_npz(path: str | os.PathLike, what: str, required: frozenset | set = frozenset(),
             allowed: frozenset | set | None = None) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file, loaded without pickles; a damaged archive, a plain ``.npy``, missing
    ``required`` arrays or (with ``allowed``) unknown ones are a ``ValueError`` naming the file as ``what``."""
    import zipfile
    import zlib

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file" if not p.exists() else f"{p}: not a regular file")
    try:
        f = np.load(p, allow_pickle=False)
        if not hasattr(f, "files"):
            raise ValueError("a single .npy array, not an .npz archive")
        with f:
            arrays = {k: f[k] for k in f.files}
    except (ValueError, OSError, EOFError, KeyError, NotImplementedError, zipfile.BadZipFile, zlib.error) as exc:
        raise InputError(f"{p}: not a readable {what} ({type(exc).__name__}: {exc})") from None
    missing = set(required) - set(arrays)
    if missing:
        raise InputError(f"{p}: not a {what} (missing {', '.join(sorted(missing))})")
    if allowed is not None and set(arrays) - set(allowed):
        raise InputError(f"{p}: unexpected arrays {sorted(set(arrays) - set(allowed))} in a {what}")
    return arrays


def strict_json(text: str, source: str | os.PathLike, what: str = "JSON document") -> object:
    """``json.loads`` that refuses the non-standard constants ``NaN``, ``Infinity`` and ``-Infinity``
    (Python's json reads them as floats); any error is an ``InputError`` naming ``source``."""
    import json

    def refuse(name: str):
        raise InputError(f"{name} is not a number JSON allows")

    try:
        return json.loads(text, parse_constant=refuse)
    except (json.JSONDecodeError, InputError) as exc:
        raise InputError(f"{source}: not a {what} (invalid JSON: {exc})") from None
