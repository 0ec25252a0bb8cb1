"""The shared run record: every paradigm reports quality and cost the same way.

A :class:`Run` holds what was measured (quality metrics, cost metrics), the
configuration that produced it, and the machine and library versions, and
writes itself to JSON atomically so that results survive interrupts.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Callable, Iterator


def machine_info() -> dict[str, Any]:
    """Describe the machine and the key library versions a measurement ran on."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    for mod in ("numpy", "numba", "torch", "scipy"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            pass
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        # the widest vector unit torch's kernels use here: one "AMD EPYC" VM has AVX-512 and the next only AVX2,
        # and the same kernel ran 3-4x faster on the first
        info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        info["processor"] += f" ({info['cpu_capability']})"  # so every "machine: ..." line a report prints says it
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    try:
        import numba

        # the configured count, not numba.get_num_threads(): that call launches numba's threading layer, after
        # which torch's CPU results in the same process stop being bit-reproducible (measured: a torch run after
        # it differs from the same run before it by ~1e-9)
        info["numba_threads"] = numba.config.NUMBA_NUM_THREADS
    except ImportError:
        pass
    return info


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


@dataclass
class Run:
    """Quality + cost of one run of one paradigm, with its config and machine."""

    paradigm: str
    task: str
    config: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=machine_info)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form, ready for JSON."""
        return asdict(self)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the record as JSON atomically (temp file + rename)."""
        return write_json_atomic(path, self.to_dict())


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``.

    Whatever the caller writes there (JSON, ``np.savez``, ``torch.save``, text)
    replaces ``path`` in one rename, so an interrupt or crash never leaves a
    half-written file; on failure the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp" + path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files :func:`atomic_path` leaves beside ``path`` when a process is killed
    mid-write (a ``kill -9`` skips its clean-up); ``path`` itself is never touched. Returns what was removed."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    import glob

    stale = [p for p in path.parent.glob(f"{glob.escape(path.name)}*.tmp{glob.escape(path.suffix)}")
             if p.is_file() and p != path]
    for p in stale:
        p.unlink()
    return stale


def write_json_atomic(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> Path:
    """Write ``obj`` as JSON to ``path`` so that a crash never leaves half a file (``indent=None``: one line, for
    results with long arrays)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as fh:
            json.dump(obj, fh, indent=indent, default=_json_default)
            fh.write("\n")
    return Path(path)


def savez_atomic(path: str | os.PathLike, arrays: dict, compressed: bool = False) -> Path:
    """``np.savez`` (or ``savez_compressed``) of ``arrays`` to exactly ``path``, atomically (see :func:`atomic_path`).

    Written through an open file, so numpy never appends ``.npz`` to the name.
    """
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            (np.savez_compressed if compressed else np.savez)(fh, **arrays)
    return Path(path)


def save_json_in_npz(path: str | os.PathLike, arrays: dict, meta: dict) -> Path:
    """Atomically write ``arrays`` plus a JSON ``meta`` dict (key ``meta_json``) into one .npz."""
    import numpy as np

    return savez_atomic(path, {**arrays, "meta_json": np.array(json.dumps(meta, default=_json_default))})


def emit_json(target: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as JSON: to standard output when ``target`` is ``"-"``, else atomically to that file.

    This is what every command's ``--json PATH`` does (``--json -`` prints).
    """
    if str(target) == "-":
        import sys

        json.dump(obj, sys.stdout, indent=2, default=_json_default)
        sys.stdout.write("\n")
        sys.stdout.flush()
    else:
        write_json_atomic(target, obj)


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def time_repeats(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> dict[str, Any]:
    """Time ``fn`` ``repeats`` times after ``warmup`` calls; return median/min/max seconds (and every
    time in ``times_s``)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "repeats": repeats,
        "times_s": times,
    }
