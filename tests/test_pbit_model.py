"""IsingModel: formats, validation, energies, QUBO and dimod conversions; colouring."""

from __future__ import annotations

import itertools

import dimod
import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from paradigmlab.data.niazi2024 import load_niazi2024
from paradigmlab.pbit import IsingModel, check_coloring, color_graph


def small_model(seed=0, n=6):
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(size=(n, n)), 1)
    return IsingModel(J + J.T, rng.normal(size=n))


def test_all_input_formats_agree():
    dense = np.array([[0, 1.5, 0], [1.5, 0, -2.0], [0, -2.0, 0]])
    h = np.array([0.1, 0.0, -0.3])
    G = nx.Graph()
    G.add_nodes_from(range(3))
    G.add_edge(0, 1, weight=1.5)
    G.add_edge(1, 2, weight=-2.0)
    models = [
        IsingModel(dense, h),
        IsingModel(sp.csr_matrix(dense), h),
        IsingModel(G, h),
        IsingModel({(0, 1): 1.5, (2, 1): -2.0}, h),
    ]
    for m in models:
        np.testing.assert_array_equal(m.to_dense(), dense)
        assert m.num_edges == 2


def test_energy_definition():
    m = small_model()
    S = np.array(list(itertools.product([-1, 1], repeat=6)))
    Jd = m.to_dense()
    expected = [-sum(Jd[i, j] * s[i] * s[j] for i in range(6) for j in range(i + 1, 6)) - m.h @ s for s in S]
    np.testing.assert_allclose(m.energy(S), expected)
    np.testing.assert_allclose(m.local_fields(S), S @ Jd + m.h)


@pytest.mark.parametrize(
    "J, h, match",
    [
        (np.array([[0, 1], [2, 0]]), None, "symmetric"),
        (np.array([[1, 0], [0, 0]]), None, "zero diagonal"),
        (np.array([[0, np.nan], [np.nan, 0]]), None, "NaN"),
        (np.zeros((2, 3)), None, "square"),
        (np.zeros((2, 2)), np.zeros(3), "length N=2"),
        (np.zeros((2, 2)), np.array([0, np.inf]), "NaN or inf"),
        ({(0, 0): 1.0}, None, "self-coupling"),
        ({(0, 1): 1.0, (1, 0): 2.0}, None, "symmetric"),
    ],
)
def test_validation_names_the_problem(J, h, match):
    with pytest.raises(ValueError, match=match):
        IsingModel(J, h)


def test_states_validation():
    m = small_model()
    with pytest.raises(ValueError, match="only -1 and \\+1"):
        m.energy(np.zeros(6))
    with pytest.raises(ValueError, match="N=6 columns"):
        m.energy(np.ones(5))
    with pytest.raises(ValueError, match="beta"):
        IsingModel(np.zeros((2, 2)), beta=-1)


def test_dimod_round_trip_same_energies():
    m = small_model(1)
    bqm = m.to_bqm()
    S = np.array(list(itertools.product([-1, 1], repeat=6)))
    np.testing.assert_allclose(bqm.energies((S, range(6))), m.energy(S))
    back, offset, variables = IsingModel.from_bqm(bqm)
    assert offset == 0 and variables == list(range(6))
    np.testing.assert_allclose(back.to_dense(), m.to_dense())
    np.testing.assert_allclose(back.h, m.h)


def test_from_bqm_binary_keeps_offset():
    bqm = dimod.BinaryQuadraticModel({0: 1.0, 1: -2.0}, {(0, 1): 3.0}, 0.5, dimod.BINARY)
    m, offset, _ = IsingModel.from_bqm(bqm)
    for x in itertools.product([0, 1], repeat=2):
        s = 2 * np.array(x) - 1
        assert bqm.energy(dict(enumerate(x))) == pytest.approx(m.energy(s) + offset)


def test_qubo_round_trip_exact():
    m = small_model(2)
    Q, off = m.to_qubo()
    for x in itertools.product([0, 1], repeat=6):
        x = np.array(x)
        assert x @ Q @ x + off == pytest.approx(m.energy(2 * x - 1))
    rng = np.random.default_rng(3)
    Q2 = rng.normal(size=(5, 5))  # not symmetric, not triangular
    m2, off2 = IsingModel.from_qubo(Q2)
    for x in itertools.product([0, 1], repeat=5):
        x = np.array(x)
        assert x @ Q2 @ x == pytest.approx(m2.energy(2 * x - 1) + off2)


def test_coloring_is_proper_and_validated():
    G = nx.random_regular_graph(6, 200, seed=1)
    m = IsingModel(G)
    for method in ("dsatur", "greedy"):
        groups = color_graph(m.J, method)
        check_coloring(m.J, groups)  # raises on a conflict
    bad = [np.arange(100), np.arange(100, 200)]
    with pytest.raises(ValueError, match="colouring conflict"):
        check_coloring(m.J, bad)
    with pytest.raises(ValueError, match="misses node"):
        check_coloring(m.J, [np.arange(199)])
    with pytest.raises(ValueError, match="unknown colouring"):
        color_graph(m.J, "rainbow")


def test_niazi_graph_needs_at_most_five_colours():
    g = load_niazi2024()
    J = sp.coo_matrix((np.ones(len(g.edges)), (g.edges[:, 0], g.edges[:, 1])), shape=(g.num_nodes,) * 2)
    J = (J + J.T).tocsr()
    groups = color_graph(J, "auto")
    check_coloring(J, groups)
    assert len(groups) <= 5
    if g.colors is not None:  # the published 4-colouring is itself proper
        from paradigmlab.pbit.coloring import groups_from_colours

        assert len(check_coloring(J, groups_from_colours(g.colors))) == 4


def test_tv_to_law_reads_states_in_exact_law_order():
    from paradigmlab.pbit.model import tv_to_law

    S = np.array([[-1, -1], [1, 1], [1, 1], [-1, 1]], dtype=np.int8)  # codes 0, 3, 3, 1
    assert tv_to_law(S, np.array([0.25, 0.25, 0.0, 0.5])) == 0.0
    assert tv_to_law(S, np.full(4, 0.25)) == pytest.approx(0.25)
