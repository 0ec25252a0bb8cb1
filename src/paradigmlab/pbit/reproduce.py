"""Report section: the p-bit computer is exact, and how fast it is.

Rendering only: the numbers come from :mod:`paradigmlab.pbit.experiments`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paradigmlab.pbit import experiments
from paradigmlab.pbit.bench import plot_throughput
from paradigmlab.report import Section, save_figure


def _plot_exact(p: np.ndarray, q: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.loglog(p, q, ".", ms=3, alpha=0.6)
    lo = max(p[p > 0].min(), 1e-6)
    ax.plot([lo, p.max()], [lo, p.max()], "k--", lw=1)
    ax.set_xlabel("exact probability (enumeration)")
    ax.set_ylabel("p-bit sample frequency (numba)")
    ax.set_title("all 4096 states of a 12-p-bit model", fontsize=9)
    save_figure(fig, path, dpi=120)


def reproduce_section(out_dir: Path, quick: bool) -> Section:
    """Exactness against enumeration, then flips/ns on the three benchmark graphs."""
    ex = experiments.exactness(sweeps=1500 if quick else 4000)
    law = ex.pop("law")
    _plot_exact(law["exact"], law["numba_colour_parallel"], out_dir / "pbit_exactness.png")
    rows = "\n".join(f"| {k} | {v['colors']} | {v['samples']:,} | {v['tv']:.4f} |" for k, v in ex["backends"].items())
    msx = experiments.multispin_exactness(sweeps=500 if quick else 2000)
    bench = experiments.throughput(quick)
    plot_throughput(bench, str(out_dir / "pbit_throughput.png"))
    brows = "\n".join(
        f"| {r['graph']} | {r['sampler']} | {r['chains']} | {r['sweeps']} | "
        + (f"{r['flips_per_ns']:.3f} |" if "flips_per_ns" in r else f"skipped: {r['skipped']} |")
        for r in bench["results"])
    md = f"""
Paper eqs. 2-4 with the consistent sign convention `I_i = sum_j J_ij m_j + h_i`,
`m_i = sgn(tanh(beta I_i) - U(-1,1))`, `p(m) ~ exp(-beta E)`,
`E = -sum_(i<j) J_ij m_i m_j - sum_i h_i m_i`.

**Exactness.** A random sparse model with N={ex['N']} p-bits ({ex['edges']} couplings, fields, beta={ex['beta']}):
the empirical law of {ex['chains']} chains after burn-in, against exact enumeration of all 2^{ex['N']} states.
An i.i.d. sample of the same size from the exact law would sit at TV = {ex['iid_floor_tv']:.4f} (finite-sample floor).

| backend / update order | colours | samples | total-variation distance |
|---|---|---|---|
{rows}

![exactness](pbit_exactness.png)

**Multispin coding** (`paradigmlab.pbit.multispin`: 64 chains of a +-J model per machine word, neighbours counted
bit-sliced, eq. 4 drawn bit-serially). On a random {msx['degree']}-regular +-1 model of N={msx['N']} (no fields,
beta={msx['beta']}, {msx['chains']} chains x {msx['sweeps']} sweeps after {msx['burn_in']}): TV to the exact law
{msx['multispin_tv']:.4f} for multispin and {msx['numba_tv']:.4f} for the numba kernel (i.i.d. floor
{msx['iid_floor_tv']:.4f}).

**Throughput** (flips/ns = attempted p-bit updates per wall-clock ns; median of repeats after a warm-up run;
{bench['machine'].get('cpu_count')} CPUs, {bench['machine'].get('processor')}). The FPGA of Niazi et al. reached 50-64
flips/ns; the issue's CPU goal is >= 1 flips/ns on 2 cores, dwave-samplers (single-threaded) is the baseline.

| graph | sampler | chains | sweeps | flips/ns |
|---|---|---|---|---|
{brows}

![throughput](pbit_throughput.png)

Full comparison with OpenJij and THRML: `make bench` (installs the `bench` extra).
"""
    return Section("p-bit probabilistic computer: exactness and throughput", md, ["pbit_exactness.png", "pbit_throughput.png"],
                   {"exactness": ex, "multispin_exactness": msx, "throughput": bench["results"]})


#: The shipped scaling and eta study of ``benchmarks/pbit_distributed.py`` (quoted when the checkout has it).
DISTRIBUTED_RESULTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "pbit_distributed.json"


def plot_substrates(study: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from paradigmlab.report import save_figure

    rows, cuts = study["rows"], {r["knob"]: r["best_cut"] for r in study["maxcut"]["rows"]}
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.28 * len(rows) + 1.2), sharey=True)
    y = np.arange(len(rows))
    axes[0].barh(y, [r["tv"] for r in rows])
    axes[0].axvline(study["iid_floor_tv"], color="k", ls="--", lw=1, label="i.i.d. floor")
    axes[0].set_yticks(y, [r["knob"] for r in rows], fontsize=7)
    axes[0].set_xlabel(f"TV distance to the exact law (N = {study['N']})")
    axes[0].legend(fontsize=7)
    axes[1].barh(y, [cuts[r["knob"]] for r in rows])
    axes[1].set_xlabel(f"best cut ({study['maxcut']['graph']}, {study['maxcut']['anneal_sweeps']} sweeps)")
    lo = min(cuts.values())
    axes[1].set_xlim(lo - 0.1 * (max(cuts.values()) - lo + 1), None)
    axes[0].invert_yaxis()
    save_figure(fig, path)


def hardware_section(out_dir: Path, quick: bool) -> Section:
    """The p-bit computer beyond one core (the split sampler's exactness, the shipped scaling / eta study) and on
    emulated hardware substrates (each knob's distance to the exact law, and its Max-Cut)."""
    import json

    dist = experiments.distributed_exactness(processes=(2,) if quick else (2, 4))
    study = experiments.substrate_study(quick)
    simul = experiments.simultaneous_dbm_study(quick=False)  # 1.5 s: the quick sample is too short for its slow chains
    plot_substrates(study, out_dir / "pbit_substrates.png")
    drows = "\n".join(f"| {r['processes']} | {'after every colour (exact)' if r['exchange_every'] is None else 'every %d sweeps' % r['exchange_every']} | "
                       f"{r['cut_edges']} | {r['boundary_states_sent_per_sweep_per_chain']:.1f} | {r['tv']:.4f} |"
                       for r in dist["rows"])
    cuts = {r["knob"]: r["best_cut"] for r in study["maxcut"]["rows"]}
    srows = "\n".join(f"| {r['knob']} | {r['tv']:.4f} | {cuts[r['knob']]:.0f} |" for r in study["rows"])
    shipped = ""
    if DISTRIBUTED_RESULTS.is_file():
        d = json.loads(DISTRIBUTED_RESULTS.read_text())
        strong = "; ".join(f"{r['how']}{'' if r['K'] is None else ', K=%d' % r['K']}: {r['flips_per_ns']:.3f} flips/ns"
                           for r in d["strong"]["rows"])
        eta = "; ".join(f"{'exact' if r['K'] is None else 'K=%d' % r['K']}: {r['energy_per_pbit']:.4f}" for r in d["eta"]["rows"])
        shipped = (f"\n**Scaling and eta** (`benchmarks/results/pbit_distributed.json`, {d['machine'].get('processor', '?')}, "
                   f"{d['machine'].get('cpu_count')} CPUs; `python benchmarks/pbit_distributed.py`): strong scaling on a "
                   f"{d['strong']['N']:,}-p-bit +-J lattice, {d['chains']} chains: {strong}. Annealing a {d['eta']['N']:,}-p-bit "
                   f"+-J glass on 2 processes, energy per p-bit reached: {eta}; the largest K within tolerance of exact: "
                   f"{d['eta']['largest_K_within_tolerance']}.\n\n![distributed](pbit_distributed.png)\n")
    md = f"""
**Split over processes** (`paradigmlab.pbit.distributed`, torch.distributed with gloo; METIS partition; each process
sweeps its part with the numba kernel, its halo clamped at what the owners last sent). Exactness against enumeration
(N = {dist['N']}, {dist['samples']:,} reads; i.i.d. floor {dist['iid_floor_tv']:.4f}):

| processes | boundary exchange | cut couplings | boundary states sent per sweep per chain | TV to the exact law |
|---|---|---|---|---|
{drows}
{shipped}
**Emulated substrates** (`paradigmlab.pbit.substrate`: what an FPGA or an sMTJ chip computes instead of eq. 4).
TV distance to the exact law of an N = {study['N']} model ({study['chains']} chains x {study['sweeps']} sweeps; i.i.d.
floor {study['iid_floor_tv']:.4f}) and the best cut of an annealed Max-Cut ({study['maxcut']['graph']}, {study['maxcut']['chains']}
chains, {study['maxcut']['anneal_sweeps']} sweeps), one knob at a time:

| substrate knob | TV to exact | best cut |
|---|---|---|
{srows}

![substrates](pbit_substrates.png)

**Simultaneous updates of a Boltzmann machine.** A layered DBM (layers {' x '.join(map(str, simul['layers']))}, N =
{simul['N']}, every unit coupled to every unit of the next layer) is bipartite: even layers against odd ones. With
every p-bit updated at once from the old state it runs two independent block-Gibbs chains, so each sweep's state
follows p(even layers) p(odd layers): the layers' own laws, no correlation between them. That prediction lies
{simul['tv_exact_to_product']:.3f} in TV from the exact law ({simul['chains']} chains x {simul['sweeps'] - simul['burn_in']}
sweeps; i.i.d. floor {simul['iid_floor_tv']:.4f}):

| updates | TV to the exact law | TV to p(even) p(odd) | mean abs. connected correlation of coupled pairs (exact {simul['exact_mean_abs_connected_corr']:.3f}) | largest error of one |
|---|---|---|---|---|
{chr(10).join(f"| {r['update']} | {r['tv_to_exact']:.4f} | {r['tv_to_product']:.4f} | {r['mean_abs_connected_corr']:.3f} | {r['max_abs_corr_error']:.3f} |" for r in simul['rows'])}

Cross-layer correlations are what Boltzmann learning's negative phase estimates: a machine that updates coupled
p-bits together gets them wrong, while for optimisation such updates can still find ground states (Aadit et al. 2022).
"""
    figs = ["pbit_substrates.png"]
    if DISTRIBUTED_RESULTS.is_file() and DISTRIBUTED_RESULTS.with_suffix(".png").is_file():
        import shutil

        shutil.copy(DISTRIBUTED_RESULTS.with_suffix(".png"), out_dir / "pbit_distributed.png")
        figs.append("pbit_distributed.png")
    return Section("p-bit computer beyond one core and on emulated hardware", md, figs,
                   {"distributed": dist, "substrates": study, "simultaneous_dbm": simul})


SECTIONS = {"pbit": reproduce_section, "pbit-hardware": hardware_section}
