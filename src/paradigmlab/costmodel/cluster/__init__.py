"""Cluster-scale simulation: training plans over TP/PP/DP/CP/EP, serving pools, checkpoints, and a plan search.

Extends the single-device cost model to whole clusters the way Calculon,
ASTRA-sim, SimAI and Vidur do, at the level of analytic alpha-beta
collectives on a two-level topology, validated against published runs
(:mod:`paradigmlab.costmodel.cluster.validation`).

    >>> from paradigmlab.costmodel.cluster import ParallelPlan, load_cluster, train_step
    >>> from paradigmlab.costmodel import load_model
    >>> step = train_step(load_model("llama-3-8b"), ParallelPlan(tp=2, pp=1, dp=4), load_cluster("dgx-h100-superpod"),
    ...                   seq_len=4096, global_batch=32)
    >>> step.feasible, step.microbatches
    (True, 8)
"""

from paradigmlab.costmodel.cluster.network import Cluster, load_cluster
from paradigmlab.costmodel.cluster.training import ParallelPlan, StepTime, memory_per_gpu, train_step

__all__ = ["Cluster", "ParallelPlan", "StepTime", "load_cluster", "memory_per_gpu", "train_step"]
