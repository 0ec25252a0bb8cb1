"""Inverse-temperature schedules: one beta per sweep.

Constant beta samples a Boltzmann distribution; rising beta (annealing) drives
chains towards low-energy states. Every schedule is just an array of length
``num_sweeps``, so a custom one is any non-negative array.
"""

from __future__ import annotations

import numpy as np


def constant(beta: float, num_sweeps: int) -> np.ndarray:
    """``num_sweeps`` sweeps at fixed ``beta``."""
    return np.full(int(num_sweeps), float(beta))


def linear(beta_start: float, beta_end: float, num_sweeps: int) -> np.ndarray:
    """Beta rising (or falling) linearly from ``beta_start`` to ``beta_end``."""
    return np.linspace(float(beta_start), float(beta_end), int(num_sweeps))


def geometric(beta_start: float, beta_end: float, num_sweeps: int) -> np.ndarray:
    """Beta changing by a constant factor per sweep (both ends must be > 0)."""
    if beta_start <= 0 or beta_end <= 0:
        raise ValueError("a geometric schedule needs beta_start > 0 and beta_end > 0")
    return np.geomspace(float(beta_start), float(beta_end), int(num_sweeps))


def resolve(beta, num_sweeps: int, default: float) -> np.ndarray:
    """Turn ``None`` (use ``default``), a number, or an array into a per-sweep schedule."""
    if num_sweeps < 1:
        raise ValueError(f"num_sweeps must be >= 1, got {num_sweeps}")
    if beta is None:
        return constant(default, num_sweeps)
    arr = np.asarray(beta, dtype=np.float64)
    if arr.ndim == 0:
        sched = constant(float(arr), num_sweeps)
    elif arr.shape == (num_sweeps,):
        sched = arr.copy()
    else:
        raise ValueError(f"beta schedule must have one value per sweep ({num_sweeps}), got shape {arr.shape}")
    if not np.all(np.isfinite(sched)) or np.any(sched < 0):
        raise ValueError("beta schedule must be finite and non-negative")
    return sched
