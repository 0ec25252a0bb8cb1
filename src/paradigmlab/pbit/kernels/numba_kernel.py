"""Fast multi-threaded CPU kernel (numba).

Layout and tricks, chosen for SIMD on many chains:

* states are float32 ``(N, chains)``: chains innermost, so the local-field
  accumulation ``I[:] += J_ij * m_j[:]`` is one contiguous vector operation
  over chains for every coupling;
* threads own disjoint blocks of chains and run whole sweeps independently
  (chains never interact), so no barrier is needed between colours and the
  result is identical for any thread count;
* every chain has its own xorshift128+ generator (64-bit adds, shifts and xors
  only, so it vectorises); streams are seeded by SplitMix64 from the seed and
  the chain index;
* no ``tanh`` call and no division per update: ``tanh(x) = p(x) / q(x)``, the
  float32 rational approximation XLA/Eigen use (max abs error 3.4e-7), and
  since ``q > 0`` the test ``tanh(x) > r`` is evaluated as ``p > r q`` with
  ``r ~ U(-1, 1)`` built from 24 random bits;
* the parallel loop only dispatches blocks to a serial function: numba's
  parallel lowering otherwise stops LLVM from vectorising the chain loops
  (measured 2-3x slower).

Within a chain the updates are applied p-bit by p-bit in colour order, which is
exactly the colour-parallel update (p-bits of one colour do not see each other).
"""

from __future__ import annotations

from typing import Sequence

import numba
import numpy as np
from numba import njit, prange

from paradigmlab.fastmath import tanh_pq
from paradigmlab.pbit.kernels.base import Kernel

#: Most chains one thread sweeps together; blocks are multiples of 16 (full SIMD lanes).
MAX_BLOCK = 256

_S23 = np.uint64(23)
_S17 = np.uint64(17)
_S26 = np.uint64(26)
_S40 = np.uint64(40)
_INV24 = np.float32(2.0 / 16777216.0)  # maps 24 random bits to [0, 2)


@njit(parallel=True, nogil=True, cache=True)
def _sweeps(S, n_chains, indptr, indices, data, h, order, held, betas, zero_t, chain_beta, rng0, rng1, block):
    """Advance all chains ``len(betas)`` sweeps; thread blocks of ``block`` chains."""
    n_blocks = (n_chains + block - 1) // block
    for b in prange(n_blocks):
        c0 = b * block
        _sweep_block(S, n_chains, indptr, indices, data, h, order, held, betas, zero_t, chain_beta, rng0, rng1,
                     c0, min(n_chains, c0 + block) - c0)


@njit(fastmath=True, nogil=True, cache=True)
def _uniforms(s0, s1, rnd, w):
    """Next U(-1, 1) of each of ``w`` chains' xorshift128+ streams into ``rnd``."""
    for c in range(w):
        x = s0[c]
        y = s1[c]
        x ^= x << _S23
        x = x ^ y ^ (x >> _S17) ^ (y >> _S26)
        s0[c] = y
        s1[c] = x
        rnd[c] = np.float32(np.int64((x + y) >> _S40)) * _INV24 - np.float32(1.0)


@njit(fastmath=True, nogil=True, cache=True)
def _sweep_block(S, C, indptr, indices, data, h, order, held, betas, zero_t, chain_beta, rng0, rng1, c0, w):
    """Sweeps for chains ``c0 .. c0+w-1``; S is flat ``(N * C)`` with chains innermost.

    Kept serial (called from the parallel loop) so LLVM vectorises the chain loops. ``zero_t[t]`` marks a
    zero-temperature sweep (a flag, not ``betas[t] = inf``: fastmath lets LLVM assume no infinities).
    """
    acc = np.empty(w, np.float32)
    bc = np.empty(w, np.float32)
    rnd = np.empty(w, np.float32)
    s0 = rng0[c0:c0 + w].copy()
    s1 = rng1[c0:c0 + w].copy()
    uw = np.uint64(w)  # unsigned offsets: no negative-index wraparound, so loads stay contiguous
    for t in range(betas.shape[0]):
        bt = np.float32(betas[t])
        for c in range(w):
            bc[c] = bt * chain_beta[c0 + c]
        for o in range(order.shape[0]):
            i = order[o]
            hi = h[i]
            for c in range(w):
                acc[c] = hi
            # eq. 3: I_i = sum_j J_ij m_j + h_i, all chains of the block at once
            for k in range(indptr[i], indptr[i + 1]):
                base = np.uint64(indices[k] * C + c0)
                wij = data[k]
                for c in range(uw):
                    acc[c] += wij * S[base + c]
            out = np.uint64(i * C + c0)
            if zero_t[t]:  # m_i = sgn(I_i); a tie keeps the old value; no random number is drawn
                if held[i]:
                    continue
                for c in range(uw):
                    a = acc[c]
                    S[out + c] = np.float32(1.0) if a > 0 else (np.float32(-1.0) if a < 0 else S[out + c])
                continue
            _uniforms(s0, s1, rnd, w)
            if held[i]:  # clamped but on the stream: it drew, it does not change (common random numbers)
                continue
            # eq. 4: m_i = sgn(tanh(beta I_i) - r), with tanh = p/q (q > 0) so no division
            for c in range(uw):
                p, q = tanh_pq(bc[c] * acc[c])
                S[out + c] = np.float32(1.0) if p > rnd[c] * q else np.float32(-1.0)
    rng0[c0:c0 + w] = s0
    rng1[c0:c0 + w] = s1


#: Bytes per cache line. Where the state array starts decides how each thread's block of chains (a
#: multiple of 16 float32s) falls on cache lines, and that changed the kernel's speed by up to 1.7x from
#: one allocation to the next (64 chains, 2 threads); rows starting on a line make it reproducible, and
#: were the fastest start on two of the three benchmark graphs (the periodic lattice ran faster misaligned).
CACHE_LINE = 64


def cache_line_aligned(shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
    """An uninitialised C-contiguous array whose first element starts on a cache line (numpy itself only
    promises 16 bytes)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    buf = np.empty(nbytes + CACHE_LINE, np.uint8)
    off = (-buf.ctypes.data) % CACHE_LINE
    return buf[off:off + nbytes].view(dtype).reshape(shape)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = (x + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    z = x.copy()
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class NumbaKernel(Kernel):
    """Multi-threaded float32 CPU kernel; see the module docstring for the layout."""

    def _setup(self) -> None:
        self._load_couplings()
        self._seed_streams()
        self._update_order()
        self._chain_beta32 = self.chain_beta.astype(np.float32)

    def _seed_streams(self) -> None:
        base = np.uint64(self.seed.generate_state(1, dtype=np.uint64)[0])
        lanes = np.arange(self.num_chains, dtype=np.uint64)
        with np.errstate(over="ignore"):
            self._rng0 = _splitmix64(base ^ (lanes * np.uint64(2) + np.uint64(1)))
            self._rng1 = _splitmix64(self._rng0 ^ np.uint64(0xD1B54A32D192ED03))
        self._rng0[self._rng0 == 0] = 1  # xorshift state must not be all zero

    def _load_couplings(self) -> None:
        self._indptr = self.J.indptr.astype(np.int64)
        self._indices = self.J.indices.astype(np.int64)
        self._data = self.J.data.astype(np.float32)
        self._h = self.h.astype(np.float32)
        self._rows = None  # cache of local_fields

    def set_states(self, states: np.ndarray) -> None:
        S = np.asarray(states).reshape(self.num_chains, self.num_nodes)
        self.S = cache_line_aligned((self.num_nodes, self.num_chains))  # (N, chains), chains innermost
        self.S[...] = S.T
        if self.clamp_nodes.size:
            self.S[self.clamp_nodes, :] = self._clamp_values

    def get_states(self) -> np.ndarray:
        return np.ascontiguousarray(self.S.T).astype(np.int8)

    def read(self, nodes) -> np.ndarray:
        return np.ascontiguousarray(self.S[np.asarray(nodes, dtype=np.int64)].T).astype(np.int8)

    def local_fields(self, nodes: np.ndarray | Sequence[int]) -> np.ndarray:
        nodes = np.asarray(nodes, dtype=np.int64).reshape(-1)
        key = nodes.tobytes()
        if self._rows is None or self._rows[0] != key:  # the rows in float32, kept until the couplings change
            self._rows = (key, self.J[nodes].astype(np.float32), self._h[nodes])
        _, rows, h = self._rows
        return (rows @ self.S).T + h  # S is (N, chains) float32: neither a transpose nor a cast of the states

    def _write_clamp(self, nodes: np.ndarray, values: np.ndarray) -> None:
        self._clamp_values = values.T.astype(np.float32)
        self.S[nodes, :] = self._clamp_values

    def _update_order(self) -> None:
        free = self.free_groups()
        self._order = np.concatenate(free).astype(np.int64) if free else np.zeros(0, np.int64)
        self._held = self.held_mask()

    def _chain_beta_changed(self) -> None:
        self._chain_beta32 = self.chain_beta.astype(np.float32)

    def _run(self, betas: np.ndarray) -> None:
        per_thread = -(-self.num_chains // numba.get_num_threads())
        block = min(MAX_BLOCK, -(-per_thread // 16) * 16)
        args = (self.S.reshape(-1), self.num_chains, self._indptr, self._indices, self._data, self._h,
                self._order, self._held, np.where(np.isinf(betas), 0.0, betas), np.isinf(betas), self._chain_beta32,
                self._rng0, self._rng1)
        if block >= self.num_chains or numba.get_num_threads() == 1:
            # one block or one thread: skip the thread pool (cheaper, and safe to call from several Python
            # threads at once, which numba's default thread pool is not)
            for c0 in range(0, self.num_chains, block):
                _sweep_block(*args, c0, min(self.num_chains, c0 + block) - c0)
        else:
            _sweeps(*args, block)
