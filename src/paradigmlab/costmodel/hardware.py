"""Hardware presets: dense peak throughput per precision, memory, power.

GPU figures are the vendors' dense (not 2:4-sparse) datasheet peaks. The
compute-in-memory macro carries only an energy efficiency, tagged with the
level it was measured at (macro, chip, board, system), because a macro-level
TOPS/W leaves out everything outside the macro. A p-bit machine (kinds
``pbit_*``: an FPGA, an ASIC, p-bit sampling software on GPUs) carries a flip
rate and an energy per flip (quoted, or board power over flip rate); a figure
that is an assumption rather than the source's is named in ``assumed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paradigmlab.costmodel.dtypes import compute_precision, fallback_precision
from paradigmlab.costmodel.presets import load_preset

_LEVELS = ("macro", "chip", "board", "system")
_KINDS = ("gpu", "cim_macro", "pbit_fpga", "pbit_asic", "pbit_gpu")


@dataclass(frozen=True)
class Hardware:
    """One device. Throughput in TFLOPS (or TOPS), bandwidth in GB/s, memory in GB."""

    name: str
    kind: str = "gpu"
    peak_tflops: dict[str, float] = field(default_factory=dict)
    memory_bandwidth_gbs: float | None = None
    memory_gb: float | None = None
    power_w: float | None = None
    power_level: str = "board"
    on_chip_mb: float | None = None
    link_gbs: float | None = None
    tops_per_watt_quoted: dict[str, float] = field(default_factory=dict)
    flips_per_ns: float | None = None
    flips_per_ns_low: float | None = None
    energy_per_flip_j: float | None = None
    assumed: tuple[str, ...] = ()
    source: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"hardware '{self.name}': kind must be one of {_KINDS}, got '{self.kind}'")
        if self.power_level not in _LEVELS:
            raise ValueError(f"hardware '{self.name}': power_level must be one of {_LEVELS}")
        for key, val in self.peak_tflops.items():
            if not (isinstance(val, (int, float)) and val > 0):
                raise ValueError(f"hardware '{self.name}': peak_tflops[{key}] must be > 0, got {val!r}")
        for attr in ("memory_bandwidth_gbs", "memory_gb", "power_w", "on_chip_mb", "link_gbs", "flips_per_ns",
                     "flips_per_ns_low", "energy_per_flip_j"):
            val = getattr(self, attr)
            if val is not None and not (isinstance(val, (int, float)) and val > 0):
                raise ValueError(f"hardware '{self.name}': {attr} must be > 0, got {val!r}")
        if self.is_pbit and self.flips_per_ns is None and self.energy_per_flip_j is None:
            raise ValueError(f"hardware '{self.name}': a p-bit machine (kind {self.kind}) needs flips_per_ns or "
                             "energy_per_flip_j")
        unknown = set(self.assumed) - set(self.__dataclass_fields__)
        if unknown:
            raise ValueError(f"hardware '{self.name}': assumed names unknown fields {sorted(unknown)}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Hardware":
        """Build from a preset dict; unknown keys are an error (typos must not pass silently)."""
        data = dict(data)
        data["tops_per_watt_quoted"] = data.pop("tops_per_watt", {})
        data["assumed"] = tuple(data.get("assumed", ()))
        known = set(cls.__dataclass_fields__)
        extra = set(data) - known
        if extra:
            raise ValueError(f"hardware preset has unknown keys: {sorted(extra)}")
        if "name" not in data:
            raise ValueError("hardware preset needs a 'name'")
        return cls(**data)

    def peak(self, dtype: str) -> tuple[float, str]:
        """Dense peak FLOP/s for a matmul on data stored as ``dtype``, and the precision used.

        Falls back to the next wider precision the device supports (an A100 runs
        FP8 weights through BF16 tensor cores), so the answer is always physical.
        """
        prec: str | None = compute_precision(dtype)
        while prec is not None and prec not in self.peak_tflops:
            prec = fallback_precision(prec)
        if prec is None:
            raise ValueError(f"hardware '{self.name}' has no compute peak usable for dtype '{dtype}'")
        return self.peak_tflops[prec] * 1e12, prec

    @property
    def bandwidth(self) -> float:
        """Memory bandwidth in bytes/s (ValueError for devices without one)."""
        if self.memory_bandwidth_gbs is None:
            raise ValueError(f"hardware '{self.name}' has no memory bandwidth (kind {self.kind})")
        return self.memory_bandwidth_gbs * 1e9

    @property
    def on_chip_bytes(self) -> float | None:
        """Last-level on-chip cache in bytes, or None where not published."""
        return None if self.on_chip_mb is None else self.on_chip_mb * 1e6

    def ridge_point(self, dtype: str) -> float:
        """Arithmetic intensity (FLOPs/byte) where the roofline turns from memory- to compute-bound."""
        return self.peak(dtype)[0] / self.bandwidth

    @property
    def is_pbit(self) -> bool:
        """A p-bit machine: its throughput is a flip rate (``flips_per_ns``), not FLOP/s."""
        return self.kind.startswith("pbit")

    def joules_per_flip(self) -> float | None:
        """Energy of one p-bit update: quoted (``energy_per_flip_j``), else board power over the top flip rate;
        None where neither is known."""
        if self.energy_per_flip_j is not None:
            return self.energy_per_flip_j
        if self.power_w is None or self.flips_per_ns is None:
            return None
        return self.power_w / (self.flips_per_ns * 1e9)

    def tops_per_watt(self, precision: str = "int8") -> float | None:
        """Energy efficiency at ``precision``: quoted for macros, peak/TDP for boards."""
        if precision in self.tops_per_watt_quoted:
            return self.tops_per_watt_quoted[precision]
        if self.power_w is None or precision not in self.peak_tflops:
            return None
        return self.peak_tflops[precision] / self.power_w


def load_hardware(name_or_file: str | Path) -> Hardware:
    """Hardware from a bundled preset name (e.g. ``a100-80gb``) or a JSON/TOML file."""
    return Hardware.from_dict(load_preset("hardware", name_or_file))
