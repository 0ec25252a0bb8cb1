"""Report section: the paper's Table 1 (looped Transformers) re-run at CPU scale.

Rendering only: the runs are :func:`paradigmlab.looped.experiments.table1`.
"""

from __future__ import annotations

from pathlib import Path

from paradigmlab.looped import experiments as ex
from paradigmlab.looped.table1 import plot_loss_curves, table1_markdown
from paradigmlab.report import Section, save_figure


def reproduce_section(out_dir: Path, quick: bool) -> Section:
    """Train every Table 1 row (quick: scale ``cpu``, else ``cpu-full``) and report the measured table."""
    scale = "cpu" if quick else "cpu-full"
    result = ex.table1(scale, Path(out_dir) / "looped_table1", progress=False)
    fig = plot_loss_curves(result, Path(out_dir) / "looped_table1_loss.png")
    md = (
        "Paper (Table 1, GPT-2 blocks except the last column): best loss 12x1 3.35, 1x12 3.65, 6x6 3.30, "
        "3x12 3.35, 2x18 3.45, Qwen3 1x6 3.41. Our rows are far smaller (CPU budget) and use byte-level "
        "tokens on Shakespeare + KJV Bible, so absolute losses do not compare; the ordering and the costs do.\n\n"
        + table1_markdown(result)
        + f"\n![loss curves]({fig.name})\n"
    )
    data = {"rows": result["rows"], "ordering": result["ordering"], "wall_s": result["wall_s"]}
    return Section("Looped Transformers: Table 1 (paper 4.2)", md, [fig.name], data)


def plot_hf_comparison(res: dict, path: str | Path) -> Path:
    """Box plot of training tokens/s per step, ours vs Hugging Face (:func:`~paradigmlab.looped.experiments.compare_with_hf`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tok = res["tokens_per_step"]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.boxplot([[tok / t for t in res["step_s"]["ours"]], [tok / t for t in res["step_s"]["hf"]]])
    ax.set_xticks([1, 2], ["paradigmlab\nLoopedLM 12x1", "transformers\nGPT2LMHeadModel"])
    c = res["config"]
    ax.set(ylabel="training tokens/s", title=f"d={c['d_model']}, ctx={c['block_size']}, batch={res['batch_size']}, "
           f"{res['device']}: {res['ratio_ours_over_hf']:.2f}x")
    save_figure(fig, path, dpi=120)
    return Path(path)
