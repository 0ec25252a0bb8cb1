"""PBitSampler bookkeeping: recording, seeds, initial states, dimod output, argument errors."""

from __future__ import annotations

import numpy as np
import pytest

from paradigmlab.pbit import IsingModel, PBitSampler
from paradigmlab.pbit import schedules


@pytest.fixture
def model():
    rng = np.random.default_rng(0)
    J = np.triu(rng.normal(size=(6, 6)), 1)
    return IsingModel(J + J.T, rng.normal(size=6))


def test_recording_positions_and_ids(model):
    res = PBitSampler("reference").sample(model, num_chains=3, num_sweeps=10, burn_in=4, thin=3, seed=0)
    assert sorted(set(res.sweep.tolist())) == [7, 10]
    assert len(res) == 2 * 3
    np.testing.assert_array_equal(res.chain, [0, 1, 2, 0, 1, 2])
    assert res.states.dtype == np.int8 and set(np.unique(res.states)) <= {-1, 1}


def test_same_seed_same_samples_and_different_seed_differs(model):
    s = PBitSampler("numba")
    a = s.sample(model, 8, 30, seed=5).states
    np.testing.assert_array_equal(a, s.sample(model, 8, 30, seed=5).states)
    assert not np.array_equal(a, s.sample(model, 8, 30, seed=6).states)


@pytest.mark.parametrize("backend", ["reference", "numba", "torch"])
def test_initial_states_are_used(model, backend):
    # a cold ferromagnetic ring started all -1 stays all -1 (flip probability ~e^-100)
    ring = IsingModel({(i, (i + 1) % 6): 1.0 for i in range(6)}, beta=50.0)
    res = PBitSampler(backend).sample(ring, 4, 3, initial_states=-np.ones(6, dtype=np.int8), seed=0)
    assert np.all(res.states == -1)
    with pytest.raises(ValueError, match="initial_states must have shape"):
        PBitSampler("reference").sample(model, 4, 1, initial_states=np.ones((3, 6)))
    with pytest.raises(ValueError, match="only -1 and"):
        PBitSampler("reference").sample(model, 2, 1, initial_states=np.zeros(6))


def test_to_sampleset_energies_match_dimod(model):
    res = PBitSampler("numba").sample(model, 5, 20, burn_in=19, seed=1)
    ss = res.to_sampleset()
    bqm = model.to_bqm()
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))
    assert len(ss) == 5


def test_schedules():
    np.testing.assert_allclose(schedules.linear(0, 1, 3), [0, 0.5, 1])
    np.testing.assert_allclose(schedules.geometric(0.1, 10, 3), [0.1, 1, 10])
    with pytest.raises(ValueError, match="geometric"):
        schedules.geometric(0, 1, 3)
    with pytest.raises(ValueError, match="one value per sweep"):
        schedules.resolve(np.ones(4), 5, 1.0)
    with pytest.raises(ValueError, match="non-negative"):
        schedules.resolve(-1.0, 5, 1.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(burn_in=10), "burn_in"),
        (dict(thin=0), "thin"),
        (dict(num_chains=0), "num_chains"),
        (dict(clamp={0: 2}), "clamp values must be -1 or \\+1"),
        (dict(clamp={9: 1}), "outside"),
        (dict(clamp=[1, 2, 3]), "clamp must be"),
    ],
)
def test_bad_arguments(model, kwargs, match):
    args = dict(num_chains=2, num_sweeps=10) | kwargs
    with pytest.raises(ValueError, match=match):
        PBitSampler("reference").sample(model, **args)


def test_bad_sampler_options(model):
    with pytest.raises(ValueError, match="unknown backend"):
        PBitSampler("fpga")
    with pytest.raises(ValueError, match="only meaningful for the torch"):
        PBitSampler("numba", device="cuda")
    with pytest.raises(ValueError, match="IsingModel"):
        PBitSampler("numba").sample(np.eye(3))
    with pytest.raises(ValueError, match="at least two"):
        PBitSampler("numba").sample_tempering(model, [1.0])
