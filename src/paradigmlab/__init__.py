"""paradigmlab: next-generation AI computing paradigms, runnable and measured.

Sub-packages, one per paradigm: ``pbit`` (probabilistic computing with p-bits),
``ebm`` (Boltzmann machines), ``optimize`` (combinatorial problems on p-bits),
``looped`` (looped Transformers), ``costmodel`` (roofline, formats, MoE, CIM).
"""

__version__ = "0.1.0"
