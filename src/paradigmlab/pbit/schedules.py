"""Inverse-temperature schedules: one beta per sweep.

Constant beta samples a Boltzmann distribution; rising beta (annealing) drives
chains towards low-energy states. Every schedule is just an array of length
``num_sweeps``, so a custom one is any non-negative array.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    if np.any(np.isnan(sched)) or np.any(sched < 0):  # inf: a zero-temperature (greedy) sweep, see Kernel.run
        raise ValueError("beta schedule must be finite and non-negative, or inf for a zero-temperature sweep")
    return sched


@dataclass(frozen=True)
class SamplingSchedule:
    """When reads are taken from a set of chains (a value object, after THRML's ``SamplingSchedule``).

    ``burn_in`` sweeps first, then ``num_samples`` reads, each after
    ``sweeps_per_sample`` more sweeps: reads follow sweeps
    ``burn_in + k * sweeps_per_sample`` for ``k = 1 .. num_samples``.
    """

    burn_in: int = 0
    num_samples: int = 1
    sweeps_per_sample: int = 1

    def __post_init__(self):
        for name in ("burn_in", "num_samples", "sweeps_per_sample"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"SamplingSchedule.{name} must be an integer, got {v!r}")
        if self.burn_in < 0 or self.num_samples < 1 or self.sweeps_per_sample < 1:
            raise ValueError(f"SamplingSchedule needs burn_in >= 0, num_samples >= 1 and sweeps_per_sample >= 1, "
                             f"got {self}")

    @property
    def num_sweeps(self) -> int:
        """Sweeps in all: burn-in plus the sweeps between reads."""
        return self.burn_in + self.num_samples * self.sweeps_per_sample

    def read_after(self) -> np.ndarray:
        """The 1-based sweep counts after which a read is taken."""
        return self.burn_in + self.sweeps_per_sample * np.arange(1, self.num_samples + 1)

    def to_dict(self) -> dict:
        """Plain-dict form (JSON, reports)."""
        return {"burn_in": self.burn_in, "num_samples": self.num_samples, "sweeps_per_sample": self.sweeps_per_sample}
