"""What a real p-bit machine would do: the update rule of eq. 4 as hardware implements it.

A :class:`Substrate` is a value object of the knobs hardware turns (Niazi et al. 2024's FPGA: fixed-point weights,
LFSR random numbers, a look-up-table activation; Aadit et al. 2022: inexact simultaneous updates; stochastic MTJs:
telegraph switching with a dwell time and device spread). :class:`EmulatedKernel` (backend ``"emulated"``) is the
reference kernel with those knobs; with every knob at its ideal value it *is* the reference kernel's law (tested
against enumeration), so each knob's cost can be measured alone: :func:`tv_to_exact`.

* ``weight_bits``: J and h rounded to signed fixed point with ``weight_bits`` bits at one scale (default: the
  largest magnitude maps to the largest code) -- what an FPGA's multiply-accumulate sees. Works on every backend
  through :func:`quantized_model`.
* ``rng = "lfsr"``: every group of ``lfsr_share`` p-bits draws from one Galois LFSR of ``lfsr_bits`` bits (a
  maximal-length polynomial), ``rng_bits`` bits per number; ``rng_bits`` alone is the comparator's precision.
* ``lut_bits``: tanh(beta I) from a table of ``2^lut_bits`` entries over ``[-lut_range, lut_range]``.
* ``update = "simultaneous"``: every free p-bit updates at once from the same old state (no colouring): inexact.
* ``smtj``: each p-bit is a telegraph process with relaxation time ``tau_i = tau0 exp(Delta)`` (spread:
  log-normal ``tau_spread``, bias offsets ``bias_spread``); a sweep is a time step ``dt`` (in units of tau0) in
  which every p-bit at once relaxes toward ``P(+1) = (1 + tanh(beta I)) / 2`` of its current input: continuous-time
  Glauber dynamics, exact only as ``dt -> 0`` (at large ``dt`` it is the simultaneous update).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from paradigmlab.pbit.kernels.reference import ReferenceKernel
from paradigmlab.pbit.model import IsingModel, exact_law, tv_to_law
from paradigmlab.pbit.sampler import PBitSampler
from paradigmlab.validate import InputError, integer

#: Maximal-length Galois LFSR feedback masks (taps of primitive polynomials, Xilinx XAPP052).
LFSR_TAPS = {8: 0xB8, 16: 0xB400, 24: 0xE10000, 32: 0xA3000000}


@dataclass(frozen=True)
class Substrate:
    """The hardware knobs; the defaults are the ideal p-bit of eq. 4."""

    weight_bits: int | None = None
    weight_scale: float | None = None
    rng: str = "ideal"  # "ideal" (numpy PCG64) or "lfsr"
    lfsr_bits: int = 32
    lfsr_share: int = 1
    rng_bits: int | None = None  # comparator precision (bits of each random number); None: float64
    lut_bits: int | None = None
    lut_range: float = 4.0
    update: str = "colour"  # "colour" (exact Gibbs) or "simultaneous" (every p-bit at once: inexact)
    smtj: bool = False
    dt: float = 0.1  # sMTJ time step per sweep, in units of tau0
    tau_spread: float = 0.0  # log-normal sigma of tau_i / tau0
    bias_spread: float = 0.0  # s.d. of a fixed per-device offset added to h_i

    def __post_init__(self):
        if self.weight_bits is not None and (not isinstance(self.weight_bits, int) or self.weight_bits < 2):
            raise InputError(f"weight_bits must be an integer >= 2 (sign and one magnitude bit), got {self.weight_bits!r}")
        if self.weight_scale is not None and not self.weight_scale > 0:
            raise InputError(f"weight_scale must be > 0, got {self.weight_scale!r}")
        if self.rng not in ("ideal", "lfsr"):
            raise InputError(f"rng must be 'ideal' or 'lfsr', got {self.rng!r}")
        if self.lfsr_bits not in LFSR_TAPS:
            raise InputError(f"lfsr_bits must be one of {sorted(LFSR_TAPS)}, got {self.lfsr_bits!r}")
        if not isinstance(self.lfsr_share, int) or self.lfsr_share < 1:
            raise InputError(f"lfsr_share must be an integer >= 1, got {self.lfsr_share!r}")
        for k in ("rng_bits", "lut_bits"):
            v = getattr(self, k)
            if v is not None and (not isinstance(v, int) or not 1 <= v <= 24):
                raise InputError(f"{k} must be an integer in 1..24, got {v!r}")
        if self.rng == "lfsr" and self.rng_bits is not None and self.rng_bits > self.lfsr_bits:
            raise InputError(f"rng_bits ({self.rng_bits}) cannot exceed the LFSR's {self.lfsr_bits} bits")
        if self.update not in ("colour", "simultaneous"):
            raise InputError(f"update must be 'colour' or 'simultaneous', got {self.update!r}")
        if not self.lut_range > 0:
            raise InputError(f"lut_range must be > 0, got {self.lut_range!r}")
        if not self.dt > 0:
            raise InputError(f"dt must be > 0, got {self.dt!r}")
        if self.tau_spread < 0 or self.bias_spread < 0:
            raise InputError("tau_spread and bias_spread must be >= 0")

    def to_dict(self) -> dict:
        return asdict(self)

    def make_kernel(self, J, h, groups, num_chains, seed=None, device=None) -> "EmulatedKernel":
        """An :class:`EmulatedKernel` on this substrate: a ``Substrate`` is a kernel backend wherever one is
        named (``paradigmlab.pbit.kernels.make_kernel``; e.g. ``SparseDBM(..., backend=Substrate(...))``)."""
        return EmulatedKernel(J, h, groups, num_chains, seed=seed, device=device, substrate=self)


def lfsr_step(reg: np.ndarray, lfsr_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """One step of Galois LFSRs (uint64 registers of ``lfsr_bits`` bits): ``(new registers, output bits)``."""
    one = np.uint64(1)
    lsb = reg & one
    return (reg >> one) ^ ((np.uint64(0) - lsb) & np.uint64(LFSR_TAPS[lfsr_bits])), lsb


def quantize(x: np.ndarray, bits: int, scale: float) -> np.ndarray:
    """Signed fixed point: ``round(x / scale)`` clipped to ``+-(2^(bits-1) - 1)``, times ``scale``."""
    top = 2 ** (integer(bits, "bits", min=2) - 1) - 1
    return np.clip(np.round(np.asarray(x, np.float64) / scale), -top, top) * scale


def fixed_point_step(largest: float, bits: int) -> float:
    """The step of ``bits``-bit signed fixed point whose largest code is ``largest`` (1 for 0)."""
    top = 2 ** (integer(bits, "bits", min=2) - 1) - 1
    return float(largest) / top if largest > 0 else 1.0


def weight_scale(model_or_J, h=None, bits: int = 8) -> float:
    """The scale that maps the largest |J| or |h| to the largest code (1 for an all-zero model)."""
    if isinstance(model_or_J, IsingModel):
        J, h = model_or_J.J, model_or_J.h
    else:
        J = model_or_J
    J = sp.csr_matrix(J)
    big = max(float(np.max(np.abs(J.data))) if J.nnz else 0.0, float(np.max(np.abs(h))) if h is not None and len(h) else 0.0)
    return fixed_point_step(big, bits)


def quantized_model(model: IsingModel, bits: int, scale: float | None = None) -> IsingModel:
    """``model`` with J and h in ``bits``-bit fixed point (any backend can then sample what the FPGA computes)."""
    s = weight_scale(model, bits=bits) if scale is None else scale
    J = sp.csr_matrix(model.J, dtype=np.float64)
    J.data = quantize(J.data, bits, s)
    J.eliminate_zeros()
    return IsingModel(J, quantize(model.h, bits, s), beta=model.beta)


class EmulatedKernel(ReferenceKernel):
    """The reference kernel with a :class:`Substrate`'s knobs (a numpy kernel: for N up to ~10^4)."""

    def __init__(self, J, h, groups, num_chains, seed=None, device=None, substrate: Substrate = Substrate()):
        self.substrate = substrate
        super().__init__(J, h, groups, num_chains, seed=seed, device=device)

    def _setup(self) -> None:
        self._load_couplings()
        super()._setup()

    def _load_couplings(self) -> None:
        """The couplings the hardware holds: ``J`` and ``h`` in fixed point when ``weight_bits`` is set."""
        sub = self.substrate
        self._Jq, self._hq = self.J, self.h
        if sub.weight_bits is not None:
            s = sub.weight_scale or weight_scale(self.J, self.h, sub.weight_bits)
            self._Jq = sp.csr_matrix(self.J, dtype=np.float64)
            self._Jq.data = quantize(self._Jq.data, sub.weight_bits, s)
            self._hq = quantize(self.h, sub.weight_bits, s)

    def _seed_streams(self) -> None:
        super()._seed_streams()
        sub = self.substrate
        dev = np.random.default_rng(self.seed.spawn(2)[1])  # fixed per-device properties
        self._tau = np.exp(sub.tau_spread * dev.standard_normal(self.num_nodes)) if sub.smtj else None
        self._offset = sub.bias_spread * dev.standard_normal(self.num_nodes)
        if sub.rng == "lfsr":
            streams = -(-self.num_nodes // sub.lfsr_share)
            raw = self.rng.integers(1, 2 ** sub.lfsr_bits, size=(self.num_chains, streams), dtype=np.uint64)
            self._lfsr = raw  # nonzero seeds, one register per chain and stream
            self._lfsr_pos = np.zeros(streams, np.int64)

    # ---------------------------------------------------------------- the hardware pieces
    def _uniform(self, nodes: np.ndarray) -> np.ndarray:
        """One number in [0, 1) per chain and node, from the substrate's generator at its precision."""
        sub = self.substrate
        bits = sub.rng_bits
        if sub.rng == "ideal":
            u = self.rng.random((self.num_chains, len(nodes)))
            return u if bits is None else np.floor(u * 2 ** bits) / 2 ** bits
        bits = bits or sub.lfsr_bits
        one = np.uint64(1)
        streams = np.asarray(nodes) // sub.lfsr_share
        # p-bits of one stream take successive words of it, in node order: rank r = r-th p-bit of its stream here
        order = np.argsort(streams, kind="stable")
        first = np.r_[0, np.flatnonzero(np.diff(streams[order])) + 1]
        rank = np.empty(len(streams), np.int64)
        rank[order] = np.arange(len(streams)) - np.repeat(first, np.diff(np.r_[first, len(streams)]))
        out = np.zeros((self.num_chains, len(nodes)))
        for r in range(int(rank.max()) + 1 if len(rank) else 0):
            sel = np.flatnonzero(rank == r)
            reg = self._lfsr[:, streams[sel]]
            word = np.zeros_like(reg)
            for _ in range(bits):
                reg, lsb = lfsr_step(reg, sub.lfsr_bits)
                word = (word << one) | lsb
            self._lfsr[:, streams[sel]] = reg
            out[:, sel] = word.astype(np.float64) / 2 ** bits
        return out

    def _activation(self, x: np.ndarray) -> np.ndarray:
        """tanh(x), or its look-up table."""
        sub = self.substrate
        if sub.lut_bits is None:
            return np.tanh(x)
        n = 2 ** sub.lut_bits
        idx = np.round((np.clip(x, -sub.lut_range, sub.lut_range) + sub.lut_range) / (2 * sub.lut_range) * (n - 1))
        return np.tanh(idx / (n - 1) * 2 * sub.lut_range - sub.lut_range)

    def _update_order(self) -> None:
        super()._update_order()
        # sMTJs switch on their own, all at once in continuous time: no colouring either
        if (self.substrate.update == "simultaneous" or self.substrate.smtj) and self._groups_free:
            allg = np.sort(np.concatenate(self._groups_free))
            held = self.held_mask()
            self._groups_free, self._held = [allg], [held[allg]]

    def _run(self, betas: np.ndarray) -> None:
        sub = self.substrate
        for bt in betas:
            beta = bt * self.chain_beta[:, None]
            if np.isinf(bt):
                raise InputError("the emulated substrates sample at finite beta (a zero-temperature sweep is exact "
                                 "arithmetic: use another backend)")
            for g, held in zip(self._groups_free, self._held):
                I = (self._Jq[g] @ self.S.T).T + self._hq[g] + self._offset[g]
                m = self._activation(beta * I)  # the mean the p-bit should have
                if sub.smtj:  # telegraph relaxation toward (1 + m) / 2 over dt / tau_i
                    p_eq = 0.5 * (1 + m)
                    decay = np.exp(-sub.dt / self._tau[g])
                    p_up = p_eq + ((self.S[:, g] > 0) - p_eq) * decay
                    new = np.where(self._uniform(g) < p_up, 1.0, -1.0)
                else:  # eq. 4 as sgn(tanh(beta I) - r), r = 2u - 1
                    new = np.where(m > 2 * self._uniform(g) - 1, 1.0, -1.0)
                self.S[:, g] = np.where(held, self.S[:, g], new)


class EmulatedSampler(PBitSampler):
    """:class:`PBitSampler` whose kernels run on a :class:`Substrate` (the whole Sampler interface, dimod
    included)."""

    def __init__(self, substrate: Substrate = Substrate(), coloring="auto"):
        super().__init__(backend="reference", coloring=coloring)
        self.substrate = substrate
        self.backend = "emulated"

    def kernel(self, model: IsingModel, num_chains: int, seed: int | None = None):
        return EmulatedKernel(model.J, model.h, self.groups(model), num_chains, seed=seed, substrate=self.substrate)


def tv_to_exact(model: IsingModel, substrate: Substrate, chains: int = 256, sweeps: int = 1000, burn_in: int = 100,
                beta: float = 1.0, seed: int = 0) -> float:
    """Total-variation distance between the substrate's samples and ``model``'s exact law at ``beta``."""
    p = exact_law(model, beta)
    res = EmulatedSampler(substrate).sample(model, chains, sweeps, beta=beta, burn_in=burn_in, seed=seed)
    return tv_to_law(res.states, p)
