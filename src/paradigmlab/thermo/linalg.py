"""Thermodynamic linear algebra (Aifer et al., npj Unconventional Computing 1:13, 2024) on an emulated device.

Program the device with A (and b), let it equilibrate with its heat bath, read it every ``interval``, and compute with
the samples' statistics:

* :func:`solve` -- ``A x = b``: the stationary mean of ``dx = -(A x - b) dt + sqrt(2) dW`` is ``A^-1 b``; time average.
* :func:`inv` -- ``A^-1``: the stationary covariance (b = 0).
* :func:`expm` -- ``expm(-A lag)`` for any A whose symmetric part shifted by ``alpha`` is positive definite
  (Duffield et al., arXiv 2311.12759): with diffusion ``D = A + A^T`` the stationary covariance is I, so the lag
  autocovariance ``E[x(t + lag) x(t)^T]`` is ``expm(-A lag)``.
* :func:`slogdet` -- ``log det A`` from the free-energy difference between the potentials ``x^T A0 x / 2`` and
  ``x^T A x / 2`` (``A0 = a I`` known), measured by Jarzynski's equality ``<exp(-W)> = exp(-dF)`` over trajectories that
  switch the potential on in steps; the work of a step is the potential's jump at the current state, so the equality
  is exact for any number of steps (a slower switch only lowers the estimator's variance).
* :func:`sample` -- Gaussian sampling with covariance ``cov``: the device programmed with the precision ``cov^-1``.

``duration`` is device time (unit friction and temperature; seconds = duration x the device's time constant) and
is what the error scales with (~ duration^-1/2). All functions take ``device="langevin"|"rlc"`` and that device's
options (``coupling_bits``, ``measurement_noise``, ``inductance``, ``resistance``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from paradigmlab.thermo.device import LinearSDE, check_matrix, check_vector, make_device
from paradigmlab.validate import InputError, integer, number


def _samples(device, duration, interval, seed, chains: int = 1, burn_in: float = 0.0) -> np.ndarray:
    """All reads of ``chains`` devices as one (reads x N) array."""
    x = device.trajectory(duration, interval, chains=chains, seed=seed, burn_in=burn_in)
    return x.reshape(-1, device.dim)


def solve(A, b, duration: float, seed=None, *, interval: float = 1.0, burn_in: float = 0.0, device: str = "langevin",
          **options) -> np.ndarray:
    """``x`` with ``A x = b`` (A symmetric positive definite) as the time average of the device's state over
    ``duration`` (reads every ``interval``, after ``burn_in``; the device starts at 0)."""
    A = check_matrix(A, "A", spd=True)
    b = check_vector(b, A.shape[0])
    dev = make_device(device, A, b, **options)
    return _samples(dev, duration, interval, seed, burn_in=burn_in).mean(axis=0)


def inv(A, duration: float, seed=None, *, interval: float = 1.0, burn_in: float = 0.0, device: str = "langevin",
        **options) -> np.ndarray:
    """``A^-1`` (A symmetric positive definite) as the stationary covariance ``E[x x^T]`` of the device with b = 0."""
    A = check_matrix(A, "A", spd=True)
    dev = make_device(device, A, None, **options)
    x = _samples(dev, duration, interval, seed, burn_in=burn_in)
    C = x.T @ x / len(x)  # the mean is known to be 0
    return 0.5 * (C + C.T)


def expm(A, duration: float, seed=None, *, lag: float = 1.0, alpha: float = 0.0, burn_in: float = 0.0,
         **options) -> np.ndarray:
    """``expm(-A lag)`` from the lag autocovariance of the overdamped device with drift ``A + alpha I`` and diffusion
    ``D = (A + alpha I) + (A + alpha I)^T`` (stationary covariance I), reads every ``lag``; the result is rescaled by
    ``exp(alpha lag)``. ``alpha`` shifts A when its symmetric part is not positive definite (thermox's ``alpha``)."""
    A = check_matrix(A, "A")
    lag = number(lag, "lag", positive=True)
    alpha = number(alpha, "alpha")
    As = A + alpha * np.eye(A.shape[0])
    D = As + As.T
    if np.linalg.eigvalsh(0.5 * (D + D.T))[0] <= 0:
        raise InputError(f"A + A^T + 2 alpha I must be positive definite (the diffusion matrix); raise alpha "
                         f"(now {alpha})")
    dev = make_device("langevin", As, None, diffusion=D, **options)
    x = dev.trajectory(duration, lag, seed=seed, burn_in=burn_in, x0=None)[0]
    if len(x) < 2:
        raise InputError(f"duration {duration} gives fewer than two reads at lag {lag}")
    C = x[1:].T @ x[:-1] / (len(x) - 1)  # E[x(t + lag) x(t)^T] = expm(-A lag) (stationary covariance I)
    return C * np.exp(alpha * lag)


def slogdet(A, duration: float, seed=None, *, trajectories: int = 64, steps: int = 32,
            reference: float | None = None) -> tuple[float, float]:
    """``(sign, log det A)`` of a symmetric positive-definite A by Jarzynski's equality (module docstring):
    ``trajectories`` devices start in equilibrium with ``x^T A0 x / 2`` (``A0 = reference * I``, default the mean
    eigenvalue ``trace(A) / N``), the couplings move to A in ``steps`` equal steps spread over ``duration`` (device
    time per trajectory), and ``log det A = N log(reference) - 2 log <exp(-W)>``. Total device time:
    ``trajectories * duration`` (or ``duration`` on that many devices in parallel)."""
    A = check_matrix(A, "A", spd=True)
    duration = number(duration, "duration", positive=True)
    trajectories = integer(trajectories, "trajectories", min=1)
    steps = integer(steps, "steps", min=1)
    n = A.shape[0]
    a0 = float(np.trace(A) / n) if reference is None else number(reference, "reference", positive=True)
    A0 = a0 * np.eye(n)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((trajectories, n)) / np.sqrt(a0)  # equilibrium of the reference potential
    W = np.zeros(trajectories)
    dwell = duration / steps
    prev = A0
    for k in range(1, steps + 1):
        Ak = A0 + (k / steps) * (A - A0)
        W += 0.5 * np.einsum("si,ij,sj->s", x, Ak - prev, x)  # the potential jumps; the state does not
        x = LinearSDE(Ak, np.zeros(n), 2.0 * np.eye(n)).step(x, dwell, rng)  # then relaxes under it
        prev = Ak
    log_mean = logsumexp(-W) - np.log(trajectories)
    return 1.0, float(n * np.log(a0) - 2.0 * log_mean)


def sample(cov, num_samples: int, seed=None, *, interval: float = 1.0, burn_in: float = 0.0, device: str = "langevin",
           **options) -> np.ndarray:
    """``num_samples`` draws (num_samples x N) of ``N(0, cov)``: the device programmed with the precision
    ``cov^-1`` (computed here, as the host would before programming couplings), read every ``interval``; successive
    reads are correlated over a time of order the largest eigenvalue of ``cov``. Starts in equilibrium unless
    ``burn_in`` is given (then from 0)."""
    cov = check_matrix(cov, "cov", spd=True)
    num_samples = integer(num_samples, "num_samples", min=1)
    precision = np.linalg.inv(cov)
    dev = make_device(device, 0.5 * (precision + precision.T), None, **options)
    return dev.trajectory(num_samples * number(interval, "interval", positive=True), interval, seed=seed,
                          x0=None if burn_in else "stationary", burn_in=burn_in)[0]
