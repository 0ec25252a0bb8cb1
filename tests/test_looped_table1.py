"""Table 1 driver: every row and seed trained, costs exact, ordering verdict, Markdown + PNG written."""

from __future__ import annotations

import json
import math

import pytest
import torch

from paradigmlab.looped.table1 import PAPER_ROWS, SCALES, ordering_verdict, run_table1
from paradigmlab.trainer import torch_threads


@pytest.fixture(autouse=True)
def _one_thread():
    with torch_threads(1):  # tiny tensors: fastest, and immune to a busy machine's oversubscription
        yield


def _row(label: str, mean: float, std: float, n: int = 3) -> dict:
    return {"label": label, "best_val_mean": mean, "best_val_std": std, "n_seeds": n}


def test_ordering_verdict_statistics():
    rows = [_row("6x6", 3.30, 0.03), _row("12x1", 3.35, 0.03), _row("3x12", 3.36, 0.03),
            _row("2x18", 3.45, 0.03), _row("1x12", 3.40, 0.03)]
    v = {x["relation"]: x for x in ordering_verdict(rows)}
    se = math.sqrt(2 * 0.03**2 / 3)
    assert v["6x6 <= 12x1"]["holds"] and v["6x6 <= 12x1"]["z"] == pytest.approx(0.05 / se)
    assert v["12x1 ~ 3x12"]["holds"]
    assert v["3x12 < 2x18"]["holds"] and v["3x12 < 2x18"]["p_right_worse"] > 0.99
    assert not v["2x18 < 1x12"]["holds"] and v["2x18 < 1x12"]["p_right_worse"] < 0.05
    rows[2] = _row("3x12", 3.50, 0.03)  # far from 12x1: "~" fails
    assert not {x["relation"]: x for x in ordering_verdict(rows)}["12x1 ~ 3x12"]["holds"]


def test_table1_tiny_scale_end_to_end(tmp_path):
    result = run_table1("tiny", tmp_path, progress=False)
    rows = {r["label"]: r for r in result["rows"]}
    assert list(rows) == [r.label for r in PAPER_ROWS]
    tiny = SCALES["tiny"]
    assert all(r["n_seeds"] == len(tiny.seeds) and r["tokens"] == tiny.steps * tiny.batch_size * tiny.block_size
               for r in rows.values())
    assert rows["1x12"]["train_flops_per_token"] == rows["12x1"]["train_flops_per_token"]
    assert rows["2x18"]["effective_depth"] == 36 and rows["qwen3 1x6"]["effective_depth"] == 6
    assert rows["1x12"]["unique_params"] < rows["2x18"]["unique_params"] < rows["12x1"]["unique_params"]
    assert all(0 < r["best_val_mean"] < 6 and r["best_val_std"] >= 0 for r in rows.values())
    assert len(result["ordering"]) == 4 and len(result["runs"]) == 6 * len(tiny.seeds)
    md = (tmp_path / "table1.md").read_text()
    assert "| gpt2 | 2x18 |" in md and "Paper ordering" in md and "intensity reuse" in md
    assert (tmp_path / "table1_loss.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "table1.json").read_text())["rows"][0]["label"] == "12x1"
    # A second call finds every run finished in its checkpoint and trains nothing new.
    again = run_table1("tiny", tmp_path, progress=False)
    assert [r["best_val_loss"] for r in again["runs"]] == [r["best_val_loss"] for r in result["runs"]]


def test_bad_scale_raises(tmp_path):
    with pytest.raises(ValueError, match="scale"):
        run_table1("huge", tmp_path)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            run_table1("gpu", tmp_path)
