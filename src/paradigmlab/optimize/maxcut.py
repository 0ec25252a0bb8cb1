"""Max-Cut as an Ising model: ``cut = (W_total - E) / 2``.

For a weighted graph ``W`` and spins ``m`` (side of the cut), an edge is cut
when ``m_i != m_j``, so ``cut(m) = sum_{i<j} W_ij (1 - m_i m_j) / 2``. With
couplings ``J = -W`` the p-bit energy ``E = -sum_{i<j} J_ij m_i m_j`` equals
``sum_{i<j} W_ij m_i m_j``, hence ``cut = (W_total - E) / 2``: the lowest
energy is the largest cut. Integer weights give integer energies, so cut
values are exact.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import scipy.sparse as sp

from paradigmlab.pbit import IsingModel
from paradigmlab.pbit.spins import check_spins


def adjacency(graph: Any) -> sp.csr_matrix:
    """Symmetric weighted adjacency (CSR float64) of a matrix or networkx graph.

    networkx graphs use their node order (``list(G.nodes)``) and the ``weight``
    edge attribute (default 1). Self-loops and asymmetric matrices are errors.
    """
    try:
        import networkx as nx

        if isinstance(graph, nx.Graph):
            if graph.is_directed():
                raise ValueError("Max-Cut needs an undirected graph")
            graph = nx.to_scipy_sparse_array(graph, nodelist=list(graph.nodes), weight="weight", format="csr")
    except ImportError:  # pragma: no cover - networkx is a core dependency
        pass
    W = sp.csr_matrix(graph, dtype=np.float64)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"adjacency matrix must be square, got shape {W.shape}")
    if W.diagonal().any():
        raise ValueError("Max-Cut graph must not have self-loops (non-zero diagonal)")
    if not np.all(np.isfinite(W.data)):
        raise ValueError("edge weights contain NaN or inf")
    if abs(W - W.T).max() if W.nnz else 0:
        raise ValueError("adjacency matrix must be symmetric (an undirected graph)")
    W.eliminate_zeros()
    return W


class MaxCut:
    """A Max-Cut instance: the graph, its Ising model, and cut <-> energy maps."""

    sense = "max"
    objective_name = "cut"

    def __init__(self, graph: Any, name: str = "maxcut"):
        self.W = adjacency(graph)
        self.name = name
        self.total_weight = float(self.W.sum()) / 2.0
        self.model = IsingModel(-self.W)

    @property
    def num_nodes(self) -> int:
        """Number of vertices."""
        return self.W.shape[0]

    def __repr__(self) -> str:
        return f"MaxCut({self.name!r}, N={self.num_nodes}, edges={self.W.nnz // 2})"

    def cut_value(self, spins: np.ndarray) -> np.ndarray | float:
        """Weight of the edges cut by ``spins`` (one state or a batch)."""
        return cut_value(self.W, spins)

    def objective(self, energy: float | np.ndarray) -> float | np.ndarray:
        """Cut value of a state with Ising energy ``energy``."""
        out = (self.total_weight - np.asarray(energy, dtype=np.float64)) / 2.0
        return float(out) if out.ndim == 0 else out

    def target_energy(self, cut: float) -> float:
        """Ising energy of a state that cuts ``cut``."""
        return self.total_weight - 2.0 * float(cut)


def cut_value(W: Any, spins: np.ndarray) -> np.ndarray | float:
    """Cut weight ``sum_{i<j} W_ij [m_i != m_j]`` for spins ``m`` in {-1, +1}.

    ``spins`` may be one state ``(N,)`` (returns a float) or a batch ``(S, N)``.
    """
    W = adjacency(W)
    m = np.asarray(spins)
    batch = m.reshape(1, -1) if m.ndim == 1 else m
    if batch.ndim != 2 or batch.shape[1] != W.shape[0]:
        raise ValueError(f"spins must have N={W.shape[0]} entries per state, got shape {m.shape}")
    x = check_spins(batch, name="spins").astype(np.float64)
    same = np.einsum("si,si->s", x, np.asarray(W @ x.T).T)  # sum_{i,j} W_ij m_i m_j
    cut = (W.sum() - same) / 4.0
    return float(cut[0]) if m.ndim == 1 else cut


def partition(spins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two sides of the cut: vertex indices with spin +1, and with spin -1."""
    m = np.asarray(spins).reshape(-1)
    return np.flatnonzero(m > 0), np.flatnonzero(m < 0)


def spins_from_partition(num_nodes: int, side: Iterable[int]) -> np.ndarray:
    """Spins (+1 on ``side``, -1 elsewhere) for a cut given as one side's vertices."""
    m = -np.ones(int(num_nodes), dtype=np.int8)
    idx = np.fromiter(side, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= num_nodes):
        raise ValueError(f"vertex index outside 0..{num_nodes - 1}")
    m[idx] = 1
    return m
