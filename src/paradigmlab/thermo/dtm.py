"""Denoising thermodynamic models (Jelinčič et al., arXiv 2510.23972, 2025) on the p-bit engine.

A DTM chains T small energy-based models, one per denoising step, instead of asking one EBM to represent the whole
data distribution (whose chains then mix too slowly to train). The forward process flips each binary pixel
independently with probability ``q = 1 - exp(-lambda dt)`` per step, so ``p(x_t | x_{t-1}) ~ exp(G x_t . x_{t-1})``
with ``G = log((1 - q) / q) / 2``. Step t's model is a sparse Ising EBM over the cleaner image ``x_{t-1}`` and
latent p-bits on a local grid, with the noisier image ``x_t`` entering through fixed couplings ``G`` to the pixels:

    p(x_{t-1}, z | x_t) ~ exp(-E_t(x_{t-1}, z) + G x_t . x_{t-1}).

The class label rides along as ``labels`` one-hot p-bits (+1 for the class, -1 elsewhere) that the forward process
flips too, at their own rate ``label_flip_prob`` (the paper's label diffusion): clamping them while generating
gives class-conditional samples, leaving them free gives unconditional ones.

Graph (one per step, weights not shared): pixels on a ``side x side`` grid with their 8 neighbours, a latent per
pixel joined to its pixel and that pixel's 4 neighbours, latents joined to their 4 neighbours, every latent joined
to every label p-bit, and one condition p-bit per pixel and label (clamped to ``x_t``): degree 14 for an interior
pixel, 19 for a latent with 10 labels; the paper's local grids have degree about 12 and place label copies at
spots on the grid, where we join the labels to all latents (a dense 10 x side^2 block, stated).

Training (every step, both phases sampled by the p-bit kernels through :mod:`paradigmlab.ebm.engine`): the positive
phase clamps ``x_{t-1}`` and ``x_t`` and samples the latents; the negative phase clamps ``x_t`` only and samples the
pixels, labels and latents, starting from ``x_t`` (``chain_init="noisy"``) or, as the paper does, from independent
draws at the biases (``chain_init="bias"``; generation starts its chains the same way); the gradient is the difference of the two phases' Rao-Blackwellised
moments.

The adaptive correlation penalty (ACP) is the one of the paper's code (Extropic's thrmlDenoising): on every learned
edge the weight gradient gets ``- lambda (<s_i s_j> - <s_i><s_j>)`` from the negative phase, which flattens the
minima the chains would get stuck in; every ``mix_every`` updates each step's mixing is measured as the tail of the
autocorrelation of long free chains (a fixed random 32-dimensional projection of the pixels, chains started from
noised images) and ``lambda`` follows that rule: below ``acp_threshold`` it shrinks by ``0.6 + 0.2 r / threshold``;
above it, it grows by 1.2 (1.5 past 1.8 x threshold) when the autocorrelation rose since the last measurement and
decays by 0.95 otherwise; it never works below ``acp_min`` and is switched off when it falls below it.
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
    labels: int = 10  # one-hot label p-bits (0: images only)
    label_flip_prob: float = 0.2  # q of the label p-bits: after 4 steps a label bit is flipped with probability 0.44
    conditional: bool = True  # False: one unconditional EBM over the image (the paper's single-step baseline)
    pos_sweeps: int = 4
    neg_sweeps: int = 48
    chain_init: str = "bias"  # negative-phase and generation chains start at draws from the biases (the paper's code)
    # or at x_t ("noisy": a shortcut that needs fewer sweeps)
    gen_sweeps: int = 96  # sweeps per denoising step when generating (the paper: 250 on a 70x70 grid)
    optimizer: str = "momentum"  # "momentum" (SGD) or "adam" (the paper's code: Adam, lr 0.016, b1 0.9)
    lr: float = 0.02
    momentum: float = 0.5  # SGD momentum, or Adam's b1
    weight_decay: float = 1e-4
    acp: bool = True
    acp_threshold: float = 0.02  # tail autocorrelation the penalty allows
    acp_min: float = 1e-3  # smallest penalty that is applied (and where it starts)
    mix_every: int = 50  # updates between mixing measurements (0: never; the ACP needs them)
    mix_chains: int = 64  # chains per measurement: 16 noised images x 4 chains (conditional), or free chains
    mix_warmup: int = 32  # sweeps before the first read
    mix_reads: int = 64  # reads, ``mix_stride`` sweeps apart
    mix_stride: int = 2
    backend: str = "numba"

    def __post_init__(self):
        integer(self.side, "side", min=2)
        integer(self.steps, "steps", min=1)
        integer(self.labels, "labels", min=0)
        number(self.flip_prob, "flip_prob", positive=True, max=0.5)
        number(self.label_flip_prob, "label_flip_prob", positive=True, max=0.5)
        for k in ("pos_sweeps", "neg_sweeps", "gen_sweeps", "mix_chains", "mix_reads", "mix_stride"):
            integer(getattr(self, k), k, min=1)
        integer(self.mix_every, "mix_every", min=0)
        integer(self.mix_warmup, "mix_warmup", min=0)
        if self.mix_reads < 16:
            raise InputError("mix_reads must be >= 16 (the tail of the autocorrelation is its last 1/16 of lags)")
        if self.optimizer not in ("momentum", "adam"):
            raise InputError(f"optimizer must be 'momentum' or 'adam', got {self.optimizer!r}")
        if self.chain_init not in ("noisy", "bias"):
            raise InputError(f"chain_init must be 'noisy' or 'bias', got {self.chain_init!r}")
        if self.acp and not self.mix_every:
            raise InputError("the ACP adapts to mixing measurements: acp=True needs mix_every > 0")
        number(self.lr, "lr", positive=True)
        number(self.acp_threshold, "acp_threshold", positive=True, max=1.0)
        number(self.acp_min, "acp_min", positive=True)

    @property
    def coupling_strength(self) -> float:
        """``G = log((1 - q) / q) / 2``: the forward process as a coupling between x_t and x_{t-1}."""
        return _coupling(self.flip_prob)

    @property
    def data_size(self) -> int:
        """p-bits of one data vector: the pixels, then the label p-bits."""
        return self.side ** 2 + self.labels

    def flip_probs(self) -> np.ndarray:
        """Per data p-bit flip probability of one forward step."""
        return np.r_[np.full(self.side ** 2, self.flip_prob), np.full(self.labels, self.label_flip_prob)]

    def to_dict(self) -> dict:
        return asdict(self)


def _coupling(q: float) -> float:
    return 0.5 * np.log((1 - q) / q) if q < 0.5 else 0.0


def grid_graph(side: int, conditional: bool = True, labels: int = 0) -> tuple[int, np.ndarray, np.ndarray, dict]:
    """``(num_nodes, learnable edges, condition edges, node index ranges)`` of one denoising step's graph.

    Node order: pixels (``side^2``), labels, latents (``side^2``), then one condition p-bit per pixel and label."""
    n = side * side
    d = n + labels
    pix = np.arange(n).reshape(side, side)
    lat = d + pix
    edges = []
    for di, dj in ((0, 1), (1, 0), (1, 1), (1, -1)):  # pixel-pixel: 8 neighbours, each pair once
        a = pix[0:side - di, max(0, -dj):side - max(0, dj)]
        b = pix[di:side, max(0, dj):side - max(0, -dj)]
        edges.append(np.stack([a.ravel(), b.ravel()], 1))
    edges.append(np.stack([pix.ravel(), lat.ravel()], 1))  # pixel-latent, same position
    for di, dj in ((0, 1), (1, 0)):  # pixel-latent at the 4 neighbours; latent-latent 4 neighbours
        a, b = pix[:side - di, :side - dj], pix[di:, dj:]
        edges.append(np.stack([a.ravel(), (b + d).ravel()], 1))
        edges.append(np.stack([b.ravel(), (a + d).ravel()], 1))
        edges.append(np.stack([(a + d).ravel(), (b + d).ravel()], 1))
    if labels:  # every latent sees every label p-bit
        edges.append(np.stack(np.meshgrid(n + np.arange(labels), lat.ravel(), indexing="ij"), -1).reshape(-1, 2))
    learn = np.concatenate(edges)
    ranges = {"pixels": np.arange(n), "labels": n + np.arange(labels), "data": np.arange(d),
              "latents": d + np.arange(n)}
    if not conditional:
        return d + n, learn, np.zeros((0, 2), np.int64), ranges
    cond = np.stack([np.arange(d), d + n + np.arange(d)], 1)
    ranges["condition"] = d + n + np.arange(d)
    return 2 * d + n, learn, cond, ranges


def one_hot(y: np.ndarray, labels: int) -> np.ndarray:
    """Class indices as +-1 one-hot rows (+1 at the class)."""
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or (len(y) and (y.min() < 0 or y.max() >= labels)):
        raise InputError(f"labels must be class indices in 0..{labels - 1}, got {y.dtype} of shape {y.shape}")
    out = -np.ones((len(y), labels), np.int8)
    out[np.arange(len(y)), y] = 1
    return out


def forward_noise(x: np.ndarray, flips: int, q, rng: np.random.Generator) -> np.ndarray:
    """``x`` (+-1) after ``flips`` forward steps of flip probability ``q`` each (a number, or one per column),
    composed in closed form."""
    if flips == 0:
        return x.copy()
    p = 0.5 * (1 - (1 - 2 * np.asarray(q, np.float64)) ** flips)
    return np.where(rng.random(x.shape) < p, -x, x).astype(np.int8)


def tail_autocorrelation(series: np.ndarray) -> float:
    """Mixing of chains recorded as ``series`` (groups x chains x reads x dims): per group and dimension the
    series is scaled to unit variance, ``C(k) = <y_s y_(s+k)> - <y>_first half <y>_last quarter`` for lags up to
    half the reads, and the result is the mean of ``C`` over the last 1/16 of those lags, averaged over groups and
    dimensions, floored at 0 (0: the chains forget where they were; 1: frozen). Chains of one group share their
    conditioning, so a group's mean is its stationary mean."""
    y = np.asarray(series, np.float64)
    g, c, r, dims = y.shape
    sd = y.std(axis=(1, 2), keepdims=True)
    y = y / np.where(sd > 0, sd, 1.0)
    half = r // 2
    first = y[:, :, :half]
    m0, minf = first.mean(axis=(1, 2)), y[:, :, r - half // 2:].mean(axis=(1, 2))
    lags = np.arange(half + 1)
    C = np.stack([(first * y[:, :, k:k + half]).mean(axis=(1, 2)) for k in lags]) - m0 * minf
    tail = C[-max(1, len(lags) // 16):].mean(0)  # (groups, dims)
    return max(0.0, float(tail.mean()))


class DTMStep:
    """One denoising step's EBM: weights on the learnable edges, biases, fixed condition couplings, ACP state."""

    def __init__(self, cfg: DTMConfig, rng: np.random.Generator):
        self.cfg = cfg
        self.num_nodes, learn, cond, self.nodes = grid_graph(cfg.side, cfg.conditional, cfg.labels)
        self.num_learn = len(learn)
        self.coupling = EdgeCoupling(self.num_nodes, np.concatenate([learn, cond]))
        strengths = np.r_[np.full(cfg.side ** 2, cfg.coupling_strength), np.full(cfg.labels, _coupling(cfg.label_flip_prob))]
        self.weights = np.concatenate([rng.normal(0, 0.01, self.num_learn), strengths[:len(cond)]])
        self.h = np.zeros(self.num_nodes)
        self.velocity = np.zeros(self.num_learn + self.num_nodes)  # SGD momentum, or Adam's first moment
        self.second = np.zeros(self.num_learn + self.num_nodes)  # Adam's second moment
        self.steps_taken = 0
        self.groups = color_graph(self.coupling.csr(np.ones(self.coupling.num_edges)), "auto")
        self.acp_weight = cfg.acp_min if cfg.acp else 0.0
        self.last_autocorr = float("nan")

    @property
    def pixels(self) -> np.ndarray:
        return self.nodes["pixels"]

    @property
    def data(self) -> np.ndarray:
        return self.nodes["data"]

    def J(self):
        return self.coupling.csr(self.weights)

    def _chains(self, J, states, clamp_nodes, clamp_values, seed):
        return open_chains(self.cfg.backend, J, self.h, self.groups, states, seed, clamp_nodes, clamp_values)

    def _init(self, B: int, rng: np.random.Generator) -> np.ndarray:
        """Chains drawn independently at the biases (uniform while the biases are 0)."""
        p_up = 0.5 * (1 + np.tanh(self.h))
        return np.where(rng.random((B, self.num_nodes)) < p_up, 1, -1).astype(np.int8)

    def update(self, x_clean: np.ndarray, x_noisy: np.ndarray | None, rng: np.random.Generator, seed) -> int:
        """One contrastive update on a batch of data rows (pixels then labels; ``x_noisy`` None for the
        unconditional EBM, whose negative chains are the persistent ``self.persistent``); returns the p-bit
        updates spent."""
        cfg, B, d = self.cfg, len(x_clean), len(self.data)
        cond = self.nodes.get("condition")
        J = self.J()  # the weights of this update, for both phases
        init = self._init(B, rng)
        init[:, :d] = x_clean
        if cond is not None:
            init[:, cond] = x_noisy
        pos_clamp = self.data if cond is None else np.concatenate([self.data, cond])
        pos_vals = x_clean if cond is None else np.concatenate([x_clean, x_noisy], 1)
        k = self._chains(J, init, pos_clamp, pos_vals, [*seed, 0])
        k.run(np.ones(cfg.pos_sweeps))
        updates = k.updates_per_sweep * cfg.pos_sweeps
        pos_e, pos_m = rao_blackwell_moments(self.coupling, self.weights, self.h, 1.0, k.get_states(), pos_clamp)
        # negative phase: data p-bits start at the noisy image or at the biases (conditional), or the persistent
        # chains continue (unconditional)
        if cond is not None:
            neg = self._init(B, rng)
            neg[:, cond] = x_noisy
            if cfg.chain_init == "noisy":
                neg[:, :d] = x_noisy
            k = self._chains(J, neg, cond, x_noisy, [*seed, 1])
        else:
            if not hasattr(self, "persistent") or len(self.persistent) != B:
                self.persistent = self._init(B, rng)
            k = self._chains(J, self.persistent, None, None, [*seed, 1])
        k.run(np.ones(cfg.neg_sweeps))
        b = k.get_states()
        updates += k.updates_per_sweep * cfg.neg_sweeps
        if cond is None:
            self.persistent = b
        neg_e, neg_m = rao_blackwell_moments(self.coupling, self.weights, self.h, 1.0, b, cond)
        grad_w = pos_e[:self.num_learn] - neg_e[:self.num_learn] - cfg.weight_decay * self.weights[:self.num_learn]
        if self.acp_weight:  # ACP: flatten the edges the model's chains are correlated along
            i, j = self.coupling.edges[:self.num_learn].T
            grad_w -= self.acp_weight * (neg_e[:self.num_learn] - neg_m[i] * neg_m[j])
        grad_h = pos_m - neg_m
        if cond is not None:
            grad_h[cond] = 0.0  # condition p-bits are inputs, not modelled
        g = np.concatenate([grad_w, grad_h])
        self.steps_taken += 1
        if cfg.optimizer == "adam":  # ascent on the likelihood with Adam's bias-corrected moments
            self.velocity = cfg.momentum * self.velocity + (1 - cfg.momentum) * g
            self.second = 0.999 * self.second + 0.001 * g * g
            step = cfg.lr * (self.velocity / (1 - cfg.momentum ** self.steps_taken)) / (
                np.sqrt(self.second / (1 - 0.999 ** self.steps_taken)) + 1e-8)
        else:
            self.velocity = cfg.momentum * self.velocity + cfg.lr * g
            step = self.velocity
        self.weights[:self.num_learn] += step[:self.num_learn]
        self.h += step[self.num_learn:]
        return int(updates)

    def mixing(self, x_noisy: np.ndarray | None, projection: np.ndarray, rng: np.random.Generator, seed) -> tuple[float, int]:
        """Tail autocorrelation of up to ``cfg.mix_chains`` free chains (conditional: groups of 4 on each noised
        input row of ``x_noisy``), read ``mix_reads`` times ``mix_stride`` sweeps apart after ``mix_warmup`` sweeps, on
        the pixels projected by ``projection`` (side^2 x dims); returns ``(autocorrelation, p-bit updates)``."""
        cfg, d = self.cfg, len(self.data)
        cond = self.nodes.get("condition")
        # conditional: groups of 4 chains on each of up to mix_chains / 4 noised inputs; unconditional: one group
        groups, per = (max(1, min(cfg.mix_chains // 4, len(x_noisy))), 4) if cond is not None else (1, cfg.mix_chains)
        init = self._init(groups * per, rng)
        clamp = None
        if cond is not None:
            clamp = np.repeat(x_noisy[:groups], per, axis=0)
            init[:, cond] = clamp
        k = self._chains(self.J(), init, cond, clamp, seed)
        k.run(np.ones(cfg.mix_warmup))
        reads = []
        for _ in range(cfg.mix_reads):
            k.run(np.ones(cfg.mix_stride))
            reads.append(k.get_states()[:, self.pixels].astype(np.float64) @ projection)
        series = np.stack(reads, 1).reshape(groups, per, cfg.mix_reads, projection.shape[1])
        spent = k.updates_per_sweep * (cfg.mix_warmup + cfg.mix_reads * cfg.mix_stride)
        return tail_autocorrelation(series), int(spent)

    def adapt(self, autocorr: float) -> None:
        """The ACP rule (see the module docstring) after a new mixing measurement."""
        cfg, prev = self.cfg, self.last_autocorr
        self.last_autocorr = float(autocorr)
        if not cfg.acp or not np.isfinite(prev):
            return
        lam, r, thr = max(self.acp_weight, cfg.acp_min), self.last_autocorr, cfg.acp_threshold
        if r < thr:
            lam *= 0.6 + 0.2 * r / thr
        elif r > prev:
            lam *= 1.2 if r < 1.8 * thr else 1.5
        else:
            lam *= 0.95
        self.acp_weight = lam if lam >= cfg.acp_min else 0.0

    def sample(self, x_noisy: np.ndarray | None, sweeps: int, rng: np.random.Generator, seed,
               start: np.ndarray | None = None, labels: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """Data rows (pixels then labels) drawn from p(x_{t-1} | x_t) (or the unconditional EBM) after ``sweeps``
        sweeps; ``labels`` (+-1 one-hot rows) clamps the label p-bits: class-conditional samples."""
        d = len(self.data)
        B = len(x_noisy) if x_noisy is not None else len(start)
        init = self._init(B, rng)
        cond = self.nodes.get("condition")
        clamp, values = [], []
        if x_noisy is not None and cond is not None:
            if self.cfg.chain_init == "noisy":
                init[:, :d] = x_noisy
            init[:, cond] = x_noisy
            clamp.append(cond)
            values.append(x_noisy)
        elif start is not None:
            init[:, :d] = start
        if labels is not None:
            init[:, self.nodes["labels"]] = labels
            clamp.append(self.nodes["labels"])
            values.append(labels)
        k = self._chains(self.J(), init, np.concatenate(clamp) if clamp else None,
                         np.concatenate(values, 1) if values else None, seed)
        k.run(np.ones(sweeps))
        return k.get_states()[:, :d], k.updates_per_sweep * sweeps


class DTM:
    """A chain of :class:`DTMStep` models trained on +-1 images (n x side^2) with their classes, sampled from noise."""

    def __init__(self, cfg: DTMConfig = DTMConfig(), seed: int = 0):
        self.cfg = cfg
        self.seed = int(seed)
        rng = np.random.default_rng(seed)
        self.models = [DTMStep(cfg, rng) for _ in range(cfg.steps)]
        n = cfg.side ** 2
        # the fixed random projection the mixing measurement reads the pixels through (as the paper's code does)
        self.projection = np.random.default_rng([self.seed, 17]).uniform(-1, 1, (n, 32)) / np.sqrt(n)
        self.updates_done = 0
        self.pbit_updates = 0
        self.mix_pbit_updates = 0
        self.history: list[dict] = []

    def check_images(self, x) -> np.ndarray:
        x = np.asarray(x)
        n = self.cfg.side ** 2
        if x.ndim != 2 or x.shape[1] != n or not np.all((x == 1) | (x == -1)):
            raise InputError(f"images must be +-1 with {n} columns (side {self.cfg.side}), got shape {x.shape}")
        return x.astype(np.int8)

    def data_rows(self, images, labels=None) -> np.ndarray:
        """Images (+-1) and their class indices as the models' data rows (pixels, then one-hot labels)."""
        x = self.check_images(images)
        if not self.cfg.labels:
            return x
        if labels is None:
            raise InputError(f"this DTM models {self.cfg.labels} label p-bits: give the images' labels")
        y = np.asarray(labels)
        if y.shape != (len(x),):
            raise InputError(f"labels must be one class index per image ({len(x)}), got shape {y.shape}")
        return np.concatenate([x, one_hot(y, self.cfg.labels)], 1)

    def train_update(self, batch: np.ndarray, labels: np.ndarray | None = None) -> None:
        """One contrastive update of every step's model on ``batch`` (its own forward noise per step), after a
        mixing measurement (and ACP adaptation) every ``mix_every`` updates."""
        x0 = self.data_rows(batch, labels)
        rng = np.random.default_rng([self.seed, self.updates_done, 7])
        q = self.cfg.flip_probs()
        measure = self.cfg.mix_every and self.updates_done % self.cfg.mix_every == 0
        record = {"update": self.updates_done, "autocorrelation": [], "acp_weight": []} if measure else None
        for t, model in enumerate(self.models, start=1):
            x_prev = forward_noise(x0, t - 1, q, rng) if self.cfg.conditional else x0
            x_t = forward_noise(x_prev, 1, q, rng) if self.cfg.conditional else None
            if measure:
                r, spent = model.mixing(x_t, self.projection, np.random.default_rng([self.seed, self.updates_done, 13, t]),
                                        [self.seed, self.updates_done, t, 5])
                self.mix_pbit_updates += spent
                model.adapt(r)
                record["autocorrelation"].append(r)
                record["acp_weight"].append(model.acp_weight)
            self.pbit_updates += model.update(x_prev, x_t, rng, [self.seed, self.updates_done, t])
        if record is not None:
            self.history.append(record)
        self.updates_done += 1

    def generate(self, num: int, seed: int = 0, classes=None) -> tuple[np.ndarray, int]:
        """``num`` images: uniform noise denoised step by step (T .. 1), or the single EBM run from noise for
        ``gen_sweeps``; ``classes`` (one class index per image) clamps the label p-bits for class-conditional
        samples. Returns ``(images, p-bit updates spent)``."""
        num = integer(num, "num", min=1)
        rng = np.random.default_rng([seed, 11])
        cfg, n = self.cfg, self.cfg.side ** 2
        lab = None
        if classes is not None:
            if not cfg.labels:
                raise InputError("this DTM has no label p-bits: it cannot generate class-conditional samples")
            lab = one_hot(np.asarray(classes), cfg.labels)
            if len(lab) != num:
                raise InputError(f"classes must give one class per image ({num}), got {len(lab)}")
        x = rng.choice(np.array([-1, 1], np.int8), (num, cfg.data_size))
        if not cfg.conditional:
            x, spent = self.models[0].sample(None, cfg.gen_sweeps, rng, [seed, 0], start=x, labels=lab)
            return x[:, :n], spent
        spent = 0
        for t in range(cfg.steps, 0, -1):
            x, u = self.models[t - 1].sample(x, cfg.gen_sweeps, rng, [seed, t], labels=lab)
            spent += u
        return x[:, :n], spent

# ---------------------------------------------------------------------- files and the training loop
STEP_ARRAYS = ("weights", "h", "velocity", "second")


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
    meta = {"format": "paradigmlab.thermo.dtm/2", "config": model.cfg.to_dict(), "seed": model.seed,
            "updates_done": model.updates_done, "pbit_updates": model.pbit_updates,
            "mix_pbit_updates": model.mix_pbit_updates,
            "acp_weight": [m.acp_weight for m in model.models], "steps_taken": [m.steps_taken for m in model.models],
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
        if not isinstance(meta, dict) or meta.get("format") != "paradigmlab.thermo.dtm/2":
            raise ValueError("not a paradigmlab DTM file of this version (format paradigmlab.thermo.dtm/2)")
        cfg = DTMConfig(**meta["config"])
        model = DTM(cfg, seed=integer(meta["seed"], "seed", min=0))
        model.updates_done = integer(meta["updates_done"], "updates_done", min=0)
        model.pbit_updates = integer(meta["pbit_updates"], "pbit_updates", min=0)
        model.mix_pbit_updates = integer(meta["mix_pbit_updates"], "mix_pbit_updates", min=0)
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
            m.steps_taken = integer(meta["steps_taken"][t], "steps_taken", min=0)
            r = meta["last_autocorr"][t]
            m.last_autocorr = float("nan") if r is None else float(r)
        return model
    except (KeyError, TypeError, IndexError, ValueError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a valid DTM file ({exc})") from None


def train(model: DTM, images: np.ndarray, updates: int, batch_size: int = 64, checkpoint=None,
          checkpoint_every: int = 25, minutes: float | None = None, progress: bool = True,
          labels: np.ndarray | None = None) -> DTM:
    """Train until ``updates`` updates in all (or ``minutes`` of wall time), batches drawn by update index from
    ``(seed, update)`` so that a resumed run is bit-identical; checkpoint every ``checkpoint_every`` updates and at
    the end (and on Ctrl-C) when ``checkpoint`` is given."""
    import time

    from tqdm.auto import tqdm

    x = model.check_images(images)
    y = None if not model.cfg.labels or labels is None else np.asarray(labels)
    if y is not None and y.shape != (len(x),):
        raise InputError(f"labels must be one class index per image ({len(x)}), got shape {y.shape}")
    model.data_rows(x, y)  # refuse missing or malformed labels before any work
    updates = integer(updates, "updates", min=0)
    t0 = time.perf_counter()
    bar = tqdm(total=updates, initial=min(model.updates_done, updates), desc="DTM updates", unit="upd",
               disable=not progress)
    try:
        while model.updates_done < updates:
            if minutes is not None and time.perf_counter() - t0 > 60 * minutes:
                break
            rng = np.random.default_rng([model.seed, model.updates_done, 3])
            pick = rng.integers(0, len(x), batch_size)
            model.train_update(x[pick], None if y is None else y[pick])
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
