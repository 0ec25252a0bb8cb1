"""Training loop: schedule, learning, exact resume, DDP (2 gloo processes) = gradient accumulation."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from paradigmlab.data.text import load_text_data
from paradigmlab.looped.model import LoopedConfig
from paradigmlab.looped.train import TrainConfig, load_checkpoint, lr_at, train
from paradigmlab.trainer import torch_threads

MAX_CHARS = 200_000


@pytest.fixture(autouse=True)
def _one_thread():
    with torch_threads(1):  # tiny tensors: fastest, and immune to a busy machine's oversubscription
        yield


@pytest.fixture(scope="module")
def data():
    return load_text_data("shakespeare", "bytes", seed=0, max_chars=MAX_CHARS)


def small(**kw) -> LoopedConfig:
    base = dict(vocab_size=256, block_size=32, d_model=32, n_head=4, layers=1, loops=2)
    base.update(kw)
    return LoopedConfig(**base)


def quiet(**kw) -> TrainConfig:
    base = dict(steps=6, batch_size=4, eval_every=3, eval_batches=2, warmup_steps=2, progress=False, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


def test_lr_schedule():
    tc = TrainConfig(steps=100, lr=1.0, min_lr=0.1, warmup_steps=10)
    assert lr_at(0, tc) == pytest.approx(0.1) and lr_at(9, tc) == pytest.approx(1.0)
    assert lr_at(10, tc) == pytest.approx(1.0) and lr_at(100, tc) == pytest.approx(0.1)
    assert lr_at(55, tc) == pytest.approx(0.55)  # cosine midpoint
    lrs = [lr_at(s, tc) for s in range(10, 101)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)


def test_training_learns(data):
    res = train(small(), quiet(steps=40, lr=3e-3, eval_every=40, batch_size=8), data)
    first = sum(loss for _, loss in res.train_curve[:3]) / 3
    assert first > 5.0  # ~ln(256) at init
    assert res.best_val_loss < first - 1.5
    assert res.tokens_seen == 40 * 8 * 32 and res.tokens_per_s > 0 and 0 < res.mfu < 1
    assert data.bits_per_byte(res.best_val_loss) == pytest.approx(res.best_val_loss / 0.6931471805599453, rel=1e-3)


def test_resume_equals_uninterrupted(tmp_path, data):
    mc = small(loops=3, random_loops=True, backprop_loops=2, dropout=0.1, input_injection="add")
    tc = quiet(steps=7, grad_accum=2)
    full = train(mc, replace(tc, out_dir=str(tmp_path / "a")), data)
    part = train(mc, replace(tc, out_dir=str(tmp_path / "b")), data, stop_at=4)
    assert part.steps_done == 4 and (tmp_path / "b" / "ckpt.pt").exists()
    resumed = train(mc, replace(tc, out_dir=str(tmp_path / "b")), data)
    assert resumed.steps_done == 7
    assert resumed.train_curve == full.train_curve and resumed.val_curve == full.val_curve
    for p, q in zip(full.model.parameters(), resumed.model.parameters()):
        assert torch.equal(p, q)
    loaded, state = load_checkpoint(tmp_path / "b")
    assert state["result"]["steps_done"] == 7 and torch.equal(loaded.wte.weight, full.model.wte.weight)
    assert not list((tmp_path / "b").glob("*.tmp"))
    with pytest.raises(ValueError, match="different model config"):
        train(small(loops=4), replace(tc, out_dir=str(tmp_path / "b")), data)


def test_ddp_two_gloo_processes_equal_grad_accumulation(tmp_path, data):
    """torchrun with 2 CPU processes x 1 micro-batch == 1 process x 2 accumulated micro-batches."""
    args = ["--layers", "1", "--loops", "2", "--d-model", "32", "--n-head", "4", "--block-size", "32",
            "--corpus", "shakespeare", "--max-chars", str(MAX_CHARS), "--steps", "3", "--batch-size", "4",
            "--eval-every", "3", "--eval-batches", "2", "--warmup-steps", "2", "--no-progress", "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "paradigmlab.looped.train", *args, "--out", str(tmp_path / "ddp")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp_model, state = load_checkpoint(tmp_path / "ddp")
    single = train(small(), quiet(steps=3, grad_accum=2, eval_every=3, lr=1e-3, warmup_steps=2), data)
    assert state["result"]["tokens_seen"] == single.tokens_seen
    for p, q in zip(ddp_model.parameters(), single.model.parameters()):
        assert torch.allclose(p, q, atol=1e-6)
    assert state["result"]["val_curve"][-1][1] == pytest.approx(single.val_curve[-1][1], abs=1e-5)


def test_vocab_too_small_raises(data):
    with pytest.raises(ValueError, match="vocab_size"):
        train(small(vocab_size=100), quiet(), data)


def test_cli_train_and_generate(tmp_path, capsys):
    import argparse

    from paradigmlab.looped import cli

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True))
    out = Path(tmp_path / "run")
    args = parser.parse_args(["looped", "train", "--layers", "1", "--loops", "2", "--d-model", "32", "--n-head", "4",
                              "--block-size", "32", "--corpus", "shakespeare", "--max-chars", str(MAX_CHARS),
                              "--steps", "4", "--batch-size", "4", "--eval-every", "4", "--eval-batches", "1",
                              "--no-progress", "--device", "cpu", "--out", str(out)])
    assert args.func(args) == 0
    assert "bits/byte" in capsys.readouterr().out
    texts = []
    for extra in ([], ["--no-cache"]):
        g = parser.parse_args(["looped", "generate", str(out), "--prompt", "ROMEO.", "--max-new-tokens", "20",
                               "--temperature", "0", *extra])
        assert g.func(g) == 0
        texts.append(capsys.readouterr().out)
    assert texts[0] == texts[1] and texts[0].startswith("ROMEO.")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nothing")
