"""Every backend samples the exact Boltzmann law (checked by enumeration)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from paradigmlab.pbit import IsingModel, PBitSampler

BACKENDS = ["reference", "numba", "torch"]


def all_states(n: int) -> np.ndarray:
    return np.array(list(itertools.product([-1, 1], repeat=n)), dtype=np.int8)


def exact_distribution(model: IsingModel, beta: float, free: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All states (restricted to those consistent with a clamp) and their Boltzmann probabilities."""
    S = all_states(model.num_nodes)
    if free is not None:
        S = S[free(S)]
    logw = -beta * model.energy(S)
    p = np.exp(logw - logw.max())
    return S, p / p.sum()


def tv_distance(samples: np.ndarray, S: np.ndarray, p: np.ndarray) -> float:
    """Total-variation distance between the empirical law of ``samples`` and ``p`` over ``S``."""
    n = S.shape[1]
    weights = 1 << np.arange(n)[::-1]
    code = lambda X: ((X > 0).astype(np.int64) * weights).sum(1)  # noqa: E731
    q = np.bincount(code(samples), minlength=2**n).astype(float)
    q /= q.sum()
    pe = np.zeros(2**n)
    pe[code(S)] = p
    return 0.5 * np.abs(q - pe).sum()


def random_model(n: int, density: float, field: float, seed: int, scale: float = 0.6) -> IsingModel:
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0, scale, size=(n, n)) * (rng.random((n, n)) < density), 1)
    return IsingModel(J + J.T, rng.normal(0, field, size=n))


# (model, chains, sweeps): sample sizes chosen so that an i.i.d. sample of the
# exact law would have TV distance about 0.01-0.015 (finite-sample floor),
# well below the 0.03 bound that a wrong sampler exceeds.
CASES = {
    "dense-8": (dict(n=8, density=1.0, field=0.4, seed=1), 64, 2500),
    "sparse-12": (dict(n=12, density=0.3, field=0.5, seed=2), 64, 2500),
    "sparse-14": (dict(n=14, density=0.3, field=0.5, seed=3, scale=1.0), 256, 2400),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(CASES))
def test_matches_exact_enumeration(backend, case):
    params, chains, sweeps = CASES[case]
    model = random_model(**params)
    beta = 0.9
    res = PBitSampler(backend).sample(model, num_chains=chains, num_sweeps=sweeps, beta=beta, burn_in=50, seed=7)
    S, p = exact_distribution(model, beta)
    assert tv_distance(res.states, S, p) < 0.03
    # energies reported are the model's energies of the returned states
    np.testing.assert_allclose(res.energies, model.energy(res.states))


@pytest.mark.parametrize("backend", BACKENDS)
def test_sequential_scan_matches_exact(backend):
    model = random_model(n=10, density=0.5, field=0.3, seed=4)
    res = PBitSampler(backend, coloring="sequential").sample(model, num_chains=32, num_sweeps=3000, burn_in=50, seed=3)
    S, p = exact_distribution(model, model.beta)
    assert tv_distance(res.states, S, p) < 0.03


@pytest.mark.parametrize("backend", BACKENDS)
def test_clamped_conditional_matches_exact(backend):
    model = random_model(n=11, density=0.5, field=0.3, seed=5)
    clamp = {0: 1, 4: -1, 7: 1}
    res = PBitSampler(backend).sample(model, num_chains=64, num_sweeps=2000, burn_in=50, clamp=clamp, seed=11)
    assert np.all(res.states[:, 0] == 1) and np.all(res.states[:, 4] == -1) and np.all(res.states[:, 7] == 1)
    ok = lambda X: (X[:, 0] == 1) & (X[:, 4] == -1) & (X[:, 7] == 1)  # noqa: E731
    S, p = exact_distribution(model, model.beta, free=ok)
    assert tv_distance(res.states, S, p) < 0.03


def test_per_chain_clamp_values():
    model = random_model(n=9, density=0.6, field=0.2, seed=6)
    values = np.array([[1, 1], [-1, 1], [1, -1], [-1, -1]] * 16)
    res = PBitSampler("numba").sample(model, num_chains=64, num_sweeps=2100, burn_in=100, clamp=([2, 5], values), seed=2)
    np.testing.assert_array_equal(res.states[:, [2, 5]], np.tile(values, (len(res) // 64, 1)))
    # chains clamped to (+1, +1) follow the exact conditional law
    sel = np.tile(np.arange(64) % 4 == 0, len(res) // 64)
    S, p = exact_distribution(model, model.beta, free=lambda X: (X[:, 2] == 1) & (X[:, 5] == 1))
    assert tv_distance(res.states[sel], S, p) < 0.03  # 32,000 samples of 128 states: i.i.d. floor ~0.02


@pytest.mark.parametrize("backend", BACKENDS)
def test_set_clamp_values_replaces_the_values_only(backend):
    from paradigmlab.pbit.coloring import color_graph
    from paradigmlab.pbit.kernels import make_kernel

    model = random_model(n=9, density=0.6, field=0.2, seed=6)
    k = make_kernel(backend, model.J, model.h, color_graph(model.J), 4, seed=0)
    k.set_states(np.ones((4, 9), np.int8))
    k.set_clamp([2, 5], np.array([1, -1]), draw_nodes=[5])
    order = [g.copy() for g in k.free_groups()]
    new = np.array([[1, 1], [-1, 1], [1, -1], [-1, -1]], np.int8)
    k.set_clamp_values(new)
    np.testing.assert_array_equal(k.get_states()[:, [2, 5]], new)
    k.run(np.ones(3))
    np.testing.assert_array_equal(k.get_states()[:, [2, 5]], new)  # still held
    assert all(np.array_equal(a, b) for a, b in zip(order, k.free_groups())) and list(k.draw_nodes) == [5]
    with pytest.raises(ValueError, match="shape"):
        k.set_clamp_values(new[:, :1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_tempering_preserves_each_temperature(backend):
    model = random_model(n=7, density=0.7, field=0.3, seed=8)
    ladder = [0.3, 0.6, 1.0, 1.5]
    res = PBitSampler(backend).sample_tempering(model, ladder, num_replicas=32, num_sweeps=2500, burn_in=50, seed=5)
    assert all(0 < a <= 1 for a in res.info["swap_acceptance"])
    for b in ladder:
        S, p = exact_distribution(model, b)
        assert tv_distance(res.at_beta(b).states, S, p) < 0.03, b


@pytest.mark.parametrize("backend", BACKENDS)
def test_annealing_finds_exact_ground_state(backend):
    # frustrated +-1 spin glass on 14 spins: enumerate the ground state, anneal to it
    rng = np.random.default_rng(12)
    n = 14
    J = np.triu(rng.choice([-1.0, 1.0], size=(n, n)) * (rng.random((n, n)) < 0.4), 1)
    model = IsingModel(J + J.T, rng.choice([-0.5, 0.0, 0.5], size=n))
    E0 = model.energy(all_states(n)).min()
    sched = np.geomspace(0.1, 5.0, 400)
    res = PBitSampler(backend).sample(model, num_chains=16, num_sweeps=400, beta=sched, burn_in=399, seed=1)
    assert res.lowest()[1] == pytest.approx(E0)


@pytest.mark.parametrize("chains", [40, 300])  # 300: more than one block even on one thread
def test_numba_result_independent_of_thread_count(chains):
    import numba

    model = random_model(n=12, density=0.4, field=0.2, seed=9)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = PBitSampler("numba").sample(model, num_chains=chains, num_sweeps=50, seed=3).states
        numba.set_num_threads(before)
        b = PBitSampler("numba").sample(model, num_chains=chains, num_sweeps=50, seed=3).states
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("backend", BACKENDS)
def test_set_couplings_switches_the_sampled_law(backend):
    a = random_model(n=8, density=0.6, field=0.3, seed=20)
    b = IsingModel(a.J * -1.5, a.h[::-1].copy())  # same pattern, new weights
    k = PBitSampler(backend).kernel(a, num_chains=64, seed=4)
    k.set_clamp([3], [1])
    k.run(np.ones(20))
    k.set_couplings(b.J, b.h)
    k.run(np.ones(50))
    samples = []
    for _ in range(1500):
        k.run(np.ones(1))
        samples.append(k.get_states())
    S, p = exact_distribution(b, 1.0, free=lambda X: X[:, 3] == 1)
    assert tv_distance(np.concatenate(samples), S, p) < 0.03


@pytest.mark.parametrize("backend", BACKENDS)
def test_reseeded_kernel_draws_what_a_fresh_kernel_draws(backend):
    """A persistent kernel reseeded with s continues exactly as a fresh kernel seeded with s (resume relies on it)."""
    a = random_model(n=10, density=0.5, field=0.2, seed=21)
    sampler = PBitSampler(backend)
    old = sampler.kernel(a, num_chains=16, seed=1)
    old.set_clamp([2, 5], np.tile([1, -1], (16, 1)))
    old.run(np.ones(7))
    start = old.get_states()
    old.reseed([9, 3])
    old.run(np.ones(5))
    fresh = sampler.kernel(a, num_chains=16, seed=[9, 3])
    fresh.set_states(start)
    fresh.set_clamp([2, 5], np.tile([1, -1], (16, 1)))
    fresh.run(np.ones(5))
    assert np.array_equal(old.get_states(), fresh.get_states())
    old.reseed([9, 4])
    old.run(np.ones(5))
    assert not np.array_equal(old.get_states(), fresh.get_states())  # another seed, another trajectory


@pytest.mark.parametrize("backend", BACKENDS)
def test_draw_nodes_keep_common_random_numbers(backend):
    """Clamped p-bits that still draw leave a kernel on the same random numbers as one where they are free.

    The three p-bits are decoupled and pinned at +1 by a huge field, so free or
    clamped at +1 they hold the same value: the trajectories agree exactly
    when the clamped ones draw, and drift apart when they skip their draws.
    """
    n, pinned, pixels = 12, [3, 7, 10], [0, 1]
    a = random_model(n=n, density=0.5, field=0.3, seed=31)
    J = a.J.toarray()
    J[pinned, :] = J[:, pinned] = 0.0
    h = a.h.copy()
    h[pinned] = 60.0
    model = IsingModel(J, h)
    rng = np.random.default_rng(0)
    start = rng.choice(np.array([-1, 1], np.int8), size=(16, n))
    start[:, pinned] = 1
    px = rng.choice([-1, 1], size=(16, 2))
    kernels = []
    for clamp, values, draw in [(pixels, px, ()),
                                (pixels + pinned, np.c_[px, np.ones((16, 3))], pinned),
                                (pixels + pinned, np.c_[px, np.ones((16, 3))], ())]:
        k = PBitSampler(backend).kernel(model, num_chains=16, seed=4)
        k.set_states(start)
        k.set_clamp(clamp, values, draw_nodes=draw)
        k.run(np.ones(6))
        kernels.append(k)
    free, drawing, skipping = (k.get_states() for k in kernels)
    assert np.array_equal(free, drawing)
    assert not np.array_equal(free, skipping)
    assert kernels[1].updates_per_sweep == kernels[2].updates_per_sweep == 16 * (n - 5)
    with pytest.raises(ValueError, match="subset"):
        kernels[0].set_clamp(pixels, px, draw_nodes=[5])


def test_set_couplings_rejects_colouring_conflict_and_bad_values():
    a = IsingModel({(0, 1): 1.0, (2, 3): 1.0}, num_nodes=4)
    k = PBitSampler("numba").kernel(a, num_chains=4, seed=0)
    J = np.zeros((4, 4))
    J[0, 1] = J[1, 0] = J[1, 2] = J[2, 1] = J[0, 2] = J[2, 0] = 1.0  # a triangle needs 3 colours
    with pytest.raises(ValueError, match="colouring conflict"):
        k.set_couplings(J, np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        k.set_couplings(a.J * np.nan, np.zeros(4))
    with pytest.raises(ValueError, match="keep N=4"):
        k.set_couplings(a.J, np.zeros(5))
