"""Roofline, calibration, hardware presets, P/D and the gpt-fast validation."""

import pytest

from paradigmlab.costmodel.hardware import Hardware, load_hardware
from paradigmlab.costmodel.pd import disaggregated, kv_transfer_seconds
from paradigmlab.costmodel.roofline import Calibration, cost_summary, fit_calibration, plot_roofline, predict
from paradigmlab.costmodel.transformer import decoder_costs, load_model
from paradigmlab.costmodel.validation import TABLE_PATH, TOLERANCE, validate, validation_markdown


def test_ideal_prediction_is_the_physical_floor():
    hw = load_hardware("a100-80gb")
    c = decoder_costs(load_model("llama-2-7b"), "decode", 1, 100)
    p = predict(c, hw)
    assert p.seconds == p.floor_s == pytest.approx(c.bytes / 2039e9)
    assert p.bound == "memory" and p.mbu == pytest.approx(1.0)
    assert p.mfu == pytest.approx(c.flops / p.seconds / 312e12)
    summary = cost_summary(c, hw)
    assert summary["predicted_s"] == p.seconds and summary["intensity"] == c.intensity
    big = decoder_costs(load_model("llama-2-7b"), "prefill", 8, 2048)
    pb = predict(big, hw, Calibration(compute_efficiency=0.5))
    assert pb.bound == "compute" and pb.mfu == pytest.approx(0.5)


def test_fit_recovers_known_calibration():
    hw = load_hardware("h100-sxm")
    truth = Calibration(bw_efficiency=0.6, kernel_overhead_s=3e-6)
    pts = []
    for name, dtype, tp in [("llama-2-7b", "bf16", 1), ("llama-2-7b", "int8", 1), ("llama-2-70b", "fp8", 1),
                            ("llama-2-7b", "bf16", 4)]:
        c = decoder_costs(load_model(name), "decode", 1, 100, dtype, tp=tp)
        pts.append((c, predict(c, hw, truth).seconds))
    fit = fit_calibration(pts, hw)
    assert fit.bw_efficiency == pytest.approx(0.6, rel=1e-4)
    assert fit.kernel_overhead_s == pytest.approx(3e-6, rel=1e-3)
    with pytest.raises(ValueError, match="free"):
        fit_calibration(pts, hw, free=["bogus"])


def test_gpt_fast_validation_within_tolerance_and_table_is_current():
    result = validate()
    assert len(result["rows"]) == 7
    for r in result["rows"]:
        assert abs(r["calibrated_err"]) <= TOLERANCE, r["label"]
        assert r["ideal_err"] < 0  # the physical floor is always faster than reality
    assert all(o["predicted_oom"] for o in result["oom"])
    assert 0 < result["calibration"].bw_efficiency <= 1
    assert TABLE_PATH.read_text() == validation_markdown(result), \
        "stale table: run python -m paradigmlab.costmodel.validation --write"


def test_hardware_presets_peaks_fallback_and_cim():
    a100, h100 = load_hardware("a100-80gb"), load_hardware("h100-sxm")
    assert a100.peak("fp8") == (312e12, "bf16")  # no FP8 on Ampere
    assert a100.peak("int8") == (312e12, "bf16")  # weight-only int8 computes in bf16
    assert h100.peak("w8a8") == (1978.9e12, "int8")
    assert load_hardware("b200").peak("nvfp4") == (9000e12, "fp4")
    cim = load_hardware("cim-8t-sram")
    assert cim.tops_per_watt("int8") == 12.31 and cim.power_level == "macro"
    assert a100.tops_per_watt("int8") == pytest.approx(624 / 400)
    assert load_hardware("pbit-fpga").flips_per_ns == 64
    with pytest.raises(ValueError, match="no memory bandwidth"):
        _ = cim.bandwidth
    with pytest.raises(ValueError, match="unknown keys"):
        Hardware.from_dict({"name": "x", "bandwith": 1})
    with pytest.raises(ValueError, match="kind"):
        Hardware(name="x", kind="tpu")


def test_pd_split_prefill_compute_bound_decode_memory_bound():
    h = load_hardware("h100-sxm")
    cfg = load_model("llama-3-8b")
    r = disaggregated(cfg, h, h, prompt_len=2048, output_len=128, link_gbs=25.0)
    assert r.prefill_bound == "compute" and r.decode_bound == "memory"
    assert r.kv_bytes == 2048 * cfg.kv_elements_per_token() * 2
    assert r.ttft_s == pytest.approx(r.prefill_s + r.kv_bytes / 25e9)
    assert kv_transfer_seconds(1e9, 100.0, 1e-3) == pytest.approx(0.011)
    with pytest.raises(ValueError):
        kv_transfer_seconds(1e9, 0.0)


def test_roofline_png(tmp_path):
    hw = load_hardware("a100-80gb")
    c = decoder_costs(load_model("gpt2"))
    path = plot_roofline([("gpt2", c)], hw, tmp_path / "r.png", extra=[("cnn", 200.0)])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
