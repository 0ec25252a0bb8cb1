"""Thermodynamic linear algebra (issue 19, part 1): exact device transitions, every algorithm against numpy / scipy,
the duration^-1/2 law, Jarzynski's equality, device options, bad input, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.linalg as sla

from paradigmlab import thermo
from paradigmlab.cli import main
from paradigmlab.thermo import experiments as ex
from paradigmlab.thermo.device import LangevinDevice, LinearSDE, RLCDevice, quantize
from paradigmlab.validate import InputError


@pytest.fixture(scope="module")
def A():
    return ex.random_spd(6, 10.0, 0)


def test_exact_transition_has_the_ou_moments():
    a, h, x0 = 0.7, 0.9, 2.0
    sde = LinearSDE(np.array([[a]]), np.zeros(1), np.array([[2.0]]))
    z = sde.step(np.full((200_000, 1), x0), h, np.random.default_rng(0))
    mean, var = x0 * np.exp(-a * h), (1 - np.exp(-2 * a * h)) / a
    assert abs(z.mean() - mean) < 4 * np.sqrt(var / len(z))
    assert abs(z.var() / var - 1) < 0.02


def test_stationary_laws(A):
    b = np.arange(6.0)
    assert np.allclose(LangevinDevice(A, b).sde.cov, np.linalg.inv(A))
    assert np.allclose(LangevinDevice(A, b).sde.mean, np.linalg.solve(A, b))
    rlc = RLCDevice(A, b, inductance=0.5, resistance=3.0)
    assert np.allclose(rlc.sde.cov[:6, :6], np.linalg.inv(A)) and np.allclose(rlc.sde.mean[:6], np.linalg.solve(A, b))
    assert np.allclose(rlc.sde.cov[6:, 6:], 0.5 * np.eye(6))  # equipartition: current variance T / L


@pytest.mark.parametrize("device", ["langevin", "rlc"])
def test_solve_inv_sample_against_numpy(A, device):
    rng = np.random.default_rng(1)
    b = rng.standard_normal(6)
    assert ex.rel_err(thermo.solve(A, b, 2e4, seed=0, device=device), np.linalg.solve(A, b)) < 0.05
    assert ex.rel_err(thermo.inv(A, 2e4, seed=0, device=device), np.linalg.inv(A)) < 0.08
    x = thermo.sample(np.linalg.inv(A), 20_000, seed=0, device=device)
    assert x.shape == (20_000, 6) and ex.rel_err(x.T @ x / len(x), np.linalg.inv(A)) < 0.08


def test_expm_of_minus_a_including_a_non_symmetric_a():
    rng = np.random.default_rng(2)
    A = ex.random_spd(4, 3.0, rng) + 0.2 * (lambda m: m - m.T)(rng.standard_normal((4, 4)))
    E = thermo.expm(A, 5e4, seed=0)
    assert ex.rel_err(E, sla.expm(-A)) < 0.06
    E2 = thermo.expm(A, 5e4, seed=0, lag=0.5)
    assert ex.rel_err(E2, sla.expm(-0.5 * A)) < 0.06
    with pytest.raises(InputError, match="alpha"):
        thermo.expm(-np.eye(2), 10.0)
    assert ex.rel_err(thermo.expm(-0.5 * np.eye(2), 5e4, seed=0, alpha=1.0), sla.expm(0.5 * np.eye(2))) < 0.06


def test_slogdet_by_jarzynski(A):
    sign, ld = thermo.slogdet(A, 20.0, seed=0, trajectories=2000)
    assert sign == 1.0 and abs(ld - np.linalg.slogdet(A)[1]) < 0.1
    # one sudden switch in 1-D: <exp(-W)> = sqrt(a0 / a) exactly, so the estimate is unbiased in exp space
    _, ld1 = thermo.slogdet(np.array([[4.0]]), 1.0, seed=1, trajectories=200_000, steps=1, reference=2.0)
    assert abs(ld1 - np.log(4.0)) < 0.02


def test_error_falls_as_inverse_square_root_of_duration(A):
    b = np.ones(6)
    err = [np.mean([ex.rel_err(thermo.solve(A, b, d, seed=s), np.linalg.solve(A, b)) for s in range(6)])
           for d in (1e3, 1e5)]
    assert 5 < err[0] / err[1] < 20  # sqrt(100) = 10


def test_device_options(A):
    Aq = quantize(A, 3)
    assert len(np.unique(np.round(Aq / (np.abs(A).max() / 3), 9))) <= 7 and np.allclose(Aq, Aq.T)
    dev = LangevinDevice(A, coupling_bits=3)
    assert np.allclose(dev.sde.cov, np.linalg.inv(Aq))  # the device computes with what it was programmed with
    noisy = thermo.inv(A, 3e4, seed=0, measurement_noise=0.5)
    clean = thermo.inv(A, 3e4, seed=0)
    assert abs(np.mean(np.diag(noisy - clean)) - 0.25) < 0.03  # read-out noise adds its variance


def test_bad_input_is_named():
    with pytest.raises(InputError, match="symmetric"):
        thermo.solve(np.array([[1.0, 0.5], [0.0, 1.0]]), np.ones(2), 10.0)
    with pytest.raises(InputError, match="positive definite"):
        thermo.inv(np.array([[1.0, 2.0], [2.0, 1.0]]), 10.0)
    with pytest.raises(InputError, match="finite"):
        thermo.inv(np.array([[1.0, np.nan], [np.nan, 1.0]]), 10.0)
    with pytest.raises(InputError, match="length 2"):
        thermo.solve(np.eye(2), np.ones(3), 10.0)
    with pytest.raises(InputError, match="duration"):
        thermo.solve(np.eye(2), np.ones(2), 0.0)
    with pytest.raises(InputError, match="square"):
        thermo.inv(np.ones((2, 3)), 10.0)
    with pytest.raises(InputError, match="device"):
        thermo.inv(np.eye(2), 10.0, device="quantum")
    with pytest.raises(InputError, match="shorter than one"):
        thermo.inv(np.eye(2), 0.5)


def test_cli(tmp_path, capsys):
    np.save(tmp_path / "A.npy", np.array([[2.0, 0.5], [0.5, 1.0]]))
    assert main(["thermo", "solve", str(tmp_path / "A.npy"), "--b", "1,2", "--json", "-"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["rel_err"] < 0.05 and np.allclose(res["reference"], np.linalg.solve([[2, 0.5], [0.5, 1]], [1, 2]))
    assert main(["thermo", "inv", str(tmp_path / "A.npy"), "--device", "rlc", "--out", str(tmp_path / "i.npy")]) == 0
    assert np.load(tmp_path / "i.npy").shape == (2, 2)
    capsys.readouterr()
    np.save(tmp_path / "B.npy", np.array([[2.0, 0.5], [0.4, 1.0]]))
    assert main(["thermo", "inv", str(tmp_path / "B.npy")]) == 2
    assert "symmetric" in capsys.readouterr().err
    assert main(["thermo", "solve", str(tmp_path / "A.npy"), "--b", "1,x"]) == 2
    assert "--b" in capsys.readouterr().err


def test_device_presets_are_validated_and_sourced():
    from paradigmlab.thermo.spu import PRESETS, DevicePreset

    assert {"spu-pcb", "spu-chip-projected"} <= set(PRESETS)
    for p in PRESETS.values():
        assert p.time_constant_s > 0 and p.power_w > 0 and p.cells >= 1 and p.source
    with pytest.raises(InputError, match="time_constant_s"):
        DevicePreset("bad", 0.0, 1.0, 1, "none")
    c = ex.cost(sizes=(8,), repeats=1)
    row = c["rows"][0]
    pcb = PRESETS["spu-pcb"]
    assert row["devices"]["spu-pcb"]["s"] == pytest.approx(row["device_time_units"] * pcb.time_constant_s)
    assert row["devices"]["spu-pcb"]["j"] == pytest.approx(row["devices"]["spu-pcb"]["s"] * pcb.power_w)
