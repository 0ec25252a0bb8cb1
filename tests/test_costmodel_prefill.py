"""Prefill calibration of the roofline against published time-to-first-token measurements."""

import json
import math

import pytest

from paradigmlab.costmodel.experiments import calibration_for, step_cost
from paradigmlab.costmodel.hardware import load_hardware
from paradigmlab.costmodel.roofline import Calibration, fit_calibration, predict
from paradigmlab.costmodel.transformer import decoder_costs, load_model
from paradigmlab.costmodel.validation import (
    PREFILL_FREE, PREFILL_TABLE_PATH, TOLERANCE, load_prefill_points, prefill_calibration, prefill_markdown,
    validate, validate_prefill,
)
from paradigmlab.validate import InputError


@pytest.fixture(scope="module")
def result():
    return validate_prefill()


def test_fit_recovers_known_prefill_calibration():
    # Short prompts are memory-bound, long ones compute-bound, and the models differ in kernel count: together
    # they pin down all three parameters.
    hw = load_hardware("h100-sxm")
    truth = Calibration(bw_efficiency=0.7, compute_efficiency=0.55, kernel_overhead_s=12e-6)
    pts = []
    for name, batch, prompt, tp in [("llama-2-7b", 1, 8, 1), ("llama-2-7b", 1, 2048, 1), ("llama-2-7b", 16, 512, 1),
                                    ("llama-2-70b", 1, 16, 4), ("llama-2-70b", 4, 2048, 4), ("gpt2", 1, 32, 1),
                                    ("gpt2", 64, 1024, 1), ("llama-2-13b", 1, 4, 1)]:
        c = decoder_costs(load_model(name), "prefill", batch, prompt, "bf16", tp=tp)
        pts.append((c, predict(c, hw, truth).seconds))
    fit = fit_calibration(pts, hw, free=PREFILL_FREE)
    assert fit.bw_efficiency == pytest.approx(0.7, rel=1e-3)
    assert fit.compute_efficiency == pytest.approx(0.55, rel=1e-3)
    assert fit.kernel_overhead_s == pytest.approx(12e-6, rel=1e-3)


def test_prefill_validation_spans_two_devices_and_is_honest(result):
    devices = {d["hardware"]: d for d in result["devices"]}
    assert {"a100-80gb", "h100-sxm"} <= set(devices)
    for dev in devices.values():
        rows = dev["rows"]
        assert len(rows) >= 6 and len(dev["models"]) >= 2
        assert len({r["prompt"] for r in rows}) >= 2 and len({r["batch"] for r in rows}) >= 2
        for r in rows:
            assert r["ideal_err"] < 0, r["label"]  # the physical floor is always faster than reality
            assert math.isfinite(r["loo_err"]) and math.isfinite(r["held_out_model_err"])
            if r["tokens"] >= 2048:  # compute-bound steps: the regime the calibration is for
                assert abs(r["calibrated_err"]) <= TOLERANCE, r["label"]
        cal = dev["calibration"]
        assert 0 < cal.compute_efficiency < 1 and cal.kernel_overhead_s > 0


def test_held_out_errors_are_predictions_of_fits_that_never_saw_the_point(result):
    points = [p for p in load_prefill_points() if p.hardware.name == "a100-80gb"]
    dev = next(d for d in result["devices"] if d["hardware"] == "a100-80gb")
    i = next(k for k, p in enumerate(points) if p.model == "llama-2-13b")
    hw, p, row = points[i].hardware, points[i], dev["rows"][i]
    assert row["label"] == p.label
    rest = [(q.costs, q.measured_s) for q in points[:i] + points[i + 1:]]
    loo = predict(p.costs, hw, fit_calibration(rest, hw, PREFILL_FREE)).seconds
    assert row["loo_err"] == pytest.approx(loo / p.measured_s - 1)
    other_models = [(q.costs, q.measured_s) for q in points if q.model != p.model]
    held = predict(p.costs, hw, fit_calibration(other_models, hw, PREFILL_FREE)).seconds
    assert row["held_out_model_err"] == pytest.approx(held / p.measured_s - 1)
    # Refitting without the point moves the prediction: the held-out columns are not the in-sample one.
    assert row["loo_err"] != pytest.approx(row["calibrated_err"], abs=1e-4)


def test_committed_prefill_table_is_current(result):
    assert PREFILL_TABLE_PATH.read_text() == prefill_markdown(result), \
        "stale table: run python -m paradigmlab.costmodel.validation --write"


def test_prefill_calibration_is_the_per_device_fit_and_feeds_calibration_for(result):
    for dev in result["devices"]:
        hw = load_hardware(dev["hardware"])
        assert prefill_calibration(dev["hardware"]) == dev["calibration"] == prefill_calibration(hw)
        assert calibration_for(hw, calibrated=True, phase="prefill") == dev["calibration"]
    a100 = load_hardware("a100-80gb")
    # Decode (and the old call without a phase) keeps the gpt-fast decode calibration.
    assert calibration_for(a100, True) == calibration_for(a100, True, phase="decode") == validate()["calibration"]
    res = step_cost("llama-2-7b", "a100-80gb", "prefill", 1, 2048, "fp16", calibrated=True)
    assert res.prediction.calibration == prefill_calibration("a100-80gb")
    with pytest.raises(ValueError, match="phase must be one of"):
        calibration_for(a100, True, phase="generate")


def test_device_without_prefill_data_raises_a_clear_error():
    with pytest.raises(InputError, match=r"no bundled prefill measurements for hardware 'h200'.*h100-sxm has the same"):
        prefill_calibration("h200")
    with pytest.raises(InputError, match="no bundled prefill measurements for hardware 'mi300x'") as info:
        prefill_calibration("mi300x")
    assert "same compute peaks" not in str(info.value)
    with pytest.raises(InputError, match="no bundled prefill measurements"):
        step_cost("llama-2-7b", "h200", "prefill", 1, 2048, calibrated=True)


def test_bad_measurement_files_name_the_point(tmp_path):
    good = {"label": "x", "model": "llama-2-7b", "hardware": "a100-80gb", "weight_dtype": "fp16", "tp": 1,
            "batch": 1, "prompt": 128, "measured_ms": 16}
    for bad, message in [({"batch": 0}, "point 0: batch must be >= 1"),
                         ({"measured_ms": -3}, "point 0: measured_ms must be > 0"),
                         ({"prompt": 12.5}, "point 0: prompt must be an integer")]:
        path = tmp_path / "m.json"
        path.write_text(json.dumps({"points": [{**good, **bad}]}))
        with pytest.raises(InputError, match=message):
            load_prefill_points([str(path)])
    missing = dict(good)
    del missing["measured_ms"]
    (tmp_path / "m.json").write_text(json.dumps({"points": [missing]}))
    with pytest.raises(InputError, match=r"missing \['measured_ms'\]"):
        load_prefill_points([str(tmp_path / "m.json")])
    (tmp_path / "m.json").write_text(json.dumps({"points": []}))
    with pytest.raises(InputError, match="non-empty 'points'"):
        load_prefill_points([str(tmp_path / "m.json")])
