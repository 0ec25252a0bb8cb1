"""Training tokens/s: our 12x1 GPT-2 LoopedLM vs Hugging Face GPT2LMHeadModel, same config, same batch.

Both models get the same weights (ours copied into HF's Conv1D layout, and the
loss of the first batch is checked to agree), the same AdamW, the same batch;
a timed step is forward + backward + clip + optimizer step. On CUDA both run
under bf16 autocast and MFU is reported against the GPU's dense bf16 peak.

    .venv/bin/python benchmarks/looped_vs_hf.py                 # CPU, d=256
    .venv/bin/python benchmarks/looped_vs_hf.py --d-model 768 --block-size 1024 --batch-size 8   # GPU
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
from pathlib import Path

import torch

from paradigmlab.looped.model import LoopedConfig, LoopedLM
from paradigmlab.looped.train import peak_flops
from paradigmlab.measure import machine_info, write_json_atomic

RESULTS = Path(__file__).resolve().parent / "results"


def hf_copy(ours: LoopedLM):
    """GPT2LMHeadModel with the same config and weights as ``ours`` (a loops=1 GPT-2 LoopedLM)."""
    from transformers import GPT2Config, GPT2LMHeadModel

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


def main(argv: list[str] | None = None) -> dict:
    """Run the comparison, print it, save JSON + PNG under benchmarks/results/."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--vocab-size", type=int, default=50257)
    p.add_argument("--block-size", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--steps", type=int, default=5, help="timed steps per model and round")
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds (ours, HF, ours, HF...)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_flush_denormal(True)
    torch.manual_seed(0)
    cfg = LoopedConfig(vocab_size=args.vocab_size, block_size=args.block_size, d_model=args.d_model,
                       n_head=args.n_head, layers=args.layers, loops=1)
    ours = LoopedLM(cfg).to(device)
    hf = hf_copy(ours).to(device)
    x = torch.randint(0, cfg.vocab_size, (args.batch_size, cfg.block_size), device=device)
    y = torch.cat([x[:, 1:], torch.full_like(x[:, :1], -1)], dim=1)  # HF shifts labels inside; same targets
    with torch.no_grad():
        loss_ours, loss_hf = ours(x, y)[1].item(), hf(input_ids=x, labels=x).loss.item()
    use_bf16 = device.type == "cuda"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_bf16 else contextlib.nullcontext
    t_ours, t_hf = [], []
    for r in range(args.rounds):
        t_ours += time_training(ours, x, y, args.steps, 1 if r == 0 else 0, autocast, False, device)
        t_hf += time_training(hf, x, y, args.steps, 1 if r == 0 else 0, autocast, True, device)
    tokens = args.batch_size * cfg.block_size
    flops_tok = ours.flops_per_token(cfg.block_size)
    peak = peak_flops(device.type, torch.cuda.get_device_name(device) if device.type == "cuda" else "")
    res = {
        "machine": machine_info(), "load_average": os.getloadavg(), "config": cfg.to_dict(),
        "batch_size": args.batch_size, "tokens_per_step": tokens, "timed_steps": len(t_ours), "device": str(device),
        "bf16_autocast": use_bf16, "initial_loss": {"ours": loss_ours, "hf": loss_hf},
        "ours": {"median_s": statistics.median(t_ours), "tokens_per_s": tokens / statistics.median(t_ours)},
        "hf": {"median_s": statistics.median(t_hf), "tokens_per_s": tokens / statistics.median(t_hf)},
        "train_flops_per_token": flops_tok, "peak_flops": peak,
    }
    res["ratio_ours_over_hf"] = res["ours"]["tokens_per_s"] / res["hf"]["tokens_per_s"]
    res["mfu"] = {k: flops_tok * res[k]["tokens_per_s"] / peak for k in ("ours", "hf")}
    print(f"machine: {res['machine']['processor']}, {res['machine']['cpu_count']} CPUs, torch threads "
          f"{torch.get_num_threads()}, load average {res['load_average'][0]:.1f}, device {device}")
    print(f"config: GPT-2 12x1, d={cfg.d_model}, heads={cfg.n_head}, vocab={cfg.vocab_size}, context={cfg.block_size}, "
          f"batch={args.batch_size} ({tokens} tokens/step), {len(t_ours)} timed steps each (median)")
    print(f"initial loss ours {loss_ours:.5f} vs HF {loss_hf:.5f} (same weights)")
    for k, name in (("ours", "paradigmlab LoopedLM"), ("hf", "transformers GPT2LMHeadModel")):
        print(f"{name:30s} {res[k]['median_s'] * 1e3:9.1f} ms/step  {res[k]['tokens_per_s']:10,.0f} tokens/s  "
              f"MFU {100 * res['mfu'][k]:.1f}% of {peak / 1e12:.2f} TFLOP/s")
    print(f"ratio ours/HF: {res['ratio_ours_over_hf']:.3f}x (goal >= 1.0x)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    tag = f"looped_vs_hf_{device.type}"
    write_json_atomic(RESULTS / f"{tag}.json", res)
    _plot(res, t_ours, t_hf, RESULTS / f"{tag}.png")
    return res


def _plot(res: dict, t_ours: list[float], t_hf: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tok = res["tokens_per_step"]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.boxplot([[tok / t for t in t_ours], [tok / t for t in t_hf]])
    ax.set_xticks([1, 2], ["paradigmlab\nLoopedLM 12x1", "transformers\nGPT2LMHeadModel"])
    c = res["config"]
    ax.set(ylabel="training tokens/s", title=f"d={c['d_model']}, ctx={c['block_size']}, batch={res['batch_size']}, "
           f"{res['device']}: {res['ratio_ours_over_hf']:.2f}x")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
