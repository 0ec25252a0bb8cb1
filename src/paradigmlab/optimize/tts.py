"""Time to solution: how long to run to hit a target with 99% confidence.

With independent runs of length ``t_run`` that each succeed with probability
``p``, ``R = ln(1 - 0.99) / ln(1 - p)`` runs reach the target with probability
0.99, so ``TTS(99%) = t_run * ln(0.01) / ln(1 - p)`` (``t_run`` itself when
``p = 1``, infinite when ``p = 0``). From the hit times of repeated runs with
a budget, every ``t_run`` up to the budget has an estimated ``p(t_run)``,
and the best TTS is the minimum over them.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np


def tts(t_run: float, p_success: float, confidence: float = 0.99) -> float:
    """``t_run * ln(1 - confidence) / ln(1 - p_success)``; ``t_run`` if ``p = 1``, ``inf`` if ``p = 0``."""
    if not 0 <= p_success <= 1:
        raise ValueError(f"p_success must be in [0, 1], got {p_success}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if t_run < 0:
        raise ValueError(f"t_run must be >= 0, got {t_run}")
    if p_success == 0:
        return math.inf
    if p_success >= confidence:
        return float(t_run)  # one run already succeeds often enough
    return float(t_run) * math.log(1 - confidence) / math.log(1 - p_success)


def tts_from_hit_times(hit_times: Sequence[float | None], budget: float, confidence: float = 0.99) -> dict:
    """Best TTS over run lengths ``t_run <= budget`` from per-run hit times (``None`` = missed).

    Candidate run lengths are the observed hit times and the budget; for
    each, ``p`` is the fraction of runs that hit by then. Returns
    ``{"tts", "t_run", "p_success", "runs", "hits"}`` (``tts`` is ``inf`` when
    no run hit).
    """
    if budget <= 0:
        raise ValueError(f"budget must be > 0, got {budget}")
    times = np.array([math.inf if t is None else float(t) for t in hit_times])
    if times.size == 0:
        raise ValueError("need at least one run")
    hits = times[np.isfinite(times) & (times <= budget)]
    best = {"tts": math.inf, "t_run": float(budget), "p_success": 0.0, "runs": int(times.size),
            "hits": int(hits.size)}
    for t in np.unique(np.concatenate([hits, [budget]])):
        p = float(np.mean(times <= t))
        value = tts(max(float(t), 1e-9), p, confidence)
        if value < best["tts"]:
            best.update(tts=value, t_run=float(t), p_success=p)
    return best


def measure_tts(run: Callable[[int], float | None], repeats: int, budget: float, confidence: float = 0.99,
                seed: int = 0) -> dict:
    """Call ``run(seed)`` ``repeats`` times (it returns its hit time or ``None``) and compute the TTS.

    ``run`` must honour ``budget`` itself; hit times above it count as misses.
    The result also lists the hit times.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    times = [run(seed + r) for r in range(repeats)]
    out = tts_from_hit_times(times, budget, confidence)
    out["hit_times"] = times
    return out
