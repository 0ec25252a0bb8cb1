"""Load files with one of paradigmlab's loaders, one JSON line per file, in a process of its own.

Run by ``tests/test_fuzz_loaders.py``: ``python tests/fuzz_worker.py LOADER FILE...``. A file that crashes
the process (a segfault in a C extension) ends it; the parent sees which file was last started and
restarts the worker after it, so a crash fails that test instead of killing pytest. Memory is capped,
and so is what a loader may allocate (``PARADIGMLAB_MAX_ALLOC_BYTES``), so a huge declared size shows up
as an error here rather than by exhausting the machine.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback
from pathlib import Path

import numpy as np

#: Exceptions that count as a clean refusal (when their message also names the file).
CLEAN = (ValueError, FileNotFoundError, IsADirectoryError, PermissionError)


def _finite_model(res):
    model = res[0] if isinstance(res, tuple) else res
    J = model.J
    assert np.all(np.isfinite(J.data)) and np.all(np.isfinite(model.h)), "non-finite couplings or fields"
    assert J.shape == (model.num_nodes, model.num_nodes) and (abs(J - J.T) > 1e-12).nnz == 0, "J not symmetric"
    if isinstance(res, tuple):
        assert np.isfinite(res[1]), "non-finite offset"


def _finite_matrix(W):
    assert np.all(np.isfinite(W.data)), "non-finite weights"


def _cnf_ok(cnf):
    assert all(c and 0 not in c and max(abs(v) for v in c) <= cnf.num_vars for c in cnf.clauses)


def _qubo_ok(res):
    Q, offset, n = res
    assert np.isfinite(offset) and all(np.isfinite(v) and 0 <= i <= j < n for (i, j), v in Q.items())


def _hopfield_ok(net):
    W = net.weights_
    assert W.shape == (net.N, net.N) and np.all(np.isfinite(W)) and np.allclose(W, W.T), "bad weights"
    assert np.all(np.abs(net.patterns_) == 1), "patterns not +-1"


def _dtm_model_ok(model):
    for m in model.models:
        assert np.all(np.isfinite(m.weights)) and np.all(np.isfinite(m.h)), "non-finite parameters"
        assert m.weights.shape == (m.coupling.num_edges,), "weights do not fit the graph"


def _spd_ok(A):
    assert A.ndim == 2 and A.shape[0] == A.shape[1] and np.all(np.isfinite(A)), "not a finite square matrix"
    assert np.allclose(A, A.T) and np.linalg.eigvalsh(A)[0] > 0, "not symmetric positive definite"


def _patterns_ok(x):
    assert x.ndim == 2 and x.dtype == np.int8 and np.all(np.abs(x) == 1), "patterns not a +-1 int8 matrix"


def _dbm_ok(m):
    assert np.all(np.isfinite(m.weights)) and np.all(np.isfinite(m.h)), "non-finite parameters"


#: The tiny DBM and data set the training-checkpoint seeds are made with (a checkpoint of other data is refused).
TINY_EDGES = np.array([[0, 5], [1, 5], [1, 6], [2, 6], [2, 7], [0, 7], [3, 5], [3, 6], [4, 6], [4, 7], [5, 6], [6, 7]])


def tiny_dbm_run(checkpoint, epochs: float):
    """Train (or resume) the tiny DBM with ``checkpoint``; returns the trainer."""
    from paradigmlab.ebm import SparseDBM, TrainConfig, Trainer

    rng = np.random.default_rng(0)
    m = SparseDBM(8, TINY_EDGES, visible=[0, 1, 2], labels=[[3, 4]], weights=rng.normal(0, 0.05, len(TINY_EDGES)))
    x, y = rng.choice([-1, 1], size=(12, 3)), rng.integers(0, 2, 12)
    cfg = TrainConfig(epochs=epochs, batch_size=4, num_chains=6, pos_sweeps=2, neg_sweeps=2, lr=0.05,
                      checkpoint=str(checkpoint), checkpoint_every=2, progress=False)
    return Trainer(m, cfg).train(x, y)


def _resume_tiny(path):
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as d:  # resume a copy: the corpus file stays as it was
        copy = Path(d) / Path(path).name
        shutil.copyfile(path, copy)
        try:
            return tiny_dbm_run(copy, epochs=3)
        except ValueError as exc:  # the copy's name is not the corpus file's: say which file it was
            raise ValueError(str(exc).replace(str(copy), str(path))) from None


def _load_cluster(path):
    from paradigmlab.costmodel.cluster import load_cluster

    return load_cluster(path)


def _cluster_ok(c):
    import math

    assert c.scale_up_size >= 1 and all(math.isfinite(v) and v > 0 for v in (c.scale_up_gbs, c.scale_out_gbs)), \
        "bad bandwidths"
    assert c.up > 0 and c.out > 0 and c.hardware.memory_gb > 0


def _looped_ok(res):
    model, state = res
    assert all(bool(np.isfinite(t.detach().numpy()).all()) for t in model.state_dict().values()
               if t.is_floating_point()), "non-finite weights"


def _tensors_ok(d):
    assert isinstance(d, dict) and all(isinstance(v, np.ndarray) for v in d.values())


def _trace_ok(a):
    assert a.dtype == np.float64 and a.ndim == 2 and a.shape[1] == 17, "not a (T, 17) float64 trace"
    assert np.all(np.isfinite(a)), "non-finite observations"


def _trainer_ok(state):
    assert all(bool(t.isfinite().all()) for t in state["model"].values() if t.is_floating_point())


def _liquid_ok(res):
    import torch

    model, run = res
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters()) and isinstance(run, dict)


def _jepa_ok(res):
    import torch

    from paradigmlab.jepa.experiments import RunConfig

    model, cfg = res
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters()) and isinstance(cfg, RunConfig)


def _partition_ok(part) -> None:
    assert part.parts.shape == (12,) and set(part.parts.tolist()) == {0, 1}, "not a 2-part partition of 12 p-bits"


def _tokens_ok(a) -> None:
    assert a.ndim == 1 and a.dtype == np.int64 and a.size and a.min() >= 0


def loaders() -> dict:
    """name -> (load(path), check(result)): ``check`` asserts what an accepted file must satisfy."""
    from paradigmlab.optimize import io as oio

    from paradigmlab.data.mnist import read_idx

    table = {
        "idx": (read_idx, lambda a: None),  # any array the header's shape and bytes agree on is valid
        "gset": (oio.read_gset, _finite_matrix),
        "cnf": (oio.read_cnf, _cnf_ok),
        "qubo": (oio.read_qubo, _qubo_ok),
        "cluster": (_load_cluster, _cluster_ok),
    }
    from paradigmlab.costmodel.experiments import load_tensors
    from paradigmlab.ebm import SparseDBM
    from paradigmlab.looped.train import load_checkpoint
    from paradigmlab.pbit.io import load_model

    table["pbit-model"] = (load_model, _finite_model)
    table["dbm"] = (SparseDBM.load, _dbm_ok)
    table["dbm-checkpoint"] = (_resume_tiny, lambda t: _dbm_ok(t.model))
    table["looped-checkpoint"] = (load_checkpoint, _looped_ok)
    table["tensors"] = (load_tensors, _tensors_ok)
    from paradigmlab.liquid.tasks import load_cheetah_trace

    table["cheetah-trace"] = (load_cheetah_trace, _trace_ok)
    from paradigmlab.liquid.experiments import read_model
    from paradigmlab.trainer import read_checkpoint

    table["trainer-checkpoint"] = (read_checkpoint, _trainer_ok)
    table["liquid-model"] = (read_model, _liquid_ok)
    from paradigmlab.data.tokens import load_token_file

    table["token-file"] = (load_token_file, _tokens_ok)
    from paradigmlab.ebm.hopfield import HopfieldNetwork, load_patterns

    table["hopfield-model"] = (HopfieldNetwork.load, _hopfield_ok)
    table["hopfield-patterns"] = (load_patterns, _patterns_ok)
    from paradigmlab.thermo.device import load_matrix

    table["thermo-matrix"] = (lambda path: load_matrix(path, spd=True), _spd_ok)
    from paradigmlab.thermo.dtm import load as load_dtm

    table["dtm-model"] = (load_dtm, _dtm_model_ok)
    from paradigmlab.pbit.distributed import partition
    from paradigmlab.pbit.model import IsingModel

    ring12 = IsingModel(np.eye(12, k=1) + np.eye(12, k=-1))  # the 12-p-bit chain the seed partition splits
    table["partition-file"] = (lambda path: partition(ring12, 2, str(path)), _partition_ok)
    from paradigmlab.jepa.experiments import load_model as load_jepa

    table["jepa-model"] = (load_jepa, _jepa_ok)
    return table


def main(argv: list[str]) -> int:
    limit = int(os.environ.get("FUZZ_MEMORY_BYTES", 6 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    name, files = argv[0], argv[1:]
    load, check = loaders()[name]
    for f in files:
        print(json.dumps({"start": f}), flush=True)
        out = {"file": f}
        try:
            res = load(f)
        except CLEAN as exc:
            msg = str(exc)
            out.update(status="clean" if Path(f).name in msg else "unnamed", type=type(exc).__name__, message=msg)
        except BaseException as exc:  # noqa: BLE001 - anything else is a defect worth a full traceback
            out.update(status="traceback", type=type(exc).__name__, message=str(exc)[:300],
                       trace=traceback.format_exc()[-1500:])
        else:
            try:
                check(res)
                out.update(status="accepted")
            except AssertionError as exc:
                out.update(status="silent-accept", message=str(exc))
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
