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
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn import functional as F

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

    def forward(self, I: torch.Tensor, x: torch.Tensor | None = None, dt=1.0, *,
                validate: bool = True) -> torch.Tensor:
        """One step: the new state after ``dt`` with input ``I`` (``x=None``: start from zeros)."""
        if x is None and isinstance(I, torch.Tensor):  # a non-tensor I is reported by integrate's check
            x = I.new_zeros(I.shape[0], self.hidden_size)
        return self.integrate(x, I, dt, validate=validate)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, solver={self.solver!r}, unfolds={self.unfolds}"


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

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, mode={self.mode!r}, mixed_memory={self.mixed_memory}, "
                f"backbone_layers={self.backbone_layers}")


__all__ = ["CFC_MODES", "SOLVERS", "CfCCell", "LTCCell", "check_state", "elapsed_column", "lecun_tanh"]
