"""The p-bit sampler split over processes (issue 20): exact against enumeration with 2 and 4 processes, the same
law as one process from the CLI (`pbit sample --processes 2`), partitions, and bad input named."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from paradigmlab.pbit.distributed import partition, sample_distributed
from paradigmlab.pbit.model import IsingModel
from paradigmlab.validate import InputError


def small_model(n=10, seed=0) -> IsingModel:
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0, 0.7, (n, n)) * (rng.random((n, n)) < 0.35), 1)
    return IsingModel(J + J.T, rng.normal(0, 0.4, n))


def exact_law(model: IsingModel) -> np.ndarray:
    S = np.array(list(itertools.product([-1, 1], repeat=model.num_nodes)), dtype=np.int8)
    logp = -model.energy(S)
    p = np.exp(logp - logp.max())
    return p / p.sum()


def frequencies(states: np.ndarray) -> np.ndarray:
    n = states.shape[1]
    return np.bincount(((states > 0) * (1 << np.arange(n)[::-1])).sum(1), minlength=2 ** n) / len(states)


@pytest.mark.parametrize("processes", [2, 4])
def test_split_sampler_is_exact_against_enumeration(processes):
    model = small_model()
    p = exact_law(model)
    res = sample_distributed(model, processes, num_chains=128, num_sweeps=600, burn_in=100, thin=1, seed=3)
    assert res.states.shape == (128 * 500, model.num_nodes)
    assert res.info["processes"] == processes and res.info["partition"]["cut_edges"] > 0  # the split is real
    tv = 0.5 * np.abs(frequencies(res.states) - p).sum()
    m = len(res.states)
    floor = 0.5 * np.abs(np.random.default_rng(0).multinomial(m, p) / m - p).sum()  # i.i.d. sample of that size
    print(f"TV {tv:.4f}, i.i.d. floor {floor:.4f}")
    assert tv < 2 * floor + 0.01, (tv, floor)
    assert np.allclose(res.energies, model.energy(res.states))
    # the reads are those of the one-process sampler: chains 0..127 after sweeps 101..600
    assert res.sweep.min() == 101 and res.sweep.max() == 600 and set(res.chain.tolist()) == set(range(128))


def test_cli_processes_2_has_the_law_of_one_process(tmp_path):
    from paradigmlab.cli import main
    from paradigmlab.pbit.io import save_npz

    model = small_model(seed=5)
    path = tmp_path / "m.npz"
    save_npz(model, path)
    for procs, out in (("2", "two.npz"), ("1", "one.npz")):
        argv = ["pbit", "sample", str(path), "--chains", "64", "--sweeps", "1050", "--burn-in", "50", "--thin", "1",
                "--seed", "2", "--out", str(tmp_path / out)]
        assert main(argv + (["--processes", procs] if procs != "1" else [])) == 0
    two, one = np.load(tmp_path / "two.npz")["states"], np.load(tmp_path / "one.npz")["states"]
    assert two.shape == one.shape == (64 * 1000, model.num_nodes)
    p = exact_law(model)
    for s in (two, one):
        assert 0.5 * np.abs(frequencies(s) - p).sum() < 0.04
    assert 0.5 * np.abs(frequencies(two) - frequencies(one)).sum() < 0.05


def test_partitions_and_bad_input():
    model = small_model(12)
    part = partition(model, 3)
    assert sorted(np.unique(part.parts)) == [0, 1, 2] and part.stats(model.J)["edges"] == model.num_edges
    contiguous = partition(model, 3, "contiguous")
    assert part.stats(model.J)["cut_edges"] <= contiguous.stats(model.J)["cut_edges"]  # METIS cuts no more
    with pytest.raises(InputError, match="at most one process per p-bit"):
        partition(model, 13)
    with pytest.raises(InputError, match="one part per p-bit"):
        partition(model, 2, np.zeros(5))
    with pytest.raises(InputError, match="without p-bits"):
        partition(model, 3, np.r_[np.zeros(6), np.ones(6)])
    with pytest.raises(InputError, match="neither"):
        partition(model, 2, "no-such-file.txt")
    with pytest.raises(InputError, match="exchange_every"):
        sample_distributed(model, 2, exchange_every=0)


def test_the_same_command_runs_under_torchrun(tmp_path):
    import subprocess
    import sys

    from paradigmlab.pbit.io import save_npz

    model = small_model(seed=6)
    save_npz(model, tmp_path / "m.npz")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m",
           "paradigmlab.cli", "pbit", "sample", str(tmp_path / "m.npz"), "--processes", "2", "--chains", "64",
           "--sweeps", "1050", "--burn-in", "50", "--thin", "1", "--seed", "4", "--out", str(tmp_path / "t.npz")]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    states = np.load(tmp_path / "t.npz")["states"]
    assert states.shape == (64 * 1000, model.num_nodes)  # rank 0 wrote every read of every chain
    assert 0.5 * np.abs(frequencies(states) - exact_law(model)).sum() < 0.04
