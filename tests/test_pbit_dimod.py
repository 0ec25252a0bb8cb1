"""PBitSampler as a dimod.Sampler: dimod's own conformance suite, labels, vartypes, offsets, energies."""

from __future__ import annotations

import unittest
import warnings

import dimod
import dimod.testing
import numpy as np
import pytest

from paradigmlab.pbit import IsingModel, PBitSampler, schedules


@dimod.testing.load_sampler_bqm_tests(PBitSampler)
class TestDimodConformance(unittest.TestCase):
    """dimod's generated tests: empty, one-variable and path BQMs of every BQM class, SPIN and BINARY,
    complicated labels and offsets; sample, sample_ising and sample_qubo."""

    def test_is_a_dimod_sampler(self):
        sampler = PBitSampler()
        self.assertIsInstance(sampler, dimod.Sampler)
        self.assertIn("num_reads", sampler.parameters)
        self.assertEqual(sampler.properties["backend"], "numba")


def labelled_bqm(vartype, seed=0, n=9):
    rng = np.random.default_rng(seed)
    labels = [f"x{i}" for i in range(n - 1)] + [("tuple", 1)]
    lin = {v: float(rng.normal()) for v in labels}
    quad = {(labels[i], labels[j]): float(rng.normal()) for i in range(n) for j in range(i + 1, n)
            if rng.random() < 0.4}
    return dimod.BinaryQuadraticModel(lin, quad, 2.75, vartype)


@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
@pytest.mark.parametrize("backend", ["reference", "numba", "torch"])
def test_labels_vartype_offset_and_energies_round_trip(vartype, backend):
    bqm = labelled_bqm(vartype)
    ss = PBitSampler(backend).sample(bqm, num_reads=12, num_sweeps=40, seed=1)
    assert ss.vartype is vartype
    assert list(ss.variables) == list(bqm.variables)  # labels and their order kept
    assert len(ss) == 12  # default: one sample (the final state) per read
    values = {-1, 1} if vartype is dimod.SPIN else {0, 1}
    assert set(np.unique(ss.record.sample)) <= values
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), rtol=1e-12, atol=1e-12)
    assert set(ss.record.chain) == set(range(12)) and np.all(ss.record.sweep == 40)


def test_the_dimod_path_runs_the_array_path():
    rng = np.random.default_rng(2)
    J = np.triu(rng.normal(size=(7, 7)) * (rng.random((7, 7)) < 0.5), 1)
    model = IsingModel(J + J.T, rng.normal(size=7))
    res = PBitSampler("numba").sample(model, 6, 30, burn_in=20, seed=4)
    bqm = dimod.BinaryQuadraticModel(dimod.SPIN)  # variables in the order 0..N-1, as the model's columns
    bqm.add_linear_from({i: 0.0 for i in range(7)})
    bqm.update(model.to_bqm())
    assert list(bqm.variables) == list(range(7))
    ss = PBitSampler("numba").sample(bqm, num_reads=6, num_sweeps=30, burn_in=20, seed=4)
    np.testing.assert_array_equal(ss.record.sample, res.states)
    np.testing.assert_allclose(ss.record.energy, res.energies)
    np.testing.assert_array_equal(ss.record.sweep, res.sweep)


def test_annealing_a_binary_bqm_finds_the_exact_ground_state():
    bqm = labelled_bqm(dimod.BINARY, seed=3, n=12)
    ground = dimod.ExactSolver().sample(bqm).first.energy
    sched = schedules.geometric(0.1, 8.0, 300)
    ss = PBitSampler().sample(bqm, num_reads=16, num_sweeps=300, beta=sched, seed=0)
    assert ss.first.energy == pytest.approx(ground)


def test_reads_initial_states_and_clamp_in_the_bqms_terms():
    bqm = labelled_bqm(dimod.BINARY, seed=4)
    ss = PBitSampler().sample(bqm, num_reads=3, num_sweeps=20, num_samples=4, thin=2, seed=0)
    assert len(ss) == 12 and sorted(set(ss.record.sweep)) == [14, 16, 18, 20]
    # a hot-start-free check of initial states: zero sweeps are impossible, so use a frozen chain (beta=50)
    # of an all-ferromagnetic BQM started in its ground state
    ferro = dimod.BinaryQuadraticModel({}, {("a", "b"): -5.0, ("b", "c"): -5.0}, 0.0, dimod.SPIN)
    init = dimod.SampleSet.from_samples([{"c": 1, "a": 1, "b": 1}], dimod.SPIN, energy=[0.0])
    ss = PBitSampler().sample(ferro, num_reads=1, num_sweeps=5, beta=50.0, initial_states=init, seed=0)
    assert ss.first.sample == {"a": 1, "b": 1, "c": 1}
    ss = PBitSampler().sample(bqm, num_reads=4, num_sweeps=10, clamp={"x0": 1, ("tuple", 1): 0}, seed=0)
    assert np.all(ss.record.sample[:, list(ss.variables).index("x0")] == 1)
    assert np.all(ss.record.sample[:, list(ss.variables).index(("tuple", 1))] == 0)
    with pytest.raises(ValueError, match="not in the BQM"):
        PBitSampler().sample(bqm, num_sweeps=5, clamp={"nope": 1})


def test_unknown_keywords_warn_on_bqms_and_fail_on_models():
    bqm = labelled_bqm(dimod.SPIN)
    with pytest.warns(dimod.exceptions.SamplerUnknownArgWarning):
        PBitSampler().sample(bqm, num_sweeps=5, beta_range=(0.1, 1.0))
    model, _, _ = IsingModel.from_bqm(bqm)
    with pytest.raises(TypeError, match="beta_range"):
        PBitSampler().sample(model, num_sweeps=5, beta_range=(0.1, 1.0))
    with pytest.raises(ValueError, match="name the same thing"):
        PBitSampler().sample(bqm, num_chains=4, num_reads=5, num_sweeps=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PBitSampler().sample(bqm, num_reads=2, num_sweeps=5)  # known parameters only: no warning


def test_sample_ising_and_qubo_keep_labels():
    ss = PBitSampler().sample_ising({"a": -1.0, "b": 0.5}, {("a", "b"): -0.25}, num_reads=5, num_sweeps=20, seed=0)
    assert ss.vartype is dimod.SPIN and set(ss.variables) == {"a", "b"} and len(ss) == 5
    ss = PBitSampler().sample_qubo({("p", "p"): -1.0, ("p", "q"): 2.0}, num_reads=5, num_sweeps=20, seed=0)
    assert ss.vartype is dimod.BINARY and set(ss.variables) == {"p", "q"}
    np.testing.assert_allclose(ss.record.energy, [dimod.qubo_energy(s, {("p", "p"): -1.0, ("p", "q"): 2.0})
                                                  for s in ss.samples(sorted_by=None)])
