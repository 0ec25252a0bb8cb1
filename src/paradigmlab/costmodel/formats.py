"""Bit-exact emulation of low-precision number formats, returning float64 values.

Element formats (round to nearest, ties to even):

- FP8 E4M3 (``fn``: no infinities, max 448) and E5M2 (IEEE-like, max 57344);
- FP6 E2M3 / E3M2 and FP4 E2M1 (OCP MX element types, finite only).

Block formats:

- OCP MX v1.0 (MXFP8, MXFP6, MXFP4, MXINT8): blocks of 32 along the last axis,
  shared E8M0 scale ``2^(floor(log2(amax)) - emax_elem)`` clipped to
  ``2^[-127, 127]``, elements quantised with saturation to the largest normal;
  MXINT8 elements are two's-complement int8 with an implicit ``2^-6``.
- NVFP4: blocks of 16, E2M1 elements, E4M3 block scale ``amax/6`` (times an
  optional per-tensor FP32 scale ``2688/amax_tensor`` that keeps block scales in
  E4M3 range, the NVIDIA recipe).
- int8 (per-row absmax, symmetric) and int4 (group 32, asymmetric with scale
  and zero point), the weight-only schemes of gpt-fast.

All arithmetic is in float64, where scaling by powers of two and rounding to
at most 24 significant bits is exact, so results equal those of ``ml_dtypes``
casts and ``gfloat`` block quantisation bit for bit (see the tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ElementFormat:
    """A small binary floating-point format: exponent/mantissa bits, bias, largest finite value."""

    name: str
    ebits: int
    mbits: int
    bias: int
    max_normal: float
    has_inf: bool = False
    has_nan: bool = True

    @property
    def emax(self) -> int:
        """Exponent of the largest normal value."""
        return int(np.floor(np.log2(self.max_normal)))


E4M3 = ElementFormat("fp8_e4m3", 4, 3, 7, 448.0)
E5M2 = ElementFormat("fp8_e5m2", 5, 2, 15, 57344.0, has_inf=True)
E3M2 = ElementFormat("fp6_e3m2", 3, 2, 3, 28.0, has_nan=False)
E2M3 = ElementFormat("fp6_e2m3", 2, 3, 1, 7.5, has_nan=False)
E2M1 = ElementFormat("fp4_e2m1", 2, 1, 1, 6.0, has_nan=False)
ELEMENT_FORMATS = {f.name: f for f in (E4M3, E5M2, E3M2, E2M3, E2M1)}
FP32 = ElementFormat("fp32", 8, 23, 127, float(np.finfo(np.float32).max), has_inf=True)

MX_BLOCK = 32
NVFP4_BLOCK = 16
MX_ELEMENT_FORMATS = {"mxfp8_e4m3": E4M3, "mxfp8_e5m2": E5M2, "mxfp6_e3m2": E3M2, "mxfp6_e2m3": E2M3, "mxfp4_e2m1": E2M1}


def _as_float64(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating) and not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"{name}: expected a real numeric array, got dtype {x.dtype}")
    if x.dtype == np.float32:
        return _float32_exact(x)
    return x.astype(np.float64)


def _float32_exact(x: np.ndarray) -> np.ndarray:
    """float32 -> float64 from the bit pattern, so subnormals survive a flush-to-zero FPU mode.

    (``torch.set_flush_denormal(True)``, which training loops call, makes a
    plain ``astype`` read float32 subnormals as zero.)
    """
    bits = x.view(np.uint32).astype(np.int64)
    exp, man = (bits >> 23) & 0xFF, bits & 0x7FFFFF
    mag = np.ldexp((man + np.where(exp > 0, 1 << 23, 0)).astype(np.float64), np.maximum(exp, 1) - 150)
    mag = np.where(exp == 255, np.where(man == 0, np.inf, np.nan), mag)
    return np.where(bits >> 31, -mag, mag)


def quantize_element(x: np.ndarray, fmt: ElementFormat | str, saturate: bool = True) -> np.ndarray:
    """Round ``x`` to the nearest value of ``fmt`` (ties to even); values returned as float64.

    With ``saturate`` overflow clamps to +-max_normal (the OCP MX rule and
    the usual FP8 training practice); without it overflow gives inf (E5M2) or
    NaN (E4M3), as a plain cast does. NaN/inf inputs are rejected for formats
    that cannot encode them.
    """
    fmt = ELEMENT_FORMATS[fmt] if isinstance(fmt, str) else fmt
    x = _as_float64(x, fmt.name)
    finite = np.isfinite(x)
    if not fmt.has_nan and not finite.all():
        raise ValueError(f"{fmt.name} has no NaN/Inf encodings; input holds non-finite values")
    a = np.abs(np.where(finite, x, 0.0))
    _, e = np.frexp(a)  # a = m * 2**e with m in [0.5, 1)
    exp = np.maximum(e - 1, 1 - fmt.bias)  # subnormals share the smallest normal exponent
    quantum = np.ldexp(1.0, exp - fmt.mbits)
    r = np.round(a / quantum) * quantum  # np.round rounds half to even
    over = r > fmt.max_normal
    if saturate:
        r = np.where(over, fmt.max_normal, r)
    else:
        r = np.where(over, np.inf if fmt.has_inf else np.nan, r)
    out = np.copysign(r, x)
    if not finite.all():
        nonfinite = np.where(np.isnan(x) | (not fmt.has_inf), np.nan, x)
        if saturate and fmt.has_inf:
            nonfinite = np.where(np.isinf(x), np.copysign(fmt.max_normal, x), nonfinite)
        out = np.where(finite, out, nonfinite)
    return out


def _blocks(x: np.ndarray, block: int) -> tuple[np.ndarray, tuple[int, ...], int]:
    """Reshape the last axis into blocks (zero-padded); return blocks, original shape, pad."""
    if x.ndim == 0:
        x = x.reshape(1)
    shape = x.shape
    pad = (-shape[-1]) % block
    if pad:
        x = np.concatenate([x, np.zeros(shape[:-1] + (pad,))], axis=-1)
    return x.reshape(-1, block), shape, pad


def _unblock(q: np.ndarray, shape: tuple[int, ...], pad: int) -> np.ndarray:
    q = q.reshape(shape[:-1] + (shape[-1] + pad,))
    return q[..., : shape[-1]] if pad else q


def mx_scale_exponents(blocks: np.ndarray, emax_elem: int) -> np.ndarray:
    """OCP MX shared exponents: ``floor(log2(amax)) - emax_elem`` clipped to [-127, 127]; -127 for zero blocks."""
    amax = np.abs(blocks).max(axis=-1)
    _, e = np.frexp(amax)
    exp = np.where(amax > 0, e - 1 - emax_elem, -127)
    return np.clip(exp, -127, 127)


def quantize_mx(x: np.ndarray, fmt: str) -> np.ndarray:
    """Quantise-dequantise ``x`` in an OCP MX format along its last axis (blocks of 32).

    ``fmt``: mxfp8_e4m3, mxfp8_e5m2, mxfp6_e3m2, mxfp6_e2m3, mxfp4_e2m1 or mxint8.
    """
    if fmt != "mxint8" and fmt not in MX_ELEMENT_FORMATS:
        raise ValueError(f"unknown MX format '{fmt}'; known: {sorted(MX_ELEMENT_FORMATS) + ['mxint8']}")
    x = _as_float64(x, fmt)
    if not np.isfinite(x).all():
        raise ValueError(f"{fmt}: input holds NaN/Inf (an MX block would become NaN)")
    blocks, shape, pad = _blocks(x, MX_BLOCK)
    emax = 0 if fmt == "mxint8" else MX_ELEMENT_FORMATS[fmt].emax
    exp = mx_scale_exponents(blocks, emax)[:, None]
    scaled = np.ldexp(blocks, -exp)
    if fmt == "mxint8":
        q = np.clip(np.round(scaled * 64.0), -128, 127) / 64.0 + 0.0  # integers have no -0
    else:
        q = quantize_element(scaled, MX_ELEMENT_FORMATS[fmt], saturate=True)
    return _unblock(np.ldexp(q, exp), shape, pad)


def quantize_nvfp4(x: np.ndarray, per_tensor_scale: bool = True) -> np.ndarray:
    """Quantise-dequantise ``x`` in NVFP4 along its last axis (blocks of 16, E4M3 scales).

    With ``per_tensor_scale`` a float32 global scale ``s = amax_tensor / (448*6)``
    is applied first (block scale ``e4m3(amax_block / (6*s))``); without it the
    block scale is ``e4m3(amax_block / 6)`` directly. Blocks whose scale rounds
    to zero quantise to zero.
    """
    x = _as_float64(x, "nvfp4")
    if not np.isfinite(x).all():
        raise ValueError("nvfp4: input holds NaN/Inf")
    blocks, shape, pad = _blocks(x, NVFP4_BLOCK)
    amax_t = np.abs(blocks).max() if blocks.size else 0.0
    s = float(_f32(amax_t / (448.0 * 6.0))) if per_tensor_scale and amax_t > 0 else 1.0
    amax = np.abs(blocks).max(axis=-1, keepdims=True)
    block_scale = quantize_element(_f32(amax / 6.0 / s), E4M3, saturate=True)
    denom = _f32(block_scale * s)
    safe = np.where(denom > 0, denom, 1.0)
    q = quantize_element(_f32(blocks / safe), E2M1, saturate=True) * denom
    return _unblock(np.where(denom > 0, q, 0.0), shape, pad)


def _f32(x: np.ndarray | float) -> np.ndarray:
    """Round to float32 (emulated in float64, so independent of the FPU's flush-to-zero mode)."""
    return quantize_element(np.asarray(x, np.float64), FP32, saturate=False)


def quantize_int8_rowwise(x: np.ndarray) -> np.ndarray:
    """Symmetric int8 with one absmax scale per row (last axis), as weight-only int8 does."""
    x = _as_float64(x, "int8")
    amax = np.abs(x).max(axis=-1, keepdims=True) if x.ndim else np.abs(x)
    scale = np.where(amax > 0, amax / 127.0, 1.0)
    return np.clip(np.round(x / scale), -127, 127) * scale


def quantize_int4_grouped(x: np.ndarray, group: int = 32) -> np.ndarray:
    """Asymmetric int4 (0..15) with a scale and zero point per group of ``group`` along the last axis."""
    x = _as_float64(x, "int4")
    blocks, shape, pad = _blocks(x, group)
    lo, hi = blocks.min(axis=-1, keepdims=True), blocks.max(axis=-1, keepdims=True)
    scale = np.where(hi > lo, (hi - lo) / 15.0, 1.0)
    q = np.clip(np.round((blocks - lo) / scale), 0, 15) * scale + lo
    return _unblock(q, shape, pad)


def _fp(fmt: ElementFormat):
    return lambda x: quantize_element(x, fmt, saturate=True)


QUANTIZERS = {
    "fp8_e4m3": _fp(E4M3),
    "fp8_e5m2": _fp(E5M2),
    **{name: (lambda x, n=name: quantize_mx(x, n)) for name in [*MX_ELEMENT_FORMATS, "mxint8"]},
    "nvfp4": quantize_nvfp4,
    "int8": quantize_int8_rowwise,
    "int4": quantize_int4_grouped,
}


def quantize(x: np.ndarray, fmt: str) -> np.ndarray:
    """Quantise-dequantise ``x`` in format ``fmt`` (one of :data:`QUANTIZERS`)."""
    if fmt not in QUANTIZERS:
        raise ValueError(f"unknown format '{fmt}'; known: {', '.join(QUANTIZERS)}")
    return QUANTIZERS[fmt](x)


def sqnr_db(x: np.ndarray, q: np.ndarray) -> float:
    """Signal-to-quantisation-noise ratio ``10 log10(sum x^2 / sum (x-q)^2)`` in dB (inf if exact)."""
    x, q = np.asarray(x, np.float64), np.asarray(q, np.float64)
    if x.shape != q.shape:
        raise ValueError(f"shape mismatch: {x.shape} vs {q.shape}")
    noise = float(np.sum((x - q) ** 2))
    signal = float(np.sum(x**2))
    return float("inf") if noise == 0 else 10.0 * np.log10(signal / noise)


def format_report(x: np.ndarray, formats: list[str] | None = None) -> list[dict]:
    """SQNR and max abs error of ``x`` in each format (all by default)."""
    rows = []
    for fmt in formats or list(QUANTIZERS):
        q = quantize(x, fmt)
        rows.append({"format": fmt, "sqnr_db": sqnr_db(x, q), "max_abs_err": float(np.max(np.abs(x - q)))})
    return rows
