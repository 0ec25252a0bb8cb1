"""MNIST-1D (Greydanus 2020): 40-point signals of the ten digits, generated offline by the ``mnist1d`` package's
``make_dataset`` (never downloaded)."""

from __future__ import annotations

import random

import numpy as np

from paradigmlab.validate import InputError, integer

INSTALL = "pip install mnist1d==0.0.2.post1 --no-deps"


def generate(num_samples: int | None = None, seed: int | None = None) -> tuple[dict, object]:
    """``(data, args)``: the package's dict (``x``, ``y``, ``x_test``, ``y_test``, ...) and the arguments that made
    it -- ``get_dataset_args()`` (5,000 samples, 80 % train, seed 42) with ``num_samples`` (a multiple of 10) and
    ``seed`` changed when given. Python's and numpy's global generators are left as they were."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(f"MNIST-1D needs the mnist1d package ({exc}): {INSTALL}") from None
    args = get_dataset_args()
    if num_samples is not None:
        args.num_samples = integer(num_samples, "num_samples", min=10)
        if args.num_samples % 10:
            raise InputError(f"num_samples must be a multiple of 10 (equal samples per digit), got {num_samples}")
    if seed is not None:
        args.seed = integer(seed, "seed", min=0, max=2**32 - 1)
    # make_dataset seeds numpy's and Python's global generators; put them back so loading has no side effect
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return data, args
