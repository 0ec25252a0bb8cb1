"""``paradigmlab looped``: train, reproduce Table 1, generate, benchmark against Hugging Face.

Argument parsing and printing only; the runs are in :mod:`paradigmlab.looped.experiments`.
"""

from __future__ import annotations

import argparse

from paradigmlab.cliutil import (JSON_HELP, add_json_option, add_out_option, json_to_stdout, nonnegative_float,
                                 nonnegative_int, positive_int, write_json_option)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``looped train | table1 | generate | bench``."""
    from paradigmlab.looped.table1 import SCALES
    from paradigmlab.looped.train import add_train_arguments

    p = sub.add_parser("looped", help="looped Transformers (k-layer base block run r times)")
    lsub = p.add_subparsers(dest="looped_command", required=True)

    t = lsub.add_parser("train", help="train one k x r model (use torchrun for several processes)")
    add_train_arguments(t)
    t.set_defaults(func=_train)

    tab = lsub.add_parser("table1", help="reproduce the paper's Table 1 (all rows, several seeds)")
    tab.add_argument("--scale", default="cpu", choices=sorted(SCALES))
    add_out_option(tab, "folder", "table1.md, table1.json, table1_loss.png and one checkpoint folder per run "
                   "(resumes unfinished runs)", default="runs/table1")
    tab.set_defaults(func=_table1)

    g = lsub.add_parser("generate", help="sample from a checkpoint with the KV cache")
    g.add_argument("checkpoint", help="ckpt.pt or the run folder holding it")
    g.add_argument("--prompt", default="")
    g.add_argument("--max-new-tokens", type=positive_int, default=200)
    g.add_argument("--temperature", type=nonnegative_float, default=0.8)
    g.add_argument("--top-k", type=nonnegative_int, default=50)
    g.add_argument("--seed", type=nonnegative_int, default=0)
    g.add_argument("--no-cache", action="store_true", help="recompute the whole context every token")
    g.add_argument("--device", default="cpu")
    g.set_defaults(func=_generate)

    b = lsub.add_parser("bench", help="training tokens/s of our 12x1 GPT-2 vs Hugging Face GPT2LMHeadModel "
                        "(benchmarks/looped_vs_hf.py)", epilog=JSON_HELP)
    b.add_argument("--d-model", type=int, default=256)
    b.add_argument("--n-head", type=int, default=4)
    b.add_argument("--layers", type=int, default=12)
    b.add_argument("--vocab-size", type=int, default=50257)
    b.add_argument("--block-size", type=int, default=128)
    b.add_argument("--batch-size", type=int, default=8)
    b.add_argument("--steps", type=positive_int, default=5, help="timed steps per model and round")
    b.add_argument("--rounds", type=positive_int, default=2, help="alternating rounds (ours, HF, ours, HF...)")
    b.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    add_out_option(b, "folder", "looped_vs_hf_<device>.json and .png")
    add_json_option(b, "the timings")
    b.set_defaults(func=_bench)


def _train(args: argparse.Namespace) -> int:
    from paradigmlab.looped.experiments import train_run

    train_run(args)
    return 0


def _table1(args: argparse.Namespace) -> int:
    from pathlib import Path

    from paradigmlab.looped.experiments import table1
    from paradigmlab.looped.table1 import table1_markdown

    result = table1(args.scale, args.out)
    print(table1_markdown(result))
    print(f"written to {Path(args.out) / 'table1.md'}, table1.json, table1_loss.png")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from paradigmlab.looped.experiments import generate_text

    print(generate_text(args.checkpoint, args.prompt, args.max_new_tokens, args.temperature, args.top_k,
                        args.seed, use_cache=not args.no_cache, device=args.device))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    from paradigmlab.looped.experiments import compare_with_hf
    from paradigmlab.looped.reproduce import plot_hf_comparison
    from paradigmlab.measure import write_json_atomic

    res = compare_with_hf(args.d_model, args.n_head, args.layers, args.vocab_size, args.block_size, args.batch_size,
                          args.steps, args.rounds, args.device)
    write_json_option(args, res)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        tag = f"looped_vs_hf_{res['device'].split(':')[0]}"
        write_json_atomic(out / f"{tag}.json", res)
        plot_hf_comparison(res, out / f"{tag}.png")
    if json_to_stdout(args):
        return 0
    c, m, tokens, peak = res["config"], res["machine"], res["tokens_per_step"], res["peak_flops"]
    print(f"machine: {m['processor']}, {m['cpu_count']} CPUs, torch threads {res['torch_threads']}, "
          f"load average {res['load_average'][0]:.1f}, device {res['device']}")
    print(f"config: GPT-2 12x1, d={c['d_model']}, heads={c['n_head']}, vocab={c['vocab_size']}, context={c['block_size']}, "
          f"batch={res['batch_size']} ({tokens} tokens/step), {res['timed_steps']} timed steps each (median)")
    print(f"initial loss ours {res['initial_loss']['ours']:.5f} vs HF {res['initial_loss']['hf']:.5f} (same weights)")
    for k, name in (("ours", "paradigmlab LoopedLM"), ("hf", "transformers GPT2LMHeadModel")):
        print(f"{name:30s} {res[k]['median_s'] * 1e3:9.1f} ms/step  {res[k]['tokens_per_s']:10,.0f} tokens/s  "
              f"MFU {100 * res['mfu'][k]:.1f}% of {peak / 1e12:.2f} TFLOP/s")
    print(f"ratio ours/HF: {res['ratio_ours_over_hf']:.3f}x (goal >= 1.0x)")
    if args.out:
        print(f"written to {Path(args.out) / tag}.json and .png")
    return 0
