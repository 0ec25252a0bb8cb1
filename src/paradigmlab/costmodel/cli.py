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
    v.add_argument("--phase", choices=("decode", "prefill", "both", "cluster"), default="both",
                   help="decode (gpt-fast, A100), prefill (TTFT, per device), both tables (default), or cluster "
                        "(training step time vs published Megatron / Llama 3 / NeMo / DeepSeek-V3 runs)")
    add_json_option(v, "the validation rows and the fitted calibration(s); with both, the decode result's keys "
                       "plus 'prefill'")
    v.set_defaults(func=_run_validate)
    _register_cluster(cs)
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

    if args.phase == "cluster":
        from paradigmlab.costmodel.cluster.validation import cluster_validation_markdown, validate_cluster

        res = validate_cluster()
        write_json_option(args, res)
        if not json_to_stdout(args):
            print(cluster_validation_markdown(res))
        return 0

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
        if hw.is_pbit:
            rate = (f"{hw.flips_per_ns_low:g}-{hw.flips_per_ns:g} flips/ns" if hw.flips_per_ns_low else
                    f"{hw.flips_per_ns:g} flips/ns" if hw.flips_per_ns else "flip rate not published")
            jpf = hw.joules_per_flip()
            print(f"{name:18s} {hw.kind:9s} {rate}"
                  + (f", {jpf:.3g} J/flip" if jpf is not None else ", energy per flip not published")
                  + (f" (ASSUMED: {', '.join(hw.assumed)})" if hw.assumed else ""))
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


# ---------------------------------------------------------------------------- clusters


def _register_cluster(cs: argparse._SubParsersAction) -> None:
    from paradigmlab.costmodel.cluster.training import RECOMPUTE, SCHEDULES

    hw_help = ("cluster preset (dgx-a100-superpod, dgx-h100-superpod, gb200-nvl72, deepseek-h800, meta-h100-roce, "
               "jean-zay-a100), a cluster .json/.toml file, or a GPU with a default cluster (a100-80gb, h100-sxm, "
               "h800, gb200)")
    q = cs.add_parser("plan", help="training on a cluster: the fastest feasible TP/PP/DP/CP/EP plan, or the price of one",
                      epilog=JSON_HELP + " Give --tp/--pp/... to price that plan instead of searching; "
                                         "--deadline-days with --tokens to find the cheapest GPU count.")
    q.add_argument("--model", required=True, help="model preset (llama-3-70b, deepseek-v3, ...) or .json/.toml file")
    q.add_argument("--gpus", type=positive_int, help="GPU count (required unless --deadline-days)")
    q.add_argument("--hardware", "--cluster", dest="hardware", required=True, help=hw_help)
    q.add_argument("--seq", type=positive_int, default=4096, help="sequence length (default 4096)")
    q.add_argument("--batch", type=positive_int, default=None, help="global batch in sequences (default ~4M tokens)")
    q.add_argument("--dtype", default="bf16", choices=("bf16", "fp8"), help="matmul precision")
    q.add_argument("--top", type=positive_int, default=10, help="plans to list")
    for deg in ("tp", "pp", "dp", "cp", "ep"):
        q.add_argument(f"--{deg}", type=positive_int, help=f"{deg.upper()} degree (prices this plan instead of searching)")
    q.add_argument("--microbatch", type=positive_int)
    q.add_argument("--schedule", choices=SCHEDULES)
    q.add_argument("--vp", type=positive_int, help="virtual stages per GPU (interleaved schedule)")
    q.add_argument("--recompute", choices=RECOMPUTE)
    q.add_argument("--zero", type=int, choices=(0, 1, 2, 3))
    q.add_argument("--uneven-stages", action="store_true", help="allow PP that does not divide the layers")
    q.add_argument("--deadline-days", type=positive_float, help="find the cheapest GPU count meeting this deadline")
    q.add_argument("--tokens", type=positive_float, help="training tokens (with --deadline-days)")
    q.add_argument("--gpu-counts", type=positive_int, nargs="+", default=[256, 512, 1024, 2048, 4096, 8192, 16384],
                   help="GPU counts the deadline search tries")
    add_json_option(q, "the plan(s), breakdowns and memory")
    q.add_argument("--png", default=None, help="step-time breakdown of the listed plans")
    mark_output_files(q, "png")
    q.set_defaults(func=_run_plan)
    v = cs.add_parser("serve", help="serving on P/D-disaggregated pools: GPUs per pool for a request rate and "
                                    "TTFT / TPOT targets", epilog=JSON_HELP)
    v.add_argument("--model", required=True)
    v.add_argument("--hardware", "--cluster", dest="hardware", required=True, help=hw_help)
    v.add_argument("--rate", type=positive_float, required=True, help="requests per second")
    v.add_argument("--prompt", type=positive_int, default=2048)
    v.add_argument("--output", type=positive_int, default=256)
    v.add_argument("--ttft-ms", type=positive_float, default=1000.0, help="time-to-first-token target")
    v.add_argument("--tpot-ms", type=positive_float, default=50.0, help="time-per-output-token target")
    v.add_argument("--dtype", default="bf16", help="weight dtype")
    v.add_argument("--kv-dtype", default="bf16")
    add_json_option(v, "both pools")
    v.set_defaults(func=_run_serve)
    c = cs.add_parser("checkpoint", help="checkpoint size and write time, and the Young/Daly interval for a failure rate",
                      epilog=JSON_HELP)
    c.add_argument("--model", required=True)
    c.add_argument("--hardware", "--cluster", dest="hardware", required=True, help=hw_help)
    c.add_argument("--gpus", type=positive_int, required=True)
    c.add_argument("--storage-gbs", type=positive_float, help="parallel file system write bandwidth, GB/s")
    c.add_argument("--gpu-mtbf-hours", type=positive_float, help="mean GPU-hours between job-killing failures")
    c.add_argument("--sync", action="store_true", help="blocking checkpoints (default: asynchronous)")
    add_json_option(c, "the checkpoint plan")
    c.set_defaults(func=_run_checkpoint)


def _run_plan(args: argparse.Namespace) -> int:
    from paradigmlab.costmodel.experiments import deadline_plan, training_plan

    if args.deadline_days is not None:
        if args.tokens is None:
            raise ValueError("--deadline-days needs --tokens (how many tokens to train)")
        res = deadline_plan(args.model, args.hardware, args.tokens, args.deadline_days, args.gpu_counts, args.seq,
                            args.batch, args.dtype)
        write_json_option(args, res)
        if not json_to_stdout(args):
            print(f"{res['model']} on {res['cluster']}: {args.tokens:.3g} tokens within {args.deadline_days:g} days "
                  f"({res['calibration']})")
            for r in res["rows"]:
                print(f"  {r['gpus']:6d} GPUs: " + (r["error"] if "error" in r else
                      f"{r['days']:8.2f} days, {r['gpu_hours']:12,.0f} GPU-h, MFU {r['mfu']:.1%}  {r['plan']}"
                      + ("" if r["meets_deadline"] else "  (misses the deadline)")))
            b = res["best"]
            print(f"cheapest meeting the deadline: {b['gpus']} GPUs, {b['gpu_hours']:,.0f} GPU-h" if b else
                  "no GPU count tried meets the deadline")
        return 0 if res["best"] else 1
    if args.gpus is None:
        raise ValueError("--gpus is required (or --deadline-days with --tokens)")
    given = {k: getattr(args, k) for k in ("tp", "pp", "dp", "cp", "ep", "microbatch", "schedule", "recompute", "zero")
             if getattr(args, k) is not None}
    if args.vp is not None:
        given["virtual_stages"] = args.vp
    if args.uneven_stages:
        given["uneven_stages"] = True
    if given:
        for deg in ("tp", "pp", "cp"):
            given.setdefault(deg, 1)
        given.setdefault("dp", args.gpus // (given["tp"] * given["pp"] * given["cp"]) or 1)
    res = training_plan(args.model, args.gpus, args.hardware, args.seq, args.batch, args.dtype, given or None, args.top)
    steps = res.pop("_steps")
    write_json_option(args, res)
    if args.png and steps:
        from paradigmlab.costmodel.cluster.planner import plot_breakdown

        plot_breakdown(steps, args.png, f"{res['model']} on {args.gpus} x {res['cluster']['gpu']}")
    if json_to_stdout(args):
        return 0
    print(f"{res['model']} ({res['params'] / 1e9:.1f}B) on {args.gpus} GPUs of {res['cluster']['name']}: seq "
          f"{res['seq_len']}, global batch {res['global_batch']}, {res['dtype']}; {res['calibration']}")
    if res["mode"] == "search":
        print(f"searched {res['evaluated']} plans in {res['search_seconds']:.2f} s ({res['plans_per_s']:,.0f}/s); "
              f"{res['feasible']} fit in memory" + (f"; rejected: {res['rejected']}" if res["rejected"] else ""))
    print(f"{'plan':52s} {'s/step':>8s} {'MFU':>6s} {'tok/s/GPU':>10s} {'mem GB':>7s}  compute/recomp/bubble/comm")
    for st in steps:
        b = st.breakdown()
        print(f"{st.plan.label():52s} {st.seconds:8.3f} {st.mfu:6.1%} {st.tokens_per_s_per_gpu:10.0f} "
              f"{st.memory['total'] / 1e9:7.1f}  " + "/".join(f"{b[k] / st.seconds:.0%}" for k in
                                                           ("compute", "recompute", "bubble", "communication")))
        for reason in st.reasons:
            print(f"  NOT FEASIBLE: {reason}")
    if res["mode"] == "search" and not steps:
        print("no plan fits in memory")
        return 1
    return 0 if steps and steps[0].feasible else 1


def _run_serve(args: argparse.Namespace) -> int:
    from paradigmlab.costmodel.experiments import serving_plan

    res = serving_plan(args.model, args.hardware, args.rate, args.prompt, args.output, args.ttft_ms / 1e3,
                       args.tpot_ms / 1e3, args.dtype, args.kv_dtype)
    write_json_option(args, res.to_dict())
    if json_to_stdout(args):
        return 0
    print(f"{res.model} on {res.cluster}: {res.rate_rps:g} req/s, prompt {res.prompt}, output {res.output}; "
          f"targets TTFT {res.ttft_target_s * 1e3:g} ms, TPOT {res.tpot_target_s * 1e3:g} ms ({res.calibration})")
    for pool in (res.prefill, res.decode):
        print(f"  {pool.phase:7s} pool: {pool.replicas} x TP{pool.tp} (batch {pool.batch}) = {pool.gpus} GPUs; "
              f"{'step' if pool.phase == 'prefill' else 'TPOT'} {pool.latency_s * 1e3:.1f} ms, utilisation "
              f"{pool.utilisation:.0%}, memory/GPU {pool.memory_per_gpu / 1e9:.1f} GB")
    print(f"  TTFT {res.ttft_s * 1e3:.1f} ms (KV transfer {res.kv_transfer_s * 1e3:.2f} ms); {res.gpus} GPUs in all")
    return 0


def _run_checkpoint(args: argparse.Namespace) -> int:
    from paradigmlab.costmodel.experiments import checkpointing

    res = checkpointing(args.model, args.hardware, args.gpus, args.storage_gbs, args.gpu_mtbf_hours, not args.sync)
    write_json_option(args, res)
    if json_to_stdout(args):
        return 0
    print(f"{res['model']} on {res['gpus']} GPUs of {res['cluster']}: checkpoint {res['bytes'] / 1e12:.2f} TB, write "
          f"{res['write_s']:.1f} s at {res['storage_write_gbs']:g} GB/s, training stalls {res['stall_s']:.2f} s")
    print(f"  job MTBF {res['job_mtbf_s'] / 3600:.2f} h (GPU MTBF {res['gpu_mtbf_hours']:g} h / {res['gpus']}); "
          f"checkpoint every {res['interval_s'] / 60:.1f} min (Daly; Young {res['young_interval_s'] / 60:.1f} min); "
          f"expected loss {res['wasted_fraction']:.1%} of wall time (restart {res['restart_s']:g} s)")
    return 0
