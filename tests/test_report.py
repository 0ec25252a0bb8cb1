"""The report is a leaf: it runs the sections it is handed, in order, keeps going past a failure, and
rejects a section selection that matches nothing before running anything."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import paradigmlab.report as report
from paradigmlab.report import Section, reproduce, select_sections


def _sections(calls: list[str]):
    def first(out_dir: Path, quick: bool) -> Section:
        calls.append(f"first quick={quick}")
        (out_dir / "first.png").write_bytes(b"png")
        return Section("First title", "first body", ["first.png"], {"x": 1})

    def broken(out_dir: Path, quick: bool) -> Section:
        calls.append("broken")
        raise ZeroDivisionError("boom")

    def last(out_dir: Path, quick: bool) -> Section:
        calls.append("last")
        return Section("Last title", "last body", [], {"y": [2, 3]})

    return {"first": first, "broken": broken, "last": last}


def test_runs_every_section_in_order_and_records_failures(tmp_path, capsys):
    calls: list[str] = []
    with pytest.raises(RuntimeError, match="report sections failed: broken"):
        reproduce(tmp_path, _sections(calls), quick=True)
    assert calls == ["first quick=True", "broken", "last"]  # a failure does not stop the sections after it
    md = (tmp_path / "README.md").read_text()
    assert md.index("## First title") < md.index("## broken: FAILED") < md.index("## Last title")
    assert "ZeroDivisionError: boom" in md and "first body" in md and "last body" in md
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["quick"] is True
    assert summary["sections"]["first"]["data"] == {"x": 1}
    assert summary["sections"]["broken"] == {"failed": True}
    assert summary["sections"]["last"]["title"] == "Last title"
    assert "== reproduce: first" in capsys.readouterr().out


def test_only_selects_by_substring_and_unknown_words_fail_before_running(tmp_path):
    calls: list[str] = []
    path = reproduce(tmp_path / "r", _sections(calls), quick=False, only=["las"])
    assert calls == ["last"] and "Scale: full" in path.read_text()
    assert list(select_sections(_sections([]), ["fir", "last"])) == ["first", "last"]
    assert list(select_sections(_sections([]), None)) == ["first", "broken", "last"]
    with pytest.raises(ValueError, match=r"'nosuch'.*known sections: first, broken, last"):
        reproduce(tmp_path / "never", _sections(calls), only=["first", "nosuch"])
    assert calls == ["last"] and not (tmp_path / "never").exists()


def test_report_imports_no_paradigm():
    tree = ast.parse(Path(report.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    ours = {m for m in imported if m and m.startswith("paradigmlab")}
    assert ours == {"paradigmlab.measure"}, ours
