"""Read and write Ising model files: text edge lists, ``.npz`` and dimod BQM JSON.

Text format (0-based indices, ``#`` starts a comment)::

    # nodes 4264          optional: the number of p-bits (default: 1 + largest index)
    0 1 0.25              a coupling  i j J_ij
    7 -0.5                a field     i h_i

Every reader reports the file and line of a malformed entry.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from paradigmlab.pbit.model import IsingModel


def load_model(path: str | Path) -> tuple[IsingModel, float]:
    """Load a model file by extension; returns ``(model, energy_offset)``.

    ``.npz`` (arrays ``J`` dense, or ``J_data/J_indices/J_indptr/J_shape``, and
    ``h``, optional ``beta``), ``.json`` (dimod BQM serialisation; the offset
    is the BQM's constant in our sign convention), anything else: text.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file {path} does not exist")
    if path.suffix == ".npz":
        return _load_npz(path), 0.0
    if path.suffix == ".json":
        return _load_bqm_json(path)
    return _load_text(path), 0.0


def save_npz(model: IsingModel, path: str | Path) -> None:
    """Save ``model`` (sparse J, h, beta) to ``.npz``."""
    J = model.J.tocsr()
    np.savez_compressed(path, J_data=J.data, J_indices=J.indices, J_indptr=J.indptr,
                        J_shape=np.array(J.shape), h=model.h, beta=np.array(model.beta))


def _load_npz(path: Path) -> IsingModel:
    try:
        f = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from None
    with f:
        keys = set(f.files)
        if "J" in keys:
            J = f["J"]
        elif {"J_data", "J_indices", "J_indptr", "J_shape"} <= keys:
            J = sp.csr_matrix((f["J_data"], f["J_indices"], f["J_indptr"]), shape=tuple(f["J_shape"]))
        else:
            raise ValueError(f"{path}: .npz needs an array 'J' (or J_data/J_indices/J_indptr/J_shape); has {sorted(keys)}")
        h = f["h"] if "h" in keys else None
        beta = float(f["beta"]) if "beta" in keys else 1.0
    return IsingModel(J, h, beta=beta)


def _load_bqm_json(path: Path) -> tuple[IsingModel, float]:
    import dimod

    try:
        doc = json.loads(path.read_text())
        bqm = dimod.BinaryQuadraticModel.from_serializable(doc)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not a dimod BQM JSON file ({type(exc).__name__}: {exc})") from None
    model, offset, variables = IsingModel.from_bqm(bqm)
    if variables != list(range(len(variables))):
        raise ValueError(f"{path}: BQM variables must be the integers 0..N-1 in order, got {variables[:5]}...")
    return model, offset


def _load_text(path: Path) -> IsingModel:
    couplings: dict[tuple[int, int], float] = {}
    fields: dict[int, float] = {}
    n_declared = None
    with open(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.strip()
            if line.startswith("#"):
                parts = line[1:].split()
                if len(parts) == 2 and parts[0] == "nodes":
                    n_declared = _int(parts[1], path, lineno)
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
                fields[_int(parts[0], path, lineno)] = _float(parts[1], path, lineno)
            else:
                raise ValueError(f"{path}:{lineno}: expected 'i j J_ij' or 'i h_i', got {line!r}")
    idx = [k for key in couplings for k in key] + list(fields)
    if not idx:
        raise ValueError(f"{path}: no couplings or fields found")
    if min(idx) < 0:
        raise ValueError(f"{path}: negative node index")
    n = n_declared if n_declared is not None else max(idx) + 1
    if max(idx) >= n:
        raise ValueError(f"{path}: node index {max(idx)} outside the declared {n} nodes")
    h = np.zeros(n)
    for i, v in fields.items():
        h[i] = v
    return IsingModel(couplings, h, num_nodes=n)


def _int(tok: str, path: Path, lineno: int) -> int:
    try:
        return int(tok)
    except ValueError:
        raise ValueError(f"{path}:{lineno}: expected an integer node index, got {tok!r}") from None


def _float(tok: str, path: Path, lineno: int) -> float:
    try:
        v = float(tok)
    except ValueError:
        raise ValueError(f"{path}:{lineno}: expected a number, got {tok!r}") from None
    if not np.isfinite(v):
        raise ValueError(f"{path}:{lineno}: value {tok} is not finite")
    return v
