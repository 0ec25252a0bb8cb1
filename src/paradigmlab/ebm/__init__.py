"""Energy-based models on the p-bit computer (paper 3.3.2 and 4.2).

``SparseDBM`` is a Boltzmann machine on a sparse hardware graph (default: the
4,264-p-bit Pegasus graph of Niazi et al. 2024) trained by contrastive
learning with both phases sampled by p-bit kernels; ``RBM`` and ``DBN`` are the
classic layered models on the same engine; ``ais`` estimates partition
functions.
"""

import importlib

#: Public name -> the module defining it. Imported on first use (PEP 562), so that ``paradigmlab --help`` and the
#: other paradigms' commands do not pay for scikit-learn and the numba kernels.
_EXPORTS = {"AISResult": "ais", "ais_log_partition": "ais", "exact_log_partition": "ais", "SparseDBM": "dbm",
            "DBN": "rbm", "RBM": "rbm", "TrainConfig": "training", "Trainer": "training"}

__all__ = ["SparseDBM", "RBM", "DBN", "TrainConfig", "Trainer", "AISResult", "ais_log_partition",
           "exact_log_partition"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"paradigmlab.ebm.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'paradigmlab.ebm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
