"""Thermodynamic computing (paper 3.3.2): emulated Langevin devices that compute by equilibrating.

``device`` holds the devices (the overdamped Langevin / Ornstein-Uhlenbeck device and the SPU's underdamped RLC
network, both simulated by exact Gaussian transitions); ``linalg`` the algorithms of Aifer et al. 2024 on them:
:func:`solve`, :func:`inv`, :func:`expm` (of -A), :func:`slogdet` (Jarzynski) and :func:`sample`.
"""

from paradigmlab.thermo.device import LangevinDevice, RLCDevice
from paradigmlab.thermo.linalg import expm, inv, sample, slogdet, solve

__all__ = ["LangevinDevice", "RLCDevice", "solve", "inv", "expm", "slogdet", "sample"]
