"""paradigmlab.costmodel.recurrent: per-step cost of the liquid models, GRU/LSTM and a small Transformer.

Matmul FLOPs are checked against torch's FlopCounterMode on one real step; elementwise and transcendental counts
against an independent tally of the aten ops that one real step dispatches (:class:`OpTally`); parameter
counts against ``sum(p.numel())``; the FFT count of the convolution mode against the FFTs ``layer(u)`` runs.
"""

import json
import math

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from paradigmlab.costmodel.recurrent import (ACTIVATION_COSTS, StepCost, cfc_cost, combine, gru_cost, linear_cost,
                                             liquid_s4_cost, lstm_cost, ltc_cost, memory_vs_length,
                                             s4_convolution_cost, s4d_cost, small_transformer, step_cost,
                                             transformer_step_cost)
from paradigmlab.liquid import NCP, CfC, CfCCell, LiquidS4Layer, LTCCell, S4DLayer
from paradigmlab.liquid.cells import ACTIVATIONS, check_state
from paradigmlab.validate import InputError

# ----------------------------------------------------------------------------------------------------------------
# an independent op tally: one count per output element of each arithmetic aten op, k - 1 per sum of k terms,
# complex arithmetic in real FLOPs; ops that move or view data count nothing, and any op not listed is recorded
# as unknown (the tests assert there is none, so a new op in a model's step cannot slip through uncounted)

_ELEMENTWISE = {"add", "add_", "sub", "sub_", "mul", "mul_", "div", "div_", "neg", "rsub", "abs", "relu",
                "reciprocal"}
_TRANSCENDENTAL = {"sigmoid", "sigmoid_", "tanh", "tanh_", "exp", "exp_", "erf", "softplus"}
_COMPOSITE = {"silu": (1, 1), "gelu": (4, 1)}  # x sigmoid(x); x/sqrt2, erf, 1 +, * x, * 0.5
_FREE = {  # data movement and views
    "t", "transpose", "transpose_", "view", "_unsafe_view", "unsqueeze", "squeeze", "expand", "select", "slice",
    "unbind", "unsafe_split", "split", "split_with_sizes", "cat", "stack", "clone", "_to_copy", "detach",
    "view_as_complex", "view_as_real", "real", "alias", "permute", "new_zeros", "zeros_like", "empty", "copy_",
    "lift_fresh", "dropout", "complex", "_conj", "arange", "constant_pad_nd", "embedding",
    # input checks (isfinite and its decomposition into comparisons), subtracted with the weight-only work anyway
    "isfinite", "eq", "ne", "all", "any", "is_nonzero", "_local_scalar_dense",
    # matrix products: FlopCounterMode's to count
    "mm", "bmm"}
_NOT_TALLIED = {"cumsum", "pow", "_softmax", "native_layer_norm"}  # in the S4 convolution and Transformer tests only


class OpTally(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.elementwise = self.transcendental = 0
        self.unknown, self.untallied, self.ffts = set(), set(), []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = func.overloadpacket.__name__
        res = out[0] if isinstance(out, (tuple, list)) else out
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        n_complex = sum(a.is_complex() for a in tensors)
        if name in ("mul", "mul_"):
            self.elementwise += res.numel() * (6 if n_complex == 2 else 2 if n_complex == 1 else 1)
        elif name in _ELEMENTWISE:
            self.elementwise += res.numel() * (2 if res.is_complex() else 1)
        elif name in _COMPOSITE:  # one aten op, counted as its definition
            e, tr = _COMPOSITE[name]
            self.elementwise += e * res.numel()
            self.transcendental += tr * res.numel()
        elif name in _TRANSCENDENTAL:
            self.transcendental += res.numel()
        elif name == "sum":
            self.elementwise += (args[0].numel() - res.numel()) * (2 if res.is_complex() else 1)
        elif name == "addmm":  # the bias add of a Linear; the product is FlopCounterMode's
            self.elementwise += res.numel()
        elif name in ("_fft_r2c", "_fft_c2c", "_fft_c2r"):
            n = (res if name == "_fft_c2r" else args[0]).shape[-1]
            self.ffts.append((name, (res if name == "_fft_c2r" else args[0]).numel() // n, n))
        elif name in _NOT_TALLIED:
            self.untallied.add(name)
        elif name not in _FREE:
            self.unknown.add(name)
        return out


def tally(fn):
    with torch.no_grad(), OpTally() as t:
        fn()
    return t


def matmul_flops(fn):
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        fn()
    return counter.get_total_flops()


def assert_counts(cost, step, weights_only=lambda: None):
    """The cost's elementwise / transcendental counts equal the tally of ``step`` minus its weight-only ops
    (and input checks), and its matmul FLOPs torch's FlopCounterMode count of ``step``."""
    s, w = tally(step), tally(weights_only)
    assert not s.unknown and not s.untallied, (s.unknown, s.untallied)
    assert cost.elementwise_flops == s.elementwise - w.elementwise
    assert cost.transcendental_ops == s.transcendental - w.transcendental
    assert cost.matmul_flops == matmul_flops(step)


# ----------------------------------------------------------------------------------------------------------------
# LTC


def ltc_weights(cell):
    return lambda: (1.0 / cell.tau, cell.w, cell.s)


@pytest.mark.parametrize("solver", ["fused", "euler", "rk4"])
def test_ltc_counts_match_one_real_step(solver):
    torch.manual_seed(0)
    cell = LTCCell(5, 7, solver=solver, unfolds=3)
    B = 4
    I, x = torch.randn(B, 5), torch.randn(B, 7)
    cost = ltc_cost(cell, batch=B)
    assert_counts(cost, lambda: cell(I, x, 0.7, validate=False), ltc_weights(cell))
    assert cost.matmul_flops == 0  # eq. 1 has no matrix product: every synapse is its own sigmoid
    assert cost.params == sum(p.numel() for p in cell.parameters())
    assert cost.state_bytes == B * 7 * 4 and cost.weight_bytes == cost.params * 4
    # unfolds multiply the per-unfold work only (the sensory gate is computed once per step)
    c1, c2 = ltc_cost(cell, unfolds=1), ltc_cost(cell, unfolds=2)
    assert 0 < c2.elementwise_flops - c1.elementwise_flops < c1.elementwise_flops
    assert ltc_cost(cell, unfolds=5, batch=3).elementwise_flops == 3 * ltc_cost(cell, unfolds=5).elementwise_flops


def test_ltc_rk4_costs_four_gate_evaluations_per_unfold():
    torch.manual_seed(0)
    cell = LTCCell(3, 6)
    fused, rk4 = ltc_cost(cell, solver="fused", unfolds=2), ltc_cost(cell, solver="rk4", unfolds=2)
    sensory = 3 * 6  # one sigmoid per sensory synapse, once per step
    assert (rk4.transcendental_ops - sensory) == 4 * (fused.transcendental_ops - sensory) == 4 * 2 * 36


def test_ltc_with_wiring_counts_present_synapses_only():
    torch.manual_seed(0)
    wiring = NCP(inter_neurons=6, command_neurons=4, motor_neurons=2, sensory_fanout=3, inter_fanout=2,
                 recurrent_command_synapses=3, motor_fanin=2)
    cell = LTCCell(5, wiring.units, wiring=wiring, unfolds=2)
    I, x = torch.randn(2, 5), torch.randn(2, wiring.units)
    dense = ltc_cost(cell, batch=2, synapses="all")
    assert_counts(dense, lambda: cell(I, x, validate=False), ltc_weights(cell))  # what the masked code runs
    sparse = ltc_cost(cell, batch=2)
    missing_rec = wiring.units ** 2 - int(wiring.adjacency.sum())
    missing_sens = 5 * wiring.units - int(wiring.sensory_mask(5).sum())
    assert dense.transcendental_ops - sparse.transcendental_ops == 2 * (2 * missing_rec + missing_sens)
    assert sparse.params == dense.params == sum(p.numel() for p in cell.parameters())
    # the same numbers from a config, without building a cell
    cfg = {"input_size": 5, "hidden_size": wiring.units, "wiring": wiring, "unfolds": 2}
    assert ltc_cost(cfg, batch=2) == sparse
    assert ltc_cost({"input_size": 3, "hidden_size": 4}) == ltc_cost(LTCCell(3, 4))  # the cell's defaults


def test_ltc_fan_in_is_read_per_postsynaptic_neuron():
    class Wiring:  # neuron 2 receives neurons 0, 1, 2; input 0 -> neuron 0, input 1 -> neurons 0 and 1
        units = 3
        adjacency = torch.tensor([[0.0, 0, 1], [0, 0, 1], [0, 0, 1]])  # [pre, post]

        def sensory_mask(self, m):
            return torch.tensor([[1.0, 0, 0], [1, 1, 0]])

    c = ltc_cost({"input_size": 2, "hidden_size": 3, "wiring": Wiring(), "unfolds": 1})
    # sensory: 3 synapses x 3 ops + 1 add (neuron 0 sums two); recurrent: 3 x 3 + 2 adds (neuron 2 sums three),
    # no neuron has both kinds (no "+ sensory" add); fused update 7 x 3
    assert c.elementwise_flops == (9 + 1) + (9 + 2) + 21
    assert c.transcendental_ops == 3 + 3


# ----------------------------------------------------------------------------------------------------------------
# CfC, GRU, LSTM


@pytest.mark.parametrize("kw", [
    {}, {"mode": "no_gate"}, {"mode": "pure"}, {"mixed_memory": True}, {"backbone_layers": 0},
    {"backbone_layers": 2, "backbone_units": 16, "activation": "relu"}, {"mode": "pure", "activation": "tanh"},
    {"mixed_memory": True, "mode": "no_gate", "activation": "silu"}])
def test_cfc_counts_match_one_real_step(kw):
    torch.manual_seed(0)
    kw = {"backbone_units": 24, **kw}
    cell = CfCCell(5, 6, **kw).eval()
    B = 3
    I, x = torch.randn(B, 5), torch.randn(B, 6)
    state = (x, torch.randn(B, 6)) if cell.mixed_memory else x
    cost = cfc_cost(cell, batch=B)
    weights = (lambda: (-cell.A, cell.w_tau.abs())) if cell.mode == "pure" else (lambda: None)
    assert_counts(cost, lambda: cell(I, state, 1.3, validate=False), weights)
    assert cost.params == sum(p.numel() for p in cell.parameters())
    assert cost.state_bytes == B * 6 * 4 * (2 if cell.mixed_memory else 1)


@pytest.mark.parametrize("kw", [{}, {"num_layers": 2}, {"bias": False}])
def test_gru_counts_match_one_real_step(kw):
    torch.manual_seed(0)
    rnn = nn.GRU(5, 7, batch_first=True, **kw)
    B, L = 3, rnn.num_layers
    u, h = torch.randn(B, 1, 5), torch.randn(L, B, 7)
    cost = gru_cost(rnn, batch=B)
    assert_counts(cost, lambda: rnn(u, h))
    assert cost.params == sum(p.numel() for p in rnn.parameters())
    assert cost.state_bytes == L * B * 7 * 4


@pytest.mark.filterwarnings("ignore:TF32 acceleration on top of oneDNN")  # printed when the flags are set
@pytest.mark.parametrize("kw", [{}, {"num_layers": 2}, {"bias": False}, {"proj_size": 3, "num_layers": 2}])
def test_lstm_counts_match_one_real_step(kw):
    torch.manual_seed(0)
    rnn = nn.LSTM(5, 7, batch_first=True, **kw)
    B, L, out = 3, rnn.num_layers, rnn.proj_size or 7
    u, h, c = torch.randn(B, 1, 5), torch.randn(L, B, out), torch.randn(L, B, 7)
    cost = lstm_cost(rnn, batch=B)
    with torch.backends.mkldnn.flags(enabled=False):  # oneDNN's fused LSTM is opaque to both counters
        assert_counts(cost, lambda: rnn(u, (h, c)))
    assert cost.params == sum(p.numel() for p in rnn.parameters())
    assert cost.state_bytes == L * B * (out + 7) * 4


def test_every_cfc_activation_has_a_cost():
    assert set(ACTIVATION_COSTS) == set(ACTIVATIONS)


def test_liquid_rnn_stack_and_linear():
    torch.manual_seed(0)
    core = CfC(5, 6, num_layers=2, proj_size=3, backbone_units=8).eval()
    cost = step_cost(core, batch=2)
    assert cost.params == sum(p.numel() for p in core.parameters())
    assert cost.state_bytes == 2 * 2 * 6 * 4
    parts = [cfc_cost(c, batch=2) for c in core.cells] + [linear_cost(core.proj, batch=2)]
    assert cost.flops_per_step == sum(p.flops_per_step for p in parts)
    head = nn.Linear(6, 4)
    x = torch.randn(2, 6)
    assert_counts(linear_cost(head, batch=2), lambda: head(x))


# ----------------------------------------------------------------------------------------------------------------
# S4D / Liquid-S4


def s4_weights(layer, u, state):
    """The weight-only work of a step (discretisation) and its input checks, which step() always runs."""
    def run():
        check_state(u, "u_k", layer.d_model, "d_model")
        bool(torch.isfinite(torch.view_as_real(state)).all())
        _, zoh, _ = layer.discretize()
        zoh * torch.view_as_complex(layer.B)
        if isinstance(layer, LiquidS4Layer):
            zoh * torch.view_as_complex(layer.E)
    return run


@pytest.mark.parametrize("cls,kw", [(S4DLayer, {}), (LiquidS4Layer, {}), (LiquidS4Layer, {"liquid_order": 3}),
                                    (LiquidS4Layer, {"liquid_order": 1})])
def test_s4_step_counts_match_one_real_step(cls, kw):
    torch.manual_seed(0)
    layer = cls(4, 10, **kw)
    B = 3
    u = torch.randn(B, 4)
    state = layer.step(u)[1]  # a non-zero state of the right shape
    cost = (liquid_s4_cost if cls is LiquidS4Layer else s4d_cost)(layer, batch=B)
    assert_counts(cost, lambda: layer.step(u, state), s4_weights(layer, u, state))
    assert cost.params == sum(p.numel() for p in layer.parameters())
    assert cost.state_bytes == state.numel() * state.element_size()


@pytest.mark.parametrize("cls,kw", [(S4DLayer, {}), (LiquidS4Layer, {}), (LiquidS4Layer, {"liquid_order": 3})])
def test_s4_convolution_cost_counts_the_ffts_the_layer_runs(cls, kw):
    torch.manual_seed(0)
    layer = cls(3, 8, **kw)
    B, L = 2, 12
    u = torch.randn(B, L, 3)
    t = tally(lambda: layer(u))
    assert not t.unknown, t.unknown
    est = s4_convolution_cost(layer, L, batch=B)
    assert est.ffts == sum(count for _, count, _ in t.ffts)
    assert {n for _, _, n in t.ffts} == {est.fft_length} == {2 * L}
    assert est.to_dict()["estimate"] is True and est.train_flops == 3 * est.flops
    # n log n: doubling the length slightly more than doubles the FFT work
    longer = s4_convolution_cost(layer, 2 * L, batch=B)
    assert 2 < longer.fft_flops / est.fft_flops < 2.6


# ----------------------------------------------------------------------------------------------------------------
# Transformer via costmodel.transformer


class TinyDecoder(nn.Module):
    """nanoGPT-style decoder, the torch twin of small_transformer(): one decode step against a KV cache."""

    def __init__(self, n_layer, d, heads, vocab):
        super().__init__()
        self.h = heads
        self.wte = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(nn.ModuleDict(dict(
            ln1=nn.LayerNorm(d), q=nn.Linear(d, d), k=nn.Linear(d, d), v=nn.Linear(d, d), o=nn.Linear(d, d),
            ln2=nn.LayerNorm(d), fc=nn.Linear(d, 4 * d), proj=nn.Linear(4 * d, d))) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def step(self, token, cache):
        x = self.wte(token)  # (B, 1, d)
        B, _, d = x.shape
        new_cache = []
        for blk, (K, V) in zip(self.blocks, cache):
            a = blk["ln1"](x)
            q, k, v = (blk[n](a).view(B, 1, self.h, -1).transpose(1, 2) for n in "qkv")
            K, V = torch.cat([K, k], 2), torch.cat([V, v], 2)
            att = torch.softmax(q @ K.transpose(-2, -1) / math.sqrt(d // self.h), -1)
            x = x + blk["o"]((att @ V).transpose(1, 2).reshape(B, 1, d))
            x = x + blk["proj"](nn.functional.gelu(blk["fc"](blk["ln2"](x))))
            new_cache.append((K, V))
        return self.head(self.ln_f(x)), new_cache


@pytest.mark.parametrize("context", [0, 32, 1000])
def test_transformer_step_matches_a_real_decode_step(context):
    torch.manual_seed(0)
    B, n_layer, d, heads, vocab = 2, 2, 64, 4, 10
    model = TinyDecoder(n_layer, d, heads, vocab)
    cache = [(torch.randn(B, heads, context, d // heads), torch.randn(B, heads, context, d // heads))
             for _ in range(n_layer)]
    token = torch.randint(vocab, (B, 1))
    cost = transformer_step_cost({"n_layer": n_layer, "d_model": d, "n_head": heads}, context, batch=B)
    assert cost.matmul_flops == matmul_flops(lambda: model.step(token, cache))
    assert cost.params == sum(p.numel() for p in model.parameters())
    _, new_cache = model.step(token, cache)
    assert cost.state_bytes == sum(K.numel() + V.numel() for K, V in new_cache) * 4
    assert cost.tokens_held == context + 1


# ----------------------------------------------------------------------------------------------------------------
# memory vs length, and what the table reads


def test_memory_vs_length_constant_for_rnns_linear_for_kv_cache():
    torch.manual_seed(0)
    costs = {"LTC": ltc_cost(LTCCell(17, 32)), "GRU": gru_cost(nn.GRU(17, 32)),
             "Liquid-S4": liquid_s4_cost(LiquidS4Layer(32, 64)),
             "Transformer": transformer_step_cost(small_transformer(2, 64, 4), context=31)}
    lengths = [1, 32, 1000]
    out = memory_vs_length(costs, lengths)
    assert out["length"] == lengths
    for name in ("LTC", "GRU", "Liquid-S4"):
        assert out["state_bytes"][name] == [costs[name].state_bytes] * 3
    kv = out["state_bytes"]["Transformer"]
    assert kv[1] == costs["Transformer"].state_bytes  # 32 tokens held after the step at context 31
    assert kv == [transformer_step_cost(small_transformer(2, 64, 4), context=n - 1).state_bytes for n in lengths]
    assert json.loads(json.dumps(out)) == out


def test_step_cost_dispatches_and_combine_adds():
    torch.manual_seed(0)
    cell = LTCCell(3, 4)
    assert step_cost(cell) == ltc_cost(cell)
    both = combine([ltc_cost(cell), linear_cost(nn.Linear(4, 2))], "LTC+head")
    assert both.params == ltc_cost(cell).params + 10 and both.matmul_flops == 16
    assert isinstance(both, StepCost) and both.to_dict()["flops_per_step"] == both.flops_per_step


# ----------------------------------------------------------------------------------------------------------------
# errors name the argument


@pytest.mark.parametrize("call,match", [
    (lambda: ltc_cost(LTCCell(3, 4), unfolds=0), "unfolds"),
    (lambda: ltc_cost(LTCCell(3, 4), solver="midpoint"), "solver"),
    (lambda: ltc_cost(LTCCell(3, 4), batch=0), "batch"),
    (lambda: ltc_cost(LTCCell(3, 4), synapses="some"), "synapses"),
    (lambda: ltc_cost({"hidden_size": 4}), "input_size"),
    (lambda: ltc_cost({"input_size": 3, "hidden_size": 4, "units": 2}), "unknown keys"),
    (lambda: ltc_cost(nn.GRU(3, 4)), "cell_or_config"),
    (lambda: cfc_cost(LTCCell(3, 4)), "cell"),
    (lambda: gru_cost(nn.LSTM(3, 4)), "rnn"),
    (lambda: gru_cost(nn.GRU(3, 4, bidirectional=True)), "bidirectional"),
    (lambda: lstm_cost(nn.LSTM(3, 4), dtype_bytes=0), "dtype_bytes"),
    (lambda: s4d_cost(LiquidS4Layer(2, 4)), "liquid_s4_cost"),
    (lambda: liquid_s4_cost(S4DLayer(2, 4)), "layer"),
    (lambda: s4_convolution_cost(S4DLayer(2, 4), 0), "length"),
    (lambda: transformer_step_cost({"n_layer": 2, "d_model": 64, "n_head": 5}, 3), "n_head"),
    (lambda: transformer_step_cost({"layers": 2}, 3), "unknown keys"),
    (lambda: transformer_step_cost(small_transformer(), -1), "context"),
    (lambda: memory_vs_length({}, [1]), "costs_by_name"),
    (lambda: memory_vs_length({"a": 1}, [1]), "costs_by_name"),
    (lambda: memory_vs_length({"a": ltc_cost(LTCCell(3, 4))}, [1, 0]), r"lengths\[1\]"),
    (lambda: memory_vs_length({"a": ltc_cost(LTCCell(3, 4))}, "12"), "lengths"),
    (lambda: step_cost(nn.Conv1d(2, 2, 1)), "module"),
    (lambda: combine([], "x"), "costs"),
])
def test_bad_input_is_refused_by_name(call, match):
    with pytest.raises(InputError, match=match):
        call()
