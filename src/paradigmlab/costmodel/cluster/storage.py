"""The storage leg: checkpoint size and write time, and how often to checkpoint given the failure rate (Young/Daly).

A training checkpoint holds what a restart needs: BF16 weights plus the FP32
master copy and both Adam moments (14 bytes per parameter; gradients are not
saved). The write is spread over every GPU (a fully parallel save, as
Megatron's distributed checkpointing and PyTorch DCP do: data-parallel
replicas split the identical state between them), so the parallel file
system's aggregate write bandwidth bounds the time. With asynchronous
checkpointing training only stalls for the copy of each GPU's
``bytes / gpus`` to host memory over PCIe.

Failures arrive at ``gpus / gpu_mtbf`` per hour (the Llama 3 report: 419
unexpected interruptions in 54 days on 16,384 H100s, one per ~50,700
GPU-hours). A failure loses the work since the last checkpoint plus a restart;
Young's first-order optimum interval is ``sqrt(2 delta M)``, Daly's
higher-order one (used here) ``sqrt(2 delta M) (1 + sqrt(delta / 2M) / 3 +
delta / 18M) - delta`` for ``delta < 2M``, else ``M``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from paradigmlab.costmodel.transformer import TransformerConfig

CHECKPOINT_BYTES_PER_PARAM = 14  # BF16 weights + FP32 master + Adam m, v
HOST_COPY_GBS = 25.0  # PCIe Gen5 x16 per GPU, one direction, attained


@dataclass(frozen=True)
class CheckpointPlan:
    """Checkpoint size, write and stall time, the job's failure rate and the best interval with its overhead."""

    bytes: float
    write_s: float
    stall_s: float
    job_mtbf_s: float
    interval_s: float
    young_interval_s: float
    wasted_fraction: float
    restart_s: float

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


def checkpoint_bytes(cfg: TransformerConfig) -> float:
    """Bytes of one full training checkpoint of ``cfg``."""
    return float(cfg.n_params()) * CHECKPOINT_BYTES_PER_PARAM


def daly_interval(delta_s: float, mtbf_s: float) -> float:
    """Daly's (2006) higher-order optimum compute time between checkpoints of cost ``delta_s``."""
    if not (delta_s > 0 and mtbf_s > 0):
        raise ValueError(f"checkpoint time and MTBF must be > 0, got {delta_s}, {mtbf_s}")
    if delta_s >= 2 * mtbf_s:
        return mtbf_s
    r = delta_s / (2 * mtbf_s)
    return math.sqrt(2 * delta_s * mtbf_s) * (1 + math.sqrt(r) / 3 + r / 9) - delta_s


def wasted_fraction(interval_s: float, delta_s: float, mtbf_s: float, restart_s: float = 0.0) -> float:
    """Expected share of wall time lost to checkpoints and failures (first order: checkpoints, half an interval
    of lost work and a restart per failure)."""
    if interval_s <= 0:
        raise ValueError(f"interval must be > 0, got {interval_s}")
    period = interval_s + delta_s
    return delta_s / period + (period / 2 + restart_s) / mtbf_s


def checkpoint_plan(cfg: TransformerConfig, gpus: int, storage_write_gbs: float, gpu_mtbf_hours: float,
                    asynchronous: bool = True, restart_s: float = 600.0) -> CheckpointPlan:
    """Checkpoint cost and the Young/Daly interval for ``cfg`` trained on ``gpus`` GPUs."""
    for name, val in (("storage_write_gbs", storage_write_gbs), ("gpu_mtbf_hours", gpu_mtbf_hours)):
        if not (isinstance(val, (int, float)) and math.isfinite(val) and val > 0):
            raise ValueError(f"{name} must be > 0, got {val!r}")
    if not isinstance(gpus, int) or isinstance(gpus, bool) or gpus < 1:
        raise ValueError(f"gpus must be a positive integer, got {gpus!r}")
    if not (isinstance(restart_s, (int, float)) and restart_s >= 0):
        raise ValueError(f"restart_s must be >= 0, got {restart_s!r}")
    nbytes = checkpoint_bytes(cfg)
    write = nbytes / (storage_write_gbs * 1e9)
    shard = nbytes / gpus
    stall = shard / (HOST_COPY_GBS * 1e9) if asynchronous else write
    mtbf = gpu_mtbf_hours * 3600.0 / gpus
    tau = daly_interval(stall, mtbf)
    return CheckpointPlan(nbytes, write, stall, mtbf, max(tau, write), math.sqrt(2 * stall * mtbf),
                          wasted_fraction(max(tau, write), stall, mtbf, restart_s), restart_s)
