"""Sparse Ising / Boltzmann models, the objects a p-bit computer samples.

Sign convention (used everywhere in paradigmlab; the paper's printed eqs. 2-4
disagree with each other, this is the standard p-bit form that makes them
consistent):

    I_i  = sum_j J_ij m_j + h_i                     (local field, eq. 3)
    m_i  = sgn(tanh(beta * I_i) - U(-1, 1))          (p-bit update, eq. 4)
    E(m) = -sum_{i<j} J_ij m_i m_j - sum_i h_i m_i   (energy, eq. 2 with -h)
    p(m) ~ exp(-beta * E(m))

dimod's ``BinaryQuadraticModel`` in SPIN form uses the opposite sign
(``E = sum h_i s_i + sum J_ij s_i s_j``); :meth:`IsingModel.to_bqm` and
:meth:`IsingModel.from_bqm` are the only places that convert.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp

from paradigmlab.pbit.coloring import color_graph
from paradigmlab.pbit.spins import check_spins
from paradigmlab.validate import integer, number, real_array

ArrayLike = Any


class IsingModel:
    """A symmetric sparse Ising model ``(J, h)`` with inverse temperature ``beta``.

    ``J`` may be a dense square array, a scipy.sparse matrix, a networkx graph
    whose edges carry ``weight`` (default 1), or an edge dict ``{(i, j): J_ij}``
    (each undirected edge once, or both directions with equal values). ``h`` is
    a length-N vector (default zeros). ``J`` is stored as float64 CSR with an
    empty diagonal; validation rejects asymmetric couplings, self-couplings,
    NaN/inf and wrong shapes with an error that names the problem.
    """

    def __init__(self, J: ArrayLike, h: ArrayLike | None = None, beta: float = 1.0, num_nodes: int | None = None):
        if num_nodes is not None:
            num_nodes = integer(num_nodes, "num_nodes", min=0)
        self.J = _as_symmetric_csr(J, num_nodes)
        n = self.J.shape[0]
        if h is None:
            h = np.zeros(n)
        h = np.asarray(h)
        if h.ndim != 1 or h.shape[0] != n:
            raise ValueError(f"h must be a vector of length N={n}, got shape {h.shape}")
        if not np.all(np.isfinite(real_array(h, "h", finite=False))):
            raise ValueError("h contains NaN or inf")
        self.h = h.astype(np.float64)
        self.beta = _check_beta(beta)
        self._colorings: dict[str, list[np.ndarray]] = {}

    @property
    def num_nodes(self) -> int:
        """Number of p-bits N."""
        return self.J.shape[0]

    @property
    def num_edges(self) -> int:
        """Number of undirected couplers with non-zero weight."""
        return self.J.nnz // 2

    def __repr__(self) -> str:
        return f"IsingModel(N={self.num_nodes}, edges={self.num_edges}, beta={self.beta})"

    # ------------------------------------------------------------------ energy
    def local_fields(self, states: ArrayLike) -> np.ndarray:
        """``I = J m + h`` for a batch of states (shape ``(S, N)`` or ``(N,)``)."""
        m = self.check_states(states)
        return np.asarray(self.J @ m.T, dtype=np.float64).T + self.h

    def energy(self, states: ArrayLike) -> np.ndarray:
        """Energy ``E(m) = -1/2 m^T J m - h^T m`` of each state in a batch."""
        m = self.check_states(states).astype(np.float64)
        jm = np.asarray(self.J @ m.T).T
        e = -0.5 * np.einsum("si,si->s", m, jm) - m @ self.h
        return e[0] if np.ndim(states) == 1 else e

    def check_states(self, states: ArrayLike) -> np.ndarray:
        """Validate a state ``(N,)`` or batch ``(S, N)`` of +-1 values; return it as an int8 batch."""
        m = np.asarray(states)
        m2 = m.reshape(1, -1) if m.ndim == 1 else m
        if m2.ndim != 2 or m2.shape[1] != self.num_nodes:  # the shape as given, not as reshaped
            raise ValueError(f"states must have N={self.num_nodes} columns, got shape {m.shape}")
        return check_spins(m2, name="states")

    def coloring(self, method: str = "auto") -> list[np.ndarray]:
        """The colour groups of the coupling graph by ``method`` (see :func:`~paradigmlab.pbit.coloring.color_graph`).

        Computed once per model and method and cached on the model (``J`` is
        treated as immutable; :meth:`with_beta` copies share the cache), so
        every sampler call on one model pays for the colouring once.
        """
        cache = self.__dict__.setdefault("_colorings", {})
        if method not in cache:
            cache[method] = color_graph(self.J, method)
        return cache[method]

    # ------------------------------------------------------------ conversions
    def with_beta(self, beta: float) -> "IsingModel":
        """Same couplings at another inverse temperature (shares J and h)."""
        out = object.__new__(IsingModel)
        out.J, out.h, out.beta = self.J, self.h, _check_beta(beta)
        out._colorings = self.__dict__.setdefault("_colorings", {})  # same J, same colourings
        return out

    def to_dense(self) -> np.ndarray:
        """Dense ``J`` (for small models and exact enumeration)."""
        return self.J.toarray()

    def to_bqm(self):
        """Convert to a dimod SPIN ``BinaryQuadraticModel`` with the same Boltzmann law.

        dimod's energy is ``sum h_i s_i + sum_{i<j} J_ij s_i s_j``, so both signs flip.
        """
        import dimod

        upper = sp.triu(self.J, k=1).tocoo()
        quad = {(int(i), int(j)): -float(w) for i, j, w in zip(upper.row, upper.col, upper.data)}
        lin = {i: -float(v) for i, v in enumerate(self.h)}
        return dimod.BinaryQuadraticModel(lin, quad, 0.0, dimod.SPIN)

    @classmethod
    def from_bqm(cls, bqm, beta: float = 1.0) -> tuple["IsingModel", float, list]:
        """Build from a dimod BQM (any vartype). Returns ``(model, offset, variables)``.

        ``offset`` is the constant with ``bqm.energy(s) == model.energy(s) + offset``
        for spins ``s`` ordered as ``variables``.
        """
        import dimod

        spin = bqm.change_vartype(dimod.SPIN, inplace=False)
        variables = list(spin.variables)
        index = {v: k for k, v in enumerate(variables)}
        n = len(variables)
        h = np.array([-spin.linear[v] for v in variables], dtype=np.float64)
        rows, cols, vals = [], [], []
        for (u, v), w in spin.quadratic.items():
            rows.append(index[u])
            cols.append(index[v])
            vals.append(-w)
        J = sp.coo_matrix((vals, (rows, cols)), shape=(n, n))
        return cls(J + J.T, h, beta=beta), float(spin.offset), variables

    def to_qubo(self) -> tuple[np.ndarray, float]:
        """Equivalent QUBO: returns ``(Q, offset)`` with ``x^T Q x + offset == E(m)`` for ``m = 2x - 1``.

        ``Q`` is upper-triangular (diagonal = linear terms), dense.
        """
        Jd = self.to_dense()
        # E = -1/2 m^T J m - h.m with m = 2x-1
        #   = -2 x^T J x + 2 (J 1).x - 1/2 1^T J 1 - 2 h.x + sum h
        n = self.num_nodes
        row = Jd.sum(axis=1)
        Q = np.triu(-4.0 * Jd, k=1)
        Q[np.diag_indices(n)] = 2.0 * row - 2.0 * self.h
        offset = -0.5 * Jd.sum() + self.h.sum()
        return Q, float(offset)

    @classmethod
    def from_qubo(cls, Q: ArrayLike, beta: float = 1.0) -> tuple["IsingModel", float]:
        """Ising form of ``min x^T Q x`` over ``x in {0,1}^N``; returns ``(model, offset)``.

        ``Q`` may be any square matrix (symmetric or triangular); with
        ``x = (m + 1) / 2``, ``x^T Q x == model.energy(m) + offset`` exactly.
        """
        Q = np.asarray(Q, dtype=np.float64)
        if Q.ndim != 2 or Q.shape[0] != Q.shape[1]:
            raise ValueError(f"QUBO matrix must be square, got shape {Q.shape}")
        if not np.all(np.isfinite(Q)):
            raise ValueError("QUBO matrix contains NaN or inf")
        diag = np.diag(Q).copy()
        off = Q - np.diag(diag)
        S = 0.5 * (off + off.T)  # symmetric off-diagonal part, x^T off x == x^T S x
        # x^T Q x = sum_i d_i x_i + sum_{i!=j} S_ij x_i x_j, x = (m+1)/2
        J = -0.5 * S  # -1/2 m^T J m = 1/4 m^T S m
        h = -(0.5 * diag + 0.5 * S.sum(axis=1))
        offset = 0.5 * diag.sum() + 0.25 * S.sum()
        return cls(J, h, beta=beta), float(offset)


def _check_beta(beta: float) -> float:
    if isinstance(beta, np.ndarray) and beta.ndim == 0:
        beta = beta.item()
    return number(beta, "beta", min=0.0)


def _as_symmetric_csr(J: ArrayLike, num_nodes: int | None) -> sp.csr_matrix:
    """Normalise any accepted coupling format to a validated symmetric CSR."""
    if isinstance(J, IsingModel):
        return J.J
    try:
        import networkx as nx

        if isinstance(J, nx.Graph):
            return _from_networkx(J, num_nodes)
    except ImportError:  # pragma: no cover - networkx is a core dependency
        pass
    if isinstance(J, Mapping):
        return _from_edge_dict(J, num_nodes)
    if sp.issparse(J):
        if J.dtype.kind not in "biuf":  # complex or object: no silent cast (the imaginary part would vanish)
            raise ValueError(f"J must be real, got dtype {J.dtype}")
        M = sp.csr_matrix(J, dtype=np.float64)
    else:
        arr = real_array(J, "J", finite=False)
        if arr.ndim != 2:
            raise ValueError(f"J must be a square matrix, got {arr.ndim}-D array")
        M = sp.csr_matrix(arr)
    if M.shape[0] != M.shape[1]:
        raise ValueError(f"J must be square, got shape {M.shape}")
    if num_nodes is not None and M.shape[0] != num_nodes:
        raise ValueError(f"J has {M.shape[0]} nodes but num_nodes={num_nodes}")
    M.sum_duplicates()
    if not np.all(np.isfinite(M.data)):
        raise ValueError("J contains NaN or inf")
    if np.any(M.diagonal() != 0):
        bad = int(np.flatnonzero(M.diagonal())[0])
        raise ValueError(f"J must have a zero diagonal (self-coupling at node {bad})")
    diff = abs(M - M.T)
    if diff.nnz and diff.max() > 1e-9 * max(1.0, abs(M).max()):
        r, c = (diff > 1e-9 * max(1.0, abs(M).max())).nonzero()
        raise ValueError(f"J must be symmetric: J[{r[0]},{c[0]}]={M[r[0], c[0]]} but J[{c[0]},{r[0]}]={M[c[0], r[0]]}")
    M.eliminate_zeros()
    M.sort_indices()
    return M


def _from_edge_dict(J: Mapping, num_nodes: int | None) -> sp.csr_matrix:
    entries: dict[tuple[int, int], float] = {}
    for key, w in J.items():
        try:
            i, j = (integer(k, "node index") for k in key)
        except (TypeError, ValueError):
            raise ValueError(f"edge keys must be pairs of integer node indices, got {key!r}") from None
        if i == j:
            raise ValueError(f"self-coupling ({i}, {j}) is not allowed")
        if i < 0 or j < 0:
            raise ValueError(f"negative node index in edge ({i}, {j})")
        a, b = min(i, j), max(i, j)
        w = number(w, f"coupling ({i}, {j})")
        if (a, b) in entries and entries[(a, b)] != w:
            raise ValueError(f"J must be symmetric: edge ({a}, {b}) given twice with {entries[(a, b)]} and {w}")
        entries[(a, b)] = w
    n = num_nodes if num_nodes is not None else (1 + max((max(k) for k in entries), default=-1))
    if entries and max(max(k) for k in entries) >= n:
        raise ValueError(f"edge index out of range for num_nodes={n}")
    rows = np.array([k[0] for k in entries], dtype=np.int64)
    cols = np.array([k[1] for k in entries], dtype=np.int64)
    vals = np.array(list(entries.values()), dtype=np.float64)
    M = sp.coo_matrix((vals, (rows, cols)), shape=(n, n))
    return _as_symmetric_csr((M + M.T).tocsr(), None)


def _from_networkx(G, num_nodes: int | None) -> sp.csr_matrix:
    nodes = list(G.nodes)
    if sorted(nodes) != list(range(len(nodes))):
        raise ValueError("networkx graph nodes must be the integers 0..N-1 (use nx.convert_node_labels_to_integers)")
    edges = {}
    for u, v, d in G.edges(data=True):
        edges[(u, v)] = d.get("weight", 1.0)
    return _from_edge_dict(edges, num_nodes if num_nodes is not None else len(nodes))


def tv_to_law(states: np.ndarray, p: np.ndarray) -> float:
    """Total-variation distance between the empirical law of ``states`` (rows of +-1) and ``p``, a law over all
    ``2^N`` states in :func:`exact_law`'s order."""
    n = states.shape[1]
    q = np.bincount(((states > 0) * (1 << np.arange(n)[::-1])).sum(1), minlength=2 ** n) / len(states)
    return float(0.5 * np.abs(q - p).sum())


def iid_floor_tv(p: np.ndarray, m: int, rng: np.random.Generator) -> float:
    """The TV distance of one i.i.d. sample of ``m`` states from ``p`` (drawn with ``rng``) to ``p``: what a
    sampler's :func:`tv_to_law` is compared with at the same sample size."""
    return float(0.5 * np.abs(rng.multinomial(m, p) / m - p).sum())


def all_states(n: int) -> np.ndarray:
    """Every state of ``n`` p-bits as rows of +-1 (int8), in :func:`exact_law`'s order (first p-bit most
    significant)."""
    return (np.array(np.unravel_index(np.arange(2 ** n), (2,) * n)).T * 2 - 1).astype(np.int8)


def exact_law(model: IsingModel, beta: float = 1.0) -> np.ndarray:
    """Boltzmann probabilities of all 2^N states (index: the states read as binary, first p-bit most significant)."""
    if model.num_nodes > 20:
        raise ValueError(f"exact enumeration needs N <= 20, got {model.num_nodes}")
    S = all_states(model.num_nodes)
    logp = -beta * model.energy(S)
    p = np.exp(logp - logp.max())
    return p / p.sum()
