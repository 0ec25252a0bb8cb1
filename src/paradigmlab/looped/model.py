"""Looped Transformer language model: a base block of k layers run r times with shared weights.

Read top to bottom, in the manner of nanoGPT's model.py:

1. :class:`LoopedConfig` -- shape, base-block type and the looping switches.
2. Norms, rotary embedding, :class:`Attention` (fused QKV, GQA, optional QK-norm
   and RoPE, ``F.scaled_dot_product_attention``) and the two MLPs.
3. :class:`Block` -- a GPT-2 block (pre-LN LayerNorm with bias, GELU(tanh) 4x MLP)
   or a Qwen3 block (RMSNorm, per-head QK-norm before RoPE base 1e6, SwiGLU, GQA,
   no biases); optional sandwich norm.
4. :class:`KVCache` -- one slot per (loop, layer), or per layer when loops share K/V.
5. :class:`LoopedLM` -- embeddings, the loop over the shared base block, tied head,
   parameter/FLOP accounting and generation.

Looping switches (all off by default, so the model at ``loops=1`` is plain GPT-2):

* ``input_injection``: re-inject the token embedding ``e`` at the start of every
  loop after the first, by addition (``h + e``) or by a linear map of ``[h, e]``.
* ``step_embedding``: add a learned vector per loop index.
* ``sandwich_norm``: normalise each sub-layer's output before the residual add.
* ``random_loops``: in training, draw the loop count uniformly from
  ``[min_loops, loops]``; ``backprop_loops`` truncates backprop to the last loops.
* ``exit_tolerance``: at inference, stop looping once the relative change of the
  hidden state between successive loops is below the tolerance everywhere.
* ``share_loop_kv``: loops after the first reuse the keys/values that the same
  layer produced in the first loop, so the KV cache holds k, not k*r, slots.

``causal=False`` makes every position attend to every other one (and to the whole cache): the
denoiser of a masked-diffusion LM (:mod:`paradigmlab.diffusion`) on the same blocks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
from torch.nn import functional as F

from paradigmlab.validate import number

BLOCKS = ("gpt2", "qwen3")
INJECTIONS = ("none", "add", "concat")


@dataclass
class LoopedConfig:
    """Shape of a looped LM: a base block of ``layers`` layers applied ``loops`` times."""

    block: str = "gpt2"
    vocab_size: int = 50257
    block_size: int = 1024
    d_model: int = 768
    n_head: int = 12
    n_kv_head: int | None = None  # None: = n_head (no GQA)
    head_dim: int | None = None  # None: d_model // n_head
    d_ff: int | None = None  # None: 4*d_model (gpt2) or 3*d_model (qwen3)
    layers: int = 12
    loops: int = 1
    dropout: float = 0.0
    norm_eps: float | None = None  # None: 1e-5 (gpt2) or 1e-6 (qwen3)
    rope_base: float = 1e6
    input_injection: str = "none"
    step_embedding: bool = False
    sandwich_norm: bool = False
    random_loops: bool = False
    min_loops: int = 1
    backprop_loops: int | None = None
    exit_tolerance: float | None = None
    share_loop_kv: bool = False
    causal: bool = True  # False: bidirectional attention (the masked-diffusion LM of paradigmlab.diffusion)

    def __post_init__(self) -> None:
        if self.block not in BLOCKS:
            raise ValueError(f"block must be one of {BLOCKS}, got {self.block!r}")
        for name in ("vocab_size", "block_size", "d_model", "n_head", "layers", "loops", "min_loops"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("n_kv_head", "head_dim", "d_ff", "backprop_loops"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {v!r}")
        for name in ("norm_eps", "exit_tolerance"):
            v = getattr(self, name)
            if v is not None:
                number(v, name, positive=True)
        if not isinstance(self.causal, bool):
            raise ValueError(f"causal must be True or False, got {self.causal!r}")
        number(self.rope_base, "rope_base", positive=True)
        number(self.dropout, "dropout", min=0.0)
        if self.n_kv_head is None:
            self.n_kv_head = self.n_head
        if self.n_kv_head < 1 or self.n_head % self.n_kv_head:
            raise ValueError(f"n_head={self.n_head} must be a multiple of n_kv_head={self.n_kv_head}")
        if self.head_dim is None:
            if self.d_model % self.n_head:
                raise ValueError(f"d_model={self.d_model} is not divisible by n_head={self.n_head}")
            self.head_dim = self.d_model // self.n_head
        if self.block == "qwen3" and self.head_dim % 2:
            raise ValueError(f"RoPE needs an even head_dim, got {self.head_dim}")
        if self.d_ff is None:
            self.d_ff = (4 if self.block == "gpt2" else 3) * self.d_model
        if self.norm_eps is None:
            self.norm_eps = 1e-5 if self.block == "gpt2" else 1e-6
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.input_injection not in INJECTIONS:
            raise ValueError(f"input_injection must be one of {INJECTIONS}, got {self.input_injection!r}")
        if self.min_loops > self.loops:
            raise ValueError(f"min_loops={self.min_loops} exceeds loops={self.loops}")
        if self.backprop_loops is not None and not 1 <= self.backprop_loops <= self.loops:
            raise ValueError(f"backprop_loops must be in [1, loops={self.loops}], got {self.backprop_loops}")
        if self.exit_tolerance is not None and self.exit_tolerance <= 0:
            raise ValueError(f"exit_tolerance must be positive, got {self.exit_tolerance}")

    @classmethod
    def gpt2_small(cls, layers: int = 12, loops: int = 1, **kw) -> "LoopedConfig":
        """GPT-2 small shape (d=768, 12 heads, vocab 50257, context 1024) as a k x r looped model."""
        return cls(block="gpt2", d_model=768, n_head=12, vocab_size=50257, block_size=1024, layers=layers, loops=loops, **kw)

    def to_dict(self) -> dict:
        """Plain dict (for checkpoints and JSON)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LoopedConfig":
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown LoopedConfig keys: {sorted(unknown)}")
        return cls(**d)


# ---------------------------------------------------------------------------- layers


def make_norm(config: LoopedConfig, dim: int | None = None) -> nn.Module:
    """LayerNorm with bias for GPT-2, RMSNorm for Qwen3."""
    dim = dim or config.d_model
    if config.block == "gpt2":
        return nn.LayerNorm(dim, eps=config.norm_eps, bias=True)
    return nn.RMSNorm(dim, eps=config.norm_eps)


def rope_tables(head_dim: int, length: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables ``[length, head_dim]`` of rotary embedding (half-split layout, as in Qwen3)."""
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = torch.outer(torch.arange(length, dtype=torch.float32), inv_freq)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate ``x`` ``[B, H, T, hd]`` by the positions whose tables ``cos``/``sin`` ``[T, hd]`` hold."""
    x1, x2 = x.chunk(2, dim=-1)
    rotated = torch.cat([-x2, x1], dim=-1)
    return (x * cos + rotated * sin).to(x.dtype)


class Attention(nn.Module):
    """Multi-head attention (causal unless ``config.causal`` is False) with fused QKV, GQA, optional per-head
    QK-norm and RoPE."""

    def __init__(self, config: LoopedConfig):
        super().__init__()
        self.causal = config.causal
        self.n_head, self.n_kv_head, self.head_dim = config.n_head, config.n_kv_head, config.head_dim
        bias = config.block == "gpt2"
        self.c_attn = nn.Linear(config.d_model, (self.n_head + 2 * self.n_kv_head) * self.head_dim, bias=bias)
        self.c_proj = nn.Linear(self.n_head * self.head_dim, config.d_model, bias=bias)
        self.qk_norm = config.block == "qwen3"
        if self.qk_norm:
            self.q_norm = make_norm(config, self.head_dim)
            self.k_norm = make_norm(config, self.head_dim)
        self.dropout = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, rope, kv: "KVCache", slot: int, reuse: bool) -> torch.Tensor:
        """Attend from ``x`` ``[B, T, d]``; keys/values are stored in (or, if ``reuse``, read from) ``kv[slot]``."""
        B, T, _ = x.shape
        q, k, v = self.c_attn(x).split(
            [self.n_head * self.head_dim, self.n_kv_head * self.head_dim, self.n_kv_head * self.head_dim], dim=-1
        )
        q = q.view(B, T, self.n_head, self.head_dim)
        if self.qk_norm:
            q = self.q_norm(q)
        q = q.transpose(1, 2)
        if rope is not None:
            q = apply_rope(q, *rope)
        if reuse:  # keys/values of this layer's first loop
            k, v = kv.get(slot)
        else:
            k = k.view(B, T, self.n_kv_head, self.head_dim)
            if self.qk_norm:
                k = self.k_norm(k)
            k = k.transpose(1, 2)
            if rope is not None:
                k = apply_rope(k, *rope)
            v = v.view(B, T, self.n_kv_head, self.head_dim).transpose(1, 2)
            k, v = kv.put(slot, k, v)
        y = F.scaled_dot_product_attention(
            q, k, v,
            attn_mask=causal_mask(T, k.size(2), x.device) if self.causal else None,
            is_causal=self.causal and T == k.size(2) and T > 1,
            dropout_p=self.dropout if self.training else 0.0,
            enable_gqa=self.n_kv_head != self.n_head,
        )
        y = y.transpose(1, 2).contiguous().view(B, T, self.n_head * self.head_dim)
        return self.resid_dropout(self.c_proj(y))


def causal_mask(t_query: int, t_key: int, device) -> torch.Tensor | None:
    """Boolean mask for queries that are the last ``t_query`` of ``t_key`` positions (None when not needed)."""
    if t_query == t_key or t_query == 1:
        return None
    offset = t_key - t_query
    return torch.ones(t_query, t_key, dtype=torch.bool, device=device).tril(diagonal=offset)


class MLP(nn.Module):
    """GPT-2 MLP: Linear, GELU(tanh), Linear."""

    def __init__(self, config: LoopedConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.d_model, config.d_ff, bias=True)
        self.c_proj = nn.Linear(config.d_ff, config.d_model, bias=True)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, T, d] -> [B, T, d]``."""
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x), approximate="tanh")))


class SwiGLU(nn.Module):
    """Qwen3 MLP: ``down(silu(gate(x)) * up(x))``, gate and up fused, no biases."""

    def __init__(self, config: LoopedConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.d_model, 2 * config.d_ff, bias=False)
        self.c_proj = nn.Linear(config.d_ff, config.d_model, bias=False)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, T, d] -> [B, T, d]``."""
        gate, up = self.c_fc(x).chunk(2, dim=-1)
        return self.dropout(self.c_proj(F.silu(gate) * up))


class Block(nn.Module):
    """One pre-norm Transformer layer (GPT-2 or Qwen3 flavour), optionally sandwich-normed."""

    def __init__(self, config: LoopedConfig):
        super().__init__()
        self.ln_1 = make_norm(config)
        self.attn = Attention(config)
        self.ln_2 = make_norm(config)
        self.mlp = MLP(config) if config.block == "gpt2" else SwiGLU(config)
        self.sandwich = config.sandwich_norm
        if self.sandwich:
            self.ln_1_post = make_norm(config)
            self.ln_2_post = make_norm(config)

    def forward(self, x: torch.Tensor, rope, kv: "KVCache", slot: int, reuse: bool) -> torch.Tensor:
        """``x + attn(norm(x))`` then ``x + mlp(norm(x))``."""
        a = self.attn(self.ln_1(x), rope, kv, slot, reuse)
        x = x + (self.ln_1_post(a) if self.sandwich else a)
        m = self.mlp(self.ln_2(x))
        return x + (self.ln_2_post(m) if self.sandwich else m)


# ---------------------------------------------------------------------------- KV cache


class KVCache:
    """Keys and values per slot: ``loop * layers + layer``, or just ``layer`` with ``share_loop_kv``.

    ``length`` counts the positions already stored; a forward pass with this cache
    appends its positions to every slot it touches and then advances ``length``.
    A forward pass without a cache uses a throw-away one (``persistent=False``).
    """

    def __init__(self, persistent: bool = True):
        self.k: dict[int, torch.Tensor] = {}
        self.v: dict[int, torch.Tensor] = {}
        self.length = 0
        self.persistent = persistent

    def put(self, slot: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append new keys/values ``[B, Hkv, T, hd]`` to ``slot``; return all stored for it."""
        if self.persistent and slot in self.k:
            k = torch.cat([self.k[slot], k], dim=2)
            v = torch.cat([self.v[slot], v], dim=2)
        self.k[slot], self.v[slot] = k, v
        return k, v

    def get(self, slot: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Everything stored in ``slot``."""
        return self.k[slot], self.v[slot]

    def truncate(self, length: int) -> None:
        """Keep the first ``length`` positions of every slot (a diffusion sampler's block cache keeps the finished
        prefix and drops the positions it will compute again)."""
        if not 0 <= length <= self.length:
            raise ValueError(f"cannot truncate a cache of {self.length} positions to {length}")
        for slot in self.k:
            self.k[slot] = self.k[slot][:, :, :length]
            self.v[slot] = self.v[slot][:, :, :length]
        self.length = length

    def numel(self) -> int:
        """Number of stored key+value elements (for memory accounting)."""
        return sum(t.numel() for t in self.k.values()) + sum(t.numel() for t in self.v.values())


# ---------------------------------------------------------------------------- the model


class LoopedLM(nn.Module):
    """A decoder-only LM whose ``layers``-layer base block is applied ``loops`` times."""

    def __init__(self, config: LoopedConfig):
        super().__init__()
        self.config = config
        c = config
        self.wte = nn.Embedding(c.vocab_size, c.d_model)
        self.wpe = nn.Embedding(c.block_size, c.d_model) if c.block == "gpt2" else None
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList([Block(c) for _ in range(c.layers)])
        self.step_emb = nn.Embedding(c.loops, c.d_model) if c.step_embedding else None
        self.inject = nn.Linear(2 * c.d_model, c.d_model, bias=False) if c.input_injection == "concat" else None
        self.ln_f = make_norm(c)
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying
        if c.block == "qwen3":
            cos, sin = rope_tables(c.head_dim, c.block_size, c.rope_base)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
        self.loops_used = c.loops  # loops run by the last forward pass
        if not self.wte.weight.is_meta:  # a meta model (see shape_only) only counts; nothing to initialise
            self._init_all()

    @classmethod
    def shape_only(cls, config: LoopedConfig) -> "LoopedLM":
        """A model on the meta device: parameter and FLOP accounting at any size, no memory, no init."""
        with torch.device("meta"):
            return cls(config)

    def _init_all(self) -> None:
        """GPT-2 init: N(0, 0.02), residual projections scaled by effective depth, neutral loop switches."""
        c = self.config
        self.apply(self._init_weights)
        depth_std = 0.02 / math.sqrt(2 * c.layers * c.loops)  # GPT-2 residual scaling, by effective depth
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=depth_std)
        if self.step_emb is not None:  # loops start out identical, learn to differ
            nn.init.zeros_(self.step_emb.weight)
        if self.inject is not None:  # start as "keep h", learn how much of e to mix in
            with torch.no_grad():
                self.inject.weight.zero_()
                self.inject.weight[:, : c.d_model].copy_(torch.eye(c.d_model))

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    # ------------------------------------------------------------------ forward

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        cache: KVCache | None = None,
        loops: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits ``[B, T, V]`` for token ids ``idx`` ``[B, T]``, and the mean cross-entropy if ``targets``.

        ``cache`` continues a sequence (positions start at ``cache.length``).
        ``loops`` overrides the loop count (1..config.loops); otherwise training
        with ``random_loops`` draws it, and everything else uses ``config.loops``.
        """
        c = self.config
        if idx.dim() != 2:
            raise ValueError(f"idx must be [batch, time], got shape {tuple(idx.shape)}")
        B, T = idx.shape
        pos0 = cache.length if cache is not None else 0
        if pos0 + T > c.block_size:
            raise ValueError(f"sequence of {pos0 + T} tokens exceeds block_size={c.block_size}")
        r = self._loop_count(loops)
        x = self.wte(idx)
        rope = None
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(pos0, pos0 + T, device=idx.device))
        else:
            rope = (self.rope_cos[pos0 : pos0 + T], self.rope_sin[pos0 : pos0 + T])
        e = self.drop(x)
        kv = cache if cache is not None else KVCache(persistent=False)
        grad_from = r - c.backprop_loops if (self.training and c.backprop_loops) else 0
        h = e
        for i in range(r):
            if i == grad_from and i > 0:
                h = h.detach()
            with torch.set_grad_enabled(torch.is_grad_enabled() and i >= grad_from):
                h_next = self._loop(h, e, i, rope, kv)
            if self._converged(h, h_next, i):
                h = h_next
                r = i + 1
                break
            h = h_next
        self.loops_used = r
        if cache is not None:
            self._fill_skipped_loops(cache, r)
            cache.length += T
        logits = self.lm_head(self.ln_f(h))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)).float(), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    def _loop_count(self, loops: int | None) -> int:
        c = self.config
        if loops is not None:
            if not 1 <= loops <= c.loops:
                raise ValueError(f"loops must be in [1, {c.loops}], got {loops}")
            return loops
        if self.training and c.random_loops:
            return int(torch.randint(c.min_loops, c.loops + 1, (1,)).item())
        return c.loops

    def _loop(self, h: torch.Tensor, e: torch.Tensor, i: int, rope, kv: KVCache) -> torch.Tensor:
        """One pass of the base block (loop index ``i``), with injection and step embedding."""
        c = self.config
        if i > 0 and c.input_injection == "add":
            h = h + e
        elif i > 0 and c.input_injection == "concat":
            h = self.inject(torch.cat([h, e], dim=-1))
        if self.step_emb is not None:
            h = h + self.step_emb.weight[i]
        reuse = c.share_loop_kv and i > 0
        for j, block in enumerate(self.blocks):
            slot = j if c.share_loop_kv else i * c.layers + j
            h = block(h, rope, kv, slot, reuse)
        return h

    def _converged(self, h: torch.Tensor, h_next: torch.Tensor, i: int) -> bool:
        """Adaptive exit: every position changed by less than ``exit_tolerance`` (relative L2)."""
        c = self.config
        if self.training or c.exit_tolerance is None or i + 1 < max(2, c.min_loops):
            return False
        change = (h_next - h).norm(dim=-1) / h_next.norm(dim=-1).clamp_min(1e-12)
        return bool(change.max() < c.exit_tolerance)

    def _fill_skipped_loops(self, cache: KVCache, r: int) -> None:
        """After an early exit, later loops' cache slots get the last run loop's keys/values.

        (Only without ``share_loop_kv``: there the cache has one slot per loop, and
        every slot must cover the same positions.)
        """
        c = self.config
        if c.share_loop_kv or r == c.loops:
            return
        for i in range(r, c.loops):
            for j in range(c.layers):
                src, dst = (r - 1) * c.layers + j, i * c.layers + j
                T_new = cache.k[src].size(2) - cache.length
                new_k, new_v = cache.k[src][:, :, -T_new:], cache.v[src][:, :, -T_new:]
                cache.put(dst, new_k, new_v)

    # ------------------------------------------------------------------ accounting

    def num_params(self, unique: bool = True, non_embedding: bool = False) -> int:
        """Parameter count: stored (``unique``) or as if every loop had its own copy of the block.

        ``non_embedding`` leaves out the token and position embeddings (the tied
        head shares the token embedding, so it goes too).
        """
        n = sum(p.numel() for p in self.parameters())
        if not unique:
            n += (self.config.loops - 1) * sum(p.numel() for p in self.blocks.parameters())
        if non_embedding:
            n -= self.wte.weight.numel()
            if self.wpe is not None:
                n -= self.wpe.weight.numel()
        return n

    @property
    def effective_depth(self) -> int:
        """Layers a token passes through: ``layers * loops``."""
        return self.config.layers * self.config.loops

    def _matmul_params_per_token(self) -> int:
        """Weights multiplied per token in one forward pass (blocks once per loop, head once)."""
        c = self.config
        block_w = sum(m.weight.numel() for m in self.blocks.modules() if isinstance(m, nn.Linear))
        inject_w = self.inject.weight.numel() * (c.loops - 1) if self.inject is not None else 0
        return c.loops * block_w + inject_w + self.lm_head.weight.numel()

    def flops_per_token(self, context: int | None = None, training: bool = True) -> int:
        """FLOPs per token: ``2 N + 4 L_eff T d_attn`` forward (x3 with backward), PaLM/nanoGPT convention.

        ``N`` counts the matmul weights a token meets (the block once per loop);
        ``T`` is the context (default ``block_size``); layer norms are ignored.
        """
        c = self.config
        T = context or c.block_size
        fwd = 2 * self._matmul_params_per_token() + 4 * self.effective_depth * T * c.n_head * c.head_dim
        return 3 * fwd if training else fwd

    def decode_cost(self, context: int, bytes_per_value: int = 2) -> dict:
        """Arithmetic intensity of decoding one token at batch 1 after ``context`` tokens.

        Two cases for weight traffic: weights read from memory once per token
        (the base block stays on chip across its loops: reuse) and once per loop
        (no reuse, as an unrolled model of the same depth). The KV cache read
        (k*r slots, or k with ``share_loop_kv``) is added to both; activations are
        not counted. FLOPs are :meth:`flops_per_token` (forward); parameters and
        K/V elements are counted by the cost model on this config's description
        (:func:`paradigmlab.costmodel.transformer.from_looped`), whose
        :func:`~paradigmlab.costmodel.transformer.decoder_costs` gives the per-operation
        account (norms and activations included).
        """
        from paradigmlab.costmodel.transformer import from_looped

        cfg = from_looped(self.config)
        flops = self.flops_per_token(context, training=False)
        kv_bytes = context * cfg.kv_elements_per_token() * bytes_per_value
        stored = cfg.n_params()
        once = stored * bytes_per_value + kv_bytes
        per_loop = (stored + (cfg.loops - 1) * cfg.block_params()) * bytes_per_value + kv_bytes
        return {
            "flops": flops,
            "bytes_weights_once_per_token": once,
            "bytes_weights_once_per_loop": per_loop,
            "intensity_reuse": flops / once,
            "intensity_no_reuse": flops / per_loop,
            "kv_cache_bytes": kv_bytes,
        }

    # ------------------------------------------------------------------ generation

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        use_cache: bool = True,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Append ``max_new_tokens`` sampled tokens to ``idx`` ``[B, T]`` (``temperature=0``: greedy).

        With ``use_cache`` the prompt is prefilled once and each new token costs one
        single-position pass; when the context is full, the cache is rebuilt from the
        last ``block_size`` tokens, which gives the same tokens as ``use_cache=False``.
        """
        if not self.config.causal:
            raise ValueError("generate() is next-token sampling, which needs a causal model; a bidirectional "
                             "(masked-diffusion) model samples with paradigmlab.diffusion.sampling")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
        bs = self.config.block_size
        cache = None
        for _ in range(max_new_tokens):
            if not use_cache:
                logits, _ = self(idx[:, -bs:])
            elif cache is None or cache.length >= bs:
                cache = KVCache()
                logits, _ = self(idx[:, -bs:], cache=cache)
            else:
                logits, _ = self(idx[:, -1:], cache=cache)
            idx = torch.cat([idx, sample_next(logits[:, -1, :], temperature, top_k, generator)], dim=1)
        return idx


def sample_next(logits: torch.Tensor, temperature: float, top_k: int | None, generator=None) -> torch.Tensor:
    """One token id per row of ``logits`` ``[B, V]``: argmax at temperature 0, else top-k sampling."""
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits.float() / temperature
    if top_k is not None:
        v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
        logits[logits < v[:, [-1]]] = -float("inf")
    return torch.multinomial(F.softmax(logits, dim=-1), num_samples=1, generator=generator)
