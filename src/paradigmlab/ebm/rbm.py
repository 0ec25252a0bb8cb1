"""Restricted Boltzmann machines and deep belief networks on the p-bit engine, as scikit-learn estimators.

An RBM is the two-colour special case of a sparse Boltzmann machine: p-bits
``0..V-1`` are visible, ``V..V+H-1`` hidden, couplings only between the two
layers, so one p-bit sweep (hidden colour, then visible colour) is one step of
block Gibbs sampling. Units are spins (+-1), energy
``E(v, h) = -v^T W h - b.v - c.h`` (the :mod:`paradigmlab.pbit.model` convention).

Training is CD-k (chains start at the data) or persistent CD (chains persist
across updates); the negative-phase samples come from the p-bit kernels, the
hidden statistics use the exact conditional mean ``tanh(c + v W)``.

Both classes follow scikit-learn's estimator contract (``__init__`` only
stores, ``fit`` validates, fitted attributes end in ``_``), so they work in a
``Pipeline``, with ``clone`` and ``GridSearchCV``. Inputs are binarised to
spins by the threshold ``binarize`` (like ``BernoulliNB``): with the default
0.0, both {-1, +1} and {0, 1} data mean what they say (0 becomes -1).
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from paradigmlab.ebm.ais import AISResult, ais_log_partition
from paradigmlab.ebm.engine import EdgeCoupling, run_chains
from paradigmlab.pbit.model import IsingModel
from paradigmlab.pbit.spins import check_spins, random_spins

#: Largest side :meth:`RBM.log_partition` enumerates exactly.
MAX_EXACT_SIDE = 24


def _log2cosh(x: np.ndarray) -> np.ndarray:
    a = np.abs(x)
    return a + np.log1p(np.exp(-2.0 * a))


def _seed(random_state) -> int:
    """An integer seed from scikit-learn's ``random_state`` conventions.

    An int is used as it is (so a run with ``random_state=s`` is the run seeded
    ``s``); ``None`` draws fresh entropy; a ``RandomState`` or ``Generator``
    gives its next draw (so repeated fits with one instance differ, as in
    scikit-learn).
    """
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative int, None, a RandomState or a Generator, "
                             f"got {random_state}")
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63))
    raise ValueError(f"random_state must be an int, None, a RandomState or a Generator, got {random_state!r}")


def _to_spins(X: np.ndarray, binarize: float | None, name: str = "X") -> np.ndarray:
    """Validated float array -> +-1 spins: ``X > binarize`` is +1, the rest -1; ``binarize=None``
    requires +-1 input already."""
    if binarize is None:
        return check_spins(X, name=name).astype(np.float64)
    return np.where(X > binarize, 1.0, -1.0)


class RBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """A +-1 RBM trained by CD-k or PCD with p-bit sampling (a scikit-learn transformer).

    Parameters
    ----------
    n_hidden : hidden units H.
    k : sweeps per update of the negative-phase chains (CD-k / PCD-k).
    persistent : PCD (chains persist across updates) or CD (chains start at the batch).
    num_chains : persistent chains (PCD only; CD runs one chain per image).
    batch_size : images per update (at most the number of rows; remainder rows of an epoch are skipped).
    lr, momentum, weight_decay : the update ``v <- momentum v + lr (grad - weight_decay W)``.
    epochs : passes over the data.
    init_scale : standard deviation of the initial weights.
    backend : p-bit kernel (``numba``, ``reference``, ``torch``).
    random_state : int, None, ``RandomState`` or ``Generator`` (an int gives a reproducible run).
    progress : show a progress bar while fitting.
    binarize : threshold mapping inputs to spins (``x > binarize`` is +1), or None to require +-1 input.

    Fitted attributes
    -----------------
    components_ : (H, V) weights, as in ``sklearn.neural_network.BernoulliRBM``.
    intercept_hidden_ : (H,) hidden biases ``c``.
    intercept_visible_ : (V,) visible biases ``b``.
    n_features_in_ : V.
    pbit_updates_ : p-bit updates spent sampling during ``fit``.
    """

    def __init__(self, n_hidden: int = 200, k: int = 1, persistent: bool = True, num_chains: int = 100,
                 batch_size: int = 100, lr: float = 0.01, momentum: float = 0.5, weight_decay: float = 1e-4,
                 epochs: int = 10, init_scale: float = 0.01, backend: str = "numba", random_state=0,
                 progress: bool = False, binarize: float | None = 0.0):
        self.n_hidden = n_hidden
        self.k = k
        self.persistent = persistent
        self.num_chains = num_chains
        self.batch_size = batch_size
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.init_scale = init_scale
        self.backend = backend
        self.random_state = random_state
        self.progress = progress
        self.binarize = binarize

    # ------------------------------------------------------------ structure
    def _check_params(self) -> None:
        if min(self.n_hidden, self.k, self.num_chains, self.batch_size) < 1 or self.epochs < 0:
            raise ValueError("n_hidden, k, num_chains, batch_size must be >= 1 and epochs >= 0, got "
                             f"{self.n_hidden}, {self.k}, {self.num_chains}, {self.batch_size}, {self.epochs}")
        if not self.lr > 0 or not 0 <= self.momentum < 1 or self.weight_decay < 0:
            raise ValueError(f"need lr > 0, 0 <= momentum < 1, weight_decay >= 0, got {self.lr}, {self.momentum}, "
                             f"{self.weight_decay}")

    def _build(self, n_visible: int, n_hidden: int) -> None:
        vi, hj = np.meshgrid(np.arange(n_visible), np.arange(n_hidden), indexing="ij")
        self._coupling = EdgeCoupling(n_visible + n_hidden, np.c_[vi.ravel(), n_visible + hj.ravel()])
        self._groups = [np.arange(n_visible, n_visible + n_hidden), np.arange(n_visible)]  # hidden first

    def _set_parameters(self, W: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
        # components_ is a view of the (V, H) array the training updated, so W below is that array again
        # (same memory layout, hence bit-identical products)
        self.components_ = W.T
        self.intercept_visible_ = b
        self.intercept_hidden_ = c
        self._build(*W.shape)

    @classmethod
    def from_weights(cls, W: np.ndarray, b: np.ndarray, c: np.ndarray, **params) -> "RBM":
        """A fitted RBM with given weights ``W`` (V, H) and biases ``b`` (V,), ``c`` (H,); ``params`` are
        constructor arguments."""
        W = np.asarray(W, dtype=np.float64)
        if W.ndim != 2 or np.shape(b) != (W.shape[0],) or np.shape(c) != (W.shape[1],):
            raise ValueError(f"need W (V, H), b (V,), c (H,); got {W.shape}, {np.shape(b)}, {np.shape(c)}")
        rbm = cls(n_hidden=W.shape[1], **params)
        rbm._set_parameters(W.copy(), np.asarray(b, float).copy(), np.asarray(c, float).copy())
        rbm.n_features_in_ = W.shape[0]
        rbm.pbit_updates_ = 0
        return rbm

    @property
    def _W(self) -> np.ndarray:
        """Weights (V, H): ``components_.T``."""
        return self.components_.T

    @property
    def num_parameters(self) -> int:
        """Weights plus biases."""
        return self.components_.size + self.intercept_visible_.size + self.intercept_hidden_.size

    @property
    def _n_features_out(self) -> int:
        """Output width for ``get_feature_names_out`` (``rbm0``, ``rbm1``, ...)."""
        return self.components_.shape[0]

    def _fields(self) -> np.ndarray:
        return np.r_[self.intercept_visible_, self.intercept_hidden_]

    def to_ising(self) -> IsingModel:
        """The RBM as an :class:`IsingModel` (visible p-bits first, then hidden)."""
        check_is_fitted(self)
        return IsingModel(self._coupling.csr(self._W.ravel()), self._fields())

    # ------------------------------------------------------------ inference
    def _spins(self, X) -> np.ndarray:
        """Validate ``X`` against the fitted width and binarise it (see the module docstring)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return _to_spins(X, self.binarize)

    def _hidden_means(self, V: np.ndarray) -> np.ndarray:
        """``tanh(c + V W)`` for spins or mean spins ``V`` (no validation: :class:`DBN` chains it)."""
        return np.tanh(self.intercept_hidden_ + V @ self._W)

    def transform(self, X) -> np.ndarray:
        """Hidden means ``E[h | v] = tanh(c + v W)`` (features in [-1, 1]) of the binarised rows of ``X``."""
        return self._hidden_means(self._spins(X))

    def free_energy(self, X: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """``F(v) = -log sum_h exp(-scale E(v, h))`` for each row of ``X`` (+-1, not validated)."""
        X = np.asarray(X, dtype=np.float64)
        hidden = _log2cosh(scale * (self.intercept_hidden_ + X @ self._W)).sum(1)
        return -scale * (X @ self.intercept_visible_) - hidden

    def log_partition(self, method: str = "auto", **ais_kwargs) -> float | AISResult:
        """``log Z``: ``"exact"`` (enumerates the smaller layer, <= 24 units), ``"ais"`` (an
        :class:`~paradigmlab.ebm.ais.AISResult`; ``ais_kwargs`` go to
        :func:`~paradigmlab.ebm.ais.ais_log_partition`) or ``"auto"`` (exact when possible)."""
        check_is_fitted(self)
        W, b, c = self._W, self.intercept_visible_, self.intercept_hidden_
        if method == "auto":
            method = "exact" if min(W.shape) <= MAX_EXACT_SIDE else "ais"
        if method == "exact":
            hidden_small = W.shape[1] <= W.shape[0]
            small, big = (c, b) if hidden_small else (b, c)
            Wt = W if hidden_small else W.T  # (big, small)
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
            V = self.n_features_in_
            return ais_log_partition(self.to_ising(), log_f=lambda s, t: -self.free_energy(s[:, :V], t),
                                     backend=self.backend, groups=self._groups, **ais_kwargs)
        raise ValueError(f"unknown method {method!r}; use auto, exact or ais")

    def log_likelihood(self, X: np.ndarray, log_z: float) -> float:
        """Mean ``log p(v)`` of the +-1 rows of ``X`` given ``log Z``."""
        return float(np.mean(-self.free_energy(check_spins(X, self.n_features_in_, name="X")) - log_z))

    def score_samples(self, X) -> np.ndarray:
        """Log-likelihood ``log p(v) = -F(v) - log Z`` of each binarised row of ``X`` (nats).

        ``log Z`` is exact when a layer has at most 24 units (enumeration) and
        an AIS estimate otherwise (:meth:`log_partition` ``"auto"``, default
        settings, seed 0, so repeated calls agree; it costs seconds on MNIST
        sizes and is recomputed per call). scikit-learn's ``BernoulliRBM.score_samples``
        is a pseudo-likelihood instead (one randomly chosen unit flipped per row);
        this is the likelihood itself, comparable across models and with AIS.
        """
        V = self._spins(X)
        log_z = self.log_partition("auto")
        log_z = log_z.log_z if isinstance(log_z, AISResult) else log_z
        return -self.free_energy(V) - log_z

    # ------------------------------------------------------------ learning
    def fit(self, X, y=None) -> "RBM":
        """Train on the binarised rows of ``X`` for ``epochs`` epochs; returns ``self``."""
        self._check_params()
        X = validate_data(self, X, dtype=np.float64)
        X = _to_spins(X, self.binarize).astype(np.int8)
        seed = _seed(self.random_state)
        n_visible, H = X.shape[1], self.n_hidden
        batch_size = min(self.batch_size, len(X))
        rng = np.random.default_rng(seed)
        W = rng.normal(0.0, self.init_scale, (n_visible, H))
        b = np.arctanh(np.clip(X.mean(0, dtype=np.float64), -0.95, 0.95))  # independent-pixel fit
        c = np.zeros(H)
        self._build(n_visible, H)
        nodes = self._coupling.num_nodes
        rng = np.random.default_rng([seed, 1])
        chains = random_spins(rng, (self.num_chains, nodes))
        vel = [np.zeros_like(W), np.zeros_like(b), np.zeros_like(c)]
        per_epoch = len(X) // batch_size
        updates = 0
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.epochs * per_epoch, desc=f"RBM {n_visible}x{H}", unit="upd")
        for t in range(self.epochs * per_epoch):
            if t % per_epoch == 0:
                order = rng.permutation(len(X))
            v = X[order[(t % per_epoch) * batch_size:(t % per_epoch + 1) * batch_size]]
            if self.persistent:
                start = chains
            else:
                start = np.zeros((len(v), nodes), np.int8)
                start[:, :n_visible], start[:, n_visible:] = v, 1
            chains, n = run_chains(self.backend, self._coupling.csr(W.ravel()), np.r_[b, c], self._groups,
                                   start, self.k, [seed, 2, t])
            updates += n
            v_pos, v_neg = v.astype(np.float64), chains[:, :n_visible].astype(np.float64)
            h_pos, h_neg = np.tanh(c + v_pos @ W), np.tanh(c + v_neg @ W)  # exact hidden conditional means
            grads = (v_pos.T @ h_pos / len(v_pos) - v_neg.T @ h_neg / len(v_neg),
                     v_pos.mean(0) - v_neg.mean(0), h_pos.mean(0) - h_neg.mean(0))
            for p, g, vv in zip((W, b, c), grads, vel):
                vv *= self.momentum
                vv += self.lr * (g - (self.weight_decay * p if p is W else 0.0))
                p += vv
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        self._set_parameters(W, b, c)
        self.pbit_updates_ = updates
        return self

    def sample(self, num_samples: int, num_sweeps: int = 1000, seed: int = 0) -> np.ndarray:
        """Visible samples (+-1) after ``num_sweeps`` block-Gibbs sweeps from random states."""
        check_is_fitted(self)
        S = random_spins(seed, (num_samples, self._coupling.num_nodes))
        S, _ = run_chains(self.backend, self._coupling.csr(self._W.ravel()), self._fields(), self._groups,
                          S, num_sweeps, [seed, 1])
        return S[:, :self.n_features_in_]


class DBN(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """A deep belief network: RBMs trained greedily, each on samples of the previous one's hidden layer.

    ``layers``: hidden sizes, bottom up; layer ``i`` is an :class:`RBM` with
    ``random_state`` seed + i and the other parameters as given (see
    :class:`RBM`). Fitted: ``rbms_`` (the layers), ``n_features_in_``,
    ``pbit_updates_`` (all layers).
    """

    def __init__(self, layers: tuple[int, ...] = (500, 500), k: int = 1, persistent: bool = True,
                 num_chains: int = 100, batch_size: int = 100, lr: float = 0.01, momentum: float = 0.5,
                 weight_decay: float = 1e-4, epochs: int = 10, init_scale: float = 0.01, backend: str = "numba",
                 random_state=0, progress: bool = False, binarize: float | None = 0.0):
        self.layers = layers
        self.k = k
        self.persistent = persistent
        self.num_chains = num_chains
        self.batch_size = batch_size
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.init_scale = init_scale
        self.backend = backend
        self.random_state = random_state
        self.progress = progress
        self.binarize = binarize

    @property
    def num_parameters(self) -> int:
        """Parameters of all layers."""
        return sum(r.num_parameters for r in self.rbms_)

    @property
    def _n_features_out(self) -> int:
        return self.rbms_[-1].components_.shape[0]

    def fit(self, X, y=None) -> "DBN":
        """Greedy layer-wise training on the binarised rows of ``X``."""
        layers = tuple(self.layers) if isinstance(self.layers, (tuple, list)) else ()
        if not layers or min(layers) < 1:
            raise ValueError(f"layers must be a non-empty tuple of positive sizes, got {self.layers!r}")
        X = validate_data(self, X, dtype=np.float64)
        inp = _to_spins(X, self.binarize).astype(np.int8)
        seed = _seed(self.random_state)
        rbm_params = {name: getattr(self, name) for name in ("k", "persistent", "num_chains", "batch_size", "lr",
                                                             "momentum", "weight_decay", "epochs", "init_scale",
                                                             "backend", "progress")}
        rng = np.random.default_rng([seed, 7])
        self.rbms_ = []
        for i, h in enumerate(layers):
            rbm = RBM(n_hidden=h, random_state=seed + i, binarize=None, **rbm_params).fit(inp)
            mean = rbm._hidden_means(inp.astype(np.float64))
            inp = np.where(rng.random(mean.shape) < (1 + mean) / 2, 1, -1).astype(np.int8)
            self.rbms_.append(rbm)
        self.pbit_updates_ = sum(r.pbit_updates_ for r in self.rbms_)
        return self

    def transform(self, X) -> np.ndarray:
        """Top-layer features: hidden means propagated up through every layer (binarised input)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        out = _to_spins(X, self.binarize)
        for rbm in self.rbms_:
            out = rbm._hidden_means(out)
        return out
