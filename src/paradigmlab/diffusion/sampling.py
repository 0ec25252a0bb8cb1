"""Samplers: masked-diffusion (ancestral MDLM, LLaDA low-confidence remasking, block KV cache) and AR with a KV cache.

Every sampler takes a :class:`SamplerConfig` (a value object: method, length, tokens per step, blocks, cache,
temperature) and returns :class:`Samples`: the tokens and what they cost (denoiser forward passes, positions
computed, seconds). Tokens per step is the knob the paper's claim turns on: an AR model makes one token per forward
pass; a diffusion model makes ``tokens_per_step`` per pass, each pass over the whole sequence (or, with the block
cache, over the current block and what follows it).

- ``ancestral`` (MDLM, Sahoo et al. 2024, Alg. 2): ``steps`` (default ``ceil(length / tokens_per_step)``) reverse steps from
  t = 1 to 0 on the linear schedule; a masked token is revealed with probability ``(t - s) / t``, drawn from the
  denoiser. The denoiser does not see ``t``, so a step in which nothing was revealed needs no new forward pass:
  its logits are the previous ones (the cached-step trick, which is why ancestral sampling with many steps costs
  about ``length`` passes at most).
- ``llada`` (Nie et al. 2025, Alg. 4-5): the answer is cut into blocks of ``block_length`` generated left to right
  (semi-autoregressive); in each block ``block_length / tokens_per_step`` steps; every step predicts all masked
  positions and keeps the ``tokens_per_step`` most confident ones in the current block (``remasking="random"``:
  random ones), the rest stay masked.
- ``cache="prefix"`` (Fast-dLLM's prefix cache, Wu et al. 2025): keys and values of the finished blocks are kept;
  each step runs the current block and the masked suffix only. Approximate (a bidirectional model's prefix
  keys would change as the suffix is revealed): its quality cost is measured next to its speed.
- ``ar``: next-token sampling with the KV cache (:meth:`paradigmlab.looped.model.LoopedLM.generate`).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import torch

from paradigmlab.diffusion.mdm import data_vocab, denoiser_logits, mask_id
from paradigmlab.looped.model import KVCache, LoopedLM
from paradigmlab.validate import InputError, integer, number

METHODS = ("ancestral", "llada", "ar")
CACHES = ("none", "prefix")
REMASKING = ("low_confidence", "random")


@dataclass(frozen=True)
class SamplerConfig:
    """How to generate ``length`` tokens after an optional prompt."""

    method: str = "llada"
    length: int = 64
    tokens_per_step: int = 1
    block_length: int | None = None  # llada: None = one block (the whole answer)
    cache: str = "none"
    remasking: str = "low_confidence"
    temperature: float = 1.0  # 0: argmax (LLaDA's default for its benchmarks)
    steps: int | None = None  # ancestral only: reverse steps (default ceil(length / tokens_per_step)); MDLM
    #                           samples with more steps than tokens, where the cached-step trick pays

    @property
    def ancestral_steps(self) -> int:
        return self.steps or math.ceil(self.length / self.tokens_per_step)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.cache not in CACHES:
            raise InputError(f"cache must be one of {CACHES}, got {self.cache!r}")
        if self.remasking not in REMASKING:
            raise InputError(f"remasking must be one of {REMASKING}, got {self.remasking!r}")
        integer(self.length, "length", min=1)
        integer(self.tokens_per_step, "tokens_per_step", min=1)
        if self.tokens_per_step > self.length:
            raise InputError(f"tokens_per_step={self.tokens_per_step} is larger than the length {self.length}")
        number(self.temperature, "temperature", min=0.0)
        if self.block_length is not None:
            integer(self.block_length, "block_length", min=1, max=self.length)
            if self.length % self.block_length:
                raise InputError(f"length {self.length} is not a multiple of block_length {self.block_length}")
            if self.tokens_per_step > self.block_length:
                raise InputError(f"tokens_per_step={self.tokens_per_step} is larger than block_length "
                                 f"{self.block_length}")
        if self.steps is not None:
            integer(self.steps, "steps", min=1)
            if self.method != "ancestral":
                raise InputError("steps is the ancestral sampler's; llada takes tokens_per_step (per block)")
        if self.method == "ar" and self.tokens_per_step != 1:
            raise InputError("the AR sampler makes one token per step (tokens_per_step=1)")
        if self.cache == "prefix" and self.method != "llada":
            raise InputError("the block KV cache (cache='prefix') works on llada's semi-autoregressive blocks")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Samples:
    """Generated tokens ``[B, length]`` (prompt excluded) and their cost."""

    tokens: torch.Tensor
    forward_passes: int  # denoiser / LM calls
    positions_computed: int  # sum over calls of batch x positions run through the model
    seconds: float
    config: SamplerConfig

    @property
    def tokens_per_second(self) -> float:
        return self.tokens.numel() / self.seconds if self.seconds > 0 else float("inf")

    def cost(self) -> dict:
        return {"forward_passes": self.forward_passes, "positions_computed": self.positions_computed,
                "seconds": self.seconds, "tokens_per_s": self.tokens_per_second,
                "tokens_per_forward": self.tokens.numel() / max(1, self.forward_passes * self.tokens.size(0))}


def _draw(logp: torch.Tensor, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
    """Token ids from log-probabilities ``[..., V]`` at ``temperature`` (0: argmax)."""
    if temperature == 0:
        return logp.argmax(dim=-1)
    probs = torch.softmax(logp / temperature, dim=-1)
    flat = probs.reshape(-1, probs.size(-1))
    return torch.multinomial(flat, 1, generator=generator).view(probs.shape[:-1])


def _check_model(model: LoopedLM, cfg: SamplerConfig, prompt: torch.Tensor) -> None:
    diffusion = not model.config.causal
    if diffusion and cfg.method == "ar":
        raise InputError("method 'ar' needs a causal (autoregressive) model; this is a diffusion model")
    if not diffusion and cfg.method != "ar":
        raise InputError(f"method {cfg.method!r} needs a diffusion model; this model is autoregressive (use 'ar')")
    total = prompt.size(1) + cfg.length
    if diffusion and total > model.config.block_size:
        raise InputError(f"prompt ({prompt.size(1)}) + length ({cfg.length}) = {total} exceeds the model's context "
                         f"of {model.config.block_size} tokens")


@torch.no_grad()
def sample(model: LoopedLM, cfg: SamplerConfig, batch_size: int = 1, prompt: torch.Tensor | None = None,
           seed: int = 0) -> Samples:
    """Generate ``batch_size`` continuations of ``prompt`` (``[B, P]`` or ``[P]`` ids; default none) with ``cfg``."""
    integer(batch_size, "batch_size", min=1)
    vocab = data_vocab(model)
    if prompt is None:
        prompt = torch.zeros(batch_size, 0, dtype=torch.long)
    prompt = torch.as_tensor(prompt).long()
    if prompt.dim() == 1:
        prompt = prompt[None].expand(batch_size, -1)
    if prompt.dim() != 2 or prompt.size(0) != batch_size:
        raise InputError(f"prompt must be [P] or [batch_size={batch_size}, P], got shape {tuple(prompt.shape)}")
    if prompt.numel() and (prompt.min() < 0 or prompt.max() >= vocab):
        raise InputError(f"prompt ids must be in [0, {vocab})")
    _check_model(model, cfg, prompt)
    model.eval()
    device = next(iter(model.parameters()), torch.empty(0)).device
    prompt = prompt.to(device)
    g = torch.Generator(device=device).manual_seed(seed)  # draws on the model's device (a GPU run stays there)
    t0 = time.perf_counter()
    if cfg.method == "ar":
        if prompt.size(1) == 0:  # an unconditional AR sample starts from a first token drawn from the data's
            raise InputError("the AR sampler needs a prompt of at least one token")
        out = model.generate(prompt, cfg.length, temperature=cfg.temperature, generator=g)
        tokens, passes, positions = out[:, prompt.size(1):], cfg.length, batch_size * (prompt.size(1) + cfg.length - 1)
    elif cfg.method == "ancestral":
        tokens, passes, positions = _ancestral(model, cfg, prompt, g)
    else:
        tokens, passes, positions = _llada(model, cfg, prompt, g)
    return Samples(tokens.cpu(), passes, positions, time.perf_counter() - t0, cfg)


def _ancestral(model: LoopedLM, cfg: SamplerConfig, prompt: torch.Tensor, g) -> tuple:
    B, P = prompt.shape
    M = mask_id(model)
    x = torch.cat([prompt, torch.full((B, cfg.length), M, dtype=torch.long, device=prompt.device)], dim=1)
    steps = cfg.ancestral_steps
    passes = positions = 0
    logp = None
    for i in range(steps, 0, -1):
        t, s = i / steps, (i - 1) / steps
        masked = x == M
        if not masked.any():
            break
        if logp is None:  # nothing changed since the last pass: its logits still hold (no time input)
            logp = denoiser_logits(model, x)
            passes += 1
            positions += x.numel()
        reveal = masked & (torch.rand(x.shape, generator=g, device=x.device) < (t - s) / t)
        if reveal.any():
            x = torch.where(reveal, _draw(logp, cfg.temperature, g), x)
            logp = None
    return x[:, P:], passes, positions


def _transfer_counts(n_masked: int, steps: int) -> list[int]:
    """How many tokens each of ``steps`` steps reveals: ``n_masked`` split as evenly as possible, earlier steps
    taking the remainder (LLaDA's ``get_num_transfer_tokens``)."""
    base, extra = divmod(n_masked, steps)
    return [base + (1 if i < extra else 0) for i in range(steps)]


def _llada(model: LoopedLM, cfg: SamplerConfig, prompt: torch.Tensor, g) -> tuple:
    B, P = prompt.shape
    M = mask_id(model)
    x = torch.cat([prompt, torch.full((B, cfg.length), M, dtype=torch.long, device=prompt.device)], dim=1)
    block = cfg.block_length or cfg.length
    steps_per_block = math.ceil(block / cfg.tokens_per_step)
    cache = KVCache() if cfg.cache == "prefix" else None
    passes = positions = 0
    for b in range(cfg.length // block):
        lo, hi = P + b * block, P + (b + 1) * block
        for n_reveal in _transfer_counts(block, steps_per_block):
            if cache is None:
                logp = denoiser_logits(model, x)
                start = 0
            else:
                # run from the first position not cached: the finished blocks' keys were computed once, with
                # their final tokens, in the first step of the block after them
                start = cache.length
                logp = denoiser_logits(model, x[:, start:], cache=cache)
                cache.truncate(lo)
            passes += 1
            positions += B * (x.size(1) - start)
            window = x[:, lo:hi]
            lp = logp[:, lo - start:hi - start]
            x0 = _draw(lp, cfg.temperature, g)
            if cfg.remasking == "low_confidence":
                conf = lp.gather(-1, x0.unsqueeze(-1)).squeeze(-1)
            else:
                conf = torch.rand(window.shape, generator=g, device=window.device)
            conf = torch.where(window == M, conf, torch.full_like(conf, -math.inf))
            pick = conf.topk(n_reveal, dim=1).indices
            chosen = torch.zeros_like(window, dtype=torch.bool).scatter_(1, pick, True) & (window == M)
            x[:, lo:hi] = torch.where(chosen, x0, window)
    return x[:, P:], passes, positions


__all__ = ["CACHES", "METHODS", "REMASKING", "SamplerConfig", "Samples", "sample"]
