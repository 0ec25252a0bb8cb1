"""Sequence models for the liquid tasks: one recurrent or state-space core and a linear read-out.

Every model maps a batch ``(x, timespans, mask)`` -- inputs ``(B, T, F)``, elapsed time before each step
``(B, T)``, valid steps ``(B, T)`` -- to predictions: class logits ``(B, C)`` read at each sample's last
valid step (classification), or one output per step ``(B, T, O)`` (regression). Cores:

* ``ltc`` -- :class:`~paradigmlab.liquid.layers.LTC` (eq. 1, fused solver), elapsed times as ``timespans``;
* ``cfc``, ``cfc-mm``, ``cfc-nogate``, ``cfc-pure`` -- :class:`~paradigmlab.liquid.layers.CfC` modes, mixed memory;
* ``s4d``, ``liquid-s4`` -- a stack of :class:`~paradigmlab.liquid.s4.S4DLayer` / ``LiquidS4Layer`` blocks
  (pre-norm residual blocks with GELU, as in the S4D code), from an input encoder of width ``units``;
* ``gru``, ``lstm`` -- ``torch.nn.GRU`` / ``LSTM``;
* ``transformer`` -- a small causal Transformer of the GPT-2 blocks of :mod:`paradigmlab.looped.model` over a
  linear input embedding and learned positions (the KV-cache baseline of the memory comparison);
* ``ncps-ltc``, ``ncps-cfc``, ``ncps-cfc-mm`` -- the ncps library's layers, for the side-by-side comparison (bench extra).

On an irregularly sampled task every model receives the elapsed time as one more input feature (the
"augmented" baselines of Lechner & Hasani 2020); the time-aware cores (:data:`TIME_AWARE`) in addition advance
their state by it. ``ModelSpec(time_feature=False)`` withholds the feature from the time-aware cores, to
measure what their continuous-time dynamics alone do with the gaps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn

from paradigmlab.liquid.layers import CfC, LTC
from paradigmlab.liquid.s4 import LiquidS4Layer, S4DLayer
from paradigmlab.liquid.tasks import last_valid
from paradigmlab.validate import InputError, integer

CORES = ("ltc", "cfc", "cfc-mm", "cfc-nogate", "cfc-pure", "s4d", "liquid-s4", "gru", "lstm", "transformer",
         "ncps-ltc", "ncps-cfc", "ncps-cfc-mm")
#: Cores that take per-sample elapsed times. ncps 1.0.1's layers are not among them: they squeeze a (B, T, 1)
#: timespans to a (B,) vector per step, which broadcasts over the hidden units (ncps issues #81/#82) -- an
#: error when batch != units and silently wrong when they are equal -- so they get the time as a feature.
TIME_AWARE = ("ltc", "cfc", "cfc-mm", "cfc-nogate", "cfc-pure")


@dataclass(frozen=True)
class ModelSpec:
    """What to build: the core, its width and the task's sizes. JSON-ready (``to_dict`` / ``from_dict``)."""

    core: str
    input_size: int
    output_size: int
    units: int = 32
    kind: str = "classification"  # or "regression"
    irregular: bool = False  # the task has per-step elapsed times
    time_feature: bool = True  # irregular tasks: append the elapsed time to the input (time-aware cores also
    #                            integrate over it); False: time-aware cores see it only as their elapsed time
    layers: int = 1
    unfolds: int = 6  # LTC solver sub-steps
    backbone_units: int = 64  # CfC backbone
    backbone_activation: str = "lecun_tanh"  # CfC backbone (the CfC paper's XOR runs use relu)
    d_state: int = 64  # S4 state size
    n_head: int = 4  # Transformer heads
    max_len: int = 64  # Transformer learned positions (longest sequence it takes)
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.core not in CORES:
            raise InputError(f"model must be one of {CORES}, got {self.core!r}")
        if self.kind not in ("classification", "regression"):
            raise InputError(f"kind must be 'classification' or 'regression', got {self.kind!r}")
        for name in ("input_size", "output_size", "units", "layers", "unfolds", "backbone_units", "d_state",
                     "n_head", "max_len"):
            integer(getattr(self, name), name, min=1)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelSpec":
        if not isinstance(d, dict):
            raise InputError(f"a model spec must be a dict, got {type(d).__name__}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"unknown model spec fields {unknown}")
        return cls(**d)


class S4Stack(nn.Module):
    """``layers`` pre-norm residual blocks ``x + dropout(gelu(s4(norm(x))))`` over an input encoder."""

    def __init__(self, input_size: int, units: int, layers: int, d_state: int, liquid: bool, dropout: float) -> None:
        super().__init__()
        self.encoder = nn.Linear(input_size, units)
        make = (lambda: LiquidS4Layer(units, d_state)) if liquid else (lambda: S4DLayer(units, d_state))
        self.blocks = nn.ModuleList(make() for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(units) for _ in range(layers))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        for norm, block in zip(self.norms, self.blocks):
            h = h + self.drop(nn.functional.gelu(block(norm(h))))
        return h


class CausalTransformer(nn.Module):
    """``layers`` GPT-2 blocks (looped.model.Block, causal attention) over ``Linear(F, units)`` + learned positions."""

    def __init__(self, input_size: int, units: int, layers: int, n_head: int, dropout: float, max_len: int) -> None:
        super().__init__()
        from paradigmlab.looped.model import Block, KVCache, LoopedConfig

        if units % n_head:
            raise InputError(f"units ({units}) must be a multiple of n_head ({n_head}) for a Transformer")
        self.max_len = max_len
        cfg = LoopedConfig(block="gpt2", vocab_size=1, block_size=max_len, d_model=units, n_head=n_head,
                           layers=layers, dropout=dropout)
        self.config, self.new_cache = cfg, KVCache
        self.encoder = nn.Linear(input_size, units)
        self.pos = nn.Embedding(max_len, units)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(layers))
        self.norm = nn.LayerNorm(units)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T = x.shape[1]
        if T > self.max_len:
            raise InputError(f"the Transformer core takes at most max_len={self.max_len} steps, got {T}")
        h = self.encoder(x) + self.pos(torch.arange(T, device=x.device))
        kv = self.new_cache(persistent=False)
        for i, block in enumerate(self.blocks):
            h = block(h, None, kv, i, False)
        return self.norm(h)


class SequenceModel(nn.Module):
    """A core from :data:`CORES` and a linear head; ``forward(x, timespans=None, mask=None)``."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        c, u = spec.core, spec.units
        feed_time = spec.irregular and (spec.time_feature or c not in TIME_AWARE)
        self.feed_time = feed_time
        n_in = spec.input_size + (1 if feed_time else 0)
        if c == "ltc":
            self.core = LTC(n_in, u, spec.layers, unfolds=spec.unfolds)
        elif c.startswith("cfc"):
            mode = {"cfc": "default", "cfc-mm": "default", "cfc-nogate": "no_gate", "cfc-pure": "pure"}[c]
            self.core = CfC(n_in, u, spec.layers, mode=mode, mixed_memory=c == "cfc-mm",
                            backbone_units=spec.backbone_units, backbone_dropout=spec.dropout,
                            activation=spec.backbone_activation)
        elif c in ("s4d", "liquid-s4"):
            self.core = S4Stack(n_in, u, spec.layers, spec.d_state, c == "liquid-s4", spec.dropout)
        elif c == "transformer":
            self.core = CausalTransformer(n_in, u, spec.layers, spec.n_head, spec.dropout, spec.max_len)
        elif c in ("gru", "lstm"):
            cls = nn.GRU if c == "gru" else nn.LSTM
            self.core = cls(n_in, u, spec.layers, batch_first=True, dropout=spec.dropout if spec.layers > 1 else 0.0)
        else:
            self.core = _ncps_core(c, n_in, u, spec)
        self.head = nn.Linear(u, spec.output_size)

    def features(self, x: torch.Tensor, timespans: torch.Tensor | None) -> torch.Tensor:
        """The core's output at every step, ``(B, T, units)``."""
        c = self.spec.core
        if self.feed_time:
            ts = timespans if timespans is not None else x.new_ones(x.shape[:2])
            x = torch.cat([x, ts.unsqueeze(-1).to(x.dtype)], dim=-1)
        if c in ("s4d", "liquid-s4", "transformer"):
            return self.core(x)
        if c in ("gru", "lstm"):
            return self.core(x)[0]
        if c.startswith("ncps"):
            return self.core(x)[0]
        return self.core(x, timespans=timespans)[0]

    def forward(self, x: torch.Tensor, timespans: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x, timespans)
        if self.spec.kind == "regression":
            return self.head(h)
        return self.head(last_valid(h, mask))


def _ncps_core(core: str, n_in: int, units: int, spec: ModelSpec) -> nn.Module:
    try:
        import ncps.torch as ncps_torch
        from ncps.wirings import FullyConnected
    except ImportError:
        raise InputError(f"model {core!r} needs the ncps library: `make bench` installs it "
                         "(pip install ncps==1.0.1)") from None
    if core == "ncps-ltc":
        # the same fully connected neurons as our LTC, read out unprojected (the head is ours)
        return ncps_torch.LTC(n_in, FullyConnected(units), ode_unfolds=spec.unfolds, batch_first=True)
    mixed = spec.core == "ncps-cfc-mm"
    return ncps_torch.CfC(n_in, units, batch_first=True, mixed_memory=mixed, backbone_units=spec.backbone_units,
                          backbone_layers=1, backbone_dropout=spec.dropout)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["CORES", "TIME_AWARE", "CausalTransformer", "ModelSpec", "S4Stack", "SequenceModel", "count_parameters"]
