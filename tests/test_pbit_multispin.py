"""Multispin coding (64 chains per word) samples eq. 4's exact law of +-J models, and refuses what it cannot code."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from paradigmlab.pbit import IsingModel
from paradigmlab.pbit.model import exact_law, tv_to_law
from paradigmlab.pbit.multispin import MAX_DEGREE, ROW_WORDS, MultispinSampler


def pm_j_model(graph: nx.Graph, seed: int, J0: float = 1.0) -> IsingModel:
    n = graph.number_of_nodes()
    J = np.zeros((n, n))
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=graph.number_of_edges())
    for (u, v), s in zip(graph.edges(), signs):
        J[u, v] = J[v, u] = s * J0
    return IsingModel(J, np.zeros(n))


def collect(sampler: MultispinSampler, beta: float, burn_in: int, sweeps: int) -> np.ndarray:
    sampler.run(np.full(burn_in, beta))
    out = []
    for _ in range(sweeps):
        sampler.run([beta])
        out.append(sampler.get_states())
    return np.concatenate(out)


# (graph, J0, beta, chains, sweeps): an i.i.d. sample of this size is 0.016-0.021 in TV from the exact law
CASES = {
    "lattice-3x4": (lambda: nx.convert_node_labels_to_integers(nx.grid_2d_graph(3, 4, periodic=True)), 1.0, 0.5,
                    256, 1600),
    "6-regular-12": (lambda: nx.random_regular_graph(6, 12, seed=3), 0.5, 0.7, 320, 1600),
    "irregular-11": (lambda: nx.gnp_random_graph(11, 0.45, seed=4), 0.8, 0.6, 200, 1600),
    # degree 8: the 16-leaf threshold pick (counts need four bits)
    "complete-9": (lambda: nx.complete_graph(9), 0.3, 0.6, 200, 1600),
    # >= ROW_WORDS words per p-bit: whole rows updated at once (the vectorised loop order)
    "lattice-3x4-rows": (lambda: nx.convert_node_labels_to_integers(nx.grid_2d_graph(3, 4, periodic=True)), 1.0,
                         0.5, 600, 400),
    "complete-9-rows": (lambda: nx.complete_graph(9), 0.3, 0.6, 600, 400),
}


@pytest.mark.parametrize("case", list(CASES))
def test_multispin_matches_exact_enumeration(case):
    """Chains not a multiple of 64 (the last word partly used), two blocks of random streams: the sampled law is
    the Boltzmann law, within 1.5 times an i.i.d. sample's distance; beta off by 10 % (thresholds of
    0.9 or 1.1 beta) lands at 1.4-3.5 times that bound."""
    make, J0, beta, chains, sweeps = CASES[case]
    model = pm_j_model(make(), seed=1, J0=J0)
    sampler = MultispinSampler(model, chains, seed=5, blocks=2)
    assert (sampler.words >= ROW_WORDS) == case.endswith("-rows")
    X = collect(sampler, beta, burn_in=50, sweeps=sweeps)
    p = exact_law(model, beta)
    iid = np.random.default_rng(0).choice(len(p), size=len(X), p=p)
    floor = 0.5 * float(np.abs(np.bincount(iid, minlength=len(p)) / len(X) - p).sum())
    tv = tv_to_law(X, p)
    assert tv < 1.5 * floor + 0.005, (tv, floor)


def test_multispin_chains_are_independent_and_cold_chains_order():
    """At a large beta every chain of a ferromagnetic ring reaches one of its two ground states; the 64 chains of a
    word do not move in step (their magnetisations differ at a moderate beta)."""
    ring = pm_j_model(nx.cycle_graph(16), seed=0)
    ring = IsingModel(np.abs(ring.J.toarray()), np.zeros(16))
    ms = MultispinSampler(ring, 130, seed=2)
    ms.run(np.linspace(0.1, 6.0, 400))
    X = ms.get_states()
    assert np.all(np.abs(X.sum(1)) == 16)
    ms.run(np.full(20, 0.3))
    assert np.unique(ms.get_states().sum(1)).size > 4


def test_multispin_states_round_trip_and_runs_repeat():
    model = pm_j_model(nx.random_regular_graph(4, 30, seed=1), seed=2)
    ms = MultispinSampler(model, 70, seed=3)
    X = np.where(np.random.default_rng(1).random((70, 30)) < 0.5, -1, 1).astype(np.int8)
    ms.set_states(X)
    assert np.array_equal(ms.get_states(), X)
    a, b = MultispinSampler(model, 70, seed=3, blocks=2), MultispinSampler(model, 70, seed=3, blocks=2)
    a.run(np.full(5, 0.4))
    b.run(np.full(5, 0.4))
    assert np.array_equal(a.get_states(), b.get_states())
    c = MultispinSampler(model, 70, seed=4, blocks=2)
    c.run(np.full(5, 0.4))
    assert not np.array_equal(a.get_states(), c.get_states())


def test_multispin_thresholds_are_eq4_probabilities():
    ms = MultispinSampler(pm_j_model(nx.cycle_graph(5), seed=0, J0=0.5), 64)
    thr = ms.thresholds([0.0, 2.0, 1e6])
    assert thr.shape == (3, MAX_DEGREE + 1, MAX_DEGREE + 1) and thr.dtype == np.uint64
    assert np.all(thr[0] == np.uint64(2 ** 63))  # beta 0: a fair coin
    p = thr[1, 2].astype(np.float64) / 2.0 ** 64
    np.testing.assert_allclose(p[:3], 0.5 * (1 + np.tanh(2.0 * 0.5 * np.array([-2, 0, 2]))), rtol=1e-15)
    assert thr[2, 2, 0] == 0 and thr[2, 2, 2] == np.uint64(2 ** 64 - 1)  # saturated: always -1 / always +1


def test_multispin_refuses_what_it_cannot_code():
    ring = pm_j_model(nx.cycle_graph(6), seed=0)
    J = ring.J.toarray()
    with pytest.raises(ValueError, match="zero fields"):
        MultispinSampler(IsingModel(J, np.full(6, 0.1)), 64)
    J2 = J.copy()
    J2[0, 1] = J2[1, 0] = 2 * J[0, 1]
    with pytest.raises(ValueError, match="one magnitude"):
        MultispinSampler(IsingModel(J2, np.zeros(6)), 64)
    star = np.zeros((17, 17))
    star[0, 1:] = star[1:, 0] = 1.0
    with pytest.raises(ValueError, match="at most 15 neighbours; p-bit 0 has 16"):
        MultispinSampler(IsingModel(star, np.zeros(17)), 64)
    with pytest.raises(ValueError, match="num_chains"):
        MultispinSampler(ring, 0)
    with pytest.raises(TypeError, match="IsingModel"):
        MultispinSampler(J, 64)
    ms = MultispinSampler(ring, 64)
    with pytest.raises(ValueError, match=r"states must be \(64, 6\)"):
        ms.set_states(np.ones((63, 6)))
    with pytest.raises(ValueError, match=r"only -1 and \+1"):
        ms.set_states(np.zeros((64, 6)))
    for bad in ([-1.0], [np.inf], [np.nan]):
        with pytest.raises(ValueError, match="betas"):
            ms.run(bad)


def test_bench_runs_multispin_and_marks_gaussian_models_not_applicable():
    from paradigmlab.pbit.bench import NotApplicable, ours

    ring = pm_j_model(nx.cycle_graph(8), seed=0)
    run = ours("multispin")(ring, 64, 3)
    run()
    gaussian = IsingModel(ring.J.toarray() * np.linspace(0.5, 1.5, 8)[:, None] * np.linspace(0.5, 1.5, 8), np.zeros(8))
    with pytest.raises(NotApplicable, match="one magnitude"):
        ours("multispin")(gaussian, 64, 3)


def test_sweep_chains_builds_kernels_and_the_multispin_sampler():
    from paradigmlab.pbit.kernels.base import Kernel
    from paradigmlab.pbit.sampler import sweep_chains

    ring = pm_j_model(nx.cycle_graph(8), seed=0)
    assert isinstance(sweep_chains("multispin", ring, 64, seed=1), MultispinSampler)
    assert isinstance(sweep_chains("numba", ring, 64, seed=1), Kernel)
    with pytest.raises(ValueError, match="choose one of reference, numba, torch, multispin"):
        sweep_chains("bogus", ring, 64)



def test_multispin_row_draws_are_exact_to_the_last_level():
    # Disjoint stars (hub: 9 neighbours, the 16-leaf pick; leaves: 1), two colours. Each sweep draws the first
    # colour given the other's state of the previous sweep and the second given the first's new state, so every
    # draw's probability p is known from the states read after each sweep, and sum(s - p) over all draws is a sum
    # of martingale differences: mean 0, variance sum p (1 - p). A draw cut after LEVELS bits (a row stopped before
    # its last undecided chain) would lose 2^-LEVELS frac(p 2^LEVELS) per draw; the test asserts it would see that.
    import scipy.sparse as sp

    from paradigmlab.pbit.coloring import color_graph

    LEVELS = 10  # a 4,096-chain row needs about 13

    stars, degree, beta = 8, 9, 0.3
    n = stars * (degree + 1)
    J = np.zeros((n, n))
    for k in range(stars):
        hub = k * (degree + 1)
        J[hub, hub + 1: hub + degree + 1] = J[hub + 1: hub + degree + 1, hub] = 1.0
    first, second = color_graph(sp.csr_matrix(J))
    assert len(first) + len(second) == n
    chains, sweeps = 64 * 64, 300
    s = MultispinSampler(IsingModel(J, np.zeros(n)), chains, seed=5)
    assert s.words >= ROW_WORDS
    prev = s.get_states().astype(np.float64)
    resid = var = missed = 0.0
    for _ in range(sweeps):
        s.run([beta])
        cur = s.get_states().astype(np.float64)
        for group, given in ((first, prev), (second, cur)):
            p = 0.5 * (1 + np.tanh(beta * given @ J[:, group]))  # J couples colours only: the other's state
            resid += ((cur[:, group] > 0) - p).sum()
            var += (p * (1 - p)).sum()
            missed += (2.0 ** -LEVELS * ((p * 2 ** LEVELS) % 1.0)).sum()
        prev = cur
    assert missed / np.sqrt(var) > 8  # a draw cut after LEVELS bits would be > 8 sigma off
    assert abs(resid) / np.sqrt(var) < 4
