"""``paradigmlab cost``: commands run, JSON parses, tensor files load, bad files fail clearly."""

import argparse
import json

import numpy as np
import pytest
import torch

from paradigmlab.costmodel import cli


def _run(argv):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_decode_json(capsys):
    assert _run(["cost", "decode", "--model", "llama-2-7b", "--hardware", "a100-80gb", "--batch", "1",
                 "--context", "100", "--json", "--calibrated"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["costs"]["totals"]["intensity"] == pytest.approx(1.0, abs=0.02)
    assert 0.5 < out["prediction"]["mbu"] < 0.8 and out["prediction"]["floor_s"] < out["prediction"]["seconds"]


def test_text_output_prints_floor_and_utilisation(capsys):
    _run(["cost", "prefill", "--model", "mixtral-8x7b", "--hardware", "h100-sxm", "--dtype", "fp8", "--context", "1024"])
    text = capsys.readouterr().out
    assert "physical floor" in text and "MBU" in text and "MFU" in text
    _run(["cost", "train", "--model", "looped-gpt2-k1r12", "--hardware", "a100-40gb", "--batch", "4"])
    assert "looped: 1 layers x 12 loops" in capsys.readouterr().out


def test_calibrated_needs_measurements_for_that_device():
    with pytest.raises(ValueError, match="no bundled measurements"):
        _run(["cost", "decode", "--model", "gpt2", "--hardware", "h100-sxm", "--calibrated"])


def test_formats_reads_npy_npz_pt(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "w.npy", rng.standard_normal((8, 64)).astype(np.float32))
    np.savez(tmp_path / "w.npz", a=rng.standard_normal((4, 32)), idx=np.arange(4))
    torch.save({"w": torch.randn(4, 32), "step": 3}, tmp_path / "w.pt")
    for name in ("w.npy", "w.npz", "w.pt"):
        assert _run(["cost", "formats", str(tmp_path / name), "--json", "--formats", "mxfp4_e2m1", "nvfp4"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert "idx" not in report  # integer arrays skipped
        rows = next(iter(report.values()))
        assert [r["format"] for r in rows] == ["mxfp4_e2m1", "nvfp4"] and rows[0]["sqnr_db"] > 10


def test_formats_bad_files(tmp_path):
    (tmp_path / "w.txt").write_text("1 2 3")
    with pytest.raises(ValueError, match="unsupported tensor file type"):
        _run(["cost", "formats", str(tmp_path / "w.txt")])
    (tmp_path / "bad.npy").write_bytes(b"not an npy file")
    with pytest.raises(ValueError, match="cannot read"):
        _run(["cost", "formats", str(tmp_path / "bad.npy")])
    np.save(tmp_path / "i.npy", np.arange(10))
    with pytest.raises(ValueError, match="no non-empty floating-point"):
        _run(["cost", "formats", str(tmp_path / "i.npy")])
    with pytest.raises(FileNotFoundError):
        _run(["cost", "formats", str(tmp_path / "missing.npy")])


def test_hardware_listing_and_pd(capsys, tmp_path):
    _run(["cost", "hardware"])
    out = capsys.readouterr().out
    assert "12.31 TOPS/W (macro level)" in out and "flips/ns" in out
    _run(["cost", "pd", "--model", "llama-3-8b", "--prefill-hardware", "h100-sxm", "--decode-hardware", "h200"])
    assert "TTFT" in capsys.readouterr().out
    _run(["cost", "roofline", "--models", "gpt2", "--out", str(tmp_path / "r.png")])
    assert (tmp_path / "r.png").exists()


def test_quantize_lm_on_a_looped_checkpoint(tmp_path, capsys):
    looped = pytest.importorskip("paradigmlab.looped")
    from paradigmlab.data.text import load_text_data
    from paradigmlab.looped.train import TrainConfig, train

    cfg = looped.LoopedConfig(block="gpt2", vocab_size=256, block_size=32, d_model=32, n_head=2, layers=1, loops=2)
    tc = TrainConfig(steps=3, batch_size=4, warmup_steps=1, eval_every=3, eval_batches=2, device="cpu",
                     out_dir=str(tmp_path), progress=False)
    res = train(cfg, tc, load_text_data("shakespeare", "bytes", max_chars=20_000))
    torch.set_flush_denormal(False)  # train() switches the FPU to flush-to-zero process-wide; leave it as found
    assert _run(["cost", "quantize-lm", str(tmp_path), "--corpus", "shakespeare", "--max-chars", "20000",
                 "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    rows = {r["format"]: r for r in table["weights"]}
    assert rows["baseline"]["loss"] == pytest.approx(res.val_curve[-1][1])  # same model, same validation batches
    assert abs(rows["mxint8"]["delta"]) < abs(rows["mxfp4_e2m1"]["delta"])
    assert [r["format"] for r in table["weights_and_activations"]][0] == "baseline"
