"""Cross-checks of :mod:`paradigmlab.costmodel.formats` against independent implementations.

- Element formats against ``ml_dtypes`` casts (float8_e4m3fn, float8_e5m2,
  float6_e2m3fn, float6_e3m2fn, float4_e2m1fn), saturating (clip first) and,
  for FP8, plain casts; MX shared scales must survive a float8_e8m0fnu round trip.
- MX block formats against ``gfloat.quantize_block`` (Graphcore's OCP MX
  reference), block by block.
- NVFP4 against a composition of ``ml_dtypes`` casts (E4M3 block scale,
  E2M1 elements) following the NVIDIA recipe.

Each function returns the number of values that differ (NaNs compare equal,
signed zeros must match), so 0 everywhere means bit-identical values.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np

from paradigmlab.costmodel import formats as F

_ML_DTYPES = {"fp8_e4m3": "float8_e4m3fn", "fp8_e5m2": "float8_e5m2", "fp6_e2m3": "float6_e2m3fn",
              "fp6_e3m2": "float6_e3m2fn", "fp4_e2m1": "float4_e2m1fn"}
_GFLOAT_MX = {"mxfp8_e4m3": "format_info_mxfp8_e4m3", "mxfp8_e5m2": "format_info_mxfp8_e5m2",
              "mxfp6_e3m2": "format_info_mxfp6_e3m2", "mxfp6_e2m3": "format_info_mxfp6_e2m3",
              "mxfp4_e2m1": "format_info_mxfp4_e2m1", "mxint8": "format_info_mxint8"}


@contextlib.contextmanager
def ieee_subnormals() -> Iterator[None]:
    """Run with IEEE subnormals even if a training loop switched the FPU to flush-to-zero.

    ml_dtypes converts through float32, so under flush-to-zero its casts of
    tiny values (and of the E8M0 scale 2^-127) read zero. The previous mode is
    restored on exit.
    """
    flushed = bool((np.array([2.0**-140], np.float32) * np.float32(1.0))[0] == 0)
    if not flushed:
        yield
        return
    import torch

    torch.set_flush_denormal(False)
    try:
        yield
    finally:
        torch.set_flush_denormal(True)


def _differ(a: np.ndarray, b: np.ndarray) -> int:
    same = (a == b) & (np.signbit(a) == np.signbit(b)) | (np.isnan(a) & np.isnan(b))
    return int((~same).sum())


@ieee_subnormals()
def ml_dtypes_mismatches(x: np.ndarray) -> dict[str, int]:
    """Differences between our element rounding and ml_dtypes casts of float32 ``x``."""
    import ml_dtypes

    x = np.asarray(x, np.float32)
    out = {}
    for name, dt_name in _ML_DTYPES.items():
        fmt, dt = F.ELEMENT_FORMATS[name], getattr(ml_dtypes, dt_name)
        ref = np.clip(x, -fmt.max_normal, fmt.max_normal).astype(dt).astype(np.float64)
        out[f"{name} (saturating)"] = _differ(F.quantize_element(x, fmt, saturate=True), ref)
        if fmt.has_nan:
            out[f"{name} (plain cast)"] = _differ(F.quantize_element(x, fmt, saturate=False), x.astype(dt).astype(np.float64))
    blocks = np.asarray(x, np.float64).reshape(-1, F.MX_BLOCK)
    for name, fmt in F.MX_ELEMENT_FORMATS.items():  # shared scales must be exact E8M0 values
        scales = np.ldexp(1.0, F.mx_scale_exponents(blocks, fmt.emax)).astype(np.float32)
        out[f"{name} scale as float8_e8m0fnu"] = _differ(scales.astype(ml_dtypes.float8_e8m0fnu).astype(np.float64),
                                                         scales.astype(np.float64))
    return out


@ieee_subnormals()
def gfloat_mx_mismatches(x: np.ndarray) -> dict[str, int]:
    """Differences between our MX quantisation and gfloat's, over rows of 32 values.

    Raises ImportError when gfloat (or its dependency array_api_compat) is missing.
    """
    import gfloat
    import gfloat.formats as gf

    blocks = np.asarray(x, np.float64).reshape(-1, F.MX_BLOCK)
    out = {}
    for name, fi_name in _GFLOAT_MX.items():
        fi = getattr(gf, fi_name)
        ref = np.stack([gfloat.quantize_block(fi, b, gfloat.compute_scale_amax) for b in blocks])
        out[name] = _differ(F.quantize_mx(blocks, name), ref)
    return out


@ieee_subnormals()
def nvfp4_mismatches(x: np.ndarray, per_tensor_scale: bool = True) -> int:
    """Differences between our NVFP4 and a composition of ml_dtypes E4M3/E2M1 casts."""
    import ml_dtypes

    blocks = np.asarray(x, np.float32).reshape(-1, F.NVFP4_BLOCK)
    amax_t = float(np.abs(blocks).max())
    s = np.float32(amax_t / 2688.0) if per_tensor_scale and amax_t > 0 else np.float32(1.0)
    amax = np.abs(blocks).max(axis=1, keepdims=True).astype(np.float64)
    scale = np.clip((amax / 6.0 / float(s)).astype(np.float32), 0, 448).astype(ml_dtypes.float8_e4m3fn).astype(np.float32)
    denom = (scale * s).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.clip((blocks.astype(np.float64) / np.where(denom > 0, denom, 1)).astype(np.float32), -6, 6)
    elem = scaled.astype(ml_dtypes.float4_e2m1fn).astype(np.float64)
    ref = np.where(denom > 0, elem * denom.astype(np.float64), 0.0)
    return _differ(F.quantize_nvfp4(blocks, per_tensor_scale), ref)


def random_test_tensor(rng: np.random.Generator, rows: int = 64, cols: int = 256) -> np.ndarray:
    """float32 values over a wide dynamic range, with zero blocks, exact ties, outliers and subnormals."""
    scale = np.exp(rng.uniform(-10, 10, (rows, 1)))
    x = (rng.standard_normal((rows, cols)) * scale).astype(np.float32)
    x[0, :32] = 0.0
    x[1, :] = rng.choice([0.75, 1.25, 2.5, 3.5, 5.0, -0.25, 6.5], cols)  # ties in FP4/FP6/FP8 grids
    x[2, ::7] = 1e6
    sign = rng.integers(0, 2, cols).astype(np.uint32) << 31
    x[3, :] = (rng.integers(1, 1 << 23, cols).astype(np.uint32) | sign).view(np.float32)  # float32 subnormals, from bits
    return x
