"""PBitSampler: many chains of p-bits, colour-parallel sweeps, annealing, tempering.

Two doors onto one sampler:

* the array path, ``sample(IsingModel, num_chains, num_sweeps, ...) ->``
  :class:`SampleResult` (int8 states, energies, chain/sweep/beta ids);
* the dimod path: :class:`PBitSampler` is a ``dimod.Sampler``, so
  ``sample(bqm, num_reads=..., num_sweeps=...)`` (and dimod's ``sample_ising`` /
  ``sample_qubo``) take any ``BinaryQuadraticModel`` (SPIN or BINARY, any
  hashable labels, offset) and return a ``dimod.SampleSet`` in the BQM's
  vartype whose energies are ``bqm.energies`` of its samples.

Usage::

    model = IsingModel(J, h)
    res = PBitSampler("numba").sample(model, num_chains=64, num_sweeps=1000, seed=0)
    res.states, res.energies, res.to_sampleset()
    ss = PBitSampler().sample(bqm, num_reads=64, num_sweeps=1000, seed=0)

Like every dimod sampler, a plain call returns one sample per chain (read):
its final state. ``burn_in``, ``thin`` and ``num_samples`` ask for more
(:func:`resolve_reads`).
"""

from __future__ import annotations

import time
from typing import Mapping, Sequence

import dimod
import numpy as np

from paradigmlab.pbit import schedules
from paradigmlab.pbit.coloring import check_coloring
from paradigmlab.pbit.kernels import BACKENDS, make_kernel
from paradigmlab.pbit.kernels.base import Kernel
from paradigmlab.pbit.model import IsingModel
from paradigmlab.pbit.result import SampleResult
from paradigmlab.validate import integer
from paradigmlab.pbit.schedules import SamplingSchedule
from paradigmlab.pbit.spins import check_spins
from paradigmlab.pbit.tempering import ReplicaExchange

#: Show a progress bar by default when a call attempts more p-bit updates than this.
PROGRESS_MIN_UPDATES = 2e9
#: Chains and sweeps of a call that does not say.
DEFAULT_NUM_CHAINS = 16
DEFAULT_NUM_SWEEPS = 1000
#: Keyword parameters of :meth:`PBitSampler.sample` (dimod's ``parameters``; ``num_reads`` is dimod's
#: word for chains).
SAMPLE_PARAMETERS = ("num_reads", "num_chains", "num_sweeps", "beta", "burn_in", "thin", "seed", "clamp",
                     "initial_states", "progress", "num_samples")


class PBitSampler(dimod.Sampler):
    """A p-bit computer in software, and a ``dimod.Sampler``.

    ``backend``: ``"reference"`` (numpy), ``"numba"`` (fast CPU), ``"torch"``
    (CPU or CUDA; ``device`` picks one, default CUDA when available).
    ``coloring``: ``"auto"``, ``"dsatur"``, ``"greedy"``, ``"sequential"``
    (one p-bit at a time), or explicit groups (checked for conflicts).
    A named colouring is computed once per model (:meth:`IsingModel.coloring`).
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

    # ------------------------------------------------------------ dimod.Sampler
    @property
    def parameters(self) -> dict:
        """dimod: the keyword parameters :meth:`sample` accepts (none refers to a property)."""
        return {name: [] for name in SAMPLE_PARAMETERS}

    @property
    def properties(self) -> dict:
        """dimod: facts about this sampler."""
        return {"backend": self.backend, "device": self.device, "backends": list(BACKENDS),
                "coloring": self.coloring if isinstance(self.coloring, str) else "explicit groups",
                "update": "p-bit (heat-bath Gibbs), colour-parallel sweeps",
                "default_num_reads": DEFAULT_NUM_CHAINS, "default_num_sweeps": DEFAULT_NUM_SWEEPS}

    # ------------------------------------------------------------ building blocks
    def groups(self, model: IsingModel) -> list[np.ndarray]:
        """The colour groups used for ``model`` (a named method is computed once per model)."""
        if not isinstance(self.coloring, str):
            return check_coloring(model.J, self.coloring)
        return model.coloring(self.coloring)

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
        model,
        num_chains: int | None = None,
        num_sweeps: int | None = None,
        beta=None,
        burn_in: int | None = None,
        thin: int | None = None,
        seed: int | None = None,
        clamp: Mapping | tuple | None = None,
        initial_states=None,
        progress: bool | None = None,
        num_samples: int | None = None,
        num_reads: int | None = None,
        schedule: SamplingSchedule | None = None,
        **kwargs,
    ):
        """Run chains for ``num_sweeps`` sweeps and read samples from them.

        ``model``: an :class:`IsingModel` (returns a :class:`SampleResult`) or
        a dimod ``BinaryQuadraticModel`` (returns a ``dimod.SampleSet`` in the
        BQM's vartype and labels, energies including its offset; unknown
        keyword arguments are ignored with dimod's ``SamplerUnknownArgWarning``,
        while the array path rejects them with ``TypeError``).

        ``num_chains`` (or dimod's ``num_reads``, the same thing): independent
        chains, default 16. ``num_sweeps``: default 1000. ``beta``: ``None``
        (the model's beta; 1 for a BQM), a number, or a per-sweep schedule
        (see :mod:`paradigmlab.pbit.schedules`). ``burn_in``, ``thin``,
        ``num_samples``: which sweeps are read (:func:`resolve_reads`), or the
        same as one value, ``schedule=SamplingSchedule(burn_in, num_samples,
        sweeps_per_sample)`` (``num_sweeps`` then defaults to its total); by
        default only the final states, one sample per chain. ``seed``: int.
        ``clamp`` fixes p-bits: ``{node: value}`` or ``(nodes, values)`` with
        values of shape ``(k,)`` or ``(num_chains, k)`` (nodes are BQM labels
        and values in the BQM's vartype on the dimod path).
        ``initial_states``: ``(num_chains, N)`` or ``(N,)`` +-1 (a dimod
        samples-like in the BQM's vartype on the dimod path).
        """
        chains = _num_chains(num_chains, num_reads)
        burn_in, thin, num_samples = _unpack_schedule(schedule, burn_in, thin, num_samples)
        if isinstance(model, IsingModel):
            if kwargs:
                raise TypeError(f"PBitSampler.sample() got unexpected keyword argument(s) {', '.join(kwargs)}")
            return self._sample_model(model, chains, num_sweeps, beta, burn_in, thin, num_samples, seed, clamp,
                                      initial_states, progress)
        if isinstance(model, dimod.BinaryQuadraticModel):
            self.remove_unknown_kwargs(**kwargs)
            return self._sample_bqm(model, chains, num_sweeps, beta, burn_in, thin, num_samples, seed, clamp,
                                    initial_states, progress)
        raise ValueError(f"expected an IsingModel or a dimod BinaryQuadraticModel, got {type(model).__name__}")

    def _sample_model(self, model: IsingModel, num_chains: int, num_sweeps, beta, burn_in, thin, num_samples, seed,
                      clamp, initial_states, progress) -> SampleResult:
        """The array path: every read of every chain, as int8 states with energies."""
        num_sweeps = num_sweeps_for(num_sweeps, burn_in, thin, num_samples)
        sched = schedules.resolve(beta, num_sweeps, model.beta)
        reads = resolve_reads(num_sweeps, burn_in, thin, num_samples)
        k = self.kernel(model, num_chains, seed)
        prepare_chains(k, model, clamp, initial_states)
        record_at = reads.read_after().tolist()
        states, betas, sweeps = [], [], []
        t_done = 0
        bar = _progress(progress, k.updates_per_sweep * num_sweeps, "p-bit sweeps", num_sweeps)
        start = time.perf_counter()
        # sweeps after the last read would change nothing that is returned: not run
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
        S = np.concatenate(states) if len(states) > 1 else states[0]
        info = self._info(k, t_done, wall)
        info["reads"] = reads.to_dict()
        return SampleResult(
            states=S,
            energies=model.energy(S),
            chain=np.tile(np.arange(num_chains), len(record_at)),
            sweep=np.concatenate(sweeps),
            beta=np.concatenate(betas),
            info=info,
        )

    def _sample_bqm(self, bqm, num_chains: int, num_sweeps, beta, burn_in, thin, num_samples, seed, clamp,
                    initial_states, progress):
        """The dimod path: convert at the boundary, run the array path, label the result."""
        spin = bqm.vartype is dimod.SPIN
        if bqm.num_variables == 0:  # nothing to sample: every read is the empty sample at the offset
            rows = num_chains * resolve_reads(num_sweeps_for(num_sweeps, burn_in, thin, num_samples), burn_in, thin,
                                              num_samples).num_samples
            return dimod.SampleSet.from_samples((np.empty((rows, 0), np.int8), []), bqm.vartype,
                                                energy=np.full(rows, float(bqm.offset)))
        model, offset, variables = IsingModel.from_bqm(bqm)
        index = {v: i for i, v in enumerate(variables)}
        if initial_states is not None:
            arr, labels = dimod.as_samples(initial_states, dtype=np.int8)
            try:
                cols = [labels.index(v) for v in variables]
            except ValueError:
                raise ValueError("initial_states must have a value for every variable of the BQM") from None
            initial_states = arr[:, cols] if spin else 2 * arr[:, cols] - 1
        if clamp is not None:
            if not isinstance(clamp, Mapping):
                raise ValueError("clamp on a BQM must be a {variable: value} mapping")
            unknown = [v for v in clamp if v not in index]
            if unknown:
                raise ValueError(f"clamp names variables not in the BQM: {unknown[:5]}")
            vals = np.array(list(clamp.values()))
            clamp = ([index[v] for v in clamp], vals if spin else 2 * vals - 1)
        res = self._sample_model(model, num_chains, num_sweeps, beta, burn_in, thin, num_samples, seed, clamp,
                                 initial_states, progress)
        samples = res.states if spin else ((res.states + 1) // 2).astype(np.int8)
        return dimod.SampleSet.from_samples((samples, variables), bqm.vartype, energy=res.energies + offset,
                                            info=res.info, chain=res.chain, sweep=res.sweep, beta=res.beta)

    def sample_tempering(
        self,
        model: IsingModel,
        betas: Sequence[float],
        num_replicas: int = 1,
        num_sweeps: int = DEFAULT_NUM_SWEEPS,
        swap_every: int = 1,
        burn_in: int | None = None,
        thin: int | None = None,
        seed: int | None = None,
        clamp: Mapping[int, int] | tuple | None = None,
        progress: bool | None = None,
        num_samples: int | None = None,
        schedule: SamplingSchedule | None = None,
    ) -> SampleResult:
        """Parallel tempering (replica exchange, :class:`~paradigmlab.pbit.tempering.ReplicaExchange`) over ``betas``.

        ``num_replicas`` independent ladders run side by side, each with one
        chain per beta. Every ``swap_every`` sweeps, neighbouring temperatures
        of a ladder try to exchange configurations (even and odd pairs in
        turn), accepted with ``min(1, exp((b_i - b_j)(E_i - E_j)))``, which
        keeps every temperature's Boltzmann law stationary. Reads as in
        :meth:`sample` (by default the final states); every read records each
        temperature of each ladder (``result.at_beta(b)``); ``info`` has the
        swap acceptance per neighbouring pair and the lowest energy seen.
        """
        _check_model(model)
        burn_in, thin, num_samples = _unpack_schedule(schedule, burn_in, thin, num_samples)
        rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
        rex = ReplicaExchange(betas, num_replicas, rng)
        if swap_every < 1:
            raise ValueError(f"swap_every must be >= 1, got {swap_every}")
        reads = resolve_reads(num_sweeps, burn_in, thin, num_samples)
        read_after = reads.read_after()
        R, L = rex.num_replicas, rex.num_temps
        k = self.kernel(model, rex.num_chains, seed)
        prepare_chains(k, model, clamp, None)
        k.set_chain_beta(rex.chain_betas())
        states, bs, sweeps, chains = [], [], [], []
        best = np.inf
        bar = _progress(progress, k.updates_per_sweep * num_sweeps, "tempering sweeps", num_sweeps)
        start = time.perf_counter()
        t, r = 0, 0  # sweeps done, reads done
        while t < num_sweeps:
            next_swap = (t // swap_every + 1) * swap_every
            nxt = min(next_swap, int(read_after[r]) if r < read_after.size else num_sweeps, num_sweeps)
            k.run(np.ones(nxt - t))
            if bar is not None:
                bar.update(nxt - t)
            t = nxt
            if r < read_after.size and t == read_after[r]:
                r += 1
                order = rex.order()
                states.append(k.get_states()[order])
                bs.append(np.tile(rex.ladder, R))
                sweeps.append(np.full(R * L, t))
                chains.append(order)
            if t % swap_every == 0 and t < num_sweeps:
                E = model.energy(k.get_states())
                best = min(best, float(E.min()))
                rex.swap(E)
                k.set_chain_beta(rex.chain_betas())
        wall = time.perf_counter() - start
        if bar is not None:
            bar.close()
        S = np.concatenate(states)
        E = model.energy(S)
        info = self._info(k, num_sweeps, wall)
        info["reads"] = reads.to_dict()
        info["swap_acceptance"] = rex.acceptance().tolist()
        info["ladder"] = rex.ladder.tolist()
        info["lowest_energy_seen"] = float(min(best, E.min()))
        return SampleResult(S, E, np.concatenate(chains), np.concatenate(sweeps), np.concatenate(bs), info)

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


def resolve_reads(num_sweeps: int, burn_in: int | None = None, thin: int | None = None,
                  num_samples: int | None = None) -> SamplingSchedule:
    """Which sweeps of a ``num_sweeps``-sweep run are read, as a :class:`SamplingSchedule`.

    * nothing given: only the final states (``burn_in = num_sweeps - 1``, one read);
    * ``burn_in`` and/or ``thin`` (defaults 0 and 1): a read after sweep ``t``
      when ``t > burn_in`` and ``(t - burn_in) % thin == 0``;
    * ``num_samples``, optionally with ``thin`` (default 1): the last
      ``num_samples`` reads, ``thin`` sweeps apart, the last one after the final sweep;
    * ``num_samples`` with ``burn_in``: reads spread over the sweeps after the
      burn-in, ``thin = (num_sweeps - burn_in) // num_samples``;
    * all three: reads after ``burn_in + k * thin``, ``k = 1..num_samples``
      (``burn_in + num_samples * thin`` must not exceed ``num_sweeps``).
    """
    num_sweeps = integer(num_sweeps, "num_sweeps", min=1)
    burn_in = None if burn_in is None else integer(burn_in, "burn_in", min=0)
    thin = None if thin is None else integer(thin, "thin", min=1)
    if num_samples is None:
        if burn_in is None and thin is None:
            return SamplingSchedule(num_sweeps - 1, 1, 1)
        burn_in, thin = burn_in or 0, thin or 1
        if burn_in >= num_sweeps:
            raise ValueError(f"burn_in must be in 0..num_sweeps-1 ({num_sweeps - 1}), got {burn_in}")
        n = (num_sweeps - burn_in) // thin
        if n < 1:
            raise ValueError(f"no sweep is read: thin={thin} is more than the {num_sweeps - burn_in} sweeps after "
                             f"burn_in={burn_in}")
        return SamplingSchedule(burn_in, n, thin)
    num_samples = integer(num_samples, "num_samples", min=1)
    if thin is None:
        thin = 1 if burn_in is None else (num_sweeps - burn_in) // num_samples
        if thin < 1:
            raise ValueError(f"num_samples={num_samples} reads do not fit in the {num_sweeps - burn_in} sweeps "
                             f"after burn_in={burn_in}")
    if burn_in is None:
        burn_in = num_sweeps - num_samples * thin
    if burn_in < 0 or burn_in + num_samples * thin > num_sweeps:
        raise ValueError(f"burn_in + num_samples * thin = {burn_in} + {num_samples} * {thin} exceeds "
                         f"num_sweeps={num_sweeps}")
    return SamplingSchedule(burn_in, num_samples, thin)


def _unpack_schedule(schedule, burn_in, thin, num_samples) -> tuple:
    """``schedule=`` (a :class:`SamplingSchedule`) as the equivalent ``(burn_in, thin, num_samples)``:
    reads after sweeps ``burn_in + k * sweeps_per_sample``, ``k = 1 .. num_samples``."""
    if schedule is None:
        return burn_in, thin, num_samples
    if not isinstance(schedule, SamplingSchedule):
        raise ValueError(f"schedule must be a SamplingSchedule, got {type(schedule).__name__}")
    if any(v is not None for v in (burn_in, thin, num_samples)):
        raise ValueError("give either schedule= or burn_in / thin / num_samples, not both")
    return schedule.burn_in, schedule.sweeps_per_sample, schedule.num_samples


def _num_chains(num_chains, num_reads) -> int:
    if num_chains is not None and num_reads is not None and num_chains != num_reads:
        raise ValueError(f"num_chains={num_chains} and num_reads={num_reads} name the same thing; give one")
    n = num_chains if num_chains is not None else num_reads
    return DEFAULT_NUM_CHAINS if n is None else integer(n, "num_chains", min=1)


def num_sweeps_for(num_sweeps, burn_in, thin, num_samples) -> int:
    """``num_sweeps`` as given; when omitted, implied by a full read schedule or the default."""
    if num_sweeps is not None:
        return num_sweeps
    if None not in (burn_in, thin, num_samples):
        return burn_in + num_samples * thin
    return DEFAULT_NUM_SWEEPS


def _check_model(model: IsingModel) -> None:
    if not isinstance(model, IsingModel):
        raise ValueError(f"expected an IsingModel, got {type(model).__name__}")


#: what :func:`sweep_chains` builds: every kernel backend, and ``"multispin"`` (+-J models, no clamps)
CHAIN_BACKENDS = (*BACKENDS, "multispin")


def sweep_chains(backend: str, model: IsingModel, num_chains: int, seed=None, device: str | None = None):
    """``num_chains`` chains of ``model`` that a caller sweeps itself (``run``, ``get_states``, ``set_states``): the
    kernel of ``backend``, or for ``"multispin"`` a :class:`~paradigmlab.pbit.multispin.MultispinSampler` (its
    ``ValueError`` says why a model does not fit it)."""
    if backend == "multispin":
        from paradigmlab.pbit.multispin import MultispinSampler

        return MultispinSampler(model, num_chains, seed=seed)
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(CHAIN_BACKENDS)}")
    return PBitSampler(backend, device=device).kernel(model, num_chains, seed=seed)


def prepare_chains(k: Kernel, model: IsingModel, clamp, initial_states) -> None:
    """Validate and apply ``initial_states`` and ``clamp`` (the forms ``sample`` accepts) to a kernel."""
    if initial_states is not None:
        init = np.asarray(initial_states)
        if init.ndim == 1:
            init = np.broadcast_to(init, (k.num_chains, model.num_nodes))
        if init.shape != (k.num_chains, model.num_nodes):
            raise ValueError(f"initial_states must have shape ({k.num_chains}, {model.num_nodes}) or ({model.num_nodes},)")
        k.set_states(check_spins(init, model.num_nodes, name="initial_states"))
    if clamp is not None:
        if isinstance(clamp, Mapping):
            nodes, values = np.array(list(clamp.keys())), np.array(list(clamp.values()))  # checked by set_clamp
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
