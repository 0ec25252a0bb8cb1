"""Readers and writers of paradigmlab.optimize.io: round trips and line-numbered errors."""

import numpy as np
import pytest
import scipy.sparse as sp

from paradigmlab.optimize.io import read_cnf, read_gset, read_qubo, write_cnf, write_gset, write_qubo


def _write(tmp_path, text, name="f.txt"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_gset_round_trip_and_values(tmp_path):
    p = _write(tmp_path, "4 4\n1 2 1\n2 3 -1\n3 4 2\n1 4 1\n")
    W = read_gset(p)
    assert W.shape == (4, 4)
    assert W[0, 1] == 1 and W[1, 0] == 1 and W[1, 2] == -1 and W[2, 3] == 2 and W[3, 0] == 1
    q = write_gset(tmp_path / "out.gset", W)
    assert (read_gset(q) != W).nnz == 0
    assert q.read_text().splitlines()[0] == "4 4"


BAD_FILES = [
    (read_gset, "4 2\n1 2 1\n2 x 1\n", "f.txt:3: vertex must be an integer"),
    (read_gset, "4 1\n1 5 1\n", "f.txt:2: vertex out of range 1..4"),
    (read_gset, "4 1\n2 2 1\n", "f.txt:2: self-loop"),
    (read_gset, "4 2\n1 2 1\n", "promises 2 edges but the file has 1"),
    (read_gset, "4\n1 2 1\n", "f.txt:1: header must be 'N M'"),
    (read_gset, "4 1\n1 2\n", "f.txt:2: edge line must be 'i j w'"),
    (read_gset, "", "empty file"),
    (read_cnf, "p cnf 3 1\n1 4 0\n", "f.txt:2: literal 4 outside variables 1..3"),
    (read_cnf, "1 2 0\n", "f.txt:1: clause before the 'p cnf' header"),
    (read_cnf, "p cnf 3 2\n1 2 0\n", "promises 2 clauses but the file has 1"),
    (read_cnf, "p cnf 3 1\n1 y 0\n", "f.txt:2: literal must be an integer"),
    (read_cnf, "p cnf 3 2\n1 0 0\n", "f.txt:2: empty clause"),
    (read_cnf, "p dnf 3 1\n1 0\n", "f.txt:1: header must be 'p cnf"),
    (read_cnf, "c only comments\n", "no 'p cnf' header"),
    (read_qubo, "2 1\n0 2 1\n", "f.txt:2: variable out of range 0..1"),
    (read_qubo, "2 1\n0 1 nan\n", "f.txt:2: coefficient must be finite"),
    (read_qubo, "2 1\noffset\n0 1 1\n", "f.txt:2: offset line must be"),
    (read_qubo, "2 2\n0 1 1\n", "promises 2 entries"),
]


@pytest.mark.parametrize("reader, text, message", BAD_FILES)
def test_malformed_files_name_the_line(tmp_path, reader, text, message):
    with pytest.raises(ValueError, match=message):
        reader(_write(tmp_path, text))


def test_gset_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_gset(tmp_path / "nope")


def test_cnf_round_trip_multiline_clause(tmp_path):
    p = _write(tmp_path, "c a comment\np cnf 3 2\n1 -2\n 3 0\n-1 2 0\n", "a.cnf")
    cnf = read_cnf(p)
    assert cnf.num_vars == 3 and cnf.clauses == [[1, -2, 3], [-1, 2]]
    back = read_cnf(write_cnf(tmp_path / "b.cnf", cnf))
    assert back.clauses == cnf.clauses and back.num_vars == 3


def test_qubo_round_trip_sums_pairs(tmp_path):
    p = _write(tmp_path, "# a QUBO\n3 4\noffset 2.5\n0 0 -1\n0 1 2\n1 0 1\n2 2 0.5\n")
    Q, offset, n = read_qubo(p)
    assert n == 3 and offset == 2.5
    assert Q == {(0, 0): -1.0, (0, 1): 3.0, (2, 2): 0.5}
    Q2, off2, n2 = read_qubo(write_qubo(tmp_path / "q.txt", Q, n, offset))
    assert (Q2, off2, n2) == (Q, offset, n)


def test_write_gset_accepts_networkx(tmp_path):
    import networkx as nx

    G = nx.cycle_graph(5)
    W = read_gset(write_gset(tmp_path / "c5", G))
    assert W.nnz == 10 and np.allclose(W.toarray(), nx.to_numpy_array(G))
    assert sp.issparse(W)
