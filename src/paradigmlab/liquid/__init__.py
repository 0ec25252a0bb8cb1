"""Liquid neural models (paper 3.2): the LTC of eq. 1 with its fused solver, CfC, sequence layers, NCP
wirings, the diagonal state-space layers S4D and Liquid-S4 (ref. 20), the sequence tasks they are measured on
(event-based bit-stream XOR, MNIST-1D, Half-Cheetah) and the models of those tasks."""

from paradigmlab.liquid.cells import CFC_MODES, SOLVERS, CfCCell, LTCCell
from paradigmlab.liquid.layers import CfC, LiquidRNN, LTC
from paradigmlab.liquid.models import CORES, ModelSpec, SequenceModel
from paradigmlab.liquid.s4 import LiquidS4Layer, S4DLayer
from paradigmlab.liquid.tasks import TASKS, Split, Task, load_task
from paradigmlab.liquid.wiring import NCP, FullyConnected

__all__ = ["CFC_MODES", "CORES", "SOLVERS", "TASKS", "CfC", "CfCCell", "FullyConnected", "LTC", "LTCCell",
           "LiquidRNN", "LiquidS4Layer", "ModelSpec", "NCP", "S4DLayer", "SequenceModel", "Split", "Task",
           "load_task"]
