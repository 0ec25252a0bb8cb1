"""Roofline prediction of step time, with an optional 3-parameter calibration.

Physical floor: ``max(bytes / bandwidth, FLOPs / peak)`` plus all-reduce bytes
over the device link. Calibrated prediction:

    t = max(bytes / (eta_bw * BW), FLOPs / (eta_c * peak)) + kernels * overhead + comm

with at most three parameters per device: bandwidth efficiency ``eta_bw``,
compute efficiency ``eta_c`` and a fixed per-kernel overhead (launch, ramp-up
and tail of each kernel; all-reduces count as kernels). Every prediction
carries its floor and the MBU/MFU it implies, so an optimistic calibration
cannot hide.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Sequence

import numpy as np

from paradigmlab.costmodel.hardware import Hardware
from paradigmlab.costmodel.transformer import Costs
from paradigmlab.report import save_figure

CALIBRATION_PARAMS = ("bw_efficiency", "compute_efficiency", "kernel_overhead_s")


@dataclass(frozen=True)
class Calibration:
    """Efficiency parameters of one device (1, 1, 0 = the ideal roofline)."""

    bw_efficiency: float = 1.0
    compute_efficiency: float = 1.0
    kernel_overhead_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("bw_efficiency", "compute_efficiency"):
            val = getattr(self, name)
            if not 0 < val <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {val}")
        if self.kernel_overhead_s < 0:
            raise ValueError(f"kernel_overhead_s must be >= 0, got {self.kernel_overhead_s}")

    def __str__(self) -> str:
        return (f"bandwidth efficiency {self.bw_efficiency:.3f}, compute efficiency {self.compute_efficiency:.3f}, "
                f"per-kernel overhead {self.kernel_overhead_s * 1e6:.2f} us")


@dataclass(frozen=True)
class Prediction:
    """Predicted step time with its physical floor and implied utilisation."""

    seconds: float
    floor_s: float
    memory_floor_s: float
    compute_floor_s: float
    comm_s: float
    overhead_s: float
    bound: str
    mbu: float
    mfu: float
    precision: str
    hardware: str
    calibration: Calibration

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


def comm_seconds(costs: Costs, hw: Hardware) -> float:
    """Ring all-reduce time of the step's collectives at the device link bandwidth."""
    if costs.tp == 1 or costs.comm_bytes == 0:
        return 0.0
    if hw.link_gbs is None:
        raise ValueError(f"hardware '{hw.name}' has no link bandwidth for tensor parallelism")
    return 2.0 * (costs.tp - 1) / costs.tp * costs.comm_bytes / (hw.link_gbs * 1e9)


def predict(costs: Costs, hw: Hardware, calibration: Calibration | None = None) -> Prediction:
    """Step time of ``costs`` on ``hw`` (ideal roofline unless a calibration is given)."""
    cal = calibration or Calibration()
    peak, prec = hw.peak(costs.weight_dtype)
    mem_floor = costs.bytes / hw.bandwidth
    comp_floor = costs.flops / peak
    comm = comm_seconds(costs, hw)
    mem = mem_floor / cal.bw_efficiency
    comp = comp_floor / cal.compute_efficiency
    overhead = costs.kernels * cal.kernel_overhead_s
    t = max(mem, comp) + overhead + comm
    return Prediction(
        seconds=t,
        floor_s=max(mem_floor, comp_floor) + comm,
        memory_floor_s=mem_floor,
        compute_floor_s=comp_floor,
        comm_s=comm,
        overhead_s=overhead,
        bound="memory" if mem >= comp else "compute",
        mbu=costs.bytes / t / hw.bandwidth,
        mfu=costs.flops / t / peak,
        precision=prec,
        hardware=hw.name,
        calibration=cal,
    )


def fit_calibration(
    points: Sequence[tuple[Costs, float]],
    hw: Hardware,
    free: Sequence[str] = ("bw_efficiency", "kernel_overhead_s"),
) -> Calibration:
    """Least-squares fit (on log time) of the ``free`` calibration parameters to measured seconds.

    Only fit what the data can identify: batch-1 decode never touches the
    compute roof, so ``compute_efficiency`` should stay fixed at 1 there.
    """
    from scipy.optimize import least_squares

    free = list(free)
    unknown = set(free) - set(CALIBRATION_PARAMS)
    if unknown or not 1 <= len(free) <= 3:
        raise ValueError(f"free must be 1-3 of {CALIBRATION_PARAMS}, got {free}")
    if len(points) < len(free):
        raise ValueError(f"need at least {len(free)} measurements to fit {free}, got {len(points)}")
    if any(not (s > 0 and math.isfinite(s)) for _, s in points):
        raise ValueError("measured times must be positive and finite")
    scale = {"bw_efficiency": 1.0, "compute_efficiency": 1.0, "kernel_overhead_s": 1e-6}
    lo = {"bw_efficiency": 0.01, "compute_efficiency": 0.01, "kernel_overhead_s": 0.0}
    hi = {"bw_efficiency": 1.0, "compute_efficiency": 1.0, "kernel_overhead_s": 1000.0}
    x0 = {"bw_efficiency": 0.8, "compute_efficiency": 0.8, "kernel_overhead_s": 2.0}

    def make(x: np.ndarray) -> Calibration:
        vals = {name: float(v) * scale[name] for name, v in zip(free, x)}
        return Calibration(**vals)

    # The step totals do not depend on the calibration: sum each Costs' operations once, not at every evaluation.
    totals = [(SimpleNamespace(flops=c.flops, bytes=c.bytes, kernels=c.kernels, comm_bytes=c.comm_bytes, tp=c.tp,
                               weight_dtype=c.weight_dtype), s) for c, s in points]

    def residuals(x: np.ndarray) -> np.ndarray:
        cal = make(x)
        return np.array([math.log(predict(c, hw, cal).seconds / s) for c, s in totals])

    res = least_squares(residuals, [x0[n] for n in free], bounds=([lo[n] for n in free], [hi[n] for n in free]))
    return make(res.x)


def plot_roofline(
    points: Sequence[tuple[str, Costs]],
    hw: Hardware,
    path: str | Path,
    dtype: str = "bf16",
    extra: Sequence[tuple[str, float]] = (),
) -> Path:
    """Save a log-log roofline of ``hw`` at ``dtype`` with each workload placed on it.

    ``extra`` adds (label, intensity) markers for workloads costed elsewhere
    (e.g. ResNet-50 from :mod:`paradigmlab.costmodel.cnn`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    peak, prec = hw.peak(dtype)
    bw = hw.bandwidth
    xs = np.logspace(-1, 4, 200)
    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.loglog(xs, np.minimum(xs * bw, peak) / 1e12, "k-", lw=2, label=f"{hw.name} roof ({prec})")
    ax.axvline(peak / bw, color="grey", ls=":", lw=1)
    ax.text(peak / bw, peak / 1e12 * 1.15, f"ridge {peak / bw:.0f} FLOP/B", ha="center", fontsize=8)
    markers = [(label, c.intensity) for label, c in points] + list(extra)
    for i, (label, ai) in enumerate(markers):
        ax.loglog([ai], [min(ai * bw, peak) / 1e12], "o", color=f"C{i % 10}", label=f"{label}: {ai:.1f} FLOP/B")
    ax.set_xlabel("arithmetic intensity (FLOPs / byte of HBM traffic)")
    ax.set_ylabel("attainable TFLOP/s")
    ax.set_title(f"Roofline: {hw.name}, {hw.memory_bandwidth_gbs:.0f} GB/s, {peak / 1e12:.0f} TFLOP/s {prec}")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(True, which="both", alpha=0.3)
    return save_figure(fig, path, dpi=120)


def cost_summary(costs: Costs, hw: Hardware | None = None, calibration: Calibration | None = None) -> dict:
    """Flat dict for a :class:`paradigmlab.measure.Run`'s ``cost`` field: counts, intensity, predicted time."""
    out = {"flops": costs.flops, "bytes": costs.bytes, "intensity": costs.intensity,
           "weight_bytes": costs.weight_bytes, "kv_bytes": costs.kv_bytes}
    if hw is not None:
        p = predict(costs, hw, calibration)
        out.update({"hardware": hw.name, "predicted_s": p.seconds, "floor_s": p.floor_s, "bound": p.bound,
                    "implied_mbu": p.mbu, "implied_mfu": p.mfu})
    return out
