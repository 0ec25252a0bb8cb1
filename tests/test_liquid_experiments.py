"""The liquid runs end to end: train, resume bit-exactly, evaluate, refuse damaged files; the solver study's
claims (fused bounded at every dt, Euler diverging past its stability limit, RK4 fourth order)."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest
import torch

from paradigmlab.cli import main
from paradigmlab.liquid import experiments as ex

TINY = {"num_train": 384, "num_val": 128, "num_test": 128}


def tiny(model="cfc", epochs=2, **kw):
    return ex.RunConfig(task="xor", model=model, epochs=epochs, batch_size=64, task_kwargs=TINY, **kw)


def weights(path):
    return torch.load(path / "model.pt", weights_only=True)["model"]


def test_train_evaluate_and_resume_bit_exact(tmp_path, monkeypatch):
    res = ex.train_run(tiny(epochs=3), tmp_path / "a", progress=False)
    assert res["params"] > 0 and len(res["history"]) == 3
    assert 0.0 <= res["test_accuracy"] <= 100.0 and res["best_epoch"] in (1, 2, 3)
    assert res["published"]["mean"] == 99.42
    again = ex.evaluate_run(tmp_path / "a", "test")
    assert again["accuracy"] == res["test_accuracy"] and again["loss"] == res["test"]["loss"]
    # the same run interrupted (Ctrl-C during the second validation) and rerun ends with the same weights
    real, calls = ex.evaluate, []

    def interrupting(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(ex, "evaluate", interrupting)
    with pytest.raises(KeyboardInterrupt):
        ex.train_run(tiny(epochs=3), tmp_path / "b", progress=False)
    monkeypatch.setattr(ex, "evaluate", real)
    resumed = ex.train_run(tiny(epochs=3), tmp_path / "b", progress=False)
    assert resumed["resumed_from_epoch"] == 1
    assert [r["val_accuracy"] for r in resumed["history"]] == [r["val_accuracy"] for r in res["history"]]
    wa, wb = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # a finished run is returned as saved, not retrained
    assert ex.train_run(tiny(epochs=3), tmp_path / "a", progress=False)["history"] == res["history"]


@pytest.mark.parametrize("model", ["ltc", "cfc-mm", "liquid-s4", "gru"])
def test_every_kind_of_core_trains_on_the_tasks(model, tmp_path):
    res = ex.train_run(tiny(model, epochs=1, units=8), None, progress=False)
    assert np.isfinite(res["test"]["loss"]) and res["params"] > 0


def test_damaged_model_files_are_refused_by_name(tmp_path):
    ex.train_run(tiny(epochs=1), tmp_path, progress=False)
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    bad = tmp_path / "bad.pt"
    for mutate, message in ((lambda s: s["model"].__setitem__(next(iter(s["model"])), torch.tensor(float("nan"))),
                             "weights do not fit|non-finite"),
                            (lambda s: s["spec"].__setitem__("core", "nosuch"), "invalid spec"),
                            (lambda s: s.__setitem__("format", "x"), "not a paradigmlab liquid model")):
        s = torch.load(tmp_path / "model.pt", weights_only=True)
        mutate(s)
        torch.save(s, bad)
        with pytest.raises(ValueError, match=message):
            ex.read_model(bad)
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="not a readable model file"):
        ex.read_model(bad)
    with pytest.raises(FileNotFoundError, match="no liquid model"):
        ex.read_model(tmp_path / "nowhere")
    assert state["format"] == "paradigmlab.liquid.model/1"


def test_solver_study_shows_why_the_fused_step_exists():
    r = ex.solver_study(dts=(0.05, 1.0, 5.0), unfold_counts=(4, 8, 16, 32), steps=20)
    limit = r["euler_stability_dt"]
    for row in r["by_dt"]:
        assert row["fused"]["bound_violation"] == 0.0  # the fused step never leaves [min(0, A), max(0, A)]
        if row["dt"] > 2.5 * limit:
            assert row["euler"]["max_error"] > 1e3  # explicit Euler diverged
        if row["dt"] < 0.5 * limit:
            assert row["euler"]["max_error"] < 0.1
    errs = {s: [row[s] for row in r["by_unfolds"]] for s in ("fused", "euler", "rk4")}
    fused_order = np.log2(errs["fused"][-2] / errs["fused"][-1])
    rk4_order = np.log2(errs["rk4"][-2] / errs["rk4"][-1])
    assert 0.8 < fused_order < 1.2 and 3.5 < rk4_order < 4.5, (fused_order, rk4_order)


def test_cli_train_and_evaluate(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["liquid", "train", "--task", "mnist1d", "--model", "gru", "--units", "8", "--epochs", "1",
                 "--no-progress", "--out", str(out), "--json", str(tmp_path / "r.json")]) == 0
    res = json.loads((tmp_path / "r.json").read_text())
    assert res["config"]["model"] == "gru" and "test_accuracy" in res
    capsys.readouterr()
    assert main(["liquid", "evaluate", str(out), "--json", "-"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["accuracy"] == res["test_accuracy"]
    assert main(["liquid", "evaluate", str(tmp_path / "missing")]) == 2
    assert "no liquid model" in capsys.readouterr().err


def test_cost_table_and_report_pieces(tmp_path):
    from paradigmlab.liquid import reproduce

    cost = ex.cost_table("mnist1d", lengths=(1, 40, 1000))
    rows = {r["model"]: r for r in cost["rows"]}
    # every recurrent and state-space model keeps a constant state; the Transformer's KV cache grows
    mem = cost["memory"]["state_bytes"]
    assert all(len(set(v)) == 1 for k, v in mem.items() if k != "transformer")
    assert mem["transformer"][2] == 1000 * mem["transformer"][0]
    assert rows["ltc"]["params_counted"] == rows["ltc"]["params"] and rows["gru"]["matmul_flops"] > 0
    # the cost table builds each model at the shape its task's loader gives (here: the bit-stream XOR)
    xor = ex.load("xor", **TINY)
    from paradigmlab.liquid.models import SequenceModel, count_parameters

    built = SequenceModel(ex.spec_for(xor, "cfc", ex.recipe_for("xor", "cfc").units,
                                      **ex.recipe_for("xor", "cfc").spec))
    xrows = {r["model"]: r for r in ex.cost_table("xor", lengths=(1, 40))["rows"]}
    assert xrows["cfc"]["params_counted"] == count_parameters(built)
    assert "| ltc |" in reproduce.cost_markdown(cost, "m.png")
    assert reproduce.plot_memory(cost, tmp_path / "m.png").stat().st_size > 1000
    study = ex.solver_study(dts=(0.1, 2.0), unfold_counts=(1, 2), steps=5)
    assert reproduce.plot_solvers(study, tmp_path / "s.png").stat().st_size > 1000
    assert "diverged" in reproduce.solver_markdown(study, "s.png")
    res = ex.train_run(tiny(epochs=1, units=8), None, progress=False)
    md = reproduce.tables_markdown({"xor": {"rows": [ex.summarise("xor", "cfc", [res])]},
                                     "cheetah": {"skipped": "no data"}}, "t", quick=True)
    assert "| cfc |" in md and "99.42" in md and "skipped (no data)" in md


def test_cli_train_resumes_bit_exactly_after_kill_9(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from paradigmlab.trainer import read_checkpoint

    args = ["-m", "paradigmlab.cli", "liquid", "train", "--task", "mnist1d", "--model", "ltc", "--units", "4",
            "--epochs", "3", "--threads", "1", "--no-progress", "--out"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, *args, str(killed)], stdout=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        ckpt = killed / "ckpt.pt"
        if ckpt.exists() and read_checkpoint(ckpt)["epoch"] >= 1:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "model.pt").exists() and 1 <= read_checkpoint(killed / "ckpt.pt")["epoch"] < 3
    assert subprocess.run([sys.executable, *args, str(killed)], stdout=subprocess.DEVNULL).returncode == 0
    whole = tmp_path / "whole"
    assert subprocess.run([sys.executable, *args, str(whole)], stdout=subprocess.DEVNULL).returncode == 0
    a, b = weights(killed), weights(whole)
    assert all(torch.equal(a[k], b[k]) for k in a)
    ra, rb = (json.loads((d / "result.json").read_text()) for d in (killed, whole))
    assert ra["resumed_from_epoch"] >= 1 and ra["test"] == rb["test"]


def test_a_run_folder_of_another_recipe_is_not_resumed(tmp_path, monkeypatch):
    cfg = tiny(epochs=2, units=8)
    with pytest.raises(KeyboardInterrupt):
        real = ex.evaluate

        def stop(*a, **k):
            raise KeyboardInterrupt

        monkeypatch.setattr(ex, "evaluate", stop)
        ex.train_run(cfg, tmp_path, progress=False)
    monkeypatch.setattr(ex, "evaluate", real)
    monkeypatch.setitem(ex.MODEL_RECIPES, ("xor", "cfc"), {"spec": {"backbone_units": 16}})
    with pytest.raises(ex.InputError, match="other settings .*spec"):
        ex.train_run(cfg, tmp_path, progress=False)
    # the budget, sizes and rate are compared in the resolved config, not twice (the recipe's copy of them)
    saved = ex.json_ready(asdict(ex.recipe_for("xor", "cfc")))
    assert ex.same_recipe({**saved, "epochs": 7, "lr": 1.0}, saved)
    assert not ex.same_recipe({**saved, "optimizer": "sgd"}, saved)


def test_cli_table_and_its_errors(tmp_path, capsys):
    assert main(["liquid", "table", "--task", "mnist1d", "--models", "gru,lstm", "--seeds", "0,1", "--epochs", "1",
                 "--units", "4", "--no-progress", "--out", str(tmp_path), "--json", "-"]) == 0
    tab = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in tab["rows"]] == ["gru", "lstm"] and all(len(r["scores"]) == 2 for r in tab["rows"])
    assert main(["liquid", "table", "--task", "mnist1d", "--models", "gru,nosuch", "--out", str(tmp_path)]) == 2
    assert "nosuch" in capsys.readouterr().err
