"""Problem -> Ising mappings, proven by exhaustive enumeration on small instances."""

import itertools

import dimod
import networkx as nx
import numpy as np
import pytest

from paradigmlab.optimize.factoring import Factoring, is_prime, multiplier_bqm, random_semiprime
from paradigmlab.optimize.maxcut import MaxCut, cut_value, partition, spins_from_partition
from paradigmlab.optimize.qubo import QUBO, binary_to_spins, spins_to_binary
from paradigmlab.optimize.sat import CNF, SAT, penalty_bqm, random_ksat, satisfiable_random_ksat


def all_spins(n):
    return np.array(list(itertools.product([-1, 1], repeat=n)), dtype=np.int8)


# ------------------------------------------------------------------ Max-Cut
def test_cut_energy_map_matches_brute_force():
    rng = np.random.default_rng(0)
    G = nx.gnm_random_graph(9, 20, seed=1)
    for u, v in G.edges:
        G[u][v]["weight"] = int(rng.integers(-3, 4))
    p = MaxCut(G)
    S = all_spins(9)
    cuts = np.array([sum(d["weight"] for u, v, d in G.edges(data=True) if s[u] != s[v]) for s in S])
    assert np.allclose(p.cut_value(S), cuts)
    assert np.allclose(p.objective(p.model.energy(S)), cuts)
    assert p.target_energy(cuts.max()) == pytest.approx(p.model.energy(S).min())


def test_partition_round_trip_and_validation():
    m = spins_from_partition(6, [0, 2, 5])
    a, b = partition(m)
    assert a.tolist() == [0, 2, 5] and b.tolist() == [1, 3, 4]
    W = nx.to_numpy_array(nx.path_graph(6))
    assert cut_value(W, m) == 4  # path 0-1-2-3-4-5 with {0,2,5}: edges 01,12,23,45 cut
    with pytest.raises(ValueError, match="only -1 and \\+1"):
        cut_value(W, np.zeros(6))
    with pytest.raises(ValueError, match="symmetric"):
        MaxCut(np.triu(np.ones((3, 3)), 1))
    with pytest.raises(ValueError, match="self-loops"):
        MaxCut(np.eye(3))
    with pytest.raises(ValueError, match="outside"):
        spins_from_partition(3, [3])


# ------------------------------------------------------------------ QUBO
def test_qubo_offsets_exact_for_dict_matrix_and_bqm():
    rng = np.random.default_rng(2)
    Qm = np.triu(rng.integers(-5, 6, size=(6, 6)).astype(float))
    X = (all_spins(6) + 1) // 2
    want = np.einsum("si,ij,sj->s", X, Qm, X) + 1.5
    Qd = {(i, j): Qm[i, j] for i in range(6) for j in range(i, 6)}
    for source in (QUBO(Qm, 1.5), QUBO(Qd, 1.5), QUBO(dimod.BinaryQuadraticModel.from_qubo(Qd, 1.5))):
        order = np.array(source.variables)
        assert np.allclose(source.value(X[:, order]), want)
        S = binary_to_spins(X[:, order])
        assert np.allclose(source.objective(source.model.energy(S)), want)


def test_qubo_from_spin_bqm_and_conversions():
    bqm = dimod.BinaryQuadraticModel({"a": 1.0, "b": -2.0}, {("a", "b"): 0.5}, 0.25, dimod.SPIN)
    q = QUBO(bqm)
    for s in all_spins(2):
        sample = dict(zip(q.variables, s.tolist()))
        assert q.objective(q.model.energy(s)) == pytest.approx(bqm.energy(sample))
    assert spins_to_binary(np.array([-1, 1])).tolist() == [0, 1]
    with pytest.raises(ValueError, match="square"):
        QUBO(np.ones((2, 3)))
    with pytest.raises(ValueError, match="pairs"):
        QUBO({1: 2.0})


# ------------------------------------------------------------------ SAT
@pytest.mark.parametrize("seed", range(4))
def test_sat_penalty_minimum_over_aux_is_violated_weight(seed):
    rng = np.random.default_rng(seed)
    clauses = [list((rng.choice(4, size=int(k), replace=False) + 1) * rng.choice([-1, 1], size=int(k)))
               for k in rng.integers(1, 5, size=4)]
    clauses.append([1, -1, 2])  # a tautology adds nothing
    weights = rng.integers(1, 4, size=len(clauses)).astype(float)
    cnf = CNF(clauses, num_vars=4, weights=weights)
    bqm = penalty_bqm(cnf)
    aux = [v for v in bqm.variables if isinstance(v, tuple)]
    for x in itertools.product([0, 1], repeat=4):
        violated = weights[~cnf.satisfied(np.array(x))[0]].sum()
        best = min(bqm.energy({**{v: x[v - 1] for v in range(1, 5)}, **dict(zip(aux, a))})
                   for a in itertools.product([0, 1], repeat=len(aux)))
        assert best == pytest.approx(violated)


def test_sat_ising_ground_states_are_the_satisfying_assignments():
    cnf = CNF([[1, 2, 3], [-1, -2], [-2, -3, 1], [2, -3]])
    p = SAT(cnf)
    S = all_spins(p.model.num_nodes)
    E = p.model.energy(S)
    ground = S[np.isclose(E, E.min())]
    assert E.min() == pytest.approx(p.target_energy)
    sat_by_enum = {x for x in itertools.product([False, True], repeat=3) if cnf.satisfied(np.array(x)).all()}
    assert {tuple(p.assignment(s).tolist()) for s in ground} == sat_by_enum
    assert all(p.num_satisfied(s) == 4 for s in ground)


def test_cnf_validation_and_random_instances():
    with pytest.raises(ValueError, match="empty"):
        CNF([[]])
    with pytest.raises(ValueError, match="num_vars=2"):
        CNF([[3]], num_vars=2)
    cnf = random_ksat(10, 30, 3, seed=1)
    assert len(cnf.clauses) == 30 and all(len(set(map(abs, c))) == 3 for c in cnf.clauses)
    cnf2, s = satisfiable_random_ksat(20, 60, seed=3)
    sol = cnf2.pycosat_solution()
    assert cnf2.num_satisfied(sol) == 60
    unsat = CNF([list(c) for c in itertools.product([1, -1], [2, -2])])  # all 4 clauses on 2 vars
    assert unsat.pycosat_solution() is None


# ------------------------------------------------------------------ factoring
def test_multiplier_ground_states_are_exactly_the_products():
    bqm, outputs = multiplier_bqm(2, 3)
    variables = list(bqm.variables)
    n = len(variables)
    X = np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.int8)
    E = bqm.energies((X, variables))
    assert E.min() == 0
    idx = {v: k for k, v in enumerate(variables)}
    triples = set()
    for x in X[E == 0]:
        p = sum(x[idx[("p", i)]] << i for i in range(2))
        q = sum(x[idx[("q", j)]] << j for j in range(3))
        z = sum(x[idx[v]] << k for k, v in enumerate(outputs) if v is not None)
        triples.add((p, q, z))
    assert triples == {(p, q, p * q) for p in range(4) for q in range(8)}


def test_factoring_clamped_ground_states_factor_N():
    prob = Factoring(15, bits_p=2, bits_q=3, odd_factors=False)
    free = [k for k in range(prob.model.num_nodes) if k not in prob.clamp]
    S = np.zeros((2 ** len(free), prob.model.num_nodes), dtype=np.int8)
    for k, v in prob.clamp.items():
        S[:, k] = v
    S[:, free] = all_spins(len(free))
    E = prob.model.energy(S)
    assert E.min() == pytest.approx(prob.target_energy)
    assert {prob.factors(s) for s in S[np.isclose(E, E.min())]} == {(3, 5)}


def test_factoring_validation_and_semiprimes():
    with pytest.raises(ValueError, match="prime"):
        Factoring(13)
    with pytest.raises(ValueError, match="more than"):
        Factoring(1000, bits_p=2, bits_q=3)
    assert [n for n in range(30) if is_prime(n)] == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
    N, p, q = random_semiprime(14, seed=0)
    assert N == p * q and N.bit_length() == 14 and is_prime(p) and is_prime(q)
