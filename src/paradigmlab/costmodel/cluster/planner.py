"""Search the plan space: the fastest feasible training plan for a GPU count, the cheapest one for a deadline.

The space is every layout Megatron-Core would accept: TP a power of two
inside the scale-up domain dividing the heads, PP dividing the layers (or a
power of two with uneven stages), CP for
long sequences, EP dividing the experts and the data-parallel ranks, the
micro-batch, 1F1B / interleaved (2 or 4 virtual stages) / DualPipe,
recomputation none / selective / full, ZeRO 1 or 3. Each candidate is priced
by :func:`paradigmlab.costmodel.cluster.training.train_step` (per-layer costs
are cached, so a candidate costs tens of microseconds); plans that do not fit
in memory are kept with their reason, so a user sees why the obvious plan lost.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

from paradigmlab.costmodel.cluster.network import Cluster
from paradigmlab.costmodel.cluster.training import ParallelPlan, StepTime, train_step
from paradigmlab.costmodel.roofline import Calibration
from paradigmlab.costmodel.transformer import TransformerConfig
from paradigmlab.report import save_figure


@dataclass
class SearchResult:
    """Ranked feasible plans (fastest first) and what the search saw."""

    best: StepTime | None
    top: list[StepTime]
    evaluated: int
    feasible: int
    rejected: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def plans_per_s(self) -> float:
        """Search speed."""
        return self.evaluated / self.seconds if self.seconds else float("inf")

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"best": self.best.to_dict() if self.best else None, "top": [s.to_dict() for s in self.top],
                "evaluated": self.evaluated, "feasible": self.feasible, "rejected": dict(self.rejected),
                "search_seconds": self.seconds, "plans_per_s": self.plans_per_s}


def _divisors(n: int, limit: int | None = None) -> list[int]:
    return [d for d in range(1, (limit or n) + 1) if n % d == 0]


def _pow2(limit: int) -> list[int]:
    out, v = [], 1
    while v <= limit:
        out.append(v)
        v *= 2
    return out


def candidate_plans(cfg: TransformerConfig, gpus: int, seq_len: int, global_batch: int, cluster: Cluster,
                    dtype: str = "bf16", microbatches: tuple[int, ...] = (1, 2, 4, 8),
                    max_pp: int = 64) -> list[ParallelPlan]:
    """Every plan of the space above that lays out on ``gpus`` GPUs (divisibility checked; memory not yet)."""
    layers = cfg.n_layers * cfg.loops
    tps = [t for t in _pow2(cluster.scale_up_size) if cfg.n_heads % t == 0]
    cps = [c for c in _pow2(16) if c == 1 or (seq_len >= 16384 and seq_len % (2 * c) == 0)]
    # PP divides the layers, or is a power of two with uneven stages (DeepSeek-V3's 61 layers ran on PP16).
    pps = sorted(set(_divisors(layers, min(layers, max_pp))) | set(_pow2(min(layers, max_pp))))
    experts = cfg.moe.n_routed_experts if cfg.moe is not None else 1
    out = []
    for tp, cp, pp in product(tps, cps, pps):
        if gpus % (tp * cp * pp):
            continue
        dp = gpus // (tp * cp * pp)
        eps = [e for e in _pow2(min(experts, dp * cp)) if experts % e == 0 and (dp * cp) % e == 0] if experts > 1 else [1]
        for mb in microbatches:
            if global_batch % (dp * mb):
                continue
            m = global_batch // (dp * mb)
            schedules = [("1f1b", 1)]
            if pp > 1 and m % pp == 0:
                schedules += [("interleaved", v) for v in (2, 4)
                              if pp * v <= layers and (layers % pp or (layers // pp) % v == 0)]
            if pp > 2 and pp % 2 == 0:
                schedules.append(("dualpipe", 1))
            for ep, (sched, v), rc, zero in product(eps, schedules, ("none", "selective", "full"), (1, 3)):
                out.append(ParallelPlan(tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, microbatch=mb, schedule=sched,
                                        virtual_stages=v, recompute=rc, zero=zero, dtype=dtype,
                                        uneven_stages=bool(layers % (pp * v))))
    return out


def search(cfg: TransformerConfig, cluster: Cluster, gpus: int, seq_len: int, global_batch: int,
           calibration: Calibration | None = None, dtype: str = "bf16", top: int = 10,
           plans: list[ParallelPlan] | None = None) -> SearchResult:
    """Price every candidate plan; return the fastest feasible ones and the rejection reasons of the rest."""
    start = time.perf_counter()
    plans = candidate_plans(cfg, gpus, seq_len, global_batch, cluster, dtype) if plans is None else plans
    if not plans:
        raise ValueError(f"no plan lays out {cfg.name} on {gpus} GPUs with global batch {global_batch} "
                         f"(the degrees must multiply to the GPU count and divide layers, heads and batch)")
    feasible: list[StepTime] = []
    rejected: Counter = Counter()
    for plan in plans:
        step = train_step(cfg, plan, cluster, seq_len, global_batch, calibration)
        if step.feasible:
            feasible.append(step)
        else:
            rejected["does not fit in memory"] += 1
    feasible.sort(key=lambda s: s.seconds)
    return SearchResult(feasible[0] if feasible else None, feasible[:top], len(plans), len(feasible), rejected,
                        time.perf_counter() - start)


def cheapest_for_deadline(cfg: TransformerConfig, cluster: Cluster, tokens: float, deadline_days: float,
                          gpu_counts: list[int], seq_len: int, global_batch: int,
                          calibration: Calibration | None = None, dtype: str = "bf16") -> dict:
    """Fewest GPU-hours that train ``tokens`` within ``deadline_days``: the fastest plan per GPU count, then the
    cheapest count that meets the deadline (failures and checkpoints not included: see ``storage``)."""
    if not (tokens > 0 and deadline_days > 0):
        raise ValueError(f"tokens and deadline_days must be > 0, got {tokens}, {deadline_days}")
    rows = []
    for n in gpu_counts:
        try:
            res = search(cfg, cluster, n, seq_len, global_batch, calibration, dtype, top=1)
        except ValueError as exc:
            rows.append({"gpus": n, "error": str(exc)})
            continue
        if res.best is None:
            rows.append({"gpus": n, "error": "no plan fits in memory"})
            continue
        days = tokens / res.best.tokens_per_step * res.best.seconds / 86400.0
        rows.append({"gpus": n, "plan": res.best.plan.label(), "step_s": res.best.seconds, "days": days,
                     "gpu_hours": days * 24 * n, "mfu": res.best.mfu, "meets_deadline": days <= deadline_days})
    ok = [r for r in rows if r.get("meets_deadline")]
    best = min(ok, key=lambda r: r["gpu_hours"]) if ok else None
    return {"tokens": tokens, "deadline_days": deadline_days, "rows": rows, "best": best}


def plot_breakdown(steps: list[StepTime], path: str | Path, title: str = "", labels: list[str] | None = None) -> Path:
    """Stacked bars of each plan's step time: compute, recompute, bubble, exposed communication, optimiser
    (bars labelled by plan unless ``labels`` are given)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parts = ("compute", "recompute", "bubble", "communication", "optimizer")
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(steps) + 1.6))
    labels = labels or [s.plan.label() for s in steps]
    left = [0.0] * len(steps)
    for i, part in enumerate(parts):
        vals = [s.breakdown()[part] for s in steps]
        ax.barh(labels, vals, left=left, color=f"C{i}", label=part)
        left = [a + b for a, b in zip(left, vals)]
    ax.invert_yaxis()
    ax.set_xlabel("seconds per training step")
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(True, axis="x", alpha=0.3)
    return save_figure(fig, path)
