"""Liquid neural models (paper 3.2): the LTC of eq. 1 with its fused solver, CfC, and sequence layers."""

from paradigmlab.liquid.cells import CFC_MODES, SOLVERS, CfCCell, LTCCell
from paradigmlab.liquid.layers import CfC, LiquidRNN, LTC

__all__ = ["CFC_MODES", "SOLVERS", "CfC", "CfCCell", "LTC", "LTCCell", "LiquidRNN"]
