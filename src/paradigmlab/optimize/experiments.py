"""The measurements behind the report and the benchmarks: Gset side by side, 3-SAT, factoring.

Shared by :mod:`paradigmlab.optimize.reproduce` (small budgets) and
``benchmarks/optimize_*.py`` (the issue's budgets, all baselines), so both
run the same code. Results are plain dicts, saved atomically after every run
so that an interrupted benchmark resumes where it stopped.
"""

from __future__ import annotations

import re
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from paradigmlab.data.paths import shared_path
from paradigmlab.measure import machine_info, write_json_atomic
from paradigmlab.optimize.baselines import BASELINES, SAMPLERS, NoRunInBudget, run_baseline
from paradigmlab.optimize.factoring import factor, random_semiprime
from paradigmlab.optimize.io import read_gset, write_gset
from paradigmlab.optimize.maxcut import MaxCut
from paradigmlab.optimize.sat import SAT, satisfiable_random_ksat
from paradigmlab.optimize.solvers import Annealer, ParallelTempering, SolveResult
from paradigmlab.optimize.tts import tts_from_hit_times
from paradigmlab.report import save_figure

OURS = ("pbit-anneal", "pbit-pt")
#: ours on request only (not in the default tables): the annealer on the multispin backend, for +-J graphs
OURS_EXTRA = ("pbit-anneal-multispin",)
#: Chains of our solvers in the side-by-side runs. On 800-node Gset graphs 128 chains sweep at
#: ~60% of the 64-chain rate per chain, so more chains are nearly free (measured on G14, 10 s:
#: best-known 3064 in 1 of 8 runs with 128 chains, 0 of 6 with 64; PT 16 x 8: 2 of 8).
ANNEAL_CHAINS = 128
PT_REPLICAS = 8


@dataclass
class Instance:
    """A Max-Cut instance with its best-known cut (``None`` when unknown) and where it came from."""

    name: str
    problem: MaxCut
    best_known: float | None
    source: str


def best_known_cuts(readme: Path | None = None) -> dict[str, int]:
    """Best-known cuts from the table in ``shared/data/gset/README.md`` (empty if absent)."""
    readme = readme or shared_path("gset", "README.md")
    if readme is None or not Path(readme).is_file():
        return {}
    out = {}
    for line in Path(readme).read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and re.fullmatch(r"G\d+", cells[0]):
            out[cells[0]] = int(cells[-1].replace(",", ""))
    return out


def random_gset_graph(num_nodes: int, num_edges: int, signed: bool, seed: int) -> sp.csr_matrix:
    """A random graph like Gset's random instances (weights +1, or +-1 when ``signed``)."""
    rng = np.random.default_rng(seed)
    edges: set[tuple[int, int]] = set()
    while len(edges) < num_edges:
        i, j = rng.integers(num_nodes, size=2)
        if i != j:
            edges.add((min(i, j), max(i, j)))
    rows, cols = np.array(sorted(edges)).T
    w = rng.choice([-1.0, 1.0], size=rows.size) if signed else np.ones(rows.size)
    W = sp.coo_matrix((w, (rows, cols)), shape=(num_nodes, num_nodes))
    return (W + W.T).tocsr()


#: Stand-ins when ../shared is absent: (name, nodes, edges, signed), shaped like G11/G14/G43/G22/G55.
GENERATED = [("R800s", 800, 1600, True), ("R800", 800, 4694, False), ("R1000", 1000, 9990, False),
             ("R2000", 2000, 19990, False), ("R5000", 5000, 12498, False)]


def gset_instances(names: Sequence[str], generated_dir: Path) -> list[Instance]:
    """The named Gset graphs from ``shared/data/gset``; if that folder is absent, generated stand-ins.

    Stand-ins are written in Gset format to ``generated_dir`` and read back,
    so the same reader is exercised; they have no best-known value.
    """
    if shared_path("gset") is not None:
        known = best_known_cuts()
        out = []
        for name in names:
            path = shared_path("gset", name)
            if path is None:
                raise FileNotFoundError(f"Gset graph {name} not found under shared/data/gset")
            out.append(Instance(name, MaxCut(read_gset(path), name), known.get(name), str(path)))
        return out
    out = []
    for (name, n, m, signed), seed in zip(GENERATED[: len(names)], range(len(names))):
        path = write_gset(Path(generated_dir) / name, random_gset_graph(n, m, signed, seed))
        out.append(Instance(name, MaxCut(read_gset(path), name), None, f"generated (seed {seed})"))
    return out


def run_solver(name: str, problem: MaxCut, time_limit: float, seed: int, target: float | None = None,
               workers: int = 2) -> SolveResult:
    """Run one solver (ours: ``pbit-anneal``, ``pbit-pt``, ``pbit-anneal-multispin``; or a baseline) on a Max-Cut
    instance."""
    target_energy = None if target is None else problem.target_energy(target)
    if name in ("pbit-anneal", "pbit-anneal-multispin"):
        backend = "multispin" if name.endswith("multispin") else "numba"
        return Annealer(num_chains=ANNEAL_CHAINS, backend=backend).solve(problem.model, time_limit=time_limit,
                                                                         seed=seed, target_energy=target_energy)
    if name == "pbit-pt":
        return ParallelTempering(num_temps=16, num_replicas=PT_REPLICAS).solve(problem.model, time_limit=time_limit,
                                                                     seed=seed, target_energy=target_energy)
    if name in SAMPLERS:
        return run_baseline(problem.model, name, time_limit, seed=seed, workers=workers)
    raise ValueError(f"unknown solver {name!r}; choose from {', '.join(OURS + OURS_EXTRA + SAMPLERS)}")


def maxcut_runs(instances: Sequence[Instance], solvers: Sequence[str], budget: Callable[[Instance], float],
                seeds: Sequence[int], checkpoint: Path | None = None,
                log: Callable[[str], None] = print) -> list[dict]:
    """Every solver on every instance for every seed under the same budget; one dict per run.

    Our solvers stop early at the best-known cut (that is their time to
    target); baselines always use the whole budget and the time at which
    their trace first reached the best-known cut is reported. With a
    ``checkpoint`` file, finished runs (same graph, solver, seed and budget)
    are reloaded and skipped.
    """
    import json

    rows: list[dict] = []
    if checkpoint is not None and Path(checkpoint).is_file():
        rows = json.loads(Path(checkpoint).read_text())["runs"]
    done = {(r["graph"], r["solver"], r["seed"], r["budget_s"]) for r in rows}
    for inst in instances:
        for solver in solvers:
            for seed in seeds:
                t_budget = budget(inst)
                if (inst.name, solver, seed, t_budget) in done:
                    continue
                try:
                    res = run_solver(solver, inst.problem, t_budget, seed, target=inst.best_known)
                except NoRunInBudget as exc:  # recorded as a failure, the other solvers still run
                    rows.append({"graph": inst.name, "nodes": inst.problem.num_nodes, "solver": solver, "seed": seed,
                                 "budget_s": t_budget, "best_cut": None, "best_known": inst.best_known,
                                 "gap_pct": None, "time_to_best_known_s": None, "wall_s": t_budget, "runs": 0,
                                 "trace": [], "error": str(exc)})
                    log(f"{inst.name:>6} {solver:>11} seed {seed}: {exc}")
                    continue
                cut = inst.problem.cut_value(res.state)
                trace = [[t, inst.problem.objective(e)] for t, e in res.trace]
                hit = None
                if inst.best_known is not None:
                    hit = next((t for t, c in trace if c >= inst.best_known), None)
                row = {"graph": inst.name, "nodes": inst.problem.num_nodes, "solver": solver, "seed": seed,
                       "budget_s": t_budget, "best_cut": cut, "best_known": inst.best_known,
                       "gap_pct": None if inst.best_known is None else 100 * (inst.best_known - cut) / inst.best_known,
                       "time_to_best_known_s": hit, "wall_s": res.wall_s, "runs": res.runs, "trace": trace}
                rows.append(row)
                log(f"{inst.name:>6} {solver:>11} seed {seed}: cut {cut:g}"
                    + (f" (best-known {inst.best_known}, gap {row['gap_pct']:.3f}%)" if inst.best_known else "")
                    + (f", reached at {hit:.2f} s" if hit is not None else ""))
                if checkpoint is not None:
                    write_json_atomic(checkpoint, {"runs": rows})
    wanted = {(i.name, s, seed, budget(i)) for i in instances for s in solvers for seed in seeds}
    return [r for r in rows if (r["graph"], r["solver"], r["seed"], r["budget_s"]) in wanted]


def maxcut_summary(rows: Sequence[dict]) -> list[dict]:
    """Per graph and solver: best and median cut, gap, hits and TTS(99%) from the seeds' hit times."""
    out = []
    keys = sorted({(r["graph"], r["solver"]) for r in rows}, key=lambda k: (k[0], k[1]))
    for graph, solver in keys:
        rs = [r for r in rows if r["graph"] == graph and r["solver"] == solver]
        cuts = [r["best_cut"] for r in rs if r["best_cut"] is not None]
        known = rs[0]["best_known"]
        entry = {"graph": graph, "solver": solver, "runs": len(rs), "budget_s": rs[0]["budget_s"],
                 "best_cut": max(cuts) if cuts else None,
                 "median_cut": statistics.median(cuts) if len(cuts) == len(rs) else None,
                 "best_known": known, "gap_pct": None if known is None or not cuts else 100 * (known - max(cuts)) / known}
        if known is not None:
            entry.update({f"tts_{k}": v for k, v in tts_from_hit_times(
                [r["time_to_best_known_s"] for r in rs], rs[0]["budget_s"]).items()})
        out.append(entry)
    return out


#: Times to solution closer than this factor count as a tie in :func:`head_to_head` (run-to-run noise).
TTS_TIE_FACTOR = 1.25


def head_to_head(summary: Sequence[dict], baseline: str) -> dict:
    """On how many graphs the best of our solvers beats, ties or loses to ``baseline`` at equal time.

    The higher median cut over the seeds wins; at equal median cuts the
    shorter TTS(99%) to the best-known cut wins, ties within a factor
    :data:`TTS_TIE_FACTOR` (or both never reaching it) are equal.
    """
    def key(e: dict) -> tuple[float, float]:
        cut = e["median_cut"] if e.get("median_cut") is not None else e["best_cut"]
        return cut, -e.get("tts_tts", math.inf)

    out = {"better": 0, "equal": 0, "worse": 0, "graphs": 0}
    for graph in dict.fromkeys(e["graph"] for e in summary):
        rows = {e["solver"]: e for e in summary if e["graph"] == graph and e["best_cut"] is not None}
        ours = [key(rows[s]) for s in OURS + OURS_EXTRA if s in rows]
        if not ours or baseline not in rows:
            continue
        out["graphs"] += 1
        (mine, my_tts), (theirs, their_tts) = max(ours), key(rows[baseline])
        if mine != theirs:
            verdict = "better" if mine > theirs else "worse"
        elif math.isinf(my_tts) and math.isinf(their_tts) or max(-my_tts, -their_tts) <= TTS_TIE_FACTOR * min(
                -my_tts, -their_tts):
            verdict = "equal"
        else:
            verdict = "better" if -my_tts < -their_tts else "worse"
        out[verdict] += 1
    return out


def maxcut_markdown(summary: Sequence[dict]) -> str:
    """The side-by-side table in Markdown."""
    lines = ["| graph | solver | budget (s) | runs | best cut | median cut | best-known | gap | hits | TTS(99%) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for e in summary:
        known = "n/a" if e["best_known"] is None else f"{e['best_known']:g}"
        gap = "n/a" if e["gap_pct"] is None else f"{e['gap_pct']:.3f}%"
        hits = "n/a" if e["best_known"] is None else f"{e['tts_hits']}/{e['runs']}"
        tts = "n/a" if e["best_known"] is None else (
            "not reached" if not np.isfinite(e["tts_tts"]) else f"{e['tts_tts']:.2f} s")
        best = "no run in budget" if e["best_cut"] is None else f"{e['best_cut']:g}"
        med = "n/a" if e["median_cut"] is None else f"{e['median_cut']:g}"
        lines.append(f"| {e['graph']} | {e['solver']} | {e['budget_s']:g} | {e['runs']} | {best} | {med} | {known} | "
                     f"{gap} | {hits} | {tts} |")
    return "\n".join(lines)


def plot_traces(rows: Sequence[dict], path: Path) -> Path:
    """Best-so-far cut against time, one panel per graph, one line per solver (first seed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    graphs = list(dict.fromkeys(r["graph"] for r in rows))
    fig, axes = plt.subplots(1, len(graphs), figsize=(4.2 * len(graphs), 3.6), squeeze=False)
    for ax, g in zip(axes[0], graphs):
        rs = [r for r in rows if r["graph"] == g]
        first_seed = min(r["seed"] for r in rs)
        for r in rs:
            if r["seed"] != first_seed or not r["trace"]:
                continue
            t, c = zip(*r["trace"])
            ax.step(list(t) + [r["wall_s"]], list(c) + [c[-1]], where="post", label=r["solver"])
        if rs[0]["best_known"] is not None:
            ax.axhline(rs[0]["best_known"], color="k", ls=":", lw=1, label="best-known")
        best = max(r["best_cut"] for r in rs if r["best_cut"] is not None)
        ax.set_ylim(best * 0.985, (rs[0]["best_known"] or best) * 1.001)
        ax.set_xscale("log")
        ax.set_title(f"{g} (N={rs[0]['nodes']})")
        ax.set_xlabel("wall time (s)")
        ax.set_ylabel("best cut so far")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    return save_figure(fig, path, dpi=120)


def sat_experiment(num_vars: int = 100, num_clauses: int = 430, runs: int = 10, time_limit: float = 10.0,
                   seed: int = 0, log: Callable[[str], None] = print) -> dict:
    """Random 3-SAT at the threshold, checked satisfiable by pycosat; p-bit solve rate and times."""
    cnf, used_seed = satisfiable_random_ksat(num_vars, num_clauses, 3, seed=seed)
    problem = SAT(cnf)
    t0 = time.perf_counter()
    cnf.pycosat_solution()
    pycosat_s = time.perf_counter() - t0
    solver = Annealer(num_chains=64, num_sweeps=1000)
    times, best = [], []
    for r in range(runs):
        res = solver.solve(problem.model, time_limit=time_limit, target_energy=problem.target_energy, seed=r)
        sat = problem.num_satisfied(res.state)
        best.append(sat)
        times.append(res.time_to_target if sat == num_clauses else None)
        log(f"3-SAT run {r}: {sat}/{num_clauses} clauses"
            + (f", solved in {res.time_to_target:.2f} s" if times[-1] is not None else ""))
    solved = [t for t in times if t is not None]
    return {"num_vars": num_vars, "num_clauses": num_clauses, "instance_seed": used_seed,
            "p_bits": problem.model.num_nodes, "runs": runs, "time_limit_s": time_limit,
            "solved": len(solved), "solve_rate": len(solved) / runs,
            "median_time_s": statistics.median(solved) if solved else None,
            "median_time_all_s": _median_with_misses(times, time_limit),
            "satisfied_per_run": best, "times_s": times, "pycosat_s": pycosat_s,
            "tts": tts_from_hit_times(times, time_limit)}


def factoring_experiment(bits: Sequence[int] = (10, 14, 16, 20), per_bits: int = 5, time_limit: float = 30.0,
                         seed: int = 0, log: Callable[[str], None] = print) -> list[dict]:
    """Median time to factor random balanced semiprimes of each bit length."""
    out = []
    for b in bits:
        times = []
        for k in range(per_bits):
            N, p, q = random_semiprime(b, seed=seed + 1000 * b + k)
            pq, res = factor(N, time_limit=time_limit, seed=k, bits_p=b // 2, bits_q=b - b // 2)
            times.append(res.time_to_target if pq else None)
            log(f"factor {b}-bit N={N}: " + (f"{pq[0]} x {pq[1]} in {res.time_to_target:.2f} s" if pq
                                              else f"not found in {time_limit:g} s"))
        solved = [t for t in times if t is not None]
        out.append({"bits": b, "runs": per_bits, "solved": len(solved), "time_limit_s": time_limit,
                    "median_time_s": _median_with_misses(times, time_limit), "times_s": times})
    return out


#: The report's Gset graphs (generated stand-ins of the same shapes when ../shared is absent).
REPORT_GRAPHS = ["G11", "G14", "G43", "G22", "G55"]
#: The report's Max-Cut solvers: ours and the baseline the text compares with.
REPORT_SOLVERS = ["pbit-anneal", "pbit-pt", "dwave-sa"]


def report_runs(out_dir: Path, quick: bool) -> dict:
    """Every run of the report's optimisation section; writes ``out_dir/optimize.json``.

    Quick: 4 s per 800-node graph and 8 s per larger one, one seed, 3-SAT
    with 6 runs of 4 s, factoring 10- and 14-bit semiprimes (a few minutes on
    2 cores). Full: the issue's budgets (10 s / 60 s), three seeds, 20-bit
    factoring. Max-Cut runs are checkpointed in ``out_dir`` (a rerun resumes).
    Returns the runs, their summary, the head-to-head against dwave-samplers,
    3-SAT and factoring results, the budgets, whether Gset came from
    ``shared/data``, and ``data`` (what the JSON holds).
    """
    out = Path(out_dir)
    small, large = (4.0, 8.0) if quick else (10.0, 60.0)
    seeds = [0] if quick else [0, 1, 2]
    instances = gset_instances(REPORT_GRAPHS, out / "optimize_graphs")
    shared = all(i.best_known is not None for i in instances)
    rows = maxcut_runs(instances, REPORT_SOLVERS, lambda i: small if i.problem.num_nodes <= 800 else large, seeds,
                       checkpoint=out / f"optimize_maxcut_runs_{'quick' if quick else 'full'}.json")
    summary = maxcut_summary(rows)
    sat = sat_experiment(runs=6 if quick else 20, time_limit=4.0 if quick else 20.0)
    fac = factoring_experiment(bits=(10, 14) if quick else (10, 14, 16, 20), per_bits=3 if quick else 5,
                               time_limit=8.0 if quick else 60.0)
    data = {"maxcut": summary, "sat": sat, "factoring": fac, "machine": machine_info()}
    write_json_atomic(out / "optimize.json", data)
    return {"rows": rows, "summary": summary, "head_to_head": head_to_head(summary, "dwave-sa"), "sat": sat,
            "factoring": fac, "shared": shared, "budget_small_s": small, "budget_large_s": large, "data": data}


def _median_with_misses(times: Sequence[float | None], limit: float) -> float | None:
    """Median with misses counted as slower than the limit; ``None`` if over half missed."""
    vals = sorted(np.inf if t is None else t for t in times)
    med = statistics.median(vals) if vals else np.inf
    return None if not np.isfinite(med) or med > limit else float(med)
