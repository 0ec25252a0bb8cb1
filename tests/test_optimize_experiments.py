"""The experiment harness behind the report and benchmarks: data discovery, runs, resume, tables."""

import math

import networkx as nx
import pytest

from paradigmlab.optimize import experiments as ex
from paradigmlab.optimize.maxcut import MaxCut


def test_best_known_cuts_parsed_from_readme(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("| graph | N | edges | weights | kind | best-known cut |\n|---|---|---|---|---|---|\n"
                      "| G11 | 800 | 1,600 | +-1 | toroidal | 564 |\n| G22 | 2,000 | 19,990 | +1 | random | 13,359 |\n")
    assert ex.best_known_cuts(readme) == {"G11": 564, "G22": 13359}


def test_generated_stand_ins_without_shared_data(tmp_path, monkeypatch):
    monkeypatch.setenv("PARADIGMLAB_DATA", str(tmp_path / "absent"))
    inst = ex.gset_instances(["G11", "G14"], tmp_path / "graphs")
    assert [i.name for i in inst] == ["R800s", "R800"]
    assert all(i.best_known is None for i in inst)
    assert inst[0].problem.W.nnz == 2 * 1600 and (tmp_path / "graphs" / "R800s").is_file()


def test_runs_resume_from_checkpoint_and_summarise(tmp_path):
    G = nx.cycle_graph(8)  # even cycle: the maximum cut is all 8 edges
    inst = [ex.Instance("C8", MaxCut(G, "C8"), 8, "test")]
    ckpt = tmp_path / "runs.json"
    lines = []
    rows = ex.maxcut_runs(inst, ["pbit-anneal", "dwave-sa"], lambda i: 0.5, [0], checkpoint=ckpt, log=lines.append)
    assert len(rows) == 2 and len(lines) == 2 and all(r["best_cut"] == 8 for r in rows)
    again = ex.maxcut_runs(inst, ["pbit-anneal", "dwave-sa"], lambda i: 0.5, [0], checkpoint=ckpt,
                           log=lines.append)
    assert again == rows and len(lines) == 2  # nothing re-run
    summary = ex.maxcut_summary(rows)
    assert {e["solver"]: e["gap_pct"] for e in summary} == {"dwave-sa": 0.0, "pbit-anneal": 0.0}
    h2h = ex.head_to_head(summary, "dwave-sa")
    assert h2h["graphs"] == 1 and h2h["better"] + h2h["equal"] + h2h["worse"] == 1
    table = ex.maxcut_markdown(summary)
    assert "| C8 | pbit-anneal | 0.5 | 1 | 8 | 8 | 8 | 0.000% | 1/1 |" in table
    assert ex.plot_traces(rows, tmp_path / "t.png").stat().st_size > 0


def test_head_to_head_ranks_cut_first_then_time_to_solution():
    def row(graph, solver, median, tts):
        return {"graph": graph, "solver": solver, "best_cut": median + 1, "median_cut": median, "tts_tts": tts}

    inf = float("inf")
    summary = [row("A", "pbit-anneal", 10, inf), row("A", "dwave-sa", 9, 1.0),  # more cut wins
               row("B", "pbit-anneal", 10, 5.0), row("B", "pbit-pt", 10, 2.0), row("B", "dwave-sa", 10, 4.0),
               row("C", "pbit-anneal", 10, 2.2), row("C", "dwave-sa", 10, 2.0),  # within the tie factor
               row("D", "pbit-anneal", 10, inf), row("D", "dwave-sa", 10, inf),  # neither reached it
               row("E", "pbit-anneal", 10, inf), row("E", "dwave-sa", 10, 9.0),  # they reached it, we did not
               row("F", "pbit-anneal", 8, 1.0), row("F", "dwave-sa", 9, inf)]
    assert ex.head_to_head(summary, "dwave-sa") == {"better": 2, "equal": 2, "worse": 2, "graphs": 6}


def test_median_with_misses():
    assert ex._median_with_misses([1.0, None, 3.0], 10.0) == 3.0
    assert ex._median_with_misses([None, None, 1.0], 10.0) is None
    with pytest.raises(ValueError, match="unknown solver"):
        ex.run_solver("nope", MaxCut(nx.cycle_graph(4)), 1.0, 0)
    assert math.isinf(ex.maxcut_summary([{"graph": "g", "solver": "s", "seed": 0, "budget_s": 1.0, "best_cut": 3,
                                          "best_known": 4, "time_to_best_known_s": None}])[0]["tts_tts"])
