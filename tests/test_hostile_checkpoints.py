"""Hostile and damaged checkpoints: looped LM checkpoints and sparse-DBM files fail cleanly, never run code,
and a resume refuses options other than the checkpoint's."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from paradigmlab.cli import main
from paradigmlab.data.text import load_text_data
from paradigmlab.looped.model import LoopedConfig
from paradigmlab.looped.train import CHECKPOINT, TrainConfig, load_checkpoint, train
from paradigmlab.trainer import torch_threads


@pytest.fixture(scope="module")
def data():
    return load_text_data("shakespeare", "bytes", seed=0, max_chars=100_000)


MC = dict(vocab_size=256, block_size=16, d_model=16, n_head=2, layers=1, loops=2)


def tc(out, **kw):
    base = dict(steps=4, batch_size=2, eval_every=2, eval_batches=1, warmup_steps=1, progress=False, device="cpu",
                out_dir=str(out))
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, data):
    out = tmp_path_factory.mktemp("looped")
    with torch_threads(1):
        train(LoopedConfig(**MC), tc(out, steps=4), data, stop_at=2)
    return out


def _edited(run_dir: Path, tmp_path: Path, edit) -> Path:
    state = torch.load(run_dir / CHECKPOINT, weights_only=True)
    edit(state)
    out = tmp_path / "run"
    out.mkdir()
    torch.save(state, out / CHECKPOINT)
    return out


@pytest.mark.parametrize("edit,match", [
    (lambda s: s["model"].__setitem__("wte.weight", s["model"]["wte.weight"] * float("nan")),
     "non-finite weights"),
    (lambda s: s["result"].__setitem__("steps_done", -2), "steps_done must be >= 0"),
    (lambda s: s["model_config"].__setitem__("norm_eps", -1.0), "invalid configuration"),
    (lambda s: s["model_config"].__setitem__("head_dim", 0), "invalid configuration"),
    (lambda s: s.pop("optimizer"), "not a looped LM checkpoint"),
    (lambda s: s["model"].pop("wte.weight"), "do not fit"),
])
def test_damaged_checkpoint_is_refused(run_dir, tmp_path, edit, match):
    bad = _edited(run_dir, tmp_path, edit)
    with pytest.raises(ValueError, match=match):
        load_checkpoint(bad)


def test_nan_checkpoint_does_not_resume(run_dir, tmp_path, data):
    bad = _edited(run_dir, tmp_path, lambda s: [t.mul_(float("nan")) for t in s["model"].values()
                                                if t.is_floating_point()])
    with pytest.raises(ValueError, match="non-finite weights"):
        train(LoopedConfig(**MC), tc(bad), data)


@pytest.mark.parametrize("change", [dict(lr=3e-3), dict(seed=1), dict(batch_size=3)])
def test_resume_with_other_options_is_refused_unless_allowed(run_dir, tmp_path, data, change):
    out = _edited(run_dir, tmp_path, lambda s: None)
    with pytest.raises(ValueError, match=f"other training options \\({next(iter(change))}"):
        train(LoopedConfig(**MC), tc(out, **change), data)
    with torch_threads(1):
        res = train(LoopedConfig(**MC), tc(out, **change), data, allow_changes=True)
    assert res.steps_done == 4


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    out = tmp_path / "evil"
    out.mkdir()
    torch.save({"model": Evil()}, out / CHECKPOINT)
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(out)
    assert not marker.exists()
    assert main(["looped", "generate", str(out), "--prompt", "a", "--max-new-tokens", "2"]) == 2


@pytest.mark.parametrize("blob", [b"", b"not a zip", None])
def test_truncated_or_foreign_checkpoint(run_dir, tmp_path, blob):
    data = (run_dir / CHECKPOINT).read_bytes()
    out = tmp_path / "t"
    out.mkdir()
    (out / CHECKPOINT).write_bytes(data[: len(data) // 2] if blob is None else blob)
    with pytest.raises(ValueError, match=f"{CHECKPOINT}: not a readable checkpoint"):
        load_checkpoint(out)


def test_stale_temporary_from_a_kill_is_cleaned_up(run_dir, tmp_path, data):
    out = _edited(run_dir, tmp_path, lambda s: None)
    stale = out / f"{CHECKPOINT}abc123.tmp.pt"
    stale.write_bytes(b"")  # what a kill -9 during torch.save leaves
    with torch_threads(1):
        train(LoopedConfig(**MC), tc(out), data)
    assert not stale.exists() and (out / CHECKPOINT).is_file()


def test_diverging_loss_stops_with_an_error(tmp_path, data):
    with pytest.raises(ValueError, match="training diverged"), torch_threads(1):
        train(LoopedConfig(**MC), tc(tmp_path / "div", lr=1e30, grad_clip=0.0, steps=30, warmup_steps=0), data)


@pytest.mark.parametrize("bad", [dict(lr=float("nan")), dict(lr=float("inf")), dict(steps=2.5), dict(warmup_steps=-1)])
def test_train_config_misuse(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)


def _tiny_dbm_run(ckpt, epochs, allow_changes=False, **kw):
    from paradigmlab.ebm import SparseDBM, TrainConfig as DBMConfig, Trainer

    edges = np.array([[0, 5], [1, 5], [1, 6], [2, 6], [2, 7], [0, 7], [3, 5], [3, 6], [4, 6], [4, 7], [5, 6], [6, 7]])
    rng = np.random.default_rng(0)
    m = SparseDBM(8, edges, visible=[0, 1, 2], labels=[[3, 4]], weights=rng.normal(0, 0.05, len(edges)))
    x, y = rng.choice([-1, 1], size=(12, 3)), rng.integers(0, 2, 12)
    cfg = DBMConfig(epochs=epochs, batch_size=4, num_chains=6, pos_sweeps=2, neg_sweeps=2, lr=0.05,
                    checkpoint=str(ckpt), checkpoint_every=2, progress=False, **kw)
    return Trainer(m, cfg).train(x, y, allow_changes=allow_changes)


def test_dbm_resume_with_other_settings_is_refused_unless_allowed(tmp_path):
    ckpt = tmp_path / "c.npz"
    _tiny_dbm_run(ckpt, 1)
    with pytest.raises(ValueError, match="other settings \\(weight_decay\\)"):
        _tiny_dbm_run(ckpt, 2, weight_decay=0.5)
    assert _tiny_dbm_run(ckpt, 2, allow_changes=True, weight_decay=0.5).update == 6


def test_dbm_cli_has_the_override_flag(capsys):
    with pytest.raises(SystemExit):
        main(["ebm", "train", "--help"])
    assert "--allow-resume-changes" in capsys.readouterr().out


def test_dbm_checkpoint_with_a_stale_temporary_resumes_cleanly(tmp_path):
    ckpt = tmp_path / "c.npz"
    _tiny_dbm_run(ckpt, 1)
    stale = tmp_path / "c.npzq1w2e3.tmp.npz"
    stale.write_bytes(b"")
    assert _tiny_dbm_run(ckpt, 2).update == 6 and not stale.exists()
