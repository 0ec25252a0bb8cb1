"""Replica exchange (parallel tempering): the ladder, who holds which temperature, and the swaps.

One mechanism shared by :meth:`PBitSampler.sample_tempering` (sampling every
temperature's Boltzmann law) and :class:`paradigmlab.optimize.solvers.ParallelTempering`
(searching for low energies); each keeps only its own bookkeeping (reads,
best state, budgets). ``num_replicas`` independent ladders run side by side,
each with one chain per inverse temperature; kernel chain ``c`` runs at
``chain_betas()[c]``.

A swap round tries every other neighbouring pair of every ladder at once
(even pairs ``(0, 1), (2, 3), ...`` on one round, odd pairs ``(1, 2), ...``
on the next; the pairs of one round are disjoint, so trying them together is
the same as trying them one by one) and accepts the exchange of the
configurations at ``b_l`` and ``b_{l+1}`` with probability
``min(1, exp((b_l - b_{l+1}) (E_l - E_{l+1})))``, which keeps every
temperature's Boltzmann law stationary.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


class ReplicaExchange:
    """Temperature/chain map, swap moves and acceptance counts for ``num_replicas`` ladders.

    ``temp[r, l]`` is the kernel chain that currently holds temperature
    ``ladder[l]`` of ladder ``r``; chains start as ``temp = arange(R * L).reshape(R, L)``.
    ``rng`` (a ``numpy.random.Generator``) draws the acceptance tests: one
    uniform per replica and tried pair, pairs in increasing order.
    """

    def __init__(self, ladder: Sequence[float], num_replicas: int = 1, rng: np.random.Generator | None = None):
        self.ladder = check_ladder(ladder)
        if int(num_replicas) < 1:
            raise ValueError(f"num_replicas must be >= 1, got {num_replicas}")
        self.num_replicas = int(num_replicas)
        self.rng = rng if rng is not None else np.random.default_rng()
        L = self.ladder.size
        self.temp = np.arange(self.num_replicas * L).reshape(self.num_replicas, L)
        self.parity = 0
        self.accepted, self.tried = np.zeros(L - 1), np.zeros(L - 1)
        # counts since the last re-spacing (adaptive ladders look at recent swaps only)
        self.window_accepted, self.window_tried = np.zeros(L - 1), np.zeros(L - 1)

    @property
    def num_temps(self) -> int:
        """Temperatures per ladder ``L``."""
        return self.ladder.size

    @property
    def num_chains(self) -> int:
        """Kernel chains needed: ``num_replicas * num_temps``."""
        return self.num_replicas * self.ladder.size

    def chain_betas(self) -> np.ndarray:
        """Inverse temperature of every kernel chain now (for ``Kernel.set_chain_beta``)."""
        out = np.empty(self.num_chains)
        out[self.temp] = self.ladder
        return out

    def order(self) -> np.ndarray:
        """Kernel chains in (replica, temperature) order: row ``r * L + l`` holds ``ladder[l]``."""
        return self.temp.reshape(-1).copy()

    def swap(self, energies: np.ndarray) -> np.ndarray:
        """One swap round on the current parity's pairs, given every kernel chain's energy.

        Updates the temperature/chain map and the acceptance counts, flips the
        parity, and returns the accepted mask ``(num_replicas, pairs tried)``.
        """
        E = np.asarray(energies, dtype=np.float64)
        if E.shape != (self.num_chains,):
            raise ValueError(f"energies must have one value per chain ({self.num_chains}), got shape {E.shape}")
        pairs = np.arange(self.parity, self.ladder.size - 1, 2)
        self.parity ^= 1
        R = self.num_replicas
        if not pairs.size:
            return np.zeros((R, 0), dtype=bool)
        a, b = self.temp[:, pairs], self.temp[:, pairs + 1]  # fancy indexing: copies
        delta = (self.ladder[pairs] - self.ladder[pairs + 1]) * (E[a] - E[b])
        u = self.rng.random((pairs.size, R)).T  # row-major draws: R per pair, pairs in order
        ok = (delta >= 0) | (u < np.exp(np.minimum(delta, 0.0)))
        self.temp[:, pairs] = np.where(ok, b, a)
        self.temp[:, pairs + 1] = np.where(ok, a, b)
        n_ok = ok.sum(axis=0)
        self.accepted[pairs] += n_ok
        self.tried[pairs] += R
        self.window_accepted[pairs] += n_ok
        self.window_tried[pairs] += R
        return ok

    def acceptance(self) -> np.ndarray:
        """Fraction of accepted swaps per neighbouring pair since the start (0 where none was tried)."""
        return self.accepted / np.maximum(self.tried, 1)

    def respace(self, damping: float = 0.5) -> np.ndarray:
        """Re-space the ladder from the swaps since the last call (:func:`respace_ladder`); returns it.

        The chains keep their place in ``temp``, so each now runs at its slot's new beta.
        """
        self.ladder = respace_ladder(self.ladder, self.window_accepted / np.maximum(self.window_tried, 1), damping)
        self.window_accepted[:], self.window_tried[:] = 0, 0
        return self.ladder


def check_ladder(betas: Sequence[float]) -> np.ndarray:
    """Validate a ladder of inverse temperatures: at least two, finite, non-negative (any order)."""
    ladder = np.asarray(betas, dtype=np.float64).reshape(-1)
    if ladder.size < 2 or not np.all(np.isfinite(ladder)) or np.any(ladder < 0):
        raise ValueError(f"betas must be at least two finite non-negative inverse temperatures, got {ladder.tolist()}")
    return ladder


def respace_ladder(ladder: np.ndarray, acceptance: np.ndarray, damping: float = 0.5) -> np.ndarray:
    """Move the inner betas of ``ladder`` towards equal swap acceptance between neighbours.

    Each gap ``[b_l, b_{l+1}]`` has a swap "resistance" ``-ln(acceptance_l)``
    spread evenly over it; the new betas split the total resistance into
    equal parts (ends fixed), mixed with the old ladder by ``damping``.
    """
    ladder = np.asarray(ladder, dtype=np.float64)
    resist = -np.log(np.clip(acceptance, 1e-3, 1.0)) + 1e-3
    cum = np.concatenate([[0.0], np.cumsum(resist)])
    wanted = np.linspace(0.0, cum[-1], ladder.size)
    proposal = np.interp(wanted, cum, ladder)
    new = damping * ladder + (1.0 - damping) * proposal
    new[0], new[-1] = ladder[0], ladder[-1]
    return np.maximum.accumulate(new)
