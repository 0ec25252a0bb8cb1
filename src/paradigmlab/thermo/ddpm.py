"""The conventional baseline the DTM is measured against: a small denoising diffusion model (Ho et al. 2020) on
the same binarised images, run on a GPU in the projection.

The images are +-1 vectors, diffused as real numbers (``x_t = sqrt(a_t) x_0 + sqrt(1 - a_t) eps`` with a linear
beta schedule) and denoised by an MLP that predicts ``eps`` from ``x_t``, the time and the class (a learned "no
class" embedding, used for 10 % of the training rows, gives free samples too, classifier-free style). Sampling is
DDIM (deterministic, eta = 0) on an evenly strided subset of the training steps, so that the number of denoiser
evaluations -- the energy knob -- is chosen at sampling time; the final estimate of ``x_0`` is thresholded at 0.

:func:`ddpm_costs` lists the MLP's layers as cost-model operations, so that :mod:`paradigmlab.costmodel`'s
roofline gives the time, and the preset's power the energy, of a sample on a GPU.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from paradigmlab.validate import InputError, integer, number


@dataclass(frozen=True)
class DDPMConfig:
    side: int = 14
    classes: int = 10  # 0: unconditional only
    hidden: int = 512
    layers: int = 3  # hidden layers of the denoiser MLP
    time_dim: int = 64
    diffusion_steps: int = 1000  # linear betas 1e-4..0.02 over 1,000 steps: a_bar(T) ~ 4e-5, pure noise at T
    beta_start: float = 1e-4
    beta_end: float = 0.02
    lr: float = 1e-3
    batch_size: int = 128
    null_class_prob: float = 0.1

    def __post_init__(self):
        for k in ("side", "hidden", "layers", "time_dim", "diffusion_steps", "batch_size"):
            integer(getattr(self, k), k, min=1)
        integer(self.classes, "classes", min=0)
        number(self.lr, "lr", positive=True)
        number(self.null_class_prob, "null_class_prob", min=0.0, max=1.0)

    def to_dict(self) -> dict:
        return asdict(self)


class Denoiser(nn.Module):
    """``eps(x_t, t, y)``: an MLP on the image, a sinusoidal time embedding and a class embedding (index
    ``classes`` = no class)."""

    def __init__(self, cfg: DDPMConfig):
        super().__init__()
        self.cfg = cfg
        n = cfg.side ** 2
        self.time = nn.Sequential(nn.Linear(cfg.time_dim, cfg.hidden), nn.SiLU())
        self.label = nn.Embedding(cfg.classes + 1, cfg.hidden)
        self.inp = nn.Linear(n, cfg.hidden)
        self.blocks = nn.ModuleList(nn.Linear(cfg.hidden, cfg.hidden) for _ in range(cfg.layers))
        self.out = nn.Linear(cfg.hidden, n)

    def embed_time(self, t: torch.Tensor) -> torch.Tensor:
        half = self.cfg.time_dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
        a = t.float()[:, None] * freqs[None]
        return torch.cat([torch.sin(a), torch.cos(a)], 1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.inp(x) + self.time(self.embed_time(t)) + self.label(y)
        for layer in self.blocks:
            h = h + layer(torch.nn.functional.silu(h))  # residual: keeps a deep MLP trainable in minutes
        return self.out(torch.nn.functional.silu(h))


def alphas_bar(cfg: DDPMConfig) -> torch.Tensor:
    betas = torch.linspace(cfg.beta_start, cfg.beta_end, cfg.diffusion_steps, dtype=torch.float64)
    return torch.cumprod(1 - betas, 0)


def train_ddpm(images: np.ndarray, labels: np.ndarray | None, cfg: DDPMConfig = DDPMConfig(), updates: int = 2000,
               seed: int = 0, minutes: float | None = None, progress: bool = False) -> tuple[Denoiser, dict]:
    """Train the denoiser on +-1 images (n x side^2) for ``updates`` Adam steps (or ``minutes``); returns the model
    and what the training did (updates, seconds, last loss)."""
    import time

    from tqdm.auto import tqdm

    x = np.asarray(images)
    if x.ndim != 2 or x.shape[1] != cfg.side ** 2 or not np.all((x == 1) | (x == -1)):
        raise InputError(f"images must be +-1 with {cfg.side ** 2} columns, got shape {x.shape}")
    if cfg.classes and (labels is None or np.asarray(labels).shape != (len(x),)):
        raise InputError(f"a class-conditional DDPM needs one label per image ({len(x)})")
    torch.manual_seed(seed)
    model = Denoiser(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    xs = torch.tensor(x, dtype=torch.float32)
    ys = torch.tensor(np.asarray(labels), dtype=torch.long) if cfg.classes else torch.zeros(len(x), dtype=torch.long)
    ab = alphas_bar(cfg).float()
    gen = torch.Generator().manual_seed(seed)
    t0, loss = time.perf_counter(), float("nan")
    done = 0
    for done in tqdm(range(1, integer(updates, "updates", min=1) + 1), desc="DDPM updates", disable=not progress):
        idx = torch.randint(0, len(xs), (cfg.batch_size,), generator=gen)
        x0, y = xs[idx], ys[idx].clone()
        y[torch.rand(len(y), generator=gen) < cfg.null_class_prob] = cfg.classes  # the "no class" rows
        t = torch.randint(0, cfg.diffusion_steps, (len(x0),), generator=gen)
        eps = torch.randn(x0.shape, generator=gen)
        a = ab[t][:, None]
        pred = model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t, y)
        lossv = torch.mean((pred - eps) ** 2)
        opt.zero_grad()
        lossv.backward()
        opt.step()
        loss = float(lossv.detach())
        if minutes is not None and time.perf_counter() - t0 > 60 * minutes:
            break
    return model, {"updates": done, "seconds": time.perf_counter() - t0, "loss": loss, "config": cfg.to_dict()}


@torch.no_grad()
def sample_ddpm(model: Denoiser, num: int, steps: int, seed: int = 0, classes=None) -> np.ndarray:
    """``num`` +-1 images by DDIM (eta = 0) over ``steps`` evenly strided diffusion steps; ``classes`` (one per
    image) conditions on the class, else the "no class" embedding gives free samples."""
    cfg = model.cfg
    steps = integer(steps, "steps", min=1, max=cfg.diffusion_steps)
    gen = torch.Generator().manual_seed(seed)
    ab = alphas_bar(cfg).float()
    ts = torch.linspace(cfg.diffusion_steps - 1, 0, steps).round().long()
    if classes is None:
        y = torch.full((num,), cfg.classes, dtype=torch.long)
    else:
        y = torch.as_tensor(np.asarray(classes), dtype=torch.long)
        if y.shape != (num,) or (num and (int(y.min()) < 0 or int(y.max()) >= cfg.classes)):
            raise InputError(f"classes must be {num} class indices in 0..{cfg.classes - 1}")
    x = torch.randn((num, cfg.side ** 2), generator=gen)
    x0 = x
    for i, t in enumerate(ts):
        a = ab[t]
        eps = model(x, torch.full((num,), int(t)), y)
        x0 = ((x - (1 - a).sqrt() * eps) / a.sqrt()).clamp(-1, 1)
        eps = (x - a.sqrt() * x0) / (1 - a).sqrt()  # the noise consistent with the clipped x0
        if i + 1 < len(ts):
            a_next = ab[ts[i + 1]]
            x = a_next.sqrt() * x0 + (1 - a_next).sqrt() * eps
    return np.where(x0.numpy() >= 0, 1, -1).astype(np.int8)


def ddpm_costs(cfg: DDPMConfig, steps: int, batch: int = 1, dtype: str = "bf16"):
    """The cost-model operations of sampling ``batch`` images with ``steps`` denoiser evaluations: every linear
    layer's FLOPs, weight and activation bytes, once per evaluation (the weights are read every evaluation: they
    are small enough to stay in cache, so the memory floor is an upper bound)."""
    from paradigmlab.costmodel.dtypes import bytes_per_element
    from paradigmlab.costmodel.transformer import Costs, Op

    b = bytes_per_element(dtype)
    n, h = cfg.side ** 2, cfg.hidden
    costs = Costs("ddpm-mlp", "sample", batch, steps, batch, dtype, dtype, dtype, 1, "n/a")
    layers = [("time", cfg.time_dim, h), ("inp", n, h), *[(f"block{i}", h, h) for i in range(cfg.layers)], ("out", h, n)]
    for name, a, c in layers:
        costs.ops.append(Op(name, "fc", flops=2.0 * batch * a * c, weight_bytes=a * c * b,
                            act_bytes=batch * (a + c) * b, count=steps, weight_reads=steps))
    return costs
