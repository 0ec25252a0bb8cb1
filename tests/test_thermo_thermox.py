"""thermox's own test cases, run on :mod:`paradigmlab.thermo` with thermox's matrices, sample counts and tolerances.

Source: Normal Computing's thermox, github.com/normal-computing/thermox, ``tests/`` at commit 26ec6ae (2025-03-19,
version string 0.0.5: the newest tree we could read; the bench extra installs the 0.0.6 wheel, which ships no tests).
The cases are re-written for our API, not copied. Mapping of the parameters:

* thermox reads ``num_samples`` states ``dt`` apart, so our device time is ``duration = num_samples * dt`` and
  ``interval = dt``; thermox's ``b`` is the stationary mean (``dx = -A (x - b) dt``), ours the right-hand side
  (``dx = -(A x - b) dt``), so its ``b`` enters here as ``A @ b``; its diffusion ``D`` is our ``diffusion``.
* ``thermox.linalg.expnegm(A, num_samples, dt, alpha)`` programs the drift ``(A + alpha I) / dt`` and reads it ``dt``
  apart; that is our ``expm(A / dt, num_samples * dt, lag=dt, alpha=alpha / dt)`` -- the same process, the same reads.
  ``thermox.linalg.expm(A)`` is ``expnegm(-A)``.

thermox cases with nothing to port them to: ``test_MLE`` (maximum-likelihood fit of A, b, D by gradient descent on
``thermox.log_prob``: we offer no log-probability of a trajectory); ``test_utils.py`` (its eigendecomposition
preprocessing types); the equality of thermox's sequential and associative-scan samplers (we have one sampler); the
jittered sampling times of ``test_sample_array_input`` (``trajectory`` reads at a fixed interval; the irregular times
of ``test_log_prob`` go through :meth:`LinearSDE.step`, which takes any interval). thermox has no ``slogdet``:
``test_slogdet_on_thermox_matrix`` runs ours on thermox's matrix at thermox's linear-algebra tolerance.
"""

import numpy as np
import pytest
import scipy.linalg as sla
from scipy.stats import multivariate_normal

from paradigmlab import thermo
from paradigmlab.thermo import LangevinDevice

# thermox's tests/test_linalg.py: one 2x2 SPD matrix, 10,000 reads 0.1 apart, no burn-in, atol 0.1.
A = np.array([[3.0, 2.0], [2.0, 4.0]])
B = np.array([1.0, 2.0])
NUM_SAMPLES, DT, ATOL = 10_000, 0.1, 1e-1
DURATION = NUM_SAMPLES * DT


def test_linear_system():
    x = thermo.solve(A, B, DURATION, seed=0, interval=DT)
    assert np.allclose(A @ x, B, atol=ATOL)


def test_inv():
    A_inv = thermo.inv(A, DURATION, seed=0, interval=DT)
    assert np.allclose(A @ A_inv, np.eye(2), atol=ATOL)


def test_expnegm():
    expneg = thermo.expm(A / DT, DURATION, seed=0, lag=DT)
    assert np.allclose(expneg, sla.expm(-A), atol=ATOL)


def test_expm_of_a_non_symmetric_matrix_with_alpha():
    # thermox: expm(M) = expnegm(-M, alpha=1) with 100,000 reads 0.1 apart; M is not symmetric.
    M = np.array([[-0.4, 0.1], [0.5, -0.3]])
    num_samples, alpha = 100_000, 1.0
    expM = thermo.expm(-M / DT, num_samples * DT, seed=0, lag=DT, alpha=alpha / DT)
    assert np.allclose(expM, sla.expm(M), atol=ATOL)


def test_sample_array_input():
    # thermox's tests/test_sampler.py: a non-symmetric drift, a random mean and start, D = 2 I, 100,000 reads 0.1
    # apart over device time 10,000 (thermox jitters the read times; ours are evenly spaced). Its checks: A @ cov = I
    # (exact only for a symmetric A: here the Lyapunov solution gives off-diagonals of 1/14 = 0.071, inside the
    # tolerance, as in thermox) and mean = b, both at atol 0.1.
    An = np.array([[3.0, 2.5], [2.0, 4.0]])
    mean = np.random.default_rng(1).standard_normal(2)
    x0 = np.random.default_rng(2).standard_normal(2)
    dev = LangevinDevice(An, An @ mean, diffusion=2.0 * np.eye(2))
    samples = dev.trajectory(10_000.0, DT, seed=0, x0=x0)[0]
    assert samples.shape == (100_000, 2)
    assert np.allclose(An @ np.cov(samples.T), np.eye(2), atol=ATOL)
    assert np.allclose(samples.mean(axis=0), mean, atol=ATOL)


def test_sample_with_a_given_covariance():
    # The same check through our sampling API (a covariance in, draws out): cov = A^-1 of the linear-algebra matrix.
    samples = thermo.sample(np.linalg.inv(A), 100_000, seed=0, interval=DT)
    assert samples.shape == (100_000, 2)
    assert np.allclose(A @ np.cov(samples.T), np.eye(2), atol=ATOL)
    assert np.allclose(samples.mean(axis=0), 0.0, atol=ATOL)


def test_conditional_mean_and_covariance():
    # thermox's tests/test_conditional.py: the exact transition from x0 over t = 1 against 1,000,000 devices run once
    # (atol 1e-2 on the mean, 1e-3 on the covariance). Ours: LinearSDE.transition (Phi, noise factor) of the device.
    An = np.array([[3.0, 2.5], [2.0, 4.0]])
    mean = np.random.default_rng(1).standard_normal(2)
    x0 = np.random.default_rng(2).standard_normal(2)
    t = 1.0
    dev = LangevinDevice(An, An @ mean, diffusion=2.0 * np.eye(2))
    Phi, G = dev.sde.transition(t)
    m_t = mean + Phi @ (x0 - mean)
    S_t = G @ G.T
    # thermox checks its closed form only against its own sampler; ours is also held to an independent reference,
    # so a transition that is wrong the same way in the formula and the sampler cannot pass.
    ref_m, ref_S = _transition_reference(An, mean, 2.0 * np.eye(2), x0, t)
    assert np.allclose(m_t, ref_m, atol=1e-10) and np.allclose(S_t, ref_S, atol=1e-10)
    draws = dev.trajectory(t, t, chains=1_000_000, seed=0, x0=x0)[:, 0]
    assert np.allclose(m_t, draws.mean(axis=0), atol=1e-2)
    assert np.allclose(S_t, np.cov(draws.T), atol=1e-3)


def _transition_reference(A_, mean, D, x0, h):
    """Mean and covariance of the OU transition over ``h`` by Van Loan's block exponential (1978), independent of the
    Lyapunov route the device takes: with ``E = expm([[A, D], [0, -A^T]] h)``, ``Phi = E22^T = expm(-A h)`` and
    ``int_0^h e^{-A s} D e^{-A^T s} ds = Phi E12``; taken over ``h / 2^k <= 0.25`` (``expm(A h)`` overflows the
    cancellation for long steps) and doubled back, ``S(2h) = S(h) + Phi(h) S(h) Phi(h)^T``. (thermox integrates the
    same integral by the trapezoid rule.)"""
    n = len(x0)
    k = max(0, int(np.ceil(np.log2(h / 0.25))))
    blk = sla.expm(np.block([[A_, D], [np.zeros((n, n)), -A_.T]]) * (h / 2**k))
    Phi = blk[n:, n:].T
    cov = Phi @ blk[:n, n:]
    for _ in range(k):
        cov = cov + Phi @ cov @ Phi.T
        Phi = Phi @ Phi
    return mean + Phi @ (x0 - mean), 0.5 * (cov + cov.T)


@pytest.mark.parametrize("D", [np.eye(3), np.array([[1.0, 0.3, -0.1], [0.3, 1.0, 0.2], [-0.1, 0.2, 1.0]])],
                         ids=["identity-diffusion", "correlated-diffusion"])
def test_log_prob_numeric(D):
    # thermox's tests/test_log_prob.py: a 3x3 drift, mean (1, 2, 3), 1,000 sorted uniform times on [0, 1000], the
    # summed log-density of the transitions against a numerical reference at rtol 1e-2. We have no log_prob: the sum
    # is taken with our device's exact transitions and with the reference's, over a trajectory of our device.
    A3 = np.array([[3.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 5.0]])
    mean = np.array([1.0, 2.0, 3.0])
    rng = np.random.default_rng(0)
    ts = np.sort(rng.uniform(0.0, 1000.0, 1000))
    dev = LangevinDevice(A3, A3 @ mean, diffusion=D)
    xs = [rng.standard_normal(3)]
    for h in np.diff(ts):
        xs.append(dev.sde.step(xs[-1][None], h, rng)[0])
    ours = ref = 0.0
    for x_prev, x_next, h in zip(xs[:-1], xs[1:], np.diff(ts)):
        Phi, G = dev.sde.transition(h)
        ours += multivariate_normal.logpdf(x_next, mean + Phi @ (x_prev - mean), G @ G.T)
        ref += multivariate_normal.logpdf(x_next, *_transition_reference(A3, mean, D, x_prev, h))
    assert np.isclose(ours, ref, rtol=1e-2)


def test_slogdet_on_thermox_matrix():
    # No thermox case (thermox has no determinant); ours on its matrix at its tolerance, 64 trajectories x 10.
    sign, logdet = thermo.slogdet(A, 10.0, seed=0, trajectories=64)
    ref_sign, ref_logdet = np.linalg.slogdet(A)
    assert sign == ref_sign
    assert abs(logdet - ref_logdet) <= ATOL


def test_side_by_side_with_thermox():
    """thermox itself and ours on thermox's linear-algebra case: both within its tolerance of numpy's answer."""
    pytest.importorskip("thermox")
    import jax
    import thermox

    key = jax.random.PRNGKey(0)
    A_j, B_j = jax.numpy.asarray(A), jax.numpy.asarray(B)  # thermox takes JAX arrays only
    # The sequential scan: the same draws as the associative one (thermox's test_sampler), without its ~10 s compile.
    opts = dict(num_samples=NUM_SAMPLES, dt=DT, burnin=0, key=key, associative_scan=False)
    x_theirs = np.asarray(thermox.linalg.solve(A_j, B_j, **opts))
    inv_theirs = np.asarray(thermox.linalg.inv(A_j, **opts))
    x_ours = thermo.solve(A, B, DURATION, seed=0, interval=DT)
    inv_ours = thermo.inv(A, DURATION, seed=0, interval=DT)
    x_exact, inv_exact = np.linalg.solve(A, B), np.linalg.inv(A)
    for x in (x_theirs, x_ours):
        assert np.allclose(A @ x, B, atol=ATOL)
        assert np.allclose(x, x_exact, atol=ATOL)
    for M in (inv_theirs, inv_ours):
        assert np.allclose(A @ M, np.eye(2), atol=ATOL)
        assert np.allclose(M, inv_exact, atol=ATOL)
