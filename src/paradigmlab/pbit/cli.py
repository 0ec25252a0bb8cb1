"""``paradigmlab pbit sample|bench``: sample a model file, measure throughput."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``pbit`` command group."""
    p = sub.add_parser("pbit", help="probabilistic computing with p-bits")
    psub = p.add_subparsers(dest="pbit_command", required=True)

    s = psub.add_parser("sample", help="sample an Ising model file (text edge list, .npz, dimod BQM .json)")
    s.add_argument("model_file")
    s.add_argument("--backend", default="numba", choices=["reference", "numba", "torch"])
    s.add_argument("--device", default=None, help="torch device (cpu, cuda)")
    s.add_argument("--chains", type=int, default=64)
    s.add_argument("--sweeps", type=int, default=1000)
    s.add_argument("--beta", type=float, default=None, help="constant inverse temperature (default: model's)")
    s.add_argument("--schedule", default=None,
                   help="annealing schedule KIND:START:END with KIND linear or geometric, e.g. geometric:0.1:5")
    s.add_argument("--burn-in", type=int, default=None, help="default: keep only the final states")
    s.add_argument("--thin", type=int, default=1)
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--coloring", default="auto", choices=["auto", "dsatur", "greedy", "sequential"])
    s.add_argument("--out", default=None, help="write states and energies to this .npz")
    s.add_argument("--json", default=None, help="write a summary (energies, timing) to this JSON file")
    s.set_defaults(func=_sample)

    b = psub.add_parser("bench", help="flips/ns of our backends next to dwave-samplers, OpenJij, THRML")
    b.add_argument("--json", default="benchmarks/results/pbit_throughput.json")
    b.add_argument("--png", default=None, help="bar chart (default: next to the JSON)")
    b.add_argument("--graphs", nargs="*", default=None, help="subset of graph names")
    b.add_argument("--chains", type=int, default=64)
    b.add_argument("--sweeps", type=int, default=200)
    b.add_argument("--competitor-sweeps", type=int, default=50,
                   help="sweeps for the (slower) competitors; flips/ns is per update, so fewer is fair")
    b.add_argument("--repeats", type=int, default=5)
    b.add_argument("--backends", nargs="*", default=["numba", "torch"])
    b.add_argument("--competitors", nargs="*", default=["dwave-samplers", "openjij", "thrml"])
    b.set_defaults(func=_bench)


def parse_schedule(spec: str, num_sweeps: int) -> np.ndarray:
    """Parse ``KIND:START:END`` into a per-sweep beta array."""
    from paradigmlab.pbit import schedules

    parts = spec.split(":")
    if len(parts) != 3 or parts[0] not in ("linear", "geometric"):
        raise ValueError(f"--schedule must be linear:START:END or geometric:START:END, got {spec!r}")
    try:
        start, end = float(parts[1]), float(parts[2])
    except ValueError:
        raise ValueError(f"--schedule bounds must be numbers, got {spec!r}") from None
    return getattr(schedules, parts[0])(start, end, num_sweeps)


def _sample(args: argparse.Namespace) -> int:
    from paradigmlab.measure import write_json_atomic
    from paradigmlab.pbit.io import load_model
    from paradigmlab.pbit.sampler import PBitSampler

    model, offset = load_model(args.model_file)
    if args.schedule and args.beta is not None:
        raise ValueError("give either --beta or --schedule, not both")
    beta = parse_schedule(args.schedule, args.sweeps) if args.schedule else args.beta
    burn_in = args.sweeps - 1 if args.burn_in is None else args.burn_in
    sampler = PBitSampler(args.backend, device=args.device, coloring=args.coloring)
    res = sampler.sample(model, num_chains=args.chains, num_sweeps=args.sweeps, beta=beta, burn_in=burn_in,
                         thin=args.thin, seed=args.seed, progress=True)
    state, e = res.lowest()
    info = res.info
    print(f"{model}: {len(res)} samples from {args.chains} chains x {args.sweeps} sweeps, "
          f"{info['num_colors']} colours, backend {args.backend}")
    print(f"lowest energy {e + offset:.6g}   mean energy {res.energies.mean() + offset:.6g}   "
          f"{info['wall_s']:.3f} s   {info['flips_per_ns']:.3f} flips/ns")
    if args.out:
        np.savez_compressed(args.out, states=res.states, energies=res.energies + offset, chain=res.chain,
                            sweep=res.sweep, beta=res.beta)
        print(f"samples written to {args.out}")
    if args.json:
        write_json_atomic(args.json, {"model_file": args.model_file, "N": model.num_nodes, "edges": model.num_edges,
                                      "lowest_energy": e + offset, "mean_energy": float(res.energies.mean() + offset),
                                      "best_state": state, "info": info})
    return 0


def _bench(args: argparse.Namespace) -> int:
    from paradigmlab.measure import write_json_atomic
    from paradigmlab.pbit.bench import plot_throughput, run_throughput

    report = run_throughput(args.graphs, chains=args.chains, sweeps=args.sweeps, repeats=args.repeats,
                            backends=tuple(args.backends), competitors=tuple(args.competitors),
                            competitor_sweeps=args.competitor_sweeps)
    write_json_atomic(args.json, report)
    png = args.png or str(Path(args.json).with_suffix(".png"))
    plot_throughput(report, png)
    print(f"results: {args.json}, plot: {png}")
    return 0
