"""Apply the emulated number formats to a torch model: weights in place or on a copy, activations via hooks.

Any ``nn.Module`` works: every ``nn.Linear`` weight (blocks along the input
dimension, the matmul's reduction axis, as MX hardware does) and optionally
every ``nn.Embedding`` table is replaced by its quantise-dequantise image in
the chosen format. Shared (tied) parameters are quantised once. Activation
quantisation fake-quantises each Linear's input in a forward pre-hook.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from paradigmlab.costmodel.formats import quantize, sqnr_db


@dataclass
class QuantizedModule:
    """The quantised model, per-tensor SQNR of its weights, and activation hooks (if any)."""

    module: nn.Module
    fmt: str
    layers: list[dict] = field(default_factory=list)
    hooks: list = field(default_factory=list)

    def remove_hooks(self) -> None:
        """Stop quantising activations."""
        for h in self.hooks:
            h.remove()
        self.hooks.clear()

    @property
    def weight_sqnr_db(self) -> float:
        """SQNR over all quantised weights together (energy-weighted)."""
        signal = sum(r["signal"] for r in self.layers)
        noise = sum(r["noise"] for r in self.layers)
        return float("inf") if noise == 0 else 10.0 * float(np.log10(signal / noise))


def _fake_quant(t: torch.Tensor, fmt: str) -> torch.Tensor:
    q = quantize(t.detach().to(torch.float64).cpu().numpy(), fmt)
    return torch.from_numpy(q).to(dtype=t.dtype, device=t.device)


def quantize_module(
    module: nn.Module,
    fmt: str,
    inplace: bool = False,
    activations: bool = False,
    embeddings: bool = False,
) -> QuantizedModule:
    """Quantise the weights of ``module`` (a copy unless ``inplace``) to ``fmt``.

    ``activations=True`` also fake-quantises the input of every Linear on each
    forward pass. Returns the model with per-tensor SQNR records.
    """
    quantize(np.zeros(32), fmt)  # validate the format name before touching the model
    model = module if inplace else copy.deepcopy(module)
    out = QuantizedModule(model, fmt)
    seen: set[int] = set()
    kinds = (nn.Linear, nn.Embedding) if embeddings else (nn.Linear,)
    with torch.no_grad():
        for name, sub in model.named_modules():
            if not isinstance(sub, kinds) or id(sub.weight) in seen:
                continue
            seen.add(id(sub.weight))
            w = sub.weight.detach().to(torch.float64).cpu().numpy()
            q = quantize(w, fmt)
            sub.weight.copy_(torch.from_numpy(q).to(sub.weight.dtype))
            out.layers.append({
                "name": name, "shape": list(w.shape), "sqnr_db": sqnr_db(w, q),
                "signal": float(np.sum(w**2)), "noise": float(np.sum((w - q) ** 2)),
            })
    if activations:
        for sub in model.modules():
            if isinstance(sub, nn.Linear):
                out.hooks.append(sub.register_forward_pre_hook(lambda _m, args: (_fake_quant(args[0], fmt), *args[1:])))
    if not out.layers:
        raise ValueError("module has no nn.Linear (or nn.Embedding) weights to quantise")
    return out


def format_loss_table(
    model: nn.Module,
    evaluate: Callable[[nn.Module], float],
    formats: list[str],
    activations: bool = False,
) -> list[dict]:
    """Evaluation loss of ``model`` with its weights (and optionally activations) in each format.

    ``evaluate`` maps a model to a loss; the first row is the unquantised
    baseline. Each format works on a fresh copy, so ``model`` is untouched.
    """
    base = evaluate(model)
    rows = [{"format": "baseline", "loss": base, "delta": 0.0, "weight_sqnr_db": float("inf")}]
    for fmt in formats:
        q = quantize_module(model, fmt, activations=activations)
        loss = evaluate(q.module)
        q.remove_hooks()
        rows.append({"format": fmt, "loss": loss, "delta": loss - base, "weight_sqnr_db": q.weight_sqnr_db})
    return rows
