"""``paradigmlab optimize {maxcut,qubo,sat,factor}`` (old name: ``solve``): p-bit optimisation from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from paradigmlab.cliutil import (JSON_HELP, add_json_option, json_to_stdout, nonnegative_int, positive_float,
                                 positive_int, write_json_option)
from paradigmlab.optimize.solvers import Annealer, ParallelTempering, SolveResult

#: Copy-paste examples per problem; each runs in seconds on a file it writes first.
EXAMPLES = {
    "maxcut": "printf '4 4\\n1 2 1\\n2 3 1\\n3 4 1\\n4 1 1\\n' > c4.gset   # a 4-cycle in Gset format\n"
              "  paradigmlab optimize maxcut c4.gset --target 4 --time-limit 5 --quiet",
    "qubo": "printf '3 4\\n0 0 -1\\n1 1 -1\\n0 1 3\\n2 2 1\\n' > q.txt   # N M, then i j Q_ij\n"
            "  paradigmlab optimize qubo q.txt --target -1 --time-limit 5 --quiet --json -",
    "sat": "printf 'p cnf 3 3\\n1 2 0\\n-1 2 0\\n-2 3 0\\n' > f.cnf   # DIMACS CNF\n"
           "  paradigmlab optimize sat f.cnf --time-limit 5 --quiet",
    "factor": "paradigmlab optimize factor 35 --time-limit 5 --quiet",
}


def examples_epilog(*names: str) -> str:
    """The --help epilog with the copy-paste examples of the problems ``names``."""
    body = "\n".join(f"  {EXAMPLES[n]}" for n in names)
    return f"example{'s' if len(names) > 1 else ''}:\n{body}\n\n{JSON_HELP}\n"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``optimize`` command group (alias ``solve``) with one sub-command per problem type."""
    p = sub.add_parser("optimize", aliases=["solve"], help="solve Max-Cut, QUBO, SAT or factoring on the p-bit computer",
                       epilog=examples_epilog("factor", "maxcut"), formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = p.add_subparsers(dest="problem", required=True)
    specs = [
        ("maxcut", "FILE", "Max-Cut of a graph in Gset format", _maxcut),
        ("qubo", "FILE", "minimise a QUBO in the plain text format (see paradigmlab.optimize.io)", _qubo),
        ("sat", "FILE", "satisfy a DIMACS CNF formula (max-SAT when unsatisfiable)", _sat),
        ("factor", "N", "factor an integer with an invertible-logic multiplier", _factor),
    ]
    for name, arg, help_, fn in specs:
        q = kinds.add_parser(name, help=help_, epilog=examples_epilog(name),
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == "factor":
            q.add_argument("N", type=int, help="the composite number to factor")
            q.add_argument("--bits-p", type=positive_int, help="bits of the smaller factor (default: bits of sqrt(N))")
            q.add_argument("--bits-q", type=positive_int, help="bits of the larger factor (default: bits of N/3)")
        else:
            q.add_argument("file", metavar=arg, help="input file")
        if name in ("maxcut", "qubo"):
            q.add_argument("--target", type=float, help="stop when this objective value is reached")
        q.add_argument("--time-limit", type=positive_float, default=10.0, help="wall-clock budget in seconds (default 10)")
        q.add_argument("--method", choices=("anneal", "pt"), default="anneal",
                       help="p-bit annealing with restarts, or parallel tempering (default anneal)")
        q.add_argument("--chains", type=positive_int, default=128, help="parallel chains (anneal) or chains per ladder x ladders (pt); default 128")
        q.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (default 0)")
        add_json_option(q, "the result (objective, state, trace)")
        q.add_argument("--quiet", action="store_true", help="no progress bar")
        q.set_defaults(func=fn)


def _solver(args: argparse.Namespace, beta_range=None):
    if args.chains < 1:
        raise ValueError(f"--chains must be >= 1, got {args.chains}")
    if args.method == "pt":
        temps = 16 if args.chains >= 16 else max(2, args.chains)
        return ParallelTempering(num_temps=temps, num_replicas=max(1, args.chains // temps), beta_range=beta_range)
    return Annealer(num_chains=args.chains, beta_range=beta_range)


def _report(args: argparse.Namespace, problem, res: SolveResult, objective: float, name: str, extra: dict) -> int:
    t_best = res.trace[-1][0] if res.trace else res.wall_s
    if not json_to_stdout(args):  # stdout carries the JSON only
        print(f"{problem.name}: best {name} = {objective:g}  (found after {t_best:.2f} s; ran {res.wall_s:.2f} s, "
              f"{res.sweeps} sweeps x {res.info.get('num_chains', '')} chains, {res.runs} runs, {res.info['solver']})")
        for key, val in extra.items():
            print(f"  {key}: {val}")
    if args.json is not None:
        from paradigmlab.measure import machine_info

        write_json_option(args, {
            "problem": problem.name, "objective_name": name, "objective": objective, "energy": res.energy,
            "wall_s": res.wall_s, "time_to_best_s": t_best, "time_to_target_s": res.time_to_target,
            "sweeps": res.sweeps, "runs": res.runs, "trace": res.trace, "state": res.state.tolist(),
            "solver": res.info, "args": {k: v for k, v in vars(args).items() if k != "func"},
            "machine": machine_info(), **extra,
        })
        if not json_to_stdout(args):
            print(f"  result written to {args.json}")
    return 0


def _maxcut(args: argparse.Namespace) -> int:
    from paradigmlab.optimize.io import read_gset
    from paradigmlab.optimize.maxcut import MaxCut

    problem = MaxCut(read_gset(args.file), name=Path(args.file).name)
    target = None if args.target is None else problem.target_energy(args.target)
    res = _solver(args).solve(problem.model, time_limit=args.time_limit, target_energy=target, seed=args.seed,
                              progress=not args.quiet, objective=problem.objective)
    cut = problem.cut_value(res.state)
    return _report(args, problem, res, cut, "cut", {"nodes": problem.num_nodes, "reached_target": res.reached_target})


def _qubo(args: argparse.Namespace) -> int:
    from paradigmlab.optimize.qubo import QUBO, spins_to_binary

    problem = QUBO.from_file(args.file)
    target = None if args.target is None else problem.target_energy(args.target)
    res = _solver(args).solve(problem.model, time_limit=args.time_limit, target_energy=target, seed=args.seed,
                              progress=not args.quiet, objective=problem.objective)
    value = problem.value(spins_to_binary(res.state))
    x = "".join(str(int(b)) for b in spins_to_binary(res.state))
    return _report(args, problem, res, value, "value", {"x": x if len(x) <= 200 else x[:200] + "..."})


def _sat(args: argparse.Namespace) -> int:
    from paradigmlab.optimize.io import read_cnf
    from paradigmlab.optimize.sat import SAT

    problem = SAT(read_cnf(args.file), name=Path(args.file).name)
    res = _solver(args).solve(problem.model, time_limit=args.time_limit, target_energy=problem.target_energy,
                              seed=args.seed, progress=not args.quiet, objective=problem.penalty)
    sat = problem.num_satisfied(res.state)
    total = len(problem.cnf.clauses)
    assignment = [int(v) if b else -int(v) for v, b in zip(range(1, problem.cnf.num_vars + 1),
                                                            problem.assignment(res.state))]
    return _report(args, problem, res, sat, "satisfied clauses",
                   {"clauses": total, "all_satisfied": sat == total, "assignment": assignment})


def _factor(args: argparse.Namespace) -> int:
    from paradigmlab.optimize.factoring import FACTOR_BETA_RANGE, Factoring, factor

    problem = Factoring(args.N, bits_p=args.bits_p, bits_q=args.bits_q)
    if args.method == "anneal":
        solver = Annealer(num_chains=args.chains, num_sweeps=1000, growth=1.0, beta_range=FACTOR_BETA_RANGE)
    else:
        solver = _solver(args, beta_range=FACTOR_BETA_RANGE)
    pq, res = factor(args.N, time_limit=args.time_limit, seed=args.seed, solver=solver, progress=not args.quiet,
                     bits_p=args.bits_p, bits_q=args.bits_q)
    found = f"{pq[0]} x {pq[1]}" if pq else "not found within the time limit"
    extra = {"factors": found, "p_bits": problem.model.num_nodes,
             "time_to_factor_s": None if res.time_to_target is None else round(res.time_to_target, 4)}
    return _report(args, problem, res, float(np.prod(pq)) if pq else float("nan"), "p x q", extra)
