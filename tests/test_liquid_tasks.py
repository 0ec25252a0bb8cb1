"""paradigmlab.liquid.tasks: the XOR, MNIST-1D and Half-Cheetah tasks against their reference protocols."""

import json
import sys

import numpy as np
import pytest
import torch

from paradigmlab.data.paths import shared_path
from paradigmlab.liquid.tasks import (CHEETAH_SPLITS, PAPER_XOR_SEEDS, TASKS, Split, bitstream_xor, cheetah_windows,
                                      decode_events, encode_events, half_cheetah, last_valid, load_cheetah_trace,
                                      load_task, mnist1d, xor_bitstreams)
from paradigmlab.validate import InputError

torch.set_num_threads(1)

CHEETAH = shared_path("cheetah")
needs_cheetah = pytest.mark.skipif(CHEETAH is None, reason="shared/data/cheetah is absent")


def xor_small(**kw):
    return bitstream_xor(**{"num_train": 300, "num_val": 50, "num_test": 60, **kw})


# ---------------------------------------------------------------- XOR
def reference_stream_samples(seed, count, pad):
    """The reference's per-sample procedure spelled out bit by bit (one scalar draw per bit, an elapsed-step
    counter reset at each change of bit, the last run closed by an event of its own): (events, elapsed, mask,
    label) per sample, to compare the vectorised encoder with."""
    rs = np.random.RandomState(seed)
    out = []
    for _ in range(count):
        n = rs.randint(low=2, high=pad)
        events, elapsed, mask = np.zeros(pad), np.zeros(pad), np.zeros(pad, bool)
        k, counter, last, parity, bit = 0, 0, None, 0, None
        for _ in range(n):
            counter += 1
            bit = int(rs.randint(low=0, high=2))
            parity ^= bit
            if bit != last:
                events[k], elapsed[k], mask[k] = bit, counter, True
                k, counter = k + 1, 0
            last = bit
        if counter:
            events[k], elapsed[k], mask[k] = bit, counter, True
        out.append((events, elapsed, mask, parity))
    return out


def test_xor_shapes_dtypes_and_info():
    task = xor_small()
    assert (task.name, task.kind, task.input_size, task.output_size) == ("xor", "classification", 1, 2)
    for split, n in ((task.train, 300), (task.val, 50), (task.test, 60)):
        assert len(split) == n
        assert split.x.shape == (n, 32, 1) and split.x.dtype == torch.float32
        assert split.y.shape == (n,) and split.y.dtype == torch.int64 and set(split.y.tolist()) <= {0, 1}
        assert split.timespans.shape == (n, 32) and split.timespans.dtype == torch.float32
        assert split.mask.shape == (n, 32) and split.mask.dtype == torch.bool
    assert task.info["sizes"] == {"train": 300, "val": 50, "test": 60}
    assert task.info["split_seeds"] == PAPER_XOR_SEEDS
    json.dumps(task.info)


def test_xor_matches_the_reference_procedure_with_its_seeds():
    task = xor_small()
    for split, name in ((task.train, "train"), (task.test, "test")):
        ref = reference_stream_samples(PAPER_XOR_SEEDS[name], len(split), 32)
        assert np.array_equal(np.stack([r[0] for r in ref]), split.x[:, :, 0].numpy().astype(float))
        assert np.array_equal(np.stack([r[1] for r in ref]) / 32, split.timespans.numpy().astype(float))
        assert np.array_equal(np.stack([r[2] for r in ref]), split.mask.numpy())
        assert np.array_equal([r[3] for r in ref], split.y.numpy())


def test_xor_labels_are_the_parity_of_the_decoded_streams():
    task = xor_small(seed=5)
    bits, lengths = xor_bitstreams(len(task.test), 32, task.info["split_seeds"]["test"])
    for i in range(len(task.test)):
        s = task.test[i]
        decoded = decode_events(s.x[0, :, 0].numpy(), s.timespans[0].numpy() * 32, s.mask[0].numpy())
        assert np.array_equal(decoded, bits[i, :lengths[i]])
        assert int(s.y[0]) == int(np.bitwise_xor.reduce(decoded.astype(np.int64)))


@pytest.mark.parametrize("stream", [[0, 0], [1, 1], [0, 1], [1, 0, 1, 0, 1], [1, 1, 1, 0, 0, 1, 1],
                                    [0, 0, 0, 0, 0, 0, 1], [1, 0, 0, 0, 0]])
def test_event_encoding_round_trips(stream):
    bits = np.array([stream], dtype=np.int8)
    values, elapsed, mask = encode_events(bits, np.array([len(stream)]), pad=len(stream) + 1)
    assert np.array_equal(decode_events(values[0], elapsed[0], mask[0]), stream)
    runs = 1 + int(np.sum(np.diff(stream) != 0))
    closes_a_run = stream[-1] == stream[-2] or len(stream) == 1
    assert int(mask.sum()) == runs + int(closes_a_run)  # one event per run, plus one closing a trailing run
    assert int(elapsed[0, mask[0]].sum()) == len(stream)  # the elapsed steps add up to the stream's length
    assert not mask[0, -1] and values[0, -1] == 0 and elapsed[0, -1] == 0


def test_event_encoding_round_trips_on_random_streams():
    bits, lengths = xor_bitstreams(500, 20, seed=3)
    values, elapsed, mask = encode_events(bits, lengths, pad=20)
    for i in range(500):
        assert np.array_equal(decode_events(values[i], elapsed[i], mask[i]), bits[i, :lengths[i]])


def test_xor_masks_are_prefixes_and_padding_is_zero():
    s = xor_small(seed=1).train
    m = s.mask.numpy()
    counts = m.sum(1)
    assert np.array_equal(m, np.arange(32)[None, :] < counts[:, None])  # valid steps first, padding after
    assert counts.min() >= 1 and counts.max() <= 31
    assert np.all(s.timespans.numpy()[m] > 0) and np.all(s.timespans.numpy()[~m] == 0)
    assert np.all(s.x.numpy()[:, :, 0][~m] == 0)


def test_xor_dense_variant_has_one_step_per_bit():
    task = xor_small(event_based=False, seed=2)
    bits, lengths = xor_bitstreams(len(task.train), 32, task.info["split_seeds"]["train"])
    m = task.train.mask.numpy()
    assert np.array_equal(m.sum(1), lengths)
    assert np.array_equal(task.train.x[:, :31, 0].numpy(), bits.astype(np.float32))
    assert np.all(task.train.timespans.numpy()[m] == np.float32(1 / 32))
    assert np.array_equal(task.train.y.numpy(), bits.sum(1) % 2)


def test_xor_is_deterministic_by_seed():
    a, b, c = xor_small(seed=7), xor_small(seed=7), xor_small(seed=8)
    for name in ("train", "val", "test"):
        for field in ("x", "y", "timespans", "mask"):
            assert torch.equal(getattr(getattr(a, name), field), getattr(getattr(b, name), field))
    assert not torch.equal(a.train.x, c.train.x)
    assert len(set(a.info["split_seeds"].values())) == 3  # three different streams
    assert 0.4 < float(a.train.y.float().mean()) < 0.6


def test_xor_rejects_bad_arguments():
    with pytest.raises(InputError, match="length"):
        bitstream_xor(num_train=4, num_val=4, num_test=4, length=2)
    with pytest.raises(InputError, match="num_train"):
        bitstream_xor(num_train=0)
    with pytest.raises(InputError, match="seed"):
        bitstream_xor(num_train=4, num_val=4, num_test=4, seed=1.5)
    with pytest.raises(InputError, match="event_based"):
        bitstream_xor(num_train=4, num_val=4, num_test=4, event_based="yes")


def test_last_valid_gathers_the_last_true_step():
    g = torch.Generator().manual_seed(0)
    out = torch.randn(5, 6, 3, generator=g)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1], [0, 1, 1, 0, 1, 0],
                         [1, 1, 0, 0, 0, 0]], dtype=torch.bool)
    want = torch.stack([out[i, max(j for j in range(6) if mask[i, j])] for i in range(5)])
    assert torch.equal(last_valid(out, mask), want)
    assert torch.equal(last_valid(out, None), out[:, -1])
    with pytest.raises(InputError, match="no valid step"):
        last_valid(out, torch.zeros(5, 6, dtype=torch.bool))
    with pytest.raises(InputError, match="mask"):
        last_valid(out, mask[:, :5])


# ---------------------------------------------------------------- Split
def test_batches_cover_every_sequence_once_in_a_seeded_order():
    s = xor_small().train
    a = list(s.batches(64, generator=torch.Generator().manual_seed(1)))
    b = list(s.batches(64, generator=torch.Generator().manual_seed(1)))
    assert [len(x) for x in a] == [64] * 4 + [300 - 256]
    assert all(torch.equal(x.x, y.x) and torch.equal(x.mask, y.mask) for x, y in zip(a, b))
    seen = torch.cat([x.x for x in a])
    assert seen.shape == s.x.shape and not torch.equal(seen, s.x)  # shuffled, and a permutation of all rows:
    assert sorted(map(tuple, seen.reshape(300, -1).tolist())) == sorted(map(tuple, s.x.reshape(300, -1).tolist()))
    ordered = list(s.batches(100, shuffle=False, drop_last=True))
    assert len(ordered) == 3 and torch.equal(ordered[1].y, s.y[100:200])
    assert len(list(s.batches(64, drop_last=True))) == 4
    with pytest.raises(InputError, match="batch_size"):
        next(s.batches(0))


def test_split_checks_its_shapes():
    x = torch.zeros(4, 5, 1)
    with pytest.raises(InputError, match="float32"):
        Split(x.double(), torch.zeros(4))
    with pytest.raises(InputError, match="4 rows"):
        Split(x, torch.zeros(3))
    with pytest.raises(InputError, match="mask"):
        Split(x, torch.zeros(4), mask=torch.ones(4, 5))
    with pytest.raises(InputError, match="timespans"):
        Split(x, torch.zeros(4), timespans=torch.ones(4, 4))


# ---------------------------------------------------------------- MNIST-1D
def test_mnist1d_matches_the_package_and_is_balanced():
    from mnist1d.data import get_dataset_args, make_dataset

    ref = make_dataset(get_dataset_args())
    state = np.random.get_state()[1].copy()
    task = mnist1d()
    assert np.array_equal(np.random.get_state()[1], state)  # the package's global seeding was undone
    assert (task.kind, task.input_size, task.output_size) == ("classification", 1, 10)
    assert len(task.train) + len(task.val) == len(ref["y"]) and len(task.test) == len(ref["y_test"])
    assert len(task.val) == round(0.1 * len(ref["y"]))
    assert task.train.x.shape[1:] == (40, 1) and task.train.x.dtype == torch.float32
    assert np.array_equal(task.test.x[:, :, 0].numpy(), ref["x_test"].astype(np.float32))
    assert np.array_equal(task.test.y.numpy(), ref["y_test"])
    # train + val are the package's training rows, each exactly once
    rows = np.concatenate([task.train.x[:, :, 0].numpy(), task.val.x[:, :, 0].numpy()])
    assert np.array_equal(np.sort(rows, axis=0), np.sort(ref["x"].astype(np.float32), axis=0))
    labels = np.concatenate([task.train.y.numpy(), task.val.y.numpy(), task.test.y.numpy()])
    assert np.array_equal(np.bincount(labels, minlength=10), np.full(10, len(labels) // 10))


def test_mnist1d_is_deterministic_and_sizes_are_selectable():
    a, b = mnist1d(num_samples=600, seed=3, val_fraction=0.25), mnist1d(num_samples=600, seed=3, val_fraction=0.25)
    assert (len(a.train), len(a.val), len(a.test)) == (360, 120, 120)
    for name in ("train", "val", "test"):
        assert torch.equal(getattr(a, name).x, getattr(b, name).x)
        assert torch.equal(getattr(a, name).y, getattr(b, name).y)
    assert not torch.equal(a.test.x, mnist1d(num_samples=600, seed=4).test.x)
    assert len(mnist1d(num_samples=600, val_fraction=0.0).val) == 0
    json.dumps(a.info)


def test_mnist1d_rejects_bad_arguments_and_names_the_missing_package(monkeypatch):
    with pytest.raises(InputError, match="multiple of 10"):
        mnist1d(num_samples=605)
    with pytest.raises(InputError, match="val_fraction"):
        mnist1d(val_fraction=0.9)
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)  # import of it now fails as if not installed
    with pytest.raises(ModuleNotFoundError, match=r"pip install mnist1d==0.0.2.post1 --no-deps"):
        mnist1d()


# ---------------------------------------------------------------- Half-Cheetah
def write_traces(folder, count=25, steps=120, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for k in range(count):
        np.save(folder / f"trace_{k:04d}.npy", rng.normal(size=(steps, 17)))
    return folder


def test_cheetah_windows_follow_the_reference_bound():
    trace = np.arange(100 * 17, dtype=np.float64).reshape(100, 17)
    x, y = cheetah_windows(trace, 32, 10)
    starts = list(range(0, 100 - 32 - 1, 10))  # the reference's range: 0, 10, ..., 60
    assert len(x) == len(starts) == 7
    for w, s in enumerate(starts):
        assert np.array_equal(x[w], trace[s:s + 32]) and np.array_equal(y[w], trace[s + 1:s + 33])


def test_cheetah_from_a_local_folder(tmp_path):
    folder = write_traces(tmp_path / "traces")
    task = half_cheetah(root=folder)
    per_trace = len(range(0, 120 - 33, 10))
    assert task.info["sizes"] == {"val": 5 * per_trace, "test": 10 * per_trace, "train": 10 * per_trace}
    assert task.info["files"]["val"][0] == "trace_0000.npy" and task.info["files"]["train"][-1] == "trace_0024.npy"
    first = np.load(folder / "trace_0015.npy").astype(np.float32)
    assert torch.equal(task.train.x[0], torch.from_numpy(first[:32]))
    assert torch.equal(task.train.y[0], torch.from_numpy(first[1:33]))
    assert torch.equal(task.train.y[:, :-1], task.train.x[:, 1:])  # the target is the next observation
    assert (task.kind, task.input_size, task.output_size) == ("regression", 17, 17)
    assert task.train.timespans is None and task.train.mask is None
    json.dumps(task.info)


@needs_cheetah
def test_cheetah_split_sizes_from_the_shared_files():
    task = load_task("cheetah")
    files = sorted(CHEETAH.glob("*.npy"))
    steps = [np.load(f, mmap_mode="r").shape[0] for f in files]
    want = {k: sum(len(range(0, steps[i] - 33, 10)) for i in v) for k, v in CHEETAH_SPLITS.items()}
    assert task.info["sizes"] == want
    assert task.info["source"] == "shared/data/cheetah"
    assert task.test.x.shape[1:] == (32, 17) and task.test.y.dtype == torch.float32
    assert bool(torch.isfinite(task.train.x).all())


def test_cheetah_errors_name_the_problem(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="root="):
        half_cheetah(root=tmp_path / "nowhere")
    monkeypatch.setenv("PARADIGMLAB_DATA", str(tmp_path / "no-shared"))
    with pytest.raises(FileNotFoundError, match="root="):
        half_cheetah()
    folder = write_traces(tmp_path / "few", count=24)
    with pytest.raises(InputError, match="expected 25"):
        half_cheetah(root=folder)
    folder = write_traces(tmp_path / "bad")
    np.save(folder / "trace_0007.npy", np.zeros((120, 16)))
    with pytest.raises(InputError, match="trace_0007.npy.*shape"):
        half_cheetah(root=folder)
    np.save(folder / "trace_0007.npy", np.zeros((20, 17)))  # too short for one window
    with pytest.raises(InputError, match="trace_0007.npy"):
        half_cheetah(root=folder)


@pytest.mark.parametrize("kind", ["truncated", "nan", "wrong-shape", "other-format", "pickle", "complex", "ints"])
def test_cheetah_trace_loader_refuses_hostile_files(tmp_path, kind):
    good = np.random.default_rng(0).normal(size=(50, 17))
    p = tmp_path / "trace.npy"
    np.save(p, good)
    if kind == "truncated":
        p.write_bytes(p.read_bytes()[:-100])
    elif kind == "nan":
        bad = good.copy()
        bad[3, 4] = np.nan
        np.save(p, bad)
    elif kind == "wrong-shape":
        np.save(p, good.reshape(25, 34))
    elif kind == "other-format":
        np.savez(p.with_suffix(".npz"), a=good)
        p.write_bytes(p.with_suffix(".npz").read_bytes())
    elif kind == "pickle":
        np.save(p, np.array([good], dtype=object), allow_pickle=True)
    elif kind == "complex":
        np.save(p, good.astype(np.complex128))
    elif kind == "ints":
        np.save(p, good.astype(np.int64))
    with pytest.raises(InputError, match="trace.npy"):
        load_cheetah_trace(p)
    np.save(tmp_path / "ok.npy", good)  # while the unharmed file loads as it was written
    assert np.array_equal(load_cheetah_trace(tmp_path / "ok.npy"), good)


def test_load_task_names():
    assert TASKS == ("xor", "mnist1d", "cheetah")
    assert load_task("xor", num_train=10, num_val=10, num_test=10).name == "xor"
    with pytest.raises(InputError, match="task must be one of"):
        load_task("nope")
