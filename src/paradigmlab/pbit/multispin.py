"""Multispin coding: the p-bits of 64 chains of a +-J model packed in one machine word (issue 20), the CPU
analogue of NVIDIA's ising-gpu multispin code.

Bit ``b`` of word ``S[i, w]`` is p-bit ``i`` of chain ``64 w + b`` (1 is +1). In a +-J model (every coupling
``+-J0``, no field) p-bit ``i``'s local field is ``J0 (2 k - d_i)``, where ``k`` counts the ``d_i`` neighbours whose
term ``m_j sign(J_ij)`` is +1: one XOR per neighbour gives that bit for 64 chains, and bit-sliced adders count
them (four words hold ``k`` in binary for every chain). Eq. 4 then sets the p-bit to +1 with probability
``p_k = (1 + tanh(beta J0 (2 k - d_i))) / 2``.

The draw ``U < p_k`` is made for the 64 chains at once, most significant bit first: at each level a random word
gives one bit of every chain's uniform ``U``, compared with the same bit of its threshold (``p_k`` as a 64-bit
fraction, picked per chain by its count). A chain is decided at the first bit where the two differ, and the loop
stops when all 64 are (about 8 levels; never more than 64). That is the exact comparison of a 64-bit uniform with
the threshold, so a sweep is eq. 4's Gibbs update to the threshold's float64 rounding -- checked against
enumeration like every backend. p-bits of one colour are updated one word at a time; the colour's p-bits are
split into fixed blocks, one random stream each, run in parallel (``prange``): results depend on the seed and the
block count, not on the thread schedule.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from paradigmlab.pbit.coloring import color_graph
from paradigmlab.pbit.model import IsingModel
from paradigmlab.pbit.spins import check_spins, random_spins

#: the largest degree the 4-bit bit-sliced counter holds
MAX_DEGREE = 15
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(parallel=True, nogil=True, cache=True)
def _sweeps(S, indptr, nbrs, negs, order, group_ptr, block_ptr, thr, degree, state, minterm):
    """Sweep ``thr.shape[0]`` times: ``thr[t, d, k]`` is sweep ``t``'s threshold for count ``k`` of degree ``d``
    (a 64-bit fraction); ``order`` lists each colour's p-bits, ``group_ptr`` where each colour starts,
    ``block_ptr[g, b]`` where block ``b`` of colour ``g`` starts; block ``b`` draws from stream ``b`` and uses
    ``minterm[b]`` as scratch."""
    n_sweeps = thr.shape[0]
    W = S.shape[1]
    n_groups = group_ptr.shape[0] - 1
    n_blocks = block_ptr.shape[1] - 1
    one = np.uint64(1)
    zero = np.uint64(0)
    for t in range(n_sweeps):
        for g in range(n_groups):
            for blk in prange(n_blocks):
                s0, s1 = state[blk, 0], state[blk, 1]  # xoroshiro128+ (Blackman and Vigna), in registers
                for pos in range(block_ptr[g, blk], block_ptr[g, blk + 1]):
                    i = order[pos]
                    d = degree[i]
                    for w in range(W):
                        c0 = zero
                        c1 = zero
                        c2 = zero
                        c3 = zero
                        for e in range(indptr[i], indptr[i + 1]):  # k += [m_j sign(J_ij) = +1], bit-sliced
                            a = S[nbrs[e], w] ^ negs[e]
                            t0 = c0 & a
                            c0 ^= a
                            t1 = c1 & t0
                            c1 ^= t0
                            t2 = c2 & t1
                            c2 ^= t1
                            c3 ^= t2
                        mk = minterm[blk]
                        for k in range(d + 1):  # the chains whose count is k
                            mk[k] = ((c0 if k & 1 else ~c0) & (c1 if k & 2 else ~c1) & (c2 if k & 4 else ~c2)
                                     & (c3 if k & 8 else ~c3))
                        lt = zero  # chains decided U < p_k
                        und = ~zero  # chains not decided yet
                        for level in range(63, -1, -1):
                            r = s0 + s1
                            s1 ^= s0
                            s0 = _rotl(s0, 24) ^ s1 ^ (s1 << np.uint64(16))
                            s1 = _rotl(s1, 37)
                            bit = one << np.uint64(level)
                            tb = zero  # this bit of every chain's threshold
                            for k in range(d + 1):
                                if thr[t, d, k] & bit:
                                    tb |= mk[k]
                            lt |= und & tb & ~r
                            und &= ~(tb ^ r)
                            if und == zero:
                                break
                        S[i, w] = lt
                state[blk, 0], state[blk, 1] = s0, s1


def _seed_streams(seed: np.random.SeedSequence, n: int) -> np.ndarray:
    """``n`` xoroshiro128+ states from ``seed`` (never all zero)."""
    st = seed.generate_state(2 * n, dtype=np.uint64).reshape(n, 2)
    st[(st == 0).all(1), 0] = 1
    return st


class MultispinSampler:
    """``num_chains`` chains of a +-J model (every coupling ``+-J0``, zero fields, degree <= 15), 64 per word.

    ``run(betas)`` advances every chain ``len(betas)`` sweeps (colour by colour, as the other backends);
    ``get_states()`` returns them as ``(num_chains, N)`` int8 +-1 and ``set_states`` replaces them. ``blocks``
    (default numba's thread count) fixes how each colour is split among random streams, so the same seed and
    ``blocks`` give the same chains on any machine."""

    def __init__(self, model: IsingModel, num_chains: int, seed: int | None = None, blocks: int | None = None):
        if not isinstance(model, IsingModel):
            raise TypeError(f"MultispinSampler needs an IsingModel, got {type(model).__name__}")
        if int(num_chains) < 1:
            raise ValueError(f"num_chains must be >= 1, got {num_chains}")
        J = sp.csr_matrix(model.J, dtype=np.float64)
        J.eliminate_zeros()
        J.sort_indices()
        if np.any(model.h != 0):
            raise ValueError("multispin coding needs zero fields (h): this model has non-zero ones")
        mags = np.unique(np.abs(J.data))
        if mags.size > 1:
            raise ValueError(f"multispin coding needs +-J couplings of one magnitude; this model has {mags.size} "
                             f"(e.g. {', '.join(f'{m:.3g}' for m in mags[:3])})")
        degree = np.diff(J.indptr)
        if degree.size and degree.max() > MAX_DEGREE:
            raise ValueError(f"multispin coding counts at most {MAX_DEGREE} neighbours; p-bit "
                             f"{int(degree.argmax())} has {int(degree.max())}")
        self.model = model
        self.num_nodes = J.shape[0]
        self.num_chains = int(num_chains)
        self.J0 = float(mags[0]) if mags.size else 0.0
        self.blocks = int(blocks) if blocks is not None else numba.get_num_threads()
        if self.blocks < 1:
            raise ValueError(f"blocks must be >= 1, got {blocks}")
        self._indptr = J.indptr.astype(np.int64)
        self._nbrs = J.indices.astype(np.int64)
        self._negs = np.where(J.data < 0, _ALL, np.uint64(0)).astype(np.uint64)
        self._degree = degree.astype(np.int64)
        groups = color_graph(J)
        self._order = np.concatenate(groups).astype(np.int64) if groups else np.zeros(0, np.int64)
        sizes = np.array([len(g) for g in groups], dtype=np.int64)
        self._group_ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        # block b of colour g: an equal share of that colour's p-bits
        self._block_ptr = np.stack([start + (np.arange(self.blocks + 1) * size) // self.blocks
                                    for start, size in zip(self._group_ptr[:-1], sizes)]).astype(np.int64) \
            if groups else np.zeros((0, self.blocks + 1), np.int64)
        self.words = -(-self.num_chains // 64)
        seed_seq = np.random.SeedSequence(seed)
        init, streams = seed_seq.spawn(2)
        self._state = _seed_streams(streams, self.blocks)
        self.S = np.zeros((self.num_nodes, self.words), np.uint64)
        self.set_states(random_spins(init, (self.num_chains, self.num_nodes)))

    def set_states(self, states: np.ndarray) -> None:
        """Replace the chains' states, ``(num_chains, N)`` of +-1."""
        states = check_spins(states, self.num_nodes)
        if states.shape[0] != self.num_chains:
            raise ValueError(f"states must be ({self.num_chains}, {self.num_nodes}), got {states.shape}")
        bits = np.zeros((self.num_nodes, self.words * 64), np.uint8)
        bits[:, :self.num_chains] = (states > 0).T
        # chain 64 w + b is bit b of word w: bytes packed least significant bit first, read as little-endian words
        self.S = np.packbits(bits, axis=-1, bitorder="little").view("<u8").astype(np.uint64)

    def get_states(self) -> np.ndarray:
        """The chains' states, ``(num_chains, N)`` int8 +-1 (a copy)."""
        b = np.unpackbits(self.S.astype("<u8").view(np.uint8), axis=-1, bitorder="little")
        return (2 * b[:, :self.num_chains].T.astype(np.int8) - 1)

    def thresholds(self, betas: np.ndarray) -> np.ndarray:
        """``thr[t, d, k]``: ``P(+1) = (1 + tanh(beta_t J0 (2k - d))) / 2`` as a 64-bit fraction (rounded down;
        1 saturates at ``2^64 - 1``)."""
        betas = np.asarray(betas, dtype=np.float64).reshape(-1)
        d = np.arange(MAX_DEGREE + 1)[:, None]
        k = np.arange(MAX_DEGREE + 1)[None, :]
        p = 0.5 * (1.0 + np.tanh(betas[:, None, None] * self.J0 * (2 * k - d)[None]))
        scaled = np.ldexp(p, 64)
        out = np.where(scaled >= 2.0 ** 64, _ALL, np.minimum(scaled, 2.0 ** 64 - 2048).astype(np.uint64))
        return np.ascontiguousarray(out.astype(np.uint64))

    def run(self, betas) -> None:
        """Advance every chain ``len(betas)`` sweeps at these inverse temperatures (finite, >= 0)."""
        betas = np.asarray(betas, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(betas)) or np.any(betas < 0):
            raise ValueError("betas must be finite and non-negative")
        if betas.size and self.num_nodes:
            _sweeps(self.S, self._indptr, self._nbrs, self._negs, self._order, self._group_ptr, self._block_ptr,
                    self.thresholds(betas), self._degree, self._state,
                    np.empty((self.blocks, MAX_DEGREE + 1), np.uint64))


__all__ = ["MAX_DEGREE", "MultispinSampler"]
