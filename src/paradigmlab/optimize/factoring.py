"""Integer factoring by invertible logic: a p-bit multiplier run backwards.

The circuit multiplies an ``a``-bit ``p`` by a ``b``-bit ``q``: AND gates form
the partial products ``p_i q_j``, and each column of the product is summed by
half and full adders (carry-save, Wallace style) down to one output bit.
Every gate is a small energy that is zero exactly on its truth table and at
least one elsewhere:

* AND ``c = a b``: ``3c + ab - 2ac - 2bc``
* half adder ``a + b = s + 2c``: ``(a + b - s - 2c)^2``
* full adder ``a + b + c_in = s + 2c``: ``(a + b + c_in - s - 2c)^2``

so the ground states of the whole circuit are its consistent evaluations.
Clamping the output bits to ``N`` leaves as ground states exactly the pairs
with ``p q = N``: the p-bits, free to move in every direction, search for the
inputs (Camsari et al., "Stochastic p-bits for invertible logic", PRX 2017).
"""

from __future__ import annotations

import math
import numpy as np

from paradigmlab.optimize.solvers import SolveResult
from paradigmlab.pbit import IsingModel


def is_prime(n: int) -> bool:
    """Deterministic Miller-Rabin for ``n < 3.3e24`` (enough for any circuit we can sample)."""
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
    for p in small:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def random_semiprime(bits: int, seed: int | None = None) -> tuple[int, int, int]:
    """``(N, p, q)`` with ``N = p q`` of exactly ``bits`` bits and primes of ``bits // 2`` and ``bits - bits // 2`` bits."""
    if bits < 4:
        raise ValueError(f"a semiprime needs at least 4 bits, got {bits}")
    rng = np.random.default_rng(seed)
    a, b = bits // 2, bits - bits // 2
    primes_a = [x for x in range(max(2, 1 << (a - 1)), 1 << a) if is_prime(x)]
    primes_b = [x for x in range(max(2, 1 << (b - 1)), 1 << b) if is_prime(x)]
    for _ in range(10_000):
        p, q = int(rng.choice(primes_a)), int(rng.choice(primes_b))
        if (p * q).bit_length() == bits:
            return p * q, min(p, q), max(p, q)
    raise ValueError(f"could not draw a {bits}-bit semiprime")  # pragma: no cover


class Factoring:
    """The invertible multiplier for ``N = p q`` with ``p`` of ``bits_p`` and ``q`` of ``bits_q`` bits.

    Defaults cover every factorisation with ``p <= sqrt(N)``: ``bits_p`` =
    bits of ``isqrt(N)``, ``bits_q`` = bits of ``N // 3`` (``N // 2`` for even
    ``N``), the largest possible cofactor.
    ``odd_factors`` (default: when ``N`` is odd) clamps the lowest bits of ``p``
    and ``q`` to 1. Spin layout: ``p`` bits first (LSB first), then ``q``
    bits, then gate outputs; :attr:`clamp` is the ``{spin: +-1}`` dict that
    fixes the product to ``N``.
    """

    sense = "min"
    objective_name = "gate violations"

    def __init__(self, N: int, bits_p: int | None = None, bits_q: int | None = None,
                 odd_factors: bool | None = None):
        N = int(N)
        if N < 4:
            raise ValueError(f"N must be a composite number >= 4, got {N}")
        if is_prime(N):
            raise ValueError(f"N={N} is prime: there is nothing to factor")
        self.N = N
        self.bits_p = int(bits_p) if bits_p else max(2, math.isqrt(N).bit_length())
        self.bits_q = int(bits_q) if bits_q else max(2, (N // (2 if N % 2 == 0 else 3)).bit_length())
        if self.bits_p < 2 or self.bits_q < 2:
            raise ValueError("each factor needs at least 2 bits")
        width = self.bits_p + self.bits_q
        if N.bit_length() > width:
            raise ValueError(f"N={N} has {N.bit_length()} bits, more than a {self.bits_p}x{self.bits_q}-bit product")
        self.odd_factors = (N % 2 == 1) if odd_factors is None else bool(odd_factors)
        if self.odd_factors and N % 2 == 0:
            raise ValueError("odd_factors=True needs an odd N")
        self.name = f"factor {N}"
        self.bqm, self.output_bits = multiplier_bqm(self.bits_p, self.bits_q)
        self.model, self.ising_offset, self.variables = IsingModel.from_bqm(self.bqm)
        index = {v: k for k, v in enumerate(self.variables)}
        clamp: dict[int, int] = {}
        for k, var in enumerate(self.output_bits):
            bit = (N >> k) & 1
            if var is None:
                if bit:
                    raise ValueError(f"bit {k} of N is 1 but the circuit cannot produce it")
                continue
            clamp[index[var]] = 1 if bit else -1
        if self.odd_factors:
            clamp[index[("p", 0)]] = 1
            clamp[index[("q", 0)]] = 1
        self.clamp = clamp

    def __repr__(self) -> str:
        return f"Factoring(N={self.N}, bits={self.bits_p}x{self.bits_q}, p-bits={self.model.num_nodes})"

    def factors(self, spins: np.ndarray) -> tuple[int, int]:
        """The inputs ``(p, q)`` encoded by a spin state."""
        m = np.asarray(spins).reshape(-1)
        p = sum(1 << i for i in range(self.bits_p) if m[i] > 0)
        q = sum(1 << j for j in range(self.bits_q) if m[self.bits_p + j] > 0)
        return p, q

    def is_solution(self, spins: np.ndarray) -> bool:
        """Whether the state's inputs are a non-trivial factorisation of ``N``."""
        p, q = self.factors(spins)
        return p * q == self.N and 1 < p < self.N

    def solved(self, states: np.ndarray) -> np.ndarray:
        """Per state of a batch: do its inputs multiply to ``N`` (non-trivially)?"""
        return np.array([self.is_solution(m) for m in np.asarray(states)], dtype=bool)

    def objective(self, energy: float) -> float:
        """Total gate penalty (0 = a consistent circuit, hence a factorisation)."""
        return float(energy) + self.ising_offset

    @property
    def target_energy(self) -> float:
        """Ising energy of a fully consistent circuit."""
        return -self.ising_offset


def multiplier_bqm(bits_p: int, bits_q: int):
    """The invertible-logic multiplier as a BINARY BQM and its output bit variables.

    Returns ``(bqm, outputs)`` where ``outputs[k]`` is the variable holding
    product bit ``k`` (``None`` if the circuit has no bit there: it is 0).
    Variables: ``("p", i)``, ``("q", j)``, ``("and", i, j)``, ``("s", n)``
    and ``("c", n)`` for adder ``n``.
    """
    import dimod

    bqm = dimod.BinaryQuadraticModel(dimod.BINARY)
    bqm.add_variables_from(((("p", i), 0.0) for i in range(bits_p)))
    bqm.add_variables_from(((("q", j), 0.0) for j in range(bits_q)))
    width = bits_p + bits_q
    columns: list[list] = [[] for _ in range(width + 1)]
    for i in range(bits_p):
        for j in range(bits_q):
            c = ("and", i, j)
            _and_gate(bqm, ("p", i), ("q", j), c)
            columns[i + j].append(c)
    adders = 0
    for k in range(width):
        col = columns[k]
        while len(col) > 1:
            ins = [col.pop(0) for _ in range(min(3, len(col)))]
            s, c = ("s", adders), ("c", adders)
            adders += 1
            _square(bqm, [(v, 1.0) for v in ins] + [(s, -1.0), (c, -2.0)])
            col.append(s)
            if k + 1 < width:
                columns[k + 1].append(c)
            else:  # a carry out of the top column is always 0 for a consistent circuit
                bqm.add_linear(c, 1.0)
    outputs = [col[0] if col else None for col in columns[:width]]
    return bqm, outputs


def _and_gate(bqm, a, b, c) -> None:
    """``3c + ab - 2ac - 2bc``: zero iff ``c = a AND b``, else >= 1."""
    bqm.add_linear(c, 3.0)
    bqm.add_quadratic(a, b, 1.0)
    bqm.add_quadratic(a, c, -2.0)
    bqm.add_quadratic(b, c, -2.0)


def _square(bqm, terms: list[tuple]) -> None:
    """Add ``(sum_k alpha_k y_k)^2`` for bits ``y`` (distinct variables): uses ``y^2 = y``."""
    for k, (u, a) in enumerate(terms):
        bqm.add_linear(u, a * a)
        for v, b in terms[k + 1:]:
            bqm.add_quadratic(u, v, 2.0 * a * b)


#: Hot and cold beta for the gate energies (integer penalties of size 1-4): restarts of 1000 sweeps
#: with this range factored 3 of 3 random 20-bit semiprimes within 20 s in our tests.
FACTOR_BETA_RANGE = (0.2, 3.0)


def factor(N: int, time_limit: float = 60.0, seed: int | None = None, solver=None, progress: bool = False,
           **circuit) -> tuple[tuple[int, int] | None, SolveResult]:
    """Factor ``N`` with the clamped multiplier; returns ``((p, q) or None, SolveResult)``.

    The search stops as soon as the inputs of any chain multiply to ``N``
    (checked at every energy check) or at ``time_limit`` seconds;
    ``circuit`` is passed to :class:`Factoring`.
    """
    from paradigmlab.optimize.solvers import Annealer

    problem = Factoring(N, **circuit)
    solver = solver or Annealer(num_chains=64, num_sweeps=1000, growth=1.0, beta_range=FACTOR_BETA_RANGE)
    res = solver.solve(problem.model, time_limit=time_limit, accept=problem.solved, clamp=problem.clamp,
                       seed=seed, progress=progress, objective=problem.objective)
    return (problem.factors(res.hit_state) if res.reached_target else None), res
