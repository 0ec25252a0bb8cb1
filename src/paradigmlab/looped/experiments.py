"""The looped Transformer's runs, shared by ``paradigmlab looped``, the report section and the benchmarks.

- :func:`table1`: the paper's Table 1 at one scale (``looped table1``, the report's section); the
  experiment itself lives in :mod:`paradigmlab.looped.table1` (rows, scales, statistics, Markdown).
- :func:`train_run`: one k x r model from the command line's options (``looped train``).
- :func:`generate_text`: sampling from a checkpoint (``looped generate``).
- :func:`compare_with_hf`: training tokens/s of our 12x1 GPT-2 next to Hugging Face's
  ``GPT2LMHeadModel`` with the same weights (``looped bench``, ``benchmarks/looped_vs_hf.py``).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from pathlib import Path

import torch

from paradigmlab.looped.generate import generate_text
from paradigmlab.looped.model import LoopedConfig, LoopedLM
from paradigmlab.looped.table1 import PAPER_ROWS, SCALES, Row, Scale, run_table1
from paradigmlab.looped.train import peak_flops, run_from_args
from paradigmlab.measure import machine_info

__all__ = ["PAPER_ROWS", "SCALES", "compare_with_hf", "generate_text", "hf_copy", "table1", "train_run"]

train_run = run_from_args


def table1(scale: str | Scale, out_dir: str | Path, rows: tuple[Row, ...] = PAPER_ROWS, progress: bool = True) -> dict:
    """Train every row x seed of Table 1 at ``scale`` into ``out_dir`` (resumable); see :func:`run_table1`.

    Writes ``table1.md``, ``table1.json`` and ``table1_loss.png`` there and returns the JSON-ready result.
    """
    return run_table1(scale, out_dir, rows, progress)


def hf_copy(ours: LoopedLM):
    """GPT2LMHeadModel with the same config and weights as ``ours`` (a loops=1 GPT-2 LoopedLM)."""
    try:
        from transformers import GPT2Config, GPT2LMHeadModel
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(f"{exc}: the comparison needs the bench extra (pip install -e '.[bench]')") from exc

    c = ours.config
    hf = GPT2LMHeadModel(GPT2Config(vocab_size=c.vocab_size, n_positions=c.block_size, n_embd=c.d_model,
                                    n_layer=c.layers, n_head=c.n_head, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0))
    sd = {}
    for name, p in ours.state_dict().items():
        if name == "lm_head.weight":
            sd[name] = p
            continue
        conv = any(name.endswith(s) for s in ("c_attn.weight", "c_proj.weight", "c_fc.weight"))
        sd["transformer." + name.replace("blocks.", "h.")] = p.t().contiguous() if conv else p
    hf.load_state_dict(sd, strict=False)
    return hf


def time_training(model, x, y, steps: int, warmup: int, autocast, is_hf: bool, device) -> list[float]:
    """Seconds per training step (forward, backward, clip, AdamW) over ``steps`` timed steps."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    model.train()
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        with autocast():
            loss = model(input_ids=x, labels=x).loss if is_hf else model(x, y)[1]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


def compare_with_hf(d_model: int = 256, n_head: int = 4, layers: int = 12, vocab_size: int = 50257,
                    block_size: int = 128, batch_size: int = 8, steps: int = 5, rounds: int = 2,
                    device: str | None = None) -> dict:
    """Training tokens/s of our 12x1 GPT-2 LoopedLM vs Hugging Face GPT2LMHeadModel, same config, weights, batch.

    A timed step is forward + backward + clip + AdamW step; the models alternate for ``rounds`` rounds of
    ``steps`` steps (one warm-up step each in the first round). On CUDA both run under bf16 autocast and
    MFU is against the GPU's dense bf16 peak. The result holds the per-step times (``step_s``) too.
    """
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cpu":
        torch.set_flush_denormal(True)
    torch.manual_seed(0)
    cfg = LoopedConfig(vocab_size=vocab_size, block_size=block_size, d_model=d_model, n_head=n_head, layers=layers,
                       loops=1)
    ours = LoopedLM(cfg).to(device)
    hf = hf_copy(ours).to(device)
    x = torch.randint(0, cfg.vocab_size, (batch_size, cfg.block_size), device=device)
    y = torch.cat([x[:, 1:], torch.full_like(x[:, :1], -1)], dim=1)  # HF shifts labels inside; same targets
    with torch.no_grad():
        loss_ours, loss_hf = ours(x, y)[1].item(), hf(input_ids=x, labels=x).loss.item()
    use_bf16 = device.type == "cuda"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_bf16 else contextlib.nullcontext
    t_ours, t_hf = [], []
    for r in range(rounds):
        t_ours += time_training(ours, x, y, steps, 1 if r == 0 else 0, autocast, False, device)
        t_hf += time_training(hf, x, y, steps, 1 if r == 0 else 0, autocast, True, device)
    tokens = batch_size * cfg.block_size
    flops_tok = ours.flops_per_token(cfg.block_size)
    peak = peak_flops(device.type, torch.cuda.get_device_name(device) if device.type == "cuda" else "")
    res = {
        "machine": machine_info(), "load_average": os.getloadavg(), "config": cfg.to_dict(),
        "batch_size": batch_size, "tokens_per_step": tokens, "timed_steps": len(t_ours), "device": str(device),
        "bf16_autocast": use_bf16, "initial_loss": {"ours": loss_ours, "hf": loss_hf},
        "ours": {"median_s": statistics.median(t_ours), "tokens_per_s": tokens / statistics.median(t_ours)},
        "hf": {"median_s": statistics.median(t_hf), "tokens_per_s": tokens / statistics.median(t_hf)},
        "train_flops_per_token": flops_tok, "peak_flops": peak,
    }
    res["ratio_ours_over_hf"] = res["ours"]["tokens_per_s"] / res["hf"]["tokens_per_s"]
    res["mfu"] = {k: flops_tok * res[k]["tokens_per_s"] / peak for k in ("ours", "hf")}
    res["torch_threads"] = torch.get_num_threads()
    res["step_s"] = {"ours": t_ours, "hf": t_hf}
    return res
