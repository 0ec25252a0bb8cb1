"""PBitSampler: many chains of p-bits, colour-parallel sweeps, annealing, tempering.

Usage in the dimod style::

    model = IsingModel(J, h)
    res = PBitSampler("numba").sample(model, num_chains=64, num_sweeps=1000, seed=0)
    res.states, res.energies, res.to_sampleset()
"""

from __future__ import annotations

import time
from typing import Mapping, Sequence

import numpy as np

from paradigmlab.pbit import schedules
from paradigmlab.pbit.coloring import check_coloring, color_graph
from paradigmlab.pbit.kernels import BACKENDS, make_kernel
from paradigmlab.pbit.kernels.base import Kernel
from paradigmlab.pbit.model import IsingModel
from paradigmlab.pbit.result import SampleResult

#: Show a progress bar by default when a call attempts more p-bit updates than this.
PROGRESS_MIN_UPDATES = 2e9


class PBitSampler:
    """A p-bit computer in software.

    ``backend``: ``"reference"`` (numpy), ``"numba"`` (fast CPU), ``"torch"``
    (CPU or CUDA; ``device`` picks one, default CUDA when available).
    ``coloring``: ``"auto"``, ``"dsatur"``, ``"greedy"``, ``"sequential"``
    (one p-bit at a time), or explicit groups (checked for conflicts).
    """

    def __init__(self, backend: str = "numba", device: str | None = None, coloring: str | Sequence = "auto"):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        if device is not None and backend != "torch":
            raise ValueError("device is only meaningful for the torch backend")
        self.backend = backend
        self.device = device
        self.coloring = coloring

    def __repr__(self) -> str:
        return f"PBitSampler(backend={self.backend!r}, device={self.device!r})"

    # ------------------------------------------------------------ building blocks
    def groups(self, model: IsingModel) -> list[np.ndarray]:
        """The colour groups used for ``model`` (computed once per model and method)."""
        if not isinstance(self.coloring, str):
            return check_coloring(model.J, self.coloring)
        cache = model.__dict__.setdefault("_color_cache", {})
        if self.coloring not in cache:
            cache[self.coloring] = color_graph(model.J, self.coloring)
        return cache[self.coloring]

    def kernel(self, model: IsingModel, num_chains: int, seed: int | None = None) -> Kernel:
        """A persistent set of ``num_chains`` chains for ``model``, for custom loops.

        Boltzmann learning keeps its negative-phase chains alive across
        updates with this; ``sample`` builds one per call.
        """
        _check_model(model)
        return make_kernel(self.backend, model.J, model.h, self.groups(model), num_chains, seed=seed,
                           device=self.device)

    # ------------------------------------------------------------ sampling
    def sample(
        self,
        model: IsingModel,
        num_chains: int = 16,
        num_sweeps: int = 1000,
        beta=None,
        burn_in: int = 0,
        thin: int = 1,
        seed: int | None = None,
        clamp: Mapping[int, int] | tuple | None = None,
        initial_states: np.ndarray | None = None,
        progress: bool | None = None,
    ) -> SampleResult:
        """Run ``num_chains`` chains for ``num_sweeps`` sweeps and record samples.

        ``beta``: ``None`` (the model's beta), a number, or a per-sweep
        schedule (see :mod:`paradigmlab.pbit.schedules`). A sample of every
        chain is recorded after sweep ``t`` when ``t > burn_in`` and
        ``(t - burn_in) % thin == 0``; ``burn_in=num_sweeps - 1`` keeps only
        the final states (the usual choice for annealing). ``clamp`` fixes
        p-bits: ``{node: +-1}`` or ``(nodes, values)`` with values of shape
        ``(k,)`` or ``(num_chains, k)``.
        """
        _check_model(model)
        sched = schedules.resolve(beta, num_sweeps, model.beta)
        burn_in, thin = int(burn_in), int(thin)
        if not 0 <= burn_in < num_sweeps:
            raise ValueError(f"burn_in must be in 0..num_sweeps-1 ({num_sweeps - 1}), got {burn_in}")
        if thin < 1:
            raise ValueError(f"thin must be >= 1, got {thin}")
        k = self.kernel(model, num_chains, seed)
        prepare_chains(k, model, clamp, initial_states)
        record_at = list(range(burn_in + thin, num_sweeps + 1, thin))
        states, betas, sweeps = [], [], []
        t_done = 0
        bar = _progress(progress, k.updates_per_sweep * num_sweeps, "p-bit sweeps", num_sweeps)
        start = time.perf_counter()
        for t in record_at:
            k.run(sched[t_done:t])
            if bar is not None:
                bar.update(t - t_done)
            t_done = t
            states.append(k.get_states())
            betas.append(np.full(num_chains, sched[t - 1]))
            sweeps.append(np.full(num_chains, t))
        wall = time.perf_counter() - start
        if bar is not None:
            bar.close()
        S = np.concatenate(states)
        return SampleResult(
            states=S,
            energies=model.energy(S),
            chain=np.tile(np.arange(num_chains), len(record_at)),
            sweep=np.concatenate(sweeps),
            beta=np.concatenate(betas),
            info=self._info(k, num_sweeps, wall),
        )

    def sample_tempering(
        self,
        model: IsingModel,
        betas: Sequence[float],
        num_replicas: int = 1,
        num_sweeps: int = 1000,
        swap_every: int = 1,
        burn_in: int = 0,
        thin: int = 1,
        seed: int | None = None,
        clamp: Mapping[int, int] | tuple | None = None,
        progress: bool | None = None,
    ) -> SampleResult:
        """Parallel tempering (replica exchange) over the ladder ``betas``.

        ``num_replicas`` independent ladders run side by side, each with one
        chain per beta. Every ``swap_every`` sweeps, neighbouring temperatures
        of a ladder try to exchange configurations (even and odd pairs in
        turn), accepted with ``min(1, exp((b_i - b_j)(E_i - E_j)))``, which
        keeps every temperature's Boltzmann law stationary. Samples are
        recorded per temperature (``result.at_beta(b)``); ``info`` has the
        swap acceptance per neighbouring pair and the lowest energy seen.
        """
        ladder = np.asarray(betas, dtype=np.float64).reshape(-1)
        if ladder.size < 2 or not np.all(np.isfinite(ladder)) or np.any(ladder < 0):
            raise ValueError("betas must be at least two finite non-negative inverse temperatures")
        if swap_every < 1 or thin < 1 or not 0 <= burn_in < num_sweeps:
            raise ValueError("need swap_every >= 1, thin >= 1 and 0 <= burn_in < num_sweeps")
        R, L = int(num_replicas), ladder.size
        k = self.kernel(model, R * L, seed)
        prepare_chains(k, model, clamp, None)
        rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
        # temp[r, l] = chain that currently holds temperature l of ladder r
        temp = np.arange(R * L).reshape(R, L)
        chain_beta = np.empty(R * L)
        chain_beta[temp] = ladder
        k.set_chain_beta(chain_beta)
        accepted = np.zeros(L - 1)
        tried = np.zeros(L - 1)
        states, bs, sweeps, chains = [], [], [], []
        best = np.inf
        bar = _progress(progress, k.updates_per_sweep * num_sweeps, "tempering sweeps", num_sweeps)
        start = time.perf_counter()
        t, parity = 0, 0
        while t < num_sweeps:
            next_swap = (t // swap_every + 1) * swap_every
            next_rec = burn_in + thin * (max(t - burn_in, 0) // thin + 1)
            nxt = min(next_swap, next_rec, num_sweeps)
            k.run(np.ones(nxt - t))
            if bar is not None:
                bar.update(nxt - t)
            t = nxt
            if t > burn_in and (t - burn_in) % thin == 0:
                order = temp.reshape(-1)
                states.append(k.get_states()[order])
                bs.append(np.tile(ladder, R))
                sweeps.append(np.full(R * L, t))
                chains.append(order)
            if t % swap_every == 0 and t < num_sweeps:
                E = model.energy(k.get_states())
                best = min(best, float(E.min()))
                for r in range(R):
                    for l in range(parity, L - 1, 2):
                        a, b = temp[r, l], temp[r, l + 1]
                        delta = (ladder[l] - ladder[l + 1]) * (E[a] - E[b])
                        tried[l] += 1
                        if delta >= 0 or rng.random() < np.exp(delta):
                            temp[r, l], temp[r, l + 1] = b, a
                            accepted[l] += 1
                parity ^= 1
                chain_beta[temp] = ladder
                k.set_chain_beta(chain_beta)
        wall = time.perf_counter() - start
        if bar is not None:
            bar.close()
        S = np.concatenate(states) if states else np.zeros((0, model.num_nodes), np.int8)
        E = model.energy(S) if len(S) else np.zeros(0)
        info = self._info(k, num_sweeps, wall)
        info["swap_acceptance"] = (accepted / np.maximum(tried, 1)).tolist()
        info["ladder"] = ladder.tolist()
        info["lowest_energy_seen"] = float(min(best, E.min() if len(E) else np.inf))
        return SampleResult(S, E, np.concatenate(chains) if chains else np.zeros(0, int),
                            np.concatenate(sweeps) if sweeps else np.zeros(0, int),
                            np.concatenate(bs) if bs else np.zeros(0), info)

    def _info(self, k: Kernel, num_sweeps: int, wall: float) -> dict:
        updates = k.updates_per_sweep * num_sweeps
        return {
            "backend": self.backend,
            "device": str(getattr(k, "dev", "cpu")),
            "num_colors": len(k.groups),
            "num_chains": k.num_chains,
            "num_sweeps": num_sweeps,
            "wall_s": wall,
            "updates": int(updates),
            "flips_per_ns": updates / (wall * 1e9) if wall > 0 else float("nan"),
        }


def _check_model(model: IsingModel) -> None:
    if not isinstance(model, IsingModel):
        raise ValueError(f"expected an IsingModel, got {type(model).__name__}")


def prepare_chains(k: Kernel, model: IsingModel, clamp, initial_states) -> None:
    """Validate and apply ``initial_states`` and ``clamp`` (the forms ``sample`` accepts) to a kernel."""
    if initial_states is not None:
        init = np.asarray(initial_states)
        if init.ndim == 1:
            init = np.broadcast_to(init, (k.num_chains, model.num_nodes))
        if init.shape != (k.num_chains, model.num_nodes):
            raise ValueError(f"initial_states must have shape ({k.num_chains}, {model.num_nodes}) or ({model.num_nodes},)")
        model.check_states(init)
        k.set_states(init)
    if clamp is not None:
        if isinstance(clamp, Mapping):
            nodes = np.fromiter(clamp.keys(), dtype=np.int64, count=len(clamp))
            values = np.fromiter(clamp.values(), dtype=np.int64, count=len(clamp))
        else:
            try:
                nodes, values = clamp
            except (TypeError, ValueError):
                raise ValueError("clamp must be a {node: value} mapping or a (nodes, values) pair") from None
        k.set_clamp(nodes, np.asarray(values))


def _progress(progress: bool | None, total_updates: float, desc: str, total: int):
    if progress is None:
        progress = total_updates > PROGRESS_MIN_UPDATES
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="sweep")
