"""Vectorisable float32 ``tanh`` for numba code: one rational approximation shared by every kernel.

``tanh(x) = p(x) / q(x)``, the float32 rational XLA and Eigen use (odd numerator of degree 13, even denominator of
degree 6; max abs error 3.4e-7; inputs beyond +-7.905 clamped, where ``tanh`` is +-1 to float32 precision). A loop
over it vectorises, one over ``numpy.tanh`` does not (no vector libm in numba's LLVM). Users: the p-bit sweep's
update test (:mod:`paradigmlab.pbit.kernels.numba_kernel`, which compares ``p > r q`` and never divides), the
Rao-Blackwellised moments of :mod:`paradigmlab.ebm.engine` and the compiled CfC loop of
:mod:`paradigmlab.liquid.cfc_kernel`. A loop that divides must be compiled with ``error_model="numpy"``: Python's
error model tests every divisor for zero, and that branch keeps LLVM from vectorising (measured 5x slower).
"""

from __future__ import annotations

import numpy as np
from numba import njit

TANH_CLAMP = np.float32(7.90531110763549805)
_A1, _A3, _A5, _A7, _A9, _A11, _A13 = (np.float32(v) for v in (
    4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05, 5.12229709037114e-08, -8.60467152213735e-11,
    2.00018790482477e-13, -2.76076847742355e-16))
_B0, _B2, _B4, _B6 = (np.float32(v) for v in (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04,
                                              1.19825839466702e-06))


@njit(fastmath=True, nogil=True, cache=True, inline="always")
def tanh_pq(x):
    """``(p, q)`` with ``tanh(x) = p / q`` and ``q > 0``."""
    x = min(max(x, -TANH_CLAMP), TANH_CLAMP)
    x2 = x * x
    p = x2 * _A13 + _A11
    p = x2 * p + _A9
    p = x2 * p + _A7
    p = x2 * p + _A5
    p = x2 * p + _A3
    p = x2 * p + _A1
    q = x2 * _B6 + _B4
    q = x2 * q + _B2
    q = x2 * q + _B0
    return x * p, q


@njit(fastmath=True, nogil=True, cache=True, inline="always", error_model="numpy")
def rational_tanh(x):
    """``tanh(x)`` in float32 as ``p(x) / q(x)`` (no libm call); call it from ``@njit`` functions."""
    p, q = tanh_pq(x)
    return p / q


__all__ = ["TANH_CLAMP", "rational_tanh", "tanh_pq"]
