"""Combinatorial optimisation on the p-bit computer.

Problems become Ising models (:mod:`maxcut`, :mod:`qubo`, :mod:`sat`,
:mod:`factoring`), :mod:`solvers` minimise their energy with p-bit annealing or
parallel tempering (replica exchange from :mod:`paradigmlab.pbit.tempering`),
:mod:`tts` turns repeated runs into time-to-solution, :mod:`io` reads and writes
the usual file formats, :mod:`baselines` runs the solvers people use (and our
sampler through the same dimod call) under the same budget, :mod:`experiments`
holds the measurements behind ``reproduce`` (rendering only) and
``benchmarks/optimize_*.py``, and :mod:`cli` is ``paradigmlab optimize`` (old name ``solve``).
"""

from paradigmlab.optimize.factoring import Factoring, factor
from paradigmlab.optimize.maxcut import MaxCut, cut_value
from paradigmlab.optimize.qubo import QUBO
from paradigmlab.optimize.sat import CNF, SAT
from paradigmlab.optimize.solvers import Annealer, ParallelTempering, SolveResult, default_beta_range
from paradigmlab.optimize.tts import tts, tts_from_hit_times

__all__ = ["MaxCut", "cut_value", "QUBO", "CNF", "SAT", "Factoring", "factor", "Annealer", "ParallelTempering",
           "SolveResult", "default_beta_range", "tts", "tts_from_hit_times"]
