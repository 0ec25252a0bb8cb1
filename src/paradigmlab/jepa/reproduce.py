"""Report section: joint-embedding predictive architectures (paper 3.2, ref. 18) -- I-JEPA against a masked
autoencoder, a contrastive encoder and a supervised ceiling, probed on frozen features; the low-label curve, the
features' spread, quality against training FLOPs, and the energy-based reading.

Rendering only: the numbers come from :mod:`paradigmlab.jepa.experiments` -- a laptop-budget table run here (in
``<out>/jepa_runs/``, resumed by a rerun) and the full-budget evidence of ``benchmarks/jepa_probe.py`` in
``benchmarks/results/jepa_probe.json`` when it is there.
"""

from __future__ import annotations

import json
from pathlib import Path

from paradigmlab.jepa import experiments as ex
from paradigmlab.report import Section, save_figure

FULL_RESULTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "jepa_probe.json"
#: The laptop-budget table of the report: a few thousand images, a few epochs, every method, one seed.
QUICK = {"train_limit": 4096, "test_limit": 2000, "epochs": 4, "batch_size": 128, "probe_every": 1}
LABELS = {"jepa": "I-JEPA", "mae": "MAE", "simclr": "SimCLR", "supervised": "supervised (ceiling)",
          "random-encoder": "random encoder", "raw-input": "raw inputs"}


def reproduce_section(out_dir: Path, quick: bool) -> Section:
    from paradigmlab.data.paths import shared_path

    out_dir = Path(out_dir)
    name = "fashion-mnist" if shared_path("fashion-mnist") is not None else "mnist"
    budget = QUICK if quick else {**QUICK, "train_limit": None, "test_limit": None, "epochs": 10}
    table = ex.probe_table(name, out=out_dir / "jepa_runs", **budget)
    figures = [plot_curves(table, out_dir / "jepa_quick_curves.png").name]
    parts = ["I-JEPA (`paradigmlab.jepa`) after facebookresearch/ijepa: a ViT context encoder on one large block "
             "of patches, an EMA target encoder (momentum 0.996 -> 1, layer-normalised outputs), a narrow predictor "
             "fed mask tokens at four target blocks' positions, smooth-L1 in representation space. MAE, SimCLR and "
             "the supervised model use the same ViT and the same trainer; every row is a linear probe (and k-NN) on "
             "frozen, average-pooled features (I-JEPA: the target encoder).",
             table_markdown(table, "Laptop budget (this report, one seed)", figures[-1])]
    data = {"quick": table}
    if FULL_RESULTS.is_file():
        full = json.loads(FULL_RESULTS.read_text())
        data["full"] = full
        for dname, tab in full.get("tables", {}).items():
            machine = (tab.get("machine") or full.get("machine", {})).get("processor", "the machine in the JSON")
            figures.append(plot_curves(tab, out_dir / f"jepa_{dname}_curves.png").name)
            parts.append(table_markdown(tab, f"{dname}, full budget (`benchmarks/jepa_probe.py`, {machine})",
                                        figures[-1]))
        if full.get("energy"):
            for dname, study in full["energy"].items():
                parts.append(energy_markdown(study))
    else:
        parts.append("_The full-budget evidence (`benchmarks/results/jepa_probe.json`) is not in this checkout._")
    return Section("Joint-embedding predictive architectures: I-JEPA vs MAE vs SimCLR", "\n\n".join(parts), figures, data)


def _mean(v) -> float:
    return v["mean"] if isinstance(v, dict) else v


def table_markdown(tab: dict, title: str, fig: str) -> str:
    fr = list(next(iter(tab["baselines"].values()))["low_label"])
    head = "| encoder | linear probe % | k-NN % | " + " | ".join(f"{float(f) * 100:g} % labels" for f in fr) + \
           " | training GFLOP/step | s/epoch |"
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, r in {**tab["rows"], **tab["baselines"]}.items():
        std = r["linear"].get("std", 0.0) if isinstance(r["linear"], dict) else 0.0
        lin = f"{_mean(r['linear']):.2f}" + (f" +- {std:.2f}" if std else "")
        low = " | ".join(f"{_mean(r['low_label'][f]):.2f}" for f in fr)
        cost = f"{r['flops_per_step'] / 1e9:.2f} | {r['seconds_per_epoch']:.1f}" if "flops_per_step" in r else "- | -"
        extra = f" (its own head: {r['test_accuracy']['mean']:.2f})" if "test_accuracy" in r else ""
        rows.append(f"| {LABELS.get(name, name)}{extra} | {lin} | {_mean(r['knn']):.2f} | {low} | {cost} |")
    g = tab.get("goals", {})
    seeds = len(tab["config"].get("seeds", [0])) if not tab["rows"] else len(next(iter(tab["rows"].values()))["seeds"])
    goal = ""
    if g:
        eq = g.get("equal_flops", {})
        goal = (f"\n\nGoals: I-JEPA's probe {g['jepa_linear']:.2f} % vs the random encoder's "
                f"{g['random_linear']:.2f} % (margin {g['margin_over_random']:+.2f} points; goal +20: "
                f"{'met' if g['beats_random_by_20'] else 'missed'}); at equal training FLOPs "
                f"({eq.get('flops', 0):.3g}) the quick probes read I-JEPA {eq.get('jepa_quick_probe') or float('nan'):.2f} % "
                f"vs MAE {eq.get('mae_quick_probe') or float('nan'):.2f} % "
                f"({'met' if g.get('beats_mae_at_equal_flops') else 'missed'}).")
    for run, why in tab.get("collapsed", {}).items():
        goal += f"\n\n**{run} collapsed**: {why.split('; the checkpoint')[0]}."
    cfg = tab["config"]
    return (f"### {title}\n\n{tab['source']}: {tab['train']:,} training / {tab['test']:,} test inputs; ViT "
            f"{cfg['dim']} wide x {cfg['depth']} blocks, batch {cfg['batch_size']}, {cfg['epochs']} epochs, "
            f"{seeds} seed{'s' if seeds > 1 else ''}; low-label columns: mean of 3 class-balanced label subsets.\n\n"
            + "\n".join(rows) + goal + f"\n\n![curves]({fig})")


def energy_markdown(study: dict) -> str:
    sets = study["sets"]
    rows = ["| score | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    names = {"jepa": "I-JEPA predictor distance", "mae": "MAE reconstruction error", "simclr": "SimCLR 1 - cos(views)"}
    for m, r in study["methods"].items():
        rows.append(f"| {names.get(m, m)} | " + " | ".join(f"{r['auroc'][s]:.3f}" for s in sets) + " |")
    return (f"### The energy-based reading ({study['data']})\n\nAUROC of each model's score separating "
            f"{study['n']:,} clean test inputs from corrupted copies and from another data set (1.0: every "
            f"corrupted input scores higher; 0.5: no better than chance; below 0.5: ranked the wrong way), "
            f"{study['draws']} masks or view pairs per input.\n\n" + "\n".join(rows))


def plot_curves(tab: dict, path: Path) -> Path:
    """Three panels: quick probe against training FLOPs; feature spread per epoch; the low-label curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    for name, r in tab["rows"].items():
        h = r["seeds"][0]["history"]
        pts = [(e["train_flops"], e["quick_probe"]) for e in h if "quick_probe" in e]
        if pts:
            ax[0].plot(*zip(*pts), "o-", label=LABELS.get(name, name))
        ax[1].plot([e["epoch"] for e in h], [e["effective_rank"] for e in h], "o-", label=LABELS.get(name, name))
    ax[0].set(xscale="log", xlabel="training FLOPs (cost model)", ylabel="quick linear probe %",
              title="quality against training compute")
    ax[1].set(xlabel="epoch", ylabel="effective rank of the features", title="feature spread (collapse: -> 1)")
    fr = list(next(iter(tab["baselines"].values()))["low_label"])
    xs = [float(f) * 100 for f in fr] + [100.0]
    for name, r in {**tab["rows"], **tab["baselines"]}.items():
        ys = [_mean(r["low_label"][f]) for f in fr] + [_mean(r["linear"])]
        ax[2].plot(xs, ys, "o-" if name in tab["rows"] else "s--", label=LABELS.get(name, name))
    ax[2].set(xscale="log", xlabel="% of training labels", ylabel="linear probe test %", title="low-label regime")
    ax[2].legend(fontsize=7)
    ax[0].legend(fontsize=7)
    return save_figure(fig, path)
