"""Train a :class:`LoopedLM`: AdamW, warmup + cosine, clipping, accumulation, checkpoints, DDP.

Every random draw is a function of ``(seed, step)`` (and of the rank and
micro-step for batches), so a run resumed from a checkpoint continues exactly
as an uninterrupted run would, and ``torchrun --nproc_per_node N`` with
accumulation ``a`` sees the same micro-batches as one process with ``N * a``.

Run under torchrun for several processes::

    torchrun --nproc_per_node 2 -m paradigmlab.looped.train --layers 2 --loops 3 --steps 100 --out runs/x
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from tqdm import tqdm

from paradigmlab.cliutil import add_out_option
from paradigmlab.data.text import TextData, load_text_data
from paradigmlab.looped.model import LoopedConfig, LoopedLM
from paradigmlab.measure import atomic_path, remove_stale_temporaries, write_json_atomic
from paradigmlab.trainer import check_weights, load_torch_file, torchrun_group
from paradigmlab.validate import integer, number, writable_dir

CHECKPOINT = "ckpt.pt"
# Dense bf16 tensor-core peaks (FLOP/s) for MFU on known GPUs.
GPU_PEAK_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12}


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping settings of one training run."""

    steps: int = 1000
    batch_size: int = 16  # sequences per micro-step per process
    grad_accum: int = 1
    lr: float = 1e-3
    min_lr: float | None = None  # None: lr / 10
    warmup_steps: int = 50
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0  # 0 disables clipping
    eval_every: int = 100
    eval_batches: int = 10
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    bf16: bool = True  # autocast to bfloat16 on CUDA
    compile: bool = False
    out_dir: str | None = None  # checkpoints + result JSON go here
    ckpt_every: int | None = None  # None: at every eval
    progress: bool = True
    peak_flops: float | None = None  # None: known GPU table, or a measured CPU matmul peak

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "grad_accum", "eval_every", "eval_batches"):
            integer(getattr(self, name), name, min=1)
        integer(self.warmup_steps, "warmup_steps", min=0)
        integer(self.seed, "seed", min=0)
        if self.ckpt_every is not None:
            integer(self.ckpt_every, "ckpt_every", min=1)
        number(self.lr, "lr", positive=True)
        number(self.weight_decay, "weight_decay", min=0.0)
        number(self.grad_clip, "grad_clip", min=0.0)
        number(self.beta1, "beta1", min=0.0, max=1.0)
        number(self.beta2, "beta2", min=0.0, max=1.0)
        if self.min_lr is None:
            self.min_lr = self.lr / 10
        number(self.min_lr, "min_lr", min=0.0)


def lr_at(step: int, tc: TrainConfig) -> float:
    """Linear warmup to ``lr`` over ``warmup_steps``, then cosine decay to ``min_lr`` at ``steps``."""
    if step < tc.warmup_steps:
        return tc.lr * (step + 1) / tc.warmup_steps
    progress = min(1.0, (step - tc.warmup_steps) / max(1, tc.steps - tc.warmup_steps))
    return tc.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (tc.lr - tc.min_lr)


def make_optimizer(model: LoopedLM, tc: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices and embeddings only (not on norms and biases)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": tc.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=tc.lr, betas=(tc.beta1, tc.beta2), fused=device.type == "cuda")


@dataclass
class TrainResult:
    """What a run measured: loss curves, best validation loss, speed and utilisation."""

    model_config: dict
    train_config: dict
    train_curve: list[tuple[int, float]] = field(default_factory=list)  # (step, train loss) per step
    val_curve: list[tuple[int, float]] = field(default_factory=list)  # (step, val loss) per eval
    best_val_loss: float = float("inf")
    steps_done: int = 0
    tokens_seen: int = 0
    train_time_s: float = 0.0
    step_time_s: float = 0.0  # time inside optimisation steps (no eval, no checkpoints)
    tokens_per_s: float = 0.0
    mfu: float | None = None
    model: LoopedLM | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict (without the model)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "model"}


@dataclass
class _Dist:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


@functools.lru_cache(maxsize=4)
def peak_flops(device_type: str, device_name: str = "") -> float:
    """Peak FLOP/s for MFU: the bf16 table for known GPUs, a measured fp32 matmul rate on CPU."""
    for key, value in GPU_PEAK_FLOPS.items():
        if key in device_name:
            return value
    if device_type == "cuda":
        return 989e12
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def _generator(*parts: int) -> torch.Generator:
    """A torch generator seeded by a tuple of ints (seed, step, micro-batch index, ...)."""
    h = 0
    for p in parts:
        h = (h * 1_000_003 + int(p) + 1) % (2**62)
    return torch.Generator().manual_seed(h)


class NextToken:
    """The autoregressive objective: mean next-token cross-entropy, the model's own loss.

    An objective is what :func:`train` minimises: ``objective(model, x, y, generator) -> loss`` on a batch of
    windows ``x`` and their next tokens ``y``, with ``generator`` (CPU, seeded by seed, step and micro-batch) for
    any randomness of its own, so that resumed and multi-process runs draw the same. ``name`` is recorded in the
    checkpoint; :class:`paradigmlab.diffusion.mdm.MaskedDiffusion` is the other one.
    """

    name = "ar"

    def __call__(self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator):
        return model(x, y)[1]


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: TextData, tc: TrainConfig, block_size: int, device, autocast,
             objective=None) -> float:
    """Mean validation loss (nats/token) over ``eval_batches`` fixed batches (and, for a random objective, fixed
    draws: every evaluation of a run sees the same masks)."""
    objective = objective or NextToken()
    was_training = model.training
    model.eval()
    losses = []
    for i in range(tc.eval_batches):
        x, y = data.batch("val", tc.batch_size, block_size, _generator(tc.seed, -1, i))
        with autocast():
            loss = objective(model, x.to(device), y.to(device), _generator(tc.seed, -1, i, 1))
        losses.append(loss.item())
    model.train(was_training)
    return sum(losses) / len(losses)


def _save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


#: Training options a resumed run may change; any other difference from the checkpoint's is refused
#: (unless ``allow_changes``), since it would silently make a different run than the one recorded.
RESUME_MAY_CHANGE = ("steps", "eval_every", "ckpt_every", "progress", "device", "out_dir", "compile", "peak_flops")
CHECKPOINT_KEYS = ("model", "optimizer", "model_config", "train_config", "result", "tokenizer", "objective")


def read_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> dict:
    """A checkpoint written by :func:`train`, checked before use: loaded with ``weights_only=True`` (tensors
    and plain containers only -- a pickle that would run code is refused), the keys it must have, a valid
    model config, finite weights, counters in range. Every problem is a ``ValueError`` naming the file."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    state = load_torch_file(path, "checkpoint", map_location=device)
    if any(k not in state for k in CHECKPOINT_KEYS):
        have = sorted(state)
        raise ValueError(f"{path}: not a looped LM checkpoint (needs {', '.join(CHECKPOINT_KEYS)}; has {have})")
    try:
        LoopedConfig.from_dict(state["model_config"])
        TrainConfig(**{k: v for k, v in state["train_config"].items() if k != "out_dir"})
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: invalid configuration in the checkpoint ({exc})") from None
    if not isinstance(state["objective"], str) or not state["objective"]:
        raise ValueError(f"{path}: the checkpoint's objective must be a name, got {state['objective']!r}")
    check_weights(state["model"], path)
    r = state["result"]
    steps = state["train_config"]["steps"]
    try:
        integer(r["steps_done"], "steps_done", min=0, max=steps, source=path)
        integer(r["tokens_seen"], "tokens_seen", min=0, source=path)
        number(r["best_val_loss"], "best_val_loss", min=0.0, finite=False, source=path)
        for name in ("train_time_s", "step_time_s"):
            number(r[name], name, min=0.0, source=path)
        for name in ("train_curve", "val_curve"):
            if not isinstance(r[name], list):
                raise ValueError(f"{path}: {name} must be a list")
    except KeyError as exc:
        raise ValueError(f"{path}: the checkpoint's result lacks {exc}") from None
    return state


def train(
    model_config: LoopedConfig,
    tc: TrainConfig,
    data: TextData,
    resume: bool = True,
    stop_at: int | None = None,
    allow_changes: bool = False,
    objective=None,
) -> TrainResult:
    """Train from scratch, or resume from ``out_dir/ckpt.pt``; return the measured :class:`TrainResult`.

    ``objective`` is the loss (:class:`NextToken` by default; see there); its ``name`` is saved in the checkpoint
    and a resume with another objective is refused.

    ``stop_at`` ends the run after that many steps (checkpoint written), as an
    interruption would; calling again with ``resume=True`` finishes it. A resume checks the checkpoint
    (:func:`read_checkpoint`) and refuses training options other than the checkpoint's, except those in
    :data:`RESUME_MAY_CHANGE`, unless ``allow_changes``. A non-finite loss stops the run with an error
    before the update, so the last checkpoint is the last good state.
    """
    if model_config.vocab_size < data.tokenizer.vocab_size:
        raise ValueError(f"vocab_size={model_config.vocab_size} < tokenizer vocabulary {data.tokenizer.vocab_size}")
    objective = objective or NextToken()
    # the torchrun group (gloo on CPU, NCCL on CUDA) is the trainer's: joined here, left when the run ends
    with torchrun_group(tc.device) as (rank, world, device_name):
        return _train_in_group(model_config, tc, data, resume, stop_at, allow_changes, objective,
                               _Dist(rank, world), torch.device(device_name))


def _train_in_group(model_config: LoopedConfig, tc: TrainConfig, data: TextData, resume: bool, stop_at: int | None,
                    allow_changes: bool, objective, rank: _Dist, device: torch.device) -> TrainResult:
    if device.type == "cpu":
        torch.set_flush_denormal(True)  # looped small-init models hit denormals and slow down many times
    torch.manual_seed(tc.seed)
    raw = LoopedLM(model_config).to(device)
    opt = make_optimizer(raw, tc, device)
    res = TrainResult(model_config.to_dict(), asdict(tc))
    ckpt = Path(tc.out_dir) / CHECKPOINT if tc.out_dir else None
    if ckpt is not None and rank.main:
        remove_stale_temporaries(ckpt)  # what a kill -9 during torch.save left behind
    if resume and ckpt is not None and ckpt.exists():
        state = read_checkpoint(ckpt, device)
        if state["model_config"] != model_config.to_dict():
            raise ValueError(f"checkpoint {ckpt} was made with a different model config")
        if state["objective"] != objective.name:
            raise ValueError(f"checkpoint {ckpt} was trained with the {state['objective']!r} objective, "
                             f"not {objective.name!r}")
        if state["tokenizer"] != data.tokenizer.name:
            raise ValueError(f"checkpoint {ckpt} was made with tokenizer {state['tokenizer']!r}, "
                             f"not {data.tokenizer.name!r}")
        changed = {k: (v, getattr(tc, k)) for k, v in state["train_config"].items()
                   if k not in RESUME_MAY_CHANGE and hasattr(tc, k) and getattr(tc, k) != v}
        if changed and not allow_changes:
            diff = ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in changed.items())
            raise ValueError(f"checkpoint {ckpt} was made with other training options ({diff}); resume with the "
                             f"same options, or allow the change explicitly (--allow-resume-changes)")
        if state["result"]["steps_done"] > tc.steps:
            raise ValueError(f"checkpoint {ckpt} has {state['result']['steps_done']} steps done, more than steps={tc.steps}")
        try:
            raw.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise ValueError(f"{ckpt}: weights or optimizer state do not fit the model ({str(exc)[:300]})") from None
        for k in ("train_curve", "val_curve", "best_val_loss", "steps_done", "tokens_seen", "train_time_s", "step_time_s"):
            setattr(res, k, state["result"][k])
        res.train_curve = [tuple(t) for t in res.train_curve]
        res.val_curve = [tuple(t) for t in res.val_curve]
    model: torch.nn.Module = torch.compile(raw) if tc.compile else raw
    if rank.world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    use_bf16 = tc.bf16 and device.type == "cuda"
    autocast = functools.partial(torch.autocast, "cuda", dtype=torch.bfloat16) if use_bf16 else contextlib.nullcontext
    T, B = model_config.block_size, tc.batch_size
    tokens_per_step = B * T * tc.grad_accum * rank.world
    flops_per_token = raw.flops_per_token(T)
    peak = tc.peak_flops or peak_flops(device.type, torch.cuda.get_device_name(device) if device.type == "cuda" else "")
    ckpt_every = tc.ckpt_every or tc.eval_every
    end = tc.steps if stop_at is None else min(stop_at, tc.steps)
    bar = tqdm(total=tc.steps, initial=res.steps_done, disable=not (tc.progress and rank.main), desc="train", unit="step")
    t_start = time.perf_counter() - res.train_time_s
    model.train()
    while res.steps_done < end:
        step = res.steps_done
        lr = lr_at(step, tc)
        for group in opt.param_groups:
            group["lr"] = lr
        torch.manual_seed(tc.seed * 7919 + step)  # model randomness (loop counts, dropout), same on every rank
        t0 = time.perf_counter()
        step_loss = 0.0
        for micro in range(tc.grad_accum):
            x, y = data.batch("train", B, T, _generator(tc.seed, step, rank.rank * tc.grad_accum + micro))
            sync = micro == tc.grad_accum - 1 or rank.world == 1
            with (contextlib.nullcontext() if sync else model.no_sync()), autocast():
                loss = objective(model, x.to(device), y.to(device),
                                 _generator(tc.seed, step, rank.rank * tc.grad_accum + micro, 1))
            (loss / tc.grad_accum).backward()
            step_loss += loss.item() / tc.grad_accum
        if not math.isfinite(step_loss):  # stop before the update: the last checkpoint stays the last good state
            raise ValueError(f"training diverged: loss {step_loss} at step {step + 1}"
                             + (f"; the last checkpoint {ckpt} is kept" if ckpt is not None and ckpt.exists() else ""))
        if tc.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(raw.parameters(), tc.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        dt = time.perf_counter() - t0
        res.steps_done += 1
        res.tokens_seen += tokens_per_step
        res.step_time_s += dt
        res.train_curve.append((res.steps_done, step_loss))
        if res.steps_done % tc.eval_every == 0 or res.steps_done == tc.steps:
            val = evaluate(model, data, tc, T, device, autocast, objective)
            res.val_curve.append((res.steps_done, val))
            res.best_val_loss = min(res.best_val_loss, val)
        tok_s = tokens_per_step / dt
        mfu = flops_per_token * tok_s / peak
        bar.update(1)
        bar.set_postfix(loss=f"{step_loss:.3f}", val=f"{res.best_val_loss:.3f}", tok_s=f"{tok_s:,.0f}", mfu=f"{100 * mfu:.1f}%")
        res.train_time_s = time.perf_counter() - t_start
        if ckpt is not None and rank.main and (res.steps_done % ckpt_every == 0 or res.steps_done == end):
            state = {"model": raw.state_dict(), "optimizer": opt.state_dict(), "model_config": model_config.to_dict(),
                     "train_config": asdict(tc), "result": res.to_dict(), "tokenizer": data.tokenizer.name,
                     "objective": objective.name}
            _save_checkpoint(ckpt, state)
    bar.close()
    res.tokens_per_s = res.tokens_seen / res.step_time_s if res.step_time_s else 0.0
    res.mfu = flops_per_token * res.tokens_per_s / peak
    res.model = raw
    if tc.out_dir and rank.main:
        write_json_atomic(Path(tc.out_dir) / "result.json", res.to_dict())
    return res


def load_checkpoint(path: str | Path, device: str = "cpu") -> tuple[LoopedLM, dict]:
    """Model (eval mode) and the raw checkpoint dict from a file written by :func:`train`."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    state = read_checkpoint(path, device)
    model = LoopedLM(LoopedConfig.from_dict(state["model_config"]))
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise ValueError(f"{path}: weights do not fit the model config ({str(exc)[:300]})") from None
    return model.to(device).eval(), state


# ---------------------------------------------------------------------------- command line


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """Model, data and optimisation options shared by ``paradigmlab looped train`` and torchrun."""
    p.add_argument("--block", default="gpt2", choices=["gpt2", "qwen3"])
    p.add_argument("--layers", type=int, default=2, help="layers in the base block (k)")
    p.add_argument("--loops", type=int, default=3, help="times the block is applied (r)")
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-kv-head", type=int, default=None)
    p.add_argument("--block-size", type=int, default=128, help="context length")
    p.add_argument("--input-injection", default="none", choices=["none", "add", "concat"])
    p.add_argument("--step-embedding", action="store_true")
    p.add_argument("--sandwich-norm", action="store_true")
    p.add_argument("--corpus", default="both", choices=["shakespeare", "bible", "both"])
    p.add_argument("--tokenizer", default="bytes", choices=["bytes", "gpt2"])
    p.add_argument("--max-chars", type=int, default=None, help="cap on training characters")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup-steps", type=int, default=20)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--eval-batches", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--allow-resume-changes", action="store_true",
                   help="resume a checkpoint even if training options (lr, seed, batch size, ...) differ from its own")
    add_out_option(p, "folder", "the checkpoint (ckpt.pt) and result.json (resumes if present)")


def run_from_args(args: argparse.Namespace) -> TrainResult:
    """Build data and configs from parsed arguments and train."""
    if args.out:
        writable_dir(args.out, "--out folder")  # before any work, not after it
    data = load_text_data(args.corpus, args.tokenizer, seed=args.seed, max_chars=args.max_chars)
    mc = LoopedConfig(
        block=args.block, vocab_size=data.tokenizer.vocab_size, block_size=args.block_size, d_model=args.d_model,
        n_head=args.n_head, n_kv_head=args.n_kv_head, layers=args.layers, loops=args.loops,
        input_injection=args.input_injection, step_embedding=args.step_embedding, sandwich_norm=args.sandwich_norm,
    )
    tc = TrainConfig(
        steps=args.steps, batch_size=args.batch_size, grad_accum=args.grad_accum, lr=args.lr,
        warmup_steps=args.warmup_steps, eval_every=args.eval_every, eval_batches=args.eval_batches, seed=args.seed,
        device=args.device, compile=args.compile, out_dir=args.out, progress=not args.no_progress,
    )
    res = train(mc, tc, data, allow_changes=args.allow_resume_changes)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"best val loss {res.best_val_loss:.4f} nats/token = {data.bits_per_byte(res.best_val_loss):.4f} bits/byte; "
              f"{res.tokens_per_s:,.0f} tokens/s; MFU {100 * res.mfu:.2f}%")
    return res


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``python -m paradigmlab.looped.train`` (and torchrun)."""
    p = argparse.ArgumentParser(description="Train a looped Transformer LM (torchrun-aware).")
    add_train_arguments(p)
    run_from_args(p.parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
