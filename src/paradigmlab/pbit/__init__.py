"""Probabilistic computing with p-bits (paper eqs. 2-4).

``IsingModel`` holds sparse symmetric couplings and fields; ``PBitSampler``
samples it with colour-parallel p-bit updates on a numpy, numba or torch
kernel, with annealing schedules, clamping and parallel tempering
(``ReplicaExchange``). ``PBitSampler`` is also a ``dimod.Sampler``: it takes any
dimod BQM and returns a ``SampleSet``.

Modules: ``model`` (the Ising model), ``sampler`` (the sampler), ``kernels``
(backends behind one contract), ``tempering`` (replica exchange), ``schedules``
(beta schedules, read schedules), ``spins`` (+-1 arrays), ``coloring``,
``graphs`` and ``io`` (models), ``bench`` and ``experiments`` (measurements),
``cli`` and ``reproduce`` (command line, report section).
"""

from paradigmlab.pbit.coloring import check_coloring, color_graph
from paradigmlab.pbit.model import IsingModel
from paradigmlab.pbit.result import SampleResult
from paradigmlab.pbit.sampler import PBitSampler
from paradigmlab.pbit.tempering import ReplicaExchange

__all__ = ["IsingModel", "PBitSampler", "ReplicaExchange", "SampleResult", "color_graph", "check_coloring"]
