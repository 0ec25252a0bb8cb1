"""Annealing, parallel tempering, baselines and TTS against exact optima."""

import itertools
import math

import networkx as nx
import numpy as np
import pytest

from paradigmlab.optimize import Annealer, MaxCut, ParallelTempering, default_beta_range
from paradigmlab.optimize.baselines import run_baseline
from paradigmlab.optimize.factoring import factor
from paradigmlab.optimize.sat import SAT, CNF, satisfiable_random_ksat
from paradigmlab.pbit.tempering import respace_ladder
from paradigmlab.optimize.tts import measure_tts, tts, tts_from_hit_times


@pytest.fixture(scope="module")
def small_cut():
    """A 16-node weighted graph with its exact maximum cut by enumeration."""
    rng = np.random.default_rng(5)
    G = nx.gnm_random_graph(16, 40, seed=5)
    for u, v in G.edges:
        G[u][v]["weight"] = int(rng.integers(1, 4))
    p = MaxCut(G)
    S = np.array(list(itertools.product([-1, 1], repeat=16)), dtype=np.int8)
    return p, float(p.cut_value(S).max())


def test_annealer_finds_exact_max_cut_and_a_consistent_trace(small_cut):
    p, best = small_cut
    res = Annealer(num_chains=16, num_sweeps=300).solve(p.model, num_runs=2, seed=0)
    assert p.cut_value(res.state) == best
    assert res.energy == pytest.approx(p.model.energy(res.state))
    energies = [e for _, e in res.trace]
    assert energies == sorted(energies, reverse=True) and energies[-1] == res.energy
    assert res.runs == 2 and res.sweeps == 2 * (300 + 3)  # two runs, each with its quench


def test_annealer_stops_at_target_and_respects_clamp(small_cut):
    p, best = small_cut
    res = Annealer(num_chains=16, num_sweeps=200).solve(p.model, time_limit=30, seed=1,
                                                        target_energy=p.target_energy(best))
    assert res.reached_target and p.cut_value(res.hit_state) == best
    assert res.wall_s < 30  # stopped early at the target, not at the budget
    res = Annealer(num_chains=8, num_sweeps=50).solve(p.model, clamp={0: 1, 3: -1}, seed=2)
    assert res.state[0] == 1 and res.state[3] == -1


def test_parallel_tempering_finds_exact_max_cut(small_cut):
    p, best = small_cut
    res = ParallelTempering(num_temps=6, num_replicas=2, swap_every=10).solve(p.model, num_sweeps=800, seed=3)
    assert p.cut_value(res.state) == best
    assert res.sweeps == 800 and len(res.info["ladder"]) == 6
    assert all(0 <= a <= 1 for a in res.info["swap_acceptance"])


def test_respace_ladder_equalises_acceptance():
    ladder = np.array([0.1, 0.2, 0.3, 0.4, 2.0])
    new = respace_ladder(ladder, np.array([0.9, 0.9, 0.9, 0.01]), damping=0.0)
    assert new[0] == 0.1 and new[-1] == 2.0 and np.all(np.diff(new) > 0)
    assert np.diff(new)[-1] < np.diff(ladder)[-1]  # the gap with poor acceptance shrinks


def test_solver_validation():
    with pytest.raises(ValueError, match="schedule"):
        Annealer(schedule="cosine")
    with pytest.raises(ValueError, match="ladder"):
        ParallelTempering(ladder="random")
    with pytest.raises(ValueError, match="increasing"):
        ParallelTempering(ladder=[1.0, 0.5])
    model = MaxCut(nx.cycle_graph(4)).model
    with pytest.raises(ValueError, match="time_limit"):
        Annealer().solve(model, time_limit=-1)
    lo, hi = default_beta_range(model)
    assert 0 < lo < hi


def test_custom_schedule_array_is_used_as_given(small_cut):
    p, best = small_cut
    betas = np.linspace(0.05, 3.0, 400)
    res = Annealer(num_chains=16, schedule=betas).solve(p.model, num_runs=1, seed=4)
    assert res.sweeps == 400 + 3 and p.cut_value(res.state) == best  # the schedule plus the 3-sweep quench


def test_quench_leaves_a_one_flip_local_minimum():
    """A run that ends warm leaves uphill defects; the near-zero-temperature quench removes them."""
    G = nx.random_regular_graph(5, 300, seed=1)
    model = MaxCut(G).model
    warm = np.full(40, 0.3)  # ends far too hot to be a local minimum

    def defects(state):
        return int(np.sum(state * model.local_fields(state[None])[0] < 0))  # spins a flip would improve

    raw = Annealer(num_chains=16, schedule=warm, quench_sweeps=0).solve(model, num_runs=1, seed=3)
    quenched = Annealer(num_chains=16, schedule=warm, quench_sweeps=5).solve(model, num_runs=1, seed=3)
    assert defects(raw.state) > 0
    assert defects(quenched.state) == 0 and quenched.energy < raw.energy
    assert quenched.sweeps == 40 + 5


def test_sat_solved_and_max_sat_optimum():
    cnf, _ = satisfiable_random_ksat(20, 85, seed=11)
    prob = SAT(cnf)
    res = Annealer(num_chains=32, num_sweeps=500).solve(prob.model, time_limit=30, seed=0,
                                                        target_energy=prob.target_energy)
    assert res.reached_target and prob.num_satisfied(res.state) == 85
    unsat = SAT(CNF([list(c) for c in itertools.product([1, -1], [2, -2], [3, -3])]))  # 8 clauses, 7 at most
    res = Annealer(num_chains=16, num_sweeps=300).solve(unsat.model, seed=0)
    assert unsat.num_satisfied(res.state) == 7


def test_factor_small_semiprimes():
    for N, pq in [(35, {5, 7}), (143, {11, 13}), (34, {2, 17})]:
        found, res = factor(N, time_limit=30, seed=0)
        assert found is not None and set(found) == pq and res.reached_target


def test_dwave_baseline_scored_by_our_energy(small_cut):
    p, best = small_cut
    res = run_baseline(p.model, "dwave-sa", 0.5, seed=0, workers=1)
    assert res.energy == pytest.approx(p.model.energy(res.state)) and res.runs >= 1
    assert p.cut_value(res.state) <= best
    with pytest.raises(ValueError, match="unknown baseline"):
        run_baseline(p.model, "magic", 1.0)


def test_our_sampler_runs_through_the_same_dimod_path_as_the_baselines(small_cut):
    p, best = small_cut
    res = run_baseline(p.model, "pbit-sa", 0.5, seed=0, workers=1)
    assert res.runs >= 1 and res.info["solver"] == "pbit-sa"
    assert res.energy == pytest.approx(p.model.energy(res.state)) and p.cut_value(res.state) == best


def test_tts_formula_and_edge_cases():
    assert tts(1.0, 0.5) == pytest.approx(math.log(0.01) / math.log(0.5))
    assert tts(2.0, 1.0) == 2.0 and tts(1.0, 0.0) == math.inf
    with pytest.raises(ValueError):
        tts(1.0, 1.5)
    out = tts_from_hit_times([1.0, 2.0, None, 4.0], budget=5.0)
    # candidates: t=1 (p=.25), 2 (.5), 4 (.75), 5 (.75): best is t=2
    assert out["t_run"] == 2.0 and out["p_success"] == 0.5 and out["hits"] == 3
    assert out["tts"] == pytest.approx(2.0 * math.log(0.01) / math.log(0.5))
    assert tts_from_hit_times([None, None], budget=1.0)["tts"] == math.inf
    res = measure_tts(lambda s: 0.1 * (s + 1), repeats=3, budget=1.0)
    assert res["hit_times"] == pytest.approx([0.1, 0.2, 0.3]) and res["tts"] == pytest.approx(0.3)


def test_annealer_on_the_multispin_backend_finds_an_unweighted_max_cut():
    """+-1 Max-Cut (one coupling magnitude) anneals on the multispin backend to the exact optimum; weighted
    graphs and clamps are refused with the reason."""
    G = nx.gnm_random_graph(16, 40, seed=6)
    p = MaxCut(G)
    S = np.array(list(itertools.product([-1, 1], repeat=16)), dtype=np.int8)
    best = float(p.cut_value(S).max())
    res = Annealer(num_chains=64, num_sweeps=300, backend="multispin").solve(p.model, num_runs=2, seed=0)
    assert p.cut_value(res.state) == best and res.info["backend"] == "multispin"
    assert res.energy == pytest.approx(p.model.energy(res.state))
    with pytest.raises(ValueError, match="no clamps"):
        Annealer(backend="multispin").solve(p.model, clamp={0: 1})
    H = G.copy()
    for u, v in H.edges:
        H[u][v]["weight"] = 1 + (u + v) % 3
    with pytest.raises(ValueError, match="one magnitude"):
        Annealer(backend="multispin").solve(MaxCut(H).model)
