"""Model files and the ``paradigmlab pbit`` command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from paradigmlab.cli import main
from paradigmlab.pbit import IsingModel
from paradigmlab.pbit.io import load_model, save_npz


def test_text_npz_and_bqm_json_load_the_same_model(tmp_path):
    txt = tmp_path / "m.txt"
    txt.write_text("# nodes 4\n0 1 1.0\n1 2 -0.5\n2 3 2.0\n0 0.25\n3 -1\n")
    m, off = load_model(txt)
    assert m.num_nodes == 4 and off == 0
    save_npz(m, tmp_path / "m.npz")
    m2, _ = load_model(tmp_path / "m.npz")
    (tmp_path / "m.json").write_text(json.dumps(m.to_bqm().to_serializable()))
    m3, off3 = load_model(tmp_path / "m.json")
    for other in (m2, m3):
        np.testing.assert_allclose(other.to_dense(), m.to_dense())
        np.testing.assert_allclose(other.h, m.h)


@pytest.mark.parametrize(
    "content, match",
    [
        ("0 1 1.0\n1 x 2.0\n", ":2: node index must be an integer"),
        ("0 1 1.0\n1 2 3 4\n", ":2: expected 'i j J_ij'"),
        ("0 1 1.0\n1 0 2.0\n", "asymmetric"),
        ("0 0 1.0\n", "self-coupling"),
        ("0 1 nan\n", ":1: value must be finite"),
        ("# nodes 2\n0 5 1.0\n", "outside the declared 2 nodes"),
    ],
)
def test_malformed_text_files_name_line(tmp_path, content, match):
    p = tmp_path / "bad.txt"
    p.write_text(content)
    with pytest.raises(ValueError, match=match):
        load_model(p)


def test_bad_npz_and_json(tmp_path):
    np.savez(tmp_path / "x.npz", foo=np.zeros(2))
    with pytest.raises(ValueError, match="needs an array 'J'"):
        load_model(tmp_path / "x.npz")
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a dimod BQM JSON"):
        load_model(tmp_path / "x.json")


def test_cli_sample_anneals_to_ground_state(tmp_path, capsys):
    # a ferromagnetic ring: ground state energy -N, all spins equal
    n = 12
    m = IsingModel({(i, (i + 1) % n): 1.0 for i in range(n)})
    save_npz(m, tmp_path / "ring.npz")
    out = tmp_path / "summary.json"
    rc = main(["pbit", "sample", str(tmp_path / "ring.npz"), "--chains", "8", "--sweeps", "300",
               "--schedule", "geometric:0.1:4", "--seed", "0", "--json", str(out), "--out", str(tmp_path / "s.npz")])
    assert rc == 0
    summary = json.loads(out.read_text())
    assert summary["lowest_energy"] == pytest.approx(-n)
    assert np.load(tmp_path / "s.npz")["states"].shape == (8, n)
    assert "lowest energy" in capsys.readouterr().out


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["pbit", "sample", str(tmp_path / "missing.txt")]) == 2
    assert "does not exist" in capsys.readouterr().err
    p = tmp_path / "m.txt"
    p.write_text("0 1 1.0\n")
    assert main(["pbit", "sample", str(p), "--schedule", "cubic:0:1"]) == 2
    assert "--schedule must be" in capsys.readouterr().err


def test_cli_help_examples_run_and_json_dash_prints(tmp_path, capsys, monkeypatch):
    from paradigmlab.pbit.cli import BENCH_EXAMPLES, SAMPLE_EXAMPLES
    from test_optimize_cli import run_help_examples

    assert run_help_examples(SAMPLE_EXAMPLES, tmp_path, monkeypatch) == 3
    assert np.load(tmp_path / "ring.npz")["states"].shape == (8, 3)
    assert np.load(tmp_path / "split.npz")["states"].shape == (8 * 100, 3)  # split over 2 processes, every sweep read
    out = capsys.readouterr().out
    summary = json.loads(out[out.index("{"):])  # the second example prints its JSON last
    assert summary["lowest_energy"] == pytest.approx(-3) and summary["info"]["reads"]["num_samples"] == 10
    assert run_help_examples(BENCH_EXAMPLES, tmp_path, monkeypatch) == 1
    bench = json.loads(capsys.readouterr().out)
    assert [r["sampler"] for r in bench["results"]] == ["paradigmlab-numba"] and bench["results"][0]["flips_per_ns"] > 0
    assert main(["pbit", "sample", "ring.txt", "--num-samples", "3", "--sweeps", "30", "--out", "x.txt"]) == 2
    assert "--out must name a .npz file" in capsys.readouterr().err
