"""RBM / DBN on the p-bit engine (scikit-learn estimators) and the partition function: exact enumeration vs AIS."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

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
              random_state=1).fit(X)
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
    assert [r.components_.shape for r in dbn.rbms_] == [(8, 16), (4, 8)]
    with pytest.raises(ValueError, match="-1 and \\+1"):
        RBM(n_hidden=2, binarize=None).fit(np.zeros((30, 4)))
    with pytest.raises(ValueError, match="layers"):
        DBN(layers=()).fit(X)
    with pytest.raises(ValueError, match="n_hidden"):
        RBM(n_hidden=0).fit(X)
    with pytest.raises(ValueError, match="exact"):
        random_rbm(30, 30, 0.1).log_partition("exact")


# small and fast: 3 hidden units, the numpy kernel, a few updates per fit
@parametrize_with_checks([RBM(n_hidden=3, epochs=2, batch_size=10, num_chains=10, backend="reference"),
                          DBN(layers=(4, 3), epochs=2, batch_size=10, num_chains=10, backend="reference")])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _prototypes(n, seed, noise=0.1):
    """Rows near one of three +-1 prototypes of 24 pixels (class = prototype), each pixel flipped w.p. noise."""
    rng = np.random.default_rng(seed)
    protos = np.random.default_rng(0).choice([-1, 1], size=(3, 24))
    y = rng.integers(0, 3, n)
    X = protos[y]
    return np.where(rng.random(X.shape) < noise, -X, X), y


def test_rbm_features_in_a_pipeline_with_logistic_regression():
    X, y = _prototypes(300, 1, noise=0.2)
    Xt, yt = _prototypes(300, 2, noise=0.2)
    pipe = Pipeline([("rbm", RBM(n_hidden=6, epochs=10, batch_size=20, num_chains=20, lr=0.05, backend="reference")),
                     ("clf", LogisticRegression())]).fit(X, y)
    assert pipe.score(Xt, yt) > 0.9  # chance: 1/3
    # the same pipeline on untrained features (zero weights: constant features) is at chance
    blind = Pipeline([("rbm", RBM(n_hidden=6, epochs=0, init_scale=0.0, backend="reference")),
                      ("clf", LogisticRegression())]).fit(X, y)
    assert blind.score(Xt, yt) < 0.5
    assert pipe.named_steps["rbm"].get_feature_names_out().tolist() == [f"rbm{i}" for i in range(6)]


def test_fit_binarises_zero_one_data_and_follows_random_state():
    X, _ = _prototypes(100, 3)
    params = dict(n_hidden=4, epochs=2, batch_size=20, num_chains=20, backend="reference")
    spins = RBM(**params, random_state=5).fit(X)
    zero_one = RBM(**params, random_state=5).fit((X + 1) // 2)  # {0, 1}: 0 -> -1, 1 -> +1
    assert np.array_equal(spins.components_, zero_one.components_)
    assert spins.components_.shape == (4, 24) and spins.intercept_visible_.shape == (24,)
    assert spins.intercept_hidden_.shape == (4,) and spins.n_features_in_ == 24 and spins.pbit_updates_ > 0
    assert np.array_equal(spins.transform(X), zero_one.transform((X + 1) // 2))
    other = RBM(**params, random_state=6).fit(X)
    assert not np.array_equal(spins.components_, other.components_)
    a = RBM(**params, random_state=np.random.RandomState(0)).fit(X)
    b = RBM(**params, random_state=np.random.default_rng(0)).fit(X)
    assert a.components_.shape == b.components_.shape == (4, 24)
    assert clone(spins).get_params()["random_state"] == 5
    with pytest.raises(ValueError, match="random_state"):
        RBM(**params, random_state="zero").fit(X)


def test_score_samples_is_the_exact_log_likelihood():
    rbm = random_rbm(12, 5, 0.5, seed=3)
    X = np.random.default_rng(4).choice([-1, 1], size=(7, 12))
    ll = rbm.score_samples(X)
    assert ll.shape == (7,) and np.mean(ll) == pytest.approx(rbm.log_likelihood(X, rbm.log_partition("exact")))
    # against enumeration of all 2^17 joint states: log p(v) = log sum_h exp(-E(v, h)) - log Z
    ising = rbm.to_ising()
    idx = np.arange(1 << 5)
    H = ((idx[:, None] >> np.arange(5)) & 1) * 2 - 1
    for v, l in zip(X, ll):
        states = np.c_[np.repeat(v[None], len(H), 0), H]
        want = np.logaddexp.reduce(-ising.energy(states)) - exact_log_partition(ising)
        assert l == pytest.approx(want, abs=1e-9)
