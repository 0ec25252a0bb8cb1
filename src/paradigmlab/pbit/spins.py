"""The +-1 arrays every p-bit paradigm passes around: one way to draw them, one way to check them."""

from __future__ import annotations

import numpy as np

#: The two p-bit values, in the order random draws pick from (fixed: seeded runs depend on it).
SPIN_VALUES = np.array([-1, 1], dtype=np.int8)


def random_spins(rng: np.random.Generator | int | None | list, shape: int | tuple[int, ...]) -> np.ndarray:
    """Uniformly random int8 +-1 array of ``shape``; ``rng`` is a Generator or anything
    ``np.random.default_rng`` takes (a seed, a list of seeds)."""
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    return rng.choice(SPIN_VALUES, size=shape)


def check_spins(x, width: int | None = None, name: str = "states", ndim: int | None = 2) -> np.ndarray:
    """Validate a +-1 array (``ndim`` dimensions, last one ``width`` long if given); return it as int8.

    The error names ``name`` and what is wrong (shape, or a value other than -1/+1).
    """
    a = np.asarray(x)
    if ndim is not None and a.ndim != ndim:
        want = "(n, " + (str(width) if width is not None else "N") + ")" if ndim == 2 else f"{ndim} dimensions"
        raise ValueError(f"{name} must have shape {want}, got {a.shape}")
    if width is not None and (a.ndim == 0 or a.shape[-1] != width):
        raise ValueError(f"{name} must have {width} columns, got shape {a.shape}")
    if not np.all((a == 1) | (a == -1)):
        raise ValueError(f"{name} must contain only -1 and +1")
    return a.astype(np.int8, copy=False)
