"""The generic trainer: resumes bit-exactly (after an interrupt and after kill -9), keeps the best epoch,
refuses changed settings and damaged checkpoints with errors that name them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from paradigmlab.trainer import KeepBest, TensorSet, Trainer, TrainerConfig, read_checkpoint
from paradigmlab.validate import InputError


def make_problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(96, 5, generator=g)
    y = (x @ torch.randn(5, 1, generator=g)).squeeze(1) + 0.1 * torch.randn(96, generator=g)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Dropout(0.2), torch.nn.Linear(16, 1))
    return model, TensorSet(x, y)


def mse(model, batch):
    x, y = batch
    return torch.nn.functional.mse_loss(model(x).squeeze(1), y)


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


CFG = dict(epochs=6, batch_size=10, lr=3e-2, lr_schedule="cosine", grad_clip=1.0, seed=3, progress=False)


def test_training_reduces_the_loss_and_is_reproducible():
    m1, data = make_problem()
    h1 = Trainer(m1, mse, TrainerConfig(**CFG)).fit(data)
    assert h1[-1]["train_loss"] < 0.5 * h1[0]["train_loss"]
    m2, _ = make_problem()
    Trainer(m2, mse, TrainerConfig(**CFG)).fit(data)
    assert same(weights(m1), weights(m2))
    m3, _ = make_problem()
    Trainer(m3, mse, TrainerConfig(**{**CFG, "seed": 4})).fit(data)
    assert not same(weights(m1), weights(m3))  # the seed changes the batch order and dropout


@pytest.mark.parametrize("every", [None, 4])
def test_resume_after_interrupt_is_bit_exact(tmp_path, every):
    ref, data = make_problem()
    Trainer(ref, mse, TrainerConfig(**CFG)).fit(data)

    ckpt = tmp_path / "ckpt.pt"
    model, _ = make_problem()
    calls = {"n": 0}

    def interrupting(model, batch):
        calls["n"] += 1
        if calls["n"] == 23:  # mid-epoch 3 (10 steps per epoch)
            raise KeyboardInterrupt
        return mse(model, batch)

    cfg = TrainerConfig(**CFG, checkpoint=str(ckpt), checkpoint_every_steps=every)
    with pytest.raises(KeyboardInterrupt):
        Trainer(model, interrupting, cfg).fit(data)
    state = read_checkpoint(ckpt)
    assert state["global_step"] == 22 and state["epoch"] == 2 and state["batch_in_epoch"] == 2
    fresh, _ = make_problem(seed=9)  # other initial weights: everything must come from the checkpoint
    t = Trainer(fresh, mse, cfg)
    hist = t.fit(data)
    assert t.resumed_from == 2 and len(hist) == 6
    assert same(weights(fresh), weights(ref))


def test_interrupt_during_a_callback_resumes_with_the_same_history(tmp_path):
    ref, data = make_problem()
    href = Trainer(ref, mse, TrainerConfig(**CFG), callbacks=[lambda t, r: {"n": len(t.history)}]).fit(data)
    model, _ = make_problem()
    ckpt = tmp_path / "c.pt"

    def stop_once(trainer, record):
        if record["epoch"] == 2 and not trainer.extra.get("interrupted"):
            trainer.extra["interrupted"] = True
            raise KeyboardInterrupt
        return {"n": len(trainer.history)}

    with pytest.raises(KeyboardInterrupt):
        Trainer(model, mse, TrainerConfig(**CFG, checkpoint=str(ckpt)), callbacks=[stop_once]).fit(data)
    assert read_checkpoint(ckpt)["epoch"] == 1  # epoch 2 is not recorded as done
    hist = Trainer(model, mse, TrainerConfig(**CFG, checkpoint=str(ckpt)), callbacks=[stop_once]).fit(data)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in hist]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in href]
    assert same(weights(model), weights(ref))


def test_resume_after_kill_9_is_bit_exact(tmp_path):
    ckpt = tmp_path / "ckpt.pt"
    script = textwrap.dedent(f"""
        import sys, time, torch
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_trainer import make_problem, mse, CFG
        from paradigmlab.trainer import Trainer, TrainerConfig
        torch.set_num_threads(1)
        model, data = make_problem()
        def slow(model, batch):
            time.sleep(0.05)
            return mse(model, batch)
        Trainer(model, slow, TrainerConfig(**CFG, checkpoint={str(ckpt)!r}, checkpoint_every_steps=3)).fit(data)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if ckpt.exists() and read_checkpoint(ckpt)["global_step"] >= 15:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the training process ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = read_checkpoint(ckpt)["global_step"]
    assert 15 <= done < 60
    with torch.random.fork_rng():
        old = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            ref, data = make_problem()
            Trainer(ref, mse, TrainerConfig(**CFG)).fit(data)
            resumed, _ = make_problem(seed=5)
            Trainer(resumed, mse, TrainerConfig(**CFG, checkpoint=str(ckpt), checkpoint_every_steps=3)).fit(data)
        finally:
            torch.set_num_threads(old)
    assert same(weights(resumed), weights(ref))
    assert not list(tmp_path.glob("*.tmp*"))  # a temporary left by the kill is cleaned up on resume


def test_keep_best_survives_resume_and_restores():
    model, data = make_problem()
    x, y = data.tensors

    def val(trainer, record):
        return {"val_loss": float(mse(trainer.model, (x[:32], y[:32])))}

    t = Trainer(model, mse, TrainerConfig(**CFG), callbacks=[val, KeepBest("val_loss")])
    hist = t.fit(data)
    best = min(hist, key=lambda r: r["val_loss"])
    info = KeepBest.restore(t)
    assert info["epoch"] == best["epoch"] and info["value"] == best["val_loss"]
    model.eval()
    with torch.no_grad():
        assert float(mse(model, (x[:32], y[:32]))) == best["val_loss"]


def test_changed_settings_and_bad_checkpoints_are_refused(tmp_path):
    model, data = make_problem()
    ckpt = tmp_path / "c.pt"
    Trainer(model, mse, TrainerConfig(**{**CFG, "epochs": 2}, checkpoint=str(ckpt))).fit(data)
    with pytest.raises(InputError, match="lr: 0.03 -> 0.1"):
        Trainer(model, mse, TrainerConfig(**{**CFG, "lr": 0.1}, checkpoint=str(ckpt))).fit(data)
    # a cosine schedule spans the run: more epochs would change every later learning rate
    with pytest.raises(InputError, match="epochs: 2 -> 3"):
        Trainer(model, mse, TrainerConfig(**{**CFG, "epochs": 3}, checkpoint=str(ckpt))).fit(data)
    # with a constant learning rate a run may be extended, and equals the longer run
    flat = {**CFG, "lr_schedule": "constant"}
    short, _ = make_problem()
    Trainer(short, mse, TrainerConfig(**{**flat, "epochs": 2}, checkpoint=str(tmp_path / "f.pt"))).fit(data)
    hist = Trainer(short, mse, TrainerConfig(**{**flat, "epochs": 3}, checkpoint=str(tmp_path / "f.pt"))).fit(data)
    long, _ = make_problem()
    Trainer(long, mse, TrainerConfig(**{**flat, "epochs": 3})).fit(data)
    assert len(hist) == 3 and same(weights(short), weights(long))
    other = torch.nn.Linear(5, 1)
    with pytest.raises(InputError, match="do not fit this model"):
        Trainer(other, lambda m, b: mse(m, b), TrainerConfig(**{**CFG, "epochs": 2}, checkpoint=str(ckpt))).fit(data)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        read_checkpoint(bad)
    torch.save({"x": 1}, bad)
    with pytest.raises(ValueError, match="not a paradigmlab trainer checkpoint"):
        read_checkpoint(bad)
    state = torch.load(ckpt, weights_only=True)
    state["model"]["0.weight"][0, 0] = float("nan")
    torch.save(state, bad)
    with pytest.raises(ValueError, match="non-finite weights"):
        read_checkpoint(bad)


def test_bad_configuration_and_divergence_named():
    with pytest.raises(InputError, match="epochs"):
        TrainerConfig(epochs=0)
    with pytest.raises(InputError, match="optimizer"):
        TrainerConfig(optimizer="lion")
    with pytest.raises(InputError, match="lr"):
        TrainerConfig(lr=float("nan"))
    model, data = make_problem()
    with pytest.raises(InputError, match="empty"):
        Trainer(model, mse, TrainerConfig(**CFG)).fit(TensorSet(torch.zeros(0, 5), torch.zeros(0)))
    with pytest.raises(FloatingPointError, match="training loss is nan"):
        Trainer(model, lambda m, b: mse(m, b) * float("nan"), TrainerConfig(**CFG)).fit(data)


def test_torch_threads_limits_torch_and_the_blas_numba_calls():
    """Inside ``torch_threads(1)`` torch and scipy's BLAS (the one numba's ``numpy.dot`` calls, loaded with
    paradigmlab.liquid) run one thread; both counts come back afterwards."""
    from threadpoolctl import threadpool_info

    import paradigmlab.liquid.cfc_kernel  # noqa: F401  (loads scipy's BLAS, as in use)
    from paradigmlab.trainer import torch_threads

    def blas_threads():
        return {i["filepath"]: i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    before, torch_before = blas_threads(), torch.get_num_threads()
    assert before, "scipy's BLAS is not loaded"
    with torch_threads(1):
        assert torch.get_num_threads() == 1
        assert set(blas_threads().values()) == {1}
    assert torch.get_num_threads() == torch_before
    assert blas_threads() == before
