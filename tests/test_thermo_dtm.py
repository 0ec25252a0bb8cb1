"""Denoising thermodynamic models on the p-bit engine (issue 19, part 2): the graph, the forward process and its
coupling, learning (also class-conditional), the mixing measurement and the ACP, bit-exact resume (also after
kill -9), files, the Frechet distance, the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from paradigmlab.cli import main
from paradigmlab.thermo import experiments as ex
from paradigmlab.thermo.dtm import (DTM, DTMConfig, DTMStep, forward_noise, grid_graph, load, one_hot, save,
                                    tail_autocorrelation, train)
from paradigmlab.validate import InputError


def test_grid_graph_is_local_with_about_twelve_neighbours():
    n, learn, cond, nodes = grid_graph(14)
    deg = np.bincount(np.concatenate([learn.ravel(), cond.ravel()]), minlength=n)
    assert n == 3 * 196 and deg[nodes["pixels"]].max() == 14 and deg[nodes["latents"]].max() == 9
    assert 12 < deg[nodes["pixels"]].mean() < 13 and 8 < deg[nodes["latents"]].mean() < 9 and len(np.unique(np.sort(learn, 1), axis=0)) == len(learn)
    (r0, r1), (c0, c1) = np.divmod(learn[learn[:, 1] < 196].T, 14)
    assert np.all((np.abs(r0 - r1) <= 1) & (np.abs(c0 - c1) <= 1))  # pixel-pixel edges are 8-neighbours
    n2, _, cond2, nodes2 = grid_graph(14, conditional=False)
    assert n2 == 392 and len(cond2) == 0 and "condition" not in nodes2
    n3, learn3, cond3, nodes3 = grid_graph(14, labels=10)  # labels: data p-bits 196..205, each joined to every latent
    deg3 = np.bincount(np.concatenate([learn3.ravel(), cond3.ravel()]), minlength=n3)
    assert n3 == 2 * 206 + 196 and list(nodes3["data"]) == list(range(206)) and deg3[nodes3["latents"]].max() == 19
    assert np.all(deg3[nodes3["labels"]] == 196 + 1) and len(cond3) == 206


def test_forward_process_flip_fraction_and_coupling_give_the_exact_posterior():
    rng = np.random.default_rng(0)
    x = np.ones((4000, 16), np.int8)
    for k in (1, 3):
        assert abs(np.mean(forward_noise(x, k, 0.2, rng) == -1) - 0.5 * (1 - 0.6 ** k)) < 0.01
    # with no learned interactions, p(x_{t-1} | x_t) keeps each pixel with probability 1 - q: the coupling G is right
    cfg = DTMConfig(side=4, steps=1, flip_prob=0.2, labels=0)
    step = DTMStep(cfg, rng)
    step.weights[:step.num_learn] = 0.0
    noisy = rng.choice(np.array([-1, 1], np.int8), (3000, 16))
    clean, _ = step.sample(noisy, 5, rng, [0])
    assert abs(np.mean(clean == noisy) - 0.8) < 0.01


def test_training_learns_a_simple_distribution():
    x = np.ones((64, 16), np.int8)
    x[:, ::4] = -1  # every image the same stripes
    for variant in ("dtm-acp", "ebm"):
        cfg = ex.dtm_config(variant, side=4, steps=2 if variant != "ebm" else 1, labels=0)
        before, _ = DTM(cfg, 0).generate(200, seed=1)
        model = train(DTM(cfg, 0), x, 40, batch_size=32, progress=False)
        after, _ = model.generate(200, seed=1)
        assert np.mean(after == x[0]) > 0.85 > np.mean(before == x[0]) + 0.2, variant


def test_class_conditional_samples_follow_the_clamped_label():
    # class 0: vertical stripes, class 1: horizontal stripes; generation with the label clamped draws the class asked
    v = np.where(np.arange(16) % 4 == 0, -1, 1).astype(np.int8)
    hz = np.where(np.arange(16) // 4 == 0, -1, 1).astype(np.int8)
    y = np.arange(128) % 2
    x = np.where(y[:, None] == 0, v, hz).astype(np.int8)
    assert one_hot(np.array([1, 0]), 2).tolist() == [[-1, 1], [1, -1]]
    for variant in ("dtm-acp", "ebm"):
        cfg = ex.dtm_config(variant, side=4, steps=2 if variant != "ebm" else 1, labels=2, mix_every=10)
        model = train(DTM(cfg, 0), x, 150, batch_size=32, labels=y, progress=False)
        classes = np.arange(200) % 2
        g, _ = model.generate(200, seed=3, classes=classes)
        match_v, match_h = np.mean(g == v, 1), np.mean(g == hz, 1)
        right = np.where(classes == 0, match_v > match_h, match_h > match_v)
        assert right.mean() > 0.9, (variant, right.mean())
    with pytest.raises(InputError, match="labels"):
        train(DTM(cfg, 0), x, 1, progress=False)  # a labelled model needs the labels
    with pytest.raises(InputError, match="class"):
        model.generate(3, classes=[0, 1, 2])  # class 2 of a 2-label model


def test_tail_autocorrelation_reads_mixing():
    rng = np.random.default_rng(4)
    iid = rng.normal(size=(4, 8, 256, 3))
    frozen = np.repeat(rng.normal(size=(4, 8, 1, 3)), 256, axis=2)
    ar = np.zeros((4, 8, 256, 3))
    ar[:, :, 0] = rng.normal(size=(4, 8, 3)) / np.sqrt(1 - 0.99 ** 2)
    for s in range(1, 256):
        ar[:, :, s] = 0.99 * ar[:, :, s - 1] + rng.normal(size=(4, 8, 3))
    assert tail_autocorrelation(iid) < 0.02 and tail_autocorrelation(frozen) > 0.99
    assert 0.1 < tail_autocorrelation(ar) < 0.5  # 0.99^k over the tail lags 120..128 is 0.28-0.30, less the mean's share


def test_acp_rule_and_penalty_direction():
    step = DTMStep(DTMConfig(side=4, steps=1, labels=0, acp_threshold=0.1, acp_min=0.01), np.random.default_rng(0))
    lams = []
    for r in (0.05, 0.3, 0.4, 0.35, 0.02):
        step.adapt(r)
        lams.append(step.acp_weight)
    # first measurement: no history; then above threshold and rising (x1.5 past 1.8 x threshold), rising (x1.5),
    # falling (x0.95), below the threshold (x(0.6 + 0.2 * 0.2))
    assert np.allclose(lams, [0.01, 0.015, 0.0225, 0.021375, 0.021375 * 0.64])
    step.adapt(0.0)  # x0.6 -> 0.0082 < acp_min: off
    assert step.acp_weight == 0.0
    # the penalty lowers the couplings along which the model's chains are correlated (all-+1 images: ferromagnetic)
    x = np.ones((32, 16), np.int8)
    w = {}
    for lam in (0.0, 5.0):
        s = DTMStep(DTMConfig(side=4, steps=1, labels=0, acp_min=1e-3), np.random.default_rng(1))
        s.weights[:s.num_learn] = 0.3
        s.acp_weight = lam
        s.update(x, forward_noise(x, 1, 0.25, np.random.default_rng(2)), np.random.default_rng(3), [0])
        w[lam] = s.weights[:s.num_learn].copy()
    assert np.all(w[5.0] < w[0.0])


def test_resume_is_bit_exact(tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.choice(np.array([-1, 1], np.int8), (100, 16)), rng.integers(0, 3, 100)
    for variant, extra in (("dtm-acp", {}), ("ebm", {}), ("dtm", {"optimizer": "adam", "lr": 0.01})):
        cfg = ex.dtm_config(variant, side=4, steps=2 if variant != "ebm" else 1, labels=3, mix_every=2, **extra)
        whole = train(DTM(cfg, 3), x, 7, batch_size=8, labels=y, progress=False)
        train(DTM(cfg, 3), x, 3, batch_size=8, labels=y, checkpoint=tmp_path / f"{variant}.npz", progress=False)
        resumed = train(load(tmp_path / f"{variant}.npz"), x, 7, batch_size=8, labels=y, progress=False)
        for a, b in zip(whole.models, resumed.models):
            assert np.array_equal(a.weights, b.weights) and np.array_equal(a.h, b.h) and a.acp_weight == b.acp_weight
            assert a.last_autocorr == b.last_autocorr and np.array_equal(a.second, b.second)
        assert whole.pbit_updates == resumed.pbit_updates and whole.history == resumed.history
        assert len(whole.history) == 4 and whole.mix_pbit_updates == resumed.mix_pbit_updates > 0


def test_cli_train_survives_kill_9(tmp_path):
    ckpt, ref = tmp_path / "run.npz", tmp_path / "ref.npz"
    cmd = [sys.executable, "-m", "paradigmlab.cli", "thermo", "dtm-train", "--updates", "400", "--train-limit", "500",
           "--batch-size", "16", "--no-progress", "--checkpoint", str(ckpt)]
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ckpt.exists(), "no checkpoint within 2 minutes"
    done = load(ckpt).updates_done
    assert 25 <= done < 400
    target = str(done + 5)
    assert cmd[5] == "--updates"
    assert subprocess.run([*cmd[:6], target, *cmd[7:]], env=env).returncode == 0  # resume the killed run
    assert subprocess.run([*cmd[:6], target, *cmd[7:-1], str(ref)], env=env).returncode == 0  # one uninterrupted
    a, b = load(ckpt), load(ref)
    assert a.updates_done == b.updates_done == done + 5
    assert all(np.array_equal(m.weights, n.weights) for m, n in zip(a.models, b.models))


def test_files_refuse_damage(tmp_path):
    model = DTM(DTMConfig(side=4, steps=1, labels=0), 0)
    path = save(model, tmp_path / "m.npz")
    z = dict(np.load(path))
    z["s0_weights"] = np.full_like(z["s0_weights"], np.nan)
    np.savez(tmp_path / "nan.npz", **z)
    with pytest.raises(InputError, match="nan.npz.*s0_weights"):
        load(tmp_path / "nan.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="junk.npz"):
        load(tmp_path / "junk.npz")
    with pytest.raises(InputError, match="images"):
        model.train_update(np.zeros((2, 16)))
    with pytest.raises(InputError, match="chain_init"):
        DTMConfig(chain_init="data")
    with pytest.raises(InputError, match="mix_every"):
        DTMConfig(acp=True, mix_every=0)
    with pytest.raises(InputError, match="labels"):
        DTM(DTMConfig(side=4, steps=1), 0).train_update(np.ones((2, 16)))


def test_frechet_distance():
    rng = np.random.default_rng(2)
    f = rng.normal(size=(4000, 3))
    assert ex.frechet_distance(f, f) < 1e-6
    assert abs(ex.frechet_distance(f, f + np.array([2.0, 0, 0])) - 4.0) < 1e-6


def test_cli_generate(tmp_path, capsys):
    path = save(DTM(DTMConfig(), 0), tmp_path / "m.npz")
    assert main(["thermo", "dtm-generate", str(path), "--num", "12", "--out", str(tmp_path / "g.npy"), "--json", "-"]) == 0
    assert np.load(tmp_path / "g.npy").shape == (12, 196)
    assert main(["thermo", "dtm-generate", str(path), "--num", "12", "--out", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["thermo", "dtm-generate", str(path), "--num", "12", "--label", "all", "--out", str(tmp_path / "c.npy")]) == 0
    assert np.load(tmp_path / "c.npy").shape == (12, 196)
    with pytest.raises(InputError, match="label"):
        ex.dtm_generate_run(path, 4, tmp_path / "d.npy", label="shoe")
