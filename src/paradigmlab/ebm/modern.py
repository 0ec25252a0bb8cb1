"""The modern (continuous) Hopfield network of Ramsauer et al. 2021, "Hopfield Networks is All You Need".

Energy ``E(xi) = -lse(beta, X^T xi) + 1/2 xi^T xi + const`` over stored patterns ``X`` (columns); its
update rule ``xi <- X softmax(beta X^T xi)`` is attention, converges in one step when the patterns are
well separated, and stores exponentially many patterns in the dimension.

:func:`retrieve` is that update on tensors; :class:`ModernHopfield` is the layer as a torch ``nn.Module``
in the shape of ``hopfield-layers``' ``Hopfield`` (that library is not on PyPI): stored patterns ``Y``,
state patterns ``R``, ``softmax(beta (R W_q)(Y W_k)^T) (Y W_v)``. Its ``static=True`` default has no
learned projections (``W_q = W_k = W_v = I``), which is pure retrieval: hopfield-layers' issue #12 is users
finding retrieval "does not work" with the learned projections switched on, which turn the layer into
attention to be trained, not a memory.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from paradigmlab.validate import InputError, integer, number


def retrieve(patterns: torch.Tensor, queries: torch.Tensor, beta: float = 1.0, steps: int = 1) -> torch.Tensor:
    """``steps`` updates ``xi <- softmax(beta xi X^T) X`` of each query (rows of ``queries``, ... x d) against
    the stored ``patterns`` (P x d or batched ... x P x d). Returns the retrieved states (same shape as queries)."""
    beta = number(beta, "beta", positive=True)
    steps = integer(steps, "steps", min=1)
    if patterns.shape[-1] != queries.shape[-1]:
        raise InputError(f"patterns and queries must have the same width, got {patterns.shape[-1]} and "
                         f"{queries.shape[-1]}")
    xi = queries
    for _ in range(steps):
        xi = torch.softmax(beta * xi @ patterns.transpose(-1, -2), dim=-1) @ patterns
    return xi


def energy(patterns: torch.Tensor, states: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    """Ramsauer et al.'s energy ``-lse(beta, X^T xi) + 1/2 |xi|^2 + log(P) / beta + M^2 / 2`` (M the largest
    pattern norm) of each state: non-negative, and lowered by every :func:`retrieve` step (their Theorem 1)."""
    beta = number(beta, "beta", positive=True)
    P = patterns.shape[-2]
    M = patterns.norm(dim=-1).max()
    lse = torch.logsumexp(beta * states @ patterns.transpose(-1, -2), dim=-1) / beta
    return -lse + 0.5 * (states * states).sum(-1) + math.log(P) / beta + 0.5 * M * M


class ModernHopfield(nn.Module):
    """A modern Hopfield layer: ``forward(stored, state)`` retrieves, for every state pattern, from the stored ones.

    ``input_size``: width of stored and state patterns. ``beta``: inverse temperature (default
    ``1 / sqrt(hidden_size)``, attention's scaling). ``update_steps``: retrieval iterations. ``static=True``
    (default): no projections, pure retrieval (``hidden_size`` must then equal ``input_size``);
    ``static=False``: learned ``W_q``, ``W_k`` (``input_size -> hidden_size``), ``W_v`` and an output
    projection, as hopfield-layers' default (iterations then run in the projected space).
    Shapes: ``stored`` (B, P, d) or (P, d), ``state`` (B, S, d) or (S, d); returns (B, S, d) or (S, d).
    """

    def __init__(self, input_size: int, hidden_size: int | None = None, beta: float | None = None,
                 update_steps: int = 1, static: bool = True, bias: bool = False):
        super().__init__()
        self.input_size = integer(input_size, "input_size", min=1)
        self.hidden_size = integer(hidden_size if hidden_size is not None else input_size, "hidden_size", min=1)
        if static and self.hidden_size != self.input_size:
            raise InputError(f"a static layer has no projections: hidden_size must equal input_size "
                             f"({self.input_size}), got {self.hidden_size}")
        self.beta = (1.0 / math.sqrt(self.hidden_size)) if beta is None else number(beta, "beta", positive=True)
        self.update_steps = integer(update_steps, "update_steps", min=1)
        self.static = bool(static)
        if not self.static:
            self.q_proj = nn.Linear(self.input_size, self.hidden_size, bias=bias)
            self.k_proj = nn.Linear(self.input_size, self.hidden_size, bias=bias)
            self.v_proj = nn.Linear(self.input_size, self.hidden_size, bias=bias)
            self.out_proj = nn.Linear(self.hidden_size, self.input_size, bias=bias)

    def extra_repr(self) -> str:
        return (f"input_size={self.input_size}, hidden_size={self.hidden_size}, beta={self.beta:g}, "
                f"update_steps={self.update_steps}, static={self.static}")

    def forward(self, stored: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        for name, t in (("stored", stored), ("state", state)):
            if t.dim() not in (2, 3) or t.shape[-1] != self.input_size:
                raise InputError(f"{name} must have shape (P, {self.input_size}) or (B, P, {self.input_size}), "
                                 f"got {tuple(t.shape)}")
        if self.static:
            return retrieve(stored, state, self.beta, self.update_steps)
        keys, values = self.k_proj(stored), self.v_proj(stored)
        xi = self.q_proj(state)
        for _ in range(self.update_steps - 1):  # iterate the association in the key space
            xi = torch.softmax(self.beta * xi @ keys.transpose(-1, -2), dim=-1) @ keys
        return self.out_proj(torch.softmax(self.beta * xi @ keys.transpose(-1, -2), dim=-1) @ values)
