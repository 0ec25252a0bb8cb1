"""Optimisers built on the p-bit sampler: annealing and parallel tempering.

Both minimise the energy of an :class:`~paradigmlab.pbit.IsingModel` with many
chains in parallel, under a wall-clock budget or a fixed number of sweeps, and
return the lowest-energy state seen at any check point (not just the final
states), its energy, and a trace of best-so-far energy against time. A
``target_energy`` stops the search as soon as any chain reaches it, which is
what time-to-solution measurements need.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from paradigmlab.pbit import IsingModel, PBitSampler, schedules
from paradigmlab.pbit.sampler import prepare_chains, sweep_chains
from paradigmlab.pbit.spins import random_spins
from paradigmlab.pbit.tempering import ReplicaExchange

#: A schedule is a name or a function ``(beta_min, beta_max, num_sweeps) -> betas``.
Schedule = str | Callable[[float, float, int], np.ndarray]
_SCHEDULES = {"geometric": schedules.geometric, "linear": schedules.linear}
#: A quench runs at this multiple of the coldest beta: a unit-cost uphill flip then has odds ~1e-200.
QUENCH_FACTOR = 100.0
#: Never let one uninterrupted kernel call run longer than this (seconds), so budgets are kept.
MAX_CHUNK_S = 0.25


@dataclass
class SolveResult:
    """Best state found by an optimiser, with its energy and how it got there.

    ``trace`` is a list of ``(seconds since start, best energy so far)``,
    one entry per improvement; ``sweeps`` counts sweeps per chain over all
    runs; ``time_to_target`` is the time at which ``target_energy`` was first
    reached or a state passed the ``accept`` test (``None`` if never), and
    ``hit_state`` is that state.
    """

    state: np.ndarray
    energy: float
    wall_s: float
    trace: list[tuple[float, float]]
    sweeps: int
    runs: int
    target_energy: float | None = None
    time_to_target: float | None = None
    hit_state: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    @property
    def reached_target(self) -> bool:
        """Whether ``target_energy`` was reached."""
        return self.time_to_target is not None


def default_beta_range(model: IsingModel) -> tuple[float, float]:
    """Hot and cold inverse temperatures for annealing ``model``.

    Hot: a p-bit facing a typical local field of a random state (root mean
    square over p-bits of ``sqrt(sum_j J_ij^2 + h_i^2)``) still flips against
    it with probability 1/3. Cold: a flip costing the smallest non-zero
    energy change happens with probability about 1%. (dwave-samplers sizes
    the hot end by the largest possible field instead; on graphs with hubs
    such as G14 that starts far hotter than useful and wastes sweeps.)
    Heat-bath form: ``P(flip) = 1 / (1 + exp(beta dE))`` with ``dE = 2 |I|``.
    """
    sq = model.J.multiply(model.J)
    typical = math.sqrt(float(np.mean(np.asarray(sq.sum(axis=1)).ravel() + model.h ** 2)))
    weights = np.concatenate([np.abs(model.J.data), np.abs(model.h)])
    weights = weights[weights > 0]
    if not weights.size:
        return 0.1, 1.0  # no couplings and no fields: every state is optimal
    hot = math.log(2.0) / (2.0 * typical)
    cold = math.log(100.0) / (2.0 * float(weights.min()))
    return min(hot, cold), cold


class _Tracker:
    """Best state, best-so-far trace, budget, target and progress display."""

    def __init__(self, model: IsingModel, time_limit: float | None, target_energy: float | None,
                 accept: Callable[[np.ndarray], np.ndarray] | None, progress: bool,
                 objective: Callable[[float], float] | None, desc: str):
        self.model = model
        self.accept = accept
        self.hit_state: np.ndarray | None = None
        self.time_limit = None if time_limit is None else float(time_limit)
        self.target = None if target_energy is None else float(target_energy)
        self.objective = objective
        self.best_energy = math.inf
        self.best_state: np.ndarray | None = None
        self.trace: list[tuple[float, float]] = []
        self.time_to_target: float | None = None
        self.start = time.perf_counter()
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            total = self.time_limit if self.time_limit is not None else None
            self.bar = tqdm(total=total, desc=desc, unit="s", bar_format="{l_bar}{bar}| {n:.1f}/{total_fmt} s {postfix}")

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def remaining(self) -> float:
        return math.inf if self.time_limit is None else self.time_limit - self.elapsed()

    def update(self, states: np.ndarray, energies: np.ndarray | None = None) -> bool:
        """Record the batch; return True when the search should stop (target or budget)."""
        if energies is None:
            energies = self.model.energy(states)
        k = int(np.argmin(energies))
        now = self.elapsed()
        if energies[k] < self.best_energy:
            self.best_energy = float(energies[k])
            self.best_state = states[k].copy()
            self.trace.append((now, self.best_energy))
            if self.target is not None and self.time_to_target is None and self.best_energy <= self.target + 1e-9:
                self.time_to_target, self.hit_state = now, self.best_state
        if self.accept is not None and self.time_to_target is None:
            ok = np.flatnonzero(self.accept(states))
            if ok.size:
                self.time_to_target, self.hit_state = now, states[ok[0]].copy()
        if self.bar is not None:
            shown = self.objective(self.best_energy) if self.objective else self.best_energy
            self.bar.set_postfix_str(f"best={shown:g}", refresh=False)
            self.bar.update((min(now, self.bar.total) if self.bar.total else now) - self.bar.n)
        return self.time_to_target is not None or self.remaining() <= 0

    def result(self, sweeps: int, runs: int, info: dict) -> SolveResult:
        if self.bar is not None:
            self.bar.close()
        if self.best_state is None:
            raise RuntimeError("the solver stopped before evaluating any state")
        return SolveResult(self.best_state, self.best_energy, self.elapsed(), self.trace, sweeps, runs,
                           self.target, self.time_to_target, self.hit_state, info)


def _check_budget(time_limit: float | None, runs: int | None) -> None:
    if time_limit is not None and not (np.isfinite(time_limit) and time_limit > 0):
        raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit}")
    if runs is not None and runs < 1:
        raise ValueError(f"the number of runs/sweeps must be >= 1, got {runs}")


class Annealer:
    """Simulated annealing with p-bits: many chains, beta rising along a schedule.

    ``schedule``: ``"geometric"`` (default), ``"linear"``, a function
    ``(beta_min, beta_max, num_sweeps) -> betas``, or an explicit array of
    betas (then every run uses exactly it). ``beta_range``: ``(hot, cold)``,
    default :func:`default_beta_range`. Under a time limit the search
    restarts from random states with runs ``growth`` times longer each time
    (an anytime strategy: short runs give an early answer, long runs a good
    one), and the last run is stretched to use the remaining time.
    ``checks_per_run``: how often per run the chains' energies are checked
    for a new best state. ``quench_sweeps``: sweeps at :data:`QUENCH_FACTOR`
    times the coldest beta after every run (not counted in the schedule): at
    the cold end a p-bit still takes a unit-cost uphill flip about 1% of the
    time, so the last states carry a few such defects; an almost
    zero-temperature quench removes them (0 turns it off). ``backend``: a p-bit
    kernel (``"numba"``, ``"reference"``, ``"torch"``), or ``"multispin"``
    for +-J models without fields or clamps (64 chains per machine word,
    :class:`~paradigmlab.pbit.multispin.MultispinSampler`).
    """

    def __init__(self, num_chains: int = 64, num_sweeps: int = 1000, schedule: Schedule | np.ndarray = "geometric",
                 beta_range: tuple[float, float] | None = None, growth: float = 2.0, checks_per_run: int = 32,
                 quench_sweeps: int = 3, backend: str = "numba"):
        if num_chains < 1 or num_sweeps < 1 or checks_per_run < 1 or quench_sweeps < 0:
            raise ValueError("num_chains, num_sweeps and checks_per_run must be >= 1, quench_sweeps >= 0")
        if growth < 1:
            raise ValueError(f"growth must be >= 1, got {growth}")
        if isinstance(schedule, str) and schedule not in _SCHEDULES:
            raise ValueError(f"unknown schedule {schedule!r}; use {', '.join(_SCHEDULES)}, a function or an array")
        if beta_range is not None and not (0 <= beta_range[0] <= beta_range[1]):
            raise ValueError(f"beta_range must be (hot, cold) with 0 <= hot <= cold, got {beta_range}")
        self.num_chains, self.num_sweeps, self.growth = int(num_chains), int(num_sweeps), float(growth)
        self.schedule, self.beta_range, self.checks_per_run = schedule, beta_range, int(checks_per_run)
        self.quench_sweeps, self.backend = int(quench_sweeps), backend

    def __repr__(self) -> str:
        return (f"Annealer(num_chains={self.num_chains}, num_sweeps={self.num_sweeps}, "
                f"schedule={self.schedule if isinstance(self.schedule, str) else 'custom'}, backend={self.backend!r})")

    def betas(self, model: IsingModel, num_sweeps: int) -> np.ndarray:
        """The per-sweep inverse temperatures of one run of ``num_sweeps`` sweeps."""
        if not isinstance(self.schedule, (str,)) and not callable(self.schedule):
            return schedules.resolve(self.schedule, len(np.asarray(self.schedule)), model.beta)
        lo, hi = self.beta_range or default_beta_range(model)
        fn = _SCHEDULES[self.schedule] if isinstance(self.schedule, str) else self.schedule
        return schedules.resolve(fn(max(lo, 1e-12), hi, num_sweeps), num_sweeps, model.beta)

    def solve(self, model: IsingModel, time_limit: float | None = None, num_runs: int | None = None,
              target_energy: float | None = None, accept: Callable[[np.ndarray], np.ndarray] | None = None,
              clamp: Mapping[int, int] | tuple | None = None, seed: int | None = None, progress: bool = False,
              objective: Callable[[float], float] | None = None) -> SolveResult:
        """Minimise ``model``'s energy; see the class docstring for the strategy.

        Stops at ``time_limit`` seconds, after ``num_runs`` runs (default 1
        without a time limit), or when ``target_energy`` is reached, whichever
        comes first; ``accept(states) -> bool per chain`` is a custom target
        test. ``clamp`` fixes p-bits as in :meth:`PBitSampler.sample`.
        ``objective`` only converts energies for the progress display.
        """
        _check_budget(time_limit, num_runs)
        if num_runs is None and time_limit is None:
            num_runs = 1
        fixed = not isinstance(self.schedule, str) and not callable(self.schedule)
        rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
        if clamp is not None and self.backend == "multispin":
            raise ValueError("the multispin backend has no clamps: use backend='numba'")
        kernel = sweep_chains(self.backend, model, self.num_chains, seed=seed)
        if clamp is not None:
            prepare_chains(kernel, model, clamp, None)
        kernel.run([0.0])  # a sweep at beta = 0 re-randomises the states and compiles the kernel off the clock
        track = _Tracker(model, time_limit, target_energy, accept, progress, objective, "anneal")
        length = float(len(np.asarray(self.schedule)) if fixed else self.num_sweeps)
        rate = None  # sweeps per second, measured on the first chunk
        total_sweeps, runs, stop = 0, 0, False
        while not stop and (num_runs is None or runs < num_runs):
            n = int(length)
            if rate is not None and not fixed and track.time_limit is not None:
                room = int(0.95 * track.remaining() * rate)  # a run cut by the budget never reaches the cold end
                if room < n * (1 + self.growth):  # the run after this one would not fit: use all the time now
                    n = max(room, 10)
            betas = self.betas(model, n)
            if runs:
                kernel.set_states(random_spins(rng, (self.num_chains, model.num_nodes)))
            step = max(1, n // self.checks_per_run)
            t = 0
            while t < n:
                chunk = step if rate is None else max(1, min(step, int(rate * MAX_CHUNK_S)))
                chunk = min(chunk, n - t)
                t0 = time.perf_counter()
                kernel.run(betas[t:t + chunk])
                t += chunk
                total_sweeps += chunk
                stop = track.update(kernel.get_states())
                dt = max(time.perf_counter() - t0, 1e-9)  # sweeps and checks: what a run really costs
                rate = chunk / dt if rate is None else 0.8 * rate + 0.2 * chunk / dt
                if stop:
                    break
            if not stop and self.quench_sweeps:
                kernel.run(np.full(self.quench_sweeps, QUENCH_FACTOR * betas[-1]))
                total_sweeps += self.quench_sweeps
                stop = track.update(kernel.get_states())
            runs += 1
            if track.time_limit is not None and not fixed:
                length *= self.growth
        info = {"solver": "anneal", "num_chains": self.num_chains, "backend": self.backend,
                "beta_range": list(self.beta_range or default_beta_range(model)),
                "schedule": self.schedule if isinstance(self.schedule, str) else "custom"}
        return track.result(total_sweeps, runs, info)


class ParallelTempering:
    """Replica-exchange search: ``num_replicas`` ladders of ``num_temps`` p-bit chains.

    Chains at hot temperatures explore, cold ones descend; neighbouring
    temperatures of a ladder swap configurations every ``swap_every`` sweeps
    with probability ``min(1, exp((b_i - b_j)(E_i - E_j)))``. ``ladder``:
    ``"geometric"`` between ``beta_range``, ``"adaptive"`` (geometric start,
    then re-spaced during the first ``adapt_fraction`` of the budget so that
    every neighbouring pair swaps about equally often), or an explicit
    increasing array of betas.
    """

    def __init__(self, num_temps: int = 16, num_replicas: int = 4, beta_range: tuple[float, float] | None = None,
                 ladder: str | Sequence[float] = "adaptive", swap_every: int = 10, adapt_fraction: float = 0.2,
                 backend: str = "numba"):
        if isinstance(ladder, str):
            if ladder not in ("geometric", "adaptive"):
                raise ValueError(f"unknown ladder {ladder!r}; use 'geometric', 'adaptive' or an array of betas")
            if num_temps < 2:
                raise ValueError(f"num_temps must be >= 2, got {num_temps}")
        else:
            arr = np.asarray(ladder, dtype=np.float64)
            if arr.ndim != 1 or arr.size < 2 or np.any(np.diff(arr) <= 0) or arr[0] < 0:
                raise ValueError("an explicit ladder must be >= 2 increasing non-negative betas")
            num_temps = arr.size
        if num_replicas < 1 or swap_every < 1 or not 0 <= adapt_fraction < 1:
            raise ValueError("need num_replicas >= 1, swap_every >= 1 and 0 <= adapt_fraction < 1")
        self.num_temps, self.num_replicas, self.beta_range = int(num_temps), int(num_replicas), beta_range
        self.ladder, self.swap_every, self.adapt_fraction = ladder, int(swap_every), float(adapt_fraction)
        self.backend = backend

    def __repr__(self) -> str:
        return (f"ParallelTempering(num_temps={self.num_temps}, num_replicas={self.num_replicas}, "
                f"ladder={self.ladder if isinstance(self.ladder, str) else 'custom'}, backend={self.backend!r})")

    def initial_ladder(self, model: IsingModel) -> np.ndarray:
        """The starting inverse temperatures, hot to cold."""
        if not isinstance(self.ladder, str):
            return np.asarray(self.ladder, dtype=np.float64)
        lo, hi = self.beta_range or default_beta_range(model)
        return schedules.geometric(max(lo, 1e-12), hi, self.num_temps)

    def solve(self, model: IsingModel, time_limit: float | None = None, num_sweeps: int | None = None,
              target_energy: float | None = None, accept: Callable[[np.ndarray], np.ndarray] | None = None,
              clamp: Mapping[int, int] | tuple | None = None, seed: int | None = None, progress: bool = False,
              objective: Callable[[float], float] | None = None) -> SolveResult:
        """Run until ``time_limit`` seconds or ``num_sweeps`` sweeps (default 1000) or the target.

        ``target_energy``, ``accept``, ``clamp`` and ``objective`` as in :meth:`Annealer.solve`.
        """
        _check_budget(time_limit, num_sweeps)
        if num_sweeps is None and time_limit is None:
            num_sweeps = 1000
        R, L = self.num_replicas, self.num_temps
        rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
        rex = ReplicaExchange(self.initial_ladder(model), R, rng)
        kernel = PBitSampler(self.backend).kernel(model, rex.num_chains, seed=seed)
        prepare_chains(kernel, model, clamp, None)
        kernel.run([0.0])  # compile off the clock (and re-randomise)
        track = _Tracker(model, time_limit, target_energy, accept, progress, objective, "tempering")
        adapt = self.ladder == "adaptive"
        sweeps, rounds = 0, 0
        while True:
            kernel.set_chain_beta(rex.chain_betas())
            step = self.swap_every if num_sweeps is None else min(self.swap_every, num_sweeps - sweeps)
            kernel.run(np.ones(step))
            sweeps += step
            rounds += 1
            states = kernel.get_states()
            E = model.energy(states)
            if track.update(states, E) or (num_sweeps is not None and sweeps >= num_sweeps):
                break
            rex.swap(E)
            if adapt and rounds % 20 == 0:
                done = (track.elapsed() / track.time_limit) if track.time_limit else sweeps / num_sweeps
                if done < self.adapt_fraction:
                    rex.respace()
        info = {"solver": "tempering", "num_temps": L, "num_replicas": R, "num_chains": R * L, "backend": self.backend,
                "ladder": rex.ladder.tolist(), "swap_acceptance": rex.acceptance().tolist()}
        return track.result(sweeps, rounds, info)

