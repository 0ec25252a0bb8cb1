"""Number formats: bit-exact against ml_dtypes and gfloat, known edge values, torch application."""

import numpy as np
import pytest
import torch
from torch import nn

from paradigmlab.costmodel import formats as F
from paradigmlab.costmodel.formats_reference import (
    gfloat_mx_mismatches, ml_dtypes_mismatches, nvfp4_mismatches, random_test_tensor,
)
from paradigmlab.costmodel.torchquant import format_loss_table, quantize_module


@pytest.mark.parametrize("seed", [0, 1])
def test_element_formats_bit_identical_to_ml_dtypes(seed):
    x = random_test_tensor(np.random.default_rng(seed))
    mism = ml_dtypes_mismatches(x)
    assert len(mism) == 12 and all(v == 0 for v in mism.values()), mism


def test_mx_formats_bit_identical_to_gfloat():
    try:
        import gfloat  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"gfloat not importable: {exc}")
    x = random_test_tensor(np.random.default_rng(2), rows=32, cols=64)
    mism = gfloat_mx_mismatches(x)
    assert len(mism) == 6 and all(v == 0 for v in mism.values()), mism


@pytest.mark.parametrize("per_tensor", [True, False])
def test_nvfp4_matches_ml_dtypes_composition(per_tensor):
    x = random_test_tensor(np.random.default_rng(3))
    assert nvfp4_mismatches(x, per_tensor) == 0


def test_known_edge_values():
    e4m3, e5m2 = F.E4M3, F.E5M2
    q = F.quantize_element(np.array([464.0, 480.0, 2.0**-10, 2.0**-9 * 1.5]), e4m3, saturate=False)
    assert q[0] == 448.0 and np.isnan(q[1])  # 464 ties to even (448); 480 overflows to NaN (no inf in e4m3fn)
    assert q[2] == 0.0 and q[3] == 2.0**-8  # below half the smallest subnormal; tie rounds to even
    assert F.quantize_element(np.array([61440.0]), e5m2, saturate=False)[0] == np.inf
    assert F.quantize_element(np.array([1e9, -1e9]), e4m3, saturate=True).tolist() == [448.0, -448.0]
    assert F.quantize_element(np.array([2.5, 5.0, 7.0]), F.E2M1).tolist() == [2.0, 4.0, 6.0]
    with pytest.raises(ValueError, match="no NaN"):
        F.quantize_element(np.array([np.nan]), F.E2M1)


def test_mx_scale_and_saturation():
    block = np.zeros(32)
    block[0], block[1] = 7.9, 0.3
    exp = F.mx_scale_exponents(block[None, :], F.E2M1.emax)
    assert exp.tolist() == [0]  # floor(log2 7.9) - 2 = 0
    q = F.quantize_mx(block, "mxfp4_e2m1")
    assert q[0] == 6.0 and q[1] == 0.5  # saturates to the largest normal; 0.3 -> nearest E2M1 value
    assert F.mx_scale_exponents(np.zeros((1, 32)), 2).tolist() == [-127]
    tiny = np.full(32, 2.0**-140)
    assert F.mx_scale_exponents(tiny[None, :], 8).tolist() == [-127]  # clipped scale
    assert F.quantize_mx(np.arange(40.0), "mxint8").shape == (40,)  # padded last block
    with pytest.raises(ValueError, match="NaN"):
        F.quantize_mx(np.array([np.inf] * 32), "mxfp8_e4m3")
    with pytest.raises(ValueError, match="unknown MX format"):
        F.quantize_mx(np.zeros(32), "mxfp3")


def test_sqnr_orders_formats_by_bits():
    x = np.random.default_rng(0).standard_normal((64, 256))
    sq = {r["format"]: r["sqnr_db"] for r in F.format_report(x)}
    assert sq["mxint8"] > sq["mxfp8_e4m3"] > sq["mxfp6_e3m2"] > sq["nvfp4"] > sq["mxfp4_e2m1"] > 15
    assert F.sqnr_db(x, x) == float("inf")
    # uniform-in-bin noise: a 3-bit-mantissa format sits near 6.02*4 + 10log10(12)-ish ~ 31 dB on Gaussians
    assert 29 < sq["fp8_e4m3"] < 34
    with pytest.raises(ValueError, match="unknown format"):
        F.quantize(x, "fp9")


class _Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(16, 32)
        self.fc = nn.Linear(32, 64)
        self.head = nn.Linear(32, 16, bias=False)
        self.head.weight = self.emb.weight  # tied

    def forward(self, x):
        h = torch.sin(3.0 * self.emb(x))  # off the weight grid, so activation quantisation shows
        return self.head(h) + self.fc(h).sum(-1, keepdim=True)


def test_quantize_module_copy_tied_and_activation_hooks():
    torch.manual_seed(0)
    model = _Tiny()
    before = model.fc.weight.detach().clone()
    q = quantize_module(model, "mxfp4_e2m1")
    assert torch.equal(model.fc.weight, before)  # original untouched
    w = q.module.fc.weight.detach().double().numpy()
    assert np.array_equal(F.quantize(w, "mxfp4_e2m1"), w)  # on the MXFP4 grid (idempotent)
    assert [r["name"] for r in q.layers] == ["fc", "head"]  # tied weight quantised once
    assert q.module.emb.weight is q.module.head.weight
    assert 15 < q.weight_sqnr_db < 25
    x = torch.randint(0, 16, (4, 8))
    plain = q.module(x)
    qa = quantize_module(model, "mxfp4_e2m1", activations=True)
    assert not torch.equal(qa.module(x), plain)
    qa.remove_hooks()
    assert torch.equal(qa.module(x), plain)
    with pytest.raises(ValueError, match="unknown format"):
        quantize_module(model, "fp9")


def test_format_loss_table_baseline_and_deltas():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))
    x, y = torch.randn(64, 32), torch.randint(0, 4, (64,))

    def ev(m):
        with torch.no_grad():
            return float(nn.functional.cross_entropy(m(x), y))

    rows = format_loss_table(model, ev, ["mxint8", "mxfp4_e2m1"])
    assert rows[0]["format"] == "baseline" and rows[0]["loss"] == ev(model)
    assert abs(rows[1]["delta"]) < abs(rows[2]["delta"])  # 8-bit perturbs less than 4-bit


def test_results_do_not_depend_on_flush_to_zero_mode():
    torch.set_flush_denormal(False)
    x = random_test_tensor(np.random.default_rng(4))
    fmts = ["mxfp8_e4m3", "mxfp4_e2m1", "mxint8", "nvfp4", "fp8_e4m3"]
    ieee = {f: F.quantize(x, f) for f in fmts}
    assert np.count_nonzero(ieee["mxfp8_e4m3"][3]) > 0  # the subnormal row survives in a 2^-127-scaled block
    torch.set_flush_denormal(True)  # what training loops do
    try:
        for f in fmts:
            assert np.array_equal(F.quantize(x, f), ieee[f]), f
        assert all(v == 0 for v in ml_dtypes_mismatches(x).values())
    finally:
        torch.set_flush_denormal(False)
