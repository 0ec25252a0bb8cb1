"""``reproduce`` section: thermodynamic linear algebra on emulated Langevin devices (paper 3.3.2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paradigmlab.report import Section, save_figure


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_scaling(sc: dict, path) -> Path:
    """Relative error against duration, dimension and condition number (solve and inv), log-log."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for name, marker in (("solve", "o"), ("inv", "s")):
        r = sc[name]
        axes[0].loglog(r["durations"], r["duration_err"], marker=marker, label=f"{name}: slope {r['duration_slope']:.2f}")
        axes[1].loglog(r["sizes"], r["size_err"], marker=marker, label=f"{name}: slope {r['size_slope']:.2f}")
        for iv, ls in (("1", "-"), ("kappa", "--")):
            axes[2].loglog(r["kappas"], r["kappa_err"][iv], marker=marker, ls=ls,
                           label=f"{name}, interval {'1' if iv == '1' else 'kappa'}: slope {r['kappa_slope'][iv]:.2f}")
    d = np.array(sc["solve"]["durations"], float)
    axes[0].loglog(d, sc["solve"]["duration_err"][0] * np.sqrt(d[0] / d), "k:", label="duration^-1/2")
    b = sc["base"]
    axes[0].set_xlabel(f"device time (N={b['N']}, kappa={b['kappa']:g})")
    axes[1].set_xlabel(f"N (kappa={b['kappa']:g}, duration {b['duration']:g})")
    axes[2].set_xlabel(f"kappa (N={b['N']}, duration {b['duration']:g})")
    for ax in axes:
        ax.set_ylabel("relative error")
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def cost_verdict(c: dict) -> str:
    """Per N, which option is fastest and which costs least energy (the CPU's energy is not counted: its power is
    not measured here), worded from the table."""
    parts = []
    for x in c["rows"]:
        times = {"CPU": x["cpu_s"], "GPU": x["gpu_s"], **{n: d["s"] for n, d in x["devices"].items()
                                                             if d["cells_available"] >= x["N"]}}
        energies = {"GPU": x["gpu_j"], **{n: d["j"] for n, d in x["devices"].items()
                                          if d["cells_available"] >= x["N"]}}
        fast = min(times, key=times.get)
        cheap = min(energies, key=energies.get)
        too_small = [n for n, d in x["devices"].items() if d["cells_available"] < x["N"]]
        parts.append(f"N = {x['N']}: fastest {fast} ({times[fast]:.3g} s), least energy {cheap} "
                     f"({energies[cheap]:.3g} J)" + (f"; {', '.join(too_small)} has too few cells" if too_small else ""))
    return ("Measured and projected: " + "; ".join(parts) + ". The device's time to a fixed error hardly depends on N "
            "(error ~ 1/sqrt(time)), LAPACK's grows as N^3 at machine precision, so any advantage needs large N, a "
            "chip with that many coupled cells, and a tolerance of percent-level error; the projected chip's figures "
            "are assumptions (see `paradigmlab.thermo.spu`).")


def plot_samples(d: dict, path) -> Path:
    """A grid of generated images per DTM variant (rows), 10 each."""
    plt = _plt()
    side = d["side"]
    names = list(d["samples"])
    fig, axes = plt.subplots(len(names), 10, figsize=(10, 1.15 * len(names)), squeeze=False)
    for r, name in enumerate(names):
        imgs = np.array(d["samples"][name])[:10]
        for c in range(len(imgs)):
            ax = axes[r, c]
            ax.imshow(imgs[c].reshape(side, side), cmap="gray_r", vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, fontsize=8)
    return save_figure(fig, path)


def acp_text(d: dict) -> str:
    """The DTM-with-ACP run's final autocorrelation per step."""
    return ", ".join(f"{a:.3f}" for a in d["runs"]["dtm-acp"]["autocorrelation"])


def dtm_markdown(d: dict, grid_name: str) -> str:
    """The DTM comparison: table, ordering against the paper's, the grid."""
    rows = "\n".join(f"| {name} | {x['updates']} | {x['pbit_updates']:.3g} | {x['train_s']:.0f} | {x['frechet']:.1f} | "
                      f"{x['sample_pbit_updates']:.3g} | {x['training_flips_per_ns']:.3f} | "
                      f"{x['fpga_us_per_sample'][0]:.2f}-{x['fpga_us_per_sample'][1]:.2f} |"
                      for name, x in d["runs"].items())
    fd = {k: v["frechet"] for k, v in d["runs"].items()}
    order = " < ".join(sorted(fd, key=fd.get))
    paper = "dtm-acp < ebm < dtm"
    ref = d["reference_frechet"]
    return f"""
**Denoising thermodynamic models on p-bits** (Jelinčič et al. 2025; data: {d['source']}, 2x2-pooled to 14x14 and
binarised; T = {d['runs']['dtm-acp']['config']['steps']} steps (the paper: 8), equal p-bit update budget; {d['num_samples']}
samples each from uniform noise). Quality: {d['metric']} (test accuracy {100 * d['classifier_test_accuracy']:.1f}%),
against 2,000 test images: real training images {ref['train_images']:.1f}, uniform noise {ref['uniform_noise']:.1f}.

| variant | updates | p-bit updates | training s | Frechet distance | p-bit updates per sample | flips/ns (training, here) | us per sample at 64-50 flips/ns (FPGA) |
|---|---|---|---|---|---|---|---|
{rows}

Measured ordering (lower is better): {order}; the paper's (FID 28.96 with ACP, ~55.9 at best for the single-step
EBM, ~185 without ACP): {paper} -- {'the same' if order == paper else 'not the same'} at this laptop budget, far
shorter than the paper's training. The ACP here is our reading of the paper's penalty (see `thermo.dtm`): the
negative chains' lag autocorrelation at the end was {acp_text(d)} (target {d['runs']['dtm-acp']['config']['acp_target']:g}),
so the penalty {'stayed at its floor: the chains mixed without it at this budget' if max(d['runs']['dtm-acp']['autocorrelation']) < d['runs']['dtm-acp']['config']['acp_target'] else 'was active'}.

![samples]({grid_name})
"""


def scaling_verdict(sc: dict) -> str:
    """What the measured slopes say, worded from them: duration^-1/2, and the kappa dependence at fixed device time
    against Aifer et al.'s bound (device time ~ kappa^2 / error^2 for a fixed error, i.e. error ~ kappa at fixed time)
    and against reading once per slowest relaxation time (Ahle's suggestion that the interval removes kappa)."""
    parts = []
    for name in ("solve", "inv"):
        r = sc[name]
        d = r["duration_slope"]
        k1, kk = r["kappa_slope"]["1"], r["kappa_slope"]["kappa"]
        shape = "follows duration^-1/2" if abs(d + 0.5) < 0.15 else f"falls as duration^{d:.2f}"
        removed = ("reading once per slowest relaxation time (interval kappa) leaves it at "
                   f"kappa^{kk:.2f}" + (", i.e. removes it" if abs(kk) < 0.05 else ""))
        parts.append(f"`{name}`'s error {shape}; at fixed device time it grows as kappa^{k1:.2f} at interval 1 "
                     f"({'well below' if k1 < 0.5 else 'near'} the kappa^1 of Aifer's bound), and {removed}")
    return "; ".join(parts) + "."


#: The longer DTM run of ``benchmarks/thermo_dtm.py`` (quoted by the quick report when the checkout has it).
FULL_DTM_RESULTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "thermo_dtm.json"


def reproduce_section(out_dir: Path, quick: bool) -> Section:
    """Accuracy against numpy/scipy, error scaling, the cost projection and the DTM comparison
    (:func:`paradigmlab.thermo.experiments.report_run`), rendered; the quick report also quotes the shipped
    longer DTM run."""
    import json

    from paradigmlab.thermo import experiments as ex

    section = render(ex.report_run(quick), Path(out_dir))
    if quick and FULL_DTM_RESULTS.is_file():
        full = json.loads(FULL_DTM_RESULTS.read_text())
        fd = ", ".join(f"{k} {v['frechet']:.1f} ({v['updates']} updates)" for k, v in full["runs"].items())
        section.markdown += (f"\n**Longer DTM run** (`benchmarks/results/thermo_dtm.json`, "
                             f"{full['machine'].get('processor', '?')}, {full['seconds']:.0f} s; "
                             f"`python benchmarks/thermo_dtm.py --dtm-updates {full['runs']['dtm-acp']['updates']}`; {full['source']}): "
                             f"Frechet distance "
                             f"{fd}; real images {full['reference_frechet']['train_images']:.1f}, noise "
                             f"{full['reference_frechet']['uniform_noise']:.1f}.\n")
    return section


def render(r: dict, out_dir: Path) -> Section:
    """The section's Markdown and PNG from :func:`~paradigmlab.thermo.experiments.report_run`'s result."""
    fig = plot_scaling(r["scaling"], out_dir / "thermo_scaling.png")
    figs = [fig.name]
    dtm_md = ""
    if r.get("dtm"):
        grid = plot_samples(r["dtm"], out_dir / "thermo_dtm_samples.png")
        figs.append(grid.name)
        dtm_md = dtm_markdown(r["dtm"], grid.name)
    acc = r["accuracy"]
    table = "\n".join(f"| {x['algorithm']} | {x['device']} | {x['N']} | {x['kappa']:g} | {x['duration']:g} | "
                      f"{x['rel_err']:.4f} | {x['rel_err_max']:.4f} |" for x in acc["rows"])
    sc = r["scaling"]
    slopes = "; ".join(f"{n}: duration {sc[n]['duration_slope']:.2f}, N {sc[n]['size_slope']:.2f}, kappa "
                       f"{sc[n]['kappa_slope']['1']:.2f} at interval 1 and {sc[n]['kappa_slope']['kappa']:.2f} at "
                       f"interval kappa" for n in ("solve", "inv"))
    cost_md = ""
    c = r.get("cost")
    if c:
        names = list(c["rows"][0]["devices"])
        head = " | ".join(f"{n} s / J" for n in names)
        rows = "\n".join(
            f"| {x['N']} | {x['device_time_units']:.3g} | " + " | ".join(
                f"{x['devices'][n]['s']:.3g} / {x['devices'][n]['j']:.3g}" for n in names)
            + f" | {x['cpu_s']:.3g} | {x['gpu_s']:.3g} / {x['gpu_j']:.3g} |" for x in c["rows"])
        cost_md = f"""
**Cost of one solve to 1 % relative error** (kappa = {c['kappa']:g}; the device time needed is measured here from the
duration scaling; seconds = device time x the preset's time constant, joules at its power; CPU = `numpy.linalg.solve`
timed on this machine ({c['machine'].get('processor', '?')}); GPU = {c['gpu']} roofline, 2/3 N^3 FLOPs at fp64 peak
with a 10 us call floor (assumed), at {c['gpu_power_w']} W):

| N | device time | {head} | CPU s | GPU s / J |
|---|---|{'---|' * len(names)}---|---|
{rows}

{cost_verdict(c)}
"""
    md = f"""
Paper (3.3.2): thermodynamic hardware samples from distributions by its physics (Normal Computing's SPU).
`paradigmlab.thermo` emulates the device -- overdamped Langevin `dx = -(A x - b) dt + sqrt(2) dW` and the SPU's
underdamped RLC network with the same stationary law, both by exact Gaussian transitions (no Euler bias) -- and runs
Aifer et al.'s algorithms on it: `solve` (time average), `inv` (covariance), `expm` of -A (lag autocovariance),
`slogdet` (Jarzynski), `sample`. Random SPD matrices with eigenvalues spread over [1/kappa, 1] (mean of
{len(acc['seeds'])} seeds; `{'quick' if r['quick'] else 'full'}` scale, {r['seconds']:.0f} s):

| algorithm | device | N | kappa | device time | rel. error (mean) | max |
|---|---|---|---|---|---|---|
{table}

**Scaling** (log-log slopes of the relative error): {slopes}. {scaling_verdict(sc)}

![scaling]({fig.name})
{cost_md}
{dtm_md}"""
    return Section("Thermodynamic computing on emulated devices and p-bits (3.3.2)", md, figs, r)
