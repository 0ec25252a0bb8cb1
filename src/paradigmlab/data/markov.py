"""Synthetic order-k Markov corpora whose entropy is known exactly.

A language model's NLL on text has no known floor; on a stationary order-``k`` Markov chain it has one: the entropy
rate ``h = sum_s pi(s) H(P(.|s))`` (nats per token), ``pi`` the stationary law of the ``k``-gram state. A model that
sees at least ``k`` tokens of context cannot beat ``h`` on average; a model scored on windows of ``L`` tokens
without earlier context cannot beat ``H(X_1..X_L) / L`` (:meth:`MarkovSource.block_entropy`), slightly above ``h``.

Transition rows are drawn from a symmetric Dirichlet(``concentration``): small concentrations make peaked,
low-entropy rows (text-like), large ones nearly uniform rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from paradigmlab.validate import InputError, integer, number

MAX_STATES = 1 << 20  # vocab_size ** order: the transition table must fit in memory


@dataclass(frozen=True)
class MarkovSource:
    """A stationary order-``order`` Markov chain over ``vocab_size`` tokens, its tables drawn from ``seed``."""

    vocab_size: int = 16
    order: int = 2
    concentration: float = 0.25
    seed: int = 0
    transitions: np.ndarray = field(init=False, repr=False, compare=False)  # [V**k, V], rows sum to 1
    stationary: np.ndarray = field(init=False, repr=False, compare=False)  # [V**k] law of the k-gram state

    def __post_init__(self) -> None:
        integer(self.vocab_size, "vocab_size", min=2, max=65536)
        integer(self.order, "order", min=1)
        number(self.concentration, "concentration", positive=True)
        integer(self.seed, "seed", min=0)
        if self.vocab_size ** self.order > MAX_STATES:
            raise InputError(f"vocab_size ** order = {self.vocab_size ** self.order} states exceeds {MAX_STATES}")
        rng = np.random.default_rng(self.seed)
        n = self.vocab_size ** self.order
        P = rng.dirichlet(np.full(self.vocab_size, float(self.concentration)), size=n)
        P = np.maximum(P, 1e-12)  # a Dirichlet draw can underflow to exact zeros; keep every log finite
        P /= P.sum(axis=1, keepdims=True)
        object.__setattr__(self, "transitions", P)
        object.__setattr__(self, "stationary", self._stationary(P))

    # ---------------------------------------------------------------- exact quantities
    @property
    def n_states(self) -> int:
        return self.vocab_size ** self.order

    def next_state(self, state: np.ndarray, token: np.ndarray) -> np.ndarray:
        """State after emitting ``token`` from ``state`` (the k-gram slides by one)."""
        return (state * self.vocab_size + token) % self.n_states

    def _stationary(self, P: np.ndarray) -> np.ndarray:
        """Power iteration on the (sparse: V successors per state) state chain, to machine precision."""
        n, V = P.shape
        succ = (np.arange(n)[:, None] * V + np.arange(V)[None, :]) % n
        pi = np.full(n, 1.0 / n)
        for _ in range(100_000):
            new = np.bincount(succ.ravel(), weights=(pi[:, None] * P).ravel(), minlength=n)
            if np.abs(new - pi).sum() < 1e-14:
                return new / new.sum()
            pi = new
        raise RuntimeError("stationary distribution did not converge")  # pragma: no cover (needs a periodic chain)

    def entropy_rate(self) -> float:
        """``h`` in nats per token."""
        P = self.transitions
        return float(-(self.stationary * (P * np.log(P)).sum(axis=1)).sum())

    def block_entropy(self, length: int) -> float:
        """``H(X_1, ..., X_length)`` of a window of the stationary chain, in nats (exact)."""
        integer(length, "length", min=1)
        k, V = self.order, self.vocab_size
        # the first k tokens are the state itself (most significant digit first)
        if length >= k:
            pi = self.stationary
            return float(-(pi * np.log(np.maximum(pi, 1e-300))).sum() + (length - k) * self.entropy_rate())
        marginal = self.stationary.reshape(V ** length, V ** (k - length)).sum(axis=1)
        return float(-(marginal * np.log(np.maximum(marginal, 1e-300))).sum())

    # ---------------------------------------------------------------- data
    def sample(self, n_tokens: int, seed: int = 0) -> np.ndarray:
        """``n_tokens`` of the chain started in its stationary law (uint16 when the vocabulary allows)."""
        integer(n_tokens, "n_tokens", min=1)
        integer(seed, "seed", min=0)
        rng = np.random.default_rng(seed)
        k, V = self.order, self.vocab_size
        state = int(rng.choice(self.n_states, p=self.stationary))
        out = np.empty(n_tokens + k, dtype=np.uint16 if V <= 65536 else np.int32)
        out[:k] = [(state // V ** (k - 1 - i)) % V for i in range(k)]
        cdf = np.cumsum(self.transitions, axis=1)
        u = rng.random(n_tokens)
        for i in range(n_tokens):  # inverse-CDF draws; sequential by nature (1e6 tokens in about a second)
            tok = min(int(np.searchsorted(cdf[state], u[i], side="right")), V - 1)
            out[k + i] = tok
            state = (state * V + tok) % self.n_states
        return out[k:]

    def log_prob(self, windows: np.ndarray) -> np.ndarray:
        """Exact ``log p(window)`` (nats) of each row of ``windows`` ``[B, L]`` under the stationary chain: the
        judge of generated samples (their NLL under the true source, not under another model)."""
        w = np.asarray(windows)
        if w.ndim != 2 or not np.issubdtype(w.dtype, np.integer):
            raise InputError(f"windows must be a 2-D integer array, got {w.dtype} of shape {w.shape}")
        if w.size and (w.min() < 0 or w.max() >= self.vocab_size):
            raise InputError(f"tokens must be in [0, {self.vocab_size}), got [{w.min()}, {w.max()}]")
        B, L = w.shape
        k, V = self.order, self.vocab_size
        w = w.astype(np.int64)
        head = min(k, L)
        # the first min(k, L) tokens: marginal of the stationary k-gram
        idx = np.zeros(B, dtype=np.int64)
        for i in range(head):
            idx = idx * V + w[:, i]
        marginal = self.stationary.reshape(V ** head, V ** (k - head)).sum(axis=1)
        lp = np.log(np.maximum(marginal[idx], 1e-300))
        state = idx
        logP = np.log(self.transitions)
        for i in range(k, L):
            lp = lp + logP[state, w[:, i]]
            state = self.next_state(state, w[:, i])
        return lp

    def masked_log_marginals(self, windows: np.ndarray, masked: np.ndarray) -> np.ndarray:
        """The exact denoiser: ``log p(x_i = v | the unmasked tokens of the window)`` ``[B, L, V]`` for every
        position (a point mass where ``x_i`` is visible), by forward-backward over the ``k``-gram states.

        This is what a masked-diffusion model's denoiser should learn (SUBS parameterisation: every masked position
        scored independently given the visible ones); its NELBO is exactly ``H(X_1..X_L)`` of the window, which
        makes it the floor against which a trained denoiser's loss can be compared mask rate by mask rate."""
        w = np.asarray(windows)
        m = np.asarray(masked, dtype=bool)
        if w.ndim != 2 or not np.issubdtype(w.dtype, np.integer):
            raise InputError(f"windows must be a 2-D integer array, got {w.dtype} of shape {w.shape}")
        if m.shape != w.shape:
            raise InputError(f"masked must have the windows' shape {w.shape}, got {m.shape}")
        B, L = w.shape
        k, V = self.order, self.vocab_size
        if L <= k:
            raise InputError(f"windows must be longer than the chain's order {k}, got length {L}")
        if w.size and (w.min() < 0 or w.max() >= V):
            raise InputError(f"tokens must be in [0, {V}), got [{w.min()}, {w.max()}]")
        # evidence e[b, i, v]: 1 where v is allowed at position i (all of them under a mask)
        e = np.ones((B, L, V))
        vis = ~m
        e[vis] = 0.0
        e[vis, w[vis].astype(np.int64)] = 1.0
        P = self.transitions.reshape(V, V ** (k - 1), V)  # [oldest token, the k-1 newer ones, next token]
        # alpha[i]: law of the state (x_{i-k+1..i}) given the evidence up to i, shape [B, V, V**(k-1)], normalised
        a = self.stationary.reshape((1,) + (V,) * k).repeat(B, axis=0)
        for j in range(k):
            a = a * e[:, j].reshape((B,) + (1,) * j + (V,) + (1,) * (k - 1 - j))
        a = a.reshape(B, V, V ** (k - 1))
        alpha = np.empty((L, B, V, V ** (k - 1)))
        a = a / a.sum(axis=(1, 2), keepdims=True)
        alpha[k - 1] = a
        for i in range(k, L):
            nxt = np.einsum("nar,arc->nrc", a, P) * e[:, i, None, :]  # new state (x_{i-k+2..i-1}, x_i)
            a = nxt.reshape(B, V, V ** (k - 1))
            a = a / a.sum(axis=(1, 2), keepdims=True)
            alpha[i] = a
        post = np.empty((B, L, V))
        beta = np.ones((B, V, V ** (k - 1)))  # likelihood of the evidence after i given the state at i
        for i in range(L - 1, k - 2, -1):
            g = alpha[i] * beta
            g = (g / g.sum(axis=(1, 2), keepdims=True)).reshape((B,) + (V,) * k)
            post[:, i] = g.reshape(B, -1, V).sum(axis=1)  # the state's newest digit is x_i
            if i == k - 1:  # the first state holds x_0 .. x_{k-1}
                for j in range(k - 1):
                    post[:, j] = g.sum(axis=tuple(1 + d for d in range(k) if d != j))
            else:
                ahead = (e[:, i, None, :] * beta.reshape(B, V ** (k - 1), V))  # [B, r = x_{i-k+1..i-1}, x_i]
                prev = np.einsum("arc,nrc->nar", P, ahead)
                beta = prev / prev.sum(axis=(1, 2), keepdims=True)
        return np.log(np.maximum(post, 1e-300))

    def describe(self) -> dict:
        return {"vocab_size": self.vocab_size, "order": self.order, "concentration": self.concentration,
                "seed": self.seed, "entropy_rate_nats": self.entropy_rate()}


#: The built-in corpus ``markov``: small vocabulary, order 2, peaked rows (entropy rate 1.737 nats/token of log 16 = 2.773).
DEFAULT_SOURCE = {"vocab_size": 16, "order": 2, "concentration": 0.25, "seed": 0}
DEFAULT_TOKENS = 1_000_000


def markov_corpus(n_tokens: int = DEFAULT_TOKENS, seed: int = 0, **source) -> tuple[MarkovSource, np.ndarray]:
    """The built-in Markov corpus: its source (``DEFAULT_SOURCE`` unless overridden) and ``n_tokens`` of it."""
    src = MarkovSource(**{**DEFAULT_SOURCE, **source})
    return src, src.sample(n_tokens, seed)


__all__ = ["DEFAULT_SOURCE", "DEFAULT_TOKENS", "MarkovSource", "markov_corpus"]
