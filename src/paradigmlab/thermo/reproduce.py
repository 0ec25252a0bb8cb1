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
    """A grid of generated images: one row of (up to) 10 per entry of ``d["samples"]``."""
    plt = _plt()
    side = d["side"]
    names = list(d["samples"])
    fig, axes = plt.subplots(len(names), 10, figsize=(10, 1.15 * len(names)), squeeze=False)
    for r, name in enumerate(names):
        imgs = np.array(d["samples"][name])[:10]
        for c in range(10):
            ax = axes[r, c]
            if c < len(imgs):
                ax.imshow(imgs[c].reshape(side, side), cmap="gray_r", vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, fontsize=7)
    return save_figure(fig, path)


def plot_training(d: dict, path) -> Path:
    """The paper's Fig. 5b at our scale: Frechet distance (free samples) and the largest per-step tail
    autocorrelation against the p-bit updates spent on training, per variant."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for name, run in d["runs"].items():
        c = run["curve"]
        axes[0].plot([p["pbit_updates"] for p in c], [p["frechet"] for p in c], marker="o", label=name)
        mix = run["mixing"]
        per_update = run["pbit_updates"] / max(1, run["updates"])
        axes[1].plot([m["update"] * per_update for m in mix], [max(m["autocorrelation"]) for m in mix], label=name)
    axes[0].set_ylabel("Frechet distance (classifier features)")
    axes[1].set_ylabel("max over steps of tail autocorrelation")
    for ax in axes:
        ax.set_xlabel("p-bit updates spent on training")
        ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_energy(d: dict, path) -> Path:
    """Energy per sample against the Frechet distance: the DDPM at each DDIM step count on the GPU (best case and
    batch 1), each DTM variant on the p-bit presets."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    rows = d["ddpm"]["rows"]
    fd = [r["frechet"] for r in rows]
    big = str(max(d["ddpm"]["batches"]))
    ax.loglog(fd, [r["gpu"][big]["ideal_j_per_sample"] for r in rows], "s-", label=f"DDPM, GPU ideal, batch {big}")
    ax.loglog(fd, [r["gpu"]["1"]["fitted_j_per_sample"] for r in rows], "s--", label="DDPM, GPU fitted, batch 1")
    for r in rows:
        ax.annotate(f"{r['steps']} steps", (r["frechet"], r["gpu"][big]["ideal_j_per_sample"]), fontsize=6)
    for marker, (preset, _) in zip("o^", next(iter(d["energy"].values()))["pbit_j_per_sample"].items()):
        ax.loglog([e["frechet"] for e in d["energy"].values()], [e["pbit_j_per_sample"][preset] for e in d["energy"].values()],
                  marker, ls="", label=preset)
        for name, e in d["energy"].items():
            ax.annotate(name, (e["frechet"], e["pbit_j_per_sample"][preset]), fontsize=6)
    ax.set_xlabel("Frechet distance (classifier features; lower is better)")
    ax.set_ylabel("J per sample")
    ax.legend(fontsize=6)
    return save_figure(fig, path)


def energy_markdown(d: dict, energy_name: str | None = None) -> str:
    """The DDPM baseline's table and the energy verdict on the paper's ~10,000x."""
    dd, en = d["ddpm"], d["energy"]
    big = str(max(dd["batches"]))
    rows = "\n".join(f"| {r['steps']} | {r['frechet']:.1f} | {r['frechet_conditional']:.1f} | "
                      f"{100 * r['conditional_accuracy']:.1f}% | {r['flops_per_sample']:.3g} | "
                      f"{r['gpu'][big]['ideal_j_per_sample']:.3g} | {r['gpu']['1']['fitted_j_per_sample']:.3g} |"
                      for r in dd["rows"])
    presets = list(next(iter(en.values()))["pbit_j_per_sample"])
    chip = presets[0]
    erows = "\n".join(
        f"| {n} | {e['frechet']:.1f} | {e['ddpm_steps']} ({e['ddpm_frechet']:.1f}{'' if e['ddpm_at_least_as_good'] else ', not as good'}) | "
        + " | ".join(f"{e['pbit_j_per_sample'][p]:.3g}" for p in presets)
        + f" | {e['gpu_j_per_sample']['best']:.3g} .. {e['gpu_j_per_sample']['batch1_fitted']:.3g} | "
        + f"{e['ratio_gpu_over_pbit'][chip]['best']:.3g} .. {e['ratio_gpu_over_pbit'][chip]['batch1_fitted']:.3g} |"
        for n, e in en.items())
    fpga = presets[1] if len(presets) > 1 else None
    verdicts = []
    for name in [n for n in ("dtm-acp", "dtm") if n in en] or list(en)[:1]:
        e = en[name]
        lo, hi = e["ratio_gpu_over_pbit"][chip]["best"], e["ratio_gpu_over_pbit"][chip]["batch1_fitted"]
        where = "inside" if lo <= 1e4 <= hi else "below" if 1e4 < lo else "above"
        meaning = {"inside": "holds for some batch sizes and not for others",
                   "below": "is reached even at the GPU's best case", "above": "is not reached even at batch 1"}[where]
        caveat = "" if e["ddpm_at_least_as_good"] else (" -- no DDPM step count reached this DTM's quality, so the "
                                                       "DDPM's best stands in, which flatters the GPU")
        f_lo = e["ratio_gpu_over_pbit"][fpga]["best"] if fpga else float("nan")
        verdicts.append(f"{name} (Frechet {e['frechet']:.1f}{caveat}): the GPU needs {lo:.3g}x (its best case) to "
                        f"{hi:.3g}x (batch 1) the projected chip's energy, so 10,000x is {where} that range: the claim "
                        f"{meaning}; against the FPGA at an assumed 20 W the GPU's best case needs {f_lo:.3g}x "
                        f"({'the FPGA loses' if f_lo < 1 else 'the FPGA wins'})")
    fig = f"\n![energy]({energy_name})\n" if energy_name else ""
    return f"""
**The GPU baseline and the energy per sample.** A small DDPM (Ho et al.; an MLP denoiser of
{dd['config']['layers']} residual layers x {dd['config']['hidden']}, {dd['config']['diffusion_steps']} training steps,
class embedding with a "no class" row for free samples; DDIM sampling on a strided subset), trained here for
{dd['training']['updates']} Adam updates ({dd['training']['seconds']:.0f} s on this CPU) on the same images, scored the
same way. GPU time per sample by the cost model on {dd['gpu']} ({dd['gpu_power_w']} W, the board's TDP: an upper
bound): ideal roofline at batch {big} (the GPU's best case) and the fitted cost model ({dd['calibration']}) at batch 1:

| DDIM steps | Frechet (free) | Frechet (class-conditional) | accuracy (conditional) | FLOPs per sample | J/sample GPU ideal, batch {big} | J/sample GPU fitted, batch 1 |
|---|---|---|---|---|---|---|
{rows}

Energy per sample at matched quality (the DDPM at the fewest steps whose free samples are at least as good as the
DTM's; p-bit energies = measured p-bit updates per sample x energy per update: the paper's projected all-transistor
chip at 2 fJ per update (read second-hand from the paper's appendix, not measured), the FPGA at 64 flips/ns and an
ASSUMED 20 W board):

| variant | Frechet (free) | DDPM steps matched (its Frechet) | {' | '.join(f'J/sample {p}' for p in presets)} | J/sample GPU (best .. batch 1) | GPU / chip (best .. batch 1) |
|---|---|---|{'---|' * len(presets)}---|---|
{erows}

**Verdict on the paper's ~10,000x** (a DTM against a conventional diffusion model of equal or better quality on a
GPU), measured here: {'; '.join(verdicts)}. The projection rests on the chip's 2 fJ per update, which nobody has
measured on a full system, and the FPGA's power is assumed. The paper compares with larger GPU models (its Fig. 1,
read second-hand: VAE 1.7 mJ at FID 17.9, GAN 1.9 mJ at 26.3, DDPM ~6 J at 12.2, against the DTM's ~16 nJ at 24.9);
our DDPM is a small MLP sized to this 14x14 task, which is why its joules are far smaller than those.
{fig}"""


def dtm_markdown(d: dict, grid_name: str, curve_name: str | None = None) -> str:
    """The DTM comparison: table, ordering against the paper's, mixing and the ACP, the figures."""
    rows = "\n".join(f"| {name} | {x['updates']} | {x['pbit_updates']:.3g} | {x['train_s']:.0f} | {x['frechet']:.1f} | "
                      f"{x['frechet_conditional']:.1f} | {100 * x['conditional_accuracy']:.1f}% | "
                      f"{max(x['autocorrelation']):.3f} | "
                      f"{x['sample_pbit_updates']:.3g} | {x['training_flips_per_ns']:.3f} | "
                      f"{x['fpga_us_per_sample'][0]:.2f}-{x['fpga_us_per_sample'][1]:.2f} |"
                      for name, x in d["runs"].items())
    fd = {k: v["frechet"] for k, v in d["runs"].items()}
    order = " < ".join(sorted(fd, key=fd.get))
    paper = "dtm-acp < ebm < dtm"
    ref = d["reference_frechet"]
    acp = d["runs"]["dtm-acp"]
    engaged = sum(1 for m in acp["mixing"] for w in m["acp_weight"] if w > acp["config"]["acp_min"] * (1 + 1e-9))
    measured = sum(len(m["acp_weight"]) for m in acp["mixing"])
    best = {k: min(p["frechet"] for p in v["curve"]) for k, v in d["runs"].items()}
    trend = "; ".join(f"{k}: best {best[k]:.1f}, last {fd[k]:.1f}" for k in d["runs"])
    curve_md = f"\n![training]({curve_name})\n" if curve_name else ""
    return f"""
**Denoising thermodynamic models on p-bits** (Jelinčič et al. 2025; data: {d['source']}, 2x2-pooled to 14x14 and
binarised, the class as 10 one-hot label p-bits; T = {acp['config']['steps']} steps (the paper: 8), equal p-bit
update budget; {d['num_samples']} samples each from uniform noise, free and with the label clamped). Quality:
{d['metric']} (test accuracy {100 * d['classifier_test_accuracy']:.1f}%, the ceiling for the conditional accuracy),
against 2,000 test images: real training images {ref['train_images']:.1f}, uniform noise {ref['uniform_noise']:.1f}.

| variant | updates | p-bit updates | training s | Frechet (free) | Frechet (class-conditional) | classifier accuracy on conditional samples | tail autocorrelation, worst step | p-bit updates per sample | flips/ns (training, here) | us per sample at 64-50 flips/ns (FPGA) |
|---|---|---|---|---|---|---|---|---|---|---|
{rows}

Measured ordering at the end (lower is better): {order}; the paper's (FID 28.96 with ACP, ~55.9 at best for the
single-step EBM, ~185 without ACP): {paper} -- {'the same' if order == paper else 'not the same'} at this budget
(the paper trains 150 epochs of 60,000 images on 70x70 grids). Along the training ({len(acp['curve'])} evaluations):
{trend}. The ACP is the paper's (Extropic's code): a penalty on the negative phase's connected correlations along
the learned edges, adapted to the measured mixing; it rose above its floor ({acp['config']['acp_min']:g}) in {engaged}
of {measured} step-measurements (threshold {acp['config']['acp_threshold']:g}; final weights
{', '.join(f'{w:.3g}' for w in acp['acp_weight'])}).
{curve_md}
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
        fd = ", ".join(f"{k} {v['frechet']:.1f} free / {v.get('frechet_conditional', float('nan')):.1f} conditional "
                       f"({100 * v.get('conditional_accuracy', float('nan')):.0f}% classified as asked; "
                       f"{v['updates']} updates)" for k, v in full["runs"].items())
        energy = ""
        if full.get("energy"):
            e = full["energy"]["dtm-acp"]
            chip = next(iter(e["ratio_gpu_over_pbit"]))
            energy = (f" Energy per sample, DTM with ACP on the projected chip against the DDPM of equal quality on "
                      f"the GPU: {e['ratio_gpu_over_pbit'][chip]['best']:.3g}x (GPU best case) to "
                      f"{e['ratio_gpu_over_pbit'][chip]['batch1_fitted']:.3g}x (batch 1).")
        section.markdown += (f"\n**Longer DTM run** (`benchmarks/results/thermo_dtm.json`, "
                             f"{full['machine'].get('processor', '?')}, {full['seconds']:.0f} s; "
                             f"`python benchmarks/thermo_dtm.py --dtm-updates {full['runs']['dtm-acp']['updates']} --evals 5`; "
                             f"{full['source']}): Frechet distance {fd}; real images "
                             f"{full['reference_frechet']['train_images']:.1f}, noise "
                             f"{full['reference_frechet']['uniform_noise']:.1f}.{energy}\n")
    return section


def render(r: dict, out_dir: Path) -> Section:
    """The section's Markdown and PNG from :func:`~paradigmlab.thermo.experiments.report_run`'s result."""
    fig = plot_scaling(r["scaling"], out_dir / "thermo_scaling.png")
    figs = [fig.name]
    dtm_md = ""
    if r.get("dtm"):
        grid = plot_samples(r["dtm"], out_dir / "thermo_dtm_samples.png")
        curve = plot_training(r["dtm"], out_dir / "thermo_dtm_training.png")
        figs += [grid.name, curve.name]
        dtm_md = dtm_markdown(r["dtm"], grid.name, curve.name)
        if r["dtm"].get("energy"):
            energy = plot_energy(r["dtm"], out_dir / "thermo_dtm_energy.png")
            figs.append(energy.name)
            dtm_md += energy_markdown(r["dtm"], energy.name)
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
