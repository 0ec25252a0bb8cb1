"""Batched-chain PyTorch kernel for CPU and CUDA.

One gather-multiply-reduce per colour group, no Python loop over p-bits: the
couplings of each colour are stored in ELL form (neighbour index and weight
padded to the group's largest degree, padding pointing at an always-zero
dummy p-bit), states are ``(N + 1, chains)`` so each gathered row is one
coalesced read of all chains of a neighbour.
"""

from __future__ import annotations

import numpy as np
import torch

from paradigmlab.pbit.kernels.base import Kernel


class TorchKernel(Kernel):
    """Colour-parallel p-bit updates as batched tensor ops on ``device``."""

    def _setup(self) -> None:
        self.dev = torch.device(self.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.gen = torch.Generator(device=self.dev)
        self._seed_streams()
        self._chain_beta = torch.as_tensor(self.chain_beta, dtype=torch.float32, device=self.dev)
        self._load_couplings()

    def _seed_streams(self) -> None:
        self.gen.manual_seed(int(self.seed.generate_state(1, dtype=np.uint64)[0] % (2**63)))

    def _load_couplings(self) -> None:
        self._h = torch.as_tensor(self.h, dtype=torch.float32, device=self.dev)
        self._update_order()  # the ELL tables hold the weights

    def _update_order(self) -> None:
        free = self.free_groups()  # clamped p-bits are never updated
        # a split sampler switches between the same few orders every sweep: build each one's ELL once
        key = (tuple(g.tobytes() for g in free), self.held_mask().tobytes(), self.clamp_nodes.tobytes())
        cache = getattr(self, "_ell_cache", None)
        if cache is None or cache[0] is not self.J:
            cache = self._ell_cache = (self.J, {})
        if key not in cache[1]:
            cache[1][key] = self._build_ell(free)
        self._ell = cache[1][key]

    def _build_ell(self, groups: list[np.ndarray]) -> list[tuple]:
        """Per colour: (nodes, neighbour index [n_g, d], weight [n_g, d], held mask [n_g, 1] or None)."""
        J, n = self.J, self.num_nodes
        held_all = self.held_mask()
        deg_all = np.diff(J.indptr)
        out = []
        for g in groups:
            sub = J[g]  # CSR rows of this colour
            deg = deg_all[g]
            d = max(1, int(deg.max()) if g.size else 1)
            rows = np.repeat(np.arange(g.size), deg)
            slot = np.arange(sub.nnz) - np.repeat(sub.indptr[:-1], deg)
            nbr = np.full((g.size, d), n, dtype=np.int64)  # n = dummy zero p-bit
            w = np.zeros((g.size, d), dtype=np.float32)
            nbr[rows, slot] = sub.indices
            w[rows, slot] = sub.data
            out.append(
                (
                    torch.as_tensor(g, device=self.dev),
                    torch.as_tensor(nbr.reshape(-1), device=self.dev),
                    torch.as_tensor(w, device=self.dev).unsqueeze(-1),
                    torch.as_tensor(held_all[g], device=self.dev).unsqueeze(-1) if held_all[g].any() else None,
                )
            )
        return out

    def set_states(self, states: np.ndarray) -> None:
        S = np.asarray(states, dtype=np.float32).reshape(self.num_chains, self.num_nodes)
        self.S = torch.zeros((self.num_nodes + 1, self.num_chains), dtype=torch.float32, device=self.dev)
        self.S[: self.num_nodes] = torch.as_tensor(S.T.copy(), device=self.dev)
        if self.clamp_nodes.size:
            self.S[self._clamp_idx] = self._clamp_vals

    def get_states(self) -> np.ndarray:
        return self.S[: self.num_nodes].T.to(torch.int8).cpu().numpy()

    def read(self, nodes) -> np.ndarray:
        idx = torch.as_tensor(np.asarray(nodes, dtype=np.int64), device=self.dev)
        return self.S[idx].T.to(torch.int8).cpu().numpy()

    def _write_clamp(self, nodes: np.ndarray, values: np.ndarray) -> None:
        self._clamp_idx = torch.as_tensor(nodes, device=self.dev)
        self._clamp_vals = torch.as_tensor(values.T.astype(np.float32), device=self.dev)
        self.S[self._clamp_idx] = self._clamp_vals

    def _chain_beta_changed(self) -> None:
        self._chain_beta = torch.as_tensor(self.chain_beta, dtype=torch.float32, device=self.dev)

    @torch.no_grad()
    def _run(self, betas: np.ndarray) -> None:
        S, C = self.S, self.num_chains
        for bt in betas.tolist():
            beta = self._chain_beta * bt  # (chains,)
            for nodes, nbr, w, held in self._ell:
                # eq. 3 for the whole colour: gather neighbours' states, weight, sum
                I = (S.index_select(0, nbr).view(nodes.numel(), -1, C) * w).sum(1) + self._h[nodes, None]
                if bt == float("inf"):  # zero temperature: sgn(I), a tie keeps the old value, no random draw
                    keep = I == 0 if held is None else (I == 0) | held
                    S[nodes] = torch.where(keep, S[nodes], torch.sign(I))
                    continue
                # eq. 4: m = sgn(tanh(beta I) - U(-1, 1))
                r = torch.rand(I.shape, generator=self.gen, device=self.dev) * 2.0 - 1.0
                new = torch.where(torch.tanh(beta * I) > r, 1.0, -1.0)
                S[nodes] = new if held is None else torch.where(held, S[nodes], new)
