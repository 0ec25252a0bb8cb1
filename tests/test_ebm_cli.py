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
