"""Masked (absorbing-state) diffusion LM: the MDLM / LLaDA objective and likelihood bounds on the looped blocks.

The denoiser is a :class:`paradigmlab.looped.model.LoopedLM` with ``causal=False`` and one extra token, ``[MASK]``
(id ``vocab_size``, the last row of the tied embedding). Forward process with the linear schedule
``alpha_t = 1 - t``: each token is independently replaced by ``[MASK]`` with probability ``t``. The continuous-time
negative ELBO (Sahoo et al. 2024, MDLM eq. 10; Shi et al. 2024; LLaDA eq. 3) with the SUBS parameterisation
(the model never predicts ``[MASK]``, and visible tokens are carried over, so only masked positions are scored) is

    NELBO(x) = E_{t ~ U(0, 1]} [ (1 / t) * sum_{l masked in x_t} -log p_theta(x_l | x_t) ]  >=  -log p_theta(x)

and it is exactly the any-order autoregressive bound: averaged over ``t`` and masks it equals
``sum_{M nonempty} (|M| - 1)! (L - |M|)! / L! * sum_{l in M} -log p(x_l | x with M masked)``
(:func:`exact_nelbo`, which the tests compare with the Monte-Carlo estimator). Without time conditioning
(MDLM's finding: the denoiser does not need ``t``) the model is a function of ``x_t`` only, which is what lets a
sampler reuse a step's logits when no token changed (the cached-step trick of :mod:`paradigmlab.diffusion.sampling`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import torch
from torch.nn import functional as F

from paradigmlab.looped.model import LoopedConfig, LoopedLM
from paradigmlab.validate import InputError, integer, number

T_MIN = 1e-3  # t is drawn in [T_MIN, 1]: 1/t stays bounded (MDLM's sampling_eps)


def mask_id(model: LoopedLM) -> int:
    """The ``[MASK]`` id of a diffusion model: its last vocabulary entry."""
    return model.config.vocab_size - 1


def data_vocab(model) -> int:
    """How many data tokens a model scores: its vocabulary, less ``[MASK]`` for a (bidirectional) diffusion model."""
    return model.config.vocab_size - (0 if model.config.causal else 1)


def denoiser_config(data_vocab: int, **shape) -> LoopedConfig:
    """A bidirectional :class:`LoopedConfig` over ``data_vocab`` tokens plus ``[MASK]``."""
    return LoopedConfig(vocab_size=data_vocab + 1, causal=False, **shape)


def antithetic_times(n: int, generator: torch.Generator, t_min: float = T_MIN) -> torch.Tensor:
    """``n`` low-discrepancy times in ``[t_min, 1]``: one uniform offset, then evenly spaced (MDLM's antithetic
    sampling) -- the batch covers ``(0, 1]`` evenly, which cuts the estimator's variance; each is still U(t_min, 1)."""
    u = (torch.rand(1, generator=generator) + torch.arange(n) / n) % 1.0
    return t_min + (1.0 - t_min) * u


def denoiser_logits(model: torch.nn.Module, xt: torch.Tensor, cache=None) -> torch.Tensor:
    """Log-probabilities over the data tokens (``[MASK]`` excluded: SUBS's zero-masking) at every position."""
    logits, _ = model(xt, cache=cache) if cache is not None else model(xt)
    return F.log_softmax(logits[..., :-1].float(), dim=-1)


def masked_loss(model: torch.nn.Module, x: torch.Tensor, t: torch.Tensor, generator: torch.Generator,
                mask_token: int) -> torch.Tensor:
    """Per-sequence NELBO estimate ``(1 / t) * sum_{masked} -log p(x_l | x_t)`` (nats), one ``t`` per row."""
    B, L = x.shape
    masked = torch.rand(B, L, generator=generator) < t[:, None]
    masked = masked.to(x.device)
    xt = torch.where(masked, torch.full_like(x, mask_token), x)
    logp = denoiser_logits(model, xt)
    nll = -logp.gather(-1, x.unsqueeze(-1)).squeeze(-1)
    return (nll * masked).sum(dim=1) / t.to(x.device)


def antithetic_counts(n: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` mask counts in ``{1, ..., length}``, low-discrepancy over the batch like :func:`antithetic_times`
    (one uniform offset, evenly spaced): each is still uniform on ``{1, ..., length}``."""
    u = (torch.rand(1, generator=generator) + torch.arange(n) / n) % 1.0
    return (1 + (u * length).long()).clamp(max=length)


def count_masked_loss(model: torch.nn.Module, x: torch.Tensor, generator: torch.Generator,
                      mask_token: int) -> torch.Tensor:
    """Per-sequence NELBO estimate by the number of masked tokens (nats): ``m ~ U{1..L}``, ``m`` positions masked
    uniformly at random, ``(L / m) * sum_{masked} -log p(x_l | x_t)``.

    The same bound as :func:`masked_loss` (both average to :func:`exact_nelbo`'s ``sum_M (|M|-1)! (L-|M|)! / L!``
    weights: the sets of size ``m`` carry ``1 / m`` together), written as the any-order autoregressive loss of
    Ou et al. 2024 (RADD's lambda-DCE). Drawing ``m`` instead of ``t`` removes the binomial noise of ``|M|`` given
    ``t``, which the ``1 / t`` weight amplifies at small ``t``: the per-token loss is the mean NLL of the masked
    positions."""
    B, L = x.shape
    m = antithetic_counts(B, L, generator)
    ranks = torch.rand(B, L, generator=generator).argsort(dim=1).argsort(dim=1)  # a uniform permutation per row
    masked = (ranks < m[:, None]).to(x.device)
    xt = torch.where(masked, torch.full_like(x, mask_token), x)
    logp = denoiser_logits(model, xt)
    nll = -logp.gather(-1, x.unsqueeze(-1)).squeeze(-1)
    return (nll * masked).sum(dim=1) * (L / m.to(x.device))


ESTIMATORS = {"time": "t ~ U[T_MIN, 1], weight 1/t", "count": "|M| ~ U{1..L}, weight L/|M|"}


def draw_loss(model: torch.nn.Module, x: torch.Tensor, generator: torch.Generator, mask_token: int,
              estimator: str = "time") -> torch.Tensor:
    """Per-sequence NELBO estimates of one antithetic draw over the batch, by ``estimator`` (:data:`ESTIMATORS`)."""
    if estimator == "time":
        return masked_loss(model, x, antithetic_times(x.size(0), generator), generator, mask_token)
    if estimator == "count":
        return count_masked_loss(model, x, generator, mask_token)
    raise InputError(f"estimator must be one of {tuple(ESTIMATORS)}, got {estimator!r}")


@dataclass
class MaskedDiffusion:
    """The training objective of :func:`paradigmlab.looped.train.train` for a masked-diffusion LM.

    Loss = NELBO per token (nats), averaged over the batch, ``t`` (or the mask count, ``estimator="count"``)
    antithetic over the batch. ``var_len_prob``: the fraction of batches cut to a random length in ``[1, L]`` (LLaDA
    trains 1 % of its batches so, to make the model at home with sequences shorter than its context); the cut is a
    function of the step's generator.
    """

    var_len_prob: float = 0.01
    estimator: str = "time"
    name: str = "mdm"

    def __post_init__(self) -> None:
        number(self.var_len_prob, "var_len_prob", min=0.0, max=1.0)
        if self.estimator not in ESTIMATORS:
            raise InputError(f"estimator must be one of {tuple(ESTIMATORS)}, got {self.estimator!r}")

    def __call__(self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator):
        # y (the next tokens) is the AR target; the diffusion model denoises x itself
        L = x.size(1)
        if self.var_len_prob > 0 and torch.rand(1, generator=generator).item() < self.var_len_prob:
            x = x[:, : int(torch.randint(1, L + 1, (1,), generator=generator).item())]
        raw = model.module if hasattr(model, "module") else model  # DDP wraps it
        raw = getattr(raw, "_orig_mod", raw)  # torch.compile wraps it
        return draw_loss(model, x, generator, mask_id(raw), self.estimator).mean() / x.size(1)


# ---------------------------------------------------------------------------- likelihood
@torch.no_grad()
def nelbo(model: LoopedLM, windows: torch.Tensor, samples: int = 8, seed: int = 0, batch_size: int = 64,
          estimator: str = "time", bins: int | None = None) -> dict:
    """Monte-Carlo NELBO (nats per token) of ``windows`` ``[N, L]``: ``samples`` antithetic ``(t, mask)`` draws per
    window (or ``(|M|, mask)`` draws, ``estimator="count"``: the same bound, less variance). Returns the mean and its
    standard error over windows (each window's mean over its draws is one independent observation), and the
    estimator's description. With ``bins`` (time draws only) also ``"by_time"``, the same draws split by mask rate
    (:func:`nelbo_by_time`)."""
    integer(samples, "samples", min=1)
    if estimator not in ESTIMATORS:
        raise InputError(f"estimator must be one of {tuple(ESTIMATORS)}, got {estimator!r}")
    if bins is not None:
        integer(bins, "bins", min=1)
        if estimator != "time":
            raise InputError(f"bins split the NELBO by mask rate t: it needs estimator='time', got {estimator!r}")
    windows = check_windows(windows, data_vocab(model))
    g = torch.Generator().manual_seed(seed)
    model.eval()
    per_window = []
    n_bins = bins or 1
    total = torch.zeros(n_bins, dtype=torch.float64)
    count = torch.zeros(n_bins, dtype=torch.float64)
    for i in range(0, len(windows), batch_size):
        x = windows[i: i + batch_size]
        acc = torch.zeros(len(x))
        for _ in range(samples):
            if estimator == "count":
                acc += count_masked_loss(model, x, g, mask_id(model)).cpu()
                continue
            t = antithetic_times(x.size(0), g)  # the draws of draw_loss(estimator="time"), t kept for the split
            loss = masked_loss(model, x, t, g, mask_id(model)).cpu()
            acc += loss
            j = ((t - T_MIN) / (1.0 - T_MIN) * n_bins).long().clamp(0, n_bins - 1)
            total.index_add_(0, j, loss.double() / x.size(1))
            count.index_add_(0, j, torch.ones(len(x), dtype=torch.float64))
        per_window.append(acc / samples / x.size(1))
    v = torch.cat(per_window).double()
    n = len(v)
    se = float(v.std(unbiased=True) / math.sqrt(n)) if n > 1 else float("nan")
    out = {"nll_per_token": float(v.mean()), "stderr": se, "windows": n, "length": int(windows.size(1)),
           "estimator": f"NELBO (upper bound on NLL): {samples} antithetic ({'t' if estimator == 'time' else '|M|'}"
                        f", mask) draws per window of {windows.size(1)} tokens, "
                        f"{ESTIMATORS[estimator].replace('T_MIN', str(T_MIN))}; stderr over {n} windows"}
    if bins is not None:
        share = (total / count.clamp(min=1) / bins).tolist()
        out["by_time"] = {"edges": [T_MIN + (1.0 - T_MIN) * k / bins for k in range(bins + 1)], "share": share,
                          "nll_per_token": float(sum(share)), "draws_per_bin": count.tolist()}
    return out


def nelbo_by_time(model: torch.nn.Module, windows: torch.Tensor, bins: int = 10, samples: int = 8, seed: int = 0,
                  batch_size: int = 64) -> dict:
    """The time-draw NELBO of :func:`nelbo` split by the mask rate ``t``: ``share[j]`` is the NELBO's integral over
    ``t`` in bin ``j`` of ``bins`` equal bins of ``[T_MIN, 1]`` (nats per token; the shares sum to the NELBO). Where
    a denoiser loses against the exact one shows whether it misses local statistics (small ``t``: nearly every
    neighbour visible) or long-range inference (large ``t``). The draws are a function of ``seed`` only, so two
    models evaluated with one seed see the same masks."""
    return nelbo(model, windows, samples=samples, seed=seed, batch_size=batch_size, bins=bins)["by_time"]


class MarkovDenoiser(torch.nn.Module):
    """The Bayes-optimal denoiser of a known Markov source, in the interface of a diffusion model: ``forward(x_t)``
    returns the exact ``log p(x_l | the visible tokens of x_t)`` at every position
    (:meth:`paradigmlab.data.markov.MarkovSource.masked_log_marginals`) as logits over the data tokens plus
    ``[MASK]``. Its NELBO is the window's entropy ``H(X_1..X_L) / L`` exactly, so it checks the NELBO estimators
    against an analytic value and is the floor a trained denoiser is compared with, mask rate by mask rate."""

    def __init__(self, source, block_size: int):
        super().__init__()
        integer(block_size, "block_size", min=source.order + 1)
        self.source = source
        self.config = LoopedConfig(vocab_size=source.vocab_size + 1, block_size=block_size, d_model=8, layers=1,
                                   n_head=1, causal=False)  # only vocab_size / block_size / causal are read

    def forward(self, xt: torch.Tensor, cache=None):
        if cache is not None:
            raise InputError("the exact denoiser keeps no KV cache")
        x = xt.detach().cpu().numpy()
        masked = x == mask_id(self)
        logp = self.source.masked_log_marginals(x.clip(max=self.source.vocab_size - 1), masked)
        logits = torch.from_numpy(logp).to(torch.float32)
        return torch.cat([logits, torch.full_like(logits[..., :1], -1e4)], dim=-1), None


@torch.no_grad()
def exact_nelbo(model: LoopedLM, x: torch.Tensor, t_min: float = 0.0) -> float:
    """The NELBO of one short sequence ``x`` ``[L]`` in nats (total, not per token), by enumerating every mask set.

    ``E_t E_mask[(1/t) sum_{l in M} nll_l(M)]`` with ``P(M | t) = t^|M| (1-t)^(L-|M|)`` integrates over ``t`` in
    ``(0, 1]`` to the Beta weights ``(|M|-1)! (L-|M|)! / L!``. With ``t_min`` > 0 it is the expectation under
    ``t ~ U[t_min, 1]``, what :func:`nelbo` estimates (``t_min = T_MIN``; the difference is O(t_min))."""
    from scipy.special import beta, betainc

    number(t_min, "t_min", min=0.0, max=0.5)
    x = check_windows(x[None], data_vocab(model))[0]
    L = x.numel()
    if L > 12:
        raise InputError(f"exact_nelbo enumerates 2^L mask sets; L={L} is too long (at most 12)")
    model.eval()
    total = 0.0
    for m in range(1, L + 1):
        # int_{t_min}^1 t^(m-1) (1-t)^(L-m) dt / (1 - t_min)
        weight = beta(m, L - m + 1) * (1.0 - betainc(m, L - m + 1, t_min)) / (1.0 - t_min)
        sets = [list(s) for s in combinations(range(L), m)]
        xt = x.repeat(len(sets), 1)
        for row, s in enumerate(sets):
            xt[row, s] = mask_id(model)
        logp = denoiser_logits(model, xt)
        for row, s in enumerate(sets):
            total += weight * float(-logp[row, s, x[s]].sum())
    return total


@torch.no_grad()
def ar_nll(model: LoopedLM, tokens: torch.Tensor, stride: int | None = None, batch_size: int = 32) -> dict:
    """Exact NLL (nats per token) of a causal model on a token stream, by sliding windows (as Hugging Face's
    perplexity guide): every token after the first is scored once; the first window scores all its targets, each
    later window of ``block_size`` tokens only its last ``stride`` (default half the context), so those have at
    least ``block_size - stride`` tokens of context. Standard error over the windows' means."""
    if not model.config.causal:
        raise InputError("ar_nll needs a causal model; a diffusion model's likelihood is bounded by nelbo()")
    tokens = check_windows(torch.as_tensor(tokens)[None], model.config.vocab_size)[0]
    T = model.config.block_size
    stride = T // 2 if stride is None else stride
    integer(stride, "stride", min=1, max=T)
    n = tokens.numel()
    if n < 2:
        raise InputError("ar_nll needs at least 2 tokens")
    model.eval()
    jobs, prev_end, begin = [], 0, 0  # (begin, end, number of targets scored at the window's end)
    while prev_end < n - 1:
        end = min(begin + T, n - 1)
        jobs.append((begin, end, end - prev_end))
        prev_end, begin = end, begin + stride
    per_window = []
    full = [j for j in jobs if j[1] - j[0] == T]
    ragged = [j for j in jobs if j[1] - j[0] != T]
    for i in range(0, len(full), batch_size):  # full windows batch together
        group = full[i: i + batch_size]
        x = torch.stack([tokens[b:e] for b, e, _ in group])
        y = torch.stack([tokens[b + 1:e + 1] for b, e, _ in group])
        nll = F.cross_entropy(model(x)[0].float().transpose(1, 2), y, reduction="none")
        per_window += [nll[r, T - k:] for r, (_, _, k) in enumerate(group)]
    for b, e, k in ragged:
        nll = F.cross_entropy(model(tokens[b:e][None])[0][0].float(), tokens[b + 1:e + 1], reduction="none")
        per_window.append(nll[e - b - k:])
    v = torch.cat(per_window).double()
    means = torch.stack([w.double().mean() for w in per_window])
    se = float(means.std(unbiased=True) / math.sqrt(len(means))) if len(means) > 1 else float("nan")
    return {"nll_per_token": float(v.mean()), "stderr": se, "tokens_scored": int(v.numel()),
            "estimator": f"exact NLL, sliding windows of {T} tokens, stride {stride} (each scored token after the "
                         f"first window has >= {T - stride} tokens of context); stderr over {len(means)} windows"}


def check_windows(x, vocab: int) -> torch.Tensor:
    """Integer token windows ``[N, L]`` with ids in ``[0, vocab)``, as int64."""
    x = torch.as_tensor(x)
    if x.dtype.is_floating_point or x.dtype == torch.bool or x.dtype.is_complex:
        raise InputError(f"token windows must be integer ids, got {x.dtype}")
    if x.dim() != 2 or x.numel() == 0:
        raise InputError(f"token windows must be a non-empty [N, L] array, got shape {tuple(x.shape)}")
    x = x.long()
    if x.min() < 0 or x.max() >= vocab:
        raise InputError(f"token ids must be in [0, {vocab}) for this model, got [{int(x.min())}, {int(x.max())}]")
    return x


__all__ = ["ESTIMATORS", "MaskedDiffusion", "T_MIN", "antithetic_counts", "antithetic_times", "count_masked_loss",
           "draw_loss", "ar_nll", "check_windows", "data_vocab", "denoiser_config",
           "denoiser_logits", "exact_nelbo", "MarkovDenoiser", "nelbo_by_time", "mask_id", "masked_loss", "nelbo"]
