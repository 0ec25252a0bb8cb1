"""Denoising thermodynamic models (Jelinčič et al., arXiv 2510.23972, 2025) on the p-bit engine.

A DTM chains T small energy-based models, one per denoising step, instead of asking one EBM to represent the whole
data distribution (whose chains then mix too slowly to train). The forward process flips each binary pixel
independently with probability ``q = 1 - exp(-lambda dt)`` per step, so ``p(x_t | x_{t-1}) ~ exp(G x_t . x_{t-1})``
with ``G = log((1 - q) / q) / 2``. Step t's model is a sparse Ising EBM over the cleaner image ``x_{t-1}`` and
latent p-bits on a local grid, with the noisier image ``x_t`` entering through fixed couplings ``G`` to the pixels:

    p(x_{t-1}, z | x_t) ~ exp(-E_t(x_{t-1}, z) + G x_t . x_{t-1}).

Graph (one per step, weights not shared): pixels on a ``side x side`` grid with their 8 neighbours, a latent per
pixel joined to its pixel and that pixel's 4 neighbours, latents joined to their 4 neighbours, and one condition
p-bit per pixel (clamped to ``x_t``): degree 14 for an interior pixel (12.9 on average at 14x14), 9 for a latent
(8.4); the paper's local grids have degree about 12.

Training (every step, both phases sampled by the p-bit kernels through :mod:`paradigmlab.ebm.engine`): the positive
phase clamps ``x_{t-1}`` and ``x_t`` and samples the latents; the negative phase clamps ``x_t`` only and samples the
pixels (from ``x_t``) and latents; the gradient is the difference of the two phases' Rao-Blackwellised moments.
The adaptive correlation penalty (ACP) keeps the negative chains mixing: it measures the lag autocorrelation of
the negative chains (the excess of ``<m(s) m(s + lag)>`` over the product of the conditional means) and raises an
L2 penalty on the couplings while it is above ``acp_target``, lowering it otherwise -- our reading of the paper's
ACP (its exact form is not reproduced here), stated so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from paradigmlab.ebm.engine import EdgeCoupling, open_chains, rao_blackwell_moments
from paradigmlab.pbit.coloring import color_graph
from paradigmlab.validate import InputError, integer, number


@dataclass(frozen=True)
class DTMConfig:
    """A DTM's shape and training recipe (``steps = 1`` with ``conditional=False`` is the single-step EBM)."""

    side: int = 14  # image side (Fashion-MNIST 28x28 pooled 2x2)
    steps: int = 4  # denoising steps T (the paper: 8)
    flip_prob: float = 0.25  # q per forward step: after T = 4 steps a pixel is flipped with probability 0.47
    conditional: bool = True  # False: one unconditional EBM over the image (the paper's single-step baseline)
    pos_sweeps: int = 4
    neg_sweeps: int = 12
    gen_sweeps: int = 24  # sweeps per denoising step when generating
    lr: float = 0.02
    momentum: float = 0.5
    weight_decay: float = 1e-4
    acp: bool = True
    acp_target: float = 0.3  # lag autocorrelation the penalty allows
    acp_rate: float = 0.2  # relative change of the penalty per update
    acp_init: float = 1e-3
    backend: str = "numba"

    def __post_init__(self):
        integer(self.side, "side", min=2)
        integer(self.steps, "steps", min=1)
        number(self.flip_prob, "flip_prob", positive=True, max=0.5)
        for k in ("pos_sweeps", "neg_sweeps", "gen_sweeps"):
            integer(getattr(self, k), k, min=1)
        if self.neg_sweeps < 2:
            raise InputError("neg_sweeps must be >= 2 (the ACP compares two halves of the negative phase)")
        number(self.lr, "lr", positive=True)
        number(self.acp_target, "acp_target", min=0.0, max=1.0)

    @property
    def coupling_strength(self) -> float:
        """``G = log((1 - q) / q) / 2``: the forward process as a coupling between x_t and x_{t-1}."""
        q = self.flip_prob
        return 0.5 * np.log((1 - q) / q) if q < 0.5 else 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def grid_graph(side: int, conditional: bool = True) -> tuple[int, np.ndarray, np.ndarray, dict]:
    """``(num_nodes, learnable edges, condition edges, node index ranges)`` of one denoising step's graph."""
    n = side * side
    pix = np.arange(n).reshape(side, side)
    lat = n + pix
    edges = []
    for di, dj in ((0, 1), (1, 0), (1, 1), (1, -1)):  # pixel-pixel: 8 neighbours, each pair once
        a = pix[0:side - di, max(0, -dj):side - max(0, dj)]
        b = pix[di:side, max(0, dj):side - max(0, -dj)]
        edges.append(np.stack([a.ravel(), b.ravel()], 1))
    edges.append(np.stack([pix.ravel(), lat.ravel()], 1))  # pixel-latent, same position
    for di, dj in ((0, 1), (1, 0)):  # pixel-latent at the 4 neighbours; latent-latent 4 neighbours
        a, b = pix[:side - di, :side - dj], pix[di:, dj:]
        edges.append(np.stack([a.ravel(), (b + n).ravel()], 1))
        edges.append(np.stack([b.ravel(), (a + n).ravel()], 1))
        edges.append(np.stack([(a + n).ravel(), (b + n).ravel()], 1))
    learn = np.concatenate(edges)
    ranges = {"pixels": np.arange(n), "latents": n + np.arange(n)}
    if not conditional:
        return 2 * n, learn, np.zeros((0, 2), np.int64), ranges
    cond = np.stack([np.arange(n), 2 * n + np.arange(n)], 1)
    ranges["condition"] = 2 * n + np.arange(n)
    return 3 * n, learn, cond, ranges


def forward_noise(x: np.ndarray, flips: int, q: float, rng: np.random.Generator) -> np.ndarray:
    """``x`` (+-1) after ``flips`` forward steps of flip probability ``q`` each (composed in closed form)."""
    if flips == 0:
        return x.copy()
    p = 0.5 * (1 - (1 - 2 * q) ** flips)
    return np.where(rng.random(x.shape) < p, -x, x).astype(np.int8)


class DTMStep:
    """One denoising step's EBM: weights on the learnable edges, biases on pixels and latents, fixed condition
    couplings, and the ACP state."""

    def __init__(self, cfg: DTMConfig, rng: np.random.Generator):
        self.cfg = cfg
        self.num_nodes, learn, cond, self.nodes = grid_graph(cfg.side, cfg.conditional)
        self.num_learn = len(learn)
        self.coupling = EdgeCoupling(self.num_nodes, np.concatenate([learn, cond]))
        self.weights = np.concatenate([rng.normal(0, 0.01, self.num_learn), np.full(len(cond), cfg.coupling_strength)])
        self.h = np.zeros(self.num_nodes)
        self.velocity = np.zeros(self.num_learn + self.num_nodes)
        self.groups = color_graph(self.coupling.csr(np.ones(self.coupling.num_edges)), "auto")
        self.acp_weight = cfg.acp_init if cfg.acp else 0.0
        self.last_autocorr = float("nan")

    @property
    def pixels(self) -> np.ndarray:
        return self.nodes["pixels"]

    def J(self):
        return self.coupling.csr(self.weights)

    def _chains(self, J, states, clamp_nodes, clamp_values, seed):
        return open_chains(self.cfg.backend, J, self.h, self.groups, states, seed, clamp_nodes, clamp_values)

    def update(self, x_clean: np.ndarray, x_noisy: np.ndarray | None, rng: np.random.Generator, seed) -> int:
        """One contrastive update on a batch (``x_noisy`` None for the unconditional EBM, whose negative chains are
        the persistent ``self.persistent``); returns the p-bit updates spent."""
        cfg, B, n = self.cfg, len(x_clean), len(self.pixels)
        cond = self.nodes.get("condition")
        J = self.J()  # the weights of this update, for both phases and the mixing measurement
        init = rng.choice(np.array([-1, 1], np.int8), (B, self.num_nodes))
        init[:, :n] = x_clean
        if cond is not None:
            init[:, cond] = x_noisy
        pos_clamp = self.pixels if cond is None else np.concatenate([self.pixels, cond])
        pos_vals = x_clean if cond is None else np.concatenate([x_clean, x_noisy], 1)
        k = self._chains(J, init, pos_clamp, pos_vals, [*seed, 0])
        k.run(np.ones(cfg.pos_sweeps))
        updates = k.updates_per_sweep * cfg.pos_sweeps
        pos_e, pos_m = rao_blackwell_moments(self.coupling, self.weights, self.h, 1.0, k.get_states(), pos_clamp)
        # negative phase: pixels start at the noisy image (conditional) or the persistent chains (unconditional)
        if cond is not None:
            neg = init.copy()
            neg[:, :n] = x_noisy
            k = self._chains(J, neg, cond, x_noisy, [*seed, 1])
        else:
            if not hasattr(self, "persistent") or len(self.persistent) != B:
                self.persistent = rng.choice(np.array([-1, 1], np.int8), (B, self.num_nodes))
            k = self._chains(J, self.persistent, None, None, [*seed, 1])
        half = cfg.neg_sweeps // 2
        k.run(np.ones(half))
        a = k.get_states()
        k.run(np.ones(cfg.neg_sweeps - half))
        b = k.get_states()
        updates += k.updates_per_sweep * cfg.neg_sweeps
        if cond is None:
            self.persistent = b
        neg_e, neg_m = rao_blackwell_moments(self.coupling, self.weights, self.h, 1.0, b, cond)
        self.last_autocorr = lag_autocorrelation(J, self.h, a, b, n)
        if cfg.acp:  # adaptive correlation penalty: more L2 on the couplings while the chains do not mix
            self.acp_weight *= (1 + cfg.acp_rate) if self.last_autocorr > cfg.acp_target else (1 - cfg.acp_rate)
            self.acp_weight = float(np.clip(self.acp_weight, 1e-6, 1.0))
        grad_w = pos_e[:self.num_learn] - neg_e[:self.num_learn]
        grad_w -= (cfg.weight_decay + self.acp_weight) * self.weights[:self.num_learn]
        grad_h = pos_m - neg_m
        if cond is not None:
            grad_h[cond] = 0.0  # condition p-bits are inputs, not modelled
        g = np.concatenate([grad_w, grad_h])
        self.velocity = cfg.momentum * self.velocity + cfg.lr * g
        self.weights[:self.num_learn] += self.velocity[:self.num_learn]
        self.h += self.velocity[self.num_learn:]
        return int(updates)

    def sample(self, x_noisy: np.ndarray | None, sweeps: int, rng: np.random.Generator, seed,
               start: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """Pixels drawn from p(x_{t-1} | x_t) (or the unconditional EBM) after ``sweeps`` sweeps."""
        n = len(self.pixels)
        B = len(x_noisy) if x_noisy is not None else len(start)
        init = rng.choice(np.array([-1, 1], np.int8), (B, self.num_nodes))
        cond = self.nodes.get("condition")
        if x_noisy is not None and cond is not None:
            init[:, :n] = x_noisy
            init[:, cond] = x_noisy
        elif start is not None:
            init[:, :n] = start
        k = self._chains(self.J(), init, cond, x_noisy if cond is not None else None, seed)
        k.run(np.ones(sweeps))
        return k.get_states()[:, :n], k.updates_per_sweep * sweeps


def lag_autocorrelation(J, h: np.ndarray, a: np.ndarray, b: np.ndarray, n: int) -> float:
    """How much the negative chains remember between two reads ``a``, ``b`` (chains x p-bits) ``neg_sweeps / 2``
    apart, over their first ``n`` p-bits (the pixels): the excess of ``<s(t) s(t + lag)>`` over the product of the
    two reads' conditional means ``tanh(J s + h)``, over its largest possible value (0: the second read is
    independent of the first given the model; 1: frozen chains)."""
    ta = np.tanh(np.asarray(J @ a.T.astype(np.float64)).T + h)[:, :n]
    tb = np.tanh(np.asarray(J @ b.T.astype(np.float64)).T + h)[:, :n]
    num = np.mean(a[:, :n] * b[:, :n]) - np.mean(ta * tb)
    den = 1.0 - np.mean(ta * tb)
    return float(num / den) if den > 1e-9 else 1.0


class DTM:
    """A chain of :class:`DTMStep` models trained on +-1 images (n x side^2) and sampled from noise."""

    def __init__(self, cfg: DTMConfig = DTMConfig(), seed: int = 0):
        self.cfg = cfg
        self.seed = int(seed)
        rng = np.random.default_rng(seed)
        self.models = [DTMStep(cfg, rng) for _ in range(cfg.steps)]
        self.updates_done = 0
        self.pbit_updates = 0
        self.history: list[dict] = []

    def check_images(self, x) -> np.ndarray:
        x = np.asarray(x)
        n = self.cfg.side ** 2
        if x.ndim != 2 or x.shape[1] != n or not np.all((x == 1) | (x == -1)):
            raise InputError(f"images must be +-1 with {n} columns (side {self.cfg.side}), got shape {x.shape}")
        return x.astype(np.int8)

    def train_update(self, batch: np.ndarray) -> None:
        """One contrastive update of every step's model on ``batch`` (its own forward noise per step)."""
        x0 = self.check_images(batch)
        rng = np.random.default_rng([self.seed, self.updates_done, 7])
        q = self.cfg.flip_prob
        for t, model in enumerate(self.models, start=1):
            if self.cfg.conditional:
                x_prev = forward_noise(x0, t - 1, q, rng)
                x_t = forward_noise(x_prev, 1, q, rng)
                self.pbit_updates += model.update(x_prev, x_t, rng, [self.seed, self.updates_done, t])
            else:
                self.pbit_updates += model.update(x0, None, rng, [self.seed, self.updates_done, t])
        self.updates_done += 1

    def generate(self, num: int, seed: int = 0) -> tuple[np.ndarray, int]:
        """``num`` images: uniform noise denoised step by step (T .. 1), or the single EBM run from noise for the
        same total sweeps; returns ``(images, p-bit updates spent)``."""
        rng = np.random.default_rng([seed, 11])
        n = self.cfg.side ** 2
        x = rng.choice(np.array([-1, 1], np.int8), (num, n))
        spent = 0
        if not self.cfg.conditional:
            x, spent = self.models[0].sample(None, self.cfg.gen_sweeps * max(1, self.cfg.steps), rng, [seed, 0], start=x)
            return x, spent
        for t in range(self.cfg.steps, 0, -1):
            x, u = self.models[t - 1].sample(x, self.cfg.gen_sweeps, rng, [seed, t])
            spent += u
        return x, spent


# ---------------------------------------------------------------------- files and the training loop
STEP_ARRAYS = ("weights", "h", "velocity")


def save(model: DTM, path) -> Path:
    """Write the whole training state (config, counters, every step's parameters, momentum, ACP state and
    persistent chains) atomically: a run resumed from it continues bit for bit."""
    from paradigmlab.measure import save_json_in_npz

    arrays = {}
    for t, m in enumerate(model.models):
        for k in STEP_ARRAYS:
            arrays[f"s{t}_{k}"] = getattr(m, k)
        if hasattr(m, "persistent"):
            arrays[f"s{t}_persistent"] = m.persistent
    meta = {"format": "paradigmlab.thermo.dtm/1", "config": model.cfg.to_dict(), "seed": model.seed,
            "updates_done": model.updates_done, "pbit_updates": model.pbit_updates,
            "acp_weight": [m.acp_weight for m in model.models],
            # strict JSON has no NaN: a step not yet trained has no autocorrelation (None)
            "last_autocorr": [m.last_autocorr if np.isfinite(m.last_autocorr) else None for m in model.models],
            "history": model.history,
            "persistent_chains": [len(m.persistent) if hasattr(m, "persistent") else 0 for m in model.models]}
    return save_json_in_npz(path, arrays, meta)


def load(path) -> DTM:
    """Read a file written by :func:`save`; every problem is an ``InputError`` naming the file."""
    import json

    from paradigmlab.validate import read_npz, strict_json

    z = read_npz(path, "DTM file", required={"meta_json"})
    try:
        meta = strict_json(str(z["meta_json"]), path, "DTM metadata")
        if not isinstance(meta, dict) or meta.get("format") != "paradigmlab.thermo.dtm/1":
            raise ValueError("not a paradigmlab DTM file (format)")
        cfg = DTMConfig(**meta["config"])
        model = DTM(cfg, seed=integer(meta["seed"], "seed", min=0))
        model.updates_done = integer(meta["updates_done"], "updates_done", min=0)
        model.pbit_updates = integer(meta["pbit_updates"], "pbit_updates", min=0)
        model.history = list(meta.get("history", []))
        for t, m in enumerate(model.models):
            for k in STEP_ARRAYS:
                a = z[f"s{t}_{k}"]
                if a.shape != getattr(m, k).shape or a.dtype.kind != "f" or not np.all(np.isfinite(a)):
                    raise ValueError(f"s{t}_{k} must be finite floats of shape {getattr(m, k).shape}")
                setattr(m, k, a.astype(np.float64))
            chains = integer(meta["persistent_chains"][t], "persistent_chains", min=0)
            if chains:  # the unconditional EBM's persistent negative chains: a resume needs them exactly
                p = z[f"s{t}_persistent"]
                if p.shape != (chains, m.num_nodes) or not np.all((p == 1) | (p == -1)):
                    raise ValueError(f"s{t}_persistent must be {chains} +-1 chains of {m.num_nodes} p-bits")
                m.persistent = p.astype(np.int8)
            m.acp_weight = float(meta["acp_weight"][t])
            r = meta["last_autocorr"][t]
            m.last_autocorr = float("nan") if r is None else float(r)
        return model
    except (KeyError, TypeError, IndexError, ValueError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a valid DTM file ({exc})") from None


def train(model: DTM, images: np.ndarray, updates: int, batch_size: int = 64, checkpoint=None,
          checkpoint_every: int = 25, minutes: float | None = None, progress: bool = True) -> DTM:
    """Train until ``updates`` updates in all (or ``minutes`` of wall time), batches drawn by update index from
    ``(seed, update)`` so that a resumed run is bit-identical; checkpoint every ``checkpoint_every`` updates and at
    the end (and on Ctrl-C) when ``checkpoint`` is given."""
    import time

    from tqdm.auto import tqdm

    x = model.check_images(images)
    updates = integer(updates, "updates", min=0)
    t0 = time.perf_counter()
    bar = tqdm(total=updates, initial=min(model.updates_done, updates), desc="DTM updates", unit="upd",
               disable=not progress)
    try:
        while model.updates_done < updates:
            if minutes is not None and time.perf_counter() - t0 > 60 * minutes:
                break
            rng = np.random.default_rng([model.seed, model.updates_done, 3])
            model.train_update(x[rng.integers(0, len(x), batch_size)])
            bar.update(1)
            if checkpoint is not None and model.updates_done % checkpoint_every == 0:
                save(model, checkpoint)
    except KeyboardInterrupt:
        if checkpoint is not None:
            save(model, checkpoint)
        raise
    finally:
        bar.close()
    if checkpoint is not None:
        save(model, checkpoint)
    return model
