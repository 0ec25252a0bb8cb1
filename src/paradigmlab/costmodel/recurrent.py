"""Per-step inference cost of the sequence models: LTC, CfC, S4D / Liquid-S4, GRU, LSTM and a small Transformer.

The paper's "memory efficiency" claim for liquid networks, made countable: for one step of a model at batch
``B`` (the whole batch, not per sample), the FLOPs, the parameters and weight bytes, and the *state* -- what
must be kept after step ``t`` to compute step ``t + 1``. A recurrent model's state is a fixed vector (LTC, CfC,
GRU: ``B H`` values; LSTM and mixed-memory CfC: ``2 B H``; S4D: ``B H N/2`` complex modes, Liquid-S4 one such
set per liquid order); a Transformer's state is its KV cache, which grows by one token per step.

    >>> import torch
    >>> from paradigmlab.costmodel.recurrent import (ltc_cost, cfc_cost, gru_cost, liquid_s4_cost,
    ...                                               transformer_step_cost, memory_vs_length)
    >>> from paradigmlab.liquid import CfCCell, LTCCell, LiquidS4Layer
    >>> costs = {"LTC": ltc_cost(LTCCell(17, 32), unfolds=6), "CfC": cfc_cost(CfCCell(17, 32)),
    ...          "Liquid-S4": liquid_s4_cost(LiquidS4Layer(32, 64)), "GRU": gru_cost(torch.nn.GRU(17, 32)),
    ...          "Transformer": transformer_step_cost({"n_layer": 2, "d_model": 64, "n_head": 4}, context=32)}
    >>> table = [c.to_dict() for c in costs.values()]              # params, FLOPs split, state and weight bytes
    >>> plot = memory_vs_length(costs, [1, 10, 100, 1000])         # {"length": [...], "state_bytes": {name: [...]}}

Counting rules (the assumptions behind every number):

- **Matmul FLOPs** are ``2 m n k`` per ``(m, k) @ (k, n)`` product, the convention of
  ``torch.utils.flop_counter.FlopCounterMode``; the tests check them against that profiler on one real step of
  every model (GRU / LSTM with oneDNN off, whose fused CPU kernel the profiler cannot see).
- **Elementwise FLOPs** and **transcendental ops** are this module's own count (no profiler counts them): one
  per output element of every arithmetic op of the step as paradigmlab's ``forward`` / ``step`` writes it
  (``a * b``, ``a + b``, a bias add, a compare), ``k - 1`` adds per sum of ``k`` terms; complex arithmetic in
  real FLOPs (complex multiply 6, complex times real 2, complex add 2). Transcendental functions (sigmoid, tanh,
  exp, erf) are counted apart, one per evaluation, and enter :attr:`StepCost.flops_per_step` as one FLOP each,
  a convention (in hardware one costs ~10-20 FLOPs or one special-function instruction). Activations: LeCun tanh
  ``1.7159 tanh(0.666 x)`` is 2 elementwise + 1 transcendental, tanh 1 transcendental, relu 1 elementwise,
  silu 1 + 1, exact gelu 4 + 1. The tests check these counts against an independent tally of the aten ops of
  one real step.
- Work that depends only on the weights (softplus of raw weights, ``1 / tau``, masks, S4's discretisation
  ``exp(dt A)``) is weight preprocessing, done once for inference and not counted per step; the elapsed time is
  a number (a per-sample ``(B, 1)`` time adds ``O(B)`` scalar ops, not counted).
- LTC with a wiring (NCP) counts only the synapses present (``synapses="present"``, the cost of the sparse
  circuit); ``synapses="all"`` counts the dense masked computation paradigmlab runs.
- The Transformer is :func:`paradigmlab.costmodel.transformer.decoder_costs` (one mechanism): its matmul FLOPs are
  the decode step's projections, attention over the cache and head; its elementwise FLOPs are only its norms
  (decoder_costs's rule: residual adds, softmax and activations fused into neighbours are not counted), and its
  transcendentals (softmax, GELU) are not counted -- both undercounts favour the Transformer.
- Bytes: ``weight_bytes = params * dtype_bytes`` (dense storage); ``state_bytes`` counts values at
  ``dtype_bytes`` each (a complex value is two).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn

from paradigmlab.costmodel.transformer import TransformerConfig, decoder_costs
from paradigmlab.liquid.cells import SOLVERS, CfCCell, LTCCell
from paradigmlab.liquid.layers import LiquidRNN
from paradigmlab.liquid.s4 import LiquidS4Layer, S4DLayer
from paradigmlab.validate import InputError, integer

# activation -> (elementwise FLOPs, transcendental ops) per element, as CfCCell computes it
ACTIVATION_COSTS = {"lecun_tanh": (2, 1), "tanh": (0, 1), "relu": (1, 0), "silu": (1, 1), "gelu": (4, 1)}
# real FLOPs of one complex operation
_CMUL, _CMUL_REAL, _CADD = 6, 2, 2


@dataclass(frozen=True)
class StepCost:
    """Cost of one inference step of a sequence model at batch ``batch`` (all counts for the whole batch).

    ``state_bytes`` is what must be kept after this step to compute the next one; ``state_bytes_per_token``
    is how much it grows per processed token (0 for recurrent models; the KV cache of a Transformer, whose
    state holds ``tokens_held`` tokens after this step).
    """

    model: str
    batch: int
    dtype_bytes: int
    params: int
    weight_bytes: int
    matmul_flops: int
    elementwise_flops: int
    transcendental_ops: int
    state_bytes: int
    state_bytes_per_token: int = 0
    tokens_held: int = 0
    notes: str = ""

    @property
    def flops_per_step(self) -> int:
        """Total: matmul + elementwise FLOPs + transcendental ops (one FLOP each, see the module docstring)."""
        return self.matmul_flops + self.elementwise_flops + self.transcendental_ops

    def state_bytes_at(self, length: int) -> int:
        """State bytes after ``length`` processed tokens (constant for recurrent models)."""
        length = integer(length, "length", min=1)
        fixed = self.state_bytes - self.state_bytes_per_token * self.tokens_held
        return fixed + self.state_bytes_per_token * length

    def to_dict(self) -> dict:
        """JSON-ready fields plus ``flops_per_step``."""
        return {**asdict(self), "flops_per_step": self.flops_per_step}


@dataclass(frozen=True)
class SequenceCost:
    """Estimated cost of the convolution mode (training) of an S4D / Liquid-S4 layer over one batch of sequences.

    An *estimate*: an FFT of length ``n`` is taken as ``5 n log2 n`` FLOPs when complex and half that when
    real (the radix-2 count; real libraries differ by small factors), and the kernel generation counts one
    complex exponential as 3 transcendental ops (exp, cos, sin). ``train_flops`` is forward x 3 (forward,
    input gradient, weight gradient), the rule of :mod:`paradigmlab.costmodel.transformer`.
    """

    model: str
    length: int
    batch: int
    ffts: int
    fft_length: int
    fft_flops: float
    mode_sum_flops: float
    elementwise_flops: float
    transcendental_ops: float

    @property
    def flops(self) -> float:
        """Forward FLOPs of the convolution mode over the batch of sequences."""
        return self.fft_flops + self.mode_sum_flops + self.elementwise_flops + self.transcendental_ops

    @property
    def train_flops(self) -> float:
        """Forward and backward, estimated as 3 x forward."""
        return 3.0 * self.flops

    def to_dict(self) -> dict:
        return {**asdict(self), "flops": self.flops, "train_flops": self.train_flops, "estimate": True}


# ----------------------------------------------------------------------------------------------------------------
# boundary helpers


def _dtype_bytes(dtype_bytes, module: nn.Module | None) -> int:
    if dtype_bytes is None:
        p = next(module.parameters(), None) if module is not None else None
        return 4 if p is None else p.element_size()
    return integer(dtype_bytes, "dtype_bytes", min=1)


def _module(obj, cls, name: str, what: str):
    if not isinstance(obj, cls):
        raise InputError(f"{name} must be {what}, got {type(obj).__name__}")
    return obj


# ----------------------------------------------------------------------------------------------------------------
# LTC


def ltc_cost(cell_or_config, unfolds: int | None = None, solver: str | None = None, *, batch: int = 1,
             synapses: str = "present", dtype_bytes: int | None = None) -> StepCost:
    """One step ``cell(I, x)`` of an :class:`~paradigmlab.liquid.LTCCell` (eq. 1), or of the cell a config
    describes (a mapping of ``input_size``, ``hidden_size`` and optionally ``solver``, ``unfolds``, ``wiring``;
    no cell is built, so no random numbers are drawn).

    ``unfolds`` and ``solver`` default to the cell's. Per unfold, the fused and Euler solvers evaluate the
    gate ``f`` once, RK4 four times; the sensory part of ``f`` is computed once per step (the input is held).
    Each synapse costs a subtract, a multiply by its slope, a sigmoid and a multiply by its weight, then the
    sums over presynaptic neurons. An LTC has no matrix product: ``matmul_flops`` is 0.
    """
    if isinstance(cell_or_config, LTCCell):
        cell = cell_or_config
        m, n = cell.input_size, cell.hidden_size
        solver = cell.solver if solver is None else solver
        unfolds = cell.unfolds if unfolds is None else unfolds
        w_mask, s_mask = cell.w_mask, cell.s_mask
        wb = _dtype_bytes(dtype_bytes, cell)
    elif isinstance(cell_or_config, Mapping):
        cfg = dict(cell_or_config)
        extra = set(cfg) - {"input_size", "hidden_size", "solver", "unfolds", "wiring"}
        if extra:
            raise InputError(f"cell_or_config has unknown keys {sorted(extra)}; known: input_size, hidden_size, "
                             f"solver, unfolds, wiring")
        for key in ("input_size", "hidden_size"):
            if key not in cfg:
                raise InputError(f"cell_or_config needs '{key}'")
        m = integer(cfg["input_size"], "input_size", min=1)
        n = integer(cfg["hidden_size"], "hidden_size", min=1)
        defaults = inspect.signature(LTCCell).parameters  # the cell's own defaults, not a copy of them
        solver = cfg.get("solver", defaults["solver"].default) if solver is None else solver
        unfolds = cfg.get("unfolds", defaults["unfolds"].default) if unfolds is None else unfolds
        wiring = cfg.get("wiring")
        if wiring is not None and getattr(wiring, "units", None) != n:
            raise InputError(f"wiring.units must equal hidden_size ({n}), got {getattr(wiring, 'units', None)!r}")
        w_mask = None if wiring is None else wiring.adjacency
        s_mask = None if wiring is None else wiring.sensory_mask(m)
        wb = _dtype_bytes(dtype_bytes, None)
    else:
        raise InputError(f"cell_or_config must be an LTCCell or a mapping of its sizes, "
                         f"got {type(cell_or_config).__name__}")
    if solver not in SOLVERS:
        raise InputError(f"solver must be one of {SOLVERS}, got {solver!r}")
    unfolds = integer(unfolds, "unfolds", min=1)
    batch = integer(batch, "batch", min=1)
    if synapses not in ("present", "all"):
        raise InputError(f"synapses must be 'present' or 'all', got {synapses!r}")
    if synapses == "all" or w_mask is None:
        k = torch.full((n,), n, dtype=torch.long)  # recurrent fan-in of every neuron
        q = torch.full((n,), m, dtype=torch.long)  # sensory fan-in
    else:
        k, q = (w_mask != 0).sum(0), (s_mask != 0).sum(0)  # masks are [pre, post]: fan-in = column sums
    n_rec, n_sens = int(k.sum()), int(q.sum())

    # sensory part of f, once per step: (I_k - mu') * gamma', sigmoid, * s, then the sums over inputs
    sens_elem = 3 * n_sens + int((q - 1).clamp(min=0).sum())
    # one evaluation of f: recurrent synapses, their sums, and "+ sensory part" where a neuron has both
    f_elem = 3 * n_rec + int((k - 1).clamp(min=0).sum()) + int(((k > 0) & (q > 0)).sum())
    if solver == "fused":  # x <- (x + h f A) / (1 + h (1/tau + f)): 7 ops per neuron
        evals, update = 1, 7 * n
    elif solver == "euler":  # rhs = -x/tau + f (A - x): 5 ops; x + h rhs: 2
        evals, update = 1, 7 * n
    else:  # 4 rhs (5 ops each), 3 stage inputs x + c h k (2 each), x + h/6 (k1 + 2 k2 + 2 k3 + k4) (7)
        evals, update = 4, (4 * 5 + 3 * 2 + 7) * n
    elementwise = sens_elem + unfolds * (evals * f_elem + update)
    transcendental = n_sens + unfolds * evals * n_rec
    params = 3 * n * n + 3 * m * n + 2 * n  # w, gamma, mu; s, s_gamma, s_mu; tau, A
    wired = "" if w_mask is None else f", {n_rec} of {n * n} recurrent and {n_sens} of {m * n} sensory synapses"
    return StepCost(
        model=f"LTCCell({m}, {n}, {solver}, unfolds={unfolds})", batch=batch, dtype_bytes=wb, params=params,
        weight_bytes=params * wb, matmul_flops=0, elementwise_flops=batch * elementwise,
        transcendental_ops=batch * transcendental, state_bytes=batch * n * wb,
        notes=f"synapses={synapses}{wired}")


# ----------------------------------------------------------------------------------------------------------------
# CfC and the torch RNNs


def _lstm_cell_counts(n_in: int, n: int, n_out: int, bias: bool) -> tuple[int, int, int]:
    """(matmul, elementwise, transcendental) of one LSTM cell step per sample, as torch's CPU cell computes it:
    two gate products, their sum (and two bias adds), 3 sigmoids + 2 tanh, ``c = f c + i g``, ``h = o tanh(c)``;
    ``n_out < n`` adds the projection ``h W_hr^T`` (``proj_size``)."""
    matmul = 2 * 4 * n * (n_in + n_out) + (2 * n * n_out if n_out != n else 0)
    elementwise = 4 * n + (8 * n if bias else 0) + 4 * n
    return matmul, elementwise, 5 * n


def cfc_cost(cell: CfCCell, *, batch: int = 1, dtype_bytes: int | None = None) -> StepCost:
    """One step ``cell(I, x)`` of a :class:`~paradigmlab.liquid.CfCCell` in inference (dropout off).

    Backbone ``Linear`` layers with their activation, the heads (``ff1, ff2, time_a, time_b``; ``ff1`` alone
    in mode ``pure``), the time gate and the interpolation of the mode; with ``mixed_memory`` the LSTM cell
    that runs first (its cell state doubles the state).
    """
    cell = _module(cell, CfCCell, "cell", "a CfCCell")
    batch = integer(batch, "batch", min=1)
    wb = _dtype_bytes(dtype_bytes, cell)
    m, n = cell.input_size, cell.hidden_size
    act_e, act_t = ACTIVATION_COSTS[cell.activation]
    matmul = elementwise = transcendental = 0
    params = 0
    width = m + n
    for layer in cell.backbone:
        u = layer.out_features
        matmul += 2 * width * u
        elementwise += u + act_e * u  # bias add, activation
        transcendental += act_t * u
        params += width * u + u
        width = u
    if cell.mode == "pure":
        # x = -A exp(-t (|w_tau| + |ff1|)) ff1 + A: |ff1|, +, * (-t), exp, * (-A), * ff1, + A
        matmul += 2 * width * n
        elementwise += n + 6 * n
        transcendental += n
        params += width * n + n + 2 * n
    else:
        matmul += 4 * 2 * width * n
        elementwise += 4 * n + 2 * n  # four bias adds; time_a * t + time_b
        transcendental += 3 * n  # tanh(ff1), tanh(ff2), sigmoid of the time gate
        elementwise += 4 * n if cell.mode == "default" else 2 * n  # g (1 - gate) + gate h  |  g + gate h
        params += 4 * (width * n + n)
    state = n
    if cell.mixed_memory:
        mm, me, mt = _lstm_cell_counts(m, n, n, bias=True)
        matmul, elementwise, transcendental = matmul + mm, elementwise + me, transcendental + mt
        params += 4 * n * (m + n) + 8 * n
        state = 2 * n
    return StepCost(
        model=f"CfCCell({m}, {n}, {cell.mode}{', mixed_memory' if cell.mixed_memory else ''}, "
              f"backbone={cell.backbone_layers}x{cell.backbone[0].out_features if cell.backbone_layers else 0})",
        batch=batch, dtype_bytes=wb, params=params, weight_bytes=params * wb, matmul_flops=batch * matmul,
        elementwise_flops=batch * elementwise, transcendental_ops=batch * transcendental,
        state_bytes=batch * state * wb, notes=f"activation={cell.activation}")


def _check_torch_rnn(rnn, cls, name: str) -> None:
    _module(rnn, cls, name, f"a torch.nn.{cls.__name__}")
    if rnn.bidirectional:
        raise InputError(f"{name} is bidirectional: it has no per-step streaming cost (it reads the sequence "
                         f"backwards too)")


def gru_cost(rnn: nn.GRU, *, batch: int = 1, dtype_bytes: int | None = None) -> StepCost:
    """One time step of a ``torch.nn.GRU`` (all layers): per layer two gate products (``3H`` outputs each),
    the reset / update gates, the candidate and ``h' = (h - n) z + n``, as torch's GRU cell computes it."""
    _check_torch_rnn(rnn, nn.GRU, "rnn")
    batch = integer(batch, "batch", min=1)
    wb = _dtype_bytes(dtype_bytes, rnn)
    n = rnn.hidden_size
    matmul = elementwise = transcendental = params = 0
    for layer in range(rnn.num_layers):
        n_in = rnn.input_size if layer == 0 else n
        matmul += 2 * 3 * n * (n_in + n)
        # r = sigma(gi_r + gh_r), z = sigma(gi_z + gh_z), n = tanh(gi_n + r gh_n), (h - n) z + n
        elementwise += (6 * n if rnn.bias else 0) + 7 * n
        transcendental += 3 * n
        params += 3 * n * (n_in + n) + (6 * n if rnn.bias else 0)
    return StepCost(
        model=f"GRU({rnn.input_size}, {n}, layers={rnn.num_layers})", batch=batch, dtype_bytes=wb, params=params,
        weight_bytes=params * wb, matmul_flops=batch * matmul, elementwise_flops=batch * elementwise,
        transcendental_ops=batch * transcendental, state_bytes=batch * rnn.num_layers * n * wb)


def lstm_cost(rnn: nn.LSTM, *, batch: int = 1, dtype_bytes: int | None = None) -> StepCost:
    """One time step of a ``torch.nn.LSTM`` (all layers, ``proj_size`` included); the state is ``(h, c)``."""
    _check_torch_rnn(rnn, nn.LSTM, "rnn")
    batch = integer(batch, "batch", min=1)
    wb = _dtype_bytes(dtype_bytes, rnn)
    n = rnn.hidden_size
    n_out = rnn.proj_size or n
    matmul = elementwise = transcendental = params = 0
    for layer in range(rnn.num_layers):
        n_in = rnn.input_size if layer == 0 else n_out
        mm, me, mt = _lstm_cell_counts(n_in, n, n_out, rnn.bias)
        matmul, elementwise, transcendental = matmul + mm, elementwise + me, transcendental + mt
        params += 4 * n * (n_in + n_out) + (8 * n if rnn.bias else 0) + (n * n_out if rnn.proj_size else 0)
    return StepCost(
        model=f"LSTM({rnn.input_size}, {n}, layers={rnn.num_layers}{f', proj={n_out}' if rnn.proj_size else ''})",
        batch=batch, dtype_bytes=wb, params=params, weight_bytes=params * wb, matmul_flops=batch * matmul,
        elementwise_flops=batch * elementwise, transcendental_ops=batch * transcendental,
        state_bytes=batch * rnn.num_layers * (n_out + n) * wb)


def linear_cost(linear: nn.Linear, *, batch: int = 1, dtype_bytes: int | None = None) -> StepCost:
    """One application of a ``torch.nn.Linear`` (an encoder or read-out head around a sequence core)."""
    _module(linear, nn.Linear, "linear", "a torch.nn.Linear")
    batch = integer(batch, "batch", min=1)
    wb = _dtype_bytes(dtype_bytes, linear)
    a, b = linear.in_features, linear.out_features
    bias = linear.bias is not None
    params = a * b + (b if bias else 0)
    return StepCost(model=f"Linear({a}, {b})", batch=batch, dtype_bytes=wb, params=params, weight_bytes=params * wb,
                    matmul_flops=batch * 2 * a * b, elementwise_flops=batch * (b if bias else 0),
                    transcendental_ops=0, state_bytes=0)


# ----------------------------------------------------------------------------------------------------------------
# S4D and Liquid-S4


def _ssm_step(layer: S4DLayer, orders: int, batch: int, dtype_bytes, name: str) -> StepCost:
    batch = integer(batch, "batch", min=1)
    wb = _dtype_bytes(dtype_bytes, layer)
    H, M = layer.d_model, layer.d_state // 2
    # order 1: Abar x + (Bbar) u (complex x complex, complex x real, complex add); order p >= 2 adds
    # Abar x_p + (Ebar u) x_{p-1}; the orders are summed and read out by 2 Re(C x) + D u
    update = (_CMUL + _CMUL_REAL + _CADD) * H * M + (orders - 1) * (2 * _CMUL + _CMUL_REAL + _CADD) * H * M
    combine = (orders - 1) * _CADD * H * M
    readout = _CMUL * H * M + _CADD * H * (M - 1) + 3 * H  # C x, sum over modes, 2 Re(.), D u, +
    params = 6 * H * M + 2 * H + (2 * H * M if isinstance(layer, LiquidS4Layer) else 0)
    return StepCost(
        model=name, batch=batch, dtype_bytes=wb, params=params, weight_bytes=params * wb, matmul_flops=0,
        elementwise_flops=batch * (update + combine + readout), transcendental_ops=0,
        state_bytes=batch * H * orders * M * 2 * wb,
        notes=f"recurrent mode: {H} channels x {M} complex modes x {orders} order(s)")


def s4d_cost(layer: S4DLayer, *, batch: int = 1, dtype_bytes: int | None = None) -> StepCost:
    """One recurrent step ``layer.step(u_k, state)`` of an :class:`~paradigmlab.liquid.S4DLayer`: a diagonal
    complex state of ``d_state / 2`` modes per channel (the conjugates are implicit)."""
    _module(layer, S4DLayer, "layer", "an S4DLayer")
    if isinstance(layer, LiquidS4Layer):
        raise InputError("layer is a LiquidS4Layer: use liquid_s4_cost (it has the liquid terms)")
    return _ssm_step(layer, 1, batch, dtype_bytes, f"S4D(d_model={layer.d_model}, d_state={layer.d_state})")


def liquid_s4_cost(layer: LiquidS4Layer, *, batch: int = 1, dtype_bytes: int | None = None) -> StepCost:
    """One recurrent step of a :class:`~paradigmlab.liquid.LiquidS4Layer`: one set of complex modes per
    liquid order ``p <= liquid_order``, each order ``p >= 2`` driven by ``Ebar u_k x^(p-1)``."""
    _module(layer, LiquidS4Layer, "layer", "a LiquidS4Layer")
    return _ssm_step(layer, layer.liquid_order, batch, dtype_bytes,
                     f"Liquid-S4(d_model={layer.d_model}, d_state={layer.d_state}, order={layer.liquid_order})")


def s4_convolution_cost(layer: S4DLayer, length: int, *, batch: int = 1) -> SequenceCost:
    """Estimated forward cost of ``layer(u)`` (the FFT convolution mode used in training) over ``batch``
    sequences of ``length`` steps; see :class:`SequenceCost` for what is estimated.

    Counted as the layer computes it: the kernel ``2 Re(sum_n w_n Abar_n^k)`` (``H M L`` complex exponentials
    and multiply-adds; Liquid-S4 of order 2 builds a second kernel), every causal convolution as two real FFTs
    of the input and kernel and one inverse at ``n = 2 L`` (zero padding) with the spectrum product; orders
    ``>= 3`` run the state-space cascade by complex FFTs over ``(B, H, M)``.
    """
    _module(layer, S4DLayer, "layer", "an S4DLayer or LiquidS4Layer")
    L = integer(length, "length", min=1)
    B = integer(batch, "batch", min=1)
    H, M = layer.d_model, layer.d_state // 2
    n = 2 * L
    real_fft, complex_fft = 2.5 * n * math.log2(n), 5.0 * n * math.log2(n)
    order = layer.liquid_order if isinstance(layer, LiquidS4Layer) else 1

    def kernel():
        # mode_sum over (H, M, L): powers exp(k dtA) (a complex x real product and a complex exp each), one
        # complex multiply-add per term, then 2 Re(.) per (h, k) -> (multiply-adds, elementwise, transcendental)
        return (_CMUL + _CADD) * H * M * L, _CMUL_REAL * H * M * L + H * L, 3 * H * M * L

    def real_conv(signals):  # rfft of each signal and of the kernel, spectrum product, inverse
        ffts = 2 * signals + H
        return ffts, ffts * real_fft, _CMUL * signals * (L + 1)

    ms, elem, kt = kernel()
    ffts, fft_flops, e = real_conv(B * H)
    elem += e + 2 * B * H * L  # + D u
    if order == 2:
        ms2, e2, kt2 = kernel()  # the order-2 kernel
        ms, elem, kt = ms + ms2, elem + e2, kt + kt2
        for _ in range(2):  # P (K2' * u) and K2' * (u P)
            f, ff, e = real_conv(B * H)
            ffts, fft_flops, elem = ffts + f, fft_flops + ff, elem + e
        elem += 5 * B * H * L  # prefix sums, u P, P (K2' * u), difference, y + order-2 term
    elif order >= 3:
        # powers(dtA, L) again, then x^(1) in state space: Bbar Abar^k, fft of u per channel and of the
        # kernel per mode, spectrum product over (B, H, M), inverse
        elem += _CMUL_REAL * H * M * L + _CMUL * H * M * L + _CMUL * B * H * M * n
        kt += 3 * H * M * L
        cfft = B * H + H * M + B * H * M
        for _ in range(2, order + 1):  # drive (Ebar u) x_{k-1}, its fft, fft of Abar^k, product, inverse
            cfft += 2 * B * H * M + H * M
            elem += 2 * _CMUL * B * H * M * L + _CMUL * B * H * M * n + 2 * B * H * L  # ..., 2 Re(.) and y +
            ms += (_CMUL + _CADD) * B * H * M * L  # read-out sum_n C_n x_n
        ffts += cfft
        fft_flops += cfft * complex_fft
    return SequenceCost(model=f"{type(layer).__name__}(d_model={H}, d_state={layer.d_state}, order={order})",
                        length=L, batch=B, ffts=ffts, fft_length=n, fft_flops=fft_flops, mode_sum_flops=float(ms),
                        elementwise_flops=float(elem), transcendental_ops=float(kt))


# ----------------------------------------------------------------------------------------------------------------
# small Transformer, by costmodel.transformer


def small_transformer(n_layer: int = 2, d_model: int = 64, n_head: int = 4, *, d_ff: int | None = None,
                      vocab_size: int = 10) -> TransformerConfig:
    """A nanoGPT-style decoder (GELU MLP of ``4 d_model``, LayerNorm, biases, no learned positions) as a
    :class:`~paradigmlab.costmodel.transformer.TransformerConfig`; ``vocab_size`` is the width of its
    embedding and output head (10: the MNIST-1D classes)."""
    n_layer = integer(n_layer, "n_layer", min=1)
    d_model = integer(d_model, "d_model", min=1)
    n_head = integer(n_head, "n_head", min=1)
    if d_model % n_head:
        raise InputError(f"d_model ({d_model}) must be a multiple of n_head ({n_head})")
    d_ff = 4 * d_model if d_ff is None else integer(d_ff, "d_ff", min=1)
    vocab_size = integer(vocab_size, "vocab_size", min=1)
    return TransformerConfig(name=f"Transformer(layers={n_layer}, d_model={d_model}, heads={n_head})",
                             n_layers=n_layer, d_model=d_model, n_heads=n_head, d_ff=d_ff, vocab_size=vocab_size,
                             ffn="gelu", norm="layernorm", bias=True, source="paradigmlab.costmodel.recurrent")


def transformer_step_cost(model, context: int, *, batch: int = 1, dtype_bytes: int = 4) -> StepCost:
    """Decoding step ``t = context`` of a decoder-only Transformer: ``context`` tokens are cached, the new one
    attends to them and itself, and the KV cache then holds ``context + 1`` tokens (the state of step ``t+1``).

    ``model`` is a :class:`~paradigmlab.costmodel.transformer.TransformerConfig` or a mapping of
    :func:`small_transformer`'s arguments (``{"n_layer": 2, "d_model": 64, "n_head": 4}``). FLOPs are
    :func:`~paradigmlab.costmodel.transformer.decoder_costs`'s decode step: its norms are the elementwise part,
    everything else matmul (see the module docstring for what it leaves out).
    """
    if isinstance(model, Mapping):
        known = {"n_layer", "d_model", "n_head", "d_ff", "vocab_size"}
        if set(model) - known:
            raise InputError(f"model has unknown keys {sorted(set(model) - known)}; known: {sorted(known)}")
        cfg = small_transformer(**model)
    elif isinstance(model, TransformerConfig):
        cfg = model
    else:
        raise InputError(f"model must be a TransformerConfig or a mapping of small_transformer's arguments, "
                         f"got {type(model).__name__}")
    context = integer(context, "context", min=0)
    batch = integer(batch, "batch", min=1)
    wb = integer(dtype_bytes, "dtype_bytes", min=1)
    costs = decoder_costs(cfg, "decode", batch=batch, context=context)
    total = int(round(costs.flops))
    norms = int(round(costs.by_group().get("norm", {}).get("flops", 0.0)))
    per_token = batch * cfg.kv_elements_per_token() * wb
    params = cfg.n_params()
    return StepCost(
        model=cfg.name, batch=batch, dtype_bytes=wb, params=params, weight_bytes=params * wb,
        matmul_flops=total - norms, elementwise_flops=norms, transcendental_ops=0,
        state_bytes=per_token * (context + 1), state_bytes_per_token=per_token, tokens_held=context + 1,
        notes=f"decode step at context {context}; elementwise = norms only, softmax/GELU not counted")


# ----------------------------------------------------------------------------------------------------------------
# whole models and the memory-vs-length table


def combine(costs: Sequence[StepCost], model: str) -> StepCost:
    """The cost of modules run one after the other in a step (a stacked core, an encoder, a head): counts,
    parameters and states add. All must share ``batch`` and ``dtype_bytes``; at most one may grow with length."""
    costs = list(costs) if isinstance(costs, (list, tuple)) else None
    if not costs or not all(isinstance(c, StepCost) for c in costs):
        raise InputError("costs must be a non-empty list of StepCost")
    if not isinstance(model, str) or not model:
        raise InputError(f"model must be a non-empty name, got {model!r}")
    for attr in ("batch", "dtype_bytes"):
        if len({getattr(c, attr) for c in costs}) > 1:
            raise InputError(f"costs must share {attr}, got {sorted({getattr(c, attr) for c in costs})}")
    growing = [c for c in costs if c.state_bytes_per_token]
    if len(growing) > 1:
        raise InputError("at most one of costs may have a state that grows with length")

    def add(attr):
        return sum(getattr(c, attr) for c in costs)

    return StepCost(model=model, batch=costs[0].batch, dtype_bytes=costs[0].dtype_bytes, params=add("params"),
                    weight_bytes=add("weight_bytes"), matmul_flops=add("matmul_flops"),
                    elementwise_flops=add("elementwise_flops"), transcendental_ops=add("transcendental_ops"),
                    state_bytes=add("state_bytes"), state_bytes_per_token=add("state_bytes_per_token"),
                    tokens_held=growing[0].tokens_held if growing else 0,
                    notes="; ".join(c.model for c in costs))


def step_cost(module: nn.Module, *, batch: int = 1, dtype_bytes: int | None = None) -> StepCost:
    """:class:`StepCost` of any supported module: the liquid cells and layers (``LTC``, ``CfC`` stacks with
    their projection), S4D / Liquid-S4 layers, ``nn.GRU``, ``nn.LSTM`` and ``nn.Linear``."""
    kw = {"batch": batch, "dtype_bytes": dtype_bytes}
    if isinstance(module, LiquidRNN):
        parts = [step_cost(c, **kw) for c in module.cells]
        if module.proj is not None:
            parts.append(linear_cost(module.proj, **kw))
        return combine(parts, f"{type(module).__name__}({module.input_size}, {module.hidden_size}, "
                              f"layers={module.num_layers})")
    for cls, fn in ((LTCCell, ltc_cost), (CfCCell, cfc_cost), (LiquidS4Layer, liquid_s4_cost),
                    (S4DLayer, s4d_cost), (nn.GRU, gru_cost), (nn.LSTM, lstm_cost), (nn.Linear, linear_cost)):
        if isinstance(module, cls):
            return fn(module, **kw)
    raise InputError(f"module must be an LTCCell, CfCCell, LiquidRNN, S4DLayer, LiquidS4Layer, nn.GRU, nn.LSTM "
                     f"or nn.Linear, got {type(module).__name__}")


def memory_vs_length(costs_by_name: Mapping[str, StepCost], lengths: Sequence[int]) -> dict:
    """State bytes of every model after each sequence length: constant for the recurrent models, linear in the
    length for a Transformer's KV cache. Returns ``{"length": [...], "state_bytes": {name: [...]}}`` (JSON-ready)."""
    if not isinstance(costs_by_name, Mapping) or not costs_by_name:
        raise InputError("costs_by_name must be a non-empty mapping of model name -> StepCost")
    for name, cost in costs_by_name.items():
        if not isinstance(name, str) or not isinstance(cost, StepCost):
            raise InputError(f"costs_by_name[{name!r}] must map a name to a StepCost, got {type(cost).__name__}")
    if isinstance(lengths, (str, bytes)) or not isinstance(lengths, Sequence) or not lengths:
        raise InputError(f"lengths must be a non-empty sequence of positive integers, got {lengths!r}")
    lengths = [integer(v, f"lengths[{i}]", min=1) for i, v in enumerate(lengths)]
    return {"length": lengths,
            "state_bytes": {name: [c.state_bytes_at(v) for v in lengths] for name, c in costs_by_name.items()}}


__all__ = ["ACTIVATION_COSTS", "SequenceCost", "StepCost", "cfc_cost", "combine", "gru_cost", "linear_cost",
           "liquid_s4_cost", "lstm_cost", "ltc_cost", "memory_vs_length", "s4_convolution_cost", "s4d_cost",
           "small_transformer", "step_cost", "transformer_step_cost"]
