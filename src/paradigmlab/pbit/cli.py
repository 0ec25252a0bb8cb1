"""``paradigmlab pbit sample|bench``: sample a model file, measure throughput (argument parsing only)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from paradigmlab.cliutil import (JSON_HELP, add_json_option, add_out_option, json_to_stdout,
                                 mark_output_files, nonnegative_int, positive_int, write_json_option)

SAMPLE_EXAMPLES = f"""\
example (a 3-spin ferromagnetic ring as a text edge list "i j J_ij"):
  printf '0 1 1\\n1 2 1\\n2 0 1\\n' > ring.txt
  paradigmlab pbit sample ring.txt --chains 8 --sweeps 200 --schedule geometric:0.1:4 --seed 0 --out ring.npz
  paradigmlab pbit sample ring.txt --chains 8 --sweeps 200 --processes 2 --burn-in 100 --thin 1 --out split.npz
  paradigmlab pbit sample ring.txt --chains 8 --sweeps 200 --burn-in 100 --thin 10 --json -
  torchrun --nnodes 2 --nproc-per-node 8 ... -m paradigmlab.cli pbit sample model.npz --processes 16 --exchange-every 4

By default each chain gives one sample, its final state; --burn-in/--thin/--num-samples read more.
{JSON_HELP}
"""

BENCH_EXAMPLES = f"""\
example (seconds: one graph, our numba kernel only, JSON printed):
  paradigmlab pbit bench --graphs "random-6-regular-4096 (+-1)" --sweeps 50 --repeats 1 --backends numba --competitors --json -

{JSON_HELP}
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``pbit`` command group."""
    p = sub.add_parser("pbit", help="probabilistic computing with p-bits")
    psub = p.add_subparsers(dest="pbit_command", required=True)

    s = psub.add_parser("sample", help="sample an Ising model file (text edge list, .npz, dimod BQM .json)",
                        epilog=SAMPLE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("model_file")
    s.add_argument("--backend", default="numba", choices=["reference", "numba", "torch"])
    s.add_argument("--device", default=None, help="torch device (cpu, cuda)")
    s.add_argument("--chains", type=positive_int, default=64)
    s.add_argument("--sweeps", type=positive_int, default=1000)
    s.add_argument("--beta", type=float, default=None, help="constant inverse temperature (default: model's)")
    s.add_argument("--schedule", default=None,
                   help="annealing schedule KIND:START:END with KIND linear or geometric, e.g. geometric:0.1:5")
    s.add_argument("--burn-in", type=nonnegative_int, default=None, help="sweeps before the first read (default: keep only "
                   "the final states)")
    s.add_argument("--thin", type=positive_int, default=None, help="sweeps between reads (default 1 once --burn-in or "
                   "--num-samples is given)")
    s.add_argument("--num-samples", type=positive_int, default=None, help="reads per chain (the last one after the final sweep)")
    s.add_argument("--seed", type=nonnegative_int, default=None)
    s.add_argument("--coloring", default="auto", choices=["auto", "dsatur", "greedy", "sequential"])
    s.add_argument("--processes", type=positive_int, default=1,
                   help="split the p-bits over this many processes (torch.distributed, gloo); under torchrun: its "
                        "world size")
    s.add_argument("--exchange-every", type=positive_int, default=None,
                   help="K: exchange the boundary every K sweeps (inexact, eta = 1/K; default: after every colour, "
                        "exact)")
    s.add_argument("--partition", default="metis",
                   help="metis (default), contiguous, or a .npy / text file of one part index per p-bit")
    add_out_option(s, "file", "the samples (one .npz: states, energies, chain, sweep, beta)")
    add_json_option(s, "a summary (energies, timing)")
    s.set_defaults(func=_sample)

    b = psub.add_parser("bench", help="flips/ns of our backends next to dwave-samplers, OpenJij, THRML",
                        epilog=BENCH_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_json_option(b, "the measurements", default="benchmarks/results/pbit_throughput.json")
    b.add_argument("--png", default=None, help="bar chart file (default: next to the JSON; none when it is printed)")
    mark_output_files(b, "png")
    b.add_argument("--graphs", nargs="*", default=None, help="subset of graph names")
    b.add_argument("--chains", type=positive_int, default=64)
    b.add_argument("--sweeps", type=positive_int, default=200)
    b.add_argument("--competitor-sweeps", type=positive_int, default=50,
                   help="sweeps for the (slower) competitors; flips/ns is per update, so fewer is fair")
    b.add_argument("--repeats", type=positive_int, default=5)
    b.add_argument("--backends", nargs="*", default=["numba", "torch"],
                   help="ours: numba, torch, reference, or multispin (64 chains per word; +-J graphs only)")
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
    from paradigmlab.measure import savez_atomic
    from paradigmlab.pbit.io import load_model
    from paradigmlab.pbit.sampler import PBitSampler

    if args.out and Path(args.out).suffix != ".npz":
        raise ValueError(f"--out must name a .npz file, got {args.out!r}")
    model, offset = load_model(args.model_file)
    if args.schedule and args.beta is not None:
        raise ValueError("give either --beta or --schedule, not both")
    beta = parse_schedule(args.schedule, args.sweeps) if args.schedule else args.beta
    split = args.processes > 1 or args.exchange_every is not None or "WORLD_SIZE" in os.environ
    if split:
        from paradigmlab.pbit.distributed import sample_distributed

        res = sample_distributed(model, args.processes, num_chains=args.chains, num_sweeps=args.sweeps, beta=beta,
                                 burn_in=args.burn_in, thin=args.thin, num_samples=args.num_samples, seed=args.seed,
                                 exchange_every=args.exchange_every, partition_method=args.partition,
                                 backend=args.backend, device=args.device, coloring=args.coloring, progress=True)
        if res is None:  # a torchrun rank other than 0: rank 0 reports and writes
            return 0
    else:
        sampler = PBitSampler(args.backend, device=args.device, coloring=args.coloring)
        res = sampler.sample(model, num_chains=args.chains, num_sweeps=args.sweeps, beta=beta, burn_in=args.burn_in,
                             thin=args.thin, num_samples=args.num_samples, seed=args.seed, progress=True)
    state, e = res.lowest()
    info = res.info
    quiet = json_to_stdout(args)  # stdout carries the JSON only
    if not quiet:
        how = (f"{info['processes']} processes ({info['partition']['cut_edges']} cut couplings, exchange "
               f"{'after every colour' if info['exchange_every'] is None else 'every %d sweeps' % info['exchange_every']})"
               if split else f"{info['num_colors']} colours")
        print(f"{model}: {len(res)} samples from {args.chains} chains x {args.sweeps} sweeps, {how}, "
              f"backend {args.backend}")
        print(f"lowest energy {e + offset:.6g}   mean energy {res.energies.mean() + offset:.6g}   "
              f"{info['wall_s']:.3f} s   {info['flips_per_ns']:.3f} flips/ns")
    if args.out:
        savez_atomic(args.out, {"states": res.states, "energies": res.energies + offset, "chain": res.chain,
                                "sweep": res.sweep, "beta": res.beta}, compressed=True)
        if not quiet:
            print(f"samples written to {args.out}")
    write_json_option(args, {"model_file": args.model_file, "N": model.num_nodes, "edges": model.num_edges,
                             "lowest_energy": e + offset, "mean_energy": float(res.energies.mean() + offset),
                             "best_state": state, "info": info})
    return 0


def _bench(args: argparse.Namespace) -> int:
    from paradigmlab.pbit.bench import plot_throughput, run_throughput

    quiet = json_to_stdout(args)
    report = run_throughput(args.graphs, chains=args.chains, sweeps=args.sweeps, repeats=args.repeats,
                            backends=tuple(args.backends), competitors=tuple(args.competitors),
                            competitor_sweeps=args.competitor_sweeps, progress=not quiet)
    write_json_option(args, report)
    png = args.png or (None if quiet else str(Path(args.json).with_suffix(".png")))
    if png:
        plot_throughput(report, png)
    if not quiet:
        print(f"results: {args.json}" + (f", plot: {png}" if png else ""))
    return 0
