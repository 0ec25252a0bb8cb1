"""Report section: liquid networks (paper 3.2, eq. 1) -- the solvers, the tasks next to the papers, the cost.

Rendering only: the numbers come from :mod:`paradigmlab.liquid.experiments` (the runs of ``make reproduce``,
at the quick budget, in ``<out>/liquid_runs/`` so that a rerun resumes them) and from the full-budget evidence of
``benchmarks/liquid_tasks.py`` in ``benchmarks/results/liquid_tasks.json`` when it is there.
"""

from __future__ import annotations

import json
from pathlib import Path

from paradigmlab.liquid import experiments as ex
from paradigmlab.report import Section, save_figure

#: The quick (laptop) runs of the report: task -> models; one seed each. The bit-stream XOR needs tens of epochs
#: over 100,000 streams before it leaves chance, so it appears only in the full-budget table.
QUICK_RUNS = {"mnist1d": ("cfc-mm", "gru"), "cheetah": ("ltc", "lstm")}
FULL_RESULTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "liquid_tasks.json"


def reproduce_section(out_dir: Path, quick: bool) -> Section:
    out_dir = Path(out_dir)
    data: dict = {}
    figures: list[str] = []
    parts = ["Eq. 1, `dx/dt = -x/tau + f(x, I) (A - x)`, is `paradigmlab.liquid.LTCCell`; CfC (closed form), "
             "Liquid-S4 (diagonal state space with the liquid input-correlation terms) and their controls run "
             "on the same tasks with the same trainer (`paradigmlab.trainer`)."]

    study = ex.solver_study()
    data["solvers"] = study
    figures.append(plot_solvers(study, out_dir / "liquid_solvers.png").name)
    parts.append(solver_markdown(study, figures[-1]))

    tables = {}
    for task, models in QUICK_RUNS.items():
        try:
            # one torch thread: these small recurrent ops run faster on one core than split over two
            tables[task] = ex.task_table(task, list(models), [0], out_dir / "liquid_runs", quick=True, progress=False,
                                         threads=1)
        except FileNotFoundError as exc:  # Half-Cheetah needs ../shared/data/cheetah
            tables[task] = {"skipped": str(exc)}
    data["quick_tables"] = tables
    parts.append(tables_markdown(tables, "Laptop-budget runs (this report, one seed)", quick=True))

    full = json.loads(FULL_RESULTS.read_text()) if FULL_RESULTS.is_file() else None
    cost = ex.cost_table("mnist1d")
    data["cost"] = cost
    figures.append(plot_memory(cost, out_dir / "liquid_memory.png").name)
    mnist = (full or {}).get("tables", {}).get("mnist1d", {}).get("rows", [])
    parts.append(cost_markdown(cost, figures[-1], {r["model"]: r["mean"] for r in mnist}))

    if full is not None:
        data["full_tables"] = {t: v for t, v in full.get("tables", {}).items()}
        # each table names its machine (a task's table can be rerun alone, on another day's machine)
        parts.append(tables_markdown(full.get("tables", {}), "Full-budget runs (`benchmarks/liquid_tasks.py`)",
                                     quick=False))
    const = ex.constant_classifier_scores("xor")
    data["xor_constant_classifier"] = const
    parts.append("**The published LTC failure on the bit-stream XOR.** The CfC paper reports LTC at 49.11 % "
                 f"+- 0.00: always answering \"even parity\" scores {const[0]:.2f} % on the reference's 10,000 test "
                 f"streams (odd: {const[1]:.2f} %), so the published LTC is a constant classifier. Its recipe "
                 "(`train_xor.py` LTC_TEST) gives the cell the elapsed time only through the ODE's step size; "
                 "our LTC row above is trained on the same data at the budget it states.")
    return Section("Liquid networks: LTC (eq. 1), CfC, Liquid-S4", "\n\n".join(parts), figures, data)


def solver_markdown(study: dict, fig: str) -> str:
    rows = ["| dt | dt x max rate | fused error | Euler error | RK4 error | Euler outside bound |",
            "|---|---|---|---|---|---|"]
    for r in study["by_dt"]:
        rows.append(f"| {r['dt']:g} | {r['stiffness']:.2f} | {r['fused']['max_error']:.2e} | "
                    f"{_num(r['euler']['max_error'])} | {_num(r['rk4']['max_error'])} | "
                    f"{_num(r['euler']['bound_violation'])} |")
    return ("### Solving eq. 1\n\n"
            f"One sub-step per interval over {study['steps']} intervals (input held), {study['hidden']} neurons, "
            f"float64, against {study['reference']}. Explicit Euler is stable only for "
            f"`dt < 2 / max(1/tau + f)` = {study['euler_stability_dt']:.3g} and then leaves the invariant interval "
            "`[min(0, A), max(0, A)]` and diverges; the fused step (the LTC paper's solver) is a convex "
            "combination of `x`, `A` and 0, so it stays bounded at every `dt` -- at first-order accuracy, "
            "as the right panel shows (RK4: fourth order once stable).\n\n" + "\n".join(rows) + f"\n\n![solvers]({fig})")


def _num(v: float) -> str:
    return "diverged" if v == float("inf") or v > 1e6 else f"{v:.2e}"


def tables_markdown(tables: dict, title: str, quick: bool) -> str:
    out = [f"### {title}"]
    for task, tab in tables.items():
        if "skipped" in tab:
            out.append(f"**{task}**: skipped ({tab['skipped']})")
            continue
        machine = tab.get("machine") or {}
        where = (f" -- measured on {machine['processor']}, {machine.get('cpu_count')} CPUs"
                 if machine.get("processor") else "")
        rows = [f"**{task}**" + (" (quick budget: fewer epochs and samples than the papers)" if quick else where),
                "", "| model | test | seeds | epochs | params | s/epoch | us/step (batch 1) | reference (source in the JSON) |",
                "|---|---|---|---|---|---|---|---|"]
        for r in tab["rows"]:
            unit = " %" if r["metric"] == "accuracy" else " MSE"
            spread = f" +- {r['std']:.2g}" if len(r["scores"]) > 1 else ""
            pub = r.get("published")
            pub_s = f"{pub['mean']}{unit}" + (f" +- {pub['std']}" if pub and pub.get("std") else "") if pub else ""
            rows.append(f"| {r['model']} | {r['mean']:.4g}{unit}{spread} | {len(r['scores'])} | {r['epochs']} | "
                        f"{r['params']} | {r['seconds_per_epoch']:.2f} | {r['inference_us_per_step']:.0f} | {pub_s} |")
        out.append("\n".join(rows))
    return "\n\n".join(out)


def cost_markdown(cost: dict, fig: str, accuracy: dict | None = None) -> str:
    """The cost table; ``accuracy`` (model -> MNIST-1D test %, from the full-budget runs) adds a column."""
    accuracy = accuracy or {}
    rows = ["| model | MNIST-1D test % | params | FLOPs / step | of which matmul | transcendental | "
            "state bytes after 40 steps | after 10,000 |", "|---|---|---|---|---|---|---|---|"]
    mem = cost["memory"]
    i40, iend = mem["length"].index(40), len(mem["length"]) - 1
    ratio = mem["state_bytes"]["liquid-s4"][0] / mem["state_bytes"]["ltc"][0]
    for r in cost["rows"]:
        sb = mem["state_bytes"][r["model"]]
        acc = f"{accuracy[r['model']]:.1f}" if r["model"] in accuracy else "-"
        rows.append(f"| {r['model']} | {acc} | {r['params_counted']} | {r['flops_per_step']:,} | {r['matmul_flops']:,} | "
                    f"{r['transcendental_ops']:,} | {sb[i40]:,} | {sb[iend]:,} |")
    return ("### Cost per step: the paper's \"memory efficiency\"\n\n"
            f"Batch-1 inference, float32, each model at the size trained on MNIST-1D; counted by {cost['counting']}. "
            "A recurrent or state-space model carries a fixed state from step to step; a Transformer's KV cache "
            "grows with every token: past the LTC / CfC / GRU state (256-512 B) from the first step, past Liquid-S4's "
            "diagonal modes after about a hundred, and growing on "
            "(the Transformer row is the decode step at context 0; its FLOPs also grow with the context). "
            "Liquid-S4's state is its diagonal modes, `d_model x d_state/2` complex numbers per liquid order and "
            f"block: constant, but {ratio:.0f}x an LTC's at these sizes.\n\n" + "\n".join(rows) + f"\n\n![memory]({fig})")


def plot_memory(cost: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mem = cost["memory"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, sb in mem["state_bytes"].items():
        ax.loglog(mem["length"], sb, "o-" if name == "transformer" else ".-", label=name)
    ax.set(xlabel="sequence length (steps)", ylabel="state bytes at batch 1 (float32)",
           title="memory to continue a sequence")
    ax.legend(fontsize=8)
    save_figure(fig, path, dpi=120)
    return path


def plot_solvers(study: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    dts = [r["dt"] for r in study["by_dt"]]
    for solver, style in (("fused", "o-"), ("euler", "s--"), ("rk4", "^:")):
        errs = [min(r[solver]["max_error"], 1e6) for r in study["by_dt"]]
        a.loglog(dts, errs, style, label=solver)
    a.axvline(study["euler_stability_dt"], color="grey", lw=0.8)
    a.set(xlabel="dt (one sub-step)", ylabel="max |x - x_ref| (clipped at 1e6)", title="error vs step size")
    a.legend()
    ks = [r["unfolds"] for r in study["by_unfolds"]]
    for solver, style in (("fused", "o-"), ("euler", "s--"), ("rk4", "^:")):
        b.loglog(ks, [min(r[solver], 1e6) for r in study["by_unfolds"]], style, label=solver)
    b.set(xlabel="unfolds (sub-steps of dt = 1)", ylabel="max error", title="convergence at dt = 1")
    b.legend()
    save_figure(fig, path, dpi=120)
    return path
