"""Boolean satisfiability as a p-bit energy: clause penalties, reduced to quadratic.

A clause ``(l_1 or ... or l_k)`` is violated exactly when every literal is
false, i.e. when the product ``u_1 u_2 ... u_k`` of the negated literals
(``u = 1 - x_v`` for ``v``, ``u = x_v`` for ``-v``) is 1. Clauses of one and
two literals give linear and quadratic penalties directly; longer clauses are
reduced to quadratic with Rosenberg's substitution: an auxiliary bit ``w``
stands for ``u_1 u_2`` and the penalty ``M (u_1 u_2 - 2 u_1 w - 2 u_2 w + 3 w)``
(zero when ``w = u_1 u_2``, at least ``M`` otherwise) makes any other choice
of ``w`` costlier, then ``w u_3 ...`` is reduced the same way. With ``M``
at least the clause weight, the minimum over the auxiliary bits of the total
penalty is exactly the weight of the violated clauses, so the ground states
are the satisfying (or, for max-SAT, the best) assignments.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from paradigmlab.pbit import IsingModel


class CNF:
    """A formula in conjunctive normal form with DIMACS literals (``v`` / ``-v``, 1-based).

    ``weights`` (default 1 per clause) make it a weighted max-SAT instance.
    """

    def __init__(self, clauses: Sequence[Sequence[int]], num_vars: int | None = None,
                 weights: Sequence[float] | None = None):
        self.clauses = [[int(v) for v in c] for c in clauses]
        for k, c in enumerate(self.clauses):
            if not c:
                raise ValueError(f"clause {k} is empty")
            if 0 in c:
                raise ValueError(f"clause {k} contains the literal 0 (DIMACS uses 0 only as a terminator)")
        used = max((abs(v) for c in self.clauses for v in c), default=0)
        self.num_vars = used if num_vars is None else int(num_vars)
        if self.num_vars < used or self.num_vars < 1:
            raise ValueError(f"num_vars={self.num_vars} but clauses use variable {used}")
        w = np.ones(len(self.clauses)) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (len(self.clauses),) or np.any(w <= 0) or not np.all(np.isfinite(w)):
            raise ValueError("weights must be one positive finite number per clause")
        self.weights = w

    def __repr__(self) -> str:
        return f"CNF(vars={self.num_vars}, clauses={len(self.clauses)})"

    def satisfied(self, assignment: np.ndarray) -> np.ndarray:
        """Boolean ``(states, clauses)`` matrix: which clauses each assignment satisfies.

        ``assignment``: bools/0-1 of shape ``(num_vars,)`` or ``(S, num_vars)``
        (variable ``v`` at column ``v - 1``).
        """
        a = np.asarray(assignment)
        a = a.reshape(1, -1) if a.ndim == 1 else a
        if a.ndim != 2 or a.shape[1] != self.num_vars:
            raise ValueError(f"assignment must have {self.num_vars} columns, got shape {np.shape(assignment)}")
        a = a.astype(bool)
        out = np.zeros((a.shape[0], len(self.clauses)), dtype=bool)
        for k, c in enumerate(self.clauses):
            lits = np.array(c)
            vals = a[:, np.abs(lits) - 1]
            out[:, k] = np.any(np.where(lits > 0, vals, ~vals), axis=1)
        return out

    def num_satisfied(self, assignment: np.ndarray) -> np.ndarray | int:
        """Number of satisfied clauses (one assignment -> int, a batch -> array)."""
        n = self.satisfied(assignment).sum(axis=1)
        return int(n[0]) if np.ndim(assignment) == 1 else n

    def pycosat_solution(self) -> np.ndarray | None:
        """A satisfying assignment from the pycosat (PicoSAT) solver, or ``None`` if unsatisfiable."""
        import pycosat

        sol = pycosat.solve(self.clauses, vars=self.num_vars)
        if sol == "UNSAT":
            return None
        if sol == "UNKNOWN":  # pragma: no cover - only with a propagation limit
            raise RuntimeError("pycosat could not decide the formula")
        return np.array([v > 0 for v in sol[: self.num_vars]], dtype=bool)


def random_ksat(num_vars: int, num_clauses: int, k: int = 3, seed: int | None = None) -> CNF:
    """Uniform random k-SAT: each clause has ``k`` distinct variables with random signs."""
    if k < 1 or num_vars < k or num_clauses < 1:
        raise ValueError(f"need 1 <= k <= num_vars and num_clauses >= 1, got k={k}, vars={num_vars}, "
                         f"clauses={num_clauses}")
    rng = np.random.default_rng(seed)
    clauses = []
    for _ in range(num_clauses):
        vs = rng.choice(num_vars, size=k, replace=False) + 1
        signs = rng.choice([-1, 1], size=k)
        clauses.append((vs * signs).tolist())
    return CNF(clauses, num_vars)


def satisfiable_random_ksat(num_vars: int, num_clauses: int, k: int = 3, seed: int = 0,
                            max_tries: int = 1000) -> tuple[CNF, int]:
    """The first satisfiable (checked by pycosat) random k-SAT from seeds ``seed, seed+1, ...``.

    Returns the formula and the seed that generated it.
    """
    for s in range(seed, seed + max_tries):
        cnf = random_ksat(num_vars, num_clauses, k, seed=s)
        if cnf.pycosat_solution() is not None:
            return cnf, s
    raise ValueError(f"no satisfiable instance among {max_tries} seeds from {seed}")


class SAT:
    """A CNF as a p-bit Ising model; the ground energy means all clauses satisfied.

    Spin ``i < num_vars`` is variable ``i + 1`` (+1 = true); the remaining
    spins are auxiliary bits of the quadratic reduction. ``aux_penalty`` is
    ``M / weight`` (>= 1 keeps the reduction exact).
    """

    sense = "max"
    objective_name = "satisfied clauses"

    def __init__(self, cnf: CNF, aux_penalty: float = 1.0, name: str = "sat"):
        if aux_penalty < 1:
            raise ValueError(f"aux_penalty must be >= 1 for an exact reduction, got {aux_penalty}")
        self.cnf = cnf
        self.name = name
        self.bqm = penalty_bqm(cnf, aux_penalty)
        self.model, self.ising_offset, self.variables = IsingModel.from_bqm(self.bqm)
        self.num_aux = self.model.num_nodes - cnf.num_vars

    def __repr__(self) -> str:
        return f"SAT({self.name!r}, vars={self.cnf.num_vars}, clauses={len(self.cnf.clauses)}, aux={self.num_aux})"

    def assignment(self, spins: np.ndarray) -> np.ndarray:
        """Truth values of the problem variables (auxiliary bits dropped)."""
        m = np.asarray(spins)
        return m[..., : self.cnf.num_vars] > 0

    def num_satisfied(self, spins: np.ndarray) -> np.ndarray | int:
        """Satisfied clauses of a spin state (or a batch)."""
        return self.cnf.num_satisfied(self.assignment(spins))

    def penalty(self, energy: float) -> float:
        """Clause penalty of a state with Ising energy ``energy`` (>= weight of violated clauses)."""
        return float(energy) + self.ising_offset

    @property
    def target_energy(self) -> float:
        """Ising energy of a satisfying assignment with optimal auxiliary bits."""
        return -self.ising_offset


def penalty_bqm(cnf: CNF, aux_penalty: float = 1.0):
    """The quadratic clause penalty as a dimod BINARY BQM.

    Variables ``1..num_vars`` come first (in order), then auxiliary variables
    ``("aux", clause, level)``. Tautologies (``v`` and ``-v`` in one clause)
    add nothing; repeated literals count once.
    """
    import dimod

    bqm = dimod.BinaryQuadraticModel(dimod.BINARY)
    bqm.add_variables_from((v, 0.0) for v in range(1, cnf.num_vars + 1))
    for k, (clause, weight) in enumerate(zip(cnf.clauses, cnf.weights)):
        lits = sorted(set(clause), key=abs)
        if any(-v in lits for v in lits):
            continue
        # a negated literal u is (var, c, s): u = c + s * x_var
        terms = [(abs(v), 1.0, -1.0) if v > 0 else (abs(v), 0.0, 1.0) for v in lits]
        if len(terms) == 1:
            var, c, s = terms[0]
            bqm.offset += weight * c
            bqm.add_linear(var, weight * s)
            continue
        M = aux_penalty * weight
        head = terms[0]
        for level, nxt in enumerate(terms[1:-1]):
            w = ("aux", k, level)
            bqm.add_variable(w, 0.0)
            aux = (w, 0.0, 1.0)
            _add_product(bqm, head, nxt, M)       # M u_a u_b
            _add_product(bqm, head, aux, -2 * M)  # -2M u_a w
            _add_product(bqm, nxt, aux, -2 * M)   # -2M u_b w
            bqm.add_linear(w, 3 * M)              # +3M w
            head = aux
        _add_product(bqm, head, terms[-1], weight)
    return bqm


def _add_product(bqm, a: tuple, b: tuple, coeff: float) -> None:
    """Add ``coeff * (c_a + s_a x_a)(c_b + s_b x_b)`` to a BINARY BQM (``a``, ``b`` distinct variables)."""
    va, ca, sa = a
    vb, cb, sb = b
    bqm.offset += coeff * ca * cb
    bqm.add_linear(va, coeff * sa * cb)
    bqm.add_linear(vb, coeff * ca * sb)
    bqm.add_quadratic(va, vb, coeff * sa * sb)
