"""Emulated p-bit hardware (issue 20): with ideal knobs the emulated kernel is exact against enumeration; each knob
costs what it should (fixed point, comparator bits, LFSRs, LUTs, simultaneous updates, sMTJ time steps)."""

from __future__ import annotations

import numpy as np
import pytest

from paradigmlab.pbit.model import IsingModel, exact_law
from paradigmlab.pbit.substrate import (LFSR_TAPS, EmulatedSampler, Substrate, lfsr_step, quantize, quantized_model,
                                        tv_to_exact)
from paradigmlab.validate import InputError


def model12(seed=0):
    rng = np.random.default_rng(seed)
    n = 10
    J = np.triu(rng.normal(0, 0.8, (n, n)) * (rng.random((n, n)) < 0.35), 1)
    return IsingModel(J + J.T, rng.normal(0, 0.4, n))


def floor(model, m, seed=0):
    p = exact_law(model)
    return 0.5 * np.abs(np.random.default_rng(seed).multinomial(m, p) / m - p).sum()


def test_ideal_substrate_is_exact_and_knobs_cost():
    m = model12()
    f = floor(m, 128 * 900)
    ideal = tv_to_exact(m, Substrate(), chains=128, sweeps=1000)
    assert ideal < 2 * f + 0.01
    assert tv_to_exact(m, Substrate(weight_bits=8), chains=128, sweeps=1000) < 2 * f + 0.02
    assert tv_to_exact(m, Substrate(weight_bits=2), chains=128, sweeps=1000) > ideal + 0.05  # 2-bit weights distort
    assert tv_to_exact(m, Substrate(rng="lfsr", lfsr_bits=32, rng_bits=12), chains=128, sweeps=1000) < 2 * f + 0.02
    assert tv_to_exact(m, Substrate(lut_bits=2), chains=128, sweeps=1000) > ideal + 0.05


def test_smtj_is_exact_only_as_dt_goes_to_zero():
    rng = np.random.default_rng(3)
    J = np.triu(rng.normal(0, 0.8, (4, 4)), 1)
    m4 = IsingModel(J + J.T, rng.normal(0, 0.3, 4))  # every p-bit coupled: no colouring helps here
    # dt = 0.2 tau0: 800 tau0 of device time, well mixed; dt = 5: every device relaxes fully each step
    small = tv_to_exact(m4, Substrate(smtj=True, dt=0.2), chains=256, sweeps=4000, burn_in=200)
    large = tv_to_exact(m4, Substrate(smtj=True, dt=5.0), chains=256, sweeps=4000, burn_in=200)
    assert small < 0.03 and large > small + 0.03, (small, large)


def test_simultaneous_updates_break_an_antiferromagnetic_pair():
    pair = IsingModel(np.array([[0.0, -2.0], [-2.0, 0.0]]))  # strongly anti-aligned
    exact = tv_to_exact(pair, Substrate(), chains=256, sweeps=400)
    wrong = tv_to_exact(pair, Substrate(update="simultaneous"), chains=256, sweeps=400)
    assert exact < 0.02 and wrong > 0.3  # both p-bits see the old state and flip together: they oscillate


def test_fixed_point_and_lfsr():
    x = np.array([-1.0, -0.26, 0.0, 0.24, 0.9])
    assert np.allclose(quantize(x, 3, 0.25), [-0.75, -0.25, 0.0, 0.25, 0.75])  # 3 bits: codes -3..3, clipped
    m = quantized_model(model12(), 4)
    vals = np.unique(np.abs(np.r_[m.J.data, m.h]))
    step = vals[vals > 0].min()
    assert np.allclose(vals / step, np.round(vals / step)) and len(vals) <= 8
    # an 8-bit maximal LFSR visits all 255 nonzero states before repeating
    reg, seen = np.array([1], np.uint64), []
    for _ in range(255):
        reg, _bit = lfsr_step(reg, 8)
        seen.append(int(reg[0]))
    assert len(set(seen)) == 255 and seen[-1] == 1
    assert set(LFSR_TAPS) == {8, 16, 24, 32}


def test_sampler_interface_and_bad_input():
    res = EmulatedSampler(Substrate(weight_bits=6)).sample(model12(), 8, 20, seed=0)
    assert res.states.shape == (8, 10)
    with pytest.raises(InputError, match="weight_bits"):
        Substrate(weight_bits=1)
    with pytest.raises(InputError, match="rng_bits"):
        Substrate(rng="lfsr", lfsr_bits=8, rng_bits=12)
    with pytest.raises(InputError, match="lfsr_bits"):
        Substrate(lfsr_bits=12)
    with pytest.raises(InputError, match="update"):
        Substrate(update="async")
    with pytest.raises(InputError, match="dt"):
        Substrate(smtj=True, dt=0)


def test_a_substrate_is_a_kernel_backend():
    from paradigmlab.pbit.kernels import is_backend, make_kernel
    from paradigmlab.pbit.substrate import EmulatedKernel

    m = model12()
    sub = Substrate(lut_bits=4)
    k = make_kernel(sub, m.J, m.h, m.coloring(), 4, seed=0)
    assert isinstance(k, EmulatedKernel) and k.substrate is sub
    assert is_backend("numba") and is_backend(sub) and not is_backend("cuda") and not is_backend(None)
    with pytest.raises(ValueError, match="cuda"):
        make_kernel("cuda", m.J, m.h, m.coloring(), 4)


def test_product_of_parts_law_keeps_marginals_and_drops_correlations():
    from paradigmlab.pbit.experiments import product_of_parts_law

    p = exact_law(model12())
    q = product_of_parts_law(p, [range(0, 4), range(4, 10)])
    T, Q = p.reshape((2,) * 10), q.reshape((2,) * 10)
    assert q.sum() == pytest.approx(1.0)
    assert np.allclose(T.sum(axis=tuple(range(4, 10))), Q.sum(axis=tuple(range(4, 10))))  # part A's marginal
    assert np.allclose(T.sum(axis=tuple(range(4))), Q.sum(axis=tuple(range(4))))  # part B's
    assert np.allclose(Q, Q.sum(axis=tuple(range(4, 10)), keepdims=True) * Q.sum(axis=tuple(range(4)), keepdims=True))
    assert np.allclose(product_of_parts_law(p, [range(10)]), p)  # one part: nothing to separate


def test_simultaneous_updates_of_a_layered_dbm_sample_the_product_of_its_two_halves():
    """Colour updates sample the DBM's law; every p-bit at once samples p(even layers) p(odd layers) instead (the
    two interleaved block-Gibbs chains), a law far from the DBM's, with no correlation across the bipartition."""
    from paradigmlab.pbit.experiments import simultaneous_dbm_study

    st = simultaneous_dbm_study(layers=(3, 3, 2), quick=True)
    colour, simul = st["rows"]
    bound = 1.5 * st["iid_floor_tv"] + 0.005
    assert st["tv_exact_to_product"] > 5 * bound  # the prediction is far from the law, so the test can tell them apart
    assert colour["tv_to_exact"] < bound < colour["tv_to_product"]
    assert simul["tv_to_product"] < bound < simul["tv_to_exact"]
    assert simul["mean_abs_connected_corr"] < 0.02 < st["exact_mean_abs_connected_corr"]
    assert colour["max_abs_corr_error"] < 0.05 < simul["max_abs_corr_error"]
    with pytest.raises(ValueError, match="layers"):
        simultaneous_dbm_study(layers=(4,))
