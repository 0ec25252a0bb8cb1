"""QUBO problems ``min_x x^T Q x + offset`` over ``x in {0,1}^N`` as p-bit Ising models.

Inputs may be a dict ``{(i, j): q}``, a dense or scipy.sparse matrix, a dimod
``BinaryQuadraticModel`` (BINARY or SPIN) or a plain-text QUBO file (see
:mod:`paradigmlab.optimize.io`). The change of variables ``x = (m + 1) / 2``
keeps the constant exactly: ``value(x) == model.energy(m) + ising_offset``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from paradigmlab.pbit import IsingModel
from paradigmlab.pbit.spins import check_spins


def spins_to_binary(spins: np.ndarray) -> np.ndarray:
    """``x = (m + 1) / 2``: spins in {-1, +1} to bits in {0, 1} (int8)."""
    m = check_spins(spins, name="spins", ndim=None)
    return ((m + 1) // 2).astype(np.int8)


def binary_to_spins(x: np.ndarray) -> np.ndarray:
    """``m = 2x - 1``: bits in {0, 1} to spins in {-1, +1} (int8)."""
    b = np.asarray(x)
    if not np.all((b == 0) | (b == 1)):
        raise ValueError("binary values must contain only 0 and 1")
    return (2 * b - 1).astype(np.int8)


def as_bqm(Q: Any, offset: float = 0.0):
    """A dimod BINARY BQM from a QUBO dict, matrix (dense/sparse) or an existing BQM."""
    import dimod

    if isinstance(Q, dimod.BinaryQuadraticModel):
        bqm = Q.change_vartype(dimod.BINARY, inplace=False)
        bqm.offset += offset
        return bqm
    if isinstance(Q, dict):
        for key, q in Q.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise ValueError(f"QUBO dict keys must be pairs (i, j), got {key!r}")
            if not np.isfinite(float(q)):
                raise ValueError(f"QUBO coefficient for {key} is not finite")
        return dimod.BinaryQuadraticModel.from_qubo(Q, offset=offset)
    M = sp.coo_matrix(Q if sp.issparse(Q) else np.asarray(Q, dtype=np.float64))
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"QUBO matrix must be square, got shape {M.shape}")
    if not np.all(np.isfinite(M.data)):
        raise ValueError("QUBO matrix contains NaN or inf")
    bqm = dimod.BinaryQuadraticModel.from_qubo({}, offset=offset)
    bqm.add_variables_from((i, 0.0) for i in range(M.shape[0]))
    for i, j, q in zip(M.row.tolist(), M.col.tolist(), M.data.tolist()):
        if i == j:
            bqm.add_linear(i, q)
        else:
            bqm.add_quadratic(i, j, q)
    return bqm


class QUBO:
    """A QUBO instance, its p-bit Ising model and the exact value <-> energy maps."""

    sense = "min"
    objective_name = "value"

    def __init__(self, Q: Any, offset: float = 0.0, name: str = "qubo"):
        self.bqm = as_bqm(Q, offset)
        if not len(self.bqm.variables):
            raise ValueError("QUBO has no variables")
        self.name = name
        self.model, self.ising_offset, self.variables = IsingModel.from_bqm(self.bqm)

    @classmethod
    def from_file(cls, path: str | Path) -> "QUBO":
        """Read the plain-text QUBO format (every variable 0..N-1 kept, even unused ones)."""
        from paradigmlab.optimize.io import read_qubo

        Q, offset, n = read_qubo(path)
        full = {(i, i): 0.0 for i in range(n)}
        for k, q in Q.items():
            full[k] = full.get(k, 0.0) + q
        return cls(full, offset, name=Path(path).name)

    @property
    def num_vars(self) -> int:
        """Number of binary variables."""
        return len(self.variables)

    def __repr__(self) -> str:
        return f"QUBO({self.name!r}, N={self.num_vars}, interactions={self.bqm.num_interactions})"

    def value(self, x: np.ndarray) -> np.ndarray | float:
        """``x^T Q x + offset`` for bits ``x`` ordered as :attr:`variables` (one or a batch)."""
        b = np.asarray(x)
        batch = b.reshape(1, -1) if b.ndim == 1 else b
        if batch.shape[1] != self.num_vars:
            raise ValueError(f"x must have {self.num_vars} entries per state, got shape {b.shape}")
        binary_to_spins(batch)  # validates 0/1
        vals = self.bqm.energies((batch, self.variables))
        return float(vals[0]) if b.ndim == 1 else np.asarray(vals)

    def objective(self, energy: float | np.ndarray) -> float | np.ndarray:
        """QUBO value of a spin state with Ising energy ``energy``."""
        out = np.asarray(energy, dtype=np.float64) + self.ising_offset
        return float(out) if out.ndim == 0 else out

    def target_energy(self, value: float) -> float:
        """Ising energy of a state whose QUBO value is ``value``."""
        return float(value) - self.ising_offset

    def assignment(self, spins: np.ndarray) -> dict:
        """``{variable: 0/1}`` for one spin state."""
        return dict(zip(self.variables, spins_to_binary(spins).tolist()))
