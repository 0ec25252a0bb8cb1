"""``paradigmlab cost``: FLOPs, bytes, intensity and roofline time of a model on a device; format SQNR of tensors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from paradigmlab.costmodel.dtypes import known_dtypes


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``cost`` with its sub-commands."""
    p = sub.add_parser("cost", help="cost model: FLOPs, bytes, arithmetic intensity, roofline, number formats")
    cs = p.add_subparsers(dest="cost_command", required=True)
    for phase in ("decode", "prefill", "train"):
        q = cs.add_parser(phase, help=f"cost of one {phase} step")
        q.add_argument("--model", required=True, help="preset name (e.g. llama-2-7b) or .json/.toml file")
        q.add_argument("--hardware", required=True, help="preset name (e.g. a100-80gb) or .json/.toml file")
        q.add_argument("--dtype", default="bf16", help=f"weight dtype ({', '.join(known_dtypes())})")
        q.add_argument("--kv-dtype", default=None, help="KV-cache dtype (default: activation dtype)")
        q.add_argument("--act-dtype", default="bf16", help="activation dtype")
        q.add_argument("--batch", type=int, default=1, help="sequences per step")
        q.add_argument("--context", type=int, default=512,
                       help="cached tokens (decode), prompt length (prefill) or sequence length (train)")
        q.add_argument("--tp", type=int, default=1, help="tensor-parallel degree")
        q.add_argument("--weight-reuse", default="auto", choices=("auto", "per_loop", "per_step"),
                       help="looped models: re-read the shared block every loop, once per step, or decide by on-chip size")
        q.add_argument("--calibrated", action="store_true",
                       help="use efficiencies fitted to the bundled measurements for this device")
        q.add_argument("--bw-eff", type=float, help="bandwidth efficiency (0, 1]")
        q.add_argument("--compute-eff", type=float, help="compute efficiency (0, 1]")
        q.add_argument("--overhead-us", type=float, help="fixed cost per kernel, microseconds")
        q.add_argument("--layers", action="store_true", help="print the per-operation table")
        q.add_argument("--json", action="store_true", help="print JSON")
        q.set_defaults(func=_run_step, phase=phase)
    f = cs.add_parser("formats", help="SQNR of every number format on the tensors of a .npy/.npz/.pt file")
    f.add_argument("tensor_file")
    f.add_argument("--formats", nargs="*", help="subset of formats (default: all)")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=_run_formats)
    lq = cs.add_parser("quantize-lm", help="validation-loss change of a looped LM checkpoint per number format")
    lq.add_argument("checkpoint", help="ckpt.pt or the run folder holding it (paradigmlab looped train --out)")
    lq.add_argument("--corpus", default="both", choices=["shakespeare", "bible", "both"],
                    help="corpus the checkpoint was trained on (rebuilds the same validation split)")
    lq.add_argument("--max-chars", type=int, default=None, help="as given to training, if any")
    lq.add_argument("--eval-batches", type=int, default=None, help="default: the training run's eval_batches")
    lq.add_argument("--json", action="store_true")
    lq.set_defaults(func=_run_quantize_lm)
    v = cs.add_parser("validate", help="predictions vs published gpt-fast measurements")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=_run_validate)
    h = cs.add_parser("hardware", help="list hardware presets with peaks and TOPS/W")
    h.set_defaults(func=_run_hardware)
    r = cs.add_parser("roofline", help="roofline PNG with models placed on it (decode batch 1 and prefill)")
    r.add_argument("--hardware", default="a100-80gb")
    r.add_argument("--models", nargs="*", default=["gpt2", "llama-2-7b", "llama-2-70b", "mixtral-8x7b", "deepseek-v3"])
    r.add_argument("--dtype", default="bf16")
    r.add_argument("--out", default="roofline.png")
    r.set_defaults(func=_run_roofline)
    d = cs.add_parser("pd", help="prefill/decode disaggregation: TTFT, TPOT, KV transfer")
    d.add_argument("--model", required=True)
    d.add_argument("--prefill-hardware", required=True)
    d.add_argument("--decode-hardware", required=True)
    d.add_argument("--prompt", type=int, default=2048)
    d.add_argument("--output", type=int, default=256)
    d.add_argument("--batch", type=int, default=1)
    d.add_argument("--dtype", default="bf16")
    d.add_argument("--link-gbs", type=float, default=50.0, help="link between the pools, GB/s (default 400 Gb/s NIC)")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=_run_pd)


def _calibration(args: argparse.Namespace, hw):
    from paradigmlab.costmodel.roofline import Calibration
    from paradigmlab.costmodel.validation import validate

    manual = {k: v for k, v in (("bw_efficiency", args.bw_eff), ("compute_efficiency", args.compute_eff),
                                ("kernel_overhead_s", None if args.overhead_us is None else args.overhead_us * 1e-6))
              if v is not None}
    if args.calibrated:
        if manual:
            raise ValueError("give either --calibrated or --bw-eff/--compute-eff/--overhead-us, not both")
        result = validate()
        if result["hardware"] != hw.name:
            raise ValueError(f"no bundled measurements for '{hw.name}' (only {result['hardware']}); "
                             f"pass --bw-eff/--compute-eff/--overhead-us instead")
        return result["calibration"]
    return Calibration(**manual) if manual else None


def _run_step(args: argparse.Namespace) -> int:
    from paradigmlab.costmodel.hardware import load_hardware
    from paradigmlab.costmodel.roofline import predict
    from paradigmlab.costmodel.transformer import decoder_costs, load_model, memory_bytes, resolve_weight_reuse

    cfg, hw = load_model(args.model), load_hardware(args.hardware)
    reuse, reason = resolve_weight_reuse(cfg, hw.on_chip_bytes, args.dtype, args.weight_reuse)
    costs = decoder_costs(cfg, args.phase, args.batch, args.context, args.dtype, args.kv_dtype, args.act_dtype,
                          args.tp, reuse)
    pred = predict(costs, hw, _calibration(args, hw))
    ctx = args.context if args.phase != "train" else 0
    mem = memory_bytes(cfg, args.dtype, args.kv_dtype or args.act_dtype, args.batch, ctx, args.tp)
    if args.json:
        out = {"costs": costs.to_dict() if args.layers else {k: v for k, v in costs.to_dict().items() if k != "ops"},
               "prediction": pred.to_dict(), "weight_reuse_reason": reason, "memory_bytes_per_device": mem}
        print(json.dumps(out, indent=2, default=str))
        return 0
    if args.layers:
        print(f"{'op':28s} {'x':>4s} {'GFLOP':>10s} {'MB':>10s} {'FLOP/B':>8s}")
        for op in costs.ops:
            print(f"{op.name:28s} {op.count:4d} {op.flops * op.count / 1e9:10.3f} {op.total_bytes() / 1e6:10.2f} "
                  f"{op.intensity():8.2f}")
    tokens = costs.tokens if args.phase != "prefill" else costs.batch * costs.context
    print(f"{cfg.name} {args.phase} on {hw.name}: batch {args.batch}, context {args.context}, weights {args.dtype}, "
          f"KV {costs.kv_dtype}, TP {args.tp}")
    print(f"  params {cfg.n_params() / 1e9:.3f} B; memory/device {mem / 1e9:.2f} GB of {hw.memory_gb} GB"
          f"{'  (DOES NOT FIT)' if hw.memory_gb and mem > hw.memory_gb * 1e9 else ''}")
    if cfg.loops > 1:
        print(f"  looped: {cfg.n_layers} layers x {cfg.loops} loops; weights {reuse} ({reason})")
    print(f"  FLOPs {costs.flops / 1e9:.3f} G; bytes {costs.bytes / 1e9:.3f} GB (weights {costs.weight_bytes / 1e9:.3f}, "
          f"activations {costs.act_bytes / 1e9:.3f}, KV {costs.kv_bytes / 1e9:.3f}); intensity {costs.intensity:.2f} FLOP/B "
          f"(ridge {hw.ridge_point(args.dtype):.0f})")
    print(f"  physical floor: memory {pred.memory_floor_s * 1e3:.3f} ms, compute {pred.compute_floor_s * 1e3:.3f} ms "
          f"({pred.precision}), comm {pred.comm_s * 1e3:.3f} ms -> {pred.floor_s * 1e3:.3f} ms")
    print(f"  prediction: {pred.seconds * 1e3:.3f} ms per step ({pred.bound}-bound, {tokens / pred.seconds:.1f} tokens/s); "
          f"implied MBU {pred.mbu:.1%}, MFU {pred.mfu:.1%}; calibration {pred.calibration}")
    return 0


def load_tensors(path: str | Path) -> dict[str, np.ndarray]:
    """Floating-point arrays from a .npy, .npz or .pt file (a tensor or a dict of tensors)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"tensor file not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz", ".pt", ".pth"):
        raise ValueError(f"{path}: unsupported tensor file type '{suffix}' (use .npy, .npz or .pt)")
    try:
        obj = _read_tensor_file(path, suffix)
    except Exception as exc:  # noqa: BLE001 - numpy/torch raise many types for corrupt files
        raise ValueError(f"{path}: cannot read as {suffix}: {exc}") from exc
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a tensor or a dict of tensors, got {type(obj).__name__}")
    arrays = {}
    for key, val in obj.items():
        arr = val.detach().float().numpy() if hasattr(val, "detach") else np.asarray(val)
        if np.issubdtype(arr.dtype, np.floating) and arr.size:
            arrays[key] = arr
    if not arrays:
        raise ValueError(f"{path}: holds no non-empty floating-point tensors")
    return arrays


def _read_tensor_file(path: Path, suffix: str):
    if suffix == ".npy":
        return {path.stem: np.load(path, allow_pickle=False)}
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    import torch

    obj = torch.load(path, map_location="cpu", weights_only=True)
    return {path.stem: obj} if isinstance(obj, torch.Tensor) else obj


def _run_formats(args: argparse.Namespace) -> int:
    from paradigmlab.costmodel.formats import format_report

    arrays = load_tensors(args.tensor_file)
    report = {name: format_report(a, args.formats) for name, a in arrays.items()}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for name, rows in report.items():
        print(f"{name} {list(arrays[name].shape)}")
        for r in rows:
            print(f"  {r['format']:12s} SQNR {r['sqnr_db']:7.2f} dB   max |err| {r['max_abs_err']:.3e}")
    return 0


def _run_quantize_lm(args: argparse.Namespace) -> int:
    from paradigmlab.costmodel.lmquant import checkpoint_format_table

    table = checkpoint_format_table(args.checkpoint, args.corpus, args.max_chars, args.eval_batches)
    if args.json:
        print(json.dumps(table, indent=2, default=str))
        return 0
    print(f"{table['params']:,} parameters, {table['steps']} steps; validation loss over {table['eval']}")
    act = {r["format"]: r for r in table["weights_and_activations"]}
    for r in table["weights"]:
        a = act.get(r["format"])
        extra = f"   +activations {a['loss']:.4f} ({a['delta']:+.4f})" if a and r["format"] != "baseline" else ""
        print(f"  {r['format']:12s} weights {r['loss']:.4f} ({r['delta']:+.4f}), SQNR {r['weight_sqnr_db']:6.1f} dB{extra}")
    return 0


def _run_validate(args: argparse.Namespace) -> int:
    from paradigmlab.costmodel.validation import validate, validation_markdown

    result = validate()
    if args.json:
        print(json.dumps({k: v for k, v in result.items()}, indent=2, default=str))
    else:
        print(validation_markdown(result))
    return 0


def _run_hardware(args: argparse.Namespace) -> int:
    from paradigmlab.costmodel.hardware import load_hardware
    from paradigmlab.costmodel.presets import preset_names

    for name in preset_names("hardware"):
        hw = load_hardware(name)
        if hw.kind == "pbit_fpga":
            print(f"{name:12s} p-bit FPGA: {hw.flips_per_ns_low:g}-{hw.flips_per_ns:g} flips/ns")
            continue
        tpw = hw.tops_per_watt("int8")
        peaks = ", ".join(f"{k} {v:g}" for k, v in hw.peak_tflops.items())
        print(f"{name:12s} {hw.kind:9s} INT8 {tpw:.2f} TOPS/W ({hw.power_level} level)"
              + (f"; dense TFLOPS: {peaks}; {hw.memory_bandwidth_gbs:g} GB/s; {hw.memory_gb:g} GB" if peaks else ""))
    return 0


def _run_roofline(args: argparse.Namespace) -> int:
    from paradigmlab.costmodel.cnn import resnet50_costs
    from paradigmlab.costmodel.hardware import load_hardware
    from paradigmlab.costmodel.roofline import plot_roofline
    from paradigmlab.costmodel.transformer import decoder_costs, load_model

    hw = load_hardware(args.hardware)
    pts = []
    for m in args.models:
        cfg = load_model(m)
        pts.append((f"{cfg.name} decode b1", decoder_costs(cfg, "decode", 1, 512, args.dtype)))
        pts.append((f"{cfg.name} prefill 2048", decoder_costs(cfg, "prefill", 1, 2048, args.dtype)))
    pts.append(("resnet-50 b32", resnet50_costs(32, dtype=args.dtype)))
    path = plot_roofline(pts, hw, args.out, args.dtype)
    print(f"roofline written to {path}")
    return 0


def _run_pd(args: argparse.Namespace) -> int:
    from paradigmlab.costmodel.hardware import load_hardware
    from paradigmlab.costmodel.pd import disaggregated
    from paradigmlab.costmodel.transformer import load_model

    res = disaggregated(load_model(args.model), load_hardware(args.prefill_hardware), load_hardware(args.decode_hardware),
                        args.prompt, args.output, args.link_gbs, args.batch, args.dtype)
    if args.json:
        print(json.dumps(res.to_dict(), indent=2))
        return 0
    print(f"TTFT {res.ttft_s * 1e3:.2f} ms = prefill {res.prefill_s * 1e3:.2f} ms ({res.prefill_bound}-bound, "
          f"intensity {res.prefill_intensity:.0f} vs ridge {res.prefill_ridge:.0f}) + KV transfer "
          f"{res.kv_transfer_s * 1e3:.2f} ms ({res.kv_bytes / 1e6:.1f} MB at {args.link_gbs:g} GB/s)")
    print(f"TPOT {res.tpot_s * 1e3:.2f} ms ({res.decode_bound}-bound, intensity {res.decode_intensity:.2f} vs ridge "
          f"{res.decode_ridge:.0f})")
    return 0
