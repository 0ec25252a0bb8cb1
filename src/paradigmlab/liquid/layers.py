"""Sequence layers over the liquid cells, used like ``torch.nn.GRU``.

:class:`LiquidRNN` runs a stack of :class:`~paradigmlab.liquid.cells.LTCCell` or
:class:`~paradigmlab.liquid.cells.CfCCell` over a sequence. Irregular sampling is given as ``timespans``, the
elapsed time before each step, *per sample and per step*: each sample's state advances by its own elapsed time
(ncps issues #81/#82 are the bug where a ``(batch,)`` vector broadcast over the hidden units instead).
:class:`LTC` and :class:`CfC` are the two layers by name, with ncps's argument names.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from paradigmlab.liquid.cells import CfCCell, LTCCell, check_state
from paradigmlab.validate import InputError, integer, number

CELLS = {"ltc": LTCCell, "cfc": CfCCell}


class LiquidRNN(nn.Module):
    """A stack of ``num_layers`` liquid cells over a sequence.

    ``forward(input, hx=None, timespans=None)`` takes ``input`` of shape ``(B, T, F)`` (``batch_first``, the
    default, as in ncps), ``(T, B, F)`` otherwise, or ``(T, F)`` unbatched; ``timespans`` is ``None`` (every
    step lasts 1), a number, or a tensor ``(B, T)`` / ``(T, B)`` (a trailing axis of 1 is accepted).
    It returns ``(output, h_n)``: ``output`` holds every step of the last layer, ``(B, T, H)``, or only the
    last step ``(B, H)`` when ``return_sequences=False`` (projected to ``proj_size`` if given); ``h_n`` is the
    last state of every layer, ``(num_layers, B, H)`` like ``nn.GRU``, or the pair ``(h_n, c_n)`` for a
    mixed-memory CfC like ``nn.LSTM``. ``hx`` takes the same form as ``h_n``.
    ``fast=True`` runs each cell's fused sequence path (:meth:`LTCCell.integrate_sequence`,
    :meth:`CfCCell.forward_sequence`): the same maths with the per-step work hoisted out of the time loop;
    ``fast=False`` is the reference loop, one cell call per step.
    ``cell_kwargs`` go to every cell (``solver``, ``unfolds`` for LTC; ``mode``, ``mixed_memory``,
    ``backbone_units``... for CfC).
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int = 1, *,
                 batch_first: bool = True, return_sequences: bool = True, proj_size: int | None = None,
                 fast: bool = True, **cell_kwargs) -> None:
        super().__init__()
        if cell not in CELLS:
            raise InputError(f"cell must be one of {tuple(CELLS)}, got {cell!r}")
        for name, flag in (("batch_first", batch_first), ("return_sequences", return_sequences),
                           ("fast", fast)):
            if not isinstance(flag, bool):
                raise InputError(f"{name} must be True or False, got {flag!r}")
        self.fast = fast
        self.cell_type = cell
        self.input_size = integer(input_size, "input_size", min=1)
        self.hidden_size = integer(hidden_size, "hidden_size", min=1)
        self.num_layers = integer(num_layers, "num_layers", min=1)
        self.batch_first, self.return_sequences = batch_first, return_sequences
        self.cells = nn.ModuleList(
            CELLS[cell](self.input_size if i == 0 else self.hidden_size, self.hidden_size, **cell_kwargs)
            for i in range(self.num_layers))
        self.mixed_memory = bool(getattr(self.cells[0], "mixed_memory", False))
        self.proj = None if proj_size is None else nn.Linear(self.hidden_size, integer(proj_size, "proj_size", min=1))

    def forward(self, input: torch.Tensor, hx=None, timespans=None):
        if not isinstance(input, torch.Tensor) or input.dim() not in (2, 3):
            shape = tuple(input.shape) if isinstance(input, torch.Tensor) else type(input).__name__
            raise InputError(f"input must be a 3-D tensor (batch, time, features) or 2-D (time, features), got {shape}")
        batched = input.dim() == 3
        x = input if not batched or self.batch_first else input.transpose(0, 1)
        if not batched:
            x = x.unsqueeze(0)
        B, T, nf = x.shape
        if T == 0:
            raise InputError("input must have at least one time step")
        # one finiteness / shape check for the whole sequence; the cells then run unchecked
        check_state(x.reshape(B * T, nf), "input", self.input_size, "input_size")
        ts = self._timespans(timespans, B, T, batched, x)
        states = self._initial_states(hx, B, batched, x)

        seq, last = x, []
        for layer, cell in enumerate(self.cells):
            if self.cell_type == "ltc":
                seq = cell.integrate_sequence(states[layer], seq, ts, fast=self.fast)
                last.append(seq[:, -1])
            else:
                seq, state = cell.forward_sequence(seq, states[layer], ts, fast=self.fast)
                last.append(state)

        out = seq if self.return_sequences else seq[:, -1]
        if self.proj is not None:
            out = self.proj(out)
        if self.mixed_memory:
            h_n = (torch.stack([s[0] for s in last]), torch.stack([s[1] for s in last]))
        else:
            h_n = torch.stack(last)
        if not batched:
            out = out.squeeze(0)
            h_n = tuple(h.squeeze(1) for h in h_n) if self.mixed_memory else h_n.squeeze(1)
        elif self.return_sequences and not self.batch_first:
            out = out.transpose(0, 1)
        return out, h_n

    def _timespans(self, timespans, B, T, batched, like):
        """``timespans`` as a number or a checked ``(B, T)`` tensor in the batch-first layout."""
        if timespans is None:
            return 1.0
        if not isinstance(timespans, torch.Tensor):
            return number(timespans, "timespans", min=0.0)
        ts = timespans
        if ts.dim() >= 1 and ts.shape[-1] == 1 and ts.dim() == (3 if batched else 2):
            ts = ts.squeeze(-1)  # (B, T, 1) as ncps's examples pass it
        want = (B, T) if self.batch_first or not batched else (T, B)
        if not batched:
            want = (T,)
        if tuple(ts.shape) != want:
            raise InputError(f"timespans must have shape {want} (one elapsed time per sample and step), "
                             f"got {tuple(timespans.shape)}")
        if not bool(torch.isfinite(ts).all()):
            raise InputError("timespans must be finite (it holds nan or inf)")
        if bool((ts < 0).any()):
            raise InputError(f"timespans must be >= 0 (elapsed times), got {float(ts.min())}")
        ts = ts.reshape(1, T) if not batched else (ts if self.batch_first else ts.transpose(0, 1))
        return ts.to(dtype=like.dtype, device=like.device)

    def _initial_states(self, hx, B, batched, like):
        """Per-layer states from ``hx`` (checked), or zeros."""
        L, H = self.num_layers, self.hidden_size
        if hx is None:
            z = like.new_zeros(B, H)
            return [(z, z) if self.mixed_memory else z for _ in range(L)]
        parts = hx if self.mixed_memory else (hx,)
        if self.mixed_memory and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise InputError("hx must be a pair (h_0, c_0) for a mixed-memory CfC")
        checked = []
        for name, h in zip(("hx", "hx[1]") if self.mixed_memory else ("hx",), parts):
            if not isinstance(h, torch.Tensor):
                raise InputError(f"{name} must be a torch.Tensor, got {type(h).__name__}")
            h = h if batched else h.unsqueeze(1)
            if tuple(h.shape) != (L, B, H):
                raise InputError(f"{name} must have shape {(L, B, H) if batched else (L, H)} "
                                 f"(num_layers, batch, hidden_size), got {tuple(h.shape)}")
            if not bool(torch.isfinite(h).all()):
                raise InputError(f"{name} must be finite (it holds nan or inf)")
            checked.append(h.to(dtype=like.dtype))
        if self.mixed_memory:
            return [(checked[0][i], checked[1][i]) for i in range(L)]
        return [checked[0][i] for i in range(L)]


class LTC(LiquidRNN):
    """Liquid time-constant network over sequences: :class:`LiquidRNN` of :class:`LTCCell` (eq. 1)."""

    def __init__(self, input_size: int, units: int, num_layers: int = 1, **kwargs) -> None:
        super().__init__("ltc", input_size, units, num_layers, **kwargs)


class CfC(LiquidRNN):
    """Closed-form continuous-time network over sequences: :class:`LiquidRNN` of :class:`CfCCell`."""

    def __init__(self, input_size: int, units: int, num_layers: int = 1, **kwargs) -> None:
        super().__init__("cfc", input_size, units, num_layers, **kwargs)


__all__ = ["CELLS", "CfC", "LTC", "LiquidRNN"]
