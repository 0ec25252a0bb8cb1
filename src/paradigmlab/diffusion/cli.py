"""``paradigmlab diffusion``: train, evaluate, generate, study (masked-diffusion and AR LMs on the looped blocks).

Argument parsing and printing only; the runs are in :mod:`paradigmlab.diffusion.experiments`. Several processes:
``torchrun --nproc_per_node N -m paradigmlab.cli diffusion train ...`` (with ``--steps`` and the shape given).
"""

from __future__ import annotations

import argparse

from paradigmlab.cliutil import (JSON_HELP, add_json_option, add_out_option, json_to_stdout, nonnegative_float,
                                 positive_float, positive_int, write_json_option)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``diffusion train | evaluate | generate | study``."""
    p = sub.add_parser("diffusion", help="masked-diffusion LMs against autoregressive ones (same blocks, same data)")
    add_commands(p.add_subparsers(dest="diffusion_command", required=True))


def add_commands(dsub) -> None:
    t = dsub.add_parser("train", help="train a diffusion (mdm) or autoregressive (ar) LM within a time budget",
                        description="Train one model; rerunning the same command resumes it from DIR/ckpt.pt.")
    add_data_option(t)
    t.add_argument("--kind", choices=["mdm", "ar"], default="mdm", help="masked diffusion or autoregressive")
    budget = t.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=positive_float, default=None,
                        help="training time budget (default 3): the model size and step count follow it")
    budget.add_argument("--steps", type=positive_int, default=None, help="a fixed number of steps instead")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--block-size", type=positive_int, default=128, help="context / sequence length")
    t.add_argument("--batch-size", type=positive_int, default=32)
    t.add_argument("--d-model", type=positive_int, default=None, help="default: chosen from the budget")
    t.add_argument("--layers", type=positive_int, default=None, help="default: chosen from the budget")
    t.add_argument("--n-head", type=positive_int, default=None, help="default: chosen from the budget")
    t.add_argument("--head-dim", type=positive_int, default=None,
                   help="width of each head (default: the chosen shape's; d-model / n-head for a shape given by hand)")
    t.add_argument("--rope-base", type=positive_float, default=None, help="RoPE base (default 1e4)")
    t.add_argument("--loops", type=positive_int, default=1, help="a looped model: the layers run this many times")
    t.add_argument("--block", choices=["qwen3", "gpt2"], default="qwen3", help="block type (RoPE or learned positions)")
    t.add_argument("--lr", type=positive_float, default=None, help="peak AdamW learning rate (default 2e-3)")
    t.add_argument("--var-len-prob", type=nonnegative_float, default=0.01,
                   help="mdm: fraction of batches cut to a random length (LLaDA: 1%%)")
    add_estimator_option(t, "the training loss")
    t.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's)")
    t.add_argument("--no-progress", action="store_true")
    add_out_option(t, "folder", "ckpt.pt, run.json and result.json (resumes if present)", required=True)
    add_json_option(t, "the training result")
    t.set_defaults(func=_train)

    e = dsub.add_parser("evaluate", help="NLL (AR, exact) or NELBO (diffusion, an upper bound) in nats per token",
                        epilog=JSON_HELP)
    e.add_argument("run", help="run folder (or its ckpt.pt)")
    add_data_option(e, "held-out tokens: a .npy file (all of it, up to --max-windows windows), 'markov' (a fresh "
                       "stream of the chain) or a text corpus name (its validation split)")
    e.add_argument("--samples", type=positive_int, default=8, help="mdm: (t, mask) draws per window")
    add_estimator_option(e, "the NELBO estimate")
    e.add_argument("--max-windows", type=positive_int, default=512)
    e.add_argument("--seed", type=int, default=0)
    add_json_option(e, "the evaluation")
    e.set_defaults(func=_evaluate)

    g = dsub.add_parser("generate", help="sample from a run with a chosen sampler; prints the samples and their cost",
                        epilog=JSON_HELP)
    g.add_argument("run", help="run folder (or its ckpt.pt)")
    add_sampler_options(g)
    g.add_argument("--prompt", default="", help="text (text models) or whitespace-separated ids (token models)")
    g.add_argument("--batch-size", type=positive_int, default=1)
    g.add_argument("--seed", type=int, default=0)
    add_json_option(g, "the samples and their cost")
    g.set_defaults(func=_generate)

    s = dsub.add_parser("study", help="quality vs speed of every sampler against AR with a KV cache (the verdict)",
                        epilog=JSON_HELP)
    s.add_argument("--mdm", required=True, help="the diffusion model's run folder")
    s.add_argument("--ar", required=True, help="the AR model's run folder (same data, same budget)")
    add_data_option(s, "the corpus both were trained on (prompts come from its held-out tokens)")
    s.add_argument("--judge", default=None, help="an AR run that scores text samples (default: the true source on "
                                                 "'markov', else the --ar model)")
    s.add_argument("--length", type=positive_int, default=64)
    s.add_argument("--prompt-length", type=positive_int, default=8)
    s.add_argument("--samples", type=positive_int, default=32, help="sequences per setting")
    s.add_argument("--tokens-per-step", type=positive_int, nargs="+", default=[1, 2, 4, 8])
    add_out_option(s, "folder", "diffusion_study.json and .png")
    add_json_option(s, "the study")
    s.set_defaults(func=_study)


def add_data_option(p: argparse.ArgumentParser, what: str | None = None) -> None:
    p.add_argument("--data", required=True, metavar="TOKENS.npy|NAME",
                   help=what or "a 1-D integer token array (.npy), 'markov' (built-in, exact entropy rate; "
                                "'markov:N' for N tokens instead of 10^6), or a text corpus: shakespeare, bible, both")
    p.add_argument("--tokenizer", choices=["bytes", "gpt2"], default="bytes",
                   help="text corpora, for training (evaluate and study read text with the model's own)")


def add_estimator_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--estimator", choices=["time", "count"], default="time",
                   help=f"mdm, {what}: draw the time t (MDLM, weight 1/t) or the number of masked tokens "
                        f"(any-order AR form, weight L/|M|: the same bound with less variance)")


def add_sampler_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sampler", choices=["llada", "ancestral", "ar"], default=None,
                   help="default: llada for a diffusion model, ar for an AR model")
    p.add_argument("--length", type=positive_int, default=64, help="tokens to generate")
    p.add_argument("--tokens-per-step", type=positive_int, default=1)
    p.add_argument("--steps", type=positive_int, default=None, help="ancestral: reverse steps")
    p.add_argument("--block-length", type=positive_int, default=None, help="llada: semi-autoregressive block")
    p.add_argument("--cache", choices=["none", "prefix"], default="none", help="llada: block KV cache")
    p.add_argument("--remasking", choices=["low_confidence", "random"], default="low_confidence")
    p.add_argument("--temperature", type=nonnegative_float, default=1.0)


def _train(args: argparse.Namespace) -> int:
    from paradigmlab.diffusion.experiments import RunSpec, train_run

    minutes = args.minutes if args.minutes is not None or args.steps is not None else 3.0
    spec = RunSpec(data=args.data, kind=args.kind, minutes=minutes if args.steps is None else None, steps=args.steps,
                   seed=args.seed, tokenizer=args.tokenizer, block_size=args.block_size, batch_size=args.batch_size,
                   d_model=args.d_model, layers=args.layers, n_head=args.n_head, head_dim=args.head_dim,
                   loops=args.loops, block=args.block, var_len_prob=args.var_len_prob, estimator=args.estimator,
                   **({"lr": args.lr} if args.lr else {}), **({"rope_base": args.rope_base} if args.rope_base else {}))
    r = train_run(spec, args.out, progress=not args.no_progress, threads=args.threads)
    r.pop("model")
    write_json_option(args, r)
    if not json_to_stdout(args) and r.get("rank", 0) == 0:
        c = r["model_config"]
        print(f"{args.kind}: d={c['d_model']} x {c['layers']} layers x {c['loops']} loops, {c['n_head']} heads of "
              f"{c['head_dim']} ({r['params']:,} parameters), "
              f"{r['steps_done']} steps, {r['tokens_seen']:,} tokens, {r['tokens_per_s']:,.0f} tokens/s; "
              f"best val loss {r['best_val_loss']:.4f} nats/token; written to {args.out}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from paradigmlab.diffusion.experiments import evaluate_run

    r = evaluate_run(args.run, args.data, args.samples, args.seed, args.max_windows, args.tokenizer, args.estimator)
    write_json_option(args, r)
    if not json_to_stdout(args):
        line = f"{r['kind']}: {r['nll_per_token']:.4f} +- {r['stderr']:.4f} nats/token"
        if "bits_per_byte" in r:
            line += f" = {r['bits_per_byte']:.4f} bits/byte"
        if "entropy_rate" in r:
            line += f"; entropy rate {r['entropy_rate']:.4f} ({r['excess_over_entropy_rate']:+.1%})"
        print(line)
        print(f"estimator: {r['estimator']}")
        if "by_time" in r:
            b = r["by_time"]
            print(f"NELBO by mask rate t against the exact denoiser ({b['windows']} windows, the same draws; "
                  f"nats/token, the bins sum to {b['model_nelbo']:.4f} and {b['exact_nelbo']:.4f}):")
            print("t bin        model   exact   excess")
            for lo, hi, m, e in zip(b["edges"], b["edges"][1:], b["model"], b["exact"]):
                print(f"{lo:.3f}-{hi:.3f}  {m:.4f}  {e:.4f}  {m - e:+.4f}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from paradigmlab.diffusion.experiments import generate_run

    r = generate_run(args.run, method=args.sampler, length=args.length, tokens_per_step=args.tokens_per_step,
                     steps=args.steps, block_length=args.block_length, cache=args.cache, remasking=args.remasking,
                     temperature=args.temperature, prompt=args.prompt, batch_size=args.batch_size, seed=args.seed)
    write_json_option(args, r)
    if not json_to_stdout(args):
        for text in r["samples"]:
            print(text)
            print("---")
        c = r["cost"]
        print(f"{r['sampler']['method']}: {c['forward_passes']} forward passes, {c['tokens_per_forward']:.2f} tokens "
              f"per pass, {c['tokens_per_s']:,.1f} tokens/s ({c['seconds']:.3f} s)")
    return 0


def _study(args: argparse.Namespace) -> int:
    from pathlib import Path

    from paradigmlab.diffusion.experiments import sampler_study
    from paradigmlab.diffusion.reproduce import plot_study, study_markdown

    r = sampler_study(args.mdm, args.ar, args.data, judge=args.judge, length=args.length,
                      prompt_length=args.prompt_length, n_samples=args.samples,
                      tokens_per_step=tuple(args.tokens_per_step), tokenizer=args.tokenizer)
    write_json_option(args, r)
    if args.out:
        from paradigmlab.measure import write_json_atomic

        Path(args.out).mkdir(parents=True, exist_ok=True)
        write_json_atomic(Path(args.out) / "diffusion_study.json", r)
        plot_study(r, Path(args.out) / "diffusion_study.png")
    if not json_to_stdout(args):
        print(study_markdown(r))
    return 0
