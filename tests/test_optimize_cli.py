"""``paradigmlab solve ...``: results, JSON output, and clear errors on bad input."""

import json

import networkx as nx

from paradigmlab.cli import main
from paradigmlab.optimize.io import write_cnf, write_gset, write_qubo
from paradigmlab.optimize.sat import CNF


def test_solve_maxcut_writes_json(tmp_path, capsys):
    g = write_gset(tmp_path / "c6", nx.cycle_graph(6))  # even cycle: every edge can be cut
    out = tmp_path / "r.json"
    rc = main(["solve", "maxcut", str(g), "--time-limit", "20", "--target", "6", "--chains", "8",
               "--quiet", "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "best cut = 6" in text
    res = json.loads(out.read_text())
    assert res["objective"] == 6 and res["time_to_target_s"] is not None and len(res["state"]) == 6


def test_solve_qubo_sat_and_factor(tmp_path, capsys):
    q = write_qubo(tmp_path / "q.txt", {(0, 0): -1.0, (1, 1): -1.0, (0, 1): 3.0, (2, 2): 1.0}, 3, offset=0.5)
    assert main(["solve", "qubo", str(q), "--time-limit", "20", "--target", "-0.5", "--chains", "8",
                 "--quiet"]) == 0
    assert "best value = -0.5" in capsys.readouterr().out
    cnf = write_cnf(tmp_path / "f.cnf", CNF([[1, 2], [-1, 2], [-2, 3]]))
    assert main(["solve", "sat", str(cnf), "--time-limit", "20", "--chains", "8", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "best satisfied clauses = 3" in text and "all_satisfied: True" in text
    assert main(["solve", "factor", "77", "--time-limit", "30", "--quiet"]) == 0
    assert "factors: 7 x 11" in capsys.readouterr().out


def test_bad_inputs_exit_2_with_a_clear_message(tmp_path, capsys):
    bad = tmp_path / "bad.gset"
    bad.write_text("3 1\n1 9 1\n")
    assert main(["solve", "maxcut", str(bad), "--quiet"]) == 2
    assert "bad.gset:2: vertex out of range" in capsys.readouterr().err
    assert main(["solve", "factor", "97", "--quiet"]) == 2
    assert "prime" in capsys.readouterr().err
    assert main(["solve", "sat", str(tmp_path / "missing.cnf"), "--quiet"]) == 2
    assert "no such file" in capsys.readouterr().err


def run_help_examples(epilog: str, tmp_path, monkeypatch) -> int:
    """Run every command line of a --help epilog in ``tmp_path``: ``printf`` lines in bash, ``paradigmlab`` lines
    through :func:`main`; returns how many commands ran."""
    import shlex
    import subprocess

    monkeypatch.chdir(tmp_path)
    ran = 0
    for line in epilog.splitlines():
        cmd = line.strip().split("   #")[0].strip()
        if cmd.startswith("printf "):
            subprocess.run(["bash", "-c", cmd], check=True, cwd=tmp_path)
        elif cmd.startswith("paradigmlab "):
            assert main(shlex.split(cmd)[1:]) == 0, cmd
            ran += 1
    return ran


def test_optimize_is_the_command_name_solve_an_alias_and_help_examples_run(tmp_path, capsys, monkeypatch):
    from paradigmlab.optimize.cli import EXAMPLES, examples_epilog

    assert run_help_examples(examples_epilog(*EXAMPLES), tmp_path, monkeypatch) == 4
    capsys.readouterr()
    q = write_qubo(tmp_path / "q2.txt", {(0, 0): -1.0, (1, 1): 2.0}, 2)
    assert main(["optimize", "qubo", str(q), "--time-limit", "5", "--target", "-1", "--quiet", "--json", "-"]) == 0
    res = json.loads(capsys.readouterr().out)  # stdout is the JSON alone
    assert res["objective"] == -1.0 and res["state"] == [1, -1]
