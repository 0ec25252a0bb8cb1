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
    out: dict[str, list[Path]] = {"gset": [], "cnf": [], "qubo": [], "cluster": []}
    from paradigmlab.costmodel.presets import PRESET_DIR

    for name in ("dgx-h100-superpod", "gb200-nvl72"):  # cluster presets as a user would copy and edit them
        p = tmp / f"{name}.json"
        spec = json.loads((PRESET_DIR / f"{name}.cluster.json").read_text())
        spec["source"] = "copied from the bundled preset"  # numbers in free text are not values to refuse
        p.write_text(json.dumps(spec, indent=1))
        out["cluster"].append(p)
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


def binary_seeds(tmp: Path) -> dict[str, list[Path]]:
    """Valid seed files of the binary loaders: p-bit model files (and a text one), DBM models, training
    and looped checkpoints, tensor files."""
    import torch

    from fuzz_worker import tiny_dbm_run
    from paradigmlab.ebm import SparseDBM
    from paradigmlab.looped.model import LoopedConfig
    from paradigmlab.looped.train import TrainConfig, train
    from paradigmlab.trainer import torch_threads
    from paradigmlab.data.text import load_text_data
    from paradigmlab.pbit.io import save_npz
    from paradigmlab.pbit.model import IsingModel

    rng = np.random.default_rng(1)
    out: dict[str, list[Path]] = {}
    m = IsingModel({(0, 1): 0.5, (1, 2): -1.25, (2, 3): 0.75, (0, 3): 1.0}, [0.25, 0.0, -0.5, 1.0], beta=0.8)
    (tmp / "m.txt").write_text("# nodes 4\n0 1 0.5\n1 2 -1.25\n2 3 0.75\n0 3 1\n0 0.25\n2 -0.5\n3 1\n")
    save_npz(m, tmp / "csr.npz")
    np.savez(tmp / "dense.npz", J=m.to_dense(), h=m.h, beta=np.array(0.8))
    bqm = m.to_bqm()
    bqm.relabel_variables({v: v for v in bqm.variables})
    (tmp / "bqm.json").write_text(__import__("json").dumps(bqm.to_serializable()))
    out["pbit-model"] = [tmp / "m.txt", tmp / "csr.npz", tmp / "dense.npz", tmp / "bqm.json"]
    from fuzz_worker import TINY_EDGES

    for block in ("independent", "softmax"):
        d = SparseDBM(8, TINY_EDGES, visible=[0, 1, 2], labels=[[3, 4]], weights=rng.normal(0, 0.5, len(TINY_EDGES)),
                      label_block=block)
        d.save(tmp / f"dbm_{block}.npz")
    out["dbm"] = [tmp / "dbm_independent.npz", tmp / "dbm_softmax.npz"]
    tiny_dbm_run(tmp / "train_ckpt.npz", epochs=1)
    out["dbm-checkpoint"] = [tmp / "train_ckpt.npz"]
    data = load_text_data("shakespeare", "bytes", seed=0, max_chars=50_000)
    with torch_threads(1):
        train(LoopedConfig(vocab_size=256, block_size=8, d_model=8, n_head=2, layers=1, loops=2),
              TrainConfig(steps=2, batch_size=2, eval_every=2, eval_batches=1, warmup_steps=1, progress=False,
                          device="cpu", out_dir=str(tmp / "lm")), data)
    (tmp / "lm" / "ckpt.pt").rename(tmp / "lm.pt")
    out["looped-checkpoint"] = [tmp / "lm.pt"]
    from paradigmlab.liquid.experiments import RunConfig, train_run

    with torch_threads(1):  # a liquid run: its trainer checkpoint and its model file
        train_run(RunConfig(task="xor", model="cfc", epochs=1, units=4, batch_size=64,
                            task_kwargs={"num_train": 128, "num_val": 64, "num_test": 64}), tmp / "liq", progress=False)
    out["trainer-checkpoint"] = [tmp / "liq" / "ckpt.pt"]
    out["liquid-model"] = [tmp / "liq" / "model.pt"]
    np.save(tmp / "w.npy", rng.normal(size=(8, 8)).astype(np.float32))
    np.savez(tmp / "ws.npz", a=rng.normal(size=16), b=rng.normal(size=(4, 4)))
    torch.save({"w": torch.randn(4, 4), "step": torch.tensor(3)}, tmp / "sd.pt")
    out["tensors"] = [tmp / "w.npy", tmp / "ws.npz", tmp / "sd.pt"]
    np.save(tmp / "tokens.npy", rng.integers(0, 50, 300).astype(np.uint16))  # a diffusion / LM token file
    out["token-file"] = [tmp / "tokens.npy"]
    from paradigmlab.ebm.hopfield import HopfieldNetwork

    xi = rng.choice(np.array([-1, 1], np.int8), (5, 12))
    np.save(tmp / "patterns.npy", xi)
    out["hopfield-patterns"] = [tmp / "patterns.npy"]
    HopfieldNetwork(12, "storkey").store(xi).save(tmp / "hopfield.npz")
    out["hopfield-model"] = [tmp / "hopfield.npz"]
    np.save(tmp / "spd.npy", np.array([[2.0, 0.5, 0.0], [0.5, 1.5, 0.25], [0.0, 0.25, 1.0]]))
    out["thermo-matrix"] = [tmp / "spd.npy"]
    from paradigmlab.thermo.dtm import DTM, DTMConfig, save as save_dtm, train as train_dtm

    x = rng.choice(np.array([-1, 1], np.int8), (20, 16))
    y = rng.integers(0, 10, len(x))
    save_dtm(train_dtm(DTM(DTMConfig(side=4, steps=2, mix_every=1), 0), x, 2, batch_size=4, labels=y, progress=False),
             tmp / "dtm.npz")
    save_dtm(train_dtm(DTM(DTMConfig(side=4, steps=1, conditional=False, acp=False), 0), x, 2, batch_size=4, labels=y,
                       progress=False), tmp / "ebm_dtm.npz")
    out["dtm-model"] = [tmp / "dtm.npz", tmp / "ebm_dtm.npz"]
    np.save(tmp / "partition.npy", np.arange(12) % 2)
    out["partition-file"] = [tmp / "partition.npy"]
    from paradigmlab.jepa import experiments as jx

    imgs = rng.normal(size=(16, 1, 28, 28))
    with torch_threads(1):  # a JEPA run's model file
        jx.train_run(jx.RunConfig(data="mnist", epochs=1, batch_size=8, dim=8, depth=1, heads=2, pred_dim=8,
                                  pred_depth=1, collapse_std=0.0, collapse_rank=0.0), tmp / "jepa", progress=False,
                     data=jx.from_arrays("fuzz", imgs, rng.integers(0, 10, 16), imgs[:4], rng.integers(0, 10, 4)))
    out["jepa-model"] = [tmp / "jepa" / "model.pt"]
    return out


def structured_mutations(path: Path) -> list[tuple[str, bytes]]:
    """Well-formed archives with wrong contents: an array dropped, filled with NaN, made complex, cut
    short or (a scalar) turned into a vector, a huge declared size, an unknown array; for a torch
    checkpoint the same on its tensors and counters."""
    import io

    out: list[tuple[str, bytes]] = []
    if path.name == "spd.npy":  # well-formed .npy files that are not a symmetric positive-definite matrix
        a = np.load(path)
        bad_sym = a.copy()
        bad_sym[0, 1] += 1.0
        for kind, bad in (("nan-array", np.where(a > 1.9, np.nan, a)), ("asymmetric", bad_sym), ("indefinite", -a),
                          ("shape", a[:2]), ("empty", a[:0, :0]), ("complex", a.astype(np.complex64)),
                          ("object", np.array([1, "x"], dtype=object)), ("vector", a[0])):
            buf = io.BytesIO()
            np.save(buf, bad, allow_pickle=True)
            out.append((kind, buf.getvalue()))
        return out
    if path.name == "patterns.npy":  # well-formed .npy files that are not a +-1 pattern matrix
        a = np.load(path)
        for kind, bad in (("zeros", np.zeros_like(a)), ("float", a + 0.5), ("shape", a.reshape(1, 1, -1)),
                          ("empty", a[:0]), ("nan-array", np.where(a > 0, np.nan, -1.0)),
                          ("complex", a.astype(np.complex64)), ("object", np.array([1, "x"], dtype=object))):
            buf = io.BytesIO()
            np.save(buf, bad, allow_pickle=True)
            out.append((kind, buf.getvalue()))
        return out
    if path.name == "partition.npy":  # well-formed .npy files that are not a partition of 12 p-bits into 2 parts
        a = np.load(path)
        for kind, bad in (("float", a + 0.5), ("shape", a.reshape(2, -1)), ("empty", a[:0]),
                          ("negative", a - 5), ("uncovered", np.zeros_like(a)), ("nan-array", np.where(a > 0, np.nan, 0.0)),
                          ("complex", a.astype(np.complex64)), ("object", np.array([1, "x"], dtype=object))):
            buf = io.BytesIO()
            np.save(buf, bad, allow_pickle=True)
            out.append((kind, buf.getvalue()))
        return out
    if path.name == "tokens.npy":  # well-formed .npy files that are not a token array
        a = np.load(path)
        for kind, bad in (("float", a.astype(np.float32) + 0.5), ("shape", a.reshape(-1, 2)),
                          ("empty", a[:0]), ("negative", a.astype(np.int64) - 100),
                          ("complex", a.astype(np.complex64)), ("object", np.array([1, "x"], dtype=object))):
            buf = io.BytesIO()
            np.save(buf, bad, allow_pickle=True)
            out.append((kind, buf.getvalue()))
        return out
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        for k, a in arrays.items():
            variants = [("drop-key", None)]
            if a.dtype.kind == "f" and a.size:
                variants += [("nan-array", np.full_like(a, np.nan)), ("complex", a.astype(np.complex128))]
            if a.ndim and a.shape[0] > 1:
                variants.append(("shape", a[:-1]))
            if a.ndim == 0:
                variants.append(("scalar-to-vector", np.stack([a, a])))
                if a.dtype.kind in "iu":
                    variants.append(("huge", np.array(10**15, dtype=np.int64)))
            if k == "J_shape":
                variants.append(("huge", np.array([10**15, 10**15])))
            for kind, new in variants:
                edited = {kk: vv for kk, vv in arrays.items() if kk != k}
                if new is not None:
                    edited[k] = new
                buf = io.BytesIO()
                np.savez(buf, **edited)
                out.append((kind, buf.getvalue()))
        buf = io.BytesIO()
        np.savez(buf, **arrays, surprise=np.zeros(3))
        out.append(("extra-key", buf.getvalue()))
    elif path.suffix == ".pt":
        import torch

        def edited(fn) -> bytes:
            state = torch.load(path, weights_only=True)
            fn(state)
            buf = io.BytesIO()
            torch.save(state, buf)
            return buf.getvalue()

        state = torch.load(path, weights_only=True)
        if isinstance(state, dict) and state.get("format") == "paradigmlab.trainer/1":  # a trainer checkpoint
            first = next(iter(state["model"]))
            out += [("nan-array", edited(lambda s: s["model"][first].fill_(float("nan")))),
                    ("negative-count", edited(lambda s: s.__setitem__("global_step", -2))),
                    ("bad-config", edited(lambda s: s["config"].__setitem__("optimizer", "lion"))),
                    ("history-mismatch", edited(lambda s: s["history"].append({"epoch": 9})))]
            out += [("drop-key", edited(lambda s, k=k: s.pop(k))) for k in list(state)]
        elif isinstance(state, dict) and state.get("format") == "paradigmlab.liquid.model/1":  # a liquid model
            first = next(iter(state["model"]))
            out += [("nan-array", edited(lambda s: s["model"][first].fill_(float("nan")))),
                    ("bad-config", edited(lambda s: s["spec"].__setitem__("units", 0))),
                    ("shape", edited(lambda s: s["model"].__setitem__(first, s["model"][first][:1]))),
                    ("extra-key", edited(lambda s: s["spec"].__setitem__("surprise", 1)))]
            out += [("drop-key", edited(lambda s, k=k: s.pop(k))) for k in list(state)]
        elif isinstance(state, dict) and state.get("format") == "paradigmlab.jepa.model/1":  # a JEPA model
            first = next(iter(state["model"]))
            out += [("nan-array", edited(lambda s: s["model"][first].fill_(float("nan")))),
                    ("bad-config", edited(lambda s: s["run"].__setitem__("dim", 0))),
                    ("shape", edited(lambda s: s["model"].__setitem__(first, s["model"][first][:1]))),
                    ("extra-key", edited(lambda s: s["run"].__setitem__("surprise", 1)))]
            out += [("drop-key", edited(lambda s, k=k: s.pop(k))) for k in list(state)]
        elif isinstance(state, dict) and "model" in state:  # a looped checkpoint
            first = next(iter(state["model"]))
            out += [("nan-array", edited(lambda s: s["model"][first].fill_(float("nan")))),
                    ("negative-count", edited(lambda s: s["result"].__setitem__("steps_done", -2))),
                    ("bad-config", edited(lambda s: s["model_config"].__setitem__("head_dim", 0)))]
            out += [("drop-key", edited(lambda s, k=k: s.pop(k))) for k in list(state)]
        else:  # a tensor dict
            out += [("nan-array", edited(lambda s: s["w"].fill_(float("nan"))))]
    return out


#: Structured mutations each loader must refuse (the others may load, if what loads passes the invariants).
STRUCTURED_MUST_REFUSE = {
    "pbit-model": ("nan-array", "complex", "scalar-to-vector", "huge", "extra-key"),
    "dbm": ("nan-array", "complex", "scalar-to-vector", "huge", "extra-key"),
    "dbm-checkpoint": ("nan-array", "complex", "extra-key", "shape"),
    "looped-checkpoint": ("nan-array", "negative-count", "bad-config", "drop-key"),
    "tensors": ("nan-array",),
    "trainer-checkpoint": ("nan-array", "negative-count", "bad-config", "history-mismatch", "drop-key"),
    "liquid-model": ("nan-array", "bad-config", "shape", "extra-key", "drop-key"),
    "token-file": ("float", "shape", "empty", "negative", "complex", "object"),
    "hopfield-patterns": ("zeros", "float", "shape", "empty", "nan-array", "complex", "object"),
    "hopfield-model": ("scalar-to-vector", "huge", "extra-key", "drop-key"),
    "thermo-matrix": ("nan-array", "asymmetric", "indefinite", "shape", "empty", "complex", "object", "vector"),
    "dtm-model": ("nan-array", "drop-key", "shape", "complex"),
    "partition-file": ("float", "shape", "empty", "negative", "uncovered", "nan-array", "complex", "object"),
    "jepa-model": ("nan-array", "bad-config", "shape", "extra-key"),
}


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
        for k, (kind, data) in enumerate(mutations(s.read_bytes(), rng, PER_SEED) + structured_mutations(s)):
            p = tmp / f"{s.stem}.m{k:03d}{s.suffix}"
            p.write_bytes(data)
            files.append(p)
            kind_of[str(p)] = kind
    return files, kind_of


def summarise(outcomes: list[dict]) -> Counter:
    return Counter(o["status"] for o in outcomes)


#: Loaders of text formats: their value mutations (NaN, huge sizes, non-UTF-8) must be refused.
TEXT_LOADERS = ("gset", "cnf", "qubo", "cluster")
BINARY_LOADERS = ("pbit-model", "dbm", "dbm-checkpoint", "looped-checkpoint", "tensors", "trainer-checkpoint",
                  "liquid-model", "token-file", "hopfield-model", "hopfield-patterns", "thermo-matrix", "dtm-model",
                  "partition-file", "jepa-model")


@pytest.fixture(scope="module")
def binary_seed_files(tmp_path_factory):
    return binary_seeds(tmp_path_factory.mktemp("seeds"))


@pytest.mark.parametrize("loader", ["idx", *TEXT_LOADERS, *BINARY_LOADERS])
def test_mutation_corpus(tmp_path, loader, request):
    seed_files = (request.getfixturevalue("binary_seed_files") if loader in BINARY_LOADERS else seeds(tmp_path))[loader]
    files, kind_of = corpus(tmp_path, loader, seed_files)
    # one worker process for the corpus and the seeds (each start imports torch: seconds on a 2-core machine)
    both = run_worker(loader, files + seed_files)
    outcomes, ok = both[:len(files)], both[len(files):]
    assert len(outcomes) == len(files) and len(ok) == len(seed_files)
    bad = [o for o in outcomes if o["status"] not in ("clean", "accepted")]
    text_seed = {str(f) for f in files if Path(f).suffix in (".txt", ".cnf", ".qubo", ".json")}
    must = set(STRUCTURED_MUST_REFUSE.get(loader, ())) | (set(MUST_REFUSE) if loader in TEXT_LOADERS else set())
    bad += [o for o in outcomes if o["status"] == "accepted"
            and (kind_of[o["file"]] in must or (o["file"] in text_seed and kind_of[o["file"]] in MUST_REFUSE))]
    counts = summarise(outcomes)
    print(f"\n{loader}: {len(files)} files: {dict(counts)}")
    assert not bad, "\n".join(f"{kind_of[o['file']]}: {o['file']}: {o['status']} {o.get('type', '')}: "
                              f"{o.get('message', '')[:200]}" for o in bad[:10])
    assert counts["clean"] > len(files) // 3  # the corpus really exercises the error paths
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


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([".txt", ".json", ".npz"]))
def test_model_loader_never_fails_uncleanly_on_arbitrary_bytes(data, suffix):
    import tempfile

    from paradigmlab.pbit.io import load_model

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"x{suffix}"
        p.write_bytes(data)
        try:
            model, offset = load_model(p)
        except ValueError as exc:
            assert "x" + suffix in str(exc)
        else:
            assert np.all(np.isfinite(model.J.data)) and np.isfinite(offset)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 7).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.floats(-3, 3, allow_nan=False, allow_subnormal=False), min_size=n * n, max_size=n * n),
    st.lists(st.floats(-3, 3, allow_nan=False, allow_subnormal=False), min_size=n, max_size=n))))
def test_ising_model_agrees_with_its_bqm_and_its_files(args):
    import tempfile

    from paradigmlab.pbit.io import load_model, save_npz
    from paradigmlab.pbit.model import IsingModel

    n, flat, h = args
    A = np.array(flat).reshape(n, n)
    J = np.triu(A, 1) + np.triu(A, 1).T
    m = IsingModel(J, np.array(h))
    S = np.array(list(__import__("itertools").product([-1, 1], repeat=n)), dtype=np.int8)
    bqm = m.to_bqm()
    assert np.allclose(m.energy(S), bqm.energies((S, list(range(n)))))
    with tempfile.TemporaryDirectory() as d:
        save_npz(m, Path(d) / "m.npz")
        back, _ = load_model(Path(d) / "m.npz")
    assert np.array_equal(back.to_dense(), m.to_dense()) and np.array_equal(back.h, m.h)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["d_model", "n_head", "layers", "loops", "head_dim", "n_kv_head", "d_ff",
                                        "block_size", "vocab_size", "min_loops"]),
                       st.one_of(st.integers(-3, 64), st.floats(-2, 2, allow_subnormal=False), st.none(), st.booleans()), max_size=5),
       st.one_of(st.none(), st.floats(allow_nan=True, allow_subnormal=False), st.integers(-2, 2)))
def test_looped_config_is_valid_or_refused(fields, eps):
    from paradigmlab.looped import LoopedConfig, LoopedLM

    kw = {**dict(vocab_size=32, block_size=8, d_model=16, n_head=2, layers=1, loops=1), **fields}
    kw.setdefault("norm_eps", eps)
    try:
        cfg = LoopedConfig(**kw)
    except (ValueError, TypeError):
        return
    LoopedLM(cfg)  # a config it accepts builds a model


# ---------------------------------------------------------------- the Half-Cheetah trace loader
def npy_structured_mutations(a: np.ndarray) -> list[tuple[str, bytes]]:
    """Well-formed .npy files with the wrong contents for a (T, 17) trace, and a header declaring a huge one."""
    import io

    def npy(arr, allow_pickle=False) -> bytes:
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=allow_pickle)
        return buf.getvalue()

    nan = a.copy()
    nan[len(a) // 2, 3] = np.nan
    inf = a.copy()
    inf[0, 0] = -np.inf
    header = np.lib.format.header_data_from_array_1_0(a)
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {**header, "shape": (10**15, 17)})
    return [("nan-array", npy(nan)), ("inf", npy(inf)), ("complex", npy(a.astype(np.complex128))),
            ("shape", npy(a[:, :-1])), ("shape", npy(a.ravel())), ("shape", npy(a[:1])),
            ("int-dtype", npy(a.astype(np.int64))), ("pickle", npy(np.array([a], dtype=object), True)),
            ("huge", buf.getvalue() + a.tobytes()[:4096])]


#: What the trace loader must refuse: every structured mutation above, and any truncation of the file.
TRACE_MUST_REFUSE = ("nan-array", "inf", "complex", "shape", "int-dtype", "pickle", "huge", "truncate", "empty")


def test_mutation_corpus_cheetah_trace(tmp_path):
    from paradigmlab.data.paths import shared_path

    shared = shared_path("cheetah")
    seed = tmp_path / "trace_0000.npy"
    if shared is not None:  # one real trace; a synthetic one of the same shape where the shared data is absent
        seed.write_bytes((shared / "trace_0000.npy").read_bytes())
    else:
        np.save(seed, np.random.default_rng(2).normal(size=(1000, 17)))
    rng = np.random.default_rng(sum(map(ord, "cheetah-trace")))
    cases = mutations(seed.read_bytes(), rng, PER_SEED) + npy_structured_mutations(np.load(seed))
    files, kind_of = [], {}
    for k, (kind, data) in enumerate(cases):
        p = tmp_path / f"trace.m{k:03d}.npy"
        p.write_bytes(data)
        files.append(p)
        kind_of[str(p)] = kind
    outcomes = run_worker("cheetah-trace", files)
    assert len(outcomes) == len(files)
    bad = [o for o in outcomes if o["status"] not in ("clean", "accepted")
           or (o["status"] == "accepted" and kind_of[o["file"]] in TRACE_MUST_REFUSE)]
    counts = summarise(outcomes)
    print(f"\ncheetah-trace: {len(files)} files: {dict(counts)}")
    assert not bad, "\n".join(f"{kind_of[o['file']]}: {o['file']}: {o['status']} {o.get('type', '')}: "
                              f"{o.get('message', '')[:200]}" for o in bad[:10])
    assert counts["clean"] > len(files) // 3
    assert [o["status"] for o in run_worker("cheetah-trace", [seed])] == ["accepted"]
