"""Hostile input at the text-format boundary (Gset, DIMACS CNF, QUBO): clean errors naming file and line."""

import pytest

from paradigmlab.optimize.io import read_cnf, read_gset, read_qubo
from paradigmlab.validate import InputError


def _write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return p


def test_satlib_trailer_is_the_end_of_the_formula(tmp_path):
    # SATLIB uf20-91 files end with a line '%' then a line '0'
    p = _write(tmp_path, "uf.cnf", "c uf\np cnf 3 2\n1 -2 0\n2 3 0\n%\n0\n\n")
    cnf = read_cnf(p)
    assert cnf.clauses == [[1, -2], [2, 3]] and cnf.num_vars == 3


@pytest.mark.parametrize("reader,text", [
    (read_gset, "3 1\n1_0 2 1\n"),
    (read_gset, "3 1\n1 2 inf\n"),
    (read_gset, "3 1\n1 2 nan\n"),
    (read_gset, "0x3 1\n1 2 1\n"),
    (read_qubo, "3 1\n0 1 1e400\n"),
    (read_cnf, "p cnf 3 1\n1 -2_0 0\n"),
])
def test_fields_are_parsed_strictly(tmp_path, reader, text):
    p = _write(tmp_path, "f.txt", text)
    with pytest.raises(ValueError, match=r"f\.txt:\d+: "):
        reader(p)


@pytest.mark.parametrize("reader,text", [
    (read_gset, "1000000000000 1\n1 2 1\n"),
    (read_qubo, "1000000000000000000 0\n"),
    (read_cnf, "p cnf 1000000000000 1\n1 0\n"),
])
def test_huge_declared_sizes_are_refused_before_allocating(tmp_path, reader, text):
    p = _write(tmp_path, "big.txt", text)
    with pytest.raises(InputError, match=r"big\.txt:1: declared .* GiB"):
        reader(p)


@pytest.mark.parametrize("reader,head", [(read_gset, b"3 1"), (read_qubo, b"3 1"), (read_cnf, b"p cnf 3 1")])
def test_non_utf8_names_the_file_and_line(tmp_path, reader, head):
    p = _write(tmp_path, "bad.txt", head + b"\n1 2 \xff\n")
    with pytest.raises(InputError, match=r"bad\.txt:2: not UTF-8"):
        reader(p)


def test_a_directory_is_not_a_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a regular file"):
        read_gset(tmp_path)


# ---------------------------------------------------------------- p-bit model files (issue examples)
import json  # noqa: E402

import numpy as np  # noqa: E402

from paradigmlab.pbit.io import load_model, save_npz  # noqa: E402
from paradigmlab.pbit.model import IsingModel  # noqa: E402


def _bqm_doc():
    import dimod

    bqm = dimod.BQM({0: 1.0, 1: -0.5, 2: 0.25}, {(0, 1): 0.3, (1, 2): -1.0}, 1.5, "SPIN")
    return bqm, bqm.to_serializable()


@pytest.mark.parametrize("edit,match", [
    (lambda d: d.update(quadratic_head=[-1, 1]), "quadratic_head entry must be >= 0"),
    (lambda d: d.update(quadratic_tail=[1, 99]), "quadratic_tail entry must be <= 2"),
    (lambda d: d.update(offset=float("nan")), "offset must be finite|not a number"),
    (lambda d: d.update(linear_biases=[1.0, -0.5]), "linear_biases has 2 entries, the header declares 3"),
    (lambda d: d.update(num_variables=10**15), "GiB"),
    (lambda d: d.update(num_variables=2.5), "num_variables must be an integer"),
    (lambda d: d.update(variable_type="QUBIT"), "variable_type must be SPIN or BINARY"),
    (lambda d: d.update(quadratic_biases=["x", 1.0]), "quadratic_biases entry must be a real number"),
    (lambda d: d.update(variable_labels=[0, 1, "a"]), "integers 0..N-1"),
])
def test_bqm_json_fields_are_checked_before_dimod_sees_them(tmp_path, edit, match):
    _, doc = _bqm_doc()
    edit(doc)
    p = tmp_path / "m.json"
    p.write_text(json.dumps(doc))  # NaN is written as the non-standard NaN literal
    with pytest.raises(ValueError, match=match):
        load_model(p)


@pytest.mark.parametrize("text", ["[]", "null", "3", '{"type": "BinaryQuadraticModel"}'])
def test_json_that_is_not_a_bqm_object(tmp_path, text):
    p = tmp_path / "m.json"
    p.write_text(text)
    with pytest.raises(ValueError, match=r"m\.json: "):
        load_model(p)


def test_bqm_json_with_shuffled_integer_labels_loads_by_label(tmp_path):
    bqm, doc = _bqm_doc()
    order = [2, 0, 1]
    pos = {v: k for k, v in enumerate(doc["variable_labels"])}
    doc["variable_labels"] = order
    doc["linear_biases"] = [bqm.linear[v] for v in order]
    doc["quadratic_head"] = [order.index(0), order.index(1)]
    doc["quadratic_tail"] = [order.index(1), order.index(2)]
    assert pos  # the original file had labels in order
    p = tmp_path / "m.json"
    p.write_text(json.dumps(doc))
    model, offset = load_model(p)
    S = np.array([[1, -1, 1], [-1, -1, 1], [1, 1, 1]], np.int8)
    assert np.allclose(model.energy(S) + offset, bqm.energies((S, [0, 1, 2])))


def _npz(tmp_path, name="m.npz", **arrays):
    p = tmp_path / name
    np.savez(p, **arrays)
    return p


def test_npz_examples_from_the_issue(tmp_path):
    m = IsingModel({(0, 1): 1.0, (1, 2): -0.5}, [0.1, 0.0, -0.2])
    good = tmp_path / "good.npz"
    save_npz(m, good)
    data = good.read_bytes()
    J = m.to_dense()
    # a bit flip anywhere: a clean error naming the file, or (zip headers numpy does not read) the same model
    outcomes = set()
    for k in range(0, len(data), 3):
        (tmp_path / "flip.npz").write_bytes(data[:k] + bytes([data[k] ^ (1 << (k % 8))]) + data[k + 1:])
        try:
            got, _ = load_model(tmp_path / "flip.npz")
        except ValueError as exc:
            assert "flip.npz" in str(exc)
            outcomes.add("error")
        else:
            assert np.array_equal(got.to_dense(), J) and np.array_equal(got.h, m.h), k
            outcomes.add("same")
    assert outcomes == {"error", "same"}
    cases = {"empty.npz": b"", "trunc.npz": data[: len(data) // 2]}
    for name, blob in cases.items():
        (tmp_path / name).write_bytes(blob)
        with pytest.raises(ValueError, match=name.replace(".", r"\.")):
            load_model(tmp_path / name)
    np.save(tmp_path / "arr.npy", np.eye(3))
    (tmp_path / "arr.npy").rename(tmp_path / "renamed.npz")
    with pytest.raises(ValueError, match=r"renamed\.npz: .*single \.npy"):
        load_model(tmp_path / "renamed.npz")
    with pytest.raises(ValueError, match="beta must be a scalar"):
        load_model(_npz(tmp_path, "vb.npz", J=J, beta=np.array([1.0, 2.0])))
    with pytest.raises(ValueError, match="must be a real numeric array"):
        load_model(_npz(tmp_path, "cx.npz", J=J + 1j * J))
    with pytest.raises(ValueError, match="J_indptr must be 4 non-decreasing"):
        load_model(_npz(tmp_path, "ip.npz", J_data=np.ones(4), J_indices=np.array([1, 0, 2, 1]),
                        J_indptr=np.array([0, 3, 1, 4]), J_shape=np.array([3, 3])))
    upper = tmp_path / "MODEL.NPZ"
    upper.write_bytes(data)
    loaded, _ = load_model(upper)
    assert np.array_equal(loaded.to_dense(), J)


@pytest.mark.parametrize("text,match", [
    ("0 1 1\n2 0.5\n2 0.7\n", "field of node 2 given twice"),
    ("# nodes 10 p-bits\n0 1 1\n", "expected '# nodes N'"),
    ("1_0 1 1\n", ":1: node index must be an integer"),
    ("# nodes 1000000000000\n0 1 1\n", "GiB"),
    ("0 999999999999 1\n", "GiB"),
    ("0 1 1e999\n", ":1: value must be finite"),
])
def test_text_edge_list_examples_from_the_issue(tmp_path, text, match):
    p = tmp_path / "m.txt"
    p.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_model(p)


def test_text_edge_list_not_utf8(tmp_path):
    p = tmp_path / "m.txt"
    p.write_bytes(b"0 1 1\n\xe9 2 1\n")
    with pytest.raises(ValueError, match=r"m\.txt:2: not UTF-8"):
        load_model(p)


def test_constructors_refuse_silent_casts():
    with pytest.raises(ValueError, match="J must be real"):
        IsingModel(__import__("scipy.sparse").sparse.csr_matrix(np.array([[0, 1j], [1j, 0]])))
    with pytest.raises(ValueError, match="pairs of integer node indices"):
        IsingModel({(0, 1.7): 1.0})
    with pytest.raises(ValueError, match="beta must be a real number"):
        IsingModel(np.zeros((2, 2)), beta=np.array([1.0, 2.0]))
