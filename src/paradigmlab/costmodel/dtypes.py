"""Storage size and compute precision of the number formats the cost model knows.

Bits per element include the amortised block-scale overhead of block formats
(MX: one 8-bit E8M0 scale per 32 elements; NVFP4: one 8-bit E4M3 scale per 16;
gpt-fast int4: a bf16 scale and a bf16 zero point per group of 32), because
that is what crosses the memory bus.
"""

from __future__ import annotations

# name -> (storage bits per element, hardware precision used for the matmul)
_DTYPES: dict[str, tuple[float, str]] = {
    "fp32": (32.0, "fp32"),
    "tf32": (32.0, "tf32"),
    "bf16": (16.0, "bf16"),
    "fp16": (16.0, "fp16"),
    "fp8": (8.0, "fp8"),
    "fp8_e4m3": (8.0, "fp8"),
    "fp8_e5m2": (8.0, "fp8"),
    "int8": (8.0, "bf16"),  # weight-only (gpt-fast style): dequantised to bf16 for the matmul
    "w8a8": (8.0, "int8"),  # int8 weights and activations on integer tensor cores
    "int4": (4.0 + 32.0 / 32, "bf16"),  # weight-only, group 32 with bf16 scale + zero (gpt-fast)
    "fp6": (6.0, "fp6"),
    "fp4": (4.0, "fp4"),
    "mxfp8": (8.0 + 8.0 / 32, "fp8"),
    "mxfp6": (6.0 + 8.0 / 32, "fp6"),
    "mxfp4": (4.0 + 8.0 / 32, "fp4"),
    "mxint8": (8.0 + 8.0 / 32, "int8"),
    "nvfp4": (4.0 + 8.0 / 16, "fp4"),
}

# If a device lacks a precision, the matmul runs in the next one up this chain.
_FALLBACK = {
    "fp4": "fp6",
    "fp6": "fp8",
    "fp8": "bf16",
    "int4": "int8",
    "int8": "bf16",
    "fp16": "bf16",
    "bf16": "fp16",
    "tf32": "fp32",
}


def known_dtypes() -> list[str]:
    """Names accepted wherever a precision is asked for."""
    return sorted(_DTYPES)


def _check(name: str) -> str:
    key = name.lower().replace("-", "_")
    if key not in _DTYPES:
        raise ValueError(f"unknown dtype '{name}'; known: {', '.join(known_dtypes())}")
    return key


def bytes_per_element(name: str) -> float:
    """Bytes one element occupies in memory, block-scale overhead included."""
    return _DTYPES[_check(name)][0] / 8.0


def compute_precision(name: str) -> str:
    """Precision of the tensor-core instruction a matmul with this storage format uses."""
    return _DTYPES[_check(name)][1]


def fallback_precision(precision: str) -> str | None:
    """Next wider precision to use when a device has no peak for ``precision``."""
    return _FALLBACK.get(precision)
