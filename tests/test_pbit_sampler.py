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


def test_default_reads_are_the_final_states_and_options_read_more(model):
    s = PBitSampler("numba")
    res = s.sample(model, 4, 30, seed=2)
    assert len(res) == 4 and np.all(res.sweep == 30)
    every = s.sample(model, 4, 30, burn_in=0, seed=2)  # one read per sweep, today's explicit meaning
    np.testing.assert_array_equal(every.states[every.sweep == 30], res.states)  # the same chains, read once
    last = s.sample(model, 4, 30, num_samples=3, thin=5, seed=2)
    assert sorted(set(last.sweep.tolist())) == [20, 25, 30]
    spread = s.sample(model, 4, 30, burn_in=10, num_samples=4, seed=2)
    assert sorted(set(spread.sweep.tolist())) == [15, 20, 25, 30]
    implied = s.sample(model, 4, burn_in=6, num_samples=2, thin=2, seed=2)  # num_sweeps = 6 + 2 * 2
    assert implied.info["num_sweeps"] == 10 and sorted(set(implied.sweep.tolist())) == [8, 10]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_samples=0), "num_samples must be >= 1"),
        (dict(num_samples=6, thin=2), "exceeds num_sweeps"),
        (dict(burn_in=8, num_samples=3), "do not fit"),
        (dict(burn_in=5, thin=6), "no sweep is read"),
        (dict(burn_in=1.5), "burn_in must be an integer"),
    ],
)
def test_bad_read_options(kwargs, match):
    from paradigmlab.pbit.sampler import resolve_reads

    with pytest.raises(ValueError, match=match):
        resolve_reads(10, **kwargs)


def test_colouring_is_cached_on_the_model_not_written_by_the_sampler(model):
    groups = PBitSampler("reference").groups(model)
    assert model.coloring("auto") is groups and model.with_beta(2.0).coloring("auto") is groups
    assert "_color_cache" not in vars(model)


def test_replica_exchange_swaps_pairs_in_turn_and_keeps_a_permutation():
    from paradigmlab.pbit.tempering import ReplicaExchange

    rex = ReplicaExchange([0.1, 0.5, 1.0, 2.0], num_replicas=3, rng=np.random.default_rng(0))
    assert rex.num_chains == 12
    np.testing.assert_array_equal(rex.chain_betas(), np.tile([0.1, 0.5, 1.0, 2.0], 3))
    # energies rising with the chain index: the colder member of every tried pair holds the higher
    # energy, so delta = (b_l - b_l+1)(E_l - E_l+1) > 0 and every swap is accepted
    ok = rex.swap(np.arange(12.0))  # even pairs (0,1), (2,3)
    assert ok.shape == (3, 2) and ok.all()
    np.testing.assert_array_equal(rex.temp[0], [1, 0, 3, 2])
    assert rex.parity == 1 and rex.tried.tolist() == [3, 0, 3]
    rex.swap(np.zeros(12))  # odd pair (1, 2): equal energies, delta = 0, accepted
    np.testing.assert_array_equal(rex.temp[0], [1, 3, 0, 2])
    assert sorted(rex.order().tolist()) == list(range(12))
    np.testing.assert_allclose(rex.acceptance(), [1, 1, 1])
    np.testing.assert_array_equal(rex.chain_betas()[rex.temp[0]], [0.1, 0.5, 1.0, 2.0])
    cold = ReplicaExchange([1.0, 100.0], rng=np.random.default_rng(1))
    cold.swap(np.array([-50.0, 50.0]))  # the cold chain holds the high energy: delta = 9900, accepted
    assert cold.acceptance()[0] == 1.0 and cold.temp.tolist() == [[1, 0]]
    hot = ReplicaExchange([1.0, 100.0], rng=np.random.default_rng(1))
    hot.swap(np.array([50.0, -50.0]))  # the hot one holds it: delta = -9900, never accepted
    assert hot.acceptance()[0] == 0.0 and hot.temp.tolist() == [[0, 1]]
    with pytest.raises(ValueError, match="one value per chain"):
        hot.swap(np.zeros(3))


def test_a_sampling_schedule_reads_the_same_sweeps_as_its_fields():
    import numpy as np
    import pytest

    from paradigmlab.pbit import IsingModel, PBitSampler
    from paradigmlab.pbit.schedules import SamplingSchedule

    m = IsingModel({(0, 1): 0.5, (1, 2): -0.3, (2, 3): 0.8})
    s = PBitSampler("reference")
    sch = SamplingSchedule(burn_in=7, num_samples=4, sweeps_per_sample=3)
    a = s.sample(m, 5, schedule=sch, seed=2)
    b = s.sample(m, 5, 19, burn_in=7, thin=3, num_samples=4, seed=2)
    assert np.array_equal(a.states, b.states) and sorted(set(a.sweep)) == [10, 13, 16, 19]
    t = s.sample_tempering(m, [0.5, 1.0], num_sweeps=19, schedule=sch, seed=1)
    assert sorted(set(t.sweep)) == [10, 13, 16, 19]
    with pytest.raises(ValueError, match="either schedule= or"):
        s.sample(m, 5, schedule=sch, thin=2)
