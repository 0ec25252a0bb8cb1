"""GPU tokens/s of the diffusion samplers against AR with a KV cache, on one device, in a few minutes.

Prepared for a lent H200 (the session's device tool); runs on any CUDA GPU, or on CPU with --device cpu to check
the script itself. Models are freshly initialised (speed does not depend on the weights, except the ancestral
sampler's cached steps, which are reported as measured), bf16 autocast on CUDA. Two shapes: the trained CPU shape
and a GPT-2-small-width Qwen3-type model; per shape and batch (1, 16): AR + KV cache, LLaDA (tokens per step 1..16,
blocks of length / 8) with and without the block cache, ancestral (steps = length / tokens per step).

    python benchmarks/gpu_diffusion_h200.py --out "$OUT/diffusion_gpu.json" [--device cuda] [--repeats 3]

Prints each median with the device name; the JSON holds every timing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time

import torch

from paradigmlab.diffusion.mdm import denoiser_config
from paradigmlab.diffusion.sampling import SamplerConfig, sample
from paradigmlab.looped.model import LoopedConfig, LoopedLM
from paradigmlab.measure import machine_info

SHAPES = {"small": dict(d_model=64, layers=2, n_head=2, vocab=16),
          "gpt2-width": dict(d_model=768, layers=12, n_head=12, vocab=50257)}
LENGTH, PROMPT = 256, 32  # blocks of LENGTH / 8, as LLaDA cuts its answers


def timed(model, cfg, batch, prompt, repeats, device):
    out = []
    for r in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        s = sample(model, cfg, batch_size=batch, prompt=prompt, seed=r)
        if device.type == "cuda":
            torch.cuda.synchronize()
        out.append((time.perf_counter() - t0, s.forward_passes))
    secs = statistics.median(t for t, _ in out[1:])
    return {"seconds": secs, "tokens_per_s": batch * cfg.length / secs, "forward_passes": out[1][1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default=None, help="default: cuda; without a GPU the script says so and exits")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--shapes", default="small,gpt2-width")
    ap.add_argument("--length", type=int, default=LENGTH, help="tokens to generate (blocks of length / 8)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    length, block = args.length, max(1, args.length // 8)
    if args.device is None and not torch.cuda.is_available():
        print("no CUDA device here: skipped (--device cpu checks the script itself)")
        return
    device = torch.device(args.device or "cuda")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else machine_info()["processor"]
    amp = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext())
    results = {"device": name, "length": length, "prompt": PROMPT, "block": block, "rows": []}
    torch.manual_seed(0)
    for shape in args.shapes.split(","):
        s = dict(SHAPES[shape])
        V = s.pop("vocab")
        common = dict(block_size=PROMPT + length, block="qwen3", **s)
        ar = LoopedLM(LoopedConfig(vocab_size=V, **common)).to(device).eval()
        mdm = LoopedLM(denoiser_config(V, **common)).to(device).eval()
        settings = [("AR + KV cache", ar, SamplerConfig(method="ar", length=length))]
        for k in (k for k in (1, 2, 4, 8, 16) if k <= block):
            settings += [(f"LLaDA {k}/step", mdm, SamplerConfig(length=length, tokens_per_step=k, block_length=block)),
                         (f"LLaDA + cache {k}/step", mdm,
                          SamplerConfig(length=length, tokens_per_step=k, block_length=block, cache="prefix")),
                         (f"ancestral {k}/step", mdm, SamplerConfig(method="ancestral", length=length,
                                                                    tokens_per_step=k))]
        for batch in (1, 16):
            prompt = torch.randint(0, V, (batch, PROMPT), device="cpu")
            for label, model, cfg in settings:
                with amp:
                    r = timed(model, cfg, batch, prompt, args.repeats, device)
                r.update({"shape": shape, "batch": batch, "sampler": label})
                results["rows"].append(r)
                print(f"{name} {shape} batch {batch:2d} {label:24s} {r['tokens_per_s']:10,.0f} tokens/s "
                      f"({r['forward_passes']} passes, median of {args.repeats})", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
