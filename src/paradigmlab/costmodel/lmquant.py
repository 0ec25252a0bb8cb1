"""Validation-loss change of a paradigmlab looped LM checkpoint per number format.

Loads a checkpoint written by :func:`paradigmlab.looped.train.train`, rebuilds
its validation split (corpus and tokenizer as it was trained), and evaluates
the model with its weights -- and optionally the inputs of every Linear --
quantised in each format (:mod:`paradigmlab.costmodel.torchquant`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from paradigmlab.costmodel.torchquant import format_loss_table

WEIGHT_FORMATS = ["fp8_e4m3", "fp8_e5m2", "mxfp8_e4m3", "mxfp6_e2m3", "mxfp4_e2m1", "nvfp4", "mxint8", "int8", "int4"]
ACT_FORMATS = ["fp8_e4m3", "mxfp8_e4m3", "mxfp6_e2m3", "mxfp4_e2m1", "nvfp4"]


def checkpoint_format_table(
    checkpoint: str | Path,
    corpus: str = "both",
    max_chars: int | None = None,
    eval_batches: int | None = None,
    weight_formats: list[str] | None = None,
    act_formats: list[str] | None = None,
) -> dict:
    """Validation loss (nats/token) of the checkpoint per format, weights only and weights + activations.

    ``corpus`` and ``max_chars`` must match the training run for the
    validation split to be the same one (the checkpoint records the
    tokenizer and seed, not the corpus).
    """
    import torch

    from paradigmlab.data.text import load_text_data
    from paradigmlab.looped.train import TrainConfig, evaluate, load_checkpoint

    model, state = load_checkpoint(checkpoint)
    tc_dict = dict(state["train_config"])
    if eval_batches is not None:
        tc_dict["eval_batches"] = eval_batches
    tc = TrainConfig(**tc_dict)
    data = load_text_data(corpus, state["tokenizer"], seed=tc.seed, max_chars=max_chars)
    block = model.config.block_size

    def ev(m: torch.nn.Module) -> float:
        return evaluate(m, data, tc, block, torch.device("cpu"), contextlib.nullcontext)

    n_params = sum(p.numel() for p in model.parameters())
    return {
        "model_config": model.config.to_dict(),
        "params": n_params,
        "steps": state["result"]["steps_done"],
        "val_curve": state["result"]["val_curve"],
        "eval": f"{tc.eval_batches} fixed batches of {tc.batch_size}x{block}",
        "weights": format_loss_table(model, ev, weight_formats or WEIGHT_FORMATS),
        "weights_and_activations": format_loss_table(model, ev, act_formats or ACT_FORMATS, activations=True),
    }
