"""Multispin coding: the p-bits of 64 chains of a +-J model packed in one machine word (issue 20), the CPU
analogue of NVIDIA's ising-gpu multispin code.

Bit ``b`` of word ``S[i, w]`` is p-bit ``i`` of chain ``64 w + b`` (1 is +1). In a +-J model (every coupling
``+-J0``, no field) p-bit ``i``'s local field is ``J0 (2 k - d_i)``, where ``k`` counts the ``d_i`` neighbours whose
term ``m_j sign(J_ij)`` is +1: one XOR per neighbour gives that bit for 64 chains, and bit-sliced adders count
them (four words hold ``k`` in binary for every chain). Eq. 4 then sets the p-bit to +1 with probability
``p_k = (1 + tanh(beta J0 (2 k - d_i))) / 2``.

The draw ``U < p_k`` is made for the 64 chains at once, most significant bit first: at each level a random word
gives one bit of every chain's uniform ``U``, compared with the same bit of its threshold (``p_k`` as a 64-bit
fraction, picked per chain by a mux tree on its count's bits). A chain is decided at the first bit where the two
differ, and the loop stops when all are (about 7 levels for one word, 13 for a row of 64; never more than 64). That
is the exact comparison of a 64-bit uniform with the threshold, so a sweep is eq. 4's Gibbs update to the
threshold's float64 rounding -- checked against enumeration like every backend.

Two loop orders, one arithmetic. Below ``ROW_WORDS`` words per p-bit each word is updated on its own and stops at
its own last level. From ``ROW_WORDS`` on (512 chains) a p-bit's whole row of words takes each step together, in
loops over the words that LLVM vectorises (8 words per AVX-512 instruction): more levels, far fewer instructions.
Every word of every block has its own xoroshiro128++ stream (all 64 output bits are good, and each is a chain's
random bit). A colour's p-bits are split into fixed blocks run in parallel (``prange``): results depend on the
seed, the block count and the number of chains, not on the thread schedule.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from paradigmlab.pbit.coloring import color_graph
from paradigmlab.pbit.kernels.numba_kernel import cache_line_aligned
from paradigmlab.pbit.model import IsingModel
from paradigmlab.pbit.spins import check_spins, random_spins

#: the largest degree the 4-bit bit-sliced counter holds
MAX_DEGREE = 15
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
#: from this many words per p-bit (512 chains) a row of words is updated at once, vectorised
ROW_WORDS = 8


@njit(inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(inline="always")
def _next(a0, a1):
    """One step of xoroshiro128++ (Blackman and Vigna): ``(output, new state)``; every output bit is usable, which
    matters here because each bit is another chain's random bit."""
    r = _rotl(a0 + a1, 17) + a0
    a1 ^= a0
    return r, _rotl(a0, 49) ^ a1 ^ (a1 << np.uint64(21)), _rotl(a1, 28)


@njit(inline="always")
def _add(c0, c1, c2, c3, a):
    """The bit-sliced counter ``c`` (4 words, one 4-bit count per chain) plus the bits of ``a``."""
    t0 = c0 & a
    t1 = c1 & t0
    t2 = c2 & t1
    return c0 ^ a, c1 ^ t0, c2 ^ t1, c3 ^ t2


@njit(inline="always")
def _pick(l0, l1, l2, l3, l4, l5, l6, l7, x, y, z):
    """Per chain, leaf ``l[count]`` of 8 all-zero/all-one words, the count's bits being ``x, y, z``: a mux tree."""
    m0 = l0 ^ ((l0 ^ l1) & x)
    m1 = l2 ^ ((l2 ^ l3) & x)
    m2 = l4 ^ ((l4 ^ l5) & x)
    m3 = l6 ^ ((l6 ^ l7) & x)
    n0 = m0 ^ ((m0 ^ m1) & y)
    n1 = m2 ^ ((m2 ^ m3) & y)
    return n0 ^ ((n0 ^ n1) & z)


@njit(inline="always")
def _decide(lt, und, b, r):
    """One level of the most-significant-bit-first comparison ``U < p`` for 64 chains: ``b`` is this bit of each
    chain's threshold, ``r`` of its uniform; a chain is decided where they differ (below if ``r`` is 0)."""
    return lt | (und & b & ~r), und & ~(b ^ r)


@njit(inline="always")
def _threshold_bits(L, x, y, z, q, wide):
    """This level's threshold bit for every chain of one word, from the leaf row ``L`` (16 counts)."""
    b = _pick(L[0], L[1], L[2], L[3], L[4], L[5], L[6], L[7], x, y, z)
    if wide:
        b2 = _pick(L[8], L[9], L[10], L[11], L[12], L[13], L[14], L[15], x, y, z)
        b ^= (b ^ b2) & q
    return b


@njit(nogil=True, cache=True)
def _fill_leaves(thr, leaves):
    """``leaves[d, level, k]``: bit ``63 - level`` of count ``k``'s threshold at degree ``d``, as 0 or all ones
    (counts above ``d`` never occur: 0)."""
    one = np.uint64(1)
    for d in range(leaves.shape[0]):
        for level in range(64):
            sh = np.uint64(63 - level)
            for k in range(leaves.shape[2]):
                leaves[d, level, k] = np.uint64(0) - ((thr[d, k] >> sh) & one) if k <= d else np.uint64(0)


@njit(nogil=True, cache=True)
def _update_words(S, indptr, nbrs, negs, sites, degree, leaves, s0, s1):
    """Update ``sites`` one word (64 chains) at a time, each word stopping at its own last undecided level."""
    zero = np.uint64(0)
    for i in sites:
        d = degree[i]
        wide = d > 7
        for w in range(S.shape[1]):
            c0 = c1 = c2 = c3 = zero
            for e in range(indptr[i], indptr[i + 1]):
                c0, c1, c2, c3 = _add(c0, c1, c2, c3, S[nbrs[e], w] ^ negs[e])
            a0, a1 = s0[w], s1[w]
            lt = zero  # chains decided U < p
            und = ~zero  # chains not decided yet
            for level in range(64):
                r, a0, a1 = _next(a0, a1)
                b = _threshold_bits(leaves[d, level], c0, c1, c2, c3, wide)
                lt, und = _decide(lt, und, b, r)
                if und == zero:
                    break
            s0[w], s1[w] = a0, a1
            S[i, w] = lt


@njit(nogil=True, cache=True)
def _update_rows(S, indptr, nbrs, negs, sites, degree, leaves, s0, s1, scratch):
    """Update ``sites`` a whole row of words at a time, each step a loop over the words that LLVM vectorises
    (8 words per AVX-512 instruction); the row stops at its last undecided level."""
    zero = np.uint64(0)
    c0, c1, c2, c3, lt, und = scratch[0], scratch[1], scratch[2], scratch[3], scratch[4], scratch[5]
    W = S.shape[1]
    for i in sites:
        d = degree[i]
        wide = d > 7
        c0[:] = zero
        c1[:] = zero
        c2[:] = zero
        c3[:] = zero
        for e in range(indptr[i], indptr[i + 1]):
            Sj = S[nbrs[e]]
            ng = negs[e]
            for w in range(W):
                c0[w], c1[w], c2[w], c3[w] = _add(c0[w], c1[w], c2[w], c3[w], Sj[w] ^ ng)
        lt[:] = zero
        und[:] = ~zero
        for level in range(64):
            L = leaves[d, level]
            l0, l1, l2, l3, l4, l5, l6, l7 = L[0], L[1], L[2], L[3], L[4], L[5], L[6], L[7]
            h0, h1, h2, h3, h4, h5, h6, h7 = L[8], L[9], L[10], L[11], L[12], L[13], L[14], L[15]
            anyu = zero
            if wide:  # two loops, not a test inside one: LLVM vectorises each
                for w in range(W):
                    r, s0[w], s1[w] = _next(s0[w], s1[w])
                    b = _pick(l0, l1, l2, l3, l4, l5, l6, l7, c0[w], c1[w], c2[w])
                    b ^= (b ^ _pick(h0, h1, h2, h3, h4, h5, h6, h7, c0[w], c1[w], c2[w])) & c3[w]
                    lt[w], und[w] = _decide(lt[w], und[w], b, r)
                    anyu |= und[w]
            else:
                for w in range(W):
                    r, s0[w], s1[w] = _next(s0[w], s1[w])
                    b = _pick(l0, l1, l2, l3, l4, l5, l6, l7, c0[w], c1[w], c2[w])
                    lt[w], und[w] = _decide(lt[w], und[w], b, r)
                    anyu |= und[w]
            if anyu == zero:
                break
        S[i] = lt


@njit(parallel=True, nogil=True, cache=True)
def _sweeps(S, indptr, nbrs, negs, order, group_ptr, block_ptr, thr, degree, state, scratch, leaves):
    """Sweep ``thr.shape[0]`` times: ``thr[t, d, k]`` is sweep ``t``'s threshold for count ``k`` of degree ``d``
    (a 64-bit fraction); ``order`` lists each colour's p-bits, ``group_ptr`` where each colour starts,
    ``block_ptr[g, b]`` where block ``b`` of colour ``g`` starts; block ``b`` draws word ``w``'s bits from stream
    ``state[b, :, w]`` and uses ``scratch[b]`` as scratch."""
    n_groups = group_ptr.shape[0] - 1
    n_blocks = block_ptr.shape[1] - 1
    rows = S.shape[1] >= ROW_WORDS
    for t in range(thr.shape[0]):
        _fill_leaves(thr[t], leaves)
        for g in range(n_groups):
            for blk in prange(n_blocks):
                sites = order[block_ptr[g, blk]:block_ptr[g, blk + 1]]
                if rows:
                    _update_rows(S, indptr, nbrs, negs, sites, degree, leaves, state[blk, 0], state[blk, 1],
                                 scratch[blk])
                else:
                    _update_words(S, indptr, nbrs, negs, sites, degree, leaves, state[blk, 0], state[blk, 1])


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
        # every row of words starts on a cache line, allocated once: left where numpy put them (16 bytes), the
        # AVX-512 loads split across lines, and aligning them made 4,096 / 1,024 chains 1.3-1.4x / 2.2x faster
        self._state = cache_line_aligned((self.blocks, 2, self.words), np.uint64)
        self._state[...] = _seed_streams(streams, self.blocks * self.words).reshape(
            self.blocks, self.words, 2).transpose(0, 2, 1)
        self._scratch = cache_line_aligned((self.blocks, 6, self.words), np.uint64)
        self._leaves = cache_line_aligned((MAX_DEGREE + 1, 64, MAX_DEGREE + 1), np.uint64)
        self.S = cache_line_aligned((self.num_nodes, self.words), np.uint64)
        self.set_states(random_spins(init, (self.num_chains, self.num_nodes)))

    def set_states(self, states: np.ndarray) -> None:
        """Replace the chains' states, ``(num_chains, N)`` of +-1."""
        states = check_spins(states, self.num_nodes)
        if states.shape[0] != self.num_chains:
            raise ValueError(f"states must be ({self.num_chains}, {self.num_nodes}), got {states.shape}")
        bits = np.zeros((self.num_nodes, self.words * 64), np.uint8)
        bits[:, :self.num_chains] = (states > 0).T
        # chain 64 w + b is bit b of word w: bytes packed least significant bit first, read as little-endian words
        self.S[...] = np.packbits(bits, axis=-1, bitorder="little").view("<u8")

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
                    self.thresholds(betas), self._degree, self._state, self._scratch, self._leaves)


__all__ = ["MAX_DEGREE", "ROW_WORDS", "MultispinSampler"]
