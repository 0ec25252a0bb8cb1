"""The kernel contract shared by every backend.

A kernel owns ``num_chains`` independent chains of one model and advances them
by whole sweeps. In one sweep every free (unclamped) p-bit is updated once,
colour group by colour group; p-bits of one colour are conditionally
independent, so updating them together is exact Gibbs sampling. Sweep ``t``
uses inverse temperature ``betas[t] * chain_beta[c]`` for chain ``c`` (annealing
schedules vary ``betas``; parallel tempering gives every chain its own
``chain_beta``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from paradigmlab.pbit.spins import random_spins


class Kernel(ABC):
    """Chains of one Ising model plus the bookkeeping all backends share."""

    def __init__(
        self,
        J: sp.csr_matrix,
        h: np.ndarray,
        groups: Sequence[np.ndarray],
        num_chains: int,
        seed: int | None = None,
        device: str | None = None,
    ):
        if num_chains < 1:
            raise ValueError(f"num_chains must be >= 1, got {num_chains}")
        self.J = sp.csr_matrix(J)
        self.h = np.asarray(h, dtype=np.float64)
        self.groups = [np.asarray(g, dtype=np.int64) for g in groups]
        self.num_nodes = self.J.shape[0]
        self.num_chains = int(num_chains)
        self.seed = np.random.SeedSequence(seed)
        self.device = device
        self.clamp_nodes = np.zeros(0, dtype=np.int64)
        self.draw_nodes = np.zeros(0, dtype=np.int64)
        self.chain_beta = np.ones(self.num_chains)
        self._setup()
        self.set_states(random_spins(self.seed.spawn(1)[0], (self.num_chains, self.num_nodes)))

    # ------------------------------------------------------------ contract
    @abstractmethod
    def _setup(self) -> None:
        """Allocate backend data (couplings, RNG) once."""

    @abstractmethod
    def _seed_streams(self) -> None:
        """(Re)start the random streams from ``self.seed``."""

    @abstractmethod
    def _load_couplings(self) -> None:
        """(Re)load ``self.J`` and ``self.h`` into backend storage."""

    @abstractmethod
    def set_states(self, states: np.ndarray) -> None:
        """Replace all chains' states with ``states`` (shape chains x N, int8 +-1)."""

    @abstractmethod
    def get_states(self) -> np.ndarray:
        """Current states, shape chains x N, int8 values -1/+1 (a copy)."""

    @abstractmethod
    def _run(self, betas: np.ndarray) -> None:
        """Advance every chain ``len(betas)`` sweeps over the free groups."""

    @abstractmethod
    def _write_clamp(self, nodes: np.ndarray, values: np.ndarray) -> None:
        """Write clamped values into the states (the clamped set itself is :meth:`_update_order`'s business)."""

    @abstractmethod
    def _update_order(self) -> None:
        """Rebuild the update order from :meth:`free_groups` and :meth:`held_mask` (the clamped set changed)."""

    # ------------------------------------------------------------ shared logic
    def local_fields(self, nodes: np.ndarray | Sequence[int]) -> np.ndarray:
        """Local fields ``I_i = sum_j J_ij m_j + h_i`` of ``nodes`` in every chain (chains x k; in the
        backend's precision, float32 for numba).

        Samplers that update a block of p-bits jointly (a one-hot label read
        as one categorical variable) draw it from these fields of the current
        states. Backends override this to skip the copy of :meth:`get_states`.
        """
        nodes = np.asarray(nodes, dtype=np.int64).reshape(-1)
        S = self.get_states().astype(np.float64)
        return (self.J[nodes] @ S.T).T + self.h[nodes]

    def run(self, betas: np.ndarray | Sequence[float]) -> None:
        """Advance all chains by ``len(betas)`` sweeps, sweep ``t`` at ``betas[t] * chain_beta``.

        ``betas[t] = inf`` is the zero-temperature limit of eq. 4 for every chain: ``m_i = sgn(I_i)``, and a
        p-bit whose local field is exactly 0 keeps its value (so each update never raises the energy and a
        sweep that changes nothing is a fixed point: Hopfield's asynchronous recall). Such sweeps draw no
        random numbers.
        """
        betas = np.asarray(betas, dtype=np.float64).reshape(-1)
        if np.any(np.isnan(betas)) or np.any(betas < 0):
            raise ValueError("betas must be finite and non-negative, or inf for a zero-temperature sweep")
        if betas.size:
            self._run(betas)

    def set_order(self, groups: Sequence[np.ndarray], check: bool = True) -> None:
        """Sweep these colour groups (in this order) from now on, keeping chains, clamps, couplings and random
        streams: a sampler split over processes sweeps one colour of its part at a time and exchanges the boundary
        in between. p-bits in no group are never updated (like clamped ones). Each group must be an independent
        set (``check``: verified, ``ValueError`` naming the conflict; callers that pass subsets of a checked
        colouring every sweep skip it)."""
        groups = [_indices(g, "group node") for g in groups]
        if any(g.size and (g.min() < 0 or g.max() >= self.num_nodes) for g in groups):
            raise ValueError(f"group node index outside 0..{self.num_nodes - 1}")
        if check:
            allg = np.concatenate(groups) if groups else np.zeros(0, np.int64)
            if np.unique(allg).size != allg.size:
                raise ValueError("a p-bit appears twice in the update order")
            for c, g in enumerate(groups):
                inner = self.J[g][:, g]
                if inner.count_nonzero():
                    i, j = np.argwhere(inner.toarray() != 0)[0]
                    raise ValueError(f"group {c} couples p-bits {int(g[i])} and {int(g[j])}: not an independent set")
        self.groups = groups
        self._update_order()

    def read(self, nodes: np.ndarray | Sequence[int]) -> np.ndarray:
        """States of ``nodes`` in every chain (chains x k, int8): :meth:`get_states` without copying the rest."""
        return self.get_states()[:, np.asarray(nodes, dtype=np.int64)]

    def set_couplings(self, J: sp.spmatrix, h: np.ndarray) -> None:
        """Replace the weights in place, keeping chains, clamps and RNG streams.

        Learning loops call this after every parameter update. ``J`` must be
        symmetric with a zero diagonal (as in :class:`IsingModel`); if its
        sparsity pattern differs from the current one, the colouring is
        re-checked and a conflict raises ``ValueError``.
        """
        from paradigmlab.pbit.coloring import check_coloring

        J = sp.csr_matrix(J, dtype=np.float64)
        h = np.asarray(h, dtype=np.float64)
        if J.shape != self.J.shape or h.shape != (self.num_nodes,):
            raise ValueError(f"new couplings must keep N={self.num_nodes}: got J {J.shape}, h {h.shape}")
        if not (np.all(np.isfinite(J.data)) and np.all(np.isfinite(h))):
            raise ValueError("new couplings or fields contain NaN or inf")
        J.sort_indices()
        same_pattern = J.nnz == self.J.nnz and np.array_equal(J.indices, self.J.indices) and np.array_equal(
            J.indptr, self.J.indptr)
        if not same_pattern:
            check_coloring(J, self.groups)
        self.J, self.h = J, h
        self._load_couplings()

    def reseed(self, seed: int | Sequence[int] | None) -> None:
        """Restart the random streams from ``seed``, keeping states, couplings and clamps.

        A persistent kernel reseeded with ``s`` draws exactly what a fresh
        kernel built with ``seed=s`` would, so a learning loop can keep one
        kernel per phase and still make every update a function of
        ``(seed, update)`` (what bit-exact resume from a checkpoint needs).
        """
        self.seed = np.random.SeedSequence(seed)
        self._seed_streams()

    def set_chain_beta(self, chain_beta: np.ndarray) -> None:
        """Set a per-chain inverse-temperature factor (parallel tempering)."""
        chain_beta = np.asarray(chain_beta, dtype=np.float64).reshape(-1)
        if chain_beta.shape != (self.num_chains,):
            raise ValueError(f"chain_beta must have one value per chain ({self.num_chains}), got {chain_beta.shape}")
        self.chain_beta = chain_beta
        self._chain_beta_changed()

    def _chain_beta_changed(self) -> None:
        """Hook for backends that keep a device copy of ``chain_beta``."""

    def set_clamp(self, nodes: np.ndarray | Sequence[int], values: np.ndarray,
                  draw_nodes: np.ndarray | Sequence[int] = ()) -> None:
        """Hold ``nodes`` fixed at ``values`` (shape ``(k,)`` or ``(chains, k)``, +-1).

        Clamped p-bits are not updated, and their values enter their
        neighbours' local fields. Calling again replaces the clamp; pass an
        empty ``nodes`` to release it.

        ``draw_nodes`` (a subset of ``nodes``) keep their turn in the update
        order and draw -- and discard -- their random numbers, so this kernel
        consumes its streams exactly as one where they are free: two kernels
        with one seed and one starting state that differ only in these clamps
        run on common random numbers, and the difference of their statistics
        has far less variance than that of independent runs.
        """
        nodes, draw = _indices(nodes, "clamped node"), _indices(draw_nodes, "draw_nodes")
        if not np.all(np.isin(draw, nodes)):
            raise ValueError("draw_nodes must be a subset of the clamped nodes")
        values = np.asarray(values)
        if values.size and values.dtype.kind not in "iuf":
            raise ValueError(f"clamp values must be -1 or +1 numbers, got dtype {values.dtype}")
        if not np.all((values == 1) | (values == -1)):  # before the int8 cast, which would turn 255 into -1
            raise ValueError("clamp values must be -1 or +1")
        if nodes.size and (nodes.min() < 0 or nodes.max() >= self.num_nodes):
            raise ValueError(f"clamped node index outside 0..{self.num_nodes - 1}")
        if np.unique(nodes).size != nodes.size:
            raise ValueError("clamped nodes must be distinct")
        try:
            values = np.broadcast_to(values, (self.num_chains, nodes.size)).astype(np.int8)
        except ValueError:
            raise ValueError(
                f"clamp values must have shape ({nodes.size},) or ({self.num_chains}, {nodes.size}), got {values.shape}"
            ) from None
        if not np.all((values == 1) | (values == -1)):
            raise ValueError("clamp values must be -1 or +1")
        # learning loops re-clamp the same p-bits with new values every update: keep the order then
        same_set = np.array_equal(nodes, self.clamp_nodes) and np.array_equal(draw, self.draw_nodes)
        self.clamp_nodes, self.draw_nodes = nodes, draw
        self._write_clamp(nodes, values)
        if not same_set:
            self._update_order()

    def set_clamp_values(self, values: np.ndarray) -> None:
        """New values ``(chains, k)`` (int8, +-1) for the ``k`` p-bits already clamped, without
        :meth:`set_clamp`'s checks: for loops that redraw a clamped block before every sweep from
        values they built themselves (the softmax label of :class:`~paradigmlab.ebm.dbm.SparseDBM`)."""
        if values.shape != (self.num_chains, self.clamp_nodes.size):
            raise ValueError(f"clamp values must have shape ({self.num_chains}, {self.clamp_nodes.size}), "
                             f"got {values.shape}")
        self._write_clamp(self.clamp_nodes, values)

    def free_groups(self) -> list[np.ndarray]:
        """The update order: colour groups without the clamped nodes (``draw_nodes`` kept), empty groups dropped."""
        if not self.clamp_nodes.size:
            return self.groups
        skip = np.setdiff1d(self.clamp_nodes, self.draw_nodes, assume_unique=True)
        out = [np.setdiff1d(g, skip, assume_unique=True) for g in self.groups]
        return [g for g in out if g.size]

    def held_mask(self) -> np.ndarray:
        """Boolean per p-bit: on the update order but clamped (``draw_nodes`` of :meth:`set_clamp`)."""
        mask = np.zeros(self.num_nodes, dtype=np.bool_)
        mask[self.draw_nodes] = True
        return mask

    @property
    def updates_per_sweep(self) -> int:
        """Attempted p-bit updates per sweep, over all chains (for flips/ns)."""
        return (self.num_nodes - self.clamp_nodes.size) * self.num_chains


def _indices(x, name: str) -> np.ndarray:
    """1-D int64 node indices; floats (1.7), bools and other non-integer dtypes are refused, not truncated."""
    a = np.asarray(x)
    if a.size and a.dtype.kind not in "iu":
        raise ValueError(f"{name} indices must be integers, got {a.dtype} values {a.reshape(-1)[:3].tolist()}")
    return a.astype(np.int64).reshape(-1)
