"""Emulated thermodynamic devices: linear stochastic differential equations sampled exactly.

Every device here is a linear SDE ``dz = -(F z - c) dt + L dW`` (unit temperature; time in the device's own units),
advanced by its exact Gaussian transition over an interval ``h``:

    z(t + h) = m + Phi (z(t) - m) + eps,   Phi = expm(-F h),   m = F^-1 c,   eps ~ N(0, S - Phi S Phi^T),

with ``S`` the stationary covariance, the solution of the Lyapunov equation ``F S + S F^T = L L^T``. No Euler step,
so no discretisation bias at any interval (what a physical device does between two reads of its ADC).

* :class:`LangevinDevice` -- the overdamped Langevin / Ornstein-Uhlenbeck device of Aifer et al. 2024,
  ``dx = -(A x - b) dt + sqrt(2) dW`` (or another diffusion matrix ``D``): stationary law ``N(A^-1 b, A^-1)`` for
  a symmetric positive-definite A.
* :class:`RLCDevice` -- the underdamped electrical network of Normal Computing's SPU (Melanson et al. 2025): node
  charges ``x`` on coupling capacitors (their inverse-capacitance matrix is A), an inductor per node carrying
  current ``p`` (inductance ``L``: the mass), a resistor per node (``R``: the friction) whose Johnson noise is the
  heat bath. ``dx = p / L dt``, ``dp = -(A x - b) dt - R p / L dt + sqrt(2 R) dW``: the same stationary law of x.

Options a real device has: ``coupling_bits`` (couplings programmed with finite precision: A rounded to a uniform
grid of 2^bits levels over [-max|A|, max|A|]) and ``measurement_noise`` (Gaussian read-out noise added to every
sample). ``time_constant_s`` converts device time to seconds for the cost projection (:mod:`paradigmlab.thermo.spu`).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from paradigmlab.validate import InputError, integer, number, real_array


def check_matrix(A, name: str = "A", *, spd: bool = False, stable: bool = False) -> np.ndarray:
    """A real, finite, square matrix (``spd``: symmetric positive definite; ``stable``: every eigenvalue with a
    positive real part, so ``dx = -A x dt + ...`` relaxes); the error names ``name`` and what is wrong."""
    a = real_array(A, name)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise InputError(f"{name} must be a non-empty square matrix, got shape {a.shape}")
    if spd:
        if not np.allclose(a, a.T, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(a).max())):
            raise InputError(f"{name} must be symmetric (max |A - A^T| = {np.abs(a - a.T).max():.3g})")
        a = 0.5 * (a + a.T)
        lo = np.linalg.eigvalsh(a)[0]
        if not lo > 0:
            raise InputError(f"{name} must be positive definite (smallest eigenvalue {lo:.3g})")
    elif stable:
        lo = np.linalg.eigvals(a).real.min()
        if not lo > 0:
            raise InputError(f"{name} must have eigenvalues with positive real parts for the device to relax "
                             f"(smallest real part {lo:.3g})")
    return a


def load_matrix(path, spd: bool = False) -> np.ndarray:
    """The square matrix of a ``.npy`` file (no pickles), checked by :func:`check_matrix`; errors name the file."""
    from paradigmlab.validate import read_npy

    a = read_npy(path, "matrix file")
    try:
        return check_matrix(a, "the matrix", spd=spd)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def check_vector(b, n: int, name: str = "b") -> np.ndarray:
    v = real_array(b, name)
    if v.shape != (n,):
        raise InputError(f"{name} must be a vector of length {n}, got shape {v.shape}")
    return v


def quantize(A: np.ndarray, bits: int | None) -> np.ndarray:
    """``A`` programmed with ``bits`` of precision: rounded to a uniform grid of 2^bits - 1 levels symmetric about 0
    spanning +-max|A| (a DAC's grid; symmetry kept)."""
    if bits is None:
        return A
    bits = integer(bits, "coupling_bits", min=2, max=53)
    top = np.abs(A).max()
    if top == 0:
        return A
    step = top / (2 ** (bits - 1) - 1)
    return np.round(A / step) * step


class LinearSDE:
    """``dz = -(F z - c) dt + L dW`` with its exact transition over an interval (module docstring)."""

    def __init__(self, F: np.ndarray, c: np.ndarray, D: np.ndarray):
        self.F, self.c, self.D = F, c, D
        self.mean = np.linalg.solve(F, c)
        self.cov = sla.solve_continuous_lyapunov(F, D)  # F S + S F^T = D
        self.cov = 0.5 * (self.cov + self.cov.T)
        self._steps: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def dim(self) -> int:
        return self.F.shape[0]

    def transition(self, h: float) -> tuple[np.ndarray, np.ndarray]:
        """``(Phi, noise factor)`` of the exact step over ``h``: ``eps = factor @ N(0, I)``."""
        key = float(h)
        if key not in self._steps:
            Phi = sla.expm(-self.F * h)
            Q = self.cov - Phi @ self.cov @ Phi.T
            w, V = np.linalg.eigh(0.5 * (Q + Q.T))
            self._steps[key] = (Phi, V * np.sqrt(np.clip(w, 0.0, None)))  # PSD square root, robust to round-off
        return self._steps[key]

    def step(self, z: np.ndarray, h: float, rng: np.random.Generator) -> np.ndarray:
        """Advance a batch of states ``z`` (chains x dim) by ``h``."""
        Phi, G = self.transition(h)
        noise = rng.standard_normal(z.shape) @ G.T
        return self.mean + (z - self.mean) @ Phi.T + noise

    def stationary(self, chains: int, rng: np.random.Generator) -> np.ndarray:
        """Draws from the stationary law (a device that has been running for a long time)."""
        w, V = np.linalg.eigh(self.cov)
        return self.mean + rng.standard_normal((chains, self.dim)) @ (V * np.sqrt(np.clip(w, 0, None))).T


class LangevinDevice:
    """The overdamped Langevin device ``dx = -(A x - b) dt + sqrt(D) dW`` (``D = 2 I`` by default).

    ``A`` must relax (eigenvalues with positive real parts); ``coupling_bits``, ``measurement_noise`` as in the
    module docstring. :meth:`trajectory` returns what the device's ADC reads every ``interval``.
    """

    kind = "langevin"

    def __init__(self, A, b=None, *, diffusion=None, coupling_bits: int | None = None, measurement_noise: float = 0.0):
        A = check_matrix(A, "A", stable=True)
        n = A.shape[0]
        self.A = quantize(A, coupling_bits)
        self.b = np.zeros(n) if b is None else check_vector(b, n)
        self.D = 2.0 * np.eye(n) if diffusion is None else check_matrix(diffusion, "diffusion", spd=True)
        self.coupling_bits = coupling_bits
        self.measurement_noise = number(measurement_noise, "measurement_noise", min=0.0)
        self.sde = LinearSDE(self.A, self.b, self.D)

    @property
    def dim(self) -> int:
        return self.A.shape[0]

    def observe(self, z: np.ndarray) -> np.ndarray:
        """The measured coordinates of the state."""
        return z

    def initial(self, chains: int, rng: np.random.Generator, x0=None) -> np.ndarray:
        """Start states: ``x0`` (default 0; inductor currents 0), or ``"stationary"``: a draw of the stationary law
        of the whole state (a device that has long been running)."""
        if isinstance(x0, str):
            if x0 != "stationary":
                raise InputError(f"x0 must be a state or 'stationary', got {x0!r}")
            return self.sde.stationary(chains, rng)
        return np.zeros((chains, self.sde.dim)) if x0 is None else self._start(x0, chains)

    def _start(self, x0, chains: int) -> np.ndarray:
        x0 = np.broadcast_to(real_array(x0, "x0"), (chains, self.dim)).astype(np.float64)
        z = np.zeros((chains, self.sde.dim))
        z[:, :self.dim] = x0
        return z

    def trajectory(self, duration: float, interval: float = 1.0, chains: int = 1, seed=None, x0=None,
                   burn_in: float = 0.0) -> np.ndarray:
        """Samples (chains x steps x N) read every ``interval`` for ``duration`` after ``burn_in`` (device time),
        from ``x0`` (default 0, or ``"stationary"``: see :meth:`initial`), with the read-out noise added."""
        duration = number(duration, "duration", positive=True)
        interval = number(interval, "interval", positive=True)
        burn_in = number(burn_in, "burn_in", min=0.0)
        chains = integer(chains, "chains", min=1)
        steps = int(np.floor(duration / interval + 1e-9))
        if steps < 1:
            raise InputError(f"duration {duration} is shorter than one sampling interval ({interval})")
        rng = np.random.default_rng(seed)
        z = self.initial(chains, rng, x0)
        if burn_in:
            z = self.sde.step(z, burn_in, rng)
        out = np.empty((chains, steps, self.dim))
        for k in range(steps):
            z = self.sde.step(z, interval, rng)
            out[:, k] = self.observe(z)
        if self.measurement_noise:
            out += self.measurement_noise * rng.standard_normal(out.shape)
        return out


class RLCDevice(LangevinDevice):
    """The SPU's underdamped RLC network with coupling matrix ``A`` (inverse capacitances), inductance ``L`` and
    resistance ``R`` per node (module docstring): x = node charges (measured), p = inductor currents. Stationary law
    of x: ``N(A^-1 b, A^-1)``, the overdamped device's; it gets there on a time scale set by ``L``, ``R`` and A."""

    kind = "rlc"

    def __init__(self, A, b=None, *, inductance: float = 1.0, resistance: float = 2.0, coupling_bits: int | None = None,
                 measurement_noise: float = 0.0):
        A = check_matrix(A, "A", spd=True)
        n = A.shape[0]
        self.A = quantize(A, coupling_bits)
        self.b = np.zeros(n) if b is None else check_vector(b, n)
        self.L = number(inductance, "inductance", positive=True)
        self.R = number(resistance, "resistance", positive=True)
        self.coupling_bits = coupling_bits
        self.measurement_noise = number(measurement_noise, "measurement_noise", min=0.0)
        I, Z = np.eye(n), np.zeros((n, n))
        F = np.block([[Z, -I / self.L], [self.A, self.R / self.L * I]])  # dz = -F z dt + ...
        D = np.block([[Z, Z], [Z, 2.0 * self.R * I]])  # fluctuation-dissipation: noise only on the currents
        self.sde = LinearSDE(F, np.concatenate([np.zeros(n), self.b]), D)

    def observe(self, z: np.ndarray) -> np.ndarray:
        return z[..., :self.dim]


DEVICES = {"langevin": LangevinDevice, "rlc": RLCDevice}


def make_device(kind: str, A, b=None, **options):
    """A device of ``kind`` (``"langevin"`` or ``"rlc"``) programmed with ``A`` and ``b``."""
    if kind not in DEVICES:
        raise InputError(f"device must be one of {', '.join(DEVICES)}, got {kind!r}")
    return DEVICES[kind](A, b, **options)
