"""The report's diffusion section: equal-budget AR vs masked diffusion on the exact-entropy Markov corpus, every
sampler's quality against its speed, and the paper's ">10x throughput, 1/10 energy" claim measured here and
projected for an H200. Rendering only: the runs are :mod:`paradigmlab.diffusion.experiments`'."""

from __future__ import annotations

import json
from pathlib import Path

from paradigmlab.diffusion import experiments as ex
from paradigmlab.report import Section, save_figure

FULL_RESULTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "diffusion_lm.json"
#: the Markov pair again with the 4-heads-of-32 shape, its NELBO split against the exact denoiser and the samplers
#: run on the exact denoiser (benchmarks/RESULTS.md says how it was made)
EXACT_RESULTS = FULL_RESULTS.with_name("diffusion_lm_exact.json")
#: the same Markov pair at a 20-minute AR budget (``diffusion_lm.py --minutes 20 --no-study``), and again on a
#: four times larger draw of the chain (``--corpora markov:4000000``)
LONG_RESULTS = FULL_RESULTS.with_name("diffusion_lm_20min.json")
MORE_DATA_RESULTS = FULL_RESULTS.with_name("diffusion_lm_4m.json")
#: the text pair again with today's default shape (RoPE base 1e4; ``--corpora both --minutes 10 --no-study``)
TEXT_RESULTS = FULL_RESULTS.with_name("diffusion_lm_text.json")
QUICK_MINUTES = 1.0  # the AR model's budget in `make reproduce`; the diffusion model gets the same steps


def reproduce_section(out_dir: Path, quick: bool) -> Section:
    out_dir = Path(out_dir)
    runs = out_dir / "diffusion_runs"
    data: dict = {}
    figures: list[str] = []
    parts = ["A masked-diffusion LM (MDLM / LLaDA objective: continuous-time ELBO, 1/t weight, SUBS, antithetic t) "
             "and an autoregressive LM, both the looped package's Qwen3-type blocks (the diffusion one "
             "bidirectional, plus a `[MASK]` token), trained on the same data for the same steps and batch, so at "
             "equal size and equal training FLOPs."]
    pair = ex.paired_runs("markov", QUICK_MINUTES if quick else 3.0, runs / "markov", threads=None)
    data["markov"] = pair
    parts.append(pair_markdown(pair, "Markov corpus (order 2, 16 tokens, exact entropy rate)"))

    study = ex.sampler_study(pair["runs"]["mdm"], pair["runs"]["ar"], "markov", length=64, prompt_length=8,
                             n_samples=16, tokens_per_step=(1, 4, 16), repeats=1)
    data["study"] = study
    figures.append(plot_study(study, out_dir / "diffusion_study.png").name)
    parts.append(study_markdown(study, figures[-1]))

    full = json.loads(FULL_RESULTS.read_text()) if FULL_RESULTS.is_file() else None
    if full is None:  # the verdict from this report's own (short) runs
        proj = ex.projection(study)
        data["projection"] = proj
        parts += [projection_markdown(proj, study), verdict_markdown(study, proj)]
        return Section("Masked-diffusion LMs against autoregressive ones", "\n\n".join(parts), figures, data)
    data["full"] = full
    where = f"`benchmarks/diffusion_lm.py`, {full.get('machine', {}).get('processor', 'machine in the JSON')}"
    for name, pair_full in full.get("pairs", {}).items():
        parts.append(pair_markdown(pair_full, f"Full budget: {name} ({where})"))
    for name, st in full.get("studies", {}).items():
        parts.append(study_markdown(st).replace("### Sampling: quality against speed",
                                                f"### Full budget: sampling on {name}"))
        proj = full["projections"][name]
        parts.append(projection_markdown(proj, st))
        parts.append(verdict_markdown(st, proj).replace("### Verdict:", f"### Verdict ({name}):"))
    for key, path, what in (("exact", EXACT_RESULTS, "Against the exact denoiser"),
                            ("long", LONG_RESULTS, "A 20-minute budget"),
                            ("more_data", MORE_DATA_RESULTS, "A 20-minute budget, 4 x 10^6 tokens"),
                            ("text", TEXT_RESULTS, "Text with RoPE base 1e4")):
        if not path.is_file():
            continue
        extra = json.loads(path.read_text())
        data[key] = extra
        for name, pair_extra in extra.get("pairs", {}).items():
            parts.append(pair_markdown(pair_extra, f"{what}: {name} (`{path.name}`)"))
        for name, st in extra.get("studies", {}).items():
            parts.append(study_markdown(st).replace("### Sampling: quality against speed",
                                                    f"### {what}: sampling on {name}"))
    return Section("Masked-diffusion LMs against autoregressive ones", "\n\n".join(parts), figures, data)


def pair_markdown(pair: dict, title: str) -> str:
    m = pair.get("machine", {})
    c = pair["model_config"]
    lines = [f"### {title}", "",
             f"Shape d={c['d_model']}, {c['layers']} layers x {c['loops']} loops, {c['n_head']} heads of "
             f"{c.get('head_dim')}, context "
             f"{c['block_size']}; AR budget {pair['minutes']:g} min (model size and steps planned from it), the "
             f"diffusion model the same steps; machine: {m.get('processor', '?')}, {m.get('cpu_count', '?')} CPUs.", "",
             "| model | parameters | steps | tokens | train s | nats/token (+- s.e.) | what | vs entropy rate or bits/byte |",
             "|---|---|---|---|---|---|---|---|"]
    for r in pair["rows"]:
        e = r["eval"]
        what = "exact NLL" if r["kind"] == "ar" else "NELBO (upper bound)"
        rel = f"{e['excess_over_entropy_rate']:+.1%}" if "excess_over_entropy_rate" in e else (
            f"{e['bits_per_byte']:.3f} bits/byte" if "bits_per_byte" in e else "")
        lines.append(f"| {r['kind']} | {r['params']:,} | {r['steps']} | {r['tokens']:,} | {r['train_s']:.0f} | "
                     f"{e['nll_per_token']:.4f} +- {e['stderr']:.4f} | {what} | {rel} |")
    e0 = pair["rows"][0]["eval"]
    by_kind = {r["kind"]: r for r in pair["rows"]}
    if {"ar", "mdm"} <= set(by_kind):
        gap = by_kind["mdm"]["eval"]["nll_per_token"] / by_kind["ar"]["eval"]["nll_per_token"] - 1
        flops = by_kind["mdm"]["flops"] / by_kind["ar"]["flops"]
        lines += ["", f"Diffusion NELBO against AR NLL at equal training FLOPs (ratio {flops:.4f}): **{gap:+.1%}** "
                      "(the published gaps at scale: MDLM +31 % on OpenWebText, SEDD about +10 %)."]
    by_t = next((r["eval"]["by_time"] for r in pair["rows"] if "by_time" in r["eval"]), None)
    if by_t:
        lines += ["", f"Where the diffusion model's excess lives: its NELBO split by mask rate t, against the exact "
                      f"denoiser of the source on the same {by_t['windows']} windows and draws (nats/token; the bins "
                      f"sum to {by_t['model_nelbo']:.4f} and {by_t['exact_nelbo']:.4f}):", "",
                  "| t | " + " | ".join(f"{lo:.1f}-{hi:.1f}" for lo, hi in zip(by_t["edges"], by_t["edges"][1:]))
                  + " |", "|---|" + "---|" * len(by_t["model"]),
                  "| model | " + " | ".join(f"{v:.3f}" for v in by_t["model"]) + " |",
                  "| exact | " + " | ".join(f"{v:.3f}" for v in by_t["exact"]) + " |"]
    if "entropy_rate" in e0:
        e1 = pair["rows"][1]["eval"]
        lines += ["", f"Entropy rate {e0['entropy_rate']:.4f} nats/token; a window of {c['block_size']} tokens "
                      f"without earlier context cannot go below {e1.get('window_entropy_per_token', float('nan')):.4f} "
                      "(the diffusion model's windows; the AR model is scored with sliding context). "
                      f"Estimators: {e0['estimator']}; {e1['estimator']}."]
    return "\n".join(lines)


def study_markdown(study: dict, fig: str | None = None) -> str:
    ref = study["reference"]
    exact = any("exact_denoiser" in r for r in study["rows"])
    lines = ["### Sampling: quality against speed", "",
             f"{study['samples']} held-out prompts of {study['prompt_length']} tokens, {study['length']} new tokens "
             f"each, temperature {study['temperature']:g}; judge: {study['judge']}. Held-out text itself scores "
             f"{ref['judge_nll']:.4f} nats/token, entropy {ref['entropy']:.3f}. Speed: median of timed calls on "
             f"this machine ({study['machine'].get('processor', '?')}, {study['threads']} threads).", "",
             "| sampler | judge NLL | sample entropy | passes/token | positions/token | tokens/s batch 1 | "
             "tokens/s batch 16 |" + (" exact denoiser: judge NLL / entropy |" if exact else ""),
             "|---|---|---|---|---|---|---|" + ("---|" if exact else "")]
    for r in study["rows"]:
        sp = {s["batch"]: s["tokens_per_s"] for s in r["speed"]}
        ed = r.get("exact_denoiser")
        tail = (f" {ed['judge_nll']:.4f} / {ed['entropy']:.3f} |" if ed else " |") if exact else ""
        lines.append(f"| {r['label']} | {r['judge_nll']:.4f} | {r['entropy']:.3f} | {r['passes_per_token']:.3f} | "
                     f"{r['positions_per_token']:.1f} | {sp.get(1, float('nan')):,.0f} | "
                     f"{sp.get(16, float('nan')):,.0f} |" + tail)
    if exact:
        lines += ["", "The last column drives the same sampler with the source's exact denoiser (the true "
                      "`p(x_l | visible tokens)`, by forward-backward): what the sampler itself costs in quality, "
                      "whatever the training. Tokens revealed in one pass are drawn independently from their "
                      "marginals, so more tokens per pass lose the correlations between them even then."]
        low = [r for r in study["rows"] if r.get("exact_denoiser", {}).get("judge_nll", 1e9) < ref["judge_nll"]]
        if low:
            lines[-1] += (" " + ", ".join(r["label"] for r in low) + " with the exact denoiser score"
                          + ("s" if len(low) == 1 else "")
                          + f" below the held-out data itself ({ref['judge_nll']:.4f}): "
                          "low-confidence remasking reveals the likeliest tokens first and so seeks the mode (lower "
                          "entropy too), so a judge NLL below the data's is not better quality.")
    if fig:
        lines += ["", f"![samplers]({fig})"]
    return "\n".join(lines)


def projection_markdown(proj: dict, study: dict) -> str:
    lines = [f"### Projected on an {proj['hardware'].upper()} (cost model)", "",
             f"Each sampler's measured schedule (passes, positions per pass) priced by the cost model: diffusion "
             f"passes as bidirectional full-sequence steps and AR prefill with the {proj['calibration']['prefill']}; "
             f"AR decode with the {proj['calibration']['decode']}. Energy = {proj['power_w']:.0f} W board power x "
             "time for both (a memory-bound decode usually draws less, which would favour AR further).", "",
             "| sampler | model | batch 1: tokens/s (x AR) | batch 16: tokens/s (x AR) | mJ/token batch 1 | "
             "mJ/token batch 16 |", "|---|---|---|---|---|---|"]
    for model, rows in proj["models"].items():
        for r in rows:
            b1, b16 = r["by_batch"]["1"], r["by_batch"]["16"]
            lines.append(f"| {r['label']} | {model} | {b1['tokens_per_s']:,.0f} ({r['speedup_vs_ar']['1']:.2f}x) | "
                         f"{b16['tokens_per_s']:,.0f} ({r['speedup_vs_ar']['16']:.2f}x) | "
                         f"{1e3 * b1['joules_per_token']:.2f} | {1e3 * b16['joules_per_token']:.2f} |")
    return "\n".join(lines)


def verdict_markdown(study: dict, proj: dict, tolerance: float = 0.05) -> str:
    """The claim, judged from the study's numbers (nothing here is typed in by hand)."""
    ar = study["rows"][0]
    matched = ex.matched_quality(study, tolerance)
    measured = {r["label"]: {s["batch"]: s["tokens_per_s"] for s in r["speed"]} for r in study["rows"]}
    ar_speed = measured[ar["label"]]
    big = proj["models"].get("llama-3-8b") or next(iter(proj["models"].values()))
    long_key = next((k for k in proj["models"] if k.startswith("llama-3-8b,")), None)
    big_by_label = {r["label"]: r for r in big}
    text = ["### Verdict: \">10x throughput, 1/10 energy at equal compute and size\"", ""]
    if not matched:
        best = min(study["rows"][1:], key=lambda r: r["judge_nll"])
        text.append(f"No diffusion sampler matched the AR samples' quality (judge NLL within {tolerance:.0%} of "
                    f"{ar['judge_nll']:.4f}, entropy not below theirs by more than {tolerance:.0%}); the closest, "
                    f"{best['label']}, scores {best['judge_nll']:.4f}. At equal size and equal training FLOPs the "
                    "diffusion model is the weaker model (its NELBO above), so its samples at any speed are worse: "
                    "the claim fails on quality before speed enters.")
        candidates = study["rows"][1:]
    else:
        text.append(f"Diffusion samplers matching AR quality (within {tolerance:.0%}): "
                    + ", ".join(r["label"] for r in matched) + ".")
        candidates = matched
    for b in (1, 16):
        fastest = max(candidates, key=lambda r: measured[r["label"]].get(b, 0))
        here = measured[fastest["label"]].get(b, float("nan")) / ar_speed.get(b, float("nan"))
        there = big_by_label[fastest["label"]]["speedup_vs_ar"][str(b)]
        text.append(f"- Batch {b}: the fastest {'matched ' if matched else ''}diffusion sampler "
                    f"({fastest['label']}) runs at {here:.2f}x AR's tokens/s on this machine and, projected for an "
                    f"8B model on the {proj['hardware'].upper()}, at {there:.2f}x (energy per token {1 / there:.2f}x "
                    "AR's).")
    best_big = {b: max(big, key=lambda r: r["speedup_vs_ar"][str(b)]) for b in ("1", "16")}
    text.append(f"- Whatever the quality, the most any sampler here gains at 8B scale on the "
                f"{proj['hardware'].upper()} is {best_big['1']['speedup_vs_ar']['1']:.2f}x at batch 1 "
                f"({best_big['1']['label']}) and {best_big['16']['speedup_vs_ar']['16']:.2f}x at batch 16 "
                f"({best_big['16']['label']}). At batch 1 over a short sequence a diffusion pass is bound by reading "
                "the weights, as a decode step is, so k tokens per pass buy up to k times AR's speed; with batch size "
                "(or length) the pass becomes compute-bound while AR decode stays bandwidth-bound and nearly free "
                "to batch, and the advantage shrinks.")
    if long_key:
        lb = {b: max(proj["models"][long_key], key=lambda r: r["speedup_vs_ar"][b]) for b in ("1", "16")}
        text.append(f"- At a LLaDA-like length ({long_key.split(', ')[1]}) the same schedules give at most "
                    f"{lb['1']['speedup_vs_ar']['1']:.2f}x at batch 1 ({lb['1']['label']}) and "
                    f"{lb['16']['speedup_vs_ar']['16']:.2f}x at batch 16 ({lb['16']['label']}): every pass then "
                    "computes the whole sequence and is compute-bound.")
    exact = [r for r in study["rows"] if "exact_denoiser" in r]
    if exact:
        ref = study["reference"]
        wide = [r for r in exact if r["sampler"]["tokens_per_step"] >= 10]
        k1 = [r for r in exact if r["sampler"]["tokens_per_step"] == 1]
        text.append("- The samplers alone, driven by the source's exact denoiser (no training error): "
                    + "; ".join(f"{r['label']} {r['exact_denoiser']['judge_nll']:.4f} (entropy "
                                f"{r['exact_denoiser']['entropy']:.3f})" for r in k1 + wide)
                    + f", against the held-out data's {ref['judge_nll']:.4f} ({ref['entropy']:.3f}).")
        if wide:
            best = min(wide, key=lambda r: r["exact_denoiser"]["judge_nll"])
            ok = best["exact_denoiser"]["judge_nll"] <= ref["judge_nll"] * (1 + tolerance)
            text.append(f"  At >= 10 tokens per pass (what a 10x speed-up needs) the best of them, {best['label']}, "
                        + ("matches the data: the loss there is the trained model's, not the sampler's."
                           if ok else "is already more than "
                           f"{tolerance:.0%} worse than the data: tokens revealed in one pass are drawn independently, "
                           "so no training can make such a sampler match the data on this source."))
    matched_labels = {m["label"] for m in matched}
    tenfold = [(r["label"], b) for r in big for b in ("1", "16") if r["speedup_vs_ar"][b] >= 10]
    holds = any(label in matched_labels for label, _ in tenfold)
    if holds:
        label, b = next((lb, b) for lb, b in tenfold if lb in matched_labels)
        text.append(f"- **The claim holds here at batch {b}**: {label} matches AR's sample quality and is projected at "
                    ">= 10x AR's throughput for an 8B model (energy tracks time at equal power).")
    elif tenfold:
        nll = {r["label"]: r["judge_nll"] for r in study["rows"]}
        which = "; ".join(f"{label} at batch {b} (judge NLL {nll[label]:.4f})" for label, b in tenfold)
        text.append(f"- **The claim does not hold at matched quality**: the schedules projected at >= 10x are {which}, "
                    f"against AR's {ar['judge_nll']:.4f}.")
    else:
        text.append("- **The claim does not hold**: no schedule reaches 10x AR's projected throughput.")
    return "\n".join(text)


def plot_study(study: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    families = {"AR": "black", "ancestral": "tab:blue", "LLaDA,": "tab:orange", "LLaDA +": "tab:green"}
    for fam, colour in families.items():
        rows = [r for r in study["rows"] if r["label"].startswith(fam)]
        if not rows:
            continue
        for ax, b in zip(axes, (1, 16)):
            xs = [next(s["tokens_per_s"] for s in r["speed"] if s["batch"] == b) for r in rows
                  if any(s["batch"] == b for s in r["speed"])]
            ys = [r["judge_nll"] for r in rows][: len(xs)]
            ax.plot(xs, ys, "o-" if len(xs) > 1 else "s", color=colour, label=fam.rstrip(",+ ") +
                    (" + cache" if fam == "LLaDA +" else ""))
            for r, x, y in zip(rows, xs, ys):
                k = r["sampler"]["tokens_per_step"]
                ax.annotate(str(k), (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7)
    for ax, b in zip(axes, (1, 16)):
        ax.axhline(study["reference"]["judge_nll"], color="grey", ls=":", label="held-out data")
        ax.set_xscale("log")
        ax.set_xlabel(f"tokens/s at batch {b} (this machine)")
        ax.set_ylabel("judge NLL of samples (nats/token)")
        ax.set_title(f"batch {b}; labels: tokens per step")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    save_figure(fig, path, dpi=120)
    return Path(path)


__all__ = ["pair_markdown", "plot_study", "projection_markdown", "reproduce_section", "study_markdown",
           "verdict_markdown"]
