"""Read and write Ising model files: text edge lists, ``.npz`` and dimod BQM JSON.

Text format (0-based indices, ``#`` starts a comment)::

    # nodes 4264          optional: the number of p-bits (default: 1 + largest index)
    0 1 0.25              a coupling  i j J_ij
    7 -0.5                a field     i h_i

Every reader reports the file and line of a malformed entry.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from paradigmlab.measure import savez_atomic
from paradigmlab.pbit.model import IsingModel
from paradigmlab.validate import (InputError, declared_size, float_token, int_token, integer, number, read_npz,
                                  real_array, strict_json, text_lines)


def load_model(path: str | Path) -> tuple[IsingModel, float]:
    """Load a model file by extension (any case); returns ``(model, energy_offset)``.

    ``.npz`` (arrays ``J`` dense, or ``J_data/J_indices/J_indptr/J_shape``, and
    ``h``, optional scalar ``beta``), ``.json`` (dimod BQM serialisation; the offset
    is the BQM's constant in our sign convention; integer labels 0..N-1 in any
    order), anything else: text. Every field is validated before anything is
    built (types, finiteness, sizes against the file and against memory), and
    every error names the file (and line, for text).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file {path} does not exist")
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} is not a regular file")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _load_npz(path), 0.0
    if suffix == ".json":
        return _load_bqm_json(path)
    return _load_text(path), 0.0


def save_npz(model: IsingModel, path: str | Path) -> None:
    """Save ``model`` (sparse J, h, beta) to ``.npz``, atomically."""
    J = model.J.tocsr()
    savez_atomic(path, dict(J_data=J.data, J_indices=J.indices, J_indptr=J.indptr, J_shape=np.array(J.shape),
                            h=model.h, beta=np.array(model.beta)), compressed=True)


#: What an .npz model file may hold.
NPZ_KEYS = {"J", "J_data", "J_indices", "J_indptr", "J_shape", "h", "beta"}


def _load_npz(path: Path) -> IsingModel:
    arrays = read_npz(path, ".npz model file")
    keys = set(arrays)
    if not keys & {"J", "J_data"}:
        raise ValueError(f"{path}: .npz needs an array 'J' (or J_data/J_indices/J_indptr/J_shape); has {sorted(keys)}")
    if keys - NPZ_KEYS:  # a damaged or foreign file: never drop arrays silently (a lost 'h' would read as zeros)
        raise ValueError(f"{path}: unexpected arrays {sorted(keys - NPZ_KEYS)} (a model .npz holds {sorted(NPZ_KEYS)})")
    try:
        if "J" in arrays:
            J = real_array(arrays["J"], "J", finite=True, source=path)
            if J.ndim != 2 or J.shape[0] != J.shape[1]:
                raise InputError(f"{path}: J must be a square matrix, got shape {J.shape}")
        else:
            J = _csr_from_parts(path, arrays)
        h = None
        if "h" in arrays:
            h = real_array(arrays["h"], "h", source=path)
        beta = 1.0
        if "beta" in arrays:
            b = arrays["beta"]
            if b.shape != ():
                raise InputError(f"{path}: beta must be a scalar, got an array of shape {b.shape}")
            beta = number(b.item(), "beta", min=0.0, source=path)
        return IsingModel(J, h, beta=beta)
    except InputError:
        raise
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _csr_from_parts(path: Path, a: dict) -> sp.csr_matrix:
    missing = {"J_data", "J_indices", "J_indptr", "J_shape"} - set(a)
    if missing:
        raise InputError(f"{path}: sparse J needs J_data, J_indices, J_indptr and J_shape (missing {sorted(missing)})")
    shape = a["J_shape"]
    if shape.shape != (2,) or shape.dtype.kind not in "iu" or shape[0] != shape[1] or shape[0] < 1:
        raise InputError(f"{path}: J_shape must be two equal positive integers, got {shape.tolist()}")
    n = declared_size(int(shape[0]), "J_shape", 64, source=path)
    data = real_array(a["J_data"], "J_data", source=path)
    indices, indptr = a["J_indices"], a["J_indptr"]
    for name, arr in (("J_indices", indices), ("J_indptr", indptr)):
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise InputError(f"{path}: {name} must be a 1-D integer array, got {arr.dtype} of shape {arr.shape}")
    if data.ndim != 1 or indices.shape != data.shape:
        raise InputError(f"{path}: J_data and J_indices must be 1-D of equal length, got {data.shape} and {indices.shape}")
    if indptr.shape != (n + 1,) or indptr[0] != 0 or indptr[-1] != data.size or np.any(np.diff(indptr) < 0):
        raise InputError(f"{path}: J_indptr must be {n + 1} non-decreasing offsets from 0 to {data.size}")
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise InputError(f"{path}: J_indices must lie in 0..{n - 1}")
    return sp.csr_matrix((data, indices.astype(np.int64), indptr.astype(np.int64)), shape=(n, n))


def _load_bqm_json(path: Path) -> tuple[IsingModel, float]:
    """A dimod BQM serialisation (``bqm.to_serializable()``), checked field by field before dimod sees it
    (dimod trusts its input: a negative ``quadratic_head`` index crashes the process)."""
    import dimod

    doc = strict_json("".join(line for _, line in text_lines(path)), path, "dimod BQM JSON file")
    if not isinstance(doc, dict) or doc.get("type") != "BinaryQuadraticModel":
        raise ValueError(f"{path}: not a dimod BQM JSON file (expected an object with type BinaryQuadraticModel)")
    if doc.get("use_bytes"):
        raise ValueError(f"{path}: BQM JSON with use_bytes=true is not supported; save with bqm.to_serializable()")
    try:
        n = integer(doc.get("num_variables"), "num_variables", min=0, source=path)
        m = integer(doc.get("num_interactions"), "num_interactions", min=0, source=path)
        declared_size(n, "num_variables", 64, source=path)
        declared_size(m, "num_interactions", 64, source=path)
        vartype = doc.get("variable_type")
        if vartype not in ("SPIN", "BINARY"):
            raise InputError(f"{path}: variable_type must be SPIN or BINARY, got {vartype!r}")
        labels = _json_list(doc, "variable_labels", n, path)
        linear = [number(v, "linear_biases entry", source=path) for v in _json_list(doc, "linear_biases", n, path)]
        quad = [number(v, "quadratic_biases entry", source=path)
                for v in _json_list(doc, "quadratic_biases", m, path)]
        head = [integer(v, "quadratic_head entry", min=0, max=n - 1, source=path)
                for v in _json_list(doc, "quadratic_head", m, path)]
        tail = [integer(v, "quadratic_tail entry", min=0, max=n - 1, source=path)
                for v in _json_list(doc, "quadratic_tail", m, path)]
        offset = number(doc.get("offset", 0.0), "offset", source=path)
    except InputError as exc:
        raise ValueError(str(exc)) from None
    if any(a == b for a, b in zip(head, tail)):
        raise ValueError(f"{path}: an interaction joins a variable with itself")
    if sorted(labels, key=repr) != list(range(n)) or not all(type(v) is int for v in labels):
        raise ValueError(f"{path}: BQM variables must be the integers 0..N-1 (in any order), got {labels[:5]}...")
    ordered = dimod.BinaryQuadraticModel(vartype)  # variables 0..N-1 in order, whatever order the file had
    position = {v: k for k, v in enumerate(labels)}
    ordered.add_variables_from((v, linear[position[v]]) for v in range(n))
    ordered.add_interactions_from((labels[a], labels[b], w) for a, b, w in zip(head, tail, quad))
    ordered.offset = offset
    model, offset, _ = IsingModel.from_bqm(ordered)
    return model, offset


def _json_list(doc: dict, key: str, length: int, path: Path) -> list:
    v = doc.get(key)
    if not isinstance(v, list):
        raise InputError(f"{path}: {key} must be a list, got {type(v).__name__}")
    if len(v) != length:
        raise InputError(f"{path}: {key} has {len(v)} entries, the header declares {length}")
    return v


def _load_text(path: Path) -> IsingModel:
    couplings: dict[tuple[int, int], float] = {}
    fields: dict[int, float] = {}
    n_declared = None
    for lineno, raw in text_lines(path):
        line = raw.strip()
        if line.startswith("#"):
            parts = line[1:].split()
            if parts and parts[0] == "nodes":
                if len(parts) != 2:
                    raise ValueError(f"{path}:{lineno}: expected '# nodes N', got {line!r}")
                if n_declared is not None:
                    raise ValueError(f"{path}:{lineno}: second '# nodes' line")
                n_declared = _int(parts[1], path, lineno)
                declared_size(n_declared, "declared nodes", 64, source=path, line=lineno)
            continue
        if not line:
            continue
        parts = line.split()
        if len(parts) == 3:
            i, j, w = _int(parts[0], path, lineno), _int(parts[1], path, lineno), _float(parts[2], path, lineno)
            if i == j:
                raise ValueError(f"{path}:{lineno}: self-coupling {i} {j} is not allowed")
            key = (min(i, j), max(i, j))
            if key in couplings and couplings[key] != w:
                raise ValueError(f"{path}:{lineno}: coupling {key} given twice with different values (asymmetric)")
            couplings[key] = w
        elif len(parts) == 2:
            i, v = _int(parts[0], path, lineno), _float(parts[1], path, lineno)
            if i in fields and fields[i] != v:
                raise ValueError(f"{path}:{lineno}: field of node {i} given twice with different values")
            fields[i] = v
        else:
            raise ValueError(f"{path}:{lineno}: expected 'i j J_ij' or 'i h_i', got {line!r}")
    idx = [k for key in couplings for k in key] + list(fields)
    if not idx:
        raise ValueError(f"{path}: no couplings or fields found")
    n = n_declared if n_declared is not None else max(idx) + 1
    if n_declared is None:
        declared_size(n, "largest node index + 1", 64, source=path)
    if max(idx) >= n:
        raise ValueError(f"{path}: node index {max(idx)} outside the declared {n} nodes")
    h = np.zeros(n)
    for i, v in fields.items():
        h[i] = v
    return IsingModel(couplings, h, num_nodes=n)


def _int(tok: str, path: Path, lineno: int) -> int:
    return int_token(tok, "node index", source=path, line=lineno, min=0)


def _float(tok: str, path: Path, lineno: int) -> float:
    return float_token(tok, "value", source=path, line=lineno)
