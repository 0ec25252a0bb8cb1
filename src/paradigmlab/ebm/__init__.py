"""Energy-based models on the p-bit computer (paper 3.3.2 and 4.2).

``SparseDBM`` is a Boltzmann machine on a sparse hardware graph (default: the
4,264-p-bit Pegasus graph of Niazi et al. 2024) trained by contrastive
learning with both phases sampled by p-bit kernels; ``RBM`` and ``DBN`` are the
classic layered models on the same engine; ``ais`` estimates partition
functions.
"""

from paradigmlab.ebm.ais import AISResult, ais_log_partition, exact_log_partition
from paradigmlab.ebm.dbm import SparseDBM
from paradigmlab.ebm.rbm import DBN, RBM
from paradigmlab.ebm.training import TrainConfig, Trainer

__all__ = ["SparseDBM", "RBM", "DBN", "TrainConfig", "Trainer", "AISResult", "ais_log_partition",
           "exact_log_partition"]
