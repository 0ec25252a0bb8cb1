"""Report section: the paper's quantitative claims next to what the cost model computes.

Puts decode arithmetic intensity (~2), CNN intensity (hundreds), MoE FFN
compute (1/32), looped weight reuse, P/D, the 12.31 TOPS/W CIM macro, the
gpt-fast validation and the number formats (bit-exactness and the loss
change of a small trained looped LM per format) side by side, each with the
assumption it needs to hold.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from paradigmlab.costmodel.cnn import resnet50_costs
from paradigmlab.costmodel.formats import QUANTIZERS, format_report
from paradigmlab.costmodel.formats_reference import (
    gfloat_mx_mismatches, ml_dtypes_mismatches, nvfp4_mismatches, random_test_tensor,
)
from paradigmlab.costmodel.hardware import load_hardware
from paradigmlab.costmodel.lmquant import ACT_FORMATS as LM_ACT_FORMATS
from paradigmlab.costmodel.lmquant import WEIGHT_FORMATS as LM_FORMATS
from paradigmlab.costmodel.moe import expected_distinct_experts, ffn_compute_fraction
from paradigmlab.costmodel.pd import disaggregated
from paradigmlab.costmodel.presets import preset_names
from paradigmlab.costmodel.roofline import plot_roofline
from paradigmlab.costmodel.transformer import decoder_costs, load_model, resolve_weight_reuse
from paradigmlab.costmodel.validation import validate, validation_markdown


def reproduce_section(out_dir: Path, quick: bool):
    """Build the cost-model section (figures into ``out_dir``)."""
    from paradigmlab.report import Section

    data: dict = {}
    parts = [_claims(data), _looped_and_pd(data), _energy(data)]
    val = validate()
    data["validation"] = {r["label"]: {k: r[k] for k in ("measured_ms", "calibrated_ms", "loo_ms", "calibrated_err", "loo_err")}
                          for r in val["rows"]}
    table = validation_markdown(val).replace("# Cost-model validation", "### Validation", 1)
    parts.append(table.replace("\n## Where and why", "\n#### Where and why", 1))
    fig = _roofline(out_dir)
    parts.append(f"![roofline]({fig.name})")
    parts.append(_formats(data))
    parts.append(_lm_formats(out_dir, quick, data))
    return Section("Cost model: intensity, roofline, MoE, P/D, CIM, number formats", "\n\n".join(parts), [fig.name], data)


def _claims(data: dict) -> str:
    llama = load_model("llama-2-7b")
    ai = {
        "bf16 b1": decoder_costs(llama, "decode", 1, 512, "bf16").intensity,
        "fp8 b1": decoder_costs(llama, "decode", 1, 512, "fp8", act_dtype="bf16").intensity,
        "bf16 b8": decoder_costs(llama, "decode", 8, 512, "bf16").intensity,
        "bf16 b1 32k": decoder_costs(llama, "decode", 1, 32768, "bf16").intensity,
        "prefill 2048": decoder_costs(llama, "prefill", 1, 2048, "bf16").intensity,
    }
    cnn = {"b1 bf16": resnet50_costs(1).intensity, "b32 bf16": resnet50_costs(32).intensity,
           "b32 int8": resnet50_costs(32, dtype="w8a8").intensity}
    ds = load_model("deepseek-v3")
    m = ds.moe
    frac = ffn_compute_fraction(m.n_routed_experts, m.top_k)
    distinct = {t: expected_distinct_experts(m.n_routed_experts, m.top_k, t) for t in (1, 8, 32, 256)}
    data.update(decode_intensity=ai, resnet50_intensity=cnn, moe_fraction=frac, moe_distinct=distinct)
    rows = [
        ("Decode intensity ~2 FLOPs/byte (1.2)",
         f"Llama-2-7B batch 1, context 512: BF16 **{ai['bf16 b1']:.2f}**, FP8 weights **{ai['fp8 b1']:.2f}**; "
         f"BF16 batch 8 {ai['bf16 b8']:.2f}; BF16 at 32k context {ai['bf16 b1 32k']:.2f}; prefill 2048 {ai['prefill 2048']:.0f}",
         "2 FLOPs per weight per token; ~2 needs 1-byte weights (or batch 2 in BF16): BF16 batch 1 gives ~1. "
         "Long contexts lower it further (KV reads carry ~2 FLOPs per 2-byte element / GQA group)."),
        ("CNNs reach hundreds (1.2)",
         f"ResNet-50: batch 1 BF16 {cnn['b1 bf16']:.0f}, batch 32 BF16 {cnn['b32 bf16']:.0f}, batch 32 INT8 {cnn['b32 int8']:.0f}",
         "Weights reused over every pixel; feature maps read/written once per layer (no fusion). Batch 1 is lower."),
        ("MoE: DeepSeek-V3 FFN compute 1/32 (2.2)",
         f"top-{m.top_k} of {m.n_routed_experts}: routed FLOPs fraction **1/{1 / frac:.0f}**; distinct experts read "
         f"T=1: {distinct[1]:.1f}, T=8: {distinct[8]:.1f}, T=32: **{distinct[32]:.1f}**, T=256: {distinct[256]:.1f}",
         "Counts routed experts only (the shared expert and attention are dense); bytes follow distinct experts, so "
         "memory traffic is not cut 32x once a step holds tens of tokens (uniform routing assumed)."),
    ]
    lines = ["### The paper's numbers next to the model", "", "| claim | computed | needs / caveat |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def _looped_and_pd(data: dict) -> str:
    lines = ["### Looped weight reuse (2.1.3) and P/D disaggregation (2.2)", ""]
    for name in ("looped-gpt2-k1r12", "looped-gpt2-k3r12"):
        cfg = load_model(name)
        per_loop = decoder_costs(cfg, "decode", 1, 512, "bf16", weight_reuse="per_loop")
        per_step = decoder_costs(cfg, "decode", 1, 512, "bf16", weight_reuse="per_step")
        fits = "; ".join(f"{hw}: {resolve_weight_reuse(cfg, load_hardware(hw).on_chip_bytes, 'bf16')[1]}"
                         for hw in ("a100-80gb", "h100-sxm", "mi300x"))
        groups = per_step.by_group()
        block = ("attention", "ffn")
        block_ai = sum(groups[g]["flops"] for g in block) / sum(groups[g]["bytes"] for g in block)
        lines.append(f"- {name} decode (batch 1, BF16): intensity {per_loop.intensity:.2f} when the block is re-read "
                     f"every loop, **{per_step.intensity:.2f}** when it stays on chip ({block_ai:.1f} for attention+FFN "
                     f"alone, whose per-loop KV caches are still read from HBM; the tied {cfg.vocab_size}x{cfg.d_model} LM head, read every token, "
                     f"caps the whole-model figure). {fits}.")
        data[f"{name}_intensity"] = {"per_loop": per_loop.intensity, "per_step": per_step.intensity}
    h100, h200 = load_hardware("h100-sxm"), load_hardware("h200")
    res = disaggregated(load_model("llama-3-70b"), h100, h200, 2048, 256, link_gbs=50.0, weight_dtype="fp8",
                        kv_dtype="bf16", prefill_tp=4, decode_tp=4)
    data["pd"] = res.to_dict()
    lines.append(
        f"- Llama-3-70B FP8, prompt 2048, 256 output tokens, TP 4 per pool (ideal roofline): prefill on H100 "
        f"intensity {res.prefill_intensity:.0f} vs ridge {res.prefill_ridge:.0f} -> {res.prefill_bound}-bound, "
        f"TTFT {res.ttft_s * 1e3:.1f} ms (incl. {res.kv_transfer_s * 1e3:.1f} ms to ship {res.kv_bytes / 1e6:.0f} MB of KV at "
        f"50 GB/s); decode on H200 intensity {res.decode_intensity:.2f} -> {res.decode_bound}-bound, TPOT "
        f"{res.tpot_s * 1e3:.2f} ms. The two phases sit ~{res.prefill_intensity / res.decode_intensity:.0f}x apart in "
        "intensity, which is the case for separate pools.")
    return "\n".join(lines)


def _energy(data: dict) -> str:
    rows = []
    for name in preset_names("hardware"):
        hw = load_hardware(name)
        tpw = hw.tops_per_watt("int8")
        if tpw is not None:
            rows.append((name, tpw, hw.power_level))
    data["int8_tops_per_watt"] = {n: t for n, t, _ in rows}
    pbit = load_hardware("pbit-fpga")
    table = " | ".join(f"{n} {t:.2f} ({lvl})" for n, t, lvl in sorted(rows, key=lambda r: r[1]))
    return ("### Energy efficiency (4.1)\n\nINT8 TOPS/W, dense peak / board power for GPUs, quoted for the macro: "
            f"{table}. The paper's 12.31 TOPS/W is **macro-level** (no DRAM, I/O or host), the GPU figures are "
            "board-level at peak, so the ~3-8x gap is an upper bound on the system-level advantage. "
            f"Paper's \"typical\" accelerator: 2 TOPS/W. p-bit FPGA preset: {pbit.flips_per_ns_low:g}-"
            f"{pbit.flips_per_ns:g} flips/ns ({pbit.source}).")


def _roofline(out_dir: Path) -> Path:
    hw = load_hardware("a100-80gb")
    pts = []
    for name in ("gpt2", "llama-2-7b", "llama-2-70b", "mixtral-8x7b", "deepseek-v3", "looped-gpt2-k1r12"):
        pts.append((f"{name} decode b1", decoder_costs(load_model(name), "decode", 1, 512, "bf16")))
    looped = load_model("looped-gpt2-k1r12")
    pts.append(("looped-gpt2-k1r12 decode b1, block on chip",
                decoder_costs(looped, "decode", 1, 512, "bf16", weight_reuse="per_step")))
    pts.append(("llama-2-7b decode b64", decoder_costs(load_model("llama-2-7b"), "decode", 64, 512, "bf16")))
    pts.append(("llama-2-7b prefill 2048", decoder_costs(load_model("llama-2-7b"), "prefill", 1, 2048, "bf16")))
    pts.append(("resnet-50 b1", resnet50_costs(1)))
    pts.append(("resnet-50 b32", resnet50_costs(32)))
    return plot_roofline(pts, hw, out_dir / "costmodel_roofline.png", "bf16")


def _formats(data: dict) -> str:
    rng = np.random.default_rng(0)
    x = random_test_tensor(rng)
    mism = ml_dtypes_mismatches(x)
    try:
        mism.update({f"{k} vs gfloat": v for k, v in gfloat_mx_mismatches(x).items()})
        gf_note = ""
    except ImportError as exc:
        gf_note = f" (gfloat not importable here: {exc}; MX checked only by the tests where it is)"
    mism["nvfp4 vs ml_dtypes composition"] = nvfp4_mismatches(x)
    data["format_mismatches"] = mism
    w = rng.standard_normal((256, 1024))
    t = rng.standard_t(3, (256, 1024))
    sq_g = {r["format"]: r["sqnr_db"] for r in format_report(w)}
    sq_t = {r["format"]: r["sqnr_db"] for r in format_report(t)}
    data["sqnr_gaussian"], data["sqnr_student_t3"] = sq_g, sq_t
    lines = [
        "### Number formats: bit-exactness and SQNR",
        "",
        f"Values differing from the references on a {x.shape[0]}x{x.shape[1]} float32 tensor spanning 2^+-14 with "
        f"ties, zero blocks, outliers and float32 subnormals{gf_note}: " + ", ".join(f"{k}: {v}" for k, v in mism.items()) + ".",
        "",
        "| format | SQNR Gaussian (dB) | SQNR Student-t(3) (dB) |",
        "|---|---|---|",
    ]
    lines += [f"| {f} | {sq_g[f]:.2f} | {sq_t[f]:.2f} |" for f in QUANTIZERS]
    return "\n".join(lines)


def _lm_formats(out_dir: Path, quick: bool, data: dict) -> str:
    try:
        rows, desc = _looped_lm_rows(out_dir, quick)
    except Exception as exc:  # noqa: BLE001 - another package's API; fall back and say why
        rows, desc = _digits_mlp_rows()
        desc = f"paradigmlab.looped was not usable here ({type(exc).__name__}: {exc}); instead: {desc}"
    data["lm_formats"] = rows
    lines = [
        "### Formats applied to a trained model (the paper's \"4-bit\" point, 2.1.2)",
        "",
        desc,
        "",
        "| format | weights only: val loss (change) | weight SQNR dB | weights + activations: val loss (change) |",
        "|---|---|---|---|",
    ]
    act = {r["format"]: r for r in rows["weights_and_activations"]}
    for r in rows["weights"]:
        a = act.get(r["format"])
        a_txt = f"{a['loss']:.4f} ({a['delta']:+.4f})" if a else "-"
        lines.append(f"| {r['format']} | {r['loss']:.4f} ({r['delta']:+.4f}) | {r['weight_sqnr_db']:.1f} | {a_txt} |")
    w = {r["format"]: r for r in rows["weights"]}
    base = w["baseline"]["loss"]
    four = [f for f in ("mxfp4_e2m1", "nvfp4", "int4") if f in w]
    eight = [f for f in w if f not in four and f != "baseline"]
    order = "costs less than" if w["nvfp4"]["delta"] < w["mxfp4_e2m1"]["delta"] else "costs no less than"
    lines += ["", (
        f"Weight-only: the 6- and 8-bit formats move validation loss by at most "
        f"{max(abs(w[f]['delta']) for f in eight) / base:.2%}; the 4-bit ones by "
        f"{min(w[f]['delta'] for f in four) / base:+.2%} to {max(w[f]['delta'] for f in four) / base:+.2%}, "
        f"NVFP4 (16-element blocks, E4M3 scales) {order} MXFP4 (32, power-of-two scales). This is the loss side of the "
        "paper's 4-bit argument at fixed model size; its scaling-law claim (4 bits best at fixed memory) would need "
        "models of several sizes and is not tested here.")]
    return "\n".join(lines)


def _looped_lm_rows(out_dir: Path, quick: bool) -> tuple[dict, str]:
    import torch

    from paradigmlab.costmodel.lmquant import checkpoint_format_table
    from paradigmlab.data.text import load_text_data
    from paradigmlab.looped import LoopedConfig
    from paradigmlab.looped.train import TrainConfig, train

    steps = 600 if quick else 3000
    max_chars = 1_000_000 if quick else None
    cfg = LoopedConfig(block="gpt2", vocab_size=256, block_size=64 if quick else 128, d_model=96 if quick else 128,
                       n_head=4, layers=1, loops=4)
    ckpt_dir = out_dir / "costmodel_looped_lm"
    tc = TrainConfig(steps=steps, batch_size=16, lr=3e-3, warmup_steps=30, eval_every=steps // 4,
                     eval_batches=8 if quick else 16, device="cpu", out_dir=str(ckpt_dir))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small only loses to thread oversubscription on a shared 2-core box
    try:
        t0 = time.perf_counter()
        train(cfg, tc, load_text_data("shakespeare", tokenizer="bytes", seed=tc.seed, max_chars=max_chars))
        train_s = time.perf_counter() - t0
        table = checkpoint_format_table(ckpt_dir, "shakespeare", max_chars, weight_formats=LM_FORMATS,
                                        act_formats=LM_ACT_FORMATS)
    finally:
        torch.set_num_threads(threads)
    desc = (f"Looped GPT-2-style LM (1 layer x 4 loops, d={cfg.d_model}, {table['params'] / 1e3:.0f}k parameters, "
            f"byte tokens) trained {table['steps']} steps on Shakespeare on CPU ({train_s:.0f} s this run; resumes "
            f"from its checkpoint; validation loss during training "
            f"{', '.join(f'{v:.3f}' for _, v in table['val_curve'])}), then reloaded from the checkpoint "
            f"(`paradigmlab cost quantize-lm {ckpt_dir.name} --corpus shakespeare`); validation loss in nats/token "
            f"over {table['eval']}. Every nn.Linear weight (incl. the LM head, tied to the token embedding) is "
            "quantised along its input dimension; activation rows fake-quantise each Linear's input.")
    return {k: table[k] for k in ("weights", "weights_and_activations")}, desc


def _digits_mlp_rows() -> tuple[dict, str]:
    """Fallback experiment: a small MLP trained on scikit-learn's bundled digits, test loss per format."""
    import torch
    from sklearn.datasets import load_digits

    from paradigmlab.costmodel.torchquant import format_loss_table

    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x / 16.0, dtype=torch.float32)
    y = torch.tensor(y)
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(y), generator=g)
    tr, te = perm[:1400], perm[1400:]
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(300):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[tr]), y[tr]).backward()
        opt.step()

    def ev(m: torch.nn.Module) -> float:
        with torch.no_grad():
            return float(torch.nn.functional.cross_entropy(m(x[te]), y[te]))

    rows = {"weights": format_loss_table(model, ev, LM_FORMATS),
            "weights_and_activations": format_loss_table(model, ev, LM_ACT_FORMATS, activations=True)}
    return rows, ("a 64-128-10 MLP trained 300 full-batch Adam steps on scikit-learn's digits; "
                  f"test cross-entropy over {len(te)} held-out images.")
