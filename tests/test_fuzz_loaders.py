"""Fuzzing every loader: a mutation corpus run in a separate process, and property-based parser tests.

Each loader gets valid seed files and, from them, a fixed (seeded) corpus of mutations: truncations,
bit flips, deleted/duplicated lines, numbers replaced by NaN, inf, huge or negative values, non-UTF-8
bytes, another format's content, an empty file. ``tests/fuzz_worker.py`` loads them in its own process
(a segfault fails the test, it does not kill pytest). Every file must end in one of two ways: a clean
error (``ValueError``/``FileNotFoundError`` naming the file) or an accepted result that passes the
loader's invariants (finite values, consistent shapes). Mutations that can only be invalid (NaN, inf,
huge declared sizes, non-UTF-8) must be refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paradigmlab.optimize import io as oio
from paradigmlab.optimize.sat import CNF

WORKER = Path(__file__).with_name("fuzz_worker.py")
#: Mutations per seed file; with 2-4 seeds per loader that is a few hundred files each.
PER_SEED = 60
#: Mutation kinds that can only produce an invalid file: they must be refused, never accepted.
MUST_REFUSE = ("nan", "inf", "huge", "not-utf8")


# ---------------------------------------------------------------- the corpus
def _numbers(text: str) -> list[tuple[int, int]]:
    """(start, end) of every numeric token in ``text``."""
    import re

    return [m.span() for m in re.finditer(r"(?<![\w.])[+-]?\d+(\.\d+)?([eE][+-]?\d+)?(?![\w.])", text)]


def mutations(data: bytes, rng: np.random.Generator, count: int) -> list[tuple[str, bytes]]:
    """``count`` mutated versions of ``data``, each tagged with its kind."""
    text = data.decode("utf-8", errors="replace")
    spans = _numbers(text)
    lines = data.split(b"\n")
    out: list[tuple[str, bytes]] = [("empty", b""), ("other-format", b"\x93NUMPY\x01\x00garbage"),
                                    ("other-format", b'{"type": "BinaryQuadraticModel"}')]
    kinds = ["truncate", "bitflip", "byteflip", "drop-line", "dup-line", "swap-lines", "nan", "inf", "huge",
             "negative", "real-for-int", "not-utf8", "junk-token"]
    while len(out) < count:
        kind = kinds[int(rng.integers(len(kinds)))]
        if kind == "truncate":
            m = data[: int(rng.integers(1, max(2, len(data))))]
        elif kind in ("bitflip", "byteflip"):
            b = bytearray(data)
            k = int(rng.integers(len(b)))
            b[k] ^= (1 << int(rng.integers(8))) if kind == "bitflip" else 0xFF
            m = bytes(b)
        elif kind in ("drop-line", "dup-line", "swap-lines") and len(lines) > 2:
            ls = list(lines)
            k = int(rng.integers(len(ls) - 1))
            if kind == "drop-line":
                del ls[k]
            elif kind == "dup-line":
                ls.insert(k, ls[k])
            else:
                ls[k], ls[k + 1] = ls[k + 1], ls[k]
            m = b"\n".join(ls)
        elif kind in ("nan", "inf", "huge", "negative", "real-for-int", "junk-token") and spans:
            a, b = spans[int(rng.integers(len(spans)))]
            new = {"nan": "nan", "inf": "-inf" if rng.random() < 0.5 else "inf", "huge": "1" + "0" * 18,
                   "negative": "-" + text[a:b].lstrip("+-"), "real-for-int": text[a:b] + ".5",
                   "junk-token": "1_0"}[kind]
            if kind == "huge" and not _is_size_field(text, a):
                kind = "huge-value"  # a huge coupling or literal may be legal; only a huge declared size must fail
            m = (text[:a] + new + text[b:]).encode()
        elif kind == "not-utf8":
            k = int(rng.integers(len(data) + 1))
            m = data[:k] + b"\xff\xfe" + data[k:]
        else:
            continue
        out.append((kind, m))
    return out


def _is_size_field(text: str, pos: int) -> bool:
    """Whether position ``pos`` is inside the header that declares sizes (first non-comment line, 'p cnf',
    or a '# nodes' line)."""
    start = text.rfind("\n", 0, pos) + 1
    line = text[start:text.find("\n", pos) if text.find("\n", pos) >= 0 else len(text)]
    if line.startswith("p cnf") or line.startswith("# nodes"):
        return True
    first = next((ln for ln in text.split("\n") if ln.strip() and not ln.startswith(("#", "c"))), "")
    return text.find(first) == start and len(line.split()) == 2


def _write_idx(path: Path, a: np.ndarray) -> Path:
    import gzip

    codes = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C}
    raw = bytes([0, 0, codes[a.dtype], a.ndim]) + b"".join(d.to_bytes(4, "big") for d in a.shape) + a.tobytes()
    path.write_bytes(gzip.compress(raw, mtime=0) if path.suffix == ".gz" else raw)
    return path


def seeds(tmp: Path) -> dict[str, list[Path]]:
    """Valid seed files per loader, written with the project's own writers (idx: by the format's spec)."""
    rng = np.random.default_rng(0)
    out: dict[str, list[Path]] = {"gset": [], "cnf": [], "qubo": []}
    out["idx"] = [_write_idx(tmp / "images-idx3-ubyte", rng.integers(0, 256, (3, 4, 4)).astype(np.uint8)),
                  _write_idx(tmp / "labels-idx1-ubyte.gz", rng.integers(0, 10, 7).astype(np.uint8)),
                  _write_idx(tmp / "ints-idx1-ubyte", rng.integers(-9, 9, 5).astype(">i4"))]
    for k in range(3):
        n = 6 + 3 * k
        W = np.triu(rng.integers(-2, 3, (n, n)) * (rng.random((n, n)) < 0.4), 1)
        out["gset"].append(oio.write_gset(tmp / f"g{k}.txt", W + W.T))
        clauses = [list((rng.choice(n, 3, replace=False) + 1) * rng.choice([-1, 1], 3)) for _ in range(2 * n)]
        out["cnf"].append(oio.write_cnf(tmp / f"f{k}.cnf", CNF(clauses, num_vars=n)))
        Q = {(int(i), int(j)): float(np.round(rng.normal(), 3)) for i, j in rng.integers(0, n, (n, 2))}
        out["qubo"].append(oio.write_qubo(tmp / f"q{k}.qubo", {(min(a), max(a)): v for a, v in Q.items()}, n,
                                          offset=1.5))
    return out


# ---------------------------------------------------------------- running it
def run_worker(loader: str, files: list[Path], timeout: float = 300.0) -> list[dict]:
    """Outcomes of loading ``files`` with ``loader`` in a worker process, restarted after any crash."""
    env = dict(os.environ, PARADIGMLAB_MAX_ALLOC_BYTES=str(1 << 30), FUZZ_MEMORY_BYTES=str(6 << 30))
    outcomes: list[dict] = []
    todo = [str(f) for f in files]
    while todo:
        proc = subprocess.run([sys.executable, str(WORKER), loader, *todo], capture_output=True, text=True,
                              timeout=timeout, env=env)
        started, done = None, 0
        for line in proc.stdout.splitlines():
            rec = json.loads(line)
            if "start" in rec:
                started = rec["start"]
            else:
                outcomes.append(rec)
                done += 1
                started = None
        if proc.returncode == 0 and started is None:
            break
        if started is None:  # died before loading anything: the worker itself is broken
            raise RuntimeError(f"fuzz worker failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        outcomes.append({"file": started, "status": "crash", "returncode": proc.returncode,
                         "message": proc.stderr[-500:]})
        todo = todo[done + 1:]
    return outcomes


def corpus(tmp: Path, loader: str, seed_files: list[Path]) -> tuple[list[Path], dict[str, str]]:
    rng = np.random.default_rng(sum(map(ord, loader)))  # fixed per loader: the same corpus every run
    files, kind_of = [], {}
    for s in seed_files:
        for k, (kind, data) in enumerate(mutations(s.read_bytes(), rng, PER_SEED)):
            p = tmp / f"{s.stem}.m{k:03d}{s.suffix}"
            p.write_bytes(data)
            files.append(p)
            kind_of[str(p)] = kind
    return files, kind_of


def summarise(outcomes: list[dict]) -> Counter:
    return Counter(o["status"] for o in outcomes)


#: Loaders of text formats: their value mutations (NaN, huge sizes, non-UTF-8) must be refused.
TEXT_LOADERS = ("gset", "cnf", "qubo")


@pytest.mark.parametrize("loader", ["idx", "gset", "cnf", "qubo"])
def test_mutation_corpus(tmp_path, loader):
    seed_files = seeds(tmp_path)[loader]
    files, kind_of = corpus(tmp_path, loader, seed_files)
    outcomes = run_worker(loader, files)
    assert len(outcomes) == len(files)
    bad = [o for o in outcomes if o["status"] not in ("clean", "accepted")]
    if loader in TEXT_LOADERS:
        bad += [o for o in outcomes if o["status"] == "accepted" and kind_of[o["file"]] in MUST_REFUSE]
    counts = summarise(outcomes)
    print(f"{loader}: {len(files)} files: {dict(counts)}")
    assert not bad, "\n".join(f"{kind_of[o['file']]}: {o['file']}: {o['status']} {o.get('type', '')}: "
                              f"{o.get('message', '')[:200]}" for o in bad[:10])
    assert counts["clean"] > len(files) // 3  # the corpus really exercises the error paths
    ok = run_worker(loader, seed_files)
    assert all(o["status"] == "accepted" for o in ok), ok  # and the seeds themselves load


# ---------------------------------------------------------------- property-based parser tests
@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_readers_never_fail_uncleanly_on_arbitrary_bytes(data):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "x.txt"
        p.write_bytes(data)
        for read in (oio.read_gset, oio.read_cnf, oio.read_qubo):
            try:
                read(p)
            except ValueError as exc:
                assert "x.txt" in str(exc)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 12), st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11), st.integers(-5, 5)),
                                    max_size=30))
def test_gset_round_trip(n, edges):
    import tempfile

    W = np.zeros((n, n))
    for i, j, w in edges:
        if i < n and j < n and i != j:
            W[i, j] = W[j, i] = w
    with tempfile.TemporaryDirectory() as d:
        back = oio.read_gset(oio.write_gset(Path(d) / "g.txt", W)).toarray()
    assert np.array_equal(back, W)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 8), st.lists(st.lists(st.integers(1, 8).flatmap(lambda v: st.sampled_from([v, -v])),
                                            min_size=1, max_size=4), max_size=12))
def test_cnf_round_trip(n, clauses):
    import tempfile

    clauses = [[v for v in c if abs(v) <= n] for c in clauses]
    clauses = [c for c in clauses if c]
    with tempfile.TemporaryDirectory() as d:
        back = oio.read_cnf(oio.write_cnf(Path(d) / "f.cnf", CNF(clauses, num_vars=n)))
    assert back.clauses == clauses and back.num_vars == n
