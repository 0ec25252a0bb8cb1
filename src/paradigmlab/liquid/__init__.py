"""Liquid neural models (paper 3.2): the LTC of eq. 1 with its fused solver, CfC, sequence layers, NCP
wirings, and the diagonal state-space layers S4D and Liquid-S4 (ref. 20)."""

from paradigmlab.liquid.cells import CFC_MODES, SOLVERS, CfCCell, LTCCell
from paradigmlab.liquid.layers import CfC, LiquidRNN, LTC
from paradigmlab.liquid.s4 import LiquidS4Layer, S4DLayer
from paradigmlab.liquid.wiring import NCP, FullyConnected

__all__ = ["CFC_MODES", "SOLVERS", "CfC", "CfCCell", "FullyConnected", "LTC", "LTCCell", "LiquidRNN",
           "LiquidS4Layer", "NCP", "S4DLayer"]
