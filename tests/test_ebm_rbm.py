"""RBM / DBN on the p-bit engine and the partition function: exact enumeration vs AIS."""

import numpy as np
import pytest

from paradigmlab.ebm.ais import ais_log_partition, exact_log_partition
from paradigmlab.ebm.rbm import DBN, RBM
from paradigmlab.pbit.model import IsingModel


def random_rbm(V, H, scale, seed=0):
    rng = np.random.default_rng(seed)
    return RBM.from_weights(rng.normal(0, scale, (V, H)), rng.normal(0, 0.3, V), rng.normal(0, 0.3, H),
                            backend="reference")  # numpy kernel: least overhead per sweep on small models


def test_rbm_exact_log_z_agrees_with_full_enumeration():
    rbm = random_rbm(12, 6, 0.5)
    assert rbm.log_partition("exact") == pytest.approx(exact_log_partition(rbm.to_ising()), abs=1e-9)
    wide = random_rbm(6, 12, 0.5, seed=1)  # enumerates the visible side instead
    assert wide.log_partition("exact") == pytest.approx(exact_log_partition(wide.to_ising()), abs=1e-9)


def test_ais_within_0_1_nat_of_exact_for_16_hidden_units():
    rbm = random_rbm(100, 16, 0.15, seed=2)
    exact = rbm.log_partition("exact")
    est = rbm.log_partition("ais", num_chains=200, num_betas=600, seed=3)
    assert abs(est.log_z - exact) < 0.1
    assert est.std_err < 0.1


def test_generic_ais_on_spin_glass():
    rng = np.random.default_rng(4)
    J = np.triu(rng.normal(0, 0.4, (14, 14)), 1)
    model = IsingModel(J + J.T, rng.normal(0, 0.3, 14))
    est = ais_log_partition(model, num_chains=300, num_betas=300, seed=5, backend="reference")
    assert abs(est.log_z - exact_log_partition(model)) < 0.1


@pytest.mark.parametrize("persistent", [True, False])
def test_training_raises_exact_likelihood(persistent):
    rng = np.random.default_rng(0)
    protos = np.array([[1, 1, 1, 1, -1, -1, -1, -1, 1, -1], [-1, -1, -1, -1, 1, 1, 1, 1, -1, 1]])
    X = protos[rng.integers(0, 2, 400)]
    X = np.where(rng.random(X.shape) < 0.05, -X, X)
    rbm = RBM(n_hidden=4, k=1, persistent=persistent, num_chains=50, batch_size=50, lr=0.05, epochs=15, backend="reference",
              seed=1).fit(X)
    before = random_rbm(10, 4, 0.0).log_likelihood(X, random_rbm(10, 4, 0.0).log_partition("exact"))
    after = rbm.log_likelihood(X, rbm.log_partition("exact"))
    assert before == pytest.approx(-10 * np.log(2) - 0.0, abs=2.0)  # near-uniform start: -10 log 2 + bias terms
    assert after > -5.0 > before  # two modes with 5% noise: optimum is about -3.7 nats


def test_dbn_and_bad_input():
    rng = np.random.default_rng(0)
    X = rng.choice([-1, 1], size=(60, 16))
    dbn = DBN(layers=(8, 4), epochs=2, batch_size=20, num_chains=20).fit(X)
    F = dbn.transform(X)
    assert F.shape == (60, 4) and np.all(np.abs(F) <= 1)
    assert dbn.num_parameters == 16 * 8 + 16 + 8 + 8 * 4 + 8 + 4
    with pytest.raises(ValueError, match="-1 and \\+1"):
        RBM(n_hidden=2).fit(np.zeros((30, 4)))
    with pytest.raises(ValueError, match="exact"):
        random_rbm(30, 30, 0.1).log_partition("exact")
