"""Text formats of combinatorial problems: Gset graphs, DIMACS CNF, plain QUBO.

Every reader names the file and line of the first malformed entry in a
``ValueError``; fields are parsed strictly (plain decimal digits: no ``1_0``,
no ``inf``), files must be UTF-8, and a header that declares more nodes or
variables than memory can hold is refused before anything is allocated
(:func:`paradigmlab.validate.declared_size`). Writers produce files the
readers read back exactly.

* **Gset** (Helmberg & Rendl's ``rudy`` output): first line ``N M``, then ``M``
  lines ``i j w`` with 1-based vertices and integer (or real) weights.
* **DIMACS CNF**: ``c`` comment lines, a header ``p cnf V C``, then clauses as
  non-zero integers (``-v`` is the negated variable ``v``) each ending in ``0``;
  a clause may span lines; a line starting with ``%`` ends the formula (the SATLIB
  files, e.g. uf20-91, end with ``%`` and ``0``).
* **QUBO text** (this package's, modelled on Gset): ``#`` comment lines, first
  line ``N M``, then ``M`` lines ``i j q`` with 0-based variables; ``i == j``
  is the linear coefficient of ``x_i``, ``i != j`` adds ``q x_i x_j``. An
  optional line ``offset c`` adds a constant. The objective is
  ``sum q_ij x_i x_j + offset`` over ``x in {0, 1}^N``, to be minimised.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import scipy.sparse as sp

from paradigmlab.measure import atomic_path
from paradigmlab.validate import declared_size, float_token, int_token, text_lines

PathLike = str | os.PathLike


#: Bytes one declared node/variable may cost downstream (CSR row pointer, fields, states, colouring).
BYTES_PER_NODE = 64


def _data_lines(path: PathLike, comment: tuple[str, ...], stop: str | None = None) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, tokens)`` of non-empty, non-comment lines (UTF-8; errors name file and line).

    ``stop``: a line starting with it ends the data (SATLIB's ``%`` trailer).
    """
    for no, line in text_lines(path):
        s = line.strip()
        if stop is not None and s.startswith(stop):
            return
        if s and not s.startswith(comment):
            yield no, s.split()


def _number(tok: str, kind: type, path: PathLike, no: int, what: str):
    """Parse one field strictly (:func:`paradigmlab.validate.int_token` / ``float_token``)."""
    return (int_token if kind is int else float_token)(tok, what, source=path, line=no)


def _weight(tok: str, path: PathLike, no: int) -> float:
    """Integer-valued weights stay exact; real weights are allowed."""
    return float(_number(tok, float, path, no, "weight"))


def _header(lines: Iterator[tuple[int, list[str]]], path: PathLike, what: str) -> tuple[int, int]:
    try:
        no, tok = next(lines)
    except StopIteration:
        raise ValueError(f"{path}: empty file, expected a header line '{what}'") from None
    if len(tok) != 2:
        raise ValueError(f"{path}:{no}: header must be '{what}', got {' '.join(tok)!r}")
    n = _number(tok[0], int, path, no, "N")
    m = _number(tok[1], int, path, no, "M")
    if n < 1 or m < 0:
        raise ValueError(f"{path}:{no}: header needs N >= 1 and M >= 0, got N={n} M={m}")
    declared_size(n, "declared N", BYTES_PER_NODE, source=path, line=no)
    return n, m


# ---------------------------------------------------------------- Gset
def read_gset(path: PathLike) -> sp.csr_matrix:
    """Read a Gset graph into a symmetric weighted adjacency matrix (CSR, float64).

    Parallel edges are summed; self-loops, out-of-range vertices, a wrong edge
    count and non-numeric fields are errors naming the line.
    """
    lines = _data_lines(path, ("#", "c ", "%"))
    n, m = _header(lines, path, "N M")
    rows, cols, vals = [], [], []
    for no, tok in lines:
        if len(tok) != 3:
            raise ValueError(f"{path}:{no}: edge line must be 'i j w', got {' '.join(tok)!r}")
        i = _number(tok[0], int, path, no, "vertex")
        j = _number(tok[1], int, path, no, "vertex")
        if not (1 <= i <= n and 1 <= j <= n):
            raise ValueError(f"{path}:{no}: vertex out of range 1..{n} in edge ({i}, {j})")
        if i == j:
            raise ValueError(f"{path}:{no}: self-loop on vertex {i} is not allowed")
        rows.append(i - 1)
        cols.append(j - 1)
        vals.append(_weight(tok[2], path, no))
    if len(vals) != m:
        raise ValueError(f"{path}: header promises {m} edges but the file has {len(vals)}")
    W = sp.coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsr()
    W = (W + W.T).tocsr()
    W.eliminate_zeros()
    return W


def write_gset(path: PathLike, W) -> Path:
    """Write a symmetric adjacency matrix (dense, sparse or networkx graph) in Gset format."""
    from paradigmlab.optimize.maxcut import adjacency

    W = adjacency(W)
    upper = sp.triu(W, k=1).tocoo()
    path = Path(path)
    lines = [f"{W.shape[0]} {upper.nnz}"]
    lines += [f"{i + 1} {j + 1} {_fmt(w)}" for i, j, w in zip(upper.row, upper.col, upper.data)]
    _write_atomic(path, "\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------- DIMACS CNF
def read_cnf(path: PathLike):
    """Read a DIMACS CNF file into a :class:`~paradigmlab.optimize.sat.CNF`."""
    from paradigmlab.optimize.sat import CNF

    lines = _data_lines(path, ("c",), stop="%")
    header = None
    clauses: list[list[int]] = []
    current: list[int] = []
    for no, tok in lines:
        if tok[0] == "p":
            if header is not None:
                raise ValueError(f"{path}:{no}: second 'p' header")
            if len(tok) != 4 or tok[1] != "cnf":
                raise ValueError(f"{path}:{no}: header must be 'p cnf VARIABLES CLAUSES', got {' '.join(tok)!r}")
            header = (_number(tok[2], int, path, no, "variable count"), _number(tok[3], int, path, no, "clause count"))
            if header[0] < 1 or header[1] < 0:
                raise ValueError(f"{path}:{no}: header needs at least one variable and a non-negative clause count")
            declared_size(header[0], "declared variable count", BYTES_PER_NODE, source=path, line=no)
            continue
        if header is None:
            raise ValueError(f"{path}:{no}: clause before the 'p cnf' header")
        for t in tok:
            lit = _number(t, int, path, no, "literal")
            if lit == 0:
                if not current:
                    raise ValueError(f"{path}:{no}: empty clause")
                clauses.append(current)
                current = []
            elif abs(lit) > header[0]:
                raise ValueError(f"{path}:{no}: literal {lit} outside variables 1..{header[0]}")
            else:
                current.append(lit)
    if header is None:
        raise ValueError(f"{path}: no 'p cnf' header")
    if current:  # a missing final 0 is tolerated by most solvers
        clauses.append(current)
    if len(clauses) != header[1]:
        raise ValueError(f"{path}: header promises {header[1]} clauses but the file has {len(clauses)}")
    return CNF(clauses, num_vars=header[0])


def write_cnf(path: PathLike, cnf) -> Path:
    """Write a CNF in DIMACS format."""
    lines = [f"p cnf {cnf.num_vars} {len(cnf.clauses)}"]
    lines += [" ".join(str(v) for v in c) + " 0" for c in cnf.clauses]
    path = Path(path)
    _write_atomic(path, "\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------- QUBO text
def read_qubo(path: PathLike) -> tuple[dict[tuple[int, int], float], float, int]:
    """Read the plain QUBO format; returns ``(Q dict, offset, N)``.

    Entries for the same unordered pair are summed (``i j`` and ``j i`` both
    count), so the dict has keys with ``i <= j``.
    """
    lines = _data_lines(path, ("#",))
    n, m = _header(lines, path, "N M")
    Q: dict[tuple[int, int], float] = {}
    offset = 0.0
    count = 0
    for no, tok in lines:
        if tok[0] == "offset":
            if len(tok) != 2:
                raise ValueError(f"{path}:{no}: offset line must be 'offset VALUE'")
            offset += float(_number(tok[1], float, path, no, "offset"))
            continue
        if len(tok) != 3:
            raise ValueError(f"{path}:{no}: entry must be 'i j q', got {' '.join(tok)!r}")
        i = _number(tok[0], int, path, no, "variable")
        j = _number(tok[1], int, path, no, "variable")
        if not (0 <= i < n and 0 <= j < n):
            raise ValueError(f"{path}:{no}: variable out of range 0..{n - 1} in entry ({i}, {j})")
        key = (min(i, j), max(i, j))
        Q[key] = Q.get(key, 0.0) + _number(tok[2], float, path, no, "coefficient")
        count += 1
    if count != m:
        raise ValueError(f"{path}: header promises {m} entries but the file has {count}")
    return Q, offset, n


def write_qubo(path: PathLike, Q: dict[tuple[int, int], float], num_vars: int, offset: float = 0.0) -> Path:
    """Write a QUBO dict (0-based integer keys) in the plain QUBO format."""
    lines = [f"{int(num_vars)} {len(Q)}"]
    if offset:
        lines.append(f"offset {_fmt(offset)}")
    for (i, j), q in Q.items():
        if not (0 <= i < num_vars and 0 <= j < num_vars):
            raise ValueError(f"QUBO entry ({i}, {j}) outside variables 0..{num_vars - 1}")
        lines.append(f"{i} {j} {_fmt(q)}")
    path = Path(path)
    _write_atomic(path, "\n".join(lines) + "\n")
    return path


def _fmt(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() else repr(x)


def _write_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
