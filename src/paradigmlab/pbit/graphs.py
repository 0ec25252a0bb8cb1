"""Benchmark graphs for p-bit throughput (the ones the p-bit literature uses)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.sparse as sp

from paradigmlab.data.niazi2024 import load_niazi2024
from paradigmlab.pbit.model import IsingModel


def _model(n: int, edges: np.ndarray, weights: np.ndarray) -> IsingModel:
    J = sp.coo_matrix((weights, (edges[:, 0], edges[:, 1])), shape=(n, n))
    return IsingModel((J + J.T).tocsr(), np.zeros(n))


def random_regular(n: int = 4096, degree: int = 6, seed: int = 0) -> IsingModel:
    """Random ``degree``-regular graph with +-1 couplings."""
    G = nx.random_regular_graph(degree, n, seed=seed)
    edges = np.array(G.edges(), dtype=np.int64)
    w = np.random.default_rng(seed).choice([-1.0, 1.0], size=len(edges))
    return _model(n, edges, w)


def niazi_gaussian(seed: int = 0) -> tuple[IsingModel, str]:
    """The 4,264-node Niazi et al. graph with N(0, 1) couplings; returns (model, source)."""
    g = load_niazi2024()
    w = np.random.default_rng(seed).normal(size=len(g.edges))
    return _model(g.num_nodes, g.edges, w), g.source


def lattice_pm_j(L: int = 128, seed: int = 0) -> IsingModel:
    """``L x L`` periodic square lattice with +-J couplings (2 colours)."""
    G = nx.grid_2d_graph(L, L, periodic=True)
    G = nx.convert_node_labels_to_integers(G, ordering="sorted")
    edges = np.array(G.edges(), dtype=np.int64)
    w = np.random.default_rng(seed).choice([-1.0, 1.0], size=len(edges))
    return _model(L * L, edges, w)
