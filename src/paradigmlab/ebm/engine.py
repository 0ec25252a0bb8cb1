"""The glue between Boltzmann learning and the p-bit kernels.

Learning changes the couplings after every update while the sparsity pattern
stays fixed, so :class:`EdgeCoupling` precomputes the CSR layout of the
pattern once and turns an edge-weight vector into the symmetric ``J`` in one
gather. :class:`PhaseChains` keeps one kernel per learning phase alive
across weight updates (new weights go in with ``Kernel.set_couplings``, new
training images with ``Kernel.set_clamp``) and reseeds it from
``(seed, update, phase)`` before every run, which makes a training run a pure
function of its seed: that is what lets an interrupted run resume
bit-exactly. :func:`run_chains` is the one-shot version (a fresh kernel).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from paradigmlab.pbit.kernels import make_kernel
from paradigmlab.pbit.kernels.base import Kernel
from paradigmlab.fastmath import rational_tanh


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


class PhaseChains:
    """Persistent chains of one learning phase on a kernel that lives across weight updates.

    ``clamp_nodes`` are the p-bits this phase holds fixed (their values may
    change every run, one row per chain). The kernel is built on the first
    :meth:`run`; later runs only load the new weights and clamp values and
    reseed, so a run costs the sweeps and not a kernel construction.
    """

    def __init__(self, backend: str, groups: Sequence[np.ndarray], states: np.ndarray,
                 clamp_nodes: np.ndarray | None = None, draw_nodes: np.ndarray | None = None):
        self.backend, self.groups = backend, groups
        self._states = np.asarray(states, dtype=np.int8)
        self.clamp_nodes = None if clamp_nodes is None or not len(clamp_nodes) else np.asarray(clamp_nodes)
        self.draw_nodes = np.zeros(0, np.int64) if draw_nodes is None else np.asarray(draw_nodes, np.int64)
        self.kernel: Kernel | None = None

    @property
    def states(self) -> np.ndarray:
        """Current chain states (chains x N, int8 +-1)."""
        return self._states if self.kernel is None else self.kernel.get_states()

    @states.setter
    def states(self, states: np.ndarray) -> None:
        if self.kernel is None:
            self._states = np.asarray(states, dtype=np.int8)
        else:
            self.kernel.set_states(states)

    def run(self, J: sp.csr_matrix, h: np.ndarray, sweeps: int, seed: Sequence[int] | int,
            clamp_values: np.ndarray | None = None, beta: float = 1.0,
            redraw: Callable[[Kernel], np.ndarray | None] | None = None) -> int:
        """Advance the chains ``sweeps`` sweeps on couplings ``(J, h)`` at ``beta``; return p-bit updates.

        ``redraw``: called before every sweep with the kernel; returns new clamp
        values (a block of p-bits drawn jointly from the current state, e.g. a
        one-hot label) or None to keep them. With it, sweep ``i`` runs on seed
        ``(*seed, i)``, so two phases that both pass one keep common random numbers.
        """
        if (clamp_values is None) != (self.clamp_nodes is None):
            raise ValueError("clamp_values must be given exactly when the phase has clamp_nodes")
        if self.kernel is None:
            self.kernel = open_chains(self.backend, J, h, self.groups, self._states, seed, self.clamp_nodes,
                                      clamp_values, self.draw_nodes)
        else:
            self.kernel.set_couplings(J, h)
            self.kernel.reseed(seed)
            if self.clamp_nodes is not None:
                self.kernel.set_clamp(self.clamp_nodes, clamp_values, self.draw_nodes)
        if redraw is None:
            self.kernel.run(np.full(int(sweeps), float(beta)))
        else:
            seed = [int(s) for s in np.atleast_1d(seed)]
            for i in range(int(sweeps)):
                values = redraw(self.kernel)
                if values is not None:
                    self.kernel.set_clamp_values(values)
                self.kernel.reseed(seed + [i])
                self.kernel.run(np.full(1, float(beta)))
        return self.kernel.updates_per_sweep * int(sweeps)


def open_chains(backend: str, J: sp.csr_matrix, h: np.ndarray, groups: Sequence[np.ndarray],
                states: np.ndarray, seed: Sequence[int] | int, clamp_nodes: np.ndarray | None = None,
                clamp_values: np.ndarray | None = None, draw_nodes: np.ndarray | Sequence[int] = ()) -> Kernel:
    """A kernel holding ``states`` (chains x N, +-1), with ``clamp_nodes`` held at ``clamp_values``.

    ``clamp_values`` may differ per chain (shape chains x k): one training
    image per chain in the positive phase. ``draw_nodes``: see ``Kernel.set_clamp``.
    """
    k = make_kernel(backend, J, h, groups, states.shape[0], seed=seed)
    k.set_states(states)
    if clamp_nodes is not None and len(clamp_nodes):
        k.set_clamp(clamp_nodes, clamp_values, draw_nodes)
    return k


def run_chains(backend: str, J: sp.csr_matrix, h: np.ndarray, groups: Sequence[np.ndarray],
               states: np.ndarray, sweeps: int, seed: Sequence[int] | int,
               clamp_nodes: np.ndarray | None = None, clamp_values: np.ndarray | None = None,
               beta: float = 1.0) -> tuple[np.ndarray, int]:
    """Advance ``states`` by ``sweeps`` sweeps at ``beta`` on a fresh kernel; return ``(states, p-bit updates)``."""
    k = open_chains(backend, J, h, groups, states, seed, clamp_nodes, clamp_values)
    k.run(np.full(int(sweeps), float(beta)))
    return k.get_states(), k.updates_per_sweep * int(sweeps)


@njit(fastmath=True, nogil=True, cache=True, error_model="numpy")  # the tanh's division vectorises (fastmath)
def _row_tanh(i, indptr, indices, data, h, beta, S, out):
    out[:] = h[i]
    for k in range(indptr[i], indptr[i + 1]):
        w = data[k]
        row = S[indices[k]]
        for c in range(out.shape[0]):
            out[c] += w * row[c]
    for c in range(out.shape[0]):
        out[c] = rational_tanh(beta * out[c])


@njit(parallel=True, nogil=True, cache=True)
def _conditional_means(indptr, indices, data, h, beta, S, clamped, T):
    for i in prange(S.shape[0]):
        if clamped[i]:
            T[i, :] = S[i, :]
        else:
            _row_tanh(i, indptr, indices, data, h, beta, S, T[i])


@njit(fastmath=True, nogil=True, cache=True)
def _dot2(x, y, u, v):
    s = np.float32(0.0)
    for c in range(x.shape[0]):
        s += x[c] * y[c] + u[c] * v[c]
    return s


@njit(parallel=True, nogil=True, cache=True)
def _edge_correlations(S, T, a, b, out):
    for e in prange(a.shape[0]):
        i, j = a[e], b[e]
        out[e] = 0.5 * _dot2(S[i], T[j], T[i], S[j]) / S.shape[1]


def rao_blackwell_moments(coupling: EdgeCoupling, weights: np.ndarray, h: np.ndarray, beta: float,
                          states: np.ndarray, clamped: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-edge ``<m_i m_j>`` and per-p-bit ``<m_i>`` over chains, Rao-Blackwellised.

    A free p-bit contributes its conditional mean ``tanh(beta I_i)`` given the
    sampled rest instead of its sample (``E[m_i m_j] = E[m_i tanh(beta I_j)]``
    exactly for neighbours, since ``I_j`` does not contain ``m_j``), which
    lowers the variance for one sparse product; ``clamped`` p-bits contribute
    their value. ``states``: chains x N, +-1. Multi-threaded (numba).
    """
    S = np.ascontiguousarray(np.asarray(states).T, dtype=np.float32)  # (N, chains): whole rows per gather
    mask = np.zeros(coupling.num_nodes, dtype=np.bool_)
    if clamped is not None and len(clamped):
        mask[np.asarray(clamped, dtype=np.int64)] = True
    T = np.empty_like(S)
    data = np.asarray(weights, np.float32)[coupling.slot_edge]  # the CSR values of J, on the fixed pattern
    _conditional_means(coupling.indptr, coupling.indices, data, np.asarray(h, np.float32), np.float32(beta), S,
                       mask, T)
    corr = np.empty(coupling.num_edges, dtype=np.float32)
    _edge_correlations(S, T, coupling.edges[:, 0], coupling.edges[:, 1], corr)
    return corr.astype(np.float64), T.mean(1, dtype=np.float64)
