"""Bundled model and hardware presets (small JSON files) and user-supplied files.

A preset named ``llama-2-7b`` of kind ``model`` lives in
``presets/llama-2-7b.model.json``. Anything that is a path to an existing
``.json`` or ``.toml`` file is read as a user file instead.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

PRESET_DIR = Path(__file__).resolve().parent / "presets"


def preset_names(kind: str) -> list[str]:
    """Names of the bundled presets of one kind (``model``, ``hardware``, ...)."""
    return sorted(p.name[: -len(f".{kind}.json")] for p in PRESET_DIR.glob(f"*.{kind}.json"))


def load_preset(kind: str, name_or_file: str | Path) -> dict[str, Any]:
    """Return the dict of a bundled preset or of a user JSON/TOML file.

    Raises ``ValueError`` naming the known presets when nothing matches, or
    the file and the parse problem when a user file is malformed.
    """
    path = Path(name_or_file)
    if path.suffix.lower() in (".json", ".toml"):
        if not path.is_file():
            raise FileNotFoundError(f"{kind} file not found: {path}")
        return _read(path)
    candidate = PRESET_DIR / f"{str(name_or_file).lower()}.{kind}.json"
    if not candidate.is_file():
        raise ValueError(
            f"unknown {kind} '{name_or_file}'; bundled: {', '.join(preset_names(kind))} "
            f"(or give a .json/.toml file)"
        )
    return _read(candidate)


def _read(path: Path) -> dict[str, Any]:
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(path.read_text())
        else:
            data = json.loads(path.read_text())
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot parse {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object / TOML table at top level")
    return data
