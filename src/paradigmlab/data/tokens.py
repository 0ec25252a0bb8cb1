"""Token-id corpora: a 1-D integer array from a ``.npy`` file (or made in memory), split like the text corpora.

The result is a :class:`paradigmlab.data.text.TextData` whose tokenizer is :class:`IdTokenizer` (ids are their own
text), so every trainer and evaluator that reads a text corpus reads a token file the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from paradigmlab.data.text import TextData, TokenSplit
from paradigmlab.validate import InputError, integer, number, read_npy


class IdTokenizer:
    """Token ids without text: vocabulary ``vocab_size``, no end-of-text token, no byte count."""

    def __init__(self, vocab_size: int) -> None:
        integer(vocab_size, "vocab_size", min=1)
        self.vocab_size = vocab_size
        self.name = f"ids-{vocab_size}"
        self.eot = None

    def encode(self, text: str) -> list[int]:
        """Whitespace-separated integers (how a prompt of ids is typed on the command line)."""
        try:
            ids = [int(t) for t in text.split()]
        except ValueError:
            raise InputError(f"a prompt for a token-id model is whitespace-separated integers, got {text!r}") from None
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise InputError(f"prompt ids {bad[:5]} are outside the vocabulary [0, {self.vocab_size})")
        return ids

    def decode(self, tokens: list[int]) -> str:
        return " ".join(str(int(t)) for t in tokens)


def check_tokens(tokens, name: str = "tokens", vocab_size: int | None = None, source=None) -> np.ndarray:
    """A non-empty 1-D array of non-negative integers (below ``vocab_size`` if given), as int64."""
    where = f"{source}: " if source is not None else ""
    a = np.asarray(tokens)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.bool_)):
        raise InputError(f"{where}{name} must be integer token ids, got dtype {a.dtype}")
    if a.ndim != 1:
        raise InputError(f"{where}{name} must be a 1-D array of token ids, got shape {a.shape}")
    if a.size == 0:
        raise InputError(f"{where}{name} is empty")
    a = a.astype(np.int64)
    if a.min() < 0:
        raise InputError(f"{where}{name} has negative ids (min {a.min()})")
    if vocab_size is not None and a.max() >= vocab_size:
        raise InputError(f"{where}{name} has id {a.max()}, outside the vocabulary of {vocab_size} tokens")
    return a


def load_token_file(path: str | os.PathLike, vocab_size: int | None = None) -> np.ndarray:
    """The 1-D integer array in a ``.npy`` file (no pickles), checked by :func:`check_tokens`."""
    path = Path(path)
    a = read_npy(path, "token file")
    return check_tokens(a, "the token array", vocab_size, source=path)


def token_data(tokens, vocab_size: int | None = None, val_fraction: float = 0.1, name: str = "tokens") -> TextData:
    """Train on the first ``1 - val_fraction`` of ``tokens``, validate on the rest (a contiguous tail: windows of
    the two never overlap). ``vocab_size`` defaults to the largest id + 1."""
    a = check_tokens(tokens, name, vocab_size)
    number(val_fraction, "val_fraction", min=0.0, max=0.5)
    V = int(a.max()) + 1 if vocab_size is None else vocab_size
    n_val = int(round(len(a) * val_fraction))
    dtype = np.uint16 if V <= 65536 else np.int32
    train, val = a[: len(a) - n_val].astype(dtype), a[len(a) - n_val:].astype(dtype)
    return TextData(train=TokenSplit(train, 0), val=TokenSplit(val, 0), tokenizer=IdTokenizer(V), corpus=name,
                    val_documents=[])


__all__ = ["IdTokenizer", "check_tokens", "load_token_file", "token_data"]
