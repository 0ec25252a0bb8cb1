"""Averaging a quantity over the reads of a :class:`~paradigmlab.pbit.schedules.SamplingSchedule`.

Every read-out of a sampled model has the same shape: sweep some chains,
look at them every few sweeps, average what was seen. :func:`average_over_reads`
is that loop, once; callers say what a read is (``read(kernel)``: the label
p-bits' conditional means, the pixels, all states, ...).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from paradigmlab.pbit.kernels.base import Kernel
from paradigmlab.pbit.schedules import SamplingSchedule


def average_over_reads(kernel: Kernel, schedule: SamplingSchedule, beta: float,
                       read: Callable[[Kernel], np.ndarray] | Callable[[Any], np.ndarray],
                       before_sweep: Callable[[Kernel], Any] | None = None) -> np.ndarray:
    """Run ``kernel`` at ``beta`` for ``schedule.num_sweeps`` sweeps; return the mean of the reads.

    Without ``before_sweep``: ``schedule.burn_in`` sweeps, then ``num_samples``
    times ``sweeps_per_sample`` sweeps followed by ``read(kernel)``, so reads
    follow the sweeps ``schedule.read_after()``; the reads are summed and the
    sum divided by ``num_samples``.

    With ``before_sweep`` (a block of clamped p-bits drawn jointly from the
    current state between sweeps, e.g. a softmax label): the kernel sweeps one
    sweep at a time and ``before_sweep(kernel)`` runs before each; what it
    returns (the distribution it drew from) is what ``read`` receives. The
    draw before sweep ``t`` already reads the state of the ``t`` sweeps done,
    so reads are taken at ``t = burn_in + k * sweeps_per_sample`` for
    ``k = 0 .. num_samples - 1`` (the first right after burn-in), each added
    divided by ``num_samples``. (This is the order the softmax label read-out
    of :class:`~paradigmlab.ebm.dbm.SparseDBM` has always used; keeping it
    keeps its scores bit-identical.)
    """
    n = schedule.num_samples
    if before_sweep is None:
        kernel.run(np.full(schedule.burn_in, float(beta)))
        total = None
        for _ in range(n):
            kernel.run(np.full(schedule.sweeps_per_sample, float(beta)))
            value = read(kernel)
            if total is None:
                total = np.zeros(np.shape(value))
            total += value
        return total / n
    one = np.full(1, float(beta))
    mean = None
    for t in range(schedule.num_sweeps):
        drawn = before_sweep(kernel)
        if t >= schedule.burn_in and (t - schedule.burn_in) % schedule.sweeps_per_sample == 0:
            value = read(drawn)
            if mean is None:
                mean = np.zeros(np.shape(value))
            mean += value / n
        kernel.run(one)
    return mean


def resolve_schedule(schedule: SamplingSchedule | None, default: SamplingSchedule, **fields) -> SamplingSchedule:
    """The schedule a read-out method runs: ``schedule`` if given, else ``default`` with the keyword
    ``fields`` that are not None (``burn_in``, ``num_samples``, ``sweeps_per_sample``) replaced.

    Methods that take both spellings call this; giving a schedule and fields at once is an error.
    """
    given = {k: v for k, v in fields.items() if v is not None}
    if schedule is not None:
        if given:
            raise ValueError(f"give either schedule= or {', '.join(sorted(given))}, not both")
        if not isinstance(schedule, SamplingSchedule):
            raise ValueError(f"schedule must be a SamplingSchedule, got {type(schedule).__name__}")
        return schedule
    if not given:
        return default
    return SamplingSchedule(**{**default.to_dict(), **given})
