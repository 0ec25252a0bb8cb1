"""Denoising thermodynamic models on the p-bit engine (issue 19, part 2): the graph, the forward process and its
coupling, learning, bit-exact resume (also after kill -9), files, the Frechet distance, the CLI."""

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
from paradigmlab.thermo.dtm import DTM, DTMConfig, DTMStep, forward_noise, grid_graph, load, save, train
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


def test_forward_process_flip_fraction_and_coupling_give_the_exact_posterior():
    rng = np.random.default_rng(0)
    x = np.ones((4000, 16), np.int8)
    for k in (1, 3):
        assert abs(np.mean(forward_noise(x, k, 0.2, rng) == -1) - 0.5 * (1 - 0.6 ** k)) < 0.01
    # with no learned interactions, p(x_{t-1} | x_t) keeps each pixel with probability 1 - q: the coupling G is right
    cfg = DTMConfig(side=4, steps=1, flip_prob=0.2)
    step = DTMStep(cfg, rng)
    step.weights[:step.num_learn] = 0.0
    noisy = rng.choice(np.array([-1, 1], np.int8), (3000, 16))
    clean, _ = step.sample(noisy, 5, rng, [0])
    assert abs(np.mean(clean == noisy) - 0.8) < 0.01


def test_training_learns_a_simple_distribution():
    x = np.ones((64, 16), np.int8)
    x[:, ::4] = -1  # every image the same stripes
    for variant in ("dtm-acp", "ebm"):
        cfg = ex.dtm_config(variant, side=4, steps=2 if variant != "ebm" else 1)
        before, _ = DTM(cfg, 0).generate(200, seed=1)
        model = train(DTM(cfg, 0), x, 40, batch_size=32, progress=False)
        after, _ = model.generate(200, seed=1)
        assert np.mean(after == x[0]) > 0.85 > np.mean(before == x[0]) + 0.2, variant


def test_resume_is_bit_exact(tmp_path):
    x = np.random.default_rng(1).choice(np.array([-1, 1], np.int8), (100, 16))
    for variant in ("dtm-acp", "ebm"):
        cfg = ex.dtm_config(variant, side=4, steps=2 if variant != "ebm" else 1)
        whole = train(DTM(cfg, 3), x, 6, batch_size=8, progress=False)
        train(DTM(cfg, 3), x, 3, batch_size=8, checkpoint=tmp_path / f"{variant}.npz", progress=False)
        resumed = train(load(tmp_path / f"{variant}.npz"), x, 6, batch_size=8, progress=False)
        for a, b in zip(whole.models, resumed.models):
            assert np.array_equal(a.weights, b.weights) and np.array_equal(a.h, b.h) and a.acp_weight == b.acp_weight
        assert whole.pbit_updates == resumed.pbit_updates


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
    model = DTM(DTMConfig(side=4, steps=1), 0)
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
    with pytest.raises(InputError, match="neg_sweeps"):
        DTMConfig(neg_sweeps=1)


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
