"""Report section: combinatorial optimisation on the p-bit computer (paper section 3.3.2).

Rendering only: the runs are :func:`paradigmlab.optimize.experiments.report_runs`.
"""

from __future__ import annotations

from pathlib import Path

from paradigmlab.optimize import experiments as ex
from paradigmlab.report import Section


def reproduce_section(out_dir: Path, quick: bool) -> Section:
    """Gset Max-Cut against dwave-samplers at equal time, random 3-SAT, and factoring
    (the runs: :func:`paradigmlab.optimize.experiments.report_runs`)."""
    out = Path(out_dir)
    r = ex.report_runs(out, quick)
    fig = ex.plot_traces(r["rows"], out / "optimize_maxcut_traces.png")
    return Section(
        title="Combinatorial optimisation on p-bits: Max-Cut, 3-SAT, factoring (paper 3.3.2)",
        markdown=_markdown(r["summary"], r["sat"], r["factoring"], r["shared"], r["head_to_head"], r["budget_small_s"],
                           r["budget_large_s"]),
        figures=[fig.name],
        data=r["data"],
    )


def _markdown(summary, sat, fac, shared: bool, h2h: dict, small: float, large: float) -> str:
    src = ("Gset graphs from `shared/data/gset` with best-known cuts from its README."
           if shared else
           "`shared/data` is absent, so the graphs are generated random stand-ins in Gset format "
           "(same sizes and weight types as G11/G14/G43/G22/G55); no best-known value is available for them.")
    lines = [
        "The paper (3.3.2) credits p-bit machines with combinatorial optimisation, integer factoring by "
        "invertible logic (32-bit on an FPGA) and 100-variable 3-SAT. Here the same p-bit engine "
        "(`paradigmlab.pbit`, numba kernel, 2 threads) anneals or runs parallel tempering on the Ising "
        "forms of these problems.",
        "",
        f"**Max-Cut.** {src} Budget per run: {small:g} s (800 nodes), {large:g} s (larger), the same for every "
        "solver; dwave-samplers' `SimulatedAnnealingSampler` is restarted with doubling sweeps in 2 processes "
        f"(one per core). Best of ours (anneal, PT) against dwave-samplers: better on {h2h['better']}, "
        f"equal on {h2h['equal']}, worse on {h2h['worse']} of {h2h['graphs']} graphs (the larger median cut "
        f"wins; at equal cuts a TTS(99%) shorter by more than {ex.TTS_TIE_FACTOR:g}x wins).",
        "",
        ex.maxcut_markdown(summary),
        "",
        "![best-so-far cut against time](optimize_maxcut_traces.png)",
        "",
        f"**Random 3-SAT at the threshold** ({sat['num_vars']} variables, {sat['num_clauses']} clauses, "
        f"instance seed {sat['instance_seed']}, satisfiable per pycosat in {sat['pycosat_s'] * 1e3:.1f} ms; "
        f"{sat['p_bits']} p-bits with one auxiliary bit per clause): solved in {sat['solved']} of {sat['runs']} "
        f"runs of {sat['time_limit_s']:g} s; median time of solved runs "
        + (f"{sat['median_time_s']:.2f} s" if sat["median_time_s"] is not None else "n/a")
        + (f", TTS(99%) {sat['tts']['tts']:.2f} s." if sat["tts"]["hits"] else ", TTS(99%) not reached."),
        "",
        "**Factoring by invertible logic** (array multiplier of AND gates and adders, output clamped to N, "
        "balanced semiprimes):",
        "",
        "| bits | runs | factored | median time (misses count as slower) |",
        "|---|---|---|---|",
    ]
    for f in fac:
        med = "not reached" if f["median_time_s"] is None else f"{f['median_time_s']:.2f} s"
        lines.append(f"| {f['bits']} | {f['runs']} | {f['solved']} | {med} (limit {f['time_limit_s']:g} s) |")
    lines += ["", "Times are wall-clock on a shared 2-core machine; other jobs running at the same time slow "
              "every solver, so compare solvers within one table rather than across reports."]
    return "\n".join(lines)
