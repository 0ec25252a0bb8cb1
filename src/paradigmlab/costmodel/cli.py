"""``paradigmlab costmodel`` (alias ``cost``): FLOPs, bytes, intensity and roofline time of a model on a device;
format SQNR of tensors. Argument parsing and printing only; the runs are in :mod:`paradigmlab.costmodel.experiments`."""

from __future__ import annotations

import argparse

from paradigmlab.cliutil import (JSON_HELP, add_json_option, add_out_option, json_to_stdout,
                                 mark_output_files, positive_float, positive_int, write_json_option)
from paradigmlab.costmodel.dtypes import known_dtypes


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``costmodel`` (alias ``cost``) with its sub-commands."""
    p = sub.add_parser("costmodel", aliases=["cost"],
                       help="cost model: FLOPs, bytes, arithmetic intensity, roofline, number formats")
    cs = p.add_subparsers(dest="cost_command", required=True)
    for phase in ("decode", "prefill", "train"):
        q = cs.add_parser(phase, help=f"cost of one {phase} step", epilog=JSON_HELP)
        q.add_argument("--model", required=True, help="preset name (e.g. llama-2-7b) or .json/.toml file")
        q.add_argument("--hardware", required=True, help="preset name (e.g. a100-80gb) or .json/.toml file")
        q.add_argument("--dtype", default="bf16", help=f"weight dtype ({', '.join(known_dtypes())})")
        q.add_argument("--kv-dtype", default=None, help="KV-cache dtype (default: activation dtype)")
        q.add_argument("--act-dtype", default="bf16", help="activation dtype")
        q.add_argument("--batch", type=positive_int, default=1, help="sequences per step")
        q.add_argument("--context", type=positive_int, default=512,
                       help="cached tokens (decode), prompt length (prefill) or sequence length (train)")
        q.add_argument("--tp", type=positive_int, default=1, help="tensor-parallel degree")
        q.add_argument("--weight-reuse", default="auto", choices=("auto", "per_loop", "per_step"),
                       help="looped models: re-read the shared block every loop, once per step, or decide by on-chip size")
        q.add_argument("--calibrated", action="store_true",
                       help="use efficiencies fitted to the bundled measurements of this phase for this device "
                            "(prefill: published TTFT points; decode and train: gpt-fast decode)")
        q.add_argument("--bw-eff", type=float, help="bandwidth efficiency (0, 1]")
        q.add_argument("--compute-eff", type=float, help="compute efficiency (0, 1]")
        q.add_argument("--overhead-us", type=float, help="fixed cost per kernel, microseconds")
        q.add_argument("--layers", action="store_true", help="print the per-operation table (and keep it in the JSON)")
        add_json_option(q, "the costs and the prediction")
        q.set_defaults(func=_run_step, phase=phase)
    f = cs.add_parser("formats", help="SQNR of every number format on the tensors of a .npy/.npz/.pt file",
                      epilog=JSON_HELP)
    f.add_argument("tensor_file")
    f.add_argument("--formats", nargs="*", help="subset of formats (default: all)")
    add_json_option(f, "the SQNR per tensor and format")
    f.set_defaults(func=_run_formats)
    lq = cs.add_parser("quantize-lm", help="validation-loss change of a looped LM checkpoint per number format",
                       epilog=JSON_HELP)
    lq.add_argument("checkpoint", help="ckpt.pt or the run folder holding it (paradigmlab looped train --out)")
    lq.add_argument("--corpus", default="both", choices=["shakespeare", "bible", "both"],
                    help="corpus the checkpoint was trained on (rebuilds the same validation split)")
    lq.add_argument("--max-chars", type=int, default=None, help="as given to training, if any")
    lq.add_argument("--eval-batches", type=int, default=None, help="default: the training run's eval_batches")
    add_json_option(lq, "the loss table")
    lq.set_defaults(func=_run_quantize_lm)
    v = cs.add_parser("validate", help="predictions vs published measurements: gpt-fast decode, prefill / TTFT",
                      epilog=JSON_HELP)
    v.add_argument("--phase", choices=("decode", "prefill", "both"), default="both",
                   help="decode (gpt-fast, A100), prefill (TTFT, per device) or both tables (default)")
    add_json_option(v, "the validation rows and the fitted calibration(s); with both, the decode result's keys "
                       "plus 'prefill'")
    v.set_defaults(func=_run_validate)
    h = cs.add_parser("hardware", help="list hardware presets with peaks and TOPS/W")
    h.set_defaults(func=_run_hardware)
    r = cs.add_parser("roofline", help="roofline PNG with models placed on it (decode batch 1 and prefill)")
    r.add_argument("--hardware", default="a100-80gb")
    r.add_argument("--models", nargs="*", default=["gpt2", "llama-2-7b", "llama-2-70b", "mixtral-8x7b", "deepseek-v3"])
    r.add_argument("--dtype", default="bf16")
    add_out_option(r, "file", "the roofline PNG", default="roofline.png")
    r.set_defaults(func=_run_roofline)
    d = cs.add_parser("pd", help="prefill/decode disaggregation: TTFT, TPOT, KV transfer", epilog=JSON_HELP)
    d.add_argument("--model", required=True)
    d.add_argument("--prefill-hardware", required=True)
    d.add_argument("--decode-hardware", required=True)
    d.add_argument("--prompt", type=positive_int, default=2048)
    d.add_argument("--output", type=positive_int, default=256)
    d.add_argument("--batch", type=positive_int, default=1)
    d.add_argument("--dtype", default="bf16")
    d.add_argument("--link-gbs", type=positive_float, default=50.0, help="link between the pools, GB/s (default 400 Gb/s NIC)")
    add_json_option(d, "TTFT, TPOT and their parts")
    d.set_defaults(func=_run_pd)
    b = cs.add_parser("bench", help="speed of the format emulation next to ml_dtypes and gfloat (benchmarks/costmodel_formats.py)",
                      epilog=JSON_HELP)
    b.add_argument("--n", type=positive_int, default=1 << 20, help="elements per tensor")
    b.add_argument("--gfloat-n", type=int, default=32 * 64, help="elements for the slow gfloat reference")
    b.add_argument("--repeats", type=positive_int, default=5)
    add_json_option(b, "the timings")
    b.add_argument("--png", default=None, help="bar chart (default: next to the --json file, if one is given)")
    mark_output_files(b, "png")
    b.set_defaults(func=_run_bench)


def _run_step(args: argparse.Namespace) -> int:
    from paradigmlab.costmodel.experiments import step_cost

    res = step_cost(args.model, args.hardware, args.phase, args.batch, args.context, args.dtype, args.kv_dtype,
                    args.act_dtype, args.tp, args.weight_reuse, args.calibrated, args.bw_eff, args.compute_eff,
                    None if args.overhead_us is None else args.overhead_us * 1e-6)
    write_json_option(args, res.to_dict(ops=args.layers))
    if json_to_stdout(args):
        return 0
    cfg, hw, costs, pred, mem = res.model, res.hardware, res.costs, res.prediction, res.memory_bytes_per_device
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
        print(f"  looped: {cfg.n_layers} layers x {cfg.loops} loops; weights {costs.weight_reuse} ({res.weight_reuse_reason})")
    print(f"  FLOPs {costs.flops / 1e9:.3f} G; bytes {costs.bytes / 1e9:.3f} GB (weights {costs.weight_bytes / 1e9:.3f}, "
          f"activations {costs.act_bytes / 1e9:.3f}, KV {costs.kv_bytes / 1e9:.3f}); intensity {costs.intensity:.2f} FLOP/B "
          f"(ridge {hw.ridge_point(args.dtype):.0f})")
    print(f"  physical floor: memory {pred.memory_floor_s * 1e3:.3f} ms, compute {pred.compute_floor_s * 1e3:.3f} ms "
          f"({pred.precision}), comm {pred.comm_s * 1e3:.3f} ms -> {pred.floor_s * 1e3:.3f} ms")
    print(f"  prediction: {pred.seconds * 1e3:.3f} ms per step ({pred.bound}-bound, {tokens / pred.seconds:.1f} tokens/s); "
          f"implied MBU {pred.mbu:.1%}, MFU {pred.mfu:.1%}; calibration {pred.calibration}")
    return 0


def _run_formats(args: argparse.Namespace) -> int:
    from paradigmlab.costmodel.experiments import tensor_file_sqnr

    report = tensor_file_sqnr(args.tensor_file, args.formats)
    write_json_option(args, {name: t["rows"] for name, t in report.items()})
    if json_to_stdout(args):
        return 0
    for name, t in report.items():
        print(f"{name} {t['shape']}")
        for r in t["rows"]:
            print(f"  {r['format']:12s} SQNR {r['sqnr_db']:7.2f} dB   max |err| {r['max_abs_err']:.3e}")
    return 0


def _run_quantize_lm(args: argparse.Namespace) -> int:
    from paradigmlab.costmodel.lmquant import checkpoint_format_table
    from paradigmlab.costmodel.experiments import json_ready

    table = checkpoint_format_table(args.checkpoint, args.corpus, args.max_chars, args.eval_batches)
    write_json_option(args, json_ready(table))
    if json_to_stdout(args):
        return 0
    print(f"{table['params']:,} parameters, {table['steps']} steps; validation loss over {table['eval']}")
    act = {r["format"]: r for r in table["weights_and_activations"]}
    for r in table["weights"]:
        a = act.get(r["format"])
        extra = f"   +activations {a['loss']:.4f} ({a['delta']:+.4f})" if a and r["format"] != "baseline" else ""
        print(f"  {r['format']:12s} weights {r['loss']:.4f} ({r['delta']:+.4f}), SQNR {r['weight_sqnr_db']:6.1f} dB{extra}")
    return 0


def _run_validate(args: argparse.Namespace) -> int:
    from paradigmlab.costmodel.experiments import json_ready
    from paradigmlab.costmodel.validation import prefill_markdown, validate, validate_prefill, validation_markdown

    decode = validate() if args.phase in ("decode", "both") else None
    prefill = validate_prefill() if args.phase in ("prefill", "both") else None
    # The decode result stays the top level (what the command printed before it had --phase).
    result = {**decode, "prefill": prefill} if decode and prefill else (decode or prefill)
    write_json_option(args, json_ready(result))
    if not json_to_stdout(args):
        print("\n".join(md(r) for md, r in ((validation_markdown, decode), (prefill_markdown, prefill)) if r))
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
    from paradigmlab.costmodel.experiments import roofline_points
    from paradigmlab.costmodel.hardware import load_hardware
    from paradigmlab.costmodel.roofline import plot_roofline

    path = plot_roofline(roofline_points(args.models, args.dtype), load_hardware(args.hardware), args.out, args.dtype)
    print(f"roofline written to {path}")
    return 0


def _run_pd(args: argparse.Namespace) -> int:
    from paradigmlab.costmodel.hardware import load_hardware
    from paradigmlab.costmodel.pd import disaggregated
    from paradigmlab.costmodel.transformer import load_model

    res = disaggregated(load_model(args.model), load_hardware(args.prefill_hardware), load_hardware(args.decode_hardware),
                        args.prompt, args.output, args.link_gbs, args.batch, args.dtype)
    write_json_option(args, res.to_dict())
    if json_to_stdout(args):
        return 0
    print(f"TTFT {res.ttft_s * 1e3:.2f} ms = prefill {res.prefill_s * 1e3:.2f} ms ({res.prefill_bound}-bound, "
          f"intensity {res.prefill_intensity:.0f} vs ridge {res.prefill_ridge:.0f}) + KV transfer "
          f"{res.kv_transfer_s * 1e3:.2f} ms ({res.kv_bytes / 1e6:.1f} MB at {args.link_gbs:g} GB/s)")
    print(f"TPOT {res.tpot_s * 1e3:.2f} ms ({res.decode_bound}-bound, intensity {res.decode_intensity:.2f} vs ridge "
          f"{res.decode_ridge:.0f})")
    return 0


def _run_bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    from paradigmlab.costmodel.experiments import format_throughput
    from paradigmlab.costmodel.reproduce import plot_format_throughput

    quiet = json_to_stdout(args)
    res = format_throughput(args.n, args.gfloat_n, args.repeats, progress=not quiet)
    write_json_option(args, res)
    png = args.png or (str(Path(args.json).with_suffix(".png")) if args.json not in (None, "-") else None)
    if png:
        plot_format_throughput(res["rows"], png)
    if not quiet:
        m = res["machine"]
        print(f"machine: {m['processor']}, {m['cpu_count']} CPUs; repeats {args.repeats}"
              + (f"; written to {args.json} and {png}" if png else ""))
    return 0
