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
