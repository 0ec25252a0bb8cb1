"""A two-level cluster (scale-up domains joined by a scale-out network) and the price of collectives on it.

The paper's picture (2.3 item 5): GPUs in an NVLink-class *scale-up domain*
(8 in a DGX, 72 in an NVL72 rack; ~200 ns hops) joined by an RDMA *scale-out*
network (one NIC per GPU, microseconds). A communication group of ``p`` ranks
placed ``k`` per domain over ``m = p / k`` domains is priced with the
alpha-beta model of the algorithm NCCL would run:

- all-reduce = reduce-scatter + all-gather. Ring over ``p``: ``2(p-1)`` steps,
  ``2(p-1)/p * n`` bytes per rank. Across domains it is hierarchical: the
  ``k`` ranks of a domain reduce-scatter over the scale-up links, the domains
  all-reduce their ``n/k`` shards over the ``k`` NICs in parallel, then
  all-gather -- so a domain's aggregate NIC bandwidth ``k * nic`` is what an
  inter-domain all-reduce sees, as nccl-tests' bus bandwidth shows on DGX pods.
  ``tree`` replaces the inter-domain ring's ``2(m-1)`` latency steps with
  ``2 log2 m`` (NCCL's double binary tree); ``auto`` takes the faster.
- all-to-all (expert parallelism): each rank's ``n`` bytes go ``(k-1)/p`` over
  scale-up and ``(p-k)/p`` over its NIC, concurrently; on a rail-optimised
  network cross-rail traffic first hops over NVLink (PXN), on a fat tree it
  pays the oversubscription.
- point-to-point (pipeline stages): one latency plus ``n`` bytes on the link
  between the two stages.

Every link runs at ``efficiency`` of its line rate (what NCCL attains of the
datasheet figure); latencies are per algorithm step.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from paradigmlab.costmodel.hardware import Hardware, load_hardware
from paradigmlab.costmodel.presets import load_preset

TOPOLOGIES = ("rail", "fat-tree")
ALGORITHMS = ("ring", "tree", "auto")


@dataclass(frozen=True)
class Cluster:
    """GPUs, their scale-up domains and the scale-out network between them (bandwidths per GPU, one direction)."""

    name: str
    gpu: str
    scale_up_size: int
    scale_up_gbs: float
    scale_out_gbs: float
    scale_up_latency_s: float = 0.5e-6
    scale_out_latency_s: float = 5e-6
    topology: str = "rail"
    oversubscription: float = 1.0
    efficiency: float = 0.8
    storage_write_gbs: float | None = None
    gpu_mtbf_hours: float | None = None
    max_gpus: int | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not isinstance(self.gpu, str):
            raise ValueError(f"cluster: name and gpu must be strings, got {self.name!r}, {self.gpu!r}")
        if not isinstance(self.scale_up_size, int) or isinstance(self.scale_up_size, bool) or self.scale_up_size < 1:
            raise ValueError(f"cluster '{self.name}': scale_up_size must be a positive integer, got {self.scale_up_size!r}")
        for attr, lo, optional in (("scale_up_gbs", 0, False), ("scale_out_gbs", 0, False),
                                   ("scale_up_latency_s", None, False), ("scale_out_latency_s", None, False),
                                   ("storage_write_gbs", 0, True), ("gpu_mtbf_hours", 0, True)):
            val = getattr(self, attr)
            if optional and val is None:
                continue
            ok = isinstance(val, (int, float)) and not isinstance(val, bool) and math.isfinite(val)
            if not ok or (val <= 0 if lo == 0 else val < 0):
                unit = "a bandwidth > 0 GB/s" if attr.endswith("gbs") else ">= 0 seconds" if lo is None else "> 0"
                raise ValueError(f"cluster '{self.name}': {attr} must be {unit}, got {val!r}")
        if self.topology not in TOPOLOGIES:
            raise ValueError(f"cluster '{self.name}': topology must be one of {TOPOLOGIES}, got {self.topology!r}")
        if not (isinstance(self.oversubscription, (int, float)) and math.isfinite(self.oversubscription)
                and self.oversubscription >= 1):
            raise ValueError(f"cluster '{self.name}': oversubscription must be >= 1, got {self.oversubscription!r}")
        if not (isinstance(self.efficiency, (int, float)) and 0 < self.efficiency <= 1):
            raise ValueError(f"cluster '{self.name}': efficiency must be in (0, 1], got {self.efficiency!r}")
        if self.max_gpus is not None and not (isinstance(self.max_gpus, int) and self.max_gpus >= 1):
            raise ValueError(f"cluster '{self.name}': max_gpus must be a positive integer, got {self.max_gpus!r}")
        if not isinstance(self.source, str):
            raise ValueError(f"cluster '{self.name}': source must be a string")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Cluster":
        """Build from a preset/user dict; unknown keys are an error."""
        extra = set(data) - set(cls.__dataclass_fields__)
        if extra:
            raise ValueError(f"cluster preset has unknown keys: {sorted(extra)}")
        missing = {"name", "gpu", "scale_up_size", "scale_up_gbs", "scale_out_gbs"} - set(data)
        if missing:
            raise ValueError(f"cluster preset lacks {sorted(missing)}")
        return cls(**data)

    @property
    def hardware(self) -> Hardware:
        """The GPU preset (peaks, HBM, memory size)."""
        return _hardware(self.gpu)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)

    @property
    def up(self) -> float:
        """Attained scale-up bandwidth per GPU and direction, bytes/s."""
        return self.scale_up_gbs * 1e9 * self.efficiency

    @property
    def out(self) -> float:
        """Attained scale-out bandwidth per GPU and direction, bytes/s (fat trees pay their oversubscription)."""
        over = self.oversubscription if self.topology == "fat-tree" else 1.0
        return self.scale_out_gbs * 1e9 * self.efficiency / over


@lru_cache(maxsize=64)
def _hardware(name: str) -> Hardware:
    return load_hardware(name)


def load_cluster(name_or_file: str | Path) -> Cluster:
    """Cluster from a bundled preset (``dgx-h100-superpod``) or a JSON/TOML file (errors name the file)."""
    data = load_preset("cluster", name_or_file)
    try:
        cluster = Cluster.from_dict(data)
        cluster.hardware  # the GPU must be a known preset
    except (ValueError, TypeError, FileNotFoundError) as exc:
        raise ValueError(f"{name_or_file}: {exc}") from None
    return cluster


@dataclass(frozen=True)
class Group:
    """``size`` ranks of one collective, ``per_domain`` of them in each scale-up domain they touch."""

    size: int
    per_domain: int

    @property
    def domains(self) -> int:
        """Scale-up domains the group spans."""
        return self.size // self.per_domain


def group(size: int, stride: int, cluster: Cluster) -> Group:
    """The group of ``size`` ranks spaced ``stride`` apart (Megatron's rank order) on ``cluster``'s domains."""
    if size < 1 or stride < 1:
        raise ValueError(f"group size and stride must be >= 1, got {size}, {stride}")
    per = max(1, min(size, cluster.scale_up_size // stride)) if stride < cluster.scale_up_size else 1
    while size % per:  # a domain holds a whole number of the group's ranks
        per -= 1
    return Group(size, per)


def _ring(steps: int, nbytes: float, bw: float, latency: float) -> float:
    return steps * latency + nbytes / bw if steps else 0.0


def allreduce(nbytes: float, g: Group, c: Cluster, algorithm: str = "auto") -> float:
    """Seconds for an all-reduce of ``nbytes`` per rank over group ``g``."""
    return 2.0 * _half(nbytes, g, c, algorithm)


def reduce_scatter(nbytes: float, g: Group, c: Cluster, algorithm: str = "auto") -> float:
    """Seconds for a reduce-scatter of ``nbytes`` per rank (the same as an all-gather to ``nbytes``)."""
    return _half(nbytes, g, c, algorithm)


all_gather = reduce_scatter


def _half(nbytes: float, g: Group, c: Cluster, algorithm: str) -> float:
    # One pass (reduce-scatter or all-gather): intra-domain ring, then the domains over their k NICs in parallel.
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got '{algorithm}'")
    if g.size == 1 or nbytes <= 0:
        return 0.0
    k, m = g.per_domain, g.domains
    t = _ring(k - 1, nbytes * (k - 1) / k, c.up, c.scale_up_latency_s)
    if m > 1:
        shard = nbytes / k * (m - 1) / m
        ring = _ring(m - 1, shard, c.out, c.scale_out_latency_s)
        tree = math.ceil(math.log2(m)) * c.scale_out_latency_s + shard / c.out
        t += {"ring": ring, "tree": tree, "auto": min(ring, tree)}[algorithm]
    return t


def all_to_all(nbytes: float, g: Group, c: Cluster) -> float:
    """Seconds for an all-to-all in which every rank sends ``nbytes`` in total, evenly over the group."""
    if g.size == 1 or nbytes <= 0:
        return 0.0
    k, p = g.per_domain, g.size
    intra_bytes, inter_bytes = nbytes * (k - 1) / p, nbytes * (p - k) / p
    if c.topology == "rail":
        # PXN: the (k-1)/k of inter-domain bytes bound for another rail first cross NVLink to the right GPU.
        intra_bytes += inter_bytes * (k - 1) / k
    intra, inter = intra_bytes / c.up, inter_bytes / c.out
    latency = c.scale_out_latency_s if p > k else c.scale_up_latency_s
    return latency + max(intra, inter)


def p2p(nbytes: float, cross_domain: bool, c: Cluster) -> float:
    """Seconds to send ``nbytes`` to one neighbour, inside a domain or across the scale-out network."""
    if nbytes <= 0:
        return 0.0
    if cross_domain:
        return c.scale_out_latency_s + nbytes / c.out
    return c.scale_up_latency_s + nbytes / c.up
