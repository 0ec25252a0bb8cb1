"""API misuse at the public constructors and samplers: clean errors that name the argument, no silent casts."""

import numpy as np
import pytest

from paradigmlab.ebm.attractor import RRAMAttractorNetwork
from paradigmlab.ebm.hopfield import HopfieldNetwork
from paradigmlab.pbit import IsingModel, PBitSampler


@pytest.fixture(scope="module")
def ring():
    return IsingModel({(0, 1): 1.0, (1, 2): 1.0, (2, 0): 1.0})


@pytest.mark.parametrize("kwargs,match", [
    (dict(clamp={0: 255}), "clamp values must be -1 or \\+1"),          # int8 cast would hold the p-bit at -1
    (dict(clamp={1.7: 1}), "clamped node indices must be integers"),   # would silently become node 1
    (dict(clamp=([0], [True])), "clamp values must be -1 or \\+1 numbers"),
    (dict(clamp=([0, 0], [1, 1])), "distinct"),
    (dict(clamp=([5], [1])), "outside 0..2"),
    (dict(num_chains=2.5), "num_chains must be an integer"),
    (dict(num_chains=0), "num_chains must be >= 1"),
    (dict(num_sweeps=True), "num_sweeps must be an integer"),
    (dict(burn_in=-1), "burn_in must be >= 0"),
    (dict(beta=float("nan")), "finite"),
    (dict(beta=-float("inf")), "finite and non-negative"),
    (dict(initial_states=np.full(3, 2)), "initial_states must contain only -1 and \\+1"),
])
def test_sampler_misuse_is_a_clean_error(ring, kwargs, match):
    with pytest.raises(ValueError, match=match):
        PBitSampler("reference").sample(ring, **{"num_chains": 4, "num_sweeps": 5, **kwargs})


def test_clamp_holds_exactly_the_values_given(ring):
    res = PBitSampler("reference").sample(ring, 8, 20, clamp={0: -1, 2: 1}, seed=0)
    assert np.all(res.states[:, 0] == -1) and np.all(res.states[:, 2] == 1)


@pytest.mark.parametrize("make,match", [
    (lambda: IsingModel(np.zeros((2, 2)), beta=-1.0), "beta must be >= 0"),
    (lambda: IsingModel(np.zeros((2, 2)), beta="1"), "beta must be a real number"),
    (lambda: IsingModel(np.array([[0, 1 + 1j], [1 + 1j, 0]])), "J must be a real numeric array"),
    (lambda: IsingModel(np.zeros((2, 2)), h=np.array([1j, 0])), "h must be a real numeric array"),
    (lambda: IsingModel({(0, 1): 1.0}, num_nodes=2.0), "num_nodes must be an integer"),
    (lambda: IsingModel({(0, 1): float("inf")}), "must be finite"),
])
def test_model_constructor_misuse(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("kw,match", [
    (dict(lr=float("inf")), "lr must be finite"), (dict(batch_size=2.5), "batch_size must be an integer"),
    (dict(weight_decay=float("nan")), "weight_decay must be finite"), (dict(epochs=0), "epochs must be > 0"),
    (dict(momentum=1.0), "momentum must be < 1"), (dict(phase_threads=0), "phase_threads must be >= 1"),
])
def test_dbm_train_config_misuse(kw, match):
    from paradigmlab.ebm import TrainConfig

    with pytest.raises(ValueError, match=match):
        TrainConfig(**kw)


def test_sparse_dbm_constructor_misuse():
    from paradigmlab.ebm import SparseDBM

    edges = np.array([[0, 2], [1, 2], [2, 3]])
    with pytest.raises(ValueError, match="beta must be >= 0"):
        SparseDBM(4, edges, visible=[0], labels=[[1, 3]], beta=-1.0)
    with pytest.raises(ValueError, match="distinct"):
        SparseDBM(4, edges, visible=[0, 1], labels=[[1, 3]])


@pytest.mark.parametrize("make,match", [
    (lambda: HopfieldNetwork(3.5), "N must be an integer"),
    (lambda: HopfieldNetwork(4).store([[1, 2, 1, 1]]),
     "-1 and \\+1"),
    (lambda: HopfieldNetwork(4).store(np.full((1, 4), "a")),
     "numbers"),
    (lambda: RRAMAttractorNetwork([0.1, np.nan]), "v"),
    (lambda: RRAMAttractorNetwork([0.1], v_set=0.0), "v_set"),
    (lambda: RRAMAttractorNetwork([0.1], v_reset=0.1),
     "v_reset"),
    (lambda: RRAMAttractorNetwork([0.1], g_hcs=-1.0), "g_hcs"),
    (lambda: RRAMAttractorNetwork([0.1], g_lcs=2e-4), "g_lcs"),
])
def test_memory_constructor_misuse(make, match):
    with pytest.raises(ValueError, match=match):
        make()
