"""The solvers people use, run under the same wall-clock budget as ours.

Each baseline is restarted from random states until the budget is spent,
with runs getting ``growth`` times longer (the same anytime strategy as
:class:`~paradigmlab.optimize.solvers.Annealer`, the last run shrunk to fit
the remaining time). Single-threaded samplers run in ``workers`` forked
processes so they use the same cores our multi-threaded kernel does. Only
runs that finish inside the budget count. All energies are recomputed with
our :class:`~paradigmlab.pbit.IsingModel`, so every solver is scored by the
same function.

Baselines: ``"dwave-sa"`` (dwave-samplers ``SimulatedAnnealingSampler``),
``"openjij-sa"`` (OpenJij ``SASampler``), ``"sb"`` (simulated-bifurcation
``sb.minimize``, ballistic, :data:`SB_AGENTS` agents, stopped by its own
``timeout`` at the budget). A run is ``sweeps`` for the annealers and
``max_steps`` for SB; each sampler is given ``(length, seed, seconds left)``.

``"pbit-sa"`` runs our :class:`~paradigmlab.pbit.PBitSampler` through exactly
the same dimod call (``sample(bqm, num_reads=1, num_sweeps=..., seed=...)``,
with a geometric beta schedule over
:func:`~paradigmlab.optimize.solvers.default_beta_range`, as dwave-samplers
picks its own range) and the same restarts and processes: the like-for-like
comparison of the samplers themselves. Our solvers
(:class:`~paradigmlab.optimize.solvers.Annealer`, ``ParallelTempering``) keep
their own strategies and are not run through here.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import warnings
from typing import Callable

import numpy as np

from paradigmlab.optimize.solvers import Annealer, SolveResult
from paradigmlab.pbit import IsingModel, PBitSampler

#: The solvers people use.
BASELINES = ("dwave-sa", "openjij-sa", "sb")
#: Every name :func:`run_baseline` runs: the baselines and our sampler through the same dimod path.
SAMPLERS = BASELINES + ("pbit-sa",)
#: SB agents (parallel trajectories); its default 128 is too slow for a 10 s budget on 2 cores.
SB_AGENTS = 32
#: Seconds SB spends around its own ``timeout`` (setup, final spins); kept out of its budget.
SB_OVERHEAD_S = 0.5


class NoRunInBudget(RuntimeError):
    """A baseline could not finish a single run within the time budget."""


def _dimod_style(make_sampler: Callable[[], object],
                 extra: Callable[[IsingModel, int], dict] | None = None
                 ) -> Callable[[IsingModel], Callable[[int, int, float], np.ndarray]]:
    """A factory for annealers with the dimod ``sample(bqm, num_reads, num_sweeps, seed)`` call;
    ``extra(model, sweeps)`` adds keyword arguments (a beta schedule) to it."""

    def factory(model: IsingModel) -> Callable[[int, int, float], np.ndarray]:
        bqm, sampler = model.to_bqm(), make_sampler()

        def run(sweeps: int, seed: int, timeout: float) -> np.ndarray:
            kwargs = extra(model, sweeps) if extra is not None else {}
            ss = sampler.sample(bqm, num_reads=1, num_sweeps=sweeps, seed=seed, **kwargs)
            return _ordered(ss, model.num_nodes)

        return run

    return factory


def _pbit_schedule(model: IsingModel, sweeps: int) -> dict:
    """Our sampler's annealing schedule for one run: the Annealer's own (geometric over its default range)."""
    return {"beta": Annealer().betas(model, sweeps)}


def _dwave() -> object:
    from dwave.samplers import SimulatedAnnealingSampler

    return SimulatedAnnealingSampler()


def _openjij() -> object:
    import openjij as oj

    return oj.SASampler()


def _sb_sampler(model: IsingModel) -> Callable[[int, int, float], np.ndarray]:
    import simulated_bifurcation as sb
    import torch

    quad = torch.tensor(-0.5 * model.to_dense(), dtype=torch.float32)  # E = m^T (-J/2) m - h.m
    lin = torch.tensor(-model.h, dtype=torch.float32)

    def run(steps: int, seed: int, timeout: float) -> np.ndarray:
        torch.manual_seed(seed)
        with warnings.catch_warnings():  # "no agent has converged" on short runs: we score the result anyway
            warnings.simplefilter("ignore")
            best, _ = sb.minimize(quad, lin, domain="spin", agents=SB_AGENTS, max_steps=steps, verbose=False,
                                      timeout=max(0.8 * timeout - SB_OVERHEAD_S, 0.05))
        return best.numpy().astype(np.int8)

    return run


_FACTORIES = {"dwave-sa": (_dimod_style(_dwave), 1000), "openjij-sa": (_dimod_style(_openjij), 1000),
              "sb": (_sb_sampler, 100), "pbit-sa": (_dimod_style(PBitSampler, _pbit_schedule), 1000)}


def _ordered(sampleset, n: int) -> np.ndarray:
    """First sample of a dimod-style sample set as spins ordered 0..n-1."""
    rec = sampleset.record.sample[0]
    out = np.empty(n, dtype=np.int8)
    out[list(sampleset.variables)] = rec
    return out


def _restarts(model: IsingModel, name: str, budget: float, seed: int, growth: float, out=None) -> list:
    """Run one baseline repeatedly until ``budget`` seconds pass; returns ``[(t, energy, state)]``."""
    factory, length = _FACTORIES[name]
    run = factory(model)
    start = time.perf_counter()
    results, rate, k = [], None, 0
    while True:
        left = budget - (time.perf_counter() - start)
        n = int(length)
        if rate is not None:
            room = int(left * rate)
            if room < n:
                n = room
        if n < 1 or left <= 0:
            break
        t0 = time.perf_counter()
        state = run(n, seed * 1_000_003 + k, left)
        dt = time.perf_counter() - t0
        rate = n / max(dt, 1e-9)
        now = time.perf_counter() - start
        if now <= budget:
            results.append((now, float(model.energy(state)), state))
        k += 1
        length *= growth
    if out is not None:
        out.put(results)
    return results


def run_baseline(model: IsingModel, name: str, time_limit: float, seed: int = 0, workers: int = 2,
                 growth: float = 2.0) -> SolveResult:
    """Run baseline ``name`` (one of :data:`SAMPLERS`) for ``time_limit`` seconds on ``workers`` processes.

    ``sb`` always uses one process (torch already uses every core).
    """
    if name not in _FACTORIES:
        raise ValueError(f"unknown baseline {name!r}; choose one of {', '.join(SAMPLERS)}")
    if time_limit <= 0 or workers < 1:
        raise ValueError("time_limit must be > 0 and workers >= 1")
    workers = 1 if name == "sb" else int(workers)
    start = time.perf_counter()
    if workers == 1:
        results = _restarts(model, name, time_limit, seed, growth)
    else:
        ctx = mp.get_context("fork")
        queue = ctx.Queue()
        procs = [ctx.Process(target=_restarts, args=(model, name, time_limit, seed + w, growth, queue))
                 for w in range(workers)]
        for p in procs:
            p.start()
        results = [r for _ in procs for r in queue.get()]
        for p in procs:
            p.join()
    wall = time.perf_counter() - start
    if not results:
        raise NoRunInBudget(f"{name}: no run finished within {time_limit} s")
    results.sort(key=lambda r: r[0])
    trace, best = [], None
    for t, e, s in results:
        if best is None or e < best[1]:
            best = (s, e)
            trace.append((t, e))
    return SolveResult(best[0], best[1], wall, trace, sweeps=0, runs=len(results),
                       info={"solver": name, "workers": workers})
