"""Hopfield networks, dense associative memories and the modern Hopfield layer (issue 18): exact against plain loops,
enumeration and theory; the zero-temperature p-bit sweeps they run on."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from paradigmlab.ebm import experiments as ex
from paradigmlab.ebm.hopfield import (DenseAssociativeMemory, HopfieldNetwork, ags_critical_load,
                                      ags_retrieval_overlap, curie_weiss_overlap, descend, design_weights,
                                      load_patterns)
from paradigmlab.ebm.modern import ModernHopfield, energy, retrieve
from paradigmlab.pbit import PBitSampler
from paradigmlab.pbit.kernels import BACKENDS, make_kernel
from paradigmlab.pbit.model import IsingModel
from paradigmlab.pbit.schedules import resolve
from paradigmlab.pbit.spins import random_spins
from paradigmlab.validate import InputError


def plain_async(W: np.ndarray, S: np.ndarray, order, sweeps: int, h=None) -> np.ndarray:
    """The textbook asynchronous rule, one neuron and one state at a time (a tie keeps the neuron)."""
    S = S.astype(np.float64).copy()
    h = np.zeros(W.shape[0]) if h is None else h
    for s in S:
        for _ in range(sweeps):
            for i in order:
                I = W[i] @ s + h[i]
                if I != 0:
                    s[i] = np.sign(I)
    return S.astype(np.int8)


# ---------------------------------------------------------------------- zero-temperature p-bit sweeps
@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_temperature_sweeps_are_the_sign_rule_with_ties_kept(backend):
    rng = np.random.default_rng(0)
    n = 24
    A = np.triu(rng.integers(-2, 3, (n, n)), 1)
    A = (A + A.T).astype(float)  # small integers: many exact ties
    h = rng.integers(-1, 2, n).astype(float)
    order = rng.permutation(n)
    S0 = random_spins(1, (20, n))
    k = make_kernel(backend, sp.csr_matrix(A), h, [order[i:i + 1] for i in range(n)], 20, seed=3,
                    device="cpu" if backend == "torch" else None)
    k.set_states(S0)
    k.run([np.inf, np.inf])
    assert np.array_equal(k.get_states(), plain_async(A, S0, order, 2, h))


def test_zero_temperature_sweeps_never_raise_the_energy_and_mix_with_finite_ones():
    rng = np.random.default_rng(1)
    n = 30
    g = rng.normal(size=(n, n))
    model = IsingModel(np.triu(g, 1) + np.triu(g, 1).T, rng.normal(size=n))
    k = PBitSampler("numba").kernel(model, 16, seed=0)
    e = model.energy(k.get_states())
    for _ in range(5):
        k.run([np.inf])
        e2 = model.energy(k.get_states())
        assert np.all(e2 <= e + 1e-9)
        e = e2
    k.run([0.5, np.inf, 2.0])  # mixed schedules are allowed
    assert resolve(np.inf, 3, 1.0).tolist() == [np.inf] * 3
    with pytest.raises(ValueError, match="non-negative"):
        resolve(np.nan, 3, 1.0)
    with pytest.raises(ValueError, match="non-negative"):
        k.run([np.nan])


# ---------------------------------------------------------------------- learning rules
def storkey_reference(xi: np.ndarray) -> np.ndarray:
    """Storkey (1997) literally: w_ij += (xi_i xi_j - xi_i h_ji - h_ij xi_j) / n, h_ij = sum_{k != i, j} w_ik xi_k."""
    P, n = xi.shape
    W = np.zeros((n, n))
    for x in xi.astype(float):
        H = np.array([[sum(W[i, k] * x[k] for k in range(n) if k not in (i, j)) for j in range(n)] for i in range(n)])
        new = W + (np.outer(x, x) - x[:, None] * H.T - H * x[None, :]) / n
        np.fill_diagonal(new, 0.0)
        W = new
    return W


def test_rules_give_symmetric_zero_diagonal_weights_and_hebbian_and_storkey_match_their_definitions():
    xi = random_spins(0, (5, 12))
    for rule in ("hebbian", "storkey", "pseudo-inverse"):
        W = HopfieldNetwork(12, rule).store(xi).weights_
        assert np.allclose(W, W.T) and np.all(np.diag(W) == 0)
    heb = xi.T.astype(float) @ xi / 12
    np.fill_diagonal(heb, 0)
    assert np.allclose(HopfieldNetwork(12).store(xi).weights_, heb)
    assert np.allclose(HopfieldNetwork(12, "storkey").store(xi).weights_, storkey_reference(xi), atol=1e-12)


def test_pseudo_inverse_projects_onto_the_patterns():
    xi = random_spins(2, (10, 80)).astype(float)
    W = HopfieldNetwork(80, "pseudo-inverse").store(xi).weights_
    proj = xi.T @ np.linalg.inv(xi @ xi.T) @ xi
    assert np.allclose(W + np.diag(np.diag(proj)), proj)


# ---------------------------------------------------------------------- recall
@pytest.mark.parametrize("rule", ["hebbian", "storkey", "pseudo-inverse"])
def test_recall_equals_the_textbook_asynchronous_loop(rule):
    xi = random_spins(3, (6, 40))
    net = HopfieldNetwork(40, rule).store(xi)
    cues = ex.flip_bits(xi, 0.2, rng=4)
    out, info = net.recall(cues, order="sequential", return_info=True)
    ref = plain_async(net.weights_, cues, range(40), info["sweeps"])
    assert np.array_equal(out, ref)
    assert info["converged"].all() and net.is_fixed_point(out).all()
    assert np.all(net.energy(out) <= net.energy(cues) + 1e-12)


def test_recall_backends_agree_and_one_cue_stays_one_dimensional():
    xi = random_spins(5, (8, 64))
    cues = ex.flip_bits(xi, 0.25, rng=6)
    outs = [HopfieldNetwork(64, backend=b).store(xi).recall(cues, seed=11) for b in BACKENDS]
    assert all(np.array_equal(outs[0], o) for o in outs[1:])
    one = HopfieldNetwork(64).store(xi).recall(cues[0], seed=11)
    assert one.shape == (64,) and np.array_equal(one, outs[0][0])


def test_low_load_retrieves_and_high_load_does_not():
    rng = np.random.default_rng(7)
    n = 200
    lo = ex.hopfield_capacity((n,), alphas=[0.05, 0.35], trials=2, progress=False, seed=1)
    frac = {r["alpha"]: r["retrieved_mean"] for r in lo["rows"]}
    assert frac[0.05] == 1.0 and frac[0.35] < 0.2
    xi = random_spins(rng, (10, n))
    cues = ex.flip_bits(xi, 0.2, rng=rng)
    assert np.array_equal(HopfieldNetwork(n).store(xi).recall(cues, seed=0), xi)


def test_stochastic_network_samples_the_hopfield_boltzmann_law_exactly():
    """Finite beta: the p-bit sampler on ising_model(beta) against exact enumeration of exp(-beta E)."""
    n, beta = 8, 0.7
    xi = random_spins(8, (2, n))
    for rule in ("hebbian", "storkey"):
        net = HopfieldNetwork(n, rule).store(xi)
        states = np.array(list(itertools.product([-1, 1], repeat=n)), dtype=np.int8)
        p = np.exp(-beta * (net.energy(states) - net.energy(states).min()))
        p /= p.sum()
        res = net.sampler.sample(net.ising_model(beta), num_chains=256, num_sweeps=400, burn_in=50, thin=5, seed=0,
                                 progress=False)
        idx = ((res.states + 1) // 2).astype(np.int64) @ (1 << np.arange(n)[::-1])
        emp = np.bincount(idx, minlength=2 ** n) / len(idx)
        assert 0.5 * np.abs(emp - p).sum() < 0.05
        out = net.recall(xi, beta=beta, seed=0, max_sweeps=5)
        assert out.shape == xi.shape and set(np.unique(out)) <= {-1, 1}


def test_stochastic_overlap_follows_the_curie_weiss_equation():
    r = ex.stochastic_overlap(N=400, betas=(1.5, 2.5), chains=8, sweeps=200)
    for row in r["rows"]:
        assert abs(row["overlap"] - row["theory"]) < 0.03
    assert curie_weiss_overlap(0.8) == 0.0 and abs(curie_weiss_overlap(1.5) - np.tanh(1.5 * curie_weiss_overlap(1.5))) < 1e-9


def test_ags_theory_numbers():
    assert abs(ags_critical_load() - 0.138) < 1e-3
    assert abs(ags_retrieval_overlap(ags_critical_load() - 1e-7) - 0.967) < 3e-3  # AGS: m jumps from 0.967 to 0
    assert np.isnan(ags_retrieval_overlap(0.15)) and ags_retrieval_overlap(0.01) > 0.9999


def test_descend_runs_any_ising_model_and_reports_convergence():
    rng = np.random.default_rng(9)
    g = rng.normal(size=(20, 20))
    model = IsingModel(np.triu(g, 1) + np.triu(g, 1).T)
    out, info = descend(model, random_spins(1, (30, 20)), seed=2)
    assert info["converged"].all()
    I = out @ model.to_dense()
    assert np.all(out * I >= 0)
    with pytest.raises(InputError, match="IsingModel"):
        descend(np.eye(3), np.ones((1, 3)))


# ---------------------------------------------------------------------- dense associative memories
def test_dense_memory_of_order_two_is_the_hebbian_network():
    xi = random_spins(10, (5, 48))
    cues = ex.flip_bits(xi, 0.3, rng=11)
    dam = DenseAssociativeMemory(48, n=2).store(xi)
    heb = HopfieldNetwork(48).store(xi)
    assert np.array_equal(dam.recall(cues, order="sequential"), heb.recall(cues, order="sequential"))
    assert np.array_equal(dam.is_fixed_point(cues), heb.is_fixed_point(cues))


def test_dense_memory_fixed_points_match_recall_and_capacity_grows_with_the_order():
    xi = random_spins(12, (40, 24))
    for order in (2, 3, 4):
        dam = DenseAssociativeMemory(24, n=order).store(xi)
        fixed = dam.is_fixed_point(xi)
        stays = np.all(dam.recall(xi, order="sequential", max_sweeps=1) == xi, axis=1)
        assert np.array_equal(fixed, stays)
    frac = [DenseAssociativeMemory(24, n=o).store(xi).is_fixed_point(xi).mean() for o in (2, 3, 4)]
    assert frac[0] < 0.3 < frac[1] < frac[2] and frac[2] > 0.9


def test_exponential_memory_cannot_overflow():
    xi = random_spins(13, (3000, 2000))
    dam = DenseAssociativeMemory(2000, "exponential").store(xi)
    e = dam.energy(xi[:5])
    assert np.all(np.isfinite(e)) and np.allclose(e, -2000.0, atol=1e-6)
    cues = ex.flip_bits(xi[:4], 0.4, rng=14)
    assert np.array_equal(dam.recall(cues, seed=0, max_sweeps=2), xi[:4])


# ---------------------------------------------------------------------- modern Hopfield
def test_modern_retrieval_meets_the_issue_goal_and_lowers_the_energy():
    r = ex.modern_retrieval(N=64, P=1000, flip=0.25, betas=(1.0,), trials=1, seed=0)
    assert r["exact"]["1.0"]["mean"] >= 0.95
    g = torch.Generator().manual_seed(0)
    X = torch.randn(50, 16, generator=g, dtype=torch.float64)
    q = torch.randn(7, 16, generator=g, dtype=torch.float64)
    new = retrieve(X, q, beta=0.5)
    assert torch.allclose(new, torch.softmax(0.5 * q @ X.T, -1) @ X)
    assert torch.all(energy(X, new, 0.5) <= energy(X, q, 0.5) + 1e-9) and torch.all(energy(X, q, 0.5) >= 0)


def test_modern_layer_static_and_learned():
    X = torch.randn(2, 30, 8)
    q = torch.randn(2, 5, 8)
    static = ModernHopfield(8, beta=2.0, update_steps=2)
    assert torch.allclose(static(X, q), retrieve(X, q, 2.0, 2))
    layer = ModernHopfield(8, hidden_size=4, static=False)
    out = layer(X, q)
    out.sum().backward()
    assert out.shape == (2, 5, 8) and layer.q_proj.weight.grad is not None
    with pytest.raises(InputError, match="hidden_size"):
        ModernHopfield(8, hidden_size=4)
    with pytest.raises(InputError, match="state"):
        static(X, torch.randn(5, 7))


# ---------------------------------------------------------------------- designed memories
def test_design_weights_stores_on_purpose_and_refuses_the_impossible():
    xi = random_spins(16, (6, 16))  # seed 15 has one pattern a bit away from another's mirror image: unstorable
    W = design_weights(xi, recall="none")
    assert np.all(xi * (xi @ W) >= 1 - 1e-7)
    s = xi[0].copy()
    t = s.copy()
    t[3] = -t[3]  # two memories one bit apart: bit 3 sees the same field in both, so one of them is unstable
    with pytest.raises(InputError, match="not storable"):
        design_weights(np.stack([s, t]), recall="none")
    W1 = design_weights(xi[:1], recall="exclusive")
    for k in range(16):
        c = xi[0].copy()
        c[k] = -c[k]
        unstable = c * (c @ W1) < 0
        assert unstable[k] and unstable.sum() == 1
    with pytest.raises(InputError, match="recall"):
        design_weights(xi, recall="maybe")


def test_the_circuit_holds_at_most_one_memory_whose_corruptions_return():
    res = ex.designed_memories(sizes=(6,), trials=4, max_memories=4, seed=0, progress=False)
    rows = {r["P"]: r for r in res["rows"]}
    assert rows[2].get("circuit_eligible", 0.0) == 0.0  # never two
    assert rows[1]["hopfield_eligible"] == 1.0 and rows[2]["hopfield_eligible"] > 0.0


# ---------------------------------------------------------------------- bad input, files
def test_bad_input_is_named():
    net = HopfieldNetwork(4)
    with pytest.raises(InputError, match="store"):
        net.recall(np.ones(4))
    with pytest.raises(InputError, match="rule"):
        HopfieldNetwork(4, "oja")
    with pytest.raises(InputError, match="N"):
        HopfieldNetwork(0)
    with pytest.raises(InputError, match="-1 and \\+1"):
        net.store([[1, 0, 1, -1]])
    with pytest.raises(InputError, match="4 columns"):
        net.store(np.ones((2, 5)))
    with pytest.raises(InputError, match="-1 and \\+1"):
        net.store(np.array([[1.0, np.nan, 1.0, 1.0]]))
    net.store(np.ones((1, 4)))
    with pytest.raises(InputError, match="cues"):
        net.recall(np.ones((2, 3)))
    with pytest.raises(InputError, match="order"):
        net.recall(np.ones(4), order="backwards")
    with pytest.raises(InputError, match="beta"):
        net.recall(np.ones(4), beta=-1.0)
    with pytest.raises(InputError, match="interaction"):
        DenseAssociativeMemory(4, "cubic")
    with pytest.raises(InputError, match="n must be"):
        DenseAssociativeMemory(4, n=1)


def test_save_load_round_trip_and_damaged_files(tmp_path):
    xi = random_spins(16, (4, 20))
    net = HopfieldNetwork(20, "storkey").store(xi)
    back = HopfieldNetwork.load(net.save(tmp_path / "h.npz"))
    assert back.rule == "storkey" and np.array_equal(back.weights_, net.weights_)
    np.savez(tmp_path / "bad.npz", kind=np.array("hopfield"), num_neurons=20, rule=np.array("storkey"),
             patterns=np.zeros((2, 20), np.int8))
    with pytest.raises(InputError, match="bad.npz.*-1 and \\+1"):
        HopfieldNetwork.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "rule.npz", kind=np.array("hopfield"), num_neurons=20, rule=np.array("x"), patterns=xi)
    with pytest.raises(InputError, match="rule.npz.*rule"):
        HopfieldNetwork.load(tmp_path / "rule.npz")
    np.save(tmp_path / "p.npy", xi)
    assert np.array_equal(load_patterns(tmp_path / "p.npy"), xi)
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="o.npy"):
        load_patterns(tmp_path / "o.npy")
    with pytest.raises(InputError, match="does not exist"):
        load_patterns(tmp_path / "missing.npy")


# ---------------------------------------------------------------------- experiment helpers
def test_flip_bits_and_crossing():
    x = random_spins(17, (50, 30))
    y = ex.flip_bits(x, count=7, rng=0)
    assert np.all((x != y).sum(1) == 7)
    assert ex.crossing([0.1, 0.2, 0.3], [1.0, 0.6, 0.2]) == pytest.approx(0.225)
    assert np.isnan(ex.crossing([0.1, 0.2], [1.0, 0.9]))
    fit = ex.finite_size_fit({"100": {"alpha_half": 0.2}, "400": {"alpha_half": 0.15}})
    assert fit["alpha_inf"] == pytest.approx(0.1) and fit["c"] == pytest.approx(1.0)


def test_recall_throughput_compares_equal_work():
    r = ex.recall_throughput(N=64, cues=16, sweeps=2, repeats=1)
    assert r["same_states"] and r["numba"]["flips_per_ns"] > 0 and r["numpy"]["flips_per_ns"] > 0
