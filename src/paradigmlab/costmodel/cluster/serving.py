"""Serving on P/D-disaggregated pools: the GPUs each pool needs for a request rate under TTFT and TPOT targets.

Prefill and decode run on separate pools (the paper's 2.3 item 4; DistServe,
Splitwise). Each pool is a set of identical replicas of ``tp`` GPUs inside one
scale-up domain, costed by the single-device model
(:func:`paradigmlab.costmodel.transformer.decoder_costs` on the calibrated
roofline, :func:`paradigmlab.costmodel.roofline.predict`):

- decode: a replica runs ``b`` sequences at once; TPOT is one decode step at
  the mean context ``prompt + output / 2``; its memory holds the weights plus
  ``b`` full KV caches. It serves ``b / TPOT`` tokens/s; the pool needs
  ``rate * output / (b / TPOT)`` replicas.
- prefill: a replica prefills ``b`` prompts per forward; requests queue
  (M/D/1 at utilisation ``rho``: mean wait ``rho / (2 (1 - rho))`` service times),
  then the prompt's KV cache crosses the scale-out network to the decode pool
  over the replica's ``tp`` NICs. TTFT = wait + prefill + KV transfer; the
  highest ``rho`` that keeps it under target sets the replicas.

For each pool every ``tp`` (powers of two up to the domain size that divide
the heads) and batch is tried; the plan with the fewest GPUs wins (ties: the
lower latency).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from paradigmlab.costmodel.cluster.network import Cluster
from paradigmlab.costmodel.cluster.training import USABLE_MEMORY
from paradigmlab.costmodel.dtypes import bytes_per_element
from paradigmlab.costmodel.hardware import Hardware
from paradigmlab.costmodel.pd import kv_transfer_seconds
from paradigmlab.costmodel.roofline import Calibration, predict
from paradigmlab.costmodel.transformer import TransformerConfig, decoder_costs, memory_bytes

BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


@dataclass(frozen=True)
class Pool:
    """One pool's replica shape and size."""

    phase: str
    tp: int
    batch: int
    replicas: int
    gpus: int
    latency_s: float
    tokens_per_s_per_replica: float
    memory_per_gpu: float
    utilisation: float

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class ServingPlan:
    """Both pools for one workload, with the targets and what they achieve."""

    model: str
    cluster: str
    rate_rps: float
    prompt: int
    output: int
    ttft_target_s: float
    tpot_target_s: float
    prefill: Pool
    decode: Pool
    ttft_s: float
    kv_transfer_s: float
    calibration: str

    @property
    def gpus(self) -> int:
        """GPUs of both pools."""
        return self.prefill.gpus + self.decode.gpus

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {**{k: v for k, v in asdict(self).items() if k not in ("prefill", "decode")},
                "prefill": self.prefill.to_dict(), "decode": self.decode.to_dict(), "gpus": self.gpus}


def _tps(cfg: TransformerConfig, cluster: Cluster) -> list[int]:
    out, t = [], 1
    while t <= cluster.scale_up_size:
        if cfg.n_heads % t == 0:
            out.append(t)
        t *= 2
    return out


def decode_pool(cfg: TransformerConfig, cluster: Cluster, hw: Hardware, rate_rps: float, prompt: int, output: int,
                tpot_target_s: float, weight_dtype: str, kv_dtype: str, cal: Calibration | None) -> Pool | None:
    """Fewest-GPU decode pool meeting the TPOT target, or None when no replica shape meets it."""
    best = None
    usable = hw.memory_gb * 1e9 * USABLE_MEMORY
    for tp in _tps(cfg, cluster):
        for b in BATCHES:
            mem = memory_bytes(cfg, weight_dtype, kv_dtype, batch=b, context=prompt + output, tp=tp)
            if mem > usable:
                break
            tpot = predict(decoder_costs(cfg, "decode", b, prompt + output // 2, weight_dtype, kv_dtype, tp=tp),
                           hw, cal).seconds
            if tpot > tpot_target_s:
                break
            per = b / tpot
            reps = max(1, math.ceil(rate_rps * output / per))
            cand = Pool("decode", tp, b, reps, reps * tp, tpot, per, mem, rate_rps * output / (reps * per))
            if best is None or (cand.gpus, cand.latency_s) < (best.gpus, best.latency_s):
                best = cand
    return best


def prefill_pool(cfg: TransformerConfig, cluster: Cluster, hw: Hardware, rate_rps: float, prompt: int,
                 ttft_target_s: float, weight_dtype: str, kv_dtype: str,
                 cal: Calibration | None) -> tuple[Pool, float, float] | None:
    """Fewest-GPU prefill pool meeting the TTFT target: (pool, TTFT, KV transfer seconds) or None."""
    best = None
    usable = hw.memory_gb * 1e9 * USABLE_MEMORY
    kv_per_prompt = prompt * cfg.kv_elements_per_token() * bytes_per_element(kv_dtype)
    for tp in _tps(cfg, cluster):
        for b in BATCHES:
            mem = memory_bytes(cfg, weight_dtype, kv_dtype, batch=b, context=prompt, tp=tp)
            if mem > usable:
                break
            service = predict(decoder_costs(cfg, "prefill", b, prompt, weight_dtype, kv_dtype, tp=tp), hw, cal).seconds
            # The replica's tp GPUs each send their shard of the KV cache over their own NIC.
            transfer = kv_transfer_seconds(b * kv_per_prompt / tp, cluster.out / 1e9, cluster.scale_out_latency_s)
            slack = (ttft_target_s - transfer) / service - 1.0  # service times a request may wait in the queue
            if slack <= 0:
                break
            rho = min(0.95, 2 * slack / (1 + 2 * slack))
            per = b * prompt / service
            reps = max(1, math.ceil(rate_rps * prompt / (per * rho)))
            util = rate_rps * prompt / (reps * per)
            ttft = service * (1 + util / (2 * (1 - util))) + transfer
            cand = Pool("prefill", tp, b, reps, reps * tp, service, per, mem, util)
            if best is None or (cand.gpus, ttft) < (best[0].gpus, best[1]):
                best = (cand, ttft, transfer)
    return best


def serve_plan(cfg: TransformerConfig, cluster: Cluster, rate_rps: float, prompt: int, output: int,
               ttft_target_s: float, tpot_target_s: float, weight_dtype: str = "bf16", kv_dtype: str = "bf16",
               prefill_calibration: Calibration | None = None, decode_calibration: Calibration | None = None,
               calibration_note: str = "ideal roofline") -> ServingPlan:
    """Size both pools for ``rate_rps`` requests/s of ``prompt`` + ``output`` tokens under the two latency targets."""
    for name, val in (("rate_rps", rate_rps), ("ttft_target_s", ttft_target_s), ("tpot_target_s", tpot_target_s)):
        if not (isinstance(val, (int, float)) and math.isfinite(val) and val > 0):
            raise ValueError(f"{name} must be > 0, got {val!r}")
    for name, val in (("prompt", prompt), ("output", output)):
        if not isinstance(val, int) or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    hw = cluster.hardware
    dec = decode_pool(cfg, cluster, hw, rate_rps, prompt, output, tpot_target_s, weight_dtype, kv_dtype,
                      decode_calibration)
    if dec is None:
        raise ValueError(f"no decode replica of {cfg.name} on {hw.name} (TP up to {cluster.scale_up_size}) reaches "
                         f"TPOT {tpot_target_s * 1e3:g} ms within memory")
    pre = prefill_pool(cfg, cluster, hw, rate_rps, prompt, ttft_target_s, weight_dtype, kv_dtype, prefill_calibration)
    if pre is None:
        raise ValueError(f"no prefill replica of {cfg.name} on {hw.name} reaches TTFT {ttft_target_s * 1e3:g} ms "
                         f"for {prompt}-token prompts within memory")
    pool, ttft, transfer = pre
    return ServingPlan(cfg.name, cluster.name, rate_rps, prompt, output, ttft_target_s, tpot_target_s, pool, dec,
                       ttft, transfer, calibration_note)
