"""Readable numpy kernel: the definition every fast backend must agree with."""

from __future__ import annotations

import numpy as np

from paradigmlab.pbit.kernels.base import Kernel


class ReferenceKernel(Kernel):
    """Colour-parallel p-bit updates in plain numpy (states as chains x N float)."""

    def _setup(self) -> None:
        self._seed_streams()
        self._update_order()

    def _seed_streams(self) -> None:
        self.rng = np.random.default_rng(self.seed.spawn(1)[0])

    def _load_couplings(self) -> None:
        """The reference kernel reads ``self.J`` and ``self.h`` directly."""

    def set_states(self, states: np.ndarray) -> None:
        self.S = np.asarray(states, dtype=np.float64).reshape(self.num_chains, self.num_nodes).copy()
        if self.clamp_nodes.size:
            self.S[:, self.clamp_nodes] = self._clamp_values

    def get_states(self) -> np.ndarray:
        return self.S.astype(np.int8)

    def _write_clamp(self, nodes: np.ndarray, values: np.ndarray) -> None:
        self._clamp_values = values.astype(np.float64)
        self.S[:, nodes] = self._clamp_values

    def _update_order(self) -> None:
        self._groups_free = self.free_groups()
        held = self.held_mask()
        self._held = [held[g] for g in self._groups_free]  # per group: clamped p-bits that only draw

    def _run(self, betas: np.ndarray) -> None:
        for bt in betas:
            beta = bt * self.chain_beta[:, None]  # (chains, 1)
            for g, held in zip(self._groups_free, self._held):
                # eq. 3: I_i = sum_j J_ij m_j + h_i for every i in this colour, every chain
                I = (self.J[g] @ self.S.T).T + self.h[g]
                if np.isinf(bt):  # zero temperature: sgn(I), a tie keeps the old value, no random draw
                    self.S[:, g] = np.where(held | (I == 0), self.S[:, g], np.sign(I))
                    continue
                # eq. 4: m_i = sgn(tanh(beta I_i) - r), r ~ U(-1, 1)
                r = self.rng.uniform(-1.0, 1.0, size=I.shape)
                self.S[:, g] = np.where(held, self.S[:, g], np.where(np.tanh(beta * I) > r, 1.0, -1.0))
