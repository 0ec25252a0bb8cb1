"""The three sequence tasks of issue 16, on the protocols of the papers they come from.

Each loader returns a :class:`Task`: three :class:`Split` s of torch tensors (``x`` ``(N, T, F)`` float32,
``y``, optional per-step ``timespans`` and ``mask``) and an ``info`` dict (protocol, source, sizes, seeds)
that is JSON-ready and carries no machine paths.

* :func:`bitstream_xor`: the event-based bit-stream XOR of Lechner & Hasani (2020), ``XORData`` in
  ``irregular_sampled_datasets.py`` of mlech26l/ode-lstms, run by its ``xor_task.py`` with
  ``pad_size=32``; the CfC paper (Hasani et al. 2022, Table 3) reuses it. Generated.
* :func:`mnist1d`: Greydanus' MNIST-1D, generated offline by ``mnist1d.data.make_dataset``.
* :func:`half_cheetah`: the 25 HalfCheetah traces of the LTC paper (Hasani et al. 2021, Table 6), protocol of
  ``experiments_with_ltcs/cheetah.py`` in raminmh/liquid_time_constant_networks.

A padded sequence (XOR) has ``mask`` False on its padding, which always comes after the valid steps: a
classifier reads the state at the last valid step (:func:`last_valid`), as Keras' masked RNN of the reference
code does (a masked step carries the state over unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from paradigmlab.data.paths import display_path, shared_path
from paradigmlab.validate import InputError, declared_size, integer, number

TASKS = ("xor", "mnist1d", "cheetah")
#: Each task's kind, input features per step and outputs (classes, or regression targets per step): what its
#: loader builds, and what a model for it needs without loading the data.
CHEETAH_OBS = 17  # observations per HalfCheetah step
TASK_SHAPES = {"xor": ("classification", 1, 2), "mnist1d": ("classification", 1, 10),
               "cheetah": ("regression", CHEETAH_OBS, CHEETAH_OBS)}


# ---------------------------------------------------------------- value objects
@dataclass(frozen=True)
class Split:
    """One split of a sequence task.

    ``x``: float32 ``(N, T, F)``. ``y``: int64 ``(N,)`` class labels, or float32 targets ``(N, T, F')`` (one per
    step) or ``(N, F')``. ``timespans``: float32 ``(N, T)``, the elapsed time before each step, or ``None``
    (every step lasts 1). ``mask``: bool ``(N, T)``, False on padded steps, or ``None`` (all valid).
    """

    x: torch.Tensor
    y: torch.Tensor
    timespans: torch.Tensor | None = None
    mask: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.x, torch.Tensor) or self.x.dim() != 3 or self.x.dtype != torch.float32:
            raise InputError(f"x must be a float32 tensor (N, T, F), got "
                             f"{tuple(self.x.shape) if isinstance(self.x, torch.Tensor) else type(self.x).__name__}")
        n, t = self.x.shape[:2]
        if not isinstance(self.y, torch.Tensor) or self.y.dim() == 0 or self.y.shape[0] != n:
            raise InputError(f"y must be a tensor with {n} rows (one per sequence of x)")
        for name, a, dtype in (("timespans", self.timespans, torch.float32), ("mask", self.mask, torch.bool)):
            if a is not None and (not isinstance(a, torch.Tensor) or tuple(a.shape) != (n, t) or a.dtype != dtype):
                raise InputError(f"{name} must be a {dtype} tensor of shape {(n, t)} (one per sequence and step)")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __getitem__(self, index) -> "Split":
        """The sequences at ``index`` (a slice, an index tensor or array) as a :class:`Split`."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        pick = (lambda a: None if a is None else a[index])
        return Split(self.x[index], self.y[index], pick(self.timespans), pick(self.mask))

    def batches(self, batch_size: int, generator: torch.Generator | None = None, shuffle: bool = True,
                drop_last: bool = False) -> Iterator["Split"]:
        """Mini-batches of ``batch_size`` sequences, in an order drawn from ``generator`` when ``shuffle``
        (``torch.randperm``), else in order; ``drop_last`` leaves out a final short batch."""
        batch_size = integer(batch_size, "batch_size", min=1)
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        stop = n - n % batch_size if drop_last else n
        for start in range(0, stop, batch_size):
            yield self[order[start:start + batch_size]]


@dataclass(frozen=True)
class Task:
    """A sequence task: what it predicts and its three splits; ``info`` says where it came from."""

    name: str
    kind: str  # "classification" (y: class indices, output_size classes) or "regression"
    input_size: int
    output_size: int
    train: Split
    val: Split
    test: Split
    info: dict = field(default_factory=dict)


def last_valid(outputs: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The output at each sequence's last valid step: ``(N, H)`` from ``outputs`` ``(N, T, H)`` and ``mask``
    ``(N, T)`` (``None``: the last step). Every sequence needs at least one valid step."""
    if not isinstance(outputs, torch.Tensor) or outputs.dim() != 3:
        raise InputError("outputs must be a tensor (N, T, H)")
    if mask is None:
        return outputs[:, -1]
    if tuple(mask.shape) != tuple(outputs.shape[:2]) or mask.dtype != torch.bool:
        raise InputError(f"mask must be a bool tensor of shape {tuple(outputs.shape[:2])}, got "
                         f"{mask.dtype} {tuple(mask.shape)}")
    any_valid = mask.any(dim=1)
    if not bool(any_valid.all()):
        raise InputError(f"mask: sequence {int((~any_valid).nonzero()[0])} has no valid step")
    T = mask.shape[1]
    last = T - 1 - mask.flip(1).to(torch.int8).argmax(dim=1)  # argmax finds the first True of the reversed row
    return outputs[torch.arange(outputs.shape[0], device=outputs.device), last]


def _split_sizes(**splits: Split) -> dict:
    return {k: len(v) for k, v in splits.items()}


# ---------------------------------------------------------------- 1. event-based bit-stream XOR
#: The seeds of ``XORData.create_dataset`` (train, test); the reference has no validation set, so ``seed=None``
#: draws ours from a seed of its own.
PAPER_XOR_SEEDS = {"train": 1234984, "val": 0, "test": 48736}


def xor_bitstreams(num: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The raw bit streams of :func:`bitstream_xor`: bits ``(num, length - 1)`` int8 (zero after each
    stream's end) and each stream's length (uniform in ``2 .. length - 1``).

    Drawn as the reference does, with ``np.random.RandomState(seed)``, per sequence its length then its bits,
    so that ``seed=1234984``, ``length=32`` gives the reference's 100,000 training streams.
    """
    num, length = integer(num, "num", min=0), integer(length, "length", min=3)
    rs = np.random.RandomState(integer(seed, "seed", min=0, max=2**32 - 1))
    bits = np.zeros((num, length - 1), dtype=np.int8)
    lengths = np.empty(num, dtype=np.int64)
    for i in range(num):
        n = rs.randint(2, length)
        lengths[i] = n
        bits[i, :n] = rs.randint(0, 2, size=n)  # one 32-bit draw per bit, as n scalar draws would take
    return bits, lengths


def encode_events(bits: np.ndarray, lengths: np.ndarray, pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Collapse runs of equal bits into events: ``(values, elapsed, mask)``, each ``(N, pad)``.

    An event is written at every bit that differs from the one before (and at the first bit), and at the last
    bit of the stream if that one is not already an event; its value is that bit, its elapsed time the number of
    steps since the previous event (the first event's is 1). So a run of ``k`` equal bits after an event of the
    same value shows up only through the next event's elapsed time ``k + 1``. Padding: value 0, elapsed 0, mask
    False. A stream of ``n`` bits has at most ``n`` events, so ``pad`` must exceed the longest stream.
    """
    N, L = bits.shape
    if pad < L:
        raise InputError(f"pad must be >= the stream width {L}, got {pad}")
    j = np.arange(L)
    valid = j[None, :] < lengths[:, None]
    changed = np.ones_like(valid)
    changed[:, 1:] = bits[:, 1:] != bits[:, :-1]
    is_event = valid & (changed | (j[None, :] == lengths[:, None] - 1))
    rows, cols = np.nonzero(is_event)  # row-major: each row's events in time order
    slot = np.cumsum(is_event, axis=1)[rows, cols] - 1
    position = np.full((N, pad), -1, dtype=np.int64)
    position[rows, slot] = cols
    previous = np.where(slot > 0, position[rows, np.maximum(slot - 1, 0)], -1)
    values = np.zeros((N, pad), dtype=np.float32)
    elapsed = np.zeros((N, pad), dtype=np.int64)
    mask = np.zeros((N, pad), dtype=bool)
    values[rows, slot] = bits[rows, cols]
    elapsed[rows, slot] = cols - previous
    mask[rows, slot] = True
    return values, elapsed, mask


def decode_events(values, elapsed, mask=None) -> np.ndarray:
    """The bit stream of one event sequence (the inverse of :func:`encode_events`): each valid event stands for
    ``elapsed - 1`` repeats of the previous event's bit, then its own bit."""
    values, elapsed = np.asarray(values).ravel(), np.asarray(elapsed).ravel()
    mask = np.ones(values.shape, bool) if mask is None else np.asarray(mask, bool).ravel()
    out: list[int] = []
    prev = 0
    for v, e, m in zip(values, elapsed, mask):
        if not m:
            continue
        e = int(round(float(e)))
        if e < 1 or (not out and e != 1):
            raise InputError(f"elapsed times must be >= 1 (the first one 1), got {e}")
        out.extend([prev] * (e - 1))
        prev = int(v)
        out.append(prev)
    return np.array(out, dtype=np.int8)


def _xor_split(num: int, length: int, seed: int, event_based: bool) -> Split:
    bits, lengths = xor_bitstreams(num, length, seed)
    if event_based:
        values, elapsed, mask = encode_events(bits, lengths, length)
    else:  # the reference's dense variant: one step per bit, each lasting 1
        values = np.zeros((num, length), np.float32)
        values[:, :length - 1] = bits
        mask = np.arange(length)[None, :] < lengths[:, None]
        elapsed = mask.astype(np.int64)
    label = bits.sum(axis=1, dtype=np.int64) % 2
    # the reference divides elapsed steps by pad_size, so a whole stream spans at most one time unit
    timespans = elapsed.astype(np.float32) / np.float32(length)
    return Split(torch.from_numpy(values[:, :, None]), torch.from_numpy(label), torch.from_numpy(timespans),
                 torch.from_numpy(mask))


def bitstream_xor(num_train: int = 100_000, num_val: int = 10_000, num_test: int = 10_000, length: int = 32,
                  seed: int | None = None, event_based: bool = True) -> Task:
    """Event-based sequential bit-stream XOR (Lechner & Hasani 2020; CfC paper Table 3).

    Protocol of ``XORData`` (mlech26l/ode-lstms, ``irregular_sampled_datasets.py``, with ``pad_size=32`` as
    ``xor_task.py`` sets it), re-implemented: each stream has a length drawn uniformly from ``2 .. length - 1``
    and i.i.d. fair bits; the label is its parity (the XOR of all bits). Event-based, runs of equal bits are
    collapsed into events (:func:`encode_events`) with their elapsed steps, divided by ``length``, as
    ``timespans``; sequences are padded to ``length`` steps (padding: value 0, timespan 0, ``mask`` False).
    ``event_based=False`` is the dense variant (every bit a step of timespan ``1 / length``).
    Sizes and seeds: train 100,000 (RandomState seed 1234984) and test 10,000 (seed 48736) as the reference;
    it has no validation set (it reports test accuracy after the last of 200 epochs, RMSprop, batch 256), ours
    is 10,000 more streams (seed 0). ``seed=None`` uses those seeds, giving the reference's exact arrays; an int
    ``seed`` derives three others from it. Streams may repeat within and across splits (a stream of 2 bits has
    4 possible values), in the reference as here.
    The model reads its state at the last valid step (:func:`last_valid`).
    """
    sizes = {k: integer(v, f"num_{k}", min=1) for k, v in (("train", num_train), ("val", num_val),
                                                          ("test", num_test))}
    length = integer(length, "length", min=3)
    if not isinstance(event_based, bool):
        raise InputError(f"event_based must be True or False, got {event_based!r}")
    if seed is None:
        seeds = dict(PAPER_XOR_SEEDS)
    else:
        state = np.random.SeedSequence(integer(seed, "seed", min=0)).generate_state(3)
        seeds = {k: int(s) for k, s in zip(("train", "val", "test"), state)}
    splits = {k: _xor_split(sizes[k], length, seeds[k], event_based) for k in ("train", "val", "test")}
    info = {
        "task": "xor", "seed": seed, "split_seeds": seeds, "sizes": _split_sizes(**splits),
        "source": "generated; protocol of XORData, mlech26l/ode-lstms irregular_sampled_datasets.py "
                  "(Lechner & Hasani 2020), reused by Hasani et al. 2022 (CfC) Table 3",
        "protocol": {"event_based": event_based, "length": length, "stream_length": f"uniform 2..{length - 1}",
                     "label": "parity of the bit stream", "timespans": f"elapsed steps / {length}",
                     "padding": "after the events; mask False; read the state at the last valid step",
                     "reference_training": "200 epochs, RMSprop lr 5e-4, batch 256, size 64, BCE on one logit"},
    }
    return Task("xor", *TASK_SHAPES["xor"], splits["train"], splits["val"], splits["test"], info)


# ---------------------------------------------------------------- 2. MNIST-1D
def mnist1d(num_samples: int | None = None, seed: int | None = None, val_fraction: float = 0.1) -> Task:
    """MNIST-1D (Greydanus 2020), generated offline by ``mnist1d.data.make_dataset`` (never downloaded).

    Defaults are the package's ``get_dataset_args()``: 5,000 samples (500 per digit), 80 % train / 20 % test
    in its shuffled order, generation seed 42; ``num_samples`` (a multiple of 10) and ``seed`` change them.
    Each sample is the 40-point signal as a sequence ``(40, 1)``. ``val_fraction`` of the training samples,
    (0 to 0.5), chosen by a permutation seeded with the same seed, become the validation split.
    """
    from paradigmlab.data.mnist1d import generate

    val_fraction = number(val_fraction, "val_fraction", min=0.0, max=0.5)
    data, args = generate(num_samples, seed)
    x_train, y_train = data["x"].astype(np.float32), data["y"].astype(np.int64)
    order = np.random.default_rng(args.seed).permutation(len(y_train))
    n_val = int(round(val_fraction * len(y_train)))
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])

    def split(x, y) -> Split:
        return Split(torch.from_numpy(np.ascontiguousarray(x[:, :, None])), torch.from_numpy(y))

    splits = {"train": split(x_train[train_idx], y_train[train_idx]),
              "val": split(x_train[val_idx], y_train[val_idx]),
              "test": split(data["x_test"].astype(np.float32), data["y_test"].astype(np.int64))}
    info = {
        "task": "mnist1d", "seed": int(args.seed), "sizes": _split_sizes(**splits),
        "source": "generated by mnist1d.data.make_dataset (Greydanus 2020), package mnist1d",
        "protocol": {"num_samples": int(args.num_samples), "train_split": float(args.train_split),
                     "final_seq_length": int(args.final_seq_length), "val_fraction": val_fraction,
                     "val": "carved from train by numpy default_rng(seed).permutation"},
    }
    return Task("mnist1d", *TASK_SHAPES["mnist1d"], splits["train"], splits["val"], splits["test"], info)


# ---------------------------------------------------------------- 3. Half-Cheetah
CHEETAH_TRACES = 25
#: Trace indices of each split, files sorted by name (``CheetahData`` in the LTC repository's cheetah.py).
CHEETAH_SPLITS = {"val": range(0, 5), "test": range(5, 15), "train": range(15, 25)}


def load_cheetah_trace(path: str | Path, min_steps: int = 2) -> np.ndarray:
    """One Half-Cheetah trace: a ``(T, 17)`` float64 array of finite observations, ``T >= min_steps``.

    The ``.npy`` header is checked (no pickles, a real floating dtype, the shape, a size that fits in memory)
    before the data is read; anything else is an :class:`InputError` naming the file.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file" if not p.exists() else f"{p}: not a regular file")
    fmt = np.lib.format
    try:
        with p.open("rb") as fh:
            version = fmt.read_magic(fh)
            read_header = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy version {version}")
            shape, _, dtype = read_header(fh)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        raise InputError(f"{p}: not a readable .npy trace ({type(exc).__name__}: {exc})") from None
    if dtype.kind != "f" or dtype.hasobject:
        raise InputError(f"{p}: a trace must hold real floating-point numbers, got dtype {dtype}")
    if len(shape) != 2 or shape[1] != CHEETAH_OBS or shape[0] < min_steps:
        raise InputError(f"{p}: a trace must have shape (T >= {min_steps}, {CHEETAH_OBS}) (steps, observations), "
                         f"got {shape}")
    declared_size(int(np.prod(shape)), "trace size", dtype.itemsize, source=p)
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{p}: not a readable .npy trace ({type(exc).__name__}: {exc})") from None
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{p}: the trace holds nan or inf")
    return arr.astype(np.float64, copy=False)


def cheetah_windows(trace: np.ndarray, window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of a trace as ``cut_in_sequences`` of the LTC repository: inputs ``trace[s:s+window]`` and
    targets ``trace[s+1:s+window+1]`` (the next observation at every step), for ``s`` in
    ``range(0, T - window - 1, stride)`` (its bound leaves out the last start that would fit)."""
    starts = np.arange(0, trace.shape[0] - window - 1, stride)
    idx = starts[:, None] + np.arange(window)[None, :]
    return trace[idx], trace[idx + 1]


def half_cheetah(root: str | Path | None = None, window: int = 32, stride: int = 10) -> Task:
    """Half-Cheetah next-observation prediction (LTC paper, Table 6).

    Protocol of ``CheetahData`` in raminmh/liquid_time_constant_networks ``experiments_with_ltcs/cheetah.py``:
    the 25 ``.npy`` traces sorted by name; validation = traces 0-4, test = 5-14, train = 15-24; each trace cast
    to float32 and cut into windows of 32 steps with stride 10 (:func:`cheetah_windows`: 97 per 1,000-step
    trace); the target is the next 17-dim observation at every step, loss MSE, raw (unnormalised) values. The
    reference trains 200 epochs, batch 16 (last short batch dropped), Adam 1e-3 (1e-2 for LTC), size 32, and
    reports the test MSE at the epoch of best validation MSE.
    ``root`` is a local folder of the traces; by default ``shared/data/cheetah``. A missing folder is a
    ``FileNotFoundError`` (callers may skip on it).
    """
    window = integer(window, "window", min=1)
    stride = integer(stride, "stride", min=1)
    if root is None:
        found = shared_path("cheetah")
        if found is None:
            raise FileNotFoundError("Half-Cheetah traces not found: shared/data/cheetah is absent; "
                                    "pass root= a local folder of the 25 trace .npy files")
        folder = found
    else:
        folder = Path(root)
        if not folder.is_dir():
            raise FileNotFoundError(f"Half-Cheetah trace folder {folder} not found (root= takes a local folder "
                                    "of the 25 trace .npy files)")
    files = sorted(p for p in folder.iterdir() if p.suffix == ".npy")
    if len(files) != CHEETAH_TRACES:
        raise InputError(f"{folder}: expected {CHEETAH_TRACES} trace .npy files, found {len(files)}")
    traces = [load_cheetah_trace(f, min_steps=window + 2) for f in files]

    def split(indices) -> Split:
        # float32 before windowing, as the reference casts each trace on loading
        parts = [cheetah_windows(traces[i].astype(np.float32), window, stride) for i in indices]
        x = np.concatenate([a for a, _ in parts])
        y = np.concatenate([b for _, b in parts])
        return Split(torch.from_numpy(x), torch.from_numpy(y))

    splits = {k: split(v) for k, v in CHEETAH_SPLITS.items()}
    info = {
        "task": "cheetah", "seed": None, "sizes": _split_sizes(**splits),
        "source": display_path(folder),
        "files": {k: [files[i].name for i in v] for k, v in CHEETAH_SPLITS.items()},
        "protocol": {"window": window, "stride": stride, "target": "next observation at every step",
                     "splits": "sorted files; val 0-4, test 5-14, train 15-24",
                     "reference": "CheetahData, raminmh/liquid_time_constant_networks experiments_with_ltcs/"
                                  "cheetah.py (Hasani et al. 2021, Table 6)",
                     "reference_training": "200 epochs, batch 16 (drop last), Adam 1e-3 (LTC 1e-2), size 32, "
                                           "test MSE at the best validation epoch"},
    }
    return Task("cheetah", *TASK_SHAPES["cheetah"], splits["train"], splits["val"], splits["test"],
                info)


# ---------------------------------------------------------------- by name
LOADERS = {"xor": bitstream_xor, "mnist1d": mnist1d, "cheetah": half_cheetah}


def load_task(name: str, **kwargs) -> Task:
    """The task ``name`` (one of :data:`TASKS`), its loader called with ``kwargs``."""
    if name not in LOADERS:
        raise InputError(f"task must be one of {TASKS}, got {name!r}")
    return LOADERS[name](**kwargs)


__all__ = ["CHEETAH_SPLITS", "LOADERS", "PAPER_XOR_SEEDS", "Split", "TASKS", "Task", "bitstream_xor",
           "cheetah_windows", "decode_events", "encode_events", "half_cheetah", "last_valid", "load_cheetah_trace",
           "load_task", "mnist1d", "xor_bitstreams"]
