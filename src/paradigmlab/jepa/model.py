"""I-JEPA and the encoders it is measured against, in one file, top-down.

Joint-embedding predictive architecture (Assran et al. 2023, facebookresearch/ijepa): a ViT *context encoder*
sees one large block of patches; a narrow *predictor* receives its output plus mask tokens carrying the
positional embeddings of four target blocks, and predicts the *target encoder*'s representations of those
blocks. The target encoder is an exponential moving average of the context encoder (no gradient), its outputs
layer-normalised without affine parameters; the loss is smooth-L1 (or L2) in representation space -- an energy,
not a likelihood: :meth:`IJEPA.energy` is the same distance per input.

The same ViT (:class:`Encoder`) and the same mask-token transformer (:class:`Predictor`) make the baselines:
:class:`MAE` (the predictor, given pixels as its output, is exactly MAE's decoder: mask tokens + positions,
a transformer, a linear map to pixels), :class:`SimCLR` (InfoNCE between two augmented views) and
:class:`Supervised` (a linear head, the ceiling). Every model takes patches (``patchify``), not images, and its
``forward`` returns the training loss of one collated batch (:mod:`paradigmlab.jepa.masks` makes the batches),
so the generic trainer and DDP wrap all four the same way. ``features`` is what a probe sees: average-pooled
tokens of the encoder the method's paper evaluates (I-JEPA: the target encoder).
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from paradigmlab.validate import InputError, integer, number

LOSSES = ("smooth_l1", "l2")
REFERENCE_PATCH_DIM = 16 * 16 * 3  # I-JEPA's ViT patches: what its initialisation was tuned for


@dataclass
class ViTConfig:
    """Sizes of the encoder (and of the predictor / MAE decoder) for inputs of shape ``channels x *image``.

    ``image`` is ``(H, W)`` for images or ``(L,)`` for 1-D signals; ``patch`` must divide every side.
    """

    image: tuple = (28, 28)
    channels: int = 1
    patch: int = 4
    dim: int = 64
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    pred_dim: int = 32  # I-JEPA's predictor is narrow (384 wide for a 1280-wide ViT-H)
    pred_depth: int = 2
    pred_heads: int = 4

    def __post_init__(self) -> None:
        self.image = tuple(self.image)
        if len(self.image) not in (1, 2):
            raise InputError(f"image must be (H, W) or (L,), got {self.image!r}")
        for name in ("channels", "patch", "dim", "depth", "heads", "pred_dim", "pred_depth", "pred_heads"):
            integer(getattr(self, name), name, min=1)
        for side in self.image:
            integer(side, "image side", min=1)
            if side % self.patch:
                raise InputError(f"patch size {self.patch} does not divide the input side {side} "
                                 f"(input {'x'.join(map(str, self.image))}): choose a divisor")
        number(self.mlp_ratio, "mlp_ratio", positive=True)
        per_axis = 2 * len(self.image)  # sin and cos per axis
        for dim, heads, what in ((self.dim, self.heads, "dim"), (self.pred_dim, self.pred_heads, "pred_dim")):
            if dim % heads:
                raise InputError(f"{what} {dim} must be divisible by its number of heads {heads}")
            if dim % per_axis:
                raise InputError(f"{what} {dim} must be divisible by {per_axis} (sin-cos positions per axis)")

    @property
    def grid(self) -> tuple:
        return tuple(s // self.patch for s in self.image)

    @property
    def num_patches(self) -> int:
        return math.prod(self.grid)

    @property
    def patch_dim(self) -> int:
        return self.channels * self.patch ** len(self.image)

    def to_dict(self) -> dict:
        return {**asdict(self), "image": list(self.image)}


def patchify(x: torch.Tensor, patch: int) -> torch.Tensor:
    """``(B, C, H, W) -> (B, H/p * W/p, C p p)`` (row-major patches) or ``(B, C, L) -> (B, L/p, C p)``."""
    if x.dim() == 4:
        b, c, h, w = x.shape
        x = x.reshape(b, c, h // patch, patch, w // patch, patch).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(b, (h // patch) * (w // patch), c * patch * patch)
    if x.dim() == 3:
        b, c, length = x.shape
        return x.reshape(b, c, length // patch, patch).permute(0, 2, 1, 3).reshape(b, length // patch, c * patch)
    raise InputError(f"inputs must be (B, C, H, W) images or (B, C, L) signals, got shape {tuple(x.shape)}")


def sincos_positions(grid: tuple, dim: int) -> torch.Tensor:
    """Fixed sin-cos positional embeddings ``(prod(grid), dim)``; in 2-D half the channels encode the row and half
    the column (MAE's ``get_2d_sincos_pos_embed``, which I-JEPA uses)."""
    per_axis = dim // len(grid)
    omega = 1.0 / 10000 ** (torch.arange(per_axis // 2, dtype=torch.float64) / (per_axis // 2))
    coords = torch.meshgrid(*[torch.arange(g, dtype=torch.float64) for g in grid], indexing="ij")
    parts = []
    for c in coords:
        angle = c.reshape(-1, 1) * omega
        parts += [torch.sin(angle), torch.cos(angle)]
    return torch.cat(parts, dim=1).float()


def gather_tokens(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows ``index (B, K)`` of every sequence in ``x (B, N, D)`` -> ``(B, K, D)``."""
    return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


class Block(nn.Module):
    """Pre-norm Transformer block (bidirectional attention, GELU MLP), as timm's ViT block."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, d)
        x = x + self.proj(a)
        return x + self.mlp(self.norm2(x))


def init_weights(module: nn.Module) -> None:
    """I-JEPA's initialisation: truncated-normal(0.02) linear weights, zero biases, unit LayerNorms."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class Encoder(nn.Module):
    """ViT on patches: linear patch embedding + fixed sin-cos positions, optionally only the tokens ``keep``."""

    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.embed = nn.Linear(cfg.patch_dim, cfg.dim)
        self.register_buffer("pos", sincos_positions(cfg.grid, cfg.dim)[None], persistent=False)
        self.blocks = nn.ModuleList(Block(cfg.dim, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.dim)
        init_weights(self)
        # the reference's patches are 16x16x3 = 768 pixels at weight std 0.02: content embeddings of std ~0.55,
        # as large as the sin-cos positions. A 4x4 grey patch at std 0.02 would give ~0.08, and the network would
        # start out seeing positions only. Measured on 12,800 Fashion-MNIST images, 400 steps: at std 0.02 the loss
        # fell to 0.005 and the features' effective rank to 5.0 (position-only features); at the reference's
        # content-to-position ratio the loss stays at 0.12 and the rank at 7.4 (the probe was ~65 % either way)
        nn.init.trunc_normal_(self.embed.weight, std=0.02 * math.sqrt(REFERENCE_PATCH_DIM / cfg.patch_dim))

    def forward(self, patches: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        x = self.embed(patches) + self.pos
        if keep is not None:  # the context encoder sees its block only (positions were added before the cut)
            x = gather_tokens(x, keep)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)


class Predictor(nn.Module):
    """I-JEPA's predictor: context tokens (projected to ``pred_dim``, plus their positions) and one mask token per
    target position (plus that position's embedding) through a narrow transformer; the outputs at the mask tokens,
    projected to ``out_dim``. Each of the ``M`` target blocks of a sample is predicted in its own sequence."""

    def __init__(self, cfg: ViTConfig, out_dim: int | None = None) -> None:
        super().__init__()
        self.embed = nn.Linear(cfg.dim, cfg.pred_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, cfg.pred_dim))
        self.register_buffer("pos", sincos_positions(cfg.grid, cfg.pred_dim)[None], persistent=False)
        self.blocks = nn.ModuleList(Block(cfg.pred_dim, cfg.pred_heads, cfg.mlp_ratio) for _ in range(cfg.pred_depth))
        self.norm = nn.LayerNorm(cfg.pred_dim)
        self.out = nn.Linear(cfg.pred_dim, out_dim or cfg.dim)
        init_weights(self)
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def forward(self, z: torch.Tensor, context: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """``z (B, Kc, dim)`` at positions ``context (B, Kc)``; ``targets (B, M, Kt)`` -> ``(B*M, Kt, out_dim)``,
        sample-major (rows ``b*M .. b*M + M-1`` are sample ``b``'s blocks)."""
        b, m, kt = targets.shape
        pos = self.pos.expand(b, -1, -1)
        x = (self.embed(z) + gather_tokens(pos, context)).repeat_interleave(m, dim=0)
        t = gather_tokens(pos, targets.reshape(b, m * kt)).reshape(b * m, kt, -1) + self.mask_token
        x = torch.cat([x, t], dim=1)
        for blk in self.blocks:
            x = blk(x)
        return self.out(self.norm(x[:, -kt:]))


def target_rows(h: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Target-encoder tokens ``h (B, N, D)`` at ``targets (B, M, Kt)`` -> ``(B*M, Kt, D)`` (the predictor's layout)."""
    b, m, kt = targets.shape
    return gather_tokens(h, targets.reshape(b, m * kt)).reshape(b * m, kt, -1)


class IJEPA(nn.Module):
    """Context encoder, EMA target encoder, predictor; ``forward(patches, context, targets) -> loss``."""

    def __init__(self, cfg: ViTConfig, loss: str = "smooth_l1") -> None:
        super().__init__()
        if loss not in LOSSES:
            raise InputError(f"loss must be one of {LOSSES}, got {loss!r}")
        self.cfg, self.loss = cfg, loss
        self.encoder = Encoder(cfg)
        self.predictor = Predictor(cfg)
        self.target = copy.deepcopy(self.encoder)
        for p in self.target.parameters():
            p.requires_grad_(False)

    def distances(self, patches, context, targets) -> torch.Tensor:
        """Per-element loss between the predictions and the (layer-normed, affine-free) target tokens."""
        with torch.no_grad():
            h = self.target(patches)
            h = F.layer_norm(h, (h.shape[-1],))
        pred = self.predictor(self.encoder(patches, context), context, targets)
        fn = F.smooth_l1_loss if self.loss == "smooth_l1" else F.mse_loss
        return fn(pred, target_rows(h, targets), reduction="none")

    def forward(self, patches, context, targets) -> torch.Tensor:
        return self.distances(patches, context, targets).mean()

    @torch.no_grad()
    def energy(self, patches, context, targets) -> torch.Tensor:
        """The energy of each input (B,): its mean distance over all target blocks and dimensions."""
        d = self.distances(patches, context, targets)
        return d.reshape(patches.shape[0], -1).mean(1)

    @torch.no_grad()
    def update_target(self, momentum: float) -> None:
        """EMA step ``target <- m target + (1 - m) encoder`` (I-JEPA's momentum rises 0.996 -> 1 over training)."""
        for t, c in zip(self.target.parameters(), self.encoder.parameters()):
            t.mul_(momentum).add_(c.detach(), alpha=1.0 - momentum)

    @torch.no_grad()
    def features(self, patches) -> torch.Tensor:
        return self.target(patches).mean(1)


class MAE(nn.Module):
    """Masked autoencoder of the same encoder: the visible patches in, the pixels of the masked ones out (per-patch
    normalised targets, MAE's ``norm_pix_loss``); the decoder is a :class:`Predictor` with pixels as its output."""

    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Predictor(cfg, out_dim=cfg.patch_dim)

    def errors(self, patches, visible, masked, pixels: bool = False) -> torch.Tensor:
        """Squared errors on the masked patches, in normalised-patch units (the loss) or in pixel units."""
        rec = self.decoder(self.encoder(patches, visible), visible, masked[:, None])
        tgt = gather_tokens(patches, masked)
        scale = (tgt.var(-1, keepdim=True, unbiased=False) + 1e-6).sqrt()
        err = (rec - (tgt - tgt.mean(-1, keepdim=True)) / scale) ** 2
        return err * scale ** 2 if pixels else err

    def forward(self, patches, visible, masked) -> torch.Tensor:
        return self.errors(patches, visible, masked).mean()

    @torch.no_grad()
    def energy(self, patches, visible, masked) -> torch.Tensor:
        """Reconstruction error of each input (B,) in pixel units (the normalised one is blind to a patch's
        contrast, so it could not see noise)."""
        return self.errors(patches, visible, masked, pixels=True).reshape(patches.shape[0], -1).mean(1)

    @torch.no_grad()
    def features(self, patches) -> torch.Tensor:
        return self.encoder(patches).mean(1)


class SimCLR(nn.Module):
    """Contrastive encoder: two augmented views, an MLP projection head, the NT-Xent (InfoNCE) loss over 2B views."""

    def __init__(self, cfg: ViTConfig, proj_dim: int = 64, temperature: float = 0.2) -> None:
        super().__init__()
        self.cfg, self.temperature = cfg, number(temperature, "temperature", positive=True)
        self.encoder = Encoder(cfg)
        self.head = nn.Sequential(nn.Linear(cfg.dim, cfg.dim), nn.GELU(), nn.Linear(cfg.dim, proj_dim))
        init_weights(self.head)

    def project(self, patches) -> torch.Tensor:
        return F.normalize(self.head(self.encoder(patches).mean(1)), dim=-1)

    def forward(self, view1, view2) -> torch.Tensor:
        z = torch.cat([self.project(view1), self.project(view2)])
        n = view1.shape[0]
        logits = z @ z.T / self.temperature
        logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
        positive = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
        return F.cross_entropy(logits, positive)

    @torch.no_grad()
    def energy(self, view1, view2) -> torch.Tensor:
        """Contrastive score of each input (B,): 1 - cosine similarity of its two views' projections."""
        return 1.0 - (self.project(view1) * self.project(view2)).sum(-1)

    @torch.no_grad()
    def features(self, patches) -> torch.Tensor:
        return self.encoder(patches).mean(1)


class Supervised(nn.Module):
    """The same encoder with a linear head on its average-pooled tokens, trained on the labels: the ceiling."""

    def __init__(self, cfg: ViTConfig, classes: int = 10) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.head = nn.Linear(cfg.dim, integer(classes, "classes", min=2))
        init_weights(self.head)

    def logits(self, patches) -> torch.Tensor:
        return self.head(self.encoder(patches).mean(1))

    def forward(self, patches, labels) -> torch.Tensor:
        return F.cross_entropy(self.logits(patches), labels)

    @torch.no_grad()
    def features(self, patches) -> torch.Tensor:
        return self.encoder(patches).mean(1)


METHODS = {"jepa": IJEPA, "mae": MAE, "simclr": SimCLR, "supervised": Supervised}


def count_parameters(module: nn.Module, trainable: bool = True) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable)


__all__ = ["Block", "Encoder", "IJEPA", "LOSSES", "MAE", "METHODS", "Predictor", "SimCLR", "Supervised", "ViTConfig",
           "count_parameters", "gather_tokens", "init_weights", "patchify", "sincos_positions", "target_rows"]
