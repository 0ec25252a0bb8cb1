"""p-bit throughput, measured side by side with the samplers people use.

Flips per nanosecond = attempted p-bit updates / wall-clock ns (the unit of the
p-bit literature). Every runner does the same work: ``chains`` independent
chains, ``sweeps`` full sweeps at constant beta on one graph, and reports the
median over ``repeats`` timed runs after one warm-up run (which absorbs JIT
compilation). Competitors that are not installed are reported as skipped.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sp

from paradigmlab.measure import machine_info, time_repeats
from paradigmlab.pbit import graphs
from paradigmlab.pbit.model import IsingModel
from paradigmlab.pbit.sampler import CHAIN_BACKENDS, PBitSampler, sweep_chains
from paradigmlab.report import save_figure

GRAPHS: dict[str, Callable[[], tuple[IsingModel, str]]] = {
    "random-6-regular-4096 (+-1)": lambda: (graphs.random_regular(4096, 6), "networkx random_regular_graph seed 0"),
    "niazi2024-4264 (gaussian)": graphs.niazi_gaussian,
    "lattice-128x128-periodic (+-J)": lambda: (graphs.lattice_pm_j(128), "networkx grid_2d_graph periodic"),
}


class NotApplicable(Exception):
    """A sampler that cannot run this model (multispin coding on Gaussian couplings): the row says why."""


def ours(backend: str, device: str | None = None) -> Callable:
    """Runner for one of our backends (persistent kernel, sweeps only, no recording); ``"multispin"`` is
    :class:`~paradigmlab.pbit.multispin.MultispinSampler` (+-J models only)."""
    if backend not in CHAIN_BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(CHAIN_BACKENDS)}")

    def make(model: IsingModel, chains: int, sweeps: int) -> Callable[[], None]:
        if backend == "multispin":
            try:
                ms = sweep_chains(backend, model, chains, seed=0)
            except ValueError as exc:
                raise NotApplicable(str(exc)) from exc
            betas = np.ones(sweeps)
            return lambda: ms.run(betas)
        k = sweep_chains(backend, model, chains, seed=0, device=device)
        betas = np.ones(sweeps)

        def run() -> None:
            k.run(betas)
            if backend == "torch" and k.dev.type == "cuda":
                import torch

                torch.cuda.synchronize()

        return run

    return make


def dwave_gibbs(model: IsingModel, chains: int, sweeps: int) -> Callable[[], None]:
    """dwave-samplers SimulatedAnnealingSampler with Gibbs acceptance at constant beta."""
    from dwave.samplers import SimulatedAnnealingSampler

    bqm = model.to_bqm()
    sampler = SimulatedAnnealingSampler()

    def run() -> None:
        sampler.sample(bqm, num_reads=chains, num_sweeps=sweeps, beta_schedule_type="custom",
                       beta_schedule=np.ones(sweeps), proposal_acceptance_criteria="Gibbs",
                       randomize_order=False, seed=1)

    return run


def openjij_sa(model: IsingModel, chains: int, sweeps: int) -> Callable[[], None]:
    """OpenJij SASampler (Metropolis single-spin flips, its default schedule)."""
    import openjij as oj

    bqm = model.to_bqm()
    h, J = dict(bqm.linear), dict(bqm.quadratic)
    sampler = oj.SASampler()

    def run() -> None:
        sampler.sample_ising(h, J, num_reads=chains, num_sweeps=sweeps, seed=1)

    return run


def thrml_gibbs(model: IsingModel, chains: int, sweeps: int) -> Callable[[], None]:
    """THRML block Gibbs on the same colouring, chains batched with ``jax.vmap``."""
    import jax
    import jax.numpy as jnp
    from thrml import Block, SamplingSchedule, SpinNode, sample_states
    from thrml.models import IsingEBM, IsingSamplingProgram, hinton_init

    nodes = [SpinNode() for _ in range(model.num_nodes)]
    upper = sp.triu(model.J, k=1).tocoo()
    edges = [(nodes[i], nodes[j]) for i, j in zip(upper.row, upper.col)]
    ebm = IsingEBM(nodes, edges, jnp.asarray(model.h, dtype=jnp.float32),
                   jnp.asarray(upper.data, dtype=jnp.float32), jnp.array(1.0))
    blocks = [Block([nodes[i] for i in g]) for g in PBitSampler("reference").groups(model)]
    program = IsingSamplingProgram(ebm, blocks, [])
    schedule = SamplingSchedule(n_warmup=sweeps - 1, n_samples=1, steps_per_sample=1)
    key = jax.random.key(0)
    init = hinton_init(key, ebm, blocks, (chains,))
    keys = jax.random.split(key, chains)
    batched = jax.jit(jax.vmap(lambda k, s: sample_states(k, program, schedule, s, [], [Block(nodes)])))

    def run() -> None:
        jax.block_until_ready(batched(keys, init))

    return run


def run_throughput(
    graph_names: list[str] | None = None,
    chains: int = 64,
    sweeps: int = 200,
    repeats: int = 5,
    backends: tuple[str, ...] = ("numba", "torch"),
    competitors: tuple[str, ...] = ("dwave-samplers", "openjij", "thrml"),
    competitor_sweeps: int | None = None,
    progress: bool = True,
) -> dict:
    """Measure flips/ns for our backends and the competitors on each graph."""
    runners: dict[str, Callable] = {f"paradigmlab-{b}": ours(b) for b in backends}
    table = {"dwave-samplers": dwave_gibbs, "openjij": openjij_sa, "thrml": thrml_gibbs}
    for c in competitors:
        if c not in table:
            raise ValueError(f"unknown competitor {c!r}; choose from {', '.join(table)}")
        runners[c] = table[c]
    results = []
    names = graph_names or list(GRAPHS)
    for gname in names:
        if gname not in GRAPHS:
            raise ValueError(f"unknown graph {gname!r}; choose from {', '.join(GRAPHS)}")
        model, source = GRAPHS[gname]()
        n_colors = len(PBitSampler("reference").groups(model))
        for rname, factory in runners.items():
            sw = sweeps if rname.startswith("paradigmlab") or competitor_sweeps is None else competitor_sweeps
            row = {"graph": gname, "graph_source": source, "N": model.num_nodes, "edges": model.num_edges,
                   "colors": n_colors, "sampler": rname, "chains": chains, "sweeps": sw, "repeats": repeats}
            try:
                run = factory(model, chains, sw)
            except ImportError as exc:
                row["skipped"] = f"not installed ({exc.name}); `make bench` installs it"
                results.append(row)
                continue
            except NotApplicable as exc:
                row["skipped"] = f"does not apply: {exc}"
                results.append(row)
                continue
            t = time_repeats(run, repeats, warmup=1)  # the warm-up absorbs JIT compilation and caches
            med = t["median_s"]
            row.update(median_s=med, times_s=t["times_s"],
                       flips_per_ns=model.num_nodes * chains * sw / (med * 1e9))
            if progress:
                print(f"{gname:32s} {rname:22s} {row['flips_per_ns']:8.4f} flips/ns  (median of {repeats}, {med:.3f} s)",
                      flush=True)
            results.append(row)
    return {"what": "p-bit throughput: attempted updates per wall ns, median of repeats after a warm-up run",
            "machine": machine_info(), "results": results}


def plot_throughput(report: dict, path: str) -> None:
    """Grouped bar chart (log scale) of flips/ns per graph and sampler (and chain count, where a report holds
    several); a ``goal_flips_per_ns`` in the report is drawn as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in report["results"] if "flips_per_ns" in r]
    graphs_ = list(dict.fromkeys(r["graph"] for r in rows))
    chain_counts = list(dict.fromkeys(r["chains"] for r in rows))
    series = list(dict.fromkeys((r["sampler"], r["chains"]) for r in rows))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / max(1, len(series))
    for k, (s, c) in enumerate(series):
        vals = [next((r["flips_per_ns"] for r in rows if r["graph"] == g and (r["sampler"], r["chains"]) == (s, c)),
                     0) for g in graphs_]
        ax.bar(np.arange(len(graphs_)) + k * width, vals, width,
               label=s if len(chain_counts) == 1 else f"{s}, {c} chains")
    if report.get("goal_flips_per_ns"):
        ax.axhline(report["goal_flips_per_ns"], color="k", ls="--", lw=1,
                   label=f"goal {report['goal_flips_per_ns']:g} flips/ns")
    ax.set_xticks(np.arange(len(graphs_)) + 0.4 - width / 2, graphs_, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("flips / ns (higher is better)")
    m = report["machine"]
    chains = chain_counts[0] if len(chain_counts) == 1 else " / ".join(map(str, chain_counts))
    ax.set_title(f"p-bit throughput, {chains if rows else '?'} chains, {m.get('processor') or ''} "
                 f"{m.get('cpu_count')} CPUs", fontsize=10)
    ax.legend(fontsize=8)
    save_figure(fig, path, dpi=120)


def plot_sample_overhead(report: dict, path: str) -> None:
    """Bars of the median seconds of ``kernel.run`` and of a default ``sample`` call per graph, ratio on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["results"]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.bar(x - 0.2, [r["kernel_run_s"]["median_s"] for r in rows], 0.4, label="kernel.run (sweeps only)")
    ax.bar(x + 0.2, [r["sample_s"]["median_s"] for r in rows], 0.4, label="sample() with default reads")
    for k, r in enumerate(rows):
        ax.annotate(f"{r['ratio']:.3f}x", (k + 0.2, r["sample_s"]["median_s"]), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [r["graph"] for r in rows], fontsize=8)
    ax.set_ylabel("median wall seconds")
    r0 = rows[0] if rows else {}
    ax.set_title(f"cost of a sample() call, {r0.get('chains')} chains x {r0.get('sweeps')} sweeps "
                 f"(goal <= {report.get('goal_ratio')}x)", fontsize=9)
    ax.legend(fontsize=8)
    save_figure(fig, path, dpi=120)
