"""paradigmlab.jepa: masks as the reference draws them, the models' mechanics, the cost model against torch's FLOP
counter, resumable and distributed training, the collapse monitor, probes, the energy reading, bad input."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from paradigmlab.jepa import experiments as ex
from paradigmlab.jepa.masks import JEPACollate, MultiBlockMask, augment, random_mask
from paradigmlab.jepa.model import IJEPA, MAE, SimCLR, ViTConfig, patchify
from paradigmlab.validate import InputError

SMALL = dict(dim=16, depth=1, heads=2, pred_dim=8, pred_depth=1)


def tiny_data(n=96, seed=0, one_d=False):
    """Two classes of 28x28 images (a bright left or right half plus noise): learnable in a few steps."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    if one_d:
        x = rng.normal(0, 0.3, (n, 1, 40))
        x[y == 1, :, :20] += 1.0
    else:
        x = rng.normal(0, 0.3, (n, 1, 28, 28))
        x[y == 0, :, :, :14] += 1.0
        x[y == 1, :, :, 14:] += 1.0
    return ex.from_arrays("tiny", x[: n * 3 // 4], y[: n * 3 // 4], x[n * 3 // 4:], y[n * 3 // 4:])


# ------------------------------------------------------------------------------------------ masks
def test_multiblock_masks_follow_the_reference_protocol():
    m = MultiBlockMask((14, 14), min_keep=10)
    rng = np.random.default_rng(0)
    fractions, disjoint = [], 0
    for _ in range(50):
        ctx, tgt = m.sample(16, rng)
        assert ctx.shape[0] == tgt.shape[0] == 16 and tgt.shape[1] == 4
        assert ctx.min() >= 0 and ctx.max() < 196 and tgt.max() < 196
        assert ctx.shape[1] > 10 and tgt.shape[2] > 10
        fractions.append(tgt.shape[2] / 196)
        for b in range(16):
            assert len(set(ctx[b].tolist())) == ctx.shape[1]  # no patch twice
            disjoint += not set(ctx[b].tolist()) & set(tgt[b].flatten().tolist())
    # every target block holds ~15-20 % of the patches (h and w rounded as the reference rounds them, then cut to
    # the batch's shortest block), and the context avoids them
    assert 0.10 < min(fractions) and max(fractions) <= 0.23 and 0.15 < np.mean(fractions) < 0.2
    assert disjoint == 50 * 16


def test_target_blocks_are_rectangles_and_runs():
    m = MultiBlockMask((7, 7), num_targets=1, min_keep=0, context_scale=(0.85, 1.0))
    _, tgt = m.sample(8, np.random.default_rng(1))
    for b in range(8):
        rows, cols = np.divmod(tgt[b, 0].numpy(), 7)
        # a rectangle cut to its first k indices in row-major order: full rows, then a partial one
        assert rows.max() - rows.min() <= len(rows) and len(set(cols.tolist())) <= len(cols)
    m1 = MultiBlockMask((20,), min_keep=1)
    ctx, tgt = m1.sample(8, np.random.default_rng(2))
    for b in range(8):
        for block in tgt[b]:
            assert np.all(np.diff(block.numpy()) == 1)  # a run of consecutive patches


def test_bad_mask_settings_are_named():
    for bad in [(0.0, 0.2), (0.3, 0.2), (0.5, 1.2)]:
        with pytest.raises(InputError, match="target_scale"):
            MultiBlockMask((7, 7), target_scale=bad)
    with pytest.raises(InputError, match="context_scale"):
        ex.RunConfig(context_scale=(0.9, 1.5))
    with pytest.raises(InputError, match="never keep more than min_keep"):
        MultiBlockMask((20,), min_keep=4).sample(2, np.random.default_rng(0))
    with pytest.raises(InputError, match="hides"):
        random_mask(2, 49, 1.0)


def test_bad_sizes_and_data_are_named():
    with pytest.raises(InputError, match="patch size 5 does not divide"):
        ViTConfig(image=(28, 28), patch=5)
    with pytest.raises(InputError, match="patch size 3 does not divide"):
        ex.RunConfig(data="mnist1d", patch=3)
    with pytest.raises(InputError, match="divisible by its number of heads"):
        ViTConfig(dim=20, heads=3)
    with pytest.raises(InputError, match="empty"):
        ex.from_arrays("x", np.zeros((0, 1, 28, 28)), np.zeros(0), np.zeros((4, 1, 28, 28)), np.zeros(4))
    with pytest.raises(InputError, match="non-finite"):
        ex.from_arrays("x", np.full((4, 1, 28, 28), np.nan), np.zeros(4), np.zeros((4, 1, 28, 28)), np.zeros(4))
    with pytest.raises(InputError, match="method"):
        ex.RunConfig(method="byol")


def test_patchify_round_trip():
    x = torch.randn(3, 2, 8, 12)
    p = patchify(x, 4)
    assert p.shape == (3, 6, 32)
    assert torch.equal(p[0, 1], x[0, :, 0:4, 4:8].reshape(-1))  # row-major patches, channels first
    assert torch.equal(ex.unpatchify(p, 4, x.shape), x)
    s = torch.randn(2, 1, 40)
    assert torch.equal(ex.unpatchify(patchify(s, 2), 2, s.shape), s)


def test_augment_keeps_shape_and_changes_views():
    torch.manual_seed(0)
    x = torch.randn(4, 1, 28, 28)
    a, b = augment(x, flip=True), augment(x, flip=True)
    assert a.shape == x.shape and not torch.allclose(a, b)
    assert augment(torch.randn(4, 1, 40)).shape == (4, 1, 40)


# ------------------------------------------------------------------------------------------ models
def test_target_encoder_gets_no_gradient_and_follows_the_ema():
    cfg = ViTConfig(**SMALL)
    model = IJEPA(cfg)
    torch.manual_seed(0)
    x = torch.randn(4, 1, 28, 28)
    loss = model(*JEPACollate(4, MultiBlockMask(cfg.grid))((x,)))
    loss.backward()
    assert all(p.grad is None for p in model.target.parameters())
    assert model.encoder.embed.weight.grad is not None and model.predictor.mask_token.grad is not None
    with torch.no_grad():
        model.encoder.embed.weight.add_(1.0)
    before = model.target.embed.weight.clone()
    model.update_target(1.0)
    assert torch.equal(model.target.embed.weight, before)
    model.update_target(0.75)
    assert torch.allclose(model.target.embed.weight, 0.75 * before + 0.25 * model.encoder.embed.weight)


def test_simclr_loss_is_low_for_identical_views_and_mae_targets_are_normalised():
    cfg = ViTConfig(**SMALL)
    torch.manual_seed(0)
    s = SimCLR(cfg)
    v = patchify(torch.randn(16, 1, 28, 28), 4)
    same, other = s(v, v).item(), s(v, patchify(torch.randn(16, 1, 28, 28), 4)).item()
    assert same < other and other == pytest.approx(math.log(31), abs=0.3)  # random pairs: chance among 31 others
    mae = MAE(cfg)
    vis, hid = random_mask(2, 49, 0.75, np.random.default_rng(0))
    assert vis.shape == (2, 12) and hid.shape == (2, 37) and mae(v[:2], vis, hid).item() > 0


@pytest.mark.parametrize("method", ["jepa", "mae", "simclr", "supervised"])
def test_cost_model_matches_torchs_flop_counter(method):
    """The cost model's training FLOPs of one step against torch's own count of the same forward + backward."""
    from torch.utils.flop_counter import FlopCounterMode

    cfg = ex.RunConfig(method=method, **SMALL)
    model, collate, _ = ex.build(cfg)
    torch.manual_seed(0)
    batch = collate((torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))))
    from torch.nn.attention import SDPBackend, sdpa_kernel

    # the math backend runs attention as matmuls that the counter sees (it does not count CPU's fused kernel)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(*batch).backward()
    tokens = {"context": batch[1].shape[1], "target": batch[2].shape[2], "blocks": 4} if method == "jepa" else None
    predicted = ex.train_costs(cfg, 8, tokens)["flops_per_step"]
    # torch counts matrix products only (no softmax, norms, GELU) and skips the input layer's unneeded input
    # gradient: the two agree to a few per cent
    assert predicted == pytest.approx(counter.get_total_flops(), rel=0.06)


# ------------------------------------------------------------------------------------------ training
def test_collapse_statistics_read_collapse():
    rng = np.random.default_rng(0)
    spread = ex.collapse_stats(rng.normal(size=(256, 32)))
    dead = ex.collapse_stats(np.tile(rng.normal(size=(1, 32)), (256, 1)))
    assert spread["effective_rank"] > 25 and spread["feature_std"] == pytest.approx(1 / math.sqrt(32), rel=0.1)
    assert dead["effective_rank"] < 1.5 and dead["feature_std"] < 1e-6


def test_a_collapsing_run_stops_with_a_message(tmp_path):
    data = tiny_data()
    cfg = ex.RunConfig(data="mnist", epochs=3, batch_size=24, collapse_rank=1e9, **SMALL)
    with pytest.raises(ex.RepresentationCollapse, match="representation collapse at epoch 1: .*effective rank"):
        ex.train_run(cfg, tmp_path / "run", progress=False, data=data)
    assert (tmp_path / "run" / "ckpt.pt").is_file() and not (tmp_path / "run" / "result.json").exists()


@pytest.mark.parametrize("method", ["jepa", "simclr"])
def test_an_interrupted_run_resumes_bit_exactly(tmp_path, method):
    data = tiny_data()
    cfg = ex.RunConfig(method=method, data="mnist", epochs=3, batch_size=24, collapse_std=0.0, collapse_rank=0.0,
                       **SMALL)
    ex.train_run(cfg, tmp_path / "whole", progress=False, data=data)

    class Interrupt:
        def __call__(self, trainer, record):
            if record["epoch"] == 2:
                raise KeyboardInterrupt

    import paradigmlab.jepa.experiments as mod

    original = mod.CollapseMonitor.__call__

    def interrupting(self, trainer, record):
        out = original(self, trainer, record)
        Interrupt()(trainer, record)
        return out
    mod.CollapseMonitor.__call__ = interrupting
    try:
        with pytest.raises(KeyboardInterrupt):
            ex.train_run(cfg, tmp_path / "cut", progress=False, data=data)
    finally:
        mod.CollapseMonitor.__call__ = original
    res = ex.train_run(cfg, tmp_path / "cut", progress=False, data=data)
    assert res["resumed_from_epoch"] == 1
    a = torch.load(tmp_path / "whole" / "model.pt")["model"]
    b = torch.load(tmp_path / "cut" / "model.pt")["model"]
    assert [k for k in a if not torch.equal(a[k], b[k])] == []


def test_a_run_folder_refuses_other_settings(tmp_path):
    data = tiny_data()
    cfg = ex.RunConfig(data="mnist", epochs=1, batch_size=24, collapse_rank=0.0, collapse_std=0.0, **SMALL)
    ex.train_run(cfg, tmp_path / "r", progress=False, data=data)
    (tmp_path / "r" / "result.json").unlink()
    with pytest.raises(InputError, match="other settings .*lr"):
        ex.train_run(ex.RunConfig(**{**cfg.to_dict(), "lr": 5e-4}), tmp_path / "r", progress=False, data=data)


def test_ddp_under_torchrun_matches_one_process(tmp_path):
    """Two gloo processes (each half of every batch, gradients averaged by DDP) end where one process does."""
    args = ["jepa", "train", "--data", "mnist", "--epochs", "1", "--train-limit", "256", "--test-limit", "64",
            "--batch-size", "64", "--dim", "16", "--depth", "1", "--threads", "1", "--no-progress"]
    one = subprocess.run([sys.executable, "-m", "paradigmlab.cli", *args, "--out", str(tmp_path / "one")],
                         capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "paradigmlab.cli", *args, "--out", str(tmp_path / "two")],
                         capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stderr[-2000:]
    a = torch.load(tmp_path / "one" / "model.pt")["model"]
    b = torch.load(tmp_path / "two" / "model.pt")["model"]
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-4
    assert not all(torch.equal(a[k], torch.load(tmp_path / "one" / "model.pt")["model"][k] * 0) for k in a)


# ------------------------------------------------------------------------------------------ probes and energy
def test_probes_read_separable_features():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    f = rng.normal(size=(600, 8)) + 4 * np.eye(3, 8)[y]
    res = ex.probe(f[:400], y[:400], f[400:], y[400:], fractions=(0.05,), seeds=(0, 1))
    assert res["linear"] > 95 and res["knn"] > 95 and res["low_label"]["0.05"]["mean"] > 85
    idx = ex.label_subset(y[:400], 0.05, 0)
    assert set(np.unique(y[:400][idx])) == {0, 1, 2}


def test_training_beats_the_random_encoder_and_energy_ranks_noise(tmp_path):
    """A few epochs on two learnable classes: the supervised probe far above chance, and every energy ranks
    heavily noised inputs above clean ones more often than not."""
    data = tiny_data(n=400)
    runs = {}
    for method in ("jepa", "mae", "supervised"):
        cfg = ex.RunConfig(method=method, data="mnist", epochs=8, batch_size=50, lr=3e-3, collapse_rank=0.0, collapse_std=0.0,
                           **SMALL)
        ex.train_run(cfg, tmp_path / method, progress=False, data=data)
        runs[method] = tmp_path / method
    sup = ex.probe_run(runs["supervised"], data, fractions=(0.1,), seeds=(0,))
    assert sup["test_accuracy"] > 90 and sup["linear"] > 90
    study = ex.energy_study({m: runs[m] for m in ("jepa", "mae")}, data, n=100, draws=2,
                            corruptions=(("noise", 3.0),))
    assert study["methods"]["mae"]["auroc"]["noise 3"] > 0.9
    assert 0.0 <= study["methods"]["jepa"]["auroc"]["noise 3"] <= 1.0


def test_cli_train_and_probe(tmp_path):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "paradigmlab.cli", "jepa", "train", "--data", "mnist1d", "--epochs", "1",
            "--train-limit", "256", "--test-limit", "200", "--batch-size", "64", "--dim", "16", "--depth", "1",
            "--threads", "1", "--no-progress", "--out", str(out)]
    run = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "feature std" in run.stdout and (out / "model.pt").is_file()
    pr = subprocess.run([sys.executable, "-m", "paradigmlab.cli", "jepa", "probe", str(out), "--fractions", "0.1",
                         "--seeds", "0", "--json", "-"], capture_output=True, text=True, timeout=300)
    assert pr.returncode == 0, pr.stderr[-2000:]
    import json

    res = json.loads(pr.stdout)
    assert res["data"] == "mnist1d" and 0 <= res["linear"] <= 100 and res["test"] == 200
    bad = subprocess.run([sys.executable, "-m", "paradigmlab.cli", "jepa", "train", "--data", "mnist", "--patch", "5",
                          "--no-progress"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "patch size 5 does not divide" in bad.stderr


def test_cli_run_killed_mid_training_resumes_bit_exactly(tmp_path):
    """``kill -9`` during training: the rerun of the same command continues from the last checkpoint and ends with
    the weights of an uninterrupted run."""
    import os
    import signal
    import time

    def cmd(out):
        return [sys.executable, "-m", "paradigmlab.cli", "jepa", "train", "--data", "mnist", "--epochs", "6",
                "--train-limit", "512", "--test-limit", "100", "--batch-size", "64", "--dim", "16", "--depth", "1",
                "--threads", "1", "--no-progress", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    whole = subprocess.run(cmd(tmp_path / "whole"), capture_output=True, text=True, timeout=300, env=env)
    assert whole.returncode == 0, whole.stderr[-2000:]
    proc = subprocess.Popen(cmd(tmp_path / "cut"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    ckpt = tmp_path / "cut" / "ckpt.pt"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if ckpt.is_file() and torch.load(ckpt, weights_only=False)["epoch"] >= 2:
            break
        time.sleep(0.05)
    killed = proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert killed and not (tmp_path / "cut" / "model.pt").exists()
    again = subprocess.run(cmd(tmp_path / "cut"), capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode == 0, again.stderr[-2000:]
    import json

    assert json.loads((tmp_path / "cut" / "result.json").read_text())["resumed_from_epoch"] >= 2
    a = torch.load(tmp_path / "whole" / "model.pt")["model"]
    b = torch.load(tmp_path / "cut" / "model.pt")["model"]
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
