"""The glue between Boltzmann learning and the p-bit kernels.

Learning changes the couplings after every update while the sparsity pattern
stays fixed, so :class:`EdgeCoupling` precomputes the CSR layout of the
pattern once and turns an edge-weight vector into the symmetric ``J`` in one
gather. :func:`run_chains` advances a batch of chains on a fresh kernel
(kernels fix their couplings at construction) and hands the states back, so
chains persist across weight updates; seeding every kernel from
``(seed, update, phase)`` makes a training run a pure function of its seed,
which is what lets an interrupted run resume bit-exactly.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.sparse as sp

from paradigmlab.pbit.kernels import make_kernel
from paradigmlab.pbit.kernels.base import Kernel


class EdgeCoupling:
    """A fixed undirected edge list ``(E, 2)`` on ``num_nodes`` p-bits and its CSR layout."""

    def __init__(self, num_nodes: int, edges: np.ndarray):
        edges = np.asarray(edges, dtype=np.int64)
        if edges.ndim != 2 or edges.shape[1] != 2:
            raise ValueError(f"edges must have shape (E, 2), got {edges.shape}")
        if edges.size and (edges.min() < 0 or edges.max() >= num_nodes):
            raise ValueError(f"edge index outside 0..{num_nodes - 1}")
        if np.any(edges[:, 0] == edges[:, 1]):
            raise ValueError("edges must not contain self-loops")
        edges = np.sort(edges, axis=1)
        if np.unique(edges, axis=0).shape[0] != edges.shape[0]:
            raise ValueError("edges must not contain duplicates")
        self.num_nodes = int(num_nodes)
        self.edges = edges
        rows = np.r_[edges[:, 0], edges[:, 1]]
        cols = np.r_[edges[:, 1], edges[:, 0]]
        order = np.lexsort((cols, rows))
        self.indices = cols[order].astype(np.int32)
        self.indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=num_nodes))].astype(np.int32)
        self.slot_edge = np.r_[np.arange(len(edges)), np.arange(len(edges))][order]

    @property
    def num_edges(self) -> int:
        """Number of undirected edges E."""
        return self.edges.shape[0]

    def csr(self, weights: np.ndarray) -> sp.csr_matrix:
        """Symmetric ``J`` with ``J[i, j] = J[j, i] = weights[e]`` for edge ``e = (i, j)``."""
        return sp.csr_matrix((np.asarray(weights, np.float64)[self.slot_edge], self.indices, self.indptr),
                             shape=(self.num_nodes, self.num_nodes))


def open_chains(backend: str, J: sp.csr_matrix, h: np.ndarray, groups: Sequence[np.ndarray],
                states: np.ndarray, seed: Sequence[int] | int, clamp_nodes: np.ndarray | None = None,
                clamp_values: np.ndarray | None = None) -> Kernel:
    """A kernel holding ``states`` (chains x N, +-1), with ``clamp_nodes`` held at ``clamp_values``.

    ``clamp_values`` may differ per chain (shape chains x k): one training
    image per chain in the positive phase.
    """
    k = make_kernel(backend, J, h, groups, states.shape[0], seed=seed)
    k.set_states(states)
    if clamp_nodes is not None and len(clamp_nodes):
        k.set_clamp(clamp_nodes, clamp_values)
    return k


def run_chains(backend: str, J: sp.csr_matrix, h: np.ndarray, groups: Sequence[np.ndarray],
               states: np.ndarray, sweeps: int, seed: Sequence[int] | int,
               clamp_nodes: np.ndarray | None = None, clamp_values: np.ndarray | None = None,
               beta: float = 1.0) -> tuple[np.ndarray, int]:
    """Advance ``states`` by ``sweeps`` sweeps at ``beta`` on a fresh kernel; return ``(states, p-bit updates)``."""
    k = open_chains(backend, J, h, groups, states, seed, clamp_nodes, clamp_values)
    k.run(np.full(int(sweeps), float(beta)))
    return k.get_states(), k.updates_per_sweep * int(sweeps)
