"""``paradigmlab ebm``: train / evaluate / generate end to end on a few updates, the JSON and --out grammar."""

import json

import numpy as np
import pytest

from paradigmlab.cli import build_parser, main
from paradigmlab.ebm.dbm import SparseDBM


def test_train_evaluate_generate(tmp_path, capsys):
    model, ckpt, summary = tmp_path / "dbm.npz", tmp_path / "ckpt.npz", tmp_path / "train.json"
    assert main(["ebm", "train", "--minutes", "1", "--recipe", '{"epochs": 0.04}', "--eval-n", "20",
                 "--checkpoint", str(ckpt), "--out", str(model), "--json", str(summary)]) == 0
    res = json.loads(summary.read_text())
    assert res["update"] == 2 and res["model_path"] == str(model) and 0 <= res["accuracy_estimate"] <= 1
    m = SparseDBM.load(model)
    assert m.labels.shape == (20, 10) and m.label_block == "softmax"  # the recipe's label copies and block
    capsys.readouterr()
    assert main(["ebm", "evaluate", str(model), "--n", "10", "--json", "-"]) == 0
    ev = json.loads(capsys.readouterr().out)  # only JSON on stdout
    assert ev["test_images"] == 10 and ev["burn_in"] == 100 and ev["num_samples"] == 40
    png = tmp_path / "digits.png"
    assert main(["ebm", "generate", str(model), "--per-class", "1", "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    # resuming the finished run changes nothing
    before = np.load(model)["weights"]
    assert main(["ebm", "train", "--minutes", "1", "--recipe", '{"epochs": 0.04}', "--eval-n", "20",
                 "--checkpoint", str(ckpt), "--out", str(model)]) == 0
    assert np.array_equal(np.load(model)["weights"], before)


def test_help_and_bad_recipe(capsys):
    for cmd in ("train", "evaluate", "generate"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["ebm", cmd, "--help"])
        text = capsys.readouterr().out
        assert "example" in text and f"paradigmlab ebm {cmd}" in text
        if cmd != "evaluate":
            assert "--out FILE" in text
    assert main(["ebm", "train", "--recipe", "[1]"]) == 2
    assert "JSON object" in capsys.readouterr().err


def test_hopfield_store_recall_capacity(tmp_path, capsys):
    rng = np.random.default_rng(0)
    xi = rng.choice([-1, 1], (8, 100))
    np.save(tmp_path / "xi.npy", xi)
    cues = xi * np.where(rng.random(xi.shape) < 0.1, -1, 1)
    np.save(tmp_path / "cues.npy", cues)
    assert main(["ebm", "hopfield", "store", str(tmp_path / "xi.npy"), "--rule", "pseudo-inverse",
                 "--out", str(tmp_path / "h.npz"), "--json", "-"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["patterns"] == 8 and res["fixed_points"] == 8
    assert main(["ebm", "hopfield", "recall", str(tmp_path / "h.npz"), str(tmp_path / "cues.npy"),
                 "--out", str(tmp_path / "s.npy"), "--json", "-"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["nearest_pattern"] == list(range(8)) and np.array_equal(np.load(tmp_path / "s.npy"), xi)
    assert main(["ebm", "hopfield", "recall", str(tmp_path / "h.npz"), str(tmp_path / "cues.npy"), "--beta", "5",
                 "--out", str(tmp_path / "t.npy")]) == 0
    png = tmp_path / "cap.png"
    assert main(["ebm", "hopfield", "capacity", "--sizes", "60", "--trials", "2", "--plot", str(png), "--json",
                 str(tmp_path / "cap.json")]) == 0
    cap = json.loads((tmp_path / "cap.json").read_text())
    assert png.read_bytes()[:4] == b"\x89PNG" and cap["rows"][0]["retrieved_mean"] == 1.0
    capsys.readouterr()
    np.save(tmp_path / "bad.npy", np.zeros((2, 100)))
    assert main(["ebm", "hopfield", "store", str(tmp_path / "bad.npy"), "--out", str(tmp_path / "b.npz")]) == 2
    assert "bad.npy" in capsys.readouterr().err
    np.save(tmp_path / "wide.npy", np.ones((2, 50)))
    assert main(["ebm", "hopfield", "recall", str(tmp_path / "h.npz"), str(tmp_path / "wide.npy"),
                 "--out", str(tmp_path / "w.npy")]) == 2
    assert "100 columns" in capsys.readouterr().err


def test_attractor_commands(tmp_path, capsys):
    assert main(["ebm", "attractor", "attractors", "--v", "0.4,-1.2,0.8,0.8", "--json", "-"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["attractors"] == ["0001", "0010", "0011", "1001", "1010", "1011"] and res["matches_published"]
    assert sum(res["basins"].values()) == 16
    png = tmp_path / "t.png"
    assert main(["ebm", "attractor", "transitions", "--v", "0.4,-1.2,0.8,0.8", "--trials", "50", "--plot", str(png),
                 "--json", "-"]) == 0
    T = np.array(json.loads(capsys.readouterr().out)["matrix"])
    assert T.shape == (16, 16) and np.allclose(T.sum(1), 1) and png.read_bytes()[:4] == b"\x89PNG"
    assert main(["ebm", "attractor", "region", "--ratios", "10", "--points", "41"]) == 0
    assert "ratio 10" in capsys.readouterr().out
    for bad, word in ((["--v-set", "-0.3"], "v_set"), (["--v-reset", "0.2"], "v_reset"), (["--g-lcs", "0"], "g_lcs")):
        assert main(["ebm", "attractor", "attractors", "--v", "0.4,-1.2,0.8,0.8", *bad]) == 2
        assert word in capsys.readouterr().err
    assert main(["ebm", "attractor", "attractors", "--v", "0.4,x"]) == 2
    assert "--v" in capsys.readouterr().err
