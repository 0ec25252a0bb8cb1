"""``paradigmlab looped``: train, reproduce Table 1, generate."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``looped train | table1 | generate``."""
    from paradigmlab.looped.table1 import SCALES
    from paradigmlab.looped.train import add_train_arguments

    p = sub.add_parser("looped", help="looped Transformers (k-layer base block run r times)")
    lsub = p.add_subparsers(dest="looped_command", required=True)

    t = lsub.add_parser("train", help="train one k x r model (use torchrun for several processes)")
    add_train_arguments(t)
    t.set_defaults(func=_train)

    tab = lsub.add_parser("table1", help="reproduce the paper's Table 1 (all rows, several seeds)")
    tab.add_argument("--scale", default="cpu", choices=sorted(SCALES))
    tab.add_argument("--out", default="runs/table1", help="output folder (resumes unfinished runs)")
    tab.set_defaults(func=_table1)

    g = lsub.add_parser("generate", help="sample from a checkpoint with the KV cache")
    g.add_argument("checkpoint", help="ckpt.pt or the run folder holding it")
    g.add_argument("--prompt", default="")
    g.add_argument("--max-new-tokens", type=int, default=200)
    g.add_argument("--temperature", type=float, default=0.8)
    g.add_argument("--top-k", type=int, default=50)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--no-cache", action="store_true", help="recompute the whole context every token")
    g.add_argument("--device", default="cpu")
    g.set_defaults(func=_generate)


def _train(args: argparse.Namespace) -> int:
    from paradigmlab.looped.train import run_from_args

    run_from_args(args)
    return 0


def _table1(args: argparse.Namespace) -> int:
    from pathlib import Path

    from paradigmlab.looped.table1 import run_table1

    run_table1(args.scale, args.out)
    print((Path(args.out) / "table1.md").read_text())
    print(f"written to {args.out}/table1.md, table1.json, table1_loss.png")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from paradigmlab.looped.generate import generate_text

    print(generate_text(args.checkpoint, args.prompt, args.max_new_tokens, args.temperature, args.top_k,
                        args.seed, use_cache=not args.no_cache, device=args.device))
    return 0
