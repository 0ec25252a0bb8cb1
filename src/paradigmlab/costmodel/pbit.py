"""What a p-bit workload costs on each p-bit machine preset.

The presets of kinds ``pbit_*`` (:mod:`paradigmlab.costmodel.hardware`: an FPGA, FPGAs networked, ASIC
projections, p-bit sampling software on GPUs) carry a flip rate and an energy per flip. A workload is a count of
p-bit updates: its time is that count over the flip rate, its energy that count times the energy per flip. Every
row names its source and the figures that are assumptions rather than the source's (``assumed``), so a reader
sees which numbers are measured, which projected and which guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from paradigmlab.costmodel.hardware import Hardware, load_hardware
from paradigmlab.costmodel.presets import preset_names


def pbit_machines() -> list[Hardware]:
    """Every bundled hardware preset that is a p-bit machine, by name."""
    return [hw for hw in map(load_hardware, preset_names("hardware")) if hw.is_pbit]


def pbit_workload(updates: float, machines: Sequence[Hardware] | None = None,
                  measured: Mapping[str, float] | None = None) -> list[dict]:
    """Seconds and joules of ``updates`` p-bit updates on each machine (default :func:`pbit_machines`), plus a
    row per ``measured`` entry (name -> flips/ns measured here; no energy). ``seconds`` is at the top rate,
    ``seconds_low`` at the lower end of a published range; None where the preset has no rate or energy."""
    if not updates > 0:
        raise ValueError(f"updates must be > 0, got {updates!r}")
    rows = []
    for hw in pbit_machines() if machines is None else machines:
        jpf = hw.joules_per_flip()
        rows.append({"name": hw.name, "kind": hw.kind, "flips_per_ns": hw.flips_per_ns,
                     "flips_per_ns_low": hw.flips_per_ns_low,
                     "seconds": None if hw.flips_per_ns is None else updates / (hw.flips_per_ns * 1e9),
                     "seconds_low": None if hw.flips_per_ns_low is None else updates / (hw.flips_per_ns_low * 1e9),
                     "joules_per_flip": jpf, "joules": None if jpf is None else updates * jpf,
                     "assumed": list(hw.assumed), "source": hw.source})
    for name, rate in (measured or {}).items():
        rows.append({"name": name, "kind": "measured", "flips_per_ns": rate, "flips_per_ns_low": None,
                     "seconds": updates / (rate * 1e9), "seconds_low": None, "joules_per_flip": None, "joules": None,
                     "assumed": [], "source": "measured on this machine"})
    return rows
