"""Physical figures of thermodynamic hardware, to turn the emulated devices' time into seconds and joules.

The devices of :mod:`paradigmlab.thermo.device` run in their own time unit (unit friction and temperature). A
:class:`DevicePreset` says how many seconds one such unit lasts on a piece of hardware (its time constant), what the
hardware draws while it runs, and how many cells (matrix dimensions) it has. ``seconds = device_time *
time_constant_s``; ``joules = seconds * power_w``.

What is published and what is assumed (every value below carries its source or the word *assumed*):

* Normal Computing's stochastic processing unit (SPU; Melanson et al., *Thermodynamic computing system for AI
  applications*, Nat. Commun. 16:3757, 2025, doi:10.1038/s41467-025-59011-x; arXiv 2312.04836): 8 RLC unit cells on a
  printed circuit board, all-to-all coupled through switched capacitances (abstract), each cell an LC resonator with a
  Gaussian current-noise source (Fig. 1); equations of motion (4)-(5): ``di = L^-1 v dt``, ``dv = -C^-1 R^-1 v dt -
  C^-1 i dt + sqrt(2 kappa_0) C^-1 N[0, I dt]`` with C the Maxwell capacitance matrix -- the network
  :class:`~paradigmlab.thermo.device.RLCDevice` emulates. Three nominally identical boards were built (same section).
* Its time constant, ``RC ~ 1 microsecond``: stated by Whitelam, *Increasing the clock speed of a thermodynamic
  computer by adding noise*, npj Unconv. Comput. (2025), doi:10.1038/s44335-025-00038-0 (arXiv 2410.12211), in the
  text after its Eq. (1), for the RLC computers of Aifer et al. (npj Unconv. Comput. 1:13, 2024) and Melanson et al.
  -- a second-hand figure: the SPU paper's own component values (L, C, R), resonance frequency and ADC sampling rate
  were not found in the material searched for this module.
* Not found anywhere searched, hence assumed below: the SPU's power draw, any measured wall-clock time of a solve on
  it, and the papers' projections for an integrated-circuit SPU (time constant, energy). The same Whitelam passage
  puts the clock of Josephson-junction thermodynamic computers at nanoseconds and of RLC ones at microseconds; it is
  the only published scale used for the projected chip.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from paradigmlab.validate import integer, number


@dataclass(frozen=True)
class DevicePreset:
    """One piece of (real or projected) thermodynamic hardware: ``time_constant_s`` seconds per unit of device time,
    ``power_w`` watts drawn while it runs, ``cells`` unit cells (the largest matrix dimension it holds), the
    ``source`` of the figures and ``notes`` on what is assumed."""

    name: str
    time_constant_s: float
    power_w: float
    cells: int
    source: str
    notes: str = ""

    def __post_init__(self):
        # validate here so a mistyped preset fails at import, not as a NaN in a cost table
        number(self.time_constant_s, f"{self.name}: time_constant_s", positive=True)
        number(self.power_w, f"{self.name}: power_w", positive=True)
        integer(self.cells, f"{self.name}: cells", min=1)

    def to_dict(self) -> dict:
        return asdict(self)


SPU_PCB = DevicePreset(
    name="spu-pcb",
    # Whitelam 2025 (npj Unconv. Comput., doi:10.1038/s44335-025-00038-0), text after Eq. (1): "1/mu (proportional to) RC ~ 1
    # microsecond" for the SPU of Melanson et al. 2025 -- second-hand; the SPU paper's L, C, R were not retrieved.
    time_constant_s=1e-6,
    # assumed: no power figure found for the board. 10 W is the order of a bench mixed-signal board with its
    # digital controller and converters (the analog cells alone would draw far less); change it when a figure is
    # published -- every joule the cost projection reports for this preset scales with it.
    power_w=10.0,
    # Melanson et al., Nat. Commun. 16:3757 (2025), abstract and Fig. 1: 8 all-to-all coupled RLC unit cells.
    cells=8,
    source="Melanson et al., Nat. Commun. 16:3757 (2025), abstract and Fig. 1 (8 cells); time constant from "
           "Whitelam, npj Unconv. Comput. (2025), text after Eq. (1) (RC ~ 1 us)",
    notes="The board measured in the SPU paper. time constant second-hand (RC ~ 1 us); power assumed (10 W, board "
          "with controller: no published figure found); no measured wall-clock solve time found.",
)

SPU_CHIP_PROJECTED = DevicePreset(
    name="spu-chip-projected",
    # assumed: an integrated RLC cell with on-chip nH inductors and pF capacitors has sqrt(LC) and RC (1 kOhm x
    # 1 pF) of order 1 ns, the nanosecond clock Whitelam 2025 (text after Eq. (1)) gives for Josephson-junction
    # thermodynamic computers; no integrated-SPU time constant was found in the SPU papers.
    time_constant_s=1e-9,
    # assumed: 1 mW per cell (its noise source, coupling array and a read-out channel) x 1024 cells; no published
    # energy projection found.
    power_w=1.024,
    # assumed: a 32 x 32 array of cells, enough for the cost table's largest matrices (N <= 512).
    cells=1024,
    source="assumed (no integrated-chip projection found in Melanson et al. 2025 / Aifer et al. 2024 as searched); "
           "nanosecond scale after Whitelam, npj Unconv. Comput. (2025), text after Eq. (1)",
    notes="A hypothetical integrated SPU: 1 ns time constant, 1 mW per cell, 1024 cells -- all three assumed, to "
          "show where a chip would have to be for the device to win, not a published design.",
)

PRESETS: dict[str, DevicePreset] = {p.name: p for p in (SPU_PCB, SPU_CHIP_PROJECTED)}
