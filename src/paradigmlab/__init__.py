"""paradigmlab: next-generation AI computing paradigms, runnable and measured.

Sub-packages, one per paradigm: ``pbit`` (probabilistic computing with p-bits),
``ebm`` (Boltzmann machines), ``optimize`` (combinatorial problems on p-bits),
``looped`` (looped Transformers), ``costmodel`` (roofline, formats, MoE, CIM).
Each has the same shape: ``experiments`` (the runs shared by the command line,
the report and the benchmarks), ``cli`` (the ``paradigmlab <package>`` command
group) and ``reproduce`` (its report section). Below them sit the shared
helpers (``measure``, ``cliutil``, ``data``) and the report (``report``);
above them only :mod:`paradigmlab.cli`, which lists them in ``PARADIGMS``.
"""

__version__ = "0.1.0"
