"""Swappable sweep kernels behind one contract (see :class:`base.Kernel`).

``reference`` is readable numpy, ``numba`` the fast multi-threaded CPU kernel,
``torch`` batched chains on CPU or CUDA. All three are tested against exact
enumeration by the same test suite.
"""

from __future__ import annotations

from paradigmlab.pbit.kernels.base import Kernel

BACKENDS = ("reference", "numba", "torch")


def is_backend(backend) -> bool:
    """``backend`` names a kernel (:data:`BACKENDS`) or makes them itself (an object with ``make_kernel``, such
    as a :class:`paradigmlab.pbit.substrate.Substrate`: the emulated hardware)."""
    return callable(getattr(backend, "make_kernel", None)) or backend in BACKENDS


def make_kernel(backend, *args, **kwargs) -> Kernel:
    """Instantiate the kernel of ``backend``: one of :data:`BACKENDS`, or an object whose ``make_kernel(J, h,
    groups, num_chains, seed=None, device=None)`` returns one (see :func:`is_backend`)."""
    if callable(getattr(backend, "make_kernel", None)):
        return backend.make_kernel(*args, **kwargs)
    if backend == "reference":
        from paradigmlab.pbit.kernels.reference import ReferenceKernel as cls
    elif backend == "numba":
        from paradigmlab.pbit.kernels.numba_kernel import NumbaKernel as cls
    elif backend == "torch":
        from paradigmlab.pbit.kernels.torch_kernel import TorchKernel as cls
    else:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    return cls(*args, **kwargs)
