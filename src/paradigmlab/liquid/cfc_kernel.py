"""The CfC time loop as one autograd node: a numba forward and a hand-written numba backward through time.

Why: in eager PyTorch a CfC step is ~45 small ops, each a few microseconds of dispatch, so at the task shapes
(batch 100-256, 64 units) dispatch, not arithmetic, set the training time, and ncps's loop of the same ops was
barely slower than ours. Here the loop over time runs in compiled code: per step one GEMM per weight matrix
(``numpy.dot`` inside numba calls BLAS) and short vectorised passes over the elementwise maths, with the float32
``tanh`` of the p-bit kernels (:func:`paradigmlab.fastmath.rational_tanh`, a rational
function whose loops vectorise; ``numpy.tanh`` does not) and ``sigmoid(a) = (1 + tanh(a / 2)) / 2``. float64
uses ``numpy.tanh`` exactly, so ``torch.autograd.gradcheck`` checks the backward against the forward it
differentiates.

The backward walks the steps in reverse, keeping only the per-step products that carry the recursion
(the adjoint of the state through the heads, the backbone and the LSTM gates); every weight gradient is one
large GEMM over all ``T * B`` rows at the end (done by torch), not ``T`` small ones.

What the node computes is exactly :meth:`paradigmlab.liquid.cells.CfCCell.forward_sequence`'s loop after its
state-independent work: the caller precomputes the input's part of the LSTM gates (``gates_in``) and of the
first layer (``z_in``), folds LeCun's tanh scales into the weights, and concatenates the heads.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import scipy.linalg.cython_blas  # noqa: F401  (see below)
import torch
from numba import njit, types
from numba.extending import overload
from torch.autograd.function import once_differentiable

from paradigmlab.fastmath import rational_tanh

# numba's numpy.dot calls scipy's BLAS, which scipy loads only when this module is first imported: importing
# it here loads that library with paradigmlab, so that thread limits set afterwards (threadpoolctl, in
# trainer.torch_threads) reach it; loaded later, during the first compile, it ran with every core.

#: head modes and backbone activations the kernel runs (``lecun_tanh`` arrives as ``tanh`` with its scales
#: folded into the weights; GELU's ``erf`` has no vectorising form here, so it stays on the eager path)
MODES = {"default": 0, "no_gate": 1, "pure": 2}
ACTIVATIONS = {"tanh": 0, "relu": 1, "silu": 2}


def _tanh(x):  # typed by the overload below; never called from Python
    return np.tanh(x)


@overload(_tanh, inline="always")
def _tanh_typed(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return lambda x: rational_tanh(x)
    return lambda x: np.tanh(x)


@njit(fastmath=True, nogil=True, cache=True, inline="always", error_model="numpy")
def _sigmoid(x, half):
    return half + half * _tanh(half * x)


# Every loop below stores one value per iteration and touches few arrays: LLVM left loops that stored two or
# three results (or read seven arrays) scalar, 2.6-3.3 ns per activation, while the same work split into
# passes of one store each vectorises (0.3-0.4 ns), and the data stays in L1 between passes.
# ``error_model="numpy"`` lets divisions (inside the rational tanh) vectorise: Python's model tests each divisor.
_JIT = dict(fastmath=True, nogil=True, cache=True, error_model="numpy")


@njit(**_JIT)
def _lstm_step(x, w_hh, gi, ga, cp, c, xm, g, half):
    """One LSTM cell step: activated gates and ``tanh(c)`` into ``ga``, the new cell state into ``c``, the
    output into ``xm`` (``g``: scratch for the state's product)."""
    B, n = x.shape
    np.dot(x, w_hh, g)
    for b in range(B):
        for k in range(4 * n):
            ga[b, k] = g[b, k] + gi[b, k]
    for b in range(B):
        for k in range(2 * n):
            ga[b, k] = _sigmoid(ga[b, k], half)
        for k in range(2 * n, 3 * n):
            ga[b, k] = _tanh(ga[b, k])
        for k in range(3 * n, 4 * n):
            ga[b, k] = _sigmoid(ga[b, k], half)
    for b in range(B):
        for j in range(n):
            c[b, j] = ga[b, n + j] * cp[b, j] + ga[b, j] * ga[b, 2 * n + j]
    for b in range(B):
        for j in range(n):
            ga[b, 4 * n + j] = _tanh(c[b, j])
    for b in range(B):
        for j in range(n):
            xm[b, j] = ga[b, 3 * n + j] * ga[b, 4 * n + j]


@njit(**_JIT)
def _forward(gin, zin, spans, w_hh, w_x, w_heads, b_heads, A, decay, mode, mixed, backbone, act,
             X, C, GA, XM, ZA, ZD, HS, one):
    """Fill the states ``X`` ``(T+1, B, n)`` (``X[0]`` given) and what the backward needs, step by step.
    ``GA[t]`` holds the LSTM's activated gates i, f, g, o and ``tanh(c)``, ``(B, 5n)``. ``one`` is 1 in the
    arrays' dtype: every constant derives from it, since a Python float literal would promote float32
    arithmetic to float64 (half the SIMD width, and ``numpy.tanh`` in place of the rational)."""
    zero, half = one - one, one / (one + one)
    T, B = spans.shape
    n = X.shape[2]
    # the products' outputs, allocated once: numpy.dot without ``out`` allocated them every step, and at 128 KB
    # and more each came from the OS as fresh pages
    g = np.empty((B, 4 * n if mixed else 0), X.dtype)
    hx = np.empty((B, w_x.shape[1]), X.dtype)
    hh = np.empty((B, w_heads.shape[1] if backbone else 0), X.dtype)
    for t in range(T):
        xm = X[t]
        if mixed:  # torch's LSTM cell, gate order i, f, g, o
            xm = XM[t]
            _lstm_step(X[t], w_hh, gin[t], GA[t], C[t], C[t + 1], xm, g, half)
        np.dot(xm, w_x, hx)
        hd = hx
        zi = zin[t]
        if backbone:
            za, zd = ZA[t], ZD[t]
            U = hd.shape[1]
            for b in range(B):
                for u in range(U):
                    za[b, u] = hd[b, u] + zi[b, u]
            if act == 0:
                for b in range(B):
                    for u in range(U):
                        za[b, u] = _tanh(za[b, u])
                for b in range(B):
                    for u in range(U):
                        zd[b, u] = one - za[b, u] * za[b, u]
            elif act == 1:
                for b in range(B):
                    for u in range(U):
                        zd[b, u] = one if za[b, u] > zero else zero
                for b in range(B):
                    for u in range(U):
                        za[b, u] = max(za[b, u], zero)
            else:  # silu y = a s, s = sigmoid(a); y' = s + a s (1 - s) = s + y (1 - s)
                for b in range(B):
                    for u in range(U):
                        zd[b, u] = _sigmoid(za[b, u], half)
                for b in range(B):
                    for u in range(U):
                        za[b, u] *= zd[b, u]
                for b in range(B):
                    for u in range(U):
                        zd[b, u] += za[b, u] * (one - zd[b, u])
            np.dot(za, w_heads, hh)
            hd = hh
            for b in range(B):
                for k in range(hd.shape[1]):
                    hd[b, k] += b_heads[k]
        else:  # the heads read [I, x] directly: zin already holds the input's part and the bias
            for b in range(B):
                for k in range(hd.shape[1]):
                    hd[b, k] += zi[b, k]
        xn, hs, sp = X[t + 1], HS[t], spans[t]
        if mode == 2:  # pure: x = A - A exp(-(|w_tau| + |ff1|) t) ff1
            for b in range(B):
                s_b = sp[b]
                for j in range(n):
                    hs[b, j] = hd[b, j]
                for j in range(n):
                    hs[b, n + j] = np.exp(-(decay[j] + abs(hd[b, j])) * s_b)
            for b in range(B):
                for j in range(n):
                    xn[b, j] = A[j] - A[j] * hs[b, n + j] * hs[b, j]
        else:
            for b in range(B):
                for k in range(2 * n):
                    hs[b, k] = _tanh(hd[b, k])
                s_b = sp[b]
                for j in range(n):
                    hs[b, 2 * n + j] = _sigmoid(hd[b, 2 * n + j] * s_b + hd[b, 3 * n + j], half)
            keep_g = one if mode == 1 else zero  # no_gate: x = g + gate h; default: x = g + gate (h - g)
            for b in range(B):
                for j in range(n):
                    g_ = hs[b, j]
                    xn[b, j] = g_ + hs[b, 2 * n + j] * (hs[b, n + j] - (one - keep_g) * g_)


@njit(**_JIT)
def _backward(grad_out, gc, spans, w_hh_t, w_x_t, w_heads_t, A, mode, mixed, backbone,
              X, C, GA, ZD, HS, DG, DA, DHD, g_b, g_A, g_decay, one):
    """Adjoints of every step's gate and head pre-activations (``DG``, ``DA``, ``DHD``), walking back in time;
    returns the adjoints of the initial ``x`` and ``c``. ``g_b`` (the heads' bias, with a backbone), ``g_A``
    and ``g_decay`` (mode pure) accumulate."""
    zero = one - one
    T, B = spans.shape
    n = X.shape[2]
    dx = np.zeros((B, n), X.dtype)
    dc = gc.copy()
    dz = np.empty((B, w_heads_t.shape[1] if backbone else 0), X.dtype)  # the products' outputs, as forward
    dxm = np.empty((B, n if mixed else 0), X.dtype)
    for t in range(T - 1, -1, -1):
        go, hs, sp, dhd = grad_out[t], HS[t], spans[t], DHD[t]
        for b in range(B):  # the new state's adjoint: its output and the next step
            for j in range(n):
                dx[b, j] += go[b, j]
        if mode == 2:
            for b in range(B):
                s_b = sp[b]
                for j in range(n):
                    d, f1, e, a_ = dx[b, j], hs[b, j], hs[b, n + j], A[j]
                    g_A[j] += d * (one - e * f1)
                    dr = d * a_ * f1 * e  # adjoint of the rate (|w_tau| + |ff1|) t
                    g_decay[j] += dr * s_b
                    sgn = one if f1 > zero else (-one if f1 < zero else zero)
                    dhd[b, j] = -d * a_ * e + dr * s_b * sgn
        else:
            keep_g = one if mode == 1 else zero
            for b in range(B):
                for j in range(n):  # the gate's pre-activation tb
                    gate = hs[b, 2 * n + j]
                    dhd[b, 3 * n + j] = dx[b, j] * (hs[b, n + j] - (one - keep_g) * hs[b, j]) * gate * (one - gate)
                s_b = sp[b]
                for j in range(n):  # ta, multiplied by the elapsed time
                    dhd[b, 2 * n + j] = dhd[b, 3 * n + j] * s_b
                for j in range(n):  # g
                    g_ = hs[b, j]
                    dhd[b, j] = dx[b, j] * (one - (one - keep_g) * hs[b, 2 * n + j]) * (one - g_ * g_)
                for j in range(n):  # h
                    h_ = hs[b, n + j]
                    dhd[b, n + j] = dx[b, j] * hs[b, 2 * n + j] * (one - h_ * h_)
        if backbone:
            for b in range(B):
                for k in range(dhd.shape[1]):
                    g_b[k] += dhd[b, k]
            da, zd = DA[t], ZD[t]
            np.dot(dhd, w_heads_t, dz)
            for b in range(B):
                for u in range(dz.shape[1]):
                    da[b, u] = dz[b, u] * zd[b, u]
            dh = da
        else:
            dh = dhd
        if not mixed:  # the state's adjoint is the product itself
            np.dot(dh, w_x_t, dx)
        else:
            np.dot(dh, w_x_t, dxm)
            ga, cp, dg = GA[t], C[t], DG[t]
            for b in range(B):
                for j in range(n):
                    o_, th = ga[b, 3 * n + j], ga[b, 4 * n + j]
                    dc[b, j] += dxm[b, j] * o_ * (one - th * th)
            for b in range(B):
                for j in range(n):
                    o_, th = ga[b, 3 * n + j], ga[b, 4 * n + j]
                    dg[b, 3 * n + j] = dxm[b, j] * th * o_ * (one - o_)
            for b in range(B):
                for j in range(n):
                    i_ = ga[b, j]
                    dg[b, j] = dc[b, j] * ga[b, 2 * n + j] * i_ * (one - i_)
                for j in range(n):
                    g_ = ga[b, 2 * n + j]
                    dg[b, 2 * n + j] = dc[b, j] * ga[b, j] * (one - g_ * g_)
            for b in range(B):
                for j in range(n):
                    dg[b, n + j] = dc[b, j] * cp[b, j]
            for b in range(B):
                for j in range(n):
                    f_ = ga[b, n + j]
                    dg[b, n + j] *= f_ * (one - f_)
                for j in range(n):
                    dc[b, j] *= ga[b, n + j]
            np.dot(dg, w_hh_t, dx)
    return dx, dc


def _np(t, ndim: int, dtype) -> np.ndarray:
    """``t`` as a C-contiguous numpy array, or an empty one of ``ndim`` axes for an absent (None) input: numba
    compiles one signature per dtype, so absent arrays keep their slot's type."""
    if t is None:
        return np.empty((0,) * ndim, dtype)
    return t.detach().contiguous().numpy()


# The loop's GEMMs are small (batch rows x 64-256) and hundreds per training step: with OpenBLAS's own threads
# each is a fork-join beside torch's OpenMP workers: a training step at torch_threads(2) took 115 ms, and 23 ms
# with BLAS on one thread (MNIST-1D shape, AMD EPYC, 2 cores). So the loop always calls BLAS on one thread.
_BLAS: dict = {"controller": None}


def _blas_one_thread():
    """A context in which scipy's OpenBLAS (numba's ``numpy.dot``) runs one thread (10 us to enter)."""
    if _BLAS["controller"] is None:
        from threadpoolctl import ThreadpoolController

        _BLAS["controller"] = ThreadpoolController().select(internal_api="openblas")
    return _BLAS["controller"].limit(limits=1)


# Without a backward to come, the forward's intermediates are scratch. Allocated afresh, those megabytes came
# back from the OS as new pages every call, and the page faults took as long as the loop: batch 128, T 32,
# CfC-mm, no grad, 17.0 ms a call against 8.7 ms with reused buffers (AMD EPYC, one thread). So inference
# reuses per-thread buffers up to this size; training (which saves them for the backward) allocates.
SCRATCH_MAX_BYTES = 64 * 2 ** 20
_SCRATCH = threading.local()


def _scratch(name: str, shape: tuple, dtype: torch.dtype) -> torch.Tensor:
    """A buffer of ``shape`` reused by this thread's later calls for ``name`` (fresh above the size limit)."""
    count = math.prod(shape)
    if count * torch.finfo(dtype).bits // 8 > SCRATCH_MAX_BYTES:
        return torch.empty(shape, dtype=dtype)
    pool = _SCRATCH.__dict__.setdefault("pool", {})
    buf = pool.get((name, dtype))
    if buf is None or buf.numel() < count:
        buf = pool[(name, dtype)] = torch.empty(count, dtype=dtype)
    return buf[:count].view(shape)


class CfCSequence(torch.autograd.Function):
    """Inputs (all one floating dtype, on the CPU): ``gates_in`` ``(T, B, 4n)`` or None (no mixed memory),
    ``z_in`` ``(T, B, U)`` (the first layer's input part and bias) or ``(T, B, H)`` (no backbone: the heads'
    input part and bias), ``spans`` ``(T, B)`` (no gradient), ``x0`` / ``c0`` ``(B, n)`` (``c0`` None without
    mixed memory), ``w_hh`` ``(n, 4n)`` or None, ``w_x`` ``(n, U or H)``, ``w_heads`` ``(U, H)`` and ``b_heads``
    ``(H,)`` or None (no backbone), ``A`` and ``decay`` ``(n,)`` or None (modes other than pure), then the
    mode and activation names, and ``infer``: True where no backward will follow (grad mode off), so that the
    intermediates are per-thread scratch (:func:`_scratch`). Returns ``(xs, c_last)``: ``xs`` ``(T, B, n)``,
    the state after every step, and the last LSTM cell state (empty without mixed memory)."""

    @staticmethod
    def forward(ctx, gates_in, z_in, spans, x0, c0, w_hh, w_x, w_heads, b_heads, A, decay, mode, activation,
                infer=False):
        T, B = spans.shape
        n, U, dt = x0.shape[1], z_in.shape[2], x0.dtype
        mixed, backbone = gates_in is not None, w_heads is not None

        def new(name, *shape, keep=True):
            if not keep:
                return None
            return _scratch(name, shape, dt) if infer else torch.empty(*shape, dtype=dt)

        X = torch.empty(T + 1, B, n, dtype=dt)  # the output's storage: never scratch
        C = new("C", T + 1, B, n, keep=mixed)
        X[0] = x0
        if mixed:
            C[0] = c0
        GA, XM = new("GA", T, B, 5 * n, keep=mixed), new("XM", T, B, n, keep=mixed)
        ZA, ZD = new("ZA", T, B, U, keep=backbone), new("ZD", T, B, U, keep=backbone)
        HS = new("HS", T, B, 2 * n if mode == "pure" else 3 * n)
        npt = np.float32 if dt == torch.float32 else np.float64
        with _blas_one_thread():
            _forward(_np(gates_in, 3, npt), _np(z_in, 3, npt), _np(spans, 2, npt), _np(w_hh, 2, npt),
                     _np(w_x, 2, npt), _np(w_heads, 2, npt), _np(b_heads, 1, npt), _np(A, 1, npt), _np(decay, 1, npt),
                     MODES[mode], mixed, backbone, ACTIVATIONS[activation], X.numpy(), _np(C, 3, npt),
                     _np(GA, 3, npt), _np(XM, 3, npt), _np(ZA, 3, npt), _np(ZD, 3, npt), HS.numpy(), npt(1.0))
        ctx.mode, ctx.mixed, ctx.backbone = mode, mixed, backbone
        ctx.save_for_backward(spans, w_hh, w_x, w_heads, A, X, C, GA, XM, ZA, ZD, HS)
        return X[1:], (C[T].clone() if infer else C[T]) if mixed else x0.new_empty(0)

    @staticmethod
    @once_differentiable  # the backward is hand-written: a second derivative through it is refused, not wrong
    def backward(ctx, grad_xs, grad_c):
        spans, w_hh, w_x, w_heads, A, X, C, GA, XM, ZA, ZD, HS = ctx.saved_tensors
        mode, mixed, backbone = ctx.mode, ctx.mixed, ctx.backbone
        T, B = spans.shape
        n, dt = X.shape[2], X.dtype
        npt = np.float32 if dt == torch.float32 else np.float64
        H = n if mode == "pure" else 4 * n
        DHD = torch.empty(T, B, H, dtype=dt)
        DA = torch.empty(T, B, w_x.shape[1], dtype=dt) if backbone else None
        DG = torch.empty(T, B, 4 * n, dtype=dt) if mixed else None
        g_b, g_A, g_decay = torch.zeros(H, dtype=dt), torch.zeros(n, dtype=dt), torch.zeros(n, dtype=dt)
        go = torch.zeros(T, B, n, dtype=dt) if grad_xs is None else grad_xs
        gc = torch.zeros(B, n, dtype=dt) if (grad_c is None or not mixed) else grad_c
        t_ = lambda w: None if w is None else w.t()  # noqa: E731
        with _blas_one_thread():
            dx0, dc0 = _backward(_np(go, 3, npt), _np(gc, 2, npt), _np(spans, 2, npt), _np(t_(w_hh), 2, npt),
                                 _np(w_x.t(), 2, npt), _np(t_(w_heads), 2, npt), _np(A, 1, npt), MODES[mode], mixed,
                                 backbone, X.numpy(), _np(C, 3, npt), _np(GA, 3, npt), _np(ZD, 3, npt), HS.numpy(),
                                 _np(DG, 3, npt), _np(DA, 3, npt), DHD.numpy(), g_b.numpy(), g_A.numpy(),
                                 g_decay.numpy(), npt(1.0))
        # every weight's gradient is one GEMM over all T * B rows
        rows = T * B
        g_w_hh = X[:-1].reshape(rows, n).t() @ DG.reshape(rows, 4 * n) if mixed else None
        g_w_x = (XM if mixed else X[:-1]).reshape(rows, n).t() @ (DA if backbone else DHD).reshape(rows, -1)
        g_w_heads = ZA.reshape(rows, -1).t() @ DHD.reshape(rows, H) if backbone else None
        pure = mode == "pure"
        return (DG, DA if backbone else DHD, None, torch.from_numpy(dx0), torch.from_numpy(dc0) if mixed else None,
                g_w_hh, g_w_x, g_w_heads, g_b if backbone else None, g_A if pure else None,
                g_decay if pure else None, None, None, None)


__all__ = ["ACTIVATIONS", "MODES", "SCRATCH_MAX_BYTES", "CfCSequence"]
