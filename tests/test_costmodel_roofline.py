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


def test_pbit_machine_presets_carry_rate_energy_and_their_assumptions():
    from paradigmlab.costmodel.pbit import pbit_machines, pbit_workload

    fpga = load_hardware("pbit-fpga")
    assert fpga.is_pbit and fpga.assumed == ("power_w",)
    assert fpga.joules_per_flip() == pytest.approx(fpga.power_w / 64e9)  # board power over the top rate
    smtj = load_hardware("pbit-smtj-asic")
    assert smtj.joules_per_flip() == smtj.energy_per_flip_j  # a quoted energy wins over power / rate
    assert not load_hardware("h100-sxm").is_pbit and load_hardware("h100-sxm").joules_per_flip() is None
    names = {hw.name for hw in pbit_machines()}
    assert {"pbit-fpga", "pbit-smtj-asic", "pbit-dtca", "pbit-thrml-8xb200"} <= names and "b200" not in names
    assert all(hw.source for hw in pbit_machines())
    rows = {r["name"]: r for r in pbit_workload(6.4e10, measured={"here": 0.5})}
    assert rows["pbit-fpga"]["seconds"] == pytest.approx(1.0) and rows["pbit-fpga"]["seconds_low"] == pytest.approx(1.28)
    assert rows["pbit-fpga"]["joules"] == pytest.approx(fpga.power_w) and rows["pbit-fpga"]["assumed"] == ["power_w"]
    assert rows["pbit-dtca"]["seconds"] is None and rows["pbit-dtca"]["joules"] == pytest.approx(6.4e10 * 2e-15)
    assert rows["here"]["seconds"] == pytest.approx(128.0) and rows["here"]["joules"] is None
    with pytest.raises(ValueError, match="updates"):
        pbit_workload(0)
    with pytest.raises(ValueError, match="flips_per_ns or energy_per_flip_j"):
        Hardware(name="x", kind="pbit_asic")
    with pytest.raises(ValueError, match="assumed"):
        Hardware.from_dict({"name": "x", "kind": "pbit_fpga", "flips_per_ns": 1, "assumed": ["watts"]})
    with pytest.raises(ValueError, match="flips_per_ns must be > 0"):
        Hardware(name="x", kind="pbit_fpga", flips_per_ns=-1)


def test_the_dbm_claim_table_runs_on_the_presets():
    from paradigmlab.ebm.experiments import NIAZI_BATCH_UPDATES, paper_comparison
    from paradigmlab.ebm.reproduce import machines_markdown

    cmp = paper_comparison(0.2, 0.5)
    rows = {r["name"]: r for r in cmp["machines"]}
    assert rows["this CPU (sustained in training)"]["seconds"] == pytest.approx(NIAZI_BATCH_UPDATES / 0.2e9)
    assert cmp["their_fpga_batch_s"] == pytest.approx(NIAZI_BATCH_UPDATES / 50e9)  # the preset's low end
    md = machines_markdown(cmp)
    assert "pbit-thrml-8xb200" in md and "ASSUMED" in md and "> 10 h on GPU" in md
