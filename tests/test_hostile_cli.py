"""Hostile command lines: bad option values and unwritable outputs are one-line errors (exit 2), found
before any work starts."""

from __future__ import annotations

import time

import pytest

from paradigmlab.cli import main

#: Every command that writes something, with the option that names its output ({o} is replaced).
WRITERS = [
    "pbit sample m.txt --out {o}", "pbit sample m.txt --json {o}", "pbit bench --json {o}",
    "pbit bench --json x.json --png {o}",
    "ebm train --out {o}", "ebm train --checkpoint {o}", "ebm train --json {o}", "ebm evaluate m.npz --json {o}",
    "ebm generate m.npz --out {o}",
    "optimize maxcut g.txt --json {o}", "optimize qubo q.txt --json {o}", "optimize sat f.cnf --json {o}",
    "optimize factor 35 --json {o}", "solve factor 35 --json {o}",
    "looped train --out {o}", "looped table1 --out {o}", "looped bench --out {o}",
    "costmodel decode --model gpt2 --hardware a100-80gb --json {o}", "costmodel validate --json {o}",
    "costmodel roofline --out {o}", "costmodel bench --json {o}", "cost formats t.npy --json {o}",
    "reproduce --out {o}",
]


@pytest.mark.parametrize("cmd", WRITERS)
def test_output_inside_a_file_is_refused_before_work(tmp_path, capsys, cmd):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    t0 = time.perf_counter()
    rc = main(cmd.format(o=blocker / "out.dat").split())
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("paradigmlab: error: --") and "is not a directory" in err and err.count("\n") == 1
    assert time.perf_counter() - t0 < 5  # refused up front, not after the work


@pytest.mark.parametrize("cmd", ["pbit sample m.txt --out {d}", "ebm train --checkpoint {d}",
                                 "optimize factor 35 --json {d}", "costmodel roofline --out {d}"])
def test_a_directory_where_a_file_is_meant(tmp_path, capsys, cmd):
    rc = main(cmd.format(d=tmp_path).split())
    assert rc == 2 and "is a directory" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", [
    "ebm train --label-copies 0", "ebm train --minutes -1", "ebm train --minutes nan", "ebm evaluate m.npz --n -9998",
    "pbit sample m.txt --chains 0", "pbit sample m.txt --chains 2.5", "pbit sample m.txt --seed -1",
    "optimize factor 35 --time-limit 0", "optimize maxcut g.txt --chains -3",
    "looped generate run --max-new-tokens 0", "costmodel decode --model gpt2 --hardware a100-80gb --batch 0",
])
def test_bad_option_values_exit_2(capsys, cmd):
    with pytest.raises(SystemExit) as exc:
        main(cmd.split())
    assert exc.value.code == 2
    assert "error: argument" in capsys.readouterr().err
