"""paradigmlab.liquid: eq. 1 and its solvers against scipy, the state bound, gradients, irregular sampling, errors."""

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from paradigmlab.liquid import CFC_MODES, NCP, CfC, CfCCell, LiquidRNN, LTC, LTCCell

torch.set_num_threads(1)


def ltc64(seed=0, input_size=3, hidden_size=4, **kw):
    torch.manual_seed(seed)
    return LTCCell(input_size, hidden_size, **kw).double()


def reference(cell, x0, I, dt):
    """eq. 1 integrated by scipy (DOP853, rtol 1e-10) with the input held, in float64."""
    shape = tuple(x0.shape)

    def rhs(t, y):
        with torch.no_grad():
            return cell.vector_field(torch.from_numpy(y).reshape(shape), I).reshape(-1).numpy()

    sol = solve_ivp(rhs, (0.0, dt), x0.reshape(-1).numpy(), method="DOP853", rtol=1e-10, atol=1e-12)
    assert sol.success
    return sol.y[:, -1].reshape(shape)


def test_parameters_exposed_as_in_eq1():
    cell = LTCCell(3, 5)
    assert cell.tau.shape == (5,) and cell.A.shape == (5,)
    assert bool((cell.tau > 0).all())
    x, I = torch.randn(4, 5), torch.randn(4, 3)
    with torch.no_grad():
        f = cell.gate(x, I)
        # the gate is non-negative and bounded by the summed synaptic weights (paper Theorem 1's f_max)
        assert bool((f >= 0).all()) and bool((f <= cell.w.sum(0) + cell.s.sum(0)).all())
        assert torch.allclose(cell.vector_field(x, I), -x / cell.tau + f * (cell.A - x))
        assert torch.equal(cell(I, x), cell.integrate(x, I, 1.0, cell.solver, cell.unfolds))


def test_fused_solver_converges_first_order_to_scipy():
    cell = ltc64()
    x0 = torch.rand(2, 4, dtype=torch.float64) * 0.2 - 0.1
    I = torch.rand(2, 3, dtype=torch.float64)
    ref = reference(cell, x0, I, 1.0)
    with torch.no_grad():
        err = {k: np.abs(cell.integrate(x0, I, 1.0, "fused", k).numpy() - ref).max() for k in
               (1, 2, 4, 8, 16, 32, 64, 256)}
        rk4 = np.abs(cell.integrate(x0, I, 1.0, "rk4", 64).numpy() - ref).max()
    ks = [1, 2, 4, 8, 16, 32, 64]
    slope = np.polyfit(np.log(ks), np.log([err[k] for k in ks]), 1)[0]
    assert -1.2 < slope < -0.8, err  # error ~ 1/K: the fused step is first-order
    assert all(err[a] > err[b] for a, b in zip(ks, ks[1:]))
    # first order: K=256 is ~256x better than K=1; demand at least 100x and an absolute 1e-3
    assert err[256] < err[1] / 100 and err[256] < 1e-3
    assert rk4 < 1e-8  # RK4 at h = 1/64 agrees with scipy to near its tolerance


def test_exact_flow_and_fused_step_stay_in_the_bound_euler_leaves_it():
    """The bound that holds: x_i in [min(0, A_i), max(0, A_i)] is invariant (f >= 0, tau > 0)."""
    cell = ltc64(seed=1, hidden_size=6)
    torch.manual_seed(2)
    lo, hi = torch.minimum(cell.A, torch.zeros(6)).detach(), torch.maximum(cell.A, torch.zeros(6)).detach()
    x0 = lo + (hi - lo) * torch.rand(3, 6, dtype=torch.float64)
    inputs = torch.rand(40, 3, 3, dtype=torch.float64) * 4 - 2
    ref = reference(cell, x0, inputs[0], 5.0)
    assert np.all(ref >= lo.numpy() - 1e-9) and np.all(ref <= hi.numpy() + 1e-9)
    with torch.no_grad():
        for dt in (0.1, 10.0, 1e3):
            x = x0
            for I in inputs:
                x = cell.integrate(x, I, dt, "fused", 1)
                assert bool((x >= lo - 1e-12).all()) and bool((x <= hi + 1e-12).all()), dt
        # started outside, one fused step lands in the hull of {x, 0, A} (a convex combination) for any dt
        far = torch.full((3, 6), 50.0, dtype=torch.float64)
        y = cell.integrate(far, inputs[0], 1e3, "fused", 1)
        assert bool((y <= far).all()) and bool((y >= torch.minimum(lo, far)).all())
        # explicit Euler at the same large step overshoots and then grows without bound
        x = x0
        for I in inputs[:10]:
            x = cell.integrate(x, I, 10.0, "euler", 1)
        assert not bool(((x >= lo) & (x <= hi)).all())
        assert float(x.abs().max()) > 1e3 * float(cell.A.abs().max())


def test_gradcheck_ltc_solvers_inputs_and_parameters():
    cell = ltc64(input_size=2, hidden_size=3)
    x = torch.rand(2, 3, dtype=torch.float64, requires_grad=True)
    I = torch.rand(2, 2, dtype=torch.float64, requires_grad=True)
    dt = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    for solver in ("fused", "euler", "rk4"):
        assert torch.autograd.gradcheck(lambda x, I, dt: cell.integrate(x, I, dt, solver, 2), (x, I, dt))
    names = [n for n, _ in cell.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for _, p in cell.named_parameters())

    def by_params(*ps):
        return torch.func.functional_call(cell, dict(zip(names, ps)), (I.detach(), x.detach(), 0.7))

    assert torch.autograd.gradcheck(by_params, params)


@pytest.mark.parametrize("mode", CFC_MODES)
@pytest.mark.parametrize("mixed", [False, True])
def test_gradcheck_cfc_cell(mode, mixed):
    torch.manual_seed(0)
    cell = CfCCell(2, 3, mode, mixed, backbone_units=4).double()
    I = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.3, 2.0], dtype=torch.float64, requires_grad=True)
    if mixed:
        c = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda I, h, c, t: cell(I, (h, c), t), (I, h, c, t))
    else:
        assert torch.autograd.gradcheck(lambda I, h, t: cell(I, h, t), (I, h, t))


@pytest.mark.parametrize("layer", [lambda: LTC(2, 3, num_layers=2, unfolds=2),
                                   lambda: CfC(2, 3, num_layers=2, mixed_memory=True, backbone_units=4)])
def test_gradcheck_sequence_layer(layer):
    torch.manual_seed(0)
    m = layer().double()
    u = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    ts = (torch.rand(2, 3, dtype=torch.float64) + 0.1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda u, ts: m(u, timespans=ts)[0], (u, ts))


@pytest.mark.parametrize("make", [lambda: LTC(3, 2), lambda: CfC(3, 2), lambda: CfC(3, 2, mixed_memory=True),
                                  lambda: CfC(3, 2, mode="pure")])
def test_per_sample_timespans_equal_separate_runs(make):
    """Elapsed time is per sample and per step (ncps #81/#82): batch size = hidden size so a wrong
    broadcast along the hidden axis would not even raise."""
    torch.manual_seed(0)
    m = make().double()
    u = torch.randn(2, 5, 3, dtype=torch.float64)
    ts = torch.tensor([[0.5] * 5, [2.0] * 5], dtype=torch.float64)
    ts[0, 2] = 0.0  # and different steps of one sample differ
    out, h_n = m(u, timespans=ts)
    for b in range(2):
        ob, hb = m(u[b:b + 1], timespans=ts[b:b + 1])
        assert torch.allclose(out[b:b + 1], ob, atol=1e-12)
        hb, hn = (hb[0], h_n[0]) if isinstance(hb, tuple) else (hb, h_n)
        assert torch.allclose(hn[:, b:b + 1], hb, atol=1e-12)
    # and the two samples are not advanced by the same time: swapping the timespans changes sample 0
    assert not torch.allclose(m(u, timespans=ts.flip(0))[0][0], out[0])


def test_bad_inputs_name_the_problem():
    m = LTC(3, 4)
    good = torch.randn(2, 5, 3)
    bad = good.clone()
    bad[1, 2, 0] = float("nan")
    with pytest.raises(ValueError, match="input must be finite"):
        m(bad)
    bad[1, 2, 0] = float("inf")
    with pytest.raises(ValueError, match="input must be finite"):
        m(bad)
    with pytest.raises(ValueError, match="input must have 3 features"):
        m(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match="timespans must be >= 0"):
        m(good, timespans=-torch.ones(2, 5))
    with pytest.raises(ValueError, match="timespans must be >= 0"):
        m(good, timespans=-1.0)
    with pytest.raises(ValueError, match=r"timespans must have shape \(2, 5\)"):
        m(good, timespans=torch.ones(5, 2))
    with pytest.raises(ValueError, match="unfolds must be >= 1"):
        LTCCell(3, 4, unfolds=0)
    cell = LTCCell(3, 4)
    with pytest.raises(ValueError, match="unfolds must be >= 1"):
        cell.integrate(torch.zeros(2, 4), torch.zeros(2, 3), 1.0, unfolds=0)
    with pytest.raises(ValueError, match="dt must be >= 0"):
        cell.integrate(torch.zeros(2, 4), torch.zeros(2, 3), -0.1)
    with pytest.raises(ValueError, match="dt must be >= 0"):
        cell.integrate(torch.zeros(2, 4), torch.zeros(2, 3), torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="solver must be one of"):
        cell.integrate(torch.zeros(2, 4), torch.zeros(2, 3), 1.0, solver="rk45")
    with pytest.raises(ValueError, match="I must be finite"):
        cell(torch.tensor([[0.0, float("nan"), 0.0]]))
    with pytest.raises(ValueError, match="elapsed must be >= 0"):
        CfCCell(3, 4)(torch.zeros(2, 3), None, -1.0)
    for kwargs, name in (({"hidden_size": 0}, "hidden_size"), ({"input_size": 2.0}, "input_size"),
                         ({"hidden_size": True}, "hidden_size")):
        args = {"input_size": 3, "hidden_size": 4, **kwargs}
        for cls in (LTCCell, CfCCell):
            with pytest.raises(ValueError, match=name):
                cls(**args)
    with pytest.raises(ValueError, match="mode must be one of"):
        CfCCell(3, 4, mode="gated")
    with pytest.raises(ValueError, match="num_layers must be >= 1"):
        CfC(3, 4, num_layers=0)
    with pytest.raises(ValueError, match="cell must be one of"):
        LiquidRNN("gru", 3, 4)
    with pytest.raises(ValueError, match=r"hx must have shape \(1, 2, 4\)"):
        m(good, torch.zeros(2, 4))


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_shapes_like_nn_gru(batch_first, return_sequences):
    torch.manual_seed(0)
    B, T, F, H = 3, 4, 2, 5
    u = torch.randn(B, T, F)
    for m in (LTC(F, H, num_layers=2, batch_first=batch_first, return_sequences=return_sequences),
              CfC(F, H, num_layers=2, batch_first=batch_first, return_sequences=return_sequences)):
        out, h_n = m(u if batch_first else u.transpose(0, 1))
        want = ((B, T, H) if batch_first else (T, B, H)) if return_sequences else (B, H)
        assert out.shape == want and h_n.shape == (2, B, H)
        last = out[:, -1] if (return_sequences and batch_first) else out[-1] if return_sequences else out
        assert torch.equal(last, h_n[-1])
        # resuming from h_n over the next chunk equals one run over both chunks
        full, _ = m(torch.cat([u, u], 1) if batch_first else torch.cat([u, u], 1).transpose(0, 1))
        second, _ = m(u if batch_first else u.transpose(0, 1), h_n)
        if return_sequences:
            tail = full[:, T:] if batch_first else full[T:]
            assert torch.allclose(tail, second, atol=1e-6)
        else:
            assert torch.allclose(full, second, atol=1e-6)


def test_mixed_memory_state_projection_and_unbatched():
    torch.manual_seed(0)
    m = CfC(2, 4, mixed_memory=True, proj_size=1)
    out, (h, c) = m(torch.randn(3, 6, 2))
    assert out.shape == (3, 6, 1) and h.shape == c.shape == (1, 3, 4)
    single, (h1, c1) = m(torch.randn(6, 2))
    assert single.shape == (6, 1) and h1.shape == (1, 4)
    ltc = LTC(2, 4, return_sequences=False)
    u = torch.randn(6, 2)
    o, h_n = ltc(u)
    assert o.shape == (4,) and h_n.shape == (1, 4)
    assert torch.allclose(o, ltc(u.unsqueeze(0))[0][0])


def test_timespans_forms_agree():
    torch.manual_seed(0)
    u = torch.randn(2, 4, 3)
    for m in (LTC(3, 2), CfC(3, 2)):
        base, _ = m(u)
        assert torch.equal(base, m(u, timespans=1.0)[0])
        assert torch.allclose(base, m(u, timespans=torch.ones(2, 4))[0])
        assert torch.allclose(base, m(u, timespans=torch.ones(2, 4, 1))[0])  # ncps's (B, T, 1) layout
        assert not torch.allclose(base, m(u, timespans=0.5)[0])


# -- the fast sequence paths are the reference loop's maths: outputs and every gradient agree ------------------

def _run_and_grads(m, u, hx, ts, fast, ts_grad=True):
    """Output, h_n and the gradients of a fixed random functional w.r.t. input, hx, timespans (if ``ts_grad``),
    parameters."""
    m.fast = fast
    u, ts = u.clone().requires_grad_(True), ts.clone().requires_grad_(ts_grad)
    hx = tuple(h.clone().requires_grad_(True) for h in hx)
    out, h_n = m(u, hx if len(hx) == 2 else hx[0], timespans=ts)
    h_n = h_n if isinstance(h_n, tuple) else (h_n,)
    gen = torch.Generator().manual_seed(7)
    loss = sum((t * torch.randn(t.shape, generator=gen, dtype=t.dtype)).sum() for t in (out, *h_n))
    grads = torch.autograd.grad(loss, [u, *([ts] if ts_grad else []), *hx, *m.parameters()], allow_unused=True)
    # a parameter the mode does not use (none here) would give None: compare as zeros
    return [out, *h_n], [torch.zeros(()) if g is None else g for g in grads]


_FAST_CASES = {
    "ltc": lambda: LTC(3, 5, num_layers=2, unfolds=3),
    "ltc_ncp": lambda: LTC(3, 8, wiring=NCP(3, 3, 2, 2, 2, 2, 2, seed=1), proj_size=2),
    "cfc_default_mm": lambda: CfC(3, 5, mixed_memory=True, backbone_units=6),
    "cfc_no_gate_2layers": lambda: CfC(3, 5, num_layers=2, mode="no_gate", backbone_layers=2, backbone_units=6),
    "cfc_pure": lambda: CfC(3, 5, mode="pure", backbone_units=6, mixed_memory=True),
    "cfc_no_backbone_tanh": lambda: CfC(3, 5, backbone_layers=0, activation="tanh"),
    "cfc_silu": lambda: CfC(3, 5, backbone_layers=2, backbone_units=4, activation="silu"),
    "cfc_silu_1layer": lambda: CfC(3, 5, backbone_units=4, activation="silu", mixed_memory=True),
    "cfc_relu_no_gate": lambda: CfC(3, 5, mode="no_gate", backbone_units=6, activation="relu"),
    "cfc_gelu": lambda: CfC(3, 5, backbone_units=6, activation="gelu"),
}


@pytest.mark.parametrize("ts_grad", [True, False])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-6)])
@pytest.mark.parametrize("case", sorted(_FAST_CASES) + ["ltc_recomputed_in_blocks"])
def test_fast_path_equals_reference_loop(case, dtype, tol, ts_grad, monkeypatch):
    """Every fast path against the reference loop. With elapsed times that need no gradient, the CfCs of at
    most one backbone layer (and not GELU) run the compiled time loop (``cfc_kernel.CfCSequence``); with
    them, or otherwise, the eager fast loop."""
    if case == "ltc_recomputed_in_blocks":
        # the LTC paths of large problems: synapse activations recomputed in the backward, and the batch of 4
        # run in blocks of 3 and 1 samples
        from paradigmlab.liquid import cells

        monkeypatch.setattr(cells, "KEEP_SYNAPSES_BYTES", 0)
        monkeypatch.setattr(cells, "BLOCK_ELEMENTS", 3 * 5 * 5)
        case = "ltc"
    torch.manual_seed(0)
    m = _FAST_CASES[case]().to(dtype)
    if dtype == torch.float32 and case == "cfc_no_gate_2layers":
        # float32 rounding (eps 1.2e-7) of the two summation orders grows through 2 layers x 3 Linear maps x 7
        # steps of backward to a few 1e-6; float64 shows the maths is the same (1e-15 there)
        tol = 1e-5
    B, T, L, H = 4, 7, m.num_layers, m.hidden_size
    u = torch.randn(B, T, 3, dtype=dtype)
    ts = torch.rand(B, T, dtype=dtype) * 2
    ts[1, 3] = 0.0
    hx = tuple(torch.rand(L, B, H, dtype=dtype) * 0.5 for _ in range(2 if m.mixed_memory else 1))
    ref_out, ref_grads = _run_and_grads(m, u, hx, ts, fast=False, ts_grad=ts_grad)
    out, grads = _run_and_grads(m, u, hx, ts, fast=True, ts_grad=ts_grad)
    for a, b in zip(out + grads, ref_out + ref_grads):
        scale = max(1.0, float(b.detach().abs().max()))
        err = float((a - b).detach().abs().max())
        assert err <= tol * scale, (case, err)
    # and a constant timespan (a float, not a tensor) takes the same fast path
    m.fast = True
    fast_c, _ = m(u, timespans=0.7)
    m.fast = False
    ref_c, _ = m(u, timespans=0.7)
    assert float((fast_c - ref_c).detach().abs().max()) <= tol * max(1.0, float(ref_c.detach().abs().max()))


def test_compiled_cfc_loop_runs_where_it_applies(monkeypatch):
    """The CfCs of the fast-path test above do take the compiled loop (so that test checks it), and the
    cases it does not cover fall back: GELU, two backbone layers, dropout while training, elapsed times that
    need a gradient."""
    from paradigmlab.liquid import cells

    calls = []
    real = cells.CfCSequence.apply
    monkeypatch.setattr(cells.CfCSequence, "apply", lambda *a: calls.append(1) or real(*a))
    u, ts = torch.randn(2, 3, 3), torch.rand(2, 3)
    for case, expect in (("cfc_default_mm", 1), ("cfc_pure", 1), ("cfc_no_backbone_tanh", 1), ("cfc_silu", 0),
                         ("cfc_gelu", 0), ("cfc_no_gate_2layers", 0)):
        calls.clear()
        _FAST_CASES[case]()(u, timespans=ts)
        assert len(calls) == expect * _FAST_CASES[case]().num_layers, case
    m = CfC(3, 4, backbone_units=8, backbone_dropout=0.3)
    calls.clear()
    m(u)
    assert not calls  # dropout active in training mode
    m.eval()
    m(u)
    assert calls == [1]  # eval mode: dropout is the identity
    calls.clear()
    m(u, timespans=ts.requires_grad_(True))
    assert not calls


@pytest.mark.parametrize("mode", ["default", "no_gate", "pure"])
@pytest.mark.parametrize("mixed,backbone,activation", [(True, 1, "tanh"), (False, 0, "tanh"), (False, 1, "relu"),
                                                         (True, 1, "silu")])
def test_gradcheck_compiled_cfc_loop(mode, mixed, backbone, activation):
    """The compiled loop's hand-written backward against finite differences in float64 (where its tanh is
    numpy's), every input with a gradient: the precomputed input parts, the initial state, every weight."""
    from paradigmlab.liquid.cfc_kernel import CfCSequence

    torch.manual_seed(4)
    T, B, n, U = 3, 2, 3, 4
    H = n if mode == "pure" else 4 * n
    r = lambda *s: (torch.randn(*s, dtype=torch.float64) * 0.7).requires_grad_(True)  # noqa: E731
    spans = torch.rand(T, B, dtype=torch.float64) + 0.2
    args = [r(T, B, 4 * n) if mixed else None, r(T, B, U if backbone else H), spans, r(B, n),
            r(B, n) if mixed else None, r(n, 4 * n) if mixed else None, r(n, U if backbone else H),
            r(U, H) if backbone else None, r(H) if backbone else None,
            r(n) if mode == "pure" else None, (torch.rand(n, dtype=torch.float64) + 0.1).requires_grad_(True)
            if mode == "pure" else None]
    if activation == "relu":  # keep pre-activations away from relu's kink, where finite differences straddle it
        args[1] = (args[1].detach() + 0.5 * torch.sign(args[1].detach())).requires_grad_(True)
    idx = [i for i, a in enumerate(args) if a is not None and i != 2]

    def fn(*xs):
        full = list(args)
        for i, x in zip(idx, xs):
            full[i] = x
        xs_out, c_last = CfCSequence.apply(*full, mode, activation)
        return (xs_out, c_last) if mixed else xs_out

    assert torch.autograd.gradcheck(fn, [args[i] for i in idx])


@pytest.mark.parametrize("keep_bytes,block", [(2 ** 30, 2 ** 16), (0, 9)])
def test_gradcheck_fused_ltc_sequence_backward(keep_bytes, block, monkeypatch):
    """The hand-written backward of the fused LTC sequence, against finite differences in float64, with the
    synapse activations kept from the forward, and recomputed (``KEEP_SYNAPSES_BYTES = 0``) with the batch
    run one sample at a time (``BLOCK_ELEMENTS = n * n``)."""
    from paradigmlab.liquid import cells
    from paradigmlab.liquid.cells import FusedLTCSequence

    monkeypatch.setattr(cells, "KEEP_SYNAPSES_BYTES", keep_bytes)
    monkeypatch.setattr(cells, "BLOCK_ELEMENTS", block)

    torch.manual_seed(3)
    B, T, n, K = 2, 3, 3, 2
    args = (torch.rand(B, n), torch.rand(B, T, n), torch.rand(B, T, 1) + 0.1, torch.rand(n, n),
            torch.rand(n, n) * 4, torch.rand(n, n), torch.rand(n) + 0.5, torch.randn(n))
    args = tuple(a.double().requires_grad_(True) for a in args)
    assert torch.autograd.gradcheck(lambda *a: FusedLTCSequence.apply(*a, K), args)
    # one timespan row shared by the batch (a constant step) reduces its gradient over the batch
    shared = (args[0], args[1], args[2][:1].detach().clone().requires_grad_(True), *args[3:])
    assert torch.autograd.gradcheck(lambda *a: FusedLTCSequence.apply(*a, K), shared)


def test_fast_path_dropout_draws_as_reference():
    """With dropout on, fast and reference paths draw the same masks from the same seed (training mode)."""
    m = CfC(3, 4, backbone_units=8, backbone_dropout=0.3).double()
    u = torch.randn(2, 5, 3, dtype=torch.float64)
    outs = []
    for fast in (True, False):
        m.fast = fast
        torch.manual_seed(11)
        outs.append(m(u)[0])
    assert torch.allclose(outs[0], outs[1], atol=1e-12, rtol=0)


def test_fast_flag_keeps_other_solvers_on_the_reference_loop():
    """Only the fused solver has a fused sequence path; Euler and RK4 run the reference loop either way."""
    torch.manual_seed(0)
    u = torch.randn(3, 5, 2)
    for solver in ("euler", "rk4"):
        m = LTC(2, 4, solver=solver, unfolds=2)
        fast, _ = m(u)
        m.fast = False
        assert torch.equal(fast, m(u)[0])
    with pytest.raises(ValueError, match="fast must be True or False"):
        LTC(2, 4, fast=1)


def test_compiled_cfc_loop_calls_blas_on_one_thread(monkeypatch):
    """Under ``torch_threads(2)`` the compiled loop's forward and backward run with scipy's OpenBLAS (numba's
    ``numpy.dot``) held at one thread (its small GEMMs were 5x slower on OpenBLAS's threads), and the limit
    comes back to two afterwards."""
    from threadpoolctl import threadpool_info

    from paradigmlab.liquid import cfc_kernel
    from paradigmlab.trainer import torch_threads

    def openblas_threads():
        return {i["num_threads"] for i in threadpool_info() if i["internal_api"] == "openblas"}

    seen = []
    for name in ("_forward", "_backward"):
        real = getattr(cfc_kernel, name)
        monkeypatch.setattr(cfc_kernel, name, lambda *a, real=real: seen.append(openblas_threads()) or real(*a))
    m = CfC(3, 5, mixed_memory=True, backbone_units=6)
    with torch_threads(2):
        out, _ = m(torch.randn(4, 6, 3))
        out.sum().backward()
        assert openblas_threads() == {2}
    assert seen == [{1}, {1}]


def test_compiled_cfc_loop_without_grad_reuses_scratch_safely():
    """Without grad the compiled loop keeps its intermediates in per-thread scratch: outputs equal the training
    path's, and what one call returned (states, last cell state) is not overwritten by the next call, whether
    that call has the same shape or a smaller one."""
    from paradigmlab.liquid import cfc_kernel

    torch.manual_seed(8)
    m = CfC(3, 5, mixed_memory=True, backbone_units=6)
    u1, u2, u3 = torch.randn(4, 7, 3), torch.randn(4, 7, 3), torch.randn(2, 5, 3)
    with torch.no_grad():
        out1, (h1, c1) = m(u1)
        keep = out1.clone(), h1.clone(), c1.clone()
        out2, (_, c2) = m(u2)
        m(u3)
    assert cfc_kernel._SCRATCH.pool  # the no-grad calls did use the scratch buffers
    for a, b in zip((out1, h1, c1), keep):
        assert torch.equal(a, b)
    ref2, (_, ref_c2) = m(u2)  # the training path: fresh buffers, saved for a backward
    assert torch.equal(out2, ref2.detach()) and torch.equal(c2, ref_c2.detach())
    # the node itself: its last cell state is no view of the scratch the next call rewrites
    T, B, n, U = 4, 3, 2, 5
    args = lambda: [torch.randn(T, B, 4 * n), torch.randn(T, B, U), torch.ones(T, B), torch.zeros(B, n),  # noqa: E731
                    torch.randn(B, n), torch.randn(n, 4 * n), torch.randn(n, U), torch.randn(U, 4 * n),
                    torch.randn(4 * n), None, None, "default", "tanh", True]
    with torch.no_grad():
        xs, c_last = cfc_kernel.CfCSequence.apply(*args())
        kept = xs.clone(), c_last.clone()
        cfc_kernel.CfCSequence.apply(*args())
    assert torch.equal(xs, kept[0]) and torch.equal(c_last, kept[1])
