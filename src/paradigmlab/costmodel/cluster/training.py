"""Training step time and memory per GPU of a Transformer under a TP x PP x DP x CP x EP plan (Calculon-style).

One step = ``m`` micro-batches through a pipeline of ``pp`` stages. Per
micro-batch and stage:

- compute: every operation of the stage's layers, as counted by
  :func:`paradigmlab.costmodel.transformer.decoder_costs` (forward of ``b``
  sequences of ``s / cp`` tokens, sharded ``tp`` ways), priced one operation at
  a time on the calibrated roofline (``max(FLOPs / (eta_c peak), bytes /
  (eta_bw BW)) + kernels * overhead``; attention in the activation precision,
  linear layers in the plan's). Backward = 2 x forward. Recomputation adds
  the forward again (``full``) or QKV + attention (``selective``).
- communication, on :mod:`paradigmlab.costmodel.cluster.network`: TP all-reduces
  (reduce-scatter + all-gather under sequence parallelism; the same bytes),
  2 per layer forward, 2 backward, 2 more when the forward is recomputed;
  context-parallel K/V all-gathers hidden behind attention; EP dispatch and
  combine all-to-alls around every MoE layer; PP sends of the boundary
  activation (split ``tp`` ways, Megatron's scatter/gather) per virtual stage.
  ``tp_overlap`` / ``ep_overlap`` are the fractions hidden behind compute.
- the step: ``(m + bubble) * t_microbatch`` with bubble ``pp - 1`` (1F1B),
  ``(pp - 1) / v`` (interleaved, ``v`` virtual stages) or ``(pp/2 - 1) * 2/3``
  (DualPipe: its ``(PP/2-1)(F&B + B - 3W)`` with B = 2F, W = B/2); then the
  data-parallel gradient reduction (all-reduce, or reduce-scatter + parameter
  all-gather under ZeRO >= 1) over ``dp * cp`` ranks (experts over
  ``dp * cp / ep``), overlapped with the last micro-batch's backward when
  ``dp_overlap``; then the optimiser update (HBM-bound, 28 bytes per local parameter).

Memory per GPU (the most loaded stage): BF16 weights, gradients at
``grad_bytes``, 12 bytes of FP32 master + Adam moments per parameter (ZeRO 1
shards the optimiser over ``dp * cp``, 2 also gradients, 3 also weights),
activations of the micro-batches in flight (Korthikanti et al. 2022,
generalised to GQA / SwiGLU / MoE; FlashAttention, so no ``s^2`` term), FP32
logits on the last stage. A plan is feasible when that fits in 90 % of HBM
(the rest: CUDA context, NCCL buffers, allocator fragmentation).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache

from paradigmlab.costmodel.cluster.network import (ALGORITHMS, Cluster, all_gather, all_to_all, allreduce, group,
                                                   p2p, reduce_scatter)
from paradigmlab.costmodel.dtypes import bytes_per_element
from paradigmlab.costmodel.hardware import Hardware
from paradigmlab.costmodel.roofline import Calibration
from paradigmlab.costmodel.transformer import TransformerConfig, decoder_costs

SCHEDULES = ("1f1b", "interleaved", "dualpipe")
RECOMPUTE = ("none", "selective", "full")
USABLE_MEMORY = 0.9
_OPTIMIZER_BYTES = 12  # FP32 master weights + Adam m and v
_UPDATE_BYTES = 28  # HBM traffic of one mixed-precision AdamW update per parameter (as the single-device model)


@dataclass(frozen=True)
class ParallelPlan:
    """Degrees and options of one training plan; ``gpus = tp * pp * dp * cp`` (EP lives inside ``dp * cp``)."""

    tp: int = 1
    pp: int = 1
    dp: int = 1
    cp: int = 1
    ep: int = 1
    microbatch: int = 1
    schedule: str = "1f1b"
    virtual_stages: int = 1
    zero: int = 1
    recompute: str = "none"
    sequence_parallel: bool = True
    dtype: str = "bf16"
    grad_bytes: int = 4
    tp_overlap: float = 0.0
    ep_overlap: float = 0.0
    dp_overlap: bool = True
    uneven_stages: bool = False
    algorithm: str = "auto"
    #: Share of the GPU's SMs left to the model's kernels when communication kernels hold the rest
    #: (DeepSeek-V3 gives 20 of 132 H800 SMs to its all-to-all: 112/132).
    compute_share: float = 1.0

    def __post_init__(self) -> None:
        for attr in ("tp", "pp", "dp", "cp", "ep", "microbatch", "virtual_stages"):
            val = getattr(self, attr)
            if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                raise ValueError(f"plan: {attr} must be a positive integer, got {val!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"plan: schedule must be one of {SCHEDULES}, got '{self.schedule}'")
        if self.recompute not in RECOMPUTE:
            raise ValueError(f"plan: recompute must be one of {RECOMPUTE}, got '{self.recompute}'")
        if self.zero not in (0, 1, 2, 3):
            raise ValueError(f"plan: zero stage must be 0, 1, 2 or 3, got {self.zero!r}")
        if self.grad_bytes not in (2, 4):
            raise ValueError(f"plan: grad_bytes must be 2 (bf16) or 4 (fp32), got {self.grad_bytes!r}")
        for attr in ("tp_overlap", "ep_overlap"):
            if not 0 <= getattr(self, attr) <= 1:
                raise ValueError(f"plan: {attr} must be a fraction in [0, 1], got {getattr(self, attr)!r}")
        if not 0 < self.compute_share <= 1:
            raise ValueError(f"plan: compute_share must be in (0, 1], got {self.compute_share!r}")
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"plan: algorithm must be one of {ALGORITHMS}, got '{self.algorithm}'")
        if self.virtual_stages > 1 and self.schedule != "interleaved":
            raise ValueError("plan: virtual_stages > 1 needs schedule 'interleaved'")
        if self.schedule == "dualpipe" and self.pp % 2:
            raise ValueError(f"plan: DualPipe needs an even pipeline degree, got pp={self.pp}")
        if self.dp * self.cp % self.ep:
            raise ValueError(f"plan: ep={self.ep} must divide dp*cp={self.dp * self.cp} (experts shard the data-parallel ranks)")
        bytes_per_element(self.dtype)

    @property
    def gpus(self) -> int:
        """GPUs the plan occupies."""
        return self.tp * self.pp * self.dp * self.cp

    def label(self) -> str:
        """Short human form, e.g. ``TP8 PP16 DP64 mb1 1f1b sel``."""
        parts = [f"TP{self.tp}", f"PP{self.pp}"]
        parts += [f"VP{self.virtual_stages}"] if self.virtual_stages > 1 else []
        parts += [f"CP{self.cp}"] if self.cp > 1 else []
        parts += [f"EP{self.ep}"] if self.ep > 1 else []
        parts += [f"DP{self.dp}", f"mb{self.microbatch}", self.schedule, f"rc-{self.recompute}", f"ZeRO{self.zero}"]
        return " ".join(parts + ([self.dtype] if self.dtype != "bf16" else []))

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class StepTime:
    """Predicted training step: time breakdown (seconds), memory per GPU (bytes), feasibility with reasons."""

    plan: ParallelPlan
    seconds: float
    compute_s: float
    recompute_s: float
    bubble_s: float
    comm_s: dict[str, float]
    optimizer_s: float
    microbatches: int
    tokens_per_step: int
    model_flops: float
    mfu: float
    memory: dict[str, float]
    usable_memory: float
    feasible: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def exposed_comm_s(self) -> float:
        """Communication on the critical path (all kinds)."""
        return float(sum(self.comm_s.values()))

    @property
    def tokens_per_s_per_gpu(self) -> float:
        """Training throughput per GPU."""
        return self.tokens_per_step / self.seconds / self.plan.gpus

    def breakdown(self) -> dict[str, float]:
        """The step split into compute, recompute, bubble, exposed communication and optimiser (sums to ``seconds``)."""
        return {"compute": self.compute_s, "recompute": self.recompute_s, "bubble": self.bubble_s,
                "communication": self.exposed_comm_s, "optimizer": self.optimizer_s}

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"plan": self.plan.to_dict(), "label": self.plan.label(), "seconds": self.seconds,
                "breakdown": self.breakdown(), "comm_s": dict(self.comm_s), "microbatches": self.microbatches,
                "tokens_per_step": self.tokens_per_step, "tokens_per_s_per_gpu": self.tokens_per_s_per_gpu,
                "model_flops": self.model_flops, "mfu": self.mfu, "memory": dict(self.memory),
                "usable_memory": self.usable_memory, "feasible": self.feasible, "reasons": list(self.reasons)}


def check_plan(cfg: TransformerConfig, plan: ParallelPlan, gpus: int | None, seq_len: int, global_batch: int) -> int:
    """Reject a plan that cannot be laid out (named errors); return the micro-batches per step."""
    if gpus is not None and plan.gpus != gpus:
        raise ValueError(f"plan {plan.label()} uses tp*pp*dp*cp = {plan.gpus} GPUs, not the {gpus} given "
                         f"(the degrees must multiply to the GPU count)")
    for name, val in (("seq_len", seq_len), ("global_batch", global_batch)):
        if not isinstance(val, int) or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    executed = cfg.n_layers * cfg.loops
    chunks = plan.pp * plan.virtual_stages
    if executed % chunks and not plan.uneven_stages:
        raise ValueError(f"pp*virtual_stages = {chunks} does not divide the {executed} executed layers of {cfg.name}")
    if executed < chunks:
        raise ValueError(f"pp*virtual_stages = {chunks} exceeds the {executed} layers of {cfg.name}")
    if cfg.n_heads % plan.tp:
        raise ValueError(f"tp={plan.tp} does not divide the {cfg.n_heads} attention heads of {cfg.name}")
    if seq_len % plan.cp or (plan.cp > 1 and (seq_len // plan.cp) % 2):
        raise ValueError(f"cp={plan.cp} must split seq_len {seq_len} into even chunks (causal load balancing)")
    if plan.ep > 1 and cfg.moe is None:
        raise ValueError(f"ep={plan.ep} given but {cfg.name} has no experts")
    if cfg.moe is not None and cfg.moe.n_routed_experts % plan.ep:
        raise ValueError(f"ep={plan.ep} does not divide the {cfg.moe.n_routed_experts} experts of {cfg.name}")
    per_rank = plan.dp * plan.microbatch
    if global_batch % per_rank:
        raise ValueError(f"global batch {global_batch} is not a multiple of dp*microbatch = {per_rank}")
    m = global_batch // per_rank
    if plan.schedule == "interleaved" and plan.pp > 1 and m % plan.pp:
        raise ValueError(f"the interleaved schedule needs micro-batches ({m}) divisible by pp={plan.pp}")
    return m


# ---------------------------------------------------------------------------- one layer's forward, priced


@dataclass(frozen=True)
class _LayerTimes:
    dense_f: float  # forward seconds of a dense layer for one micro-batch
    moe_f: float
    dense_attn: float  # QKV + attention core part (what selective recomputation redoes)
    moe_attn: float
    attn_core: float  # attention core alone (overlaps the CP all-gathers)


def _op_seconds(op, hw: Hardware, cal: Calibration, dtype: str) -> float:
    peak = hw.peak("bf16" if op.name.endswith(".attention") or op.group == "norm" else dtype)[0]
    nbytes = op.weight_bytes + op.act_bytes + op.kv_bytes  # one execution
    t = max(op.flops / (peak * cal.compute_efficiency), nbytes / (hw.bandwidth * cal.bw_efficiency))
    return t + op.kernels * cal.kernel_overhead_s


@lru_cache(maxsize=4096)
def _layer_times(cfg: TransformerConfig, mb: int, s_local: int, cp: int, tp: int, ep: int, dtype: str,
                 hw_key: tuple, cal: Calibration) -> _LayerTimes:
    hw = _HW[hw_key]
    out = {}
    for kind, ops in zip(("dense", "moe"), _layer_ops(cfg, mb, s_local, tp, dtype)):
        total = attn = core = 0.0
        for op in ops:
            if op.name.endswith(".attention"):
                # Context parallelism: a rank's queries see all s keys, so the core does cp x the local-causal work.
                op = replace(op, flops=op.flops * cp, kv_bytes=op.kv_bytes * cp)
            elif op.name.endswith(".routed_experts") and ep > 1:
                op = replace(op, weight_bytes=op.weight_bytes / ep)
            t = _op_seconds(op, hw, cal, dtype)
            total += t
            if op.group == "attention" and not op.name.endswith("o_proj"):
                attn += t
            if op.name.endswith(".attention"):
                core = t
        out[kind] = (total, attn, core)
    return _LayerTimes(out["dense"][0], out["moe"][0], out["dense"][1], out["moe"][1],
                       out["dense"][2] or out["moe"][2])


@lru_cache(maxsize=1024)
def _layer_ops(cfg: TransformerConfig, mb: int, s_local: int, tp: int, dtype: str) -> tuple[tuple, tuple]:
    # The forward operations of one dense and one MoE layer for a micro-batch (communication is priced separately).
    costs = decoder_costs(cfg, "prefill", batch=mb, context=s_local, weight_dtype=dtype, act_dtype="bf16", tp=tp)
    first_moe = cfg.moe.first_dense_layers if cfg.moe is not None else cfg.n_layers
    return tuple(tuple(op for op in costs.ops if op.name.startswith(f"L{index}.") and op.group != "comm")
                 if index < cfg.n_layers else () for index in (0, first_moe))


_HW: dict[tuple, Hardware] = {}


def _hw_key(hw: Hardware, dtype: str) -> tuple:
    key = (hw.name, hw.peak(dtype)[0], hw.peak("bf16")[0], hw.bandwidth)
    _HW.setdefault(key, hw)
    return key


# ---------------------------------------------------------------------------- counts shared with the planner


@lru_cache(maxsize=256)
def model_flops_per_sequence(cfg: TransformerConfig, seq_len: int) -> float:
    """Training FLOPs of one sequence (3 x forward: causal attention, logits at every position), no recomputation."""
    fwd = decoder_costs(cfg, "prefill", batch=1, context=seq_len).flops
    head = 2.0 * seq_len * cfg.d_model * cfg.vocab_size
    return 3.0 * (fwd - 2.0 * cfg.d_model * cfg.vocab_size + head)


def stage_layers(cfg: TransformerConfig, plan: ParallelPlan) -> list[tuple[int, int]]:
    """(dense, moe) executed layers held by each pipeline stage (the first stages take the dense layers)."""
    return list(_stage_layers(cfg, plan.pp))


@lru_cache(maxsize=4096)
def _stage_layers(cfg: TransformerConfig, pp: int) -> tuple[tuple[int, int], ...]:
    executed = cfg.n_layers * cfg.loops
    per = math.ceil(executed / pp)
    out = []
    for s in range(pp):
        lo, hi = s * per, min(executed, (s + 1) * per)
        idx = [i % cfg.n_layers for i in range(lo, hi)]
        moe = sum(1 for i in idx if cfg.is_moe_layer(i))
        out.append((len(idx) - moe, moe))
    return tuple(out)


@lru_cache(maxsize=65536)
def _stage_params(cfg: TransformerConfig, plan: ParallelPlan, stage: int) -> tuple[float, float, int]:
    """(non-expert, expert) parameters per GPU of ``stage`` and how many stages hold each of its weights."""
    executed = cfg.n_layers * cfg.loops
    per = math.ceil(executed / plan.pp)
    unique = sorted({i % cfg.n_layers for i in range(stage * per, min(executed, (stage + 1) * per))})
    dense = expert = 0.0
    for i in unique:
        p = cfg.layer_params(i)
        if cfg.is_moe_layer(i):
            m = cfg.moe
            mats = 3 if cfg.ffn == "swiglu" else 2
            routed = m.n_routed_experts * mats * cfg.d_model * m.moe_d_ff
            expert += routed / (plan.ep * plan.tp)
            p -= routed
        dense += p / plan.tp
    emb = cfg.vocab_size * cfg.d_model
    if stage == 0:
        dense += (emb + cfg.max_position * cfg.d_model) / plan.tp
    if stage == plan.pp - 1 and not (cfg.tied_embeddings and plan.pp == 1):
        dense += emb / plan.tp
    copies = max(1, plan.pp * len(unique) // cfg.n_layers) if cfg.loops > 1 else 1
    return dense, expert, copies


def activation_bytes_per_layer(cfg: TransformerConfig, plan: ParallelPlan, seq_len: int, moe: bool) -> float:
    """Activation bytes one layer keeps for backward, per micro-batch and GPU (BF16, FlashAttention)."""
    t = plan.tp
    tokens = plan.microbatch * seq_len / plan.cp
    h = cfg.d_model
    if plan.recompute == "full":
        return 2.0 * tokens * h / (t if plan.sequence_parallel else 1)
    if cfg.attention == "mla":
        m = cfg.mla
        qkv = cfg.n_heads * (2 * (m.qk_nope_head_dim + m.qk_rope_head_dim) + m.v_head_dim)
    else:
        qkv = (cfg.n_heads + 2 * cfg.kv_heads) * cfg.hd
    gated = 2 if cfg.ffn == "swiglu" else 1
    if moe:
        f = cfg.moe.top_k * cfg.moe.moe_d_ff + cfg.moe.n_shared_experts * cfg.moe.moe_d_ff
    else:
        f = cfg.d_ff
    # GEMM inputs kept for the weight gradient are FP8 copies under FP8 training (Transformer Engine saves the
    # cast input); Q/K/V, the FFN's hidden activations and the norm inputs stay BF16.
    lin = 1.0 if plan.dtype.startswith("fp8") else 2.0
    attn_shard = tokens * (2.0 * qkv + lin * cfg.n_heads * cfg.hd)  # Q, K, V; the attention output (o_proj input)
    mlp_shard = tokens * f * (2.0 * gated + lin)  # up/gate outputs; the activation (down_proj input)
    # Korthikanti's 10sbh: two norm inputs (4), the QKV and FFN inputs (2 + 2, GEMM inputs), two dropout masks (2)
    replicated = (6.0 + 2.0 * lin) * tokens * h
    if plan.recompute == "selective":
        attn_shard = 0.0  # QKV and the attention output are recomputed from the stored block input
    return (attn_shard + mlp_shard) / t + replicated / (t if plan.sequence_parallel else 1)


def in_flight_microbatches(plan: ParallelPlan, m: int) -> float:
    """Micro-batches whose activations stage 0 holds at the peak (1F1B: pp; interleaved: Korthikanti's factor)."""
    if plan.schedule == "dualpipe":
        return float(min(m, plan.pp + 1))
    base = float(min(m, plan.pp))
    if plan.schedule == "interleaved" and plan.virtual_stages > 1:
        base *= 1 + (plan.pp - 1) / (plan.pp * plan.virtual_stages)
    return base


def memory_per_gpu(cfg: TransformerConfig, plan: ParallelPlan, seq_len: int, m: int) -> dict[str, float]:
    """Bytes per GPU on the most loaded stage: weights, gradients, optimiser, activations, logits."""
    worst: dict[str, float] = {}
    layers = stage_layers(cfg, plan)
    shard_opt = plan.dp * plan.cp if plan.zero >= 1 else 1
    for s in sorted({0, plan.pp - 1}):
        dense, expert, _ = _stage_params(cfg, plan, s)
        expert_dp = plan.dp * plan.cp // plan.ep
        copies = 2 if plan.schedule == "dualpipe" else 1  # DualPipe keeps two copies of the parameters
        weights = copies * 2.0 * (dense / (shard_opt if plan.zero >= 3 else 1) + expert / (expert_dp if plan.zero >= 3 else 1))
        grads = copies * plan.grad_bytes * (dense / (shard_opt if plan.zero >= 2 else 1)
                                            + expert / (expert_dp if plan.zero >= 2 else 1))
        opt = _OPTIMIZER_BYTES * (dense / shard_opt + expert / (expert_dp if plan.zero >= 1 else 1))
        n_dense, n_moe = layers[s]
        per_mb = (n_dense * activation_bytes_per_layer(cfg, plan, seq_len, False)
                  + n_moe * (activation_bytes_per_layer(cfg, plan, seq_len, True) if n_moe else 0.0))
        flight = in_flight_microbatches(plan, m) if s == 0 else 1.0
        acts = per_mb * flight
        logits = (2 * 4.0 * plan.microbatch * seq_len / plan.cp * cfg.vocab_size / plan.tp) if s == plan.pp - 1 else 0.0
        row = {"weights": weights, "gradients": grads, "optimizer": opt, "activations": acts, "logits": logits}
        row["total"] = sum(row.values())
        if row["total"] > worst.get("total", -1.0):
            worst = row
    return worst


# ---------------------------------------------------------------------------- the step


def train_step(cfg: TransformerConfig, plan: ParallelPlan, cluster: Cluster, seq_len: int, global_batch: int,
               calibration: Calibration | None = None, gpus: int | None = None) -> StepTime:
    """Predicted time, breakdown and memory of one training step of ``global_batch`` sequences of ``seq_len``."""
    m = check_plan(cfg, plan, gpus, seq_len, global_batch)
    if cluster.max_gpus is not None and plan.gpus > cluster.max_gpus:
        raise ValueError(f"plan needs {plan.gpus} GPUs; cluster '{cluster.name}' has {cluster.max_gpus}")
    hw = cluster.hardware
    cal = calibration or Calibration()
    if plan.compute_share < 1:
        cal = replace(cal, compute_efficiency=cal.compute_efficiency * plan.compute_share)
    s_local = seq_len // plan.cp
    lt = _layer_times(cfg, plan.microbatch, s_local, plan.cp, plan.tp, plan.ep, plan.dtype, _hw_key(hw, plan.dtype), cal)
    tokens = plan.microbatch * s_local  # per micro-batch and rank
    d, ab = cfg.d_model, 2.0

    tp_g = group(plan.tp, 1, cluster)
    cp_g = group(plan.cp, plan.tp, cluster)
    ep_g = group(plan.ep, plan.tp * plan.cp, cluster)
    dp_g = group(plan.dp * plan.cp, plan.tp, cluster) if plan.cp > 1 else group(plan.dp, plan.tp * plan.cp, cluster)
    pp_g = group(plan.pp, plan.tp * plan.cp * plan.dp, cluster)

    passes = 6 if plan.recompute == "full" else 4  # TP collectives per layer and micro-batch
    tp_layer = (passes / 2) * allreduce(tokens * d * ab, tp_g, cluster, plan.algorithm) * (1.0 - plan.tp_overlap)
    if cfg.attention == "mla":
        kv_width = cfg.mla.kv_lora_rank + cfg.mla.qk_rope_head_dim
    else:
        kv_width = 2 * cfg.kv_heads * cfg.hd / plan.tp
    kv_chunk = tokens * kv_width * ab
    cp_fwd = all_gather(kv_chunk * plan.cp, cp_g, cluster, plan.algorithm)
    cp_layer = max(0.0, cp_fwd - lt.attn_core) + max(0.0, 2 * cp_fwd - 2 * lt.attn_core)
    if plan.recompute == "full":
        cp_layer += max(0.0, cp_fwd - lt.attn_core)
    if cfg.moe is not None and plan.ep > 1:
        # Under sequence parallelism each TP rank routes only its s/tp share of the tokens.
        routed = tokens / (plan.tp if plan.sequence_parallel else 1)
        dispatch = routed * cfg.moe.top_k * d * bytes_per_element(plan.dtype if plan.dtype.startswith("fp8") else "bf16")
        combine = routed * cfg.moe.top_k * d * ab
        a2a = all_to_all(dispatch, ep_g, cluster) + all_to_all(combine, ep_g, cluster)
        ep_layer = a2a * (3 if plan.recompute == "full" else 2) * (1.0 - plan.ep_overlap)
    else:
        ep_layer = 0.0

    per_stage = []
    for s, (n_dense, n_moe) in enumerate(stage_layers(cfg, plan)):
        f = n_dense * lt.dense_f + n_moe * lt.moe_f
        if s == plan.pp - 1:
            f += _head_seconds(cfg, tokens, plan, hw, cal)
        rc = {"none": 0.0, "full": f, "selective": n_dense * lt.dense_attn + n_moe * lt.moe_attn}[plan.recompute]
        comm_tp = (n_dense + n_moe) * tp_layer
        comm_cp = (n_dense + n_moe) * cp_layer
        comm_ep = n_moe * ep_layer
        per_stage.append((3 * f, rc, comm_tp, comm_cp, comm_ep))
    cross = pp_g.domains > 1
    v = plan.virtual_stages
    pp_mb = 2 * v * p2p(tokens * d * ab / plan.tp, cross, cluster) if plan.pp > 1 else 0.0
    slow = max(per_stage, key=lambda r: sum(r))
    t_mb = sum(slow) + pp_mb
    bubble = {"1f1b": plan.pp - 1.0, "interleaved": (plan.pp - 1.0) / v,
              "dualpipe": max(0.0, plan.pp / 2 - 1.0) * 2.0 / 3.0}[plan.schedule]

    # Data-parallel gradient reduction (+ parameter all-gather under ZeRO), overlapped with the last backward.
    dense, expert, copies = _stage_params(cfg, plan, per_stage.index(slow))
    exp_g = group(max(1, plan.dp * plan.cp // plan.ep), plan.tp * plan.cp * plan.ep, cluster)
    dp_t = 0.0
    for n_params, g in ((dense, dp_g), (expert, exp_g)):
        if n_params == 0 or g.size == 1:
            continue
        if plan.zero == 0:
            dp_t += allreduce(n_params * plan.grad_bytes, g, cluster, plan.algorithm)
        else:
            dp_t += reduce_scatter(n_params * plan.grad_bytes, g, cluster, plan.algorithm)
            dp_t += all_gather(n_params * 2.0, g, cluster, plan.algorithm)
    if copies > 1:  # looped weights held by several stages: their gradients are summed across those stages too
        dp_t += allreduce(dense * plan.grad_bytes, group(copies, plan.tp * plan.cp * plan.dp, cluster), cluster)
    zero3 = 0.0
    if plan.zero >= 3 and dp_g.size > 1:  # parameters gathered before every forward and backward of a micro-batch
        gather = 2 * m * all_gather((dense + expert) * 2.0, dp_g, cluster, plan.algorithm)
        zero3 = max(0.0, gather - m * slow[0])
    # Overlap (Megatron-Core's overlap-grad-reduce / overlap-param-gather): gradient buckets reduce during the last
    # micro-batch's backward; under ZeRO the parameter all-gather runs under the next step's first forward.
    window = (slow[0] if plan.zero >= 1 else slow[0] * 2 / 3) if plan.dp_overlap else 0.0
    dp_exposed = max(0.0, dp_t - window) + zero3
    shard = plan.dp * plan.cp if plan.zero >= 1 else 1
    optimizer = _UPDATE_BYTES * (dense / shard + expert / max(1, plan.dp * plan.cp // plan.ep if plan.zero >= 1 else 1)) \
        / (hw.bandwidth * cal.bw_efficiency)

    compute = m * slow[0]
    recompute = m * slow[1]
    comm = {"tp": m * slow[2], "cp": m * slow[3], "ep": m * slow[4], "pp": m * pp_mb, "dp": dp_exposed}
    bubble_s = bubble * t_mb
    seconds = compute + recompute + sum(comm.values()) + bubble_s + optimizer

    mem = memory_per_gpu(cfg, plan, seq_len, m)
    usable = hw.memory_gb * 1e9 * USABLE_MEMORY if hw.memory_gb else float("inf")
    reasons = []
    if mem["total"] > usable:
        parts = ", ".join(f"{k} {v / 1e9:.1f}" for k, v in mem.items() if k != "total")
        reasons.append(f"memory {mem['total'] / 1e9:.1f} GB per GPU exceeds {usable / 1e9:.1f} GB usable ({parts} GB)")
    flops = model_flops_per_sequence(cfg, seq_len) * global_batch
    mfu = flops / (seconds * plan.gpus * hw.peak("bf16")[0])
    return StepTime(plan, seconds, compute, recompute, bubble_s, comm, optimizer, m, global_batch * seq_len, flops, mfu,
                    mem, usable, not reasons, reasons)


def _head_seconds(cfg: TransformerConfig, tokens: int, plan: ParallelPlan, hw: Hardware, cal: Calibration) -> float:
    # LM head over every position (vocab-parallel over TP) and the FP32 softmax cross-entropy, forward only.
    v = cfg.vocab_size / plan.tp
    flops = 2.0 * tokens * cfg.d_model * v
    gemm = max(flops / (hw.peak(plan.dtype)[0] * cal.compute_efficiency),
               (cfg.d_model * v * 2 + tokens * (cfg.d_model + v) * 2) / (hw.bandwidth * cal.bw_efficiency))
    loss = 3 * tokens * v * 4.0 / (hw.bandwidth * cal.bw_efficiency)
    return gemm + loss + 2 * cal.kernel_overhead_s
