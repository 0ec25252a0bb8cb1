"""Associative memories on +-1 neurons: the classic Hopfield network and dense associative memories.

A Hopfield network *is* an Ising model: weights ``W`` (symmetric, zero diagonal) are the couplings ``J``,
the energy ``E(s) = -1/2 s^T W s`` is eq. 2 with ``h = 0``, and the asynchronous recall rule
``s_i <- sgn(sum_j W_ij s_j)`` is eq. 4 at zero temperature. So recall runs on the p-bit kernels
(:mod:`paradigmlab.pbit.kernels`, ``beta = inf`` sweeps), and the stochastic network at finite ``beta`` is
:class:`~paradigmlab.pbit.PBitSampler` on :meth:`HopfieldNetwork.ising_model`; nothing here samples by itself.

* :class:`HopfieldNetwork` -- learning rules ``"hebbian"`` (Hopfield 1982; critical load 0.138, Amit,
  Gutfreund & Sompolinsky 1985), ``"storkey"`` (Storkey 1997; incremental, local, capacity about
  ``N / sqrt(2 ln N)``) and ``"pseudo-inverse"`` (the projection rule of Personnaz et al. 1985 / Kanter &
  Sompolinsky 1987 with the diagonal removed).
* :class:`DenseAssociativeMemory` -- Krotov & Hopfield 2016 (``F(x) = x^n``, capacity ~ ``N^(n-1)``) and
  Demircigil et al. 2017 (``F(x) = exp(x)``, evaluated as a log-sum-exp so it cannot overflow). Its energy
  is not quadratic, so it has its own (numpy) update; it keeps the Hopfield API.

The continuous modern Hopfield layer of Ramsauer et al. 2021 is :mod:`paradigmlab.ebm.modern`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp

from paradigmlab.measure import savez_atomic
from paradigmlab.pbit.model import IsingModel
from paradigmlab.pbit.sampler import PBitSampler
from paradigmlab.pbit.spins import check_spins
from paradigmlab.validate import InputError, declared_size, integer, number, read_npy, read_npz

RULES = ("hebbian", "storkey", "pseudo-inverse")
ORDERS = ("random", "sequential")
#: Sweeps a recall may take before it is reported as not converged (a deterministic asynchronous run of a
#: symmetric network always reaches a fixed point; at loads near capacity that takes tens of sweeps).
DEFAULT_MAX_SWEEPS = 200
HOPFIELD_FILE_KEYS = frozenset({"kind", "num_neurons", "rule", "patterns"})


def check_patterns(patterns, num_neurons: int, name: str = "patterns") -> np.ndarray:
    """``patterns`` (P x N, or one pattern of length N) as an int8 +-1 matrix; anything else is an error naming
    ``name`` (not +-1, wrong width, NaN, wrong number of dimensions)."""
    a = np.asarray(patterns)
    if a.dtype.kind not in "iufb":
        raise InputError(f"{name} must be numbers -1/+1, got dtype {a.dtype}")
    if a.ndim == 1:
        a = a.reshape(1, -1)
    try:
        return check_spins(a, width=num_neurons, name=name)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def load_patterns(path, num_neurons: int | None = None, name: str = "patterns") -> np.ndarray:
    """The +-1 matrix (P x N, or one pattern) in a ``.npy`` file (no pickles), checked by :func:`check_patterns`;
    every problem is an error naming the file."""
    path = Path(path)
    a = read_npy(path, f"{name} file")
    if a.ndim not in (1, 2) or a.size == 0:
        raise InputError(f"{path}: {name} must be a non-empty 1-D or 2-D array, got shape {a.shape}")
    try:
        return check_patterns(a, a.shape[-1] if num_neurons is None else num_neurons, name)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def _recall_order(num_neurons: int, order: str, seed) -> list[np.ndarray]:
    """The asynchronous update order as single-p-bit colour groups (a dense network has no two p-bits that
    may flip together)."""
    if order not in ORDERS:
        raise InputError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    idx = np.arange(num_neurons) if order == "sequential" else np.random.default_rng(seed).permutation(num_neurons)
    return [idx[i:i + 1] for i in range(num_neurons)]


def _max_sweeps(max_sweeps) -> int:
    return integer(DEFAULT_MAX_SWEEPS if max_sweeps is None else max_sweeps, "max_sweeps", min=1)


class HopfieldNetwork:
    """A Hopfield network of ``N`` +-1 neurons with a learning rule (``"hebbian"``, ``"storkey"``,
    ``"pseudo-inverse"``), recalled on the p-bit kernels.

    ``store(patterns)`` learns P x N +-1 patterns (replacing earlier ones); fitted: ``patterns_``,
    ``weights_`` (N x N float64, symmetric, zero diagonal; Hebbian ``W = Xi^T Xi / N``). ``recall(cues)``
    runs asynchronous deterministic updates to a fixed point; with a finite ``beta`` it runs the stochastic
    network (p-bits at inverse temperature ``beta``) instead. ``backend`` is the p-bit kernel.
    """

    def __init__(self, N: int, rule: str = "hebbian", backend: str = "numba"):
        self.N = integer(N, "N", min=1)
        if rule not in RULES:
            raise InputError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
        self.rule = rule
        self.backend = backend
        self.sampler = PBitSampler(backend)  # checks the backend name

    def __repr__(self) -> str:
        stored = f", {len(self.patterns_)} patterns" if hasattr(self, "patterns_") else ""
        return f"HopfieldNetwork(N={self.N}, rule={self.rule!r}{stored})"

    # ------------------------------------------------------------------ learning
    def store(self, patterns) -> "HopfieldNetwork":
        """Learn ``patterns`` (P x N, +-1) with the network's rule; returns ``self``."""
        xi = check_patterns(patterns, self.N)
        x = xi.astype(np.float64)
        if self.rule == "hebbian":
            # kept as integers: the kernels then sum local fields exactly, so a tie (I_i = 0) is a tie
            scaled = x.T @ x
            np.fill_diagonal(scaled, 0.0)
            self._scale = float(self.N)
        elif self.rule == "storkey":
            scaled = _storkey(x)
            self._scale = 1.0
        else:
            # projection onto the span of the patterns (lstsq-stable pseudo-inverse), diagonal removed
            scaled = x.T @ np.linalg.pinv(x @ x.T, hermitian=True) @ x
            np.fill_diagonal(scaled, 0.0)
            scaled = 0.5 * (scaled + scaled.T)
            self._scale = 1.0
        self._scaled = scaled
        self.weights_ = scaled / self._scale
        self.patterns_ = xi
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise InputError("this HopfieldNetwork stores no patterns yet: call store(patterns) first")

    # ------------------------------------------------------------------ as an Ising model
    def ising_model(self, beta: float = 1.0) -> IsingModel:
        """The network as an :class:`IsingModel` whose Boltzmann law at ``beta`` is ``exp(-beta E(s))`` with
        ``E = -1/2 s^T W s`` (Hebbian couplings are stored unnormalised, with ``beta / N``, the same law)."""
        self._check_fitted()
        beta = number(beta, "beta", min=0.0)
        return IsingModel(sp.csr_matrix(self._scaled), beta=beta / self._scale)

    def energy(self, states) -> np.ndarray:
        """``E(s) = -1/2 s^T W s`` of each state (a batch S x N, or one state)."""
        self._check_fitted()
        s = check_patterns(states, self.N, "states").astype(np.float64)
        e = -0.5 * np.einsum("si,ij,sj->s", s, self.weights_, s)
        return e[0] if np.ndim(states) == 1 else e

    def overlaps(self, states) -> np.ndarray:
        """``m_mu = xi_mu . s / N`` of each state with each stored pattern (S x P)."""
        self._check_fitted()
        s = check_patterns(states, self.N, "states").astype(np.float64)
        return s @ self.patterns_.T.astype(np.float64) / self.N

    def is_fixed_point(self, states) -> np.ndarray:
        """True where no neuron would change under the deterministic rule (``s_i I_i >= 0`` for every i,
        ties kept)."""
        self._check_fitted()
        s = check_patterns(states, self.N, "states").astype(np.float64)
        return np.all(s * (s @ self._scaled) >= 0, axis=1)

    # ------------------------------------------------------------------ recall
    def recall(self, cues, seed=None, beta: float | None = None, max_sweeps: int | None = None,
               order: str = "random", return_info: bool = False):
        """Run the network from ``cues`` (S x N or one cue, +-1) and return the final +-1 states (int8).

        ``beta=None`` (or ``inf``): asynchronous deterministic updates ``s_i <- sgn(sum_j W_ij s_j)`` (a tie
        keeps ``s_i``) in one fixed order per call -- a random permutation drawn from ``seed``, or
        ``order="sequential"`` -- until a sweep changes nothing (a fixed point) or ``max_sweeps`` (default
        200). A finite ``beta``: ``max_sweeps`` (default 200) sweeps of the stochastic network on the
        p-bit kernel, from the cues, seeded by ``seed``. With ``return_info``: ``(states, info)``, info
        giving the sweeps run, which cues converged, and the energies.
        """
        self._check_fitted()
        one = np.ndim(np.asarray(cues)) == 1
        cues = check_patterns(cues, self.N, "cues")
        sweeps = _max_sweeps(max_sweeps)
        if beta is not None and not np.isinf(number(beta, "beta", min=0.0, finite=False)):
            res = self.sampler.sample(self.ising_model(beta), num_chains=len(cues), num_sweeps=sweeps,
                                      initial_states=cues, seed=seed, progress=False)
            states, info = res.states, {"sweeps": sweeps, "beta": float(beta), "converged": None}
        else:
            states, info = descend(self.ising_model(), cues, seed=seed, max_sweeps=sweeps, order=order,
                                   backend=self.backend)
        info["energies"] = self.energy(states)
        if one:
            states = states[0]
        return (states, info) if return_info else states

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> Path:
        """Write the rule and the stored patterns to ``path`` (.npz), atomically (weights are recomputed on load:
        every rule is a deterministic function of the patterns)."""
        self._check_fitted()
        return savez_atomic(Path(path), dict(kind=np.array("hopfield"), num_neurons=self.N, rule=np.array(self.rule),
                                             patterns=self.patterns_))

    @classmethod
    def load(cls, path: str | Path, backend: str = "numba") -> "HopfieldNetwork":
        """Read a network written by :meth:`save`; every problem is a ``ValueError`` naming the file."""
        z = read_npz(path, "Hopfield network file", required=HOPFIELD_FILE_KEYS, allowed=HOPFIELD_FILE_KEYS)
        try:
            if z["kind"].shape != () or str(z["kind"]) != "hopfield":
                raise ValueError(f"kind must be 'hopfield', got {z['kind']!r}")
            if z["num_neurons"].shape != () or z["num_neurons"].dtype.kind not in "iu":
                raise ValueError("num_neurons must be one integer")
            n = integer(int(z["num_neurons"]), "num_neurons", min=1)
            declared_size(n * n, "num_neurons^2 weights", 8, source=path)
            if z["rule"].shape != () or z["rule"].dtype.kind != "U":
                raise ValueError("rule must be one string")
            net = cls(n, str(z["rule"]), backend=backend)
            if z["patterns"].ndim != 2 or z["patterns"].dtype.kind not in "iu":
                raise ValueError(f"patterns must be a 2-D integer array, got {z['patterns'].dtype} {z['patterns'].shape}")
            declared_size(z["patterns"].shape[0] * n, "patterns", 8, source=path)
            return net.store(z["patterns"])
        except ValueError as exc:
            raise InputError(f"{path}: not a valid Hopfield network file ({exc})") from None


def descend(model: IsingModel, states, seed=None, max_sweeps: int | None = None, order: str = "random",
            backend: str = "numba") -> tuple[np.ndarray, dict]:
    """Asynchronous zero-temperature dynamics of any Ising model (a Hopfield network with arbitrary symmetric
    weights) from ``states`` (S x N, +-1) on the p-bit kernel: ``beta = inf`` sweeps in one order (a random
    permutation from ``seed``, or ``"sequential"``) until a sweep changes nothing or ``max_sweeps`` (default 200).
    Returns the final states and ``info`` (sweeps run, which chains converged, the sweep of each one's last change)."""
    if not isinstance(model, IsingModel):
        raise InputError(f"model must be an IsingModel, got {type(model).__name__}")
    states = check_patterns(states, model.num_nodes, "states")
    max_sweeps = _max_sweeps(max_sweeps)
    sampler = PBitSampler(backend, coloring=_recall_order(model.num_nodes, order, seed))
    k = sampler.kernel(model, len(states), seed=0)  # zero-temperature sweeps draw no random numbers
    k.set_states(states)
    prev = states
    changed = np.ones(len(states), dtype=bool)
    last_change = np.zeros(len(states), dtype=np.int64)
    t = 0
    while t < max_sweeps and changed.any():
        k.run([np.inf])
        t += 1
        cur = k.get_states()
        changed = np.any(cur != prev, axis=1)
        last_change[changed] = t
        prev = cur
    return prev, {"sweeps": t, "converged": ~changed, "sweeps_to_fixed_point": last_change, "order": order}


def _storkey(x: np.ndarray) -> np.ndarray:
    """Storkey's rule, one pattern at a time: ``W += (xi xi^T - xi h^T - h xi^T) / N + 2 W / N`` with the
    local fields ``h = W xi`` of the current weights (his ``h_ij`` leaves out ``k = i, j``: the ``2 W / N``
    puts the ``k = j`` and ``k = i`` terms back, since the diagonal is zero)."""
    P, n = x.shape
    W = np.zeros((n, n))
    for xi in x:
        h = W @ xi
        W += (np.outer(xi, xi) - np.outer(xi, h) - np.outer(h, xi) + 2.0 * W) / n
        np.fill_diagonal(W, 0.0)
    return 0.5 * (W + W.T)


class DenseAssociativeMemory:
    """Dense associative memory (Krotov & Hopfield 2016; Demircigil et al. 2017) of ``N`` +-1 neurons.

    Energy ``E(s) = -sum_mu F(xi_mu . s)`` with ``F(x) = x^n`` (``interaction="polynomial"``, ``n >= 2``;
    ``rectified=True`` uses ``max(x, 0)^n``, Krotov & Hopfield's rectified form) or ``F(x) = exp(x)``
    (``"exponential"``). Asynchronous update ``s_i <- sgn(sum_mu F(m_mu + xi_mu,i (1 - s_i xi_mu,i)) -
    F(m_mu - xi_mu,i (1 + s_i xi_mu,i)))`` with the overlaps ``m_mu`` kept current, a tie keeping ``s_i``;
    for ``exp`` both sums are compared as log-sum-exps (no overflow at any N). ``n = 2`` is the Hebbian
    Hopfield network. Same ``store`` / ``recall`` / ``energy`` API as :class:`HopfieldNetwork` (deterministic only).
    """

    def __init__(self, N: int, interaction: str = "polynomial", n: int = 3, rectified: bool = False):
        self.N = integer(N, "N", min=1)
        if interaction not in ("polynomial", "exponential"):
            raise InputError(f"interaction must be 'polynomial' or 'exponential', got {interaction!r}")
        self.interaction = interaction
        self.n = integer(n, "n", min=2)
        self.rectified = bool(rectified)

    def __repr__(self) -> str:
        f = f"x^{self.n}" if self.interaction == "polynomial" else "exp(x)"
        return f"DenseAssociativeMemory(N={self.N}, F={f})"

    def store(self, patterns) -> "DenseAssociativeMemory":
        """Keep ``patterns`` (P x N, +-1); returns ``self``. Fitted: ``patterns_``."""
        self.patterns_ = check_patterns(patterns, self.N)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "patterns_"):
            raise InputError("this DenseAssociativeMemory stores no patterns yet: call store(patterns) first")

    def _log_or_value(self, m: np.ndarray) -> np.ndarray:
        """``sum_mu F(m_mu)`` over the last axis (its log for the exponential)."""
        if self.interaction == "exponential":
            return logsumexp(m, axis=-1)
        base = np.maximum(m, 0.0) if self.rectified else m
        return np.sum(base ** self.n, axis=-1)

    def energy(self, states) -> np.ndarray:
        """``-sum_mu F(xi_mu . s)``; for the exponential ``-log sum_mu exp(xi_mu . s)`` (the log of minus the
        energy: same ordering of states, and finite at any N)."""
        self._check_fitted()
        s = check_patterns(states, self.N, "states").astype(np.float64)
        e = -self._log_or_value(s @ self.patterns_.T.astype(np.float64))
        return e[0] if np.ndim(states) == 1 else e

    def is_fixed_point(self, states) -> np.ndarray:
        """True where no neuron would change under the update rule (a tie keeps the neuron): for every ``i``,
        ``sum_mu F(m_mu) >= sum_mu F(m_mu - 2 s_i xi_mu,i)``. All neurons of all states at once (S x N x P)."""
        self._check_fitted()
        s = check_patterns(states, self.N, "states").astype(np.float64)
        xi = self.patterns_.astype(np.float64)
        m = s @ xi.T  # S x P
        keep = self._log_or_value(m)[:, None]  # S x 1
        flipped = self._log_or_value(m[:, None, :] - 2.0 * s[:, :, None] * xi.T[None, :, :])  # S x N
        return np.all(keep >= flipped, axis=1)

    def recall(self, cues, seed=None, max_sweeps: int | None = None, order: str = "random",
               return_info: bool = False):
        """Asynchronous deterministic updates from ``cues`` to a fixed point (order as
        :meth:`HopfieldNetwork.recall`); returns the final +-1 states (and ``info`` with ``return_info``)."""
        self._check_fitted()
        one = np.ndim(np.asarray(cues)) == 1
        s = check_patterns(cues, self.N, "cues").astype(np.float64)
        sweeps = _max_sweeps(max_sweeps)
        idx = np.concatenate(_recall_order(self.N, order, seed))
        xi = self.patterns_.astype(np.float64)  # P x N
        m = s @ xi.T  # overlaps, S x P
        changed = np.ones(len(s), dtype=bool)
        t = 0
        while t < sweeps and changed.any():
            changed = np.zeros(len(s), dtype=bool)
            for i in idx:
                col = xi[:, i]  # xi_mu,i
                rest = m - s[:, i:i + 1] * col  # overlaps without neuron i
                up = self._log_or_value(rest + col)
                down = self._log_or_value(rest - col)
                new = np.where(up > down, 1.0, np.where(up < down, -1.0, s[:, i]))
                flip = new != s[:, i]
                if flip.any():
                    m[flip] += (new[flip] - s[flip, i])[:, None] * col
                    s[flip, i] = new[flip]
                    changed |= flip
            t += 1
        out = s.astype(np.int8)
        info = {"sweeps": t, "converged": ~changed, "energies": self.energy(out)}
        if one:
            out = out[0]
        return (out, info) if return_info else out


# ---------------------------------------------------------------------- theory
def ags_retrieval_overlap(alpha: float) -> float:
    """The zero-temperature retrieval overlap of the Hebbian network at load ``alpha = P / N`` in the replica-
    symmetric theory of Amit, Gutfreund & Sompolinsky (1987): ``m = erf(y)`` with ``y`` the largest root of
    ``erf(y) = y (sqrt(2 alpha) + 2 / sqrt(pi) exp(-y^2))``; ``nan`` above the critical load (no root), where
    the retrieval state no longer exists."""
    from scipy.optimize import brentq
    from scipy.special import erf

    alpha = number(alpha, "alpha", positive=True)

    def f(y):
        return erf(y) - y * (np.sqrt(2 * alpha) + 2 / np.sqrt(np.pi) * np.exp(-y * y))

    ys = np.linspace(0.05, 12.0, 2400)
    v = f(ys)
    sign_change = np.nonzero((v[:-1] > 0) & (v[1:] <= 0))[0]  # f falls through 0 at the stable (largest) root
    if not sign_change.size:
        return float("nan")
    k = sign_change[-1]
    return float(erf(brentq(f, ys[k], ys[k + 1])))


def ags_critical_load(tol: float = 1e-6) -> float:
    """The load above which :func:`ags_retrieval_overlap` has no retrieval solution (0.138), by bisection."""
    lo, hi = 0.05, 0.3
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.isfinite(ags_retrieval_overlap(mid)) else (lo, mid)
    return lo


def curie_weiss_overlap(beta: float) -> float:
    """Equilibrium overlap of one stored pattern at inverse temperature ``beta`` in the large-N limit (a Mattis /
    Curie-Weiss magnet): the positive root of ``m = tanh(beta m)``, 0 for ``beta <= 1``."""
    from scipy.optimize import brentq

    beta = number(beta, "beta", min=0.0)
    if beta <= 1.0:
        return 0.0
    return float(brentq(lambda m: m - np.tanh(beta * m), 1e-9, 1.0))


def design_weights(memories, recall: bool | str = True) -> np.ndarray:
    """Symmetric zero-diagonal weights that store ``memories`` (P x N, +-1) on purpose, by linear programming
    (the best a Hopfield net can do with its N(N-1)/2 weights; Gardner's bound is P = 2N for stability alone).

    Each memory must be a fixed point with margin (``s_i sum_j W_ij s_j >= 1``); ``recall`` as in
    :meth:`paradigmlab.ebm.attractor.RRAMAttractorNetwork.design`: ``"exclusive"`` (``True``) -- each one-bit-
    corrupted copy has exactly one neuron that wants to change, the corrupted one, so it returns in one update in
    any order; ``"eligible"`` -- the corrupted neuron wants to change back (with a zero diagonal its field is the
    memory's, so this is stability again); ``"none"`` (``False``). Raises ``InputError`` ("not storable") when no
    such weights exist."""
    modes = {"exclusive": "exclusive", True: "exclusive", "eligible": "eligible", "none": "none", False: "none"}
    mode = modes.get(recall) if isinstance(recall, (bool, str)) else None
    if mode is None:
        raise InputError(f"recall must be 'exclusive', 'eligible' or 'none' (or True / False), got {recall!r}")
    from scipy.optimize import linprog

    mem = np.unique(check_patterns(memories, np.shape(memories)[-1], "memories"), axis=0).astype(np.float64)
    P, n = mem.shape
    iu, ju = np.triu_indices(n, 1)
    pair = np.full((n, n), -1)
    pair[iu, ju] = np.arange(iu.size)
    pair[ju, iu] = np.arange(iu.size)
    rows = []

    def add(s: np.ndarray, want: np.ndarray) -> None:
        # row i of (s_i sum_j W_ij s_j) * want_i >= 1, written as -(...) <= -1 over the upper-triangle weights
        for i in np.flatnonzero(want):
            r = np.zeros(iu.size)
            j = np.arange(n) != i
            r[pair[i, j]] = s[i] * s[j]
            rows.append(-want[i] * r)

    for s in mem:
        add(s, np.ones(n))
        if mode != "none":
            for k in range(n):
                c = s.copy()
                c[k] = -c[k]
                add(c, np.where(np.arange(n) == k, -1.0, 1.0 if mode == "exclusive" else 0.0))
    res = linprog(np.zeros(iu.size), A_ub=np.array(rows), b_ub=-np.ones(len(rows)), bounds=(None, None),
                  method="highs")
    if res.status != 0:
        raise InputError(f"memories not storable: {P} memories of {n} neurons cannot all be made stable"
                         f"{'' if mode == 'none' else ' with ' + mode + ' one-bit recall'} by any symmetric weights")
    W = np.zeros((n, n))
    W[iu, ju] = res.x
    return W + W.T
