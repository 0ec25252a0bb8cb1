"""The one command-line grammar: every example `paradigmlab --help` shows runs (in seconds), old names
still work, a closed pipe ends quietly, user errors are one line and exit 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paradigmlab.cli import PARADIGMS, build_parser, main, report_sections

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the virtual environment's bin/, where the `paradigmlab` script lives
PARADIGMLAB = str(BIN / "paradigmlab")


def _help_examples() -> list[str]:
    """The ``$ `` lines of the top-level help: the copy-paste examples."""
    lines = build_parser().format_help().splitlines()
    return [line.strip()[2:] for line in lines if line.strip().startswith("$ ")]


EXAMPLES = _help_examples()


def test_help_shows_an_example_for_every_command_group():
    groups = {cmd.split("&&")[-1].split()[1] for cmd in EXAMPLES}
    assert set(PARADIGMS) | {"reproduce"} <= groups, groups


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A scratch folder that looks like the repository root (examples read benchmarks/results/)."""
    root = tmp_path_factory.mktemp("checkout")
    (root / "benchmarks").symlink_to(REPO / "benchmarks", target_is_directory=True)
    return root


@pytest.mark.skipif(shutil.which("paradigmlab", path=str(BIN)) is None, reason="paradigmlab script not installed")
@pytest.mark.parametrize("command", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_help_example_runs_in_seconds(command, checkout):
    # In order, in one folder: a later example may use what an earlier one wrote (looped train -> generate).
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    t0 = time.perf_counter()
    proc = subprocess.run(command, shell=True, cwd=checkout, env=env, capture_output=True, text=True, timeout=120)
    seconds = time.perf_counter() - t0
    assert proc.returncode == 0, f"{command}\nexit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    assert seconds < 30, f"{command} took {seconds:.1f} s; the help promises seconds"


def test_old_names_are_aliases():
    parser = build_parser()
    new, old = parser.parse_args(["costmodel", "hardware"]), parser.parse_args(["cost", "hardware"])
    assert new.func is old.func
    new = parser.parse_args(["optimize", "factor", "35"])
    old = parser.parse_args(["solve", "factor", "35"])
    assert new.func is old.func and old.N == 35


def _closed_pipe(args: list[str]) -> subprocess.CompletedProcess:
    """Run with standard output a pipe whose reader has already gone, so the first write fails."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([PARADIGMLAB, *args], stdout=write, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write)


@pytest.mark.parametrize("args", [["--help"], ["costmodel", "hardware"], ["cost", "decode", "--model", "gpt2",
                                                                           "--hardware", "a100-80gb", "--layers"]])
def test_closed_pipe_ends_quietly(args):
    proc = _closed_pipe(args)
    # argparse swallows the failed write of --help itself (exit 0); a command's output exits as SIGPIPE would.
    expected = (0, 141) if args == ["--help"] else (141,)
    assert proc.stderr == "" and proc.returncode in expected, (proc.returncode, proc.stderr)


def test_pipe_into_head():
    proc = subprocess.run(f"'{PARADIGMLAB}' costmodel hardware | head -1; '{PARADIGMLAB}' --help | head -1",
                          shell=True, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr and proc.stderr == ""
    assert len(proc.stdout.splitlines()) == 2


def _one_line_error(capsys, argv: list[str], match: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("paradigmlab: error: ") and err.count("\n") == 1 and match in err, err


def test_user_errors_are_one_line_and_exit_2(tmp_path, capsys):
    _one_line_error(capsys, ["costmodel", "decode", "--model", "no-such-model", "--hardware", "a100-80gb"],
                    "no-such-model")
    _one_line_error(capsys, ["costmodel", "formats", str(tmp_path / "missing.npy")], "missing.npy")
    # Output paths: a folder where a file is expected, a file where a folder is expected.
    (tmp_path / "d.png").mkdir()
    _one_line_error(capsys, ["costmodel", "roofline", "--models", "gpt2", "--out", str(tmp_path / "d.png")], "d.png")
    (tmp_path / "plain").write_text("")
    _one_line_error(capsys, ["costmodel", "roofline", "--models", "gpt2", "--out", str(tmp_path / "plain" / "r.png")],
                    "plain")
    _one_line_error(capsys, ["costmodel", "decode", "--model", "gpt2", "--hardware", "a100-80gb",
                             "--json", str(tmp_path)], str(tmp_path))


def test_json_option_writes_or_prints(tmp_path, capsys):
    import json

    argv = ["costmodel", "decode", "--model", "gpt2", "--hardware", "a100-80gb"]
    assert main([*argv, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert main([*argv, "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out) == printed
    assert main([*argv, "--json", str(tmp_path / "d.json")]) == 0
    assert "prediction:" in capsys.readouterr().out  # a file target keeps the human-readable lines
    assert json.loads((tmp_path / "d.json").read_text()) == printed


def test_reproduce_unknown_section_fails_before_running(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--only", "nosuch", "--out", str(tmp_path / "report")]) == 2
    err = capsys.readouterr().err
    assert "'nosuch'" in err and all(p in err for p in PARADIGMS), err
    assert not (tmp_path / "report").exists()
    assert main(["reproduce", "--list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == list(report_sections())  # every paradigm's sections, in PARADIGMS order
    assert [n for n in listed if n in PARADIGMS] == list(PARADIGMS) and "ebm-memory" in listed
