"""Restricted Boltzmann machines and deep belief networks on the p-bit engine.

An RBM is the two-colour special case of a sparse Boltzmann machine: p-bits
``0..V-1`` are visible, ``V..V+H-1`` hidden, couplings only between the two
layers, so one p-bit sweep (hidden colour, then visible colour) is one step of
block Gibbs sampling. Units are spins (+-1), energy
``E(v, h) = -v^T W h - b.v - c.h`` (the :mod:`paradigmlab.pbit.model` convention).

Training is CD-k (chains start at the data) or persistent CD (chains persist
across updates); the negative-phase samples come from the p-bit kernels, the
hidden statistics use the exact conditional mean ``tanh(c + v W)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from paradigmlab.ebm.ais import AISResult, ais_log_partition
from paradigmlab.ebm.engine import EdgeCoupling, run_chains
from paradigmlab.pbit.model import IsingModel

#: Largest side :meth:`RBM.log_partition` enumerates exactly.
MAX_EXACT_SIDE = 24


def _log2cosh(x: np.ndarray) -> np.ndarray:
    a = np.abs(x)
    return a + np.log1p(np.exp(-2.0 * a))


def check_spins(x: np.ndarray, width: int | None = None, name: str = "X") -> np.ndarray:
    """Validate a +-1 matrix (n, width); return it as int8."""
    x = np.asarray(x)
    if x.ndim != 2 or (width is not None and x.shape[1] != width):
        raise ValueError(f"{name} must have shape (n, {width if width is not None else 'V'}), got {x.shape}")
    if not np.all((x == 1) | (x == -1)):
        raise ValueError(f"{name} must contain only -1 and +1 (binarise first)")
    return x.astype(np.int8)


class RBM:
    """A +-1 RBM trained by CD-k or PCD with p-bit sampling (scikit-learn style ``fit``/``transform``)."""

    def __init__(self, n_hidden: int = 200, k: int = 1, persistent: bool = True, num_chains: int = 100,
                 batch_size: int = 100, lr: float = 0.01, momentum: float = 0.5, weight_decay: float = 1e-4,
                 epochs: int = 10, init_scale: float = 0.01, backend: str = "numba", seed: int = 0,
                 progress: bool = False):
        if n_hidden < 1 or k < 1 or num_chains < 1 or batch_size < 1 or epochs < 0:
            raise ValueError("n_hidden, k, num_chains, batch_size must be >= 1 and epochs >= 0")
        if not lr > 0 or not 0 <= momentum < 1 or weight_decay < 0:
            raise ValueError("need lr > 0, 0 <= momentum < 1, weight_decay >= 0")
        self.n_hidden, self.k, self.persistent, self.num_chains = n_hidden, k, persistent, num_chains
        self.batch_size, self.lr, self.momentum, self.weight_decay = batch_size, lr, momentum, weight_decay
        self.epochs, self.init_scale, self.backend, self.seed = epochs, init_scale, backend, seed
        self.progress = progress
        self.pbit_updates = 0

    # ------------------------------------------------------------ structure
    def _init(self, n_visible: int) -> None:
        rng = np.random.default_rng(self.seed)
        self.W = rng.normal(0.0, self.init_scale, (n_visible, self.n_hidden))
        self.b = np.zeros(n_visible)
        self.c = np.zeros(self.n_hidden)
        self._build(n_visible)

    def _build(self, n_visible: int) -> None:
        H = self.n_hidden
        vi, hj = np.meshgrid(np.arange(n_visible), np.arange(H), indexing="ij")
        self.coupling = EdgeCoupling(n_visible + H, np.c_[vi.ravel(), n_visible + hj.ravel()])
        self.groups = [np.arange(n_visible, n_visible + H), np.arange(n_visible)]  # hidden first

    @classmethod
    def from_weights(cls, W: np.ndarray, b: np.ndarray, c: np.ndarray, **kwargs) -> "RBM":
        """An RBM with given weights ``W`` (V, H) and biases ``b`` (V,), ``c`` (H,)."""
        W = np.asarray(W, dtype=np.float64)
        if W.ndim != 2 or np.shape(b) != (W.shape[0],) or np.shape(c) != (W.shape[1],):
            raise ValueError(f"need W (V, H), b (V,), c (H,); got {W.shape}, {np.shape(b)}, {np.shape(c)}")
        rbm = cls(n_hidden=W.shape[1], **kwargs)
        rbm.W, rbm.b, rbm.c = W.copy(), np.asarray(b, float).copy(), np.asarray(c, float).copy()
        rbm._build(W.shape[0])
        return rbm

    @property
    def n_visible(self) -> int:
        """Number of visible units."""
        return self.W.shape[0]

    @property
    def num_parameters(self) -> int:
        """Weights plus biases."""
        return self.W.size + self.b.size + self.c.size

    def _fields(self) -> np.ndarray:
        return np.r_[self.b, self.c]

    def to_ising(self) -> IsingModel:
        """The RBM as an :class:`IsingModel` (visible p-bits first, then hidden)."""
        return IsingModel(self.coupling.csr(self.W.ravel()), self._fields())

    # ------------------------------------------------------------ inference
    def transform(self, X: np.ndarray) -> np.ndarray:
        """Hidden means ``E[h | v] = tanh(c + v W)`` (features in [-1, 1]) for inputs in [-1, 1]."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_visible:
            raise ValueError(f"X must have shape (n, {self.n_visible}), got {X.shape}")
        return np.tanh(self.c + X @ self.W)

    def free_energy(self, X: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """``F(v) = -log sum_h exp(-scale E(v, h))`` for each row of ``X`` (+-1)."""
        X = np.asarray(X, dtype=np.float64)
        return -scale * (X @ self.b) - _log2cosh(scale * (self.c + X @ self.W)).sum(1)

    def log_partition(self, method: str = "auto", **ais_kwargs) -> float | AISResult:
        """``log Z``: ``"exact"`` (enumerates the smaller layer, <= 24 units), ``"ais"`` or ``"auto"``."""
        if method == "auto":
            method = "exact" if min(self.W.shape) <= MAX_EXACT_SIDE else "ais"
        if method == "exact":
            small, big = (self.c, self.b) if self.n_hidden <= self.n_visible else (self.b, self.c)
            Wt = self.W if self.n_hidden <= self.n_visible else self.W.T  # (big, small)
            n = small.size
            if n > MAX_EXACT_SIDE:
                raise ValueError(f"exact log Z needs a layer with <= {MAX_EXACT_SIDE} units, smallest has {n}")
            parts = []
            for start in range(0, 1 << n, 1 << min(n, 16)):
                idx = np.arange(start, start + (1 << min(n, 16)), dtype=np.int64)
                S = (((idx[:, None] >> np.arange(n)) & 1) * 2 - 1).astype(np.float64)
                parts.append(logsumexp(S @ small + _log2cosh(big + S @ Wt.T).sum(1)))
            return float(logsumexp(parts))
        if method == "ais":
            V = self.n_visible
            return ais_log_partition(self.to_ising(), log_f=lambda s, t: -self.free_energy(s[:, :V], t),
                                     backend=self.backend, groups=self.groups, **ais_kwargs)
        raise ValueError(f"unknown method {method!r}; use auto, exact or ais")

    def log_likelihood(self, X: np.ndarray, log_z: float) -> float:
        """Mean ``log p(v)`` of the rows of ``X`` given ``log Z``."""
        return float(np.mean(-self.free_energy(check_spins(X, self.n_visible)) - log_z))

    # ------------------------------------------------------------ learning
    def fit(self, X: np.ndarray, y=None) -> "RBM":
        """Train on +-1 rows of ``X`` for ``epochs`` epochs; returns ``self``."""
        X = check_spins(X)
        if len(X) < self.batch_size:
            raise ValueError(f"need at least batch_size={self.batch_size} rows, got {len(X)}")
        self._init(X.shape[1])
        self.b = np.arctanh(np.clip(X.mean(0, dtype=np.float64), -0.95, 0.95))  # independent-pixel fit
        rng = np.random.default_rng([self.seed, 1])
        chains = rng.choice(np.array([-1, 1], np.int8), size=(self.num_chains, self.coupling.num_nodes))
        vel = [np.zeros_like(self.W), np.zeros_like(self.b), np.zeros_like(self.c)]
        per_epoch = len(X) // self.batch_size
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.epochs * per_epoch, desc=f"RBM {self.n_visible}x{self.n_hidden}", unit="upd")
        for t in range(self.epochs * per_epoch):
            if t % per_epoch == 0:
                order = rng.permutation(len(X))
            v = X[order[(t % per_epoch) * self.batch_size:(t % per_epoch + 1) * self.batch_size]]
            if self.persistent:
                start = chains
            else:
                start = np.zeros((len(v), self.coupling.num_nodes), np.int8)
                start[:, :self.n_visible], start[:, self.n_visible:] = v, 1
            chains, n = run_chains(self.backend, self.coupling.csr(self.W.ravel()), self._fields(), self.groups,
                                   start, self.k, [self.seed, 2, t])
            self.pbit_updates += n
            grads = self._gradient(v.astype(np.float64), chains[:, :self.n_visible].astype(np.float64))
            for p, g, vv in zip((self.W, self.b, self.c), grads, vel):
                vv *= self.momentum
                vv += self.lr * (g - (self.weight_decay * p if p is self.W else 0.0))
                p += vv
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        return self

    def _gradient(self, v_pos: np.ndarray, v_neg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Contrastive gradient of the log-likelihood with exact hidden conditional means."""
        h_pos, h_neg = self.transform(v_pos), self.transform(v_neg)
        dW = v_pos.T @ h_pos / len(v_pos) - v_neg.T @ h_neg / len(v_neg)
        return dW, v_pos.mean(0) - v_neg.mean(0), h_pos.mean(0) - h_neg.mean(0)

    def sample(self, num_samples: int, num_sweeps: int = 1000, seed: int = 0) -> np.ndarray:
        """Visible samples (+-1) after ``num_sweeps`` block-Gibbs sweeps from random states."""
        rng = np.random.default_rng(seed)
        S = rng.choice(np.array([-1, 1], np.int8), size=(num_samples, self.coupling.num_nodes))
        S, _ = run_chains(self.backend, self.coupling.csr(self.W.ravel()), self._fields(), self.groups,
                          S, num_sweeps, [seed, 1])
        return S[:, :self.n_visible]


class DBN:
    """A deep belief network: RBMs trained greedily, each on samples of the previous one's hidden layer."""

    def __init__(self, layers: tuple[int, ...] = (500, 500), seed: int = 0, **rbm_kwargs):
        if not layers or min(layers) < 1:
            raise ValueError(f"layers must be a non-empty tuple of positive sizes, got {layers}")
        self.rbms = [RBM(n_hidden=h, seed=seed + i, **rbm_kwargs) for i, h in enumerate(layers)]
        self.seed = seed

    @property
    def num_parameters(self) -> int:
        """Parameters of all layers."""
        return sum(r.num_parameters for r in self.rbms)

    @property
    def pbit_updates(self) -> int:
        """p-bit updates spent in training, all layers."""
        return sum(r.pbit_updates for r in self.rbms)

    def fit(self, X: np.ndarray, y=None) -> "DBN":
        """Greedy layer-wise training on +-1 rows of ``X``."""
        rng = np.random.default_rng([self.seed, 7])
        inp = check_spins(X)
        for rbm in self.rbms:
            rbm.fit(inp)
            mean = rbm.transform(inp)
            inp = np.where(rng.random(mean.shape) < (1 + mean) / 2, 1, -1).astype(np.int8)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Top-layer features: hidden means propagated up through every layer."""
        out = np.asarray(X, dtype=np.float64)
        for rbm in self.rbms:
            out = rbm.transform(out)
        return out
