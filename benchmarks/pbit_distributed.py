"""The p-bit sampler split over processes (issue 20): scaling on this machine, communication against the cut, and
the eta study of Aadit et al. (boundary exchange every K sweeps).

* strong scaling: one +-J lattice, 1 and 2 processes (exact, and K = 4), against the one-process sampler;
* weak scaling: the lattice grows with the processes (the same p-bits per process);
* communication: boundary p-bit states sent per sweep against the partition's cut (METIS and index ranges, 2 and 4
  parts), counted by the run;
* eta = 1 / K: a ~10^5 p-bit +-J spin glass annealed (geometric beta 0.1 -> 3) with the boundary exchanged after
  every colour (exact) or every K sweeps; energy per p-bit reached and wall time per K, 2 processes, 3 seeds.

    .venv/bin/python benchmarks/pbit_distributed.py [--quick] [--json benchmarks/results/pbit_distributed.json]

Every figure is measured here (machine in the JSON); medians over ``--repeats``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from paradigmlab.measure import machine_info, write_json_atomic
from paradigmlab.pbit.distributed import partition, sample_distributed
from paradigmlab.pbit.graphs import lattice_pm_j
from paradigmlab.pbit.sampler import PBitSampler
from paradigmlab.report import save_figure


def timed(fn, repeats):
    walls, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t0)
    return statistics.median(walls), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", default="benchmarks/results/pbit_distributed.json")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    L = 128 if args.quick else 384
    chains, sweeps = 32, 100 if args.quick else 300
    out = {"machine": machine_info(), "chains": chains, "sweeps": sweeps, "repeats": args.repeats}

    # strong scaling: flips/ns inside the run (kernel + exchange), and the wall time of the whole call
    model = lattice_pm_j(L, seed=0)
    rows = []
    wall, res = timed(lambda: PBitSampler("numba").sample(model, chains, sweeps, seed=0), args.repeats)
    rows.append({"how": "one process (PBitSampler)", "processes": 1, "K": None, "call_s": wall,
                 "flips_per_ns": res.info["flips_per_ns"]})
    for P, K in ((1, None), (2, None), (2, 4)):
        wall, res = timed(lambda: sample_distributed(model, P, chains, sweeps, seed=0, exchange_every=K), args.repeats)
        rows.append({"how": f"split, {P} process{'es' if P > 1 else ''}", "processes": P, "K": K, "call_s": wall,
                     "flips_per_ns": res.info["flips_per_ns"], "run_s": res.info["wall_s"],
                     "sent_per_sweep": res.info["boundary_states_sent_per_sweep"]})
        print(rows[-1], flush=True)
    out["strong"] = {"N": model.num_nodes, "rows": rows}

    # weak scaling: L x (L * P) lattices
    weak = []
    for P in (1, 2):
        m = lattice_pm_j(L, seed=1) if P == 1 else _strip(L, P)
        wall, res = timed(lambda: sample_distributed(m, P, chains, sweeps, seed=0), args.repeats)
        weak.append({"processes": P, "N": m.num_nodes, "call_s": wall, "flips_per_ns": res.info["flips_per_ns"],
                     "run_s": res.info["wall_s"]})
        print(weak[-1], flush=True)
    out["weak"] = weak

    # communication against the cut
    comm = []
    for P in (2, 4):
        for method in ("metis", "contiguous"):
            part = partition(model, P, method)
            res = sample_distributed(model, P, 8, 10, seed=0, partition_method=method)
            st = part.stats(model.J)
            comm.append({"processes": P, "method": method, "cut_edges": st["cut_edges"],
                         "boundary_pbits": st["boundary_pbits"],
                         "sent_per_sweep_per_chain": res.info["boundary_states_sent_per_sweep"] / 8})
            print(comm[-1], flush=True)
    out["communication"] = {"N": model.num_nodes, "rows": comm}

    # eta: annealing a ~10^5 p-bit spin glass with stale boundaries
    Le = 96 if args.quick else 316
    glass = lattice_pm_j(Le, seed=7)
    anneal = 100 if args.quick else 400
    betas = np.geomspace(0.1, 3.0, anneal)
    eta = []
    for K in (None, 1, 4, 16, 64, 256):
        e, w = [], []
        for seed in range(3):
            t0 = time.perf_counter()
            res = sample_distributed(glass, 2, 16, anneal, beta=betas, seed=seed, exchange_every=K)
            w.append(time.perf_counter() - t0)
            e.append(float(res.energies.mean()) / glass.num_nodes)
        eta.append({"K": K, "eta": None if K is None else 1.0 / K, "energy_per_pbit": float(np.mean(e)),
                    "energy_sd": float(np.std(e)), "call_s": statistics.median(w)})
        print(eta[-1], flush=True)
    exact = eta[0]
    tol = max(3 * exact["energy_sd"], 1e-3 * abs(exact["energy_per_pbit"]))
    ok = [r["K"] for r in eta[1:] if r["energy_per_pbit"] <= exact["energy_per_pbit"] + tol]
    out["eta"] = {"N": glass.num_nodes, "anneal_sweeps": anneal, "rows": eta, "tolerance": tol,
                  "largest_K_within_tolerance": max(ok) if ok else None}
    path = Path(args.json)
    write_json_atomic(path, out)
    _plot(out, path.with_suffix(".png"))
    print(f"wrote {path} and {path.with_suffix('.png').name}")
    return 0


def _strip(L: int, P: int):
    """An L x (L * P) periodic +-J lattice: the weak-scaling model of P processes."""
    import scipy.sparse as sp

    from paradigmlab.pbit.model import IsingModel

    rng = np.random.default_rng(1)
    H, W = L, L * P
    idx = np.arange(H * W).reshape(H, W)
    a = np.r_[idx.ravel(), idx.ravel()]
    b = np.r_[np.roll(idx, -1, 1).ravel(), np.roll(idx, -1, 0).ravel()]
    w = rng.choice([-1.0, 1.0], len(a))
    J = sp.coo_matrix((w, (a, b)), shape=(H * W, H * W))
    return IsingModel((J + J.T).tocsr(), np.zeros(H * W))


def _plot(out: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    rows = out["strong"]["rows"]
    axes[0].bar([r["how"] + ("" if r["K"] is None else f", K={r['K']}") for r in rows], [r["flips_per_ns"] for r in rows])
    axes[0].set_ylabel("flips/ns (inside the run)")
    axes[0].tick_params(axis="x", labelrotation=20, labelsize=7)
    axes[0].set_title(f"strong scaling, N = {out['strong']['N']:,}", fontsize=9)
    c = out["communication"]["rows"]
    axes[1].scatter([r["cut_edges"] for r in c], [r["sent_per_sweep_per_chain"] for r in c])
    for r in c:
        axes[1].annotate(f"{r['method']}, P={r['processes']}", (r["cut_edges"], r["sent_per_sweep_per_chain"]), fontsize=7)
    axes[1].set_xlabel("cut couplings")
    axes[1].set_ylabel("boundary states sent per sweep per chain")
    e = [r for r in out["eta"]["rows"] if r["K"] is not None]
    exact = next(r for r in out["eta"]["rows"] if r["K"] is None)
    axes[2].errorbar([r["eta"] for r in e], [r["energy_per_pbit"] for r in e], yerr=[r["energy_sd"] for r in e], marker="o",
                     label="exchange every K sweeps")
    axes[2].axhline(exact["energy_per_pbit"], ls="--", color="k", label="exact (after every colour)")
    axes[2].legend(fontsize=7)
    axes[2].set_xscale("log")
    axes[2].set_xlabel("eta = 1 / K")
    axes[2].set_ylabel("energy per p-bit after annealing")
    axes[2].set_title(f"N = {out['eta']['N']:,}, {out['eta']['anneal_sweeps']} sweeps, 2 processes", fontsize=9)
    save_figure(fig, path)


if __name__ == "__main__":
    raise SystemExit(main())
