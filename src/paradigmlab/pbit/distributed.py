"""The p-bit sampler split over processes, on torch.distributed (gloo: boundary states travel as CPU tensors, also
between GPU processes), launched on one machine or by ``torchrun`` across nodes.

The model's p-bits are partitioned (METIS through ``pymetis`` by default, or a partition given per p-bit); each
process owns one part and holds, besides, a *halo*: the p-bits of other parts that its own p-bits are coupled to,
clamped on its kernel at the values their owners last sent. A sweep walks the global colouring: every process
updates the p-bits of colour ``c`` it owns (one ordinary kernel run, any backend) and then the boundary p-bits of
that colour -- those some other process has in its halo -- are exchanged (one ``all_gather``) before colour
``c + 1``. Because the p-bits of one colour are never coupled, this is the same chromatic Gibbs sampler as one
process runs, and its law is exact (proven against enumeration in the tests). ``exchange_every = K`` instead sweeps
K whole sweeps locally between exchanges (the halo is up to K sweeps stale: Aadit et al.'s eta = 1 / K < 1), which
is inexact, cheaper in communication, and what networked FPGAs do.

Reads follow :func:`paradigmlab.pbit.sampler.resolve_reads` exactly as :class:`~paradigmlab.pbit.sampler.PBitSampler`
does; at every read the owners' states are gathered on rank 0, which returns the :class:`SampleResult` (the other
ranks return ``None``).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from paradigmlab.pbit import schedules
from paradigmlab.pbit.model import IsingModel
from paradigmlab.pbit.result import SampleResult
from paradigmlab.validate import InputError

PARTITION_METHODS = ("metis", "contiguous")


# ---------------------------------------------------------------------- partitions
@dataclass(frozen=True)
class Partition:
    """Which process owns each p-bit, and what that costs in communication."""

    parts: np.ndarray  # (N,) part index of every p-bit
    num_parts: int
    method: str

    def stats(self, J: sp.csr_matrix) -> dict:
        """Cut edges, boundary p-bits (coupled to another part) and part sizes."""
        coo = sp.triu(J, k=1).tocoo()
        cut = int(np.sum(self.parts[coo.row] != self.parts[coo.col]))
        boundary = np.zeros(len(self.parts), bool)
        cross = self.parts[coo.row] != self.parts[coo.col]
        boundary[coo.row[cross]] = True
        boundary[coo.col[cross]] = True
        return {"method": self.method, "parts": self.num_parts, "cut_edges": cut, "edges": int(coo.nnz),
                "boundary_pbits": int(boundary.sum()),
                "part_sizes": np.bincount(self.parts, minlength=self.num_parts).tolist()}


def partition(model: IsingModel, num_parts: int, method="metis") -> Partition:
    """Split ``model``'s p-bits into ``num_parts`` parts: ``"metis"`` (pymetis, fewest cut couplings at balanced
    sizes), ``"contiguous"`` (index ranges), or an array / ``.npy`` / text file of one part index per p-bit."""
    n = model.num_nodes
    if not isinstance(num_parts, (int, np.integer)) or isinstance(num_parts, bool) or num_parts < 1:
        raise InputError(f"processes must be a positive integer, got {num_parts!r}")
    if num_parts > n:
        raise InputError(f"{num_parts} processes for {n} p-bits: at most one process per p-bit")
    if isinstance(method, str) and method not in PARTITION_METHODS:
        return _given(_read_partition(method), n, num_parts, f"file {Path(method).name}")
    if not isinstance(method, str):
        return _given(np.asarray(method), n, num_parts, "given")
    if num_parts == 1:
        return Partition(np.zeros(n, np.int64), 1, method)
    if method == "contiguous":
        return Partition((np.arange(n) * num_parts // n).astype(np.int64), num_parts, method)
    import pymetis

    J = sp.csr_matrix(model.J)
    J.setdiag(0)
    J.eliminate_zeros()
    adjacency = [J.indices[J.indptr[i]:J.indptr[i + 1]].tolist() for i in range(n)]
    _, membership = pymetis.part_graph(num_parts, adjacency=adjacency)
    parts = np.asarray(membership, np.int64)
    if np.unique(parts).size < num_parts:  # METIS may leave a part empty on tiny or disconnected graphs
        parts = (np.arange(n) * num_parts // n).astype(np.int64)
        method = "contiguous (METIS left a part empty)"
    return Partition(parts, num_parts, method)


def _read_partition(path) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"partition must be {' or '.join(PARTITION_METHODS)} or a file of part indices; "
                         f"{path!r} is neither")
    if p.suffix == ".npy":
        from paradigmlab.validate import read_npy

        return read_npy(p, "partition file")
    try:
        return np.loadtxt(p, dtype=np.float64, ndmin=1)
    except ValueError as exc:
        raise InputError(f"{path}: not a list of part indices ({exc})") from None


def _given(parts: np.ndarray, n: int, num_parts: int, method: str) -> Partition:
    parts = np.asarray(parts)
    if parts.shape != (n,):
        raise InputError(f"the partition ({method}) must give one part per p-bit: {n} entries, got shape "
                         f"{parts.shape}")
    if parts.dtype.kind not in "iuf" or not np.all(np.isfinite(parts)) or np.any(parts != np.round(parts)):
        raise InputError(f"the partition ({method}) must hold integer part indices")
    parts = parts.astype(np.int64)
    if parts.min() < 0 or parts.max() >= num_parts:
        raise InputError(f"the partition ({method}) has part indices outside 0..{num_parts - 1}")
    missing = np.setdiff1d(np.arange(num_parts), parts)
    if missing.size:
        raise InputError(f"the partition ({method}) leaves process {int(missing[0])} without p-bits")
    return Partition(parts, num_parts, method)


# ---------------------------------------------------------------------- one process's share
@dataclass
class LocalPlan:
    """Rank ``rank``'s part: owned p-bits first, then its halo, in local indices."""

    rank: int
    owned: np.ndarray  # global ids of the owned p-bits (local 0 .. n_own - 1)
    halo: np.ndarray  # global ids of the halo (local n_own ..)
    J: sp.csr_matrix  # local couplings (owned rows and columns, and owned-halo)
    h: np.ndarray
    groups: list  # per colour: local ids of the owned p-bits of that colour
    send: list  # per colour: local ids of owned boundary p-bits of that colour (what others need)


def local_plans(model: IsingModel, part: Partition, groups: list) -> list[LocalPlan]:
    """Every rank's :class:`LocalPlan` (cheap: each rank builds all of them and keeps its own)."""
    J = sp.csr_matrix(model.J)
    n = model.num_nodes
    colour = np.empty(n, np.int64)
    for c, g in enumerate(groups):
        colour[np.asarray(g)] = c
    coo = J.tocoo()
    cross = part.parts[coo.row] != part.parts[coo.col]
    needed_by_other = np.zeros(n, bool)
    needed_by_other[coo.col[cross]] = True  # col is in row's halo
    plans = []
    for r in range(part.num_parts):
        owned = np.flatnonzero(part.parts == r)
        mine = part.parts[coo.row] == r
        halo = np.unique(coo.col[mine & cross])
        local = np.concatenate([owned, halo])
        index = np.full(n, -1, np.int64)
        index[local] = np.arange(len(local))
        keep = mine | (part.parts[coo.col] == r)  # couplings with an owned end (halo-halo ones never matter)
        rows, cols = index[coo.row[keep]], index[coo.col[keep]]
        ok = (rows >= 0) & (cols >= 0)
        Jl = sp.csr_matrix((coo.data[keep][ok], (rows[ok], cols[ok])), shape=(len(local), len(local)))
        gl = [index[owned[colour[owned] == c]] for c in range(len(groups))]
        send = [index[owned[(colour[owned] == c) & needed_by_other[owned]]] for c in range(len(groups))]
        plans.append(LocalPlan(r, owned, halo, Jl, model.h[local].astype(np.float64), gl, send))
    return plans


# ---------------------------------------------------------------------- the run, on every rank
@dataclass
class Job:
    """Everything a rank needs (picklable: sent to spawned processes)."""

    J: sp.csr_matrix
    h: np.ndarray
    beta: float
    parts: np.ndarray
    method: str
    groups: list
    num_chains: int
    betas: np.ndarray  # per sweep
    record_at: list
    seed: int | None
    exchange_every: int | None
    backend: str
    device: str | None
    threads: int | None
    progress: bool
    result_path: str | None  # rank 0 writes the result here (spawned runs); None: return it


def run_rank(rank: int, world: int, job: Job) -> SampleResult | None:
    """This rank's share of the run (``torch.distributed`` already initialised when ``world > 1``)."""
    import torch
    import torch.distributed as dist

    from paradigmlab.pbit.kernels import make_kernel

    if job.threads and job.backend == "numba":
        import numba

        numba.set_num_threads(max(1, min(job.threads, numba.config.NUMBA_NUM_THREADS)))
    model = IsingModel(job.J, job.h, beta=job.beta)
    part = Partition(job.parts, world, job.method)
    plans_all = local_plans(model, part, job.groups)  # mine, and where every rank's boundary sits in my halo
    plan = plans_all[rank]
    n_own, B = len(plan.owned), job.num_chains
    seed = None if job.seed is None else [int(job.seed), rank]
    k = make_kernel(job.backend, plan.J, plan.h, [g for g in plan.groups if g.size], B, seed=seed, device=job.device)
    halo_local = n_own + np.arange(len(plan.halo))
    halo_vals = k.read(halo_local) if len(plan.halo) else np.zeros((B, 0), np.int8)
    if len(plan.halo):
        k.set_clamp(halo_local, halo_vals)
    # for every colour and every other rank q: positions in q's send list -> my halo slots
    halo_pos = {int(g): i for i, g in enumerate(plan.halo)}
    routes = []
    for c in range(len(job.groups)):
        per = []
        for q, pq in enumerate(plans_all):
            if q == rank:
                continue
            glob = pq.owned[pq.send[c]] if len(pq.send[c]) else np.zeros(0, np.int64)
            src = [i for i, g in enumerate(glob.tolist()) if g in halo_pos]
            per.append((q, np.array(src, np.int64), np.array([halo_pos[int(glob[i])] for i in src], np.int64)))
        routes.append(per)
    width = [max(len(p.send[c]) for p in plans_all) for c in range(len(job.groups))]
    sent = 0

    def exchange(colours):
        nonlocal sent
        if world == 1:
            return
        for c in colours:
            if not width[c]:
                continue
            buf = np.zeros((B, width[c]), np.int8)
            if len(plan.send[c]):
                buf[:, :len(plan.send[c])] = k.read(plan.send[c])
            out = [torch.empty((B, width[c]), dtype=torch.int8) for _ in range(world)]
            dist.all_gather(out, torch.from_numpy(buf))
            sent += B * len(plan.send[c])
            for q, src, dst in routes[c]:
                if len(src):
                    halo_vals[:, dst] = out[q].numpy()[:, src]
        if len(plan.halo):
            k.set_clamp_values(halo_vals)

    all_colours = list(range(len(job.groups)))
    exchange(all_colours)  # the halo starts at its owners' random initial states
    initial_sent, sent = sent, 0
    full_order = [g for g in plan.groups if g.size]
    k.set_order(full_order, check=False)
    states_out, sweeps_out = [], []
    bar = None
    if job.progress and rank == 0:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(job.betas), desc=f"p-bit sweeps ({world} processes)", unit="sweep")
    t0 = time.perf_counter()
    t = 0
    per_colour = job.exchange_every is None and world > 1  # one process has no boundary: whole sweeps at once
    for target in job.record_at:
        while t < target:
            if world == 1:
                k.run(job.betas[t:target])
                step, t = target - t, target
            elif per_colour:  # exact: one colour at a time, its boundary exchanged after it
                for c in all_colours:
                    if len(plan.groups[c]):
                        k.set_order([plan.groups[c]], check=False)
                        k.run(job.betas[t:t + 1])
                    exchange([c])
                t += 1
            else:  # K local sweeps, then the whole boundary (stop early at a read)
                step = min(job.exchange_every - t % job.exchange_every, target - t)
                k.set_order(full_order, check=False)
                k.run(job.betas[t:t + step])
                t += step
                if t % job.exchange_every == 0:
                    exchange(all_colours)
            if bar is not None:
                bar.update(1 if per_colour else step)
        own = k.read(np.arange(n_own))
        states_out.append(_gather_states(own, plan, plans_all, rank, world, model.num_nodes))
        sweeps_out.append(t)
    wall = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    updates = B * n_own * t
    totals = np.array([updates, sent, initial_sent], np.float64)
    if world > 1:
        tt = torch.from_numpy(totals)
        dist.all_reduce(tt)
        totals = tt.numpy()
    if rank != 0:
        return None
    S = np.concatenate(states_out)
    info = {"backend": job.backend, "processes": world, "num_colors": len(job.groups), "exchange_every": job.exchange_every,
            "partition": part.stats(sp.csr_matrix(job.J)), "num_sweeps": t, "wall_s": wall,
            "pbit_updates": float(totals[0]), "flips_per_ns": float(totals[0]) / max(wall, 1e-12) / 1e9,
            "boundary_states_sent": float(totals[1] + totals[2]),  # p-bit states (one byte each), all chains
            "boundary_states_sent_per_sweep": float(totals[1]) / max(t, 1)}  # the initial exchange not counted
    res = SampleResult(states=S, energies=model.energy(S), chain=np.tile(np.arange(B), len(job.record_at)),
                       sweep=np.repeat(np.array(sweeps_out), B),
                       beta=np.repeat(job.betas[np.array(sweeps_out) - 1], B), info=info)
    if job.result_path is not None:
        import pickle

        tmp = job.result_path + ".tmp"
        with open(tmp, "wb") as f:
            pickle.dump(res, f)
        os.replace(tmp, job.result_path)
    return res


def _gather_states(own: np.ndarray, plan: LocalPlan, plans_all: list, rank: int, world: int, n: int):
    """Every rank's owned states assembled into full rows on rank 0 (None elsewhere)."""
    if world == 1:
        S = np.empty((own.shape[0], n), np.int8)
        S[:, plan.owned] = own
        return S
    import torch
    import torch.distributed as dist

    width = max(len(p.owned) for p in plans_all)
    buf = torch.zeros((own.shape[0], width), dtype=torch.int8)
    buf[:, :own.shape[1]] = torch.from_numpy(own)
    out = [torch.empty_like(buf) for _ in range(world)] if rank == 0 else None
    dist.gather(buf, out, dst=0)
    if rank != 0:
        return None
    S = np.empty((own.shape[0], n), np.int8)
    for q, p in enumerate(plans_all):
        S[:, p.owned] = out[q].numpy()[:, :len(p.owned)]
    return S


def _spawned(rank: int, world: int, init: str, job: Job) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    run_rank(rank, world, job)
    dist.barrier()  # every rank done before any tears its connections down (gloo aborts otherwise)
    dist.destroy_process_group()


# ---------------------------------------------------------------------- the entry point
def sample_distributed(model: IsingModel, processes: int, num_chains: int = 16, num_sweeps: int | None = None,
                       beta=None, burn_in: int | None = None, thin: int | None = None,
                       num_samples: int | None = None, seed: int | None = None, exchange_every: int | None = None,
                       partition_method="metis", backend: str = "numba", device: str | None = None,
                       coloring="auto", progress: bool | None = None) -> SampleResult | None:
    """Sample ``model`` like :meth:`PBitSampler.sample <paradigmlab.pbit.sampler.PBitSampler.sample>` (same reads,
    same result), split over ``processes`` processes.

    On one machine (no ``torch.distributed`` set up) it spawns the processes itself (gloo, a rendezvous file) and
    returns the result. Under ``torchrun`` (``RANK`` / ``WORLD_SIZE`` in the environment) every rank calls it with
    the same arguments; rank 0 returns the result, the others ``None``. ``exchange_every``: None for the exact
    sampler (the boundary exchanged after every colour), or K >= 1 sweeps between exchanges (inexact for K >= 1:
    even K = 1 exchanges once per sweep, after all colours). ``partition_method``: see :func:`partition`."""
    import torch.distributed as dist

    from paradigmlab.pbit.sampler import PBitSampler, num_sweeps_for, resolve_reads

    if not isinstance(model, IsingModel):
        raise InputError(f"the distributed sampler takes an IsingModel, got {type(model).__name__}")
    if exchange_every is not None and (not isinstance(exchange_every, (int, np.integer)) or exchange_every < 1):
        raise InputError(f"exchange_every must be an integer >= 1 (or None: exact), got {exchange_every!r}")
    if not isinstance(num_chains, (int, np.integer)) or num_chains < 1:
        raise InputError(f"num_chains must be a positive integer, got {num_chains!r}")
    torchrun = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    world = int(os.environ["WORLD_SIZE"]) if torchrun else processes
    if torchrun and world != processes:
        raise InputError(f"--processes {processes} but torchrun started {world} processes")
    part = partition(model, processes, partition_method)
    sampler = PBitSampler(backend=backend, device=device, coloring=coloring)
    groups = sampler.groups(model)
    sweeps = num_sweeps_for(num_sweeps, burn_in, thin, num_samples)
    betas = schedules.resolve(beta, sweeps, model.beta)
    reads = resolve_reads(sweeps, burn_in, thin, num_samples)
    cores = os.cpu_count() or 1
    job = Job(sp.csr_matrix(model.J), np.asarray(model.h, np.float64), model.beta, part.parts, part.method, groups,
              int(num_chains), betas, reads.read_after().tolist(), seed, exchange_every, backend, device,
              max(1, cores // world) if not torchrun else None, bool(progress), None)
    if torchrun:
        own_group = not dist.is_initialized()
        if own_group:
            dist.init_process_group("gloo")  # the exchanged boundary lives in CPU tensors
        try:
            res = run_rank(dist.get_rank(), world, job)
        finally:
            if own_group:  # every rank done before any tears its connections down (gloo aborts otherwise)
                dist.barrier()
                dist.destroy_process_group()
        if res is not None:
            res.info["reads"] = reads.to_dict()
        return res
    if processes == 1:
        res = run_rank(0, 1, job)
        res.info["reads"] = reads.to_dict()
        return res
    import pickle

    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory(prefix="paradigmlab-dist-") as tmp:
        job.result_path = str(Path(tmp) / "result.pkl")
        mp.start_processes(_spawned, args=(world, f"file://{tmp}/rendezvous", job), nprocs=world, join=True,
                           start_method="spawn")
        with open(job.result_path, "rb") as f:
            res = pickle.load(f)
    res.info["reads"] = reads.to_dict()
    return res
