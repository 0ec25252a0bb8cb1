"""The conventional baseline of the DTM comparison (issue 19): a small DDPM on the same binarised images -- it
learns, its samples follow the class asked for, and its cost-model operations count the FLOPs torch counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from paradigmlab.thermo.ddpm import DDPMConfig, Denoiser, ddpm_costs, sample_ddpm, train_ddpm
from paradigmlab.validate import InputError


def test_ddpm_learns_two_classes_and_follows_the_label():
    v = np.where(np.arange(16) % 4 == 0, -1, 1).astype(np.int8)
    hz = np.where(np.arange(16) // 4 == 0, -1, 1).astype(np.int8)
    y = np.arange(256) % 2
    x = np.where(y[:, None] == 0, v, hz).astype(np.int8)
    cfg = DDPMConfig(side=4, classes=2, hidden=64, layers=2, diffusion_steps=50, batch_size=64)
    model, info = train_ddpm(x, y, cfg, updates=1500, seed=0)
    classes = np.arange(100) % 2
    g = sample_ddpm(model, 100, steps=20, seed=1, classes=classes)
    target = np.where(classes[:, None] == 0, v, hz)
    assert np.mean(np.all(g == target, 1)) > 0.9, np.mean(np.all(g == target, 1))
    free = sample_ddpm(model, 100, steps=20, seed=2)
    near = np.minimum(np.sum(free != v, 1), np.sum(free != hz, 1)) <= 2  # free samples: one of the two, nearly
    assert near.mean() > 0.8, near.mean()
    untrained = sample_ddpm(Denoiser(cfg), 100, steps=20, seed=1, classes=classes)
    assert np.mean(np.all(untrained == target, 1)) < 0.2  # the test can fail: an untrained denoiser does not pass it
    assert info["updates"] == 1500 and np.isfinite(info["loss"])


def test_costs_count_the_flops_torch_counts():
    cfg = DDPMConfig(side=14, classes=10, hidden=96, layers=2)
    model = Denoiser(cfg)
    batch = 8
    with FlopCounterMode(display=False) as fc:
        with torch.no_grad():
            model(torch.zeros(batch, 196), torch.zeros(batch, dtype=torch.long), torch.zeros(batch, dtype=torch.long))
    assert ddpm_costs(cfg, steps=5, batch=batch).flops == pytest.approx(5 * fc.get_total_flops(), rel=1e-9)


def test_bad_input_is_named():
    cfg = DDPMConfig(side=4, classes=2, hidden=8, layers=1)
    with pytest.raises(InputError, match="images"):
        train_ddpm(np.zeros((4, 16)), np.zeros(4, int), cfg, updates=1)
    with pytest.raises(InputError, match="label"):
        train_ddpm(np.ones((4, 16), np.int8), None, cfg, updates=1)
    with pytest.raises(InputError, match="classes"):
        sample_ddpm(Denoiser(cfg), 2, steps=2, classes=[0, 5])
    with pytest.raises(InputError, match="steps"):
        sample_ddpm(Denoiser(cfg), 2, steps=0)


def test_energy_verdict_takes_the_cheapest_ddpm_at_least_as_good():
    from paradigmlab.thermo.experiments import PBIT_ENERGY_J, energy_verdict

    def row(steps, fd):
        return {"steps": steps, "frechet": fd, "gpu": {"1": {"fitted_j_per_sample": 1e-3 * steps, "ideal_j_per_sample": 0},
                                                        "4096": {"ideal_j_per_sample": 1e-7 * steps, "fitted_j_per_sample": 0}}}

    ddpm = {"rows": [row(5, 30.0), row(10, 18.0), row(20, 15.0)]}
    dtm = {"runs": {"good": {"frechet": 20.0, "sample_pbit_updates": 1e4},
                    "better than any ddpm": {"frechet": 10.0, "sample_pbit_updates": 1e4}}}
    v = energy_verdict(dtm, ddpm)
    g = v["good"]
    assert g["ddpm_steps"] == 10 and g["ddpm_at_least_as_good"]
    assert g["gpu_j_per_sample"] == {"best": pytest.approx(1e-6), "batch1_fitted": pytest.approx(1e-2), "best_batch": 4096}
    chip = next(iter(PBIT_ENERGY_J))
    assert g["pbit_j_per_sample"][chip] == pytest.approx(1e4 * PBIT_ENERGY_J[chip])
    assert g["ratio_gpu_over_pbit"][chip]["best"] == pytest.approx(1e-6 / (1e4 * PBIT_ENERGY_J[chip]))
    b = v["better than any ddpm"]
    assert b["ddpm_steps"] == 20 and not b["ddpm_at_least_as_good"]  # the DDPM's best, flagged
