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
