"""Probabilistic computing with p-bits (paper eqs. 2-4).

``IsingModel`` holds sparse symmetric couplings and fields; ``PBitSampler``
samples it with colour-parallel p-bit updates on a numpy, numba or torch
kernel, with annealing schedules, clamping and parallel tempering.
"""

from paradigmlab.pbit.coloring import check_coloring, color_graph
from paradigmlab.pbit.model import IsingModel
from paradigmlab.pbit.result import SampleResult
from paradigmlab.pbit.sampler import PBitSampler

__all__ = ["IsingModel", "PBitSampler", "SampleResult", "color_graph", "check_coloring"]
