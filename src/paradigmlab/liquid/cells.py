"""Liquid cells: the liquid time-constant (LTC) neuron of paper eq. 1 and its closed-form successor (CfC).

Read top to bottom, in the manner of nanoGPT's model.py:

1. Boundary checks shared by the cells and the sequence layers (:func:`check_state`, :func:`elapsed_column`).
2. :class:`LTCCell` -- Hasani, Lechner, Amini, Rus, Grosu, "Liquid Time-constant Networks", AAAI 2021, eq. 1::

       dx/dt = -x / tau + f(x, I) * (A - x)

   with the paper's fused semi-implicit solver (its eq. 3) and explicit Euler / RK4 for comparison.
3. :class:`CfCCell` -- Hasani, Lechner, Amini, Liebenwein, Ray, Tschaikowski, Teschl, Rus, "Closed-form
   continuous-time neural networks", Nature Machine Intelligence 4, 992-1003 (2022): the time-gated
   interpolation ``x(t) = sigma(-f t) * g + (1 - sigma(-f t)) * h`` (modes ``default`` / ``no_gate``) and the
   direct closed-form approximation of the LTC solution (mode ``pure``), optionally behind an LSTM memory path
   (``mixed_memory``, Lechner & Hasani 2020, as ncps does).
4. Whole sequences, fast: :meth:`LTCCell.integrate_sequence` (the fused solver as one autograd node,
   :class:`FusedLTCSequence`, with a hand-written backward through time) and :meth:`CfCCell.forward_sequence`
   (state-independent work out of the time loop, then the loop itself compiled by numba with a hand-written
   backward, :class:`paradigmlab.liquid.cfc_kernel.CfCSequence`, where it applies). Both keep the step-by-step
   reference loop as
   ``fast=False``; the two agree to rounding, outputs and gradients (tests).
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.autograd.function import once_differentiable
from torch.nn import functional as F

from paradigmlab.liquid.cfc_kernel import CfCSequence
from paradigmlab.validate import InputError, integer, number

SOLVERS = ("fused", "euler", "rk4")
CFC_MODES = ("default", "no_gate", "pure")
ACTIVATIONS = ("lecun_tanh", "tanh", "relu", "silu", "gelu")


# ----------------------------------------------------------------------------------------------------------------
# boundary checks: run once per public call, so the inner loops (unfolds, time steps) stay free of host syncs


def check_state(t: torch.Tensor, name: str, width: int, what: str) -> None:
    """``t`` must be a finite 2-D ``(batch, width)`` floating tensor; ``what`` names the width in the message."""
    if not isinstance(t, torch.Tensor):
        raise InputError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise InputError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")
    if t.dim() != 2:
        raise InputError(f"{name} must be 2-D (batch, {what}), got shape {tuple(t.shape)}")
    if t.shape[1] != width:
        raise InputError(f"{name} must have {width} features ({what}), got {t.shape[1]}")
    if not bool(torch.isfinite(t).all()):
        raise InputError(f"{name} must be finite (it holds nan or inf)")


def elapsed_column(dt, name: str, batch: int, like: torch.Tensor, validate: bool = True):
    """Elapsed time as a float or a ``(batch, 1)`` column, one value per sample.

    A per-sample tensor becomes a column so that it broadcasts over the hidden units of *its own* sample:
    a ``(batch,)`` vector would broadcast along the hidden axis instead (ncps issues #81/#82), which is
    silently wrong whenever ``batch == hidden_size``.
    """
    if not isinstance(dt, torch.Tensor):
        return number(dt, name, min=0.0) if validate else float(dt)
    if validate:
        if dt.dim() == 0:
            pass
        elif dt.dim() > 2 or dt.numel() != batch or (dt.dim() == 2 and dt.shape[1] != 1):
            raise InputError(f"{name} must be a number or one value per sample, shape ({batch},) or ({batch}, 1); "
                             f"got shape {tuple(dt.shape)}")
        if not bool(torch.isfinite(dt).all()):
            raise InputError(f"{name} must be finite (it holds nan or inf)")
        if bool((dt < 0).any()):
            raise InputError(f"{name} must be >= 0 (an elapsed time), got {float(dt.min())}")
    dt = dt.to(dtype=like.dtype, device=like.device)
    return dt if dt.dim() == 0 else dt.reshape(batch, 1)


def _inverse_softplus(y: torch.Tensor) -> torch.Tensor:
    # softplus(x) = y  <=>  x = y + log(1 - exp(-y)); used to start a positive parameter at a chosen value
    return y + torch.log(-torch.expm1(-y))


# ----------------------------------------------------------------------------------------------------------------
# LTC


class LTCCell(nn.Module):
    """Liquid time-constant neuron layer, paper eq. 1 (Hasani et al., AAAI 2021, eq. 1)::

        dx/dt = -x / tau + f(x, I) * (A - x)

    ``tau`` (``> 0``) and ``A`` are per-neuron vectors of shape ``(hidden_size,)``. The liquid gate ``f`` is
    non-negative and made of sigmoid synapses, one per (presynaptic, postsynaptic) pair, from the state and
    from the input::

        f_i(x, I) = sum_j w_ji sigmoid(gamma_ji (x_j - mu_ji)) + sum_k s_ki sigmoid(gamma'_ki (I_k - mu'_ki))

    with ``w, s >= 0`` (softplus of raw parameters). Every neuron thus has the system time constant
    ``1 / (1/tau + f)``, which the input modulates (the "liquid" time constant), bounded as in the paper's
    Theorem 1: ``tau / (1 + tau * f_max) <= tau_sys <= tau``, ``f_max = sum_j w_ji + sum_k s_ki``.

    This is eq. 1 with one reversal potential ``A_i`` per neuron. ncps's ``LTCCell`` instead writes the
    conductance form with one reversal potential per synapse and a leak (its issue #57); the two coincide
    only when all synapses onto a neuron share a reversal potential.

    ``wiring`` (a :class:`~paradigmlab.liquid.wiring.NCP` or ``FullyConnected`` with ``units ==
    hidden_size``) keeps only its synapses: ``w`` and ``s`` are multiplied by its masks. The motor neurons,
    the NCP's outputs, are then the first ``wiring.output_size`` units of the state.

    State bound (checked in tests): since ``f >= 0`` and ``1/tau > 0``, ``dx_i/dt < 0`` above
    ``max(0, A_i)`` and ``> 0`` below ``min(0, A_i)``, so the interval ``[min(0, A_i), max(0, A_i)]`` is
    invariant for the exact flow. The fused step keeps it for *every* ``dt``: it returns the weighted mean
    of ``x``, ``A`` and ``0`` with weights ``1``, ``h f`` and ``h / tau`` (see :meth:`integrate`).
    """

    def __init__(self, input_size: int, hidden_size: int, *, solver: str = "fused", unfolds: int = 6,
                 tau_range: tuple[float, float] = (1.0, 2.0), wiring=None) -> None:
        super().__init__()
        self.input_size = integer(input_size, "input_size", min=1)
        self.hidden_size = integer(hidden_size, "hidden_size", min=1)
        if wiring is not None and wiring.units != self.hidden_size:
            raise InputError(f"hidden_size must equal wiring.units ({wiring.units}) with a wiring, got {hidden_size}")
        self.solver = _check_solver(solver)
        self.unfolds = integer(unfolds, "unfolds", min=1)
        lo = number(tau_range[0], "tau_range[0]", positive=True)
        hi = number(tau_range[1], "tau_range[1]", min=lo)
        n, m = self.hidden_size, self.input_size

        def uniform(shape, a, b):
            return torch.empty(shape).uniform_(a, b)

        # initial ranges as in ncps's LTCCell (w 0.001..1, sigmoid slope 3..8, centre 0.3..0.8), so that the
        # two implementations start from comparable dynamics in the side-by-side benchmarks
        self.tau_raw = nn.Parameter(_inverse_softplus(uniform(n, lo, hi)))
        self.A = nn.Parameter(uniform(n, -1.0, 1.0))
        self.w_raw = nn.Parameter(_inverse_softplus(uniform((n, n), 0.001, 1.0)))  # [pre j, post i]
        self.gamma = nn.Parameter(uniform((n, n), 3.0, 8.0))
        self.mu = nn.Parameter(uniform((n, n), 0.3, 0.8))
        # no separate affine input map (ncps has one): gamma' (a I + b - mu') already is one per synapse
        self.s_raw = nn.Parameter(_inverse_softplus(uniform((m, n), 0.001, 1.0)))
        self.s_gamma = nn.Parameter(uniform((m, n), 3.0, 8.0))
        self.s_mu = nn.Parameter(uniform((m, n), 0.3, 0.8))
        # a wiring (paradigmlab.liquid.wiring) removes synapses: its 0/1 masks multiply the weights, so a
        # missing synapse contributes nothing to f and its raw parameters get exactly zero gradient
        self.wiring = wiring
        if wiring is not None:
            self.register_buffer("w_mask", wiring.adjacency.to(self.w_raw.dtype))
            self.register_buffer("s_mask", wiring.sensory_mask(m).to(self.s_raw.dtype))
        else:
            self.w_mask = self.s_mask = None

    # -- parameters as the equations use them --------------------------------------------------------------
    @property
    def tau(self) -> torch.Tensor:
        """Per-neuron time constant, shape ``(hidden_size,)``, always ``> 0``."""
        return F.softplus(self.tau_raw)

    @property
    def w(self) -> torch.Tensor:
        """Recurrent synaptic weights ``w[j, i] >= 0`` (presynaptic ``j``, postsynaptic ``i``), 0 where the
        wiring has no synapse."""
        w = F.softplus(self.w_raw)
        return w if self.w_mask is None else w * self.w_mask

    @property
    def s(self) -> torch.Tensor:
        """Sensory synaptic weights ``s[k, i] >= 0`` (input ``k``, neuron ``i``), 0 where the wiring has no
        synapse."""
        s = F.softplus(self.s_raw)
        return s if self.s_mask is None else s * self.s_mask

    # -- eq. 1 --------------------------------------------------------------------------------------------
    def sensory_gate(self, I: torch.Tensor) -> torch.Tensor:
        """The input's part of ``f``, shape ``(batch, hidden_size)``; constant while the input is held."""
        return (self.s * torch.sigmoid(self.s_gamma * (I.unsqueeze(-1) - self.s_mu))).sum(1)

    def recurrent_gate(self, x: torch.Tensor) -> torch.Tensor:
        """The state's part of ``f``, shape ``(batch, hidden_size)``."""
        return (self.w * torch.sigmoid(self.gamma * (x.unsqueeze(-1) - self.mu))).sum(1)

    def gate(self, x: torch.Tensor, I: torch.Tensor) -> torch.Tensor:
        """``f(x, I) >= 0`` of eq. 1."""
        return self.recurrent_gate(x) + self.sensory_gate(I)

    def vector_field(self, x: torch.Tensor, I: torch.Tensor) -> torch.Tensor:
        """Right-hand side of eq. 1, ``-x/tau + f(x, I) (A - x)``, shape ``(batch, hidden_size)``."""
        return -x / self.tau + self.gate(x, I) * (self.A - x)

    # -- solvers -----------------------------------------------------------------------------------------
    def integrate(self, x: torch.Tensor, I: torch.Tensor, dt=1.0, solver: str | None = None,
                  unfolds: int | None = None, *, validate: bool = True) -> torch.Tensor:
        """Advance the state ``x`` over the elapsed time ``dt`` with the input ``I`` held constant.

        ``dt`` is a number or one value per sample (``(batch,)`` or ``(batch, 1)``). The interval is cut in
        ``unfolds`` sub-steps ``h = dt / unfolds``; ``solver`` is

        * ``"fused"``: the LTC paper's fused solver (Hasani et al. 2021, eq. 3), explicit in ``f`` and
          implicit in the linear terms: ``x <- (x + h f A) / (1 + h (1/tau + f))``. First-order accurate
          and stable for every ``h`` (the update is a convex combination of ``x``, ``A`` and ``0``),
          which is why the paper uses it: eq. 1 is stiff wherever ``f`` is large.
        * ``"euler"``: explicit Euler, ``x <- x + h dx/dt``; its linear part is unstable once
          ``h (1/tau + f) > 2``, so at large ``dt`` it overshoots the bound and diverges.
        * ``"rk4"``: classical fourth-order Runge-Kutta, the accurate reference at small ``h``.

        ``validate=False`` skips the boundary checks (for callers that already checked a whole sequence).
        """
        solver = self.solver if solver is None else solver
        unfolds = self.unfolds if unfolds is None else unfolds
        if validate:
            solver = _check_solver(solver)
            unfolds = integer(unfolds, "unfolds", min=1)
            check_state(I, "I", self.input_size, "input_size")
            check_state(x, "x", self.hidden_size, "hidden_size")
            if x.shape[0] != I.shape[0]:
                raise InputError(f"x and I must have the same batch size, got {x.shape[0]} and {I.shape[0]}")
        h = elapsed_column(dt, "dt", x.shape[0], x, validate) / unfolds

        # everything that does not depend on x is computed once per call, not once per unfold
        inv_tau, A, sens = 1.0 / self.tau, self.A, self.sensory_gate(I)
        w, gamma, mu = self.w, self.gamma, self.mu

        def f_of(x):
            return (w * torch.sigmoid(gamma * (x.unsqueeze(-1) - mu))).sum(1) + sens

        def rhs(x):
            return -x * inv_tau + f_of(x) * (A - x)

        for _ in range(unfolds):
            if solver == "fused":
                f = f_of(x)
                x = (x + h * f * A) / (1.0 + h * (inv_tau + f))
            elif solver == "euler":
                x = x + h * rhs(x)
            else:
                k1 = rhs(x)
                k2 = rhs(x + 0.5 * h * k1)
                k3 = rhs(x + 0.5 * h * k2)
                k4 = rhs(x + h * k3)
                x = x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        return x

    def integrate_sequence(self, x: torch.Tensor, inputs: torch.Tensor, timespans=1.0, *,
                           fast: bool = True) -> torch.Tensor:
        """Every state of a sequence: ``inputs`` ``(B, T, input_size)``, ``timespans`` a number or ``(B, T)``.

        Returns ``(B, T, hidden_size)``, the state after each step (each step is :meth:`integrate` over its
        elapsed time with ``self.unfolds`` sub-steps). Inputs are not checked here (the sequence layer
        checks them once). ``fast=True`` with the fused solver runs :class:`FusedLTCSequence`: the same
        update with the sensory gate of all ``T`` steps computed in one op, ``gamma * mu``, ``1/tau`` and
        the softplus weights folded once per call, and a hand-written backward through time instead of
        autograd's graph of ``~10 T unfolds`` small ops (agrees with ``fast=False`` to rounding, tested).
        """
        B, T, _ = inputs.shape
        per_step = isinstance(timespans, torch.Tensor)
        if not (fast and self.solver == "fused"):
            outs = []
            for t in range(T):  # the reference loop: integrate() step by step, autograd records every op
                x = self.integrate(x, inputs[:, t], timespans[:, t:t + 1] if per_step else timespans,
                                   validate=False)
                outs.append(x)
            return torch.stack(outs, dim=1)
        if not per_step:
            timespans = torch.full((1, T), float(timespans), dtype=x.dtype, device=x.device)
        gamma, s_gamma, s = self.gamma, self.s_gamma, self.s
        # the sensory part of f, sum_k s_ki sigmoid(gamma'_ki I_k - gamma'_ki mu'_ki), for many steps per op
        # (chunks of at most BLOCK_ELEMENTS values, see there)
        neg_sgm, tc = -(s_gamma * self.s_mu), max(1, BLOCK_ELEMENTS // (B * s.numel()))
        sens = torch.cat([torch.linalg.vecdot(torch.sigmoid(torch.addcmul(neg_sgm, inputs[:, t0:t0 + tc, :, None],
                                                                          s_gamma)), s, dim=2)
                          for t0 in range(0, T, tc)], dim=1)  # (B, T, n)
        h = (timespans / self.unfolds).unsqueeze(-1)  # (B or 1, T, 1)
        return FusedLTCSequence.apply(x, sens, h, self.w, gamma, gamma * self.mu, 1.0 / self.tau, self.A,
                                      self.unfolds)

    def forward(self, I: torch.Tensor, x: torch.Tensor | None = None, dt=1.0, *,
                validate: bool = True) -> torch.Tensor:
        """One step: the new state after ``dt`` with input ``I`` (``x=None``: start from zeros)."""
        if x is None and isinstance(I, torch.Tensor):  # a non-tensor I is reported by integrate's check
            x = I.new_zeros(I.shape[0], self.hidden_size)
        return self.integrate(x, I, dt, validate=validate)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, solver={self.solver!r}, unfolds={self.unfolds}"


#: :class:`FusedLTCSequence` keeps its synapse activations (one ``(B, n, n)`` tensor per sub-step) for the
#: backward up to this size and recomputes them beyond: kept, Half-Cheetah's 13 MB save ~8 % of a training
#: step; XOR's LTC (batch 256, 64 units, 32 x 6 sub-steps) would write 0.8 GB of fresh memory, which costs
#: more than recomputing them block by block in cache (measured, one thread)
KEEP_SYNAPSES_BYTES = 64 * 2 ** 20
#: The fused LTC path cuts its work (samples into blocks, steps into chunks) so that no op holds more than
#: this many values: torch's parallel grain (``at::internal::GRAIN_SIZE``), below which an elementwise op
#: runs on one thread and in cache. Past it an op goes to the OpenMP team, and on a shared machine a parallel
#: region waits whenever another process holds the second core (measured on 2 busy cores, 2 threads:
#: 143 ms per Half-Cheetah step uncut vs 57 ms for the reference loop of small ops)
BLOCK_ELEMENTS = 2 ** 15


class FusedLTCSequence(torch.autograd.Function):
    """The fused LTC solver over a whole sequence, with a hand-written backward (used by
    :meth:`LTCCell.integrate_sequence`).

    Inputs: ``x0`` ``(B, n)``; ``sens`` ``(B, T, n)``, the sensory part of ``f`` at every step; ``h``
    ``(B or 1, T, 1)``, the sub-step of every step; ``w``, ``gamma``, ``gm = gamma * mu`` ``(n, n)``;
    ``inv_tau``, ``A`` ``(n,)``; ``unfolds`` ``K``. For each step ``t`` and sub-step ``s = t K + k``::

        r_s = sum_j w_ji sigmoid(gamma_ji x_j - gm_ji)          (the recurrent part of f = r + sens_t)
        x  <- (x + h A (r_s + sens_t)) / (1 + h (inv_tau + sens_t + r_s))

    the fused step of :meth:`LTCCell.integrate`, with what does not depend on ``x`` (``1 + h (inv_tau +
    sens)``, ``A (1 + h inv_tau)``) computed for all ``T`` steps at once. Autograd would record ~10 small ops per
    sub-step and replay them backwards; here the forward runs without a graph and keeps only the
    ``(T K, B, n)`` states, ``r`` and denominators, and the ``(T K, B, n, n)`` synapse activations when they
    fit in :data:`KEEP_SYNAPSES_BYTES`. The backward walks the sub-steps in reverse (recomputing the
    synapse activations if they were not kept) and sums the parameter adjoints per sample. Both run the
    batch in blocks of samples, and the backward's per-step adjoints in chunks of steps, so that no op
    exceeds :data:`BLOCK_ELEMENTS` values (one thread, in cache). Returns ``(B, T, n)``, the state at the
    end of every step.
    """

    @staticmethod
    def forward(ctx, x0, sens, h, w, gamma, gm, inv_tau, A, unfolds):
        B, T, n = sens.shape
        K = unfolds
        xs = x0.new_empty(T * K + 1, B, n)  # xs[s]: the state before sub-step s
        rs = x0.new_empty(T * K, B, n)
        dens = x0.new_empty(T * K, B, n)
        xs[0] = x0
        # the (T K, B, n, n) synapse activations are kept for the backward if small, else recomputed there
        keep = T * K * B * n * n * x0.element_size() <= KEEP_SYNAPSES_BYTES
        syns = x0.new_empty((T * K, B, n, n) if keep else (0,))
        # (x + h A f) / den = A + (x - A c0) / den with c0 = 1 + h inv_tau, since den - c0 = h f: one op fewer
        # per sub-step; c = c0 + h sens is the denominator without r
        c0 = 1.0 + h * inv_tau  # (B or 1, T, n)
        c, ac0 = c0 + h * sens, A * c0  # (B, T, n), (B or 1, T, n)
        neg_gm = -gm
        addcmul, addcdiv, sigmoid, vecdot = torch.addcmul, torch.addcdiv, torch.sigmoid, torch.linalg.vecdot
        for b, hb in _row_blocks(B, n, h.shape[0]):  # the samples are independent: block by block
            X, R, D = xs[:, b].unbind(0), rs[:, b].unbind(0), dens[:, b].unbind(0)
            S = syns[:, b].unbind(0) if keep else None
            c_t, ac0_t, h_t = c[b].unbind(1), ac0[hb].unbind(1), h[hb].unbind(1)
            x, s = X[0], 0
            for t in range(T):
                ct, ht, act = c_t[t], h_t[t], ac0_t[t]
                for _ in range(K):
                    pre = addcmul(neg_gm, x.unsqueeze(2), gamma)
                    syn = sigmoid(pre, out=S[s]) if keep else pre.sigmoid_()
                    r = vecdot(syn, w, dim=1, out=R[s])
                    den = addcmul(ct, r, ht, out=D[s])
                    x = addcdiv(A, x - act, den, out=X[s + 1])
                    s += 1
        ctx.unfolds, ctx.keep = K, keep
        ctx.save_for_backward(xs, rs, dens, sens, h, w, gamma, gm, inv_tau, A, syns)
        return xs[K::K].transpose(0, 1)

    @staticmethod
    @once_differentiable  # the backward is hand-written: a second derivative through it is refused, not wrong
    def backward(ctx, grad_out):
        xs, rs, dens, sens, h, w, gamma, gm, inv_tau, A, syns = ctx.saved_tensors
        K = ctx.unfolds
        TK, B, n = rs.shape
        T = TK // K
        g_num = torch.empty_like(rs)  # adjoint of each numerator (= adjoint of the new state / den)
        g_f = torch.empty_like(rs)  # adjoint of each f
        keep = ctx.keep
        g_w, g_gamma, g_gm = torch.zeros_like(w), torch.zeros_like(gamma), torch.zeros_like(gm)
        g_inv_tau, g_A, g_x0 = torch.zeros_like(inv_tau), torch.zeros_like(A), xs.new_empty(B, n)
        g_sens = torch.empty_like(sens) if ctx.needs_input_grad[1] else None
        g_h = torch.zeros_like(h) if ctx.needs_input_grad[2] else None
        neg_gm = -gm
        sigmoid_backward, vecdot, mul, div = torch.ops.aten.sigmoid_backward, torch.linalg.vecdot, torch.mul, torch.div
        for b, hb in _row_blocks(B, n, h.shape[0]):
            GN, GF = g_num[:, b].unbind(0), g_f[:, b].unbind(0)
            X, D = xs[:, b].unbind(0), dens[:, b].unbind(0)
            S = syns[:, b].unbind(0) if keep else None
            h_t, go, x_new = h[hb].unbind(1), grad_out[b], xs[1:, b]  # x_new: (T K, rows, n)
            rows = X[0].shape[0]
            # per-sample accumulators of the parameter adjoints, reduced over the block's samples at its end
            acc_w, acc_gamma, acc_gm = (xs.new_zeros(rows, n, n) for _ in range(3))
            w_b = w.expand(rows, n, n)
            gx = xs.new_zeros(rows, n)
            for t in reversed(range(T)):
                gx = gx + go[:, t]
                dfdn = (A - x_new[t * K:(t + 1) * K]).mul_(h_t[t])  # d x_new / d f = h (A - x_new) / den
                for k in reversed(range(K)):
                    s = t * K + k
                    x_in = X[s].unsqueeze(2)
                    syn = S[s] if keep else torch.addcmul(neg_gm, x_in, gamma).sigmoid_()
                    wds = sigmoid_backward(w_b, syn)  # w * syn * (1 - syn) in one kernel
                    gn = div(gx, D[s], out=GN[s])
                    gf = mul(gn, dfdn[k], out=GF[s]).unsqueeze(1)  # (rows, 1, n)
                    acc_w.addcmul_(syn, gf)
                    g_pre = wds.mul_(gf)  # adjoint of gamma x - gm
                    acc_gm.sub_(g_pre)
                    acc_gamma.addcmul_(g_pre, x_in)
                    # through the synapses, d f_i / d x_j = w_ji gamma_ji sigmoid': a multiply-and-sum, not a
                    # bmm, which MKL would spread over threads at any size
                    gx = vecdot(g_pre, gamma, dim=2).add_(gn)
            g_x0[b] = gx
            g_w += acc_w.sum(0)
            g_gamma += acc_gamma.sum(0)
            g_gm += acc_gm.sum(0)
            # the adjoints of 1/tau, A, h and sens from the block's g_num / g_f, a chunk of steps at a time
            tc = max(1, BLOCK_ELEMENTS // (K * rows * n))
            for t0 in range(0, T, tc):
                t1 = min(T, t0 + tc)
                sl, m = slice(t0 * K, t1 * K), t1 - t0
                gn, xn = g_num[sl, b], x_new[sl]
                f = (rs[sl, b].view(m, K, rows, n) + sens[b, t0:t1].transpose(0, 1).unsqueeze(1)).view(m * K, rows, n)
                ghn = gn * h[hb, t0:t1].transpose(0, 1).repeat_interleave(K, 0)  # (m K, rows, n)
                g_inv_tau -= (ghn * xn).sum((0, 1))
                g_A += (ghn * f).sum((0, 1))
                if g_sens is not None:
                    g_sens[b, t0:t1] = g_f[sl, b].view(m, K, rows, n).sum(1).transpose(0, 1)
                if g_h is not None:
                    # d x_new / d h = (f A - x_new (inv_tau + f)) / den
                    per = (gn * (f * A - xn * (inv_tau + f))).sum(-1).view(m, K, rows).sum(1).transpose(0, 1)
                    if g_h.shape[0] == 1:
                        g_h[0, t0:t1, 0] += per.sum(0)
                    else:
                        g_h[b, t0:t1, 0] = per
        return g_x0, g_sens, g_h, g_w, g_gamma, g_gm, g_inv_tau, g_A, None


def _row_blocks(batch: int, n: int, h_rows: int):
    """``(rows, rows of h)`` slices cutting the batch into blocks of at most :data:`BLOCK_ELEMENTS` synapses
    (``rows * n * n``, at least one sample); ``h`` has one row per sample or one for all (``h_rows == 1``)."""
    step = max(1, BLOCK_ELEMENTS // (n * n))
    for b0 in range(0, batch, step):
        rows = slice(b0, min(batch, b0 + step))
        yield rows, (rows if h_rows == batch else slice(None))


def _check_solver(solver) -> str:
    if solver not in SOLVERS:
        raise InputError(f"solver must be one of {SOLVERS}, got {solver!r}")
    return solver


# ----------------------------------------------------------------------------------------------------------------
# CfC


def lecun_tanh(x: torch.Tensor) -> torch.Tensor:
    """LeCun's scaled tanh, ``1.7159 tanh(2x/3)`` (ncps's default backbone activation)."""
    return 1.7159 * torch.tanh(0.666 * x)


_ACTIVATION_FNS = {"lecun_tanh": lecun_tanh, "tanh": torch.tanh, "relu": F.relu, "silu": F.silu, "gelu": F.gelu}


class CfCCell(nn.Module):
    """Closed-form continuous-time cell (Hasani et al., Nature Machine Intelligence 2022).

    A backbone MLP maps ``z = [I, x]`` to features; three heads give ``f``, ``g`` and ``h`` and the new state
    after the elapsed time ``t`` is the paper's CfC equation ::

        x(t) = sigmoid(-f t) * g + (1 - sigmoid(-f t)) * h                      (mode "default")

    written, as in the authors' code (ncps), with an affine time gate ``sigmoid(t_a t + t_b)`` in place of
    ``1 - sigmoid(-f t)`` (``t_a = f``, plus a learned bias ``t_b``), and ``g = tanh(.)``, ``h = tanh(.)``.
    ``"no_gate"`` drops the ``1 - gate`` factor: ``x = g + sigmoid(t_a t + t_b) h``. ``"pure"`` is the
    paper's direct closed-form approximation of the LTC solution,
    ``x(t) ~ (x(0) - A) exp(-(w_tau + f) t) f + A``, in ncps's practical form: ``x(0) = 0``, ``f(-x, -I)``
    replaced by the same head ``f(x, I)`` and ``|.|`` keeping the decay rate ``|w_tau| + |f|`` positive.

    ``mixed_memory=True`` runs an LSTM cell first (its output replaces ``x`` in ``z``; its cell state is
    carried), the "mixed-memory" CfC of the paper's tables; the state is then the pair ``(x, c)``.
    """

    def __init__(self, input_size: int, hidden_size: int, mode: str = "default", mixed_memory: bool = False, *,
                 backbone_units: int = 128, backbone_layers: int = 1, backbone_dropout: float = 0.0,
                 activation: str = "lecun_tanh") -> None:
        super().__init__()
        self.input_size = integer(input_size, "input_size", min=1)
        self.hidden_size = integer(hidden_size, "hidden_size", min=1)
        if mode not in CFC_MODES:
            raise InputError(f"mode must be one of {CFC_MODES}, got {mode!r}")
        if not isinstance(mixed_memory, bool):
            raise InputError(f"mixed_memory must be True or False, got {mixed_memory!r}")
        if activation not in ACTIVATIONS:
            raise InputError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.mode, self.mixed_memory, self.activation = mode, mixed_memory, activation
        self.backbone_layers = integer(backbone_layers, "backbone_layers", min=0)
        units = integer(backbone_units, "backbone_units", min=1)
        p = number(backbone_dropout, "backbone_dropout", min=0.0, max=1.0)
        n = self.hidden_size

        layers, width = [], self.input_size + n
        for _ in range(self.backbone_layers):
            layers.append(nn.Linear(width, units))
            width = units
        self.backbone = nn.ModuleList(layers)
        self.dropout = nn.Dropout(p)
        self.ff1 = nn.Linear(width, n)
        if mode == "pure":
            self.w_tau = nn.Parameter(torch.zeros(n))
            self.A = nn.Parameter(torch.ones(n))
        else:
            self.ff2 = nn.Linear(width, n)
            self.time_a = nn.Linear(width, n)
            self.time_b = nn.Linear(width, n)
        for wgt in self.parameters():  # Xavier on every matrix, as ncps, so both start alike
            if wgt.dim() == 2:
                nn.init.xavier_uniform_(wgt)
        if mixed_memory:
            # torch's fused LSTM cell with ncps's initialisation: Xavier input map, orthogonal recurrent map,
            # biases in +-0.1 and the forget gate (torch's order is i, f, g, o) biased by +1 so memory is kept
            self.lstm = nn.LSTMCell(self.input_size, n)
            with torch.no_grad():
                nn.init.xavier_uniform_(self.lstm.weight_ih)
                nn.init.orthogonal_(self.lstm.weight_hh)
                nn.init.uniform_(self.lstm.bias_ih, -0.1, 0.1)
                self.lstm.bias_hh.zero_()
                self.lstm.bias_ih[n:2 * n] += 1.0

    def initial_state(self, I: torch.Tensor):
        """Zeros: ``x`` of shape ``(batch, hidden_size)``, or ``(x, c)`` with mixed memory."""
        x = I.new_zeros(I.shape[0], self.hidden_size)
        return (x, torch.zeros_like(x)) if self.mixed_memory else x

    def forward(self, I: torch.Tensor, state=None, elapsed=1.0, *, validate: bool = True):
        """New state after ``elapsed`` (a number or one value per sample) with input ``I``.

        ``state`` is ``x`` (``(batch, hidden_size)``), or ``(x, c)`` with mixed memory; ``None`` is zeros.
        Returns the new state in the same form; the output of the cell is ``x``.
        """
        if validate:
            check_state(I, "I", self.input_size, "input_size")
        if state is None:
            state = self.initial_state(I)
        if self.mixed_memory:
            if not (isinstance(state, (tuple, list)) and len(state) == 2):
                raise InputError("state must be a pair (x, c) when mixed_memory=True")
            x, c = state
        else:
            x, c = state, None
        if validate:
            check_state(x, "state", self.hidden_size, "hidden_size")
            if c is not None:
                check_state(c, "state[1]", self.hidden_size, "hidden_size")
            if x.shape[0] != I.shape[0]:
                raise InputError(f"state and I must have the same batch size, got {x.shape[0]} and {I.shape[0]}")
        t = elapsed_column(elapsed, "elapsed", I.shape[0], I, validate)

        if self.mixed_memory:
            x, c = self.lstm(I, (x, c))
        z = torch.cat([I, x], dim=1)
        act = _ACTIVATION_FNS[self.activation]
        for layer in self.backbone:
            z = self.dropout(act(layer(z)))
        ff1 = self.ff1(z)
        if self.mode == "pure":
            x = -self.A * torch.exp(-t * (self.w_tau.abs() + ff1.abs())) * ff1 + self.A
        else:
            g, hh = torch.tanh(ff1), torch.tanh(self.ff2(z))
            gate = torch.sigmoid(self.time_a(z) * t + self.time_b(z))
            x = g + gate * hh if self.mode == "no_gate" else g * (1.0 - gate) + gate * hh
        return (x, c) if self.mixed_memory else x

    def forward_sequence(self, inputs: torch.Tensor, state=None, timespans=1.0, *, fast: bool = True):
        """Run the cell over ``inputs`` ``(B, T, input_size)``; ``timespans`` a number or ``(B, T)``.

        Returns ``(outputs, state)``: ``outputs`` ``(B, T, hidden_size)`` holds ``x`` after every step,
        ``state`` is the last state in :meth:`forward`'s form. Inputs are not checked here (the sequence
        layer checks them once). ``fast=False`` calls :meth:`forward` once per step (the reference);
        ``fast=True`` is the same maths with everything that does not depend on the state taken out of the
        time loop: the input's part of the LSTM gates and of the backbone's first ``Linear`` for all ``T``
        steps in one matmul each, the four heads as one ``Linear`` (their weights concatenated once per
        call), LeCun's tanh scales folded into the weights, and ``torch.lerp`` for the interpolation. The time
        loop then runs compiled (:class:`~paradigmlab.liquid.cfc_kernel.CfCSequence`) wherever that supports
        the call (:meth:`_kernel_applies`), else eagerly, op by op.
        """
        B, T, m = inputs.shape
        n = self.hidden_size
        if state is None:
            state = self.initial_state(inputs[:, 0])
        per_step = isinstance(timespans, torch.Tensor)
        if not fast:
            outs = []
            for t in range(T):
                state = self(inputs[:, t], state, timespans[:, t:t + 1] if per_step else timespans,
                             validate=False)
                outs.append(state[0] if self.mixed_memory else state)
            return torch.stack(outs, dim=1), state
        x, c = state if self.mixed_memory else (state, None)
        spans = timespans.unsqueeze(-1).expand(B, T, 1).unbind(1) if per_step else None

        # lecun_tanh(a) = 1.7159 tanh(0.666 a): the inner scale goes into the weights that make a, the outer
        # one into the weights that read the activation (a linear map commutes with dropout's mask)
        core, pre, post = ((torch.tanh, 0.666, 1.7159) if self.activation == "lecun_tanh"
                           else (_ACTIVATION_FNS[self.activation], 1.0, 1.0))
        # time-major inputs: each step's slice of the precomputed projections is then one contiguous block, not B
        # rows strided across T (MNIST-1D shape, forward without grad: 11.8 -> 10.3 ms on one thread)
        steps = inputs.transpose(0, 1).contiguous()
        heads = (self.ff1,) if self.mode == "pure" else (self.ff1, self.ff2, self.time_a, self.time_b)
        w_heads = torch.cat([lin.weight for lin in heads])
        b_heads = torch.cat([lin.bias for lin in heads])
        if self.backbone_layers:
            first = self.backbone[0]
            w_first = first.weight * pre
            z_in_tm = F.linear(steps, w_first[:, :m], first.bias * pre)  # input's part, all T at once
            z_in = z_in_tm.unbind(0)
            w_x = w_first[:, m:].t()
            rest = [(lin.weight * (pre * post), lin.bias * pre) for lin in self.backbone[1:]]
            w_heads = w_heads * post
        else:  # the heads read z = [I, x] directly
            z_in_tm = F.linear(steps, w_heads[:, :m], b_heads)
            z_in = z_in_tm.unbind(0)
            w_x = w_heads[:, m:].t()
        w_heads_t = w_heads.t()
        if self.mixed_memory:
            lstm = self.lstm
            gates_in_tm = F.linear(steps, lstm.weight_ih, lstm.bias_ih + lstm.bias_hh)
            gates_in = gates_in_tm.unbind(0)
            w_hh = lstm.weight_hh.t()
        if self.mode == "pure":
            decay = self.w_tau.abs()

        if self._kernel_applies(inputs, timespans):
            span_bt = timespans.expand(B, T) if per_step else inputs.new_full((B, T), float(timespans))
            spans_tm = span_bt.t().contiguous()
            if self.backbone_layers:
                w_heads_in, b_in = w_heads_t, b_heads
            else:
                w_heads_in = b_in = None
            xs, c_last = CfCSequence.apply(
                gates_in_tm if self.mixed_memory else None, z_in_tm, spans_tm.to(inputs.dtype).detach(), x,
                c, w_hh if self.mixed_memory else None, w_x, w_heads_in, b_in,
                self.A if self.mode == "pure" else None, decay if self.mode == "pure" else None, self.mode,
                "tanh" if self.activation == "lecun_tanh" else self.activation, not torch.is_grad_enabled())
            outs = xs.transpose(0, 1)
            return outs, ((outs[:, -1], c_last) if self.mixed_memory else outs[:, -1])

        outs = []
        for t in range(T):
            # (chunk / split, not slices: the backward of a slice zero-fills a full-width gradient per slice)
            if self.mixed_memory:  # torch's LSTM cell, gate order i, f, g, o
                gi, gf, gg, go = torch.addmm(gates_in[t], x, w_hh).chunk(4, 1)
                c = torch.addcmul(torch.sigmoid(gf) * c, torch.sigmoid(gi), torch.tanh(gg))
                x = torch.sigmoid(go) * torch.tanh(c)
            hd = torch.addmm(z_in[t], x, w_x)
            if self.backbone_layers:
                z = self.dropout(core(hd))
                for wgt, bias in rest:
                    z = self.dropout(core(F.linear(z, wgt, bias)))
                hd = torch.addmm(b_heads, z, w_heads_t)
            span = spans[t] if per_step else timespans
            if self.mode == "pure":
                ff1 = hd
                rate = (decay + ff1.abs()) * span
                x = torch.addcmul(self.A, -self.A * torch.exp(-rate), ff1)
            else:
                ff, ta, tb = hd.split((2 * n, n, n), 1)
                g, hh = torch.tanh(ff).chunk(2, 1)
                gate = torch.sigmoid(torch.addcmul(tb, ta, span) if per_step else torch.add(tb, ta, alpha=span))
                x = torch.addcmul(g, gate, hh) if self.mode == "no_gate" else torch.lerp(g, hh, gate)
            outs.append(x)
        return torch.stack(outs, dim=1), ((x, c) if self.mixed_memory else x)

    def _kernel_applies(self, inputs: torch.Tensor, timespans) -> bool:
        """Whether :class:`CfCSequence` (the compiled time loop) runs this call: CPU float32/float64, at most
        one backbone layer, an activation it has (not GELU), no active dropout, and elapsed times that need
        no gradient (its backward returns none for them)."""
        return (inputs.device.type == "cpu" and inputs.dtype in (torch.float32, torch.float64)
                and self.backbone_layers <= 1 and self.activation != "gelu"
                and not (self.training and self.dropout.p > 0)
                and not (isinstance(timespans, torch.Tensor) and timespans.requires_grad))

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, mode={self.mode!r}, mixed_memory={self.mixed_memory}, "
                f"backbone_layers={self.backbone_layers}")


__all__ = ["CFC_MODES", "SOLVERS", "CfCCell", "FusedLTCSequence", "LTCCell", "check_state", "elapsed_column",
           "lecun_tanh"]
