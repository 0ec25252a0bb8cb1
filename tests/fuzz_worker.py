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


def loaders() -> dict:
    """name -> (load(path), check(result)): ``check`` asserts what an accepted file must satisfy."""
    from paradigmlab.optimize import io as oio

    from paradigmlab.data.mnist import read_idx

    table = {
        "idx": (read_idx, lambda a: None),  # any array the header's shape and bytes agree on is valid
        "gset": (oio.read_gset, _finite_matrix),
        "cnf": (oio.read_cnf, _cnf_ok),
        "qubo": (oio.read_qubo, _qubo_ok),
    }
    try:
        from paradigmlab.pbit.io import load_model

        table["pbit-model"] = (load_model, _finite_model)
    except ImportError:
        pass
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
