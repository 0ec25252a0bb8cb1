"""Mixture-of-experts arithmetic: FLOPs follow top-k, bytes follow distinct experts.

With ``T`` tokens each routed to ``k`` of ``E`` experts uniformly at random,
an expert is untouched with probability ``(1 - k/E)^T``, so the expected
number of distinct experts whose weights must be read is
``E * (1 - (1 - k/E)^T)``. FLOPs stay at ``k/E`` of a dense layer with all
experts, while bytes climb towards all ``E`` experts as ``T`` grows: MoE cuts
compute, not (at moderate batch) memory traffic.
"""

from __future__ import annotations


def expected_distinct_experts(n_experts: int, top_k: int, n_tokens: int) -> float:
    """Expected number of distinct experts hit by ``n_tokens`` tokens routing to ``top_k`` of ``n_experts``.

    Assumes uniform, independent routing (the best case for balance; real
    routers are skewed, which lowers the count).
    """
    if n_experts < 1 or not 1 <= top_k <= n_experts:
        raise ValueError(f"need 1 <= top_k <= n_experts, got top_k={top_k}, n_experts={n_experts}")
    if n_tokens < 0:
        raise ValueError(f"n_tokens must be >= 0, got {n_tokens}")
    return n_experts * (1.0 - (1.0 - top_k / n_experts) ** n_tokens)


def ffn_compute_fraction(n_experts: int, top_k: int) -> float:
    """Fraction of an all-experts FFN's FLOPs that top-k routing spends: ``k/E``."""
    if n_experts < 1 or not 1 <= top_k <= n_experts:
        raise ValueError(f"need 1 <= top_k <= n_experts, got top_k={top_k}, n_experts={n_experts}")
    return top_k / n_experts
