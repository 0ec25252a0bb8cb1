"""Validate batch-1 decode predictions against published measurements (gpt-fast on A100-80GB).

Three predictions per point: the ideal roofline (physical floor), the
calibrated roofline fitted to all points (in-sample), and the calibrated
roofline fitted to all *other* points (leave-one-out, the honest measure of
predictive error). The Markdown table is committed as
``validation_gptfast.md``; ``python -m paradigmlab.costmodel.validation
--write`` regenerates it and a test checks it is current.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from paradigmlab.costmodel.hardware import load_hardware
from paradigmlab.costmodel.presets import load_preset
from paradigmlab.costmodel.roofline import fit_calibration, predict
from paradigmlab.costmodel.transformer import decoder_costs, load_model, memory_bytes

TABLE_PATH = Path(__file__).resolve().parent / "validation_gptfast.md"
TOLERANCE = 0.15


def validate(measurements: str = "gpt-fast") -> dict:
    """Predict every published point three ways; return rows, OOM checks and the fitted calibration."""
    data = load_preset("measurements", measurements)
    ctx = int(data["context"])
    points = []
    for p in data["points"]:
        hw = load_hardware(p["hardware"])
        costs = decoder_costs(load_model(p["model"]), "decode", 1, ctx, p["weight_dtype"], tp=p["tp"])
        points.append((p, hw, costs, 1.0 / p["tokens_per_s"]))
    hws = {hw.name for _, hw, _, _ in points}
    if len(hws) != 1:
        raise ValueError(f"validation set spans several devices {sorted(hws)}; calibrate per device")
    hw = points[0][1]
    pairs = [(c, s) for _, _, c, s in points]
    cal = fit_calibration(pairs, hw)
    rows = []
    for i, (p, _, costs, measured_s) in enumerate(points):
        loo = fit_calibration(pairs[:i] + pairs[i + 1:], hw)
        ideal, fitted, held_out = predict(costs, hw), predict(costs, hw, cal), predict(costs, hw, loo)
        rows.append({
            "label": p["label"],
            "measured_tok_s": p["tokens_per_s"],
            "measured_ms": 1e3 * measured_s,
            "ideal_ms": 1e3 * ideal.seconds,
            "calibrated_ms": 1e3 * fitted.seconds,
            "loo_ms": 1e3 * held_out.seconds,
            "ideal_err": ideal.seconds / measured_s - 1.0,
            "calibrated_err": fitted.seconds / measured_s - 1.0,
            "loo_err": held_out.seconds / measured_s - 1.0,
            "calibrated_tok_s_err": measured_s / fitted.seconds - 1.0,
            "measured_mbu": costs.bytes / measured_s / hw.bandwidth,
            "gb_per_token": costs.bytes / 1e9,
            "kernels": costs.kernels,
            "memory_gb": memory_bytes(load_model(p["model"]), p["weight_dtype"], "bf16", 1, ctx, p["tp"]) / 1e9,
        })
    oom = []
    for p in data.get("out_of_memory", []):
        need = memory_bytes(load_model(p["model"]), p["weight_dtype"], "bf16", 1, ctx, p["tp"])
        cap = load_hardware(p["hardware"]).memory_gb * 1e9
        oom.append({"label": p["label"], "need_gb": need / 1e9, "capacity_gb": cap / 1e9, "predicted_oom": need > cap})
    return {"source": data["source"], "context": ctx, "hardware": hw.name, "calibration": cal, "rows": rows, "oom": oom}


def validation_markdown(result: dict) -> str:
    """The committed validation table with the error of each prediction and notes on the misses."""
    rows = result["rows"]
    lines = [
        "# Cost-model validation: batch-1 decode vs gpt-fast",
        "",
        f"Measurements: {result['source']}. Device preset: `{result['hardware']}`; "
        f"context {result['context']} tokens assumed (mean over the 200 generated tokens).",
        f"Calibration (all points): {result['calibration']} (compute efficiency stays 1: batch-1 decode "
        "never reaches the compute roof, so only two parameters are fitted).",
        "",
        "Errors are on latency, as the issue asks: predicted / measured ms per token - 1. *Ideal* = physical floor",
        "(bytes / peak bandwidth, i.e. MBU 100%);",
        "*calibrated* = fitted to all rows (in-sample); *LOO* = fitted to the other rows only (out-of-sample).",
        "",
        "| configuration | measured ms (tok/s) | ideal ms (err) | calibrated ms (err) | LOO ms (err) | GB/token "
        "| measured MBU | memory GB/GPU |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['measured_ms']:.2f} ({r['measured_tok_s']:.1f}) | {r['ideal_ms']:.2f} ({r['ideal_err']:+.1%}) | "
            f"{r['calibrated_ms']:.2f} ({r['calibrated_err']:+.1%}) | {r['loo_ms']:.2f} ({r['loo_err']:+.1%}) | "
            f"{r['gb_per_token']:.2f} | {r['measured_mbu']:.0%} | {r['memory_gb']:.1f} |"
        )
    for o in result["oom"]:
        verdict = "OOM predicted" if o["predicted_oom"] else "fits (model disagrees with the measurement)"
        lines.append(f"| {o['label']} | OOM (published) | {verdict}: {o['need_gb']:.0f} GB > {o['capacity_gb']:.0f} GB | | | | | |")
    worst_cal = max(rows, key=lambda r: abs(r["calibrated_err"]))
    worst_loo = max(rows, key=lambda r: abs(r["loo_err"]))
    worst_tok = max(rows, key=lambda r: abs(r["calibrated_tok_s_err"]))
    within = sum(abs(r["calibrated_err"]) <= TOLERANCE for r in rows)
    within_loo = sum(abs(r["loo_err"]) <= TOLERANCE for r in rows)
    lines += [
        "",
        "## Where and why it misses",
        "",
        f"- Within {TOLERANCE:.0%}: {within}/{len(rows)} calibrated (in-sample), {within_loo}/{len(rows)} leave-one-out. "
        f"Worst calibrated: {worst_cal['label']} ({worst_cal['calibrated_err']:+.1%}); worst LOO: "
        f"{worst_loo['label']} ({worst_loo['loo_err']:+.1%}). Measured in tokens/s instead of latency the worst "
        f"calibrated error is {worst_tok['calibrated_tok_s_err']:+.1%} ({worst_tok['label']}).",
        f"- The ideal roofline under-predicts every latency ({min(r['ideal_err'] for r in rows):+.0%} to "
        f"{max(r['ideal_err'] for r in rows):+.0%}): gpt-fast reaches {min(r['measured_mbu'] for r in rows):.0%}-"
        f"{max(r['measured_mbu'] for r in rows):.0%} of peak HBM bandwidth (MBU), and the GPUs were power-capped at 330 W.",
        "- Weight-only int8/int4 decode is slower than its byte count implies: the kernels dequantise on the fly "
        "(int4 uses the tinygemm layout with bf16 scales and zero points per group of 32), so the one shared "
        "bandwidth efficiency under-predicts int4 latency most; a per-dtype efficiency would fix it but would exceed the "
        "3-parameter budget.",
        "- Tensor parallelism: per-GPU bytes fall as 1/TP but the fixed per-kernel cost and two all-reduces per "
        "layer do not, which is why TP=8 gains only ~3x; the model counts one kernel per linear, norm, attention "
        "and all-reduce (CUDA graphs remove launch cost, not the ramp-up/tail of small kernels).",
        "- The calibration is fitted to these same rows; the LOO column is the out-of-sample error to quote.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the validation table; ``--write`` also saves it to the committed file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {TABLE_PATH.name}")
    args = parser.parse_args(argv)
    text = validation_markdown(validate())
    print(text)
    if args.write:
        tmp = TABLE_PATH.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(TABLE_PATH)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
