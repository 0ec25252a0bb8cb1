"""FLOPs, bytes moved and arithmetic intensity of decoder-only Transformers.

Counts one *step* (a decode step producing one token per sequence, a prefill
of the prompt, or a training step) layer by layer. Every operation records its
FLOPs, the weight, activation and KV-cache bytes it moves through HBM, and how
many kernels it launches (the per-kernel overhead of the calibrated roofline).

Counting rules (the assumptions behind every number):

- A linear layer ``d_in -> d_out`` on ``T`` tokens costs ``2*T*d_in*d_out``
  FLOPs, reads its weights once per execution and reads/writes its input and
  output activations once.
- Attention reads the whole KV cache once per sequence and step
  (FlashAttention-style tiling) and writes the new tokens' K/V; causal
  attention over ``n`` new tokens after ``p`` cached ones touches
  ``n*p + n(n+1)/2`` query-key pairs.
- MLA (DeepSeek) caches the compressed latent (``kv_lora_rank + rope`` values
  per token and layer); decode uses weight absorption (attention in latent
  space), prefill and training expand K/V per head.
- MoE: FLOPs follow top-k, weight bytes follow the expected number of distinct
  experts hit by the step's tokens (:mod:`paradigmlab.costmodel.moe`).
- Embeddings, norms and routers stay in the activation dtype; linear layers
  (and the LM head) use the weight dtype, as weight-only quantisers do.
- Elementwise ops fused into neighbours (residual adds, RoPE, activation
  functions) are not counted; norms are (5 FLOPs and two passes per element).
- Looped models (``loops = r``) execute their ``n_layers`` unique layers ``r``
  times; weights are re-read every loop (``weight_reuse="per_loop"``) or once
  per step when the shared block stays on chip (``"per_step"``).
- Tensor parallelism shards attention heads, FFN and experts over ``tp``
  devices (embedding and LM head replicated, as in gpt-fast) and adds two
  all-reduces of the hidden state per layer execution.
- Training = forward x 3 in FLOPs and in weight/activation traffic (forward
  read, input-gradient read, weight-gradient write) plus a mixed-precision
  AdamW update (28 bytes and ~10 FLOPs per parameter).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from paradigmlab.costmodel.dtypes import bytes_per_element
from paradigmlab.costmodel.moe import expected_distinct_experts
from paradigmlab.costmodel.presets import load_preset

PHASES = ("decode", "prefill", "train", "denoise")
#: ``denoise``: one step of a masked-diffusion sampler -- ``context`` positions run bidirectionally (every pair
#: attends, not the causal half) with logits at every position, after ``cached`` positions of a block KV cache
_NORM_FLOPS_PER_ELEMENT = 5
_ADAMW_BYTES_PER_PARAM = 28
_ADAMW_FLOPS_PER_PARAM = 10


@dataclass(frozen=True)
class MLAConfig:
    """Multi-head latent attention dimensions (DeepSeek-V2/V3)."""

    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int
    q_lora_rank: int | None = None


@dataclass(frozen=True)
class MoEConfig:
    """Mixture-of-experts FFN: ``n_routed_experts`` routed, top-``top_k``, plus shared experts."""

    n_routed_experts: int
    top_k: int
    moe_d_ff: int
    n_shared_experts: int = 0
    first_dense_layers: int = 0


@dataclass(frozen=True)
class TransformerConfig:
    """Shape of a decoder-only Transformer (GPT-2, Llama, Qwen3, Mixtral, DeepSeek-V3, looped)."""

    name: str
    n_layers: int
    d_model: int
    n_heads: int
    d_ff: int
    vocab_size: int
    n_kv_heads: int | None = None
    head_dim: int | None = None
    ffn: str = "swiglu"
    attention: str = "gqa"
    norm: str = "rmsnorm"
    tied_embeddings: bool = False
    max_position: int = 0
    bias: bool = False
    loops: int = 1
    qk_norm: bool = False
    # Loops after the first reuse the K/V their layer produced in the first loop (paradigmlab.looped's
    # share_loop_kv): the cache stores n_layers slots, not n_layers * loops.
    share_loop_kv: bool = False
    mla: MLAConfig | None = None
    moe: MoEConfig | None = None
    source: str = ""

    def __post_init__(self) -> None:
        for attr in ("n_layers", "d_model", "n_heads", "d_ff", "vocab_size", "loops"):
            val = getattr(self, attr)
            if not isinstance(val, int) or val < 1:
                raise ValueError(f"model '{self.name}': {attr} must be a positive integer, got {val!r}")
        if self.ffn not in ("gelu", "swiglu"):
            raise ValueError(f"model '{self.name}': ffn must be 'gelu' or 'swiglu', got '{self.ffn}'")
        if self.attention not in ("gqa", "mla"):
            raise ValueError(f"model '{self.name}': attention must be 'gqa' or 'mla', got '{self.attention}'")
        if self.attention == "mla" and self.mla is None:
            raise ValueError(f"model '{self.name}': attention 'mla' needs an 'mla' block")
        if self.head_dim is None and self.d_model % self.n_heads:
            raise ValueError(f"model '{self.name}': d_model {self.d_model} not divisible by n_heads {self.n_heads}")
        if self.n_kv_heads is not None and self.n_heads % self.n_kv_heads:
            raise ValueError(f"model '{self.name}': n_heads must be a multiple of n_kv_heads")
        if self.moe is not None and not 1 <= self.moe.top_k <= self.moe.n_routed_experts:
            raise ValueError(f"model '{self.name}': need 1 <= top_k <= n_routed_experts")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TransformerConfig":
        """Build from a preset/user dict; unknown keys raise ValueError."""
        data = dict(data)
        extra = set(data) - set(cls.__dataclass_fields__)
        if extra:
            raise ValueError(f"model config has unknown keys: {sorted(extra)}")
        try:
            if data.get("mla") is not None:
                data["mla"] = MLAConfig(**data["mla"])
            if data.get("moe") is not None:
                data["moe"] = MoEConfig(**data["moe"])
            return cls(**data)
        except TypeError as exc:
            raise ValueError(f"bad model config: {exc}") from exc

    @property
    def kv_heads(self) -> int:
        """Number of K/V heads (``n_heads`` for plain multi-head attention)."""
        return self.n_kv_heads or self.n_heads

    @property
    def hd(self) -> int:
        """Per-head dimension."""
        return self.head_dim or self.d_model // self.n_heads

    def is_moe_layer(self, index: int) -> bool:
        """Whether unique layer ``index`` has a mixture-of-experts FFN."""
        return self.moe is not None and index >= self.moe.first_dense_layers

    def attention_params(self) -> int:
        """Parameters of one attention block (projections only)."""
        d, h = self.d_model, self.n_heads
        if self.attention == "mla":
            m = self.mla
            qk = m.qk_nope_head_dim + m.qk_rope_head_dim
            q = d * m.q_lora_rank + m.q_lora_rank + m.q_lora_rank * h * qk if m.q_lora_rank else d * h * qk
            kv = d * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank
            kv += m.kv_lora_rank * h * (m.qk_nope_head_dim + m.v_head_dim)
            return q + kv + h * m.v_head_dim * d
        q_out, kv_out = h * self.hd, self.kv_heads * self.hd
        params = d * (q_out + 2 * kv_out) + q_out * d
        return params + (q_out + 2 * kv_out + d if self.bias else 0)

    def ffn_params(self, d_ff: int) -> int:
        """Parameters of one dense FFN of width ``d_ff``."""
        mats = 3 if self.ffn == "swiglu" else 2
        return mats * self.d_model * d_ff + ((d_ff + self.d_model) if self.bias else 0)

    def layer_params(self, index: int) -> int:
        """Parameters of unique layer ``index`` (attention, FFN or MoE, norms)."""
        norms = 2 * self.d_model * (2 if self.norm == "layernorm" else 1)
        norms += 2 * self.hd * (2 if self.norm == "layernorm" else 1) if self.qk_norm else 0
        if self.is_moe_layer(index):
            m = self.moe
            ffn = self.d_model * m.n_routed_experts + (m.n_routed_experts + m.n_shared_experts) * self.ffn_params(m.moe_d_ff)
        else:
            ffn = self.ffn_params(self.d_ff)
        return self.attention_params() + ffn + norms

    def n_params(self) -> int:
        """Total stored parameters (shared looped layers counted once)."""
        emb = self.vocab_size * self.d_model + self.max_position * self.d_model
        final_norm = self.d_model * (2 if self.norm == "layernorm" else 1)
        head = 0 if self.tied_embeddings else self.vocab_size * self.d_model
        return emb + sum(self.layer_params(i) for i in range(self.n_layers)) + final_norm + head

    def kv_elements_per_token(self) -> int:
        """KV-cache elements stored per token over all executed layers (latent for MLA)."""
        if self.attention == "mla":
            per_layer = self.mla.kv_lora_rank + self.mla.qk_rope_head_dim
        else:
            per_layer = 2 * self.kv_heads * self.hd
        return per_layer * self.n_layers * (1 if self.share_loop_kv else self.loops)

    def block_params(self) -> int:
        """Parameters of the shared base block (all unique layers) of a looped model."""
        return sum(self.layer_params(i) for i in range(self.n_layers))


def from_looped(config: Any) -> TransformerConfig:
    """Cost-model view of a :class:`paradigmlab.looped.LoopedConfig` (or its ``to_dict()``).

    Counts the shared block, embeddings and tied head, and a K/V cache shared
    across loops (``share_loop_kv``); the optional step embedding, concat
    injection and sandwich norms are small and not counted.
    """
    d = config if isinstance(config, dict) else config.to_dict()
    gpt2 = d["block"] == "gpt2"
    return TransformerConfig(
        name=f"looped-{d['block']}-k{d['layers']}r{d['loops']}", n_layers=d["layers"], loops=d["loops"],
        d_model=d["d_model"], n_heads=d["n_head"], n_kv_heads=d["n_kv_head"], head_dim=d["head_dim"],
        d_ff=d["d_ff"], vocab_size=d["vocab_size"], ffn="gelu" if gpt2 else "swiglu",
        norm="layernorm" if gpt2 else "rmsnorm", bias=gpt2, tied_embeddings=True,
        max_position=d["block_size"] if gpt2 else 0, qk_norm=not gpt2, share_loop_kv=bool(d.get("share_loop_kv")),
        source="paradigmlab.looped config",
    )


def memory_bytes(cfg: TransformerConfig, weight_dtype: str = "bf16", kv_dtype: str = "bf16",
                 batch: int = 1, context: int = 0, tp: int = 1) -> float:
    """Device memory for weights (embeddings in ``kv_dtype``'s width if 16-bit) plus the KV cache, per device."""
    emb = cfg.vocab_size * cfg.d_model + cfg.max_position * cfg.d_model
    weights = (cfg.n_params() - emb) * bytes_per_element(weight_dtype) + emb * bytes_per_element("bf16")
    kv = batch * context * cfg.kv_elements_per_token() * bytes_per_element(kv_dtype)
    return (weights + kv) / tp


def load_model(name_or_file: str | Path) -> TransformerConfig:
    """Model config from a bundled preset name (``llama-2-7b``) or a JSON/TOML file."""
    return TransformerConfig.from_dict(load_preset("model", name_or_file))


@dataclass
class Op:
    """One operation of one step: per-execution cost, executions and weight reads per step."""

    name: str
    group: str
    flops: float
    weight_bytes: float = 0.0
    act_bytes: float = 0.0
    kv_bytes: float = 0.0
    kernels: int = 1
    count: int = 1
    weight_reads: int = 1
    comm_bytes: float = 0.0

    def total_bytes(self) -> float:
        """HBM bytes of this op over the whole step."""
        return self.weight_bytes * self.weight_reads + (self.act_bytes + self.kv_bytes) * self.count

    def intensity(self) -> float:
        """FLOPs per HBM byte of this op."""
        b = self.total_bytes()
        return self.flops * self.count / b if b else float("inf")


@dataclass
class Costs:
    """All operations of one step plus what produced them; totals are properties."""

    model: str
    phase: str
    batch: int
    context: int
    tokens: int
    weight_dtype: str
    kv_dtype: str
    act_dtype: str
    tp: int
    weight_reuse: str
    ops: list[Op] = field(default_factory=list)

    def _sum(self, fn) -> float:
        return float(sum(fn(op) for op in self.ops))

    @property
    def flops(self) -> float:
        """Total FLOPs of the step (per device under tensor parallelism)."""
        return self._sum(lambda o: o.flops * o.count)

    @property
    def weight_bytes(self) -> float:
        """Weight bytes read (and, for training, gradient/optimizer bytes moved)."""
        return self._sum(lambda o: o.weight_bytes * o.weight_reads)

    @property
    def act_bytes(self) -> float:
        """Activation bytes read and written."""
        return self._sum(lambda o: o.act_bytes * o.count)

    @property
    def kv_bytes(self) -> float:
        """KV-cache bytes read and written."""
        return self._sum(lambda o: o.kv_bytes * o.count)

    @property
    def bytes(self) -> float:
        """Total HBM traffic of the step."""
        return self.weight_bytes + self.act_bytes + self.kv_bytes

    @property
    def intensity(self) -> float:
        """Arithmetic intensity of the whole step, FLOPs per byte."""
        return self.flops / self.bytes

    @property
    def kernels(self) -> int:
        """Kernel launches per step (communication kernels included)."""
        return int(self._sum(lambda o: o.kernels * o.count))

    @property
    def comm_bytes(self) -> float:
        """All-reduce payload bytes per step (per device)."""
        return self._sum(lambda o: o.comm_bytes * o.count)

    @property
    def comm_calls(self) -> int:
        """All-reduce calls per step."""
        return int(self._sum(lambda o: o.count if o.comm_bytes else 0))

    def by_group(self) -> dict[str, dict[str, float]]:
        """FLOPs, bytes and intensity summed per group (attention, ffn, moe, lm_head, ...)."""
        out: dict[str, dict[str, float]] = {}
        for op in self.ops:
            g = out.setdefault(op.group, {"flops": 0.0, "bytes": 0.0})
            g["flops"] += op.flops * op.count
            g["bytes"] += op.total_bytes()
        for g in out.values():
            g["intensity"] = g["flops"] / g["bytes"] if g["bytes"] else float("inf")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary with totals and per-op rows."""
        meta = {k: v for k, v in asdict(self).items() if k != "ops"}
        totals = {
            "flops": self.flops,
            "bytes": self.bytes,
            "weight_bytes": self.weight_bytes,
            "act_bytes": self.act_bytes,
            "kv_bytes": self.kv_bytes,
            "intensity": self.intensity,
            "kernels": self.kernels,
            "comm_bytes": self.comm_bytes,
        }
        rows = [dict(asdict(op), intensity=op.intensity()) for op in self.ops]
        return {**meta, "totals": totals, "by_group": self.by_group(), "ops": rows}


def decoder_costs(
    cfg: TransformerConfig,
    phase: str = "decode",
    batch: int = 1,
    context: int = 512,
    weight_dtype: str = "bf16",
    kv_dtype: str | None = None,
    act_dtype: str = "bf16",
    tp: int = 1,
    weight_reuse: str = "per_loop",
    cached: int = 0,
) -> Costs:
    """Cost of one step of ``cfg``.

    ``context`` is the number of cached tokens before a decode step, the
    prompt length for prefill, the sequence length for training, and the positions
    a diffusion step computes for ``denoise`` (which then attend to ``cached`` more
    positions of a block KV cache as well). ``tp`` is the tensor-parallel degree;
    costs are per device.
    """
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, got '{phase}'")
    for name, val in (("batch", batch), ("tp", tp)):
        if not isinstance(val, int) or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    if not isinstance(context, int) or context < (0 if phase == "decode" else 1):
        raise ValueError(f"context must be an integer >= {0 if phase == 'decode' else 1}, got {context!r}")
    if weight_reuse not in ("per_loop", "per_step"):
        raise ValueError(f"weight_reuse must be 'per_loop' or 'per_step', got '{weight_reuse}'")
    if not isinstance(cached, int) or cached < 0 or (cached and phase != "denoise"):
        raise ValueError(f"cached must be an integer >= 0 and only with phase 'denoise', got {cached!r}")
    kv_dtype = kv_dtype or act_dtype
    wb, kb, ab = bytes_per_element(weight_dtype), bytes_per_element(kv_dtype), bytes_per_element(act_dtype)
    new, past = (1, context) if phase == "decode" else (context, cached)
    tokens = batch * new
    ctx = _Ctx(cfg, phase, batch, new, past, tokens, wb, kb, ab, tp)
    costs = Costs(cfg.name, phase, batch, context, tokens, weight_dtype, kv_dtype, act_dtype, tp, weight_reuse)

    costs.ops.append(Op("embedding", "embedding", 0.0, act_bytes=tokens * cfg.d_model * ab * (2 if cfg.max_position else 1)))
    reads = cfg.loops if weight_reuse == "per_loop" else 1
    for i in range(cfg.n_layers):
        for op in _layer_ops(ctx, i):
            op.count, op.weight_reads = cfg.loops, reads
            costs.ops.append(op)
    costs.ops.append(_norm(ctx, "final_norm"))
    head_tokens = tokens if phase in ("train", "denoise") else batch
    costs.ops.append(_linear("lm_head", "lm_head", cfg.d_model, cfg.vocab_size, head_tokens, wb, ab))
    if phase == "train":
        costs.ops = [replace(op, flops=3 * op.flops, weight_bytes=3 * op.weight_bytes, act_bytes=3 * op.act_bytes,
                             kv_bytes=3 * op.kv_bytes, kernels=(2 if op.comm_bytes else 3) * op.kernels,
                             comm_bytes=2 * op.comm_bytes)
                     for op in costs.ops]
        n = cfg.n_params() / tp
        costs.ops.append(Op("adamw", "optimizer", _ADAMW_FLOPS_PER_PARAM * n, weight_bytes=_ADAMW_BYTES_PER_PARAM * n))
    return costs


@dataclass(frozen=True)
class _Ctx:
    cfg: TransformerConfig
    phase: str
    batch: int
    new: int
    past: int
    tokens: int
    wb: float
    kb: float
    ab: float
    tp: int


def _linear(name: str, group: str, d_in: float, d_out: float, tokens: float, wb: float, ab: float,
            bias: bool = False) -> Op:
    return Op(name, group, 2.0 * tokens * d_in * d_out,
              weight_bytes=(d_in * d_out + (d_out if bias else 0)) * wb,
              act_bytes=tokens * (d_in + d_out) * ab)


def _norm(c: _Ctx, name: str) -> Op:
    d = c.cfg.d_model
    params = d * (2 if c.cfg.norm == "layernorm" else 1)
    return Op(name, "norm", _NORM_FLOPS_PER_ELEMENT * c.tokens * d, weight_bytes=params * c.ab,
              act_bytes=2 * c.tokens * d * c.ab)


def _layer_ops(c: _Ctx, index: int) -> list[Op]:
    cfg = c.cfg
    ops = [_norm(c, "attn_norm")]
    ops += _mla_ops(c) if cfg.attention == "mla" else _gqa_ops(c)
    ops.append(_norm(c, "ffn_norm"))
    ops += _moe_ops(c) if cfg.is_moe_layer(index) else _ffn_ops(c, cfg.d_ff, "ffn")
    shard = [op for op in ops if op.group != "norm"]
    for op in shard:
        op.flops /= c.tp
        op.weight_bytes /= c.tp
        op.act_bytes /= c.tp
        op.kv_bytes /= c.tp
    if c.tp > 1:
        payload = c.tokens * cfg.d_model * c.ab
        ops.append(Op("allreduce", "comm", 0.0, act_bytes=0.0, kernels=1, comm_bytes=payload))
        ops.append(Op("allreduce", "comm", 0.0, act_bytes=0.0, kernels=1, comm_bytes=payload))
    return [replace(op, name=f"L{index}.{op.name}") for op in ops]


def _attention_core(c: _Ctx, heads: int, qk_dim: int, v_dim: int, kv_per_token: float, extra_act: float = 0.0) -> Op:
    pairs = c.new * c.past + (c.new * c.new if c.phase == "denoise" else c.new * (c.new + 1) / 2)
    flops = c.batch * 2.0 * heads * (qk_dim + v_dim) * pairs
    kv = c.batch * ((c.past + c.new) + c.new) * kv_per_token * c.kb  # read whole cache + write new tokens
    act = c.tokens * heads * (qk_dim + v_dim) * c.ab + extra_act
    return Op("attention", "attention", flops, kv_bytes=kv, act_bytes=act)


def _gqa_ops(c: _Ctx) -> list[Op]:
    cfg, d, t = c.cfg, c.cfg.d_model, c.tokens
    q_out, kv_out = cfg.n_heads * cfg.hd, cfg.kv_heads * cfg.hd
    return [
        _linear("q_proj", "attention", d, q_out, t, c.wb, c.ab, cfg.bias),
        _linear("k_proj", "attention", d, kv_out, t, c.wb, c.ab, cfg.bias),
        _linear("v_proj", "attention", d, kv_out, t, c.wb, c.ab, cfg.bias),
        _attention_core(c, cfg.n_heads, cfg.hd, cfg.hd, 2 * kv_out),
        _linear("o_proj", "attention", q_out, d, t, c.wb, c.ab, cfg.bias),
    ]


def _mla_ops(c: _Ctx) -> list[Op]:
    cfg, m, d, t, h = c.cfg, c.cfg.mla, c.cfg.d_model, c.tokens, c.cfg.n_heads
    qk = m.qk_nope_head_dim + m.qk_rope_head_dim
    latent = m.kv_lora_rank + m.qk_rope_head_dim
    kv_b_out = h * (m.qk_nope_head_dim + m.v_head_dim)
    ops = []
    if m.q_lora_rank:
        ops += [_linear("q_a_proj", "attention", d, m.q_lora_rank, t, c.wb, c.ab),
                _linear("q_b_proj", "attention", m.q_lora_rank, h * qk, t, c.wb, c.ab)]
    else:
        ops.append(_linear("q_proj", "attention", d, h * qk, t, c.wb, c.ab))
    ops.append(_linear("kv_a_proj", "attention", d, latent, t, c.wb, c.ab))
    if c.phase == "decode":
        # Weight absorption: kv_b folds into the query and output, attention runs in latent space.
        ops.append(_linear("kv_b_absorbed", "attention", m.kv_lora_rank, kv_b_out, t, c.wb, c.ab))
        ops.append(_attention_core(c, h, latent, m.kv_lora_rank, latent))
    else:
        expanded = c.batch * (c.past + c.new)
        ops.append(_linear("kv_b_proj", "attention", m.kv_lora_rank, kv_b_out, expanded, c.wb, c.ab))
        core = _attention_core(c, h, qk, m.v_head_dim, latent, extra_act=expanded * h * (qk + m.v_head_dim) * c.ab)
        ops.append(core)
    ops.append(_linear("o_proj", "attention", h * m.v_head_dim, d, t, c.wb, c.ab))
    return ops


def _ffn_ops(c: _Ctx, d_ff: int, group: str, prefix: str = "") -> list[Op]:
    cfg, d, t = c.cfg, c.cfg.d_model, c.tokens
    ops = []
    if cfg.ffn == "swiglu":
        ops.append(_linear(prefix + "gate_proj", group, d, d_ff, t, c.wb, c.ab))
    ops += [_linear(prefix + "up_proj", group, d, d_ff, t, c.wb, c.ab, cfg.bias),
            _linear(prefix + "down_proj", group, d_ff, d, t, c.wb, c.ab, cfg.bias)]
    return ops


def _moe_ops(c: _Ctx) -> list[Op]:
    cfg, m, d, t = c.cfg, c.cfg.moe, c.cfg.d_model, c.tokens
    mats = 3 if cfg.ffn == "swiglu" else 2
    expert_params = mats * d * m.moe_d_ff
    distinct = expected_distinct_experts(m.n_routed_experts, m.top_k, t)
    ops = [_linear("router", "moe", d, m.n_routed_experts, t, c.ab, c.ab)]
    if m.n_shared_experts:
        ops += _ffn_ops(c, m.n_shared_experts * m.moe_d_ff, "moe", prefix="shared_")
    ops.append(Op("routed_experts", "moe", 2.0 * t * m.top_k * expert_params,
                  weight_bytes=distinct * expert_params * c.wb,
                  act_bytes=t * m.top_k * mats * (d + m.moe_d_ff) * c.ab, kernels=mats))
    return ops


def resolve_weight_reuse(cfg: TransformerConfig, on_chip_bytes: float | None, weight_dtype: str,
                         mode: str = "auto") -> tuple[str, str]:
    """Decide whether a looped model's shared block is re-read every loop; return (mode, reason).

    ``auto`` picks ``per_step`` only when the block's weights fit in the
    device's on-chip memory (last-level cache), which is optimistic: the cache
    also holds activations, so the reason string states the sizes.
    """
    if mode in ("per_loop", "per_step"):
        return mode, f"forced {mode}"
    if mode != "auto":
        raise ValueError(f"weight reuse must be auto, per_loop or per_step, got '{mode}'")
    if cfg.loops == 1:
        return "per_loop", "not a looped model"
    block = cfg.block_params() * bytes_per_element(weight_dtype)
    if on_chip_bytes is None:
        return "per_loop", f"block {block / 1e6:.1f} MB; on-chip size unknown, assume re-read every loop"
    fits = block <= on_chip_bytes
    verdict = "fits" if fits else "does not fit"
    return ("per_step" if fits else "per_loop"), f"block {block / 1e6:.1f} MB {verdict} in {on_chip_bytes / 1e6:.0f} MB on chip"
