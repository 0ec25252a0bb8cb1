"""Validate the roofline against published measurements: batch-1 decode (gpt-fast on A100-80GB) and prefill
(time to first token from TensorRT-LLM and lmdeploy on H100-SXM and A100-80GB).

Decode: three predictions per point, the ideal roofline (physical floor), the
calibrated roofline fitted to all points (in-sample), and the calibrated
roofline fitted to all *other* points (leave-one-out, the honest measure of
predictive error), committed as ``validation_gptfast.md``.

Prefill (:func:`validate_prefill`): the calibration is fitted per device to
that device's prefill points (all three parameters: short prompts at batch 1
sit near the ridge, long or batched ones are compute-bound), and each point is
also predicted by a calibration that never saw it (leave-one-out) and by one
that never saw its *model* (fitted to the device's other models: the stated
out-of-sample split). Committed as ``validation_prefill.md``;
:func:`prefill_calibration` gives the per-device calibration to predict with.

``python -m paradigmlab.costmodel.validation --write`` regenerates both tables
and a test checks they are current.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from paradigmlab.costmodel.hardware import Hardware, load_hardware
from paradigmlab.costmodel.presets import load_preset, preset_names
from paradigmlab.costmodel.roofline import CALIBRATION_PARAMS, Calibration, fit_calibration, predict
from paradigmlab.costmodel.transformer import Costs, TransformerConfig, decoder_costs, load_model, memory_bytes
from paradigmlab.measure import atomic_path
from paradigmlab.validate import InputError, integer, number

TABLE_PATH = Path(__file__).resolve().parent / "validation_gptfast.md"
PREFILL_TABLE_PATH = Path(__file__).resolve().parent / "validation_prefill.md"
TOLERANCE = 0.15
# The bundled published prefill measurements (presets/<name>.measurements.json), one file per source.
PREFILL_MEASUREMENTS = ("trtllm-v0.5-ttft", "trtllm-v0.9-ttft", "lmdeploy-v0.1-ttft")
# Prefill spans both sides of the ridge (batch-1 short prompts are memory/overhead-bound), so all three are fitted.
PREFILL_FREE = CALIBRATION_PARAMS


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


# ---------------------------------------------------------------------------- prefill


@dataclass(frozen=True)
class PrefillPoint:
    """One published prefill / time-to-first-token measurement and the costs of the step it timed."""

    source: str
    label: str
    model: str
    hardware: Hardware
    weight_dtype: str
    tp: int
    batch: int
    prompt: int
    measured_s: float
    costs: Costs


def load_prefill_points(measurements: tuple[str, ...] | list[str] = PREFILL_MEASUREMENTS) -> list[PrefillPoint]:
    """The prefill points of the named measurement presets (or JSON files), costed as one prefill step each.

    A file may define models the presets lack under ``"models"`` (name -> config); a point's ``model`` is
    looked up there first, then among the bundled model presets.
    """
    points = []
    for name in measurements:
        data = load_preset("measurements", name)
        if not isinstance(data.get("points"), list) or not data["points"]:
            raise InputError(f"measurements '{name}': needs a non-empty 'points' list")
        inline = {key: TransformerConfig.from_dict({"name": key, **cfg}) for key, cfg in data.get("models", {}).items()}
        for i, p in enumerate(data["points"]):
            where = f"measurements '{name}' point {i}"
            missing = {"label", "model", "hardware", "weight_dtype", "tp", "batch", "prompt", "measured_ms"} - set(p)
            if missing:
                raise InputError(f"{where}: missing {sorted(missing)}")
            cfg = inline[p["model"]] if p["model"] in inline else load_model(p["model"])
            hw = load_hardware(p["hardware"])
            tp = integer(p["tp"], f"{where}: tp", min=1)
            batch = integer(p["batch"], f"{where}: batch", min=1)
            prompt = integer(p["prompt"], f"{where}: prompt", min=1)
            seconds = number(p["measured_ms"], f"{where}: measured_ms", positive=True) / 1e3
            act = p.get("act_dtype", "bf16")
            costs = decoder_costs(cfg, "prefill", batch, prompt, p["weight_dtype"], p.get("kv_dtype"), act, tp=tp)
            points.append(PrefillPoint(name, p["label"], cfg.name, hw, p["weight_dtype"], tp, batch, prompt, seconds, costs))
    return points


def _fit(points: list[PrefillPoint]) -> Calibration:
    return fit_calibration([(p.costs, p.measured_s) for p in points], points[0].hardware, PREFILL_FREE)


def prefill_calibration(hardware: str | Hardware,
                        measurements: tuple[str, ...] | list[str] = PREFILL_MEASUREMENTS) -> Calibration:
    """Calibration for prefill-like (full-sequence, compute-bound) steps on ``hardware``, fitted to the
    published prefill measurements of that device.

    Raises :class:`~paradigmlab.validate.InputError` for a device without measurements, naming the
    devices that have some (and any of them with the same compute peaks, the nearest proxy).
    """
    hw = hardware if isinstance(hardware, Hardware) else load_hardware(hardware)
    everything = load_prefill_points(measurements)
    mine = [p for p in everything if p.hardware.name == hw.name]
    name, peaks = hw.name, hw.peak_tflops
    if not mine:
        have = sorted({p.hardware.name for p in everything})
        twins = sorted({p.hardware.name for p in everything if p.hardware.peak_tflops == peaks})
        hint = (f"; {', '.join(twins)} has the same compute peaks (memory bandwidth may differ), the nearest "
                f"proxy for compute-bound steps" if twins else "")
        raise InputError(f"no bundled prefill measurements for hardware '{name}' (devices with some: "
                         f"{', '.join(have)}){hint}; pass --bw-eff/--compute-eff/--overhead-us or add a "
                         f"measurements file")
    if len(mine) < len(PREFILL_FREE):
        raise InputError(f"hardware '{name}': {len(mine)} prefill measurements cannot fit {len(PREFILL_FREE)} parameters")
    return _fit(mine)


def validate_prefill(measurements: tuple[str, ...] | list[str] = PREFILL_MEASUREMENTS) -> dict:
    """Per device: the prefill calibration and every point predicted ideal / calibrated / LOO / held-out model."""
    points = load_prefill_points(measurements)
    devices = []
    for name in sorted({p.hardware.name for p in points}):
        mine = [p for p in points if p.hardware.name == name]
        if len(mine) <= len(PREFILL_FREE):
            raise InputError(f"hardware '{name}': {len(mine)} prefill measurements; leave-one-out needs more than "
                             f"{len(PREFILL_FREE)} to fit {', '.join(PREFILL_FREE)}")
        hw = mine[0].hardware
        cal = _fit(mine)
        rows = []
        for i, p in enumerate(mine):
            loo = _fit(mine[:i] + mine[i + 1:])
            others = [q for q in mine if q.model != p.model]
            # The stated out-of-sample split: a calibration that has never seen this model on this device.
            held = _fit(others) if len(others) >= len(PREFILL_FREE) else None
            ideal, fitted, left = predict(p.costs, hw), predict(p.costs, hw, cal), predict(p.costs, hw, loo)
            out = predict(p.costs, hw, held) if held is not None else None
            peak, prec = hw.peak(p.weight_dtype)
            rows.append({
                "label": p.label, "source": p.source, "model": p.model, "batch": p.batch, "prompt": p.prompt,
                "tp": p.tp, "weight_dtype": p.weight_dtype, "tokens": p.batch * p.prompt,
                "measured_ms": 1e3 * p.measured_s,
                "ideal_ms": 1e3 * ideal.seconds, "calibrated_ms": 1e3 * fitted.seconds, "loo_ms": 1e3 * left.seconds,
                "held_out_model_ms": None if out is None else 1e3 * out.seconds,
                "ideal_err": ideal.seconds / p.measured_s - 1.0,
                "calibrated_err": fitted.seconds / p.measured_s - 1.0,
                "loo_err": left.seconds / p.measured_s - 1.0,
                "held_out_model_err": None if out is None else out.seconds / p.measured_s - 1.0,
                "bound": fitted.bound, "precision": prec,
                "measured_mfu": p.costs.flops / p.measured_s / peak,
                "attention_flop_share": sum(op.flops * op.count for op in p.costs.ops
                                            if op.name.endswith(".attention")) / p.costs.flops,
            })
        devices.append({"hardware": name, "calibration": cal, "rows": rows,
                        "models": sorted({p.model for p in mine}), "sources": sorted({p.source for p in mine})})
    sources = {}
    for name in measurements:
        data = load_preset("measurements", name)
        sources[name] = {k: data.get(k, "") for k in ("source", "url", "engine", "measures")}
    return {"devices": devices, "sources": sources, "tolerance": TOLERANCE}


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


def _worst(rows: list[dict], key: str) -> dict | None:
    rows = [r for r in rows if r[key] is not None]
    return max(rows, key=lambda r: abs(r[key])) if rows else None


def prefill_markdown(result: dict) -> str:
    """The committed prefill validation: sources, per-device calibration and table, where and why it misses."""
    tol = result["tolerance"]
    lines = [
        "# Cost-model validation: prefill (time to first token) vs published measurements",
        "",
        "Errors are on latency: predicted / measured ms - 1. *Ideal* = physical floor (max of bytes / peak bandwidth",
        "and FLOPs / dense peak of the weights' precision); *calibrated* = fitted to all of the device's rows",
        "(in-sample); *LOO* = fitted to the device's other rows; *held-out model* = fitted only to the device's",
        "**other models** (the out-of-sample split: this model never seen on this device). All three calibration",
        "parameters are fitted per device. *MFU* = counted FLOPs / measured time / dense peak.",
        "",
        "## Sources",
        "",
    ]
    for name, s in result["sources"].items():
        lines += [f"- `{name}`: {s['source']}. {s['url']}", f"  - Engine: {s['engine']}.", f"  - Measures: {s['measures']}"]
    all_rows = []
    for dev in result["devices"]:
        rows = dev["rows"]
        all_rows += rows
        lines += [
            "",
            f"## `{dev['hardware']}`",
            "",
            f"Calibration (all {len(rows)} rows): {dev['calibration']}. Models: {', '.join(dev['models'])}; "
            f"sources: {', '.join(dev['sources'])}.",
            "",
            "| configuration | tokens | measured ms | ideal ms (err) | calibrated ms (err) | LOO ms (err) "
            "| held-out model ms (err) | bound | measured MFU | attention-core FLOPs |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            held = "n/a" if r["held_out_model_ms"] is None else f"{r['held_out_model_ms']:.1f} ({_pct(r['held_out_model_err'])})"
            lines.append(
                f"| {r['label']} | {r['tokens']} | {r['measured_ms']:.1f} | {r['ideal_ms']:.1f} ({_pct(r['ideal_err'])}) | "
                f"{r['calibrated_ms']:.1f} ({_pct(r['calibrated_err'])}) | {r['loo_ms']:.1f} ({_pct(r['loo_err'])}) | "
                f"{held} | {r['bound']} | {r['measured_mfu']:.0%} | {r['attention_flop_share']:.1%} |")
        lines += ["", "| rows | within ±{:.0%}: calibrated | LOO | held-out model | worst LOO | worst held-out model |".format(tol),
                  "|---|---|---|---|---|---|"]
        for title, group in _groups(rows):
            lines.append(_summary_row(title, group, tol))
    lines += ["", "## Where and why it misses", ""]
    lines += _miss_notes(all_rows, result["devices"], tol)
    lines.append("")
    return "\n".join(lines)


def _engine_ratios(devices: list[dict]) -> str:
    # Same device, model, batch and prompt measured by two sources: the slower over the faster, short vs long.
    parts = []
    for d in devices:
        same: dict[tuple, list[dict]] = {}
        for r in d["rows"]:
            same.setdefault((r["model"], r["batch"], r["prompt"], r["tp"], r["weight_dtype"]), []).append(r)
        pairs = [g for g in same.values() if len({r["source"] for r in g}) > 1]
        for short in (True, False):
            ratios = [max(r["measured_ms"] for r in g) / min(r["measured_ms"] for r in g)
                      for g in pairs if (g[0]["tokens"] < 2048) == short]
            if ratios:
                parts.append(f"{d['hardware']}, {'< 2048' if short else '>= 2048'} tokens: the slower engine takes "
                             f"{min(ratios):.2f}-{max(ratios):.2f}x the faster one's time")
    return "; ".join(parts) if parts else "no configuration is measured by two sources"


def _groups(rows: list[dict]) -> list[tuple[str, list[dict]]]:
    # Short prompts at batch 1 sit near the ridge and are dominated by fixed per-kernel cost; everything from
    # 2048 tokens per step on is compute-bound. The split shows which regime the calibration can be trusted in.
    short = [r for r in rows if r["tokens"] < 2048]
    long = [r for r in rows if r["tokens"] >= 2048]
    return [(f"all ({len(rows)})", rows), (f">= 2048 tokens per step ({len(long)})", long),
            (f"< 2048 tokens per step ({len(short)})", short)]


def _summary_row(title: str, rows: list[dict], tol: float) -> str:
    if not rows:
        return f"| {title} | - | - | - | - | - |"
    within = {k: sum(abs(r[k]) <= tol for r in rows if r[k] is not None) for k in
              ("calibrated_err", "loo_err", "held_out_model_err")}
    n_held = sum(r["held_out_model_err"] is not None for r in rows)
    wl, wh = _worst(rows, "loo_err"), _worst(rows, "held_out_model_err")
    return (f"| {title} | {within['calibrated_err']}/{len(rows)} | {within['loo_err']}/{len(rows)} | "
            f"{within['held_out_model_err']}/{n_held} | {_pct(wl['loo_err'])} ({wl['label']}) | "
            + (f"{_pct(wh['held_out_model_err'])} ({wh['label']}) |" if wh else "n/a |"))


def _miss_notes(rows: list[dict], devices: list[dict], tol: float) -> list[str]:
    long = [r for r in rows if r["tokens"] >= 2048]
    short = [r for r in rows if r["tokens"] < 2048]
    effs = ", ".join(f"{d['hardware']} {d['calibration'].compute_efficiency:.0%}" for d in devices)
    over = ", ".join(f"{d['hardware']} {d['calibration'].kernel_overhead_s * 1e6:.1f} us" for d in devices)
    engines = _engine_ratios(devices)
    mfu = "; ".join(f"{d['hardware']} " + ", ".join(
        f"{src} {min(r['measured_mfu'] for r in d['rows'] if r['source'] == src and r['tokens'] >= 2048):.0%}-"
        f"{max(r['measured_mfu'] for r in d['rows'] if r['source'] == src and r['tokens'] >= 2048):.0%}"
        for src in d["sources"] if any(r["source"] == src and r["tokens"] >= 2048 for r in d["rows"]))
        for d in devices)
    bias = "; ".join(f"{d['hardware']} " + ", ".join(
        f"{src} {sum(r['calibrated_err'] for r in d['rows'] if r['source'] == src) / sum(r['source'] == src for r in d['rows']):+.1%}"
        for src in d["sources"]) for d in devices)
    share = max(r["attention_flop_share"] for r in rows)
    worst_long = max(abs(r[k]) for r in long for k in ("loo_err", "held_out_model_err") if r[k] is not None)
    worst_short = max(abs(r[k]) for r in short for k in ("loo_err", "held_out_model_err") if r[k] is not None)
    return [
        f"- The ideal roofline is {min(r['ideal_err'] for r in rows):+.0%} to {max(r['ideal_err'] for r in rows):+.0%} "
        "against every measurement: this is the '30-60 % too fast' of the uncalibrated prefill. Measured MFU is "
        f"{min(r['measured_mfu'] for r in long):.0%}-{max(r['measured_mfu'] for r in long):.0%} from 2048 tokens per "
        f"step on; the fitted compute efficiencies are {effs}.",
        f"- Compute-bound steps (>= 2048 tokens per step, the regime of a diffusion LM's full-sequence step at "
        f"realistic model sizes): out of sample (LOO and held-out model) the worst error is {worst_long:.1%}"
        f"{' - within' if worst_long <= tol else ' - outside'} the {tol:.0%} goal.",
        f"- Short prompts at batch 1 (128 tokens) miss most, up to {worst_short:.0%} out of sample: the step sits "
        "near the ridge, where real GEMMs reach neither roof and the max(memory, compute) roofline is optimistic; "
        f"the fitted per-kernel overhead ({over}) absorbs the gap as a fixed cost, which one number per device "
        f"cannot do for engines whose fixed costs differ ({engines}). A step of a small model is dominated by "
        "this fixed term, which these 6-70 B-parameter measurements do not validate.",
        f"- Engines and versions differ in kernel efficiency, and one calibration per device averages them: "
        f"measured MFU from 2048 tokens per step on, per source: {mfu}. Mean calibrated error per source: {bias}.",
        "- FP8 on H100: GEMMs run on the FP8 peak while TensorRT-LLM v0.5-v0.9's context attention ran in FP16; "
        "the cost model prices all FLOPs at the weights' precision. The attention core is at most "
        f"{share:.0%} of the counted FLOPs here (causal half counted, n(n+1)/2 query-key pairs), so pricing it at "
        f"the FP16 peak (half the FP8 one) would add at most {share:.0%} to a compute-bound H100 step at these "
        "prompt lengths; the share grows linearly with the prompt.",
        "- TTFT includes one sampled token and the engine's dispatch; no point includes queueing, tokenisation or "
        "network time (see Sources). The TensorRT-LLM v0.9 rows are second-hand (a transcription of NVIDIA's page).",
    ] + _proxy_notes(devices)


def _proxy_notes(devices: list[dict]) -> list[str]:
    # Devices without published prefill points that share a calibrated device's dense peaks (H200 and H100-SXM).
    notes = []
    for d in devices:
        hw = load_hardware(d["hardware"])
        twins = [name for name in preset_names("hardware") if name != hw.name and load_hardware(name).kind == "gpu"
                 and load_hardware(name).peak_tflops == hw.peak_tflops]
        dtypes = sorted({r["weight_dtype"] for r in d["rows"]})
        for name in twins:
            other = load_hardware(name)
            notes.append(f"- `{name}` has no published prefill point here; it shares `{hw.name}`'s dense peaks "
                         f"(bandwidth {other.memory_bandwidth_gbs:g} vs {hw.memory_bandwidth_gbs:g} GB/s), so "
                         f"`prefill_calibration('{hw.name}')` is the nearest proxy for its compute-bound steps; it "
                         f"was fitted to {', '.join(dtypes)} engines only, so another precision's efficiency is "
                         "not measured.")
    return notes


def main(argv: list[str] | None = None) -> int:
    """Print the validation tables; ``--write`` also saves them to the committed files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {TABLE_PATH.name} and {PREFILL_TABLE_PATH.name}")
    parser.add_argument("--phase", choices=("decode", "prefill", "both"), default="both", help="which table(s)")
    args = parser.parse_args(argv)
    tables = []
    if args.phase in ("decode", "both"):
        tables.append((TABLE_PATH, validation_markdown(validate())))
    if args.phase in ("prefill", "both"):
        tables.append((PREFILL_TABLE_PATH, prefill_markdown(validate_prefill())))
    for path, text in tables:
        print(text)
        if args.write:
            with atomic_path(path) as tmp:
                tmp.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
