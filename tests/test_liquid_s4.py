"""paradigmlab.liquid.s4: S4D and Liquid-S4, convolution mode against recurrence, kernels, gradients, errors."""

import math

import pytest
import torch

from paradigmlab.liquid.s4 import LiquidS4Layer, S4DLayer, causal_conv

torch.set_num_threads(1)


def layer64(cls, seed=0, H=3, N=8, log_dt=-0.7, **kw):
    """A float64 layer with a large step, so that the liquid terms are far from negligible."""
    torch.manual_seed(seed)
    m = cls(H, N, **kw).double()
    with torch.no_grad():
        m.log_dt.copy_(log_dt + 0.3 * torch.randn(H, dtype=torch.float64))
    return m


def run_steps(m, u):
    state, ys = None, []
    for k in range(u.shape[1]):
        y, state = m.step(u[:, k], state)
        ys.append(y)
    return torch.stack(ys, 1), state


def test_s4d_lin_initialisation():
    torch.manual_seed(0)
    m = S4DLayer(4, 16)
    A = m.A
    assert A.shape == (4, 8)
    assert torch.allclose(A.real, torch.full((4, 8), -0.5))
    assert torch.allclose(A.imag, math.pi * torch.arange(8.0).repeat(4, 1))
    assert torch.equal(torch.view_as_complex(m.B), torch.ones(4, 8, dtype=torch.complex64))
    dt = torch.exp(m.log_dt)
    assert bool((dt >= 1e-3 - 1e-9).all()) and bool((dt <= 1e-1 + 1e-9).all())
    assert torch.equal(LiquidS4Layer(4, 16).E.detach(), LiquidS4Layer(4, 16).B.detach())  # paper: E = B


def test_s4d_kernel_equals_matrix_powers():
    m = layer64(S4DLayer)
    L = 12
    with torch.no_grad():
        K = m.kernel(L)
        dt = torch.exp(m.log_dt)
        for h in range(m.d_model):
            # the full real system: the modes and their conjugates as one 2M x 2M diagonal complex matrix,
            # discretised by the matrix exponential, powered by repeated multiplication
            a = torch.cat([m.A[h], m.A[h].conj()])
            b = torch.cat([torch.view_as_complex(m.B)[h], torch.view_as_complex(m.B)[h].conj()])
            c = torch.cat([torch.view_as_complex(m.C)[h], torch.view_as_complex(m.C)[h].conj()])
            Acont = torch.diag(a)
            Abar = torch.linalg.matrix_exp(dt[h] * Acont)
            Bbar = torch.linalg.solve(Acont, (Abar - torch.eye(len(a), dtype=Abar.dtype)) @ b)
            P = torch.eye(len(a), dtype=Abar.dtype)
            for k in range(L):
                ref = c @ P @ Bbar
                assert abs(ref.imag) < 1e-12
                assert abs(float(K[h, k]) - float(ref.real)) < 1e-12, (h, k)
                P = P @ Abar


def test_causal_conv_against_direct_sum():
    torch.manual_seed(0)
    u, k = torch.randn(2, 7, dtype=torch.float64), torch.randn(7, dtype=torch.float64)
    y = causal_conv(u, k)
    ref = torch.stack([sum(k[t - s] * u[:, s] for s in range(t + 1)) for t in range(7)], 1)
    assert torch.allclose(y, ref, atol=1e-13)


@pytest.mark.parametrize("make", [lambda: layer64(S4DLayer), lambda: layer64(LiquidS4Layer, liquid_order=2),
                                  lambda: layer64(LiquidS4Layer, liquid_order=3)])
def test_convolution_mode_equals_recurrent_mode(make):
    m = make()
    u = torch.randn(2, 25, 3, dtype=torch.float64)
    with torch.no_grad():
        y = m(u)
        ys, state = run_steps(m, u)
    assert y.shape == (2, 25, 3)
    assert torch.allclose(y, ys, rtol=0, atol=1e-12 * float(y.abs().max()))


def test_liquid_terms_matter_and_vanish_with_E_zero():
    m = layer64(LiquidS4Layer, liquid_order=3)
    s4d = layer64(S4DLayer)  # same seed: same draws, hence the same S4D parameters
    u = torch.randn(2, 20, 3, dtype=torch.float64)
    with torch.no_grad():
        for name in ("log_dt", "A_log_re", "A_im", "B", "C", "D"):
            assert torch.equal(getattr(m, name), getattr(s4d, name))
        y_lin = s4d(u)
        y = m(u)
        assert float((y - y_lin).abs().max()) > 1e-2 * float(y_lin.abs().max())
        m.E.zero_()
        assert torch.equal(m(u), y_lin)
        assert torch.equal(run_steps(m, u)[0], run_steps(s4d, u)[0])
        assert torch.equal(layer64(LiquidS4Layer, liquid_order=1)(u), y_lin)


def test_full_order_equals_the_nonlinear_liquid_recurrence():
    """At step k the output has degree <= k + 1 in u, so liquid_order = L is the untruncated recurrence
    x_k = (Abar + Ebar u_k) x_{k-1} + Bbar u_k of the paper, computed here directly."""
    L = 8
    m = layer64(LiquidS4Layer, liquid_order=L)
    u = torch.randn(2, L, 3, dtype=torch.float64)
    with torch.no_grad():
        Abar, zoh, _ = m.discretize()
        Bbar, Ebar = zoh * torch.view_as_complex(m.B), zoh * torch.view_as_complex(m.E)
        C = torch.view_as_complex(m.C)
        x = torch.zeros(2, 3, 4, dtype=torch.complex128)
        ref = []
        for k in range(L):
            uk = u[:, k].unsqueeze(-1)
            x = (Abar + Ebar * uk) * x + Bbar * uk
            ref.append(2 * (C * x).sum(-1).real + m.D * u[:, k])
        ref = torch.stack(ref, 1)
        assert torch.allclose(m(u), ref, rtol=0, atol=1e-12)
        # and a lower order is a truncation, not the same map
        assert not torch.allclose(layer64(LiquidS4Layer, liquid_order=2)(u), ref, atol=1e-6)


def test_order2_coefficients_are_the_liquid_kernel():
    """Two impulses at j < m: the cross term y(e_j + e_m) - y(e_j) - y(e_m) at step k >= m is the
    coefficient of u_j u_m, the paper's liquid kernel 2 Re(C Abar^(k-j-1) Bbar Ebar); zero before m."""
    m = layer64(LiquidS4Layer, liquid_order=2)
    L, j, mm = 12, 2, 5
    K2 = m.liquid_kernel(L, 2).detach()

    def impulses(*ts):
        u = torch.zeros(1, L, 3, dtype=torch.float64)
        u[0, list(ts)] = 1.0
        return m(u).detach()[0]

    cross = impulses(j, mm) - impulses(j) - impulses(mm)
    assert float(cross[:mm].abs().max()) < 1e-13
    for k in range(mm, L):
        assert torch.allclose(cross[k], K2[:, k - j - 1], rtol=0, atol=1e-13), k
    assert float(K2.abs().max()) > 1e-3


def test_order2_state_free_path_float32_accuracy():
    """The prefix-sum order-2 term in float32 against float64 on a long input with a large mean."""
    torch.manual_seed(0)
    m = LiquidS4Layer(4, 16)
    u = torch.randn(2, 2048, 4) + 1.0
    with torch.no_grad():
        ref = m.double()(u.double())
        y = m.float()(u)
    assert float((y.double() - ref).abs().max() / ref.abs().max()) < 1e-4


@pytest.mark.parametrize("cls, kw", [(S4DLayer, {}), (LiquidS4Layer, {"liquid_order": 2}),
                                     (LiquidS4Layer, {"liquid_order": 3})])
def test_gradcheck_inputs_and_parameters(cls, kw):
    m = layer64(cls, H=2, N=4, **kw)
    u = torch.randn(2, 5, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(m, (u,))
    names = [n for n, _ in m.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for _, p in m.named_parameters())

    def by_params(*ps):
        return torch.func.functional_call(m, dict(zip(names, ps)), (u.detach(),))

    assert torch.autograd.gradcheck(by_params, params)

    def by_steps(*ps):
        return torch.func.functional_call(m, dict(zip(names, ps)), (u.detach()[:, 0],))[0]

    m.forward = m.step  # the recurrent mode's gradients too
    try:
        assert torch.autograd.gradcheck(by_steps, params)
    finally:
        del m.forward


def test_float32_and_default_sizes_run():
    torch.manual_seed(0)
    for m in (S4DLayer(4), LiquidS4Layer(4)):
        y = m(torch.randn(2, 16, 4))
        assert y.shape == (2, 16, 4) and y.dtype == torch.float32 and bool(torch.isfinite(y).all())
        y.sum().backward()
        assert all(p.grad is not None for p in m.parameters())


@pytest.mark.parametrize("cls", [S4DLayer, LiquidS4Layer])
def test_bad_inputs_name_the_problem(cls):
    m = cls(3, 4)
    bad = torch.randn(2, 5, 3)
    bad[1, 2, 0] = float("nan")
    with pytest.raises(ValueError, match="input must be finite"):
        m(bad)
    with pytest.raises(ValueError, match="input must have 3 features"):
        m(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match="at least one time step"):
        m(torch.randn(2, 0, 3))
    with pytest.raises(ValueError, match="3-D tensor"):
        m(torch.randn(5, 3))
    with pytest.raises(ValueError, match="u_k must be finite"):
        m.step(torch.tensor([[0.0, float("inf"), 0.0]]))
    with pytest.raises(ValueError, match="state must be a complex tensor of shape"):
        m.step(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="d_state must be even"):
        cls(3, 5)
    with pytest.raises(ValueError, match="d_model"):
        cls(0)
    with pytest.raises(ValueError, match="dt_min must be > 0"):
        cls(3, dt_min=0.0)
    if cls is LiquidS4Layer:
        with pytest.raises(ValueError, match="liquid_order must be >= 1"):
            cls(3, liquid_order=0)


# ----------------------------------------------------------------------------------------------------------------
# NCP wiring (paradigmlab.liquid.wiring) and LTCCell(wiring=...)

from paradigmlab.liquid.cells import LTCCell  # noqa: E402
from paradigmlab.liquid.wiring import NCP, FullyConnected  # noqa: E402


def ncp(seed=3):
    return NCP(inter_neurons=6, command_neurons=5, motor_neurons=2, sensory_fanout=3, inter_fanout=2,
               recurrent_command_synapses=4, motor_fanin=3, seed=seed)


def test_ncp_masks_layers_and_counts():
    w = ncp()
    n_in = 4
    adj, sens = w.adjacency, w.sensory_mask(n_in)
    assert w.units == 13 and w.output_size == 2
    assert adj.shape == (13, 13) and sens.shape == (n_in, 13)
    assert set(adj.unique().tolist()) <= {0.0, 1.0} and set(sens.unique().tolist()) <= {0.0, 1.0}
    motor, command, inter = w.motor_neurons, w.command_neurons, w.inter_neurons
    assert list(motor) == [0, 1] and list(command) == [2, 3, 4, 5, 6] and list(inter) == list(range(7, 13))
    # the only allowed pairs: inter->command, command->command, command->motor; inputs only onto inter
    allowed = torch.zeros(13, 13)
    allowed[inter[:, None], command] = 1
    allowed[command[:, None], command] = 1
    allowed[command[:, None], motor] = 1
    assert float((adj * (1 - allowed)).abs().sum()) == 0
    assert float(sens[:, list(motor) + list(command)].abs().sum()) == 0
    # fan-out / fan-in: at least the asked counts, and nobody cut off
    assert bool((sens[:, inter].sum(1) >= 3).all()) and bool((sens[:, inter].sum(0) >= 1).all())
    ic = adj[inter[:, None], command]
    assert bool((ic.sum(1) >= 2).all()) and bool((ic.sum(0) >= 1).all())
    cm = adj[command[:, None], motor]
    assert bool((cm.sum(0) >= 3).all()) and bool((cm.sum(1) >= 1).all())
    assert 1 <= float(adj[command[:, None], command].sum()) <= 4
    # deterministic by seed, different across seeds
    assert torch.equal(adj, ncp().adjacency) and torch.equal(sens, ncp().sensory_mask(n_in))
    assert not torch.equal(adj, ncp(seed=4).adjacency)
    # the sparse circuit has fewer synapses than a dense one
    assert float(adj.sum()) < 13 * 13 / 2
    assert torch.equal(FullyConnected(5).adjacency, torch.ones(5, 5))
    assert FullyConnected(5).sensory_mask(2).shape == (2, 5)


def test_ltc_with_ncp_wiring_masks_synapses_and_their_gradients():
    w = ncp()
    torch.manual_seed(0)
    cell = LTCCell(4, w.units, wiring=w).double()
    adj, sens = w.adjacency.double(), w.sensory_mask(4).double()
    assert torch.equal(cell.w == 0, adj == 0) and torch.equal(cell.s == 0, sens == 0)
    x = torch.rand(3, w.units, dtype=torch.float64)
    I = torch.randn(3, 4, dtype=torch.float64)
    out = cell.integrate(x, I, 1.0, "fused", 3)
    out[:, :w.output_size].pow(2).sum().backward()  # a loss on the motor neurons, the outputs
    for name, mask in (("w_raw", adj), ("gamma", adj), ("mu", adj), ("s_raw", sens), ("s_gamma", sens),
                       ("s_mu", sens)):
        g = getattr(cell, name).grad
        assert bool((g[mask == 0] == 0).all()), name  # exactly zero on every missing synapse
        assert float(g[mask == 1].abs().max()) > 0, name  # and alive on the kept ones
    # fully connected wiring = no wiring, bit for bit
    torch.manual_seed(0)
    dense = LTCCell(4, 13).double()
    torch.manual_seed(0)
    full = LTCCell(4, 13, wiring=FullyConnected(13)).double()
    assert torch.equal(dense.integrate(x, I, 1.0), full.integrate(x, I, 1.0))


def test_wiring_bad_arguments_named():
    with pytest.raises(ValueError, match="hidden_size must equal wiring.units"):
        LTCCell(4, 12, wiring=ncp())
    with pytest.raises(ValueError, match="motor_fanin must be <= 5"):
        NCP(6, 5, 2, 3, 2, 4, motor_fanin=6)
    with pytest.raises(ValueError, match="sensory_fanout must be <= 6"):
        NCP(6, 5, 2, 7, 2, 4, 3)
    with pytest.raises(ValueError, match="inter_neurons must be >= 1"):
        NCP(0, 5, 2, 3, 2, 4, 3)
